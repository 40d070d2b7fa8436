"""Fixed NAV bias per CCD quadrant and instrument (Navigation Images Report 4.7).

The quadrant numbering is that of the ``NAVBIAS1``..``NAVBIAS4`` keywords, with
the frame displayed bottom-to-top (science array row 0 at the bottom):

====  ==============  ============================
 n    quadrant        science-array slice (1008 x 1008)
====  ==============  ============================
 1    upper-left      ``[504:, :504]``
 2    lower-left      ``[:504, :504]``
 3    upper-right     ``[504:, 504:]``
 4    lower-right     ``[:504, 504:]``
====  ==============  ============================

The bias table is a CSV with columns ``instrument,quadrant,bias_dn`` (``#``
comments allowed). The bundled default (``etalon/data/nav/bias_default.csv``) is
the bias the NAV simulator puts in its frames.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np
from astropy.io import fits
from astropy.table import Table

from etalon.data import data_path
from etalon.fileio import EtalonInputError, require_file
from etalon.nav.sclk import read_csv_rows

if TYPE_CHECKING:  # layout imports this module
    from etalon.nav.layout import FrameLayout

__all__ = ["DEFAULT_BIAS_TABLE", "INSTRUMENTS", "bias_image", "load_bias_table",
           "overclock_bias_table", "quadrant_slices"]

#: NAV instrument names as written in INSTRUME
INSTRUMENTS = ("NAVHRI", "NAVMRI", "NAVITS")

DEFAULT_BIAS_TABLE = data_path("nav", "bias_default.csv")


def quadrant_slices(shape: tuple[int, int] = (1008, 1008)) -> dict[int, tuple[slice, slice]]:
    """Science-array slices of the four quadrants, keyed by NAVBIAS number (1..4)."""
    half_r, half_c = shape[0] // 2, shape[1] // 2
    return {
        1: (slice(half_r, None), slice(None, half_c)),
        2: (slice(None, half_r), slice(None, half_c)),
        3: (slice(half_r, None), slice(half_c, None)),
        4: (slice(None, half_r), slice(half_c, None)),
    }


Biases = tuple[float, float, float, float]


def load_bias_table(path: str | os.PathLike[str] | None = None) -> dict[str, Biases]:
    """Read a bias table; return ``{instrument: (bias1, bias2, bias3, bias4)}`` in DN.

    Raises
    ------
    EtalonInputError
        Naming the file, when it is not a text CSV, a column is missing, an
        instrument is not NAVHRI/NAVMRI/NAVITS, a quadrant or bias is not a
        (finite) number, a quadrant is given twice, or an instrument lacks one
        of its four quadrants.
    """
    p = require_file(path if path is not None else DEFAULT_BIAS_TABLE, "bias table")
    rows = read_csv_rows(p, ("instrument", "quadrant", "bias_dn"), "bias table")
    found: dict[str, dict[int, float]] = {}
    for n, row in enumerate(rows, start=1):
        inst = (row["instrument"] or "").upper()
        if inst not in INSTRUMENTS:
            raise EtalonInputError(p, f"data row {n}: instrument must be one of "
                                   f"{', '.join(INSTRUMENTS)}, got {row['instrument']!r}")
        try:
            quadrant, bias = int(row["quadrant"]), float(row["bias_dn"])
        except (TypeError, ValueError) as exc:
            raise EtalonInputError(
                p, f"data row {n}: quadrant and bias_dn must be numbers ({exc})") from exc
        if quadrant not in (1, 2, 3, 4):
            raise EtalonInputError(p, f"data row {n}: quadrant must be 1..4, got {quadrant}")
        if not math.isfinite(bias):
            raise EtalonInputError(p, f"data row {n}: bias_dn must be finite, got {bias}")
        if quadrant in found.get(inst, {}):
            raise EtalonInputError(p, f"data row {n}: {inst} quadrant {quadrant} given twice")
        found.setdefault(inst, {})[quadrant] = bias
    table = {}
    for inst, quads in found.items():
        if set(quads) != {1, 2, 3, 4}:
            missing = sorted({1, 2, 3, 4} - set(quads))
            raise EtalonInputError(p, f"instrument {inst} lacks quadrant(s) {missing}")
        table[inst] = (quads[1], quads[2], quads[3], quads[4])
    return table


def bias_image(biases: Biases, shape: tuple[int, int] = (1008, 1008)) -> np.ndarray:
    """A float64 image holding each quadrant's bias (science orientation)."""
    img = np.empty(shape, dtype=np.float64)
    for n, sl in quadrant_slices(shape).items():
        img[sl] = biases[n - 1]
    return img


def overclock_bias_table(frame: np.ndarray, header: fits.Header, layout: FrameLayout) -> Table:
    """The ``NAVBIAS1..4`` keywords beside the serial overclock pixels of a frame.

    A check of a pre-processed calibration frame: each quadrant's serial
    overclock should hold its ``NAVBIASn`` bias.

    Parameters
    ----------
    frame : numpy.ndarray
        Calibration frame (``layout.frame_shape``), DN.
    header : astropy.io.fits.Header
        Its header, with ``NAVBIAS1``..``NAVBIAS4`` (DN).
    layout : etalon.nav.layout.FrameLayout
        Where the serial overclock sits.

    Returns
    -------
    astropy.table.Table
        Columns ``quadrant`` (1..4), ``NAVBIAS (DN)`` and
        ``serial overclock median (DN)``.

    Raises
    ------
    KeyError
        When a ``NAVBIASn`` keyword is missing.
    """
    quadrants = (1, 2, 3, 4)
    data = np.asarray(frame, dtype=float)
    return Table({
        "quadrant": list(quadrants),
        "NAVBIAS (DN)": [header[f"NAVBIAS{q}"] for q in quadrants],
        "serial overclock median (DN)": [float(np.median(layout.serial_overclock(data, q)))
                                         for q in quadrants],
    })
