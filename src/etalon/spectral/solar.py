"""Extraterrestrial solar spectral irradiance: Wehrli (1985, ROLO era) and TSIS-1 HSRS (LIME)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from etalon.data import data_path
from etalon.fileio import EtalonInputError, require_file

__all__ = ["TSIS_FILE", "SolarSpectrum", "default_solar", "read_tsis", "read_wehrli", "tsis", "wehrli"]


@dataclass(frozen=True)
class SolarSpectrum:
    """Solar spectral irradiance at 1 AU.

    Attributes
    ----------
    wavelength_um : numpy.ndarray
        um, increasing.
    irradiance : numpy.ndarray
        W m-2 um-1 at 1 AU.
    """

    wavelength_um: np.ndarray
    irradiance: np.ndarray

    def at(self, wavelength_um: np.ndarray) -> np.ndarray:
        """Linear interpolation at ``wavelength_um`` (um); NaN outside the table."""
        return np.interp(wavelength_um, self.wavelength_um, self.irradiance, left=np.nan,
                         right=np.nan)


def read_wehrli(path: str | os.PathLike[str]) -> SolarSpectrum:
    """Read the Wehrli (1985) CSV: columns nm, W m-2 nm-1 (and a third, ignored).

    Returns the spectrum in um and W m-2 um-1 (x 1000).
    """
    p = require_file(path, "Wehrli solar spectrum")
    try:
        data = np.loadtxt(p, delimiter=",", skiprows=1, usecols=(0, 1), ndmin=2)
    except ValueError as exc:
        raise EtalonInputError(p, f"not a Wehrli CSV table ({exc})") from exc
    return SolarSpectrum(data[:, 0] / 1000.0, data[:, 1] * 1000.0)


@functools.lru_cache(maxsize=1)
def wehrli() -> SolarSpectrum:
    """The bundled Wehrli (1985) spectrum (``data/lunar_model/wehrli_1985_solar_spectrum.csv``)."""
    return read_wehrli(data_path("lunar_model", "wehrli_1985_solar_spectrum.csv"))


TSIS_FILE = "hybrid_reference_spectrum_p1nm_resolution_c2022-11-30_with_unc.nc"


def read_tsis(path: str | os.PathLike[str], step_nm: float = 0.0) -> SolarSpectrum:
    """Read the TSIS-1 Hybrid Solar Reference Spectrum netCDF (Coddington et al. 2021).

    Variables ``Vacuum Wavelength`` (nm) and ``SSI`` (W m-2 nm-1) at 1 AU; returned in um and
    W m-2 um-1.

    Parameters
    ----------
    path : path-like
        The HSRS netCDF file.
    step_nm : float
        If > 0, average the 0.1 nm spectrum into bins of ``step_nm`` (e.g. 0.5 nm, enough for
        band integration and 5 times lighter); 0 keeps the native sampling.
    """
    import netCDF4

    p = require_file(path, "TSIS-1 HSRS solar spectrum")
    try:
        with netCDF4.Dataset(p) as ds:
            wl = np.ma.filled(ds["Vacuum Wavelength"][:].astype(float), np.nan)
            ssi = np.ma.filled(ds["SSI"][:].astype(float), np.nan)
    except (OSError, KeyError, IndexError) as exc:
        raise EtalonInputError(p, f"not a TSIS-1 HSRS netCDF file ({exc})") from exc
    ok = np.isfinite(wl) & np.isfinite(ssi)
    wl, ssi = wl[ok], ssi[ok]
    if wl.size < 2 or np.any(np.diff(wl) <= 0):
        raise EtalonInputError(p, "wavelengths are not increasing")
    if step_nm > 0:
        edges = np.arange(wl[0], wl[-1] + step_nm, step_nm)
        idx = np.digitize(wl, edges) - 1
        counts = np.bincount(idx)
        keep = counts > 0
        wl = (np.bincount(idx, wl) [keep] / counts[keep])
        ssi = (np.bincount(idx, ssi)[keep] / counts[keep])
    return SolarSpectrum(wl / 1000.0, ssi * 1000.0)


@functools.lru_cache(maxsize=1)
def tsis() -> SolarSpectrum:
    """The bundled TSIS-1 HSRS (``data/lunar_model/``), averaged to 0.5 nm: the spectrum LIME uses."""
    return read_tsis(data_path("lunar_model", TSIS_FILE), step_nm=0.5)


def default_solar() -> SolarSpectrum:
    """The solar spectrum etalon uses unless told otherwise: TSIS-1 HSRS."""
    return tsis()
