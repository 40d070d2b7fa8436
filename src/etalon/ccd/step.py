"""What every calibration step returns, and the flag bits the steps set.

A step is a pure function ``step(data, flags, header, ..., variance=None)``
returning a :class:`StepOutput` of new arrays and a new header (inputs are
never modified). ``variance`` (DN² or the data's unit squared) is the noise
model carried along the chain: steps that scale the data scale it too, so the
``SNR`` extension written at the end is ``data / sqrt(variance)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from astropy.io import fits

from etalon.frame import FLAG_BAD, FLAG_CONFLICT, FLAG_MISSING, FLAG_SAT_MOST, FLAG_SAT_SOME

__all__ = [
    "FLAG_BAD",
    "FLAG_CONFLICT",
    "FLAG_DESPIKED",
    "FLAG_MISSING",
    "FLAG_SAT_MOST",
    "FLAG_SAT_SOME",
    "StepOutput",
]

#: etalon's own quality bit: a spike (cosmic ray) detected and replaced by the despike step
FLAG_DESPIKED = np.uint8(8)


class StepOutput(NamedTuple):
    """The result of one step: new data, flags, header and (optional) variance."""

    data: np.ndarray
    flags: np.ndarray
    header: fits.Header
    variance: np.ndarray | None = None
