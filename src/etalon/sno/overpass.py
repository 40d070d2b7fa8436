"""Site overpasses: every pass of a satellite over ground sites in a time window.

Method
------
A pass is a minimum of the slant range from the site to the satellite. Its time is a root of
``f(t) = (r_sat - r_site) . v_sat`` (Earth-fixed; half the range rate times the range),
which goes from negative (approaching) to positive (receding). A coarse scan of ``f``
(default every 60 s; ``f`` changes sign twice an orbit, every ~50 min) brackets every root;
brackets too far from the site to reach ``max_vza_deg`` are dropped (a bound on the ground
speed makes this safe); the remaining roots are refined together, vectorised, by the
Illinois (modified regula falsi) method to 1 ms. View and sun angles are computed at the
time found. The plain alternative, :func:`scan_overpasses`, samples the view zenith angle on
a fixed step (1 s) and keeps its local minima; it is there to check and to benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from etalon.sno.frames import (
    MEAN_EARTH_RADIUS_KM,
    ecef_to_geodetic,
    geodetic_to_ecef,
    great_circle_km,
    look_angles,
    sun_ecef_km,
)
from etalon.sno.orbits import Orbit
from etalon.sno.sites import Site
from etalon.sno.timescale import DAY_S, dut1_s, to_iso

__all__ = [
    "PASS_COLUMNS",
    "find_overpasses",
    "illinois",
    "max_central_angle_rad",
    "pass_geometry",
    "scan_overpasses",
]

#: columns of an overpass table, in order
PASS_COLUMNS = ("satellite", "site", "site_lat", "site_lon", "time", "t", "vza", "vaa", "sza",
                "saa", "distance_km", "range_km", "sub_lat", "sub_lon")
#: bound on the ground speed of a LEO sub-satellite point over the rotating Earth, km/s
_GROUND_SPEED_BOUND_KM_S = 8.5


class _Dut1:
    """UT1 - UTC over a window, interpolated (avoids a table look-up per evaluation)."""

    def __init__(self, start: float, end: float):
        self.grid = np.arange(math.floor(start / DAY_S) - 1, math.ceil(end / DAY_S) + 2) * DAY_S
        self.values = dut1_s(self.grid)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return np.interp(t, self.grid, self.values)


def illinois(func: Callable[[np.ndarray, np.ndarray], np.ndarray], a: np.ndarray, b: np.ndarray,
             fa: np.ndarray, fb: np.ndarray, tol: float = 1e-3, maxiter: int = 60) -> np.ndarray:
    """Vectorised bracketed root finding (Illinois method) of many functions at once.

    Parameters
    ----------
    func : callable
        ``func(t, index) -> values``: evaluates function ``index[k]`` at ``t[k]``.
    a, b : numpy.ndarray
        Brackets (same units as ``tol``); ``fa``, ``fb`` of opposite signs.
    tol : float
        Stop when the bracket is shorter than ``tol``.

    Returns
    -------
    numpy.ndarray
        The roots.
    """
    a, b, fa, fb = (np.array(x, float) for x in (a, b, fa, fb))
    root = np.where(fa == 0, a, b)
    active = (fa != 0) & (fb != 0)
    idx_all = np.arange(a.size)
    for _ in range(maxiter):
        if not np.any(active):
            break
        k = idx_all[active]
        c = b[k] - fb[k] * (b[k] - a[k]) / (fb[k] - fa[k])
        fc = func(c, k)
        flip = fc * fb[k] < 0
        a[k] = np.where(flip, b[k], a[k])
        fa[k] = np.where(flip, fb[k], fa[k] / 2.0)
        b[k], fb[k] = c, fc
        root[k] = c
        active[k] = (np.abs(b[k] - a[k]) > tol) & (fc != 0)
    return root


def max_central_angle_rad(max_vza_deg: float, altitude_km: float) -> float:
    """Earth central angle between a site and the sub-satellite point at view zenith ``max_vza_deg``."""
    z = math.radians(min(float(max_vza_deg), 90.0))
    r = MEAN_EARTH_RADIUS_KM
    nadir = math.asin(r * math.sin(z) / (r + altitude_km))
    return z - nadir


def pass_geometry(orbit: Orbit, t: np.ndarray, site_index: np.ndarray, sites: Sequence[Site],
                  dut1: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Geometry of a satellite seen from sites at given times.

    Returns
    -------
    dict
        ``vza, vaa, sza, saa`` (deg), ``distance_km`` (great circle from the site to the
        geodetic sub-satellite point), ``range_km`` (slant range), ``sub_lat, sub_lon`` (deg).
    """
    t = np.asarray(t, float)
    lat = np.array([s.lat for s in sites])[site_index]
    lon = np.array([s.lon for s in sites])[site_index]
    hgt = np.array([s.height_km for s in sites])[site_index]
    site_xyz = geodetic_to_ecef(lat, lon, hgt)
    r, _ = orbit.ecef(t, dut1)
    vza, vaa = look_angles(lat, lon, site_xyz, r)
    sza, saa = look_angles(lat, lon, site_xyz, sun_ecef_km(t, dut1))
    sub_lat, sub_lon, _ = ecef_to_geodetic(r)
    return {"vza": vza, "vaa": vaa, "sza": sza, "saa": saa,
            "distance_km": great_circle_km(lat, lon, sub_lat, sub_lon),
            "range_km": np.linalg.norm(r - site_xyz, axis=-1), "sub_lat": sub_lat, "sub_lon": sub_lon}


def _table(orbit: Orbit, sites: Sequence[Site], t: np.ndarray, k: np.ndarray, geo: dict):
    from astropy.table import Table

    order = np.lexsort((k, t))
    t, k = t[order], k[order]
    cols = {"satellite": np.array([orbit.name] * t.size, dtype=str),
            "site": np.array([sites[i].name for i in k], dtype=str),
            "site_lat": np.array([sites[i].lat for i in k], float),
            "site_lon": np.array([sites[i].lon for i in k], float),
            "time": np.asarray(to_iso(t), dtype=str), "t": t}
    cols.update({key: np.asarray(geo[key])[order] for key in PASS_COLUMNS[6:]})
    tab = Table(cols, names=PASS_COLUMNS)
    for c, unit in (("site_lat", "deg"), ("site_lon", "deg"), ("t", "s"), ("vza", "deg"),
                    ("vaa", "deg"), ("sza", "deg"), ("saa", "deg"), ("distance_km", "km"),
                    ("range_km", "km"), ("sub_lat", "deg"), ("sub_lon", "deg")):
        tab[c].unit = unit
    tab["t"].description = "closest approach, UTC seconds since 2000-01-01T12:00:00 (86400 s days)"
    tab["time"].description = "closest approach (minimum slant range), ISO UTC"
    return tab


def find_overpasses(orbit: Orbit, sites: Sequence[Site], start: float, end: float,
                    max_vza_deg: float = 90.0, max_sza_deg: float | None = None,
                    coarse_step_s: float = 60.0, tol_s: float = 1e-3):
    """Every pass of ``orbit`` over each site between ``start`` and ``end``.

    Parameters
    ----------
    orbit : Orbit
    sites : sequence of Site
    start, end : float
        Window, UTC seconds since J2000 (closest approaches inside it are reported).
    max_vza_deg : float
        Keep passes whose view zenith angle at closest approach is at most this, deg.
    max_sza_deg : float, optional
        Keep passes whose sun zenith angle is at most this, deg (daylight passes).
    coarse_step_s : float
        Step of the bracketing scan, s (at most a few minutes).
    tol_s : float
        Root tolerance, s.

    Returns
    -------
    astropy.table.Table
        One row per pass, columns :data:`PASS_COLUMNS`, sorted by time.
    """
    if not end > start:
        raise ValueError("end must be after start")
    if not 0 < coarse_step_s <= 600:
        raise ValueError(f"coarse_step_s must be in (0, 600] s, got {coarse_step_s}")
    sites = list(sites)
    dut = _Dut1(start, end)
    grid = np.arange(start, end, float(coarse_step_s))
    grid = np.append(grid, end) if grid[-1] < end else grid
    r, v = orbit.ecef(grid, dut(grid))
    rn = np.linalg.norm(r, axis=1)
    u = r / rn[:, None]
    alt = float(np.median(rn)) - MEAN_EARTH_RADIUS_KM
    lam = max_central_angle_rad(max_vza_deg, max(alt, 100.0))
    margin = _GROUND_SPEED_BOUND_KM_S * coarse_step_s / MEAN_EARTH_RADIUS_KM
    cos_lim = math.cos(min(lam + margin, math.pi))
    site_xyz = geodetic_to_ecef([s.lat for s in sites], [s.lon for s in sites],
                                [s.height_km for s in sites]).reshape(-1, 3)
    site_u = site_xyz / np.linalg.norm(site_xyz, axis=1)[:, None]
    ta, tb, fa, fb, kk = [], [], [], [], []
    for k in range(len(sites)):
        f = np.einsum("ij,ij->i", r - site_xyz[k], v)
        near = u @ site_u[k] >= cos_lim
        i = np.flatnonzero((f[:-1] < 0) & (f[1:] >= 0) & (near[:-1] | near[1:]))
        ta.append(grid[i])
        tb.append(grid[i + 1])
        fa.append(f[i])
        fb.append(f[i + 1])
        kk.append(np.full(i.size, k))
    ta, tb, fa, fb, kk = (np.concatenate(x) for x in (ta, tb, fa, fb, kk))

    def func(t, j):
        rr, vv = orbit.ecef(t, dut(t))
        return np.einsum("ij,ij->i", rr - site_xyz[kk[j]], vv)

    t = illinois(func, ta, tb, fa, fb, tol=tol_s) if ta.size else ta
    geo = pass_geometry(orbit, t, kk, sites, dut(t))
    keep = geo["vza"] <= max_vza_deg
    if max_sza_deg is not None:
        keep &= geo["sza"] <= max_sza_deg
    keep &= (t >= start) & (t <= end)
    return _table(orbit, sites, t[keep], kk[keep], {c: x[keep] for c, x in geo.items()})


def scan_overpasses(orbit: Orbit, sites: Sequence[Site], start: float, end: float,
                    max_vza_deg: float = 90.0, max_sza_deg: float | None = None,
                    step_s: float = 1.0, chunk_s: float = DAY_S):
    """Passes found by a plain fixed-step scan: local minima of the view zenith angle.

    The reference method the refined search is checked and benchmarked against: the satellite
    is propagated every ``step_s`` seconds, the view zenith angle at each site computed at every
    sample, and each local minimum at most ``max_vza_deg`` is a pass (time rounded to the step).

    Returns
    -------
    astropy.table.Table
        As :func:`find_overpasses`.
    """
    sites = list(sites)
    dut = _Dut1(start, end)
    site_xyz = geodetic_to_ecef([s.lat for s in sites], [s.lon for s in sites],
                                [s.height_km for s in sites]).reshape(-1, 3)
    lat = np.radians([s.lat for s in sites])
    lon = np.radians([s.lon for s in sites])
    up = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
    cos_max = math.cos(math.radians(max_vza_deg))
    t_all, k_all = [], []
    n_total = math.floor((end - start) / step_s) + 1
    for c0 in range(0, n_total, int(chunk_s / step_s)):
        # one sample of overlap each side so minima at chunk edges are seen once
        i0 = max(c0 - 1, 0)
        i1 = min(c0 + int(chunk_s / step_s) + 1, n_total)
        tg = start + np.arange(i0, i1) * step_s
        r, _ = orbit.ecef(tg, dut(tg))
        for k in range(len(sites)):
            rho = r - site_xyz[k]
            cz = (rho @ up[k]) / np.linalg.norm(rho, axis=1)
            m = np.flatnonzero((cz[1:-1] >= cz[:-2]) & (cz[1:-1] > cz[2:]) & (cz[1:-1] >= cos_max)) + 1
            m = m[(m + i0 >= c0) & (m + i0 < c0 + int(chunk_s / step_s))]
            t_all.append(tg[m])
            k_all.append(np.full(m.size, k))
    t = np.concatenate(t_all) if t_all else np.zeros(0)
    kk = np.concatenate(k_all) if k_all else np.zeros(0, int)
    geo = pass_geometry(orbit, t, kk, sites, dut(t))
    keep = np.ones(t.size, bool)
    if max_sza_deg is not None:
        keep &= geo["sza"] <= max_sza_deg
    return _table(orbit, sites, t[keep], kk[keep], {c: x[keep] for c, x in geo.items()})
