"""Deep-space background, curve of growth and outlier pixels around the lunar disk.

All estimates are means over many pixels (sigma-clipped, never an integer
median), so the deep-space level comes out with sub-DN precision even for
integer counts: read noise dithers the quantisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = [
    "BackgroundEstimate",
    "CurveOfGrowth",
    "OutlierResult",
    "choose_integration_margin",
    "curve_of_growth",
    "deep_space_level",
    "repair_outliers",
]


@dataclass(frozen=True)
class BackgroundEstimate:
    """Deep-space level from pixels far from the disk.

    Attributes
    ----------
    level : float
        Sigma-clipped mean, DN (sub-DN precision).
    std : float
        Pixel-to-pixel standard deviation (robust), DN.
    uncertainty : float
        Standard error of ``level``, DN.
    n_pixels : int
        Pixels used after clipping.
    """

    level: float
    std: float
    uncertainty: float
    n_pixels: int


def deep_space_level(image: np.ndarray, region: np.ndarray, clip_sigma: float = 5.0,
                     iterations: int = 5, min_scale: float = 1.0) -> BackgroundEstimate:
    """Sigma-clipped mean of ``image`` over the boolean ``region`` (deep space).

    Clipping is symmetric about the mean with a robust (MAD) scale, never
    narrower than ``min_scale`` (1 DN: with integer counts and little noise
    the MAD is 0, and clipping at the median value would throw away the
    neighbouring levels that carry the sub-DN information), so the mean of the
    kept pixels stays unbiased for symmetric noise while stars, hot pixels and
    particle hits are rejected.

    Raises
    ------
    ValueError
        When ``region`` holds fewer than 10 pixels.
    """
    values = np.asarray(image, dtype=float)[np.asarray(region, dtype=bool)]
    values = values[np.isfinite(values)]
    if values.size < 10:
        raise ValueError(f"only {values.size} deep-space pixels: cannot estimate the background")
    keep = np.ones(values.size, dtype=bool)
    for _ in range(iterations):
        v = values[keep]
        centre = np.median(v)
        scale = max(1.4826 * np.median(np.abs(v - centre)), min_scale)
        mean = v.mean()
        new = np.abs(values - mean) <= clip_sigma * scale
        if np.array_equal(new, keep):
            break
        keep = new
    v = values[keep]
    std = float(np.std(v, ddof=1))
    return BackgroundEstimate(float(v.mean()), std, std / np.sqrt(v.size), int(v.size))


@dataclass(frozen=True)
class CurveOfGrowth:
    """Background-subtracted flux inside circles of growing radius.

    Attributes
    ----------
    margin : numpy.ndarray
        Distance beyond the fitted limb, pixels (``radius = disk radius + margin``).
    flux : numpy.ndarray
        Sum of (image - background) over valid pixels inside each circle, DN.
    n_pixels : numpy.ndarray
        Valid pixels inside each circle.
    """

    margin: np.ndarray
    flux: np.ndarray
    n_pixels: np.ndarray


def curve_of_growth(image: np.ndarray, centre_xy: tuple[float, float], radius: float,
                    background: float, valid: np.ndarray | None = None,
                    max_margin: float = 30.0, step: float = 1.0,
                    distance: np.ndarray | None = None) -> CurveOfGrowth:
    """Flux (DN, background removed) inside radius + margin for margins 0..max_margin.

    Vectorised: pixels are binned by distance and the bins summed cumulatively.

    Parameters
    ----------
    distance : numpy.ndarray, optional
        Distance of each pixel beyond the limb, pixels (an elliptical disk:
        :meth:`etalon.moon.extraction.DiskFit.distance`); default the circle
        ``hypot(x - cx, y - cy) - radius``.
    """
    img = np.asarray(image, dtype=float)
    ok = np.isfinite(img) if valid is None else (np.asarray(valid, bool) & np.isfinite(img))
    if distance is None:
        yy, xx = np.indices(img.shape)
        dist = np.hypot(xx - centre_xy[0], yy - centre_xy[1]) - radius
    else:
        dist = np.asarray(distance, float)
    margins = np.arange(0.0, max_margin + step / 2, step)
    edges = np.concatenate([[-np.inf], margins])
    sel = ok & (dist <= margins[-1])
    idx = np.searchsorted(edges, dist[sel], side="left") - 1
    idx = np.clip(idx, 0, margins.size - 1)
    flux = np.cumsum(np.bincount(idx, weights=img[sel] - background, minlength=margins.size))
    npx = np.cumsum(np.bincount(idx, minlength=margins.size))
    return CurveOfGrowth(margins, flux, npx)


def choose_integration_margin(cog: CurveOfGrowth, pixel_sigma: float, n_sigma: float = 2.0,
                              safety: float = 2.0) -> float:
    """The smallest margin beyond which the curve of growth stays flat within noise, plus ``safety``.

    Flat means: for every larger margin m', ``|F(m') - F(m)|`` is within
    ``n_sigma`` times the noise of the added pixels (``pixel_sigma *
    sqrt(N(m') - N(m))``), so the PSF wings and the stray-light halo are inside.
    """
    f, n = cog.flux, cog.n_pixels.astype(float)
    for i in range(f.size):
        extra = n[i + 1:] - n[i]
        if extra.size == 0:
            return float(cog.margin[i])
        tol = n_sigma * pixel_sigma * np.sqrt(np.maximum(extra, 1.0))
        if np.all(np.abs(f[i + 1:] - f[i]) <= tol):
            return float(min(cog.margin[i] + safety, cog.margin[-1]))
    return float(cog.margin[-1])


@dataclass(frozen=True)
class OutlierResult:
    """Outlier pixels found and repaired.

    Attributes
    ----------
    image : numpy.ndarray
        Copy of the input with outliers replaced by the median of their neighbours.
    mask : numpy.ndarray
        True where a pixel was an outlier.
    n_high, n_low : int
        Hot (too high) and cold (too low) outliers.
    """

    image: np.ndarray
    mask: np.ndarray
    n_high: int
    n_low: int

    @property
    def count(self) -> int:
        """Total number of outliers."""
        return self.n_high + self.n_low


_RING = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=bool)


def repair_outliers(image: np.ndarray, sigma: np.ndarray | float, valid: np.ndarray | None = None,
                    k: float = 8.0) -> OutlierResult:
    """Find pixels above all 8 neighbours (or below all of them) by more than ``k`` sigma.

    A pixel on a sharp limb or terminator lies between its neighbours and is
    never flagged; a hot pixel, a cold pixel or a single-pixel particle hit is.
    Outliers are replaced by the median of their valid neighbours.

    Parameters
    ----------
    image : numpy.ndarray
        DN.
    sigma : array or float
        Expected noise of each pixel, DN (e.g. ``sqrt(read^2 + signal/gain)``).
    valid : numpy.ndarray, optional
        Pixels that carry data; invalid ones are neither tested nor used.
    k : float
        Detection threshold in sigmas.
    """
    img = np.asarray(image, dtype=float)
    ok = np.isfinite(img) if valid is None else (np.asarray(valid, bool) & np.isfinite(img))
    hi_src = np.where(ok, img, -np.inf)
    lo_src = np.where(ok, img, np.inf)
    nb_max = ndimage.maximum_filter(hi_src, footprint=_RING, mode="constant", cval=-np.inf)
    nb_min = ndimage.minimum_filter(lo_src, footprint=_RING, mode="constant", cval=np.inf)
    sig = np.broadcast_to(np.asarray(sigma, dtype=float), img.shape)
    with np.errstate(invalid="ignore"):
        high = ok & np.isfinite(nb_max) & (img - nb_max > k * sig)
        low = ok & np.isfinite(nb_min) & (nb_min - img > k * sig)
    mask = high | low
    out = img.copy()
    if mask.any():
        med_src = np.where(ok & ~mask, img, np.nan)
        med = ndimage.generic_filter(med_src, np.nanmedian, footprint=_RING, mode="constant",
                                     cval=np.nan) if mask.sum() > 5000 else None
        if med is None:
            rows, cols = np.nonzero(mask)
            padded = np.pad(med_src, 1, constant_values=np.nan)
            windows = np.stack([padded[rows + dr, cols + dc] for dr in range(3) for dc in range(3)
                                if not (dr == 1 and dc == 1)])
            out[rows, cols] = np.nanmedian(windows, axis=0)
        else:
            out[mask] = med[mask]
    return OutlierResult(out, mask, int(high.sum()), int(low.sum()))
