"""Decode raw Deep Impact NAV telemetry into a 1008 x 1008 frame.

The layout comes from :mod:`etalon.nav.format` (``docs/nav-format.md``).
:func:`decode` takes a path, bytes or a binary file and returns a
:class:`NavImage`: the science-orientation image and quality map, the raw
frame, the snips, the per-image header values and a :class:`DecodeReport`.

How it works
------------
1. **Walk the chain.** Packets are read back to back from offset 0 (a loop over
   the length fields only). When the chain covers the file exactly and every
   header validates and agrees, that is the packet list (the fast path).
2. **Resynchronise** otherwise: every byte offset is examined (vectorised, not a
   Python loop) for an 80-byte header that passes the validation of the spec;
   the per-image fields (bytes 2 to 67: centroid, pseudo-ET, pointing, rates,
   exposure, target, detector, compression, image number and type) must agree
   with the image's other packets (the most common value among valid headers);
   a packet whose data would run over the start of the next agreeing header is
   cut short and not used. This is the spec's byte-by-byte scan, done for all
   offsets at once.
3. **Place the pixels.** Packets are grouped into runs (consecutive in the file,
   same snip, same length, consecutive in the snip's raster order) and each run
   is copied in one strided numpy assignment into its snip, then the snip into
   the raw frame. No loop over pixels.

Overlaps: a pixel received twice with the same value counts as an overlap; with
different values it also gets the conflict bit (4). The value kept is the first
one in order of trust: snips carried by more packets first (a header whose
rectangle was damaged makes a snip of one packet), then snips whose packets
tile the rectangle exactly; within a snip, packets whose range does not partly
overlap another packet's range first (a damaged first pixel/line makes the
range overlap its neighbours); then file order (the earlier packet wins).

Missing pixels are 0 in the image and carry the missing bit (2). The decoder
sets bits 2 and 4 only: bad pixels (1) and saturation (16, 32) are the
calibration's business.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

import numpy as np

from etalon.fileio import EtalonInputError, require_file
from etalon.frame import FLAG_CONFLICT, FLAG_MISSING
from etalon.nav import format as fmt
from etalon.nav.filename import NavFileName, NavFileNameError, parse_nav_filename

__all__ = ["SNIP_DTYPE", "DecodeReport", "NavDecodeError", "NavHeader", "NavImage",
           "RejectedPacket", "decode"]


log = logging.getLogger(__name__)

#: NavHeader fields carried as floats (NaN or Inf there is reported, never fatal)
FLOAT_FIELDS = ("pseudo_et", "ra", "dec", "twist", "rate_x", "rate_y", "rate_z", "exposure",
                "centroid_line_raw", "centroid_pixel_raw")


class NavDecodeError(EtalonInputError):
    """A raw NAV file cannot be decoded (no valid packet, wrong instrument).

    The message starts with the file name when one is known.
    """


# --------------------------------------------------------------------------- results

#: reasons a packet (or what stands where one was expected) is not used
REASONS = {
    1: "file ends inside the 80-byte header",
    2: "length out of range or odd",
    3: "unknown detector code",
    4: "compression other than 0",
    5: "rectangle outside the frame or inverted",
    6: "first pixel outside the rectangle",
    7: "data run past the snip",
    8: "data run past the end of the file",
    9: "disagrees with the image's other packets",
    10: "cut short: the next packet's header starts inside its data",
    11: "not the expected instrument",
}

#: rejected packets described one by one in the report (the others are counted)
MAX_REJECTED_DETAIL = 1000
#: with an expected instrument: consistent packets needed when packets of another
#: detector are present (a header found in pixel data is not an image)
MIN_CONSISTENT_PACKETS = 2
#: candidates validated at once during the resynchronising scan (bounds its memory)
SCAN_CHUNK = 1 << 15
#: above this many snips, pixels are placed by the vectorised path (no loop over snips)
SNIP_LOOP_MAX = 64
#: pixels per step of the vectorised placement (bounds its memory)
PLACE_CHUNK = 1 << 18

#: one row per snip (:attr:`NavImage.snips`); coordinates 0-based, inclusive
SNIP_DTYPE = np.dtype([
    ("snip", "i4"),
    ("raw_left", "i2"), ("raw_right", "i2"), ("raw_top", "i2"), ("raw_bottom", "i2"),
    ("sci_line_min", "i2"), ("sci_line_max", "i2"),
    ("sci_pixel_min", "i2"), ("sci_pixel_max", "i2"),
    ("width", "i2"), ("height", "i2"),
    ("n_pixels", "i4"), ("n_received", "i4"), ("n_packets", "i4"),
    ("complete", "?"), ("first_offset", "i8"),
])


@dataclass(frozen=True)
class NavHeader:
    """Per-image values carried (identically) by every packet of a NAV image.

    Attributes
    ----------
    instrument : str
        NAVHRI, NAVMRI or NAVITS (from ``detector``).
    detector : int
        1 ITS, 2 MRI, 3 HRIV.
    compression : int
        0 (none).
    image_number, image_type : int
        As transmitted.
    target_id : int
        NAIF ID of the target (1000093 = 9P/Tempel 1).
    pseudo_et : float
        SCLK ticks / 256 minus an offset (nominally 64.184 s), s.
    ra, dec, twist : float
        Boresight right ascension, declination and twist, rad.
    rate_x, rate_y, rate_z : float
        Spacecraft attitude rates (as transmitted, float32 values).
    exposure : float
        Commanded exposure, s, excluding the 3.5 ms minimum.
    centroid_line_raw, centroid_pixel_raw : float
        AutoNav brightness centroid in the raw frame, 0-based (line 0 at the top).
    centroid_line, centroid_pixel : float
        The same point in the science array, 0-based.
    """

    instrument: str
    detector: int
    compression: int
    image_number: int
    image_type: int
    target_id: int
    pseudo_et: float
    ra: float
    dec: float
    twist: float
    rate_x: float
    rate_y: float
    rate_z: float
    exposure: float
    centroid_line_raw: float
    centroid_pixel_raw: float
    centroid_line: float
    centroid_pixel: float

    @property
    def ra_deg(self) -> float:
        """Boresight right ascension, deg."""
        return float(np.degrees(self.ra))

    @property
    def dec_deg(self) -> float:
        """Boresight declination, deg."""
        return float(np.degrees(self.dec))

    @property
    def twist_deg(self) -> float:
        """Boresight twist, deg."""
        return float(np.degrees(self.twist))

    @property
    def celestial_north_raw_deg(self) -> float:
        """Celestial north clock angle in the RAW frame, (270 - twist) mod 360, deg.

        Galileo convention, clockwise from up with the raw frame displayed as
        transmitted (line 0 at the top): the orientation the relation belongs to.
        """
        return float((270.0 - self.twist_deg) % 360.0)

    @property
    def celestial_north_deg(self) -> float:
        """Celestial north clock angle in the SCIENCE array, deg (``CELESTN``).

        Clockwise from up with row 0 displayed at the bottom; the raw angle taken
        through the instrument's array transform
        (:func:`etalon.nav.format.raw_clock_angle_to_science`: MRI/ITS 180-degree
        rotation gives ``(twist - 270) mod 360``, HRIV vertical flip keeps
        ``(270 - twist) mod 360``).
        """
        return fmt.raw_clock_angle_to_science(self.celestial_north_raw_deg, self.instrument)

    def as_dict(self) -> dict[str, Any]:
        """All values, plus the angles in degrees."""
        d = asdict(self)
        d.update(ra_deg=self.ra_deg, dec_deg=self.dec_deg, twist_deg=self.twist_deg,
                 celestial_north_deg=self.celestial_north_deg,
                 celestial_north_raw_deg=self.celestial_north_raw_deg)
        return d


@dataclass(frozen=True)
class RejectedPacket:
    """A packet (or what stood where one was expected) that was not used.

    Attributes
    ----------
    offset : int
        Byte offset in the file.
    reason : str
        Why (see :data:`REASONS`), with details.
    code : int
        Key of :data:`REASONS`.
    """

    offset: int
    reason: str
    code: int


@dataclass(frozen=True)
class DecodeReport:
    """What the decoder used, rejected and skipped; nothing is silent.

    Attributes
    ----------
    source : str or None
        File decoded.
    n_bytes : int
        File size, bytes.
    packets_used : int
        Packets whose pixels were placed.
    rejected : tuple of RejectedPacket
        Not used, with the reason, the first :data:`MAX_REJECTED_DETAIL` in file
        order. Each position where a packet was expected (start of file, end of a
        used packet) and none was usable counts once.
    bytes_skipped : int
        Bytes not in any used packet.
    skipped : tuple of (offset, n_bytes)
        The skipped byte ranges.
    overlap_pixels : int
        Pixels received more than once.
    conflict_pixels : int
        Pixels received with different values (quality bit 4).
    missing_pixels : int
        Pixels no used packet covered (quality bit 2).
    snips, snips_complete : int
        Snips seen, and those with every pixel received.
    resynchronised : bool
        True when the chain of packets broke and the file was scanned.
    warnings : tuple of str
        Other remarks (e.g. a file name that does not parse, a non-finite header value).
    rejected_total : int
        All rejected packets (-1: ``len(rejected)``).
    rejected_codes : tuple of (int, int)
        ``(reason code, count)`` over all rejected packets.
    """

    source: str | None
    n_bytes: int
    packets_used: int
    rejected: tuple[RejectedPacket, ...]
    bytes_skipped: int
    skipped: tuple[tuple[int, int], ...]
    overlap_pixels: int
    conflict_pixels: int
    missing_pixels: int
    snips: int
    snips_complete: int
    resynchronised: bool
    warnings: tuple[str, ...] = ()
    rejected_total: int = -1
    rejected_codes: tuple[tuple[int, int], ...] = ()

    @property
    def packets_rejected(self) -> int:
        """Number of rejected packets (all of them; ``rejected`` details the first
        :data:`MAX_REJECTED_DETAIL`)."""
        return len(self.rejected) if self.rejected_total < 0 else self.rejected_total

    def rejected_by_reason(self) -> dict[str, int]:
        """Rejected packets counted by reason (the :data:`REASONS` text), all of them."""
        out: dict[str, int] = {}
        if self.rejected_codes:
            for code, n in self.rejected_codes:
                out[REASONS[code]] = out.get(REASONS[code], 0) + n
            return out
        for r in self.rejected:
            out[REASONS[r.code]] = out.get(REASONS[r.code], 0) + 1
        return out

    def counts(self) -> dict[str, int]:
        """The headline counts (what goes into the FITS header)."""
        return {
            "packets_used": self.packets_used, "packets_rejected": self.packets_rejected,
            "bytes_skipped": self.bytes_skipped, "overlap_pixels": self.overlap_pixels,
            "conflict_pixels": self.conflict_pixels, "missing_pixels": self.missing_pixels,
            "snips": self.snips, "snips_complete": self.snips_complete,
        }


@dataclass
class NavImage:
    """A decoded NAV image.

    Attributes
    ----------
    image : numpy.ndarray
        uint16 (1008, 1008), science orientation (as the archive FITS files);
        missing pixels are 0.
    flags : numpy.ndarray
        uint8 quality map, science orientation: 2 missing, 4 overlap conflict.
    raw_image, raw_flags : numpy.ndarray
        The same in the raw frame, as transmitted (line 0 at the top).
    snips : numpy.ndarray
        Structured array (:data:`SNIP_DTYPE`), one row per snip in order of
        first appearance in the file.
    header : NavHeader
        Per-image values.
    report : DecodeReport
        What was used, rejected, skipped.
    filename : NavFileName or None
        The parsed file name, when it parses.
    source : str or None
        The file decoded.
    """

    image: np.ndarray
    flags: np.ndarray
    raw_image: np.ndarray
    raw_flags: np.ndarray
    snips: np.ndarray
    header: NavHeader
    report: DecodeReport
    filename: NavFileName | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def instrument(self) -> str:
        """NAVHRI, NAVMRI or NAVITS."""
        return self.header.instrument

    @property
    def missing(self) -> np.ndarray:
        """Boolean mask of missing pixels, science orientation."""
        return (self.flags & FLAG_MISSING) != 0


# --------------------------------------------------------------------------- input

def _read_source(source: Any, name: str | None) -> tuple[bytes | bytearray | memoryview, str | None]:
    if isinstance(source, (str, os.PathLike)):
        path = require_file(source, "raw NAV file")
        try:
            return path.read_bytes(), name or str(path)
        except OSError as exc:
            raise NavDecodeError(path, f"cannot read ({exc})") from exc
    if isinstance(source, (bytes, bytearray)):
        return source, name
    if isinstance(source, memoryview):
        return source.cast("B") if source.format != "B" else source, name
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("decode: the file object must be opened in binary mode")
        return data, name or getattr(source, "name", None)
    raise TypeError(f"decode: source must be a path, bytes or a binary file, not {type(source).__name__}")


def _normalise_instrument(instrument: str) -> str:
    text = instrument.strip().upper()
    for candidate in (text, "NAV" + text, "NAV" + text.replace("HRIV", "HRI")):
        if candidate in fmt.INSTRUMENT_CODES:
            return candidate
    if text in fmt.INSTRUMENT_LETTERS:
        return fmt.INSTRUMENT_LETTERS[text]
    raise ValueError(f"unknown NAV instrument {instrument!r}: use NAVHRI, NAVMRI or NAVITS")


# --------------------------------------------------------------------------- packets

_DET_OFF = fmt.HEADER_DTYPE.fields["detector"][1]
_COMP_OFF = fmt.HEADER_DTYPE.fields["compression"][1]
_DET_OK = np.zeros(256, bool)
_DET_OK[list(fmt.DETECTORS)] = True
_COMP_OK = np.zeros(256, bool)
_COMP_OK[list(fmt.COMPRESSION_CODES)] = True
_SIG0, _SIG1 = fmt.IMAGE_SIGNATURE_BYTES
_NLINES, _NPIXELS = fmt.FRAME_SHAPE


def _windows(u8: np.ndarray) -> np.ndarray:
    """View (n - 79, 80) of every 80-byte window of ``u8`` (no copy)."""
    if u8.size < fmt.HEADER_SIZE:
        return np.zeros((0, fmt.HEADER_SIZE), np.uint8)
    return np.lib.stride_tricks.sliding_window_view(u8, fmt.HEADER_SIZE)


def _gather(u8: np.ndarray, offsets: np.ndarray, windows: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Header bytes (n, 80) and the structured headers (n,) at ``offsets``."""
    if not offsets.size:
        raw = np.zeros((0, fmt.HEADER_SIZE), np.uint8)
    else:
        raw = (_windows(u8) if windows is None else windows)[offsets]
    return raw, raw.view(fmt.HEADER_DTYPE).reshape(-1)


@dataclass
class _Packets:
    """Validated geometry of packets (int64 arrays, 0-based coordinates)."""

    offset: np.ndarray
    length: np.ndarray
    left: np.ndarray
    right: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    start: np.ndarray
    npix: np.ndarray
    reason: np.ndarray

    def take(self, sel) -> _Packets:
        return _Packets(**{k: v[sel] for k, v in self.__dict__.items()})


def _validate(h: np.ndarray, offsets: np.ndarray, n_bytes: int) -> _Packets:
    """Check headers against the spec's rules; reason code 0 = valid."""
    length = h["length"].astype(np.int64)
    left = h["left"].astype(np.int64) - fmt.INDEX_BASE
    right = h["right"].astype(np.int64) - fmt.INDEX_BASE
    top = h["top"].astype(np.int64) - fmt.INDEX_BASE
    bottom = h["bottom"].astype(np.int64) - fmt.INDEX_BASE
    fpix = h["first_pixel"].astype(np.int64) - fmt.INDEX_BASE
    fline = h["first_line"].astype(np.int64) - fmt.INDEX_BASE
    width = right - left + 1
    start = (fline - top) * width + (fpix - left)
    npix = (length - fmt.HEADER_SIZE) // fmt.PIXEL_DTYPE.itemsize
    reason = np.zeros(h.shape, np.uint8)
    checks = (
        (2, (length < fmt.MIN_PACKET_LENGTH) | (length > fmt.MAX_PACKET_LENGTH) | (length % 2 == 1)),
        (3, ~_DET_OK[h["detector"]]),
        (4, ~_COMP_OK[h["compression"]]),
        (5, (left < 0) | (top < 0) | (right >= _NPIXELS) | (bottom >= _NLINES)
         | (left > right) | (top > bottom)),
        (6, (fpix < left) | (fpix > right) | (fline < top) | (fline > bottom)),
        (7, start + npix > width * (bottom - top + 1)),
        (8, offsets + length > n_bytes),
    )
    for code, bad in checks:
        reason[(reason == 0) & bad] = code
    return _Packets(offsets.astype(np.int64), length, left, right, top, bottom, start, npix, reason)


def _walk_chain(data, n_bytes: int, u8: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Offsets of packets read back to back from 0 while lengths look sane; and where it stopped.

    A loop over the length fields; inside a run of packets of one length (two in a
    row) the rest of the run is checked in one vectorised step.
    """
    unpack = fmt.LENGTH_STRUCT.unpack_from
    lo, hi = fmt.MIN_PACKET_LENGTH, fmt.MAX_PACKET_LENGTH
    if u8 is None:
        u8 = np.frombuffer(data, np.uint8)
    lengths_be = fmt.LENGTH_STRUCT.format.startswith(">")
    pieces: list[np.ndarray] = []
    offsets: list[int] = []
    append = offsets.append
    o = 0
    prev = -1
    last = n_bytes - fmt.HEADER_SIZE
    while o <= last:
        length = unpack(data, o)[0]
        if length < lo or length > hi or length & 1 or o + length > n_bytes:
            break
        append(o)
        o += length
        if length == prev and (n_bytes - o) // length >= 8:
            ks = o + length * np.arange((n_bytes - o) // length, dtype=np.int64)
            a, b = (ks, ks + 1) if lengths_be else (ks + 1, ks)
            same = ((u8[a].astype(np.int64) << 8) | u8[b]) == length
            j = int(np.argmin(same)) if not same.all() else same.size
            if j:
                if offsets:
                    pieces.append(np.array(offsets, np.int64))
                    offsets.clear()
                pieces.append(ks[:j])
                o += j * length
        prev = length
    if offsets or not pieces:
        pieces.append(np.array(offsets, np.int64))
    return np.concatenate(pieces) if len(pieces) > 1 else pieces[0], o


def _differing_fields(h: np.ndarray, ref: np.ndarray) -> list[str]:
    return [name for name in fmt.IMAGE_FIELDS
            if h[name].tobytes() != ref[name].tobytes()]


@dataclass
class _Selection:
    used: _Packets
    header: np.ndarray
    rejected: list[RejectedPacket]
    resynchronised: bool
    rejected_total: int = -1
    rejected_codes: tuple[tuple[int, int], ...] = ()


#: odd 64-bit multipliers of the signature hash (one per 8-byte word of bytes 2..67, padded)
_HASH_MULT = (np.arange(1, 10, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
_SIG_WORDS = -(-(_SIG1 - _SIG0) // 8)


def _signature_hash(hbytes: np.ndarray) -> np.ndarray:
    """A 64-bit hash of the per-image bytes (2..67) of each header row (exactness is
    checked afterwards against the reference bytes)."""
    block = np.zeros((hbytes.shape[0], 8 * _SIG_WORDS), np.uint8)
    block[:, :_SIG1 - _SIG0] = hbytes[:, _SIG0:_SIG1]
    words = block.view("<u8")
    with np.errstate(over="ignore"):
        mixed = words * _HASH_MULT[:_SIG_WORDS]
        mixed ^= mixed >> np.uint64(29)
        return (mixed * _HASH_MULT[::-1][:_SIG_WORDS]).sum(axis=1, dtype=np.uint64)


def _scan(u8: np.ndarray, windows: np.ndarray, n_bytes: int):
    """The resynchronising scan, in chunks: every offset whose 80 bytes are a
    structurally valid header (reason 0, or 8: data past the end of the file).

    Returns offsets (int64), reason (uint8), detector (uint8), signature hash (uint64);
    the memory is a few bytes per structurally valid header plus one chunk.
    """
    span = n_bytes - fmt.HEADER_SIZE + 1
    offs, reasons, dets, sigs = [], [], [], []
    step = SCAN_CHUNK * 16
    for a in range(0, max(span, 0), step):
        b = min(span, a + step)
        maybe = _DET_OK[u8[_DET_OFF + a:_DET_OFF + b]] & _COMP_OK[u8[_COMP_OFF + a:_COMP_OFF + b]]
        cand = np.flatnonzero(maybe) + a
        for c0 in range(0, cand.size, SCAN_CHUNK):
            c = cand[c0:c0 + SCAN_CHUNK].astype(np.int64)
            hb, h = _gather(u8, c, windows)
            pk = _validate(h, c, n_bytes)
            keep = (pk.reason == 0) | (pk.reason == 8)
            if keep.any():
                offs.append(c[keep])
                reasons.append(pk.reason[keep])
                dets.append(h["detector"][keep])
                sigs.append(_signature_hash(hb[keep]))
    if not offs:
        return (np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.uint8),
                np.zeros(0, np.uint64))
    return (np.concatenate(offs), np.concatenate(reasons), np.concatenate(dets),
            np.concatenate(sigs))


def _consensus_hash(sig: np.ndarray) -> np.uint64:
    """The most common hash (ties: the one seen first in the file); ``sig`` in file order."""
    order = np.argsort(sig, kind="stable")
    ss = sig[order]
    starts = np.flatnonzero(np.concatenate(([True], ss[1:] != ss[:-1])))
    counts = np.diff(np.append(starts, ss.size))
    best = np.flatnonzero(counts == counts.max())
    first_pos = order[starts[best]]          # stable sort: first occurrence in file order
    return ss[starts[best[np.argmin(first_pos)]]]


def _select_packets(data, u8: np.ndarray, label: str | None,
                    instrument: str | None) -> _Selection:
    n_bytes = u8.size
    want = fmt.INSTRUMENT_CODES[instrument] if instrument else None
    windows = _windows(u8)

    # fast path: the chain of packets covers the file, every header valid and agreeing
    offsets, stop = _walk_chain(data, n_bytes, u8)
    if stop == n_bytes and offsets.size:
        hbytes, h = _gather(u8, offsets, windows)
        pk = _validate(h, offsets, n_bytes)
        if not pk.reason.any() and (want is None or int(h["detector"][0]) == want):
            sig = hbytes[:, _SIG0:_SIG1]
            if (sig == sig[0]).all():
                return _Selection(pk, h[0].copy(), [], False)

    # resynchronise: every offset whose 80 bytes pass validation and agree (chunked scan)
    off, reason, det, sig = _scan(u8, windows, n_bytes)
    valid = reason == 0
    if want is not None:
        wrong = valid & (det != want)
        reason[wrong] = 11
        valid &= ~wrong
        n_other = int(np.count_nonzero(wrong))
    else:
        n_other = 0
    if not valid.any():
        _raise_nothing_valid(data, u8, label, instrument)
    ref_hash = _consensus_hash(sig[valid])
    agree = np.flatnonzero(valid & (sig == ref_hash))
    ref_row = np.array(windows[off[agree[0]]])
    ref_sig = ref_row[_SIG0:_SIG1]
    for c0 in range(0, agree.size, SCAN_CHUNK):  # exactness: compare the bytes, not the hash
        idx = agree[c0:c0 + SCAN_CHUNK]
        same = (windows[off[idx]][:, _SIG0:_SIG1] == ref_sig).all(axis=1)
        reason[idx[~same]] = 9
    reason[valid & (sig != ref_hash)] = 9
    agree = np.flatnonzero(reason == 0)
    if want is not None and n_other and (agree.size < MIN_CONSISTENT_PACKETS
                                         or agree.size < n_other):
        others = sorted({fmt.DETECTORS[int(d)] for d in np.unique(det[reason == 11])})
        raise NavDecodeError(label, f"no valid {instrument} packet: {agree.size} consistent "
                             f"{instrument} header(s) (at least {MIN_CONSISTENT_PACKETS} needed) "
                             f"against {n_other} valid packets of {', '.join(others)}")
    # a packet whose data run over the next agreeing header was cut short (chunked)
    used_parts = []
    for c0 in range(0, agree.size, SCAN_CHUNK):
        idx = agree[c0:c0 + SCAN_CHUNK]
        a_off = off[idx]
        hi, lo = (a_off, a_off + 1) if fmt.BYTE_ORDER == ">" else (a_off + 1, a_off)
        ends = a_off + ((u8[hi].astype(np.int64) << 8) | u8[lo])
        nxt = np.empty_like(a_off)
        nxt[:-1] = a_off[1:]
        nxt[-1] = off[agree[c0 + SCAN_CHUNK]] if c0 + SCAN_CHUNK < agree.size else \
            np.iinfo(np.int64).max
        cut = ends > nxt
        reason[idx[cut]] = 10
        used_parts.append(a_off[~cut])
    del agree, sig, det
    used_off = np.concatenate(used_parts)
    _, h_used = _gather(u8, used_off, windows)
    used = _validate(h_used, used_off, n_bytes)
    ref = h_used[0].copy()

    # report: what stood where a packet was expected, and valid packets not used
    u_end = used.offset + used.length
    expected = np.setdiff1d(np.union1d([0], u_end), np.append(used.offset, n_bytes))
    # structurally valid headers not used and not inside a used packet ("extra"), in chunks:
    # counted by reason, the first MAX_REJECTED_DETAIL kept for the detailed list
    extra_first: list[np.ndarray] = []
    n_first = 0
    extra_codes = np.zeros(len(REASONS) + 1, np.int64)
    for c0 in range(0, off.size, SCAN_CHUNK):
        o = off[c0:c0 + SCAN_CHUNK]
        rs = reason[c0:c0 + SCAN_CHUNK]
        sv = (rs == 8) | (rs == 9) | (rs == 10) | (rs == 11)
        k = np.searchsorted(used.offset, o, side="right") - 1
        inside = (k >= 0) & (o < u_end[np.clip(k, 0, None)])
        keep = sv & ~inside
        extra_codes += np.bincount(rs[keep], minlength=extra_codes.size)
        if n_first < MAX_REJECTED_DETAIL and keep.any():
            extra_first.append(o[keep][:MAX_REJECTED_DETAIL - n_first])
            n_first += extra_first[-1].size
    extra_first_arr = np.concatenate(extra_first) if extra_first else np.zeros(0, np.int64)
    # expected positions that are also "extra" (a scanned header there) count once
    at = np.searchsorted(off, expected)
    at_c = np.clip(at, 0, max(off.size - 1, 0))
    scanned = (at < off.size) & (off[at_c] == expected) if off.size else np.zeros(expected.size, bool)
    rs_e = reason[at_c] if off.size else np.zeros(expected.size, np.uint8)
    k = np.searchsorted(used.offset, expected, side="right") - 1
    inside_e = (k >= 0) & (expected < u_end[np.clip(k, 0, None)])
    in_extra = scanned & np.isin(rs_e, (8, 9, 10, 11)) & ~inside_e
    only_expected = expected[~in_extra]
    total = int(only_expected.size + extra_codes.sum())
    detail = np.union1d(only_expected, extra_first_arr)[:MAX_REJECTED_DETAIL].tolist()
    rejected = _explain(detail, u8, off, reason, ref, next_of=used.offset, windows=windows)
    codes = extra_codes.copy()
    explained = {r.offset: r.code for r in rejected}
    missing_codes = [int(p) for p in only_expected if int(p) not in explained]
    for r in _explain(missing_codes, u8, off, reason, ref, next_of=used.offset, windows=windows):
        explained[r.offset] = r.code
    for p in only_expected.tolist():
        codes[explained[int(p)]] += 1
    uc = np.flatnonzero(codes)
    cc = codes[uc]
    return _Selection(used, ref, rejected, True, total,
                      tuple((int(a), int(b)) for a, b in zip(uc, cc, strict=True)))


def _explain(positions, u8, off: np.ndarray, reason: np.ndarray, ref, next_of,
             windows=None) -> list[RejectedPacket]:
    """Rejected-packet records for byte ``positions`` (scanned reasons from ``off``/``reason``)."""
    n_bytes = u8.size
    out = []
    full = [p for p in positions if p + fmt.HEADER_SIZE <= n_bytes]
    if full:
        pos = np.array(full, np.int64)
        _, hh = _gather(u8, pos, windows)
        chk = _validate(hh, pos, n_bytes)
        at = np.searchsorted(off, pos)
        at_ok = (at < off.size)
        scanned = np.zeros(pos.size, np.int64)
        if off.size:
            hit = at_ok & (off[np.clip(at, 0, off.size - 1)] == pos)
            scanned[hit] = reason[at[hit]]
    index = {p: k for k, p in enumerate(full)}  # not list.index: linear per position
    for p in positions:
        if p + fmt.HEADER_SIZE > n_bytes:
            out.append(RejectedPacket(p, f"{REASONS[1]} ({n_bytes - p} bytes left)", 1))
            continue
        k = index[p]
        code = int(chk.reason[k]) or int(scanned[k]) or 9
        detail = REASONS[code]
        if code == 9:
            diff = _differing_fields(hh[k], ref)
            if diff:
                detail += f" ({', '.join(diff)})"
        elif code == 10:
            j = np.searchsorted(next_of, p, side="right")
            if j < next_of.size:
                detail += f" (next header at offset {int(next_of[j])})"
        elif code == 11:
            detail += f" (detector code {int(hh[k]['detector'])})"
        elif code == 2:
            detail += f" (length {int(hh[k]['length'])})"
        elif code == 8:
            detail += f" (length {int(hh[k]['length'])}, {n_bytes - p} bytes left)"
        out.append(RejectedPacket(p, detail, code))
    return out


def _raise_nothing_valid(data, u8, label, instrument) -> None:
    n_bytes = u8.size
    if n_bytes == 0:
        raise NavDecodeError(label, "empty file: no NAV packet")
    if instrument:
        raise NavDecodeError(label, f"no valid {instrument} packet (instrument {instrument} "
                             f"expected) in {n_bytes} bytes")
    if n_bytes < fmt.HEADER_SIZE:
        first = REASONS[1]
    else:
        _, h0 = _gather(u8, np.zeros(1, np.int64))
        first = REASONS[int(_validate(h0, np.zeros(1, np.int64), n_bytes).reason[0]) or 9]
    raise NavDecodeError(label, f"no valid NAV packet in {n_bytes} bytes "
                         f"(the header at offset 0: {first})")


# --------------------------------------------------------------------------- pixels

def _processing_order(pk: _Packets, snip_id: np.ndarray, n_snips: int) -> tuple[np.ndarray, np.ndarray]:
    """Packet order of trust, and snip order of trust (see module docstring)."""
    m = pk.offset.size
    support = np.bincount(snip_id, minlength=n_snips)
    first_pos = np.full(n_snips, m, np.int64)
    np.minimum.at(first_pos, snip_id, np.arange(m))
    # packets whose range partly overlaps a neighbour's range in the same snip
    penalty = np.zeros(m, np.int64)
    end = pk.start + pk.npix
    if m > 1:
        s = np.lexsort((end, pk.start, snip_id))
        same = snip_id[s[1:]] == snip_id[s[:-1]]
        distinct = (pk.start[s[1:]] != pk.start[s[:-1]]) | (end[s[1:]] != end[s[:-1]])
        partial = same & distinct & (pk.start[s[1:]] < end[s[:-1]])
        np.add.at(penalty, s[1:][partial], 1)
        np.add.at(penalty, s[:-1][partial], 1)
    # snips whose distinct packet ranges tile the whole rectangle exactly
    # (start, end < 2**21: one int64 key per (snip, start, end))
    key = (snip_id.astype(np.int64) << 42) | (pk.start << 21) | end
    key.sort()
    ranges = key[np.concatenate(([True], key[1:] != key[:-1]))]
    r_snip, r_len = ranges >> 42, (ranges & 0x1FFFFF) - ((ranges >> 21) & 0x1FFFFF)
    covered = np.bincount(r_snip, weights=r_len, minlength=n_snips)
    area = np.zeros(n_snips, np.int64)
    area[snip_id] = (pk.right - pk.left + 1) * (pk.bottom - pk.top + 1)
    clean = (covered == area) & (np.bincount(snip_id, weights=penalty, minlength=n_snips) == 0)
    snip_order = np.lexsort((first_pos, ~clean, -support))
    snip_rank = np.empty(n_snips, np.int64)
    snip_rank[snip_order] = np.arange(n_snips)
    order = np.lexsort((pk.offset, penalty, snip_rank[snip_id]))
    return order, snip_order


class _Scratch(threading.local):
    """Per-thread work buffers reused between calls (no page faults on every decode)."""

    def __init__(self) -> None:
        self.arrays: dict[tuple[str, str], np.ndarray] = {}

    def get(self, name: str, size: int, dtype, zero: bool = True) -> np.ndarray:
        """A 1-D buffer of ``size`` elements, zeroed unless ``zero`` is False (reused when
        large enough)."""
        key = (name, np.dtype(dtype).str)
        buf = self.arrays.get(key)
        if buf is None or buf.size < size:
            buf = np.zeros(max(size, 1), dtype)
            self.arrays[key] = buf
            return buf[:size]
        out = buf[:size]
        if zero:
            out.fill(0)
        return out


_SCRATCH = _Scratch()


def _flat_rows(a: np.ndarray) -> np.ndarray | None:
    """A 1-D view of a block of whole rows (None when the strides do not allow one)."""
    v = a.view()
    try:
        v.shape = (-1,)
    except AttributeError:
        return None
    return v


def _place(u8: np.ndarray, pk: _Packets, instrument: str, image: np.ndarray | None = None):
    """Raw image (a view of the science ``image``), reception count, conflict mask, snip table.

    The science image is allocated here (or given) and the raw frame is its
    flipped view, so pixels are written once, into the final array.
    """
    keys = ((pk.left * _NPIXELS + pk.right) * _NLINES + pk.top) * _NLINES + pk.bottom
    if keys.size and (keys == keys[0]).all():  # one snip (full frames): no sort needed
        snip_id, n_snips = np.zeros(keys.size, np.int64), 1
    else:
        uniq, snip_id = np.unique(keys, return_inverse=True)
        snip_id = snip_id.reshape(-1)
        n_snips = uniq.size
    order, snip_order = _processing_order(pk, snip_id, n_snips)
    if image is None:
        image = np.zeros(fmt.FRAME_SHAPE, np.uint16)
    raw = fmt.science_to_raw_view(image, instrument)
    count = _SCRATCH.get("count", _NLINES * _NPIXELS, np.uint16).reshape(fmt.FRAME_SHAPE)
    conflict = _SCRATCH.get("conflict", _NLINES * _NPIXELS, bool).reshape(fmt.FRAME_SHAPE)
    if n_snips > SNIP_LOOP_MAX:
        rows, overlapped = _place_vectorised(u8, pk, snip_id, n_snips, order, raw, count,
                                             conflict)
    else:
        rows, overlapped = _place_loop(u8, pk, snip_id, n_snips, order, snip_order, raw, count,
                                       conflict)
    first_off = rows["first_offset"]
    lm0, lm1, pm0, pm1 = fmt.raw_rect_to_science(rows["raw_left"], rows["raw_right"],
                                                 rows["raw_top"], rows["raw_bottom"], instrument)
    rows["sci_line_min"], rows["sci_line_max"] = lm0, lm1
    rows["sci_pixel_min"], rows["sci_pixel_max"] = pm0, pm1
    table_order = np.argsort(first_off, kind="stable")
    rows = rows[table_order]
    rows["snip"] = np.arange(n_snips)
    return image, raw, count, conflict, rows, overlapped


def _snip_rows(pk: _Packets, snip_id: np.ndarray, n_snips: int) -> np.ndarray:
    rows = np.zeros(n_snips, SNIP_DTYPE)
    rows["raw_left"][snip_id] = pk.left
    rows["raw_right"][snip_id] = pk.right
    rows["raw_top"][snip_id] = pk.top
    rows["raw_bottom"][snip_id] = pk.bottom
    rows["width"] = rows["raw_right"] - rows["raw_left"] + 1
    rows["height"] = rows["raw_bottom"] - rows["raw_top"] + 1
    rows["n_pixels"] = rows["width"].astype(np.int32) * rows["height"]
    rows["n_packets"] = np.bincount(snip_id, minlength=n_snips)
    first_off = np.full(n_snips, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first_off, snip_id, pk.offset)
    rows["first_offset"] = first_off
    return rows


def _place_loop(u8, pk, snip_id, n_snips, order, snip_order, raw, count, conflict):
    """Placement with a loop over snips and runs (few snips: full frames, AutoNav layouts)."""
    # runs: consecutive in processing order, in the file, in the raster; same snip and length
    o, length, start, npix = pk.offset[order], pk.length[order], pk.start[order], pk.npix[order]
    sid = snip_id[order]
    if order.size > 1:
        brk = ((sid[1:] != sid[:-1]) | (o[1:] != o[:-1] + length[:-1])
               | (start[1:] != start[:-1] + npix[:-1]) | (length[1:] != length[:-1]))
        bounds = np.concatenate(([0], np.flatnonzero(brk) + 1, [order.size]))
    else:
        bounds = np.array([0, order.size])
    runs_by_snip: dict[int, list[tuple[int, int]]] = {}
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        runs_by_snip.setdefault(int(sid[a]), []).append((a, b))

    rows = _snip_rows(pk, snip_id, n_snips)
    hdr = fmt.HEADER_SIZE
    psize = fmt.PIXEL_DTYPE.itemsize
    overlapped = False
    for n_done, s in enumerate(snip_order.tolist()):
        r = rows[s]
        left, right, top, bottom = (int(r["raw_left"]), int(r["raw_right"]), int(r["raw_top"]),
                                    int(r["raw_bottom"]))
        w, h = right - left + 1, bottom - top + 1
        region = raw[top:bottom + 1, left:right + 1]
        rcount = count[top:bottom + 1, left:right + 1]
        runs = runs_by_snip[s]
        direct = None
        # whole rows, nothing there yet (the first snip: the count buffer is fresh): in place
        empty = w == _NPIXELS and (n_done == 0 or not rcount.any())
        if empty:
            direct = _flat_rows(region)
        # runs whose raster ranges do not overlap: no reception test needed
        spans = sorted((int(start[a]), int(start[a]) + (b - a) * int(npix[a])) for a, b in runs)
        disjoint = all(e0 <= s1 for (_, e0), (s1, _) in itertools.pairwise(spans))
        if empty and disjoint:
            # in place, or (HRIV: rows reversed in memory) through one reused row buffer
            covered = sum(e - b0 for b0, e in spans) == w * h  # every pixel written below
            target = direct if direct is not None else _SCRATCH.get("rows", w * h, np.uint16,
                                                                    zero=not covered)
            cnt = _flat_rows(rcount)
            for a, b in runs:
                k, n, ln = b - a, int(npix[a]), int(length[a])
                first, s0 = int(o[a]), int(start[a])
                block = u8[first:first + k * ln].reshape(k, ln)[:, hdr:hdr + n * psize]
                target[s0:s0 + k * n].reshape(k, n)[...] = block.view(fmt.PIXEL_DTYPE)
                cnt[s0:s0 + k * n] = 1
            if direct is None:
                region[...] = target.reshape(h, w)
            received = sum(e - b0 for b0, e in spans)
            rows["n_received"][s] = received
            rows["complete"][s] = received == w * h
            continue
        if direct is not None:
            buf, cnt = direct, _flat_rows(rcount)
        else:
            buf = _SCRATCH.get("snip", w * h, np.uint16)
            cnt = _SCRATCH.get("snipcount", w * h, np.uint16)
        overlapped = overlapped or not disjoint or n_done > 0
        sconf = None
        for a, b in runs:
            k, n, ln = b - a, int(npix[a]), int(length[a])
            first, s0 = int(o[a]), int(start[a])
            block = u8[first:first + k * ln].reshape(k, ln)[:, hdr:hdr + n * psize]
            vals = block.view(fmt.PIXEL_DTYPE)
            seg = buf[s0:s0 + k * n]
            segc = cnt[s0:s0 + k * n]
            if segc.any():
                seen = segc > 0
                new = vals.reshape(-1).astype(np.uint16)
                diff = seen & (seg != new)
                if diff.any():
                    if sconf is None:
                        sconf = np.zeros(w * h, bool)
                    sconf[s0:s0 + k * n] |= diff
                np.copyto(seg, new, where=~seen)
            else:
                seg.reshape(k, n)[...] = vals
            segc += 1
        if direct is not None:
            received = int(np.count_nonzero(cnt))
        else:
            big = buf.reshape(h, w)
            bigc = cnt.reshape(h, w)
            got = bigc > 0
            prior = rcount > 0
            if prior.any():
                both = got & prior
                conflict[top:bottom + 1, left:right + 1] |= both & (region != big)
                np.copyto(region, big, where=got & ~prior)
            else:
                np.copyto(region, big, where=got)
            rcount += bigc
            received = int(np.count_nonzero(got))
        if sconf is not None:
            conflict[top:bottom + 1, left:right + 1] |= sconf.reshape(h, w)
        rows["n_received"][s] = received
        rows["complete"][s] = received == w * h
    return rows, overlapped


def _place_vectorised(u8, pk, snip_id, n_snips, order, raw, count, conflict):
    """Placement without a loop over snips: pixels of whole snips in steps of
    :data:`PLACE_CHUNK`, first in the order of trust wins, every differing value a conflict.

    Same result as :func:`_place_loop` (tested); its cost per snip is a few array
    elements, not a Python iteration.
    """
    rows = _snip_rows(pk, snip_id, n_snips)
    npix_o = pk.npix[order]
    sid_o = snip_id[order]
    # chunk boundaries at snip boundaries (packets of a snip are consecutive in ``order``)
    cum = np.concatenate(([0], np.cumsum(npix_o)))
    snip_start = np.flatnonzero(np.concatenate(([True], sid_o[1:] != sid_o[:-1])))
    bounds = [0]
    for b in snip_start[1:].tolist():
        if cum[b] - cum[bounds[-1]] >= PLACE_CHUNK:
            bounds.append(b)
    bounds.append(order.size)
    raw_flat = raw  # 2-D view; index with (line, pixel)
    received = np.zeros(n_snips, np.int64)
    width = (pk.right - pk.left + 1)
    hdr = fmt.HEADER_SIZE
    for a, b in itertools.pairwise(bounds):
        sel = order[a:b]
        n = pk.npix[sel]
        total = int(n.sum())
        if total == 0:
            continue
        rep = np.repeat(np.arange(sel.size), n)
        pos = np.arange(total, dtype=np.int64) - np.repeat(cum[a:b] - cum[a], n)
        p_sel = sel[rep]
        raster = pk.start[p_sel] + pos
        w = width[p_sel]
        line = pk.top[p_sel] + raster // w
        pix = pk.left[p_sel] + raster % w
        boff = pk.offset[p_sel] + hdr + 2 * pos
        hi, lo = (boff, boff + 1) if fmt.BYTE_ORDER == ">" else (boff + 1, boff)
        values = (u8[hi].astype(np.uint16) << 8) | u8[lo]
        flat = line * _NPIXELS + pix
        del raster, w, boff, hi, lo, pos
        # first occurrence of each pixel in this step (stable: order of trust)
        srt = np.argsort(flat, kind="stable")
        fs = flat[srt]
        head = np.concatenate(([True], fs[1:] != fs[:-1]))
        starts = np.flatnonzero(head)
        upix = fs[starts]
        runs = np.diff(np.append(starts, fs.size))
        ul, up = upix // _NPIXELS, upix % _NPIXELS
        fresh = count[ul, up] == 0
        raw_flat[ul[fresh], up[fresh]] = values[srt[starts[fresh]]]
        count[ul, up] = np.minimum(count[ul, up].astype(np.int64) + runs, 65535)
        kept = raw_flat[line, pix]
        diff = values != kept
        if diff.any():
            conflict[line[diff], pix[diff]] = True
        # pixels of each snip received (distinct per snip)
        sk = snip_id[p_sel].astype(np.int64) * (_NLINES * _NPIXELS) + flat
        us = np.unique(sk)
        received += np.bincount(us // (_NLINES * _NPIXELS), minlength=n_snips)
    rows["n_received"] = received
    rows["complete"] = received == rows["n_pixels"]
    return rows, True


def _skipped_ranges(used: _Packets, n_bytes: int) -> tuple[tuple[int, int], ...]:
    order = np.argsort(used.offset)
    lo, hi = used.offset[order], (used.offset + used.length)[order]
    gaps_start = np.concatenate(([0], hi))
    gaps_end = np.concatenate((lo, [n_bytes]))
    keep = gaps_end > gaps_start
    return tuple(zip(gaps_start[keep].tolist(), (gaps_end - gaps_start)[keep].tolist(), strict=True))


def _make_header(h: np.ndarray) -> NavHeader:
    instrument = fmt.DETECTORS[int(h["detector"])]
    cl_raw = float(h["centroid_line"]) - fmt.INDEX_BASE
    cp_raw = float(h["centroid_pixel"]) - fmt.INDEX_BASE
    cl, cp = fmt.raw_point_to_science(cl_raw, cp_raw, instrument)
    return NavHeader(
        instrument=instrument, detector=int(h["detector"]), compression=int(h["compression"]),
        image_number=int(h["image_number"]), image_type=int(h["image_type"]),
        target_id=int(h["target_id"]), pseudo_et=float(h["pseudo_et"]), ra=float(h["ra"]),
        dec=float(h["dec"]), twist=float(h["twist"]), rate_x=float(h["rate_x"]),
        rate_y=float(h["rate_y"]), rate_z=float(h["rate_z"]), exposure=float(h["exposure"]),
        centroid_line_raw=cl_raw, centroid_pixel_raw=cp_raw, centroid_line=float(cl),
        centroid_pixel=float(cp),
    )


# --------------------------------------------------------------------------- API

def decode(source: str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO, *,
           instrument: str | None = None, name: str | None = None) -> NavImage:
    """Decode one raw NAV file into a :class:`NavImage`.

    Parameters
    ----------
    source : path, bytes or binary file
        The raw telemetry (packets back to back). A path is opened read-only.
    instrument : str, optional
        Expected instrument (NAVHRI, NAVMRI, NAVITS; MRI, ITS, HRIV or the file
        name letter also accepted): packets of another detector are rejected.
        By default the instrument comes from the packets.
    name : str, optional
        File name to parse (``NAV_OM_9000385.bin_2005_185T03_38_58.000``) and to
        name in messages; defaults to the path or the file object's name.

    Returns
    -------
    NavImage
        Image and quality map (science orientation), raw frame, snips, header,
        report, parsed file name.

    Raises
    ------
    NavDecodeError
        Naming the file, when no packet is valid (empty file, garbage, wrong
        instrument). Damage short of that is reported in ``.report``, never raised.
    EtalonInputError
        When a path does not exist or cannot be read.
    """
    data, label = _read_source(source, name)
    inst = _normalise_instrument(instrument) if instrument else None
    u8 = np.frombuffer(data, np.uint8)
    n_bytes = u8.size
    warnings: list[str] = []
    parsed = None
    if label is not None:
        try:
            parsed = parse_nav_filename(label)
        except NavFileNameError as exc:
            warnings.append(str(exc))

    sel = _select_packets(data, u8, label, inst)
    header = _make_header(sel.header)
    bad = [f for f in FLOAT_FIELDS if not math.isfinite(getattr(header, f))]
    if bad:  # the pixels stay good; the FITS header writes these values as undefined
        text = ("non-finite packet header value(s) " + ", ".join(
            f"{f} = {getattr(header, f)}" for f in bad) + ": written as undefined (HDRNONFN = T)")
        warnings.append(text)
        log.warning("%s: %s", label or "NAV data", text)
    if parsed is not None and parsed.instrument != header.instrument:
        warnings.append(f"file name says {parsed.instrument}, packets say {header.instrument} "
                        "(packets win)")
    image, raw, count, conflict, snips, overlapped = _place(u8, sel.used, header.instrument)
    flags = np.empty(fmt.FRAME_SHAPE, np.uint8)
    raw_flags = fmt.science_to_raw_view(flags, header.instrument)
    # missing (count 0) -> 2, written contiguously in science order
    np.equal(fmt.raw_to_science_view(count, header.instrument), 0, out=flags.view(bool))
    n_missing = int(np.count_nonzero(flags))
    if n_missing:
        np.left_shift(flags, 1, out=flags)  # True -> 2 = FLAG_MISSING
    n_conflict = n_overlap = 0
    if overlapped:  # pixels may have been received twice: count overlaps and conflicts
        n_conflict = int(np.count_nonzero(conflict))
        if n_conflict:
            raw_flags |= conflict.view(np.uint8) * FLAG_CONFLICT
        over = _SCRATCH.get("over", count.size, bool).reshape(count.shape)
        np.greater(count, 1, out=over)
        n_overlap = int(np.count_nonzero(over))
    report = DecodeReport(
        source=label, n_bytes=n_bytes, packets_used=int(sel.used.offset.size),
        rejected=tuple(sel.rejected),
        bytes_skipped=int(n_bytes - sel.used.length.sum()),
        skipped=_skipped_ranges(sel.used, n_bytes) if sel.resynchronised else (),
        overlap_pixels=n_overlap,
        conflict_pixels=n_conflict,
        missing_pixels=n_missing, snips=int(snips.size),
        snips_complete=int(np.count_nonzero(snips["complete"])),
        resynchronised=sel.resynchronised, warnings=tuple(warnings),
        rejected_total=sel.rejected_total, rejected_codes=sel.rejected_codes,
    )
    return NavImage(
        image=image, flags=flags, raw_image=raw, raw_flags=raw_flags, snips=snips,
        header=header, report=report, filename=parsed, source=label,
    )

