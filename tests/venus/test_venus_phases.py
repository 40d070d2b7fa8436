"""Orbit phases, derived imaging quantities and the radiometric model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from etalon.venus import phases as ph
from etalon.venus.radiometry import dn_from_radiance, radiance_from_dn


def test_phase_table_derived_values_match_venus_md():
    # venus.md (derived): GSD 5.35 / 4.16 / 3.05 m, ground speed 6.73 / 6.97 / 7.20 km/s,
    # line period 0.79 / 0.60 / 0.42 ms at 720 / 560 / 410 km
    for alt, gsd, v, lp in ((720, 5.35, 6.73, 0.79), (560, 4.16, 6.97, 0.60), (410, 3.05, 7.20, 0.42)):
        assert ph.gsd_m(alt) == pytest.approx(gsd, abs=0.005)
        assert ph.ground_speed_km_s(alt) == pytest.approx(v, abs=0.005)
        assert ph.line_period_ms(alt) == pytest.approx(lp, abs=0.005)
    assert ph.PHASES["VM1"].altitude_km == 720 and ph.PHASES["VM5"].altitude_km == 560
    assert ph.PHASES["VM1"].gsd_m == pytest.approx(5.3486, abs=1e-4)
    assert ph.PHASES["VM5"].revisit_days == 1 and ph.PHASES["VM1"].revisit_days == 2
    assert list(ph.PHASES) == ["VM1", "VM2", "VM3", "VM4", "VM5"]
    assert ph.LTDN_HOURS == 10.5


def test_ifov_and_moon_size_independent_of_altitude():
    assert ph.IFOV_RAD == pytest.approx(7.4286e-6, rel=1e-4)
    assert ph.moon_diameter_px() == pytest.approx(1217, abs=1)


def test_oversampling_scales_with_line_period():
    rate = 6e-3
    f1 = ph.oversampling_factor(rate, 720)
    f5 = ph.oversampling_factor(rate, 560)
    assert f1 == pytest.approx(ph.IFOV_RAD / (rate * 0.79431e-3), rel=1e-4)
    assert f5 / f1 == pytest.approx(ph.line_period_ms(720) / ph.line_period_ms(560), rel=1e-12)
    assert f5 / f1 == pytest.approx(1.3304, abs=1e-3)
    # nadir ground scan: the pitch rate equal to ground speed / altitude gives ~1
    expected = ph.IFOV_RAD / (2 * ph.line_period_ms(560) * 1e-3)
    assert ph.lunar_pitch_rate_for(2.0, 560) == pytest.approx(expected)
    assert ph.oversampling_factor(ph.lunar_pitch_rate_for(2.0, 560), 560) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="pitch rate"):
        ph.oversampling_factor(0.0, 720)


def test_phase_at_boundaries_and_altitude():
    assert ph.phase_at("2019-02-04T08:34:37") == "VM1"
    assert ph.phase_at("2020-10-31T23:59:59") == "VM1"
    assert ph.phase_at("2020-11-01T00:00:00") == "VM2"
    assert ph.phase_at("2022-03-01") == "VM5"
    assert list(ph.phases_at(["2017-08-02", "2021-06-01", "2024-07-31T23:00"])) == ["VM1", "VM3", "VM5"]
    with pytest.raises(ValueError, match="outside"):
        ph.phase_at("2017-07-01")
    with pytest.raises(ValueError, match="outside"):
        ph.phase_at("2024-08-02")
    assert ph.altitude_at("2019-01-01") == 720.0
    mid = ph.altitude_at("2021-01-15")       # VM2 descent, linear in time
    assert 410 < mid < 720
    assert ph.altitude_at("2021-12-15") == pytest.approx(410 + 150 * (75 / 151), abs=2)


def test_unit_offsets_b5_b6_parallax():
    d = abs(ph.DETECTOR_UNIT_ALONG_TRACK_DEG["D1"] - ph.DETECTOR_UNIT_ALONG_TRACK_DEG["D4"])
    assert d == pytest.approx(1.25)
    assert math.degrees(ph.unit_along_track_offset_rad("d2")) == pytest.approx(0.625 / 3)


def test_radiometry_round_trip_with_pixel_arrays():
    rng = np.random.default_rng(1)
    L = rng.uniform(0, 200, (5, 7))
    g = 1 + 0.01 * rng.standard_normal(7)
    d = 20 + rng.standard_normal(7)
    dn = dn_from_radiance(L, 1.667, g, d)
    assert dn[2, 3] == pytest.approx(1.667 * g[3] * L[2, 3] + d[3])
    np.testing.assert_allclose(radiance_from_dn(dn, 1.667, g, d), L, rtol=1e-12)
    g0 = g.copy()
    g0[0] = 0
    assert np.all(np.isnan(radiance_from_dn(dn, 1.667, g0, d)[:, 0]))
    with pytest.raises(ValueError, match="A_k"):
        dn_from_radiance(L, -1.0)
