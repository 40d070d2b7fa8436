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

__all__ = [
    "COLUMNS",
    "FLAG_CHANNEL_ABSENT",
    "FLAG_FEW_BACKGROUND",
    "FLAG_FIT_POOR",
    "FLAG_MODEL_EXTRAPOLATED",
    "FLAG_NEAR_EDGE",
    "FLAG_NO_SRF",
    "FLAG_OUTLIERS",
    "FLAG_PHASE_RANGE",
    "FLAG_SHOT_UNKNOWN",
    "SEVIRI_SRF",
    "ChannelData",
    "ChannelMeasurement",
    "add_model",
    "compare_methods",
    "measure_channel",
    "measure_channels",
    "measure_file",
    "measure_files",
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

#: table columns in order, with units
COLUMNS: dict[str, str | None] = {
    "file": None, "time": None, "channel": None, "method": None, "moon_pix_num": None,
    "dc_obs": None, "dc_obs_offset": "DN", "dc_obs_offset_unc": "DN", "irr_obs": "W m-2 um-1",
    "irr_obs_unc": "W m-2 um-1", "irr_obs_unc_shot": "W m-2 um-1", "irr_obs_unc_read": "W m-2 um-1",
    "irr_obs_unc_background": "W m-2 um-1", "centre_x": "pix", "centre_y": "pix", "radius": "pix",
    "radius_unc": "pix", "integration_margin": "pix", "integration_pix_num": None,
    "n_outliers": None, "phase_angle": "deg", "sel_obs_lat": "deg", "sel_obs_lon": "deg",
    "sel_sun_lon": "deg", "sun_moon_dist": "AU", "obs_moon_dist": "km", "irr_model": "W m-2 um-1",
    "model": None, "ratio": None, "operator_irr_obs": "W m-2 um-1", "operator_moon_pix_num": None,
    "operator_dc_obs": None, "flags": None,
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


@dataclass
class ChannelMeasurement:
    """The measurement of one channel: the table row plus the arrays behind it."""

    row: dict[str, Any]
    disk: DiskFit | None = field(default=None, repr=False)
    region: np.ndarray | None = field(default=None, repr=False)
    curve: Any = field(default=None, repr=False)
    background_region: np.ndarray | None = field(default=None, repr=False)


def read_channels(path: str | os.PathLike[str]) -> list[ChannelData]:
    """All channels of a GSICS netCDF file, or the one channel of a FITS Moon image."""
    p = require_file(path, "Moon observation")
    if p.suffix.lower() in (".nc", ".nc4", ".netcdf"):
        from etalon.moon.gsics import read_gsics_lunar

        obs = read_gsics_lunar(p)
        out = []
        for ch in obs.channels:
            counts = np.ma.filled(ch.dc_imagette.astype(float), np.nan)
            rad = np.ma.filled(ch.rad_imagette.astype(float), np.nan)
            v = ch.values
            out.append(ChannelData(ch.name, counts, rad, None, v.get("pix_solid_ang") or np.nan,
                                   v.get("ovrsamp_fa") or 1.0, obs.time, obs.sat_pos_km, obs.frame,
                                   threshold=v.get("moon_pix_thld"),
                                   operator={k: v.get(k) for k in ("irr_obs", "moon_pix_num", "dc_obs",
                                                                   "dc_obs_offset")},
                                   present=ch.present))
        return out
    from etalon.moon.images import read_moon_image

    im = read_moon_image(p)
    return [ChannelData(im.channel, im.data.astype(float), None, im.rad_coef, im.pix_solid_ang,
                        im.ovrsamp_fa, im.time, im.observer_km, im.frame, im.gain, im.read_noise_e,
                        im.threshold)]


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
    slope = np.polyfit(ch.counts[ok], ch.radiance[ok], 1)[0]
    return float(slope)


def measure_channel(ch: ChannelData, method: str = "laplace", threshold: float | None = None, *,
                    sigma: float = 1.0, background_margin: float = 20.0,
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
    background_margin : float
        Deep space starts this far beyond the fitted limb, pixels; the curve of
        growth is followed up to there.
    outlier_k : float
        Outlier detection threshold, sigmas.
    relative_texture : float
        When the gain is unknown, lunar texture allowed in the outlier test
        (fraction of the signal).
    """
    row = _empty_row(ch, method)
    if not ch.present:
        row["flags"] = FLAG_CHANNEL_ABSENT
        return ChannelMeasurement(row)
    counts = ch.counts
    valid = np.isfinite(counts)
    flags = 0
    k_dn = _radiance_per_dn(ch) * ch.pix_solid_ang / ch.ovrsamp_fa
    if method == "threshold":
        thr = threshold if threshold is not None else ch.threshold
        if thr is None:
            raise ValueError(f"channel {ch.channel}: no threshold given and none in the file")
        disk = extract_disk(counts, "threshold", valid=valid, threshold=thr)
        mask = disk.moon_mask
        raw = np.where(mask, counts, 0).astype(np.int64)
        radiance = ch.radiance if ch.radiance is not None else None
        far = valid & ~_dilate(_largest_component(mask), int(background_margin)) & ~mask
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
                   dc_obs_offset_unc=bg.uncertainty, irr_obs=irr, irr_obs_unc=budget.uncertainty,
                   irr_obs_unc_shot=budget.shot, irr_obs_unc_read=budget.read,
                   irr_obs_unc_background=budget.background, integration_pix_num=int(mask.sum()),
                   n_outliers=0)
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
        disk = extract_disk(clean, "laplace", valid=valid, sigma=sigma)
        yy, xx = np.indices(counts.shape)
        dist = np.hypot(xx - disk.centre_x, yy - disk.centre_y) - disk.radius
        margin_bg = background_margin
        bg_region = valid & (dist > margin_bg)
        while bg_region.sum() < 500 and margin_bg > 6:
            margin_bg -= 2
            bg_region = valid & (dist > margin_bg)
        bg = _background(clean, bg_region, row)
        curve = curve_of_growth(clean, (disk.centre_x, disk.centre_y), disk.radius, bg.level, valid,
                                max_margin=margin_bg)
        margin = choose_integration_margin(curve, bg.std)
        region = valid & (dist <= margin)
        budget = integrate_irradiance(clean, region, bg.level, k_dn / ch.pix_solid_ang * ch.ovrsamp_fa,
                                      ch.pix_solid_ang, ch.ovrsamp_fa, ch.gain,
                                      _read_noise_dn(ch, bg.std), bg.uncertainty)
        raw_sum = np.where(region, counts, 0.0)
        row.update(moon_pix_num=int(disk.moon_mask.sum()), dc_obs=round(float(raw_sum.sum())),
                   dc_obs_offset=bg.level, dc_obs_offset_unc=bg.uncertainty,
                   irr_obs=budget.irradiance, irr_obs_unc=budget.uncertainty,
                   irr_obs_unc_shot=budget.shot, irr_obs_unc_read=budget.read,
                   irr_obs_unc_background=budget.background, radius_unc=disk.radius_unc,
                   integration_margin=margin, integration_pix_num=budget.n_pixels,
                   n_outliers=fixed.count)
        full = np.hypot(xx - disk.centre_x, yy - disk.centre_y) - disk.radius <= margin
        if disk.near_edge or np.any(full & ~valid) or _touches_border(full):
            flags |= FLAG_NEAR_EDGE
        flags |= FLAG_OUTLIERS if fixed.count else 0
        flags |= FLAG_FEW_BACKGROUND if bg.n_pixels < 500 else 0
        flags |= FLAG_FIT_POOR if (disk.n_limb_points < 20 or disk.rms_px > 0.5) else 0
    else:
        raise ValueError(f"unknown method {method!r}: use 'laplace' or 'threshold'")
    if method == "threshold" and disk.near_edge:
        flags |= FLAG_NEAR_EDGE
    flags |= FLAG_SHOT_UNKNOWN if not ch.gain else 0
    row.update(centre_x=disk.centre_x, centre_y=disk.centre_y, radius=disk.radius, flags=flags)
    return ChannelMeasurement(row, disk, region, curve, bg_region)


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


def _model(name: str):
    from etalon.moon.model import lime_model, read_lime_coefficients, rolo_model

    if name.lower() == "rolo":
        return rolo_model()
    if name.lower() == "lime":
        return lime_model()
    return read_lime_coefficients(name)


def add_model(rows: list[dict[str, Any]], channels: list[ChannelData], srf: str | None = None,
              model: str = "rolo") -> None:
    """Fill geometry, model irradiance and ratio into ``rows`` (in place)."""
    from etalon.moon.geometry import lunar_geometry
    from etalon.moon.model import LunarModelRangeWarning, band_irradiance

    if not rows:
        return
    ch0 = channels[0]
    geo = lunar_geometry(ch0.time, ch0.observer_km, ch0.frame)
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
        response = reg.get(row["channel"])
        if response is None:
            flags |= FLAG_NO_SRF
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LunarModelRangeWarning)
                m = band_irradiance(refl, response, geo.phase_angle_deg, geo.sel_obs_lat_deg,
                                    geo.sel_obs_lon_deg, geo.sel_sun_lon_deg, geo.sun_moon_au,
                                    geo.obs_moon_km)
            row["irr_model"] = m.irradiance
            row["ratio"] = row["irr_obs"] / m.irradiance if np.isfinite(row["irr_obs"]) else np.nan
            flags |= FLAG_MODEL_EXTRAPOLATED if m.extrapolated else 0
        row["flags"] = flags


def measure_file(path: str | os.PathLike[str], method: str = "laplace", threshold: float | None = None,
                 srf: str | None = None, model: str = "rolo", **kwargs: Any) -> list[dict[str, Any]]:
    """Measure every channel of one file; return the table rows (dicts, see :data:`COLUMNS`).

    Raises
    ------
    EtalonInputError
        Naming the file, when it cannot be read or measured.
    """
    p = Path(path)
    channels = read_channels(p)
    rows = []
    for ch in channels:
        try:
            m = measure_channel(ch, method, threshold, **kwargs)
        except ValueError as exc:
            raise EtalonInputError(p, str(exc)) from exc
        m.row["file"] = p.name
        rows.append(m.row)
    add_model(rows, channels, srf, model)
    return rows


def rows_to_table(rows: Sequence[dict[str, Any]]) -> Table:
    """An astropy Table with the columns of :data:`COLUMNS` (units attached)."""
    table = Table(rows=[[r.get(k) for k in COLUMNS] for r in rows] or None, names=list(COLUMNS),
                  dtype=None if rows else [object] * len(COLUMNS))
    for name, unit in COLUMNS.items():
        if unit and len(table):
            table[name].unit = u.Unit(unit)
    return table


def reproduces_operators(table: Table, method: str = "threshold") -> bool:
    """True when every ``method`` row equals the operators' own results, bit for bit.

    Compares ``irr_obs``, ``moon_pix_num`` and ``dc_obs`` with the GSICS file's
    ``operator_irr_obs``, ``operator_moon_pix_num`` and ``operator_dc_obs``
    (exact equality, no tolerance).

    Parameters
    ----------
    table : astropy.table.Table
        Measurement table (:func:`rows_to_table`).
    method : str
        Rows to check (``"threshold"``: the operators' method).

    Raises
    ------
    ValueError
        When the table has no row of ``method``.
    """
    rows = table[table["method"] == method]
    if len(rows) == 0:
        raise ValueError(f"the table has no {method!r} rows to compare with the operators")
    return bool(all(np.all(np.asarray(rows[name]) == np.asarray(rows[f"operator_{name}"]))
                    for name in ("irr_obs", "moon_pix_num", "dc_obs")))


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
                  scheduler: str | None = None, progress: bool = True):
    """Measure many files through :func:`etalon.batch.map_files`.

    Returns
    -------
    table : astropy.table.Table
        Rows of the files that succeeded, with provenance in ``meta``.
    results : list of etalon.batch.FileResult
        One per input (failures carry the error).
    """
    from etalon.batch import map_files

    func = functools.partial(measure_file, method=method, threshold=threshold, srf=srf, model=model)
    results = map_files(func, [str(p) for p in paths], scheduler=scheduler, progress=progress,
                        description="moon measure")
    rows = [row for r in results if r.ok for row in r.value]
    table = rows_to_table(rows)
    table.meta.update(table_provenance("moon measure", [r.path for r in results],
                                       {"method": method, "threshold": threshold, "srf": srf,
                                        "model": model}))
    table.meta["flags"] = {name: value for name, value in globals().items()
                           if name.startswith("FLAG_")}
    return table, results


def write_measurement_table(table: Table, path: str | os.PathLike[str]) -> Path:
    """Write the table as ECSV, atomically."""
    out = Path(path)
    with atomic_output(out) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    return out
