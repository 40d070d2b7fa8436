"""CT1 (local ghost) and CT2 (cross-talk ghost) stray-light models, forward and inverse.

The project's definitions (``shared/venus.md``):

- **CT1, local ghost** -- light of a bright source spread around it in the same band. A band's
  CT1 kernel moves a fraction ``amplitude`` of every pixel's signal into a radial halo
  ``h(r)`` (flux conserving)::

      I1 = (1 - a) * I + a * (h ** I)                    (** = 2-D convolution)

  with the halo profile, ``r`` in pixels from the source pixel, sampled at pixel centres,
  zero beyond ``max_radius_px`` (and inside ``inner_px``) and normalised to ``sum(h) = 1``:

  * ``profile="exponential"``: ``h(r) ~ exp(-r / scale_px)``;
  * ``profile="power"``: ``h(r) ~ (1 + r / scale_px) ** -index``.

  ``amplitude`` is therefore the fraction of the band's flux found in the halo (part of it
  falls back on the source itself when the source is extended: the fraction found outside
  1.1 disk radii of a Moon is what :mod:`etalon.straylight.quantify` measures).

- **CT2, cross-talk ghost** -- a fraction ``coefficient`` of the signal of the source band's
  array appearing in the victim band's array (same detector unit), displaced by
  ``(dx, dy)`` pixels (victim position minus source position; +x = columns, +y = rows) and
  blurred by a Gaussian of standard deviation ``blur_px``::

      O_v = I1_v + sum_s  c_sv * shift_(dx,dy)( G_blur ** I1_s )

  The ghost carries ``coefficient`` times the source's flux (less whatever falls off the
  frame). The ghost is computed from the *un-ghosted* source image ``I1_s`` (the source
  array's own signal, CT1 halo included): cross-talk of cross-talk is not modelled.

Shift and blur are applied together in Fourier space on a zero-padded grid (exact Gaussian
transfer function, sub-pixel shifts by phase ramp); padding keeps a ghost that leaves the
frame from wrapping around: the part displaced off the frame is lost, as in the instrument.

:func:`add_stray_light` is the forward model (simulation); :func:`correct_stray_light` is the
Level-1-style inverse (subtract the modelled contributions estimated from the observed
images, by fixed-point iteration; ``iterations=1`` is the single-pass correction).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import signal

__all__ = [
    "CT1Kernel",
    "CT2Ghost",
    "add_stray_light",
    "apply_ct1",
    "correct_stray_light",
    "ghost_image",
    "ghost_images",
    "halo_kernel",
    "padded_shape",
]

_PROFILES = ("exponential", "power")


@dataclass(frozen=True)
class CT1Kernel:
    """The CT1 (local ghost) kernel of one band.

    Attributes
    ----------
    band : str
        ``B1`` .. ``B12``.
    amplitude : float
        Fraction (0 <= a < 0.5) of the band's signal spread into the halo, dimensionless.
    scale_px : float
        Halo scale length, pixels (e-folding length for ``exponential``; knee of the power law).
    profile : str
        ``"exponential"`` or ``"power"`` (see the module docstring for the formulas).
    index : float
        Power-law index (``profile="power"`` only), dimensionless.
    max_radius_px : float
        Halo truncation radius, pixels; 0 means automatic: ``10 * scale_px`` (exponential),
        ``30 * scale_px`` (power law), at least 3 px.
    inner_px : float
        Halo is zero inside this radius, pixels (0: the halo starts at the source pixel).
    """

    band: str
    amplitude: float
    scale_px: float
    profile: str = "exponential"
    index: float = 3.0
    max_radius_px: float = 0.0
    inner_px: float = 0.0

    def __post_init__(self) -> None:
        if self.profile not in _PROFILES:
            raise ValueError(f"CT1Kernel {self.band}: profile must be one of {_PROFILES}, "
                             f"got {self.profile!r}")
        if not (0.0 <= self.amplitude < 0.5) or not math.isfinite(self.amplitude):
            raise ValueError(f"CT1Kernel {self.band}: amplitude must be in [0, 0.5), got {self.amplitude}")
        if not (self.scale_px > 0) or not math.isfinite(self.scale_px):
            raise ValueError(f"CT1Kernel {self.band}: scale_px must be > 0, got {self.scale_px}")
        if self.max_radius_px < 0 or self.inner_px < 0:
            raise ValueError(f"CT1Kernel {self.band}: radii must be >= 0")

    @property
    def radius_px(self) -> float:
        """The truncation radius actually used, pixels."""
        if self.max_radius_px > 0:
            return float(self.max_radius_px)
        factor = 10.0 if self.profile == "exponential" else 30.0
        return max(3.0, factor * self.scale_px)

    def profile_at(self, r: np.ndarray) -> np.ndarray:
        """Un-normalised halo profile at radii ``r`` (pixels), zero outside [inner, max radius]."""
        r = np.asarray(r, dtype=float)
        if self.profile == "exponential":
            h = np.exp(-r / self.scale_px)
        else:
            h = (1.0 + r / self.scale_px) ** (-self.index)
        return np.where((r <= self.radius_px) & (r >= self.inner_px), h, 0.0)


@dataclass(frozen=True)
class CT2Ghost:
    """The CT2 (cross-talk) ghost of one ordered (source, victim) band pair.

    Attributes
    ----------
    source, victim : str
        Band names (the same detector unit in VENuS; not enforced here).
    coefficient : float
        Ghost flux in the victim / source flux, dimensionless.
    dx, dy : float
        Victim position minus source position, pixels (+x columns, +y rows).
    blur_px : float
        Gaussian blur standard deviation, pixels (>= 0).
    """

    source: str
    victim: str
    coefficient: float
    dx: float
    dy: float
    blur_px: float = 0.0

    def __post_init__(self) -> None:
        if self.source == self.victim:
            raise ValueError(f"CT2Ghost: source and victim are the same band {self.source}")
        for name in ("coefficient", "dx", "dy", "blur_px"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"CT2Ghost {self.source}->{self.victim}: {name} is not finite")
        if self.blur_px < 0:
            raise ValueError(f"CT2Ghost {self.source}->{self.victim}: blur_px must be >= 0")


def halo_kernel(kernel: CT1Kernel) -> np.ndarray:
    """The normalised halo ``h`` of a CT1 kernel on a (2R+1, 2R+1) grid (sum 1), centred."""
    half = math.ceil(kernel.radius_px)
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    h = kernel.profile_at(np.hypot(xx, yy))
    s = h.sum()
    if s <= 0:
        raise ValueError(f"CT1Kernel {kernel.band}: empty halo (inner_px >= max radius)")
    return h / s


def _halo(image: np.ndarray, kernel: CT1Kernel) -> np.ndarray:
    return signal.fftconvolve(image, halo_kernel(kernel), mode="same")


def apply_ct1(image: np.ndarray, kernel: CT1Kernel) -> np.ndarray:
    """``(1 - a) * image + a * (h ** image)``: one band with its CT1 halo (new array)."""
    image = np.asarray(image, dtype=float)
    if kernel.amplitude == 0:
        return image.copy()
    return (1.0 - kernel.amplitude) * image + kernel.amplitude * _halo(image, kernel)


def padded_shape(shape: tuple[int, int], ghosts: Sequence[CT2Ghost]) -> tuple[int, int]:
    """FFT grid large enough that no ghost wraps around: frame + max |shift| + 4 blur + 2 px."""
    if not ghosts:
        return (sfft.next_fast_len(shape[0], real=True), sfft.next_fast_len(shape[1], real=True))
    my = max(abs(g.dy) + 4 * g.blur_px for g in ghosts) + 2
    mx = max(abs(g.dx) + 4 * g.blur_px for g in ghosts) + 2
    return (sfft.next_fast_len(int(shape[0] + math.ceil(my)), real=True),
            sfft.next_fast_len(int(shape[1] + math.ceil(mx)), real=True))


def _transfer(pshape: tuple[int, int], dx: float, dy: float, blur: float) -> np.ndarray:
    fy = sfft.fftfreq(pshape[0])[:, None]
    fx = sfft.rfftfreq(pshape[1])[None, :]
    t = np.exp(-2j * np.pi * (fx * dx + fy * dy))
    if blur > 0:
        t = t * np.exp(-2.0 * (np.pi * blur) ** 2 * (fx**2 + fy**2))
    return t


def ghost_image(source_image: np.ndarray, ghost: CT2Ghost,
                pshape: tuple[int, int] | None = None) -> np.ndarray:
    """The CT2 ghost that ``source_image`` puts into the victim band (same shape, new array).

    Parameters
    ----------
    source_image : numpy.ndarray
        The source band's (un-ghosted) image, radiance or DN.
    ghost : CT2Ghost
    pshape : tuple of int, optional
        FFT grid (default :func:`padded_shape` of this ghost).
    """
    src = np.asarray(source_image, dtype=float)
    pshape = pshape or padded_shape(src.shape, [ghost])
    spec = sfft.rfft2(src, s=pshape)
    return _ghost_from_spectrum(spec, ghost, pshape, src.shape)


def _ghost_from_spectrum(spec: np.ndarray, ghost: CT2Ghost, pshape: tuple[int, int],
                         shape: tuple[int, int]) -> np.ndarray:
    out = sfft.irfft2(spec * _transfer(pshape, ghost.dx, ghost.dy, ghost.blur_px), s=pshape)
    return ghost.coefficient * out[:shape[0], :shape[1]]


def ghost_images(sources: Mapping[str, np.ndarray], ct2: Sequence[CT2Ghost],
                 shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Sum of the CT2 ghosts per victim band, from the given source images (no CT1 applied)."""
    pshape = padded_shape(shape, ct2)
    spectra: dict[str, np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    for g in ct2:
        if g.coefficient == 0:
            continue
        if g.source not in spectra:
            spectra[g.source] = sfft.rfft2(np.asarray(sources[g.source], dtype=float), s=pshape)
        gi = _ghost_from_spectrum(spectra[g.source], g, pshape, shape)
        out[g.victim] = out[g.victim] + gi if g.victim in out else gi
    return out


def _check(images: Mapping[str, np.ndarray], ct1: Sequence[CT1Kernel],
           ct2: Sequence[CT2Ghost]) -> tuple[int, int]:
    if not images:
        raise ValueError("no images")
    shapes = {b: np.shape(im) for b, im in images.items()}
    first = next(iter(shapes.values()))
    if len(first) != 2:
        raise ValueError(f"images must be 2-D, band {next(iter(shapes))} has shape {first}")
    bad = {b: s for b, s in shapes.items() if s != first}
    if bad:
        raise ValueError(f"bands of different shapes: {shapes}")
    seen = set()
    for k in ct1:
        if k.band in seen:
            raise ValueError(f"two CT1 kernels for band {k.band}")
        seen.add(k.band)
        if k.band not in images:
            raise ValueError(f"CT1 kernel for band {k.band}, which is not among the images "
                             f"{sorted(images)}")
    pairs = set()
    for g in ct2:
        if (g.source, g.victim) in pairs:
            raise ValueError(f"two CT2 ghosts for pair {g.source}->{g.victim}")
        pairs.add((g.source, g.victim))
        for b in (g.source, g.victim):
            if b not in images:
                raise ValueError(f"CT2 ghost {g.source}->{g.victim}: band {b} is not among the "
                                 f"images {sorted(images)}")
    return first  # type: ignore[return-value]


def add_stray_light(images: Mapping[str, np.ndarray], ct1: Sequence[CT1Kernel] = (),
                    ct2: Sequence[CT2Ghost] = ()) -> dict[str, np.ndarray]:
    """Add CT1 halos, then CT2 ghosts computed from the un-ghosted sources (pure function).

    Parameters
    ----------
    images : mapping band -> 2-D array
        Stray-light-free images of the same shape (radiance W m-2 sr-1 um-1 or DN: linear).
    ct1 : sequence of CT1Kernel
        At most one per band; bands without a kernel get no halo.
    ct2 : sequence of CT2Ghost
        At most one per ordered pair.

    Returns
    -------
    dict band -> numpy.ndarray
        New float arrays (inputs are not modified), the same keys as ``images``.
    """
    shape = _check(images, ct1, ct2)
    kernels = {k.band: k for k in ct1}
    with_halo = {b: (apply_ct1(im, kernels[b]) if b in kernels else np.array(im, dtype=float))
                 for b, im in images.items()}
    ghosts = ghost_images(with_halo, ct2, shape)
    return {b: im + ghosts[b] if b in ghosts else im for b, im in with_halo.items()}


def correct_stray_light(images: Mapping[str, np.ndarray], ct1: Sequence[CT1Kernel] = (),
                        ct2: Sequence[CT2Ghost] = (), iterations: int = 3) -> dict[str, np.ndarray]:
    """Remove modelled CT2 ghosts then CT1 halos, estimated from the observed images.

    The Level-1-style inverse of :func:`add_stray_light`:

    1. CT2: ``I1_v = O_v - sum_s ghost_sv(I1_s)`` by fixed-point iteration starting from
       ``I1 = O`` (the first pass estimates every ghost from the observed, ghosted, source
       image; each further pass from the previous estimate: error ~ c**(k+1));
    2. CT1: ``I = (I1 - a h ** I) / (1 - a)`` by fixed-point iteration starting from
       ``I = I1`` (error ~ a**(k+1)).

    Parameters
    ----------
    images : mapping band -> 2-D array
        Observed images (radiance or DN above background: the model is linear, so a background
        offset must be removed first or it is treated as signal).
    ct1, ct2 : sequences of CT1Kernel, CT2Ghost
        The parameters (e.g. from :func:`etalon.straylight.params.read_parameters`).
    iterations : int
        Passes of each fixed-point iteration (>= 1; 1 = single-pass subtraction).

    Returns
    -------
    dict band -> numpy.ndarray
        Corrected images (new arrays).
    """
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    shape = _check(images, ct1, ct2)
    obs = {b: np.array(im, dtype=float) for b, im in images.items()}
    est = obs
    active = [g for g in ct2 if g.coefficient != 0]
    if active:
        for _ in range(iterations):
            ghosts = ghost_images(est, active, shape)
            est = {b: obs[b] - ghosts[b] if b in ghosts else obs[b] for b in obs}
    out = dict(est)
    for k in ct1:
        if k.amplitude == 0:
            continue
        i1 = est[k.band]
        x = i1
        for _ in range(iterations):
            x = (i1 - k.amplitude * _halo(x, k)) / (1.0 - k.amplitude)
        out[k.band] = x
    return out
