"""Measuring a calibration against known truth: residuals, flag masks, detection scores.

Used by the tests, the benchmark and notebook 03 on simulated frames
(:mod:`etalon.ccd.simulate`), so that all three measure the same way.
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from etalon.ccd.step import FLAG_BAD, FLAG_DESPIKED, FLAG_MISSING, FLAG_SAT_MOST, FLAG_SAT_SOME
from etalon.frame import Frame

__all__ = ["FLAG_NAMES", "detection_scores", "flag_comparison", "normalized_residuals"]

#: quality-map bits and their meaning (bit 8 is etalon's own "despiked")
FLAG_NAMES: dict[int, str] = {
    int(FLAG_BAD): "bad pixel",
    int(FLAG_MISSING): "missing",
    int(FLAG_DESPIKED): "despiked (etalon)",
    int(FLAG_SAT_SOME): ">= SMSATVL",
    int(FLAG_SAT_MOST): ">= MSTSATVL",
}


def normalized_residuals(
    frame: Frame, truth_dn: np.ndarray, cosmic_dn: np.ndarray | None = None,
    select: np.ndarray | None = None,
) -> np.ndarray:
    """``(calibrated - truth) / sigma`` on clean pixels, sigma from the frame's SNR extension.

    Clean pixels: no flag, no injected cosmic ray (``cosmic_dn == 0``), SNR
    defined, and within ``select`` when given. A correct calibration gives a
    unit Gaussian (chi-square per pixel ~ 1, mean ~ 0).

    Parameters
    ----------
    frame : Frame
        Calibrated frame (DN), with ``snr``.
    truth_dn : numpy.ndarray
        True signal (DN), same shape.
    cosmic_dn, select : numpy.ndarray, optional
        Injected cosmic-ray signal (DN) and an extra selection mask.

    Returns
    -------
    numpy.ndarray
        1-D array of normalized residuals (dimensionless).
    """
    if frame.snr is None:
        raise ValueError("the frame has no SNR extension: run the noise step first")
    clean = (frame.flags == 0) & (frame.snr != 0)
    if cosmic_dn is not None:
        clean &= cosmic_dn == 0
    if select is not None:
        clean &= select
    sigma = np.abs(frame.data[clean] / frame.snr[clean])
    return (frame.data[clean] - truth_dn[clean]) / sigma


def detection_scores(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Pixel precision and recall of a detection mask against the true mask.

    Returns
    -------
    precision, recall : float
        ``TP / found`` and ``TP / truth`` (0 when the denominator is 0).
    """
    hits = np.count_nonzero(found & truth)
    return hits / max(np.count_nonzero(found), 1), hits / max(np.count_nonzero(truth), 1)


def flag_comparison(flags: np.ndarray, truth_flags: np.ndarray,
                    names: dict[int, str] | None = None) -> Table:
    """Per bit: pixels flagged, pixels expected, extra and missed ones.

    Returns
    -------
    astropy.table.Table
        Columns ``bit``, ``meaning``, ``pipeline``, ``truth``, ``extra``, ``missed``.
    """
    rows = []
    for bit, name in (names or FLAG_NAMES).items():
        found, expected = (flags & bit) != 0, (truth_flags & bit) != 0
        rows.append((bit, name, int(found.sum()), int(expected.sum()),
                     int((found & ~expected).sum()), int((~found & expected).sum())))
    return Table(rows=rows, names=("bit", "meaning", "pipeline", "truth", "extra", "missed"))
