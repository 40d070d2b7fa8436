"""Lunar disk extraction: Laplacian-of-Gaussian limb, least-squares disk fit, Moon mask.

``method="laplace"`` (default): the limb is where the Laplacian of the
Gaussian-smoothed image crosses zero with a strong gradient (sub-pixel, by
linear interpolation of the LoG between neighbouring pixels). Only edge points
whose gradient points toward the disk centre are limb points (the terminator
of a crescent has its bright side away from the centre); a robust geometric
least-squares circle fit (Huber loss, then 3-sigma clipping) gives the centre
and radius to a fraction of a pixel, for any phase from crescent to full.

``method="threshold"``: the GSICS operators' mask ``counts >= threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, optimize

__all__ = ["DiskFit", "extract_disk", "fit_circle", "limb_points", "ransac_circle", "threshold_mask"]


@dataclass
class DiskFit:
    """The lunar disk found in an image.

    Attributes
    ----------
    centre_x, centre_y : float
        Disk centre, pixels (0-based; x = column, y = row).
    radius : float
        Disk radius, pixels.
    radius_unc : float
        1-sigma uncertainty of the radius from the fit, pixels.
    moon_mask : numpy.ndarray
        Lit part of the disk and its terminator (bool).
    method : str
        ``"laplace"`` or ``"threshold"``.
    near_edge : bool
        The disk (plus ``edge_margin``) reaches outside the valid image.
    n_limb_points : int
        Limb points used by the fit (0 for the threshold method).
    rms_px : float
        RMS residual of the limb points about the circle, pixels.
    limb_x, limb_y : numpy.ndarray
        The limb points used.
    threshold : float or None
        The DN threshold (threshold method).
    """

    centre_x: float
    centre_y: float
    radius: float
    radius_unc: float
    moon_mask: np.ndarray = field(repr=False)
    method: str = "laplace"
    near_edge: bool = False
    n_limb_points: int = 0
    rms_px: float = float("nan")
    limb_x: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    limb_y: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    threshold: float | None = None


def threshold_mask(counts: np.ndarray, threshold: float, valid: np.ndarray | None = None) -> np.ndarray:
    """The operators' Moon mask: ``counts >= threshold`` on valid pixels."""
    c = np.asarray(counts)
    m = c >= threshold
    return m if valid is None else (m & np.asarray(valid, bool))


def limb_points(image: np.ndarray, sigma: float = 1.5, min_gradient: float | None = None,
                valid: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Sub-pixel edge points: zero crossings of the LoG where the gradient is strong.

    Parameters
    ----------
    image : numpy.ndarray
        Background-free or not (the LoG ignores a constant), invalid pixels filled.
    sigma : float
        Gaussian scale of the LoG, pixels.
    min_gradient : float, optional
        Minimum gradient magnitude (DN/pixel); default 25 % of the 99.9th percentile.
    valid : numpy.ndarray, optional
        Points next to invalid pixels are dropped.

    Returns
    -------
    x, y, gx, gy : numpy.ndarray
        Edge point coordinates (pixels) and the smoothed gradient there (toward brighter).
    """
    img = np.asarray(image, dtype=float)
    log = ndimage.gaussian_laplace(img, sigma)
    gy = ndimage.gaussian_filter(img, sigma, order=(1, 0))
    gx = ndimage.gaussian_filter(img, sigma, order=(0, 1))
    grad = np.hypot(gx, gy)
    if min_gradient is None:
        min_gradient = 0.25 * np.percentile(grad, 99.9)
    ok = np.ones(img.shape, bool) if valid is None else ndimage.binary_erosion(
        np.asarray(valid, bool), iterations=int(np.ceil(3 * sigma)) + 1)
    xs, ys, gxs, gys = [], [], [], []
    for axis in (0, 1):
        a = log[:, :-1] if axis == 1 else log[:-1, :]
        b = log[:, 1:] if axis == 1 else log[1:, :]
        cross = (np.sign(a) != np.sign(b)) & (a != b)
        rows, cols = np.nonzero(cross)
        frac = a[rows, cols] / (a[rows, cols] - b[rows, cols])
        r2, c2 = (rows, cols + 1) if axis == 1 else (rows + 1, cols)
        g = grad[rows, cols] * (1 - frac) + grad[r2, c2] * frac
        keep = (g >= min_gradient) & ok[rows, cols] & ok[r2, c2]
        if axis == 1:
            xs.append(cols[keep] + frac[keep])
            ys.append(rows[keep].astype(float))
        else:
            xs.append(cols[keep].astype(float))
            ys.append(rows[keep] + frac[keep])
        gxs.append(gx[rows, cols][keep])
        gys.append(gy[rows, cols][keep])
    return tuple(np.concatenate(v) for v in (xs, ys, gxs, gys))


def fit_circle(x: np.ndarray, y: np.ndarray, clip: float = 3.0,
               iterations: int = 5) -> tuple[float, float, float, float, np.ndarray]:
    """Robust geometric least-squares circle through points (x, y).

    Algebraic (Kasa) start, then ``scipy.optimize.least_squares`` on the
    radial residuals with a Huber loss, then repeated fits keeping points
    within ``clip`` robust sigmas.

    Returns
    -------
    cx, cy, r, r_unc, used : float, float, float, float, numpy.ndarray
        Centre, radius, 1-sigma radius uncertainty (pixels) and the mask of points used.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 5:
        raise ValueError(f"only {x.size} limb points: cannot fit the disk")
    a = np.column_stack([x, y, np.ones_like(x)])
    sol, *_ = np.linalg.lstsq(a, x**2 + y**2, rcond=None)
    cx, cy = sol[0] / 2, sol[1] / 2
    r = np.sqrt(max(sol[2] + cx**2 + cy**2, 1.0))
    used = np.ones(x.size, bool)
    p = np.array([cx, cy, r])
    res = None
    for _ in range(iterations):
        def resid(q, xx=x[used], yy=y[used]):
            return np.hypot(xx - q[0], yy - q[1]) - q[2]

        res = optimize.least_squares(resid, p, loss="huber", f_scale=0.5)
        p = res.x
        d = np.hypot(x - p[0], y - p[1]) - p[2]
        scale = max(1.4826 * np.median(np.abs(d[used] - np.median(d[used]))), 0.05)
        new = np.abs(d) <= clip * scale
        if new.sum() < 5 or np.array_equal(new, used):
            break
        used = new
    d = np.hypot(x[used] - p[0], y[used] - p[1]) - p[2]
    jac = res.jac
    try:
        cov = np.linalg.inv(jac.T @ jac) * np.var(d, ddof=3) if used.sum() > 3 else np.full((3, 3), np.nan)
        r_unc = float(np.sqrt(cov[2, 2]))
    except np.linalg.LinAlgError:
        r_unc = float("nan")
    return float(p[0]), float(p[1]), float(p[2]), r_unc, used


def ransac_circle(x: np.ndarray, y: np.ndarray, tolerance: float = 0.7, trials: int = 400,
                  max_radius: float = np.inf, seed: int = 0) -> tuple[float, float, float]:
    """The circle through the most points (within ``tolerance`` pixels), from random triples.

    Vectorised RANSAC; deterministic for a given ``seed``. Returns centre x, y and radius.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(trials, 3))
    x1, x2, x3 = x[idx].T
    y1, y2, y3 = y[idx].T
    d = 2 * (x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2))
    with np.errstate(divide="ignore", invalid="ignore"):
        s1, s2, s3 = x1**2 + y1**2, x2**2 + y2**2, x3**2 + y3**2
        ux = (s1 * (y2 - y3) + s2 * (y3 - y1) + s3 * (y1 - y2)) / d
        uy = (s1 * (x3 - x2) + s2 * (x1 - x3) + s3 * (x2 - x1)) / d
        rr = np.hypot(x1 - ux, y1 - uy)
    good = np.isfinite(rr) & (rr > 3.0) & (rr < max_radius)
    if not good.any():
        a = np.column_stack([x, y, np.ones_like(x)])
        sol, *_ = np.linalg.lstsq(a, x**2 + y**2, rcond=None)
        cx, cy = sol[0] / 2, sol[1] / 2
        return float(cx), float(cy), float(np.sqrt(max(sol[2] + cx**2 + cy**2, 1.0)))
    ux, uy, rr = ux[good], uy[good], rr[good]
    res = np.abs(np.hypot(x[None, :] - ux[:, None], y[None, :] - uy[:, None]) - rr[:, None])
    best = int(np.argmax((res < tolerance).sum(axis=1)))
    return float(ux[best]), float(uy[best]), float(rr[best])


def _rough_background(img: np.ndarray, ok: np.ndarray) -> tuple[float, float]:
    v = img[ok]
    med = float(np.median(v))
    mad = max(float(1.4826 * np.median(np.abs(v - med))), 0.5)
    low = v[v < med + 5 * mad]
    noise = float(1.4826 * np.median(np.abs(low - np.median(low))))
    return float(np.mean(low)), max(noise, float(np.std(low)), 0.3)


def extract_disk(image: np.ndarray, method: str = "laplace", *, valid: np.ndarray | None = None,
                 sigma: float = 1.0, min_gradient: float | None = None,
                 threshold: float | None = None, mask_snr: float = 3.0,
                 edge_margin: float = 3.0) -> DiskFit:
    """Find the lunar disk: centre, radius, mask of the lit part and terminator.

    Parameters
    ----------
    image : numpy.ndarray
        Counts (DN) or radiance; NaN or ``~valid`` pixels carry no data.
    method : {"laplace", "threshold"}
        LoG limb + circle fit, or the operators' ``counts >= threshold``.
    valid : numpy.ndarray, optional
        Pixels carrying data.
    sigma : float
        LoG scale, pixels.
    min_gradient : float, optional
        Edge strength threshold (DN/pixel), default automatic.
    threshold : float, optional
        DN threshold for ``method="threshold"`` (required there).
    mask_snr : float
        Laplace mask: smoothed signal above background + ``mask_snr`` x noise.
    edge_margin : float
        Pixels beyond the limb that must lie inside the valid image, else ``near_edge``.
    """
    img = np.asarray(image, dtype=float)
    ok = np.isfinite(img) if valid is None else (np.asarray(valid, bool) & np.isfinite(img))
    if ok.sum() < 25:
        raise ValueError("fewer than 25 valid pixels: no image to extract the Moon from")
    if method == "threshold":
        if threshold is None:
            raise ValueError("method='threshold' needs a threshold (DN)")
        mask = threshold_mask(img, threshold, ok)
        n = int(mask.sum())
        if n == 0:
            return DiskFit(np.nan, np.nan, np.nan, np.nan, mask, "threshold", False, threshold=threshold)
        rows, cols = np.nonzero(mask)
        cx, cy, r = float(cols.mean()), float(rows.mean()), float(np.sqrt(n / np.pi))
        edge = _near_edge(ok, cx, cy, r, edge_margin)
        return DiskFit(cx, cy, r, float("nan"), mask, "threshold", edge, threshold=float(threshold))
    if method != "laplace":
        raise ValueError(f"unknown extraction method {method!r}: use 'laplace' or 'threshold'")
    bg, noise = _rough_background(img, ok)
    filled = np.where(ok, img, bg)
    x, y, gx, gy = limb_points(filled, sigma, min_gradient, ok)
    if x.size < 5:
        raise ValueError("no lunar limb found (no strong edge in the image)")
    # the limb is the largest circular arc among the edge points (RANSAC), the
    # terminator (an ellipse through the cusps) and stray edges are not
    cx, cy, r = ransac_circle(x, y, max_radius=float(max(img.shape)))
    # limb points: on that circle with the gradient toward the centre (a crescent's
    # terminator points away)
    inward = ((cx - x) * gx + (cy - y) * gy) / (np.hypot(cx - x, cy - y) * np.hypot(gx, gy) + 1e-300)
    for tol in (1.5, 1.0, 0.75):
        near = np.abs(np.hypot(x - cx, y - cy) - r) < tol
        limb = near & (inward > 0.5)
        if limb.sum() < 5:
            limb = near
        cx, cy, r, r_unc, used = fit_circle(x[limb], y[limb])
    lx, ly = x[limb][used], y[limb][used]
    yy, xx = np.indices(img.shape)
    rr = np.hypot(xx - cx, yy - cy)
    smooth = ndimage.gaussian_filter(filled, 1.0)
    lit = ok & (rr <= r + 0.5) & (smooth > bg + mask_snr * noise)
    lit = ndimage.binary_fill_holes(lit)
    mask = ndimage.binary_dilation(lit, iterations=2) & (rr <= r + 1.0) & ok
    d = np.hypot(lx - cx, ly - cy) - r
    return DiskFit(cx, cy, r, r_unc, mask, "laplace", _near_edge(ok, cx, cy, r, edge_margin),
                   int(lx.size), float(np.sqrt(np.mean(d**2))), lx, ly)


def _near_edge(ok: np.ndarray, cx: float, cy: float, r: float, margin: float) -> bool:
    h, w = ok.shape
    if cx - r - margin < 0 or cy - r - margin < 0 or cx + r + margin > w - 1 or cy + r + margin > h - 1:
        return True
    yy, xx = np.indices(ok.shape)
    inside = np.hypot(xx - cx, yy - cy) <= r + margin
    return bool(np.any(inside & ~ok))
