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

import os
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

import numpy as np

from etalon.fileio import EtalonInputError, require_file
from etalon.frame import FLAG_CONFLICT, FLAG_MISSING
from etalon.nav import format as fmt
from etalon.nav.filename import NavFileName, NavFileNameError, parse_nav_filename

__all__ = ["SNIP_DTYPE", "DecodeReport", "NavDecodeError", "NavHeader", "NavImage",
           "RejectedPacket", "decode"]


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
    def celestial_north_deg(self) -> float:
        """Celestial north clock angle, (270 - twist) mod 360, deg (Galileo convention)."""
        return float((270.0 - self.twist_deg) % 360.0)

    def as_dict(self) -> dict[str, Any]:
        """All values, plus the angles in degrees."""
        d = asdict(self)
        d.update(ra_deg=self.ra_deg, dec_deg=self.dec_deg, twist_deg=self.twist_deg,
                 celestial_north_deg=self.celestial_north_deg)
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
        Not used, with the reason. Each position where a packet was expected
        (start of file, end of a used packet) and none was usable counts once.
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
        Other remarks (e.g. a file name that does not parse).
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

    @property
    def packets_rejected(self) -> int:
        """Number of rejected packets."""
        return len(self.rejected)

    def rejected_by_reason(self) -> dict[str, int]:
        """Rejected packets counted by reason (the :data:`REASONS` text)."""
        out: dict[str, int] = {}
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

_U8_IDX = np.arange(fmt.HEADER_SIZE)
_DET_OFF = fmt.HEADER_DTYPE.fields["detector"][1]
_COMP_OFF = fmt.HEADER_DTYPE.fields["compression"][1]
_DET_OK = np.zeros(256, bool)
_DET_OK[list(fmt.DETECTORS)] = True
_COMP_OK = np.zeros(256, bool)
_COMP_OK[list(fmt.COMPRESSION_CODES)] = True
_SIG0, _SIG1 = fmt.IMAGE_SIGNATURE_BYTES
_NLINES, _NPIXELS = fmt.FRAME_SHAPE


def _gather(u8: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Header bytes (n, 80) and the structured headers (n,) at ``offsets``."""
    raw = u8[offsets[:, None] + _U8_IDX] if offsets.size else np.zeros((0, fmt.HEADER_SIZE), np.uint8)
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


def _walk_chain(data, n_bytes: int) -> tuple[np.ndarray, int]:
    """Offsets of packets read back to back from 0 while lengths look sane; and where it stopped."""
    unpack = fmt.LENGTH_STRUCT.unpack_from
    lo, hi = fmt.MIN_PACKET_LENGTH, fmt.MAX_PACKET_LENGTH
    offsets = []
    append = offsets.append
    o = 0
    last = n_bytes - fmt.HEADER_SIZE
    while o <= last:
        length = unpack(data, o)[0]
        if length < lo or length > hi or length & 1 or o + length > n_bytes:
            break
        append(o)
        o += length
    return np.array(offsets, dtype=np.int64), o


def _signature(hbytes: np.ndarray) -> np.ndarray:
    block = np.ascontiguousarray(hbytes[:, _SIG0:_SIG1])
    return block.view(f"V{_SIG1 - _SIG0}").reshape(-1)


def _consensus(sig: np.ndarray, first_index_order: np.ndarray) -> np.ndarray:
    """The most common signature (ties: the one seen first in the file)."""
    uniq, first, counts = np.unique(sig, return_index=True, return_counts=True)
    best = np.flatnonzero(counts == counts.max())
    pick = best[np.argmin(first_index_order[first[best]])]
    return uniq[pick]


def _differing_fields(h: np.ndarray, ref: np.ndarray) -> list[str]:
    return [name for name in fmt.IMAGE_FIELDS
            if h[name].tobytes() != ref[name].tobytes()]


@dataclass
class _Selection:
    used: _Packets
    header: np.ndarray
    rejected: list[RejectedPacket]
    resynchronised: bool


def _select_packets(data, u8: np.ndarray, label: str | None,
                    instrument: str | None) -> _Selection:
    n_bytes = u8.size
    want = fmt.INSTRUMENT_CODES[instrument] if instrument else None

    # fast path: the chain of packets covers the file, every header valid and agreeing
    offsets, stop = _walk_chain(data, n_bytes)
    if stop == n_bytes and offsets.size:
        hbytes, h = _gather(u8, offsets)
        pk = _validate(h, offsets, n_bytes)
        sig = _signature(hbytes)
        if (not pk.reason.any() and (sig == sig[0]).all()
                and (want is None or int(h["detector"][0]) == want)):
            return _Selection(pk, h[0], [], False)

    # resynchronise: every offset whose 80 bytes pass validation and agree
    if n_bytes >= fmt.HEADER_SIZE:
        span = n_bytes - fmt.HEADER_SIZE + 1
        maybe = _DET_OK[u8[_DET_OFF:_DET_OFF + span]] & _COMP_OK[u8[_COMP_OFF:_COMP_OFF + span]]
        cand = np.flatnonzero(maybe).astype(np.int64)
    else:
        cand = np.zeros(0, np.int64)
    hbytes, h = _gather(u8, cand)
    pk = _validate(h, cand, n_bytes)
    valid = pk.reason == 0
    if want is not None:
        wrong = valid & (h["detector"] != want)
        pk.reason[wrong] = 11
        valid &= ~wrong
    if not valid.any():
        _raise_nothing_valid(data, u8, label, instrument)
    sig = _signature(hbytes)
    idx_valid = np.flatnonzero(valid)
    ref_sig = _consensus(sig[idx_valid], idx_valid)
    disagree = valid & (sig != ref_sig)
    pk.reason[disagree] = 9
    agree = np.flatnonzero(valid & ~disagree)
    # a packet whose data run over the next agreeing header was cut short
    ends = pk.offset[agree] + pk.length[agree]
    next_start = np.append(pk.offset[agree][1:], np.iinfo(np.int64).max)
    cut = agree[ends > next_start]
    pk.reason[cut] = 10
    used_idx = agree[ends <= next_start]
    used = pk.take(used_idx)
    ref = h[used_idx[0]]

    # report: what stood where a packet was expected, and valid packets not used
    accepted = set(used.offset.tolist())
    expected = {0, *(used.offset + used.length).tolist()} - accepted - {n_bytes}
    spans_lo, spans_hi = used.offset, used.offset + used.length
    structurally_valid = np.flatnonzero(np.isin(pk.reason, (8, 9, 10, 11)))
    extra = [int(pk.offset[i]) for i in structurally_valid
             if not _inside(int(pk.offset[i]), spans_lo, spans_hi)]
    positions = sorted(expected | set(extra))
    rejected = _explain(positions, u8, pk, h, ref, next_of=used.offset)
    return _Selection(used, ref, rejected, True)


def _inside(offset: int, lo: np.ndarray, hi: np.ndarray) -> bool:
    k = np.searchsorted(lo, offset, side="right") - 1
    return bool(k >= 0 and offset < hi[k])


def _explain(positions, u8, pk: _Packets, h, ref, next_of) -> list[RejectedPacket]:
    n_bytes = u8.size
    out = []
    full = [p for p in positions if p + fmt.HEADER_SIZE <= n_bytes]
    if full:
        pos = np.array(full, np.int64)
        _, hh = _gather(u8, pos)
        chk = _validate(hh, pos, n_bytes)
        where = dict(zip(pk.offset.tolist(), pk.reason.tolist(), strict=True))
    index = {p: k for k, p in enumerate(full)}  # not list.index: linear per position
    for p in positions:
        if p + fmt.HEADER_SIZE > n_bytes:
            out.append(RejectedPacket(p, f"{REASONS[1]} ({n_bytes - p} bytes left)", 1))
            continue
        k = index[p]
        code = int(chk.reason[k]) or where.get(p, 9)
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
        raise NavDecodeError(label, f"no valid NAV packet of instrument {instrument} in {n_bytes} bytes")
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
    ranges = np.unique(np.stack([snip_id, pk.start, end], axis=1), axis=0)
    covered = np.bincount(ranges[:, 0], weights=ranges[:, 2] - ranges[:, 1], minlength=n_snips)
    area = np.zeros(n_snips, np.int64)
    area[snip_id] = (pk.right - pk.left + 1) * (pk.bottom - pk.top + 1)
    clean = (covered == area) & (np.bincount(snip_id, weights=penalty, minlength=n_snips) == 0)
    snip_order = np.lexsort((first_pos, ~clean, -support))
    snip_rank = np.empty(n_snips, np.int64)
    snip_rank[snip_order] = np.arange(n_snips)
    order = np.lexsort((pk.offset, penalty, snip_rank[snip_id]))
    return order, snip_order


def _place(u8: np.ndarray, pk: _Packets, instrument: str):
    """Raw image, reception count, conflict mask and snip table."""
    keys = ((pk.left * _NPIXELS + pk.right) * _NLINES + pk.top) * _NLINES + pk.bottom
    uniq, snip_id = np.unique(keys, return_inverse=True)
    snip_id = snip_id.reshape(-1)
    n_snips = uniq.size
    order, snip_order = _processing_order(pk, snip_id, n_snips)

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

    raw = np.zeros(fmt.FRAME_SHAPE, np.uint16)
    count = np.zeros(fmt.FRAME_SHAPE, np.uint16)
    conflict = np.zeros(fmt.FRAME_SHAPE, bool)
    rows = np.zeros(n_snips, SNIP_DTYPE)
    first_off = np.full(n_snips, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first_off, snip_id, pk.offset)
    hdr = fmt.HEADER_SIZE
    psize = fmt.PIXEL_DTYPE.itemsize
    for s in snip_order.tolist():
        a0 = runs_by_snip[s][0][0]
        p0 = order[a0]
        left, right, top, bottom = (int(pk.left[p0]), int(pk.right[p0]), int(pk.top[p0]),
                                    int(pk.bottom[p0]))
        w, h = right - left + 1, bottom - top + 1
        buf = np.zeros(w * h, np.uint16)
        cnt = np.zeros(w * h, np.uint16)
        sconf = None
        for a, b in runs_by_snip[s]:
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
        region = raw[top:bottom + 1, left:right + 1]
        rcount = count[top:bottom + 1, left:right + 1]
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
        if sconf is not None:
            conflict[top:bottom + 1, left:right + 1] |= sconf.reshape(h, w)
        received = int(np.count_nonzero(got))
        lm0, lm1, pm0, pm1 = fmt.raw_rect_to_science(left, right, top, bottom, instrument)
        rows[s] = (0, left, right, top, bottom, lm0, lm1, pm0, pm1, w, h, w * h, received,
                   int(np.count_nonzero(sid == s)), received == w * h, int(first_off[s]))
    table_order = np.argsort(first_off, kind="stable")
    rows = rows[table_order]
    rows["snip"] = np.arange(n_snips)
    return raw, count, conflict, rows


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
    if parsed is not None and parsed.instrument != header.instrument:
        warnings.append(f"file name says {parsed.instrument}, packets say {header.instrument} "
                        "(packets win)")
    raw, count, conflict, snips = _place(u8, sel.used, header.instrument)
    missing = count == 0
    raw_flags = missing.view(np.uint8) * FLAG_MISSING
    if conflict.any():
        raw_flags |= conflict.view(np.uint8) * FLAG_CONFLICT
    n_missing = int(np.count_nonzero(missing))
    report = DecodeReport(
        source=label, n_bytes=n_bytes, packets_used=int(sel.used.offset.size),
        rejected=tuple(sel.rejected),
        bytes_skipped=int(n_bytes - sel.used.length.sum()),
        skipped=_skipped_ranges(sel.used, n_bytes) if sel.resynchronised else (),
        overlap_pixels=int(np.count_nonzero(count > 1)),
        conflict_pixels=int(np.count_nonzero(conflict)),
        missing_pixels=n_missing, snips=int(snips.size),
        snips_complete=int(np.count_nonzero(snips["complete"])),
        resynchronised=sel.resynchronised, warnings=tuple(warnings),
    )
    return NavImage(
        image=fmt.raw_to_science(raw, header.instrument),
        flags=fmt.raw_to_science(raw_flags, header.instrument),
        raw_image=raw, raw_flags=raw_flags, snips=snips, header=header, report=report,
        filename=parsed, source=label,
    )

