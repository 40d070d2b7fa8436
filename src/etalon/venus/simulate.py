"""Simulated VENuS lunar calibration campaigns with known truth.

A campaign is a series of 12-band lunar acquisitions (2017-08 to 2024-07 by default), each
written as a GSICS-style lunar netCDF file that ``etalon moon measure`` reads, with the truth
beside them: ``truth.ecsv`` (one row per acquisition and band), ``truth.json`` (campaign
parameters, gain-history formula and coefficients) and ``po.ecsv`` (the PO registry the
"ground segment" used). Every truth field is documented in ``docs/venus-simulator.md``.

The chain of one acquisition (all numbers are the truth's, written out):

1. **Dates**: per lunation, ``per_month`` acquisitions alternately waxing and waning, at a
   target |phase| drawn uniformly in ``[phase_min + 2, phase_max - 2]`` degrees, found on the
   geocentric phase curve (DE421), then placed on a circular sun-synchronous orbit (LTDN
   10:30) at the phase's altitude, at the orbit point whose zenith is near the Moon.
2. **True Moon**: ROLO (``etalon.moon.model``) at the observer's geometry times a per-band
   bias ``moon_bias`` (so the true Moon is not the model).
3. **Image**: a Lommel-Seeliger disk with maria, stretched along track (rows) by the
   oversampling factor of the phase's altitude and pitch rate, scaled to the true irradiance
   exactly (``sum(L) * pix_solid_ang / ovrsamp_fa = E``), blurred by the optical PSF (Gaussian
   core + exponential halo, stretched along track), then CT1 halos and CT2 ghosts added with
   the true coefficients (:func:`etalon.straylight.models.add_stray_light`). Each band's Moon
   sits at its own position in its imagette (detector-unit parallax plus pointing error) and
   its own time (``time_offset_s``).
4. **Instrument**: raw DN = A_true * G_true * L + D_true with shot noise (``electrons_per_dn``),
   read noise, hot pixels; A_true = A0 * g(t) with the per-band gain history
   ``g(t) = 1 - a (1 - exp(-t / tau)) - b t`` (t in years since ``t0``); the dark and
   relative gain change when the altitude changes (VM2 onwards).
5. **Level 1** (the PO in force): dark subtraction and equalisation with the PO's
   DARKCU/RELSEN (stale in VM2-VM4, redone at VM5), stray-light correction with the PO's
   STRLGT (close to, not equal to, the truth), a pedestal of ``pedestal_dn``; the file's
   ``dc_obs_imgt`` are these equalised counts (integers), ``rad_obs_imgt`` = (dc - pedestal)
   / A_po before the rounding (Level 1 computes radiance in floating point). The raw DN
   and the per-column dark/relative gain (true and PO) are kept in the file as extra
   variables (``dc_raw_imgt``, ``dark_true``, ``dark_po``, ``relgain_true``, ``relgain_po``).

Approximations (documented): the L1 stray-light correction is applied to first order: the
corrected signal is the clean signal plus ``straylight_po_error`` x the injected stray light
(exact to O(a e), a ~ 1 % the CT coefficients), and the noise passes through it unchanged;
all bands share the lunar pattern (no spectral albedo map);
the geometry is the file date's for every band (band time offsets <= 2 s change the
irradiance by < 1e-6).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table
from astropy.time import Time

from etalon.venus import phases as ph
from etalon.venus.bands import BAND_NAMES, BANDS, DETECTOR_UNITS, detector_unit
from etalon.venus.po import PoRegistry, PoSet, write_po

log = logging.getLogger(__name__)

__all__ = [
    "CampaignConfig",
    "SimulatedAcquisition",
    "acquisition_times",
    "default_ct1",
    "default_ct2",
    "desert_times",
    "gain_history",
    "po_registry",
    "render_stretched_moon",
    "simulate_acquisition",
    "simulate_campaign",
    "venus_position_km",
    "write_acquisition",
]

_SYNODIC_DAYS = 29.530588
DETECTOR_COLUMNS = 5200          #: detectors per array (ELOP: 5200 x 32 TDI)
_J2 = 1.08262668e-3
_SUN_SYNC_RATE = 2 * math.pi / (365.2422 * 86400.0)  # rad/s

# per-band truth defaults: Moon bias (true / ROLO), exponential amplitude, tau (years), slope (/year)
_BIAS = (1.031, 0.985, 1.012, 0.978, 1.024, 1.019, 0.991, 1.007, 0.972, 1.015, 0.96, 1.045)
_EXP_AMP = (0.030, 0.024, 0.018, 0.012, 0.009, 0.010, 0.008, 0.007, 0.006, 0.005, 0.004, 0.004)
_EXP_TAU = (0.8, 0.9, 1.0, 1.1, 1.2, 1.2, 1.3, 1.4, 1.5, 1.5, 1.6, 1.7)
_SLOPE = (0.0040, 0.0035, 0.0030, 0.0024, 0.0020, 0.0021, 0.0018, 0.0016, 0.0014, 0.0012,
          0.0010, 0.0009)


def _per_band(values: Sequence[float]) -> dict[str, float]:
    return dict(zip(BAND_NAMES, (float(v) for v in values), strict=True))


@dataclass
class CampaignConfig:
    """Parameters of a simulated campaign (all written to ``truth.json``).

    Attributes
    ----------
    start, end : str
        First and last day of the campaign (ISO, UTC).
    per_month : int
        Acquisitions per lunation (1: alternately waxing and waning; 2: one of each).
    phase_min_deg, phase_max_deg : float
        Range of |phase angle|, degrees.
    max_acquisitions : int or None
        Keep only this many acquisitions, evenly spread over the campaign (tests).
    scale : float
        Image scale: 1 gives the real Moon (about 1,217 px across), 0.125 about 150 px.
    seed : int
        Random seed: the whole campaign (dates, noise, errors) is a function of it.
    pitch_rate_rad_s : float
        Inertial pitch rate of the lunar scan, rad/s (sets the oversampling factor per altitude).
    oversampling : float or None
        Force this oversampling factor in every acquisition (None: from the pitch rate).
    t0 : str
        Origin of the gain history (launch, ISO).
    moon_bias, exp_amplitude, exp_tau_years, linear_per_year : dict
        Per band: true Moon / ROLO; exponential loss amplitude; its time constant (years);
        linear loss per year. The true gain is ``A0 * g(t)``,
        ``g(t) = 1 - a (1 - exp(-t/tau)) - b t``.
    po_updates : tuple of str
        Dates of the A_k updates (PO versions after the first). The VM5 start (dark and
        equalisation redone) is a PO version of its own when no update falls on it: A_k
        unchanged, DARKCU/RELSEN stepped (the VM5 level is separable from the A_k step).
    po_correction : float
        Fraction of the drift accumulated since launch that an update corrects (0.8).
    po_gain_error : float
        rms relative error of each update's gain estimate (on top of the partial correction).
    electrons_per_dn : float
        Conversion gain, e- per DN.
    read_noise_e : float
        Read noise, e- rms.
    dark_dn : float
        Mean dark signal, DN (VM1); ``dark_change_dn`` added from VM2 on.
    dark_column_rms_dn, relgain_rms : float
        Column-to-column dark rms (DN) and relative-gain rms.
    relgain_change_rms : float
        rms change of the relative gains at the altitude change (VM2).
    po_dark_error_dn, po_relgain_error : float
        rms errors of the PO's dark and equalisation estimates (per column).
    pedestal_dn : float
        Offset added to the Level-1 counts (keeps negative noise).
    psf_sigma_px, psf_halo_fraction, psf_halo_scale_px : float
        Optical PSF: Gaussian core sigma (px), halo flux fraction, halo e-folding (px, full size).
    n_hot : int
        Hot pixels per band image.
    straylight : bool
        Inject CT1/CT2 (and correct them in Level 1 with the PO's parameters).
    straylight_po_error : float
        Relative error of the PO's stray-light coefficients (PO = truth x (1 - error)).
    pointing_error_px : float
        rms of each band's Moon offset from the imagette centre, px at full size.
    desert : bool
        Also simulate the Libya-4 desert acquisitions (``desert.ecsv``, one every
        ``desert_step_days``, same gain history and PO) when :mod:`etalon.desert.simulate` exists.
    desert_step_days : float
        Interval of the desert acquisitions, days.
    """

    start: str = "2017-09-01"
    end: str = "2024-07-31"
    per_month: int = 1
    phase_min_deg: float = 5.0
    phase_max_deg: float = 90.0
    max_acquisitions: int | None = None
    scale: float = 1.0
    seed: int = 0
    pitch_rate_rad_s: float = ph.NOMINAL_LUNAR_PITCH_RATE_RAD_S
    oversampling: float | None = None
    t0: str = "2017-08-02"
    moon_bias: dict[str, float] = field(default_factory=lambda: _per_band(_BIAS))
    exp_amplitude: dict[str, float] = field(default_factory=lambda: _per_band(_EXP_AMP))
    exp_tau_years: dict[str, float] = field(default_factory=lambda: _per_band(_EXP_TAU))
    linear_per_year: dict[str, float] = field(default_factory=lambda: _per_band(_SLOPE))
    po_updates: tuple[str, ...] = ("2019-06-01", "2022-09-01", "2023-09-01")
    po_correction: float = 0.8
    po_gain_error: float = 0.002
    electrons_per_dn: float = 100.0
    read_noise_e: float = 60.0
    dark_dn: float = 20.0
    dark_change_dn: float = 3.0
    dark_column_rms_dn: float = 0.8
    relgain_rms: float = 0.01
    relgain_change_rms: float = 0.003
    po_dark_error_dn: float = 0.05
    po_relgain_error: float = 0.0005
    pedestal_dn: float = 100.0
    psf_sigma_px: float = 0.8
    psf_halo_fraction: float = 0.01
    psf_halo_scale_px: float = 3.0
    n_hot: int = 8
    straylight: bool = True
    straylight_po_error: float = 0.1
    pointing_error_px: float = 15.0
    desert: bool = True
    desert_step_days: float = 16.0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON)."""
        d = dataclasses.asdict(self)
        d["po_updates"] = list(self.po_updates)
        return d


# --------------------------------------------------------------------------- truth models
def gain_history(t_years: np.ndarray | float, a: float, tau: float, b: float) -> np.ndarray:
    """Relative true gain ``g(t) = 1 - a (1 - exp(-t / tau)) - b t`` (t in years, >= 0)."""
    t = np.clip(np.asarray(t_years, float), 0.0, None)
    return 1.0 - a * (1.0 - np.exp(-t / tau)) - b * t


def _years(times: Time, t0: str) -> np.ndarray:
    return np.atleast_1d((times.utc.mjd - Time(t0, scale="utc").mjd) / 365.25)


def po_registry(config: CampaignConfig, rng: np.random.Generator | None = None) -> PoRegistry:
    """The PO registry of the campaign: PO-1 at ``t0`` (A_k = the real header's), then one
    version per date of ``po_updates`` correcting ``po_correction`` of the drift since launch
    (plus an estimate error ``po_gain_error``). DARKCU/RELSEN versions step at VM5 start
    (dark and equalisation redone), a version of its own (A_k unchanged) unless an update
    falls on that day; STRLGT stays."""
    rng = rng or np.random.default_rng(config.seed + 7)
    sets = []
    vm5 = Time(ph.PHASES["VM5"].start, scale="utc")
    dates = [(Time(d, scale="utc"), True) for d in (config.t0, *config.po_updates)]
    if not any(abs(t.mjd - vm5.mjd) < 0.5 for t, _ in dates):
        dates.append((vm5, False))          # dark / equalisation only
    dates.sort(key=lambda x: x[0].mjd)
    ak = {}
    for i, (t, gain_update) in enumerate(dates):
        ak = dict(ak)
        for b in BANDS:
            if i == 0:
                ak[b.name] = b.header_ak
            elif not gain_update:
                continue
            else:
                g = float(gain_history(_years(t, config.t0), config.exp_amplitude[b.name],
                                       config.exp_tau_years[b.name], config.linear_per_year[b.name])[0])
                est = 1.0 - config.po_correction * (1.0 - g)
                ak[b.name] = round(b.header_ak * est * (1.0 + config.po_gain_error * rng.normal()), 6)
        after_vm5 = t.mjd >= vm5.mjd
        dk = {b: (9 if after_vm5 else 8) for b in BAND_NAMES}
        sets.append(PoSet(f"PO-{i + 1}", t.isot[:19], ak,
                          {b.name: -0.0014 for b in BANDS}, dk, dict(dk),
                          {b: 8 for b in BAND_NAMES}, source="simulated"))
    return PoRegistry(sets)


def default_ct1(scale: float = 1.0) -> list:
    """True CT1 kernels per band (project's values: 0.4-1.3 % of the flux in an exponential halo
    of scale 25 px, truncated at 150 px, at full size)."""
    from etalon.straylight.models import CT1Kernel

    return [CT1Kernel(b, 0.004 + 0.0008 * i, max(2.0, 25.0 * scale),
                      max_radius_px=max(6.0, 150.0 * scale)) for i, b in enumerate(BAND_NAMES)]


#: CT2 displacement across track, in nominal lunar radii (at the mean distance), per band
#: index j of a unit: the ghost centre lies 1.45-1.65 radii from the source's Moon (at least
#: 1.3 radii whatever the distance), partly over the victim's own Moon, mostly on deep space.
CT2_DX_RADII = (1.45, 1.55, 1.65)


def default_ct2(scale: float = 1.0) -> list:
    """True CT2 ghosts: each band of a detector unit leaks into the next (0.1-0.25 %).

    Displacements scale with the image: across track ``+-CT2_DX_RADII[j]`` nominal lunar radii
    (sign alternating with the detector unit: D1 +, D2 -, D3 +, D4 -), along track
    ``(-40 + 30 j + 5 k) x scale`` px; blur ``max(1, 6 x scale)`` px.
    """
    from etalon.straylight.models import CT2Ghost

    r0 = 0.5 * ph.moon_diameter_px() * scale
    out = []
    for k, (_unit, bands) in enumerate(DETECTOR_UNITS.items()):
        sign = 1.0 if k % 2 == 0 else -1.0
        for j, src in enumerate(bands):
            vic = bands[(j + 1) % 3]
            out.append(CT2Ghost(src, vic, 0.001 + 0.0005 * ((j + k) % 4),
                                dx=round(sign * CT2_DX_RADII[j] * r0, 2),
                                dy=round((-40.0 + 30 * j + 5 * k) * scale, 2),
                                blur_px=max(1.0, 6.0 * scale)))
    return out


def _scaled_ct(ct1: list, ct2: list, factor: float) -> tuple[list, list]:
    return ([dataclasses.replace(k, amplitude=k.amplitude * factor) for k in ct1],
            [dataclasses.replace(g, coefficient=g.coefficient * factor) for g in ct2])


# --------------------------------------------------------------------------- dates and orbit
def _geocentric_phase(times: Time) -> np.ndarray:
    """Geocentric signed phase angle (deg, negative waxing) on a time grid (vectorised)."""
    from astropy.coordinates import get_body_barycentric

    from etalon.moon.geometry import default_ephemeris

    eph = default_ephemeris()
    e = get_body_barycentric("earth", times, ephemeris=eph).xyz.value.T
    m = get_body_barycentric("moon", times, ephemeris=eph).xyz.value.T
    s = get_body_barycentric("sun", times, ephemeris=eph).xyz.value.T
    to_e, to_s = e - m, s - m
    cosg = np.sum(to_e * to_s, axis=1) / (np.linalg.norm(to_e, axis=1) * np.linalg.norm(to_s, axis=1))
    g = np.degrees(np.arccos(np.clip(cosg, -1, 1)))
    # waxing: the phase angle decreases toward full Moon
    dg = np.gradient(g)
    return np.where(dg < 0, -g, g)


def acquisition_times(start: str, end: str, per_month: int = 1, phase_min_deg: float = 5.0,
                      phase_max_deg: float = 90.0, seed: int = 0) -> tuple[Time, np.ndarray]:
    """Dates of lunar acquisitions at usable phases.

    Returns
    -------
    times : astropy.time.Time
        Sorted acquisition times (UTC).
    target_phase_deg : numpy.ndarray
        The signed geocentric phase angle aimed at (negative waxing), degrees.
    """
    if per_month < 1:
        raise ValueError(f"per_month must be >= 1, got {per_month}")
    rng = np.random.default_rng(seed)
    t0, t1 = Time(start, scale="utc"), Time(end, scale="utc")
    step = 0.25
    grid = Time(np.arange(t0.mjd - 20, t1.mjd + 20, step), format="mjd", scale="utc")
    g = _geocentric_phase(grid)
    absg = np.abs(g)
    # full Moons: local minima of |g|
    fulls = np.where((absg[1:-1] < absg[:-2]) & (absg[1:-1] <= absg[2:]))[0] + 1
    lo, hi = phase_min_deg + 2.0, phase_max_deg - 2.0
    out_t, out_p = [], []
    k = 0
    for f in fulls:
        for n in range(per_month):
            waxing = (k + n) % 2 == 0 if per_month == 1 else n % 2 == 0
            target = rng.uniform(lo, hi)
            if waxing:  # before full: |g| decreasing to the full
                seg = slice(max(f - int(16 / step), 0), f + 1)
            else:
                seg = slice(f, min(f + int(16 / step), len(g) - 1) + 1)
            ts, gs = grid.mjd[seg], absg[seg]
            if waxing:
                ts, gs = ts[::-1], gs[::-1]  # increasing |g| away from the full
            idx = np.where((gs[:-1] <= target) & (gs[1:] > target))[0]
            if not len(idx):
                continue
            i = idx[0]
            frac = (target - gs[i]) / (gs[i + 1] - gs[i])
            t = ts[i] + frac * (ts[i + 1] - ts[i])
            if t0.mjd <= t <= t1.mjd + 1:
                out_t.append(t)
                out_p.append(-target if waxing else target)
        k += 1
    order = np.argsort(out_t)
    times = Time(np.asarray(out_t)[order], format="mjd", scale="utc")
    times.format = "isot"
    return times, np.asarray(out_p)[order]


def sun_sync_inclination_deg(altitude_km: float) -> float:
    """Inclination of a circular sun-synchronous orbit at ``altitude_km`` (J2 only), degrees."""
    a = ph.EARTH_RADIUS_KM + altitude_km
    n = math.sqrt(ph.EARTH_GM_KM3_S2 / a**3)
    cosi = -_SUN_SYNC_RATE / (1.5 * _J2 * (ph.EARTH_RADIUS_KM / a) ** 2 * n)
    return math.degrees(math.acos(cosi))


def venus_position_km(time: Time, altitude_km: float, moon_direction: np.ndarray,
                      offset_deg: float = 0.0) -> np.ndarray:
    """VENuS position (GCRS/J2000 axes, km) on a circular sun-synchronous orbit, LTDN 10:30.

    The ascending node is at local time LTDN + 12 h (right ascension of the mean Sun plus
    (LTDN + 12 - 12) x 15 deg); the satellite is placed at the argument of latitude whose
    zenith is closest to ``moon_direction`` (unit vector), plus ``offset_deg``.
    """
    from astropy.coordinates import GCRS, get_sun

    sun = get_sun(time).transform_to(GCRS(obstime=time))
    raan = math.radians(sun.ra.deg + (ph.LTDN_HOURS + 12.0 - 12.0) * 15.0)
    inc = math.radians(sun_sync_inclination_deg(altitude_km))
    p = np.array([math.cos(raan), math.sin(raan), 0.0])
    q = np.array([-math.sin(raan) * math.cos(inc), math.cos(raan) * math.cos(inc), math.sin(inc)])
    m = np.asarray(moon_direction, float) / np.linalg.norm(moon_direction)
    u = math.atan2(float(q @ m), float(p @ m)) + math.radians(offset_deg)
    return (ph.EARTH_RADIUS_KM + altitude_km) * (p * math.cos(u) + q * math.sin(u))


# --------------------------------------------------------------------------- images
def render_stretched_moon(shape: tuple[int, int], centre_xy: tuple[float, float], radius: float,
                          stretch: float, phase_deg: float, position_angle_deg: float = 0.0,
                          supersample: int = 3) -> np.ndarray:
    """Noise-free lunar radiance (arbitrary scale), the disk stretched along rows by ``stretch``.

    Lommel-Seeliger shading with three maria (as :func:`etalon.moon.simulate.render_moon`),
    the Sun tilted by ``phase_deg`` toward ``position_angle_deg`` (0 = +x, columns); pixel
    values are means over ``supersample`` x ``supersample`` sub-pixels. Semi-axes: ``radius``
    (columns) and ``radius * stretch`` (rows).
    """
    h, w = shape
    s = int(supersample)
    ry = radius * stretch
    x0 = max(int(np.floor(centre_xy[0] - radius)) - 1, 0)
    x1 = min(int(np.ceil(centre_xy[0] + radius)) + 2, w)
    y0 = max(int(np.floor(centre_xy[1] - ry)) - 1, 0)
    y1 = min(int(np.ceil(centre_xy[1] + ry)) + 2, h)
    out = np.zeros(shape, dtype=np.float64)
    g, pa = np.radians(abs(phase_deg)), np.radians(position_angle_deg)
    sun = np.array([np.sin(g) * np.cos(pa), np.sin(g) * np.sin(pa), np.cos(g)])
    subx = (np.arange((x1 - x0) * s) + 0.5) / s - 0.5 + x0
    u = ((subx - centre_xy[0]) / radius)[None, :]
    chunk = max(1, 4_000_000 // max(1, u.size * s))  # rows of output per chunk (memory)
    for r0 in range(y0, y1, chunk):
        r1 = min(r0 + chunk, y1)
        suby = (np.arange((r1 - r0) * s) + 0.5) / s - 0.5 + r0
        v = ((suby - centre_xy[1]) / ry)[:, None]
        rho2 = u**2 + v**2
        mu = np.sqrt(np.clip(1.0 - rho2, 0.0, None))
        mu0 = u * sun[0] + v * sun[1] + mu * sun[2]
        lit = (rho2 < 1.0) & (mu0 > 0)
        rad = np.where(lit, mu0 / np.where(lit, mu0 + mu, 1.0), 0.0)
        for (mx, my, mr, depth) in ((-0.25, -0.3, 0.25, 0.35), (0.3, -0.1, 0.18, 0.3),
                                    (0.05, 0.35, 0.2, 0.25)):
            rad *= 1.0 - depth * np.exp(-((u - mx) ** 2 + (v - my) ** 2) / (2 * mr**2))
        out[r0:r1, x0:x1] = rad.reshape(r1 - r0, s, x1 - x0, s).mean(axis=(1, 3))
    return out


def psf_kernel_stretched(sigma_px: float, halo_fraction: float, halo_scale_px: float,
                         stretch: float) -> np.ndarray:
    """Normalised optical PSF on the image grid: Gaussian core + exponential halo, both
    stretched along rows by ``stretch`` (the oversampling factor)."""
    hx = math.ceil(max(4 * sigma_px, 8 * halo_scale_px))
    hy = math.ceil(hx * stretch)
    yy, xx = np.mgrid[-hy:hy + 1, -hx:hx + 1]
    yn = yy / stretch
    core = np.exp(-(xx**2 + yn**2) / (2 * sigma_px**2))
    halo = np.exp(-np.hypot(xx, yn) / halo_scale_px)
    return (1 - halo_fraction) * core / core.sum() + halo_fraction * halo / halo.sum()


@dataclass
class SimulatedAcquisition:
    """One simulated 12-band acquisition: the images, the file's content and the truth rows."""

    time: Time
    phase: str
    altitude_km: float
    observer_km: np.ndarray
    ovrsamp_fa: float
    pix_solid_ang: float
    dc: dict[str, np.ndarray] = field(repr=False)          # L1 counts (int32)
    radiance: dict[str, np.ndarray] = field(repr=False)    # L1 radiance
    raw: dict[str, np.ndarray] = field(repr=False)         # raw DN (int32)
    columns: dict[str, dict[str, np.ndarray]] = field(repr=False)  # per-column dark/gain
    truth: list[dict[str, Any]] = field(default_factory=list)


def _unit_offsets(scale: float) -> dict[str, tuple[float, float]]:
    """Deterministic per-unit Moon offsets in the imagette (col, row), px: the residual
    parallax of the crop (units see the Moon at different lines)."""
    base = {"D1": (-6.0, -60.0), "D3": (-2.0, -20.0), "D2": (2.0, 20.0), "D4": (6.0, 60.0)}
    return {u: (c * scale, r * scale) for u, (c, r) in base.items()}


class _Instrument:
    """Per-detector dark and relative gain, true and PO, per band and era (pre/post VM2), for
    the 5,200 detectors of an array (5,200 x scale columns of a scaled image); an imagette is
    a crop of ``cols`` columns starting at ``first``."""

    def __init__(self, config: CampaignConfig, min_cols: int = 0):
        rng = np.random.default_rng(config.seed + 1001)
        ncols = max(math.ceil(DETECTOR_COLUMNS * config.scale), int(min_cols) + 2)
        self.cols = ncols
        self.true, self.po = {}, {}
        for b in BAND_NAMES:
            g1 = 1.0 + config.relgain_rms * rng.standard_normal(ncols)
            g1 /= g1.mean()
            d1 = config.dark_dn + config.dark_column_rms_dn * rng.standard_normal(ncols)
            g2 = g1 * (1.0 + config.relgain_change_rms * rng.standard_normal(ncols))
            g2 /= g2.mean()
            d2 = d1 + config.dark_change_dn + 0.5 * config.dark_column_rms_dn * rng.standard_normal(ncols)
            self.true[b] = {"VM1": (d1, g1), "VM2": (d2, g2)}
            pd1 = d1 + config.po_dark_error_dn * rng.standard_normal(ncols)
            pg1 = g1 * (1.0 + config.po_relgain_error * rng.standard_normal(ncols))
            pd2 = d2 + config.po_dark_error_dn * rng.standard_normal(ncols)
            pg2 = g2 * (1.0 + config.po_relgain_error * rng.standard_normal(ncols))
            self.po[b] = {"DARKCU8": (pd1, pg1), "DARKCU9": (pd2, pg2)}

    def first_column(self, cols: int, rng: np.random.Generator, scale: float) -> int:
        """Detector index of the imagette's first column: centred, +-50 px x scale at random."""
        free = self.cols - cols
        return int(np.clip(free // 2 + round(rng.uniform(-50, 50) * scale), 0, free))

    def true_at(self, band: str, phase: str, first: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        d, g = self.true[band]["VM1" if phase == "VM1" else "VM2"]
        return d[first:first + cols], g[first:first + cols]

    def po_at(self, band: str, darkcu_version: int, first: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        d, g = self.po[band]["DARKCU9" if darkcu_version >= 9 else "DARKCU8"]
        return d[first:first + cols], g[first:first + cols]


def _detector_electrons(rng: np.random.Generator, mean_e: np.ndarray, read_noise_e: float) -> np.ndarray:
    """Electrons with shot and read noise: Poisson where the mean is below 400 e-, the Gaussian
    limit N(mean, mean + read^2) above (skewness < 0.05; 5x faster on a full-size image)."""
    out = np.empty(mean_e.shape, dtype=np.float64)
    low = mean_e < 400.0
    out[low] = rng.poisson(mean_e[low]) + rng.normal(0.0, read_noise_e, int(low.sum()))
    hi = ~low
    m = mean_e[hi]
    out[hi] = m + np.sqrt(m + read_noise_e**2) * rng.standard_normal(m.size, dtype=np.float32)
    return out


def _dark_pattern_sigma(dark_residual: np.ndarray, cx: float, r_col: float, r_row: float,
                        rows: int, margin: float = 20.0) -> float:
    """rms effect, in DN summed, of a per-column dark residual pattern on a disk integration.

    The nominal region is the disk grown by ``margin`` px; the background level, taken over
    the rest of the image, removes the pattern's mean. With n_c the region's rows in column c
    and b_c the background rows, the error is sum_c d_c (n_c - N b_c / B); its rms over
    patterns of the same column rms is rms(d) sqrt(sum_c (n_c - N b_c / B)^2).
    """
    cols = dark_residual.size
    x = np.arange(cols) + 0.0
    u = (x - cx) / (r_col + margin)
    n = np.where(np.abs(u) < 1, 2 * (r_row + margin) * np.sqrt(np.clip(1 - u**2, 0, None)), 0.0)
    n = np.minimum(n, rows)
    bgr = rows - n
    w = n - n.sum() * bgr / bgr.sum()
    return float(np.std(dark_residual) * np.sqrt(np.sum(w**2)))


def _image_geometry(config: CampaignConfig, distance_km: float, os_fa: float) -> tuple[int, int, float]:
    radius = 0.5 * ph.moon_diameter_px(distance_km) * config.scale
    margin = 0.06 * 2 * radius + 40.0 + config.pointing_error_px * config.scale * 2 + 30 * config.scale
    # deep space across track for the CT2 ghosts (up to 1.65 nominal radii + a radius + blur)
    r0 = 0.5 * ph.moon_diameter_px() * config.scale
    cols = math.ceil(2 * radius + 2 * margin + 2 * (max(CT2_DX_RADII) * r0 + 0.1 * radius))
    rows = math.ceil(2 * radius * os_fa + 2 * margin + 2 * 60.0 * config.scale * os_fa)
    return rows, cols, radius


def simulate_acquisition(time: Time, config: CampaignConfig, registry: PoRegistry,
                         index: int = 0, target_phase_deg: float | None = None,
                         ct1_true: list | None = None, ct2_true: list | None = None,
                         instrument: _Instrument | None = None) -> SimulatedAcquisition:
    """Simulate one 12-band acquisition at ``time`` (see the module docstring for the chain)."""
    import warnings

    from scipy import signal

    from etalon.moon.geometry import lunar_geometry
    from etalon.moon.measure import _srf_registry
    from etalon.moon.model import LunarModelRangeWarning, band_irradiance, rolo_model

    rng = np.random.default_rng([config.seed, index, 17])
    phase = ph.phase_at(time)
    alt = float(ph.altitude_at(time))
    # observer: geocentric geometry first, then the orbit point
    geo0 = lunar_geometry(time, [0.0, 0.0, 0.0], "J2000")
    moon_dir = geo0.moon_icrs_km / np.linalg.norm(geo0.moon_icrs_km)
    observer = venus_position_km(time, alt, moon_dir, rng.uniform(-40.0, 40.0))
    geo = lunar_geometry(time, observer, "J2000")
    os_fa = (config.oversampling if config.oversampling is not None
             else ph.oversampling_factor(config.pitch_rate_rad_s, alt))
    pix_sr = ph.IFOV_RAD**2 / config.scale**2   # a scaled pixel sees (IFOV/scale)^2
    rows, cols, radius = _image_geometry(config, geo.obs_moon_km, os_fa)
    inst = instrument if instrument is not None and instrument.cols >= cols else _Instrument(config, cols)
    first_col = inst.first_column(cols, rng, config.scale)
    po = registry.in_force(time)
    srf = _srf_registry(None)
    model = rolo_model()
    t_years = float(_years(time, config.t0)[0])
    # position angle of the bright limb: waning (+) -> +x, waxing (-) -> -x, with a jitter
    pa = (0.0 if geo.phase_angle_deg > 0 else 180.0) + rng.uniform(-20, 20)
    units = _unit_offsets(config.scale)
    centres = {}
    for b in BAND_NAMES:
        du, dv = units[detector_unit(b)]
        jitter = config.pointing_error_px * config.scale * rng.standard_normal(2)
        centres[b] = (cols / 2.0 + du + jitter[0] * 0.3, rows / 2.0 + dv * os_fa + jitter[1])
    # one rendering on a shared grid, shifted per band by whole pixels + sub-pixel kept in truth
    ref_c = (cols / 2.0 + 0.37, rows / 2.0 + 0.61)
    shade = render_stretched_moon((rows, cols), ref_c, radius, os_fa, geo.phase_angle_deg, pa,
                                  supersample=3 if config.scale < 0.5 else 2)
    psf = psf_kernel_stretched(config.psf_sigma_px, config.psf_halo_fraction,
                               max(1.0, config.psf_halo_scale_px), os_fa)
    shade = np.clip(signal.fftconvolve(shade, psf, mode="same"), 0.0, None)
    shade_sum = shade.sum()
    clean_sum: dict[str, float] = {}
    irr_model, irr_true, shift = {}, {}, {}
    for b in BAND_NAMES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LunarModelRangeWarning)
            m = band_irradiance(model, srf[b], geo.phase_angle_deg, geo.sel_obs_lat_deg,
                                geo.sel_obs_lon_deg, geo.sel_sun_lon_deg, geo.sun_moon_au, geo.obs_moon_km)
        irr_model[b] = m.irradiance
        irr_true[b] = m.irradiance * config.moon_bias[b]
        dx = round(centres[b][0] - ref_c[0])
        dy = round(centres[b][1] - ref_c[1])
        shift[b] = (dx, dy)
        centres[b] = (ref_c[0] + dx, ref_c[1] + dy)
        clean_sum[b] = irr_true[b] * os_fa / pix_sr      # sum of the clean radiance image
    ct1_true = ct1_true if ct1_true is not None else []
    ct2_true = ct2_true if ct2_true is not None else []
    stray_ok = bool(config.straylight and (ct1_true or ct2_true))
    columns, a_true, signal_dn = {}, {}, {}
    for b in BAND_NAMES:
        a0 = next(x.header_ak for x in BANDS if x.name == b)
        g = float(gain_history(t_years, config.exp_amplitude[b], config.exp_tau_years[b],
                               config.linear_per_year[b]))
        a_true[b] = a0 * g
        d_t, g_t = inst.true_at(b, phase, first_col, cols)
        d_p, g_p = inst.po_at(b, po.darkcu.get(b, 8), first_col, cols)
        columns[b] = {"dark_true": d_t, "relgain_true": g_t, "dark_po": d_p, "relgain_po": g_p}
        # raw DN above dark, no stray light: A_true G_true L (L the clean radiance, W m-2 sr-1 um-1)
        signal_dn[b] = np.roll(shade, shift[b][::-1], axis=(0, 1)) * (a_true[b] * clean_sum[b] / shade_sum)
        signal_dn[b] *= g_t
    # stray light acts on the detector signal (DN): CT1 halo in the band, CT2 between arrays.
    # Level 1 corrects it with the PO's coefficients (truth x (1 - e)); to first order in the
    # coefficients the corrected signal is the clean one plus e x the injected stray light.
    stray = {}
    if stray_ok:
        from etalon.straylight.models import add_stray_light

        for b_, im in add_stray_light(signal_dn, ct1_true, ct2_true).items():
            stray[b_] = (im - signal_dn[b_]).astype(np.float32)
    dc, rad, raw, truth = {}, {}, {}, []
    rolo_name = model.name
    for b in BAND_NAMES:
        cset = columns[b]
        expected_dn = signal_dn[b] + stray[b] if b in stray else signal_dn[b]   # raw DN above dark
        e = _detector_electrons(rng, np.clip(expected_dn, 0, None) * config.electrons_per_dn,
                                config.read_noise_e)
        raw_dn = e / config.electrons_per_dn + cset["dark_true"]
        hot = rng.choice(rows * cols, size=config.n_hot, replace=False)
        hr, hc = np.unravel_index(hot, (rows, cols))
        raw_dn[hr, hc] += rng.uniform(200.0, 800.0, config.n_hot)
        raw_int = np.floor(raw_dn + 0.5).astype(np.int32)
        # level 1 with the PO: dark, equalisation (on the real raw DN), stray light (linear,
        # on the signal; see the module docstring), pedestal
        eq = (raw_int - cset["dark_po"]) / cset["relgain_po"]
        l1_signal = expected_dn / cset["relgain_po"]                        # equalised, noise-free
        l1_corr = (signal_dn[b] + config.straylight_po_error * stray[b] if b in stray
                   else signal_dn[b]) / cset["relgain_po"]                    # after the correction
        l1 = l1_corr + (eq - l1_signal)              # = eq with the stray-light correction
        dc_b = np.floor(l1 + config.pedestal_dn + 0.5).astype(np.int32)
        po_ak = po.ak[b]
        dc[b] = dc_b
        # radiance from the unrounded Level-1 signal: rounding (raw integer DN minus a
        # non-integer per-column dark) a second time would bias each column by a constant
        # fraction of a count (uniform, 0.29 DN rms): stripes that no real Level 1 makes
        rad[b] = (l1 / po_ak).astype(np.float32)
        raw[b] = raw_int
        # truth
        k_irr = pix_sr / os_fa
        e_signal = float(np.clip(expected_dn, 0, None).sum() * config.electrons_per_dn)
        eq_factor = float((signal_dn[b] / cset["relgain_po"]).sum() / (a_true[b] * clean_sum[b]))
        irr_expected = float(l1_corr.sum() / po_ak * k_irr)
        stray_factor = float(l1_corr.sum() / (signal_dn[b] / cset["relgain_po"]).sum())
        photon = math.sqrt(e_signal) / config.electrons_per_dn / po_ak * k_irr
        dark_res = (cset["dark_true"] - cset["dark_po"]) / cset["relgain_po"]
        dark_sigma = _dark_pattern_sigma(dark_res, centres[b][0], radius, radius * os_fa, rows) \
            * k_irr / po_ak
        lit = signal_dn[b] > 0.05 * signal_dn[b].max()
        moon_mean_dn = float(signal_dn[b][lit].mean()) if lit.any() else 0.0
        truth.append({
            "acq": index, "time": time.utc.isot, "phase_name": phase, "altitude_km": alt,
            "channel": b, "detector_unit": detector_unit(b),
            "phase_angle": geo.phase_angle_deg, "target_phase": np.nan if target_phase_deg is None
            else float(target_phase_deg),
            "sel_obs_lat": geo.sel_obs_lat_deg, "sel_obs_lon": geo.sel_obs_lon_deg,
            "sel_sun_lon": geo.sel_sun_lon_deg, "sun_moon_dist": geo.sun_moon_au,
            "obs_moon_dist": geo.obs_moon_km, "model": rolo_name, "irr_model": irr_model[b],
            "moon_bias": config.moon_bias[b], "irr_true": irr_true[b], "gain_a0": a0,
            "gain_rel_true": a_true[b] / a0, "gain_true": a_true[b], "po_version": po.version,
            "gain_po": po_ak, "gain_ratio": a_true[b] / po_ak,
            "irr_apparent": irr_true[b] * a_true[b] / po_ak,
            "equalisation_factor": eq_factor, "straylight_factor": stray_factor,
            "irr_expected": irr_expected, "ratio_expected": irr_expected / irr_model[b],
            "photon_sigma": photon, "dark_pattern_sigma": dark_sigma,
            "signal_e": e_signal, "moon_mean_dn": moon_mean_dn,
            "read_sigma_px_dn": config.read_noise_e / config.electrons_per_dn,
            "darkcu_version": int(po.darkcu.get(b, -1)), "relsen_version": int(po.relsen.get(b, -1)),
            "strlgt_version": int(po.strlgt.get(b, -1)),
            "dark_true_mean": float(cset["dark_true"].mean()), "dark_po_mean": float(cset["dark_po"].mean()),
            "dark_residual_rms": float(np.std(dark_res)), "relgain_residual_rms":
            float(np.std(cset["relgain_true"] / cset["relgain_po"])),
            "ovrsamp_fa": os_fa, "pitch_rate": config.pitch_rate_rad_s, "pix_solid_ang": pix_sr,
            "scale": config.scale, "radius_col": radius, "radius_row": radius * os_fa,
            "centre_x": centres[b][0], "centre_y": centres[b][1],
            "time_offset_s": ph.unit_along_track_offset_rad(detector_unit(b)) / config.pitch_rate_rad_s,
            "rows": rows, "cols": cols, "first_column": first_col, "n_hot": config.n_hot,
            "ct1_amplitude_true": next((k.amplitude for k in ct1_true if k.band == b), 0.0)
            if stray_ok else 0.0,
            "ct2_in_true": sum(g.coefficient * float(signal_dn[g.source].sum()) for g in ct2_true
                               if g.victim == b) / float(signal_dn[b].sum()) if stray_ok else 0.0,
            "straylight_po_error": config.straylight_po_error if stray_ok else 0.0,
            "electrons_per_dn": config.electrons_per_dn, "read_noise_e": config.read_noise_e,
            "pedestal_dn": config.pedestal_dn,
            "observer_x": observer[0], "observer_y": observer[1], "observer_z": observer[2],
        })
    return SimulatedAcquisition(time, phase, alt, observer, os_fa, pix_sr, dc, rad, raw, columns, truth)


def write_acquisition(acq: SimulatedAcquisition, path: str | os.PathLike[str],
                      parameters: dict[str, Any] | None = None) -> Path:
    """Write one acquisition as a GSICS-style lunar netCDF (atomically), with the raw DN and
    the per-column dark and relative gains (true and PO) as extra variables."""
    import netCDF4

    from etalon.fileio import atomic_output
    from etalon.moon.gsics import GsicsChannel, GsicsLunarObservation, write_gsics_lunar

    chans = []
    for b in BAND_NAMES:
        t = next(r for r in acq.truth if r["channel"] == b)
        values = {"irr_obs": None, "pix_solid_ang": acq.pix_solid_ang, "ovrsamp_fa": acq.ovrsamp_fa,
                  "dc_obs": None, "dc_obs_offset": t["pedestal_dn"], "moon_pix_num": None,
                  "moon_pix_thld": None, "gain": t["electrons_per_dn"], "read_noise": t["read_noise_e"],
                  "pix_solid_ang_unc": 0.0, "ovrsamp_fa_unc": 0.0}   # exact in a simulation
        chans.append(GsicsChannel(b, True, values, np.ma.asarray(acq.dc[b]),
                                  np.ma.asarray(acq.radiance[b])))
    attrs = {"title": "simulated VENuS lunar observation (etalon.venus.simulate)",
             "platform": "VENuS", "instrument": "VSSC", "phase": acq.phase,
             "altitude_km": acq.altitude_km, "po_version": acq.truth[0]["po_version"],
             "counts": "Level-1 equalised counts: dark-subtracted and equalised with the PO, "
                       "stray light corrected, plus dc_obs_offset (pedestal)"}
    obs = GsicsLunarObservation(None, acq.time, np.asarray(acq.observer_km, float), "J2000",
                                chans, attrs)
    out = Path(path)
    with atomic_output(out) as tmp:
        write_gsics_lunar(tmp, obs, history="simulated by etalon.venus.simulate",
                          parameters=parameters)
        with netCDF4.Dataset(tmp, "a") as ds:
            v = ds.createVariable("dc_raw_imgt", "i4", ("row", "col", "chan"), fill_value=-999,
                                  zlib=True, complevel=1)
            v.long_name, v.units = "raw counts DN = A_k G_p L + D_p (before Level 1)", "1"
            v[:] = np.stack([acq.raw[b] for b in BAND_NAMES], axis=2)
            for key, unit, desc in (("dark_true", "1", "true dark D_p per column"),
                                    ("dark_po", "1", "PO (DARKCU) dark per column"),
                                    ("relgain_true", "1", "true relative gain G_p per column"),
                                    ("relgain_po", "1", "PO (RELSEN) relative gain per column")):
                v = ds.createVariable(key, "f8", ("col", "chan"))
                v.long_name, v.units = desc, unit
                v[:] = np.stack([acq.columns[b][key] for b in BAND_NAMES], axis=1)
    return out


def _truth_table(rows: list[dict[str, Any]], config: CampaignConfig) -> Table:
    from etalon.provenance import table_provenance

    t = Table(rows=rows)
    units = {"irr_model": "W m-2 um-1", "irr_true": "W m-2 um-1", "irr_apparent": "W m-2 um-1",
             "irr_expected": "W m-2 um-1", "photon_sigma": "W m-2 um-1", "phase_angle": "deg",
             "target_phase": "deg", "sel_obs_lat": "deg", "sel_obs_lon": "deg", "sel_sun_lon": "deg",
             "sun_moon_dist": "AU", "obs_moon_dist": "km", "altitude_km": "km",
             "pix_solid_ang": "sr", "pitch_rate": "rad/s", "time_offset_s": "s",
             "centre_x": "pix", "centre_y": "pix", "radius_col": "pix", "radius_row": "pix",
             "observer_x": "km", "observer_y": "km", "observer_z": "km"}
    for k, un in units.items():
        if k in t.colnames:
            t[k].unit = un
    t.meta.update(table_provenance("venus simulate-campaign truth", [], {
        "seed": config.seed, "scale": config.scale, "per_month": config.per_month}))
    t.meta["description"] = "truth per acquisition x band: see docs/venus-simulator.md"
    return t


def simulate_campaign(outdir: str | os.PathLike[str], config: CampaignConfig | None = None,
                      progress: bool = False) -> dict[str, Any]:
    """Simulate a campaign and write it to ``outdir``.

    Writes ``VENUS_MOON_<YYYYmmddTHHMMSS>.nc`` per acquisition, ``truth.ecsv``, ``truth.json``,
    ``po.ecsv``, with stray light ``straylight_true.ecsv`` (the injected CT1/CT2) and
    ``straylight_po.ecsv`` (what Level 1 corrected: truth x (1 - ``straylight_po_error``)), both
    :func:`etalon.straylight.params.write_parameters` files (``etalon venus crosstalk
    --parameters``), and, when :mod:`etalon.desert.simulate` exists, ``desert.ecsv``.

    Returns
    -------
    dict
        ``files`` (paths), ``truth`` (Table), ``registry`` (PoRegistry), ``config``.
    """
    from etalon.fileio import atomic_output

    config = config or CampaignConfig()
    if not 0 < config.scale <= 1.0:
        raise ValueError(f"scale must be in (0, 1], got {config.scale}")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    times, targets = acquisition_times(config.start, config.end, config.per_month,
                                       config.phase_min_deg, config.phase_max_deg, config.seed)
    if config.max_acquisitions is not None and len(times) > config.max_acquisitions:
        keep = np.unique(np.linspace(0, len(times) - 1, config.max_acquisitions).round().astype(int))
        times, targets = times[keep], targets[keep]
    registry = po_registry(config)
    ct1 = ct2 = None
    if config.straylight:
        try:
            ct1, ct2 = default_ct1(config.scale), default_ct2(config.scale)
        except ImportError:
            log.warning("etalon.straylight.models is not available: no CT1/CT2 injected")
            ct1, ct2 = [], []
    files, rows = [], []
    inst = _Instrument(config)
    it = range(len(times))
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="venus acquisitions")
    for i in it:
        t = times[i]
        acq = simulate_acquisition(t, config, registry, i, float(targets[i]), ct1, ct2, inst)
        name = f"VENUS_MOON_{t.strftime('%Y%m%dT%H%M%S')}.nc"
        for r in acq.truth:
            r["file"] = name
        path = write_acquisition(acq, out / name, {"seed": config.seed, "scale": config.scale,
                                                   "acquisition": i})
        files.append(path)
        rows.extend(acq.truth)
    truth = _truth_table(rows, config)
    with atomic_output(out / "truth.ecsv") as tmp:
        truth.write(tmp, format="ascii.ecsv", overwrite=True)
    write_po(registry, out / "po.ecsv")
    if ct1 or ct2:
        from etalon.straylight.params import write_parameters

        par = {"seed": config.seed, "scale": config.scale,
               "straylight_po_error": config.straylight_po_error,
               "units": "coefficients on detector counts (DN): a ghost of c adds c x the "
                        "source's DN to the victim's DN"}
        write_parameters(out / "straylight_true.ecsv", ct1, ct2, version="injected (truth)",
                         parameters=par)
        ct1_po, ct2_po = _scaled_ct(ct1 or [], ct2 or [], 1.0 - config.straylight_po_error)
        write_parameters(out / "straylight_po.ecsv", ct1_po, ct2_po,
                         version=f"STRLGT {next(iter(registry)).strlgt.get('B1', 8)} (Level 1)",
                         parameters=par)
    meta = {
        "config": config.as_dict(),
        "gain_history": {
            "formula": "A_true(t) = A0 * (1 - a * (1 - exp(-t / tau)) - b * t), t = (MJD - MJD(t0)) / 365.25",
            "t0": config.t0,
            "A0": {b.name: b.header_ak for b in BANDS},
            "a": config.exp_amplitude, "tau_years": config.exp_tau_years,
            "b_per_year": config.linear_per_year,
        },
        "moon_bias": config.moon_bias,
        "po_updates": {s.version: s.validity_start for s in registry},
        "phases": {k: p.as_dict() for k, p in ph.PHASES.items()},
        "ct1_true": [dataclasses.asdict(k) for k in (ct1 or [])],
        "ct2_true": [dataclasses.asdict(g) for g in (ct2 or [])],
        "straylight_po": "truth coefficients x (1 - straylight_po_error)",
        "files": [p.name for p in files],
        "n_acquisitions": len(files),
    }
    from etalon.provenance import table_provenance

    meta["provenance"] = table_provenance("venus simulate-campaign", [], {"seed": config.seed})
    with atomic_output(out / "truth.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1, default=float))
    if config.desert:
        _desert(out, registry, config)
    return {"files": files, "truth": truth, "registry": registry, "config": config}


def desert_times(config: CampaignConfig) -> Time:
    """Dates of the desert (Libya-4) acquisitions: every ``desert_step_days`` from ``start``."""
    t0, t1 = Time(config.start, scale="utc"), Time(config.end, scale="utc")
    return Time(np.arange(t0.mjd, t1.mjd + 1e-9, config.desert_step_days), format="mjd", scale="utc")


def _desert(out: Path, registry: PoRegistry, config: CampaignConfig) -> None:
    try:
        from etalon.desert.simulate import simulate_venus_desert
    except ImportError:
        log.warning("etalon.desert.simulate is not available: no desert.ecsv written")
        return
    from etalon.fileio import atomic_output
    from etalon.provenance import table_provenance

    times = desert_times(config)
    ty = _years(times, config.t0)
    true_gain = {b.name: b.header_ak * gain_history(ty, config.exp_amplitude[b.name],
                                                    config.exp_tau_years[b.name],
                                                    config.linear_per_year[b.name]) for b in BANDS}
    ak = {b: registry.gain_at(times, b) for b in BAND_NAMES}
    table = simulate_venus_desert(times, true_gain, ak, ph.phases_at(times), config.seed)
    table.meta.update(table_provenance("venus simulate-campaign desert", [], {
        "seed": config.seed, "desert_step_days": config.desert_step_days}))
    with atomic_output(out / "desert.ecsv") as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
