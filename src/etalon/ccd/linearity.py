"""Linearization of bias-subtracted raw DN, one polynomial per CCD quadrant."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from etalon.ccd.keywords import set_keywords
from etalon.ccd.reference import LinearityReference
from etalon.ccd.step import StepOutput
from etalon.nav.bias import quadrant_slices
from etalon.provenance import add_history

__all__ = ["linearize", "polynomial", "polynomial_derivative"]


def polynomial(x: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """``sum(c[k] * x**k)`` by Horner's rule, in the type of ``x``."""
    out = np.full_like(x, coefficients[-1])
    for c in coefficients[-2::-1]:
        out *= x
        out += x.dtype.type(c)
    return out


def polynomial_derivative(x: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """Derivative of :func:`polynomial` with respect to ``x``."""
    c = np.asarray(coefficients, dtype=np.float64)
    return polynomial(x, c[1:] * np.arange(1, c.size))


def linearize(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    reference: LinearityReference,
    *,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """Apply each quadrant's polynomial to the bias-subtracted DN.

    Parameters
    ----------
    data : numpy.ndarray
        Bias-subtracted image, DN (quadrants split at the middle, NAVBIAS order).
    reference : LinearityReference
        ``coefficients[q - 1]`` = C0..C4 of quadrant q.
    variance : numpy.ndarray, optional
        Scaled by the squared derivative of the polynomial.

    Returns
    -------
    StepOutput
        Linear DN; header gets LINEARIZ and LIN{A,B,C,D}C0..4.
    """
    out = np.empty_like(data, dtype=np.float32)
    var = None if variance is None else np.empty_like(variance)
    x_all = data.astype(np.float32, copy=False)
    for q, sl in quadrant_slices(data.shape).items():
        c = reference.coefficients[q - 1]
        x = x_all[sl]
        out[sl] = polynomial(x.copy(), c)
        if var is not None:
            var[sl] = variance[sl] * polynomial_derivative(x.copy(), c) ** 2
    hdr = header.copy()
    values: dict[str, object] = {"LINEARIZ": True}
    for q, letter in zip((1, 2, 3, 4), "ABCD", strict=True):
        for k in range(5):
            values[f"LIN{letter}C{k}"] = float(reference.coefficients[q - 1, k])
    set_keywords(hdr, values)
    add_history(hdr, f"etalon ccd linearity: per-quadrant polynomial (NAVBIAS order A..D = 1..4) "
                     f"from {reference.name or 'coefficients given'}")
    return StepOutput(out, flags, hdr, var)
