"""Per-file, per-channel Moon measurement: the rows of the calibration table.

One row per file and channel: the Moon mask (Laplace or threshold), the raw
counts in it, the deep-space level, the irradiance and its uncertainty, the
disk, the geometry, the model irradiance (ROLO by default) and the ratio
observed / model, with quality flags (bits, see ``FLAG_*``).

Inputs are GSICS lunar netCDF files (``.nc``, every present channel) or Moon
images in FITS (one channel per file, see :mod:`etalon.moon.images`).
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.table import Table
from astropy.time import Time

from etalon.fileio import EtalonInputError, atomic_output, require_file
from etalon.moon.background import (
    choose_integration_margin,
    curve_of_growth,
    deep_space_level,
    repair_outliers,
)
from etalon.moon.extraction import DiskFit, extract_disk
from etalon.moon.irradiance import integrate_irradiance, operator_irradiance
from etalon.provenance import table_provenance

log = logging.getLogger(__name__)

__all__ = [
    "COLUMNS",
    "FLAG_CHANNEL_ABSENT",
    "FLAG_FEW_BACKGROUND",
    "FLAG_FIT_POOR",
    "FLAG_MEASUREMENT_FAILED",
    "FLAG_MODEL_EXTRAPOLATED",
    "FLAG_NEAR_EDGE",
    "FLAG_NO_SRF",
    "FLAG_OUTLIERS",
    "FLAG_OVERSAMPLING_MISMATCH",
    "FLAG_PHASE_RANGE",
    "FLAG_RADIUS_MISMATCH",
    "FLAG_SHOT_UNKNOWN",
    "MISMATCH_TOLERANCE",
    "OPERATOR_RTOL",
    "SEVIRI_SRF",
    "ChannelData",
    "ChannelMeasurement",
    "add_model",
    "column_pattern_sigma",
    "compare_methods",
    "measure_channel",
    "measure_channels",
    "measure_file",
    "measure_files",
    "predicted_radius_px",
    "read_channels",
    "reproduces_operators",
    "rows_to_table",
    "write_measurement_table",
]

#: bundled SEVIRI spectral responses (GSICS netCDF), in ``data/gsics_lunar``
SEVIRI_SRF = "W_XX-EUMETSAT-Darmstadt_VIS+IR+SRF_MSG3+SEVIRI_C_EUMG.nc"

FLAG_NEAR_EDGE = 1          #: disk or integration region touches the image edge / missing pixels
FLAG_PHASE_RANGE = 2        #: |phase| outside the model's 1.55-97 degrees
FLAG_FEW_BACKGROUND = 4     #: fewer than 500 deep-space pixels
FLAG_CHANNEL_ABSENT = 8     #: the file carries only fill values for this channel
FLAG_OUTLIERS = 16          #: outlier pixels were repaired
FLAG_FIT_POOR = 32          #: few limb points or limb RMS above 0.5 px
FLAG_SHOT_UNKNOWN = 64      #: no gain: shot noise not in the uncertainty
FLAG_MODEL_EXTRAPOLATED = 128  #: the response extends beyond the model wavelengths
FLAG_NO_SRF = 256           #: no spectral response for this channel: no model value
FLAG_OVERSAMPLING_MISMATCH = 512  #: ovrsamp_fa_fit differs from the file's ovrsamp_fa by > 2 %
FLAG_RADIUS_MISMATCH = 1024  #: fitted radius differs from the geometry's prediction by > 2 %
FLAG_MEASUREMENT_FAILED = 2048  #: the channel could not be measured (e.g. too faint): NaN values

#: relative disagreement that raises FLAG_OVERSAMPLING_MISMATCH / FLAG_RADIUS_MISMATCH
MISMATCH_TOLERANCE = 0.02
#: relative tolerance of :func:`reproduces_operators`
OPERATOR_RTOL = 1e-6

#: table columns in order, with units (irradiance uncertainties are k=1)
COLUMNS: dict[str, str | None] = {
    "file": None, "time": None, "channel": None, "method": None, "moon_pix_num": None,
    "dc_obs": None, "dc_obs_offset": "DN", "dc_obs_offset_unc": "DN", "irr_obs": "W m-2 um-1",
    "irr_obs_unc": "W m-2 um-1", "irr_obs_unc_random": "W m-2 um-1",
    "irr_obs_unc_systematic": "W m-2 um-1", "irr_obs_unc_shot": "W m-2 um-1",
    "irr_obs_unc_read": "W m-2 um-1", "irr_obs_unc_background": "W m-2 um-1",
    "irr_obs_unc_pix_solid_ang": "W m-2 um-1", "irr_obs_unc_oversampling": "W m-2 um-1",
    "irr_obs_unc_halo": "W m-2 um-1", "irr_obs_unc_column_pattern": "W m-2 um-1",
    "centre_x": "pix", "centre_y": "pix", "radius": "pix",
    "radius_unc": "pix", "semi_major": "pix", "disk_angle": "deg", "radius_predicted": "pix",
    "ovrsamp_fa": None, "ovrsamp_fa_fit": None, "ovrsamp_fa_fit_unc": None,
    "integration_margin": "pix", "background_margin": "pix", "integration_pix_num": None,
    "n_outliers": None, "phase_angle": "deg", "sel_obs_lat": "deg", "sel_obs_lon": "deg",
    "sel_sun_lon": "deg", "sun_moon_dist": "AU", "obs_moon_dist": "km", "irr_model": "W m-2 um-1",
    "irr_model_unc": "W m-2 um-1", "model_extrapolated_fraction": None, "model": None,
    "ratio": None, "ratio_unc": None, "ratio_unc_random": None,
    "operator_irr_obs": "W m-2 um-1", "operator_moon_pix_num": None, "operator_dc_obs": None,
    "flags": None,
}


@dataclass
class ChannelData:
    """One channel of one observation, whatever the file format.

    Attributes
    ----------
    channel : str
    counts : numpy.ndarray
        DN, float, NaN where the file has no data.
    radiance : numpy.ndarray or None
        W m-2 sr-1 um-1 (GSICS imagette), NaN where missing.
    rad_coef : float or None
        Radiance per DN (FITS); derived from ``radiance`` when None.
    pix_solid_ang : float
    ovrsamp_fa : float
    time : astropy.time.Time
    observer_km : numpy.ndarray
    frame : str
    gain, read_noise_e, threshold : float or None
    operator : dict
        The operators' own results (GSICS), for comparison.
    present : bool
    radius_prior : float or None
        Disk radius predicted from the geometry and the pixel solid angle, pixels
        (:func:`predicted_radius_px`; set by :func:`measure_file`).
    pix_solid_ang_rel_unc : float
        Relative 1-sigma of ``pix_solid_ang`` (0 when the file states none).
    ovrsamp_fa_unc : float
        1-sigma of ``ovrsamp_fa`` (0 when the file states none).
    """

    channel: str
    counts: np.ndarray = field(repr=False)
    radiance: np.ndarray | None = field(repr=False)
    rad_coef: float | None
    pix_solid_ang: float
    ovrsamp_fa: float
    time: Time
    observer_km: np.ndarray
    frame: str
    gain: float | None = None
    read_noise_e: float | None = None
    threshold: float | None = None
    operator: dict[str, Any] = field(default_factory=dict)
    present: bool = True
    radius_prior: float | None = None
    pix_solid_ang_rel_unc: float = 0.0
    ovrsamp_fa_unc: float = 0.0


@dataclass
class ChannelMeasurement:
    """The measurement of one channel: the table row plus the arrays behind it."""

    row: dict[str, Any]
    disk: DiskFit | None = field(default=None, repr=False)
    region: np.ndarray | None = field(default=None, repr=False)
    curve: Any = field(default=None, repr=False)
    background_region: np.ndarray | None = field(default=None, repr=False)


def _is_netcdf(p: Path) -> bool:
    return p.suffix.lower() in (".nc", ".nc4", ".netcdf")


def read_channels(path: str | os.PathLike[str], channels: Sequence[str] | None = None) -> list[ChannelData]:
    """All channels (or the named ones) of a GSICS netCDF file, or the one channel of a FITS image."""
    p = require_file(path, "Moon observation")
    if _is_netcdf(p):
        from etalon.moon.gsics import read_gsics_lunar

        obs = read_gsics_lunar(p, channels)
        out = []
        for ch in obs.channels:
            counts = np.ma.filled(ch.dc_imagette.astype(float), np.nan)
            rad = np.ma.filled(ch.rad_imagette.astype(float), np.nan)
            v = ch.values
            ovr = v.get("ovrsamp_fa")
            if ch.present and ovr is None:
                raise EtalonInputError(p, f"channel {ch.name}: oversampling factor must be > 0, got a "
                                          "fill value or a value outside the variable's valid range")
            if ch.present and not (np.isfinite(ovr) and ovr > 0):
                raise EtalonInputError(p, f"channel {ch.name}: oversampling factor must be > 0, got {ovr}")
            out.append(ChannelData(ch.name, counts, rad, None, v.get("pix_solid_ang") or np.nan,
                                   float(ovr) if ovr is not None else 1.0, obs.time, obs.sat_pos_km,
                                   obs.frame, gain=_positive(v.get("gain")),
                                   read_noise_e=_positive(v.get("read_noise")),
                                   threshold=v.get("moon_pix_thld"),
                                   operator={k: v.get(k) for k in ("irr_obs", "moon_pix_num", "dc_obs",
                                                                   "dc_obs_offset")},
                                   present=ch.present,
                                   pix_solid_ang_rel_unc=_positive(v.get("pix_solid_ang_unc")) or 0.0,
                                   ovrsamp_fa_unc=_positive(v.get("ovrsamp_fa_unc")) or 0.0))
        return out
    from etalon.moon.images import read_moon_image

    im = read_moon_image(p)
    return [ChannelData(im.channel, im.data.astype(float), None, im.rad_coef, im.pix_solid_ang,
                        im.ovrsamp_fa, im.time, im.observer_km, im.frame, im.gain, im.read_noise_e,
                        im.threshold)]


def _positive(value: Any) -> float | None:
    """A finite positive float, else None (fill values, absent variables)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) and v > 0 else None


def measure_channels(paths: Sequence[str | os.PathLike[str]], channels: Sequence[str] | None = None,
                     method: str = "laplace", **kwargs: Any
                     ) -> list[tuple[ChannelData, ChannelMeasurement]]:
    """Measure the chosen channels of several files and keep the arrays behind each row.

    For figures and checks: unlike :func:`measure_file`, returns each channel's
    data with its :class:`ChannelMeasurement` (disk, region, curve of growth)
    and adds no geometry or model.

    Parameters
    ----------
    paths : sequence of path
        GSICS lunar files or FITS Moon images.
    channels : sequence of str, optional
        Channel names to keep (default: all).
    method : {"laplace", "threshold"}
    **kwargs
        Passed to :func:`measure_channel` (``sigma``, ``background_margin``...).

    Returns
    -------
    list of (ChannelData, ChannelMeasurement)
        File by file, channels in the file's order.
    """
    return [(ch, measure_channel(ch, method, **kwargs))
            for path in paths for ch in read_channels(path)
            if channels is None or ch.channel in channels]


def _empty_row(ch: ChannelData, method: str) -> dict[str, Any]:
    row = {k: (np.nan if unit is not None else None) for k, unit in COLUMNS.items()}
    for key in ("ovrsamp_fa", "ovrsamp_fa_fit", "ovrsamp_fa_fit_unc", "model_extrapolated_fraction",
                "ratio_unc", "ratio_unc_random"):
        row[key] = np.nan
    row.update(ratio=np.nan, file="", time=ch.time.utc.isot, channel=ch.channel, method=method,
               moon_pix_num=-1,
               dc_obs=-1, integration_pix_num=-1, n_outliers=-1, model="", flags=0,
               operator_moon_pix_num=_operator_int(ch.operator, "moon_pix_num"),
               operator_dc_obs=_operator_int(ch.operator, "dc_obs"),
               operator_irr_obs=_operator_float(ch.operator, "irr_obs"))
    return row


def _operator_int(operator: dict[str, Any], key: str) -> int:
    """The operator's integer result, -1 when the file has none (0 is a value, not a gap)."""
    value = operator.get(key)
    return -1 if value is None or not np.isfinite(value) else int(value)


def _operator_float(operator: dict[str, Any], key: str) -> float:
    """The operator's result, NaN when the file has none."""
    value = operator.get(key)
    return np.nan if value is None else float(value)


def _radiance_per_dn(ch: ChannelData) -> float:
    if ch.rad_coef is not None:
        return float(ch.rad_coef)
    ok = np.isfinite(ch.counts) & np.isfinite(ch.radiance)
    x, y = ch.counts[ok], ch.radiance[ok]
    dx = x - x.mean()
    ss = float(np.dot(dx, dx))
    if ss == 0:                          # a flat frame: no slope (the channel then fails)
        return float("nan")
    return float(np.dot(dx, y - y.mean()) / ss)      # least-squares slope


def measure_channel(ch: ChannelData, method: str = "laplace", threshold: float | None = None, *,
                    sigma: float = 1.0, background_margin: float | None = None,
                    outlier_k: float = 8.0, relative_texture: float = 0.05) -> ChannelMeasurement:
    """Measure one channel (no geometry or model: see :func:`measure_file`).

    Parameters
    ----------
    ch : ChannelData
    method : {"laplace", "threshold"}
    threshold : float, optional
        DN threshold for the threshold method (default: the file's ``moon_pix_thld``).
    sigma : float
        LoG scale, pixels.
    background_margin : float, optional
        Laplace: deep space starts at least this far beyond the fitted limb, pixels.
        By default it starts 5 px beyond the end of the halo found on a first curve of
        growth (measured out to ``max(30, b/2)`` px against the far background), so the
        annulus never sits in the PSF wings or stray-light halo. Threshold: the mask is
        dilated by this much (default 20 px) to leave deep space.
    outlier_k : float
        Outlier detection threshold, sigmas.
    relative_texture : float
        When the gain is unknown, lunar texture allowed in the outlier test
        (fraction of the signal).

    Returns
    -------
    ChannelMeasurement
        The row (see :data:`COLUMNS`; uncertainty budget in ``docs/moon-calibration.md``).
    """
    row = _empty_row(ch, method)
    if not ch.present:
        row["flags"] = FLAG_CHANNEL_ABSENT
        return ChannelMeasurement(row)
    if not (np.isfinite(ch.ovrsamp_fa) and ch.ovrsamp_fa > 0):
        raise ValueError(f"channel {ch.channel}: oversampling factor must be > 0, got {ch.ovrsamp_fa}")
    counts = ch.counts
    valid = np.isfinite(counts)
    flags = 0
    k_dn = _radiance_per_dn(ch) * ch.pix_solid_ang / ch.ovrsamp_fa
    if method == "threshold":
        thr = threshold if threshold is not None else ch.threshold
        if thr is None:
            raise ValueError(f"channel {ch.channel}: no threshold given and none in the file")
        if not np.isfinite(thr):
            raise ValueError(f"channel {ch.channel}: threshold must be a finite number of DN, got {thr}")
        disk = extract_disk(counts, "threshold", valid=valid, threshold=thr)
        mask = disk.moon_mask
        raw = np.where(mask, counts, 0).astype(np.int64)
        radiance = ch.radiance if ch.radiance is not None else None
        bm = 20.0 if background_margin is None else background_margin
        far = valid & ~_dilate(_largest_component(mask), int(bm)) & ~mask
        bg = _background(counts, far, row)
        if radiance is None:
            radiance = (counts - bg.level) * ch.rad_coef
        irr = operator_irradiance(radiance, mask, ch.pix_solid_ang, ch.ovrsamp_fa)
        budget = integrate_irradiance(counts, mask, bg.level, k_dn / ch.pix_solid_ang * ch.ovrsamp_fa,
                                      ch.pix_solid_ang, ch.ovrsamp_fa, ch.gain,
                                      _read_noise_dn(ch, bg.std), bg.uncertainty)
        offset = ch.operator.get("dc_obs_offset")
        row.update(moon_pix_num=int(mask.sum()), dc_obs=int(raw.sum()),
                   dc_obs_offset=float(offset) if offset is not None else bg.level,
                   dc_obs_offset_unc=bg.uncertainty, irr_obs=irr, integration_pix_num=int(mask.sum()),
                   n_outliers=0, background_margin=bm)
        pattern = column_pattern_sigma(counts, mask, far, bg.std)
        _budget_columns(row, ch, budget, irr, 0.0, pattern * k_dn)
        flags |= FLAG_FEW_BACKGROUND if bg.n_pixels < 500 else 0
        region, curve, bg_region = mask, None, far
    elif method == "laplace":
        bg0 = _rough_level(counts, valid)
        if ch.gain:   # bg0[1], measured on deep space, already holds the read noise
            pix_sigma = np.sqrt(bg0[1] ** 2 + np.clip(counts - bg0[0], 0, None) / ch.gain)
        else:
            pix_sigma = np.sqrt(bg0[1] ** 2 + (relative_texture * np.clip(counts - bg0[0], 0, None)) ** 2)
        fixed = repair_outliers(counts, np.where(valid, pix_sigma, 1.0), valid, k=outlier_k)
        clean = np.where(valid, fixed.image, np.nan)
        disk = extract_disk(clean, "laplace", valid=valid, sigma=sigma, radius_prior=ch.radius_prior,
                            axis_ratio_hint=ch.ovrsamp_fa)
        dist = disk.distance(counts.shape)
        # 1. the curve of growth as far out as deep space allows, against the far background
        reach = max(30.0, 0.5 * disk.radius)
        while reach > 8 and (valid & (dist > reach)).sum() < 2000:
            reach *= 0.8
        far = valid & (dist > reach)
        bg_far = _background(clean, far, row)
        cog0 = curve_of_growth(clean, (disk.centre_x, disk.centre_y), disk.radius, bg_far.level, valid,
                               max_margin=reach, distance=dist)
        halo_end = choose_integration_margin(cog0, bg_far.std, safety=0.0)
        # 2. the background annulus starts beyond the halo
        margin_bg = max(halo_end + 5.0, background_margin or 0.0)
        margin_bg = min(margin_bg, reach) if (valid & (dist > margin_bg)).sum() < 500 else margin_bg
        bg_region = valid & (dist > margin_bg)
        bg = _background(clean, bg_region, row)
        curve = curve_of_growth(clean, (disk.centre_x, disk.centre_y), disk.radius, bg.level, valid,
                                max_margin=margin_bg, distance=dist)
        margin = choose_integration_margin(curve, bg.std)
        region = valid & (dist <= margin)
        budget = integrate_irradiance(clean, region, bg.level, k_dn / ch.pix_solid_ang * ch.ovrsamp_fa,
                                      ch.pix_solid_ang, ch.ovrsamp_fa, ch.gain,
                                      _read_noise_dn(ch, bg.std), bg.uncertainty)
        # PSF/halo truncation: flux between the integration margin and the background
        # annulus beyond what the noise of those pixels explains
        i_m = int(np.searchsorted(curve.margin, margin))
        d_flux = float(curve.flux[-1] - curve.flux[min(i_m, curve.flux.size - 1)])
        d_n = float(curve.n_pixels[-1] - curve.n_pixels[min(i_m, curve.n_pixels.size - 1)])
        halo_dn = max(0.0, abs(d_flux) - bg.std * np.sqrt(max(d_n, 0.0)) - bg.uncertainty * d_n)
        raw_sum = np.where(region, counts, 0.0)
        row.update(moon_pix_num=int(disk.moon_mask.sum()), dc_obs=round(float(raw_sum.sum())),
                   dc_obs_offset=bg.level, dc_obs_offset_unc=bg.uncertainty,
                   irr_obs=budget.irradiance, radius_unc=disk.radius_unc,
                   integration_margin=margin, background_margin=margin_bg,
                   integration_pix_num=budget.n_pixels, n_outliers=fixed.count,
                   semi_major=disk.semi_major, disk_angle=disk.angle_deg)
        pattern = column_pattern_sigma(clean, region, bg_region, bg.std)
        _budget_columns(row, ch, budget, budget.irradiance, halo_dn * k_dn, pattern * k_dn)
        full = dist <= margin
        if disk.near_edge or np.any(full & ~valid) or _touches_border(full):
            flags |= FLAG_NEAR_EDGE
        flags |= FLAG_OUTLIERS if fixed.count else 0
        flags |= FLAG_FEW_BACKGROUND if bg.n_pixels < 500 else 0
        flags |= FLAG_FIT_POOR if (disk.n_limb_points < 20 or disk.rms_px > 0.5) else 0
        flags |= _disk_checks(row, ch, disk)
    else:
        raise ValueError(f"unknown method {method!r}: use 'laplace' or 'threshold'")
    if method == "threshold" and disk.near_edge:
        flags |= FLAG_NEAR_EDGE
    flags |= FLAG_SHOT_UNKNOWN if not ch.gain else 0
    row.update(centre_x=disk.centre_x, centre_y=disk.centre_y, radius=disk.radius, flags=flags,
               radius_predicted=np.nan if ch.radius_prior is None else float(ch.radius_prior))
    return ChannelMeasurement(row, disk, region, curve, bg_region)


def column_pattern_sigma(image: np.ndarray, region: np.ndarray, background: np.ndarray,
                         pixel_sigma: float, min_rows: int = 5) -> float:
    """Effect on a disk integration of a per-column offset pattern left in the image, DN (k=1).

    A pushbroom detector's columns each carry their own dark; what the Level-1 dark
    subtraction leaves (a stale or noisy dark, an equalisation residual on the dark) is a
    pattern ``r_c`` constant along each column. Any other structure of the deep-space
    level along the columns (the residual of a first-order stray-light correction: ghosts,
    halo tails beyond the annulus' start) shows in the same column means and enters the
    same term. The background level removes its mean over
    the deep-space pixels, the integration sums the rest:
    ``error = sum_c r_c (n_c - N b_c / B)`` with ``n_c`` the pixels of the integration region
    in column ``c`` (``N`` in all), ``b_c`` the deep-space pixels (``B`` in all). The
    pattern's rms is measured on the deep-space pixels themselves: the variance of the
    column means less what the pixel noise explains,
    ``s^2 = mean_c[(m_c - m)^2 - sigma^2 / b_c]`` (columns with ``b_c >= min_rows``), and

        sigma_pattern = s * sqrt(sum_c (n_c - N b_c / B)^2).

    Parameters
    ----------
    image : numpy.ndarray
        Counts (rows, columns), DN; NaN where missing.
    region, background : numpy.ndarray of bool
        Integration region and deep-space pixels.
    pixel_sigma : float
        Noise of one deep-space pixel, DN rms.
    min_rows : int
        Deep-space pixels a column needs to enter the pattern estimate.

    Returns
    -------
    float
        DN (0 when no column has ``min_rows`` deep-space pixels or no pattern shows above
        the noise).
    """
    bg = background & np.isfinite(image)
    b_c = bg.sum(axis=0).astype(float)
    n_c = region.sum(axis=0).astype(float)
    use = b_c >= min_rows
    if use.sum() < 3:
        return 0.0
    sums = np.where(bg, image, 0.0).sum(axis=0)
    m_c = sums[use] / b_c[use]
    w = b_c[use]
    m = float(np.sum(m_c * w) / np.sum(w))
    var = float(np.mean((m_c - m) ** 2 - pixel_sigma**2 / b_c[use]))
    if not var > 0:
        return 0.0
    big_n, big_b = float(n_c.sum()), float(b_c.sum())
    lever = float(np.sqrt(np.sum((n_c - big_n * b_c / big_b) ** 2)))
    return float(np.sqrt(var) * lever)


def _budget_columns(row: dict[str, Any], ch: ChannelData, budget: Any, irr: float,
                    halo: float, column_pattern: float = 0.0) -> None:
    """The uncertainty budget of ``irr_obs`` (k=1, W m-2 um-1): components, random, systematic, total."""
    shot = 0.0 if not np.isfinite(budget.shot) else budget.shot
    random = float(np.sqrt(shot**2 + budget.read**2 + budget.background**2 + column_pattern**2))
    pix = abs(irr) * float(ch.pix_solid_ang_rel_unc)
    ovr = abs(irr) * float(ch.ovrsamp_fa_unc) / float(ch.ovrsamp_fa)
    systematic = float(np.sqrt(pix**2 + ovr**2 + halo**2))
    row.update(irr_obs_unc=float(np.hypot(random, systematic)), irr_obs_unc_random=random,
               irr_obs_unc_systematic=systematic, irr_obs_unc_shot=budget.shot,
               irr_obs_unc_read=budget.read, irr_obs_unc_background=budget.background,
               irr_obs_unc_pix_solid_ang=pix, irr_obs_unc_oversampling=ovr, irr_obs_unc_halo=halo,
               irr_obs_unc_column_pattern=float(column_pattern), ovrsamp_fa=float(ch.ovrsamp_fa))


def _disk_checks(row: dict[str, Any], ch: ChannelData, disk: DiskFit) -> int:
    """ovrsamp_fa_fit from the ellipse; the flags for a disagreement with the file and the geometry."""
    flags = 0
    use_fixed = np.isfinite(disk.semi_major_fixed)
    if use_fixed:                        # along / across, the across axis at the prediction
        ratio, ratio_unc = disk.axis_ratio_fixed, disk.axis_ratio_fixed_unc
    else:
        ratio, ratio_unc = disk.axis_ratio, disk.axis_ratio_unc
        if ch.ovrsamp_fa < 1.0:          # squeezed: the along-scan axis is the minor one
            ratio_unc, ratio = ratio_unc / ratio**2, 1.0 / ratio
    row.update(ovrsamp_fa_fit=float(ratio), ovrsamp_fa_fit_unc=float(ratio_unc))
    if abs(ratio / ch.ovrsamp_fa - 1.0) > MISMATCH_TOLERANCE:
        flags |= FLAG_OVERSAMPLING_MISMATCH
        log.warning("channel %s: oversampling factor from the image %.4f differs from the file's "
                    "%.4f by more than %.0f %%", ch.channel, ratio, ch.ovrsamp_fa, 100 * MISMATCH_TOLERANCE)
    if ch.radius_prior is not None and np.isfinite(ch.radius_prior):
        a, b = disk.ellipse_a, disk.ellipse_b
        if not np.isfinite(a):
            a = b = disk.radius
        # the across-scan semi-axis: the one nearer the prediction
        across = b if abs(b / ch.radius_prior - 1) <= abs(a / ch.radius_prior - 1) else a
        if abs(across / ch.radius_prior - 1.0) > MISMATCH_TOLERANCE:
            flags |= FLAG_RADIUS_MISMATCH
            log.warning("channel %s: fitted radius %.2f px differs from the %.2f px predicted by the "
                        "geometry and the pixel solid angle by more than %.0f %%", ch.channel, across,
                        ch.radius_prior, 100 * MISMATCH_TOLERANCE)
    return flags


def predicted_radius_px(obs_moon_km: float, pix_solid_ang: float) -> float:
    """Lunar disk radius across the scan, pixels: ``asin(1737.4 km / d) / sqrt(Omega_pix)``.

    Square pixels assumed (angular size ``sqrt(pix_solid_ang)`` rad).
    """
    from etalon.moon.model import MOON_RADIUS_KM

    if not (np.isfinite(pix_solid_ang) and pix_solid_ang > 0 and obs_moon_km > MOON_RADIUS_KM):
        return float("nan")
    return float(np.arcsin(MOON_RADIUS_KM / obs_moon_km) / np.sqrt(pix_solid_ang))


def _dilate(mask: np.ndarray, n: int) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=max(n, 1)) if mask.any() else mask


def _largest_component(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    labels, n = ndimage.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(labels.ravel())[1:]
    return labels == (int(np.argmax(sizes)) + 1)


def _touches_border(region: np.ndarray) -> bool:
    return bool(region[0].any() or region[-1].any() or region[:, 0].any() or region[:, -1].any())


def _rough_level(counts: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    v = counts[valid]
    med = float(np.median(v))
    low = v[v <= med + 5 * max(1.4826 * float(np.median(np.abs(v - med))), 0.5)]
    c = float(np.median(low))
    return c, max(1.4826 * float(np.median(np.abs(low - c))), 0.3)


def _background(image: np.ndarray, region: np.ndarray, row: dict[str, Any]):
    try:
        return deep_space_level(image, region)
    except ValueError as exc:
        raise ValueError(f"channel {row['channel']}: {exc}") from exc


def _read_noise_dn(ch: ChannelData, bg_std: float) -> float:
    if ch.read_noise_e is not None and ch.gain:
        return float(ch.read_noise_e / ch.gain)
    return float(bg_std)


@functools.lru_cache(maxsize=4)
def _srf_registry(srf_path: str | None) -> dict:
    from etalon.data import data_path
    from etalon.spectral.responses import read_srf

    reg = {}
    if srf_path is None:
        reg.update(read_srf(data_path("gsics_lunar", SEVIRI_SRF)))
        reg.update(read_srf(data_path("venus", "venus_spectral_response.tsv")))
    else:
        reg.update(read_srf(srf_path))
    return reg


def _venus_name(name: str) -> str:
    """``"B01"`` / ``"b1"`` -> ``"B1"`` (the bundled VENuS responses' names); others unchanged."""
    import re

    m = re.fullmatch(r"[Bb]0*(\d{1,2})", str(name).strip())
    return f"B{int(m.group(1))}" if m else str(name)


def _model(name: str):
    from etalon.moon.model import get_model

    return get_model(name)


def _geometry(ch: ChannelData):
    from etalon.moon.geometry import lunar_geometry

    return lunar_geometry(ch.time, ch.observer_km, ch.frame)


def add_model(rows: list[dict[str, Any]], channels: list[ChannelData], srf: str | None = None,
              model: str = "rolo", geometry: Any = None) -> None:
    """Fill geometry, model irradiance (with its uncertainty) and the ratio into ``rows`` (in place).

    ``ratio_unc`` (k=1) combines ``irr_obs_unc`` and ``irr_model_unc`` in quadrature
    (relative); ``ratio_unc_random`` holds only the random part of the observation, the
    part a drift trend sees. The model's name goes into the ``model`` column of every row.
    """
    from etalon.moon.model import LunarModelRangeWarning, band_irradiance

    if not rows:
        return
    geo = geometry if geometry is not None else _geometry(channels[0])
    reg = _srf_registry(str(srf) if srf else None)
    refl = _model(model)
    for row in rows:
        row.update(phase_angle=geo.phase_angle_deg, sel_obs_lat=geo.sel_obs_lat_deg,
                   sel_obs_lon=geo.sel_obs_lon_deg, sel_sun_lon=geo.sel_sun_lon_deg,
                   sun_moon_dist=geo.sun_moon_au, obs_moon_dist=geo.obs_moon_km, model=refl.name)
        flags = row["flags"]
        if flags & FLAG_CHANNEL_ABSENT:
            continue
        if not 1.55 <= abs(geo.phase_angle_deg) <= 97.0:
            flags |= FLAG_PHASE_RANGE
        response = reg.get(row["channel"]) or reg.get(_venus_name(row["channel"]))
        if response is None:
            flags |= FLAG_NO_SRF
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LunarModelRangeWarning)
                m = band_irradiance(refl, response, geo.phase_angle_deg, geo.sel_obs_lat_deg,
                                    geo.sel_obs_lon_deg, geo.sel_sun_lon_deg, geo.sun_moon_au,
                                    geo.obs_moon_km)
            row.update(irr_model=m.irradiance, irr_model_unc=m.uncertainty,
                       model_extrapolated_fraction=m.extrapolated_fraction)
            if np.isfinite(row["irr_obs"]):
                ratio = row["irr_obs"] / m.irradiance
                rel_obs = row["irr_obs_unc"] / row["irr_obs"] if row["irr_obs"] else np.nan
                rel_mod = m.uncertainty / m.irradiance
                row["ratio"] = ratio
                row["ratio_unc"] = abs(ratio) * float(np.hypot(rel_obs, rel_mod))
                row["ratio_unc_random"] = abs(ratio * row["irr_obs_unc_random"] / row["irr_obs"])
            flags |= FLAG_MODEL_EXTRAPOLATED if m.extrapolated else 0
        row["flags"] = flags


def _measure_or_fail(ch: ChannelData, method: str, threshold: float | None,
                     kwargs: dict[str, Any]) -> dict[str, Any]:
    """One channel's row; a channel that cannot be measured gives a NaN row.

    The failed row carries :data:`FLAG_MEASUREMENT_FAILED` and the reason under the
    private key ``"_error"`` (removed by :func:`measure_file`, which logs it).
    """
    try:
        return measure_channel(ch, method, threshold, **kwargs).row
    except ValueError as exc:
        row = _empty_row(ch, method)
        row["flags"] = FLAG_MEASUREMENT_FAILED
        row["ovrsamp_fa"] = float(ch.ovrsamp_fa)
        row["radius_predicted"] = np.nan if ch.radius_prior is None else float(ch.radius_prior)
        row["_error"] = str(exc)
        return row


def _measure_one(args: tuple) -> dict[str, Any]:
    """Process-pool worker: one channel's row (module level, so it pickles)."""
    ch, method, threshold, kwargs = args
    return _measure_or_fail(ch, method, threshold, kwargs)


def _measure_named(args: tuple) -> dict[str, Any]:
    """Process-pool worker: read one channel of a GSICS file and measure it (no large pickles)."""
    path, name, obs_moon_km, method, threshold, kwargs = args
    try:
        (ch,) = read_channels(path, [name])
        ch.radius_prior = predicted_radius_px(obs_moon_km, ch.pix_solid_ang)
        return _measure_or_fail(ch, method, threshold, kwargs)
    except EtalonInputError as exc:      # its (path, problem) signature does not unpickle
        raise ValueError(exc.problem) from None


def measure_file(path: str | os.PathLike[str], method: str = "laplace", threshold: float | None = None,
                 srf: str | None = None, model: str = "rolo", jobs: int = 1, executor: Any = None,
                 **kwargs: Any) -> list[dict[str, Any]]:
    """Measure every channel of one file; return the table rows (dicts, see :data:`COLUMNS`).

    The geometry is computed once per file: it gives each channel the disk radius
    predicted from the observer distance and the pixel solid angle
    (:func:`predicted_radius_px`), and the model values.

    Parameters
    ----------
    jobs : int
        Channels measured in parallel by that many processes (1: in this process). A
        GSICS file is read channel by channel, one band in memory at a time, by this
        process or by each worker: the rows are identical to the sequential run (same
        data, same function, same order).
    executor : concurrent.futures.Executor, optional
        An existing pool to use instead of starting one (:func:`measure_files` shares one).

    A channel that cannot be measured (too faint for the limb fit, no deep space...)
    does not fail the file: its row has NaN values and :data:`FLAG_MEASUREMENT_FAILED`,
    a warning names the file, the channel and the reason, and the other channels are
    measured. Only when every present channel fails does the file fail.

    Raises
    ------
    EtalonInputError
        Naming the file, when it cannot be read, or when no present channel can be measured.
    ValueError
        Unknown ``method``.
    """
    if method not in ("laplace", "threshold"):
        raise ValueError(f"unknown method {method!r}: use 'laplace' or 'threshold'")
    p = require_file(path, "Moon observation")
    # a GSICS file is read channel by channel (its time and position first, for the
    # geometry): one band in memory at a time, in this process or in each worker
    streamed = _is_netcdf(p)
    if streamed:
        from etalon.moon.gsics import read_gsics_lunar

        head = read_gsics_lunar(p, [])                       # time, position: no imagettes
        names = _channel_names(p)
        channels = [ChannelData("", np.empty((0, 0)), None, None, np.nan, 1.0, head.time,
                                head.sat_pos_km, head.frame)]
    else:
        channels = read_channels(p)
    try:
        geo = _geometry(channels[0])
    except (ValueError, TypeError) as exc:
        raise EtalonInputError(p, f"cannot compute the lunar geometry ({exc})") from exc
    parallel = streamed and (executor is not None or jobs > 1)
    own = None
    try:
        if streamed:
            tasks = [(str(p), name, geo.obs_moon_km, method, threshold, kwargs) for name in names]
            if parallel and executor is None:
                from concurrent.futures import ProcessPoolExecutor

                executor = own = ProcessPoolExecutor(max_workers=min(jobs, max(len(names), 1)))
            rows = list(executor.map(_measure_named, tasks)) if parallel else [
                _measure_named(task) for task in tasks]
        else:
            for ch in channels:
                ch.radius_prior = predicted_radius_px(geo.obs_moon_km, ch.pix_solid_ang)
            rows = [_measure_one((ch, method, threshold, kwargs)) for ch in channels]
    except ValueError as exc:
        raise EtalonInputError(p, str(exc)) from exc
    finally:
        if own is not None:
            own.shutdown()
    errors = {r["channel"]: r.pop("_error") for r in rows if "_error" in r}
    present = [r for r in rows if not r["flags"] & FLAG_CHANNEL_ABSENT]
    if errors and len(errors) == len(present):
        first = next(iter(errors))
        raise EtalonInputError(p, f"no channel could be measured (channel {first}: {errors[first]})")
    for name, problem in errors.items():
        log.warning("%s: channel %s not measured (%s): NaN row, flag %d", p, name, problem,
                    FLAG_MEASUREMENT_FAILED)
    measured = [r for r in present if not r["flags"] & FLAG_MEASUREMENT_FAILED]
    if measured and all(r["irr_obs_unc_pix_solid_ang"] == 0 and r["irr_obs_unc_oversampling"] == 0
                        for r in measured):
        log.warning("%s: no uncertainty of the pixel solid angle or oversampling factor in the file: "
                    "those budget terms are 0", p)
    for row in rows:
        row["file"] = p.name
    add_model(rows, channels, srf, model, geometry=geo)
    return rows


def _channel_names(p: Path) -> list[str]:
    """Channel names of a GSICS file, in its order (reads ``channel_name`` only)."""
    import netCDF4

    try:
        with netCDF4.Dataset(p) as ds:
            ds.set_auto_chartostring(False)
            raw = np.ma.filled(ds["channel_name"][:], b"")
            return [str(n).strip() for n in np.atleast_1d(netCDF4.chartostring(raw))]
    except (OSError, KeyError, IndexError, ValueError) as exc:
        raise EtalonInputError(p, f"cannot read the channel names ({exc})") from exc


def rows_to_table(rows: Sequence[dict[str, Any]]) -> Table:
    """An astropy Table with the columns of :data:`COLUMNS` (units attached).

    ``time`` is an astropy :class:`~astropy.time.Time` column (UTC, ISO format).
    """
    table = Table(rows=[[r.get(k) for k in COLUMNS] for r in rows] or None, names=list(COLUMNS),
                  dtype=None if rows else [object] * len(COLUMNS))
    for name, unit in COLUMNS.items():
        if unit and len(table):
            table[name].unit = u.Unit(unit)
    if len(table):  # an astropy Time column (UTC, ISO), written as such in ECSV
        table["time"] = Time([str(s) for s in table["time"]], format="isot", scale="utc")
    return table


def reproduces_operators(table: Table, method: str = "threshold", rtol: float = OPERATOR_RTOL) -> bool:
    """True when every ``method`` row agrees with the operators' own results.

    ``irr_obs`` must agree with the GSICS file's ``operator_irr_obs`` to the relative
    tolerance ``rtol`` (1e-6: the files' own values are rounded, and a different
    summation order changes the last bits); ``moon_pix_num`` and ``dc_obs`` are counts
    and must be equal.

    Parameters
    ----------
    table : astropy.table.Table
        Measurement table (:func:`rows_to_table`).
    method : str
        Rows to check (``"threshold"``: the operators' method).
    rtol : float
        Relative tolerance on ``irr_obs``.

    Raises
    ------
    ValueError
        When the table has no row of ``method``.
    """
    rows = table[table["method"] == method]
    if len(rows) == 0:
        raise ValueError(f"the table has no {method!r} rows to compare with the operators")
    irr = np.asarray(rows["irr_obs"], float)
    op = np.asarray(rows["operator_irr_obs"], float)
    close = np.isclose(irr, op, rtol=rtol, atol=0.0) | (np.isnan(irr) & np.isnan(op))
    return bool(np.all(close) and all(np.all(np.asarray(rows[name]) == np.asarray(rows[f"operator_{name}"]))
                                      for name in ("moon_pix_num", "dc_obs")))


def compare_methods(table: Table, reference: str = "threshold",
                    candidate: str = "laplace") -> Table:
    """Irradiance of two extraction methods side by side, per observation and channel.

    Parameters
    ----------
    table : astropy.table.Table
        Measurement table (:func:`rows_to_table`) holding both methods.
    reference, candidate : str
        The two ``method`` values compared.

    Returns
    -------
    astropy.table.Table
        One row per ``candidate`` row (same order) that has a ``reference`` row
        of the same ``time`` and ``channel``: ``date`` (UTC day), ``channel``,
        the two ``irr_obs`` (W m-2 um-1) named after the methods, and
        ``<candidate>/<reference> - 1 (%)`` (shown with 3 decimals, stored
        unrounded).
    """
    ref = {(str(r["time"]), str(r["channel"])): r["irr_obs"]
           for r in table[table["method"] == reference]}
    cand = [r for r in table[table["method"] == candidate]
            if (str(r["time"]), str(r["channel"])) in ref]
    ref_irr = np.array([ref[(str(r["time"]), str(r["channel"]))] for r in cand], dtype=float)
    cand_irr = np.array([r["irr_obs"] for r in cand], dtype=float)
    diff_name = f"{candidate}/{reference} - 1 (%)"
    out = Table({"date": [str(r["time"])[:10] for r in cand],
                 "channel": [str(r["channel"]) for r in cand],
                 reference: ref_irr, candidate: cand_irr,
                 diff_name: (cand_irr / ref_irr - 1) * 100})
    unit = table["irr_obs"].unit
    if unit is not None:
        out[reference].unit = out[candidate].unit = unit
    out[diff_name].info.format = ".3f"
    return out


def measure_files(paths: Sequence[str | os.PathLike[str]], method: str = "laplace",
                  threshold: float | None = None, srf: str | None = None, model: str = "rolo",
                  scheduler: str | None = None, progress: bool = True, jobs: int = 1):
    """Measure many files through :func:`etalon.batch.map_files`.

    Parameters
    ----------
    jobs : int
        With ``jobs > 1`` the files run one after the other in this process and their
        channels (bands) are measured in parallel by one shared pool of ``jobs`` processes;
        the rows are identical to the sequential run. With 1, files go through the batch
        helper (dask, ``scheduler``).

    Returns
    -------
    table : astropy.table.Table
        Rows of the files that succeeded, with provenance in ``meta`` (method, model,
        model name, jobs).
    results : list of etalon.batch.FileResult
        One per input (failures carry the error).
    """
    from etalon.batch import map_files

    executor = None
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(max_workers=jobs)
        scheduler = "synchronous"
    try:
        func = functools.partial(measure_file, method=method, threshold=threshold, srf=srf, model=model,
                                 executor=executor)
        results = map_files(func, [str(p) for p in paths], scheduler=scheduler, progress=progress,
                            description="moon measure")
    finally:
        if executor is not None:
            executor.shutdown()
    rows = [row for r in results if r.ok for row in r.value]
    table = rows_to_table(rows)
    model_name = _model(model).name
    table.meta.update(table_provenance("moon measure", [r.path for r in results],
                                       {"method": method, "threshold": threshold, "srf": srf,
                                        "model": model, "model_name": model_name, "jobs": jobs}))
    table.meta["model"] = model_name
    table.meta["flags"] = {name: value for name, value in globals().items()
                           if name.startswith("FLAG_")}
    return table, results


def write_measurement_table(table: Table, path: str | os.PathLike[str]) -> Path:
    """Write the table as ECSV, atomically."""
    out = Path(path)
    with atomic_output(out) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    return out
