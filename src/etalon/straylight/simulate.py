"""Multi-band Moon-in-deep-space acquisitions with known CT1 halos and CT2 ghosts.

Every band sees the same registered lunar disk (Lommel-Seeliger shading, three maria whose
contrast changes with wavelength, Gaussian PSF core), scaled to a band-dependent level;
the CT1 halos and CT2 ghosts of :mod:`etalon.straylight.models` are added; the signal is
converted to DN with the band's absolute gain ``A_k`` (``DN = A_k * L``), given Poisson
shot noise (``gain`` e-/DN), Gaussian read noise and a deep-space offset, and converted back
to radiance ``L = DN / A_k`` (W m-2 sr-1 um-1, float): what a Level-1 product holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from etalon.moon.simulate import render_moon
from etalon.straylight.models import CT1Kernel, CT2Ghost, add_stray_light, apply_ct1
from etalon.venus.bands import BAND_NAMES, band

__all__ = ["SimulatedAcquisition", "ct1_fraction", "simulate_acquisition"]


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

    def variance(self, band_: str) -> np.ndarray:
        """Expected per-pixel noise variance of ``images[band_]``, (W m-2 sr-1 um-1)**2."""
        ak = band(band_).header_ak
        return self.read_noise[band_] ** 2 + np.clip(self.noise_free[band_], 0, None) / (ak * self.gain)


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
        level = moon_dn * (0.7 + 0.6 * np.sin(3.0 * x + 0.5) ** 2)
        img = plain + contrast * (maria - plain)
        if psf_sigma > 0:
            img = ndimage.gaussian_filter(img, psf_sigma, mode="constant")
        ak[b] = info.header_ak
        clean[b] = img * (level / peak) / ak[b]      # radiance, W m-2 sr-1 um-1
    kernels = {k.band: k for k in ct1}
    halo = {b: apply_ct1(clean[b], kernels[b]) if b in kernels else clean[b].copy() for b in bands}
    noise_free = add_stray_light(clean, ct1, ct2)
    images, bg, rn = {}, {}, {}
    for b in bands:
        dn = noise_free[b] * ak[b]
        electrons = rng.poisson(np.clip(dn, 0, None) * gain).astype(float)
        dn_obs = electrons / gain + rng.normal(0.0, read_noise_dn, shape) + background_dn
        images[b] = dn_obs / ak[b]
        bg[b] = background_dn / ak[b]
        rn[b] = read_noise_dn / ak[b]
    return SimulatedAcquisition(images, clean, halo, noise_free, list(ct1), list(ct2),
                                float(cxy[0]), float(cxy[1]), float(radius), bg, rn, float(gain))
