"""CT2 honesty under pushbroom column stripes (per-column offsets: correlated noise).

A VENuS column is one detector: its dark / equalisation residual is an offset along the whole
column. A disk template integrates it coherently, so the white-noise matched filter
understates its noise by a factor ~ sqrt(1 + s**2 / sigma**2 * rows per column). Before the
column-variance term (``_column_variance``), searches in a prior window took the white-noise
SNR: injected-pair pulls rms 3.4 and 2 false positives in 27 ghost-free pairs on these
scenes (the spurious significant ghost of a VM5 campaign file). Now every search measures it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from etalon.straylight.quantify import _column_variance, quantify
from etalon.straylight.simulate import simulate_acquisition

_spec = importlib.util.spec_from_file_location("straylight_conftest", Path(__file__).with_name("conftest.py"))
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
BANDS, SMALL_CT1, SMALL_GHOSTS = _conftest.BANDS, _conftest.SMALL_CT1, _conftest.SMALL_GHOSTS
UNIT, prior_for = _conftest.UNIT, _conftest.prior_for

#: column offsets, rms in units of the read noise
STRIPES = 0.6


def _striped(acq, seed):
    rng = np.random.default_rng(900 + seed)
    w = next(iter(acq.images.values())).shape[1]
    return {b: im + STRIPES * acq.read_noise[b] * rng.standard_normal(w)[None, :]
            for b, im in acq.images.items()}


def test_column_variance_measures_stripes_not_smooth_structure():
    rng = np.random.default_rng(1)
    mask = np.ones((150, 200), bool)
    white = rng.normal(0, 1.0, (150, 200))
    stripes = 0.5 * rng.standard_normal(200)[None, :]
    yy, xx = np.indices((150, 200))
    smooth = 3.0 * np.exp(-((xx - 100) ** 2 + (yy - 75) ** 2) / (2 * 30.0**2))   # a halo / ghost
    assert _column_variance(white + smooth, mask, 1.0) < 0.01
    assert _column_variance(white + stripes + smooth, mask, 1.0) == pytest.approx(0.25, rel=0.25)


def test_striped_scenes_pulls_and_false_positives():
    prior = prior_for(SMALL_GHOSTS)
    injected = {(g.source, g.victim): g for g in SMALL_GHOSTS}
    pulls, free_sig, n_free = [], 0, 0
    for seed in range(6):
        acq = simulate_acquisition(BANDS, shape=(192, 192), radius=25.0, phase_deg=10.0,
                                   ct1=SMALL_CT1, ct2=SMALL_GHOSTS, seed=300 + seed)
        q = quantify(_striped(acq, seed), units=UNIT, prior=prior, search_radius_px=8)
        for r in q.ct2:
            g = injected.get((r.source, r.victim))
            if g is None:
                n_free += 1
                free_sig += r.significant
                continue
            assert r.search == "prior"
            pulls.append((r.coefficient - g.coefficient) / r.coefficient_unc)
            if g.coefficient >= 1e-3 and (g.source, g.victim) != ("B5", "B1"):
                # B5->B1 (3e-3 of the faintest source into the faintest band) drowns in the stripes
                assert r.significant, r
                # stripes blur the displacement too: within 1 px or 3 of its (inflated) sigma
                assert abs(r.dx - g.dx) < max(1.0, 3 * r.dx_unc), r
                assert abs(r.dy - g.dy) < max(1.0, 3 * r.dy_unc), r
    free_prior = prior_for([], seed=5)
    for seed in range(6):
        acq = simulate_acquisition(BANDS, shape=(192, 192), radius=25.0, phase_deg=10.0,
                                   ct1=SMALL_CT1, seed=400 + seed)
        q = quantify(_striped(acq, 50 + seed), units=UNIT, prior=free_prior, search_radius_px=8)
        n_free += len(q.ct2)
        free_sig += sum(r.significant for r in q.ct2)
    pulls = np.array(pulls)
    rms = float(np.sqrt(np.mean(pulls**2)))
    assert len(pulls) == 18 and n_free == 54
    assert 0.7 < rms < 1.35, pulls
    assert free_sig == 0, (free_sig, n_free)
