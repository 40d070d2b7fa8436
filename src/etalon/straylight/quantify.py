"""Quantify CT1 and CT2 stray light (or its residual) in a multi-band Moon-in-deep-space scene.

Method (per detector unit, per victim band ``v``; see ``docs/straylight.md``):

1. **Disk**: each band's lunar disk (centre, radius, along-track axis ratio) is fitted on the
   band itself (:func:`find_disk`, sub-pixel limb): bands need not be registered.
2. **Fitting region**: the victim's pixels beyond ``r_factor`` (1.1) disk radii; its own Moon
   is masked, and so are hot/cold pixels (10 sigma from their 3 x 3 median).
3. **Linear base model** of the victim on that region: a background plane (3 terms) and the
   victim's own CT1 halo, modelled non-parametrically as ``sum_j beta_j (K_j ** D_v)`` with
   ``K_j`` normalised rings (radii growing by sqrt 2 from 2 px; the last one falls off as
   ``r**-3`` out to where a disk pixel can still send light into the frame) and ``D_v`` the
   victim's own disk image: ``beta_j`` is the fraction of the band's flux scattered to
   distances in ring j.
4. **CT2 ghost** of each source ``s`` of the unit: ``c_s * T_s(dx, dy, blur)``, the source's
   disk image (within 1.1 R + 4 px of the centre, background removed) shifted and
   Gaussian-blurred in Fourier space. **Search**: the matched filter (least-squares amplitude
   and its signal-to-noise ratio at every integer displacement, by FFT correlation of the
   victim's residual with the template, own Moon masked) inside a window: around the prior
   displacement (``prior``: e.g. the Level-1 parameters) or over the whole frame. Sources are
   taken in order of decreasing peak SNR, each found ghost subtracted before the next search.
5. **Refinement**: Gauss-Newton on all parameters of the victim at once (base, coefficients,
   and the displacement and blur of each ghost whose peak SNR passes the threshold), pixels
   weighted by ``1 / (v0 + k * model)`` (read noise plus shot noise, ``v0`` and ``k`` fitted
   to the squared residuals). Uncertainties: the inverse normal matrix at convergence.
6. **Significance**: a pair is significant when ``|c| / sigma_c`` exceeds the threshold
   ``Phi^-1(1 - alpha / (2 N))`` with ``N`` the number of independent trials of its search
   window (window area / pi (R/4)^2): the look-elsewhere effect of the search. Pairs below
   it keep the linear coefficient at the prior (or best) displacement, compatible with zero.
7. **CT1**: the fraction of the band's total signal (ghosts removed) found beyond ``r_factor``
   disk radii: background and rings refitted with the ghosts fixed (their footprints out),
   the halo model summed over that region plus the residuals near the boundary, over the
   total; its uncertainty the quadratic sum of four named parts (noise, far-halo tail, disk
   edge, ghosts: :class:`CT1Result`); plus the azimuthal radial profile.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy import fft as sfft
from scipy import signal, special

from etalon.straylight.models import CT2Ghost
from etalon.venus.bands import DETECTOR_UNITS

__all__ = [
    "CT1Result",
    "CT2Result",
    "Disk",
    "Quantification",
    "VictimFit",
    "check_images",
    "find_disk",
    "quantify",
]

log = logging.getLogger(__name__)

#: fall-off index of the outermost CT1 halo ring (``r**-3``, the far wing of the project's
#: power-law profile); the tail systematic varies it by +-1
TAIL_INDEX = 3.0
#: uncertainty of the fitted disk edge, pixels (see ``docs/straylight.md``: the limb fit against
#: the true limb of simulated Moons, phases 0-40 deg, radii 20-40 px)
EDGE_UNC_PX = 0.05
#: CT1: residuals (data minus model) within this distance beyond the boundary are added to
#: the halo model's sum (the ring model's misfit of the PSF wing), pixels
NEAR_EDGE_PX = 4.0


@dataclass(frozen=True)
class Disk:
    """A band's lunar disk: centre (x column, y row) and radius along x, pixels.

    ``axis_ratio`` is the semi-axis along y (rows, along track) over the one along x: a
    pushbroom Moon is stretched along track by the oversampling factor. Distances "in disk
    radii" are measured on the ellipse: ``hypot(dx, dy / axis_ratio) / radius``.
    """

    centre_x: float
    centre_y: float
    radius: float
    axis_ratio: float = 1.0

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Elliptical distance from the centre, pixels along x: ``hypot(dx, dy / axis_ratio)``."""
        return np.hypot(x - self.centre_x, (y - self.centre_y) / self.axis_ratio)


@dataclass
class CT1Result:
    """CT1 (or its residual) of one band.

    Attributes
    ----------
    band : str
    fraction, fraction_unc : float
        Fraction of the band's total signal (CT2 ghosts removed) beyond ``r_factor`` disk radii;
        its uncertainty, the quadratic sum of the four components below, dimensionless.
    total : float
        The band's total signal, ghosts and background removed (image units x pixels).
    r_over_radius : numpy.ndarray
        Radial-profile bin centres, disk radii.
    profile, profile_unc : numpy.ndarray
        Azimuthal mean of the cleaned image in each bin over the total signal, 1/pixel.
    ring_px : numpy.ndarray
        Outer radii of the halo rings, pixels.
    ring_fraction, ring_fraction_unc : numpy.ndarray
        Fitted fraction of the band's flux scattered into each ring (the CT1 kernel profile;
        the last ring falls off as ``r**-3`` out to the farthest frame pixel).
    fraction_stat_unc : float
        Statistical part: the fit covariance (noise), dimensionless.
    fraction_tail_unc : float
        Far-halo part: half the change of the fraction when the outermost ring's fall-off
        index is 2 or 4 instead of 3 (0 without the tail ring), dimensionless.
    fraction_edge_unc : float
        Disk-edge part: the fraction beyond the boundary moved by the edge uncertainty
        (``edge_unc_px`` on the radius and each centre coordinate, ``edge_unc_px / R`` on the
        axis ratio; quadratic sum), dimensionless.
    fraction_ghost_unc : float
        Ghost part: the CT1 light of each CT2 source that its ghost carries beyond the ghost
        template (the source's disk within 1.1 R + 4 px), ``sum |c| F_s T_s / T``,
        dimensionless.
    """

    band: str
    fraction: float
    fraction_unc: float
    total: float
    r_over_radius: np.ndarray = field(repr=False)
    profile: np.ndarray = field(repr=False)
    profile_unc: np.ndarray = field(repr=False)
    ring_px: np.ndarray = field(repr=False)
    ring_fraction: np.ndarray = field(repr=False)
    ring_fraction_unc: np.ndarray = field(repr=False)
    fraction_stat_unc: float = math.nan
    fraction_tail_unc: float = math.nan
    fraction_edge_unc: float = math.nan
    fraction_ghost_unc: float = 0.0


@dataclass
class CT2Result:
    """CT2 (or its residual) of one ordered pair.

    Attributes
    ----------
    source, victim : str
    coefficient, coefficient_unc : float
        Ghost flux in the victim / source flux, dimensionless.
    dx, dx_unc, dy, dy_unc : float
        Displacement, victim minus source, pixels (the prior or best position when not refined).
    blur_px, blur_unc : float
        Gaussian blur sigma, pixels.
    snr : float
        ``coefficient / coefficient_unc``.
    threshold : float
        The significance threshold of this pair's search (look-elsewhere corrected).
    significant : bool
    search : str
        ``"prior"`` (window around a given displacement), ``"global"`` (whole frame) or ``"none"``
        (the ghost cannot fall mostly in the fitting region: not measured, values NaN).
    refined : bool
        Displacement and blur were fitted (the search peak passed the threshold).
    noise_factor : float
        Correlated-noise inflation of the matched filter (>= 1; per-column stripes, and the
        whole-frame SNR map's rms): the SNR was divided, the uncertainties multiplied by it.
    """

    source: str
    victim: str
    coefficient: float
    coefficient_unc: float
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
    noise_factor: float = 1.0

    def ghost(self) -> CT2Ghost:
        """The fitted ghost as a :class:`CT2Ghost`."""
        return CT2Ghost(self.source, self.victim, self.coefficient, self.dx, self.dy, self.blur_px)


@dataclass
class VictimFit:
    """The fitted model of one band (as a victim).

    Attributes
    ----------
    band : str
    background : numpy.ndarray
        Fitted plane (same shape as the image), image units.
    ghosts : numpy.ndarray
        Sum of the fitted CT2 ghosts, image units.
    halo : numpy.ndarray
        Fitted own CT1 halo model (zero inside the mask region is not fitted), image units.
    residual : numpy.ndarray
        Image minus everything explained, NaN on the masked own disk, image units.
    chi2 : float
        Sum of weighted squared residuals over the fitting region.
    dof : int
        Pixels minus parameters.
    noise_rms : float
        Read-noise rms (``sqrt(v0)``), image units.
    """

    band: str
    background: np.ndarray = field(repr=False)
    ghosts: np.ndarray = field(repr=False)
    halo: np.ndarray = field(repr=False)
    residual: np.ndarray = field(repr=False)
    chi2: float
    dof: int
    noise_rms: float

    @property
    def reduced_chi2(self) -> float:
        """chi2 / dof."""
        return self.chi2 / max(self.dof, 1)


@dataclass
class Quantification:
    """Everything measured on one acquisition.

    Attributes
    ----------
    disks : dict band -> Disk
    ct1 : dict band -> CT1Result
    ct2 : list of CT2Result
        Every ordered pair inside each detector unit present.
    fits : dict band -> VictimFit
    r_factor : float
    """

    disks: dict[str, Disk]
    ct1: dict[str, CT1Result]
    ct2: list[CT2Result]
    fits: dict[str, VictimFit] = field(repr=False)
    r_factor: float = 1.1

    @property
    def disk(self) -> Disk:
        """The first band's disk."""
        return next(iter(self.disks.values()))

    def pair(self, source: str, victim: str) -> CT2Result:
        """The CT2 result of one ordered pair."""
        for r in self.ct2:
            if r.source == source and r.victim == victim:
                return r
        raise KeyError(f"no CT2 result for {source}->{victim}")

    def cleaned(self, images: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``images`` minus the fitted background and CT2 ghosts (own CT1 kept)."""
        return {b: np.asarray(images[b], float) - f.background - f.ghosts for b, f in self.fits.items()}


# --------------------------------------------------------------------------- checks, disk

def check_images(images: Mapping[str, np.ndarray],
                 units: Mapping[str, Sequence[str]] = DETECTOR_UNITS) -> list[str]:
    """Validate a multi-band scene; return the detector units that are complete.

    Raises
    ------
    ValueError
        Naming the band: not 2-D, shape different from the others, NaN or infinite pixels,
        a detector unit only partly present (missing bands named), or no unit complete.
    """
    if not images:
        raise ValueError("no bands")
    shape = None
    for b, im in images.items():
        a = np.asarray(im)
        if a.ndim != 2 or min(a.shape) < 16:
            raise ValueError(f"band {b}: not a 2-D image of at least 16 x 16 pixels (shape {a.shape})")
        if shape is None:
            shape, first = a.shape, b
        elif a.shape != shape:
            raise ValueError(f"band {b}: shape {a.shape} differs from band {first} {shape}")
        if not np.issubdtype(a.dtype, np.number):
            raise ValueError(f"band {b}: not numeric ({a.dtype})")
        bad = ~np.isfinite(a)
        if bad.any():
            raise ValueError(f"band {b}: {int(bad.sum())} NaN or infinite pixels")
    complete = []
    for unit, bands in units.items():
        have = [x for x in bands if x in images]
        if len(have) == len(bands):
            complete.append(unit)
        elif have:
            missing = [x for x in bands if x not in images]
            raise ValueError(f"detector unit {unit}: bands {missing} missing (have {have})")
    if not complete:
        raise ValueError(f"no complete detector unit among bands {sorted(images)}")
    return complete


def _robust_sigma(a: np.ndarray, clip: float = 4.0) -> tuple[float, float]:
    """Clipped mean and standard deviation (outliers beyond ``clip`` sigma removed, 5 passes).

    Not the median absolute deviation: on quantised images (integer counts over a gain, noise
    below one count) most residuals share one value and the MAD is zero or a count step; the
    median is off by up to half a step. The clipped moments are not.
    """
    a = np.asarray(a, float).ravel()
    lo, hi = np.percentile(a, [2.0, 98.0])
    core = a[(a >= lo) & (a <= hi)]
    m, sd = float(core.mean()), float(core.std())
    for _ in range(5):
        sel = a[np.abs(a - m) < clip * max(sd, 1e-30)]
        if sel.size < 10:
            break
        m_new, sd_new = float(sel.mean()), float(sel.std())
        # a clipped Gaussian's std is low by the truncation factor (0.9935 at 4 sigma)
        sd_new /= math.sqrt(1.0 - 2 * clip * math.exp(-clip**2 / 2) / math.sqrt(2 * math.pi)
                            / math.erf(clip / math.sqrt(2)))
        if abs(m_new - m) <= 1e-6 * max(sd, 1e-30) and abs(sd_new - sd) <= 1e-6 * max(sd, 1e-30):
            m, sd = m_new, sd_new
            break
        m, sd = m_new, sd_new
    return m, max(sd, 1e-30)


def _robust_bg(a: np.ndarray) -> tuple[float, float]:
    """Background level and pixel noise: clipped mean and standard deviation."""
    return _robust_sigma(a)


def find_disk(image: np.ndarray, band: str = "", min_snr: float = 20.0, refine: bool = True) -> Disk:
    """Fit a band's lunar disk (axis-aligned ellipse: pushbroom stretch along rows).

    The Moon is the largest region above 30 % of the bright-disk level (3 x 3 median, then smoothed 1 px); an
    axis-aligned ellipse is fitted (algebraic least squares) to its boundary pixels,
    iteratively keeping only the points not more than 0.6 px inside it: the limb is the outer
    boundary, the terminator lies inside (0.1-0.6 px). ``refine`` (default) then fits the
    sub-pixel limb (:func:`_refine_limb`): ~0.05-0.1 px on simulated 20-40 px Moons, phase
    0-40 deg (the CT1 fraction beyond 1.1 R moves by several % per 0.1 px).

    Raises
    ------
    ValueError
        Naming the band when it has no bright source (smoothed peak below ``min_snr`` times
        its noise), or when no disk is found.
    """
    from scipy import ndimage

    a = np.asarray(image, float)
    bg = float(np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])))
    # pixel-to-pixel noise (robust to the Moon filling the frame), and that of a 5 x 5 mean
    noise = _robust_sigma(np.diff(a, axis=1)[::2])[1] / math.sqrt(2) + 1e-30
    # a 3 x 3 median first: hot pixels (hundreds of DN on a Moon of tens) must not set the level
    sm = ndimage.gaussian_filter(ndimage.median_filter(a, 3) - bg, 1.0)
    peak = float(ndimage.uniform_filter(sm, 5).max())
    if not peak > min_snr * noise / 5.0:
        raise ValueError(f"band {band}: no bright source (smoothed peak {peak:.3g} above the "
                         f"background is below {min_snr:g} x the noise {noise / 5:.3g} of a "
                         "5 x 5 mean)")
    bright = sm[sm > 0.05 * sm.max()]
    mask = sm > 0.3 * np.percentile(bright, 90)
    lab, n = ndimage.label(mask)
    sizes = ndimage.sum(mask, lab, range(1, n + 1))
    mask = ndimage.binary_fill_holes(lab == 1 + int(np.argmax(sizes)))
    edge = mask & ~ndimage.binary_erosion(mask)
    # the limb is sharp (Lommel-Seeliger: brightest at the limb), the terminator is a slow
    # ramp: keep the edge pixels where the 70 % contour is within 2.5 px of the 30 % one
    hi = ndimage.binary_fill_holes(sm > 0.7 * np.percentile(bright, 90))
    if hi.any():
        sharp = edge & (ndimage.distance_transform_edt(~hi) <= 2.5)
        if sharp.sum() >= max(10, 0.15 * edge.sum()):
            edge = sharp
    y, x = (v.astype(float) for v in np.nonzero(edge))
    if x.size < 10:
        raise ValueError(f"band {band}: no lunar disk found (fewer than 10 edge pixels)")
    keep = np.ones(x.size, bool)
    cx = cy = r = q = math.nan
    for _ in range(30):
        xs, ys = x[keep], y[keep]
        A = np.stack([ys**2, xs, ys, np.ones(xs.size)], axis=1)
        c = np.linalg.lstsq(A, -(xs**2), rcond=None)[0]
        if not c[0] > 0:
            raise ValueError(f"band {band}: no lunar disk found (edge is not an ellipse)")
        cx, cy = -c[1] / 2, -c[2] / (2 * c[0])
        r = math.sqrt(max(cx**2 + c[0] * cy**2 - c[3], 0.0))
        q = 1.0 / math.sqrt(c[0])
        new = np.hypot(x - cx, (y - cy) / q) - r > -0.6
        if new.sum() < 10 or (new == keep).all():
            break
        keep = new
    if not (r >= 3):
        raise ValueError(f"band {band}: no lunar disk found")
    if refine:
        ref = _refine_limb(ndimage.gaussian_filter(ndimage.median_filter(a, 3), 1.0), cx, cy, r, q)
        if ref is not None:
            cx, cy, r, q = ref
    return Disk(float(cx), float(cy), float(r), float(q))


def _ellipse_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float] | None:
    """Axis-aligned ellipse ``(x - cx)**2 + ((y - cy) / q)**2 = r**2`` through points (algebraic)."""
    A = np.stack([y**2, x, y, np.ones(x.size)], axis=1)
    c = np.linalg.lstsq(A, -(x**2), rcond=None)[0]
    if not c[0] > 0:
        return None
    cx, cy = -c[1] / 2, -c[2] / (2 * c[0])
    r2 = cx**2 + c[0] * cy**2 - c[3]
    if not r2 > 0:
        return None
    return float(cx), float(cy), math.sqrt(r2), 1.0 / math.sqrt(c[0])


def _refine_limb(a: np.ndarray, cx: float, cy: float, r: float, q: float,
                 n_bins: int = 72) -> tuple[float, float, float, float] | None:
    """Sub-pixel limb: the steepest point of the edge profile in angular sectors.

    ``a`` is the (3 x 3 median filtered) image. In each of ``n_bins`` sectors the profile
    along the elliptical radius (median over the sector's angles: hot pixels do not count) is
    sampled every 0.25 px within 4 px of the coarse edge; the edge is its steepest descent
    (parabola through the peak of the derivative): for a step blurred by a symmetric PSF, the
    edge itself whatever the PSF width, where a contour level would sit outside by a fraction
    of the PSF. The limb is the outer envelope of these edges (the terminator lies inside):
    the ellipse is fitted iteratively to the edges not more than ``max(0.1 px, 3 s)`` inside
    it, ``s`` the sector-to-sector scatter (from differences of neighbouring sectors, which a
    smooth terminator does not inflate). Returns ``(cx, cy, r, q)``, or None when fewer than
    12 sectors qualify (the coarse fit stays).
    """
    from scipy import ndimage

    if r < 6:
        return None
    t = np.arange(-5.0, 5.01, 0.25)
    per = max(8, int(4 * math.pi * r / n_bins))
    fit = (cx, cy, r, q)
    cx0, cy0, r0, q0 = fit
    sc, limb_peak = 0.1, 0.0
    for npass in range(3):
        cx, cy, r, q = fit
        th = 2 * math.pi * (np.arange(n_bins)[:, None] + (np.arange(per)[None, :] + 0.5) / per) / n_bins
        rho = r + t[:, None, None]
        px = cx + rho * np.cos(th)[None]
        py = cy + q * rho * np.sin(th)[None]
        inside = ((px >= 0) & (py >= 0) & (px <= a.shape[1] - 1) & (py <= a.shape[0] - 1)).all(axis=(0, 2))
        vals = ndimage.map_coordinates(a, [py.ravel(), px.ravel()], order=3).reshape(px.shape)
        prof = np.median(vals, axis=2)                       # (t, sector)
        g = -np.gradient(prof, t, axis=0)
        core = np.abs(t) <= 4.0
        gi = np.where(core[:, None], g, -np.inf)
        j = np.argmax(gi, axis=0)
        ok = inside & (j > 0) & (j < t.size - 1)
        jj = np.clip(j, 1, t.size - 2)
        cols = np.arange(n_bins)
        y0, y1, y2 = g[jj - 1, cols], g[jj, cols], g[jj + 1, cols]
        den = y0 - 2 * y1 + y2
        off = np.where(den < 0, 0.5 * (y0 - y2) / np.where(den < 0, den, -1.0), 0.0)
        tedge = t[jj] + np.clip(off, -0.5, 0.5) * 0.25
        # a sharp edge: the peak stands well above the derivative's noise far from the edge
        gnoise = 1.4826 * np.median(np.abs(g[~core] - np.median(g[~core], axis=0)), axis=0)
        ok &= y1 > 5 * gnoise + 1e-30
        if ok.sum() < 12:
            return None
        thc = 2 * math.pi * (cols + 0.5) / n_bins
        # the Sun's side: the dipole of the edge sharpness (the limb is sharper and brighter
        # than the terminator); only the limb within 80 deg of it is fitted (the terminator of
        # a nearly full Moon is an ellipse too: fitted with the limb, it shifts the centre)
        if npass == 0:
            wpk = np.where(ok, y1, 0.0)
            sun = math.atan2(float(np.sum(wpk * np.sin(thc))), float(np.sum(wpk * np.cos(thc))))
            ok &= np.cos(thc - sun) >= math.cos(math.radians(80.0))
        if ok.sum() < 12:
            return None
        x = (cx + (r + tedge) * np.cos(thc))[ok]
        y = (cy + q * (r + tedge) * np.sin(thc))[ok]
        # later passes: every sector, the terminator rejected as lying inside the previous
        # limb fit (``sc``: that limb's sector-to-sector edge scatter), and never taken back
        if npass:
            keep = ((tedge[ok] > -max(0.1, 3 * sc)) & (tedge[ok] < max(0.5, 5 * sc))
                    & (y1[ok] >= 0.5 * limb_peak))
        else:
            keep = np.ones(x.size, bool)
            limb_peak = float(np.median(y1[ok]))
        new_fit = None
        for _ in range(12):
            if keep.sum() < 12:
                return None
            new_fit = _ellipse_fit(x[keep], y[keep])
            if new_fit is None:
                return None
            res = np.hypot(x - new_fit[0], (y - new_fit[1]) / new_fit[3]) - new_fit[2]
            d = np.diff(res[keep])
            sc = 1.4826 * float(np.median(np.abs(d))) / math.sqrt(2) if d.size >= 6 else 0.1
            new = keep & (res > -max(0.1, 3 * sc)) & (res < max(0.5, 5 * sc))
            if (new == keep).all():
                break
            keep = new
        # a refinement, not a new disk: radius within 3 %, axis ratio 5 % of the coarse fit
        if new_fit is None or not (abs(new_fit[2] - r0) < max(1.0, 0.03 * r0)
                                   and abs(new_fit[3] - q0) < 0.05 * q0
                                   and math.hypot(new_fit[0] - cx0, new_fit[1] - cy0) < max(1.5, 0.03 * r0)):
            return None
        fit = new_fit
    return fit


# --------------------------------------------------------------------------- helpers

def _ring_edges(r_max: float, ratio: float = 2.0**0.5) -> np.ndarray:
    edges = [0.0, 2.0]
    while edges[-1] * ratio <= r_max * 1.001:
        edges.append(edges[-1] * ratio)
    if edges[-1] < r_max:
        edges.append(r_max)
    return np.array(edges)


def _ring_spectra(edges: np.ndarray, pshape: tuple[int, int],
                  tail_index: float | None = None) -> list[np.ndarray]:
    """Spectra (padded grid) of the normalised halo rings; the last one ``~ r**-tail_index``."""
    fy = np.minimum(np.arange(pshape[0]), pshape[0] - np.arange(pshape[0]))[:, None]
    fx = np.minimum(np.arange(pshape[1]), pshape[1] - np.arange(pshape[1]))[None, :]
    r = np.hypot(fx, fy)
    out = []
    n = len(edges) - 1
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        ring = ((r >= lo) & (r < hi)).astype(float)
        if tail_index is not None and i == n - 1:
            ring *= (np.clip(r, lo, None) / lo) ** -tail_index
        ring /= ring.sum()
        out.append(sfft.rfft2(ring))
    return out


@dataclass
class _Template:
    box: np.ndarray          # source disk image in its box, background removed
    y0: int
    x0: int
    spec: np.ndarray         # rfft2 of box
    fy: np.ndarray
    fx: np.ndarray
    cx: float = 0.0          # the source's disk centre, frame pixels
    cy: float = 0.0

    @classmethod
    def make(cls, image: np.ndarray, bg: float, disk: Disk) -> _Template:
        h, w = image.shape
        half = math.ceil(1.2 * disk.radius * max(1.0, disk.axis_ratio) + 10)
        cy, cx = round(disk.centre_y), round(disk.centre_x)
        y0, x0 = cy - half, cx - half
        box = np.zeros((2 * half + 1, 2 * half + 1))
        ys, xs = max(y0, 0), max(x0, 0)
        ye, xe = min(y0 + 2 * half + 1, h), min(x0 + 2 * half + 1, w)
        box[ys - y0:ye - y0, xs - x0:xe - x0] = image[ys:ye, xs:xe] - bg
        # only the source's own disk (and its near wings): ghosts that other bands put into
        # the source band beyond 1.1 R + 4 px stay out of its template
        by, bx = np.indices(box.shape)
        box[disk.distance(bx + x0, by + y0) > 1.1 * disk.radius + 4] = 0.0
        n = sfft.next_fast_len(box.shape[0], real=True)
        pad = np.zeros((n, n))
        pad[:box.shape[0], :box.shape[1]] = box
        return cls(pad, y0, x0, sfft.rfft2(pad), sfft.fftfreq(n)[:, None], sfft.rfftfreq(n)[None, :],
                   disk.centre_x, disk.centre_y)

    def render(self, fdx: float, fdy: float, s: float, derivs: bool = False) -> list[np.ndarray]:
        """Box template shifted by a fraction (|f| <= 0.5+) and blurred (s = sigma**2)."""
        k2 = self.fx**2 + self.fy**2
        t = self.spec * np.exp(-2j * np.pi * (self.fx * fdx + self.fy * fdy) - 2.0 * np.pi**2 * s * k2)
        n = self.box.shape
        out = [sfft.irfft2(t, s=n)]
        if derivs:
            out.append(sfft.irfft2(t * (-2j * np.pi * self.fx), s=n))
            out.append(sfft.irfft2(t * (-2j * np.pi * self.fy), s=n))
            out.append(sfft.irfft2(t * (-2.0 * np.pi**2 * k2), s=n))
        return out


def _place(shape: tuple[int, int], y: int, x: int, n: tuple[int, int]):
    """Slices of a frame and of a box of shape n placed with its corner at (y, x)."""
    h, w = shape
    ys, xs, ye, xe = max(y, 0), max(x, 0), min(y + n[0], h), min(x + n[1], w)
    if ye <= ys or xe <= xs:
        return None
    return (slice(ys, ye), slice(xs, xe)), (slice(ys - y, ye - y), slice(xs - x, xe - x))


@dataclass
class _Ghost:
    source: str
    tpl: _Template
    dx: float
    dy: float
    s: float                 # blur sigma**2
    refine: bool
    search: str
    threshold: float
    c: float = 0.0
    dx0: float = 0.0
    dy0: float = 0.0
    s0: float = 0.0
    noise_factor: float = 1.0    # correlated-noise inflation of the matched filter (>= 1)


def _n_trials(n_positions: int, radius: float) -> float:
    return max(1.0, n_positions / (math.pi * (radius / 4.0) ** 2))


def _threshold(alpha: float, n_trials: float) -> float:
    return float(special.ndtri(1.0 - alpha / (2.0 * n_trials)))


# --------------------------------------------------------------------------- one victim

def _fit_victim(victim: str, image: np.ndarray, sources: list[str], templates: dict[str, _Template],
                disk: Disk, prior: Mapping[tuple[str, str], CT2Ghost], *, r_factor: float,
                search_radius: float, alpha: float, blur_guess: float, max_iter: int,
                ring_spectra: list[np.ndarray], edges: np.ndarray, pshape: tuple[int, int],
                bg0: float, plane: bool, tail_alt: Sequence[np.ndarray] = (),
                edge_unc: float = 0.0) -> tuple[list[CT2Result], CT1Result, VictimFit]:
    h, w = image.shape
    yy, xx = np.indices((h, w))
    rr = disk.distance(xx, yy)
    fitmask = rr > r_factor * disk.radius
    # hot / cold pixels out of the fit: > 10 sigma from their 3 x 3 median
    from scipy import ndimage

    far = rr > 1.5 * disk.radius
    noise = _robust_bg(image[far][::3] if far.sum() > 100 else image.ravel())[1]
    fitmask &= np.abs(image - ndimage.median_filter(image, 3)) < 10 * noise
    npix = int(fitmask.sum())
    # --- linear base: plane + own halo rings
    own = np.where(rr <= r_factor * disk.radius, image - bg0, 0.0)
    fown = sfft.rfft2(own, s=pshape)
    halos = []
    for spec in ring_spectra:
        hj = sfft.irfft2(fown * spec, s=pshape)[:h, :w]
        halos.append(hj)
    scale = max(h, w) / 2.0
    base = [np.ones((h, w))]
    if plane:
        base += [(xx - w / 2) / scale, (yy - h / 2) / scale]
    nbg = len(base)
    keep_rings = [j for j, hj in enumerate(halos) if np.abs(hj[fitmask]).sum() > 1e-6 * abs(own.sum())]
    base += [halos[j] for j in keep_rings]
    B = np.stack([b[fitmask] for b in base], axis=1)            # (npix, nb)
    nb = B.shape[1]
    y = image[fitmask]
    # initial base fit, robust (ghosts clipped)
    coef = np.linalg.solve(_reg(B.T @ B), _tv(B, y))
    for _ in range(2):
        res = y - _mv(B, coef)
        mres, sig = _robust_sigma(res)
        good = (np.abs(res - mres) < 4 * sig).astype(float)
        coef = np.linalg.solve(_reg(B.T @ (B * good[:, None])), _tv(B, y * good))
    v0 = float(sig**2)
    resid_img = np.zeros((h, w))
    resid_img[fitmask] = y - _mv(B, coef)
    # --- search each source, strongest first
    ghosts: list[_Ghost] = []
    pending = list(sources)
    # per-column (pushbroom) offsets: their variance, for the matched filter's noise
    col_var = _column_variance(resid_img, fitmask & (rr > 1.5 * disk.radius), v0)
    wmask = fitmask.astype(float)
    while pending:
        best = None
        for s in pending:
            tpl = templates[s]
            g = prior.get((s, victim))
            bl = g.blur_px if g is not None else blur_guess
            t = tpl.render(0.0, 0.0, bl**2)[0]
            found = _search(resid_img * wmask, wmask, t, tpl, g, search_radius, disk, math.sqrt(v0),
                            col_var)
            if found is None:
                continue
            snr, dx, dy, c, ntr, fac = found
            thr = _threshold(alpha, ntr)
            cand = (abs(snr) / thr, s, snr, dx, dy, c, thr, bl, g, fac)
            if best is None or cand[0] > best[0]:
                best = cand
        if best is None:
            break
        _, s, snr, dx, dy, c, thr, bl, g, fac = best
        pending.remove(s)
        refine = abs(snr) >= thr
        if g is None and refine:
            # whole-frame search: a ghost adds light, and a second source's template on top
            # of an accepted ghost is degenerate with it (same lunar shape): not a detection
            gx, gy = templates[s].cx + dx, templates[s].cy + dy
            near = any(math.hypot(gx - (o.tpl.cx + o.dx), gy - (o.tpl.cy + o.dy)) < disk.radius / 2
                       for o in ghosts if o.refine)
            if snr < 0 or near:
                refine = False
        if not refine and g is not None:
            dx, dy = g.dx, g.dy
        gh = _Ghost(s, templates[s], float(dx), float(dy), bl**2, refine,
                    "prior" if g is not None else "global", thr, c,
                    float(g.dx if g is not None else dx), float(g.dy if g is not None else dy),
                    bl**2, fac)
        ghosts.append(gh)
        if refine:   # subtract before searching the next source
            resid_img -= c * _ghost_full((h, w), gh)[0][0]
    for s in pending:   # sources whose template never fits the frame
        log.warning("CT2 %s->%s: the ghost cannot fall mostly inside the fitting region (beyond "
                    "%.2f disk radii, in the frame) in the search window; not measured",
                    s, victim, r_factor)
    # --- Gauss-Newton on everything; ghost columns live on the union of their boxes
    lin_c = np.array([g.c for g in ghosts])
    beta = coef.copy()
    var = np.full(npix, v0)
    k_shot = 0.0
    idx_img = np.full((h, w), -1, dtype=np.int64)
    idx_img[fitmask] = np.arange(npix)
    wv = 1.0 / var
    nbb = B.T @ (B * wv[:, None])
    for it in range(max_iter):
        cols_full = []
        union = np.zeros((h, w), bool)
        for g in ghosts:
            parts, pl = _ghost_full((h, w), g, derivs=g.refine)
            if pl is not None:
                union[pl] = True
            cols_full.append(parts[0])
            if g.refine:
                cols_full.extend(lin_c[ghosts.index(g)] * p for p in parts[1:])
        iu = idx_img[union & fitmask]
        sel = union & fitmask
        G = np.stack([c[sel] for c in cols_full], axis=1) if cols_full else np.zeros((iu.size, 0))
        ghost_u = sum(lin_c[gi] * G[:, _col_of(ghosts, gi)] for gi in range(len(ghosts))) \
            if ghosts else np.zeros(iu.size)
        r = y - _mv(B, beta)
        r[iu] -= ghost_u
        if it == 1:
            sigm = np.clip(_mv(B[:, nbg:], beta[nbg:]), 0.0, None)
            sigm[iu] += np.clip(ghost_u, 0.0, None)
            v0, k_shot = _noise_model(r, sigm, v0)
            var = v0 + k_shot * sigm
            wv = 1.0 / var
            nbb = B.T @ (B * wv[:, None])
        wu = wv[iu]
        n_bg = B[iu].T @ (G * wu[:, None])
        ngg = G.T @ (G * wu[:, None])
        N = np.block([[nbb, n_bg], [n_bg.T, ngg]])
        rhs = np.concatenate([_tv(B, r * wv), G.T @ (r[iu] * wu)])
        dvec = np.linalg.solve(_reg(N), rhs)
        beta = beta + dvec[:nb]
        pos = nb
        step_nl = 0.0
        for gi, g in enumerate(ghosts):
            lin_c[gi] += dvec[pos]
            pos += 1
            if g.refine:
                ddx, ddy, dss = np.clip(dvec[pos:pos + 3], [-2, -2, -4], [2, 2, 4])
                g.dx += ddx
                g.dy += ddy
                g.s = max(g.s + dss, 0.0)
                step_nl = max(step_nl, abs(ddx), abs(ddy))
                pos += 3
        if it >= 2:
            # a ghost the joint fit does not confirm keeps its search position (not refined)
            demote = False
            for gi, g in enumerate(ghosts):
                if g.refine:
                    k = nb + _col_of(ghosts, gi)
                    cu = g.noise_factor * math.sqrt(max(np.linalg.inv(_reg(N))[k, k], 0.0))
                    drift = math.hypot(g.dx - g.dx0, g.dy - g.dy0)
                    tfull = cols_full[_col_of(ghosts, gi)]
                    inside = float(np.sum(tfull[fitmask] ** 2)) / max(float(np.sum(tfull**2)), 1e-300)
                    if (abs(lin_c[gi]) < 0.5 * g.threshold * cu or drift > search_radius + 1
                            or inside < 0.5 or (g.search == "global" and lin_c[gi] < 0)):
                        g.refine, g.dx, g.dy, g.s, demote = False, g.dx0, g.dy0, g.s0, True
            if step_nl < 1e-2 and not demote:
                break
    cov = np.linalg.inv(_reg(N))
    # final model with final parameters
    ghost_img = np.zeros((h, w))
    results = []
    pos = nb
    for gi, g in enumerate(ghosts):
        full = _ghost_full((h, w), g)[0][0]
        ghost_img += lin_c[gi] * full
        cu = g.noise_factor * math.sqrt(max(cov[pos, pos], 0.0))
        if g.refine:
            dxu, dyu, su = (g.noise_factor * math.sqrt(max(cov[pos + k, pos + k], 0.0))
                            for k in (1, 2, 3))
            blur = math.sqrt(g.s)
            blur_u = su / (2 * blur) if blur > 0 else math.sqrt(su)
            pos += 4
        else:
            dxu = dyu = blur_u = math.nan
            blur = math.sqrt(g.s)
            pos += 1
        snr = lin_c[gi] / cu if cu > 0 else 0.0
        results.append(CT2Result(g.source, victim, float(lin_c[gi]), cu, float(g.dx), dxu,
                                 float(g.dy), dyu, blur, blur_u, float(snr), g.threshold,
                                 bool(g.refine and abs(snr) >= g.threshold), g.search, g.refine,
                                 float(g.noise_factor)))
    nan = math.nan
    for s in pending:
        results.append(CT2Result(s, victim, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan,
                                 False, "none", False))
    bg_img = sum(beta[k] * base[k] for k in range(nbg))
    halo_img = (sum(beta[nbg + i] * base[nbg + i] for i in range(len(keep_rings)))
                if keep_rings else 0 * bg_img)
    final_model = bg_img[fitmask] + halo_img[fitmask] + ghost_img[fitmask]
    r = y - final_model
    chi2 = float(np.sum(r**2 / var))
    residual = np.full((h, w), np.nan)
    residual[fitmask] = r
    fitres = VictimFit(victim, bg_img, ghost_img, np.asarray(halo_img), residual, chi2,
                       npix - N.shape[0], math.sqrt(v0))
    # --- CT1: a linear refit of background and halo rings with the ghosts fixed, on the
    # fitting region minus the ghosts' footprints (|ghost| > 0.3 noise rms): a ghost's model
    # error (shape, blur, a halo of its own) otherwise leaks into the flexible outer rings.
    yg = y - ghost_img[fitmask]
    keep = np.abs(ghost_img[fitmask]) <= 0.3 * math.sqrt(v0)
    if keep.sum() < max(10 * nb, 100):
        keep = np.ones(npix, bool)
    Bk, wk = B[keep], 1.0 / var[keep]
    cov1 = np.linalg.inv(_reg(Bk.T @ (Bk * wk[:, None])))
    beta1 = cov1 @ _tv(Bk, yg[keep] * wk)
    bg1 = sum(beta1[k] * base[k] for k in range(nbg))
    halo1 = (sum(beta1[nbg + i] * base[nbg + i] for i in range(len(keep_rings)))
             if keep_rings else 0 * bg1)
    total = float(np.sum(image - bg1 - ghost_img))
    gvec = np.zeros(nb)
    for i in range(len(keep_rings)):
        gvec[nbg + i] = base[nbg + i][fitmask].sum()
    cleaned = image - bg1 - ghost_img
    # the light beyond the boundary: the halo model's sum, plus the residuals within
    # NEAR_EDGE_PX of the boundary (there the rings miss the PSF wing by ~2 %: a model sum
    # alone is biased; farther out the residuals are other light, not this band's CT1).
    # Variance: the model part's plus the residual sum's (uncorrelated in least squares):
    # g' C g + sum_S(var) - u_S' C u_S, u_S the design's column sums over the near pixels S.
    region = rr > r_factor * disk.radius
    near = (rr <= r_factor * disk.radius + NEAR_EDGE_PX)[fitmask] & keep
    r1 = yg - _mv(B, beta1)
    out_sum = float(np.sum(np.asarray(halo1)[region])) + float(np.sum(r1[near]))
    frac = out_sum / total
    u = B[near].sum(axis=0)
    var_num = float(gvec @ cov1 @ gvec) + float(np.sum(var[near])) - float(u @ cov1 @ u)
    frac_stat = math.sqrt(max(var_num, float(gvec @ cov1 @ gvec), 0.0)) / abs(total)
    # far-halo (tail) systematic: the outermost ring's fall-off index +-1, linear refit
    frac_tail = 0.0
    last = len(edges) - 2
    if len(tail_alt) == 2 and last in keep_rings:
        col = nbg + keep_rings.index(last)
        alt = []
        for spec in tail_alt:
            h_alt = sfft.irfft2(fown * spec, s=pshape)[:h, :w]
            Ba = B.copy()
            Ba[:, col] = h_alt[fitmask]
            ba = np.linalg.solve(_reg(Ba[keep].T @ (Ba[keep] * wk[:, None])), _tv(Ba[keep], yg[keep] * wk))
            bg_a = sum(ba[k] * base[k] for k in range(nbg))
            h_full = sum(ba[nbg + i] * (h_alt if nbg + i == col else base[nbg + i])
                         for i in range(len(keep_rings)))
            out_a = float(np.sum(h_full[region])) + float(np.sum((yg - _mv(Ba, ba))[near]))
            alt.append(out_a / float(np.sum(image - bg_a - ghost_img)))
        frac_tail = abs(alt[1] - alt[0]) / 2.0
    # disk-edge systematic: the fraction beyond the boundary of the disk moved by the edge
    # uncertainty (radius, centre x, centre y; axis ratio by edge / R), direct sums
    frac_edge = 0.0
    if edge_unc > 0:
        def beyond(d: Disk) -> float:
            return float(cleaned[d.distance(xx, yy) > r_factor * d.radius].sum()) / total

        e = edge_unc
        for dp in ({"radius": e}, {"centre_x": e}, {"centre_y": e}, {"axis_ratio": e / disk.radius}):
            (k, v), = dp.items()
            fp = beyond(dataclasses.replace(disk, **{k: getattr(disk, k) + v}))
            fm = beyond(dataclasses.replace(disk, **{k: getattr(disk, k) - v}))
            frac_edge += ((fp - fm) / 2.0) ** 2
        frac_edge = math.sqrt(frac_edge)
    frac_u = math.sqrt(frac_stat**2 + frac_tail**2 + frac_edge**2)
    ring_f = np.full(len(edges) - 1, np.nan)
    ring_u = np.full(len(edges) - 1, np.nan)
    for i, j in enumerate(keep_rings):
        ring_f[j] = beta1[nbg + i]
        ring_u[j] = math.sqrt(max(cov1[nbg + i, nbg + i], 0.0))
    rb = np.unique(np.concatenate([np.linspace(1.0, 1.5, 6),
                                   np.geomspace(1.5, max(rr.max() / disk.radius, 1.6), 12)]))
    prof, prof_u, cen = [], [], []
    full_var = v0 + k_shot * np.clip(cleaned, 0, None)
    for lo, hi in itertools.pairwise(rb):
        sel = (rr >= lo * disk.radius) & (rr < hi * disk.radius)
        n = int(sel.sum())
        if n == 0:
            continue
        cen.append(0.5 * (lo + hi))
        prof.append(float(cleaned[sel].mean()) / total)
        prof_u.append(math.sqrt(float(full_var[sel].sum())) / n / abs(total))
    ct1 = CT1Result(victim, float(frac), float(frac_u), total, np.array(cen), np.array(prof),
                    np.array(prof_u), edges[1:].copy(), ring_f, ring_u, float(frac_stat),
                    float(frac_tail), float(frac_edge))
    return results, ct1, fitres


def _column_variance(resid: np.ndarray, mask: np.ndarray, v0: float, min_rows: int = 10) -> float:
    """Variance of per-column offsets in a residual image (pushbroom stripes), image units**2.

    Column means ``m_c`` of ``resid`` over ``mask`` (columns with at least ``min_rows``
    pixels); their second differences ``m_(c-1) - 2 m_c + m_(c+1)`` (independent column
    offsets: variance ``6 s**2`` plus the white part ``v0 (1/n_(c-1) + 4/n_c + 1/n_(c+1))``;
    smooth structure, a CT1 halo or a ghost not yet fitted, cancels) have their clipped
    variance (a ghost's limb or a hot column is an outlier) turned into ``s**2``; 0 when not
    positive or fewer than 20 column triplets.
    """
    n = mask.sum(axis=0).astype(float)
    valid = n >= min_rows
    m = np.sum(np.where(mask, resid, 0.0), axis=0) / np.where(valid, n, 1.0)
    ok = valid[:-2] & valid[1:-1] & valid[2:]
    if ok.sum() < 20:
        return 0.0
    d2 = (m[:-2] - 2 * m[1:-1] + m[2:])[ok]
    white = v0 * (1 / n[:-2] + 4 / n[1:-1] + 1 / n[2:])[ok]
    return max((_robust_sigma(d2, clip=3.0)[1] ** 2 - float(np.mean(white))) / 6.0, 0.0)


def _noise_model(r: np.ndarray, sigm: np.ndarray, v_init: float) -> tuple[float, float]:
    """Read plus shot noise ``var = v0 + k * signal`` fitted to squared residuals.

    Weighted least squares on ``r**2`` (its variance is ``2 var**2``: weights ``1 / var**2``,
    three passes), residuals beyond 5 sigma out. ``v0`` is bounded below by half the clipped
    variance of the faint half of the pixels: an unweighted fit lets the few bright pixels near
    the limb drive ``v0`` negative (then the faint pixels get infinite weight).
    """
    faint = sigm <= np.percentile(sigm, 50)
    v_faint = _robust_sigma(r[faint])[1] ** 2 if faint.sum() >= 10 else v_init
    v0, k = max(v_faint, 1e-30), 0.0
    A = np.stack([np.ones(r.size), sigm], axis=1)
    for _ in range(3):
        var = v0 + k * sigm
        ok = r**2 < 25.0 * var
        w = ok / var**2
        sol = np.linalg.lstsq(A * np.sqrt(w)[:, None], r**2 * np.sqrt(w), rcond=None)[0]
        v0 = max(float(sol[0]), 0.5 * v_faint, 1e-30)
        k = max(float(sol[1]), 0.0)
    return v0, k


def _mv(B: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``B @ x`` without BLAS threads (tall-skinny: threads only contend on a busy machine)."""
    return np.einsum("ij,j->i", B, x)


def _tv(B: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``B.T @ x`` without BLAS threads."""
    return np.einsum("ij,i->j", B, x)


def _col_of(ghosts: list[_Ghost], gi: int) -> int:
    return sum(4 if g.refine else 1 for g in ghosts[:gi])


def _reg(N: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.clip(np.diag(N), 1e-300, None))
    Nn = N / d[:, None] / d[None, :]
    Nn = Nn + 1e-12 * np.eye(N.shape[0])
    return Nn * d[:, None] * d[None, :]


def _ghost_full(shape: tuple[int, int], g: _Ghost, derivs: bool = False):
    """The ghost template (and derivatives wrt dx, dy, s) on the full frame, coefficient 1.

    Returns the list of full-frame arrays and the frame slices the box covers (or None).
    """
    ix, iy = round(g.dx), round(g.dy)
    parts = g.tpl.render(g.dx - ix, g.dy - iy, g.s, derivs)
    out = []
    pl = _place(shape, g.tpl.y0 + iy, g.tpl.x0 + ix, parts[0].shape)
    for p in parts:
        full = np.zeros(shape)
        if pl is not None:
            full[pl[0]] = p[pl[1]]
        out.append(full)
    return out, (pl[0] if pl is not None else None)


def _search(resid: np.ndarray, wmask: np.ndarray, t: np.ndarray, tpl: _Template,
            prior: CT2Ghost | None, search_radius: float, disk: Disk, sigma: float,
            col_var: float = 0.0):
    """Matched-filter peak: (snr, dx, dy, c, n_trials, noise_factor) or None.

    The signal-to-noise map assumes white noise of rms ``sigma``. Correlated noise adds to it
    (``noise_factor`` >= 1 divides the SNR and multiplies the coefficient's uncertainty):

    - per-column offsets of variance ``col_var`` (pushbroom dark / equalisation residuals,
      measured on the victim by :func:`_column_variance`), which a disk template integrates
      coherently along its columns: ``factor**2 = 1 + col_var / sigma**2 * sum_c (sum_y
      t)**2 / sum t**2``; in every search, whole frame or prior window;
    - in a whole-frame search also the empirical rms of the SNR map away from its strongest
      peak (clipped: a real ghost is a few correlation areas), when larger: its look-elsewhere
      tail (near a prior, ghosts of other sources not yet subtracted would inflate that rms).
    """
    h, w = resid.shape
    bh, bw = t.shape
    P = np.zeros((h + 2 * bh, w + 2 * bw))
    P[bh:bh + h, bw:bw + w] = resid
    M = np.zeros_like(P)
    M[bh:bh + h, bw:bw + w] = wmask
    # output index (u, v) <-> box corner at frame (u - bh, v - bw) <-> d = corner - (y0, x0)
    off_u = off_v = 0
    tf = t[::-1, ::-1]
    num = signal.fftconvolve(P, tf, mode="valid")
    den = signal.fftconvolve(M, tf**2, mode="valid")
    total = float((t**2).sum())
    # a ghost must fall mostly in the fitting region: half of the template's energy near a
    # prior displacement, 80 % over the whole frame (at the frame edges a partial template
    # meets few pixels and their correlated noise: the look-elsewhere tail is heavier there)
    ok = den > (0.5 if prior is not None else 0.8) * total
    if not ok.any():
        return None
    snr_map = np.where(ok, num / (sigma * np.sqrt(np.where(ok, den, 1.0))), 0.0)
    # the noise factor away from the strongest peak (a real ghost's correlation footprint
    # spans about two radii around it)
    pu, pv = np.unravel_index(int(np.argmax(np.abs(snr_map))), snr_map.shape)
    uu, vv = np.indices(snr_map.shape)
    far = ok & (np.hypot(vv - pv, (uu - pu) / max(disk.axis_ratio, 1e-3)) > 2.0 * disk.radius)
    colsum = t.sum(axis=0)
    factor = math.sqrt(1.0 + col_var / sigma**2 * float(np.sum(colsum**2)) / max(total, 1e-300))
    if prior is None and far.sum() >= 50:
        m_all, sd_all = _robust_sigma(snr_map[far], clip=3.0)
        factor = max(factor, math.sqrt(sd_all**2 + m_all**2))
    if prior is not None:
        ddy = uu + off_u - bh - tpl.y0 - prior.dy
        ddx = vv + off_v - bw - tpl.x0 - prior.dx
        ok &= np.hypot(ddx, ddy) <= search_radius
    if not ok.any():
        return None
    snr = np.where(ok, num / (factor * sigma * np.sqrt(np.where(ok, den, 1.0))), 0.0)
    k = int(np.argmax(np.abs(snr)))
    iu, iv = np.unravel_index(k, snr.shape)
    dy = iu + off_u - bh - tpl.y0
    dx = iv + off_v - bw - tpl.x0
    c = float(num[iu, iv] / den[iu, iv])
    return (float(snr[iu, iv]), float(dx), float(dy), c, _n_trials(int(ok.sum()), disk.radius),
            factor)


# --------------------------------------------------------------------------- acquisition

def quantify(images: Mapping[str, np.ndarray], *, prior: Sequence[CT2Ghost] | None = None,
             search_radius_px: float = 20.0, units: Mapping[str, Sequence[str]] = DETECTOR_UNITS,
             disk: Disk | Mapping[str, Disk] | None = None, r_factor: float = 1.1,
             alpha: float = 1e-3,
             blur_guess_px: float = 1.5, max_iter: int = 10, halo_max_px: float | None = None,
             background_plane: bool = False, destripe: bool = False,
             workers: int = 1, halo_tail: bool = True,
             edge_unc_px: float = EDGE_UNC_PX) -> Quantification:
    """Measure CT1 fractions and CT2 coefficients of a registered multi-band Moon scene.

    Parameters
    ----------
    images : mapping band -> 2-D array
        Radiance (or DN) per band, any linear unit, all the same shape; deep-space background
        allowed (fitted).
    prior : sequence of CT2Ghost, optional
        Expected displacements (and blurs), e.g. the Level-1 parameters: each pair listed is
        searched within ``search_radius_px`` of its displacement; pairs not listed are searched
        over the whole frame.
    search_radius_px : float
        Radius of the search window around a prior displacement, pixels.
    units : mapping unit -> bands
        Detector units (default VENuS); CT2 is measured for every ordered pair inside a unit.
    disk : Disk or mapping band -> Disk, optional
        The lunar disk (one for every band, or one per band); default: fitted on each band
        by :func:`find_disk` (bands need not be registered: each band's Moon may sit at its
        own place; CT2 displacements are in frame pixels, ghost minus source Moon position).
    r_factor : float
        The own disk is masked and CT1 measured beyond ``r_factor`` disk radii.
    alpha : float
        False-positive probability per pair of the significance test (look-elsewhere corrected).
    blur_guess_px : float
        Blur used by the search when no prior gives one, pixels.
    max_iter : int
        Gauss-Newton iterations at most.
    halo_max_px : float, optional
        Outer radius of the CT1 halo rings, pixels (default: 4 disk radii or the distance from
        the disk centre to the nearest frame edge, whichever is smaller). With ``halo_tail``
        the last ring continues beyond (``r**-3``); without, light scattered farther is
        fitted as background.
    background_plane : bool
        Fit a background plane (3 terms) instead of a constant (a plane is partly degenerate
        with a wide halo: larger CT1 uncertainties).
    destripe : bool
        Remove a per-column offset first (pushbroom: each column is a detector pixel with its
        own dark / equalisation error), the median of the column's pixels beyond 1.5 disk
        radii. It also removes the part of a CT1 halo beyond 1.5 radii: CT1 fractions are then
        lower limits.
    workers : int
        Victim bands fitted in parallel threads (1: sequential).
    halo_tail : bool
        Continue the outermost halo ring to the farthest frame pixel with an ``r**-3``
        fall-off (default). False: the halo model stops at ``halo_max_px``, light scattered
        farther is fitted as background (CT1 fractions biased low for wide halos).
    edge_unc_px : float
        Uncertainty of the disk edge, pixels (radius and centre; ``edge_unc_px / R`` on the
        axis ratio), propagated into the CT1 fraction (``CT1Result.fraction_edge_unc``).

    Raises
    ------
    ValueError
        Naming the band, for the problems :func:`check_images` and :func:`find_disk` detect.
    """
    complete = check_images(images, units)
    imgs = {b: np.asarray(im, dtype=float) for b, im in images.items()}
    used = [b for u in complete for b in units[u]]
    if disk is None:
        disks = {b: find_disk(imgs[b], b) for b in used}
    elif isinstance(disk, Disk):
        disks = {b: disk for b in used}
    else:
        disks = {b: disk[b] for b in used}
    shape = next(iter(imgs.values())).shape
    pri = {(g.source, g.victim): g for g in (prior or [])}
    yy, xx = np.indices(shape)
    bgs = {}
    for b in used:
        far = disks[b].distance(xx, yy) > 1.5 * disks[b].radius
        bgs[b] = _robust_bg(imgs[b][far][::3] if far.sum() >= 100 else imgs[b].ravel())[0]
    if destripe:
        for b in used:
            far = disks[b].distance(xx, yy) > 1.5 * disks[b].radius
            cnt = far.sum(axis=0)
            vals = np.where(far, imgs[b], np.nan)
            with np.errstate(all="ignore"):
                col = np.where(cnt >= 10, np.nanmedian(np.where(cnt >= 10, vals, 0.0), axis=0), np.nan)
            col = np.where(np.isfinite(col), col, bgs[b])
            imgs[b] = imgs[b] - col[None, :]
            bgs[b] = 0.0
        log.info("per-column offsets removed (destripe)")
    templates = {b: _Template.make(imgs[b], bgs[b], disks[b]) for b in used}
    room = min(min(d.centre_x, d.centre_y, shape[1] - d.centre_x, shape[0] - d.centre_y)
               for d in disks.values())
    rmin = min(d.radius for d in disks.values())
    edges = _ring_edges(halo_max_px or max(8.0, min(4.0 * rmin, room)))
    tail_alt: list[np.ndarray] = []
    if halo_tail:
        # the outermost ring continues, falling off as r**-3, as far as any disk pixel can
        # send light into the frame (the far halo: a truncated ring leaves it to the
        # background, biasing CT1 low)
        r_far = max(math.hypot(max(d.centre_x, shape[1] - d.centre_x), max(d.centre_y, shape[0] - d.centre_y))
                    + r_factor * d.radius * max(1.0, d.axis_ratio) for d in disks.values())
        edges[-1] = max(edges[-1], r_far + 1.0)
    pshape = (sfft.next_fast_len(int(shape[0] + edges[-1] + 1), real=True),
              sfft.next_fast_len(int(shape[1] + edges[-1] + 1), real=True))
    rings = _ring_spectra(edges, pshape, TAIL_INDEX if halo_tail else None)
    if halo_tail:
        tail_alt = [_ring_spectra(edges[-2:], pshape, TAIL_INDEX + d)[0] for d in (-1.0, 1.0)]
    jobs = []
    for u in complete:
        for v in units[u]:
            jobs.append((v, [s for s in units[u] if s != v]))

    def run(job):
        v, srcs = job
        return _fit_victim(v, imgs[v], srcs, templates, disks[v], pri, r_factor=r_factor,
                           search_radius=search_radius_px, alpha=alpha, blur_guess=blur_guess_px,
                           max_iter=max_iter, ring_spectra=rings, edges=edges, pshape=pshape,
                           bg0=bgs[v], plane=background_plane, tail_alt=tail_alt,
                           edge_unc=edge_unc_px)

    if workers > 1:
        with ThreadPoolExecutor(workers) as ex:
            outs = list(ex.map(run, jobs))
    else:
        outs = [run(j) for j in jobs]
    ct1, ct2, fits = {}, [], {}
    order = {b: i for i, b in enumerate(images)}
    for (v, _), (res, c1, fit) in zip(jobs, outs, strict=True):
        ct1[v] = c1
        fits[v] = fit
        ct2.extend(res)
    _add_ghost_term(ct1, ct2)
    ct2.sort(key=lambda r: (order[r.victim], order[r.source]))
    return Quantification(disks, ct1, ct2, fits, r_factor)


def _add_ghost_term(ct1: dict[str, CT1Result], ct2: Sequence[CT2Result]) -> None:
    """Add the ghost term to each victim's CT1 uncertainty (in place).

    A ghost template is the source's disk within 1.1 R + 4 px: the ghost of the source's
    own CT1 light beyond (``|c| F_s T_s``, ``F_s`` and ``T_s`` the source's CT1 fraction and
    total) is not subtracted; landing around the ghost, the victim's halo rings and
    background take it up, in part or (on simulated scenes) about twice over. Its size over
    the victim's total, summed over the victim's sources, is the term.
    """
    for v, res in ct1.items():
        term = 0.0
        for r in ct2:
            src = ct1.get(r.source)
            if r.victim != v or src is None or not math.isfinite(r.coefficient):
                continue
            term += abs(r.coefficient) * max(src.fraction, 0.0) * src.total / abs(res.total)
        res.fraction_ghost_unc = float(term)
        res.fraction_unc = float(math.sqrt(res.fraction_unc**2 + term**2))
