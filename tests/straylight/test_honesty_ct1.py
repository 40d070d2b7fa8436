"""CT1 fractions against simulated truth: the stated uncertainty is honest (pulls).

50 scenes (seed, halo amplitude 0.5-3 %, scale 3-8 px, exponential and power-law profiles,
phase 0-40 deg, Moon level 3000-30000 DN: from noise-dominated to systematics-dominated),
two bands each. The truth is the noise-free halo image's fraction beyond 1.1 true radii.
"""

from __future__ import annotations

import numpy as np
import pytest

from etalon.straylight.models import CT1Kernel
from etalon.straylight.quantify import quantify
from etalon.straylight.simulate import ct1_fraction, simulate_acquisition

UNIT = {"D1": ("B1", "B2")}


@pytest.fixture(scope="module")
def ct1_cases():
    rng = np.random.default_rng(2026)
    rows = []
    for i in range(50):
        kernels = [CT1Kernel(b, float(rng.uniform(0.005, 0.03)), float(rng.uniform(3.0, 8.0)),
                             ("exponential", "power")[(i + j) % 2], 3.0)
                   for j, b in enumerate(UNIT["D1"])]
        acq = simulate_acquisition(UNIT["D1"], shape=(144, 144), radius=18.0,
                                   phase_deg=float(rng.uniform(0, 40)),
                                   position_angle_deg=float(rng.uniform(0, 360)),
                                   moon_dn=float(np.exp(rng.uniform(np.log(3e3), np.log(3e4)))),
                                   ct1=kernels, seed=500 + i)
        q = quantify(acq.images, units=UNIT)
        for k in kernels:
            truth = ct1_fraction(acq.halo[k.band], acq.centre_x, acq.centre_y, acq.radius)
            r = q.ct1[k.band]
            rows.append((truth, r.fraction, r.fraction_unc, r.fraction_stat_unc,
                         r.fraction_tail_unc, r.fraction_edge_unc, k.profile == "power",
                         r.fraction_ghost_unc))
    return np.array(rows)


def test_ct1_pulls_are_honest(ct1_cases):
    truth, got, unc = ct1_cases[:, 0], ct1_cases[:, 1], ct1_cases[:, 2]
    pulls = (got - truth) / unc
    rms = float(np.sqrt(np.mean(pulls**2)))
    assert len(pulls) >= 100
    assert 0.8 < rms < 1.25, rms
    # no bias against the scatter (the mean of 100 unit pulls scatters by 0.1)
    assert abs(float(pulls.mean())) < 0.3, pulls.mean()
    # both profiles honest on their own (exponential: compact halo; power law: far wings)
    for power in (False, True):
        p = pulls[ct1_cases[:, 6] == power]
        assert 0.7 < float(np.sqrt(np.mean(p**2))) < 1.4, (power, p)
    # no wild outlier: every band within 4.5 of its stated uncertainty
    assert np.all(np.abs(pulls) < 4.5), pulls[np.abs(pulls) >= 4.5]


def test_ct1_uncertainty_components(ct1_cases):
    """The total is the quadratic sum of the named components, each finite and >= 0 (no
    ghosts here: the ghost term, from the noise-level CT2 coefficients, is negligible); the
    far-halo part matters for power-law halos (wide wings), less for exponential ones."""
    unc, stat, tail, edge, ghost = (ct1_cases[:, k] for k in (2, 3, 4, 5, 7))
    assert np.all(np.isfinite(ct1_cases[:, 2:8])) and np.all(ct1_cases[:, 3:8] >= 0)
    assert np.all(ghost < 0.05 * unc)
    np.testing.assert_allclose(unc, np.sqrt(stat**2 + tail**2 + edge**2 + ghost**2), rtol=1e-9)
    assert np.all(edge > 0)
    power = ct1_cases[:, 6] == 1
    assert np.median(tail[power] / unc[power]) > 1.3 * np.median(tail[~power] / unc[~power])
