"""FITS keywords written by the calibration steps, with the mission's names and comments.

The names are those of the Deep Impact science pipeline (DICAL) as they appear
in the archive's calibrated files (``SATPIX``, ``SMSATVL``, ``DARKCORR``,
``FLATCORR``, ``BPIXFL``, ``DESPIKE``, ``RADCAL``, ``CALTYPE``...). A few
keywords have no archive counterpart and are etalon's own
(:data:`ETALON_KEYWORDS`): the overclock bias values and the linearity
coefficients of quadrants C and D (the archive names only A and B).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.io import fits

__all__ = ["ETALON_KEYWORDS", "MISSION_KEYWORDS", "bool_keyword", "set_keywords"]

#: keywords of the archive's calibration section, with the archive's comments
MISSION_KEYWORDS: dict[str, str] = {
    "CALTYPE": "REVersible, DN=data#, RADiance, IF=I/F",
    "BUNIT": "Physical units for data pixel",
    "PGMNAME": "Program name that produced this file",
    "TMPVLTUP": "Physical temps and voltages updated (T/F)",
    "SATPIX": "Saturated pixels flagged (T/F)",
    "SMSATVL": "DN value where some pixels are saturated",
    "MSTSATVL": "DN value where most pixels are saturated",
    "ADCSATVL": "DN value where the ADC encoder is saturated",
    "BITCORR": "Uneven bit weighting corrected (T/F)",
    "DARKCORR": "Dark subtration (T/F)",
    "DARKALG": "Algorithm used to create dark",
    "DARKFN": "File name for the frame/model used",
    "DRKTMSCL": "Dark scaling factor for time dependency",
    "BIASFN": "Filename of bias frame used",
    "XTALK": "Electrical crosstalk removed (T/F)",
    "GAINCORR": "Quadrant Gain correction performed (T/F)",
    "FLATCORR": "Flat fielded",
    "FLATFILE": "Name of flat field applied",
    "BPIXFL": "Bad pixels flagged (T/F)",
    "BPIXFILE": "Name of bad pixel map applied",
    "CLEAN": "Cleaned/fill small gaps (T/F)",
    "DESPIKE": "Despiking applied (T/F)",
    "DESPIKET": "Despiking threshold used (sigma)",
    "DESPIKEI": "Number of iterations of despiking",
    "DESPIKEB": "Boxsize for despiking",
    "DESPIKEM": "Metric used for despiking. Mean or Median",
    "DENOISE": "Denoising applied (T/F)",
    "DECON": "Deconvolution performed (T/F)",
    "LINEARIZ": "Linearization applied (T/F)",
    **{f"LIN{q}C{k}": f"Quad {q} coefficient for x^{k} term" for q in "AB" for k in range(5)},
    "SMEAR": "Frame-transfer smear removed (T/F)",
    "RADCAL": "Radiance calibration applied (T/F)",
    "RADCALV": "Rad cal constant used [W/(m^2 sr um)/(DN/s)]",
    "RADCALW": "Radiance calib - wavelength used [nm]",
    "IOFCAL": "I/F calibration applied (T/F)",
    "IOFCALV": "I/F cal constant used [W/(m^2 sr um) @ 1 AU]",
    "IOFCALW": "I/F calib - wavelength used [nm]",
    "IOFCALD": "I/F calib - Distance used [AU]",
    "GEOMCAL": "Geometric calibration performed (T/F)",
    "BADPXCT": "Number of bad pixels",
    "MISSPXCT": "Number of missing pixels",
    "DESPIKCT": "Number of despiked pixels",
    "PSATPXCT": "Num possibly saturated pixels (VIS>=SMSATVL)",
    "SATPXCT": "Num likely saturated pixels (VIS>=MSTSATVL)",
    "ASATPXCT": "Number of ADC saturated pixels",
    "DATAMIN": "Minimum pixel in image array",
    "DATAMAX": "Maximum pixel in image array",
    "MEDPVAL": "Median pixel in image array",
    "STDPVAL": "Standard Deviation of pixel values",
}

#: etalon's own keywords (no archive counterpart)
ETALON_KEYWORDS: dict[str, str] = {
    **{f"LIN{q}C{k}": f"Quad {q} coefficient for x^{k} term (etalon)" for q in "CD" for k in range(5)},
    **{f"BIASDN{n}": f"[DN] bias subtracted, quadrant {n} (as NAVBIAS{n})" for n in range(1, 5)},
    "BIASALG": "Bias source: SERIAL OVERCLOCK or NAVBIAS KEYWORDS",
    "CALCFG": "etalon calibration configuration name",
    "DRKTDEF": "CCDT unknown: dark at the reference temperature",
    "CALSYNTH": "T: illustrative etalon table/reference used",
    "BUNITARC": "Archive spelling of BUNIT",
    "SMEARFRC": "Smear est.: fraction of column's peak added",
    "SMEARMAX": "[DN] Smear est.: largest per-column smear",
}


def bool_keyword(header: fits.Header, name: str) -> bool:
    """True when ``header[name]`` is FITS true (``T``); False when absent or false."""
    value = header.get(name)
    return bool(value) if isinstance(value, (bool, np.bool_)) else False


def set_keywords(header: fits.Header, values: Mapping[str, Any]) -> None:
    """Set keywords with the mission's (or etalon's) comment; numpy scalars become Python ones."""
    for name, value in values.items():
        if isinstance(value, np.generic):
            value = value.item()
        comment = MISSION_KEYWORDS.get(name) or ETALON_KEYWORDS.get(name, "")
        room = 80 - max(len(fits.Card(name, value).image.rstrip()), 30) - 3
        header[name] = (value, comment[:max(room, 0)])
