"""Orbit phases: the level of each phase against the first one after drift removal.

The joint fit carries one indicator column per phase after the first (``VM5`` against
``VM1``): its coefficient ``phi`` in ``ln(ratio)`` gives the level ``exp(phi) - 1`` of that phase
relative to the first at the same PO, geometry and drift. It is identifiable from the
as-processed series only when a PO segment holds acquisitions of both phases (the trend
bridges the gap); otherwise it is taken from the reprocessed series (every ratio at one PO, a
single trend), which assumes the PO steps are the expected ones: ``source`` says which.

The oversampling factor of a lunar acquisition changes with the altitude (line period): the
measured irradiance divides by it (GSICS convention), so a wrong factor in one phase shows here
as a level; ``etalon.venus.phases.oversampling_factor`` gives the nominal values.

Statistics of each phase (N, mean, median, std, MAD-based std) are of the ratio reprocessed
to the reference PO with the geometry dependence removed, over the kept acquisitions; the
phase's own drift is a WLS line through the same values (change points removed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PhaseResult", "phase_order", "robust_stats"]


@dataclass
class PhaseResult:
    """One orbit phase of one band.

    Attributes
    ----------
    name : str
    n : int
        Kept acquisitions.
    mean, median, std, mad_std : float
        Of the corrected ratio (unitless).
    level, level_unc : float
        ``ratio_phase / ratio_first_phase - 1`` after drift removal (0 for the first phase).
    drift, drift_unc : float
        Drift within the phase, yr-1 (NaN with fewer than 3 points).
    source : str
        ``"as-processed"``, ``"reprocessed"`` or ``"reference"`` (the first phase).
    """

    name: str
    n: int
    mean: float
    median: float
    std: float
    mad_std: float
    level: float
    level_unc: float
    drift: float
    drift_unc: float
    source: str

    @property
    def significance(self) -> float:
        """|level| / level_unc (NaN for the reference phase)."""
        return abs(self.level) / self.level_unc if self.level_unc > 0 else float("nan")


def phase_order(phase: np.ndarray, t_years: np.ndarray) -> list[str]:
    """Phase names in order of their first acquisition."""
    phase = np.asarray(phase, dtype=str)
    names = list(dict.fromkeys(phase.tolist()))
    return sorted(names, key=lambda p: float(np.min(np.asarray(t_years)[phase == p])))


def robust_stats(x: np.ndarray) -> tuple[int, float, float, float, float]:
    """N, mean, median, std (ddof 1), 1.4826 x median absolute deviation of finite ``x``."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return 0, np.nan, np.nan, np.nan, np.nan
    med = float(np.median(x))
    std = float(np.std(x, ddof=1)) if x.size > 1 else np.nan
    return int(x.size), float(np.mean(x)), med, std, float(1.4826 * np.median(np.abs(x - med)))
