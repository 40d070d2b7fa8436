"""Geometry dependence of the lunar ratio: phase angle (waxing and waning apart) and libration.

The ratio observed / model keeps a residual dependence on the lunar phase angle that differs
before and after full Moon (the model's waxing/waning asymmetry) and on the libration. The
campaign fits it *jointly* with the trend, in ``ln(ratio)``, with these columns of the design
matrix (the terms are centred so that the levels refer to the reference geometry):

- ``phase_waxing`` = ``(|g| - G_REF) * [g < 0]`` and ``phase_waning`` = ``(|g| - G_REF) * [g >= 0]``,
  g the signed phase angle in deg, ``G_REF`` = 45 deg: fractional change per deg;
- with ``degree=2`` also ``phase_waxing2`` and ``phase_waning2``: ``((|g| - G_REF) / 10)^2`` on each
  side (per (10 deg)^2);
- ``libration_lat``, ``libration_lon``: observer selenographic latitude and longitude, deg,
  centred on 0 (fractional change per deg), when the tables carry them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["G_REF_DEG", "geometry_correction", "geometry_design"]

#: reference phase angle of the geometry terms, deg
G_REF_DEG = 45.0

UNITS = {"phase_waxing": "deg-1", "phase_waning": "deg-1", "phase_waxing2": "(10 deg)-2",
         "phase_waning2": "(10 deg)-2", "libration_lat": "deg-1", "libration_lon": "deg-1"}


def geometry_design(phase_angle_deg: np.ndarray, libration_deg: np.ndarray | None = None,
                    degree: int = 1) -> tuple[np.ndarray, list[str]]:
    """Design-matrix columns of the geometry terms.

    Parameters
    ----------
    phase_angle_deg : numpy.ndarray, shape (n,)
        Signed phase angle, deg (negative waxing).
    libration_deg : numpy.ndarray, shape (n, 2), optional
        Observer selenographic latitude and longitude, deg.
    degree : {1, 2}
        Polynomial degree in ``|g| - G_REF`` on each side.

    Returns
    -------
    X : numpy.ndarray, shape (n, k)
    names : list of str
        Term names (units in :data:`UNITS`).
    """
    if degree not in (1, 2):
        raise ValueError(f"geometry degree must be 1 or 2, got {degree}")
    g = np.asarray(phase_angle_deg, dtype=float)
    x = np.abs(g) - G_REF_DEG
    wax = (g < 0).astype(float)
    cols = [x * wax, x * (1 - wax)]
    names = ["phase_waxing", "phase_waning"]
    if degree == 2:
        cols += [(x / 10) ** 2 * wax, (x / 10) ** 2 * (1 - wax)]
        names += ["phase_waxing2", "phase_waning2"]
    if libration_deg is not None:
        lib = np.asarray(libration_deg, dtype=float)
        cols += [lib[:, 0], lib[:, 1]]
        names += ["libration_lat", "libration_lon"]
    X = np.column_stack(cols)
    # a side with no acquisition contributes a zero column: drop it (not identifiable)
    keep = np.any(X != 0, axis=0)
    return X[:, keep], [n for n, k in zip(names, keep, strict=True) if k]


def geometry_correction(X: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Multiplicative geometry factor ``exp(X @ coef)`` the corrected ratio is divided by."""
    return np.exp(np.asarray(X) @ np.asarray(coef))
