"""Calibration reference files as FITS: dark, flat, bad pixel map, linearity, RADCAL.

Every reference file has a primary header with ``REFTYPE`` (``DARK``, ``FLAT``,
``BADPIX``, ``LINEARITY``, ``RADCAL``), ``INSTRUME`` (the science instrument
whose CCD it describes: ``MRIVIS``, ``HRIVIS``, ``ITSVIS``; NAV frames of
``NAVMRI`` use ``MRIVIS`` references, and so on) and ``BUNIT``. The loaders
check type, instrument, shape and unit, and raise
:class:`~etalon.fileio.EtalonInputError` naming the file on a mismatch.

======== ===================================================================
REFTYPE  content
======== ===================================================================
DARK     ``DARKALG = 'MODEL'``: primary = dark rate at ``DARKTREF`` (DN/s),
         extension ``OFFSET`` = zero-exposure dark (DN); the dark of an image
         is ``OFFSET + rate * INTTIME * 2**((CCDT - DARKTREF) / DARKDBLT)``.
         ``DARKALG = 'FRAME'``: primary = a dark frame (DN) taken at the
         header's ``INTTIME`` (ms) and ``CCDT`` (K), scaled the same way.
FLAT     primary = normalized flat (dimensionless, mean 1 over good pixels;
         includes the quadrant gains, as in the mission's flats)
BADPIX   primary = uint8 map, non-zero = bad pixel
LINEARITY binary table ``QUADRANT``, ``C0``..``C4``: linear DN =
         sum(Ck * x**k), x = bias-subtracted raw DN, quadrants as NAVBIAS1..4
RADCAL   binary table ``FILTER``, ``WAVELEN`` (nm), ``RADCALV``
         (W m-2 sr-1 um-1 per DN/s), ``IOFCALV`` (solar radiance at 1 AU,
         W m-2 sr-1 um-1)
======== ===================================================================

:func:`synthetic_reference_set` writes (once, deterministically) the reference
set of etalon's synthetic instrument, the same arrays the NAV truth simulator
(:mod:`etalon.ccd.simulate`) builds its frames with.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from etalon import __version__
from etalon.data import data_path
from etalon.fileio import EtalonInputError, atomic_output, cache_directory, require_file
from etalon.nav.archive import NAV_TO_SCIENCE

__all__ = [
    "BadPixelReference",
    "DarkReference",
    "FlatReference",
    "LinearityReference",
    "RadcalReference",
    "ReferenceEntry",
    "ReferenceSet",
    "SyntheticInstrument",
    "load_bad_pixels",
    "load_dark",
    "load_flat",
    "load_linearity",
    "load_radcal",
    "reference_instrument",
    "scan_reference_library",
    "select_reference",
    "selection_mismatch",
    "synthetic_instrument",
    "synthetic_reference_set",
    "write_reference_set",
]

log = logging.getLogger(__name__)

#: units of the RADCAL table columns (TUNIT strings)
RADCALV_UNIT = "W/(m**2 sr um)/(DN/s)"
IOFCALV_UNIT = "W/(m**2 sr um)"

#: version of the synthetic reference set (bump when its content changes)
SYNTHETIC_VERSION = 1

_SEEDS = {"MRIVIS": 5101, "HRIVIS": 5102, "ITSVIS": 5103}


def reference_instrument(instrument: str) -> str:
    """The science instrument whose references serve ``instrument`` (NAVMRI -> MRIVIS)."""
    name = str(instrument).strip().upper()
    return NAV_TO_SCIENCE.get(name, name)


# --------------------------------------------------------------------------- data classes
@dataclass(frozen=True)
class DarkReference:
    """A dark model or frame (see module docstring).

    Attributes
    ----------
    rate : numpy.ndarray
        MODEL: dark rate at ``t_ref_k``, DN/s. FRAME: the dark frame, DN.
    offset : numpy.ndarray or None
        MODEL: zero-exposure dark, DN. FRAME: None.
    algorithm : str
        ``"MODEL"`` or ``"FRAME"``.
    t_ref_k : float
        MODEL: temperature of ``rate``; FRAME: the frame's CCDT, K.
    doubling_k : float
        Temperature rise that doubles the dark rate, K.
    inttime_ms : float or None
        FRAME: the frame's integration time, ms.
    name : str
        File name (for DARKFN and HISTORY).
    """

    rate: np.ndarray
    offset: np.ndarray | None
    algorithm: str
    t_ref_k: float
    doubling_k: float
    inttime_ms: float | None = None
    name: str = ""

    def scale(self, inttime_ms: float, ccdt_k: float) -> float:
        """Factor applied to ``rate``: seconds (MODEL) or frame ratio (FRAME) times temperature."""
        temperature = 2.0 ** ((ccdt_k - self.t_ref_k) / self.doubling_k)
        if self.algorithm == "FRAME":
            return float(inttime_ms / self.inttime_ms * temperature)
        return float(inttime_ms / 1000.0 * temperature)

    def dark_dn(self, inttime_ms: float, ccdt_k: float) -> np.ndarray:
        """The dark (DN) of an image of ``inttime_ms`` at CCD temperature ``ccdt_k``."""
        dark = self.rate * np.float32(self.scale(inttime_ms, ccdt_k))
        return dark if self.offset is None else dark + self.offset


@dataclass(frozen=True)
class FlatReference:
    """Normalized flat field (dimensionless) and its file name."""

    flat: np.ndarray
    name: str = ""


@dataclass(frozen=True)
class BadPixelReference:
    """Bad pixel map (bool, True = bad) and its file name."""

    bad: np.ndarray
    name: str = ""


@dataclass(frozen=True)
class LinearityReference:
    """Linearity coefficients, ``coefficients[q - 1, k]`` for quadrant q, power k."""

    coefficients: np.ndarray
    name: str = ""


@dataclass(frozen=True)
class RadcalReference:
    """Radiometric constants per filter: ``{filter: (wavelength_nm, radcalv, iofcalv)}``."""

    constants: dict[str, tuple[float, float, float]]
    name: str = ""

    def lookup(self, filter_name: str) -> tuple[float, float, float]:
        """(wavelength nm, RADCALV, IOFCALV) of ``filter_name``; KeyError when absent."""
        return self.constants[str(filter_name).strip().upper()]


@dataclass(frozen=True)
class ReferenceSet:
    """Paths of the reference files of one instrument (None: not available)."""

    instrument: str
    dark: Path | None = None
    flat: Path | None = None
    badpix: Path | None = None
    linearity: Path | None = None
    radcal: Path | None = None

    def paths(self) -> dict[str, Path | None]:
        """``{kind: path}`` for the five kinds."""
        return {"dark": self.dark, "flat": self.flat, "badpix": self.badpix,
                "linearity": self.linearity, "radcal": self.radcal}


# --------------------------------------------------------------------------- loaders
#: REFTYPE of each reference kind
REFTYPES = {"dark": "DARK", "flat": "FLAT", "badpix": "BADPIX", "linearity": "LINEARITY",
            "radcal": "RADCAL"}
#: reference keywords that restrict a reference to frames of one mode or filter
#: (absent, empty, ``ALL`` or ``ANY``: the reference serves every mode / filter)
SELECTION_KEYWORDS = ("IMGMODE", "FILTER")
_ANY = ("", "ALL", "ANY", "*")


def _restriction(value) -> str | None:
    text = "" if value is None else str(value).strip().upper()
    return None if text in _ANY else text


def selection_mismatch(header, mode=None, filter_name=None) -> str | None:
    """Why a reference header does not serve a frame of ``mode`` / ``filter_name`` (None: it does).

    A reference keyword ``IMGMODE`` or ``FILTER`` restricts it; a frame without
    the value (None) cannot use a restricted reference.
    """
    for key, frame_value in zip(SELECTION_KEYWORDS, (mode, filter_name), strict=True):
        ref_value = _restriction(header.get(key))
        if ref_value is None:
            continue
        want = None if frame_value is None else str(frame_value).strip().upper()
        if want is None or want == "":
            return f"reference is for {key} {ref_value!r}, the frame has no {key}"
        if want != ref_value:
            return f"reference is for {key} {ref_value!r}, the frame's {key} is {want!r}"
    return None


def _load(path, reftype: str, instrument: str | None, read, mode=None, filter_name=None,
          check_selection: bool = False):
    """Open ``path`` as a ``reftype`` reference for ``instrument`` and return ``read(p, hdul)``.

    With ``check_selection`` the reference's ``IMGMODE`` / ``FILTER`` restrictions
    must match ``mode`` / ``filter_name`` (:func:`selection_mismatch`).
    Any failure while reading (a damaged or truncated file, an unparsable card, a
    table that is not one) becomes an :class:`EtalonInputError` naming the file.
    """
    p = require_file(path, f"{reftype.lower()} reference file")
    try:
        with fits.open(p, mode="readonly", memmap=False) as hdul:
            header = hdul[0].header
            found = str(header.get("REFTYPE", "")).strip().upper()
            if found != reftype:
                raise EtalonInputError(p, f"REFTYPE is {found or 'absent'!r}, expected {reftype!r}")
            if instrument is not None:
                want = reference_instrument(instrument)
                have = reference_instrument(header.get("INSTRUME", ""))
                if have != want:
                    raise EtalonInputError(p, f"reference is for instrument {have or '?'!r}, "
                                              f"the frame is {instrument!r} (needs {want!r})")
            if check_selection:
                problem = selection_mismatch(header, mode, filter_name)
                if problem:
                    raise EtalonInputError(p, problem)
            return read(p, hdul)
    except EtalonInputError:
        raise
    except Exception as exc:  # astropy raises many exception types on damaged files
        raise EtalonInputError(p, f"not a readable {reftype} reference file "
                                  f"({type(exc).__name__}: {exc})") from exc


def _check_image(p: Path, data, shape, unit: str | tuple[str, ...], header) -> np.ndarray:
    if data is None or np.ndim(data) != 2:
        raise EtalonInputError(p, "primary HDU holds no 2-D image")
    if shape is not None and tuple(data.shape) != tuple(shape):
        raise EtalonInputError(p, f"reference shape {tuple(data.shape)} differs from the "
                                  f"image shape {tuple(shape)}")
    units = (unit,) if isinstance(unit, str) else unit
    found = str(header.get("BUNIT", "")).strip()
    if found not in units:
        raise EtalonInputError(p, f"BUNIT is {found!r}, expected {' or '.join(map(repr, units))}")
    return np.array(data)


def _finite(p: Path, values: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        raise EtalonInputError(p, f"{what} holds non-finite values")
    return values


def _number(p: Path, header, key: str) -> float:
    if key not in header:
        raise EtalonInputError(p, f"keyword {key} missing from the reference")
    value = header[key]
    if isinstance(value, (bool, str)) or not np.isfinite(float(value)):
        raise EtalonInputError(p, f"keyword {key} must be a finite number, got {value!r}")
    return float(value)


def load_dark(path, instrument: str | None = None, shape=None, *, mode=None, filter_name=None,
              check_selection: bool = False) -> DarkReference:
    """Read a DARK reference (MODEL or FRAME); check instrument, shape, units and values."""

    def read(p, hdul):
        h = hdul[0].header
        algorithm = str(h.get("DARKALG", "MODEL")).strip().upper()
        if algorithm not in ("MODEL", "FRAME"):
            raise EtalonInputError(p, f"DARKALG must be MODEL or FRAME, got {algorithm!r}")
        doubling = _number(p, h, "DARKDBLT")
        if doubling <= 0:
            raise EtalonInputError(p, f"DARKDBLT must be positive (K), got {doubling}")
        if algorithm == "MODEL":
            t_ref, inttime = _number(p, h, "DARKTREF"), None
            rate = _check_image(p, hdul[0].data, shape, "DN/s", h).astype(np.float32)
            if "OFFSET" not in hdul:
                raise EtalonInputError(p, "MODEL dark needs an OFFSET extension (DN)")
            offset = _check_image(p, hdul["OFFSET"].data, shape, "DN",
                                  hdul["OFFSET"].header).astype(np.float32)
            _finite(p, offset, "dark OFFSET")
        else:
            t_ref, inttime = _number(p, h, "CCDT"), _number(p, h, "INTTIME")
            if inttime <= 0:
                raise EtalonInputError(p, f"INTTIME of a dark frame must be positive, got {inttime}")
            rate = _check_image(p, hdul[0].data, shape, "DN", h).astype(np.float32)
            offset = None
        _finite(p, rate, "dark")
        return DarkReference(rate=rate, offset=offset, algorithm=algorithm, t_ref_k=t_ref,
                             doubling_k=doubling, inttime_ms=inttime, name=p.name)

    return _load(path, "DARK", instrument, read, mode, filter_name, check_selection)


def load_flat(path, instrument: str | None = None, shape=None, *, mode=None, filter_name=None,
              check_selection: bool = False) -> FlatReference:
    """Read a FLAT reference; check instrument, shape, unit (dimensionless) and values."""

    def read(p, hdul):
        flat = _check_image(p, hdul[0].data, shape, ("", "dimensionless"),
                            hdul[0].header).astype(np.float32)
        return FlatReference(flat=_finite(p, flat, "flat"), name=p.name)

    return _load(path, "FLAT", instrument, read, mode, filter_name, check_selection)


def load_bad_pixels(path, instrument: str | None = None, shape=None, *, mode=None, filter_name=None,
                    check_selection: bool = False) -> BadPixelReference:
    """Read a BADPIX reference (non-zero = bad); check instrument and shape."""

    def read(p, hdul):
        bad = _check_image(p, hdul[0].data, shape, ("", "N/A"), hdul[0].header) != 0
        return BadPixelReference(bad=bad, name=p.name)

    return _load(path, "BADPIX", instrument, read, mode, filter_name, check_selection)


def load_linearity(path, instrument: str | None = None, *, mode=None, filter_name=None,
                   check_selection: bool = False) -> LinearityReference:
    """Read a LINEARITY reference: four quadrants, coefficients C0..C4 (DN)."""

    def read(p, hdul):
        if len(hdul) < 2 or not isinstance(hdul[1], fits.BinTableHDU):
            raise EtalonInputError(p, "linearity reference needs a binary table extension")
        if str(hdul[0].header.get("BUNIT", "")).strip() != "DN":
            raise EtalonInputError(p, "linearity reference BUNIT must be 'DN'")
        table = Table.read(hdul[1])
        names = ["QUADRANT", *(f"C{k}" for k in range(5))]
        if not set(names) <= set(table.colnames):
            raise EtalonInputError(p, f"linearity table needs columns {', '.join(names)}")
        if sorted(int(q) for q in table["QUADRANT"]) != [1, 2, 3, 4]:
            raise EtalonInputError(p, "linearity table needs exactly one row per quadrant 1..4")
        coefficients = np.zeros((4, 5))
        coefficients[np.asarray(table["QUADRANT"], int) - 1] = np.column_stack(
            [np.ma.filled(np.ma.asarray(table[f"C{k}"], float), np.nan) for k in range(5)])
        return LinearityReference(coefficients=_finite(p, coefficients, "linearity table"),
                                  name=p.name)

    return _load(path, "LINEARITY", instrument, read, mode, filter_name, check_selection)


def load_radcal(path, instrument: str | None = None, *, mode=None, filter_name=None,
                check_selection: bool = False) -> RadcalReference:
    """Read a RADCAL reference table (FILTER, WAVELEN nm, RADCALV, IOFCALV)."""

    def read(p, hdul):
        if len(hdul) < 2 or not isinstance(hdul[1], fits.BinTableHDU):
            raise EtalonInputError(p, "RADCAL reference needs a binary table extension")
        table = hdul[1]
        names = [c.name for c in table.columns]
        need = ("FILTER", "WAVELEN", "RADCALV", "IOFCALV")
        if not set(need) <= set(names):
            raise EtalonInputError(p, f"RADCAL table needs columns {', '.join(need)}")
        units = {"WAVELEN": "nm", "RADCALV": RADCALV_UNIT, "IOFCALV": IOFCALV_UNIT}
        for col, unit in units.items():
            found = table.columns[col].unit
            if (found or "").replace(" ", "") != unit.replace(" ", ""):
                raise EtalonInputError(p, f"RADCAL column {col} unit is {found!r}, "
                                          f"expected {unit!r}")
        rows = table.data
        constants = {str(f).strip().upper(): (float(w), float(r), float(i)) for f, w, r, i in
                     zip(rows["FILTER"], rows["WAVELEN"], rows["RADCALV"], rows["IOFCALV"],
                         strict=True)}
        if len(constants) != len(rows):
            raise EtalonInputError(p, "RADCAL table lists a filter twice")
        for name, values in constants.items():
            if not all(np.isfinite(v) and v > 0 for v in values):
                raise EtalonInputError(p, f"RADCAL row {name!r}: WAVELEN, RADCALV and IOFCALV "
                                          f"must be finite and positive, got {values}")
        return RadcalReference(constants=constants, name=p.name)

    return _load(path, "RADCAL", instrument, read, mode, filter_name, check_selection)


# --------------------------------------------------------------------------- library
@dataclass(frozen=True)
class ReferenceEntry:
    """One file of a reference library: what it is for (from its primary header)."""

    path: Path
    reftype: str
    instrument: str
    mode: str | None
    filter: str | None


def scan_reference_library(directory: str | os.PathLike[str]) -> tuple[ReferenceEntry, ...]:
    """Index the reference FITS files (``*.fits``, ``*.fit``) of ``directory``.

    Only primary headers are read (REFTYPE, INSTRUME, IMGMODE, FILTER). Files
    without REFTYPE are ignored.

    Raises
    ------
    EtalonInputError
        Naming the folder when it does not exist, or a file that is not readable FITS.
    """
    d = Path(directory)
    if not d.is_dir():
        raise EtalonInputError(d, "reference library folder does not exist")
    entries = []
    for f in sorted(q for q in d.iterdir() if q.suffix.lower() in (".fits", ".fit") and q.is_file()):
        try:
            h = fits.getheader(f, 0)
        except Exception as exc:  # damaged file: name it
            raise EtalonInputError(f, f"not a readable reference file ({exc})") from exc
        reftype = str(h.get("REFTYPE", "")).strip().upper()
        if reftype:
            entries.append(ReferenceEntry(f, reftype, reference_instrument(h.get("INSTRUME", "")),
                                          _restriction(h.get("IMGMODE")),
                                          _restriction(h.get("FILTER"))))
    return tuple(entries)


def select_reference(entries, kind: str, instrument: str, mode=None, filter_name=None,
                     where: str | os.PathLike[str] | None = None) -> Path:
    """The library file of ``kind`` serving (instrument, mode, filter), most specific first.

    A file restricted to the frame's IMGMODE and FILTER wins over one restricted to
    one of them, which wins over an unrestricted one. Two equally specific matches
    are an error, as is no match.

    Raises
    ------
    EtalonInputError
        Naming ``where`` (the library), with what was looked for and what there is.
    """
    reftype = REFTYPES[kind]
    inst = reference_instrument(instrument)
    mode_s = None if mode is None else str(mode).strip().upper()
    filt_s = None if filter_name is None else str(filter_name).strip().upper()
    scored = []
    for e in entries:
        if e.reftype != reftype or e.instrument != inst:
            continue
        if (e.mode is not None and e.mode != mode_s) or (e.filter is not None and e.filter != filt_s):
            continue
        scored.append(((e.mode is not None) + (e.filter is not None), e))
    wanted = f"{reftype} reference for ({inst}, IMGMODE {mode_s or '-'}, FILTER {filt_s or '-'})"
    if not scored:
        have = [f"{e.path.name} ({e.instrument}, {e.mode or 'ALL'}, {e.filter or 'ALL'})"
                for e in entries if e.reftype == reftype]
        raise EtalonInputError(where, f"no {wanted}; the library has: "
                                      + (", ".join(have) or f"no {reftype} file"))
    best = max(score for score, _ in scored)
    top = [e for score, e in scored if score == best]
    if len(top) > 1:
        raise EtalonInputError(where, f"{len(top)} files match the {wanted} equally: "
                                      + ", ".join(e.path.name for e in top))
    return top[0].path


# --------------------------------------------------------------------------- synthetic set
@dataclass(frozen=True)
class SyntheticInstrument:
    """etalon's synthetic CCD: the truth the NAV simulator uses and the reference set shows.

    Illustrative values, not the mission's: gain (e-/DN), read noise (Klaasen et
    al. 2008 quote ~1 DN), dark model, flat with the quadrant gains, bad
    pixels, nonlinearity per quadrant, RADCAL per filter.
    """

    instrument: str
    gain_e_per_dn: float
    read_noise_dn: float
    dark_rate: np.ndarray = field(repr=False)
    dark_offset: np.ndarray = field(repr=False)
    dark_t_ref_k: float
    dark_doubling_k: float
    flat: np.ndarray = field(repr=False)
    bad: np.ndarray = field(repr=False)
    linearity: np.ndarray = field(repr=False)
    radcal: dict[str, tuple[float, float, float]] = field(repr=False)


#: illustrative MRI/HRI/ITS filters: name -> (centre nm, half width nm, RADCALV)
_FILTERS = {
    "CLEAR1": (650.0, 250.0, 8.7e-5),
    "CLEAR6": (650.0, 250.0, 8.7e-5),
    "OH": (309.0, 3.0, 2.4e-2),
    "UVCONT": (345.0, 3.0, 1.1e-2),
    "CN": (387.0, 3.0, 6.5e-3),
    "C2": (514.0, 5.0, 2.0e-3),
    "GRNCONT": (526.0, 3.0, 3.1e-3),
    "RED": (750.0, 50.0, 3.0e-4),
    "IR": (950.0, 50.0, 1.2e-3),
}


def _solar_radiance_1au(center_nm: float, half_width_nm: float) -> float:
    """Mean Wehrli (1985) solar irradiance over the band / pi, W m-2 sr-1 um-1 at 1 AU."""
    table = np.loadtxt(data_path("lunar_model", "wehrli_1985_solar_spectrum.csv"),
                       delimiter=",", skiprows=1)
    nm, irradiance = table[:, 0], table[:, 1] * 1000.0  # W m-2 nm-1 -> W m-2 um-1
    band = (nm >= center_nm - half_width_nm) & (nm <= center_nm + half_width_nm)
    value = irradiance[band].mean() if band.any() else np.interp(center_nm, nm, irradiance)
    return float(value / np.pi)


@lru_cache(maxsize=4)
def synthetic_instrument(instrument: str = "NAVMRI", shape: tuple[int, int] = (1008, 1008)
                         ) -> SyntheticInstrument:
    """The synthetic instrument of ``instrument`` (deterministic, cached).

    Parameters
    ----------
    instrument : str
        NAVMRI/MRIVIS, NAVHRI/HRIVIS or NAVITS/ITSVIS (one seed per CCD).
    shape : (int, int)
        Image shape (the 1008 x 1008 NAV image by default).
    """
    name = reference_instrument(instrument)
    if name not in _SEEDS:
        raise ValueError(f"no synthetic instrument for {instrument!r} (known: {sorted(_SEEDS)})")
    rng = np.random.default_rng(_SEEDS[name])
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    r2 = ((yy - ny / 2) ** 2 + (xx - nx / 2) ** 2) / ((ny / 2) ** 2 + (nx / 2) ** 2)
    # flat: vignetting, pixel response non-uniformity, quadrant gains, dust donuts
    flat = (1.0 - 0.06 * r2) * (1.0 + 0.01 * rng.standard_normal(shape))
    gains = (1.00, 0.97, 1.025, 0.985)
    half_y, half_x = ny // 2, nx // 2
    flat[half_y:, :half_x] *= gains[0]
    flat[:half_y, :half_x] *= gains[1]
    flat[half_y:, half_x:] *= gains[2]
    flat[:half_y, half_x:] *= gains[3]
    for _ in range(4):
        cy, cx = rng.uniform(0.1, 0.9, 2) * (ny, nx)
        radius = rng.uniform(0.015, 0.03) * nx
        ring = np.abs(np.hypot(yy - cy, xx - cx) - radius) < 0.004 * nx
        flat[ring] *= 0.96
    # bad pixels: hot, dead, a partly dead column
    n = ny * nx
    hot = np.zeros(n, bool)
    hot[rng.choice(n, size=n // 1000, replace=False)] = True
    dead = np.zeros(n, bool)
    dead[rng.choice(n, size=n // 3000, replace=False)] = True
    hot, dead = hot.reshape(shape), dead.reshape(shape) & ~hot.reshape(shape)
    column = int(0.7 * nx)
    dead[int(0.1 * ny):int(0.4 * ny), column] = True
    flat[dead] = 0.02
    good = ~(hot | dead)
    flat /= flat[good].mean()
    # dark: gradient, warm pixels (not bad), hot pixels (bad), zero-exposure offset
    rate = 0.6 + 0.3 * yy / ny
    warm = (rng.random(shape) < 0.01) & good
    rate[warm] += rng.uniform(5.0, 30.0, warm.sum())
    rate[hot] += np.exp(rng.uniform(np.log(50.0), np.log(2000.0), hot.sum()))
    offset = 1.5 + 0.8 * xx / nx + 0.05 * rng.standard_normal(shape)
    # nonlinearity per quadrant: linear = x + c2 x^2 + c3 x^3 (x: bias-subtracted DN)
    c2 = rng.uniform(0.8e-6, 1.6e-6, 4)
    c3 = rng.uniform(0.5e-11, 2.0e-11, 4)
    linearity = np.zeros((4, 5))
    linearity[:, 1] = 1.0
    linearity[:, 2] = c2
    linearity[:, 3] = c3
    radcal = {f: (c, _FILTERS[f][2], _solar_radiance_1au(c, w)) for f, (c, w, _) in
              _FILTERS.items()}
    return SyntheticInstrument(
        instrument=name, gain_e_per_dn=28.0, read_noise_dn=1.0,
        dark_rate=rate.astype(np.float32), dark_offset=offset.astype(np.float32),
        dark_t_ref_k=180.0, dark_doubling_k=6.0, flat=flat.astype(np.float32),
        bad=(hot | dead), linearity=linearity, radcal=radcal)


def _reference_header(reftype: str, instrument: str, unit: str, description: str) -> fits.Header:
    h = fits.Header()
    h["REFTYPE"] = (reftype, "etalon calibration reference type")
    h["INSTRUME"] = (instrument, "Instrument (CCD) of this reference")
    h["BUNIT"] = (unit, "Physical units of the primary array")
    h["ORIGIN"] = ("etalon synthetic", "illustrative, not mission data")
    h["REFVERS"] = (SYNTHETIC_VERSION, "version of etalon's synthetic reference set")
    h["ETALONV"] = (__version__, "etalon package version")
    h.add_comment(description)
    return h


def _set_paths(instrument: str, directory: Path) -> dict[str, Path]:
    stem = f"etalon_synth_{instrument}_v{SYNTHETIC_VERSION}"
    return {k: directory / f"{stem}_{k}.fits"
            for k in ("dark", "flat", "badpix", "linearity", "radcal")}


def write_reference_set(inst: SyntheticInstrument, directory: str | os.PathLike[str]
                        ) -> ReferenceSet:
    """Write the five reference files of ``inst`` into ``directory`` (atomically)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths = _set_paths(inst.instrument, d)

    h = _reference_header("DARK", inst.instrument, "DN/s", "dark rate at DARKTREF; OFFSET = "
                          "zero-exposure dark (DN)")
    h["DARKALG"] = ("MODEL", "OFFSET + rate*t*2**((CCDT-DARKTREF)/DARKDBLT)")
    h["DARKTREF"] = (inst.dark_t_ref_k, "[K] reference CCD temperature of the rate")
    h["DARKDBLT"] = (inst.dark_doubling_k, "[K] temperature rise doubling the dark rate")
    offset_header = fits.Header()
    offset_header["BUNIT"] = "DN"
    _write(paths["dark"], [fits.PrimaryHDU(inst.dark_rate, h),
                           fits.ImageHDU(inst.dark_offset, offset_header, name="OFFSET")])
    _write(paths["flat"], [fits.PrimaryHDU(inst.flat, _reference_header(
        "FLAT", inst.instrument, "dimensionless", "normalized flat incl. quadrant gains"))])
    _write(paths["badpix"], [fits.PrimaryHDU(inst.bad.astype(np.uint8), _reference_header(
        "BADPIX", inst.instrument, "N/A", "bad pixel map, 1 = bad"))])
    lin = Table({"QUADRANT": np.arange(1, 5, dtype=np.int16),
                 **{f"C{k}": inst.linearity[:, k] for k in range(5)}})
    lin.meta["COMMENT"] = ["linear DN = sum Ck x**k, x = bias-subtracted raw DN"]
    _write(paths["linearity"], [fits.PrimaryHDU(header=_reference_header(
        "LINEARITY", inst.instrument, "DN", "linearity polynomial per quadrant (NAVBIAS order)")),
        fits.table_to_hdu(lin)])
    filters = sorted(inst.radcal)
    columns = [
        fits.Column("FILTER", "16A", array=np.array(filters)),
        fits.Column("WAVELEN", "D", unit="nm", array=[inst.radcal[f][0] for f in filters]),
        fits.Column("RADCALV", "D", unit=RADCALV_UNIT, array=[inst.radcal[f][1] for f in filters]),
        fits.Column("IOFCALV", "D", unit=IOFCALV_UNIT, array=[inst.radcal[f][2] for f in filters]),
    ]
    _write(paths["radcal"], [fits.PrimaryHDU(header=_reference_header(
        "RADCAL", inst.instrument, "N/A", "illustrative RADCAL; IOFCALV from Wehrli 1985 / pi")),
        fits.BinTableHDU.from_columns(columns, name="RADCAL")])
    return ReferenceSet(instrument=inst.instrument, **paths)


def _write(path: Path, hdus: list) -> None:
    with atomic_output(path) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True, output_verify="exception")


def default_reference_directory() -> Path:
    """Where the synthetic set is generated: ``$ETALON_CACHE`` or ``~/.cache/etalon``."""
    return cache_directory("ccd-reference")


def synthetic_reference_set(instrument: str = "NAVMRI",
                            directory: str | os.PathLike[str] | None = None) -> ReferenceSet:
    """The synthetic reference set of ``instrument``, generated on first use.

    Files already present with the current version are reused without building
    the instrument again (the content is deterministic). Each file is written to
    a uniquely named temporary file and renamed into place, so a file that exists
    is complete, and workers generating the set at the same time (a dask batch on
    a fresh cache) each write identical content: the last rename wins, no reader
    ever sees a partial file.
    """
    name = reference_instrument(instrument)
    if name not in _SEEDS:
        raise ValueError(f"no synthetic instrument for {instrument!r} (known: {sorted(_SEEDS)})")
    d = Path(directory) if directory is not None else default_reference_directory()
    paths = _set_paths(name, d)
    if all(p.is_file() for p in paths.values()):
        return ReferenceSet(instrument=name, **paths)
    missing = sorted(p.name for p in paths.values() if not p.is_file())
    log.warning("writing etalon's synthetic %s reference set (illustrative, not the mission's) "
                "into %s (%s); set ETALON_CACHE to put it elsewhere", name, d, ", ".join(missing))
    return write_reference_set(synthetic_instrument(name), d)
