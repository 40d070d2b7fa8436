"""Lunar disk extraction: Laplacian-of-Gaussian limb, least-squares disk (ellipse) fit, Moon mask.

``method="laplace"`` (default): the limb is where the Laplacian of the
Gaussian-smoothed image crosses zero with a strong gradient (sub-pixel, by
linear interpolation of the LoG between neighbouring pixels). The disk is an
ellipse, since a pushbroom imager scanning the Moon (VENuS's pitch manoeuvre,
geostationary imagers) stretches it along one axis by the oversampling factor:
the largest elliptical arc among the edge points is found by RANSAC on conics
through 5 points; only edge points on it whose gradient points toward the centre
are limb points (a crescent's terminator has its bright side away from the
centre); a robust geometric least-squares ellipse fit (centre, semi-axes, angle;
Huber loss, then 3-sigma clipping) gives the disk to a fraction of a pixel for
any orientation, axis ratio 1-3, phases from crescent to full.

The distance of a pixel beyond the limb is measured along the ray from the
centre: ``d = r (1 - 1/rho)`` with ``rho = sqrt(u^2/a^2 + v^2/b^2)`` in the
ellipse's axes (pixels; a circle gives ``r - R``), see :meth:`DiskFit.distance`.

``method="threshold"``: the GSICS operators' mask ``counts >= threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, optimize

__all__ = ["DiskFit", "ellipse_distance", "extract_disk", "fit_circle", "fit_ellipse", "limb_points",
           "ransac_circle", "ransac_ellipse", "threshold_mask"]


@dataclass
class DiskFit:
    """The lunar disk found in an image.

    Attributes
    ----------
    centre_x, centre_y : float
        Disk centre, pixels (0-based; x = column, y = row).
    radius : float
        Semi-minor axis, pixels (the radius for a circle).
    radius_unc : float
        1-sigma uncertainty of ``radius`` from the fit, pixels.
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
    semi_major: float = float("nan")
    semi_major_unc: float = float("nan")
    angle_deg: float = 0.0
    axis_ratio_unc: float = float("nan")
    radius_prior: float = float("nan")
    semi_major_fixed: float = float("nan")
    axis_ratio_fixed_unc: float = float("nan")
    ellipse_a: float = float("nan")
    ellipse_b: float = float("nan")

    @property
    def axis_ratio(self) -> float:
        """Semi-major / semi-minor axis of the free ellipse fit (>= 1)."""
        if np.isfinite(self.ellipse_a):
            return float(self.ellipse_a / self.ellipse_b)
        a = self.semi_major if np.isfinite(self.semi_major) else self.radius
        return float(a / self.radius)

    @property
    def axis_ratio_fixed(self) -> float:
        """Along-scan / across-scan semi-axis with the across one held at ``radius_prior``
        (``semi_major_fixed / radius_prior``; < 1 for a squeezed Moon; NaN without a prior)."""
        return float(self.semi_major_fixed / self.radius_prior)

    def ellipse(self) -> tuple[float, float, float, float, float]:
        """The fitted ellipse: (cx, cy, a, b, angle_deg), pixels and degrees."""
        a = self.semi_major if np.isfinite(self.semi_major) else self.radius
        return (self.centre_x, self.centre_y, a, self.radius, self.angle_deg)

    def distance(self, shape: tuple[int, int]) -> np.ndarray:
        """Distance of every pixel beyond the limb along the ray from the centre, pixels."""
        return ellipse_distance_grid(shape, *self.ellipse())


def ellipse_distance(x: np.ndarray, y: np.ndarray, cx: float, cy: float, a: float, b: float,
                     angle_deg: float) -> np.ndarray:
    """``r (1 - 1/rho)``: distance beyond the ellipse along the ray from its centre, pixels.

    ``a`` is the semi-axis along ``angle_deg`` (from +x toward +y), ``b`` the other one.
    Negative inside. Exactly ``r - a`` for a circle.
    """
    t = np.radians(angle_deg)
    dx, dy = np.asarray(x, float) - cx, np.asarray(y, float) - cy
    u = dx * np.cos(t) + dy * np.sin(t)
    v = -dx * np.sin(t) + dy * np.cos(t)
    r = np.hypot(u, v)
    rho = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rho > 0, r * (1.0 - 1.0 / np.where(rho > 0, rho, 1.0)), -np.minimum(a, b))


def ellipse_distance_grid(shape: tuple[int, int], cx: float, cy: float, a: float, b: float,
                          angle_deg: float) -> np.ndarray:
    """:func:`ellipse_distance` of every pixel of an image of ``shape`` (rows, columns), pixels.

    The same arithmetic, value for value, with three image-sized arrays instead of a
    dozen (pixel index grids built by broadcasting, squares and quotients in place): on
    a 2-megapixel frame it is memory traffic, not arithmetic, that costs.
    """
    t = np.radians(angle_deg)
    c, s = np.cos(t), np.sin(t)
    dx = np.arange(shape[1], dtype=float) - cx
    dy = (np.arange(shape[0], dtype=float) - cy)[:, None]
    u = dx * c + dy * s
    v = -dx * s + dy * c
    r = np.hypot(u, v)
    u /= a
    np.multiply(u, u, out=u)
    v /= b
    np.multiply(v, v, out=v)
    u += v
    np.sqrt(u, out=u)                         # rho
    centre = u == 0
    u[centre] = 1.0
    np.divide(1.0, u, out=v)
    np.subtract(1.0, v, out=v)
    r *= v
    r[centre] = -min(a, b)
    return r


def _conic_to_ellipse(c: np.ndarray) -> tuple[np.ndarray, ...]:
    """Centre, semi-axes (a along the angle) and angle of conics A x^2 + B xy + C y^2 + D x + E y + F."""
    A, B, C, D, E, F = c.T
    den = B**2 - 4 * A * C
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (2 * C * D - B * E) / den
        cy = (2 * A * E - B * D) / den
        f0 = A * cx**2 + B * cx * cy + C * cy**2 + D * cx + E * cy + F
        theta = 0.5 * np.arctan2(B, A - C)
        ct, st = np.cos(theta), np.sin(theta)
        la = A * ct**2 + B * ct * st + C * st**2
        lb = A * st**2 - B * ct * st + C * ct**2
        a = np.sqrt(-f0 / la)
        b = np.sqrt(-f0 / lb)
    return cx, cy, a, b, np.degrees(theta), den < 0


def ransac_ellipse(x: np.ndarray, y: np.ndarray, tolerance: float = 0.7, trials: int = 600,
                   max_axis: float = np.inf, max_ratio: float = 3.0,
                   seed: int = 0) -> tuple[float, float, float, float, float]:
    """The ellipse through the most points (within ``tolerance`` pixels), from random 5-tuples.

    Score: points within ``tolerance`` minus twice the points more than ``3 tolerance``
    outside the ellipse (the limb is the outer boundary of the lunar edges).

    Vectorised: each trial's conic is the null vector of its 5 x 6 design matrix (SVD);
    points are scored with :func:`ellipse_distance`. Deterministic for a given ``seed``.

    Returns
    -------
    cx, cy, a, b, angle_deg
        Centre, semi-axis along the angle, the other semi-axis (pixels), angle (degrees).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(trials, 5))
    xs, ys = x[idx], y[idx]
    mx, my = float(x.mean()), float(y.mean())
    scale = float(max(np.std(x), np.std(y), 1.0))
    u, v = (xs - mx) / scale, (ys - my) / scale
    design = np.stack([u * u, u * v, v * v, u, v, np.ones_like(u)], axis=2)
    _, _, vt = np.linalg.svd(design)
    cx, cy, a, b, ang, ell = _conic_to_ellipse(vt[:, -1, :])
    cx, cy, a, b = cx * scale + mx, cy * scale + my, a * scale, b * scale
    good = (ell & np.isfinite(a) & np.isfinite(b) & (np.minimum(a, b) > 3.0)
            & (np.maximum(a, b) < max_axis) & (np.maximum(a, b) / np.minimum(a, b) <= max_ratio))
    if not good.any():
        c = ransac_circle(x, y, tolerance, max_radius=max_axis, seed=seed)
        return c[0], c[1], c[2], c[2], 0.0
    cx, cy, a, b, ang = cx[good], cy[good], a[good], b[good], ang[good]
    best_count, best = -1, 0
    for i in range(0, cx.size, 64):        # chunks keep memory at 64 x n points
        sl = slice(i, i + 64)
        d = ellipse_distance(x[None, :], y[None, :], cx[sl, None], cy[sl, None], a[sl, None],
                             b[sl, None], ang[sl, None])
        # the limb is the outer boundary of every lunar edge (the terminator lies inside
        # the disk): an ellipse with edge points outside it is penalised
        counts = (np.abs(d) < tolerance).sum(axis=1) - 2 * (d > 3 * tolerance).sum(axis=1)
        j = int(np.argmax(counts))
        if counts[j] > best_count:
            best_count, best = int(counts[j]), i + j
    return float(cx[best]), float(cy[best]), float(a[best]), float(b[best]), float(ang[best])


def fit_ellipse(x: np.ndarray, y: np.ndarray, start: tuple[float, float, float, float, float],
                clip: float = 3.0, iterations: int = 5,
                fixed_b: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust geometric least-squares ellipse through points (x, y).

    Residuals :func:`ellipse_distance` (pixels) with a Huber loss, refitted keeping points
    within ``clip`` robust sigmas.

    Parameters
    ----------
    start : (cx, cy, a, b, angle_deg)
        First guess.
    fixed_b : float, optional
        Hold the semi-axis ``b`` (across the stretch) at this value, pixels: the radius
        predicted from the geometry and the pixel solid angle. The fit then only finds the
        centre, ``a`` and the angle, which a partly hidden limb (gibbous Moon: the dark
        limb is invisible) still determines.

    Returns
    -------
    params, cov, used
        ``(cx, cy, a, b, angle_deg)``, its covariance (5 x 5, angle in degrees) and the
        mask of points used.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 6:
        raise ValueError(f"only {x.size} limb points: cannot fit the disk")
    p = np.array(start, float)
    free = [0, 1, 2, 3, 4] if fixed_b is None else [0, 1, 2, 4]
    if fixed_b is not None:
        p[3] = fixed_b
    used = np.ones(x.size, bool)
    res = None
    for _ in range(iterations):
        def resid(q, xx=x[used], yy=y[used]):
            full = p.copy()
            full[free] = q
            return ellipse_distance(xx, yy, full[0], full[1], full[2], full[3], full[4])

        res = optimize.least_squares(resid, p[free], loss="huber", f_scale=0.5, x_scale="jac")
        p[free] = res.x
        d = ellipse_distance(x, y, *p)
        scale = max(1.4826 * np.median(np.abs(d[used] - np.median(d[used]))), 0.05)
        new = np.abs(d) <= clip * scale
        if new.sum() < 6 or np.array_equal(new, used):
            break
        used = new
    d = ellipse_distance(x[used], y[used], *p)
    cov = np.zeros((5, 5))
    try:
        cov[np.ix_(free, free)] = np.linalg.pinv(res.jac.T @ res.jac) * np.var(d, ddof=len(free))
    except np.linalg.LinAlgError:
        cov[:] = np.nan
    if fixed_b is None and p[3] > p[2]:  # keep a as the semi-major axis
        p = np.array([p[0], p[1], p[3], p[2], p[4] + 90.0])
        cov = cov[np.ix_([0, 1, 3, 2, 4], [0, 1, 3, 2, 4])]
    p[4] = (p[4] + 90.0) % 180.0 - 90.0
    return p, cov, used


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
    ok = _eroded(valid, img.shape, int(np.ceil(3 * sigma)) + 1)
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


def _eroded(valid: np.ndarray | None, shape: tuple[int, int], iterations: int) -> np.ndarray:
    """``binary_erosion(valid, iterations=...)``; an all-valid image skips the filter (same result:
    only the frame border, ``iterations`` pixels wide, goes)."""
    if valid is None:
        return np.ones(shape, bool)
    valid = np.asarray(valid, bool)
    if not valid.all():
        return ndimage.binary_erosion(valid, iterations=iterations)
    out = np.zeros(shape, bool)
    if shape[0] > 2 * iterations and shape[1] > 2 * iterations:
        out[iterations:-iterations, iterations:-iterations] = True
    return out


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
                 edge_margin: float = 3.0, max_axis_ratio: float = 3.0,
                 radius_prior: float | None = None, axis_ratio_hint: float = 1.0) -> DiskFit:
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
    max_axis_ratio : float
        Largest semi-major/semi-minor ratio considered (oversampling factor), default 3.
    radius_prior : float, optional
        The disk radius predicted from the geometry and the pixel solid angle, pixels:
        after the free fit (``radius``, ``semi_major``, centre and mask as measured), the
        ellipse is refitted with its cross-stretch semi-axis held there: ``semi_major_fixed``,
        ``axis_ratio_fixed`` (a diagnostic: the LoG limb of a small Moon is biased by up to
        +-1 px by limb brightening, which the free fit's ratio largely cancels).
    axis_ratio_hint : float
        The oversampling factor the file states: 1 (default) tries the robust circle fit
        for the disk first (the free ellipse is still fitted on its limb points, for
        ``axis_ratio``) and keeps it unless its limb residuals exceed 0.5 px rms, its limb
        points span less than 120 degrees or its radius is 10 % off ``radius_prior`` (a
        stretched Moon declared round); anything else goes to the ellipse search.
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
        yy, xx = np.indices(img.shape)
        edge = _near_edge(ok, np.hypot(xx - cx, yy - cy) - r, edge_margin)
        return DiskFit(cx, cy, r, float("nan"), mask, "threshold", edge, threshold=float(threshold))
    if method != "laplace":
        raise ValueError(f"unknown extraction method {method!r}: use 'laplace' or 'threshold'")
    bg, noise = _rough_background(img, ok)
    filled = np.where(ok, img, bg)
    x, y, gx, gy = limb_points(filled, sigma, min_gradient, ok)
    if x.size < 5:
        raise ValueError("no lunar limb found (no strong edge in the image)")
    circle = abs(axis_ratio_hint - 1.0) < 0.01
    if circle:
        # the file says the disk is round: the robust circle fit (4 fewer ways for the
        # terminator of a gibbous Moon to pull the fit), then a free ellipse on its limb
        # points for the oversampling check
        ccx, ccy, cr = ransac_circle(x, y, max_radius=float(max(img.shape)))
        inward = ((ccx - x) * gx + (ccy - y) * gy) / (np.hypot(ccx - x, ccy - y) * np.hypot(gx, gy) + 1e-300)
        for tol in (1.5, 1.0, 0.75):
            near = np.abs(np.hypot(x - ccx, y - ccy) - cr) < tol
            limb = near & (inward > 0.5)
            if limb.sum() < 6:
                limb = near
            ccx, ccy, cr, cr_unc, cused = fit_circle(x[limb], y[limb])
        cres = np.hypot(x[limb][cused] - ccx, y[limb][cused] - ccy) - cr
        # a circle hugging a flat stretch of an elongated limb also has small residuals:
        # it must span >= 120 degrees and agree with the predicted radius (10 %)
        ang_sec = np.unique((np.degrees(np.arctan2(y[limb] - ccy, x[limb] - ccx)) // 10).astype(int))
        circle = bool(np.sqrt(np.mean(cres**2)) <= 0.5 and ang_sec.size >= 12
                      and (radius_prior is None or not np.isfinite(radius_prior)
                           or abs(cr / radius_prior - 1) < 0.1))
    if circle:
        # start the free ellipse from the algebraic conic through the limb points (a circle
        # start is a saddle for the angle)
        p, cov, _ = fit_ellipse(x[limb][cused], y[limb][cused],
                                _algebraic_start(x[limb][cused], y[limb][cused], (ccx, ccy, cr)))
        limb_idx = np.flatnonzero(limb)[cused]
        limb = np.zeros(x.size, bool)
        limb[limb_idx] = True
        used = np.ones(int(limb.sum()), bool)
        return _finish(img, ok, filled, bg, noise, mask_snr, edge_margin, x, y, limb, used, p, cov,
                       radius_prior, circle=(ccx, ccy, cr, cr_unc))
    # the limb is a step blurred by the PSF, the terminator a ramp: keep the sharp edges
    # (gradient x 5 px / contrast across +-5 px above 0.8 x its 90th percentile)
    smooth = ndimage.gaussian_filter(filled, 1.0)
    sharp = _sharp_edges(filled, x, y, gx, gy, smooth=smooth)
    if sharp.sum() >= 20:
        x, y, gx, gy = x[sharp], y[sharp], gx[sharp], gy[sharp]
    # the limb is the largest elliptical arc among the edge points (RANSAC), the
    # terminator (an ellipse through the cusps) and stray edges are not
    start = ransac_ellipse(x, y, max_axis=float(max(img.shape)), max_ratio=max_axis_ratio)
    p = np.array(start, float)
    cov = np.full((5, 5), np.nan)
    sector_ok = np.ones(36, bool)
    for tol in (1.5, 1.0, 0.75, 0.75, 0.75, 0.75):
        d = ellipse_distance(x, y, *p)
        # limb points: on that ellipse with the gradient toward the centre (a crescent's
        # terminator points away)
        inward = (((p[0] - x) * gx + (p[1] - y) * gy)
                  / (np.hypot(p[0] - x, p[1] - y) * np.hypot(gx, gy) + 1e-300))
        near = np.abs(d) < tol
        sector = (np.degrees(np.arctan2(y - p[1], x - p[0])) // 10).astype(int) % 36
        limb = near & (inward > 0.5) & sector_ok[sector]
        if limb.sum() < 6:
            limb = near
        p, cov, used = fit_ellipse(x[limb], y[limb], tuple(p))
        # a gibbous Moon's terminator runs just inside the dark limb: the 10-degree sectors
        # whose points lie inside the fitted limb (median < -0.2 px) are terminator
        d = ellipse_distance(x, y, *p)
        sel = np.abs(d) < 1.5
        med = np.full(36, 0.0)
        for k in np.unique(sector[sel]):
            med[k] = np.median(d[sel & (sector == k)])
        new_ok = med > -0.2
        if new_ok.sum() < 12 or (np.array_equal(new_ok, sector_ok) and tol == 0.75):
            break
        sector_ok = new_ok
    return _finish(img, ok, filled, bg, noise, mask_snr, edge_margin, x, y, limb, used, p, cov,
                   radius_prior, smooth=smooth)


def _algebraic_start(x: np.ndarray, y: np.ndarray,
                     circle: tuple[float, float, float]) -> tuple[float, float, float, float, float]:
    """(cx, cy, a, b, angle) of the least-squares conic through the points, else the circle."""
    mx, my = float(x.mean()), float(y.mean())
    scale = float(max(np.std(x), np.std(y), 1.0))
    u, v = (x - mx) / scale, (y - my) / scale
    _, _, vt = np.linalg.svd(np.column_stack([u * u, u * v, v * v, u, v, np.ones_like(u)]),
                             full_matrices=False)
    cx, cy, a, b, ang, ell = _conic_to_ellipse(vt[-1][None, :])
    cx, cy, a, b = cx * scale + mx, cy * scale + my, a * scale, b * scale
    r = circle[2]
    if bool(ell[0]) and np.all(np.isfinite([cx[0], cy[0], a[0], b[0]])) and 0.5 * r < a[0] < 2 * r \
            and 0.5 * r < b[0] < 2 * r:
        return float(cx[0]), float(cy[0]), float(a[0]), float(b[0]), float(ang[0])
    return circle[0], circle[1], r, r * 1.001, 0.0


def _sharp_edges(image: np.ndarray, x: np.ndarray, y: np.ndarray, gx: np.ndarray, gy: np.ndarray,
                 offset: float = 5.0, fraction: float = 0.8,
                 smooth: np.ndarray | None = None) -> np.ndarray:
    """Edge points whose profile is a blurred step (the limb), not a ramp (a terminator).

    ``q = |grad| * offset / (I(p + offset n) - I(p - offset n))`` on the 1-px smoothed image,
    ``n`` the gradient direction: about 1.5 for a step blurred by a 1-px PSF, 1 or less for
    the terminator's Lommel-Seeliger ramp. Kept: ``q > fraction * percentile_90(q)``.
    ``smooth``: ``gaussian_filter(image, 1.0)`` when the caller has it.
    """
    if smooth is None:
        smooth = ndimage.gaussian_filter(image, 1.0)
    g = np.hypot(gx, gy) + 1e-300
    nx, ny = gx / g, gy / g
    inside = ndimage.map_coordinates(smooth, [y + offset * ny, x + offset * nx], order=1, mode="nearest")
    outside = ndimage.map_coordinates(smooth, [y - offset * ny, x - offset * nx], order=1, mode="nearest")
    contrast = inside - outside
    # real lunar edges have a contrast of a few % of the disk's brightness at least (noise
    # edges in deep space have none, and a huge q)
    bright = np.percentile(smooth, 99.9) - np.median(smooth)
    real = contrast > 0.05 * bright
    q = np.where(real, g * offset / np.where(real, contrast, 1.0), 0.0)
    if real.sum() < 20:
        return real
    return real & (q > fraction * np.percentile(q[real], 90))


def _finish(img, ok, filled, bg, noise, mask_snr, edge_margin, x, y, limb, used, p, cov, radius_prior,
            circle=None, smooth=None) -> DiskFit:
    """DiskFit from the final ellipse (or circle) fit: uncertainties, fixed-b fit, mask."""
    cx, cy, a_ax, b_ax, ang = (float(v) for v in p)
    sa, sb = float(np.sqrt(max(cov[2, 2], 0))), float(np.sqrt(max(cov[3, 3], 0)))
    ratio_unc = float(a_ax / b_ax * np.sqrt(max((cov[2, 2] / a_ax**2 + cov[3, 3] / b_ax**2
                                               - 2 * cov[2, 3] / (a_ax * b_ax)), 0.0)))
    a_fixed = ratio_fixed_unc = float("nan")
    lx, ly = x[limb][used], y[limb][used]
    if radius_prior is not None and np.isfinite(radius_prior) and radius_prior > 0:
        # the semi-axis nearer the prediction is the one across the scan: hold it there and
        # fit the other (along the scan; shorter than the prediction for a squeezed Moon)
        if abs(b_ax / radius_prior - 1) <= abs(a_ax / radius_prior - 1):
            start_fixed = (cx, cy, a_ax * radius_prior / b_ax, radius_prior, ang)
        else:
            start_fixed = (cx, cy, b_ax * radius_prior / a_ax, radius_prior, ang + 90.0)
        pf, covf, _ = fit_ellipse(lx, ly, start_fixed, fixed_b=float(radius_prior))
        if pf[2] >= 0.3 * radius_prior:
            a_fixed = float(pf[2])
            ratio_fixed_unc = float(np.sqrt(max(covf[2, 2], 0)) / radius_prior)
    if circle is not None:           # the mask and the geometry are the circle's
        cx, cy, r, _ = circle
        geom = (cx, cy, r, r, 0.0)
    else:
        geom = (cx, cy, a_ax, b_ax, ang)
    dist = ellipse_distance_grid(img.shape, *geom)
    if smooth is None:
        smooth = ndimage.gaussian_filter(filled, 1.0)
    lit = ok & (dist <= 0.5) & (smooth > bg + mask_snr * noise)
    lit = ndimage.binary_fill_holes(lit)
    mask = ndimage.binary_dilation(lit, iterations=2) & (dist <= 1.0) & ok
    d = ellipse_distance(lx, ly, *geom)
    return DiskFit(geom[0], geom[1], geom[3], sb if circle is None else circle[3], mask, "laplace",
                   _near_edge(ok, dist, edge_margin), int(lx.size), float(np.sqrt(np.mean(d**2))),
                   lx, ly, semi_major=geom[2], semi_major_unc=sa if circle is None else circle[3],
                   angle_deg=geom[4], axis_ratio_unc=ratio_unc,
                   radius_prior=float(radius_prior) if radius_prior else float("nan"),
                   semi_major_fixed=a_fixed, axis_ratio_fixed_unc=ratio_fixed_unc,
                   ellipse_a=a_ax, ellipse_b=b_ax)


def _near_edge(ok: np.ndarray, dist: np.ndarray, margin: float) -> bool:
    """The disk plus ``margin`` pixels (``dist``: distance beyond the limb) leaves the valid image."""
    inside = dist <= margin
    if inside[0].any() or inside[-1].any() or inside[:, 0].any() or inside[:, -1].any():
        return True
    return bool(np.any(inside & ~ok))
