"""Where the image and the overclock pixels sit in a NAV calibration frame.

The Deep Impact science calibration pipeline expects raw frames as the CCD
reads them out: the 1008 x 1008 image surrounded by serial overclock columns
(one fixed bias per quadrant) and parallel overclock rows. NAV telemetry
carries only the image, so pre-processing builds that frame (Navigation Images
Report, section 4.7) and calibration takes the image back out of it.
:class:`FrameLayout` is the ONE description of that geometry; change it here
(or pass another instance) and every step follows.

Orientation: science array, row 0 at the bottom of the displayed frame
(``origin="lower"``), as the ``NAVBIAS1..4`` quadrant numbering of
:mod:`etalon.nav.bias` assumes. Default layout (1024 x 1024)::

    rows 1016..1023   parallel overclock (top)          fill 0
    rows    8..1015   | 8 serial | 1008 x 1008 image | 8 serial |
                      |  cols 0-7|   cols 8..1015     |1016-1023 |
    rows    0..7      parallel overclock (bottom)       fill 0

The left serial columns beside image rows 504..1007 (frame rows 512..1015)
carry the bias of quadrant 1 (upper-left), beside image rows 0..503 that of
quadrant 2 (lower-left); the right columns carry quadrants 3 (upper-right) and
4 (lower-right). The corners (parallel rows x serial columns) are parallel
overclock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from astropy.io import fits
from astropy.table import Table

from etalon.nav.bias import quadrant_slices

__all__ = ["DEFAULT_LAYOUT", "FrameLayout", "region_table"]

#: FITS keywords that record a layout in a product header
_KEYWORDS = {
    "image_lines": ("OVIMGLIN", "[pixel] image lines in the calib. frame"),
    "image_pixels": ("OVIMGPIX", "[pixel] image pixels per line in the frame"),
    "serial_left": ("OVSERL", "[pixel] serial overclock columns, left"),
    "serial_right": ("OVSERR", "[pixel] serial overclock columns, right"),
    "parallel_bottom": ("OVPARB", "[pixel] parallel overclock rows, bottom"),
    "parallel_top": ("OVPART", "[pixel] parallel overclock rows, top"),
}


@dataclass(frozen=True)
class FrameLayout:
    """Geometry of a calibration frame: image plus serial and parallel overclock.

    All sizes in pixels, science orientation (array row 0 displayed at the bottom).

    Parameters
    ----------
    image_lines, image_pixels : int
        Size of the image (rows, columns); 1008 x 1008 for the NAV frames.
    serial_left, serial_right : int
        Serial overclock columns left and right of the image (8 each by default).
    parallel_bottom, parallel_top : int
        Parallel overclock rows below (low row indices) and above the image
        (8 each by default).
    parallel_fill : float
        Value written into the parallel overclock rows (0 DN, report 4.7).

    Examples
    --------
    >>> layout = FrameLayout()
    >>> layout.frame_shape
    (1024, 1024)
    >>> frame = layout.embed(np.zeros((1008, 1008), np.uint16), (383, 391, 376, 388))
    >>> int(frame[600, 0]), int(frame[100, 0]), int(frame[600, 1020]), int(frame[0, 0])
    (383, 391, 376, 0)
    """

    image_lines: int = 1008
    image_pixels: int = 1008
    serial_left: int = 8
    serial_right: int = 8
    parallel_bottom: int = 8
    parallel_top: int = 8
    parallel_fill: float = 0.0

    def __post_init__(self) -> None:
        for name in ("image_lines", "image_pixels"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be at least 2, got {getattr(self, name)}")
        for name in ("serial_left", "serial_right", "parallel_bottom", "parallel_top"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    # ----------------------------------------------------------------- geometry
    @property
    def frame_shape(self) -> tuple[int, int]:
        """(lines, pixels) of the whole calibration frame."""
        return (self.parallel_bottom + self.image_lines + self.parallel_top,
                self.serial_left + self.image_pixels + self.serial_right)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(lines, pixels) of the image."""
        return (self.image_lines, self.image_pixels)

    def image_slices(self) -> tuple[slice, slice]:
        """Slices of the image inside the full frame: ``frame[layout.image_slices()]``."""
        return (slice(self.parallel_bottom, self.parallel_bottom + self.image_lines),
                slice(self.serial_left, self.serial_left + self.image_pixels))

    def image_quadrant_slices(self, quadrant: int) -> tuple[slice, slice]:
        """Frame slices of the image part of ``quadrant`` (1..4, NAVBIAS numbering)."""
        rows, cols = quadrant_slices(self.image_shape)[_check_quadrant(quadrant)]
        r0, c0 = self.parallel_bottom, self.serial_left
        return (_shift(rows, r0, self.image_lines), _shift(cols, c0, self.image_pixels))

    def serial_overclock_slices(self, quadrant: int) -> tuple[slice, slice]:
        """Frame slices of the serial overclock pixels of ``quadrant`` (1..4).

        Quadrants 1 (upper-left) and 2 (lower-left) own the left columns, 3
        (upper-right) and 4 (lower-right) the right columns, each beside its own
        image rows. Empty slices when that side has no overclock.
        """
        rows, _ = self.image_quadrant_slices(quadrant)
        if quadrant in (1, 2):
            cols = slice(0, self.serial_left)
        else:
            start = self.serial_left + self.image_pixels
            cols = slice(start, start + self.serial_right)
        return (rows, cols)

    def parallel_overclock_slices(self) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
        """Frame slices of the bottom and top parallel overclock rows (full width)."""
        top_start = self.parallel_bottom + self.image_lines
        return ((slice(0, self.parallel_bottom), slice(None)),
                (slice(top_start, top_start + self.parallel_top), slice(None)))

    def region_map(self) -> np.ndarray:
        """An int8 map of the frame: 0 parallel overclock, 1..4 serial overclock of
        that quadrant, 10 + n image pixels of quadrant n (for drawing and checks)."""
        regions = np.zeros(self.frame_shape, np.int8)
        for q in (1, 2, 3, 4):
            regions[self.serial_overclock_slices(q)] = q
            regions[self.image_quadrant_slices(q)] = 10 + q
        return regions

    # --------------------------------------------------------------- operations
    def pad(self, image: np.ndarray, fill: float = 0) -> np.ndarray:
        """The frame holding ``image`` with every overclock pixel set to ``fill``.

        Used for per-pixel maps (the FLAGS quality map: overclock pixels 0).
        """
        image = self._check_image(image)
        frame = np.full(self.frame_shape, fill, dtype=image.dtype)
        frame[self.image_slices()] = image
        return frame

    def embed(
        self,
        image: np.ndarray,
        biases: Sequence[float],
        dtype: npt.DTypeLike | None = None,
    ) -> np.ndarray:
        """Build the calibration frame around ``image``.

        Parameters
        ----------
        image : numpy.ndarray
            (image_lines, image_pixels) image, science orientation, DN.
        biases : sequence of 4 floats
            Bias of quadrants 1..4 (``NAVBIAS1..4``), DN, written into each
            quadrant's serial overclock columns.
        dtype : numpy dtype, optional
            Output type. Default: the image's type when it is an integer type
            that holds every bias exactly, float32 otherwise.

        Returns
        -------
        numpy.ndarray
            ``frame_shape`` array: parallel overclock ``parallel_fill``, serial
            overclock the quadrant biases, image in ``image_slices()``.
        """
        image = self._check_image(image)
        if len(biases) != 4:
            raise ValueError(f"need 4 quadrant biases, got {len(biases)}")
        values = np.asarray(biases, dtype=np.float64)
        if dtype is None:
            dtype = image.dtype
            if image.dtype.kind in "iu":
                info = np.iinfo(image.dtype)
                exact = np.all(values == np.round(values)) and np.all(
                    (values >= info.min) & (values <= info.max)) and float(
                    self.parallel_fill).is_integer()
                if not exact:
                    dtype = np.float32
        frame = np.full(self.frame_shape, self.parallel_fill, dtype=dtype)
        for q in (1, 2, 3, 4):
            frame[self.serial_overclock_slices(q)] = values[q - 1]
        frame[self.image_slices()] = image
        return frame

    def extract(self, frame: np.ndarray) -> np.ndarray:
        """The image inside a calibration ``frame`` (a view, not a copy)."""
        frame = self._check_frame(frame)
        return frame[(..., *self.image_slices())]

    def serial_overclock(self, frame: np.ndarray, quadrant: int) -> np.ndarray:
        """The serial overclock pixels of ``quadrant`` in ``frame`` (a view)."""
        frame = self._check_frame(frame)
        return frame[(..., *self.serial_overclock_slices(quadrant))]

    def _check_image(self, image: np.ndarray) -> np.ndarray:
        image = np.asarray(image)
        if image.shape != self.image_shape:
            raise ValueError(
                f"image shape {image.shape} differs from the layout's {self.image_shape}")
        return image

    def _check_frame(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame)
        if frame.shape[-2:] != self.frame_shape:
            raise ValueError(
                f"frame shape {frame.shape} differs from the layout's {self.frame_shape}")
        return frame

    # ------------------------------------------------------------------- header
    def to_header(self, header: fits.Header) -> fits.Header:
        """Write the layout as ``OV*`` keywords into ``header`` (modified, returned)."""
        for attr, (key, comment) in _KEYWORDS.items():
            header[key] = (getattr(self, attr), comment)
        return header

    @classmethod
    def from_header(cls, header: fits.Header) -> FrameLayout:
        """The layout recorded by :meth:`to_header`.

        Raises
        ------
        KeyError
            When a layout keyword is missing.
        """
        missing = [key for key, _ in _KEYWORDS.values() if key not in header]
        if missing:
            raise KeyError(f"layout keyword(s) missing from header: {', '.join(missing)}")
        return cls(**{attr: int(header[key]) for attr, (key, _) in _KEYWORDS.items()})

    @classmethod
    def without_overclock(cls, shape: tuple[int, int]) -> FrameLayout:
        """A layout whose frame is just an image of ``shape`` (archive products)."""
        return cls(image_lines=shape[0], image_pixels=shape[1], serial_left=0, serial_right=0,
                   parallel_bottom=0, parallel_top=0)


def region_table(layout: FrameLayout) -> Table:
    """Where the image and each quadrant's serial overclock sit in the frame.

    Parameters
    ----------
    layout : FrameLayout

    Returns
    -------
    astropy.table.Table
        Columns ``region`` (``image``, ``serial overclock, quadrant 1``..``4``)
        and ``frame pixels`` (inclusive row and column ranges, e.g.
        ``rows 8..1015, cols 8..1015``).
    """

    def ranges(sl: tuple[slice, slice]) -> str:
        rows, cols = sl
        return f"rows {rows.start}..{rows.stop - 1}, cols {cols.start}..{cols.stop - 1}"

    quadrants = (1, 2, 3, 4)
    return Table({
        "region": ["image", *[f"serial overclock, quadrant {q}" for q in quadrants]],
        "frame pixels": [ranges(layout.image_slices()),
                         *[ranges(layout.serial_overclock_slices(q)) for q in quadrants]],
    })


def _check_quadrant(quadrant: int) -> int:
    if quadrant not in (1, 2, 3, 4):
        raise ValueError(f"quadrant must be 1..4, got {quadrant}")
    return quadrant


def _shift(sl: slice, offset: int, length: int) -> slice:
    start, stop, _ = sl.indices(length)
    return slice(start + offset, stop + offset)


#: the NAV default: 1024 x 1024, 8 serial columns each side, 8 parallel rows top and bottom
DEFAULT_LAYOUT = FrameLayout()
