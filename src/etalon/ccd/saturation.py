"""Saturation flags evaluated on raw DN, before any correction (DICAL's SATPIX step)."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from etalon.ccd.keywords import set_keywords
from etalon.ccd.step import FLAG_MISSING, FLAG_SAT_MOST, FLAG_SAT_SOME, StepOutput
from etalon.provenance import add_history

__all__ = ["ADC_SATURATION_DN", "MOST_SATURATED_DN", "SOME_SATURATED_DN", "flag_saturation"]

#: the archive's levels (SMSATVL, MSTSATVL, ADCSATVL), raw DN
SOME_SATURATED_DN = 11000
MOST_SATURATED_DN = 15000
ADC_SATURATION_DN = 16383


def flag_saturation(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    *,
    some: float = SOME_SATURATED_DN,
    most: float = MOST_SATURATED_DN,
    adc: float = ADC_SATURATION_DN,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """Set flag 16 where raw DN >= ``some`` and flag 32 where raw DN >= ``most``.

    Parameters
    ----------
    data : numpy.ndarray
        Raw image, DN (bias included: the levels are the ADC's).
    flags : numpy.ndarray
        uint8 quality map; missing pixels (bit 2) are never flagged saturated.
    header : astropy.io.fits.Header
        Gets SATPIX, SMSATVL, MSTSATVL, ADCSATVL, PSATPXCT, SATPXCT, ASATPXCT.
    some, most, adc : float
        Levels, DN (the archive's 11000, 15000, 16383).

    Returns
    -------
    StepOutput
        Data unchanged (same array), new flags and header.
    """
    present = (flags & FLAG_MISSING) == 0
    some_mask = present & (data >= some)
    most_mask = present & (data >= most)
    adc_mask = present & (data >= adc)
    new_flags = flags | np.where(some_mask, FLAG_SAT_SOME, np.uint8(0))
    new_flags |= np.where(most_mask, FLAG_SAT_MOST, np.uint8(0))
    hdr = header.copy()
    set_keywords(hdr, {
        "SATPIX": True, "SMSATVL": int(some), "MSTSATVL": int(most), "ADCSATVL": int(adc),
        "PSATPXCT": int(some_mask.sum()), "SATPXCT": int(most_mask.sum()),
        "ASATPXCT": int(adc_mask.sum()),
    })
    add_history(hdr, f"etalon ccd saturation: raw DN >= {some:g} -> flag 16, >= {most:g} -> flag 32, "
                     f"ADC level {adc:g}; {int(some_mask.sum())}/{int(most_mask.sum())}/"
                     f"{int(adc_mask.sum())} pixels")
    return StepOutput(data, new_flags.astype(np.uint8), hdr, variance)
