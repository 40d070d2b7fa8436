"""Lunar reference models: ROLO, GIRO-like ROLO and LIME disk reflectance, band irradiance.

The disk-equivalent reflectance of Kieffer & Stone (2005, AJ 129:2887, eq. 10),
for one wavelength ``k``::

    ln A_k = sum_{i=0..3} a_ik g^i + sum_{j=1..3} b_jk Phi^(2j-1)
             + c1 theta + c2 phi + c3 Phi theta + c4 Phi phi
             + d1k exp(-g'/p1) + d2k exp(-g'/p2) + d3k cos((g' - p3)/p4)

with ``g`` the absolute phase angle in radians (``g'`` the same in degrees),
``theta`` and ``phi`` the selenographic latitude and longitude of the observer
(degrees), ``Phi`` the selenographic longitude of the Sun (radians). This is the
published ROLO meaning of c1..c4, and the LIME ATBD's.

LIME coefficient files come in two generations (:func:`lime_convention`): the LIME
toolbox before its version 1.1.0 (2025-04-21) applied c1/c3 to the observer
*longitude* and stored its coefficients in that swapped order (files
``20230123``, ``20231120_v01``); since 1.1.0 the equation and the files follow the
ATBD (``20231120_v02``, ``20250608_V01``, the bundled ``20251010_V01``). The
reader decides from the file's attributes and always returns the ATBD order.

Spectral interpolation between model wavelengths (``ReflectanceModel.interpolation``):

- ``"linear"``: linear in wavelength, constant beyond the ends (raw ROLO);
- ``"apollo16"``: along the Apollo 16 soil 62231 laboratory spectrum (the LIME
  toolbox's method): the ratio ``A_k / S(lambda_k)`` of the model to the shape ``S``
  is interpolated linearly and held constant beyond the end wavelengths,
  ``A(lambda) = S(lambda) r(lambda)``;
- ``"apollo16-smoothed"``: GIRO-like ROLO: the 32 ratios ``A_k / S(lambda_k)`` are
  fitted by a quadratic polynomial in wavelength (least squares, equal weights),
  evaluated within 350-2384 nm and constant beyond, times ``S``. This removes the
  band-to-band scatter of the 32 ROLO bands (up to +7 % at 665 nm, -4 % at 1634 nm).

The shape is the bundled Apollo 16 soil 62231 average (RELAB, 5 nm). The toolbox's
composite is 95 % Apollo 16 soil + 5 % breccia 67455; the breccia spectrum is not
bundled, so etalon uses the soil alone (the breccia changes the spectral slope, not
the narrow features, and the ratio interpolation absorbs a smooth slope). The toolbox's
small CIMEL-filter correction of the shape (band-integrated minus point value) is not
applied (< 0.1 % for a smooth shape).

The irradiance (W m-2 um-1) at the observer::

    E(lambda) = A(lambda) * Omega_M * E_sun(lambda) / pi
                * (1 AU / d_sun_moon)^2 * (384400 km / d_obs_moon)^2

with ``Omega_M = 6.4177e-5 sr`` and ``E_sun`` the solar spectrum of the model
(Wehrli 1985 for ROLO, TSIS-1 HSRS for LIME). Band values are SRF-weighted means.
Since the interpolation is linear in the ``A_k``, a band irradiance is
``E_band = sum_k g_k A_k`` (:func:`band_weights`), which makes the propagation of
LIME's coefficient uncertainty and error correlation exact to first order
(:func:`lime_band_uncertainty`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from etalon.data import data_path
from etalon.fileio import EtalonInputError, require_file
from etalon.spectral.responses import SpectralResponse
from etalon.spectral.solar import SolarSpectrum, tsis, wehrli

__all__ = [
    "CIMEL_WAVELENGTHS_NM",
    "LIME_ATBD_SINCE",
    "MODEL_NAMES",
    "MOON_RADIUS_KM",
    "MOON_SOLID_ANGLE_SR",
    "PHASE_RANGE_DEG",
    "REFERENCE_MOON_DISTANCE_KM",
    "ROLO_C",
    "ROLO_MODEL_UNC",
    "ROLO_P",
    "LunarModelRangeWarning",
    "ModelIrradiance",
    "ReflectanceModel",
    "apollo16_shape",
    "band_irradiance",
    "band_weights",
    "disk_reflectance",
    "distance_factor",
    "get_model",
    "interpolation_matrix",
    "lime_band_uncertainty",
    "lime_convention",
    "lime_model",
    "lunar_solid_angle",
    "read_lime_coefficients",
    "read_rolo_table",
    "rolo_giro_model",
    "rolo_model",
    "spectral_irradiance",
]

#: ROLO wavelength-independent libration coefficients c1..c4 (Kieffer & Stone 2005, Table 4)
ROLO_C = (0.00034115, -0.0013425, 0.00095906, 0.00066229)
#: ROLO non-linear phase parameters p1..p4, degrees (same table)
ROLO_P = (4.06054, 12.8802, -30.5858, 16.7498)
#: phase-angle range of the ROLO fit, degrees
PHASE_RANGE_DEG = (1.55, 97.0)
#: mean lunar radius used by ROLO, km
MOON_RADIUS_KM = 1737.4
#: Earth-Moon reference distance of the model, km
REFERENCE_MOON_DISTANCE_KM = 384400.0


def lunar_solid_angle(distance_km: float = REFERENCE_MOON_DISTANCE_KM,
                      radius_km: float = MOON_RADIUS_KM) -> float:
    """Solid angle of the lunar disk, sr: ``pi (R/d)^2`` (6.4177e-5 sr at 384400 km)."""
    return float(np.pi * (radius_km / distance_km) ** 2)


#: lunar solid angle at the reference distance, sr (6.4177e-5)
MOON_SOLID_ANGLE_SR = lunar_solid_angle()


class LunarModelRangeWarning(UserWarning):
    """The geometry or wavelength is outside the range where the model was fitted."""


@dataclass(frozen=True)
class ReflectanceModel:
    """Coefficients of a ROLO-form reflectance model at its wavelengths.

    Attributes
    ----------
    name : str
        ``"ROLO"``, ``"ROLO-GIRO"`` or ``"LIME <file>"``: recorded in every output.
    wavelength_um : numpy.ndarray
        Model wavelengths, um (n,).
    coefficients : numpy.ndarray
        (18, n): a0..a3, b1..b3, c1..c4 (published ROLO/ATBD meaning), d1..d3, p1..p4.
    uncertainty : numpy.ndarray or None
        Same shape, absolute 1-sigma, when the source gives it.
    err_corr : numpy.ndarray or None
        (18 n, 18 n) error correlation of the coefficients, index ``i * n + k`` for
        coefficient ``i`` at wavelength ``k`` (the LIME files' ``i_coeff.wavelength``).
    interpolation : str
        ``"linear"``, ``"apollo16"`` or ``"apollo16-smoothed"`` (module docstring).
    solar : str
        ``"wehrli"`` or ``"tsis"``: the solar spectrum of the model.
    convention : str
        How the file's libration coefficients were read (``"ATBD"``, ``"swapped (toolbox < 1.1.0)"``).
    relative_unc : float
        Relative 1-sigma of the model irradiance not covered by ``uncertainty``
        (ROLO: 0.05, its stated absolute scale uncertainty; LIME: 0, from the coefficients).
    """

    name: str
    wavelength_um: np.ndarray
    coefficients: np.ndarray
    uncertainty: np.ndarray | None = field(default=None, repr=False)
    err_corr: np.ndarray | None = field(default=None, repr=False)
    interpolation: str = "linear"
    solar: str = "wehrli"
    convention: str = "ATBD"
    relative_unc: float = 0.0

    def solar_spectrum(self) -> SolarSpectrum:
        """The model's solar spectrum (W m-2 um-1 at 1 AU)."""
        return tsis() if self.solar == "tsis" else wehrli()

    def reflectance(self, phase_deg: float, obs_lat_deg: float, obs_lon_deg: float,
                    sun_lon_deg: float) -> np.ndarray:
        """Disk reflectance at the model wavelengths (n,)."""
        return disk_reflectance(self.coefficients, phase_deg, obs_lat_deg, obs_lon_deg, sun_lon_deg)


def disk_reflectance(coefficients: np.ndarray, phase_deg: float | np.ndarray,
                     obs_lat_deg: float | np.ndarray, obs_lon_deg: float | np.ndarray,
                     sun_lon_deg: float | np.ndarray) -> np.ndarray:
    """ROLO disk-equivalent reflectance (Kieffer & Stone 2005, eq. 10).

    Parameters
    ----------
    coefficients : array_like, shape (18, n)
        a0..a3, b1..b3, c1..c4, d1..d3, p1..p4 for ``n`` wavelengths; c1 and c3
        multiply the observer latitude, c2 and c4 the observer longitude.
    phase_deg : float or array_like
        Phase angle, degrees (its absolute value is used; the sign, waxing or
        waning, is carried by ``sun_lon_deg``).
    obs_lat_deg, obs_lon_deg : float or array_like
        Selenographic latitude and longitude of the observer, degrees.
    sun_lon_deg : float or array_like
        Selenographic longitude of the Sun, degrees.

    Returns
    -------
    numpy.ndarray
        The ``n`` reflectances (dimensionless). Geometry arguments broadcast
        against the ``n`` columns: scalars give one geometry for every column,
        arrays of shape (n,) one geometry per column, arrays of shape (m, 1)
        an (m, n) result.

    Warns
    -----
    LunarModelRangeWarning
        When any ``|phase_deg|`` is outside 1.55 to 97 degrees.
    """
    k = np.asarray(coefficients, dtype=float)
    if k.ndim == 1:
        k = k[:, None]
    if k.ndim != 2 or k.shape[0] != 18:
        raise ValueError(f"coefficients must have shape (18, n) (a0..p4), got {k.shape}")
    gd = np.abs(np.asarray(phase_deg, dtype=float))
    outside = (gd < PHASE_RANGE_DEG[0]) | (gd > PHASE_RANGE_DEG[1])
    if np.any(outside):
        bad = np.unique(gd[outside])
        warnings.warn(f"phase angle {', '.join(f'{v:.3f}' for v in bad[:5])} deg is outside the "
                      f"model range {PHASE_RANGE_DEG[0]}-{PHASE_RANGE_DEG[1]} deg",
                      LunarModelRangeWarning, stacklevel=2)
    g = np.radians(gd)
    sun = np.radians(np.asarray(sun_lon_deg, dtype=float))
    lat, lon = np.asarray(obs_lat_deg, dtype=float), np.asarray(obs_lon_deg, dtype=float)
    a, b, c, d, p = k[0:4], k[4:7], k[7:11], k[11:14], k[14:18]
    ln_a = (a[0] + a[1] * g + a[2] * g**2 + a[3] * g**3
            + b[0] * sun + b[1] * sun**3 + b[2] * sun**5
            + c[0] * lat + c[1] * lon + c[2] * sun * lat + c[3] * sun * lon
            + d[0] * np.exp(-gd / p[0]) + d[1] * np.exp(-gd / p[1])
            + d[2] * np.cos((gd - p[2]) / p[3]))
    return np.exp(ln_a)


def read_rolo_table(path: str | os.PathLike[str]) -> ReflectanceModel:
    """Read the ROLO Table 4 CSV (wavelength nm, a0..a3, b1..b3, d1..d3) and add the constants."""
    p = require_file(path, "ROLO coefficient table")
    try:
        t = np.loadtxt(p, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise EtalonInputError(p, f"not a ROLO coefficient table ({exc})") from exc
    if t.shape[1] != 11:
        raise EtalonInputError(p, f"expected 11 columns (nm, a0..a3, b1..b3, d1..d3), got {t.shape[1]}")
    n = t.shape[0]
    k = np.empty((18, n))
    k[0:7] = t[:, 1:8].T
    k[7:11] = np.array(ROLO_C)[:, None]
    k[11:14] = t[:, 8:11].T
    k[14:18] = np.array(ROLO_P)[:, None]
    return ReflectanceModel("ROLO", t[:, 0] / 1000.0, k, relative_unc=ROLO_MODEL_UNC)


#: relative 1-sigma given to ROLO model irradiances (Kieffer & Stone 2005: absolute scale 5-10 %)
ROLO_MODEL_UNC = 0.05


@functools.lru_cache(maxsize=1)
def rolo_model() -> ReflectanceModel:
    """The bundled ROLO model (32 wavelengths, Kieffer & Stone 2005 Table 4), raw linear interpolation."""
    return read_rolo_table(data_path("lunar_model", "rolo_kieffer_stone_2005_table4.csv"))


@functools.lru_cache(maxsize=1)
def rolo_giro_model() -> ReflectanceModel:
    """GIRO-like ROLO: the same coefficients, smoothed along the Apollo 16 shape (module docstring)."""
    m = rolo_model()
    return dataclasses.replace(m, name="ROLO-GIRO", interpolation="apollo16-smoothed")




#: wavelengths of the CIMEL 1088 photometer bands of LIME, nm (2130 in recent files)
CIMEL_WAVELENGTHS_NM = (440, 500, 675, 870, 1020, 1640, 2130)
#: release of the LIME toolbox (1.1.0) from which coefficient files follow the ATBD order
LIME_ATBD_SINCE = "20250421"
#: LIME row order of the old generation -> ATBD/ROLO meaning (swap c1<->c2 and c3<->c4)
_SWAPPED_ROWS = [0, 1, 2, 3, 4, 5, 6, 8, 7, 10, 9, 11, 12, 13, 14, 15, 16, 17]


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in str(text).strip().lstrip("vV").split(".") if v.isdigit())


def lime_convention(attributes: dict) -> str:
    """Libration-coefficient order of a LIME coefficient file, from its global attributes.

    Rules, first match wins:

    1. ``tbx_version_required`` >= 1.1.0 -> ``"ATBD"`` (< 1.1.0 -> ``"swapped"``);
    2. ``file_version`` >= 2 -> ``"ATBD"`` (``20231120_v02`` is the corrected ``_v01``);
    3. ``release_date`` (else ``creation_date``, YYYYMMDD) on or after 20250421, the
       release of toolbox 1.1.0, -> ``"ATBD"``; before -> ``"swapped"``;
    4. no usable attribute -> ``"ATBD"`` (the current convention).

    Returns
    -------
    str
        ``"ATBD"`` (c1, c3 x observer latitude) or ``"swapped"`` (c1, c3 x longitude).
    """
    req = attributes.get("tbx_version_required")
    if req is not None and _version_tuple(req):
        return "ATBD" if _version_tuple(req) >= (1, 1, 0) else "swapped"
    try:
        if int(str(attributes.get("file_version", "1")).strip()) >= 2:
            return "ATBD"
    except ValueError:
        pass
    for key in ("release_date", "creation_date"):
        date = "".join(ch for ch in str(attributes.get(key, "")) if ch.isdigit())[:8]
        if len(date) == 8:
            return "ATBD" if date >= LIME_ATBD_SINCE else "swapped"
    return "ATBD"


def read_lime_coefficients(path: str | os.PathLike[str], convention: str | None = None) -> ReflectanceModel:
    """Read a LIME coefficient file (``LIME_MODEL_COEFS_*.nc``) in its own convention.

    Parameters
    ----------
    path : path-like
        netCDF with ``coeff`` (18, n), optionally ``u_coeff`` (% of the coefficient),
        ``err_corr_coeff`` (18 n, 18 n) and ``wavelength`` (nm; a variable or a
        coordinate; when absent, the CIMEL wavelengths for n = 6 or 7, with a warning).
    convention : {"ATBD", "swapped"}, optional
        Override the order decided from the file's attributes (:func:`lime_convention`).

    Returns
    -------
    ReflectanceModel
        ``coefficients`` in the published ROLO/ATBD meaning, absolute ``uncertainty``,
        ``err_corr``, LIME's spectral method (Apollo 16 shape, TSIS-1).

    Raises
    ------
    EtalonInputError
        Naming the file, when it is not a LIME coefficient file.
    """
    import netCDF4

    p = require_file(path, "LIME coefficient file")
    try:
        with netCDF4.Dataset(p) as ds:
            attrs = {k: ds.getncattr(k) for k in ds.ncattrs()}
            coeff = np.ma.filled(ds["coeff"][:].astype(float), np.nan)
            wl = (np.ma.filled(ds["wavelength"][:].astype(float), np.nan)
                  if "wavelength" in ds.variables else None)
            unc = np.ma.filled(ds["u_coeff"][:].astype(float), np.nan) if "u_coeff" in ds.variables else None
            corr = (np.ma.filled(ds["err_corr_coeff"][:].astype(float), np.nan)
                    if "err_corr_coeff" in ds.variables else None)
    except (OSError, KeyError, IndexError, ValueError, TypeError) as exc:
        raise EtalonInputError(p, f"not a LIME coefficient file ({exc})") from exc
    if coeff.ndim != 2 or coeff.shape[0] != 18 or not np.all(np.isfinite(coeff)):
        raise EtalonInputError(p, f"LIME 'coeff' must be 18 finite rows, got shape {coeff.shape}")
    n = coeff.shape[1]
    if wl is None:
        if n not in (6, 7):
            raise EtalonInputError(p, f"no 'wavelength' variable and {n} columns: "
                                      "cannot tell the wavelengths")
        wl = np.array(CIMEL_WAVELENGTHS_NM[:n], float)
        warnings.warn(f"{p}: no 'wavelength' variable: taking the CIMEL wavelengths "
                      f"{CIMEL_WAVELENGTHS_NM[:n]} nm", stacklevel=2)
    if wl.shape != (n,) or not np.all(np.isfinite(wl)) or np.any(np.diff(wl) <= 0):
        raise EtalonInputError(p, f"'wavelength' must be {n} increasing finite values (nm)")
    conv = convention or lime_convention(attrs)
    if conv not in ("ATBD", "swapped"):
        raise ValueError(f"convention must be 'ATBD' or 'swapped', got {conv!r}")
    rows = _SWAPPED_ROWS if conv == "swapped" else list(range(18))
    coeff = coeff[rows]
    if unc is not None:
        if unc.shape != (18, n):
            raise EtalonInputError(p, f"'u_coeff' must have shape (18, {n}), got {unc.shape}")
        unc = np.abs(np.nan_to_num(unc[rows]) * coeff / 100.0)
    if corr is not None:
        if corr.shape != (18 * n, 18 * n):
            raise EtalonInputError(p, f"'err_corr_coeff' must be ({18 * n}, {18 * n}), got {corr.shape}")
        order = (np.array(rows)[:, None] * n + np.arange(n)[None, :]).ravel()
        corr = np.nan_to_num(corr[np.ix_(order, order)])
        np.fill_diagonal(corr, 1.0)
    label = "ATBD" if conv == "ATBD" else "swapped (toolbox < 1.1.0), re-ordered"
    return ReflectanceModel(f"LIME {p.name}", wl / 1000.0, coeff, unc, corr, interpolation="apollo16",
                            solar="tsis", convention=label)


@functools.lru_cache(maxsize=1)
def lime_model() -> ReflectanceModel:
    """The bundled LIME coefficients (``LIME_MODEL_COEFS_20251010_V01.nc``, ATBD order)."""
    return read_lime_coefficients(data_path("lunar_model", "LIME_MODEL_COEFS_20251010_V01.nc"))


#: model names understood by :func:`get_model` (or a LIME coefficient file path)
MODEL_NAMES = ("rolo", "rolo-giro", "lime")


def get_model(name: str | os.PathLike[str]) -> ReflectanceModel:
    """``"rolo"`` (raw), ``"rolo-giro"`` (GIRO-like), ``"lime"`` (bundled) or a LIME file path.

    Raises
    ------
    EtalonInputError
        When ``name`` is neither a known model nor a readable LIME coefficient file.
    """
    key = str(name).lower()
    if key == "rolo":
        return rolo_model()
    if key in ("rolo-giro", "giro"):
        return rolo_giro_model()
    if key == "lime":
        return lime_model()
    return read_lime_coefficients(name)


@functools.lru_cache(maxsize=1)
def apollo16_shape() -> tuple[np.ndarray, np.ndarray]:
    """The Apollo 16 soil 62231 reflectance spectrum (RELAB average): wavelength um, reflectance."""
    p = data_path("lunar_model", "apollo16_soil_reflectance.txt")
    d = np.loadtxt(p, delimiter=",", comments="#", usecols=(0, 1), ndmin=2)
    return d[:, 0] / 1000.0, d[:, 1]


def interpolation_matrix(model: ReflectanceModel, grid_um: np.ndarray) -> np.ndarray:
    """The linear map from the model reflectances ``A_k`` to ``A(grid)``: shape (len(grid), n).

    ``A(grid) = W @ A_k`` for the model's interpolation method (module docstring).
    """
    grid = np.asarray(grid_um, float)
    wl = model.wavelength_um
    n = wl.size
    eye = np.eye(n)
    if model.interpolation == "linear":
        return np.stack([np.interp(grid, wl, eye[k]) for k in range(n)], axis=1)
    swl, sref = apollo16_shape()
    s_grid = np.interp(grid, swl, sref)
    s_k = np.interp(wl, swl, sref)
    if model.interpolation == "apollo16":
        ratio = np.stack([np.interp(grid, wl, eye[k]) for k in range(n)], axis=1)
        return s_grid[:, None] * ratio / s_k[None, :]
    if model.interpolation == "apollo16-smoothed":
        x0, scale = float(wl.mean()), float(np.ptp(wl) or 1.0)
        vk = np.vander((wl - x0) / scale, 3)
        xg = (np.clip(grid, wl[0], wl[-1]) - x0) / scale
        fit = np.vander(xg, 3) @ np.linalg.pinv(vk)
        return s_grid[:, None] * fit / s_k[None, :]
    raise ValueError(f"unknown interpolation {model.interpolation!r}")


def distance_factor(sun_moon_au: float, obs_moon_km: float) -> float:
    """Scale from the model's standard distances to the actual ones: (1/d_sun)^2 (384400/d_obs)^2."""
    return (1.0 / sun_moon_au) ** 2 * (REFERENCE_MOON_DISTANCE_KM / obs_moon_km) ** 2


def spectral_irradiance(model: ReflectanceModel, wavelength_um: np.ndarray, phase_deg: float,
                        obs_lat_deg: float, obs_lon_deg: float, sun_lon_deg: float,
                        sun_moon_au: float = 1.0,
                        obs_moon_km: float = REFERENCE_MOON_DISTANCE_KM,
                        solar: SolarSpectrum | None = None) -> np.ndarray:
    """Lunar spectral irradiance at ``wavelength_um``, W m-2 um-1.

    The reflectance is interpolated with the model's method (:func:`interpolation_matrix`),
    multiplied by ``Omega_M E_sun / pi`` (the model's solar spectrum unless ``solar``)
    and the distance factor.
    """
    solar = solar or model.solar_spectrum()
    wl = np.atleast_1d(np.asarray(wavelength_um, float))
    refl = model.reflectance(phase_deg, obs_lat_deg, obs_lon_deg, sun_lon_deg)
    a = interpolation_matrix(model, wl) @ refl
    return (a * MOON_SOLID_ANGLE_SR * solar.at(wl) / np.pi
            * distance_factor(sun_moon_au, obs_moon_km))


@dataclass(frozen=True)
class BandWeights:
    """``E_band = factor * sum_k g_k A_k`` for one response and model (see :func:`band_weights`).

    Attributes
    ----------
    g : numpy.ndarray
        (n,) weights of the model reflectances, W m-2 um-1 per unit reflectance at 1 AU
        and 384400 km (``Omega_M / pi`` included).
    solar_weighted : float
        ``int E_sun S / int S``, W m-2 um-1 (to turn ``E_band`` into a mean reflectance).
    extrapolated_fraction : float
        Fraction of ``int E_sun S`` from wavelengths outside the model's range.
    outside_sun : bool
        Part of the response (> 0.1 % of peak) lies outside the solar table.
    """

    g: np.ndarray
    solar_weighted: float
    extrapolated_fraction: float
    outside_sun: bool


def band_weights(model: ReflectanceModel, srf: SpectralResponse, solar: SolarSpectrum | None = None,
                 step_um: float = 0.0005) -> BandWeights:
    """Weights ``g_k`` of the model reflectances in the band irradiance (exact: linear interpolation).

    ``E_band = int E(lambda) S dlambda / int S dlambda = sum_k g_k A_k`` x distance factor,
    with the trapezoidal rule on a ``step_um`` grid covering the response.
    """
    solar = solar or model.solar_spectrum()
    lo, hi = srf.wavelength_um[0], srf.wavelength_um[-1]
    grid = np.arange(lo, hi + step_um / 2, step_um)
    s = np.interp(grid, srf.wavelength_um, srf.response)
    e_sun = solar.at(grid)
    support = s > 1e-3 * s.max()
    outside_sun = bool(np.any(np.isnan(e_sun) & support))
    e_sun = np.nan_to_num(e_sun)
    weight = np.trapezoid(s, grid)
    w = interpolation_matrix(model, grid)
    es = e_sun * s
    g = np.trapezoid(es[:, None] * w, grid, axis=0) / weight * MOON_SOLID_ANGLE_SR / np.pi
    total = np.trapezoid(es, grid)
    out = (grid < model.wavelength_um[0]) | (grid > model.wavelength_um[-1])
    frac = float(np.trapezoid(np.where(out, es, 0.0), grid) / total) if total > 0 else 1.0
    return BandWeights(g, float(total / weight), frac, outside_sun)


@dataclass(frozen=True)
class ModelIrradiance:
    """The model irradiance of the Moon in one channel.

    Attributes
    ----------
    channel : str
    irradiance : float
        SRF-weighted mean spectral irradiance, W m-2 um-1, at the actual distances.
    reflectance : float
        SRF- and solar-weighted mean disk reflectance.
    model : str
    in_phase_range : bool
        ``1.55 <= |phase| <= 97`` degrees.
    extrapolated : bool
        Part of the response (above 0.1 % of its peak) lies outside the model wavelengths
        (or the solar table, where the solar irradiance is taken as zero).
    uncertainty : float
        1-sigma of ``irradiance``, W m-2 um-1: quadrature of ``unc_coefficients``,
        ``unc_extrapolation`` and ``relative_unc * irradiance`` (ROLO's scale).
    unc_coefficients : float
        From the coefficient uncertainties and error correlation (LIME), W m-2 um-1.
    unc_extrapolation : float
        ``EXTRAPOLATION_UNC * extrapolated_fraction * irradiance``, W m-2 um-1.
    extrapolated_fraction : float
        Share of the band's solar-weighted signal outside the model wavelengths.
    """

    channel: str
    irradiance: float
    reflectance: float
    model: str
    in_phase_range: bool
    extrapolated: bool
    uncertainty: float = float("nan")
    unc_coefficients: float = 0.0
    unc_extrapolation: float = 0.0
    extrapolated_fraction: float = 0.0


#: relative 1-sigma given to the extrapolated part of a band (shape-held ratio beyond the
#: last model wavelength; 5 %, the spread between Apollo-shape and flat extrapolation at 2.1 um)
EXTRAPOLATION_UNC = 0.05


def _dlnA_dcoeff(coefficients: np.ndarray, phase_deg: float, obs_lat_deg: float, obs_lon_deg: float,
                 sun_lon_deg: float) -> np.ndarray:
    """Partial derivatives of ln A_k with respect to the 18 coefficients at wavelength k: (18, n)."""
    k = np.asarray(coefficients, float)
    gd = abs(float(phase_deg))
    g, sun = math.radians(gd), math.radians(float(sun_lon_deg))
    lat, lon = float(obs_lat_deg), float(obs_lon_deg)
    d, p = k[11:14], k[14:18]
    n = k.shape[1]
    out = np.empty((18, n))
    out[0:4] = np.array([1.0, g, g**2, g**3])[:, None]
    out[4:7] = np.array([sun, sun**3, sun**5])[:, None]
    out[7:11] = np.array([lat, lon, sun * lat, sun * lon])[:, None]
    e1, e2 = np.exp(-gd / p[0]), np.exp(-gd / p[1])
    arg = (gd - p[2]) / p[3]
    out[11], out[12], out[13] = e1, e2, np.cos(arg)
    out[14] = d[0] * e1 * gd / p[0] ** 2
    out[15] = d[1] * e2 * gd / p[1] ** 2
    out[16] = d[2] * np.sin(arg) / p[3]
    out[17] = d[2] * np.sin(arg) * arg / p[3]
    return out


def lime_band_uncertainty(model: ReflectanceModel, g: np.ndarray, phase_deg: float,
                          obs_lat_deg: float, obs_lon_deg: float, sun_lon_deg: float,
                          method: str = "analytic", n_draws: int = 2000, seed: int = 0) -> float:
    """1-sigma of ``sum_k g_k A_k`` from the coefficient uncertainty and error correlation.

    Parameters
    ----------
    model : ReflectanceModel
        With ``uncertainty`` (absolute) and optionally ``err_corr`` (identity if None).
    g : numpy.ndarray
        (n,) band weights (:func:`band_weights`), any unit (the result has it).
    method : {"analytic", "montecarlo"}
        First-order linearisation ``J C J^T`` with ``J_ik = g_k A_k dlnA_k/dc_ik``,
        or a numpy Monte Carlo: ``n_draws`` coefficient sets from the multivariate
        normal (covariance ``diag(u) R diag(u)``, negative eigenvalues of ``R`` clipped),
        ``E`` recomputed for each, standard deviation returned.

    Returns
    -------
    float
        0 when the model carries no uncertainty.
    """
    if model.uncertainty is None:
        return 0.0
    k = model.coefficients
    n = k.shape[1]
    u = model.uncertainty.ravel()
    corr = model.err_corr if model.err_corr is not None else np.eye(18 * n)
    cov = corr * u[:, None] * u[None, :]
    if method == "analytic":
        a = disk_reflectance(k, phase_deg, obs_lat_deg, obs_lon_deg, sun_lon_deg)
        jac = (_dlnA_dcoeff(k, phase_deg, obs_lat_deg, obs_lon_deg, sun_lon_deg)
               * (np.asarray(g) * a)[None, :]).ravel()
        return float(np.sqrt(max(jac @ cov @ jac, 0.0)))
    if method != "montecarlo":
        raise ValueError(f"method must be 'analytic' or 'montecarlo', got {method!r}")
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))[None, :]
    rng = np.random.default_rng(seed)
    draws = k.ravel()[None, :] + rng.standard_normal((n_draws, 18 * n)) @ root.T
    out = np.empty(n_draws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LunarModelRangeWarning)
        for i in range(n_draws):
            out[i] = np.asarray(g) @ disk_reflectance(draws[i].reshape(18, n), phase_deg,
                                                      obs_lat_deg, obs_lon_deg, sun_lon_deg)
    return float(np.std(out, ddof=1))


def band_irradiance(model: ReflectanceModel, srf: SpectralResponse, phase_deg: float,
                    obs_lat_deg: float, obs_lon_deg: float, sun_lon_deg: float,
                    sun_moon_au: float = 1.0, obs_moon_km: float = REFERENCE_MOON_DISTANCE_KM,
                    solar: SolarSpectrum | None = None, step_um: float = 0.0005) -> ModelIrradiance:
    """Model irradiance integrated over a spectral response (W m-2 um-1), with its uncertainty.

    ``E_band = int E(lambda) S(lambda) dlambda / int S(lambda) dlambda`` on a regular grid
    of ``step_um`` (0.5 nm) covering the response, the model's interpolation and solar
    spectrum (unless ``solar``), see :func:`band_weights`.
    """
    bw = band_weights(model, srf, solar, step_um)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LunarModelRangeWarning)
        refl = model.reflectance(phase_deg, obs_lat_deg, obs_lon_deg, sun_lon_deg)
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=2)
    dist = distance_factor(sun_moon_au, obs_moon_km)
    irr = float(bw.g @ refl) * dist
    per_refl = bw.solar_weighted * MOON_SOLID_ANGLE_SR / np.pi
    mean_refl = irr / dist / per_refl if per_refl else np.nan
    u_coef = lime_band_uncertainty(model, bw.g, phase_deg, obs_lat_deg, obs_lon_deg, sun_lon_deg) * dist
    u_ext = EXTRAPOLATION_UNC * bw.extrapolated_fraction * abs(irr)
    unc = math.sqrt(u_coef**2 + u_ext**2 + (model.relative_unc * irr) ** 2)
    gd = abs(float(phase_deg))
    extrap = _support_outside(model, srf) or bw.outside_sun
    return ModelIrradiance(srf.channel, irr, float(mean_refl), model.name,
                           bool(PHASE_RANGE_DEG[0] <= gd <= PHASE_RANGE_DEG[1]), extrap,
                           float(unc), float(u_coef), float(u_ext), bw.extrapolated_fraction)


def _support_outside(model: ReflectanceModel, srf: SpectralResponse) -> bool:
    s = srf.response
    sup = srf.wavelength_um[s > 1e-3 * s.max()]
    return bool(sup.size and (sup[0] < model.wavelength_um[0] or sup[-1] > model.wavelength_um[-1]))
