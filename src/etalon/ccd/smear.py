"""Frame-transfer smear: estimated (not removed), with a warning when it is not small.

A frame-transfer CCD keeps collecting light while the image is shifted into
the storage area: during the transfer time ``t_ft`` each pixel sees every pixel
of its column for ``t_ft / N`` (N = lines of the CCD). Every pixel of column c
therefore receives, on top of its own signal ``S[r, c]`` collected over the
integration time ``T``,

    smear_c = (t_ft / T) * sum_r S[r, c] / N        (DN)

the same for the whole column. With the NAV CCDs' 5.2 ms transfer, a 13.5 ms
exposure of a nucleus covering 184 of the 1008 lines of a column adds
``5.2 / 13.5 * 184 / 1008 = 7.0 %`` of the nucleus level to every pixel of that
column. The NAV configuration cannot remove it (the snips carry no real
overclock or column sums outside the snips, so the estimate is a lower bound
where data are missing); the step writes the estimate (``SMEARMAX`` DN,
``SMEARFRC``) and warns above a threshold (1 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etalon.ccd.step import FLAG_MISSING

__all__ = ["SmearEstimate", "estimate_smear", "smear_per_column"]


@dataclass(frozen=True)
class SmearEstimate:
    """The largest column smear of a frame.

    Attributes
    ----------
    max_dn : float
        Smear added to every pixel of the worst column, DN.
    column : int
        That column (0-based, science array).
    fraction : float
        ``max_dn`` over the brightest valid pixel of that column (0 for an empty frame).
    """

    max_dn: float
    column: int
    fraction: float


def smear_per_column(data: np.ndarray, flags: np.ndarray, *, inttime_ms: float,
                     transfer_ms: float = 5.2, ccd_lines: int = 1008) -> np.ndarray:
    """Smear (DN) added to every pixel of each column; missing pixels count 0 (a lower bound).

    Parameters
    ----------
    data : numpy.ndarray
        Bias- and dark-subtracted image, DN (lines, pixels); columns are the
        transfer direction.
    flags : numpy.ndarray
        Quality map; missing pixels (bit 2) are left out.
    inttime_ms, transfer_ms : float
        Integration and frame-transfer times, ms (both > 0).
    ccd_lines : int
        Lines of the CCD over which the transfer spreads a pixel's light.
    """
    if not (inttime_ms > 0 and transfer_ms >= 0 and ccd_lines > 0):
        raise ValueError(f"need inttime_ms > 0, transfer_ms >= 0, ccd_lines > 0; got "
                         f"{inttime_ms}, {transfer_ms}, {ccd_lines}")
    valid = ((flags & FLAG_MISSING) == 0) & np.isfinite(data)
    signal = np.where(valid, np.clip(data, 0, None), 0.0)
    return (transfer_ms / inttime_ms) * signal.sum(axis=0, dtype=np.float64) / ccd_lines


def estimate_smear(data: np.ndarray, flags: np.ndarray, *, inttime_ms: float,
                   transfer_ms: float = 5.2, ccd_lines: int = 1008) -> SmearEstimate:
    """The worst column's smear, DN and as a fraction of that column's brightest pixel.

    >>> img = np.zeros((1008, 4)); img[:184, 1] = 1000.0
    >>> est = estimate_smear(img, np.zeros(img.shape, np.uint8), inttime_ms=13.5)
    >>> est.column, round(est.fraction, 4)
    (1, 0.0703)
    """
    per_column = smear_per_column(data, flags, inttime_ms=inttime_ms, transfer_ms=transfer_ms,
                                  ccd_lines=ccd_lines)
    if per_column.size == 0 or not np.any(per_column > 0):
        return SmearEstimate(0.0, 0, 0.0)
    c = int(np.argmax(per_column))
    valid = ((flags[:, c] & FLAG_MISSING) == 0) & np.isfinite(data[:, c])
    peak = float(np.max(data[valid, c])) if valid.any() else 0.0
    return SmearEstimate(float(per_column[c]), c, float(per_column[c] / peak) if peak > 0 else 0.0)
