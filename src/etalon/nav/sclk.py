"""Deep Impact time: pseudo-ET -> spacecraft clock (SCLK) -> TDB and UTC.

The NAV packets carry a *pseudo-ET*: the spacecraft clock in seconds
(``ticks / 256``) minus an offset, nominally 64.184 s, updated during cruise
(Navigation Images Report, section 3). Pre-processing undoes it::

    SCLK seconds = pseudo-ET + offset          (offset from an adjustment table)
    SCLK ticks   = 256 * SCLK seconds
    TDB          = SPICE sct2e(spacecraft, ticks)      (NAIF SCLK kernel)
    UTC          = SPICE et2utc(TDB)                   (leap-seconds kernel)

The mission's kernels are bundled (``etalon/data/deep_impact``, provenance in
``PROVENANCE.md``) and loaded once per process into the SPICE kernel pool by
:func:`furnish_kernels` (safe to call any number of times, from any step).

Which clock: the flyby spacecraft's (NAIF SCLK ID -140,
``dif_sclkscet_00015_science.tsc``) for HRI and MRI (``NAVHRI``, ``NAVMRI``,
``HRIVIS``, ``HRIIR``, ``MRIVIS``), the impactor's (-70,
``dii_sclkscet_00008_science.tsc``) for ITS (``NAVITS``, ``ITSVIS``).

Adjustment table: CSV with columns ``spacecraft,valid_from,offset_s``
(``#`` comments allowed). ``spacecraft`` is ``DIF``/``flyby``/``-140`` or
``DII``/``impactor``/``-70``; ``valid_from`` an ISO UTC time; the row used for
an image is the latest one of its spacecraft whose ``valid_from`` is not after
the image. The bundled default (``etalon/data/nav/sclk_adjust_default.csv``)
holds the nominal 64.184 s for both spacecraft since 2000.
"""

from __future__ import annotations

import csv
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from etalon.data import data_path
from etalon.fileio import EtalonInputError, require_file

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = [
    "DEFAULT_SCLK_ADJUST_TABLE",
    "FLYBY_SCLK_ID",
    "IMPACTOR_SCLK_ID",
    "NOMINAL_OFFSET_S",
    "TICKS_PER_SECOND",
    "ArchiveTimeCheck",
    "ImageTimes",
    "SclkAdjustTable",
    "SclkAdjustment",
    "check_archive_times",
    "furnish_kernels",
    "image_times",
    "kernel_paths",
    "load_sclk_adjust_table",
    "read_csv_rows",
    "sclk_id_for",
    "sclk_kernel_name",
    "sclk_string_to_ticks",
    "spice_message",
    "tdb_to_mjd_utc",
    "tdb_to_ticks",
    "tdb_to_utc",
    "ticks_to_sclk_string",
    "ticks_to_tdb",
    "utc_to_tdb",
]

#: NAIF SCLK ID of the flyby spacecraft (HRI, MRI)
FLYBY_SCLK_ID = -140
#: NAIF SCLK ID of the impactor (ITS)
IMPACTOR_SCLK_ID = -70
#: nominal pseudo-ET offset, s (SCLK seconds = pseudo-ET + offset)
NOMINAL_OFFSET_S = 64.184
#: fine clock ticks per second of the Deep Impact SCLK
TICKS_PER_SECOND = 256

#: SCLK kernel per spacecraft, leap seconds kernel: bundled file names
_SCLK_KERNEL = {FLYBY_SCLK_ID: "dif_sclkscet_00015_science.tsc",
                IMPACTOR_SCLK_ID: "dii_sclkscet_00008_science.tsc"}
_LSK_KERNEL = "naif0010.tls"

_INSTRUMENT_SCLK = {
    "NAVHRI": FLYBY_SCLK_ID, "NAVMRI": FLYBY_SCLK_ID, "NAVITS": IMPACTOR_SCLK_ID,
    "HRIVIS": FLYBY_SCLK_ID, "HRIIR": FLYBY_SCLK_ID, "MRIVIS": FLYBY_SCLK_ID,
    "ITSVIS": IMPACTOR_SCLK_ID,
}
_SPACECRAFT_NAMES = {
    "DIF": FLYBY_SCLK_ID, "FLYBY": FLYBY_SCLK_ID, "-140": FLYBY_SCLK_ID,
    "DII": IMPACTOR_SCLK_ID, "IMPACTOR": IMPACTOR_SCLK_ID, "-70": IMPACTOR_SCLK_ID,
}

DEFAULT_SCLK_ADJUST_TABLE = data_path("nav", "sclk_adjust_default.csv")

_LOCK = threading.Lock()


# --------------------------------------------------------------------- kernels
def kernel_paths() -> dict[str, Path]:
    """The bundled kernels: ``{"lsk": ..., "flyby": ..., "impactor": ...}``."""
    return {
        "lsk": data_path("deep_impact", _LSK_KERNEL),
        "flyby": data_path("deep_impact", _SCLK_KERNEL[FLYBY_SCLK_ID]),
        "impactor": data_path("deep_impact", _SCLK_KERNEL[IMPACTOR_SCLK_ID]),
    }


def furnish_kernels() -> dict[str, Path]:
    """Load the bundled leap-seconds and SCLK kernels into SPICE, once per process.

    Kernels already in the pool (by path) are not loaded again, so calling this
    before every conversion costs a few microseconds and survives someone
    else's ``kclear``. Returns :func:`kernel_paths`.
    """
    import spiceypy as sp

    paths = kernel_paths()
    with _LOCK:
        loaded = {sp.kdata(i, "ALL")[0] for i in range(sp.ktotal("ALL"))}
        for path in paths.values():
            if str(path) not in loaded:
                sp.furnsh(str(path))
    return paths


def sclk_id_for(instrument: str) -> int:
    """NAIF SCLK ID of the spacecraft carrying ``instrument`` (INSTRUME value).

    -140 (flyby) for HRI and MRI, -70 (impactor) for ITS.

    Raises
    ------
    ValueError
        For an instrument name etalon does not know.
    """
    key = str(instrument).strip().upper()
    if key not in _INSTRUMENT_SCLK:
        raise ValueError(f"unknown instrument {instrument!r}; expected one of "
                         f"{', '.join(sorted(_INSTRUMENT_SCLK))}")
    return _INSTRUMENT_SCLK[key]


def sclk_kernel_name(sclk_id: int) -> str:
    """File name of the bundled SCLK kernel of ``sclk_id``."""
    return _SCLK_KERNEL[sclk_id]


# ----------------------------------------------------------------- conversions
def sclk_string_to_ticks(sclk_id: int, clock: str) -> float:
    """Encoded SCLK ticks of a clock string such as ``"1/0173727702.188"``."""
    import spiceypy as sp

    furnish_kernels()
    return float(sp.scencd(sclk_id, clock.strip()))


def ticks_to_sclk_string(sclk_id: int, ticks: float) -> str:
    """Clock string ``"P/SSSSSSSSSS.FFF"`` of ``ticks`` (rounded to the nearest tick)."""
    import spiceypy as sp

    furnish_kernels()
    ticks = float(round(ticks))
    starts, stops = (np.atleast_1d(a) for a in sp.scpart(sclk_id))
    hit = np.flatnonzero((starts <= ticks) & (ticks < stops))
    if hit.size == 0:
        raise ValueError(f"SCLK ticks {ticks} outside every partition of clock {sclk_id}")
    part = int(hit[-1])
    return f"{part + 1}/{sp.scfmt(sclk_id, ticks - float(starts[part]))}"


def ticks_to_tdb(sclk_id: int, ticks: float) -> float:
    """TDB (s past J2000) of continuous SCLK ``ticks``."""
    import spiceypy as sp

    furnish_kernels()
    return float(sp.sct2e(sclk_id, float(ticks)))


def tdb_to_ticks(sclk_id: int, tdb: float) -> float:
    """Continuous SCLK ticks at TDB ``tdb`` (s past J2000)."""
    import spiceypy as sp

    furnish_kernels()
    return float(sp.sce2c(sclk_id, float(tdb)))


def tdb_to_utc(tdb: float, digits: int = 3) -> str:
    """ISO UTC string (``2005-07-04T05:44:34.149``) of TDB ``tdb`` (s past J2000)."""
    import spiceypy as sp

    furnish_kernels()
    return str(sp.et2utc(float(tdb), "ISOC", digits))


def utc_to_tdb(utc: str) -> float:
    """TDB (s past J2000) of a UTC time string SPICE understands (ISO, DOY...)."""
    import spiceypy as sp

    furnish_kernels()
    return float(sp.str2et(str(utc)))


def tdb_to_mjd_utc(tdb: float) -> float:
    """UTC modified Julian date (JD - 2400000.5), as the archive's ``OBS*JD`` keywords."""
    from astropy.time import Time

    return float(Time(tdb_to_utc(tdb, 6), format="isot", scale="utc").mjd)


# ----------------------------------------------------------- adjustment table
def read_csv_rows(path: Path, columns: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """Rows of a small CSV table (``#`` comment and blank lines skipped).

    Raises
    ------
    EtalonInputError
        Naming the file, when it has no data row or lacks one of ``columns``.
    """
    try:
        with open(path, newline="") as fh:
            lines = [line for line in fh if line.strip() and not line.lstrip().startswith("#")]
    except UnicodeDecodeError as exc:
        raise EtalonInputError(path, f"{what} is not a text CSV file ({exc})") from exc
    rows = list(csv.DictReader(lines))
    header = [c.strip() for c in (csv.DictReader(lines).fieldnames or [])]
    if not set(columns) <= set(header):
        raise EtalonInputError(path, f"{what} needs the columns {', '.join(columns)}; "
                               f"found {', '.join(header) or 'none'}")
    if not rows:
        raise EtalonInputError(path, f"{what} has no data row")
    return [{(k or "").strip(): (v or "").strip() if isinstance(v, str) else v
             for k, v in row.items()} for row in rows]


def spice_message(exc: BaseException) -> str:
    """The one-line explanation of a SPICE error (or ``str(exc)``)."""
    for attr in ("long", "short"):
        text = getattr(exc, attr, None)
        if text:
            return " ".join(str(text).split())
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and set(ln.strip()) != {"="}]
    return lines[-1] if lines else type(exc).__name__


@dataclass(frozen=True)
class SclkAdjustment:
    """One row of the SCLK adjustment table.

    Attributes
    ----------
    sclk_id : int
        NAIF SCLK ID (-140 flyby, -70 impactor).
    valid_from : str
        UTC from which the offset holds.
    valid_from_tdb : float
        The same as TDB, s past J2000.
    offset_s : float
        SCLK seconds minus pseudo-ET, s.
    """

    sclk_id: int
    valid_from: str
    valid_from_tdb: float
    offset_s: float


@dataclass(frozen=True)
class SclkAdjustTable:
    """The pseudo-ET offsets in force, per spacecraft and time.

    Attributes
    ----------
    rows : tuple of SclkAdjustment
        Sorted by spacecraft then time.
    source : str
        File the table was read from.
    """

    rows: tuple[SclkAdjustment, ...]
    source: str

    def offset_for(self, sclk_id: int, pseudo_et: float) -> SclkAdjustment:
        """The row in force for an image of spacecraft ``sclk_id`` at ``pseudo_et``.

        The image time used for the choice is the nominal one (pseudo-ET +
        64.184 s); an offset update changes it by far less than the table's
        granularity.

        Raises
        ------
        EtalonInputError
            Naming the table, when it has no row for that spacecraft and time.
        """
        tdb = ticks_to_tdb(sclk_id, (pseudo_et + NOMINAL_OFFSET_S) * TICKS_PER_SECOND)
        candidates = [r for r in self.rows if r.sclk_id == sclk_id and r.valid_from_tdb <= tdb]
        if not candidates:
            raise EtalonInputError(
                self.source, f"no SCLK offset for spacecraft {sclk_id} valid at "
                f"{tdb_to_utc(tdb)} (pseudo-ET {pseudo_et} s)")
        return max(candidates, key=lambda r: r.valid_from_tdb)


def load_sclk_adjust_table(path: str | os.PathLike[str] | None = None) -> SclkAdjustTable:
    """Read an SCLK adjustment table (default: the bundled nominal table).

    Raises
    ------
    EtalonInputError
        Naming the file, when it is missing, lacks a column, or a row does not parse.
    """
    p = require_file(path if path is not None else DEFAULT_SCLK_ADJUST_TABLE,
                     "SCLK adjustment table")
    rows = read_csv_rows(p, ("spacecraft", "valid_from", "offset_s"), "SCLK adjustment table")
    out = []
    for n, row in enumerate(rows, start=1):
        name = (row["spacecraft"] or "").strip().upper()
        if name not in _SPACECRAFT_NAMES:
            raise EtalonInputError(p, f"data row {n}: spacecraft must be DIF/flyby/-140 or "
                                   f"DII/impactor/-70, got {row['spacecraft']!r}")
        try:
            offset = float(row["offset_s"])
            tdb = utc_to_tdb(row["valid_from"].strip())
        except Exception as exc:  # SpiceyError or ValueError: report the row
            raise EtalonInputError(
                p, f"data row {n}: bad valid_from or offset_s ({spice_message(exc)})") from exc
        if not math.isfinite(offset):
            raise EtalonInputError(p, f"data row {n}: offset_s must be finite")
        out.append(SclkAdjustment(_SPACECRAFT_NAMES[name], row["valid_from"].strip(), tdb, offset))
    out.sort(key=lambda r: (r.sclk_id, r.valid_from_tdb))
    return SclkAdjustTable(rows=tuple(out), source=str(p))


# --------------------------------------------------------------- image times
@dataclass(frozen=True)
class ImageTimes:
    """Start, middle and stop of an exposure in every time scale the archive uses.

    The stop is the adjusted pseudo-ET; start = stop - INTTIME and middle =
    stop - INTTIME / 2, as the archive's ``OBSDATE``/``OBSMIDDT``/``OBSENDDT``.

    Attributes
    ----------
    sclk_id : int
        NAIF SCLK ID used.
    pseudo_et, offset_s : float
        Pseudo-ET of the image and offset applied, s.
    stop_ticks : float
        Continuous SCLK ticks at the stop.
    start_sclk, mid_sclk, stop_sclk : str
        Clock strings ``1/SSSSSSSSSS.FFF`` (nearest tick).
    start_tdb, mid_tdb, stop_tdb : float
        TDB, s past J2000.
    start_utc, mid_utc, stop_utc : str
        ISO UTC, ms.
    start_mjd, mid_mjd, stop_mjd : float
        UTC JD - 2400000.5.
    """

    sclk_id: int
    pseudo_et: float
    offset_s: float
    stop_ticks: float
    start_sclk: str
    mid_sclk: str
    stop_sclk: str
    start_tdb: float
    mid_tdb: float
    stop_tdb: float
    start_utc: str
    mid_utc: str
    stop_utc: str
    start_mjd: float
    mid_mjd: float
    stop_mjd: float


def image_times(pseudo_et: float, sclk_id: int, offset_s: float, inttime_ms: float) -> ImageTimes:
    """The time chain of one image whose exposure stops at ``pseudo_et``.

    Parameters
    ----------
    pseudo_et : float
        Pseudo-ET from the NAV packets, s.
    sclk_id : int
        -140 (flyby: HRI, MRI) or -70 (impactor: ITS).
    offset_s : float
        SCLK seconds minus pseudo-ET, s (:meth:`SclkAdjustTable.offset_for`).
    inttime_ms : float
        Total integration time, ms.
    """
    stop_ticks = (float(pseudo_et) + float(offset_s)) * TICKS_PER_SECOND
    stop_tdb = ticks_to_tdb(sclk_id, stop_ticks)
    tdb = {"start": stop_tdb - inttime_ms / 1000.0, "mid": stop_tdb - inttime_ms / 2000.0,
           "stop": stop_tdb}
    values: dict[str, object] = {}
    for name, t in tdb.items():
        ticks = stop_ticks if name == "stop" else tdb_to_ticks(sclk_id, t)
        values[f"{name}_sclk"] = ticks_to_sclk_string(sclk_id, ticks)
        values[f"{name}_tdb"] = t
        values[f"{name}_utc"] = tdb_to_utc(t)
        values[f"{name}_mjd"] = tdb_to_mjd_utc(t)
    return ImageTimes(sclk_id=sclk_id, pseudo_et=float(pseudo_et), offset_s=float(offset_s),
                      stop_ticks=stop_ticks, **values)


# ------------------------------------------------------- check against the archive
@dataclass(frozen=True)
class ArchiveTimeCheck:
    """etalon's time chain beside the times written in a real archive header.

    Attributes
    ----------
    tdb_residual_ms : float
        etalon's TDB of the mid-exposure clock ``NOMSCLK`` minus the header's
        ``NOMTDBSC``, ms.
    utc_residual_ms : float
        etalon's UTC of ``NOMSCLK`` minus the header's ``NOMISCSC``, ms.
    table : astropy.table.Table
        Columns ``step``, ``etalon``, ``archive header``: clock string, ticks,
        TDB, UTC of the mid-exposure, then stop clock, stop UTC, stop MJD and
        start clock rebuilt from ``SCSTOP`` and ``INTTIME``.
    """

    tdb_residual_ms: float
    utc_residual_ms: float
    table: Table


def check_archive_times(header: Mapping[str, Any]) -> ArchiveTimeCheck:
    """Recompute the times of a Deep Impact archive header from its spacecraft clock.

    The mid-exposure clock ``NOMSCLK`` goes through ticks, TDB (SPICE ``sct2e``)
    and UTC; the stop clock ``SCSTOP`` through :func:`image_times` (nominal
    offset), which also rebuilds the start from ``INTTIME``. The clock is that
    of the header's ``INSTRUME`` (:func:`sclk_id_for`).

    Parameters
    ----------
    header : astropy.io.fits.Header or mapping
        Primary header of an archive science file, with ``INSTRUME``,
        ``NOMSCLK``, ``NOMSCLKD``, ``NOMTDBSC``, ``NOMISCSC``, ``SCSTART``,
        ``SCSTOP``, ``OBSENDDT``, ``OBSENDJD`` and ``INTTIME`` (ms).

    Returns
    -------
    ArchiveTimeCheck
        The residuals (ms) and the side-by-side table.

    Raises
    ------
    KeyError
        When one of those keywords is missing.

    Examples
    --------
    >>> from astropy.io import fits
    >>> from etalon.data import deep_impact_archive_files
    >>> check = check_archive_times(fits.getheader(deep_impact_archive_files()[0]))
    >>> abs(check.tdb_residual_ms) < 5
    True
    """
    from astropy.table import Table

    sclk_id = sclk_id_for(header["INSTRUME"])
    ticks = sclk_string_to_ticks(sclk_id, header["NOMSCLK"])
    tdb = ticks_to_tdb(sclk_id, ticks)
    utc = tdb_to_utc(tdb, 6)
    stop_ticks = sclk_string_to_ticks(sclk_id, header["SCSTOP"])
    stop = image_times(stop_ticks / TICKS_PER_SECOND - NOMINAL_OFFSET_S, sclk_id,
                       NOMINAL_OFFSET_S, header["INTTIME"])
    table = Table({
        "step": ["clock string", "ticks (x 1/256 s)", "TDB (s past J2000)", "UTC",
                 "stop clock (SCSTOP)", "stop UTC (OBSENDDT)", "stop JD-2400000.5 (OBSENDJD)",
                 "start clock (SCSTART)"],
        "etalon": [header["NOMSCLK"], f"{ticks:.0f}", f"{tdb:.4f}", utc, stop.stop_sclk,
                   stop.stop_utc, f"{stop.stop_mjd:.8f}", stop.start_sclk],
        "archive header": [header["NOMSCLK"], f"{header['NOMSCLKD']:.0f}",
                           f"{header['NOMTDBSC']:.3f}", header["NOMISCSC"], header["SCSTOP"],
                           header["OBSENDDT"], f"{header['OBSENDJD']:.8f}", header["SCSTART"]],
    })
    return ArchiveTimeCheck(
        tdb_residual_ms=(tdb - header["NOMTDBSC"]) * 1000.0,
        utc_residual_ms=(utc_to_tdb(utc) - utc_to_tdb(header["NOMISCSC"])) * 1000.0,
        table=table)
