"""Bad pixel flagging from the bad pixel map (bit 1; values left as they are)."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from etalon.ccd.keywords import set_keywords
from etalon.ccd.reference import BadPixelReference
from etalon.ccd.step import FLAG_BAD, StepOutput
from etalon.provenance import add_history

__all__ = ["flag_bad_pixels"]


def flag_bad_pixels(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    reference: BadPixelReference,
    *,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """Set bit 1 on every pixel of the map (as DICAL: BPIXFL = T, CLNBAD = F).

    Returns
    -------
    StepOutput
        Data unchanged; header BPIXFL, BPIXFILE, BADPXCT (pixels with bit 1 set
        after this step, including dead pixels flagged by the flat step).
    """
    new_flags = (flags | np.where(reference.bad, FLAG_BAD, np.uint8(0))).astype(np.uint8)
    count = int(np.count_nonzero(new_flags & FLAG_BAD))
    hdr = header.copy()
    set_keywords(hdr, {"BPIXFL": True, "BPIXFILE": reference.name, "BADPXCT": count})
    add_history(hdr, f"etalon ccd badpixels: {reference.name}, {int(reference.bad.sum())} pixels "
                     f"in the map, {count} flagged bad")
    return StepOutput(data, new_flags, hdr, variance)
