"""Flat-field correction (the mission's flats include the quadrant gains)."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from etalon.ccd.keywords import set_keywords
from etalon.ccd.reference import FlatReference
from etalon.ccd.step import FLAG_BAD, StepOutput
from etalon.provenance import add_history

__all__ = ["flat_correct"]


def flat_correct(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    reference: FlatReference,
    *,
    min_flat: float = 0.1,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """Divide by the normalized flat.

    Pixels whose flat is below ``min_flat`` (dead pixels) are not divided and
    are flagged bad (bit 1): a near-zero response gives no usable signal.

    Returns
    -------
    StepOutput
        Flat-fielded DN, variance divided by flat², header FLATCORR, FLATFILE.
    """
    flat = reference.flat
    usable = flat >= min_flat
    divisor = np.where(usable, flat, np.float32(1.0)).astype(np.float32)
    out = data.astype(np.float32) / divisor
    new_flags = flags | np.where(usable, np.uint8(0), FLAG_BAD)
    var = None if variance is None else variance / divisor**2
    hdr = header.copy()
    set_keywords(hdr, {"FLATCORR": True, "FLATFILE": reference.name})
    add_history(hdr, f"etalon ccd flat: divided by {reference.name}; {int((~usable).sum())} pixels "
                     f"with flat < {min_flat:g} left undivided and flagged bad")
    return StepOutput(out, new_flags.astype(np.uint8), hdr, var)
