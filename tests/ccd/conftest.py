"""Fixtures of the calibration tests: simulated NAV frames, their calibration, references."""

from __future__ import annotations

import pytest

from etalon.ccd import validation
from etalon.ccd.pipeline import Pipeline
from etalon.ccd.simulate import simulate_nav_frame


@pytest.fixture(scope="session", autouse=True)
def _reference_cache(tmp_path_factory):
    """Generate the synthetic reference set in a temporary folder, not in ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ETALON_CACHE", str(tmp_path_factory.mktemp("etalon-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def simulated():
    """A default simulated NAV frame (3 snips, lost packets, 400 cosmic-ray tracks)."""
    return simulate_nav_frame(11)


@pytest.fixture(scope="session")
def calibrated(simulated):
    """The default pipeline's result on ``simulated``."""
    return Pipeline.default().run(simulated.frame)


def normalized_residuals(result, sim, select=None):
    """(calibrated - truth) / sigma on clean pixels (no flag, no cosmic ray)."""
    return validation.normalized_residuals(result.frame, sim.signal_dn, sim.cosmic_dn, select)
