"""Directional normalisation of desert-site series with a kernel-driven BRDF model.

Model (per band, on TOA reflectance)::

    rho(sza, vza, raa) = f_iso + f_vol K_vol(sza, vza, raa) + f_geo K_geo(sza, vza, raa)

with the Ross-thick volume kernel and the Li-sparse-reciprocal geometric kernel (h/b = 2,
b/r = 1) of the MODIS BRDF/albedo algorithm (Wanner, Li & Strahler, JGR 100, 1995; Lucht,
Schaaf & Strahler, IEEE TGRS 38, 2000). Applied to TOA rather than surface reflectance it is
an empirical directional model of the site as seen through its (mostly stable) desert
atmosphere, the practice of PICS normalisation.

Azimuth convention: ``raa = |VAA - SAA|`` folded to 0-180 deg, both azimuths of the direction
from the site to the sensor / the Sun (DIMITRI, MODIS, MERIS): ``raa = 0`` is the backscatter
(hot-spot) side, ``raa = 180`` the forward-scatter side.

Fit: weighted least squares, weights ``1 / sigma_i**2`` with ``sigma_i`` the acquisition's
ROI standard deviation (a per-acquisition quality: cloud or dust raise it), and the
coefficient covariance scaled by the reduced chi-square of the residuals, so that the
absolute uncertainty comes from the scatter actually seen. Normalised reflectance of an
acquisition::

    rho_norm_i = rho_i * M(ref) / M(geometry_i)

with ``ref`` = SZA 30, VZA 0 by default. Its uncertainty combines the acquisition's own
scatter (``s * sigma_i``, ``s`` the Birge ratio) and the model ratio's uncertainty from the
coefficient covariance.

Outlier rejection (clouds, dust), documented rule:

1. *Heterogeneity*: an acquisition whose ROI coefficient of variation ``rho_std / rho`` in
   the shortest reflective band exceeds ``cv_max`` (default 0.06: the clear Libya-4 series
   have 1-3 %, 90th percentile <= 4 %; clouds and dust plumes make the box heterogeneous) is
   flagged in every band.
2. *Robust residuals*: iterate the fit; in each band flag acquisitions whose relative
   residual departs from the median by more than ``k_sigma`` (default 3.5) robust standard
   deviations (1.4826 x the median absolute deviation); until the flags stop changing.
3. *Consistency across bands*: an acquisition flagged in at least half of its valid bands
   (clouds brighten every band) is flagged in all of them.

A band with fewer than ``min_acquisitions`` clear acquisitions raises
:class:`InsufficientDataError` (an all-cloudy series, a single acquisition).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "BandFit",
    "InsufficientDataError",
    "NormalisedSeries",
    "SeasonalCycle",
    "fit_band",
    "kernels",
    "li_sparse_r",
    "normalise_series",
    "rms_table",
    "ross_thick",
    "seasonal_cycle",
]

REF_SZA = 30.0
REF_VZA = 0.0
REF_RAA = 0.0


class InsufficientDataError(ValueError):
    """Too few (clear) acquisitions to fit the directional model."""


def ross_thick(sza: np.ndarray, vza: np.ndarray, raa: np.ndarray) -> np.ndarray:
    """Ross-thick volume-scattering kernel (unitless).

    Parameters
    ----------
    sza, vza, raa : array_like
        Solar zenith, view zenith and relative azimuth (0 = backscatter), deg.
    """
    ts, tv, phi = (np.radians(np.asarray(a, float)) for a in (sza, vza, raa))
    cos_xi = np.clip(np.cos(ts) * np.cos(tv) + np.sin(ts) * np.sin(tv) * np.cos(phi), -1.0, 1.0)
    xi = np.arccos(cos_xi)
    return ((np.pi / 2 - xi) * cos_xi + np.sin(xi)) / (np.cos(ts) + np.cos(tv)) - np.pi / 4


def li_sparse_r(sza: np.ndarray, vza: np.ndarray, raa: np.ndarray, hb: float = 2.0,
                br: float = 1.0) -> np.ndarray:
    """Li-sparse-reciprocal geometric-optical kernel (unitless).

    Parameters
    ----------
    sza, vza, raa : array_like
        Solar zenith, view zenith and relative azimuth (0 = backscatter), deg.
    hb, br : float
        Crown height over radius ratios h/b and b/r (MODIS: 2 and 1).
    """
    ts, tv, phi = (np.radians(np.asarray(a, float)) for a in (sza, vza, raa))
    ts_p = np.arctan(br * np.tan(ts))
    tv_p = np.arctan(br * np.tan(tv))
    tan_s, tan_v = np.tan(ts_p), np.tan(tv_p)
    sec_s, sec_v = 1.0 / np.cos(ts_p), 1.0 / np.cos(tv_p)
    d2 = np.clip(tan_s ** 2 + tan_v ** 2 - 2 * tan_s * tan_v * np.cos(phi), 0.0, None)
    cos_t = np.clip(hb * np.sqrt(d2 + (tan_s * tan_v * np.sin(phi)) ** 2) / (sec_s + sec_v),
                    -1.0, 1.0)
    t = np.arccos(cos_t)
    overlap = (t - np.sin(t) * cos_t) * (sec_s + sec_v) / np.pi
    cos_xi_p = np.cos(ts_p) * np.cos(tv_p) + np.sin(ts_p) * np.sin(tv_p) * np.cos(phi)
    return overlap - sec_s - sec_v + 0.5 * (1 + cos_xi_p) * sec_s * sec_v


def kernels(sza: np.ndarray, vza: np.ndarray, raa: np.ndarray) -> np.ndarray:
    """Design matrix ``[1, K_vol, K_geo]``, shape (n, 3)."""
    sza, vza, raa = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float))
                                          for a in (sza, vza, raa)))
    return np.column_stack([np.ones(sza.shape), ross_thick(sza, vza, raa),
                            li_sparse_r(sza, vza, raa)])


@dataclass(frozen=True)
class BandFit:
    """The BRDF fit of one band.

    Attributes
    ----------
    coef : numpy.ndarray, shape (3,)
        ``f_iso, f_vol, f_geo`` (TOA reflectance units).
    cov : numpy.ndarray, shape (3, 3)
        Their covariance (scaled by the reduced chi-square).
    birge : float
        Square root of the reduced chi-square (scale of the per-acquisition sigmas).
    rho_ref, rho_ref_unc : float
        Model reflectance at the reference geometry and its standard uncertainty (prediction
        variance ``x0' C x0``).
    residual_rms : float
        Relative rms of the clear acquisitions' residuals ``rho / M - 1``.
    n_used : int
        Clear acquisitions in the fit.
    outlier : numpy.ndarray of bool, shape (n,)
        Acquisitions rejected in this band (clouds, dust, invalid).
    """

    coef: np.ndarray
    cov: np.ndarray
    birge: float
    rho_ref: float
    rho_ref_unc: float
    residual_rms: float
    n_used: int
    outlier: np.ndarray


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    sw = np.sqrt(w)
    a = x * sw[:, None]
    coef, *_ = np.linalg.lstsq(a, y * sw, rcond=None)
    resid = y - x @ coef
    dof = max(y.size - x.shape[1], 1)
    chi2 = float(np.sum(w * resid ** 2) / dof)
    cov = np.linalg.pinv(a.T @ a) * chi2
    return coef, cov, np.sqrt(chi2)


def _robust_sigma(r: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def fit_band(sza: np.ndarray, vza: np.ndarray, raa: np.ndarray, rho: np.ndarray,
             sigma: np.ndarray | None = None, exclude: np.ndarray | None = None,
             k_sigma: float = 3.5, min_acquisitions: int = 10, max_iter: int = 20,
             ref: tuple[float, float, float] = (REF_SZA, REF_VZA, REF_RAA)) -> BandFit:
    """Fit the Ross-thick / Li-sparse-R model to one band by WLS with robust outlier rejection.

    Parameters
    ----------
    sza, vza, raa : numpy.ndarray, shape (n,)
        Geometry, deg.
    rho : numpy.ndarray, shape (n,)
        TOA reflectance (NaN = invalid).
    sigma : numpy.ndarray, optional
        Per-acquisition sigma defining the weights (default: equal weights); NaN or
        non-positive values take the median of the others.
    exclude : numpy.ndarray of bool, optional
        Acquisitions flagged beforehand (e.g. heterogeneity), never used.
    k_sigma : float
        Rejection threshold, robust standard deviations of the relative residuals.
    min_acquisitions : int
        Fewest clear acquisitions accepted.
    ref : (sza, vza, raa)
        Reference geometry, deg.

    Raises
    ------
    InsufficientDataError
        Fewer than ``min_acquisitions`` valid, clear acquisitions.
    """
    rho = np.asarray(rho, float)
    n = rho.size
    x = kernels(sza, vza, raa)
    if sigma is None:
        s = np.ones(n)
    else:
        s = np.asarray(sigma, float).copy()
        good_s = np.isfinite(s) & (s > 0)
        fill = np.median(s[good_s]) if good_s.any() else 1.0
        s[~good_s] = fill
    w = 1.0 / s ** 2
    valid = np.isfinite(rho) & np.all(np.isfinite(x), axis=1)
    if exclude is not None:
        valid &= ~np.asarray(exclude, bool)
    if valid.sum() < max(min_acquisitions, x.shape[1] + 1):
        raise InsufficientDataError(
            f"{int(valid.sum())} clear acquisitions, at least {max(min_acquisitions, 4)} needed "
            "to fit the 3-parameter BRDF")
    use = valid.copy()
    for _ in range(max_iter):
        coef, cov, birge = _wls(x[use], rho[use], w[use])
        model = x @ coef
        rel = np.where(valid, rho / model - 1.0, np.nan)
        r_use = rel[use]
        centre, spread = np.median(r_use), _robust_sigma(r_use)
        new = valid & (np.abs(rel - centre) <= k_sigma * max(spread, 1e-6))
        if new.sum() < max(min_acquisitions, x.shape[1] + 1):
            raise InsufficientDataError(
                f"only {int(new.sum())} acquisitions left after outlier rejection")
        if np.array_equal(new, use):
            break
        use = new
    coef, cov, birge = _wls(x[use], rho[use], w[use])
    x0 = kernels(*ref)[0]
    rho_ref = float(x0 @ coef)
    unc = float(np.sqrt(max(x0 @ cov @ x0, 0.0)))
    model = x @ coef
    rrms = float(np.sqrt(np.mean((rho[use] / model[use] - 1.0) ** 2)))
    return BandFit(coef, cov, float(birge), rho_ref, unc, rrms, int(use.sum()), ~use)


@dataclass(frozen=True)
class SeasonalCycle:
    """Annual harmonic left in a normalised series (fitted jointly with a linear trend).

    Attributes
    ----------
    amplitude, amplitude_unc : float
        Relative amplitude of ``1 + a cos(2 pi d) + b sin(2 pi d)`` (``d`` = year fraction),
        unitless.
    peak_doy : float
        Day of year of the maximum.
    trend_per_year, trend_unc : float
        Relative linear trend, per year.
    """

    amplitude: float
    amplitude_unc: float
    peak_doy: float
    trend_per_year: float
    trend_unc: float


def seasonal_cycle(decimal_year: np.ndarray, y: np.ndarray, y_unc: np.ndarray | None = None
                   ) -> SeasonalCycle:
    """Fit ``y / mean = 1 + c (t - t0) + a cos(2 pi t) + b sin(2 pi t)`` by WLS.

    Parameters
    ----------
    decimal_year : numpy.ndarray
        Times, decimal years.
    y, y_unc : numpy.ndarray
        Series and its uncertainty (any unit; the result is relative).
    """
    t = np.asarray(decimal_year, float)
    y = np.asarray(y, float)
    ok = np.isfinite(t) & np.isfinite(y)
    u = np.ones_like(y) if y_unc is None else np.asarray(y_unc, float)
    ok &= np.isfinite(u) & (u > 0)
    t, y, u = t[ok], y[ok], u[ok]
    mean = np.average(y, weights=1 / u ** 2)
    yy, uu = y / mean, u / mean
    x = np.column_stack([np.ones_like(t), t - t.mean(), np.cos(2 * np.pi * t),
                         np.sin(2 * np.pi * t)])
    coef, cov, _ = _wls(x, yy, 1 / uu ** 2)
    a, b = coef[2], coef[3]
    amp = float(np.hypot(a, b))
    g = np.array([a, b]) / amp if amp > 0 else np.zeros(2)
    amp_unc = float(np.sqrt(g @ cov[2:, 2:] @ g))
    peak = float((np.degrees(np.arctan2(b, a)) % 360.0) / 360.0 * 365.25)
    return SeasonalCycle(amp, amp_unc, peak, float(coef[1]), float(np.sqrt(cov[1, 1])))


@dataclass
class NormalisedSeries:
    """A sensor's series normalised to the reference geometry.

    Attributes
    ----------
    series : DimitriSeries
        The input.
    rho_norm, rho_norm_unc : numpy.ndarray, shape (n, nb)
        Normalised reflectance and its uncertainty (NaN for bands not fitted).
    outlier : numpy.ndarray of bool, shape (n, nb)
        Rejected acquisitions per band.
    fits : dict
        band index -> :class:`BandFit` (bands fitted).
    skipped : dict
        band index -> reason, for bands not fitted (thermal, too few valid values).
    seasonal : dict
        band index -> :class:`SeasonalCycle` of the normalised series.
    raw_rms, norm_rms : dict
        band index -> relative rms of the raw and of the normalised clear acquisitions.
    ref : tuple
        Reference geometry (sza, vza, raa), deg.
    """

    series: object
    rho_norm: np.ndarray
    rho_norm_unc: np.ndarray
    outlier: np.ndarray
    fits: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    seasonal: dict = field(default_factory=dict)
    raw_rms: dict = field(default_factory=dict)
    norm_rms: dict = field(default_factory=dict)
    ref: tuple = (REF_SZA, REF_VZA, REF_RAA)


def _heterogeneous(series, cv_max: float) -> np.ndarray:
    refl = np.flatnonzero(series.reflective)
    order = refl[np.argsort(series.wavelength_nm[refl])]
    for b in order:  # shortest reflective band with valid values and sigmas
        cv = series.rho_std[:, b] / series.rho[:, b]
        if np.mean(np.isfinite(cv)) > 0.5:
            return np.isfinite(cv) & (cv > cv_max)
    return np.zeros(series.n, bool)


def normalise_series(series, ref: tuple[float, float, float] = (REF_SZA, REF_VZA, REF_RAA),
                     cv_max: float = 0.06, k_sigma: float = 3.5, min_acquisitions: int = 10,
                     min_valid_fraction: float = 0.9, min_reflectance: float = 0.02,
                     bands: list[int] | None = None,
                     by_view: bool = False) -> NormalisedSeries:
    """Fit the BRDF per band and normalise every acquisition to the reference geometry.

    Parameters
    ----------
    series : DimitriSeries
        A sensor's series over a site.
    ref : (sza, vza, raa)
        Reference geometry, deg (default SZA 30, VZA 0).
    cv_max, k_sigma : float
        Outlier rules 1 and 2 (module docstring).
    min_acquisitions : int
        Fewest clear acquisitions per band.
    min_valid_fraction : float
        Bands whose valid (non-saturated, non-missing) fraction is below this are skipped
        (e.g. the MODIS ocean bands that saturate over the bright site): saturation censors
        the brightest geometries, so the rest is a geometry-biased sample.
    min_reflectance : float
        Bands whose median TOA reflectance is below this are skipped: strong absorption
        bands (MODIS 1383 nm cirrus band, ~0.001 over Libya-4) carry no surface signal.
    bands : list of int, optional
        Band indices to fit (default all reflective ones).
    by_view : bool
        Fit the AATSR nadir and forward views separately (default: one model for both).

    Raises
    ------
    InsufficientDataError
        When no band could be fitted (all acquisitions cloudy, one acquisition, ...).
    """
    n, nb = series.rho.shape
    rho_norm = np.full((n, nb), np.nan)
    rho_unc = np.full((n, nb), np.nan)
    outlier = np.ones((n, nb), bool)
    out = NormalisedSeries(series, rho_norm, rho_unc, outlier, ref=ref)
    het = _heterogeneous(series, cv_max)
    raa = series.raa
    todo = [int(b) for b in (bands if bands is not None else range(nb))]
    reasons = []
    for b in todo:
        if not series.reflective[b]:
            out.skipped[b] = "thermal band (brightness temperature)"
            continue
        frac = float(np.mean(np.isfinite(series.rho[:, b])))
        if frac < min_valid_fraction:
            out.skipped[b] = f"only {frac:.0%} valid values (saturated or missing)"
            continue
        med = float(np.nanmedian(series.rho[:, b]))
        if med < min_reflectance:
            out.skipped[b] = f"median TOA reflectance {med:.4f} < {min_reflectance} (absorption band)"
            continue
        groups = [np.ones(n, bool)] if not by_view else [series.view == v
                                                        for v in np.unique(series.view)]
        try:
            for g in groups:
                fit = fit_band(series.sza[g], series.vza[g], raa[g], series.rho[g, b],
                               series.rho_std[g, b], het[g], k_sigma, min_acquisitions, ref=ref)
                _apply(out, b, g, fit, series, raa, ref)
                out.fits[b] = fit
        except InsufficientDataError as exc:
            out.skipped[b] = str(exc)
            reasons.append(str(exc))
            continue
    # rule 3: an acquisition rejected in at least half its valid fitted bands is rejected in all
    fitted = sorted(out.fits)
    if fitted:
        valid = np.isfinite(series.rho[:, fitted])
        flagged = (outlier[:, fitted] & valid).sum(axis=1)
        bad_all = flagged >= 0.5 * np.maximum(valid.sum(axis=1), 1)
        outlier[bad_all, :] = True
    if not fitted:
        why = "; ".join(sorted(set(reasons))) or "no reflective band with enough valid values"
        raise InsufficientDataError(f"no band could be normalised: {why}")
    for b in fitted:
        clear = ~outlier[:, b] & np.isfinite(rho_norm[:, b])
        if clear.sum() < 3:
            continue
        r = series.rho[clear, b]
        out.raw_rms[b] = float(np.std(r) / np.mean(r))
        rn = rho_norm[clear, b]
        out.norm_rms[b] = float(np.std(rn) / np.mean(rn))
        out.seasonal[b] = seasonal_cycle(series.decimal_year[clear], rn, rho_unc[clear, b])
    return out


def _apply(out: NormalisedSeries, b: int, g: np.ndarray, fit: BandFit, series, raa, ref) -> None:
    idx = np.flatnonzero(g)
    x = kernels(series.sza[idx], series.vza[idx], raa[idx])
    x0 = kernels(*ref)[0]
    m = x @ fit.coef
    m0 = float(x0 @ fit.coef)
    rho = series.rho[idx, b]
    ratio = m0 / m
    rn = rho * ratio
    # gradient of ln(M0 / M_i) with respect to the coefficients
    grad = x0[None, :] / m0 - x / m[:, None]
    var_model = np.einsum("ij,jk,ik->i", grad, fit.cov, grad)
    sig = series.rho_std[idx, b].copy()
    good = np.isfinite(sig) & (sig > 0)
    sig[~good] = np.median(sig[good]) if good.any() else np.nan
    var_obs = (fit.birge * sig / rho) ** 2
    out.rho_norm[idx, b] = rn
    out.rho_norm_unc[idx, b] = np.abs(rn) * np.sqrt(var_obs + var_model)
    out.outlier[idx, b] = fit.outlier


def rms_table(ns: NormalisedSeries):
    """Per fitted band: raw and normalised relative rms, residual rms, seasonal cycle (Table).

    Columns ``band``, ``wavelength`` (nm), ``n_used``, ``raw_rms``, ``norm_rms``,
    ``residual_rms`` (fractions), ``rho_ref``, ``rho_ref_unc``, ``seasonal_amplitude``,
    ``seasonal_amplitude_unc`` (fractions), ``seasonal_peak_doy``, ``trend_per_year``,
    ``trend_unc`` (yr-1), ``reduced`` (normalised rms < raw rms).
    """
    from astropy.table import Table

    s = ns.series
    rows = []
    for b in sorted(ns.fits):
        f = ns.fits[b]
        sc = ns.seasonal.get(b)
        rows.append((b, float(s.wavelength_nm[b]), f.n_used, ns.raw_rms.get(b, np.nan),
                     ns.norm_rms.get(b, np.nan), f.residual_rms, f.rho_ref, f.rho_ref_unc,
                     sc.amplitude if sc else np.nan, sc.amplitude_unc if sc else np.nan,
                     sc.peak_doy if sc else np.nan, sc.trend_per_year if sc else np.nan,
                     sc.trend_unc if sc else np.nan))
    t = Table(rows=rows, names=("band", "wavelength", "n_used", "raw_rms", "norm_rms", "residual_rms",
                                "rho_ref", "rho_ref_unc", "seasonal_amplitude",
                                "seasonal_amplitude_unc", "seasonal_peak_doy", "trend_per_year",
                                "trend_unc"))
    t["reduced"] = t["norm_rms"] < t["raw_rms"]
    t["wavelength"].unit = "nm"
    t.meta["sensor"] = f"{s.sensor}:{s.version}"
    t.meta["skipped"] = {int(k): v for k, v in ns.skipped.items()}
    return t
