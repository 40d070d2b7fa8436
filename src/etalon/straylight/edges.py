"""CT1 and CT2 stray light on bright-edge scenes (cloud top, snow / coast, the Earth limb).

A bright region (a half-plane, a strip, a rectangle) next to black: the scenes of the issue
other than the Moon in deep space. Pure functions over numpy arrays and small dataclasses.

**Simulation** (:func:`simulate_edge_scene`): every band sees the same registered bright
region (:class:`EdgeGeometry`, rendered analytically: a Gaussian PSF core plus the pixel box,
``sigma_eff**2 = psf**2 + 1/12``), at the band's level (:func:`etalon.straylight.simulate.band_level`),
with the CT1 halos and CT2 ghosts of :func:`etalon.straylight.models.add_stray_light` and the
read / shot noise of :func:`etalon.straylight.simulate.add_noise`.

**Quantification** (:func:`quantify_edges`), per detector unit and victim band ``v``:

1. **Edge** of each band (:func:`find_edge`): bright region = pixels above half the bright
   level (3 x 3 median, 1 px Gaussian); distance of every dark pixel from the edge =
   Euclidean distance to the nearest bright pixel centre minus 0.5 px; the edge normal
   ``n`` (bright -> dark) from the structure tensor of the smoothed bright mask.
2. **Fitting region**: dark pixels farther than ``distance_px`` from the edge, not within
   ``border_px`` of the frame border, hot/cold pixels out.
3. **Base model**: a background constant and the victim's own halo ``sum_j beta_j (K_j ** D_v)``
   (``K_j`` normalised rings with edges 0, 2, 2.8, 4, ... px, ratio sqrt 2, to
   ``halo_max_px``; ``D_v`` the victim's image within ``distance_px`` of its edge): ``beta_j``
   is the fraction of the band's flux scattered into ring j.
4. **Ghosts**: each source's bright image (within ``distance_px`` of its edge) shifted by
   ``(dx, dy) = across * n + along * t`` (``t`` along the edge) and Gaussian-blurred, in
   Fourier space. **The displacement across the edge is measurable; along a straight edge
   that leaves the frame it is not** (the ghost of a half-plane or an infinite strip is the
   same whatever its along-edge shift, away from the frame ends, which ``border_px`` masks).
   It is measurable when the source region has ends in the frame (a rectangle, a strip
   ending in the frame): the along-edge gradient energy of the source region is at least
   ``min_along_ratio`` of the across-edge one. Otherwise ``along`` is held at the prior's
   (or 0), reported NaN, and ``dx``, ``dy`` are NaN except the one along the normal of an
   axis-aligned edge.
5. **Search**: weighted matched filter (least-squares amplitude and SNR at every integer
   displacement, FFT correlation), in a window of ``search_radius_px`` around the prior
   displacement or over the whole frame; on the line ``along = prior along`` when along is
   not measurable. Sources by decreasing SNR, each found ghost subtracted before the next.
6. **Refinement**: Gauss-Newton on all parameters of the victim (base, coefficients and
   ``across``, ``along`` (when measurable), ``blur**2`` of each ghost above threshold);
   weights ``1 / (v0 + k model)`` (read + shot noise, fitted to the squared residuals);
   covariance = inverse normal matrix.
7. **Significance**: ``|c| / sigma_c > Phi^-1(1 - alpha / 2N)``, ``N`` independent trials of
   the window (positions / correlation length, squared for a 2-D window).
8. **CT1**: fraction of the band's total signal (background and ghosts removed) found farther
   than ``distance_px`` from the edge in the dark region = the fitted halo model summed there
   / total, uncertainty from the covariance; profile = mean of the cleaned image per distance
   bin over the bright level.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import fft as sfft
from scipy import ndimage, signal, special

from etalon.straylight.models import CT1Kernel, CT2Ghost, add_stray_light, apply_ct1
from etalon.venus.bands import BAND_NAMES, DETECTOR_UNITS, band

__all__ = [
    "EdgeCT1Result",
    "EdgeCT2Result",
    "EdgeGeometry",
    "EdgeQuantification",
    "EdgeRegion",
    "EdgeScene",
    "edge_ct1_fraction",
    "find_edge",
    "is_edge_scene",
    "quantify_edges",
    "random_edge_stray_light",
    "simulate_edge_scene",
]

log = logging.getLogger(__name__)

_KINDS = ("half-plane", "strip", "rectangle")


# --------------------------------------------------------------------------- geometry, simulation

@dataclass(frozen=True)
class EdgeGeometry:
    """A straight bright edge, a bright strip or a bright rectangle on a black background.

    The edge normal ``n = (cos angle, sin angle)`` points from the bright side to the dark
    side (+x columns, +y rows); ``t = (-sin angle, cos angle)`` runs along the edge. With
    ``s = (p - c) . n - offset_px`` and ``u = (p - c) . t`` (``c`` the frame centre, pixels):

    - ``"half-plane"``: bright where ``s < 0``;
    - ``"strip"``: bright where ``-width_px < s < 0`` (two parallel edges crossing the frame);
    - ``"rectangle"``: the strip limited to ``|u - along_px| < length_px / 2`` (its ends make
      the along-edge ghost displacement measurable).

    Attributes
    ----------
    kind : str
    angle_deg : float
        Direction of the normal from +x toward +y, degrees.
    offset_px : float
        Signed distance of the (first) edge from the frame centre along ``n``, pixels.
    width_px, length_px, along_px : float
        Strip / rectangle width across, rectangle length and centre along the edge, pixels.
    """

    kind: str = "half-plane"
    angle_deg: float = 0.0
    offset_px: float = 0.0
    width_px: float = 40.0
    length_px: float = 80.0
    along_px: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"EdgeGeometry: kind must be one of {_KINDS}, got {self.kind!r}")
        if self.kind != "half-plane" and not self.width_px > 0:
            raise ValueError(f"EdgeGeometry: width_px must be > 0, got {self.width_px}")
        if self.kind == "rectangle" and not self.length_px > 0:
            raise ValueError(f"EdgeGeometry: length_px must be > 0, got {self.length_px}")

    @property
    def normal(self) -> tuple[float, float]:
        """``(nx, ny)``, bright -> dark."""
        a = math.radians(self.angle_deg)
        return math.cos(a), math.sin(a)

    def coordinates(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """``(s, u)`` of every pixel centre: across (from the edge) and along, pixels."""
        h, w = shape
        yy, xx = np.indices(shape, dtype=float)
        nx, ny = self.normal
        px, py = xx - (w - 1) / 2.0, yy - (h - 1) / 2.0
        return px * nx + py * ny - self.offset_px, -px * ny + py * nx

    def render(self, shape: tuple[int, int], psf_sigma: float = 1.0) -> np.ndarray:
        """The bright region (1 inside, 0 outside) seen through a Gaussian PSF and the pixel box."""
        s, u = self.coordinates(shape)
        sig = math.sqrt(psf_sigma**2 + 1.0 / 12.0)
        out = special.ndtr(-s / sig)
        if self.kind in ("strip", "rectangle"):
            out = out - special.ndtr((-s - self.width_px) / sig)
        if self.kind == "rectangle":
            du = u - self.along_px
            out = out * (special.ndtr((self.length_px / 2 - du) / sig)
                         - special.ndtr((-self.length_px / 2 - du) / sig))
        return out


@dataclass
class EdgeScene:
    """A simulated multi-band bright-edge acquisition and its truth.

    Attributes
    ----------
    images : dict band -> numpy.ndarray
        Observed radiance, W m-2 sr-1 um-1 (noise, offset, stray light).
    clean, halo, noise_free : dict band -> numpy.ndarray
        Noise-free radiance: no stray light; CT1 halo only (the un-ghosted images); CT1 and
        CT2 (no offset), W m-2 sr-1 um-1.
    ct1, ct2 : list
        The injected parameters.
    geometry : EdgeGeometry
    background, read_noise : dict band -> float
        Offset and read-noise rms, W m-2 sr-1 um-1.
    gain : float
        e- per DN.
    """

    images: dict[str, np.ndarray] = field(repr=False)
    clean: dict[str, np.ndarray] = field(repr=False)
    halo: dict[str, np.ndarray] = field(repr=False)
    noise_free: dict[str, np.ndarray] = field(repr=False)
    ct1: list[CT1Kernel]
    ct2: list[CT2Ghost]
    geometry: EdgeGeometry
    background: dict[str, float]
    read_noise: dict[str, float]
    gain: float


def simulate_edge_scene(bands: Sequence[str] = BAND_NAMES, *, shape: tuple[int, int] = (192, 192),
                        geometry: EdgeGeometry | None = None, ct1: Sequence[CT1Kernel] = (),
                        ct2: Sequence[CT2Ghost] = (), level_dn: float = 3000.0,
                        read_noise_dn: float = 3.0, gain: float = 2.0, background_dn: float = 0.5,
                        psf_sigma: float = 1.0, texture: float = 0.0, seed: int | None = 0) -> EdgeScene:
    """Simulate a registered multi-band bright-edge acquisition with known stray light.

    Parameters
    ----------
    bands : sequence of str
        Bands to simulate (B1..B12).
    shape : (rows, cols)
        Frame, pixels.
    geometry : EdgeGeometry, optional
        The bright region (default: a vertical half-plane edge through the frame centre).
    ct1, ct2 : sequences of CT1Kernel, CT2Ghost
        Stray light to inject.
    level_dn : float
        Typical bright level, DN (bands vary by +-30 %).
    read_noise_dn, gain, background_dn : float
        Read noise (DN rms), e-/DN, dark offset (DN).
    psf_sigma : float
        Gaussian PSF core, pixels.
    texture : float
        Relative rms of a smooth (8 px) brightness texture of the bright region, the same in
        every band (0: uniform).
    seed : int or None
        Random seed of the noise (and of the texture).
    """
    from etalon.straylight.simulate import add_noise, band_level

    geometry = geometry or EdgeGeometry()
    rng = np.random.default_rng(seed)
    base = geometry.render(shape, psf_sigma)
    if texture > 0:
        f = ndimage.gaussian_filter(np.random.default_rng(None if seed is None else seed + 7919)
                                    .normal(size=shape), 8.0)
        base = base * np.clip(1.0 + texture * f / f.std(), 0.0, None)
    clean = {b: base * band_level(b, level_dn) / band(b).header_ak for b in bands}
    kernels = {k.band: k for k in ct1}
    halo = {b: apply_ct1(clean[b], kernels[b]) if b in kernels else clean[b].copy() for b in bands}
    noise_free = add_stray_light(clean, ct1, ct2)
    images, bg, rn = add_noise(noise_free, rng, read_noise_dn=read_noise_dn, gain=gain,
                               background_dn=background_dn)
    return EdgeScene(images, clean, halo, noise_free, list(ct1), list(ct2), geometry, bg, rn,
                     float(gain))


def random_edge_stray_light(seed: int, geometry: EdgeGeometry, *,
                            units: Mapping[str, Sequence[str]] | None = None,
                            ghost_probability: float = 0.5,
                            coefficient_range: tuple[float, float] = (1e-3, 3e-2),
                            across_bands_px: Sequence[tuple[float, float]] = ((18.0, 28.0), (36.0, 46.0)),
                            along_px: float = 5.0, blur_range: tuple[float, float] = (0.8, 2.2),
                            ct1_amplitude_range: tuple[float, float] = (0.01, 0.03),
                            ct1_scale_range: tuple[float, float] = (3.0, 7.0), prior_blur_px: float = 1.5
                            ) -> tuple[list[CT1Kernel], list[CT2Ghost], list[CT2Ghost]]:
    """A random stray-light truth for an edge scene, and the Level-1 parameter set listing it.

    Every band gets an exponential CT1 kernel; each ordered pair of a unit gets a ghost with
    probability ``ghost_probability`` (coefficient log-uniform in ``coefficient_range``),
    displaced toward the dark side: across the edge uniformly in the ``i``-th band of
    ``across_bands_px`` for the victim's ``i``-th source (the two sources of a victim never
    overlap: on a straight edge two registered sources at one displacement are the same
    template), along it uniformly within +-``along_px``.

    Returns
    -------
    ct1, ct2, level1 : lists
        CT1 kernels, injected ghosts, and every ordered pair (ghost-free ones with coefficient
        0 at their own across band: the search windows), as
        :func:`etalon.straylight.simulate.random_stray_light` returns them.
    """
    units = DETECTOR_UNITS if units is None else units
    rng = np.random.default_rng(seed)
    nx, ny = geometry.normal
    bands = [b for u in units.values() for b in u]
    ct1 = [CT1Kernel(b, float(rng.uniform(*ct1_amplitude_range)), float(rng.uniform(*ct1_scale_range)))
           for b in bands]
    ct2: list[CT2Ghost] = []
    level1: list[CT2Ghost] = []
    lo, hi = np.log10(coefficient_range[0]), np.log10(coefficient_range[1])
    for members in units.values():
        for v in members:
            for i, s in enumerate(x for x in members if x != v):
                a = float(rng.uniform(*across_bands_px[i % len(across_bands_px)]))
                t = float(rng.uniform(-along_px, along_px))
                dx, dy = a * nx - t * ny, a * ny + t * nx
                if rng.random() < ghost_probability:
                    g = CT2Ghost(s, v, float(10 ** rng.uniform(lo, hi)), dx, dy,
                                 float(rng.uniform(*blur_range)))
                    ct2.append(g)
                    level1.append(g)
                else:
                    level1.append(CT2Ghost(s, v, 0.0, dx, dy, prior_blur_px))
    return ct1, ct2, level1


def edge_ct1_fraction(image: np.ndarray, region: np.ndarray) -> float:
    """Fraction of an image's total signal found in ``region`` (noise-free truth), dimensionless."""
    a = np.asarray(image, float)
    return float(a[np.asarray(region, bool)].sum() / a.sum())


# --------------------------------------------------------------------------- edge finding

@dataclass
class EdgeRegion:
    """The bright region of one band and the distance of every pixel from its edge.

    Attributes
    ----------
    band : str
    bright : numpy.ndarray of bool
        Pixels above half the bright level.
    distance : numpy.ndarray
        Distance from the edge, pixels (0 on the bright region).
    normal : (float, float)
        Edge normal ``(nx, ny)``, bright -> dark (for a strip, whose two edges face both ways:
        the one with ``nx > 0``, or ``ny > 0`` for a horizontal strip).
    along_ratio : float
        Along-edge over across-edge gradient energy of the bright region, away from the frame
        border: 0 for a straight edge leaving the frame, ~0.5 for a 2:1 rectangle.
    touches_border : bool
        The bright region reaches the frame border.
    level : float
        Bright level above the background, image units.
    noise : float
        Pixel noise (robust), image units.
    """

    band: str
    bright: np.ndarray = field(repr=False)
    distance: np.ndarray = field(repr=False)
    normal: tuple[float, float]
    along_ratio: float
    touches_border: bool
    level: float
    noise: float

    @property
    def tangent(self) -> tuple[float, float]:
        """``(tx, ty)`` along the edge (the normal turned by +90 degrees)."""
        return -self.normal[1], self.normal[0]

    @property
    def angle_deg(self) -> float:
        """Direction of the normal, degrees from +x toward +y."""
        return math.degrees(math.atan2(self.normal[1], self.normal[0]))


def _clipped(a: np.ndarray, clip: float = 4.0) -> tuple[float, float]:
    """Clipped mean and standard deviation (5 passes, truncation-corrected)."""
    a = np.asarray(a, float).ravel()
    lo, hi = np.percentile(a, [2.0, 98.0])
    core = a[(a >= lo) & (a <= hi)]
    m, sd = float(core.mean()), float(core.std())
    corr = math.sqrt(1.0 - 2 * clip * math.exp(-clip**2 / 2) / math.sqrt(2 * math.pi)
                     / math.erf(clip / math.sqrt(2)))
    for _ in range(5):
        sel = a[np.abs(a - m) < clip * max(sd, 1e-30)]
        if sel.size < 10:
            break
        m, sd = float(sel.mean()), float(sel.std()) / corr
    return m, max(sd, 1e-30)


def find_edge(image: np.ndarray, band: str = "", min_snr: float = 20.0,
              border_px: float = 16.0) -> EdgeRegion:
    """Find a band's bright region, its edge normal and the distance map from its edge.

    Parameters
    ----------
    image : numpy.ndarray
        One band, any linear unit, background allowed.
    band : str
        For messages.
    min_snr : float
        The bright level must exceed ``min_snr`` times the noise of a 5 x 5 mean.
    border_px : float
        Frame-border margin left out of the along-edge measurability test, pixels.

    Raises
    ------
    ValueError
        Naming the band when it has no bright source.
    """
    a = np.asarray(image, float)
    h, w = a.shape
    noise = _clipped(np.diff(a, axis=1)[::2])[1] / math.sqrt(2) + 1e-30
    sm = ndimage.gaussian_filter(ndimage.median_filter(a, 3), 1.0)
    lo, hi = (float(v) for v in np.percentile(sm, [2.0, 99.5]))
    level = hi - lo
    if not level > min_snr * noise / 5.0:
        raise ValueError(f"band {band}: no bright source (level {level:.3g} above the background "
                         f"is below {min_snr:g} x the noise {noise / 5:.3g} of a 5 x 5 mean)")
    bright = sm > lo + 0.5 * level
    if bright.all():
        raise ValueError(f"band {band}: no dark region (the whole frame is above half the "
                         "bright level)")
    dist = np.where(bright, 0.0, np.clip(ndimage.distance_transform_edt(~bright) - 0.5, 0.0, None))
    touches = bool(bright[0].any() or bright[-1].any() or bright[:, 0].any() or bright[:, -1].any())
    m = ndimage.gaussian_filter(bright.astype(float), 1.5)
    gy, gx = np.gradient(m)
    b = int(min(border_px + 3, 0.25 * min(h, w)))
    inner = np.zeros((h, w), bool)
    inner[b:h - b, b:w - b] = True
    jxx, jyy, jxy = (float(np.sum(v[inner])) for v in (gx * gx, gy * gy, gx * gy))
    if jxx + jyy <= 0:      # the edge lies entirely within the border margin
        inner[:] = True
        jxx, jyy, jxy = (float(np.sum(v)) for v in (gx * gx, gy * gy, gx * gy))
    evals, evecs = np.linalg.eigh(np.array([[jxx, jxy], [jxy, jyy]]))
    nx, ny = (float(v) for v in evecs[:, 1])
    proj = nx * gx[inner] + ny * gy[inner]
    if abs(proj.sum()) > 0.5 * np.abs(proj).sum():
        if proj.sum() > 0:            # the mask must decrease along n (bright -> dark)
            nx, ny = -nx, -ny
    elif nx < -1e-9 or (abs(nx) <= 1e-9 and ny < 0):
        nx, ny = -nx, -ny
    ratio = float(evals[0] / evals[1]) if evals[1] > 0 else 0.0
    return EdgeRegion(band, bright, dist, (nx, ny), ratio, touches, level, noise)


def is_edge_scene(images: Mapping[str, np.ndarray]) -> bool:
    """True when the first band's bright region reaches the frame border (not a Moon in deep space).

    A bright region wholly inside the frame (a rectangle) is not recognised: ask for the edge
    method explicitly (CLI ``--scene edge``).
    """
    b, im = next(iter(images.items()))
    try:
        return find_edge(im, b).touches_border
    except ValueError:
        return False


# --------------------------------------------------------------------------- results

@dataclass
class EdgeCT1Result:
    """CT1 (or its residual) of one band on an edge scene.

    Attributes
    ----------
    band : str
    fraction, fraction_unc : float
        Fraction of the band's total signal (background and CT2 ghosts removed) found in the
        dark region farther than ``distance_px`` from the edge, dimensionless.
    distance_px : float
    total : float
        The band's total signal (image units x pixels).
    level : float
        The bright level (image units).
    distance : numpy.ndarray
        Profile bin centres, pixels from the edge.
    profile, profile_unc : numpy.ndarray
        Mean of the cleaned image in each bin over the bright level, dimensionless.
    model_profile : numpy.ndarray
        The same for the fitted halo model.
    ring_px, ring_fraction, ring_fraction_unc : numpy.ndarray
        Outer radii of the halo rings (pixels) and the fitted fraction of the band's flux
        scattered into each ring (the CT1 kernel).
    """

    band: str
    fraction: float
    fraction_unc: float
    distance_px: float
    total: float
    level: float
    distance: np.ndarray = field(repr=False)
    profile: np.ndarray = field(repr=False)
    profile_unc: np.ndarray = field(repr=False)
    model_profile: np.ndarray = field(repr=False)
    ring_px: np.ndarray = field(repr=False)
    ring_fraction: np.ndarray = field(repr=False)
    ring_fraction_unc: np.ndarray = field(repr=False)


@dataclass
class EdgeCT2Result:
    """CT2 (or its residual) of one ordered pair on an edge scene.

    Attributes
    ----------
    source, victim : str
    coefficient, coefficient_unc : float
        Ghost flux in the victim / source flux, dimensionless.
    across, across_unc : float
        Displacement across the source's edge (along its normal, bright -> dark), pixels.
    along, along_unc : float
        Displacement along the edge, pixels; NaN when not measurable (``along_measurable``).
    along_measurable : bool
        The source region has ends in the frame (see the module docstring).
    dx, dx_unc, dy, dy_unc : float
        Victim minus source position in frame pixels; NaN when the along component is not
        measurable, except the component along the normal of an axis-aligned edge.
    blur_px, blur_unc : float
        Gaussian blur sigma, pixels.
    snr, threshold : float
        ``coefficient / coefficient_unc`` and the look-elsewhere corrected threshold.
    significant : bool
    search : str
        ``"prior"``, ``"global"`` or ``"none"`` (the ghost cannot reach the fitting region).
    refined : bool
        Displacement and blur fitted (the search peak passed the threshold).
    """

    source: str
    victim: str
    coefficient: float
    coefficient_unc: float
    across: float
    across_unc: float
    along: float
    along_unc: float
    along_measurable: bool
    dx: float
    dx_unc: float
    dy: float
    dy_unc: float
    blur_px: float
    blur_unc: float
    snr: float
    threshold: float
    significant: bool
    search: str
    refined: bool

    def ghost(self) -> CT2Ghost:
        """The fitted ghost as a :class:`CT2Ghost` (an unmeasured along component taken as 0)."""
        dx = self.dx if math.isfinite(self.dx) else 0.0
        dy = self.dy if math.isfinite(self.dy) else 0.0
        return CT2Ghost(self.source, self.victim, self.coefficient, dx, dy,
                        self.blur_px if math.isfinite(self.blur_px) else 0.0)


@dataclass
class EdgeQuantification:
    """Everything measured on one edge acquisition.

    Attributes
    ----------
    edges : dict band -> EdgeRegion
    ct1 : dict band -> EdgeCT1Result
    ct2 : list of EdgeCT2Result
        Every ordered pair inside each complete detector unit.
    regions : dict band -> numpy.ndarray of bool
        The CT1 region of each band (dark pixels farther than ``distance_px`` from its edge).
    residuals : dict band -> numpy.ndarray
        Image minus everything explained on the fitting region, NaN elsewhere (image units).
    models : dict band -> dict name -> numpy.ndarray
        ``background``, ``halo``, ``ghosts`` fitted (full frame, image units).
    chi2, dof : dict band -> float, int
    distance_px : float
    """

    edges: dict[str, EdgeRegion]
    ct1: dict[str, EdgeCT1Result]
    ct2: list[EdgeCT2Result]
    regions: dict[str, np.ndarray] = field(repr=False)
    residuals: dict[str, np.ndarray] = field(repr=False)
    models: dict[str, dict[str, np.ndarray]] = field(repr=False)
    chi2: dict[str, float]
    dof: dict[str, int]
    distance_px: float

    def pair(self, source: str, victim: str) -> EdgeCT2Result:
        """The CT2 result of one ordered pair."""
        for r in self.ct2:
            if r.source == source and r.victim == victim:
                return r
        raise KeyError(f"no CT2 result for {source}->{victim}")


# --------------------------------------------------------------------------- the fit

def _halo_scales(r_max: float) -> np.ndarray:
    """Scales of the exponential halo components, pixels: 1, 2, 4, ... up to ``r_max / 2``."""
    out = [1.0]
    while out[-1] * 2 <= r_max / 2 + 1e-9:
        out.append(out[-1] * 2)
    return np.array(out)


def _halo_spectra(scales: np.ndarray, r_max: float, pshape: tuple[int, int]) -> list[np.ndarray]:
    """Spectra of the normalised kernels ``exp(-r / scale)``, ``r <= r_max`` (sum 1 each)."""
    fy = np.minimum(np.arange(pshape[0]), pshape[0] - np.arange(pshape[0]))[:, None]
    fx = np.minimum(np.arange(pshape[1]), pshape[1] - np.arange(pshape[1]))[None, :]
    r = np.hypot(fx, fy)
    out = []
    for sc in scales:
        k = np.where(r <= r_max, np.exp(-r / sc), 0.0)
        k /= k.sum()
        out.append(sfft.rfft2(k))
    return out


@dataclass
class _Source:
    """A source band's ghost template on the padded Fourier grid."""

    band: str
    spec: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    pshape: tuple[int, int]
    shape: tuple[int, int]
    normal: tuple[float, float]
    along_ok: bool

    def render(self, dx: float, dy: float, s: float, derivs: bool = False) -> list[np.ndarray]:
        """Template shifted by (dx, dy), blurred (s = sigma**2), and d/ddx, d/ddy, d/ds."""
        k2 = self.fx**2 + self.fy**2
        t = self.spec * np.exp(-2j * np.pi * (self.fx * dx + self.fy * dy) - 2.0 * np.pi**2 * s * k2)
        h, w = self.shape
        out = [sfft.irfft2(t, s=self.pshape)[:h, :w]]
        if derivs:
            for mult in (-2j * np.pi * self.fx, -2j * np.pi * self.fy, -2.0 * np.pi**2 * k2):
                out.append(sfft.irfft2(t * mult, s=self.pshape)[:h, :w])
        return out


@dataclass
class _Ghost:
    src: _Source
    dx: float
    dy: float
    s: float
    refine: bool
    search: str
    threshold: float
    c: float
    dx0: float
    dy0: float
    s0: float


def _n_trials(n_positions: int, corr_px: float, line: bool) -> float:
    return max(1.0, n_positions / (corr_px if line else corr_px**2))


def _shifted(t0: np.ndarray, ix: int, iy: int) -> np.ndarray:
    """``t0`` moved by whole pixels (ix columns, iy rows), zero-filled."""
    h, w = t0.shape
    out = np.zeros_like(t0)
    if abs(ix) >= w or abs(iy) >= h:
        return out
    out[max(iy, 0):h + min(iy, 0), max(ix, 0):w + min(ix, 0)] = \
        t0[max(-iy, 0):h + min(-iy, 0), max(-ix, 0):w + min(-ix, 0)]
    return out


def _candidates(t0: np.ndarray, weight: np.ndarray, resid: np.ndarray, src: _Source,
                prior: CT2Ghost | None, search_radius: float, corr_px: float,
                fitmask: np.ndarray):
    """Integer displacements to scan and the number of independent trials they make.

    Near a prior: the disk of ``search_radius`` around it (2-D), or the segment of the line
    ``along = prior along`` inside it (a straight edge). Without a prior: the whole line
    ``along = 0`` (straight edge) or, for a region with ends, +-3 px around the peak of the
    weighted matched filter over the whole frame. Displacements putting less than 1e-3 of
    the template energy in the fitting region are left out.
    """
    h, w = t0.shape
    nx, ny = src.normal
    tx, ty = -ny, nx
    energy = float(np.sum(t0**2))
    line = not src.along_ok
    n_valid = None
    if prior is not None:
        l0 = prior.dx * tx + prior.dy * ty
        if line:
            a0 = prior.dx * nx + prior.dy * ny
            avals = np.arange(a0 - search_radius, a0 + search_radius + 1e-9, 1.0)
            pts = {(math.floor(a * nx + l0 * tx + 0.5), math.floor(a * ny + l0 * ty + 0.5))
                   for a in avals}
        else:
            r = math.ceil(search_radius)
            pts = {(ix, iy) for ix in range(math.floor(prior.dx) - r, math.ceil(prior.dx) + r + 1)
                   for iy in range(math.floor(prior.dy) - r, math.ceil(prior.dy) + r + 1)
                   if math.hypot(ix - prior.dx, iy - prior.dy) <= search_radius}
    elif line:
        amax = math.hypot(h, w)
        pts = {(math.floor(a * nx + 0.5), math.floor(a * ny + 0.5))
               for a in np.arange(-amax, amax + 1e-9, 1.0)}
    else:
        tf = t0[::-1, ::-1]
        num = signal.fftconvolve(resid * weight, tf, mode="full")
        den = signal.fftconvolve(weight, tf**2, mode="full")
        ok = den > 1e-3 * energy * float(np.max(weight))
        if not ok.any():
            return [], 1.0, line
        snr = np.where(ok, num / np.sqrt(np.where(ok, den, 1.0)), -np.inf)
        iu, iv = np.unravel_index(int(np.argmax(snr)), snr.shape)
        px, py = int(iv) - (w - 1), int(iu) - (h - 1)
        pts = {(px + i, py + j) for i in range(-3, 4) for j in range(-3, 4)}
        n_valid = int(ok.sum())
    keep = []
    for ix, iy in sorted(pts):
        if abs(ix) >= w or abs(iy) >= h:
            continue
        t = _shifted(t0, ix, iy)
        if float(np.sum(t[fitmask] ** 2)) >= 1e-3 * energy:
            keep.append((ix, iy))
    n = len(keep) if n_valid is None else n_valid
    return keep, _n_trials(n, corr_px, line), line


def _scan(t0: np.ndarray, positions, fitmask: np.ndarray, B: np.ndarray, F: np.ndarray,
          y: np.ndarray, wt: np.ndarray, prior_side: bool):
    """Joint weighted least squares (base + accepted ghosts + this template) at each position.

    Returns ``(snr, ix, iy, c)`` at the largest ``|snr|`` (largest ``snr`` when
    ``prior_side`` is False: without a prior a ghost must add light), or None.
    """
    A = np.concatenate([B, F], axis=1)
    Aw = A * wt[:, None]
    naa = A.T @ Aw
    nay = Aw.T @ y
    best = None
    for ix, iy in positions:
        t = _shifted(t0, ix, iy)[fitmask]
        tw = t * wt
        n = naa.shape[0]
        N = np.empty((n + 1, n + 1))
        N[:n, :n] = naa
        N[:n, n] = N[n, :n] = A.T @ tw
        N[n, n] = float(t @ tw)
        rhs = np.append(nay, float(tw @ y))
        try:
            cov = np.linalg.inv(_reg(N))
        except np.linalg.LinAlgError:
            continue
        c = float(cov[n] @ rhs)
        cu = math.sqrt(max(float(cov[n, n]), 1e-300))
        snr = c / cu
        key = abs(snr) if prior_side else snr
        if best is None or key > best[0]:
            best = (key, snr, ix, iy, c)
    return None if best is None else best[1:]


def _noise_model(image: np.ndarray, mask: np.ndarray, bg: float, along_rows: bool = True) -> np.ndarray:
    """Per-pixel noise variance ``v0 + k * signal`` (read + shot noise), image units squared.

    From the squared second differences ``(I[x] - (I[x-1] + I[x+1]) / 2)**2 / 1.5`` along rows
    (``along_rows``; else along columns: the direction closer to the edge, along which a
    straight edge's signal is constant)
    (three pixels in ``mask``): smooth structures (halo, ghost plateaus, and their gradients)
    cancel, so the estimate does not depend on the model. ``signal`` is the mean of 7 pixels
    in the same direction, background removed, clipped at 0. Outliers (> 16 times the predicted variance: hot
    pixels, sharp ghost edges) are dropped.
    """
    if not along_rows:
        return _noise_model(image.T, mask.T, bg).T
    sig = np.clip(ndimage.uniform_filter1d(image, 7, axis=1) - bg, 0.0, None)
    both = mask[:, 2:] & mask[:, 1:-1] & mask[:, :-2]
    d2 = (image[:, 1:-1] - 0.5 * (image[:, 2:] + image[:, :-2]))[both] ** 2 / 1.5
    m = sig[:, 1:-1][both]
    keep = np.ones(d2.size, bool)
    v0, k = float(np.median(d2)) / 0.455, 0.0
    for _ in range(4):
        A = np.stack([np.ones(int(keep.sum())), m[keep]], axis=1)
        v0, k = (float(v) for v in np.linalg.lstsq(A, d2[keep], rcond=None)[0])
        if v0 <= 0 or k < 0:
            v0, k = float(np.mean(d2[keep])), 0.0
        keep = d2 < 16 * (v0 + k * m)
    # a chi2(1) truncated at 16 keeps 99.994 % of its mean: no correction needed
    return v0 + k * sig


def _reg(N: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.clip(np.diag(N), 1e-300, None))
    return (N / d[:, None] / d[None, :] + 1e-12 * np.eye(N.shape[0])) * d[:, None] * d[None, :]


def _ghost_columns(ghosts, lin_c: np.ndarray, fitmask: np.ndarray, npix: int) -> np.ndarray:
    """Jacobian columns of the ghosts on the fitting pixels: each ghost's template, and for a
    refined one the derivatives (times its coefficient) across the edge, along it when
    measurable, and in blur**2."""
    cols = []
    for gi, g in enumerate(ghosts):
        parts = g.src.render(g.dx, g.dy, g.s, derivs=g.refine)
        cols.append(parts[0][fitmask])
        if g.refine:
            nx, ny = g.src.normal
            cols.append(lin_c[gi] * (nx * parts[1] + ny * parts[2])[fitmask])
            if g.src.along_ok:
                cols.append(lin_c[gi] * (-ny * parts[1] + nx * parts[2])[fitmask])
            cols.append(lin_c[gi] * parts[3][fitmask])
    return np.stack(cols, axis=1) if cols else np.zeros((npix, 0))


def _ncols(g: _Ghost) -> int:
    return 1 + (3 if g.src.along_ok else 2) * g.refine


def _fit_victim(victim: str, image: np.ndarray, edge: EdgeRegion, sources: list[_Source],
                prior: Mapping[tuple[str, str], CT2Ghost], *, distance_px: float, border_px: float,
                search_radius: float, alpha: float, blur_guess: float, psf_sigma: float,
                max_iter: int, ring_spectra: list[np.ndarray], edges: np.ndarray,
                pshape: tuple[int, int], bg0: float):
    h, w = image.shape
    region = edge.distance > distance_px
    fitmask = region.copy()
    b = round(border_px)
    inner = np.ones((h, w), bool)
    if b > 0:
        inner[:] = False
        inner[b:h - b, b:w - b] = True
        fitmask &= inner
    fitmask &= np.abs(image - ndimage.median_filter(image, 3)) < 10 * edge.noise
    npix = int(fitmask.sum())
    if npix < 50:
        raise ValueError(f"band {victim}: fewer than 50 dark pixels farther than {distance_px:g} px "
                         f"from the edge and {border_px:g} px from the frame border")
    own = np.where(edge.distance <= distance_px, image - bg0, 0.0)
    fown = sfft.rfft2(own, s=pshape)
    halos = [sfft.irfft2(fown * spec, s=pshape)[:h, :w] for spec in ring_spectra]
    var_img = _noise_model(image, fitmask, bg0, along_rows=abs(edge.normal[1]) >= abs(edge.normal[0]))

    def build(mask):
        kept = [j for j, hj in enumerate(halos) if np.abs(hj[mask]).sum() > 1e-6 * abs(own.sum())]
        return kept, np.stack([np.ones(int(mask.sum()))] + [halos[j][mask] for j in kept], axis=1)

    keep, B = build(fitmask)
    nb = B.shape[1]
    y = image[fitmask]
    var = var_img[fitmask]
    sd = np.sqrt(var)
    good = np.ones(npix)
    coef = np.zeros(nb)
    for _ in range(3):   # robust base fit: ghosts clipped
        Bw = B * (good / var)[:, None]
        coef = np.linalg.solve(_reg(B.T @ Bw), Bw.T @ y)
        res = y - B @ coef
        good = (np.abs(res) < 4 * sd).astype(float)
    resid_img = np.zeros((h, w))
    resid_img[fitmask] = res
    weight = np.zeros((h, w))
    weight[fitmask] = 1.0 / var
    # --- search each source, strongest first (joint fit with the base and accepted ghosts)
    ghosts: list[_Ghost] = []
    scan_only: list[tuple] = []
    pending = list(sources)
    wt = 1.0 / var
    F = np.zeros((npix, 0))
    while pending:
        best = None
        # sources with a prior (the Level-1 parameters) first: a ghost in their window is
        # theirs; then whole-frame searches, on what is left
        with_prior = [x for x in pending if (x.band, victim) in prior]
        for src in with_prior or pending:
            g = prior.get((src.band, victim))
            bl = g.blur_px if g is not None else blur_guess
            t0 = src.render(0.0, 0.0, bl**2)[0]
            corr = max(2.0, 2.5 * math.sqrt(psf_sigma**2 + bl**2))
            pos, ntr, _line = _candidates(t0, weight, resid_img, src, g, search_radius, corr, fitmask)
            found = _scan(t0, pos, fitmask, B, F, y, wt, g is not None) if pos else None
            if found is None:
                continue
            snr, ix, iy, c = found
            thr = float(special.ndtri(1.0 - alpha / (2.0 * ntr)))
            cand = (abs(snr) / thr, src, snr, float(ix), float(iy), c, thr, bl, g)
            if best is None or cand[0] > best[0]:
                best = cand
        if best is None:
            break
        _, src, snr, dx, dy, c, thr, bl, g = best
        pending.remove(src)
        refine = abs(snr) >= thr and (g is not None or snr > 0)
        if refine and g is None:
            # whole-frame search: a second source's template on an accepted ghost is degenerate
            # with it (registered bands: the same shape), not a detection
            nx, ny = src.normal
            for o in ghosts:
                if o.refine and abs((o.dx - dx) * nx + (o.dy - dy) * ny) < 3.0 and \
                        (not src.along_ok or math.hypot(o.dx - dx, o.dy - dy) < 3.0):
                    refine = False
        if g is not None and (not refine or not src.along_ok):
            if not refine:
                dx, dy = g.dx, g.dy
            else:   # onto the line along = prior along exactly
                nx, ny = src.normal
                a = dx * nx + dy * ny
                l0 = -g.dx * ny + g.dy * nx
                dx, dy = a * nx - l0 * ny, a * ny + l0 * nx
        if g is None and not refine:
            # a whole-frame search without a detection: no position to keep in the joint fit
            # (at an accepted ghost it would be degenerate with it); the scan's coefficient
            # (jointly with the base and the accepted ghosts) is reported
            scan_only.append((src, dx, dy, math.sqrt(bl**2), c, abs(c / snr) if snr else math.inf, thr))
            continue
        gh = _Ghost(src, dx, dy, bl**2, refine, "prior" if g is not None else "global", thr, c,
                    dx, dy, bl**2)
        ghosts.append(gh)
        col = src.render(dx, dy, bl**2)[0][fitmask]
        F = np.concatenate([F, col[:, None]], axis=1)
        if refine:
            resid_img[fitmask] -= c * col
    for src in pending:
        log.warning("CT2 %s->%s: the ghost cannot reach the fitting region (farther than %g px "
                    "from the edge) in the search window; not measured", src.band, victim, distance_px)
    # a straight edge leaving the frame: its ghost is cut where the source leaves the frame,
    # displaced by the unknown along-edge shift: pixels whose source point is within
    # border_px of the frame border (or outside it) are left out
    cut = np.ones((h, w), bool)
    yy, xx = np.indices((h, w))
    for g in ghosts:
        if g.refine and not g.src.along_ok:
            sx, sy = xx - g.dx, yy - g.dy
            cut &= (sx >= b) & (sx < w - b) & (sy >= b) & (sy < h - b)
    if not cut.all():
        sub = cut[fitmask]
        if sub.sum() < 50:
            raise ValueError(f"band {victim}: fewer than 50 pixels left once the ends of the "
                             "ghosts of a straight edge are masked")
        fitmask = fitmask & cut
        npix = int(fitmask.sum())
        keep, B = build(fitmask)
        nb = B.shape[1]
        y, var = image[fitmask], var_img[fitmask]
        Bw = B / var[:, None]
        coef = np.linalg.solve(_reg(B.T @ Bw), Bw.T @ (y - sum(
            (g.c * g.src.render(g.dx, g.dy, g.s)[0][fitmask] for g in ghosts if g.refine),
            np.zeros(npix))))
    # --- Gauss-Newton: base, coefficients, across / along / blur**2 of refined ghosts
    lin_c = np.array([g.c for g in ghosts], float)
    beta = coef.copy()
    N = B.T @ (B / var[:, None])
    for it in range(max_iter):
        G = _ghost_columns(ghosts, lin_c, fitmask, npix)
        J = np.concatenate([B, G], axis=1)
        model = B @ beta
        pos = 0
        for gi, g in enumerate(ghosts):
            model = model + lin_c[gi] * G[:, pos]
            pos += _ncols(g)
        r = y - model
        if it == 1:   # the noise model again, on the residuals of the full model (clipped)
            sig_m = np.clip(model - beta[0], 0.0, None)
            ok = r**2 < 16 * var
            A = np.stack([np.ones(int(ok.sum())), sig_m[ok]], axis=1)
            v0n, kn = (float(v) for v in np.linalg.lstsq(A, r[ok] ** 2, rcond=None)[0])
            if v0n <= 0 or kn < 0:
                v0n, kn = float(np.mean(r[ok] ** 2)), 0.0
            var = v0n + kn * sig_m
        Jw = J / var[:, None]
        N = J.T @ Jw
        dvec = np.linalg.solve(_reg(N), Jw.T @ r)
        beta = beta + dvec[:nb]
        pos = nb
        step = 0.0
        for gi, g in enumerate(ghosts):
            lin_c[gi] += dvec[pos]
            if g.refine:
                nx, ny = g.src.normal
                tx, ty = -ny, nx
                da = float(np.clip(dvec[pos + 1], -2, 2))
                dl = float(np.clip(dvec[pos + 2], -2, 2)) if g.src.along_ok else 0.0
                ds = float(np.clip(dvec[pos + (3 if g.src.along_ok else 2)], -4, 4))
                g.dx += da * nx + dl * tx
                g.dy += da * ny + dl * ty
                g.s = max(g.s + ds, 0.0)
                step = max(step, abs(da), abs(dl))
            pos += _ncols(g)
        demote = False
        if it >= 2:
            cov = np.linalg.inv(_reg(N))
            pos = nb
            for gi, g in enumerate(ghosts):
                if g.refine:
                    cu = math.sqrt(max(cov[pos, pos], 0.0))
                    drift = math.hypot(g.dx - g.dx0, g.dy - g.dy0)
                    if abs(lin_c[gi]) < 0.5 * g.threshold * cu or drift > search_radius + 0.5:
                        g.refine, g.dx, g.dy, g.s, demote = False, g.dx0, g.dy0, g.s0, True
                pos += _ncols(g)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s iteration %d: %s, coefficients %s", victim, it,
                      [(g.src.band, round(g.dx, 2), round(g.dy, 2), round(math.sqrt(g.s), 2), g.refine)
                       for g in ghosts], lin_c)
        if it >= 1 and step < 1e-3 and not demote:
            break
    # final linear solve at the final nonlinear parameters, and the covariance
    G = _ghost_columns(ghosts, lin_c, fitmask, npix)
    J = np.concatenate([B, G], axis=1)
    lin_idx = list(range(nb))
    pos = nb
    for g in ghosts:
        lin_idx.append(pos)
        pos += _ncols(g)
    Jl = J[:, lin_idx]
    sol = np.linalg.solve(_reg(Jl.T @ (Jl / var[:, None])), (Jl / var[:, None]).T @ y)
    beta, lin_c = sol[:nb], sol[nb:]
    cov = np.linalg.inv(_reg(J.T @ (J / var[:, None])))
    # --- results
    results = []
    ghost_img = np.zeros((h, w))
    pos = nb
    nan = math.nan
    for gi, g in enumerate(ghosts):
        ghost_img += lin_c[gi] * g.src.render(g.dx, g.dy, g.s)[0]
        cu = math.sqrt(max(cov[pos, pos], 0.0))
        nx, ny = g.src.normal
        tx, ty = -ny, nx
        across = g.dx * nx + g.dy * ny
        along = g.dx * tx + g.dy * ty
        au = lu = dxu = dyu = blur_u = nan
        if g.refine:
            au = math.sqrt(max(cov[pos + 1, pos + 1], 0.0))
            k_s = pos + (3 if g.src.along_ok else 2)
            su = math.sqrt(max(cov[k_s, k_s], 0.0))
            if g.src.along_ok:
                lu = math.sqrt(max(cov[pos + 2, pos + 2], 0.0))
                cal = cov[pos + 1, pos + 2]
                dxu = math.sqrt(max(nx**2 * au**2 + tx**2 * lu**2 + 2 * nx * tx * cal, 0.0))
                dyu = math.sqrt(max(ny**2 * au**2 + ty**2 * lu**2 + 2 * ny * ty * cal, 0.0))
            blur = math.sqrt(g.s)
            blur_u = su / (2 * blur) if blur > 0 else math.sqrt(su)
        else:
            blur = math.sqrt(g.s)
        dx, dy = g.dx, g.dy
        if not g.src.along_ok:
            along = lu = nan
            dx = dy = nan
            dxu = dyu = nan
            if abs(ny) < 0.01:       # vertical edge: dx is the across component
                dx, dxu = across * nx, au
            elif abs(nx) < 0.01:     # horizontal edge: dy is
                dy, dyu = across * ny, au
        snr = float(lin_c[gi] / cu) if cu > 0 else 0.0
        results.append(EdgeCT2Result(g.src.band, victim, float(lin_c[gi]), cu, float(across), au,
                                     float(along), lu, g.src.along_ok, float(dx), dxu, float(dy), dyu,
                                     blur, blur_u, snr, g.threshold,
                                     bool(g.refine and abs(snr) >= g.threshold), g.search, g.refine))
        pos += _ncols(g)
    for src, dx, dy, blur, c, cu, thr in scan_only:
        nx, ny = src.normal
        across = dx * nx + dy * ny
        vert, horiz = abs(ny) < 0.01, abs(nx) < 0.01
        ok = src.along_ok
        results.append(EdgeCT2Result(
            src.band, victim, float(c), float(cu), float(across), nan,
            float(-dx * ny + dy * nx) if ok else nan, nan, ok,
            float(dx) if ok or vert else nan, nan, float(dy) if ok or horiz else nan, nan,
            blur, nan, float(c / cu) if cu > 0 else 0.0, thr, False, "global", False))
    for src in pending:
        results.append(EdgeCT2Result(src.band, victim, nan, nan, nan, nan, nan, nan, src.along_ok,
                                     nan, nan, nan, nan, nan, nan, nan, nan, False, "none", False))
    bg_img = np.full((h, w), beta[0])
    halo_img = sum((beta[1 + i] * halos[j] for i, j in enumerate(keep)), np.zeros((h, w)))
    full_model = bg_img + halo_img + ghost_img
    residual = np.full((h, w), np.nan)
    residual[fitmask] = y - full_model[fitmask]
    chi2 = float(np.sum(residual[fitmask] ** 2 / var))
    dof = npix - J.shape[1]
    # --- CT1 beyond distance_px
    cleaned = image - bg_img - ghost_img
    total = float(cleaned.sum())
    gvec = np.zeros(cov.shape[0])
    for i, j in enumerate(keep):
        gvec[1 + i] = halos[j][region].sum()
    frac = float(halo_img[region].sum() / total)
    frac_u = math.sqrt(max(float(gvec @ cov @ gvec), 0.0)) / abs(total)
    ring_f = np.full(len(edges), np.nan)
    ring_u = np.full(len(edges), np.nan)
    for i, j in enumerate(keep):
        ring_f[j] = beta[1 + i]
        ring_u[j] = math.sqrt(max(cov[1 + i, 1 + i], 0.0))
    dmax = float(edge.distance[fitmask].max())
    bins = np.unique(np.concatenate([np.arange(0.0, min(distance_px, dmax), 1.0),
                                     np.geomspace(max(distance_px, 1.0), max(dmax, distance_px + 1), 14)]))
    full_var = var_img
    good_pix = np.abs(image - ndimage.median_filter(image, 3)) < 10 * edge.noise
    cen, prof, prof_u, mprof = [], [], [], []
    for lo, hi in itertools.pairwise(bins):
        sel = (edge.distance > lo) & (edge.distance <= hi) & ~edge.bright & good_pix & inner & cut
        n = int(sel.sum())
        if n == 0:
            continue
        cen.append(float(edge.distance[sel].mean()))
        prof.append(float(cleaned[sel].mean()) / edge.level)
        prof_u.append(math.sqrt(float(full_var[sel].sum())) / n / edge.level)
        mprof.append(float(halo_img[sel].mean()) / edge.level)
    ct1 = EdgeCT1Result(victim, frac, frac_u, float(distance_px), total, edge.level, np.array(cen),
                        np.array(prof), np.array(prof_u), np.array(mprof), edges.copy(),
                        ring_f, ring_u)
    models = {"background": bg_img, "halo": halo_img, "ghosts": ghost_img}
    return results, ct1, region, residual, models, chi2, dof


def quantify_edges(images: Mapping[str, np.ndarray], *, prior: Sequence[CT2Ghost] | None = None,
                   search_radius_px: float = 10.0,
                   units: Mapping[str, Sequence[str]] = DETECTOR_UNITS, distance_px: float = 5.0,
                   border_px: float = 16.0, alpha: float = 1e-3, blur_guess_px: float = 1.5,
                   psf_sigma_px: float = 1.0, halo_max_px: float = 64.0, max_iter: int = 12,
                   min_along_ratio: float = 0.05, passes: int = 2) -> EdgeQuantification:
    """Measure CT1 edge fractions and CT2 coefficients of a registered multi-band edge scene.

    Parameters
    ----------
    images : mapping band -> 2-D array
        Radiance (or DN) per band, any linear unit, the same shape; a dark offset is fitted.
    prior : sequence of CT2Ghost, optional
        Expected displacements and blurs (the Level-1 parameters): each listed pair is searched
        within ``search_radius_px`` of its displacement (and along the edge held at its
        along component when that is not measurable); others over the whole frame.
    search_radius_px : float
        Search window radius, pixels.
    units : mapping unit -> bands
        Detector units (default VENuS).
    distance_px : float
        The CT1 fraction is the signal found farther than this from the edge, pixels; the
        fit uses only those pixels.
    border_px : float
        Frame-border margin left out of the fit, pixels (it hides the ends of a ghost of an
        edge that leaves the frame, displaced along the edge by an unknown amount: an
        along-edge displacement error larger than this biases the coefficient).
    alpha : float
        False-positive probability per pair (look-elsewhere corrected).
    blur_guess_px, psf_sigma_px : float
        Search blur when no prior gives one; PSF core (sets the correlation length), pixels.
    halo_max_px : float
        Outer radius of the CT1 halo model, pixels (light scattered farther is background).
    max_iter : int
        Gauss-Newton iterations at most.
    min_along_ratio : float
        Along/across gradient-energy ratio of a source region above which the along-edge
        displacement is fitted.
    passes : int
        Ghost templates of the first pass: each source within ``distance_px`` of its edge
        (its own ghosts stay out, but so does its halo); of every further pass: the whole
        source minus its fitted background and ghosts (the ghost of a band carries its halo;
        ghosts of ghosts are not modelled, as in :func:`etalon.straylight.models.add_stray_light`).

    Raises
    ------
    ValueError
        Naming the band: bad images (:func:`etalon.straylight.quantify.check_images`), no
        bright source, no dark region.
    """
    from etalon.straylight.quantify import check_images

    complete = check_images(images, units)
    imgs = {b: np.asarray(im, dtype=float) for b, im in images.items()}
    used = [b for u in complete for b in units[u]]
    shape = next(iter(imgs.values())).shape
    h, w = shape
    regions = {b: find_edge(imgs[b], b, border_px=border_px) for b in used}
    bgs = {}
    for b in used:
        far = regions[b].distance > max(3 * distance_px, 15.0)
        if far.sum() < 100:
            far = ~regions[b].bright
        bgs[b] = _clipped(imgs[b][far])[0]
    pg = (sfft.next_fast_len(2 * h, real=True), sfft.next_fast_len(2 * w, real=True))
    fy = sfft.fftfreq(pg[0])[:, None]
    fx = sfft.rfftfreq(pg[1])[None, :]
    along_ok = {b: regions[b].along_ratio >= min_along_ratio for b in used}
    for b in used:
        if not along_ok[b]:
            log.info("band %s: straight edge (along/across %.3f): the along-edge ghost "
                     "displacement is not measurable", b, regions[b].along_ratio)
    edges = _halo_scales(max(8.0, halo_max_px))
    pr = (sfft.next_fast_len(int(h + edges[-1] + 1), real=True),
          sfft.next_fast_len(int(w + edges[-1] + 1), real=True))
    rings = _halo_spectra(edges, max(8.0, halo_max_px), pr)
    pri = {(g.source, g.victim): g for g in (prior or [])}
    order = {b: i for i, b in enumerate(images)}
    models: dict[str, dict[str, np.ndarray]] = {}
    for _pass in range(max(1, passes)):
        sources = {}
        for b in used:
            if not models:   # first pass: the source within distance_px of its edge
                tpl = np.where(regions[b].distance <= distance_px, imgs[b] - bgs[b], 0.0)
            else:            # then the whole cleaned source: its halo is part of its ghost
                tpl = imgs[b] - models[b]["background"] - models[b]["ghosts"]
            sources[b] = _Source(b, sfft.rfft2(tpl, s=pg), fx, fy, pg, shape, regions[b].normal,
                                 along_ok[b])
        ct1, ct2, regs, resids, chi2, dof = {}, [], {}, {}, {}, {}
        new_models = {}
        for u in complete:
            for v in units[u]:
                srcs = [sources[s] for s in units[u] if s != v]
                res, c1, reg, rsd, mod, x2, nd = _fit_victim(
                    v, imgs[v], regions[v], srcs, pri, distance_px=distance_px,
                    border_px=border_px, search_radius=search_radius_px, alpha=alpha,
                    blur_guess=blur_guess_px, psf_sigma=psf_sigma_px, max_iter=max_iter,
                    ring_spectra=rings, edges=edges, pshape=pr, bg0=bgs[v])
                ct1[v], regs[v], resids[v], new_models[v], chi2[v], dof[v] = c1, reg, rsd, mod, x2, nd
                ct2.extend(res)
        models = new_models
    ct2.sort(key=lambda r: (order[r.victim], order[r.source]))
    return EdgeQuantification(regions, ct1, ct2, regs, resids, models, chi2, dof, float(distance_px))
