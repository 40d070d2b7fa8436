"""Simulated VENuS acquisitions over Libya-4 (per-acquisition ROI means with geometry).

Used by the campaign simulator (:mod:`etalon.venus`) and by the Moon-versus-desert tests.

Truth model, per band ``k`` and acquisition ``i``::

    rho_true[i, k] = rho_site[k] * B_k(sza_i, vza_i, raa_i) / B_k(30, 0, 0)
    rho[i, k]      = rho_true[i, k] * true_gain[k][i] / ak_in_force[k][i] * (1 + e_atm[i] + e[i, k])

- ``rho_site[k]``: the DIMITRI Libya-4 TOA spectrum (``dimitri_TOA_Libya4_spectrum.txt``)
  band-integrated through the VENuS response of band ``k`` (solar-weighted,
  :func:`etalon.spectral.integrate.band_reflectance`): the reflectance at the reference
  geometry SZA 30, VZA 0;
- ``B_k``: a Ross-thick / Li-sparse-R BRDF shape ``1 + v K_vol + g K_geo`` with the relative
  kernel weights ``v = f_vol / f_iso``, ``g = f_geo / f_iso`` of the real MERIS 3rd
  reprocessing Libya-4 fits (:mod:`etalon.desert.brdf`), interpolated to the band centre
  (the O2 761 nm and H2O 900 nm MERIS bands left out);
- L1 divides the counts by the gain in force (``DN = A_true L``; ``L1 = DN / A_in_force``), hence
  the factor ``true_gain / ak_in_force``;
- ``e_atm`` (common to all bands: aerosol, water vapour) and ``e`` (per band) Gaussian,
  relative; cloudy acquisitions (``cloud_fraction``) brightened by 5-30 % with a
  heterogeneous ROI (flagged ``cloudy`` in the truth).

Geometry: the VENuS orbit is sun-synchronous (descending node at ``LTDN_HOURS`` local time,
:mod:`etalon.venus.phases`), the site seen from the same orbit at each revisit, so the view
is fixed within a phase (:data:`VIEW_GEOMETRY`: cross-track ground offset and side, the
project's assumption: VM1 from the east, VM5 from the west) with the view zenith from the
phase's altitude; the Sun from the date and the overpass time (ERFA ephemeris, CIRS and Earth
rotation angle, :func:`solar_angles`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["VIEW_GEOMETRY", "CoupledCampaign", "libya4_brdf_shape", "simulate_coupled_campaign",
           "simulate_venus_desert", "solar_angles", "venus_band_reflectance"]

#: phase -> (cross-track ground offset of Libya-4 from the ground track, km; azimuth of the
#: direction from the site to VENuS, deg). The project's assumption (no public value).
VIEW_GEOMETRY: dict[str, tuple[float, float]] = {
    "VM1": (120.0, 102.0),
    "VM2": (120.0, 102.0),
    "VM3": (120.0, 102.0),
    "VM4": (150.0, 282.0),
    "VM5": (150.0, 282.0),
}

_ABSORPTION_NM = (761.0, 900.0)


def solar_angles(time, lat_deg: float, lon_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Solar zenith and azimuth (from north, clockwise) at a place, deg.

    The Sun's geocentric direction from ERFA (``epv00``: Earth ephemeris, with annual
    aberration ``ab``) rotated into the CIRS (``c2i06a``: precession-nutation and CIO of date),
    the hour angle from the Earth rotation angle (``era00``, UT1 taken as UTC: < 0.01 deg); no
    refraction, no parallax (< 0.003 deg), no polar motion. Within 0.01 deg of astropy's
    ``get_sun`` -> ``AltAz`` and without reading the IERS tables.

    Parameters
    ----------
    time : astropy.time.Time
        UTC times.
    lat_deg, lon_deg : float
        Latitude and east longitude, deg.
    """
    import erfa

    t = time.reshape(-1) if time.ndim else time.reshape(1)
    tt = t.tt
    pvh, pvb = erfa.epv00(tt.jd1, tt.jd2)
    sun = -np.asarray(pvh["p"])                       # geocentric Sun, au
    dist = np.linalg.norm(sun, axis=-1)
    v = np.asarray(pvb["v"]) * erfa.DAU / erfa.DAYSEC / erfa.CMPS   # Earth velocity / c
    bm1 = np.sqrt(1.0 - np.sum(v * v, axis=-1))
    app = erfa.ab(sun / dist[:, None], v, dist, bm1)  # apparent (aberrated) direction, GCRS
    cirs = np.einsum("nij,nj->ni", erfa.c2i06a(tt.jd1, tt.jd2), app)
    ra = np.arctan2(cirs[:, 1], cirs[:, 0])
    dec = np.arcsin(np.clip(cirs[:, 2], -1.0, 1.0))
    era = erfa.era00(t.utc.jd1, t.utc.jd2)
    ha = era + math.radians(lon_deg) - ra
    lat = math.radians(lat_deg)
    cosz = np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(ha)
    sza = np.degrees(np.arccos(np.clip(cosz, -1, 1)))
    az = np.degrees(np.arctan2(-np.sin(ha), np.tan(dec) * np.cos(lat) - np.sin(lat) * np.cos(ha)))
    return sza, az % 360.0


@functools.lru_cache(maxsize=1)
def libya4_brdf_shape() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relative kernel weights of the real MERIS 3rd-reprocessing Libya-4 fits.

    Returns
    -------
    wavelength_nm, v, g : numpy.ndarray
        Band centres (absorption bands left out), ``f_vol / f_iso`` and ``f_geo / f_iso``.
    """
    from etalon.data import data_path
    from etalon.desert.brdf import normalise_series
    from etalon.desert.dimitri import read_series

    ns = normalise_series(read_series(data_path("desert", "dimitri_MERIS_3rd_Reprocessing_Libya4.sav")))
    wl, v, g = [], [], []
    for b, f in sorted(ns.fits.items()):
        w = float(ns.series.wavelength_nm[b])
        if w in _ABSORPTION_NM:
            continue
        wl.append(w)
        v.append(f.coef[1] / f.coef[0])
        g.append(f.coef[2] / f.coef[0])
    return np.array(wl), np.array(v), np.array(g)


@functools.lru_cache(maxsize=1)
def venus_band_reflectance() -> dict[str, float]:
    """Libya-4 TOA reflectance of each VENuS band from the DIMITRI site spectrum (solar-weighted)."""
    from etalon.desert.dimitri import read_site_spectrum
    from etalon.spectral.integrate import band_reflectance
    from etalon.venus.bands import responses

    wl, rho, _ = read_site_spectrum()
    return {name: band_reflectance(wl / 1000.0, rho, srf) for name, srf in responses().items()}


def _shape(band_centre_nm: float, sza, vza, raa) -> np.ndarray:
    from etalon.desert.brdf import li_sparse_r, ross_thick

    wl, v, g = libya4_brdf_shape()
    vv = float(np.interp(band_centre_nm, wl, v))
    gg = float(np.interp(band_centre_nm, wl, g))

    def b(s, z, a):
        return 1 + vv * ross_thick(s, z, a) + gg * li_sparse_r(s, z, a)

    return b(sza, vza, raa) / b(30.0, 0.0, 0.0)


def simulate_venus_desert(times, true_gain: dict[str, np.ndarray], ak_in_force: dict[str, np.ndarray],
                          phases, seed: int = 0, *, atm_noise: float = 0.008,
                          band_noise: float = 0.004, roi_cv: float = 0.02,
                          cloud_fraction: float = 0.0, set_overpass_time: bool = True,
                          site: str = "Libya4"):
    """Simulate VENuS ROI-mean TOA reflectances over a desert site (module docstring).

    Parameters
    ----------
    times : astropy.time.Time or sequence of ISO str, shape (n,)
        Acquisition dates (UTC).
    true_gain : dict
        Band (``B1``..``B12``) -> the instrument's true absolute gain at each time, shape (n,)
        (DN per W m-2 sr-1 um-1, or any unit shared with ``ak_in_force``).
    ak_in_force : dict
        Band -> the gain of the PO in force at each time (same unit), shape (n,).
    phases : array of str, shape (n,)
        Orbit phase of each acquisition (``VM1``..``VM5``).
    seed : int
        Random seed.
    atm_noise, band_noise : float
        Relative standard deviations of the common (atmosphere) and per-band errors.
    roi_cv : float
        Spatial coefficient of variation of a clear ROI (gives ``rho_std``).
    cloud_fraction : float
        Fraction of acquisitions made cloudy.
    set_overpass_time : bool
        Put each acquisition at the overpass time over the site (local mean solar time
        ``LTDN_HOURS``) on its UTC day (default); False keeps the given times.
    site : str
        Catalogue site (default Libya4; its centre sets the solar geometry).

    Returns
    -------
    astropy.table.Table
        One row per acquisition and band: ``time`` (ISO UTC), ``decimal_year``, ``phase``,
        ``band``, ``wavelength`` (nm), ``sza``, ``vza``, ``saa``, ``vaa``, ``raa`` (deg),
        ``rho`` (observed TOA reflectance), ``rho_std`` (ROI std), ``rho_unc`` (the noise
        sigma used), ``ak_in_force``; truth: ``rho_true`` (TOA reflectance before the gain
        error), ``true_gain``, ``gain_factor`` (= true_gain / ak_in_force), ``cloudy``.
    """
    import astropy.units as u
    from astropy.table import Table
    from astropy.time import Time

    from etalon.desert.dimitri import time_to_decimal_year
    from etalon.desert.sites import site as get_site
    from etalon.venus.bands import BANDS
    from etalon.venus.phases import LTDN_HOURS, PHASES

    t = Time(times, scale="utc")
    t = t.reshape(-1) if t.ndim else t.reshape(1)
    n = len(t)
    ph = np.asarray(phases, dtype=str).reshape(-1)
    if ph.size != n:
        raise ValueError(f"phases has {ph.size} values for {n} times")
    unknown = sorted(set(ph) - set(VIEW_GEOMETRY))
    if unknown:
        raise ValueError(f"unknown phase(s) {unknown}; known: {', '.join(VIEW_GEOMETRY)}")
    names = [b.name for b in BANDS]
    for what, d in (("true_gain", true_gain), ("ak_in_force", ak_in_force)):
        missing = [b for b in names if b not in d]
        if missing:
            raise ValueError(f"{what} has no values for band(s) {missing}")
        for b in names:
            if np.shape(np.atleast_1d(d[b])) not in ((n,), (1,)):
                raise ValueError(f"{what}[{b!r}] must have {n} values")
    s = get_site(site)
    if set_overpass_time:
        day = Time(np.floor(t.utc.mjd), format="mjd", scale="utc")
        t = day + ((LTDN_HOURS - s.centre_lon / 15.0) % 24.0) * u.hour
    sza, saa = solar_angles(t, s.centre_lat, s.centre_lon)
    vza = np.empty(n)
    vaa = np.empty(n)
    for p in set(ph):
        off, az = VIEW_GEOMETRY[p]
        sel = ph == p
        vza[sel] = math.degrees(math.atan(off / PHASES[p].altitude_km))
        vaa[sel] = az
    raa = np.abs((vaa - saa) % 360.0)
    raa = np.where(raa > 180.0, 360.0 - raa, raa)
    rng = np.random.default_rng(seed)
    e_atm = rng.normal(0.0, atm_noise, n)
    cloudy = rng.random(n) < cloud_fraction
    bright = np.where(cloudy, rng.uniform(0.05, 0.30, n), 0.0)
    site_rho = venus_band_reflectance()
    dy = time_to_decimal_year(t)
    cols: dict[str, list] = {k: [] for k in (
        "time", "decimal_year", "phase", "band", "wavelength", "sza", "vza", "saa", "vaa", "raa",
        "rho", "rho_std", "rho_unc", "ak_in_force", "rho_true", "true_gain", "gain_factor",
        "cloudy")}
    iso = np.asarray(t.utc.isot)
    for b in BANDS:
        tg = np.broadcast_to(np.asarray(true_gain[b.name], float), (n,))
        ak = np.broadcast_to(np.asarray(ak_in_force[b.name], float), (n,))
        truth = site_rho[b.name] * _shape(b.header_centre_nm, sza, vza, raa)
        e = rng.normal(0.0, band_noise, n)
        gf = tg / ak
        rho = truth * gf * (1 + e_atm + e) * (1 + bright)
        cv = roi_cv * (1 + 0.1 * rng.standard_normal(n)) + np.where(cloudy, 0.10, 0.0)
        cols["time"].append(iso)
        cols["decimal_year"].append(dy)
        cols["phase"].append(ph)
        cols["band"].append(np.full(n, b.name))
        cols["wavelength"].append(np.full(n, b.header_centre_nm))
        for k, v in (("sza", sza), ("vza", vza), ("saa", saa), ("vaa", vaa), ("raa", raa)):
            cols[k].append(v)
        cols["rho"].append(rho)
        cols["rho_std"].append(np.abs(cv) * rho)
        cols["rho_unc"].append(truth * gf * math.hypot(atm_noise, band_noise))
        cols["ak_in_force"].append(ak)
        cols["rho_true"].append(truth)
        cols["true_gain"].append(tg)
        cols["gain_factor"].append(gf)
        cols["cloudy"].append(cloudy)
    table = Table({k: np.concatenate(v) for k, v in cols.items()})
    for k in ("sza", "vza", "saa", "vaa", "raa"):
        table[k].unit = "deg"
    table["wavelength"].unit = "nm"
    table.meta["site"] = s.name
    table.meta["view_geometry"] = {p: list(v) for p, v in VIEW_GEOMETRY.items()}
    table.meta["noise"] = {"atm_noise": atm_noise, "band_noise": band_noise, "roi_cv": roi_cv,
                           "cloud_fraction": cloud_fraction, "seed": seed}
    table.meta["model"] = "Ross-thick/Li-sparse-R shape of the MERIS 3rd reprocessing Libya-4 fit"
    return table


@dataclass
class CoupledCampaign:
    """One VENuS gain history seen by the Moon and by the desert, with the truth.

    Attributes
    ----------
    desert : astropy.table.Table
        :func:`simulate_venus_desert` output.
    moon : astropy.table.Table
        Lunar measurement rows for :mod:`etalon.campaign` (``time``, ``channel``, ``ratio``,
        ``ratio_unc``, ``phase_angle`` (signed deg), ``phase``).
    po : astropy.table.Table
        PO registry (``version``, ``validity_start``, ``channel``, ``gain``).
    truth : astropy.table.Table
        ``channel``, ``term``, ``value``: ``drift`` (d ln A / dt, yr-1), ``gain_step:VM5`` (the
        instrument's own change at the phase change, seen by both methods), ``moon_offset:VM5``
        (a lunar-only artefact, e.g. a wrong oversampling factor), ``phase:VM5:moon`` and
        ``phase:VM5:desert`` (what each method should find).
    """

    desert: object
    moon: object
    po: object
    truth: object


def simulate_coupled_campaign(seed: int = 0, *, desert_step_days: float = 8.0,
                              moon_per_month: int = 2, moon_noise: float = 0.001,
                              moon_offsets: dict[str, float] | None = None,
                              drift_range: tuple[float, float] = (-0.012, 0.004),
                              step_range: tuple[float, float] = (-0.01, 0.01),
                              cloud_fraction: float = 0.03, **desert_kw) -> CoupledCampaign:
    """Draw a VM1 + VM5 campaign whose Moon and desert acquisitions share one gain history.

    The true gain of band ``k``: ``A_k(t) = A0_k exp(d_k (t - 2018)) (1 + s_k [VM5])`` with
    ``d_k`` in ``drift_range`` per year and an instrument step ``s_k`` in ``step_range`` at the
    phase change (new focal-plane temperature, decontamination). Two PO updates (2019-07-01,
    2023-01-01) reset the gains to the current ``A_k``. Moon ratios ``A / gain x (1 + m_k [VM5])
    x (1 + noise)``, ``m_k`` = ``moon_offsets`` (default 0: no lunar artefact) and desert
    acquisitions from :func:`simulate_venus_desert`.

    Parameters
    ----------
    seed : int
        Random seed (truth and noise).
    desert_step_days : float
        Days between desert acquisitions (clear-sky revisit).
    moon_per_month : int
        Lunar acquisitions a month.
    moon_noise : float
        Relative 1-sigma noise of a lunar ratio.
    moon_offsets : dict, optional
        Band -> lunar-only VM5 offset (fraction).
    drift_range, step_range : (float, float)
        Ranges of the true drift (yr-1) and VM5 step (fraction).
    cloud_fraction : float
        Cloudy fraction of the desert acquisitions.
    **desert_kw
        Passed to :func:`simulate_venus_desert` (noise levels).
    """
    from astropy.table import Table
    from astropy.time import Time

    from etalon.venus.bands import BANDS
    from etalon.venus.phases import phases_at

    rng = np.random.default_rng(seed)
    names = [b.name for b in BANDS]
    d = {b: rng.uniform(*drift_range) for b in names}
    s = {b: rng.uniform(*step_range) for b in names}
    m = {b: float((moon_offsets or {}).get(b, 0.0)) for b in names}
    a0 = {b.name: b.header_ak for b in BANDS}
    updates = ("2017-08-02", "2019-07-01", "2023-01-01")

    def ty_of(t):
        return 2000.0 + (t.tt.jd - 2451545.0) / 365.25

    def gain_true(b, ty, ph):
        return a0[b] * np.exp(d[b] * (ty - 2018.0)) * np.where(np.asarray(ph) == "VM5", 1 + s[b], 1.0)

    up_t = Time(list(updates), scale="utc")
    up_ty = ty_of(up_t)
    up_ph = phases_at(up_t)
    po_rows = []
    po_gain = {}
    for b in names:
        g = gain_true(b, up_ty, up_ph)
        g[0] = a0[b]
        po_gain[b] = g
        for k, u in enumerate(updates):
            po_rows.append((str(k + 1), f"{u}T00:00:00", b, float(g[k])))

    def in_force(b, ty):
        idx = np.searchsorted(up_ty, ty, side="right") - 1
        return po_gain[b][np.clip(idx, 0, None)]

    # desert
    mjd = np.concatenate([np.arange(Time("2017-09-01").mjd, Time("2020-10-30").mjd, desert_step_days),
                          np.arange(Time("2022-03-05").mjd, Time("2024-07-30").mjd, desert_step_days)])
    td = Time(mjd, format="mjd", scale="utc")
    phd = phases_at(td)
    tyd = ty_of(td)
    desert = simulate_venus_desert(td, {b: gain_true(b, tyd, phd) for b in names},
                                   {b: in_force(b, tyd) for b in names}, phd, seed=seed + 1,
                                   cloud_fraction=cloud_fraction, **desert_kw)
    # Moon
    days = np.linspace(4, 26, moon_per_month).round() if moon_per_month > 1 else np.array([14.0])
    iso = [f"{y:04d}-{mo:02d}-{int(dd):02d}T{int(rng.integers(0, 24)):02d}:00:00"
           for y in range(2017, 2025) for mo in range(1, 13) for dd in days]
    iso = [x for x in iso if "2017-09-01" <= x[:10] <= "2024-07-30"
           and not ("2020-10-31" < x[:10] < "2022-03-01")]
    tm = Time(iso, scale="utc")
    phm = phases_at(tm)
    tym = ty_of(tm)
    pa = rng.uniform(10, 80, len(tm)) * rng.choice([-1.0, 1.0], len(tm))
    cols: dict[str, list] = {k: [] for k in ("time", "channel", "ratio", "ratio_unc", "phase_angle",
                                             "phase")}
    for b in names:
        ratio = (gain_true(b, tym, phm) / in_force(b, tym) * np.where(phm == "VM5", 1 + m[b], 1.0)
                 * (1 + moon_noise * rng.standard_normal(len(tm))))
        for k, v in (("time", np.asarray(iso)), ("channel", np.full(len(tm), b)), ("ratio", ratio),
                     ("ratio_unc", moon_noise * ratio), ("phase_angle", pa),
                     ("phase", np.asarray(phm, dtype=str))):
            cols[k].append(v)
    moon = Table({k: np.concatenate(v) for k, v in cols.items()})
    order = np.lexsort((np.asarray(moon["time"], dtype=str), np.asarray(moon["channel"], dtype=str)))
    moon = moon[order]
    moon.meta["model"] = "synthetic (etalon.desert.simulate.simulate_coupled_campaign)"
    po = Table(rows=po_rows, names=("version", "validity_start", "channel", "gain"))
    truth_rows = []
    for b in names:
        truth_rows += [(b, "drift", d[b]), (b, "gain_step:VM5", s[b]), (b, "moon_offset:VM5", m[b]),
                       (b, "phase:VM5:desert", s[b]), (b, "phase:VM5:moon", (1 + s[b]) * (1 + m[b]) - 1)]
    truth = Table(rows=truth_rows, names=("channel", "term", "value"))
    truth.meta["seed"] = seed
    return CoupledCampaign(desert, moon, po, truth)
