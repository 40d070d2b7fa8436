"""The archive keywords a NAV frame needs before calibration (Navigation Images Report, section 4).

* ``FILTER`` (HRI, MRI): looked up in a *sequencing table* by instrument,
  exposure ID and day of year; ``UNKNOWN`` and a warning when the table has no row for it. ITS
  has no filter wheel: ``NONE`` unless the table says otherwise.
* ``INTTIME`` = commanded exposure in ms + 3.5 ms (the minimum exposure).
* ``IMGH001`` = 0 (look-up table 0: NAV images are never compressed).
* ``CCDT`` (CCD temperature, K) from the *nearest science image* of the same
  CCD in a folder of archive FITS files (NAVMRI <-> MRIVIS, NAVHRI <-> HRIVIS,
  NAVITS <-> ITSVIS), and ``DELTAT`` = NAV stop time minus that image's stop
  time, s.

Sequencing table: CSV with columns ``exposure_id,doy,filter`` and an optional
``instrument`` column (``NAVHRI``, ``NAVMRI``, ``NAVITS``; ``#`` comments
allowed); an empty ``doy`` matches every day, an empty or absent ``instrument``
matches HRI and MRI only. Exposure IDs collide across instruments on the same
day (ITS used 9000130-9000710 on day 185, the day of ``NAV_OM_9000385``), so
the table is keyed by (instrument, exposure ID, day) and the ITS rule (no filter
wheel: ``NONE``) comes first: an ITS frame gets a filter only from a row that
names ``NAVITS``. The bundled example (``etalon/data/nav/sequence_example.csv``)
holds the real exposure 9000910 of day 185 (CLEAR1, from the archive headers)
and the exposure IDs of etalon's simulated NAV sequences.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits
from astropy.table import Table

from etalon.data import data_path
from etalon.fileio import EtalonInputError, require_file
from etalon.nav.archive import NAV_TO_SCIENCE, stop_tdb
from etalon.nav.sclk import read_csv_rows, tdb_to_utc

__all__ = [
    "CCDT_MISSING",
    "DEFAULT_SEQUENCE_TABLE",
    "MINIMUM_EXPOSURE_MS",
    "NO_FILTER",
    "PREPROCESS_KEYWORDS",
    "SUMMARY_KEYWORDS",
    "UNKNOWN_FILTER",
    "ScienceImage",
    "ScienceIndex",
    "SequenceTable",
    "filter_for",
    "header_table",
    "integration_time_ms",
    "keyword_table",
    "load_sequence_table",
    "nearest_science_image",
    "scan_science_folder",
    "science_table",
]

#: the 3.5 ms minimum exposure added to the commanded one
MINIMUM_EXPOSURE_MS = 3.5
#: FILTER when the sequencing table has no row for an HRI or MRI image
UNKNOWN_FILTER = "UNKNOWN"
#: FILTER of ITS images (no filter wheel) absent from the table
NO_FILTER = "NONE"
#: CCDT and DELTAT when no science image gives a temperature (archive convention)
CCDT_MISSING = -9999.0

DEFAULT_SEQUENCE_TABLE = data_path("nav", "sequence_example.csv")

_FITS_SUFFIXES = (".fit", ".fits", ".fts")

#: keywords pre-processing reads or writes, in reading order (identity, time, FILTER and
#: INTTIME, CCDT, quadrant biases): the before / after comparison of one file
PREPROCESS_KEYWORDS = (
    "INSTRUME", "EXPID", "FNDOY", "PSEUDOET", "EXPSRDRT", "INTTIME", "FILTER", "IMGH001",
    "SCLKID", "SCLKOFFS", "SCSTOP", "OBSENDDT", "OBSENDJD", "NOMSCT0", "CCDT", "DELTAT",
    "CCDTFILE", "NAVBIAS1", "NAVBIAS2", "NAVBIAS3", "NAVBIAS4",
)
#: the keywords that tell pre-processed files apart, one column each in a summary table
SUMMARY_KEYWORDS = (
    "INSTRUME", "EXPID", "FILTER", "INTTIME", "SCSTOP", "OBSENDDT", "CCDT", "DELTAT",
    "CCDTFILE", "NAVBIAS1", "NAVBIAS2", "NAVBIAS3", "NAVBIAS4",
)


# -------------------------------------------------------------------- INTTIME
def integration_time_ms(exposure_s: float) -> float:
    """Total integration time, ms: commanded exposure (s, as EXPSRDRT) in ms + 3.5 ms.

    The commanded exposure travels as float32 seconds; it is rounded to the
    microsecond so that, e.g., 0.05 s gives exactly 53.5 ms.

    >>> integration_time_ms(0.05)
    53.5
    """
    value = float(exposure_s)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"commanded exposure must be a finite duration >= 0 s, got {exposure_s}")
    return round(value * 1000.0, 3) + MINIMUM_EXPOSURE_MS


# --------------------------------------------------------------------- FILTER
#: instruments a sequencing-table row without an ``instrument`` applies to (filter wheels)
FILTER_WHEEL_INSTRUMENTS = ("NAVHRI", "NAVMRI")


@dataclass(frozen=True)
class SequenceTable:
    """Filter per instrument, exposure ID and day of year, from the sequencing table.

    Attributes
    ----------
    filters : dict
        ``{(instrument, exposure_id, doy): filter}``; ``doy`` None matches every
        day; ``instrument`` is NAVHRI, NAVMRI, NAVITS, or ``""`` for a row without
        an instrument (HRI and MRI only; a row naming the instrument wins).
    source : str
        File the table was read from.
    """

    filters: dict[tuple[str, int, int | None], str]
    source: str

    def lookup(self, exposure_id: int, doy: int | None, instrument: str = "NAVMRI") -> str | None:
        """The filter of ``instrument``'s ``exposure_id`` on day ``doy``, or None when absent."""
        inst = str(instrument).strip().upper()
        for key_inst in ((inst, "") if inst in FILTER_WHEEL_INSTRUMENTS else (inst,)):
            if doy is not None and (key_inst, int(exposure_id), int(doy)) in self.filters:
                return self.filters[(key_inst, int(exposure_id), int(doy))]
            if (key_inst, int(exposure_id), None) in self.filters:
                return self.filters[(key_inst, int(exposure_id), None)]
        return None


def load_sequence_table(path: str | os.PathLike[str] | None = None) -> SequenceTable:
    """Read a sequencing table (default: the bundled example).

    Raises
    ------
    EtalonInputError
        Naming the file, when it is missing, lacks a column, a row does not
        parse, names an unknown instrument, or the same instrument, exposure ID
        and day have two different filters.
    """
    p = require_file(path if path is not None else DEFAULT_SEQUENCE_TABLE, "sequencing table")
    rows = read_csv_rows(p, ("exposure_id", "doy", "filter"), "sequencing table")
    filters: dict[tuple[str, int, int | None], str] = {}
    known = (*FILTER_WHEEL_INSTRUMENTS, "NAVITS")
    for n, row in enumerate(rows, start=1):
        try:
            expid = int(row["exposure_id"])
            doy = int(row["doy"]) if row["doy"] else None
        except (TypeError, ValueError) as exc:
            raise EtalonInputError(p, f"data row {n}: exposure_id and doy must be integers "
                                   f"({exc})") from exc
        if doy is not None and not 1 <= doy <= 366:
            raise EtalonInputError(p, f"data row {n}: doy must be 1..366, got {doy}")
        name = (row["filter"] or "").strip().upper()
        if not name:
            raise EtalonInputError(p, f"data row {n}: empty filter name")
        inst = str(row.get("instrument") or "").strip().upper()
        if inst and inst not in known:
            raise EtalonInputError(p, f"data row {n}: instrument must be one of "
                                   f"{', '.join(known)} or empty, got {inst!r}")
        key = (inst, expid, doy)
        if filters.get(key, name) != name:
            raise EtalonInputError(p, f"data row {n}: {inst or 'HRI/MRI'} exposure {expid} day "
                                   f"{doy} has two filters ({filters[key]} and {name})")
        filters[key] = name
    return SequenceTable(filters=filters, source=str(p))


def filter_for(instrument: str, exposure_id: int, doy: int | None,
               table: SequenceTable) -> tuple[str, str | None]:
    """FILTER of a NAV image and, when it is a guess, the warning to give.

    The ITS rule comes first: ITS has no filter wheel, so an ITS frame gets
    ``NONE`` unless a row names ``NAVITS`` explicitly (a row for the same
    exposure ID of HRI or MRI never applies to it).

    Returns
    -------
    (str, str or None)
        The filter name and None, or ``UNKNOWN`` (HRI, MRI) / ``NONE`` (ITS)
        and a warning text naming the table (None for ITS).
    """
    inst = str(instrument).strip().upper()
    found = table.lookup(exposure_id, doy, inst)
    if found is not None:
        return found, None
    if inst == "NAVITS":
        return NO_FILTER, None
    return UNKNOWN_FILTER, (f"FILTER UNKNOWN: {inst} exposure ID {exposure_id}, day {doy} not in "
                            f"sequencing table {Path(table.source).name}")


# ----------------------------------------------------------------- CCDT, DELTAT
@dataclass(frozen=True)
class ScienceImage:
    """What pre-processing needs of one science image: instrument, stop time, CCD temperature.

    Attributes
    ----------
    path : str
        The file.
    instrument : str
        INSTRUME (``HRIVIS``, ``MRIVIS``, ``ITSVIS``...).
    stop_tdb : float
        TDB at the end of the exposure, s past J2000.
    ccdt : float
        CCD on-chip temperature ``CCDT``, K.
    """

    path: str
    instrument: str
    stop_tdb: float
    ccdt: float


@dataclass(frozen=True)
class ScienceIndex:
    """The usable science images of a folder, and the files skipped with the reason.

    Attributes
    ----------
    folder : str
        The folder scanned.
    images : tuple of ScienceImage
        Images with a stop time and a valid CCDT, sorted by time.
    skipped : tuple of (str, str)
        ``(file, reason)`` of FITS files that could not serve.
    """

    folder: str
    images: tuple[ScienceImage, ...]
    skipped: tuple[tuple[str, str], ...] = ()


def scan_science_folder(folder: str | os.PathLike[str]) -> ScienceIndex:
    """Index the science FITS files (``*.fit``, ``*.fits``, ``*.fts``) of ``folder``.

    Only the primary headers are read. Files that are not readable FITS, lack
    INSTRUME, a stop time or a valid CCDT (> -999 K) are listed in ``skipped``.
    Sub-folders are not searched.

    Raises
    ------
    EtalonInputError
        Naming the folder, when it does not exist or is not a folder.
    """
    p = Path(folder)
    if not p.exists():
        raise EtalonInputError(p, "science folder does not exist")
    if not p.is_dir():
        raise EtalonInputError(p, "science folder is a file, expected a folder of FITS files")
    images, skipped = [], []
    for f in sorted(q for q in p.iterdir() if q.suffix.lower() in _FITS_SUFFIXES and q.is_file()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", fits.verify.VerifyWarning)
                header = fits.getheader(f, 0)
        except Exception as exc:  # not FITS, truncated...: skip, say why
            skipped.append((str(f), f"not a readable FITS file ({exc})"))
            continue
        try:
            instrument = str(header.get("INSTRUME", "")).strip().upper()
            ccdt = header.get("CCDT")
        except Exception as exc:  # an unparsable card: skip the file, say why
            skipped.append((str(f), f"damaged FITS header ({exc})"))
            continue
        if not instrument:
            skipped.append((str(f), "no INSTRUME keyword"))
            continue
        if not isinstance(ccdt, (int, float)) or isinstance(ccdt, bool) or ccdt <= -999:
            skipped.append((str(f), f"no valid CCDT ({ccdt!r})"))
            continue
        try:
            t = stop_tdb(header, f)
        except EtalonInputError as exc:
            skipped.append((str(f), exc.problem))
            continue
        except Exception as exc:  # a damaged header astropy cannot parse
            skipped.append((str(f), f"damaged FITS header ({exc})"))
            continue
        images.append(ScienceImage(str(f), instrument, t, float(ccdt)))
    images.sort(key=lambda s: (s.stop_tdb, s.path))
    return ScienceIndex(folder=str(p), images=tuple(images), skipped=tuple(skipped))


def nearest_science_image(images: Sequence[ScienceImage], nav_instrument: str,
                          tdb: float) -> ScienceImage | None:
    """The science image of the NAV instrument's CCD closest in time to ``tdb``.

    Ties go to the earlier image. None when the folder holds no image of that CCD.
    """
    science = NAV_TO_SCIENCE.get(str(nav_instrument).strip().upper())
    if science is None:
        raise ValueError(f"unknown NAV instrument {nav_instrument!r}; expected one of "
                         f"{', '.join(NAV_TO_SCIENCE)}")
    same = [s for s in images if s.instrument == science]
    if not same:
        return None
    return min(same, key=lambda s: (abs(s.stop_tdb - tdb), s.stop_tdb))


# ---------------------------------------------------------------------- tables
def science_table(images: Sequence[ScienceImage]) -> Table:
    """The science images that can give CCDT: file, instrument, stop time, temperature.

    Parameters
    ----------
    images : sequence of ScienceImage
        E.g. ``scan_science_folder(folder).images``.

    Returns
    -------
    astropy.table.Table
        Columns ``file`` (name only), ``INSTRUME``, ``stop UTC`` (ISO, ms),
        ``stop TDB (s)`` (s past J2000, rounded to 0.1 ms) and ``CCDT (K)``.
    """
    return Table({"file": [Path(s.path).name for s in images],
                  "INSTRUME": [s.instrument for s in images],
                  "stop UTC": [tdb_to_utc(s.stop_tdb) for s in images],
                  "stop TDB (s)": [round(s.stop_tdb, 4) for s in images],
                  "CCDT (K)": [s.ccdt for s in images]})


def keyword_table(before: fits.Header, after: fits.Header,
                  keys: Sequence[str] = PREPROCESS_KEYWORDS) -> Table:
    """Keyword values of one file before and after a processing step.

    Parameters
    ----------
    before, after : astropy.io.fits.Header
        The input and output headers.
    keys : sequence of str
        Keywords to show, in order (default :data:`PREPROCESS_KEYWORDS`).

    Returns
    -------
    astropy.table.Table
        Columns ``keyword``, ``before``, ``after``; values as strings, ``-``
        where the header lacks the keyword.
    """
    return Table({"keyword": list(keys),
                  "before": [str(before.get(k, "-")) for k in keys],
                  "after": [str(after.get(k, "-")) for k in keys]})


def header_table(headers: Sequence[fits.Header],
                 keys: Sequence[str] = SUMMARY_KEYWORDS) -> Table:
    """One row per header, one column per keyword (None where a header lacks it).

    Parameters
    ----------
    headers : sequence of astropy.io.fits.Header
    keys : sequence of str
        Column keywords, in order (default :data:`SUMMARY_KEYWORDS`).
    """
    return Table({k: [h.get(k) for h in headers] for k in keys})
