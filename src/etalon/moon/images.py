"""Moon images in FITS: one image (counts, DN) per file, with documented keywords.

Keywords (primary header):

=========  ==========================================================  =========
keyword    meaning                                                      unit
=========  ==========================================================  =========
DATE-OBS   observation time (mid-exposure), ISO, UTC                    -
OBSPOSX    observer position x (geocentric)                             km
OBSPOSY    observer position y                                          km
OBSPOSZ    observer position z                                          km
OBSFRAME   frame of OBSPOS*: ``ITRF`` (Earth-fixed) or ``J2000``        -
CHANNEL    channel / band name (e.g. ``VIS006``, ``B4``)               -
RADCOEF    radiance per DN above the deep-space level                   W m-2 sr-1 um-1 / DN
PIXSR      pixel solid angle                                            sr
OVRSAMP    oversampling factor (1 when not oversampled)                 -
GAIN       conversion gain (optional; enables the shot-noise term)      e-/DN
RDNOISE    read noise (optional)                                        e-
MOONTHR    DN threshold for the threshold method (optional)             DN
BUNIT      ``DN``                                                       -
=========  ==========================================================  =========
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time

from etalon.fileio import EtalonInputError, atomic_output, check_fits_header, require_file
from etalon.provenance import stamp_header

__all__ = ["MOON_KEYWORDS", "MoonImage", "read_moon_image", "write_moon_image"]

#: keyword -> (attribute, comment)
MOON_KEYWORDS = {
    "DATE-OBS": ("time", "observation time (mid-exposure), UTC"),
    "OBSPOSX": ("observer_km", "[km] observer position x"),
    "OBSPOSY": ("observer_km", "[km] observer position y"),
    "OBSPOSZ": ("observer_km", "[km] observer position z"),
    "OBSFRAME": ("frame", "frame of OBSPOS*: ITRF or J2000"),
    "CHANNEL": ("channel", "channel name"),
    "RADCOEF": ("rad_coef", "[W m-2 sr-1 um-1 / DN] radiance per DN"),
    "PIXSR": ("pix_solid_ang", "[sr] pixel solid angle"),
    "OVRSAMP": ("ovrsamp_fa", "oversampling factor"),
    "GAIN": ("gain", "[e-/DN] conversion gain"),
    "RDNOISE": ("read_noise_e", "[e-] read noise"),
    "MOONTHR": ("threshold", "[DN] Moon mask threshold (threshold method)"),
}


@dataclass
class MoonImage:
    """A Moon image and what is needed to turn it into irradiance.

    Attributes
    ----------
    data : numpy.ndarray
        Counts, DN (2-D).
    time : astropy.time.Time
    observer_km : numpy.ndarray
        Observer position, km.
    frame : str
        ``"ITRF"`` or ``"J2000"``.
    channel : str
    rad_coef : float
        W m-2 sr-1 um-1 per DN.
    pix_solid_ang : float
        sr.
    ovrsamp_fa : float
    gain : float or None
        e-/DN.
    read_noise_e : float or None
    threshold : float or None
        DN.
    header : astropy.io.fits.Header
    path : pathlib.Path or None
    """

    data: np.ndarray = field(repr=False)
    time: Time
    observer_km: np.ndarray
    frame: str
    channel: str
    rad_coef: float
    pix_solid_ang: float
    ovrsamp_fa: float = 1.0
    gain: float | None = None
    read_noise_e: float | None = None
    threshold: float | None = None
    header: fits.Header = field(default_factory=fits.Header, repr=False)
    path: Path | None = None


def read_moon_image(path: str | os.PathLike[str]) -> MoonImage:
    """Read a Moon image FITS file (keywords in the module docstring).

    Raises
    ------
    EtalonInputError
        Naming the file and the missing or bad keyword.
    """
    p = require_file(path, "Moon image")
    check_fits_header(p)              # absurd NAXIS/BITPIX cards fail here, before astropy parses them
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            with fits.open(p, memmap=False) as hdul:
                header = hdul[0].header.copy()
                data = hdul[0].data
    except (OSError, ValueError, TypeError, IndexError, KeyError, fits.VerifyError) as exc:
        raise EtalonInputError(p, f"not a readable FITS file ({exc})") from exc
    try:
        return _image_from_hdu(p, header, data)
    except fits.VerifyError as exc:   # a damaged card, parsed on first access
        raise EtalonInputError(p, f"damaged FITS header ({exc})") from exc


def _image_from_hdu(p: Path, header: fits.Header, data: np.ndarray | None) -> MoonImage:
    if data is None or data.ndim != 2:
        raise EtalonInputError(p, "primary HDU must hold a 2-D image")
    missing = [k for k in ("DATE-OBS", "OBSPOSX", "OBSPOSY", "OBSPOSZ", "RADCOEF", "PIXSR")
               if k not in header]
    if missing:
        raise EtalonInputError(p, f"Moon image lacks keyword(s) {missing}")
    try:
        time = Time(header["DATE-OBS"], scale="utc")
    except (ValueError, TypeError) as exc:
        raise EtalonInputError(p, f"bad DATE-OBS {header['DATE-OBS']!r}") from exc

    def number(key: str, default: float | None = None) -> float | None:
        if key not in header:
            return default
        try:
            return float(header[key])
        except (ValueError, TypeError) as exc:
            raise EtalonInputError(p, f"keyword {key} must be a number, got {header[key]!r}") from exc

    frame = str(header.get("OBSFRAME", "ITRF")).upper()
    if frame not in ("ITRF", "J2000"):
        raise EtalonInputError(p, f"OBSFRAME must be ITRF or J2000, got {frame!r}")
    return MoonImage(np.asarray(data, dtype=float), time,
                     np.array([number(k) for k in ("OBSPOSX", "OBSPOSY", "OBSPOSZ")]),
                     frame, str(header.get("CHANNEL", "")), number("RADCOEF"), number("PIXSR"),
                     number("OVRSAMP", 1.0), number("GAIN"), number("RDNOISE"), number("MOONTHR"),
                     header, p)


def write_moon_image(image: MoonImage, path: str | os.PathLike[str],
                     inputs: list[str] | None = None) -> Path:
    """Write ``image`` as a FITS file (atomic), integer data kept as int32, with provenance."""
    header = image.header.copy()
    header["BUNIT"] = ("DN", "counts")
    header["DATE-OBS"] = (image.time.utc.isot, MOON_KEYWORDS["DATE-OBS"][1])
    for i, key in enumerate(("OBSPOSX", "OBSPOSY", "OBSPOSZ")):
        header[key] = (float(image.observer_km[i]), MOON_KEYWORDS[key][1])
    header["OBSFRAME"] = (image.frame, MOON_KEYWORDS["OBSFRAME"][1])
    header["CHANNEL"] = (image.channel, MOON_KEYWORDS["CHANNEL"][1])
    for key, attr in (("RADCOEF", "rad_coef"), ("PIXSR", "pix_solid_ang"), ("OVRSAMP", "ovrsamp_fa"),
                      ("GAIN", "gain"), ("RDNOISE", "read_noise_e"), ("MOONTHR", "threshold")):
        val = getattr(image, attr)
        if val is not None:
            header[key] = (float(val), MOON_KEYWORDS[key][1])
    stamp_header(header, "moon image", inputs or [], {"channel": image.channel})
    data = image.data
    if np.issubdtype(np.asarray(data).dtype, np.integer) or np.all(np.mod(data, 1) == 0):
        data = np.asarray(data).astype(np.int32)
    out = Path(path)
    with atomic_output(out) as tmp:
        fits.PrimaryHDU(data=data, header=header).writeto(tmp, overwrite=True)
    return out
