"""CT1/CT2 quantification against simulated truth: accuracy, honesty, false positives."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from etalon.straylight.models import CT1Kernel, CT2Ghost, correct_stray_light
from etalon.straylight.quantify import Disk, quantify
from etalon.straylight.simulate import ct1_fraction, simulate_acquisition

# this folder's conftest by path: a bare ``from conftest import`` gets another folder's conftest
# when tests/desert and tests/straylight run in one session
_spec = importlib.util.spec_from_file_location("straylight_conftest", Path(__file__).with_name("conftest.py"))
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
BANDS, SMALL_CT1, SMALL_GHOSTS = _conftest.BANDS, _conftest.SMALL_CT1, _conftest.SMALL_GHOSTS
UNIT, prior_for = _conftest.UNIT, _conftest.prior_for


def _truth_disk(acq):
    return Disk(acq.centre_x, acq.centre_y, acq.radius)


def test_large_displacements_partial_overlap_recovered():
    """Coefficients 1e-3..3e-2, displacements up to 300 px, one ghost over the victim's Moon."""
    ghosts = [CT2Ghost("B1", "B2", 3.0e-2, 300.4, 10.3, 2.0),
              CT2Ghost("B5", "B1", 5.0e-3, 60.2, -15.7, 1.5),     # |d| = 1.55 R: over its Moon
              CT2Ghost("B1", "B5", 1.0e-3, 150.6, 40.2, 2.5)]
    acq = simulate_acquisition(BANDS, shape=(240, 560), centre_xy=(130.3, 119.6), radius=40.0,
                               ct2=ghosts, ct1=[CT1Kernel("B1", 0.02, 4.0)], moon_dn=10000.0,
                               read_noise_dn=2.0, seed=7)
    q = quantify(acq.images, units=UNIT, prior=prior_for(ghosts, offset=(4.2, -3.1)),
                 search_radius_px=10)
    for g in ghosts:
        r = q.pair(g.source, g.victim)
        assert r.significant, r
        assert abs(r.coefficient - g.coefficient) < max(0.1 * g.coefficient, 2e-4), r
        assert abs(r.dx - g.dx) < 1 and abs(r.dy - g.dy) < 1, r
    free = [r for r in q.ct2 if (r.source, r.victim) not in {(g.source, g.victim) for g in ghosts}]
    assert len(free) == 3 and not any(r.significant for r in free)
    assert all(abs(r.coefficient) < 2e-4 for r in free)


def test_global_search_without_prior_finds_a_lone_ghost():
    ghosts = [CT2Ghost("B1", "B2", 1.0e-2, 70.3, 50.8, 1.5)]
    acq = simulate_acquisition(BANDS, shape=(256, 256), radius=30.0, ct2=ghosts, seed=3,
                               phase_deg=5.0)
    q = quantify(acq.images, units=UNIT)
    r = q.pair("B1", "B2")
    # the other sources of B2 (B5) could also explain a Moon-shaped ghost; B5's search runs
    # second, after B1's ghost is subtracted
    assert r.significant and r.search == "global"
    assert r.coefficient == pytest.approx(1e-2, rel=0.1)
    assert abs(r.dx - 70.3) < 1 and abs(r.dy - 50.8) < 1
    assert sum(x.significant for x in q.ct2) == 1


def test_ct1_fractions_within_10_percent():
    ct1 = [CT1Kernel("B1", 0.03, 5.0), CT1Kernel("B2", 0.02, 8.0),
           CT1Kernel("B5", 0.02, 3.0, "power", 3.0)]
    ghosts = [CT2Ghost("B1", "B2", 1e-2, 110.3, -20.6, 2.0)]
    acq = simulate_acquisition(BANDS, shape=(320, 320), radius=40.0, ct1=ct1, ct2=ghosts,
                               moon_dn=30000.0, read_noise_dn=2.0, seed=11, phase_deg=10.0)
    q = quantify(acq.images, units=UNIT, prior=prior_for(ghosts), search_radius_px=8)
    for b in BANDS:
        truth = ct1_fraction(acq.halo[b], acq.centre_x, acq.centre_y, acq.radius)
        got = q.ct1[b]
        assert abs(got.fraction - truth) < 0.1 * truth, (b, got.fraction, got.fraction_unc, truth)
        assert got.fraction_unc < 0.05 * truth
    # the ring profile is the kernel: most of B2's halo (scale 8 px) lies within 16 px
    assert q.disk.radius == pytest.approx(40.0, abs=0.7)


def test_pulls_and_false_positives():
    """>= 50 injected cases: pulls rms in 0.8..1.25; >= 100 ghost-free pairs: <= 1 significant."""
    prior = prior_for(SMALL_GHOSTS)
    pulls, free_sig, n_free, ct1_pulls = [], 0, 0, []
    injected = {(g.source, g.victim) for g in SMALL_GHOSTS}
    for seed in range(17):
        acq = simulate_acquisition(BANDS, shape=(192, 192), radius=25.0, phase_deg=10.0,
                                   ct2=SMALL_GHOSTS, ct1=SMALL_CT1, seed=100 + seed)
        q = quantify(acq.images, units=UNIT, prior=prior, search_radius_px=8)
        for b in BANDS:     # CT1 with ghosts in the band (the ghost term of its uncertainty)
            truth = ct1_fraction(acq.halo[b], acq.centre_x, acq.centre_y, acq.radius)
            ct1_pulls.append((q.ct1[b].fraction - truth) / q.ct1[b].fraction_unc)
            assert q.ct1[b].fraction_ghost_unc > 0
        for g in SMALL_GHOSTS:
            r = q.pair(g.source, g.victim)
            assert r.significant
            pulls.append(((r.coefficient - g.coefficient) / r.coefficient_unc,
                          (r.dx - g.dx) / r.dx_unc, (r.dy - g.dy) / r.dy_unc))
        for r in q.ct2:
            if (r.source, r.victim) not in injected:
                n_free += 1
                free_sig += r.significant
    free_prior = prior_for([], seed=5)
    for seed in range(9):
        acq = simulate_acquisition(BANDS, shape=(192, 192), radius=25.0, phase_deg=10.0,
                                   ct1=SMALL_CT1, seed=200 + seed)
        q = quantify(acq.images, units=UNIT, prior=free_prior, search_radius_px=8)
        n_free += len(q.ct2)
        free_sig += sum(r.significant for r in q.ct2)
    p = np.array(pulls)
    rms = np.sqrt(np.mean(p**2, axis=0))
    assert len(p) >= 50 and n_free >= 100
    assert np.all((rms > 0.8) & (rms < 1.25)), rms
    assert free_sig <= 1, (free_sig, n_free)
    ct1_rms = float(np.sqrt(np.mean(np.square(ct1_pulls))))
    assert 0.7 < ct1_rms < 1.3 and abs(float(np.mean(ct1_pulls))) < 0.35, ct1_pulls


def _corrected(acq, ct1, ct2):
    obs = {b: im - acq.background[b] for b, im in acq.images.items()}
    return correct_stray_light(obs, ct1, ct2)


def test_correction_with_true_parameters_leaves_noise():
    ct1 = SMALL_CT1
    acq = simulate_acquisition(BANDS, shape=(192, 192), radius=25.0, phase_deg=10.0,
                               ct2=SMALL_GHOSTS, ct1=ct1, seed=42)
    cor = _corrected(acq, ct1, SMALL_GHOSTS)
    yy, xx = np.indices((192, 192))
    out = np.hypot(xx - acq.centre_x, yy - acq.centre_y) > 1.1 * acq.radius
    amp = {k.band: k.amplitude for k in ct1}
    for b in BANDS:
        var = acq.variance(b) / (1 - amp.get(b, 0.0)) ** 2
        chi2 = np.sum((cor[b] - acq.clean[b])[out] ** 2 / var[out]) / out.sum()
        assert abs(chi2 - 1) < 5 * np.sqrt(2 / out.sum()) + 0.01, (b, chi2)
        raw = np.sum((acq.images[b] - acq.background[b] - acq.clean[b])[out] ** 2 / var[out])
        assert raw / out.sum() > 1.1          # the uncorrected image is not noise
    q = quantify(cor, units=UNIT, prior=prior_for(SMALL_GHOSTS), search_radius_px=8)
    assert not any(r.significant for r in q.ct2)
    for b in BANDS:
        assert abs(q.ct1[b].fraction) < 4 * q.ct1[b].fraction_unc + 2e-4


def test_parameters_20_percent_off_leave_the_20_percent():
    ghosts = [CT2Ghost("B1", "B2", 2.0e-2, 60.3, -20.6, 2.0), CT2Ghost("B5", "B1", 1.0e-2, -45.2, 30.7, 1.2)]
    ct1 = [CT1Kernel("B2", 0.03, 5.0)]
    acq = simulate_acquisition(BANDS, shape=(256, 256), radius=30.0, phase_deg=10.0, ct2=ghosts,
                               ct1=ct1, moon_dn=20000.0, read_noise_dn=2.0, seed=9)
    off2 = [CT2Ghost(g.source, g.victim, 0.8 * g.coefficient, g.dx, g.dy, g.blur_px) for g in ghosts]
    off1 = [CT1Kernel("B2", 0.8 * 0.03, 5.0)]
    cor = _corrected(acq, off1, off2)
    q = quantify(cor, units=UNIT, prior=prior_for(ghosts, offset=(0, 0)), search_radius_px=5)
    for g in ghosts:
        r = q.pair(g.source, g.victim)
        assert r.significant
        assert r.coefficient == pytest.approx(0.2 * g.coefficient, rel=0.1), r
        assert abs(r.dx - g.dx) < 1 and abs(r.dy - g.dy) < 1
    full = quantify({b: im - acq.background[b] for b, im in acq.images.items()}, units=UNIT,
                    prior=prior_for(ghosts, offset=(0, 0)), search_radius_px=5)
    ratio = q.ct1["B2"].fraction / full.ct1["B2"].fraction
    assert ratio == pytest.approx(0.2, abs=0.04), ratio


@pytest.mark.parametrize("case, match", [
    ("shape", "band B5: shape"), ("missing", r"D1: bands \['B5'\] missing"),
    ("nan", "band B2: 1 NaN"), ("nosource", "band B5: no bright source"),
])
def test_bad_input_names_the_band(case, match):
    acq = simulate_acquisition(BANDS, shape=(96, 96), radius=15.0, seed=1)
    imgs = dict(acq.images)
    if case == "shape":
        imgs["B5"] = imgs["B5"][:-1]
    elif case == "missing":
        del imgs["B5"]
    elif case == "nan":
        imgs["B2"] = imgs["B2"].copy()
        imgs["B2"][3, 4] = np.nan
    else:
        imgs["B5"] = np.random.default_rng(0).normal(0, 1, (96, 96))
    with pytest.raises(ValueError, match=match):
        quantify(imgs, units=UNIT)
