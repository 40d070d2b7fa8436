"""The extraterrestrial solar spectral irradiance (Wehrli 1985) used by ROLO/LIME."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from etalon.data import data_path
from etalon.fileio import EtalonInputError, require_file

__all__ = ["SolarSpectrum", "read_wehrli", "wehrli"]


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
