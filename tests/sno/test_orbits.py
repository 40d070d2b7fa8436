"""Mean-element orbits: sun-synchronism, LTDN, repeat ground track, VENuS phases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from etalon.sno.frames import ecef_to_geodetic
from etalon.sno.orbits import (
    align_to_site,
    from_tle,
    sun_synchronous,
    sun_synchronous_inclination_deg,
    venus_orbit,
)
from etalon.sno.overpass import find_overpasses
from etalon.sno.sites import Site
from etalon.sno.timescale import parse_time


def _ltdn_hours(orbit, t0, days):
    t = t0 + np.arange(0.0, days * 86400, 2.0)
    r, _ = orbit.ecef(t)
    lat, lon, _ = ecef_to_geodetic(r)
    i = np.flatnonzero((lat[:-1] > 0) & (lat[1:] <= 0))
    f = lat[i] / (lat[i] - lat[i + 1])
    tn = t[i] + 2.0 * f
    ln = lon[i] + f * (((lon[i + 1] - lon[i]) + 180) % 360 - 180)
    return ((tn / 86400 + 0.5) % 1.0 * 24 + ln / 15.0) % 24.0


def test_sso_inclination_matches_sentinel2(tles):
    # Sentinel-2A: 786 km mean altitude, inclination 98.5704 deg in its TLE
    assert sun_synchronous_inclination_deg(786.0) == pytest.approx(98.57, abs=0.03)
    o = from_tle(tles[0])
    assert o.satrec.inclo == pytest.approx(math.radians(98.5704))


def test_sentinel2_tle_ltdn_is_1030(tles):
    o = from_tle(tles[0])
    lt = _ltdn_hours(o, o.epoch, 2)
    assert np.all(np.abs(lt - 10.5) < 0.05)  # within 3 minutes (ESA: 10:30)


@pytest.mark.parametrize("ltdn", [10.5, 13.5, 6.0])
def test_mean_elements_keep_ltdn_for_a_month(ltdn):
    t0 = parse_time("2024-03-01")
    o = sun_synchronous("X", 700.0, ltdn, t0)
    lt = _ltdn_hours(o, t0 + 29 * 86400, 1)
    assert np.all(np.abs(((lt - ltdn + 12) % 24) - 12) < 1.0 / 60)  # within a minute after 30 days


@pytest.mark.parametrize("phase,alt,days", [("VM1", 720.0, 2), ("VM5", 560.0, 1)])
def test_venus_phases_repeat_their_ground_track(phase, alt, days):
    t0 = parse_time("2019-06-01") if phase == "VM1" else parse_time("2023-06-01")
    site = Site("on-track", 43.56, 4.86)
    m = align_to_site(lambda ma: venus_orbit(phase, t0, ma), site, t0, days=days + 1)
    o = venus_orbit(phase, t0, m)
    p = find_overpasses(o, [site], t0, t0 + 20 * 86400, max_vza_deg=5.0, max_sza_deg=90.0)
    assert len(p) == 20 // days
    assert np.all(np.asarray(p["distance_km"]) < 3.0)   # the track stays over the site
    assert np.ptp(np.diff(np.asarray(p["t"]))) < 2.0   # same time every cycle
    assert np.median(np.diff(np.asarray(p["t"]))) == pytest.approx(days * 86400, abs=200)
    r, _ = o.ecef(t0 + np.arange(0.0, 86400.0, 30.0))
    assert np.mean(np.linalg.norm(r, axis=1)) - 6378.135 == pytest.approx(alt, abs=6.0)


def test_bad_elements_raise():
    with pytest.raises(ValueError, match="altitude"):
        sun_synchronous("X", 50.0, 10.5, "2024-01-01")
    with pytest.raises(ValueError, match="unknown VENuS phase"):
        venus_orbit("VM9")
