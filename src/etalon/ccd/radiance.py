"""Radiometric conversion: DN -> radiance (RADCAL per filter) and radiance -> I/F."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from etalon.ccd.keywords import set_keywords
from etalon.ccd.reference import RadcalReference
from etalon.ccd.step import StepOutput
from etalon.provenance import add_history

__all__ = ["AU_KM", "RADIANCE_UNIT", "to_iof", "to_radiance"]

#: astronomical unit, km (IAU 2012)
AU_KM = 149_597_870.7
#: BUNIT of radiance products
RADIANCE_UNIT = "W/(m**2 sr um)"


def to_radiance(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    reference: RadcalReference,
    *,
    filter_name: str,
    inttime_ms: float,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """Radiance = DN / (INTTIME / 1000) * RADCALV[filter], W m-2 sr-1 um-1.

    Raises
    ------
    KeyError
        When ``filter_name`` is not in the RADCAL table.
    """
    wavelength, radcalv, _ = reference.lookup(filter_name)
    factor = np.float32(radcalv / (inttime_ms / 1000.0))
    hdr = header.copy()
    set_keywords(hdr, {"RADCAL": True, "RADCALV": radcalv, "RADCALW": f"{wavelength:g}",
                       "CALTYPE": "RAD", "BUNIT": RADIANCE_UNIT})
    add_history(hdr, f"etalon ccd radiance: {reference.name} FILTER={filter_name} RADCALV="
                     f"{radcalv:.6g} W/(m2 sr um)/(DN/s), INTTIME={inttime_ms:g} ms")
    var = None if variance is None else variance * factor**2
    return StepOutput(data.astype(np.float32) * factor, flags, hdr, var)


def to_iof(
    data: np.ndarray,
    flags: np.ndarray,
    header: fits.Header,
    reference: RadcalReference,
    *,
    filter_name: str,
    sun_distance_au: float,
    variance: np.ndarray | None = None,
) -> StepOutput:
    """I/F = radiance * d² / IOFCALV[filter] (IOFCALV: solar radiance at 1 AU, F/pi).

    Parameters
    ----------
    data : numpy.ndarray
        Radiance, W m-2 sr-1 um-1.
    sun_distance_au : float
        Target-Sun distance, AU (the archive's TARSUNR / AU).
    """
    wavelength, _, iofcalv = reference.lookup(filter_name)
    factor = np.float32(sun_distance_au**2 / iofcalv)
    hdr = header.copy()
    set_keywords(hdr, {"IOFCAL": True, "IOFCALV": iofcalv, "IOFCALW": f"{wavelength:g}",
                       "IOFCALD": sun_distance_au, "CALTYPE": "IF", "BUNIT": "1"})
    add_history(hdr, f"etalon ccd iof: {reference.name} FILTER={filter_name} IOFCALV="
                     f"{iofcalv:.6g} W/(m2 sr um) at 1 AU, distance {sun_distance_au:.6f} AU")
    var = None if variance is None else variance * factor**2
    return StepOutput(data.astype(np.float32) * factor, flags, hdr, var)
