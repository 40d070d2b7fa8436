"""The simulation helpers: noise model, random stray-light truths, recovery statistics."""

from __future__ import annotations

import numpy as np
import pytest

from etalon.straylight.edges import EdgeGeometry, random_edge_stray_light
from etalon.straylight.models import CT1Kernel, CT2Ghost
from etalon.straylight.quantify import CT2Result, Quantification
from etalon.straylight.simulate import (
    add_noise,
    band_level,
    ct1_fraction,
    random_stray_light,
    recovery,
    simulate_acquisition,
)
from etalon.venus.bands import BAND_NAMES, DETECTOR_UNITS, band


def test_add_noise_statistics():
    """Read noise, shot noise (gain e-/DN) and offset, in radiance units L = DN / A_k."""
    ak = band("B2").header_ak
    level_dn = 400.0
    flat = {"B2": np.full((400, 400), level_dn / ak)}
    images, bg, rn = add_noise(flat, np.random.default_rng(3), read_noise_dn=3.0, gain=2.0,
                               background_dn=5.0)
    dn = images["B2"] * ak
    assert dn.mean() == pytest.approx(405.0, abs=0.1)
    assert dn.var() == pytest.approx(9.0 + 400.0 / 2.0, rel=0.02)     # rn**2 + L/gain, DN**2
    assert bg["B2"] == pytest.approx(5.0 / ak) and rn["B2"] == pytest.approx(3.0 / ak)
    assert flat["B2"][0, 0] == level_dn / ak                         # input untouched


def test_band_levels_and_acquisition_truth():
    levels = [band_level(b, 1000.0) for b in BAND_NAMES]
    assert min(levels) >= 700.0 and max(levels) <= 1300.0
    plain = simulate_acquisition(("B1", "B2", "B5"), shape=(96, 96), radius=15.0, seed=0)
    acq = simulate_acquisition(("B1", "B2", "B5"), shape=(96, 96), radius=15.0, seed=0,
                               ct1=[CT1Kernel("B1", 0.02, 4.0)])
    truth, wings = acq.ct1_truth(), plain.ct1_truth()
    assert set(truth) == {"B1", "B2", "B5"}
    assert truth["B1"] == ct1_fraction(acq.halo["B1"], acq.centre_x, acq.centre_y, acq.radius)
    # PSF wings (sigma 1 px) put 0.46 % beyond 1.1 R = 16.5 px; a 2 % halo of 4 px adds 0.5 %
    assert all(0.004 < f < 0.005 for f in wings.values())
    assert truth["B2"] == wings["B2"] and 0.004 < truth["B1"] - wings["B1"] < 0.006


def test_random_stray_light_is_a_complete_level1_set():
    ct1, ct2, level1 = random_stray_light(4, 30.0)
    assert [k.band for k in ct1] == [b for u in DETECTOR_UNITS.values() for b in u]
    assert len(level1) == 24                                         # every ordered pair
    pairs = {(g.source, g.victim) for g in level1}
    assert all(any(s in u and v in u for u in DETECTOR_UNITS.values()) for s, v in pairs)
    assert {(g.source, g.victim) for g in ct2} <= pairs
    assert 4 <= len(ct2) <= 20
    for g in ct2:
        assert 1e-3 <= g.coefficient <= 3e-2
        assert 1.3 * 30 <= np.hypot(g.dx, g.dy) <= 2.5 * 30 + 1e-9
    assert all(g.coefficient == 0 for g in level1 if (g.source, g.victim) not in
               {(x.source, x.victim) for x in ct2})
    assert random_stray_light(4, 30.0)[1] == ct2                      # reproducible


def test_random_edge_stray_light_toward_the_dark_side():
    geo = EdgeGeometry("half-plane", 40.0, -10.0)
    _, ct2, level1 = random_edge_stray_light(2, geo)
    assert len(level1) == 24
    nx, ny = geo.normal
    for g in level1:
        across = g.dx * nx + g.dy * ny
        assert 18.0 <= across <= 46.0
    # the two sources of a victim never share an across band
    for v in BAND_NAMES:
        a = sorted(g.dx * nx + g.dy * ny for g in level1 if g.victim == v)
        assert len(a) == 2 and a[1] - a[0] > 8.0
    assert all(1e-3 <= g.coefficient <= 3e-2 for g in ct2)


def _result(source, victim, c, cu, dx, dy, sig):
    return CT2Result(source, victim, c, cu, dx, 0.1, dy, 0.1, 1.5, 0.1, c / cu, 4.0, sig,
                     "prior", sig)


def test_recovery_against_known_numbers():
    truth = [CT2Ghost("B1", "B2", 1e-2, 10.0, 0.0), CT2Ghost("B5", "B1", 2e-3, 0.0, 20.0)]
    q = Quantification({}, {}, [
        _result("B1", "B2", 1.1e-2, 5e-4, 10.3, 0.4, True),      # +10 %, pull 2, 0.5 px
        _result("B5", "B1", 1.9e-3, 1e-4, 0.0, 20.0, False),     # -5 %, pull -1, missed
        _result("B2", "B1", 5e-5, 1e-4, 3.0, 3.0, True),         # a false positive
        _result("B2", "B5", 1e-5, 1e-4, 3.0, 3.0, False)], {})
    rec = recovery(q, truth)
    assert (rec.n_injected, rec.n_found, rec.n_free, rec.n_false) == (2, 1, 2, 1)
    assert rec.coefficient_error == pytest.approx([0.1, -0.05])
    assert rec.coefficient_ratio == pytest.approx([1.1, 0.95])
    assert rec.coefficient_pull == pytest.approx([2.0, -1.0])
    assert rec.displacement_error == pytest.approx([0.5, 0.0])
    assert rec.significant.tolist() == [True, False]
    assert rec.max_coefficient_error == pytest.approx(0.1)
    assert rec.pull_rms == pytest.approx(np.sqrt(2.5))
    assert "found: 1/2" in rec.summary() and "false positives: 1/2" in rec.summary()
