"""Deep Impact products as :class:`astropy.nddata.CCDData` sees them.

Every etalon Deep Impact product (decoded, pre-processed, calibrated) is a FITS
file that ``CCDData.read(path)`` opens with its unit, mask and (when there is a
noise model) uncertainty, so that ccdproc and the rest of the astropy world
can take it:

* ``BUNIT`` is a unit astropy parses (``DN``, ``W/(m**2 sr um)``, ``1`` for I/F);
  the archive's own spelling (``DATA NUMBER``...) is kept in ``BUNITARC``;
* ``MASK`` (uint8, 1 = do not use): the pixels whose quality bits are in
  :data:`MASK_BITS` (bad 1, missing 2, overlap conflict 4, despiked 8, most
  saturated 32); the ``FLAGS`` extension still says why;
* ``UNCERT`` (float32, ``UTYPE = 'StdDevUncertainty'``): one standard deviation
  in the unit of the data, NaN where data are missing (calibrated products).

Float products carry NaN where data are missing; integer products (decoded and
pre-processed raw DN) keep 0 there and rely on ``MASK``.

:func:`write_product` writes such a file (atomically), :func:`frame_to_ccddata`
and :func:`ccddata_to_frame` convert in memory (``Pipeline.run`` takes and
returns CCDData through them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from astropy.io import fits

from etalon.fileio import atomic_output
from etalon.frame import FLAG_BAD, FLAG_CONFLICT, FLAG_MISSING, FLAG_SAT_MOST, Frame

if TYPE_CHECKING:
    from astropy.nddata import CCDData

__all__ = ["ARCHIVE_UNITS", "MASK_BITS", "ccd_unit", "ccddata_to_frame", "fits_unit",
           "frame_to_ccddata", "mask_of", "product_hdus", "write_product"]

#: quality bits that make a pixel unusable in MASK (8 = despiked, etalon's bit)
MASK_BITS = int(FLAG_BAD | FLAG_MISSING | FLAG_CONFLICT | np.uint8(8) | FLAG_SAT_MOST)

#: archive BUNIT spellings -> the unit string astropy parses
ARCHIVE_UNITS = {
    "DATA NUMBER": "DN",
    "DN": "DN",
    "W/(M**2 STERADIAN MICRON)": "W/(m**2 sr um)",
    "W/(m**2 sr um)": "W/(m**2 sr um)",
    "I/F": "1",
    "1": "1",
}


def fits_unit(archive_unit: str) -> str:
    """The astropy-parsable BUNIT for an archive spelling (``'DATA NUMBER'`` -> ``'DN'``).

    An already valid unit string is returned unchanged.

    Raises
    ------
    ValueError
        When the spelling is neither a known archive unit nor an astropy unit.
    """
    text = str(archive_unit).strip()
    if text.upper() in ARCHIVE_UNITS:
        return ARCHIVE_UNITS[text.upper()]
    if text in ARCHIVE_UNITS:
        return ARCHIVE_UNITS[text]
    import astropy.units as u

    u.Unit(text)  # raises ValueError when it does not parse
    return text


def ccd_unit(header: fits.Header) -> None:
    """Make ``header``'s BUNIT parsable in place, keeping the archive spelling in BUNITARC."""
    found = str(header.get("BUNIT", "")).strip()
    if not found:  # no unit written: what the calibration level says
        caltype = str(header.get("CALTYPE", "")).strip().upper()
        found = "1" if caltype.startswith("IF") else (
            "W/(m**2 sr um)" if caltype.startswith("RAD") else "DATA NUMBER")
    unit = fits_unit(found)
    if found != unit:
        if "BUNITARC" not in header:
            header["BUNITARC"] = (found, "Archive spelling of BUNIT")
        header["BUNIT"] = (unit, "Physical unit of the data (astropy-parsable)")


def mask_of(flags: np.ndarray) -> np.ndarray:
    """uint8 MASK (1 = do not use) from the quality map."""
    return ((np.asarray(flags, np.uint8) & np.uint8(MASK_BITS)) != 0).astype(np.uint8)


def product_hdus(frame: Frame, uncertainty: np.ndarray | None = None) -> fits.HDUList:
    """The HDUs of a product: primary image, FLAGS, MASK, UNCERT, SNR, SNIPS.

    Parameters
    ----------
    frame : Frame
        The product (its header's BUNIT is made parsable, archive spelling in BUNITARC).
    uncertainty : numpy.ndarray, optional
        One-sigma uncertainty in the data's unit; NaN where missing. Default:
        ``|data| / SNR`` when the frame has an SNR extension and float data.
    """
    header = frame.header.copy()
    ccd_unit(header)
    data = frame.data
    if uncertainty is None and frame.snr is not None and np.issubdtype(data.dtype, np.floating):
        with np.errstate(divide="ignore", invalid="ignore"):
            uncertainty = np.where(frame.snr != 0, np.abs(data) / np.abs(frame.snr), np.nan)
    hdus: list = [fits.PrimaryHDU(data=data, header=header),
                  fits.ImageHDU(data=np.asarray(frame.flags, dtype=np.uint8), name="FLAGS")]
    mask_header = fits.Header()
    mask_header["COMMENT"] = f"1 = do not use: FLAGS & {MASK_BITS} != 0"
    hdus.append(fits.ImageHDU(data=mask_of(frame.flags), header=mask_header, name="MASK"))
    if uncertainty is not None:
        uh = fits.Header()
        uh["UTYPE"] = ("StdDevUncertainty", "one-sigma uncertainty (astropy CCDData)")
        uh["BUNIT"] = (header["BUNIT"], "unit of the uncertainty (as the data)")
        hdus.append(fits.ImageHDU(data=np.asarray(uncertainty, np.float32), header=uh,
                                  name="UNCERT"))
    if frame.snr is not None:
        hdus.append(fits.ImageHDU(data=np.asarray(frame.snr, dtype=np.float32), name="SNR"))
    if frame.snips is not None:
        hdus.append(fits.BinTableHDU(frame.snips, name="SNIPS"))
    return fits.HDUList(hdus)


def write_product(frame: Frame, path: str | os.PathLike[str],
                  uncertainty: np.ndarray | None = None) -> Path:
    """Write ``frame`` as a CCDData-readable product, atomically; return the path.

    ``etalon.frame.read_frame`` reads it back (it ignores MASK and UNCERT).
    """
    hdul = product_hdus(frame, uncertainty)
    with atomic_output(path) as tmp:
        hdul.writeto(tmp, overwrite=True, output_verify="exception")
    return Path(path)


def frame_to_ccddata(frame: Frame, uncertainty: np.ndarray | None = None) -> CCDData:
    """A :class:`~astropy.nddata.CCDData` of ``frame`` (unit from BUNIT, MASK, uncertainty).

    The FLAGS map travels as ``ccd.flags`` (SNR and SNIPS are not carried);
    :func:`ccddata_to_frame` comes back.
    """
    from astropy.nddata import CCDData, StdDevUncertainty

    hdul = product_hdus(frame, uncertainty)
    header = hdul[0].header
    unc = StdDevUncertainty(hdul["UNCERT"].data) if "UNCERT" in hdul else None
    return CCDData(np.asarray(frame.data), unit=header["BUNIT"], meta=header,
                   mask=hdul["MASK"].data.astype(bool), uncertainty=unc,
                   flags=np.asarray(frame.flags, np.uint8))


def ccddata_to_frame(ccd: CCDData, source: str | None = None) -> tuple[Frame, np.ndarray | None]:
    """The :class:`Frame` of a CCDData, and its one-sigma uncertainty (or None).

    FLAGS come from ``ccd.flags`` when present (``CCDData.read(path, hdu_flags="FLAGS")``),
    else masked pixels get the missing bit (2: no usable data, never used by a step);
    ``ccd.meta`` becomes the header (BUNIT set from ``ccd.unit``).
    """
    header = fits.Header(ccd.meta) if not isinstance(ccd.meta, fits.Header) else ccd.meta.copy()
    if ccd.unit is not None:
        header["BUNIT"] = ccd.unit.to_string()
    data = np.asarray(ccd.data)
    if ccd.flags is not None and np.shape(ccd.flags) == data.shape:
        flags = np.asarray(ccd.flags, np.uint8).copy()
    else:
        flags = np.zeros(data.shape, np.uint8)
        if ccd.mask is not None:
            flags[np.asarray(ccd.mask, bool)] |= FLAG_MISSING
    unc = None
    if ccd.uncertainty is not None:
        from astropy.nddata import StdDevUncertainty

        unc = np.asarray(ccd.uncertainty.represent_as(StdDevUncertainty).array)
    return Frame(data=data.copy(), flags=flags, header=header, source=source), unc
