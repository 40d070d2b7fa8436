"""Coincidences: the refined searches find every event a 1-s scan finds (superset), and more."""

from __future__ import annotations

import numpy as np
import pytest

from etalon.sno.coincidence import (
    find_orbit_crossings,
    same_site_coincidences,
    scan_orbit_crossings,
    view_separation_deg,
)
from etalon.sno.orbits import align_to_site, from_tle, sun_synchronous, venus_orbit
from etalon.sno.overpass import find_overpasses, scan_overpasses
from etalon.sno.sites import EXAMPLE_SITES, Site
from etalon.sno.timescale import parse_time


def _covered(refined, scan, tol_s=1.0):
    """Every scan event overlaps (within tol) a refined event's [start, end]."""
    r0 = np.array([parse_time(x) for x in refined["start"]])
    r1 = np.array([parse_time(x) for x in refined["end"]])
    missing = []
    for s0, s1 in zip(scan["start"], scan["end"], strict=True):
        a, b = parse_time(s0), parse_time(s1)
        if not np.any((r0 - tol_s <= b) & (r1 + tol_s >= a)):
            missing.append(s0)
    return missing


def test_polar_crossings_superset_of_1s_scan(tles):
    """Sentinel-2A (10:30) against an afternoon (13:30) sun-synchronous orbiter, 6 h of crossings."""
    a = from_tle(tles[0])
    b = sun_synchronous("SSO-1330", 824.0, 13.5, tles[0].epoch - 3 * 86400)
    start = parse_time("2024-12-07T11:00:00")
    end = parse_time("2024-12-07T18:00:00")
    ref = find_orbit_crossings(a, b, start, end, max_distance_km=100, max_dt_s=60)
    scan = scan_orbit_crossings(a, b, start, end, max_distance_km=100, max_dt_s=60, step_s=1.0)
    assert len(scan) == 7                      # one per orbit, near +-80.7 deg latitude
    assert _covered(ref, scan) == []
    assert len(ref) >= len(scan)
    # refined minima are at least as close as the scan's and within |dt| <= 60 s
    assert np.all(np.abs(ref["dt_s"]) <= 60 + 1e-9)
    assert np.all(ref["distance_km"] <= 100)
    assert np.all(np.abs(np.abs(ref["lat"]) - 80.7) < 0.5)
    sort_ref = np.sort(np.asarray(ref["distance_km"]))[: len(scan)]
    assert np.all(sort_ref <= np.sort(np.asarray(scan["distance_km"])) + 0.5)


def test_coplanar_overtaking_event(tles):
    """VENuS VM5 and Sentinel-2A share the 10:30 plane: a long event when one overtakes the other."""
    a = from_tle(tles[0])
    b = venus_orbit("VM5", epoch=tles[0].epoch - 10 * 86400)
    start = parse_time("2024-12-03T11:00:00")   # the event is near 2024-12-03T13:51
    end = start + 6 * 3600
    ref = find_orbit_crossings(a, b, start, end, 50, 30)
    scan = scan_orbit_crossings(a, b, start, end, 50, 30)
    assert len(scan) >= 1 and _covered(ref, scan) == []
    assert np.all(ref["duration_s"] > 100)


def test_no_event_when_too_far(tles):
    a = from_tle(tles[0])
    b = sun_synchronous("SSO-1330", 824.0, 13.5, tles[0].epoch - 3 * 86400)
    start = parse_time("2024-12-07T11:00:00")
    r = find_orbit_crossings(a, b, start, start + 3600, max_distance_km=1.0, max_dt_s=1.0)
    s = scan_orbit_crossings(a, b, start, start + 3600, max_distance_km=1.0, max_dt_s=1.0)
    assert len(s) == 0 and len(r) <= 1


@pytest.fixture(scope="module")
def venus_s2(tles):
    t0 = parse_time("2024-12-01")
    site = EXAMPLE_SITES[0]
    ma = align_to_site(lambda m: venus_orbit("VM5", t0, m), site, t0)
    return venus_orbit("VM5", t0, ma), from_tle(tles[0]), t0


def test_same_site_superset_of_1s_scan(venus_s2):
    ven, s2, t0 = venus_s2
    sites = list(EXAMPLE_SITES[:5])
    start, end = t0, t0 + 4 * 86400
    kw = dict(max_vza_deg=30.0, max_sza_deg=80.0)
    ref = same_site_coincidences(find_overpasses(ven, sites, start, end, **kw),
                                 find_overpasses(s2, sites, start, end, **kw), max_dt_s=1800)
    scn = same_site_coincidences(scan_overpasses(ven, sites, start, end, **kw),
                                 scan_overpasses(s2, sites, start, end, **kw), max_dt_s=1800)
    assert len(scn) >= 2
    for row in scn:
        m = ref[(ref["site"] == row["site"]) & (np.abs(ref["t_a"] - row["t_a"]) <= 1.0)
                & (np.abs(ref["t_b"] - row["t_b"]) <= 1.0)]
        assert len(m) == 1
    # both at 10:30 LTDN, both within 30 deg of nadir: similar sun (not a filter here)
    assert np.all(ref["delta_sza_deg"] < 5.0)


def test_thresholds_filter(venus_s2):
    ven, s2, t0 = venus_s2
    sites = list(EXAMPLE_SITES[:5])
    pa = find_overpasses(ven, sites, t0, t0 + 6 * 86400, 30.0, 80.0)
    pb = find_overpasses(s2, sites, t0, t0 + 6 * 86400, 30.0, 80.0)
    allp = same_site_coincidences(pa, pb, 1800)
    tight = same_site_coincidences(pa, pb, 1800, max_vza_deg=10, max_view_separation_deg=15,
                                   max_delta_sza_deg=0.5)
    assert len(tight) < len(allp)
    assert np.all(tight["view_separation_deg"] <= 15) and np.all(tight["vza_a"] <= 10)
    assert np.all(tight["vza_b"] <= 10) and np.all(tight["delta_sza_deg"] <= 0.5)
    none = same_site_coincidences(pa, pb, 1.0)
    assert len(none) == 0


def test_view_separation():
    assert view_separation_deg(0, 0, 10, 123) == pytest.approx(10)
    assert view_separation_deg(10, 90, 10, 270) == pytest.approx(20)
    assert view_separation_deg(20, 45, 20, 45) == pytest.approx(0, abs=1e-6)


def test_site_validation():
    with pytest.raises(ValueError, match="latitude 95"):
        Site("x", 95.0, 0.0)
