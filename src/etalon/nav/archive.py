"""The Deep Impact archive's own FITS products, read as :class:`etalon.frame.Frame`.

The mission's pipeline (Cornell Science Data Center, DICAL) wrote one FITS file
per image: a float32 (calibrated) or uint16 (raw) primary image with the full
archive header (``INSTRUME`` = ``HRIVIS``/``HRIIR``/``MRIVIS``/``ITSVIS``,
``EXPID``, ``INTTIME``, ``SCSTART``/``SCSTOP``, ``CCDT``, ``FILTER``...), a
``FLAGS`` uint8 quality map and a ``SNR`` float32 extension.
:func:`read_archive` reads such a file into the same in-memory structure as
etalon's decoded NAV frames, so every later step takes both alike;
:func:`stop_tdb` gives the image's stop time from its header.
"""

from __future__ import annotations

import os

from astropy.io import fits

from etalon.fileio import EtalonInputError
from etalon.frame import Frame, read_frame

__all__ = ["ARCHIVE_INSTRUMENTS", "NAV_TO_SCIENCE", "is_archive_header", "is_nav_header",
           "read_archive", "stop_tdb"]

#: INSTRUME values of the archive's science products
ARCHIVE_INSTRUMENTS = ("HRIVIS", "HRIIR", "MRIVIS", "ITSVIS")

#: the science instrument whose images share a NAV instrument's CCD
NAV_TO_SCIENCE = {"NAVHRI": "HRIVIS", "NAVMRI": "MRIVIS", "NAVITS": "ITSVIS"}


def _instrument(header: fits.Header) -> str:
    return str(header.get("INSTRUME", "")).strip().upper()


def is_archive_header(header: fits.Header) -> bool:
    """True for a header of the mission's archive (science instrument INSTRUME)."""
    return _instrument(header) in ARCHIVE_INSTRUMENTS


def is_nav_header(header: fits.Header) -> bool:
    """True for a decoded NAV frame's header (INSTRUME NAVHRI, NAVMRI or NAVITS)."""
    return _instrument(header) in NAV_TO_SCIENCE


def read_archive(path: str | os.PathLike[str]) -> Frame:
    """Read one of the mission's archive FITS products.

    Returns a :class:`~etalon.frame.Frame` with the primary image (as stored:
    float32 DN for calibrated products, in native byte order), ``FLAGS`` (zeros when absent), ``SNR``
    (None when absent) and the full primary header, unchanged.

    Raises
    ------
    EtalonInputError
        Naming the file, when it is not FITS, has no image, or its INSTRUME is
        not one of the archive's instruments.
    """
    frame = read_frame(path)  # native byte order; damaged files raise EtalonInputError
    if not is_archive_header(frame.header):
        raise EtalonInputError(
            path, f"not a Deep Impact archive product: INSTRUME={_instrument(frame.header)!r}, "
            f"expected one of {', '.join(ARCHIVE_INSTRUMENTS)}")
    return frame


def stop_tdb(header: fits.Header, source: str | os.PathLike[str] | None = None) -> float:
    """TDB (s past J2000) at the end of the exposure of an archive or pre-processed header.

    Uses, in order: ``SCSTOP`` converted with the bundled SCLK kernel of the
    instrument's spacecraft; ``NOMSCT0``/``RECSCT0`` (the archive's TDB of the
    image end); ``OBSENDDT`` (UTC) converted with the leap-seconds kernel.

    Raises
    ------
    EtalonInputError
        Naming ``source``, when none of these keywords is usable.
    """
    from etalon.nav import sclk

    instrument = _instrument(header)
    problems = []
    if "SCSTOP" in header:
        try:
            sid = sclk.sclk_id_for(instrument)
            return sclk.ticks_to_tdb(sid, sclk.sclk_string_to_ticks(sid, str(header["SCSTOP"])))
        except Exception as exc:  # unknown instrument, bad clock string or card: try the others
            problems.append(f"SCSTOP: {sclk.spice_message(exc)}")
    for key in ("NOMSCT0", "RECSCT0"):
        try:
            value = header.get(key)
        except Exception as exc:  # an unparsable card (damaged file)
            problems.append(f"{key}: {exc}")
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > -999:
            return float(value)
    if "OBSENDDT" in header:
        try:
            return sclk.utc_to_tdb(str(header["OBSENDDT"]))
        except Exception as exc:
            problems.append(f"OBSENDDT: {sclk.spice_message(exc)}")
    raise EtalonInputError(source, "no usable stop time (SCSTOP, NOMSCT0, RECSCT0 or OBSENDDT)"
                           + (f": {'; '.join(problems)}" if problems else ""))
