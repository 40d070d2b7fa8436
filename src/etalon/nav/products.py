"""Decoded NAV images as etalon frames and FITS files.

:func:`nav_to_frame` turns a :class:`~etalon.nav.decoder.NavImage` into an
:class:`etalon.frame.Frame` (science orientation) with the header below;
:func:`decode_to_fits` decodes a raw file and writes the FITS product
atomically (temporary file, then rename; the raw file is only read).

FITS product
------------
* primary HDU: the image, uint16 stored as BITPIX 16 / BZERO 32768, science
  orientation (as the archive's raw frames);
* ``FLAGS``: uint8 quality map (2 missing, 4 overlap conflict);
* ``MASK``: uint8, 1 = do not use (for ``astropy.nddata.CCDData.read``);
* ``SNIPS``: binary table, one row per snip (raw and science rectangles, 0-based
  inclusive; packets used; pixels received; complete).

Header keywords: MISSION, OBSERVAT, INSTRUME (NAVHRI, NAVMRI, NAVITS), EXPID,
OBJECT, TARGETID, IMGNUM, IMGTYPE, DETECTOR, COMPRESS, PSEUDOET, BORERA, BOREDEC,
TWIST, CELESTN (science array) and CELESTNR (raw frame), RATEX/Y/Z, EXPSRDRT,
CENTLINE/CENTPIX (science, 0-based), CENTLRAW/CENTPRAW (raw, 0-based), the FN* keywords
of the file name (FNORIG,
FNSTATUS, FNFILEID, FNUNQDSF, FNKIND, FNINSTRM, FNEXPSRD, FNYEAR, FNDOY, FNHOUR,
FNMINUTE, FNSECOND, FNRECV), the decode report (NBYTES, NPKTUSED, NPKTREJ,
NBYTSKIP, NOVERLAP, NCONFLCT, NMISSING, NSNIPS, NSNIPCMP, RESYNC, one COMMENT per
rejected packet), HDRNONFN (NaN/Inf packet values written undefined), BUNIT = DN and
BUNITARC = DATA NUMBER, and the provenance stamp (ETALONV, DATE, HISTORY).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from etalon.fileio import EtalonInputError
from etalon.frame import Frame
from etalon.nav import format as fmt
from etalon.nav.ccddata import write_product
from etalon.nav.decoder import NavImage, decode
from etalon.nav.filename import NavFileName, NavFileNameError, parse_nav_filename
from etalon.provenance import stamp_header

__all__ = [
    "decode_summary",
    "decode_to_fits",
    "decode_to_folder",
    "fits_name_for",
    "header_table",
    "nav_header",
    "nav_to_frame",
    "object_name",
    "plot_nav",
    "rejected_table",
    "report_table",
]

#: rejected packets listed one per COMMENT card, at most
MAX_REJECTED_COMMENTS = 50


def object_name(target_id: int) -> str:
    """OBJECT name of a NAIF ID (``9P/TEMPEL 1`` for 1000093; SPICE's name otherwise)."""
    if target_id in fmt.TARGET_NAMES:
        return fmt.TARGET_NAMES[target_id]
    try:
        import spiceypy

        return str(spiceypy.bodc2n(int(target_id)))
    except Exception:  # unknown to SPICE
        return f"NAIF {target_id}"


def _file_name_cards(hdr: fits.Header, original: str | None, parsed: NavFileName | None,
                     problem: str | None) -> None:
    hdr["FNORIG"] = (original or "", "FN: original")
    hdr["FNSTATUS"] = ("Input argument filename parse SUCCEEDED" if parsed else
                       "Input argument filename parse FAILED", "FN: status")
    if parsed is None:
        if problem:
            hdr.add_comment(f"file name: {problem}")
        return
    hdr["FNFILEID"] = (parsed.file_id, "FN: FILEID")
    hdr["FNUNQDSF"] = (parsed.suffix, "FN: uniqueness suffix")
    hdr["FNKIND"] = (parsed.kind, "FN: OpNav (O) or AutoNav (A)")
    hdr["FNINSTRM"] = (parsed.instrument_letter, "FN: instrument (H{RI}, M{RI} or I{TS})")
    hdr["FNEXPSRD"] = (parsed.exposure_id, "FN: exposure ID")
    hdr["FNYEAR"] = (parsed.year, "FN: year (ground received, UTC)")
    hdr["FNDOY"] = (parsed.doy, "FN: day of year")
    hdr["FNHOUR"] = (parsed.hour, "FN: hour")
    hdr["FNMINUTE"] = (parsed.minute, "FN: minute")
    hdr["FNSECOND"] = (parsed.second, "FN: second")
    hdr["FNRECV"] = (parsed.received.utc.isot, "FN: ground-received time, UTC")


def nav_header(nav: NavImage, filename: str | os.PathLike[str] | NavFileName | None = None) -> fits.Header:
    """The primary FITS header of a decoded NAV image (see module docstring)."""
    h = nav.header
    # the decoder already parsed the name it read from (a failure is in report.warnings):
    # parse again only a different name
    parsed, problem = nav.filename, None
    original = nav.source
    if isinstance(filename, NavFileName):
        parsed, original = filename, filename.name
    elif filename is not None and (
            original is None or Path(os.fspath(filename)).name != Path(original).name):
        original = os.fspath(filename)
        try:
            parsed = parse_nav_filename(original)
        except NavFileNameError as exc:
            parsed, problem = None, str(exc)
    original = Path(original).name if original else None

    hdr = _FiniteHeader()
    hdr["MISSION"] = ("DEEP IMPACT", "Name of the spacecraft mission")
    hdr["OBSERVAT"] = (fmt.OBSERVATORIES[h.instrument], "observing platform (flyby or impactor)")
    hdr["INSTRUME"] = (h.instrument, "NAV instrument: NAVHRI (HRIV), NAVMRI, NAVITS")
    hdr["ORIGIN"] = ("etalon", "software that decoded the telemetry")
    hdr["BUNIT"] = ("DN", "Physical units for data pixel (astropy-parsable)")
    hdr["BUNITARC"] = ("DATA NUMBER", "Archive spelling of BUNIT")
    hdr["CALTYPE"] = ("RAW", "decoded raw NAV frame, not calibrated")
    if parsed is not None:
        hdr["EXPID"] = (parsed.exposure_id, "Exposure ID (from the file name)")
    hdr["IMGNUM"] = (h.image_number, "Image number (packet header)")
    hdr["IMGTYPE"] = (h.image_type, "Image type (packet header)")
    hdr["DETECTOR"] = (h.detector, "Detector code: 1 ITS, 2 MRI, 3 HRIV")
    hdr["COMPRESS"] = (h.compression, "Compression code: 0 none, 2 Eds")
    hdr["OBJECT"] = (object_name(h.target_id), "Target name")
    hdr["TARGETID"] = (h.target_id, "NAIF ID of the target")
    hdr["PSEUDOET"] = (h.pseudo_et, "[s] pseudo-ET: SCLK ticks/256 minus an offset")
    hdr["BORERA"] = (h.ra_deg, "[deg] RA of instrument boresight")
    hdr["BOREDEC"] = (h.dec_deg, "[deg] DEC of instrument boresight")
    hdr["TWIST"] = (h.twist_deg, "[deg] boresight twist (Galileo convention)")
    hdr["CELESTN"] = (h.celestial_north_deg, "[deg] Celestial North Clock Angle in image")
    hdr["CELESTNR"] = (h.celestial_north_raw_deg, "[deg] same, raw frame: (270-TWIST) mod 360")
    hdr["RATEX"] = (h.rate_x, "spacecraft attitude rate x (packet header)")
    hdr["RATEY"] = (h.rate_y, "spacecraft attitude rate y (packet header)")
    hdr["RATEZ"] = (h.rate_z, "spacecraft attitude rate z (packet header)")
    hdr["EXPSRDRT"] = (h.exposure, "[s] commanded exposure, excl. 3.5 ms minimum")
    hdr["CENTLINE"] = (h.centroid_line, "AutoNav centroid line, science array, 0-based")
    hdr["CENTPIX"] = (h.centroid_pixel, "AutoNav centroid pixel, science array, 0-based")
    hdr["CENTLRAW"] = (h.centroid_line_raw, "AutoNav centroid line, raw frame, 0-based")
    hdr["CENTPRAW"] = (h.centroid_pixel_raw, "AutoNav centroid pixel, raw frame, 0-based")
    _file_name_cards(hdr, original, parsed, problem)
    r = nav.report
    hdr["NBYTES"] = (r.n_bytes, "[bytes] size of the raw file")
    hdr["NPKTUSED"] = (r.packets_used, "decode: packets used")
    hdr["NPKTREJ"] = (r.packets_rejected, "decode: packets rejected (see COMMENT)")
    hdr["NBYTSKIP"] = (r.bytes_skipped, "[bytes] decode: bytes not in a used packet")
    hdr["NOVERLAP"] = (r.overlap_pixels, "decode: pixels received more than once")
    hdr["NCONFLCT"] = (r.conflict_pixels, "decode: pixels received with different values")
    hdr["NMISSING"] = (r.missing_pixels, "decode: pixels not received (FLAGS bit 2)")
    hdr["NSNIPS"] = (r.snips, "decode: snips")
    hdr["NSNIPCMP"] = (r.snips_complete, "decode: snips with every pixel received")
    hdr["RESYNC"] = (r.resynchronised, "decode: packet chain broken, file rescanned")
    for rej in r.rejected[:MAX_REJECTED_COMMENTS]:
        hdr.add_comment(f"rejected packet at byte {rej.offset}: {rej.reason}")
    if r.packets_rejected > MAX_REJECTED_COMMENTS:
        hdr.add_comment(f"... and {r.packets_rejected - MAX_REJECTED_COMMENTS} more rejected packets")
    for warning in r.warnings:
        hdr.add_comment(f"decode warning: {warning}")
    hdr["HDRNONFN"] = (bool(hdr.nonfinite), "T: NaN/Inf packet values written undefined")
    if hdr.nonfinite:
        hdr.add_comment("undefined (NaN/Inf in the packets): " + ", ".join(hdr.nonfinite))
    stamp_header(hdr, "nav decode", inputs=[original] if original else [],
                 parameters={"instrument": h.instrument})
    return fits.Header(hdr.cards)


class _FiniteHeader(fits.Header):
    """A header whose NaN / Inf float values become undefined cards (FITS refuses them)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.nonfinite: list[str] = []

    def __setitem__(self, key, value) -> None:
        v, comment = (value if isinstance(value, tuple) else (value, None))
        if isinstance(v, float) and not math.isfinite(v):
            self.nonfinite.append(str(key))
            value = (fits.card.UNDEFINED, comment) if comment else fits.card.UNDEFINED
        super().__setitem__(key, value)


def nav_to_frame(nav: NavImage, filename: str | os.PathLike[str] | NavFileName | None = None) -> Frame:
    """A :class:`~etalon.frame.Frame` of a decoded NAV image (science orientation).

    Parameters
    ----------
    nav : NavImage
        Decoded image.
    filename : str, path or NavFileName, optional
        The raw file's name, for EXPID and the FN* keywords (default: the name
        the image was decoded from).
    """
    snips = Table(nav.snips)
    snips.meta["EXTNAME"] = "SNIPS"
    return Frame(data=nav.image, flags=nav.flags, header=nav_header(nav, filename),
                 snips=snips, source=nav.source)


def _check_not_input(raw_path: Path, out_path: Path) -> None:
    if out_path.exists() and raw_path.exists() and out_path.resolve() == raw_path.resolve():
        raise EtalonInputError(raw_path, "the output would overwrite the raw input file")


def decode_to_fits(raw_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
                   instrument: str | None = None) -> Path:
    """Decode a raw NAV file and write its FITS product; return the output path.

    The output is written to a temporary file beside ``out_path`` and renamed;
    the raw file is only read.

    Raises
    ------
    NavDecodeError
        When the raw file holds no valid packet.
    EtalonInputError
        When the raw file is missing, or ``out_path`` is the raw file itself.
    """
    return Path(decode_summary(raw_path, out_path, instrument)["output"])


def decode_summary(raw_path: str | os.PathLike[str], out_path: str | os.PathLike[str],
                   instrument: str | None = None) -> dict:
    """:func:`decode_to_fits`, returning a summary dict (output, instrument, report counts).

    Module-level so that batches (:func:`etalon.batch.map_files`) can ship it to workers.
    """
    raw_path, out_path = Path(raw_path), Path(out_path)
    _check_not_input(raw_path, out_path)
    nav = decode(raw_path, instrument=instrument)
    write_product(nav_to_frame(nav, raw_path.name), out_path)
    return {"input": str(raw_path), "output": str(out_path), "instrument": nav.instrument,
            **nav.report.counts()}


def fits_name_for(raw_path: str | os.PathLike[str]) -> str:
    """Output file name of a raw file: its name plus ``.fits``."""
    return Path(raw_path).name + ".fits"


def decode_to_folder(raw_path: str | os.PathLike[str], output_dir: str | os.PathLike[str],
                     instrument: str | None = None) -> dict:
    """Decode ``raw_path`` into ``output_dir/<raw name>.fits``; return the summary dict."""
    return decode_summary(raw_path, Path(output_dir) / fits_name_for(raw_path), instrument)


# --------------------------------------------------------------------------- tables and figures

def report_table(navs) -> Table:
    """One row per decoded image: file, instrument and the decode report counts."""
    rows = []
    for nav in navs:
        name = Path(nav.source).name if nav.source else ""
        rows.append({"file": name, "instrument": nav.instrument, **nav.report.counts(),
                     "resynchronised": nav.report.resynchronised})
    return Table(rows=rows) if rows else Table()


def header_table(navs) -> Table:
    """One row per decoded image: the per-image header values (angles in degrees)."""
    rows = []
    for nav in navs:
        d = nav.header.as_dict()
        for k in ("ra", "dec", "twist", "rate_y", "rate_z", "detector", "compression"):
            d.pop(k)
        rows.append({"file": Path(nav.source).name if nav.source else "", **d})
    return Table(rows=rows) if rows else Table()


def rejected_table(navs) -> Table:
    """Every rejected packet of the images: file, byte offset, reason."""
    rows = [{"file": Path(nav.source).name if nav.source else "", "offset": r.offset,
             "reason": r.reason} for nav in navs for r in nav.report.rejected]
    return Table(rows=rows, names=("file", "offset", "reason")) if rows else Table(
        names=("file", "offset", "reason"), dtype=(str, int, str))


def plot_nav(nav: NavImage, axes=None):
    """Image (log stretch) with its snips drawn, and the quality map; science orientation.

    Returns the matplotlib figure. Array row 0 is drawn at the bottom, as the
    archive frames are displayed.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 5), constrained_layout=True)
    else:
        fig = axes[0].figure
    img = nav.image.astype(float)
    got = ~nav.missing
    lo, hi = (np.percentile(img[got], [1, 99.8]) if got.any() else (0, 1))
    shown = np.where(got, np.log10(np.clip(img - lo, 1, None)), np.nan)
    axes[0].imshow(shown, origin="lower", cmap="gray", vmin=0, vmax=np.log10(max(hi - lo, 10)))
    for row in nav.snips:
        axes[0].add_patch(Rectangle((row["sci_pixel_min"] - 0.5, row["sci_line_min"] - 0.5),
                                    row["width"], row["height"], fill=False, lw=0.8,
                                    ec="tab:green" if row["complete"] else "tab:orange"))
    name = Path(nav.source).name if nav.source else "bytes"
    axes[0].set_title(f"{nav.instrument} {name}\nsnips: green complete, orange partial",
                      fontsize=9)
    quality = np.select([(nav.flags & 4) != 0, (nav.flags & 2) != 0], [2, 1], 0)
    axes[1].imshow(quality, origin="lower", cmap=ListedColormap(["white", "lightgray", "red"]),
                   vmin=0, vmax=2, interpolation="nearest")
    r = nav.report
    axes[1].set_title(f"quality: gray missing ({r.missing_pixels}), red conflict "
                      f"({r.conflict_pixels})", fontsize=9)
    for ax in axes:
        ax.set_xlabel("pixel (science array)")
    axes[0].set_ylabel("line (science array)")
    return fig
