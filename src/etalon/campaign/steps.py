"""PO steps: the ratio change each PO update caused, measured and expected from the gains.

At the validity start ``t_v`` of version ``k`` the as-processed ratio jumps because the gain
changed from ``a`` (version ``k-1``) to ``b`` (version ``k``): the registry predicts
``expected = a / b - 1``. The *measured* step is ``exp(T_k(t_v) - T_{k-1}(t_v)) - 1`` with ``T_s``
the fitted trend (level + drift) of segment ``s`` in ``ln(ratio)``, both extrapolated to
``t_v``; its uncertainty comes from the joint fit's covariance. ``measured - expected`` is what
the update did that the gains do not say (an instrument jump at the date, a wrong gain); its
uncertainty is the measured one (the gains are exact numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StepResult", "expected_steps", "reprocess_factor"]


@dataclass
class StepResult:
    """One PO update of one band.

    Attributes
    ----------
    version : str
        The new version.
    validity_start : float
        Julian years.
    measured, measured_unc : float
        ``ratio_after / ratio_before - 1`` at the validity start and its 1-sigma uncertainty.
    expected : float
        From the gains, ``a / b - 1``.
    """

    version: str
    validity_start: float
    measured: float
    measured_unc: float
    expected: float

    @property
    def difference(self) -> float:
        """measured - expected (fractional)."""
        return self.measured - self.expected

    @property
    def significance(self) -> float:
        """|measured - expected| / measured_unc."""
        return abs(self.difference) / self.measured_unc if self.measured_unc > 0 else float("inf")


def expected_steps(gains: np.ndarray) -> np.ndarray:
    """``gain[k-1] / gain[k] - 1`` for k = 1 .. n-1 (NaN for k = 0)."""
    g = np.asarray(gains, dtype=float)
    return np.concatenate([[np.nan], g[:-1] / g[1:] - 1.0])


def reprocess_factor(gains: np.ndarray, po_index: np.ndarray, reference: int) -> np.ndarray:
    """Factor bringing each ratio to the PO ``reference``: ``gain_in_force / gain_reference``.

    A ratio computed with gain ``g`` becomes, with gain ``g_ref``, ``ratio * g / g_ref``.
    """
    g = np.asarray(gains, dtype=float)
    return g[np.asarray(po_index)] / g[reference]
