"""Band integration of spectra over spectral responses, and spectral band adjustment factors.

One place for the integrals that the Moon (model irradiance per band), the desert sites
(SBAF between two sensors over a site spectrum) and SNO (SBAF of matched band pairs) share.

Conventions
-----------
A band value of a spectrum ``X(lambda)`` over a response ``S(lambda)`` is the
response-weighted mean ``<X>_S = int X S dlambda / int S dlambda``, computed with the
trapezoidal rule on a regular grid covering the response. For a reflectance seen through a
band, the physically meaningful band value weights by the solar irradiance as well:
``rho_band = int rho E_sun S / int E_sun S`` (:func:`band_reflectance`).

The spectral band adjustment factor of a target band against a reference band over a scene
is ``SBAF = rho_target / rho_reference`` (both band reflectances of the same scene spectrum):
``target ~= SBAF * reference`` for that scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etalon.spectral.responses import SpectralResponse
from etalon.spectral.solar import SolarSpectrum

__all__ = ["SBAF", "band_average", "band_grid", "band_reflectance", "correlated_perturbation", "sbaf"]


def band_grid(srf: SpectralResponse, step_um: float = 0.0005,
              threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A regular wavelength grid over a response and the response on it.

    Parameters
    ----------
    srf : SpectralResponse
        The band's response.
    step_um : float
        Grid step, um (default 0.5 nm).
    threshold : float
        Keep only the part of the grid where the response exceeds ``threshold`` times its
        peak (0 keeps the whole tabulated range).

    Returns
    -------
    grid_um, response : numpy.ndarray
    """
    lo, hi = srf.wavelength_um[0], srf.wavelength_um[-1]
    grid = np.arange(lo, hi + step_um / 2, step_um)
    s = np.interp(grid, srf.wavelength_um, srf.response)
    if threshold > 0:
        keep = s > threshold * s.max()
        idx = np.flatnonzero(keep)
        grid, s = grid[idx[0]:idx[-1] + 1], s[idx[0]:idx[-1] + 1]
    return grid, s


def band_average(wavelength_um: np.ndarray, values: np.ndarray, srf: SpectralResponse,
                 weight: np.ndarray | None = None, step_um: float = 0.0005) -> float:
    """Response-weighted mean of a tabulated spectrum over a band.

    Parameters
    ----------
    wavelength_um : numpy.ndarray
        Increasing wavelengths of the spectrum, um.
    values : numpy.ndarray
        The spectrum at those wavelengths (any unit; the result has the same unit).
    srf : SpectralResponse
        The band.
    weight : numpy.ndarray, optional
        An extra spectral weight on the same wavelengths (e.g. the solar irradiance).
    step_um : float
        Integration grid step, um.

    Returns
    -------
    float
        ``int X W S / int W S`` over the response; NaN if the spectrum does not cover the
        part of the response above 0.1 % of its peak.
    """
    wl = np.asarray(wavelength_um, float)
    grid, s = band_grid(srf, step_um)
    x = np.interp(grid, wl, np.asarray(values, float), left=np.nan, right=np.nan)
    w = np.ones_like(grid) if weight is None else np.interp(grid, wl, np.asarray(weight, float),
                                                            left=np.nan, right=np.nan)
    support = s > 1e-3 * s.max()
    if np.any(~np.isfinite(x[support]) | ~np.isfinite(w[support])):
        return float("nan")
    x, w = np.nan_to_num(x), np.nan_to_num(w)
    return float(np.trapezoid(x * w * s, grid) / np.trapezoid(w * s, grid))


def band_reflectance(wavelength_um: np.ndarray, reflectance: np.ndarray, srf: SpectralResponse,
                     solar: SolarSpectrum | None = None) -> float:
    """Band reflectance of a reflectance spectrum, weighted by the solar irradiance.

    Parameters
    ----------
    wavelength_um, reflectance : numpy.ndarray
        The scene's reflectance spectrum (unitless) at increasing wavelengths, um.
    srf : SpectralResponse
        The band.
    solar : SolarSpectrum, optional
        Solar spectral irradiance; default the TSIS-1 HSRS when bundled, else Wehrli.
    """
    from etalon.spectral.solar import default_solar

    solar = solar or default_solar()
    e_sun = solar.at(np.asarray(wavelength_um, float))
    return band_average(wavelength_um, reflectance, srf, weight=e_sun)


def correlated_perturbation(wavelength_um: np.ndarray, sigma: np.ndarray, rng: np.random.Generator,
                            correlation_length_um: float = 0.05) -> np.ndarray:
    """One draw of spectrum errors with standard deviation ``sigma``, correlated over a length.

    Gaussian-smoothed white noise (unit variance after smoothing) scaled by ``sigma``: the
    error model :func:`sbaf` propagates, and the one simulations draw scenes from.

    Parameters
    ----------
    wavelength_um : numpy.ndarray
        Regularly spaced wavelengths, um.
    sigma : numpy.ndarray
        Standard uncertainty at each wavelength (the spectrum's unit).
    rng : numpy.random.Generator
        Random generator (one ``standard_normal`` call per draw).
    correlation_length_um : float
        Gaussian correlation length of the errors, um.
    """
    wl = np.asarray(wavelength_um, float)
    step = float(np.median(np.diff(wl)))
    half = max(1, round(3 * correlation_length_um / step))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * step / correlation_length_um) ** 2)
    kernel /= np.sqrt(np.sum(kernel ** 2))  # unit variance after smoothing
    noise = np.convolve(rng.standard_normal(wl.size + 2 * half), kernel, mode="valid")
    return np.asarray(sigma, float) * noise[: wl.size]


@dataclass(frozen=True)
class SBAF:
    """A spectral band adjustment factor and its uncertainty.

    Attributes
    ----------
    target, reference : str
        Channel names.
    value : float
        ``rho_target / rho_reference`` for the scene spectrum (unitless).
    unc : float
        Standard uncertainty (k=1) from the spectrum's sigma (unitless).
    """

    target: str
    reference: str
    value: float
    unc: float


def sbaf(wavelength_um: np.ndarray, reflectance: np.ndarray, target: SpectralResponse,
         reference: SpectralResponse, reflectance_unc: np.ndarray | None = None,
         solar: SolarSpectrum | None = None, n_draws: int = 200, seed: int = 0,
         correlation_length_um: float = 0.05) -> SBAF:
    """Spectral band adjustment factor of ``target`` against ``reference`` over a scene spectrum.

    Parameters
    ----------
    wavelength_um, reflectance : numpy.ndarray
        Scene reflectance spectrum (e.g. the Libya-4 TOA spectrum), um and unitless.
    target, reference : SpectralResponse
        The two bands.
    reflectance_unc : numpy.ndarray, optional
        Standard uncertainty of the spectrum. Propagated by Monte Carlo with errors
        correlated over ``correlation_length_um`` (a Gaussian-smoothed white noise scaled to
        the sigma), since a spectrum's errors are not independent from one nm to the next.
    solar : SolarSpectrum, optional
        Solar irradiance weighting (default as :func:`band_reflectance`).
    n_draws, seed : int
        Monte Carlo draws and seed.

    Returns
    -------
    SBAF
    """
    from etalon.spectral.solar import default_solar

    solar = solar or default_solar()
    wl = np.asarray(wavelength_um, float)
    rho = np.asarray(reflectance, float)
    value = (band_reflectance(wl, rho, target, solar) / band_reflectance(wl, rho, reference, solar))
    unc = 0.0
    if reflectance_unc is not None and np.any(np.asarray(reflectance_unc) > 0):
        rng = np.random.default_rng(seed)
        draws = np.empty(n_draws)
        for i in range(n_draws):
            r = rho + correlated_perturbation(wl, reflectance_unc, rng, correlation_length_um)
            draws[i] = (band_reflectance(wl, r, target, solar)
                        / band_reflectance(wl, r, reference, solar))
        unc = float(np.std(draws, ddof=1))
    return SBAF(target.channel, reference.channel, float(value), unc)
