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
rejected packet), HDRNONFN (NaN/Inf packet values written undefined), DATE-OBS and
MJD-OBS (UTC start of the exposure, nominal SCLK offset), BUNIT = DN and
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
from etalon.provenance import fits_text, stamp_header

__all__ = [
    "QUALITY_CLASSES",
    "decode_summary",
    "decode_to_fits",
    "decode_to_folder",
    "fits_name_for",
    "float32_value",
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


def float32_value(value: float) -> float:
    """A float32 packet value as the number it stands for: ``float(f"{value:.7g}")``.

    float32 carries about 7 significant digits; its float64 image
    (``0.009999999776482582`` for 0.01 s) is noise. NaN / Inf pass unchanged.

    >>> float32_value(np.float32(0.01))
    0.01
    """
    v = float(value)
    return float(f"{v:.7g}") if math.isfinite(v) else v


def _observation_time_cards(hdr: fits.Header, h) -> None:
    """DATE-OBS (UTC ISO, ms) and MJD-OBS (UTC) of the exposure start.

    From PSEUDOET (the exposure's end) with the nominal SCLK offset
    (:data:`etalon.nav.sclk.NOMINAL_OFFSET_S`) and INTTIME = EXPSRDRT + 3.5 ms, through
    the bundled SPICE kernels; ``etalon nav preprocess`` rewrites both with the
    adjustment table's offset. A pseudo-ET SPICE cannot convert leaves them out (COMMENT).
    """
    from etalon.nav import sclk
    from etalon.nav.keywords import integration_time_ms

    try:
        inttime = integration_time_ms(float32_value(h.exposure))
        sclk_id = sclk.sclk_id_for(h.instrument)
        stop_ticks = (float(h.pseudo_et) + sclk.NOMINAL_OFFSET_S) * sclk.TICKS_PER_SECOND
        if not math.isfinite(stop_ticks):
            raise ValueError(f"PSEUDOET {h.pseudo_et} is not finite")
        start = sclk.ticks_to_tdb(sclk_id, stop_ticks) - inttime / 1000.0
        utc, mjd = sclk.tdb_to_utc(start), sclk.tdb_to_mjd_utc(start)
    except Exception as exc:  # SPICE refuses the clock value (damaged packet headers)
        hdr.add_comment(fits_text(f"DATE-OBS not written: {sclk.spice_message(exc)}"))
        return
    hdr["DATE-OBS"] = (utc, "UTC exposure start, nominal SCLK offset")
    hdr["MJD-OBS"] = (round(mjd, 8), "[d] UTC MJD of DATE-OBS")


def _file_name_cards(hdr: fits.Header, original: str | None, parsed: NavFileName | None,
                     problem: str | None) -> None:
    # FITS header values are printable ASCII: a name such as trame_é.000 is escaped
    # (trame_\xe9.000) by etalon.provenance.fits_text
    hdr["FNORIG"] = (fits_text(original or ""), "FN: original")
    hdr["FNSTATUS"] = ("Input argument filename parse SUCCEEDED" if parsed else
                       "Input argument filename parse FAILED", "FN: status")
    if parsed is None:
        if problem:
            hdr.add_comment(fits_text(f"file name: {problem}"))
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
    hdr["BUNIT"] = ("DN", "Physical unit of the data (astropy-parsable)")
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
    # float32 packet values: written with the 7 digits float32 carries (0.01, not
    # 0.009999999776482582)
    hdr["RATEX"] = (float32_value(h.rate_x), "spacecraft attitude rate x (packet header)")
    hdr["RATEY"] = (float32_value(h.rate_y), "spacecraft attitude rate y (packet header)")
    hdr["RATEZ"] = (float32_value(h.rate_z), "spacecraft attitude rate z (packet header)")
    hdr["EXPSRDRT"] = (float32_value(h.exposure), "[s] commanded exposure, excl. 3.5 ms minimum")
    hdr["CENTLINE"] = (float32_value(h.centroid_line),
                       "AutoNav centroid line, science array, 0-based")
    hdr["CENTPIX"] = (float32_value(h.centroid_pixel),
                      "AutoNav centroid pixel, science array, 0-based")
    hdr["CENTLRAW"] = (float32_value(h.centroid_line_raw),
                       "AutoNav centroid line, raw frame, 0-based")
    hdr["CENTPRAW"] = (float32_value(h.centroid_pixel_raw),
                       "AutoNav centroid pixel, raw frame, 0-based")
    _observation_time_cards(hdr, h)
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
        hdr.add_comment(fits_text(f"rejected packet at byte {rej.offset}: {rej.reason}"))
    if r.packets_rejected > MAX_REJECTED_COMMENTS:
        hdr.add_comment(f"... and {r.packets_rejected - MAX_REJECTED_COMMENTS} more rejected packets")
    for warning in r.warnings:
        hdr.add_comment(fits_text(f"decode warning: {warning}"))
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


#: the quality panel of :func:`plot_nav`: (value, colour, meaning)
QUALITY_CLASSES = ((0, "white", "received"), (1, "lightgray", "missing (FLAGS 2)"),
                   (2, "red", "overlap conflict (FLAGS 4)"))


def plot_nav(nav: NavImage, axes=None):
    """Image (log stretch, colour bar in DN) with its snips drawn, and the quality map with
    its colour legend; science orientation.

    Returns the matplotlib figure. Array row 0 is drawn at the bottom, as the
    archive frames are displayed. The legend of the quality panel names each colour
    (:data:`QUALITY_CLASSES`) with its pixel count.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap, LogNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 5), constrained_layout=True)
    else:
        fig = axes[0].figure
    img = nav.image.astype(float)
    got = ~nav.missing
    lo, hi = (np.percentile(img[got], [1, 99.8]) if got.any() else (0, 1))
    shown = np.where(got, np.clip(img, max(lo, 1.0), None), np.nan)
    im = axes[0].imshow(shown, origin="lower", cmap="gray",
                        norm=LogNorm(vmin=max(lo, 1.0), vmax=max(hi, max(lo, 1.0) * 10)))
    fig.colorbar(im, ax=axes[0], shrink=0.85, label="DN (log scale, 1-99.8 percentile)")
    for row in nav.snips:
        axes[0].add_patch(Rectangle((row["sci_pixel_min"] - 0.5, row["sci_line_min"] - 0.5),
                                    row["width"], row["height"], fill=False, lw=0.8,
                                    ec="tab:green" if row["complete"] else "tab:orange"))
    name = Path(nav.source).name if nav.source else "bytes"
    axes[0].set_title(f"{nav.instrument} {name}: image and snips", fontsize=9)
    axes[0].legend(handles=[Line2D([], [], color="tab:green", label="snip, complete"),
                            Line2D([], [], color="tab:orange", label="snip, partial")],
                   loc="upper right", fontsize=7, framealpha=0.8)
    quality = np.select([(nav.flags & 4) != 0, (nav.flags & 2) != 0], [2, 1], 0)
    axes[1].imshow(quality, origin="lower",
                   cmap=ListedColormap([c for _, c, _ in QUALITY_CLASSES]),
                   vmin=0, vmax=2, interpolation="nearest")
    counts = [int((quality == v).sum()) for v, _, _ in QUALITY_CLASSES]
    axes[1].legend(handles=[Patch(facecolor=c, edgecolor="black", label=f"{text}: {n:,} px")
                            for (_, c, text), n in zip(QUALITY_CLASSES, counts, strict=True)],
                   loc="upper right", fontsize=7, framealpha=0.9, title="quality", title_fontsize=7)
    r = nav.report
    axes[1].set_title(f"quality map: {r.missing_pixels:,} missing, {r.conflict_pixels:,} in "
                      "conflict", fontsize=9)
    for ax in axes:
        ax.set_xlabel("pixel (science array, 0-based)")
        ax.set_ylabel("line (science array, 0-based)")
    return fig
