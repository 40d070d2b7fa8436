"""Truth simulator of pre-processed NAV frames for the calibration pipeline.

A frame is built as the pre-processing step delivers it (1024 x 1024
calibration frame: 1008 x 1008 image, serial overclock holding the NAVBIAS
quadrant biases, parallel overclock zeros, uint16 DN, ``FLAGS`` with the
missing area outside the snips, INTTIME/CCDT/FILTER/NAVBIAS keywords) from a
known scene and etalon's synthetic instrument
(:func:`etalon.ccd.reference.synthetic_instrument`), the same truth the
synthetic reference files carry:

    electrons = Poisson(scene * t * flat + gain * dark_rate * t * 2**((CCDT - TREF) / DBLT))
    linear DN = electrons / gain + dark offset + cosmic rays / gain
    raw DN    = round(P_q^-1(linear DN) + NAVBIAS_q + read noise), clipped to 0..16383

(P_q: quadrant q's linearity polynomial). The truth returned with the frame is
the calibrated image a perfect pipeline gives (``scene * t / gain``, DN), the
cosmic-ray charge per pixel, and every flag bit's expected mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from scipy import ndimage, special

from etalon.ccd.linearity import polynomial, polynomial_derivative
from etalon.ccd.radiance import AU_KM
from etalon.ccd.reference import SyntheticInstrument, synthetic_instrument
from etalon.ccd.saturation import ADC_SATURATION_DN, MOST_SATURATED_DN, SOME_SATURATED_DN
from etalon.ccd.step import FLAG_BAD, FLAG_MISSING, FLAG_SAT_MOST, FLAG_SAT_SOME
from etalon.frame import Frame
from etalon.nav.bias import load_bias_table, quadrant_slices
from etalon.nav.layout import FrameLayout

__all__ = ["SimulatedFrame", "default_snips", "simulate_nav_frame"]

#: science-frame snips (row0, row1, col0, col1), half-open, of the default simulation
_DEFAULT_SNIPS = ((300, 760, 250, 750), (40, 260, 600, 960), (800, 990, 40, 420))


def default_snips(full_frame: bool = False) -> tuple[tuple[int, int, int, int], ...]:
    """Snip rectangles (row0, row1, col0, col1) of the default simulation (science frame)."""
    return ((0, 1008, 0, 1008),) if full_frame else _DEFAULT_SNIPS


@dataclass
class SimulatedFrame:
    """A simulated pre-processed NAV frame and its truth.

    Attributes
    ----------
    frame : Frame
        The frame as pre-processing writes it (uint16, 1024 x 1024, FLAGS, header).
    layout : FrameLayout
        Where the image sits in ``frame.data``.
    signal_dn : numpy.ndarray
        Truth of the calibrated image (1008 x 1008): scene * t / gain, DN.
    cosmic_dn : numpy.ndarray
        Cosmic-ray charge per image pixel, linear DN before the flat (0 elsewhere).
    expected_flags : numpy.ndarray
        uint8 image-area map of the bits 1, 2, 16, 32 the pipeline must set.
    instrument : SyntheticInstrument
        The truth instrument (dark, flat, bad pixels, linearity, noise).
    """

    frame: Frame
    layout: FrameLayout
    signal_dn: np.ndarray
    cosmic_dn: np.ndarray
    expected_flags: np.ndarray
    instrument: SyntheticInstrument

    @property
    def cosmic_mask(self) -> np.ndarray:
        """Image pixels hit by a cosmic ray (and not missing)."""
        return (self.cosmic_dn > 0) & ((self.expected_flags & FLAG_MISSING) == 0)


def _scene(rng: np.random.Generator, shape: tuple[int, int], peak_e_s: float, n_stars: int
           ) -> np.ndarray:
    """Comet-like scene, e-/s per pixel: nucleus, coma, stars (PSF FWHM 1.7 px)."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    cy, cx, a, b, theta = 0.52 * ny, 0.48 * nx, 70.0, 38.0, 0.5
    u = ((xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta)) / a
    v = (-(xx - cx) * np.sin(theta) + (yy - cy) * np.cos(theta)) / b
    r2 = u**2 + v**2
    texture = ndimage.gaussian_filter(rng.standard_normal(shape), 3.0)
    texture = 1.0 + 0.25 * texture / texture.std()
    nucleus = np.where(r2 < 1, np.sqrt(np.clip(1 - r2, 0, 1)) * texture, 0.0) * peak_e_s
    # keep the limb sharp but physical (1-pixel blur)
    nucleus = ndimage.gaussian_filter(nucleus, 0.72)
    rho = np.hypot(yy - cy, xx - cx)
    coma = 0.02 * peak_e_s * 20.0 / (rho + 20.0)
    scene = nucleus + coma + 0.001 * peak_e_s
    sigma = 1.7 / 2.3548
    for _ in range(n_stars):
        sy, sx = rng.uniform(5, ny - 5), rng.uniform(5, nx - 5)
        flux = np.exp(rng.uniform(np.log(0.002), np.log(0.5))) * peak_e_s * 2 * np.pi * sigma**2
        r0, c0 = int(sy) - 4, int(sx) - 4
        ys, xs = np.arange(r0, r0 + 9), np.arange(c0, c0 + 9)
        fy = 0.5 * (special.erf((ys + 0.5 - sy) / (np.sqrt(2) * sigma))
                    - special.erf((ys - 0.5 - sy) / (np.sqrt(2) * sigma)))
        fx = 0.5 * (special.erf((xs + 0.5 - sx) / (np.sqrt(2) * sigma))
                    - special.erf((xs - 0.5 - sx) / (np.sqrt(2) * sigma)))
        scene[r0:r0 + 9, c0:c0 + 9] += flux * np.outer(fy, fx)
    return scene


def _cosmic_rays(rng: np.random.Generator, shape: tuple[int, int], count: int,
                 median_e: float) -> np.ndarray:
    """Cosmic-ray charge image (e-): short straight tracks, lognormal charge per pixel."""
    charge = np.zeros(shape)
    if count <= 0:
        return charge
    ny, nx = shape
    lengths = rng.exponential(1.5, count)
    angles = rng.uniform(0, np.pi, count)
    y0, x0 = rng.uniform(0, ny, count), rng.uniform(0, nx, count)
    steps = np.linspace(0.0, 1.0, 17)
    ys = np.rint(y0[:, None] + np.sin(angles)[:, None] * lengths[:, None] * steps).astype(int)
    xs = np.rint(x0[:, None] + np.cos(angles)[:, None] * lengths[:, None] * steps).astype(int)
    track = np.repeat(np.arange(count), steps.size)
    ys, xs = ys.ravel(), xs.ravel()
    inside = (ys >= 0) & (ys < ny) & (xs >= 0) & (xs < nx)
    pixel = ys[inside] * nx + xs[inside]
    keys = np.unique(track[inside].astype(np.int64) * ny * nx + pixel)
    pixels = keys % (ny * nx)
    np.add.at(charge.ravel(), pixels, rng.lognormal(np.log(median_e), 0.6, pixels.size))
    return charge


def _invert_polynomial(y: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """x with polynomial(x) = y (Newton, from x = y; the polynomial is monotonic)."""
    x = y.astype(np.float64).copy()
    for _ in range(6):
        x -= (polynomial(x.copy(), coefficients) - y) / polynomial_derivative(x.copy(), coefficients)
    return x


def simulate_nav_frame(
    seed: int = 0,
    *,
    instrument: str = "NAVMRI",
    inttime_ms: float = 503.5,
    ccdt_k: float = 185.0,
    filter_name: str = "CLEAR1",
    peak_dn: float = 15500.0,
    n_stars: int = 60,
    n_cosmics: int = 400,
    cosmic_median_e: float = 1500.0,
    snips: tuple[tuple[int, int, int, int], ...] | None = None,
    lost_packets: int = 3,
    layout: FrameLayout | None = None,
) -> SimulatedFrame:
    """Simulate one pre-processed NAV frame with known truth.

    Parameters
    ----------
    seed : int
        Random seed (scene texture, stars, noise, cosmic rays, lost packets).
    instrument : str
        NAVMRI, NAVHRI or NAVITS (selects the synthetic CCD and NAVBIAS row).
    inttime_ms : float
        INTTIME, ms (commanded exposure + 3.5 ms).
    ccdt_k : float
        CCDT, K.
    filter_name : str
        FILTER keyword.
    peak_dn : float
        Calibrated DN at the nucleus centre (above SMSATVL so that flags 16/32 appear).
    n_stars, n_cosmics : int
        Point sources and cosmic-ray tracks in the image.
    cosmic_median_e : float
        Median cosmic-ray charge per hit pixel, e-.
    snips : sequence of (row0, row1, col0, col1), optional
        Received rectangles (science frame, half-open); the rest is missing.
        Default :func:`default_snips`.
    lost_packets : int
        Packets (461-pixel runs along a row) lost inside the snips.
    layout : FrameLayout, optional
        Calibration frame layout (default: the NAV 1024 x 1024 layout).
    """
    layout = layout or FrameLayout()
    inst = synthetic_instrument(instrument, layout.image_shape)
    rng = np.random.default_rng(seed)
    shape = layout.image_shape
    t_s = inttime_ms / 1000.0
    g = inst.gain_e_per_dn

    scene = _scene(rng, shape, peak_dn * g / t_s, n_stars)  # e-/s
    signal_dn = scene * t_s / g
    temperature = 2.0 ** ((ccdt_k - inst.dark_t_ref_k) / inst.dark_doubling_k)
    dark_e = inst.dark_rate.astype(np.float64) * t_s * temperature * g
    electrons = rng.poisson(scene * t_s * inst.flat + dark_e).astype(np.float64)
    cosmic_e = _cosmic_rays(rng, shape, n_cosmics, cosmic_median_e)
    linear = (electrons + cosmic_e) / g + inst.dark_offset
    measured = np.empty(shape)
    bias_name = instrument.strip().upper()
    biases = load_bias_table()[bias_name if bias_name.startswith("NAV") else "NAV" + bias_name[:3]]
    for q, sl in quadrant_slices(shape).items():
        measured[sl] = _invert_polynomial(linear[sl], inst.linearity[q - 1]) + biases[q - 1]
    raw = np.clip(np.rint(measured + rng.normal(0.0, inst.read_noise_dn, shape)),
                  0, ADC_SATURATION_DN)

    missing = np.ones(shape, bool)
    for r0, r1, c0, c1 in (snips if snips is not None else default_snips()):
        missing[r0:r1, c0:c1] = False
    received = np.flatnonzero(~missing)
    for _ in range(lost_packets if received.size else 0):
        start = int(rng.choice(received))
        r, c = divmod(start, shape[1])
        run = missing[r, c:c + 461]
        run[:] = True
    raw[missing] = 0
    image = raw.astype(np.uint16)

    expected = np.where(missing, FLAG_MISSING, np.uint8(0)).astype(np.uint8)
    expected |= np.where(inst.bad | (inst.flat < 0.1), FLAG_BAD, np.uint8(0))
    expected |= np.where(~missing & (raw >= SOME_SATURATED_DN), FLAG_SAT_SOME, np.uint8(0))
    expected |= np.where(~missing & (raw >= MOST_SATURATED_DN), FLAG_SAT_MOST, np.uint8(0))

    header = fits.Header()
    header["INSTRUME"] = (bias_name if bias_name.startswith("NAV") else "NAVMRI",
                          "Instrument ID (simulated NAV frame)")
    header["OBJECT"] = ("9P/TEMPEL 1", "Target Name")
    header["BUNIT"] = ("DN", "Physical unit of the data (astropy-parsable)")
    header["BUNITARC"] = ("DATA NUMBER", "Archive spelling of BUNIT")
    header["INTTIME"] = (inttime_ms, "[msec] Total integration time")
    header["CCDT"] = (ccdt_k, "[K] CCD On-Chip Temp")
    header["FILTER"] = (filter_name, "Actual Filter Name")
    header["TARSUNR"] = (1.506 * AU_KM, "[km] Range from Target to Sun")
    for q in (1, 2, 3, 4):
        header[f"NAVBIAS{q}"] = (biases[q - 1], f"[DN] NAV bias, quadrant {q}")
    layout.to_header(header)
    header["SIMULATE"] = (True, "etalon.ccd.simulate truth frame")
    header["SIMSEED"] = (seed, "simulation seed")
    frame = Frame(data=layout.embed(image, biases),
                  flags=layout.pad(np.where(missing, FLAG_MISSING, np.uint8(0)).astype(np.uint8)),
                  header=header)
    return SimulatedFrame(frame=frame, layout=layout, signal_dn=signal_dn,
                          cosmic_dn=np.where(missing, 0.0, cosmic_e / g), expected_flags=expected,
                          instrument=inst)
