"""Pre-processing: a decoded NAV frame (or an archive product) made ready for calibration.

The Science Data Center did these steps by hand so that the science pipeline
could take NAV frames (Navigation Images Report, sections 3 and 4). Here they
are one table-driven function, :func:`preprocess_frame`, on an
:class:`etalon.frame.Frame`:

NAV frame (``INSTRUME`` = ``NAVHRI``/``NAVMRI``/``NAVITS``, from the decoder):

1. **time**: pseudo-ET + offset (SCLK adjustment table) is the exposure stop
   on the spacecraft clock; SPICE gives TDB and UTC (:mod:`etalon.nav.sclk`);
   written as the archive writes them: ``SCSTART``/``SCSTOP`` clock strings,
   ``OBSDATE``/``OBSMIDDT``/``OBSENDDT`` (UTC ISO), ``OBSJD``/``OBSMIDJD``/
   ``OBSENDJD`` (UTC JD - 2400000.5), ``NOMSCLK``/``NOMTDBSC`` (middle) and
   ``NOMSLK0``/``NOMSCT0`` (stop) clock and TDB (s past J2000), and the FITS-standard
   ``DATE-OBS``/``MJD-OBS`` (= ``OBSDATE``/``OBSJD``, the start);
2. **keywords** (:mod:`etalon.nav.keywords`): ``FILTER``, ``INTTIME``
   (+ ``CMDEXPTM``, ``MINEXPTM``), ``IMGH001`` = 0, ``CCDT`` and ``DELTAT``
   from the nearest science image (``CCDTFILE`` names it);
3. **quality map**: ``FLAGS`` kept from the decoder, plus the missing bit (2)
   outside every snip of the ``SNIPS`` table when there is one;
4. **overclock and bias** (:mod:`etalon.nav.layout`, :mod:`etalon.nav.bias`):
   the 1008 x 1008 image is embedded in the calibration frame, serial overclock
   filled with the quadrant biases written as ``NAVBIAS1..4``, parallel
   overclock 0; the layout goes into ``OV*`` keywords.

Archive product (``HRIVIS``/``MRIVIS``/``ITSVIS``/``HRIIR``): the mission
already wrote every keyword; they are kept as they are, ``NOMSCT0`` (and
``DATE-OBS``/``MJD-OBS`` from ``OBSDATE``/``OBSJD``) are added when missing, and
the layout keywords say there is no overclock.

Every product names the tables and kernels it used, in keywords
(``SEQTABLE``, ``BIASTAB``, ``SCLKADJ``, ``LSKFILE``, ``SCLKFILE``,
``SCIFOLDR``) and in a HISTORY line.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

from etalon.fileio import EtalonInputError, require_file
from etalon.frame import FLAG_MISSING, Frame, read_frame
from etalon.nav import sclk
from etalon.nav.archive import (
    is_archive_header,
    is_nav_header,
    stop_tdb,
)
from etalon.nav.bias import DEFAULT_BIAS_TABLE, load_bias_table
from etalon.nav.ccddata import ccd_unit, write_product
from etalon.nav.keywords import (
    CCDT_MISSING,
    UNKNOWN_FILTER,
    ScienceIndex,
    SequenceTable,
    filter_for,
    integration_time_ms,
    load_sequence_table,
    nearest_science_image,
    scan_science_folder,
)
from etalon.nav.layout import DEFAULT_LAYOUT, FrameLayout
from etalon.provenance import stamp_header

__all__ = [
    "PreprocessTables",
    "PreprocessWarning",
    "load_tables",
    "output_path_for",
    "preprocess_file",
    "preprocess_frame",
    "read_input",
]

STEP = "nav preprocess"

log = logging.getLogger(__name__)

#: the bundled tables whose values are etalon's illustrations, not the mission's: taking one
#: by default sets ``CALSYNTH = T`` in the product (with a warning and a HISTORY line)
SYNTHETIC_DEFAULTS = {
    "sequence": "the bundled example sequencing table (sequence_example.csv: one real "
                "exposure, the others etalon's simulated ones)",
    "bias": "the bundled bias table (bias_default.csv: etalon's simulator bias, not the "
            "mission's)",
}


class PreprocessWarning(UserWarning):
    """A pre-processing result that rests on a default or a guess (recorded in HISTORY too)."""


@dataclass(frozen=True)
class PreprocessTables:
    """Everything pre-processing looks values up in, loaded once for a batch.

    Build it with :func:`load_tables`. Small and picklable: it travels to the
    batch workers.

    Attributes
    ----------
    sequence : SequenceTable
        Filters by exposure ID and day.
    sclk_adjust : etalon.nav.sclk.SclkAdjustTable
        Pseudo-ET offsets.
    bias : dict
        ``{instrument: (bias1, bias2, bias3, bias4)}``, DN.
    bias_source : str
        File of the bias table.
    science : ScienceIndex or None
        Science images for CCDT; None when no folder was given.
    layout : FrameLayout
        Calibration frame geometry.
    defaults : tuple of str
        Tables taken by default from the bundled illustrative files (keys of
        :data:`SYNTHETIC_DEFAULTS`); each product then carries ``CALSYNTH = T``.
    """

    sequence: SequenceTable
    sclk_adjust: sclk.SclkAdjustTable
    bias: dict[str, tuple[float, float, float, float]]
    bias_source: str
    science: ScienceIndex | None = None
    layout: FrameLayout = field(default=DEFAULT_LAYOUT)
    defaults: tuple[str, ...] = ()

    def sources(self) -> list[str]:
        """Every table and kernel file these tables come from."""
        files = [self.sequence.source, self.sclk_adjust.source, self.bias_source]
        files += [str(p) for p in sclk.kernel_paths().values()]
        return files


def load_tables(
    sequence: str | os.PathLike[str] | None = None,
    science_dir: str | os.PathLike[str] | None = None,
    bias: str | os.PathLike[str] | None = None,
    sclk_adjust: str | os.PathLike[str] | None = None,
    layout: FrameLayout | None = None,
) -> PreprocessTables:
    """Load the tables of a pre-processing run.

    Parameters
    ----------
    sequence : path, optional
        Sequencing table (CSV ``exposure_id,doy,filter``). Default: the bundled
        example ``etalon/data/nav/sequence_example.csv``.
    science_dir : path, optional
        Folder of science FITS files for CCDT. Default: none; CCDT and DELTAT
        are then -9999 and a :class:`PreprocessWarning` says so.
    bias : path, optional
        Bias table (CSV ``instrument,quadrant,bias_dn``). Default: the bundled
        ``bias_default.csv`` (the simulator's bias).
    sclk_adjust : path, optional
        SCLK adjustment table (CSV ``spacecraft,valid_from,offset_s``). Default:
        the bundled nominal 64.184 s.
    layout : FrameLayout, optional
        Calibration frame geometry (default 1024 x 1024, 8 overclock each side).

    Raises
    ------
    EtalonInputError
        Naming the file or folder, when a table given is missing or malformed,
        or ``science_dir`` is not a folder.
    """
    bias_path = require_file(bias if bias is not None else DEFAULT_BIAS_TABLE, "bias table")
    defaults = tuple(k for k, given in (("sequence", sequence), ("bias", bias)) if given is None)
    for key in defaults:
        log.warning("nav preprocess: no %s table given: using %s (CALSYNTH = T in the products)",
                    key, SYNTHETIC_DEFAULTS[key])
    if sclk_adjust is None:
        log.warning("nav preprocess: no SCLK adjustment table given: the nominal 64.184 s offset "
                    "for both spacecraft")
    return PreprocessTables(
        sequence=load_sequence_table(sequence),
        sclk_adjust=sclk.load_sclk_adjust_table(sclk_adjust),
        bias=load_bias_table(bias_path),
        bias_source=str(bias_path),
        science=None if science_dir is None else scan_science_folder(science_dir),
        layout=layout or DEFAULT_LAYOUT,
        defaults=defaults,
    )


# ------------------------------------------------------------------- helpers
def _warn(header: fits.Header, messages: list[str], text: str) -> None:
    messages.append(text)
    header.add_history(f"etalon WARNING: {text}")
    warnings.warn(text, PreprocessWarning, stacklevel=3)


def _number(header: fits.Header, key: str, source: str | None) -> float:
    if key not in header:
        raise EtalonInputError(source, f"NAV frame lacks the {key} keyword")
    value = header[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise EtalonInputError(source, f"{key} = {value!r} is not a number")
    if not np.isfinite(value):
        raise EtalonInputError(source, f"{key} = {value!r} is not finite")
    return float(value)


def _doy_of(utc_iso: str) -> int:
    return _dt.datetime.strptime(utc_iso[:10], "%Y-%m-%d").timetuple().tm_yday


def _outside_snips(snips, shape: tuple[int, int]) -> np.ndarray | None:
    """True where no snip rectangle covers the pixel (science coordinates, inclusive).

    Uses the decoder's SNIPS columns ``sci_line_min``, ``sci_line_max``,
    ``sci_pixel_min``, ``sci_pixel_max``; None when the table lacks them.
    """
    keys = ("sci_line_min", "sci_line_max", "sci_pixel_min", "sci_pixel_max")
    if not all(k in snips.colnames for k in keys):
        return None
    l0, l1, p0, p1 = (np.asarray(snips[k], dtype=np.int64) for k in keys)
    covered = np.zeros(shape, bool)
    for a, b, c, d in zip(l0, l1, p0, p1, strict=True):  # one slice per snip, not per pixel
        covered[max(a, 0):b + 1, max(c, 0):d + 1] = True
    return ~covered


# ----------------------------------------------------------------- the step
def preprocess_frame(frame: Frame, tables: PreprocessTables) -> Frame:
    """Make one frame ready for calibration (see the module docstring).

    Parameters
    ----------
    frame : Frame
        A decoded NAV frame (uint16 1008 x 1008 with the decoder's keywords:
        INSTRUME, EXPID, PSEUDOET, EXPSRDRT, FNDOY...) or an archive product.
        Not modified.
    tables : PreprocessTables
        From :func:`load_tables`.

    Returns
    -------
    Frame
        A new frame: for NAV input the calibration frame (``layout.frame_shape``)
        with its FLAGS; for archive input the same image with completed keywords.

    Raises
    ------
    EtalonInputError
        Naming the frame's source, when a needed keyword is missing or wrong,
        the image has the wrong shape, or the bias table lacks the instrument.

    Warns
    -----
    PreprocessWarning
        FILTER unknown, no science image for CCDT, FNDOY missing (also written
        as HISTORY lines).
    """
    if is_nav_header(frame.header):
        return _preprocess_nav(frame, tables)
    if is_archive_header(frame.header):
        return _preprocess_archive(frame, tables)
    raise EtalonInputError(frame.source, f"INSTRUME={frame.header.get('INSTRUME')!r} is neither a "
                           "NAV instrument (NAVHRI, NAVMRI, NAVITS) nor an archive one")


def _preprocess_nav(frame: Frame, tables: PreprocessTables) -> Frame:
    src = frame.source
    layout = tables.layout
    header = frame.header.copy()
    messages: list[str] = []
    instrument = str(header["INSTRUME"]).strip().upper()
    if frame.data.shape != layout.image_shape:
        raise EtalonInputError(src, f"image shape {frame.data.shape} differs from the layout's "
                               f"{layout.image_shape}")
    pseudo_et = _number(header, "PSEUDOET", src)
    exposure_s = _number(header, "EXPSRDRT", src)
    exposure_id = int(_number(header, "EXPID", src)) if "EXPID" in header else None

    # ---- INTTIME
    try:
        inttime = integration_time_ms(exposure_s)
    except ValueError as exc:
        raise EtalonInputError(src, f"EXPSRDRT: {exc}") from exc
    header["MINEXPTM"] = (3.5, "[msec] Minimum exposure duration")
    header["CMDEXPTM"] = (round(inttime - 3.5, 3), "[msec] Commanded additional exposure time")
    header["INTTIME"] = (inttime, "[msec] Total integration time")

    # ---- time
    sclk_id = sclk.sclk_id_for(instrument)
    adjustment = tables.sclk_adjust.offset_for(sclk_id, pseudo_et)
    t = sclk.image_times(pseudo_et, sclk_id, adjustment.offset_s, inttime)
    header["TIMESYS"] = ("UTC", "Default time system used")
    header["SCLKID"] = (sclk_id, "NAIF SCLK ID (-140 flyby, -70 impactor)")
    header["SCLKOFFS"] = (adjustment.offset_s, "[s] SCLK seconds - PSEUDOET applied")
    header["SCLKOFFV"] = (adjustment.valid_from, "UTC from which SCLKOFFS holds")
    header["SCLKADJ"] = (Path(tables.sclk_adjust.source).name, "SCLK adjustment table used")
    header["LSKFILE"] = (sclk.kernel_paths()["lsk"].name, "SPICE leap-seconds kernel used")
    header["SCLKFILE"] = (sclk.sclk_kernel_name(sclk_id), "SPICE SCLK kernel used")
    header["SCSTART"] = (t.start_sclk, "SCLK at start of observation")
    header["SCSTOP"] = (t.stop_sclk, "SCLK at end of obs (PSEUDOET + SCLKOFFS)")
    header["OBSDATE"] = (t.start_utc, "DateTime at start of observation at (s/c)")
    header["OBSJD"] = (round(t.start_mjd, 8), "UTC JD-2400000.5 at start of observation")
    header["OBSMIDDT"] = (t.mid_utc, "DateTime at middle of observation at (s/c)")
    header["OBSMIDJD"] = (round(t.mid_mjd, 8), "UTC JD-2400000.5 at mid of observation")
    header["OBSENDDT"] = (t.stop_utc, "DateTime at end of observation at (s/c)")
    header["OBSENDJD"] = (round(t.stop_mjd, 8), "UTC JD-2400000.5 at end of observation")
    header["DATE-OBS"] = (t.start_utc, "UTC start of exposure (= OBSDATE)")
    header["MJD-OBS"] = (round(t.start_mjd, 8), "[d] UTC MJD of DATE-OBS (= OBSJD)")
    header["NOMSCLK"] = (t.mid_sclk, "S/C clock string, mid-obs")
    header["NOMTDBSC"] = (round(t.mid_tdb, 4), "[s past J2000] TDB of mid-obs")
    header["NOMSLK0"] = (t.stop_sclk, "S/C clock string, Base time (Img end)")
    header["NOMSCT0"] = (round(t.stop_tdb, 4), "[s past J2000] TDB, Base time (Img end)")

    # ---- FILTER
    if "FNDOY" in header:
        doy = int(_number(header, "FNDOY", src))
    else:
        doy = _doy_of(t.stop_utc)
        _warn(header, messages, f"FNDOY missing: FILTER looked up with the day of OBSENDDT ({doy})")
    if exposure_id is None:  # the raw file name did not parse: no exposure ID
        name = "NONE" if instrument == "NAVITS" else UNKNOWN_FILTER
        if instrument != "NAVITS":
            _warn(header, messages, "EXPID missing (file name not parsed): FILTER UNKNOWN")
    else:
        name, problem = filter_for(instrument, exposure_id, doy, tables.sequence)
        if problem:
            _warn(header, messages, problem)
    header["FILTER"] = (name, "Filter name from the sequencing table")
    header["SEQTABLE"] = (Path(tables.sequence.source).name, "Sequencing table used for FILTER")
    header["IMGH001"] = (0, "LookUp table (0: NAV, no compression)")

    # ---- CCDT, DELTAT
    nearest = None
    if tables.science is None:
        _warn(header, messages, f"no science folder given: CCDT = DELTAT = {CCDT_MISSING}")
    else:
        nearest = nearest_science_image(tables.science.images, instrument, t.stop_tdb)
        if nearest is None:
            _warn(header, messages, f"no {instrument} science image in {tables.science.folder}: "
                  f"CCDT = DELTAT = {CCDT_MISSING}")
        header["SCIFOLDR"] = (Path(tables.science.folder).name, "Folder searched for CCDT")
    if nearest is None:
        header["CCDT"] = (CCDT_MISSING, "[K] CCD On-Chip Temp (no science image)")
        header["DELTAT"] = (CCDT_MISSING, "[s] no science image for CCDT")
        header["CCDTFILE"] = ("NONE", "Science image giving CCDT")
    else:
        header["CCDT"] = (nearest.ccdt, "[K] CCD On-Chip Temp, nearest science image")
        header["DELTAT"] = (round(t.stop_tdb - nearest.stop_tdb, 4),
                            "[s] image end - CCDTFILE image end")
        header["CCDTFILE"] = (Path(nearest.path).name, "Science image giving CCDT")

    # ---- bias and overclock
    if instrument not in tables.bias:
        raise EtalonInputError(tables.bias_source, f"bias table has no row for {instrument} "
                               f"(needed by {src or 'the frame'})")
    biases = tables.bias[instrument]
    for n, value in enumerate(biases, start=1):
        where = ("upper-left", "lower-left", "upper-right", "lower-right")[n - 1]
        header[f"NAVBIAS{n}"] = (value, f"[DN] bias of quadrant {n} ({where})")
    header["BIASTAB"] = (Path(tables.bias_source).name, "Bias table used for NAVBIASn")
    layout.to_header(header)

    flags = np.array(frame.flags, dtype=np.uint8, copy=True)
    if frame.snips is not None and len(frame.snips):
        outside = _outside_snips(frame.snips, flags.shape)
        if outside is not None:
            flags[outside] |= FLAG_MISSING
    data = layout.embed(frame.data, biases)
    header["PREPTYPE"] = ("NAV", "Pre-processed from a decoded NAV frame")
    _synthetic_defaults(header, messages, tables)
    _stamp(header, frame, tables, {"pseudo_et": pseudo_et, "sclk_offset_s": adjustment.offset_s,
                                   "filter": name, "ccdt_file": header["CCDTFILE"]})
    return Frame(data=data, flags=layout.pad(flags, 0), header=header, snr=None,
                 snips=None if frame.snips is None else frame.snips.copy(), source=frame.source)


def _preprocess_archive(frame: Frame, tables: PreprocessTables) -> Frame:
    header = frame.header.copy()
    messages: list[str] = []
    if "NOMSCT0" not in header:
        header["NOMSCT0"] = (round(stop_tdb(header, frame.source), 4),
                             "[s past J2000] TDB, Base time (Img end)")
        header["LSKFILE"] = (sclk.kernel_paths()["lsk"].name, "SPICE leap-seconds kernel used")
    for key in ("INTTIME", "FILTER", "CCDT", "SCSTOP"):
        if key not in header:
            _warn(header, messages, f"archive product lacks {key}")
    if "DATE-OBS" not in header and "OBSDATE" in header:  # the FITS-standard names too
        header["DATE-OBS"] = (str(header["OBSDATE"]), "UTC start of exposure (= OBSDATE)")
        if isinstance(header.get("OBSJD"), (int, float)):
            header["MJD-OBS"] = (float(header["OBSJD"]), "[d] UTC MJD of DATE-OBS (= OBSJD)")
    FrameLayout.without_overclock(frame.data.shape).to_header(header)
    ccd_unit(header)  # BUNIT astropy parses; the archive's 'DATA NUMBER' kept in BUNITARC
    header["PREPTYPE"] = ("ARCHIVE", "Archive product: mission keywords kept")
    _stamp(header, frame, tables, {"archive": True})
    return Frame(data=frame.data.copy(), flags=frame.flags.copy(), header=header,
                 snr=None if frame.snr is None else frame.snr.copy(),
                 snips=None if frame.snips is None else frame.snips.copy(), source=frame.source)


def _synthetic_defaults(header: fits.Header, messages: list[str], tables: PreprocessTables) -> None:
    """``CALSYNTH = T`` and a warning per illustrative table taken by default."""
    for key in tables.defaults:
        _warn(header, messages, f"default {key} table: {SYNTHETIC_DEFAULTS[key]}")
    header["CALSYNTH"] = (bool(tables.defaults), "T: illustrative etalon table/reference used")


def _stamp(header: fits.Header, frame: Frame, tables: PreprocessTables, params: dict) -> None:
    inputs = ([frame.source] if frame.source else []) + tables.sources()
    if tables.science is not None:
        inputs.append(tables.science.folder)
    stamp_header(header, STEP, inputs=inputs, parameters=params)


# ---------------------------------------------------------------- file level
def read_input(path: str | os.PathLike[str]) -> Frame:
    """Read a pre-processing input: a FITS frame (decoded NAV or archive) or a raw NAV file.

    Raw NAV telemetry (anything that does not start as FITS) is decoded with
    :mod:`etalon.nav.decoder` first.

    Raises
    ------
    EtalonInputError
        Naming the file, when it is missing, unreadable or neither FITS nor NAV.
    """
    p = require_file(path, "input file")
    with open(p, "rb") as fh:
        magic = fh.read(9)
    if magic == b"SIMPLE  =":
        return read_frame(p)
    try:
        from etalon.nav import products
        from etalon.nav.decoder import decode
    except ImportError as exc:  # decoder not installed in this build
        raise EtalonInputError(p, f"not FITS, and the NAV decoder is unavailable ({exc})") from exc
    return products.nav_to_frame(decode(p), p.name)


def output_path_for(path: str | os.PathLike[str], output_dir: str | os.PathLike[str]) -> Path:
    """Product path of ``path`` in ``output_dir``: the input name without a FITS suffix + ``_prep.fits``."""
    name = Path(path).name
    for suffix in (".fits", ".fit", ".fts", ".FITS", ".FIT"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return Path(output_dir) / f"{name}_prep.fits"


def preprocess_file(path: str | os.PathLike[str], output_dir: str | os.PathLike[str] | None,
                    tables: PreprocessTables, *,
                    out_path: str | os.PathLike[str] | None = None) -> dict:
    """Pre-process one file into ``output_dir`` (or ``out_path``); the input is only read.

    Parameters
    ----------
    path : str or path-like
        Decoded NAV FITS, raw NAV file or archive FITS product.
    output_dir : str or path-like, optional
        Folder of the product ``<name>_prep.fits`` (:func:`output_path_for`); ignored
        when ``out_path`` is given.
    tables : PreprocessTables
        From :func:`load_tables`.
    out_path : str or path-like, optional
        The product's exact path (the ``-o`` of ``etalon nav preprocess``).

    Returns
    -------
    dict
        ``output`` (path written), ``instrument``, ``warnings`` (list of texts).
    """
    if out_path is None and output_dir is None:
        raise ValueError("preprocess_file needs output_dir or out_path")
    out = Path(out_path) if out_path is not None else output_path_for(path, output_dir)
    if out.resolve() == Path(path).resolve():
        raise EtalonInputError(path, "output would overwrite the input")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PreprocessWarning)
        result = preprocess_frame(read_input(path), tables)
    write_product(result, out)
    return {"output": str(out), "instrument": str(result.header.get("INSTRUME", "")),
            "warnings": [str(w.message) for w in caught if issubclass(w.category, PreprocessWarning)]}
