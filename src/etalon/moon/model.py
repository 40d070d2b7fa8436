"""Lunar reference model: ROLO / LIME disk reflectance and the band irradiance of the Moon.

The disk-equivalent reflectance of Kieffer & Stone (2005, AJ 129:2887, eq. 10),
for one wavelength ``k``::

    ln A_k = sum_{i=0..3} a_ik g^i + sum_{j=1..3} b_jk Phi^(2j-1)
             + c1 theta + c2 phi + c3 Phi theta + c4 Phi phi
             + d1k exp(-g'/p1) + d2k exp(-g'/p2) + d3k cos((g' - p3)/p4)

with ``g`` the absolute phase angle in radians (``g'`` the same in degrees),
``theta`` and ``phi`` the selenographic latitude and longitude of the observer
(degrees), ``Phi`` the selenographic longitude of the Sun (radians). This
module keeps that (published ROLO) meaning of c1..c4. The LIME toolbox applies
its c1/c3 to the observer *longitude* and c2/c4 to the *latitude*; its
coefficient files are therefore re-ordered on reading
(:func:`read_lime_coefficients`) so that one function,
:func:`disk_reflectance`, serves both models.

The irradiance (W m-2 um-1) at the observer::

    E(lambda) = A(lambda) * Omega_M * E_sun(lambda) / pi
                * (1 AU / d_sun_moon)^2 * (384400 km / d_obs_moon)^2

with ``Omega_M = 6.4177e-5 sr`` (the Moon, radius 1737.4 km, seen from
384400 km) and ``E_sun`` the Wehrli (1985) spectrum at 1 AU. Band values are
SRF-weighted means over the channel's response.
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from etalon.data import data_path
from etalon.fileio import EtalonInputError, require_file
from etalon.spectral.responses import SpectralResponse
from etalon.spectral.solar import SolarSpectrum, wehrli

__all__ = [
    "MOON_RADIUS_KM",
    "MOON_SOLID_ANGLE_SR",
    "PHASE_RANGE_DEG",
    "REFERENCE_MOON_DISTANCE_KM",
    "ROLO_C",
    "ROLO_P",
    "LunarModelRangeWarning",
    "ModelIrradiance",
    "ReflectanceModel",
    "band_irradiance",
    "disk_reflectance",
    "distance_factor",
    "lime_model",
    "lunar_solid_angle",
    "read_lime_coefficients",
    "read_rolo_table",
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
        ``"ROLO"`` or ``"LIME <file>"``.
    wavelength_um : numpy.ndarray
        Model wavelengths, um (n,).
    coefficients : numpy.ndarray
        (18, n): a0..a3, b1..b3, c1..c4 (published ROLO meaning), d1..d3, p1..p4.
    uncertainty : numpy.ndarray or None
        Same shape, 1-sigma, when the source gives it.
    """

    name: str
    wavelength_um: np.ndarray
    coefficients: np.ndarray
    uncertainty: np.ndarray | None = field(default=None, repr=False)

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
    return ReflectanceModel("ROLO", t[:, 0] / 1000.0, k)


@functools.lru_cache(maxsize=1)
def rolo_model() -> ReflectanceModel:
    """The bundled ROLO model (32 wavelengths, Kieffer & Stone 2005 Table 4)."""
    return read_rolo_table(data_path("lunar_model", "rolo_kieffer_stone_2005_table4.csv"))


#: LIME row order -> ROLO meaning (swap c1<->c2 and c3<->c4)
_LIME_TO_ROLO_ROWS = [0, 1, 2, 3, 4, 5, 6, 8, 7, 10, 9, 11, 12, 13, 14, 15, 16, 17]


def read_lime_coefficients(path: str | os.PathLike[str]) -> ReflectanceModel:
    """Read a LIME coefficient file (``LIME_MODEL_COEFS_*.nc``: ``coeff`` (18, n), ``wavelength`` nm).

    The libration terms are re-ordered to the published ROLO meaning (see the
    module docstring); ``u_coeff`` (given in %) becomes an absolute 1-sigma.
    """
    import netCDF4

    p = require_file(path, "LIME coefficient file")
    try:
        with netCDF4.Dataset(p) as ds:
            coeff = np.ma.filled(ds["coeff"][:].astype(float), np.nan)
            wl = np.asarray(ds["wavelength"][:], dtype=float)
            unc = np.ma.filled(ds["u_coeff"][:].astype(float), np.nan) if "u_coeff" in ds.variables else None
    except (OSError, KeyError, IndexError) as exc:
        raise EtalonInputError(p, f"not a LIME coefficient file ({exc})") from exc
    if coeff.shape[0] != 18 or not np.all(np.isfinite(coeff)):
        raise EtalonInputError(p, f"LIME 'coeff' must be 18 finite rows, got shape {coeff.shape}")
    coeff = coeff[_LIME_TO_ROLO_ROWS]
    if unc is not None:
        unc = np.abs(unc[_LIME_TO_ROLO_ROWS] * coeff / 100.0)
    return ReflectanceModel(f"LIME {p.name}", wl / 1000.0, coeff, unc)


@functools.lru_cache(maxsize=1)
def lime_model() -> ReflectanceModel:
    """The bundled LIME coefficients (``LIME_MODEL_COEFS_20251010_V01.nc``)."""
    return read_lime_coefficients(data_path("lunar_model", "LIME_MODEL_COEFS_20251010_V01.nc"))


def distance_factor(sun_moon_au: float, obs_moon_km: float) -> float:
    """Scale from the model's standard distances to the actual ones: (1/d_sun)^2 (384400/d_obs)^2."""
    return (1.0 / sun_moon_au) ** 2 * (REFERENCE_MOON_DISTANCE_KM / obs_moon_km) ** 2


def spectral_irradiance(model: ReflectanceModel, wavelength_um: np.ndarray, phase_deg: float,
                        obs_lat_deg: float, obs_lon_deg: float, sun_lon_deg: float,
                        sun_moon_au: float = 1.0,
                        obs_moon_km: float = REFERENCE_MOON_DISTANCE_KM,
                        solar: SolarSpectrum | None = None) -> np.ndarray:
    """Lunar spectral irradiance at ``wavelength_um``, W m-2 um-1.

    The reflectance is interpolated linearly between the model wavelengths
    (held constant beyond its ends), multiplied by ``Omega_M E_sun / pi`` and the
    distance factor.
    """
    solar = solar or wehrli()
    refl = model.reflectance(phase_deg, obs_lat_deg, obs_lon_deg, sun_lon_deg)
    a = np.interp(wavelength_um, model.wavelength_um, refl)
    return (a * MOON_SOLID_ANGLE_SR * solar.at(np.asarray(wavelength_um, float)) / np.pi
            * distance_factor(sun_moon_au, obs_moon_km))


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
        Part of the response lies outside the model wavelengths (or the solar table,
        where the solar irradiance is taken as zero).
    """

    channel: str
    irradiance: float
    reflectance: float
    model: str
    in_phase_range: bool
    extrapolated: bool


def band_irradiance(model: ReflectanceModel, srf: SpectralResponse, phase_deg: float,
                    obs_lat_deg: float, obs_lon_deg: float, sun_lon_deg: float,
                    sun_moon_au: float = 1.0, obs_moon_km: float = REFERENCE_MOON_DISTANCE_KM,
                    solar: SolarSpectrum | None = None, step_um: float = 0.0005) -> ModelIrradiance:
    """Model irradiance integrated over a spectral response (W m-2 um-1).

    ``E_band = int E(lambda) S(lambda) dlambda / int S(lambda) dlambda`` on a
    regular grid of ``step_um`` (0.5 nm) covering the response.
    """
    solar = solar or wehrli()
    lo, hi = srf.wavelength_um[0], srf.wavelength_um[-1]
    grid = np.arange(lo, hi + step_um / 2, step_um)
    s = np.interp(grid, srf.wavelength_um, srf.response)
    e_sun = solar.at(grid)
    outside_sun = bool(np.any(np.isnan(e_sun) & (s > 1e-3 * s.max())))
    e_sun = np.nan_to_num(e_sun)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LunarModelRangeWarning)
        refl = model.reflectance(phase_deg, obs_lat_deg, obs_lon_deg, sun_lon_deg)
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=2)
    a = np.interp(grid, model.wavelength_um, refl)
    weight = np.trapezoid(s, grid)
    irr = (np.trapezoid(a * e_sun * s, grid) / weight * MOON_SOLID_ANGLE_SR / np.pi
           * distance_factor(sun_moon_au, obs_moon_km))
    mean_refl = np.trapezoid(a * e_sun * s, grid) / np.trapezoid(e_sun * s, grid)
    support = s > 1e-3 * s.max()
    extrap = bool(np.any(grid[support] < model.wavelength_um[0])
                  or np.any(grid[support] > model.wavelength_um[-1]) or outside_sun)
    gd = abs(float(phase_deg))
    return ModelIrradiance(srf.channel, float(irr), float(mean_refl), model.name,
                           bool(PHASE_RANGE_DEG[0] <= gd <= PHASE_RANGE_DEG[1]), extrap)
