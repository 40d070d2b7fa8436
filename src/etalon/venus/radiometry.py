"""VENuS Level-1 radiometric model, both directions (CNES convention).

``DN = A_k * G_p * L + D_p``

with ``L`` the radiance (W m-2 sr-1 um-1), ``A_k`` the absolute gain of band k
(DN per W m-2 sr-1 um-1), ``G_p`` the relative gain (equalisation) of pixel p
(dimensionless, near 1) and ``D_p`` its dark signal (DN). ``G_p`` and ``D_p`` may be
per column (a pushbroom: one value per detector, broadcast along the lines), full arrays,
or scalars; numpy broadcasting rules apply (a 1-d array of length ``ncols`` applies to
each line).
"""

from __future__ import annotations

import numpy as np

__all__ = ["dn_from_radiance", "radiance_from_dn"]


def _check_gain(ak: float) -> float:
    ak = float(ak)
    if not np.isfinite(ak) or ak <= 0:
        raise ValueError(f"absolute gain A_k must be finite and > 0, got {ak!r}")
    return ak


def dn_from_radiance(radiance: np.ndarray, ak: float, relative_gain: np.ndarray | float = 1.0,
                     dark: np.ndarray | float = 0.0) -> np.ndarray:
    """Digital numbers from radiance: ``A_k * G_p * L + D_p``.

    Parameters
    ----------
    radiance : numpy.ndarray
        Radiance, W m-2 sr-1 um-1, shape (lines, columns) or anything broadcastable.
    ak : float
        Absolute gain A_k, DN / (W m-2 sr-1 um-1).
    relative_gain : array or float
        Pixel relative gain G_p (dimensionless), per column (ncols,) or full shape.
    dark : array or float
        Dark signal D_p, DN, per column or full shape.

    Returns
    -------
    numpy.ndarray
        DN (float64; no quantisation, no noise).
    """
    ak = _check_gain(ak)
    return ak * np.asarray(relative_gain, float) * np.asarray(radiance, float) + np.asarray(dark, float)


def radiance_from_dn(dn: np.ndarray, ak: float, relative_gain: np.ndarray | float = 1.0,
                     dark: np.ndarray | float = 0.0) -> np.ndarray:
    """Radiance, W m-2 sr-1 um-1, from DN: ``(DN - D_p) / (A_k * G_p)`` (the L1 inversion).

    Parameters are those of :func:`dn_from_radiance`; a zero relative gain gives NaN there
    (a dead pixel), never an exception.
    """
    ak = _check_gain(ak)
    g = np.asarray(relative_gain, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (np.asarray(dn, float) - np.asarray(dark, float)) / (ak * g)
    return np.where(np.broadcast_to(g, out.shape) > 0, out, np.nan)
