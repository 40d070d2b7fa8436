"""The raw Deep Impact NAV packet layout, defined in this one place.

Source: Deep Impact Navigation Images Report (Science Data Center, 2006),
sections 2.1 to 2.5, with the offsets, byte order and index base the project
adopted in ``docs/nav-format.md``. The decoder (:mod:`etalon.nav.decoder`), the
simulator (:mod:`etalon.nav.simulate`) and the FITS writer take every layout
fact from here.

To adapt to real files that differ, change one line:

* byte order: :data:`BYTE_ORDER` (``">"`` big-endian, ``"<"`` little-endian);
* index base of the rectangle and first-pixel coordinates and of the AutoNav
  centroid: :data:`INDEX_BASE` (0 or 1);
* raw -> science orientation per instrument: :data:`SCIENCE_FLIPS`.

A raw file is packets back to back. A packet is an 80-byte header
(:data:`HEADER_DTYPE`) followed by ``length - 80`` bytes of pixels
(:data:`PIXEL_DTYPE`), ``(length - 80) / 2`` consecutive pixels of the snip's
raster order (line by line from (``top``, ``left``) to (``bottom``, ``right``),
rectangle inclusive), starting at (``first_line``, ``first_pixel``).
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = [
    "BYTE_ORDER", "COMPRESSION_CODES", "DETECTORS", "FRAME_SHAPE", "HEADER_DTYPE",
    "HEADER_FIELDS", "HEADER_SIZE", "IMAGE_FIELDS", "IMAGE_SIGNATURE_BYTES", "INDEX_BASE",
    "INSTRUMENT_CODES", "INSTRUMENT_LETTERS", "LENGTH_STRUCT", "MAX_PACKET_LENGTH",
    "MAX_PIXELS_PER_PACKET", "MIN_PACKET_LENGTH", "OBSERVATORIES", "PIXEL_DTYPE",
    "SCIENCE_FLIPS", "SNIP_FIELDS", "TARGET_NAMES", "raw_clock_angle_to_science",
    "raw_point_to_science",
    "raw_rect_to_science", "raw_to_science", "raw_to_science_view", "science_to_raw",
    "science_to_raw_view",
]

#: byte order of every multi-byte field and of the pixels: ">" big-endian, "<" little-endian
BYTE_ORDER = ">"

#: index base of the coordinates in the packets (rectangle, first pixel, centroid): 0 or 1
INDEX_BASE = 0

#: image size, (lines, pixels)
FRAME_SHAPE = (1008, 1008)

#: the 80-byte packet header, in order: (field, numpy type code without byte order).
#: Offsets follow from the sizes (no padding): length@0, centroid_pixel@2, ...
HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("length", "u2"),          # packet length, header + data, bytes
    ("centroid_pixel", "f4"),  # AutoNav brightness centroid, pixel (column), raw frame
    ("centroid_line", "f4"),   # AutoNav brightness centroid, line (row), raw frame
    ("pseudo_et", "f8"),       # SCLK ticks / 256 minus an offset (nominally 64.184 s), s
    ("ra", "f8"),              # boresight right ascension, rad
    ("dec", "f8"),             # boresight declination, rad
    ("twist", "f8"),           # boresight twist, rad; celestial north = (270 deg - twist) mod 360
    ("rate_x", "f4"),          # spacecraft attitude rates
    ("rate_y", "f4"),
    ("rate_z", "f4"),
    ("exposure", "f4"),        # commanded exposure, s, excluding the 3.5 ms minimum
    ("target_id", "i4"),       # NAIF ID of the target
    ("detector", "u1"),        # 1 ITS, 2 MRI, 3 HRIV
    ("compression", "u1"),     # 0 none, 2 Eds (never used in flight)
    ("image_number", "u2"),
    ("image_type", "u2"),
    ("left", "u2"),            # snip rectangle, inclusive
    ("right", "u2"),
    ("top", "u2"),
    ("bottom", "u2"),
    ("first_pixel", "u2"),     # where this packet's data start
    ("first_line", "u2"),
)

#: numpy structured dtype of the header (80 bytes, :data:`BYTE_ORDER`)
HEADER_DTYPE = np.dtype([(name, BYTE_ORDER + code) for name, code in HEADER_FIELDS])

#: pixel data type (14-bit DN in 16-bit words)
PIXEL_DTYPE = np.dtype(BYTE_ORDER + "u2")

#: header size, bytes
HEADER_SIZE = HEADER_DTYPE.itemsize
assert HEADER_SIZE == 80, "the NAV packet header is 80 bytes"

#: the length field alone (read while walking the chain of packets)
LENGTH_STRUCT = struct.Struct(BYTE_ORDER + "H")

#: validation limits: HEADER_SIZE < length <= MAX_PACKET_LENGTH, length even
MIN_PACKET_LENGTH = HEADER_SIZE + 2
MAX_PACKET_LENGTH = 1002
MAX_PIXELS_PER_PACKET = (MAX_PACKET_LENGTH - HEADER_SIZE) // PIXEL_DTYPE.itemsize  # 461

#: detector code -> instrument name (the INSTRUME keyword)
DETECTORS = {1: "NAVITS", 2: "NAVMRI", 3: "NAVHRI"}
INSTRUMENT_CODES = {name: code for code, name in DETECTORS.items()}

#: the instrument letter of the file names (``NAV_OM_...``)
INSTRUMENT_LETTERS = {"M": "NAVMRI", "I": "NAVITS", "H": "NAVHRI"}

#: compression codes a packet may carry (2 = Eds, never used in flight, is refused)
COMPRESSION_CODES = (0,)

#: raw -> science at the array level, (flip lines, flip pixels) per instrument:
#: MRI and ITS rotate 180 degrees, HRIV flips vertically
SCIENCE_FLIPS = {"NAVMRI": (True, True), "NAVITS": (True, True), "NAVHRI": (True, False)}

#: the spacecraft carrying each instrument (OBSERVAT, as in the archive files)
OBSERVATORIES = {"NAVHRI": "FLYBY S/C", "NAVMRI": "FLYBY S/C", "NAVITS": "IMPACTOR S/C"}

#: NAIF ID -> OBJECT name for the targets of the mission
TARGET_NAMES = {1000093: "9P/TEMPEL 1", 10: "SUN", 301: "MOON", 399: "EARTH",
                499: "MARS"}

#: per-image fields: every packet of an image repeats them identically
IMAGE_FIELDS = tuple(name for name, _ in HEADER_FIELDS[1:16])
#: per-snip fields
SNIP_FIELDS = ("left", "right", "top", "bottom")
#: byte span of the per-image fields inside the header (compared as one block)
IMAGE_SIGNATURE_BYTES = (HEADER_DTYPE.fields["centroid_pixel"][1], HEADER_DTYPE.fields["left"][1])


def raw_to_science(raw: np.ndarray, instrument: str) -> np.ndarray:
    """Science-orientation copy of a raw-frame array (image or quality map).

    Parameters
    ----------
    raw : numpy.ndarray
        (lines, pixels) array as transmitted, line 0 at the top.
    instrument : str
        NAVHRI, NAVMRI or NAVITS.
    """
    flip_lines, flip_pixels = SCIENCE_FLIPS[instrument]
    view = raw[::-1 if flip_lines else 1, ::-1 if flip_pixels else 1]
    return np.ascontiguousarray(view)


def raw_to_science_view(raw: np.ndarray, instrument: str) -> np.ndarray:
    """The science-orientation VIEW of a raw-frame array (no copy)."""
    flip_lines, flip_pixels = SCIENCE_FLIPS[instrument]
    return raw[::-1 if flip_lines else 1, ::-1 if flip_pixels else 1]


def science_to_raw_view(science: np.ndarray, instrument: str) -> np.ndarray:
    """The raw-frame VIEW of a science-orientation array (no copy: writes go through)."""
    flip_lines, flip_pixels = SCIENCE_FLIPS[instrument]
    return science[::-1 if flip_lines else 1, ::-1 if flip_pixels else 1]


def science_to_raw(science: np.ndarray, instrument: str) -> np.ndarray:
    """Inverse of :func:`raw_to_science` (the flips are their own inverse)."""
    return raw_to_science(science, instrument)


def raw_point_to_science(line: float, pixel: float, instrument: str,
                         shape: tuple[int, int] = FRAME_SHAPE) -> tuple[float, float]:
    """Science-array (line, pixel), 0-based, of a raw-frame 0-based (line, pixel) point."""
    flip_lines, flip_pixels = SCIENCE_FLIPS[instrument]
    return ((shape[0] - 1 - line) if flip_lines else line,
            (shape[1] - 1 - pixel) if flip_pixels else pixel)


def raw_clock_angle_to_science(angle_deg, instrument: str):
    """Clock angle (deg, clockwise from up) of a direction, raw frame -> science array.

    Display conventions: the raw frame as transmitted, line 0 at the top
    (``imshow(raw, origin="upper")``); the science array with row 0 at the bottom
    (``imshow(science, origin="lower")``, as every etalon and archive figure).
    A direction at clock angle ``a`` in the raw display is ``(d_line, d_pixel) =
    (-cos a, sin a)``; through :data:`SCIENCE_FLIPS` and the science display
    (up = +row, right = +column):

    * MRI and ITS (180-degree rotation of the array): ``(-a) mod 360``;
    * HRIV (vertical flip of the array): ``a`` (the science display looks like
      the raw one).

    Works on scalars and arrays.
    """
    flip_lines, flip_pixels = SCIENCE_FLIPS[instrument]
    a = np.asarray(angle_deg, dtype=float)
    # raw display: up = -line; science display: up = +row. A line flip therefore keeps
    # the vertical component; each remaining reflection (a pixel flip, or a kept line
    # axis seen through the opposite display) mirrors the angle
    mirrors = int(flip_pixels) + int(not flip_lines)
    out = (-a if mirrors % 2 else a) % 360.0
    return float(out) if out.ndim == 0 else out


def raw_rect_to_science(left, right, top, bottom, instrument: str,
                        shape: tuple[int, int] = FRAME_SHAPE):
    """Science-array bounds of raw rectangles (0-based, inclusive; scalars or arrays).

    Returns
    -------
    line_min, line_max, pixel_min, pixel_max
        Inclusive science-array index bounds.
    """
    flip_lines, flip_pixels = SCIENCE_FLIPS[instrument]
    line_min, line_max = ((shape[0] - 1 - bottom, shape[0] - 1 - top) if flip_lines
                          else (top, bottom))
    pixel_min, pixel_max = ((shape[1] - 1 - right, shape[1] - 1 - left) if flip_pixels
                            else (left, right))
    return line_min, line_max, pixel_min, pixel_max
