"""Shared simulated scenes for the stray-light tests (small frames: the suite stays fast)."""

from __future__ import annotations

import numpy as np
import pytest

from etalon.straylight.models import CT1Kernel, CT2Ghost

UNIT = {"D1": ("B1", "B2", "B5")}
BANDS = UNIT["D1"]

#: injected ghosts of the small statistical scenes (192 x 192, R = 25 px): one partly over
#: the victim's own Moon (|d| = 1.5 R), coefficients spanning 1e-3 .. 3e-2
SMALL_GHOSTS = [CT2Ghost("B1", "B2", 1.0e-2, 40.3, -20.6, 2.0),
                CT2Ghost("B5", "B1", 3.0e-3, -30.2, 22.7, 1.2),
                CT2Ghost("B2", "B5", 1.0e-3, 20.4, 55.2, 1.5)]
SMALL_CT1 = [CT1Kernel("B1", 0.03, 5.0), CT1Kernel("B2", 0.02, 8.0),
             CT1Kernel("B5", 0.015, 3.0, "power", 3.0)]


def prior_for(ghosts, bands=BANDS, offset=(2.6, -1.8), seed=0):
    """Level-1-like prior: the injected displacements off by a few px; ghost-free pairs at
    arbitrary displacements (as a parameter file would list every pair)."""
    rng = np.random.default_rng(seed)
    known = {(g.source, g.victim): g for g in ghosts}
    out = []
    for s in bands:
        for v in bands:
            if s == v:
                continue
            g = known.get((s, v))
            if g is not None:
                out.append(CT2Ghost(s, v, 0.0, g.dx + offset[0], g.dy + offset[1], 1.5))
            else:
                ang = rng.uniform(0, 2 * np.pi)
                rad = rng.uniform(35, 60)
                out.append(CT2Ghost(s, v, 0.0, rad * np.cos(ang), rad * np.sin(ang), 1.5))
    return out


@pytest.fixture(scope="session")
def small_kw():
    return dict(shape=(192, 192), radius=25.0, phase_deg=10.0)
