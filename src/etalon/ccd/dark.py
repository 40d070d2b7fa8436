"""Dark subtraction: a dark model (or frame) scaled with INTTIME and CCDT."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from etalon.ccd.keywords import set_keywords
from etalon.ccd.reference import DarkReference
from etalon.ccd.step import StepOutput
from etalon.provenance import add_history

__all__ = ["subtract_dark"]


def subtract_dark(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    reference: DarkReference,
    *,
    inttime_ms: float,
    ccdt_k: float,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """Subtract ``reference.dark_dn(inttime_ms, ccdt_k)``.

    Parameters
    ----------
    data : numpy.ndarray
        Linear DN (bias-subtracted).
    reference : DarkReference
        MODEL: OFFSET + rate * t * 2**((CCDT - TREF) / DBLT); FRAME: scaled frame.
    inttime_ms : float
        Integration time of the image, ms (INTTIME).
    ccdt_k : float
        CCD temperature, K (CCDT).

    Returns
    -------
    StepOutput
        Dark-subtracted DN (variance unchanged: the reference's own noise is
        neglected); header gets DARKCORR, DARKALG, DARKFN, DRKTMSCL.
    """
    dark = reference.dark_dn(inttime_ms, ccdt_k)
    scale = reference.scale(inttime_ms, ccdt_k)
    out = data.astype(np.float32) - dark
    hdr = header.copy()
    set_keywords(hdr, {"DARKCORR": True, "DARKALG": reference.algorithm,
                       "DARKFN": reference.name, "DRKTMSCL": round(scale, 6)})
    add_history(hdr, f"etalon ccd dark: {reference.algorithm} {reference.name}, INTTIME="
                     f"{inttime_ms:g} ms, CCDT={ccdt_k:.3f} K, rate scale {scale:.6g}, "
                     f"mean dark {float(np.mean(dark)):.3f} DN")
    return StepOutput(out, flags, hdr, variance)
