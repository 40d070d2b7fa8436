"""Coincidences of two satellites: same-site near-simultaneous acquisitions and orbit crossings.

Same-site acquisitions
----------------------
For VENuS (fixed sites, narrow swath) against Sentinel-2 (290 km swath) the practical SNO is
a pair of passes over one site within ``max_dt_s`` of each other, each at most ``max_vza_deg``
from nadir, with similar geometry: the angle between the two view directions at most
``max_view_separation_deg`` and the sun zenith angles within ``max_delta_sza_deg``. Passes come
from :func:`etalon.sno.overpass.find_overpasses` (coarse scan + root refinement), pairs from a
sorted merge (no grid).

Orbit crossings (GSICS polar-polar SNO)
---------------------------------------
Both sub-satellite points within ``max_distance_km`` of each other at times at most
``max_dt_s`` apart (Cao et al. 2004: 30 s for polar orbiters). The distance function is
``g(t) = min over |tau| <= max_dt_s of d(A(t), B(t + tau))`` with ``d`` the great-circle
distance between the geocentric sub-satellite directions on the mean-radius sphere; ``tau``
is found by Newton steps along B's track. Search:

1. a coarse scan (``coarse_step_s``, default 20 s) of the same-time separation
   ``s(t) = d(A(t), B(t))``; ``g >= s - v_B max_dt_s`` and both vary at most at the two
   ground speeds ``L``, so an interval of the scan can hold ``g <= D`` only if
   ``(s_i + s_i+1 - L h) / 2 - v_B max_dt_s <= D`` (a rigorous bound, no event is skipped);
2. ``g`` at the ends of the candidate intervals, the same bound on ``g``;
3. a vectorised golden-section minimisation of ``g`` in the intervals left, and bisection of
   the event's start and end where ``g`` crosses ``D``.

An event is a connected time interval where ``g <= D``; it is reported at its minimum.
:func:`scan_orbit_crossings` is the plain alternative (every 1 s, every lag of 1 s).
"""

from __future__ import annotations

import math

import numpy as np

from etalon.sno.frames import MEAN_EARTH_RADIUS_KM, central_angle_rad, ecef_to_geodetic, sun_ecef_km
from etalon.sno.orbits import Orbit
from etalon.sno.overpass import _Dut1
from etalon.sno.timescale import DAY_S, to_iso

__all__ = [
    "CROSSING_COLUMNS",
    "PAIR_COLUMNS",
    "crossing_distance_km",
    "find_orbit_crossings",
    "same_site_coincidences",
    "scan_orbit_crossings",
    "view_separation_deg",
]

#: columns of a same-site coincidence table
PAIR_COLUMNS = ("site", "site_lat", "site_lon", "satellite_a", "satellite_b", "time_a", "time_b",
                "t_a", "t_b", "dt_s", "vza_a", "vza_b", "vaa_a", "vaa_b", "sza_a", "sza_b",
                "saa_a", "saa_b", "view_separation_deg", "delta_sza_deg", "distance_a_km",
                "distance_b_km")
#: columns of an orbit-crossing table
CROSSING_COLUMNS = ("satellite_a", "satellite_b", "time_a", "time_b", "t_a", "t_b", "dt_s",
                    "distance_km", "lat", "lon", "sza", "start", "end", "duration_s")


def view_separation_deg(vza1, vaa1, vza2, vaa2) -> np.ndarray:
    """Angle, deg, between two view directions (zenith, azimuth in deg) seen from one site."""
    z1, z2 = np.radians(vza1), np.radians(vza2)
    da = np.radians(np.asarray(vaa1, float) - np.asarray(vaa2, float))
    c = np.cos(z1) * np.cos(z2) + np.sin(z1) * np.sin(z2) * np.cos(da)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def same_site_coincidences(passes_a, passes_b, max_dt_s: float = 1800.0,
                           max_vza_deg: float | None = None,
                           max_view_separation_deg: float | None = None,
                           max_delta_sza_deg: float | None = None):
    """Pairs of passes of two satellites over the same site, near-simultaneous and alike.

    Parameters
    ----------
    passes_a, passes_b : astropy.table.Table
        Overpass tables (:data:`etalon.sno.overpass.PASS_COLUMNS`) of satellites A and B.
    max_dt_s : float
        Largest ``|t_b - t_a|``, s.
    max_vza_deg, max_view_separation_deg, max_delta_sza_deg : float, optional
        Largest view zenith angle of each pass, angle between the two view directions, and
        sun zenith difference, deg (None: no limit).

    Returns
    -------
    astropy.table.Table
        One row per pair, columns :data:`PAIR_COLUMNS` (``dt_s = t_b - t_a``), sorted by time.
    """
    from astropy.table import Table

    rows: dict[str, list] = {c: [] for c in PAIR_COLUMNS}
    sites_b = np.asarray(passes_b["site"]) if len(passes_b) else np.zeros(0, str)
    for site in np.unique(np.asarray(passes_a["site"])) if len(passes_a) else []:
        a = passes_a[np.asarray(passes_a["site"]) == site]
        b = passes_b[sites_b == site]
        if not len(b):
            continue
        tb = np.asarray(b["t"], float)
        order = np.argsort(tb)
        b, tb = b[order], tb[order]
        for ra in a:
            lo = np.searchsorted(tb, ra["t"] - max_dt_s, "left")
            hi = np.searchsorted(tb, ra["t"] + max_dt_s, "right")
            for rb in b[lo:hi]:
                sep = float(view_separation_deg(ra["vza"], ra["vaa"], rb["vza"], rb["vaa"]))
                dsza = abs(float(ra["sza"]) - float(rb["sza"]))
                if max_vza_deg is not None and max(ra["vza"], rb["vza"]) > max_vza_deg:
                    continue
                if max_view_separation_deg is not None and sep > max_view_separation_deg:
                    continue
                if max_delta_sza_deg is not None and dsza > max_delta_sza_deg:
                    continue
                vals = (site, ra["site_lat"], ra["site_lon"], ra["satellite"], rb["satellite"],
                        ra["time"], rb["time"], ra["t"], rb["t"], rb["t"] - ra["t"], ra["vza"],
                        rb["vza"], ra["vaa"], rb["vaa"], ra["sza"], rb["sza"], ra["saa"], rb["saa"],
                        sep, dsza, ra["distance_km"], rb["distance_km"])
                for c, v in zip(PAIR_COLUMNS, vals, strict=True):
                    rows[c].append(v)
    dtypes = {"site": str, "satellite_a": str, "satellite_b": str, "time_a": str, "time_b": str}
    tab = Table({c: np.asarray(rows[c], dtype=dtypes.get(c, float)) for c in PAIR_COLUMNS},
                names=PAIR_COLUMNS)
    if len(tab):
        tab.sort(["t_a", "site"])
    for c in PAIR_COLUMNS:
        if c in ("site_lat", "site_lon") or c.startswith(("vza", "vaa", "sza", "saa", "view", "delta")):
            tab[c].unit = "deg"
        elif c in ("t_a", "t_b", "dt_s"):
            tab[c].unit = "s"
        elif c.endswith("_km"):
            tab[c].unit = "km"
    return tab


class _Pair:
    """Two orbits propagated as unit sub-satellite directions over one window."""

    def __init__(self, a: Orbit, b: Orbit, start: float, end: float, max_dt_s: float):
        self.a, self.b = a, b
        self.dut = _Dut1(start - max_dt_s - 60, end + max_dt_s + 60)
        self.max_dt = float(max_dt_s)

    def unit(self, orbit: Orbit, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r, v = orbit.ecef(t, self.dut(t))
        rn = np.linalg.norm(r, axis=1)
        u = r / rn[:, None]
        udot = (v - np.einsum("ij,ij->i", v, u)[:, None] * u) / rn[:, None]
        return u, udot

    def g(self, t: np.ndarray, newton: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distance ``g(t)`` (km), the lag ``tau`` (s) and A's unit direction at ``t``."""
        t = np.asarray(t, float)
        ua, _ = self.unit(self.a, t)
        tau = np.zeros_like(t)
        for _ in range(newton):
            ub, ubd = self.unit(self.b, t + tau)
            step = np.einsum("ij,ij->i", ua - ub, ubd) / np.einsum("ij,ij->i", ubd, ubd)
            tau = np.clip(tau + step, -self.max_dt, self.max_dt)
        ub, _ = self.unit(self.b, t + tau)
        return MEAN_EARTH_RADIUS_KM * central_angle_rad(ua, ub), tau, ua


def crossing_distance_km(a: Orbit, b: Orbit, t, max_dt_s: float = 30.0) -> np.ndarray:
    """``g(t)``: distance, km, from A's sub-satellite point at ``t`` to B's within ``max_dt_s``."""
    t = np.atleast_1d(np.asarray(t, float))
    return _Pair(a, b, float(t.min()), float(t.max()), max_dt_s).g(t)[0]


def _crossing_table(a: Orbit, b: Orbit, t: np.ndarray, tau: np.ndarray, dist: np.ndarray,
                    ua: np.ndarray, t0: np.ndarray, t1: np.ndarray, dut):
    from astropy.table import Table

    lat, lon, _ = ecef_to_geodetic(ua * MEAN_EARTH_RADIUS_KM) if t.size else (t, t, t)
    if t.size:
        sun = sun_ecef_km(t, dut(t))
        sza = np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", sun / np.linalg.norm(
            sun, axis=1)[:, None], ua), -1, 1)))
    else:
        sza = t
    tab = Table({"satellite_a": np.array([a.name] * t.size, dtype=str),
                 "satellite_b": np.array([b.name] * t.size, dtype=str),
                 "time_a": np.asarray(to_iso(t), dtype=str),
                 "time_b": np.asarray(to_iso(t + tau), dtype=str), "t_a": t, "t_b": t + tau,
                 "dt_s": tau, "distance_km": dist, "lat": lat, "lon": lon, "sza": sza,
                 "start": np.asarray(to_iso(t0), dtype=str), "end": np.asarray(to_iso(t1), dtype=str),
                 "duration_s": t1 - t0}, names=CROSSING_COLUMNS)
    for c, unit in (("t_a", "s"), ("t_b", "s"), ("dt_s", "s"), ("distance_km", "km"),
                    ("lat", "deg"), ("lon", "deg"), ("sza", "deg"), ("duration_s", "s")):
        tab[c].unit = unit
    tab["lat"].description = "geocentric latitude of A's sub-satellite direction"
    tab["sza"].description = "sun zenith (geocentric) at A's sub-satellite point"
    return tab


def find_orbit_crossings(a: Orbit, b: Orbit, start: float, end: float,
                         max_distance_km: float = 50.0, max_dt_s: float = 30.0,
                         coarse_step_s: float = 20.0, tol_s: float = 1e-3):
    """Orbit-crossing SNOs of two satellites (GSICS polar-polar definition), refined search.

    Parameters
    ----------
    a, b : Orbit
    start, end : float
        Window, UTC seconds since J2000 (times of A).
    max_distance_km : float
        Largest distance between the sub-satellite points, km.
    max_dt_s : float
        Largest time difference between the two nadir views, s.
    coarse_step_s : float
        Step of the bracketing scan, s.
    tol_s : float
        Time tolerance of the refinement, s.

    Returns
    -------
    astropy.table.Table
        One row per event (a connected interval where ``g <= max_distance_km``) at its
        minimum distance, columns :data:`CROSSING_COLUMNS`.
    """
    if not end > start:
        raise ValueError("end must be after start")
    pair = _Pair(a, b, start, end, max_dt_s)
    d = float(max_distance_km)
    h = float(coarse_step_s)
    grid = np.arange(start, end, h)
    grid = np.append(grid, end) if grid[-1] < end else grid
    ua, uad = pair.unit(a, grid)
    ub, ubd = pair.unit(b, grid)
    va = float(np.max(np.linalg.norm(uad, axis=1))) * MEAN_EARTH_RADIUS_KM * 1.02
    vb = float(np.max(np.linalg.norm(ubd, axis=1))) * MEAN_EARTH_RADIUS_KM * 1.02
    lip = va + vb
    s = MEAN_EARTH_RADIUS_KM * central_angle_rad(ua, ub)
    cand = np.flatnonzero((s[:-1] + s[1:] - lip * h) / 2 - vb * pair.max_dt <= d)
    empty = np.zeros(0)
    if cand.size == 0:
        return _crossing_table(a, b, empty, empty, empty, np.zeros((0, 3)), empty, empty, pair.dut)
    ends = np.unique(np.concatenate([cand, cand + 1]))
    g_end = dict(zip(ends.tolist(), pair.g(grid[ends])[0].tolist(), strict=True))
    gl = np.array([g_end[i] for i in cand])
    gr = np.array([g_end[i + 1] for i in cand])
    keep = (gl + gr - lip * h) / 2 <= d
    cand, gl, gr = cand[keep], gl[keep], gr[keep]
    # golden-section minimisation of g on each remaining interval, vectorised
    lo, hi = grid[cand].copy(), grid[cand + 1].copy()
    ratio = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f1, f2 = pair.g(x1)[0], pair.g(x2)[0]
    n_iter = max(1, math.ceil(math.log(tol_s / h) / math.log(ratio)))
    for _ in range(n_iter):
        left = f1 < f2
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        x2n = np.where(left, x1, lo + ratio * (hi - lo))
        x1n = np.where(left, hi - ratio * (hi - lo), x2)
        f2n = np.where(left, f1, np.nan)
        f1n = np.where(left, np.nan, f2)
        need = np.where(left, x1n, x2n)
        fn = pair.g(need)[0] if need.size else need
        f1 = np.where(left, fn, f1n)
        f2 = np.where(left, f2n, fn)
        x1, x2 = x1n, x2n
    tmin = (lo + hi) / 2
    gmin = pair.g(tmin)[0]
    # candidates: the interval's minimum, or an end below the threshold
    best = np.stack([gl, gmin, gr], axis=1)
    best_t = np.stack([grid[cand], tmin, grid[cand + 1]], axis=1)
    j = np.argmin(best, axis=1)
    gbest = best[np.arange(cand.size), j]
    tbest = best_t[np.arange(cand.size), j]
    hit = gbest <= d
    cand, gl, gr, gbest, tbest = cand[hit], gl[hit], gr[hit], gbest[hit], tbest[hit]
    if cand.size == 0:
        return _crossing_table(a, b, empty, empty, empty, np.zeros((0, 3)), empty, empty, pair.dut)
    # group contiguous intervals that share an end below the threshold into one event
    new_event = np.ones(cand.size, bool)
    new_event[1:] = ~((cand[1:] == cand[:-1] + 1) & (gl[1:] <= d))
    eid = np.cumsum(new_event) - 1
    n_ev = int(eid[-1]) + 1
    first = np.flatnonzero(new_event)
    last = np.append(first[1:] - 1, cand.size - 1)
    ev_t = np.empty(n_ev)
    for e in range(n_ev):
        sl = slice(first[e], last[e] + 1)
        ev_t[e] = tbest[sl][np.argmin(gbest[sl])]

    def _edge(t_out, t_in):
        # bisection between a point with g > d and one with g <= d
        out, inn = t_out.copy(), t_in.copy()
        n = max(1, math.ceil(math.log2(max(np.max(np.abs(out - inn), initial=0.0), tol_s) / tol_s)))
        for _ in range(n):
            mid = (out + inn) / 2
            below = pair.g(mid)[0] <= d if mid.size else mid.astype(bool)
            inn = np.where(below, mid, inn)
            out = np.where(below, out, mid)
        return inn

    t_first_in = tbest[first]
    t_last_in = tbest[last]
    start_out = gl[first] > d
    end_out = gr[last] > d
    t0 = grid[cand[first]].astype(float)
    t1 = grid[cand[last] + 1].astype(float)
    if np.any(start_out):
        t0[start_out] = _edge(grid[cand[first]][start_out], t_first_in[start_out])
    if np.any(end_out):
        t1[end_out] = _edge(grid[cand[last] + 1][end_out], t_last_in[end_out])
    dist, tau, ua_ev = pair.g(ev_t)
    return _crossing_table(a, b, ev_t, tau, dist, ua_ev, t0, t1, pair.dut)


def scan_orbit_crossings(a: Orbit, b: Orbit, start: float, end: float,
                         max_distance_km: float = 50.0, max_dt_s: float = 30.0,
                         step_s: float = 1.0, chunk_s: float = DAY_S / 4):
    """Orbit-crossing SNOs by a plain scan: every ``step_s`` and every lag of ``step_s``.

    The reference the refined search is checked and benchmarked against. ``g`` is the
    minimum over lags ``k step_s`` (``|k step_s| <= max_dt_s``) of the distance between A at
    ``t`` and B at ``t + k step_s``; events are runs of samples with ``g <= max_distance_km``.

    Returns
    -------
    astropy.table.Table
        As :func:`find_orbit_crossings` (times rounded to the step).
    """
    pair = _Pair(a, b, start, end, max_dt_s)
    d_rad = float(max_distance_km) / MEAN_EARTH_RADIUS_KM
    k = math.floor(max_dt_s / step_s + 1e-9)
    n_total = math.floor((end - start) / step_s) + 1
    n_chunk = max(int(chunk_s / step_s), 1)
    g_all, lag_all = [], []
    for c0 in range(0, n_total, n_chunk):
        n = min(n_chunk, n_total - c0)
        ta = start + (c0 + np.arange(n)) * step_s
        tb = start + (c0 - k + np.arange(n + 2 * k)) * step_s
        ua, _ = pair.unit(a, ta)
        ub, _ = pair.unit(b, tb)
        best = np.full(n, np.inf)
        lag = np.zeros(n)
        for j in range(2 * k + 1):
            ang = central_angle_rad(ua, ub[j:j + n])
            better = ang < best
            best = np.where(better, ang, best)
            lag = np.where(better, (j - k) * step_s, lag)
        g_all.append(best)
        lag_all.append(lag)
    g = np.concatenate(g_all)
    lag = np.concatenate(lag_all)
    t = start + np.arange(n_total) * step_s
    inside = g <= d_rad
    edges = np.diff(np.concatenate([[0], inside.astype(int), [0]]))
    s_idx = np.flatnonzero(edges == 1)
    e_idx = np.flatnonzero(edges == -1) - 1
    ev = np.array([s + int(np.argmin(g[s:e + 1])) for s, e in zip(s_idx, e_idx, strict=True)], int)
    if ev.size == 0:
        empty = np.zeros(0)
        return _crossing_table(a, b, empty, empty, empty, np.zeros((0, 3)), empty, empty, pair.dut)
    ua_ev, _ = pair.unit(a, t[ev])
    return _crossing_table(a, b, t[ev], lag[ev], g[ev] * MEAN_EARTH_RADIUS_KM, ua_ev, t[s_idx],
                           t[e_idx], pair.dut)
