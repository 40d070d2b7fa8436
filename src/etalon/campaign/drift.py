"""Drift fits: weighted least squares, robust outlier rejection, linear or exponential trend.

Everything is fitted in ``ln(y)`` with ``sigma = y_unc / y``, so a slope is a fractional change
per year and a level difference a fractional step (``exp(d) - 1``).

Rules (stated once, used everywhere in :mod:`etalon.campaign`):

- **Weighted least squares** with weights ``1 / sigma^2``; the parameter covariance is
  ``(X^T W X)^-1`` multiplied by the reduced chi-square ``chi2 / dof`` **when it exceeds 1**
  (the scatter is larger than the stated uncertainties: they are scaled up, never down).
- **Outliers**: normalised residuals ``z = (y - model) / sigma``; robust scale
  ``s = max(1, 1.4826 MAD(z))``; each pass, the worst kept point with ``|z| > k s`` (``k = 4``
  by default) is rejected and rejected points back within ``k s`` return; the fit is repeated
  until the kept set no longer changes (at most 50 passes); the rejected points are counted;
  if more than 20 % of the points would go, the rejection stops and
  the fit is flagged (``rejection_capped``).
- **Model choice** (``model="auto"``): linear and exponential are both fitted on the points the
  linear fit kept; the exponential is chosen when its Bayesian information criterion
  ``BIC = chi2 + p ln n`` is lower (one parameter more: tau), else the linear.
- **Exponential**: ``ln y = a + b exp(-(t - t0) / tau)``, tau profiled over 0.2 - 50 years (grid,
  then bounded refinement); its uncertainty and the drift's come from the full Jacobian
  including tau. The drift reported for an exponential is the mean slope over the fitted span.
- Derived quantities (drift, steps, levels) get their uncertainty by first-order propagation
  through the covariance (numerical gradient).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DriftFit", "LinearFit", "fit_drift", "propagate", "robust_fit", "wls"]

log = logging.getLogger(__name__)

OUTLIER_K = 4.0
MAX_REJECT_FRACTION = 0.2
MAX_PASSES = 50
TAU_BOUNDS_YEARS = (0.2, 50.0)


def wls(X: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted least squares.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
    y, sigma : numpy.ndarray, shape (n,)
        Data and 1-sigma uncertainties (same unit).

    Returns
    -------
    beta : numpy.ndarray, shape (p,)
    cov : numpy.ndarray, shape (p, p)
        ``(X^T W X)^-1``, unscaled (pseudo-inverse when rank deficient).
    chi2 : float
    """
    w = 1.0 / np.asarray(sigma, dtype=float)
    A = X * w[:, None]
    b = y * w
    beta, *_ = np.linalg.lstsq(A, b, rcond=None)
    cov = np.linalg.pinv(A.T @ A)
    r = b - A @ beta
    return beta, cov, float(r @ r)


@dataclass
class LinearFit:
    """Result of :func:`robust_fit`.

    Attributes
    ----------
    params : numpy.ndarray
        Linear coefficients, then tau (years) last when the model has one.
    cov : numpy.ndarray
        Their covariance, scaled by ``max(1, chi2/dof)``.
    chi2 : float
        Of the kept points, unscaled.
    dof : int
    scale : float
        ``sqrt(max(1, chi2/dof))`` applied to the uncertainties.
    kept : numpy.ndarray of bool
        Points used (False: rejected outliers, or excluded by the input mask).
    n_outliers : int
    rejection_capped : bool
    tau : float or None
        Exponential time constant, years.
    """

    params: np.ndarray
    cov: np.ndarray
    chi2: float
    dof: int
    scale: float
    kept: np.ndarray
    n_outliers: int
    rejection_capped: bool = False
    tau: float | None = None
    rank_deficient: bool = False

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    @property
    def bic(self) -> float:
        n = int(self.kept.sum())
        return self.chi2 + self.params.size * np.log(n)


def _golden(f: Callable[[float], float], a: float, b: float, tol: float) -> float:
    """Minimum of a unimodal function on [a, b] by golden-section search."""
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return 0.5 * (a + b)


def _fit_once(make_X: Callable[[float | None], np.ndarray], y, sigma, kept, tau_mode: bool,
              dX_dtau: Callable[[float, np.ndarray], np.ndarray] | None):
    if not tau_mode:
        X = make_X(None)[kept]
        beta, cov, chi2 = wls(X, y[kept], sigma[kept])
        rank = np.linalg.matrix_rank(X * (1 / sigma[kept])[:, None])
        return beta, cov, chi2, None, rank < X.shape[1]
    def chi2_of(log_tau: float) -> float:
        return wls(make_X(float(np.exp(log_tau)))[kept], y[kept], sigma[kept])[2]

    grid = np.linspace(np.log(TAU_BOUNDS_YEARS[0]), np.log(TAU_BOUNDS_YEARS[1]), 25)
    vals = np.array([chi2_of(g) for g in grid])
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    tau = float(np.exp(_golden(chi2_of, lo, hi, 1e-4)))
    X = make_X(tau)[kept]
    beta, _, chi2 = wls(X, y[kept], sigma[kept])
    J = np.column_stack([X, dX_dtau(tau, beta)[kept]])
    w = 1 / sigma[kept]
    A = J * w[:, None]
    cov = np.linalg.pinv(A.T @ A)
    rank = np.linalg.matrix_rank(A)
    return np.append(beta, tau), cov, chi2, tau, rank < J.shape[1]


def robust_fit(make_X: Callable[[float | None], np.ndarray], y: np.ndarray, sigma: np.ndarray,
               mask: np.ndarray | None = None, *, outlier_k: float = OUTLIER_K,
               tau_mode: bool = False,
               dX_dtau: Callable[[float, np.ndarray], np.ndarray] | None = None,
               reject: bool = True) -> LinearFit:
    """WLS with iterative outlier rejection (rules in the module docstring).

    Parameters
    ----------
    make_X : callable
        ``make_X(tau) -> X`` (n, p); ``tau`` is None for a linear model.
    y, sigma : numpy.ndarray, shape (n,)
    mask : numpy.ndarray of bool, optional
        Points allowed in the fit (default all).
    outlier_k : float
        Rejection threshold in robust sigmas.
    tau_mode : bool
        Profile an exponential time constant (then ``dX_dtau(tau, beta)`` gives the model's
        derivative with respect to tau, shape (n,)).
    reject : bool
        Reject outliers (False: plain WLS).
    """
    y = np.asarray(y, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    allowed = np.ones(y.size, bool) if mask is None else np.asarray(mask, bool).copy()
    kept = allowed.copy()
    capped = False
    for _ in range(MAX_PASSES):
        params, cov, chi2, tau, deficient = _fit_once(make_X, y, sigma, kept, tau_mode, dX_dtau)
        if not reject:
            break
        model = make_X(tau) @ params[: make_X(tau).shape[1]]
        z = (y - model) / sigma
        s = max(1.0, 1.4826 * float(np.median(np.abs(z[kept] - np.median(z[kept])))))
        new_kept = allowed & (np.abs(z) <= outlier_k * s)
        leaving = kept & ~new_kept
        if leaving.sum() > 1:
            # several points beyond the threshold: only the worst goes this pass (the others may
            # only look bad because the worst pulls the fit)
            worst = np.flatnonzero(leaving)[np.argmax(np.abs(z[leaving]))]
            new_kept = (kept | new_kept) & allowed
            new_kept[leaving] = True
            new_kept[worst] = False
        if np.array_equal(new_kept, kept):
            break
        if (allowed.sum() - new_kept.sum()) > MAX_REJECT_FRACTION * allowed.sum():
            capped = True
            log.warning("outlier rejection stopped: more than %d %% of the points would be rejected",
                        int(100 * MAX_REJECT_FRACTION))
            break
        kept = new_kept
    dof = int(kept.sum()) - params.size
    red = chi2 / dof if dof > 0 else 1.0
    factor = max(1.0, red)
    return LinearFit(params, cov * factor, chi2, dof, float(np.sqrt(factor)), kept,
                     int(allowed.sum() - kept.sum()), capped, tau, deficient)


def propagate(func: Callable[[np.ndarray], float], params: np.ndarray,
              cov: np.ndarray) -> tuple[float, float]:
    """Value and 1-sigma uncertainty of ``func(params)`` by first-order propagation.

    The gradient is numerical (central differences, step ``1e-6 max(1, |p|)``).
    """
    p = np.asarray(params, dtype=float)
    f0 = float(func(p))
    g = np.zeros(p.size)
    for i in range(p.size):
        h = 1e-6 * max(1.0, abs(p[i]))
        dp = np.zeros(p.size)
        dp[i] = h
        g[i] = (func(p + dp) - func(p - dp)) / (2 * h)
    var = float(g @ cov @ g)
    return f0, float(np.sqrt(max(var, 0.0)))


@dataclass
class DriftFit:
    """A drift fit of one series (see :func:`fit_drift`).

    Attributes
    ----------
    model : str
        ``"linear"`` or ``"exponential"``.
    drift_per_year, drift_unc : float
        Fractional change of y per year (d ln y / dt; mean slope over the span for an
        exponential) and its 1-sigma uncertainty, yr-1.
    level, level_unc : float
        Fitted y at ``t_ref`` (without the extra terms) and its uncertainty, unit of y.
    t_ref : float
        Reference time, Julian years (mean time of the kept points).
    n, n_outliers : int
    chi2, dof, scale : float, int, float
        Chi-square of the kept points, degrees of freedom, uncertainty scale factor applied.
    tau_years, tau_unc : float
        Exponential time constant (NaN for linear).
    bic_linear, bic_exponential : float
        Information criteria compared (NaN when not computed).
    kept : numpy.ndarray of bool
    params, cov : numpy.ndarray
    extra_coef, extra_unc : numpy.ndarray
        Coefficients of the ``extra`` regressors (per unit of each regressor, in ln y).
    """

    model: str
    drift_per_year: float
    drift_unc: float
    level: float
    level_unc: float
    t_ref: float
    n: int
    n_outliers: int
    chi2: float
    dof: int
    scale: float
    tau_years: float = float("nan")
    tau_unc: float = float("nan")
    bic_linear: float = float("nan")
    bic_exponential: float = float("nan")
    kept: np.ndarray = field(default_factory=lambda: np.array([], bool))
    params: np.ndarray = field(default_factory=lambda: np.array([]))
    cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    extra_coef: np.ndarray = field(default_factory=lambda: np.array([]))
    extra_unc: np.ndarray = field(default_factory=lambda: np.array([]))
    t0: float = 0.0

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    def predict(self, t_years: np.ndarray) -> np.ndarray:
        """Trend value of y at ``t_years`` (extra terms at 0)."""
        t = np.asarray(t_years, dtype=float)
        if self.model == "linear":
            return np.exp(self.params[0] + self.params[1] * (t - self.t_ref))
        a, b, tau = self.params[0], self.params[1], self.params[-1]
        return np.exp(a + b * np.exp(-(t - self.t0) / tau))


def fit_drift(t_years: np.ndarray, y: np.ndarray, y_unc: np.ndarray, model: str = "auto", *,
              extra: np.ndarray | None = None, outlier_k: float = OUTLIER_K,
              reject: bool = True) -> DriftFit:
    """Fit a trend to a positive series (a ratio, a reflectance) with its uncertainties.

    Parameters
    ----------
    t_years : numpy.ndarray, shape (n,)
        Times, years (Julian or decimal).
    y, y_unc : numpy.ndarray, shape (n,)
        Values (> 0) and 1-sigma uncertainties, same unit. Non-finite or non-positive rows
        are left out.
    model : {"linear", "exponential", "auto"}
        Trend in ``ln y``; ``"auto"`` chooses by BIC (module docstring).
    extra : numpy.ndarray, shape (n, k), optional
        Regressors fitted jointly (geometry terms, e.g. ``1/cos(SZA) - mean``).
    outlier_k : float
        Rejection threshold, robust sigmas.
    reject : bool
        Reject outliers.

    Returns
    -------
    DriftFit
    """
    if model not in ("linear", "exponential", "auto"):
        raise ValueError(f"model must be linear, exponential or auto, got {model!r}")
    t = np.asarray(t_years, dtype=float)
    y = np.asarray(y, dtype=float)
    u = np.asarray(y_unc, dtype=float)
    ok = np.isfinite(t) & np.isfinite(y) & (y > 0) & np.isfinite(u) & (u > 0)
    ex = np.zeros((t.size, 0)) if extra is None else np.asarray(extra, dtype=float).reshape(t.size, -1)
    ok &= np.all(np.isfinite(ex), axis=1)
    if ok.sum() < 3 + ex.shape[1]:
        raise ValueError(f"fit_drift needs at least {3 + ex.shape[1]} valid points, got {int(ok.sum())}")
    ly = np.where(ok, np.log(np.where(ok, y, 1.0)), 0.0)
    s = np.where(ok, u / np.where(ok, y, 1.0), 1.0)
    t_ref = float(np.mean(t[ok]))
    t0 = float(np.min(t[ok]))

    def X_lin(_tau):
        return np.column_stack([np.ones_like(t), t - t_ref, ex])

    def X_exp(tau):
        return np.column_stack([np.ones_like(t), np.exp(-(t - t0) / tau), ex])

    def dX(tau, beta):
        return beta[1] * np.exp(-(t - t0) / tau) * (t - t0) / tau**2

    lin = robust_fit(X_lin, ly, s, ok, outlier_k=outlier_k, reject=reject)
    bic_l = lin.bic
    bic_e = float("nan")
    choice = model
    if model in ("exponential", "auto"):
        expo = robust_fit(X_exp, ly, s, lin.kept if model == "auto" else ok, tau_mode=True,
                          dX_dtau=dX, reject=reject and model != "auto", outlier_k=outlier_k)
        bic_e = expo.bic
        if model == "auto":
            choice = "exponential" if bic_e < bic_l else "linear"
            if choice == "exponential":
                expo = robust_fit(X_exp, ly, s, ok, tau_mode=True, dX_dtau=dX, reject=reject,
                                  outlier_k=outlier_k)
    fit = lin if choice == "linear" else expo
    kept = fit.kept
    t1, t2 = float(t[kept].min()), float(t[kept].max())
    k = ex.shape[1]
    if choice == "linear":
        drift, drift_unc = float(fit.params[1]), float(np.sqrt(fit.cov[1, 1]))
        level, level_unc = propagate(lambda p: np.exp(p[0]), fit.params, fit.cov)
        tau, tau_unc = float("nan"), float("nan")
    else:
        def mean_slope(p):
            return p[1] * (np.exp(-(t2 - t0) / p[-1]) - np.exp(-(t1 - t0) / p[-1])) / (t2 - t1)

        drift, drift_unc = propagate(mean_slope, fit.params, fit.cov)
        level, level_unc = propagate(lambda p: np.exp(p[0] + p[1] * np.exp(-(t_ref - t0) / p[-1])),
                                     fit.params, fit.cov)
        tau, tau_unc = float(fit.params[-1]), float(np.sqrt(fit.cov[-1, -1]))
    diag = np.sqrt(np.diag(fit.cov))
    return DriftFit(choice, drift, drift_unc, level, level_unc, t_ref, int(kept.sum()), fit.n_outliers,
                    fit.chi2, fit.dof, fit.scale, tau, tau_unc, bic_l, bic_e, kept, fit.params, fit.cov,
                    fit.params[2:2 + k].copy(), diag[2:2 + k].copy(), t0)
