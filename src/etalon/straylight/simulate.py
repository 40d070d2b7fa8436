"""Multi-band Moon-in-deep-space acquisitions with known CT1 halos and CT2 ghosts.

Every band sees the same registered lunar disk (Lommel-Seeliger shading, three maria whose
contrast changes with wavelength, Gaussian PSF core), scaled to a band-dependent level;
the CT1 halos and CT2 ghosts of :mod:`etalon.straylight.models` are added; the signal is
converted to DN with the band's absolute gain ``A_k`` (``DN = A_k * L``), given Poisson
shot noise (``gain`` e-/DN), Gaussian read noise and a deep-space offset, and converted back
to radiance ``L = DN / A_k`` (W m-2 sr-1 um-1, float): what a Level-1 product holds
(:func:`add_noise`, shared with the edge scenes of :mod:`etalon.straylight.edges`).

:func:`random_stray_light` draws a stray-light truth and the Level-1 parameter set listing
it; :func:`recovery` compares a quantification with the truth (ghosts found, false
positives, coefficient errors and pulls, displacement and CT1 errors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from etalon.moon.simulate import render_moon
from etalon.straylight.models import CT1Kernel, CT2Ghost, add_stray_light, apply_ct1
from etalon.venus.bands import BAND_NAMES, band

__all__ = ["Recovery", "SimulatedAcquisition", "add_noise", "band_level", "ct1_fraction",
           "random_stray_light", "recovery", "simulate_acquisition"]


@dataclass
class SimulatedAcquisition:
    """A simulated multi-band lunar acquisition and its truth.

    Attributes
    ----------
    images : dict band -> numpy.ndarray
        Observed radiance, W m-2 sr-1 um-1 (noise, offset, stray light).
    clean : dict band -> numpy.ndarray
        Noise-free radiance without stray light (PSF core only), W m-2 sr-1 um-1.
    halo : dict band -> numpy.ndarray
        Noise-free radiance with the CT1 halo only (the un-ghosted images).
    noise_free : dict band -> numpy.ndarray
        Noise-free radiance with CT1 and CT2, no offset.
    ct1, ct2 : list
        The injected parameters.
    centre_x, centre_y, radius : float
        The disk, pixels.
    background : dict band -> float
        Deep-space offset, W m-2 sr-1 um-1.
    read_noise : dict band -> float
        Read noise, W m-2 sr-1 um-1 rms.
    gain : float
        e- per DN.
    """

    images: dict[str, np.ndarray] = field(repr=False)
    clean: dict[str, np.ndarray] = field(repr=False)
    halo: dict[str, np.ndarray] = field(repr=False)
    noise_free: dict[str, np.ndarray] = field(repr=False)
    ct1: list[CT1Kernel]
    ct2: list[CT2Ghost]
    centre_x: float
    centre_y: float
    radius: float
    background: dict[str, float]
    read_noise: dict[str, float]
    gain: float

    def ct1_truth(self, r_factor: float = 1.1) -> dict[str, float]:
        """True CT1 fraction of every band beyond ``r_factor`` disk radii (:func:`ct1_fraction`
        of the noise-free halo image), dimensionless."""
        return {b: ct1_fraction(im, self.centre_x, self.centre_y, self.radius, r_factor)
                for b, im in self.halo.items()}

    def variance(self, band_: str) -> np.ndarray:
        """Expected per-pixel noise variance of ``images[band_]``, (W m-2 sr-1 um-1)**2."""
        ak = band(band_).header_ak
        return self.read_noise[band_] ** 2 + np.clip(self.noise_free[band_], 0, None) / (ak * self.gain)


def band_level(band_: str, level_dn: float) -> float:
    """A band's bright level, DN: ``level_dn`` times 0.7 .. 1.3 depending on the wavelength."""
    x = (band(band_).centre_nm - 420.0) / 490.0        # 0 (B1) .. 1 (B12)
    return float(level_dn * (0.7 + 0.6 * np.sin(3.0 * x + 0.5) ** 2))


def add_noise(noise_free: Mapping[str, np.ndarray], rng: np.random.Generator, *,
              read_noise_dn: float = 3.0, gain: float = 2.0, background_dn: float = 0.5
              ) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, float]]:
    """The noise model of the simulated Level-1 images (pure apart from ``rng``).

    Radiance ``L`` (W m-2 sr-1 um-1) -> ``DN = A_k L`` -> Poisson electrons (``gain`` e-/DN)
    -> ``+ N(0, read_noise_dn) + background_dn`` -> back to radiance ``DN / A_k``.

    Returns
    -------
    images : dict band -> numpy.ndarray
        Noisy radiance, W m-2 sr-1 um-1.
    background, read_noise : dict band -> float
        The offset and the read-noise rms in radiance units.
    """
    images, bg, rn = {}, {}, {}
    for b, im in noise_free.items():
        ak = band(b).header_ak
        dn = np.asarray(im, float) * ak
        electrons = rng.poisson(np.clip(dn, 0, None) * gain).astype(float)
        dn_obs = electrons / gain + rng.normal(0.0, read_noise_dn, dn.shape) + background_dn
        images[b] = dn_obs / ak
        bg[b] = background_dn / ak
        rn[b] = read_noise_dn / ak
    return images, bg, rn


def ct1_fraction(image: np.ndarray, centre_x: float, centre_y: float, radius: float,
                 r_factor: float = 1.1) -> float:
    """Fraction of an image's total signal found beyond ``r_factor`` disk radii (noise-free truth)."""
    yy, xx = np.indices(image.shape)
    out = np.hypot(xx - centre_x, yy - centre_y) > r_factor * radius
    return float(image[out].sum() / image.sum())


def simulate_acquisition(bands: Sequence[str] = BAND_NAMES, *, shape: tuple[int, int] = (512, 512),
                         centre_xy: tuple[float, float] | None = None, radius: float = 60.0,
                         phase_deg: float = 25.0, position_angle_deg: float = 20.0,
                         ct1: Sequence[CT1Kernel] = (), ct2: Sequence[CT2Ghost] = (),
                         moon_dn: float = 3000.0, read_noise_dn: float = 3.0, gain: float = 2.0,
                         background_dn: float = 0.5, psf_sigma: float = 1.0,
                         seed: int | None = 0) -> SimulatedAcquisition:
    """Simulate a registered multi-band Moon-in-deep-space acquisition.

    Parameters
    ----------
    bands : sequence of str
        Bands to simulate (any of B1..B12).
    shape : (rows, cols)
        Frame size, pixels.
    centre_xy, radius : float
        Disk centre (default frame centre + (0.3, -0.4)) and radius, pixels.
    phase_deg, position_angle_deg : float
        Lunar phase angle and the direction of the Sun, degrees.
    ct1, ct2 : sequences of CT1Kernel, CT2Ghost
        Stray light to inject.
    moon_dn : float
        Typical bright-disk level, DN (bands vary by +-30 %).
    read_noise_dn, gain, background_dn : float
        Read noise (DN rms), e-/DN, deep-space offset (DN).
    psf_sigma : float
        Gaussian PSF core, pixels.
    seed : int or None
        Random seed (the noise; the scene is deterministic).
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    cxy = centre_xy if centre_xy is not None else (w / 2 + 0.3, h / 2 - 0.4)
    plain = render_moon(shape, cxy, radius, phase_deg, position_angle_deg, maria=False)
    maria = render_moon(shape, cxy, radius, phase_deg, position_angle_deg, maria=True)
    peak = plain.max()
    clean, ak = {}, {}
    for b in bands:
        info = band(b)
        x = (info.centre_nm - 420.0) / 490.0        # 0 (B1) .. 1 (B12)
        contrast = 0.6 + 0.8 * x                     # maria contrast grows toward the red
        level = band_level(b, moon_dn)
        img = plain + contrast * (maria - plain)
        if psf_sigma > 0:
            img = ndimage.gaussian_filter(img, psf_sigma, mode="constant")
        ak[b] = info.header_ak
        clean[b] = img * (level / peak) / ak[b]      # radiance, W m-2 sr-1 um-1
    kernels = {k.band: k for k in ct1}
    halo = {b: apply_ct1(clean[b], kernels[b]) if b in kernels else clean[b].copy() for b in bands}
    noise_free = add_stray_light(clean, ct1, ct2)
    images, bg, rn = add_noise(noise_free, rng, read_noise_dn=read_noise_dn, gain=gain,
                               background_dn=background_dn)
    return SimulatedAcquisition(images, clean, halo, noise_free, list(ct1), list(ct2),
                                float(cxy[0]), float(cxy[1]), float(radius), bg, rn, float(gain))


def random_stray_light(seed: int, radius: float, *,
                       units: Mapping[str, Sequence[str]] | None = None,
                       ghost_probability: float = 0.5,
                       coefficient_range: tuple[float, float] = (1e-3, 3e-2),
                       distance_range: tuple[float, float] = (1.3, 2.5),
                       blur_range: tuple[float, float] = (0.5, 2.5),
                       ct1_amplitude_range: tuple[float, float] = (0.01, 0.03),
                       ct1_scale_range: tuple[float, float] = (3.0, 8.0),
                       prior_blur_px: float = 1.5
                       ) -> tuple[list[CT1Kernel], list[CT2Ghost], list[CT2Ghost]]:
    """A random stray-light truth for a Moon scene, and the Level-1 parameter set listing it.

    Every band of ``units`` gets an exponential CT1 kernel (amplitude and scale uniform in the
    ranges); each ordered pair inside a unit gets, with probability ``ghost_probability``, a
    CT2 ghost: coefficient log-uniform in ``coefficient_range``, displacement at a uniform
    angle and a distance uniform in ``distance_range`` disk radii (1.3 R: partly over the
    victim's own Moon), blur uniform in ``blur_range`` pixels.

    Parameters
    ----------
    seed : int
        Random seed.
    radius : float
        Disk radius, pixels (the displacement scale).
    units : mapping unit -> bands, optional
        Detector units (default :data:`etalon.venus.bands.DETECTOR_UNITS`).

    Returns
    -------
    ct1 : list of CT1Kernel
        One per band.
    ct2 : list of CT2Ghost
        The injected ghosts.
    level1 : list of CT2Ghost
        Every ordered pair: the injected ghosts, and the ghost-free pairs with coefficient 0
        at a random displacement (blur ``prior_blur_px``): the search windows of a
        quantification, as a Level-1 parameter file would give them.
    """
    from etalon.venus.bands import DETECTOR_UNITS

    units = DETECTOR_UNITS if units is None else units
    rng = np.random.default_rng(seed)
    bands = [b for u in units.values() for b in u]
    ct1 = [CT1Kernel(b, float(rng.uniform(*ct1_amplitude_range)), float(rng.uniform(*ct1_scale_range)))
           for b in bands]
    ct2: list[CT2Ghost] = []
    level1: list[CT2Ghost] = []
    lo, hi = np.log10(coefficient_range[0]), np.log10(coefficient_range[1])
    for members in units.values():
        for s in members:
            for v in members:
                if s == v:
                    continue
                ang, dist = rng.uniform(0, 2 * np.pi), rng.uniform(*distance_range) * radius
                dx, dy = float(dist * np.cos(ang)), float(dist * np.sin(ang))
                if rng.random() < ghost_probability:
                    g = CT2Ghost(s, v, float(10 ** rng.uniform(lo, hi)), dx, dy,
                                 float(rng.uniform(*blur_range)))
                    ct2.append(g)
                    level1.append(g)
                else:
                    level1.append(CT2Ghost(s, v, 0.0, dx, dy, prior_blur_px))
    return ct1, ct2, level1


@dataclass
class Recovery:
    """How a quantification compares with the injected truth.

    Attributes
    ----------
    n_injected, n_found : int
        Injected CT2 ghosts, and how many of them are significant.
    n_free, n_false : int
        Ghost-free pairs measured, and how many of them are (falsely) significant.
    significant : numpy.ndarray of bool
        Whether each injected ghost is significant.
    coefficient_ratio : numpy.ndarray
        ``c / c_true`` of every injected ghost, dimensionless (after a correction with
        parameters a fraction ``e`` off: about ``e``).
    coefficient_error : numpy.ndarray
        ``(c - c_true) / c_true`` of every injected ghost, dimensionless.
    coefficient_pull : numpy.ndarray
        ``(c - c_true) / sigma_c`` of every injected ghost, dimensionless.
    displacement_error : numpy.ndarray
        ``hypot(dx - dx_true, dy - dy_true)`` of every injected ghost, pixels (edge scenes
        where the along-edge component is not measurable: the across-edge error).
    ct1_error : dict band -> float
        Measured CT1 fraction / true fraction - 1, dimensionless (bands with a truth).
    ct1_pull : dict band -> float
        ``(f - f_true) / sigma_f`` of the CT1 fractions, dimensionless.
    """

    n_injected: int
    n_found: int
    n_free: int
    n_false: int
    significant: np.ndarray
    coefficient_ratio: np.ndarray
    coefficient_error: np.ndarray
    coefficient_pull: np.ndarray
    displacement_error: np.ndarray
    ct1_error: dict[str, float]
    ct1_pull: dict[str, float] = field(default_factory=dict)

    @property
    def max_coefficient_error(self) -> float:
        """Largest ``|c / c_true - 1|``, dimensionless (NaN without injected ghosts)."""
        return float(np.max(np.abs(self.coefficient_error))) if self.coefficient_error.size else np.nan

    @property
    def max_displacement_error(self) -> float:
        """Largest displacement error, pixels (NaN without injected ghosts)."""
        return float(np.nanmax(self.displacement_error)) if self.displacement_error.size else np.nan

    @property
    def max_ct1_error(self) -> float:
        """Largest ``|f / f_true - 1|`` of the CT1 fractions, dimensionless."""
        return float(max(abs(e) for e in self.ct1_error.values())) if self.ct1_error else np.nan

    @property
    def pull_rms(self) -> float:
        """rms of the CT2 coefficient pulls, dimensionless (near 1: honest uncertainties)."""
        return float(np.sqrt(np.nanmean(self.coefficient_pull**2))) if self.coefficient_pull.size else np.nan

    @property
    def ct1_pull_rms(self) -> float:
        """rms of the CT1 fraction pulls, dimensionless."""
        v = np.array(list(self.ct1_pull.values()))
        return float(np.sqrt(np.mean(v**2))) if v.size else np.nan

    def summary(self) -> str:
        """One line: ghosts found, false positives, largest errors."""
        return (f"injected ghosts found: {self.n_found}/{self.n_injected}; false positives: "
                f"{self.n_false}/{self.n_free}; max |coefficient error| "
                f"{self.max_coefficient_error:.2%}, max displacement error "
                f"{self.max_displacement_error:.3f} px, max |CT1 fraction error| {self.max_ct1_error:.2%}")


def recovery(quant, ct2: Sequence[CT2Ghost],
             ct1_truth: Mapping[str, float] | None = None) -> Recovery:
    """Compare a quantification with the injected truth.

    Parameters
    ----------
    quant : Quantification or EdgeQuantification
        Anything with ``ct2`` (results with ``source``, ``victim``, ``coefficient``,
        ``coefficient_unc``, ``dx``, ``dy``, ``significant``) and ``ct1`` (band -> result with
        ``fraction``).
    ct2 : sequence of CT2Ghost
        The injected ghosts (pairs not listed are ghost-free).
    ct1_truth : mapping band -> float, optional
        True CT1 fractions (e.g. :func:`ct1_fraction` of ``acq.halo[b]``).
    """
    truth = {(g.source, g.victim): g for g in ct2}
    err_c, pull, err_d, sig = [], [], [], []
    found = false = free = 0
    for r in quant.ct2:
        g = truth.get((r.source, r.victim))
        if g is None:
            if np.isfinite(r.coefficient):
                free += 1
                false += bool(r.significant)
            continue
        found += bool(r.significant)
        sig.append(bool(r.significant))
        err_c.append((r.coefficient - g.coefficient) / g.coefficient)
        pull.append((r.coefficient - g.coefficient) / r.coefficient_unc)
        d = float(np.hypot(r.dx - g.dx, r.dy - g.dy))
        edges = getattr(quant, "edges", None)
        if not np.isfinite(d) and edges is not None and r.source in edges:
            nx, ny = edges[r.source].normal
            d = abs(r.across - (g.dx * nx + g.dy * ny))
        err_d.append(d)
    ct1_err = {b: float(quant.ct1[b].fraction / f - 1.0) for b, f in (ct1_truth or {}).items()
               if b in quant.ct1}
    ct1_pull = {b: float((quant.ct1[b].fraction - f) / quant.ct1[b].fraction_unc)
                for b, f in (ct1_truth or {}).items() if b in quant.ct1 and quant.ct1[b].fraction_unc > 0}
    err_c = np.array(err_c)
    return Recovery(len(truth), found, free, false, np.array(sig, bool), 1.0 + err_c, err_c,
                    np.array(pull), np.array(err_d), ct1_err, ct1_pull)
