"""The in-memory frame every Deep Impact step takes and returns.

A :class:`Frame` holds an image, its quality map, its FITS header and the
optional SNR image and snip table, the same for the mission's archive FITS
products and for etalon's decoded NAV frames, so that pre-processing and
calibration take both alike.

FITS layout (read and written):

* primary HDU: the image (archive: float32 DN; decoded NAV: uint16 stored as
  BITPIX 16 with BZERO 32768, as the archive stores raw frames);
* ``FLAGS``: uint8 quality map, bits 1 bad pixel, 2 missing data, 4 overlap
  conflict, 16 / 32 the two saturation levels;
* ``SNR``: float32 signal-to-noise ratio (optional);
* ``SNIPS``: binary table of the NAV snips (optional).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from etalon.fileio import EtalonInputError, atomic_output, check_fits_header, require_file

__all__ = ["FLAG_BAD", "FLAG_CONFLICT", "FLAG_MISSING", "FLAG_SAT_MOST", "FLAG_SAT_SOME",
           "Frame", "read_frame", "write_frame"]

#: quality-map bits (the mission's calibrated archive files, plus etalon's bit 4)
FLAG_BAD = np.uint8(1)
FLAG_MISSING = np.uint8(2)
FLAG_CONFLICT = np.uint8(4)
FLAG_SAT_SOME = np.uint8(16)
FLAG_SAT_MOST = np.uint8(32)


@dataclass
class Frame:
    """An image with its quality map, header and optional SNR and snip table.

    Attributes
    ----------
    data : numpy.ndarray
        Image (lines, pixels), in the science orientation of the archive.
    flags : numpy.ndarray
        uint8 quality map of the same shape (bits: see module docstring).
    header : astropy.io.fits.Header
        Primary header.
    snr : numpy.ndarray or None
        Signal-to-noise ratio per pixel, float32.
    snips : astropy.table.Table or None
        NAV snips (rectangles in raw and science coordinates, packets).
    source : str or None
        File the frame was read from, if any.
    """

    data: np.ndarray
    flags: np.ndarray
    header: fits.Header = field(default_factory=fits.Header)
    snr: np.ndarray | None = None
    snips: Table | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if self.flags is None:
            self.flags = np.zeros(self.data.shape, np.uint8)
        if self.flags.shape != self.data.shape:
            raise ValueError(f"flags shape {self.flags.shape} differs from data shape {self.data.shape}")
        if self.snr is not None and self.snr.shape != self.data.shape:
            raise ValueError(f"snr shape {self.snr.shape} differs from data shape {self.data.shape}")

    def copy(self) -> Frame:
        """A deep copy (arrays, header and table copied)."""
        return replace(
            self,
            data=self.data.copy(),
            flags=self.flags.copy(),
            header=self.header.copy(),
            snr=None if self.snr is None else self.snr.copy(),
            snips=None if self.snips is None else self.snips.copy(),
        )


def _native(array: np.ndarray) -> np.ndarray:
    """``array`` in native byte order (FITS stores big-endian)."""
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


def read_frame(path: str | os.PathLike[str]) -> Frame:
    """Read a frame from a FITS file (archive product or etalon product).

    Arrays come back in native byte order. The file is opened read-only.

    Raises
    ------
    EtalonInputError
        Naming the file, when it is missing, not FITS, damaged (truncated data,
        broken header cards, absurd NAXIS/NAXISn/BITPIX: checked by
        :func:`etalon.fileio.check_fits_header` before astropy parses anything),
        or has no 2-D image.
    """
    p = require_file(path, "FITS file")
    check_fits_header(p)
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(p, mode="readonly", memmap=False) as hdul:
                primary = hdul[0]
                if primary.data is None or primary.data.ndim != 2:
                    raise EtalonInputError(p, "primary HDU holds no 2-D image")
                data = _native(np.array(primary.data))
                header = primary.header.copy()
                names = [h.name for h in hdul]
                flags = np.array(hdul["FLAGS"].data, dtype=np.uint8) if "FLAGS" in names else None
                snr = np.array(hdul["SNR"].data, dtype=np.float32) if "SNR" in names else None
                snips = Table.read(hdul["SNIPS"]) if "SNIPS" in names else None
    except EtalonInputError:
        raise
    except Exception as exc:  # astropy raises OSError, KeyError, ValueError... on damaged files
        truncated = [str(w.message) for w in caught if "truncated" in str(w.message)]
        what = "truncated FITS file" if truncated else (
            "not a readable FITS file" if isinstance(exc, OSError) else "damaged FITS file")
        raise EtalonInputError(p, f"{what} ({type(exc).__name__}: {exc})") from exc
    truncated = [str(w.message) for w in caught if "truncated" in str(w.message)]
    if truncated:
        raise EtalonInputError(p, f"truncated FITS file ({truncated[0]})")
    if flags is not None and flags.shape != data.shape:
        raise EtalonInputError(p, f"FLAGS extension shape {flags.shape} differs from image {data.shape}")
    if snr is not None and snr.shape != data.shape:
        raise EtalonInputError(p, f"SNR extension shape {snr.shape} differs from image {data.shape}")
    return Frame(data=data, flags=flags, header=header, snr=snr, snips=snips, source=str(p))


def write_frame(frame: Frame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` to ``path`` atomically (temporary file, then rename).

    uint16 images are stored as BITPIX 16 with BZERO 32768. Returns the path.
    """
    primary = fits.PrimaryHDU(data=frame.data, header=frame.header.copy())
    hdus: list[fits.hdu.base.ExtensionHDU] = [
        fits.ImageHDU(data=np.asarray(frame.flags, dtype=np.uint8), name="FLAGS")
    ]
    if frame.snr is not None:
        hdus.append(fits.ImageHDU(data=np.asarray(frame.snr, dtype=np.float32), name="SNR"))
    if frame.snips is not None:
        hdus.append(fits.BinTableHDU(frame.snips, name="SNIPS"))
    hdul = fits.HDUList([primary, *hdus])
    with atomic_output(path) as tmp:
        hdul.writeto(tmp, overwrite=True, output_verify="exception")
    return Path(path)
