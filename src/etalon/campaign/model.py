"""The joint model of one band: PO segments, trend, phases, geometry and change points.

In ``y = ln(ratio)``, with ``sigma = ratio_unc / ratio``, one weighted least-squares fit:

``y_i = a_s + T_s(t_i) + phi_p [p_i != first] + G_i . gamma + sum_j c_j H(t_i - tc_j)``

- ``s`` the PO segment in force (between two validity starts): level ``a_s`` and trend
  ``T_s`` of its own, linear ``d_s (t - tm_s)`` (``tm_s`` the segment's mean time) or exponential
  ``b_s exp(-(t - t0) / tau)`` with one ``tau`` per band (the instrument's), chosen by BIC;
- ``phi_p`` the level of orbit phase ``p`` against the first phase (:mod:`.phases`);
- ``G`` the geometry terms (:mod:`.geometry`), fitted jointly, never beforehand;
- ``c_j`` the change points detected (:mod:`.changepoints`).

Rules for weights, covariance scaling, outliers and model choice: :mod:`.drift`.
Derived: drift of each segment (``d_s``, or the mean slope over the segment for the
exponential), the PO steps (:mod:`.steps`), phase levels, and the same model on the series
reprocessed to one PO with a single trend (``drift_reprocessed``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from etalon.campaign.changepoints import ChangePoint, rejected_runs, scan_step
from etalon.campaign.drift import OUTLIER_K, LinearFit, fit_drift, propagate, robust_fit
from etalon.campaign.geometry import geometry_design
from etalon.campaign.phases import PhaseResult, phase_order, robust_stats
from etalon.campaign.series import BandSeries, PORegistry
from etalon.campaign.steps import StepResult, reprocess_factor

__all__ = ["BandResult", "SegmentResult", "analyze_band"]

log = logging.getLogger(__name__)

#: a PO segment gets a trend of its own with at least this many acquisitions (else a level only)
MIN_TREND_POINTS = 3
#: a phase with fewer acquisitions is left out of the fits (flagged invalid, warned)
MIN_PHASE_POINTS = 3


@dataclass
class SegmentResult:
    """One PO segment of one band.

    Attributes
    ----------
    version : str
    index : int
        Index of the version in the registry.
    n, n_outliers : int
        Kept and rejected acquisitions.
    mean, median, std, mad_std : float
        Of the as-processed ratio with the geometry dependence removed.
    drift, drift_unc : float
        Fractional change of the ratio per year within the segment, yr-1.
    t_first, t_last : float
        Julian years of the first and last kept acquisition.
    """

    version: str
    index: int
    n: int
    n_outliers: int
    mean: float
    median: float
    std: float
    mad_std: float
    drift: float
    drift_unc: float
    t_first: float
    t_last: float


@dataclass
class BandResult:
    """Everything measured on one band (see the module docstring)."""

    channel: str
    model: str
    n: int
    n_valid: int
    n_outliers: int
    chi2: float
    dof: int
    scale: float
    rejection_capped: bool
    tau_years: float
    tau_unc: float
    bic_linear: float
    bic_exponential: float
    segments: list[SegmentResult]
    steps: list[StepResult]
    phases: list[PhaseResult]
    geometry_names: list[str]
    geometry_coef: np.ndarray
    geometry_unc: np.ndarray
    changepoints: list[ChangePoint]
    drift_reprocessed: float
    drift_reprocessed_unc: float
    reference_po: str
    # per acquisition
    ratio_reprocessed: np.ndarray = field(default_factory=lambda: np.array([]))
    ratio_corrected: np.ndarray = field(default_factory=lambda: np.array([]))
    model_ratio: np.ndarray = field(default_factory=lambda: np.array([]))
    residual: np.ndarray = field(default_factory=lambda: np.array([]))
    outlier: np.ndarray = field(default_factory=lambda: np.array([], bool))
    warnings: list[str] = field(default_factory=list)
    used: np.ndarray = field(default_factory=lambda: np.array([], bool))

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")


class _Design:
    """Columns of the joint model for one band (see module docstring)."""

    def __init__(self, t, seg_ids, seg, phase_ids, phase, G, cps, single_trend=False, valid=None):
        self.t, self.G, self.cps = t, G, list(cps)
        valid = np.ones(t.size, bool) if valid is None else valid
        self.seg_ids = seg_ids            # segments with data, in order
        self.seg = seg
        self.phase_ids = phase_ids        # phases with a level column (not the first)
        self.phase = phase
        self.single = single_trend
        self.t0 = float(t[valid].min())
        self.tm = {s: float(t[valid & (seg == s)].mean()) for s in seg_ids}
        self.tm_all = float(t[valid].mean())
        self.nseg = len(seg_ids)
        # segments with a trend of their own: at least MIN_TREND_POINTS acquisitions over > 0 time
        self.trend_k = [0] if single_trend else [
            k for k, s in enumerate(seg_ids)
            if np.sum(valid & (seg == s)) >= MIN_TREND_POINTS and np.ptp(t[valid & (seg == s)]) > 0]
        self.ntr = len(self.trend_k)

    def _ind(self, s):
        return (self.seg == s).astype(float)

    def X(self, tau):
        t = self.t
        cols = [self._ind(s) for s in self.seg_ids]
        for k in self.trend_k:
            ind = np.ones_like(t) if self.single else self._ind(self.seg_ids[k])
            tm = self.tm_all if self.single else self.tm[self.seg_ids[k]]
            cols.append(ind * ((t - tm) if tau is None else np.exp(-(t - self.t0) / tau)))
        cols += [(self.phase == p).astype(float) for p in self.phase_ids]
        cols += [self.G[:, j] for j in range(self.G.shape[1])]
        cols += [(t > c).astype(float) for c in self.cps]
        return np.column_stack(cols)

    def dX_dtau(self, tau, beta):
        t = self.t
        out = np.zeros_like(t)
        for j, k in enumerate(self.trend_k):
            ind = np.ones_like(t) if self.single else self._ind(self.seg_ids[k])
            out += beta[self.nseg + j] * ind * np.exp(-(t - self.t0) / tau) * (t - self.t0) / tau**2
        return out

    # indices into the parameter vector
    def i_level(self, k):
        return k

    def has_trend(self, k):
        return self.single or k in self.trend_k

    def i_trend(self, k):
        return self.nseg + (0 if self.single else self.trend_k.index(k))

    def i_phase(self, j):
        return self.nseg + self.ntr + j

    def i_geom(self):
        s = self.nseg + self.ntr + len(self.phase_ids)
        return slice(s, s + self.G.shape[1])

    def i_cp(self, j):
        return self.nseg + self.ntr + len(self.phase_ids) + self.G.shape[1] + j

    def trend(self, p, k, t, exponential):
        """ln-ratio trend of segment k (level + trend term) at time t."""
        a = p[self.i_level(k)]
        if not self.has_trend(k):
            return a + 0.0 * t
        b = p[self.i_trend(k)]
        tm = self.tm_all if self.single else self.tm[self.seg_ids[k]]
        if exponential:
            return a + b * np.exp(-(t - self.t0) / p[-1])
        return a + b * (t - tm)


def _iso(t_years: float) -> str:
    from etalon.campaign.series import julian_year_to_iso

    return str(julian_year_to_iso(t_years)[0])[:10]


def _test_runs(design, fit, y, sigma, valid, t, seg, phase, exponential, alpha):
    """Likelihood-ratio test of the runs of rejected acquisitions as steps (:mod:`.changepoints`)."""
    from scipy.special import chdtri

    nlin = design.X(fit.tau).shape[1]
    resid = y - design.X(fit.tau) @ fit.params[:nlin]
    best = None
    n_cand = max(int(fit.kept.sum()), 1)
    thr = float(chdtri(1, alpha / n_cand))
    for c, run in rejected_runs(t, fit.kept, valid, resid, seg, phase):
        pts = fit.kept | run
        base = robust_fit(design.X, y, sigma, pts, tau_mode=exponential, dX_dtau=design.dX_dtau, reject=False)
        design.cps.append(c)
        alt = robust_fit(design.X, y, sigma, pts, tau_mode=exponential, dX_dtau=design.dX_dtau, reject=False)
        design.cps.pop()
        d = (base.chi2 - alt.chi2) / max(1.0, alt.chi2 / max(alt.dof, 1))
        if d > thr and (best is None or d > best[1]):
            best = (float(c), float(d), thr)
    return best


def _fit(design: _Design, y, sigma, mask, exponential: bool, outlier_k: float) -> LinearFit:
    return robust_fit(design.X, y, sigma, mask, outlier_k=outlier_k, tau_mode=exponential,
                      dX_dtau=design.dX_dtau)


def analyze_band(series: BandSeries, po: PORegistry, *, model: str = "auto", geometry_degree: int = 1,
                 outlier_k: float = OUTLIER_K, max_changepoints: int = 3, alpha_changepoint: float = 0.001,
                 reference_po: str | None = None,
                 geometry: tuple[np.ndarray, list[str]] | None = None) -> BandResult:
    """Fit the joint model to one band and derive drifts, steps, phase levels, change points.

    Parameters
    ----------
    series : BandSeries
    po : PORegistry
    model : {"auto", "linear", "exponential"}
        Trend model (``auto``: BIC, :mod:`.drift`).
    geometry_degree : {1, 2}
        Phase-angle polynomial degree on each side.
    outlier_k : float
        Outlier threshold, robust sigmas.
    max_changepoints : int
        Maximum number of unexplained steps added to the model (0: no search).
    alpha_changepoint : float
        Family-wise false-alarm probability of the change-point test.
    reference_po : str, optional
        Version the reprocessed series is brought to (default: the last one).
    geometry : (numpy.ndarray (n, k), list of str), optional
        Geometry design columns and names replacing the lunar ones of :mod:`.geometry` (e.g.
        the illumination and viewing terms of a desert-site series).

    Returns
    -------
    BandResult
    """
    if model not in ("auto", "linear", "exponential"):
        raise ValueError(f"model must be auto, linear or exponential, got {model!r}")
    c = series.channel
    notes: list[str] = []
    t = series.t_years
    valid = series.valid.copy()
    y = np.where(valid, np.log(np.where(valid, series.ratio, 1.0)), 0.0)
    sigma = np.where(valid, series.ratio_unc / np.where(valid, series.ratio, 1.0), 1.0)
    seg = series.po_index
    # a phase with too few acquisitions cannot carry a level: left out (flagged, warned)
    for name in sorted(set(series.phase[valid].tolist())):
        few = valid & (series.phase == name)
        if few.sum() < MIN_PHASE_POINTS:
            valid &= ~few
            notes.append(f"phase {name}: {int(few.sum())} acquisition(s), fewer than {MIN_PHASE_POINTS}: "
                         "left out of the fits")
            log.warning("%s: %s", c, notes[-1])
    if not valid.any():
        raise ValueError(f"{c}: no usable acquisition")
    seg_ids = sorted(set(seg[valid].tolist()))
    phases_all = phase_order(series.phase[valid], t[valid])
    if geometry is None:
        G, gnames = geometry_design(series.phase_angle, series.libration, geometry_degree)
    else:
        G, gnames = np.asarray(geometry[0], dtype=float).reshape(t.size, -1), list(geometry[1])
    G = np.where(valid[:, None], G, 0.0)
    ref_idx = len(po.versions) - 1 if reference_po is None else po.versions.index(reference_po)
    gains = po.gains[c]

    # a phase level is identifiable from the as-processed series only if it is not a combination
    # of the PO segments' levels (a segment must hold acquisitions of that phase and another):
    # each phase column is kept only if the design stays of full rank with it
    phase_cols: list[str] = []
    for name in phases_all[1:]:
        trial = _Design(t, seg_ids, seg, [*phase_cols, name], series.phase, G, [], valid=valid)
        Xt = trial.X(None)[valid]
        if np.linalg.matrix_rank(Xt) == Xt.shape[1]:
            phase_cols.append(name)
        else:
            notes.append(f"phase {name} is not separable from the PO segments (no segment holds it and "
                         "another phase): its level comes from the reprocessed series (assumes the PO "
                         "steps are the expected ones)")
            log.warning("%s: %s", c, notes[-1])
    design = _Design(t, seg_ids, seg, phase_cols, series.phase, G, [], valid=valid)
    X0 = design.X(None)[valid]
    if np.linalg.matrix_rank(X0) < X0.shape[1] or X0.shape[0] <= X0.shape[1]:
        raise ValueError(f"{c}: the joint model is not identifiable: {X0.shape[0]} usable acquisitions for "
                         f"{X0.shape[1]} parameters ({len(seg_ids)} PO segments with level and trend, "
                         f"{len(phase_cols)} phase levels, {G.shape[1]} geometry terms)")
    cp_found: list[tuple[float, float, float]] = []

    def choose() -> tuple[str, LinearFit, float, float]:
        lin = _fit(design, y, sigma, valid, False, outlier_k)
        bic_l, bic_e, pick, best = lin.bic, np.nan, "linear", lin
        if model in ("auto", "exponential"):
            try:
                expo = _fit(design, y, sigma, lin.kept if model == "auto" else valid, True,
                            outlier_k if model == "exponential" else np.inf)
                bic_e = expo.bic
                if model == "exponential" or bic_e < bic_l:
                    pick = "exponential"
                    best = _fit(design, y, sigma, valid, True, outlier_k) if model == "auto" else expo
            except np.linalg.LinAlgError:
                notes.append("exponential fit failed; linear kept")
                log.warning("%s: %s", c, notes[-1])
        return pick, best, float(bic_l), float(bic_e)

    choice, fit, bic_l, bic_e = choose()
    # change points on the chosen model, then the model choice again if any was found
    for _ in range(max_changepoints):
        found = scan_step(design.X(fit.tau), y, sigma, fit.kept, t, seg, series.phase, po.validity_start,
                          alpha=alpha_changepoint, scale2=fit.scale**2, existing=np.asarray(design.cps))
        if found is None:
            found = _test_runs(design, fit, y, sigma, valid, t, seg, series.phase, choice == "exponential",
                               alpha_changepoint)
        if found is None:
            break
        design.cps.append(found[0])
        cp_found.append(found)
        log.warning("%s: step not explained by any PO at %s (dchi2 %.1f > %.1f)", c,
                    _iso(found[0]), found[1], found[2])
        fit = _fit(design, y, sigma, valid, choice == "exponential", outlier_k)
    if cp_found:
        choice, fit, bic_l, bic_e = choose()
    expo_flag = choice == "exponential"
    p, C = fit.params, fit.cov
    kept = fit.kept
    if fit.rank_deficient:
        notes.append("design rank deficient: some uncertainties are not meaningful")
        log.warning("%s: %s", c, notes[-1])
    nlin = design.X(fit.tau).shape[1]
    model_y = design.X(fit.tau) @ p[:nlin]
    gsl = design.i_geom()
    geo = G @ p[gsl]
    # change-point contribution (to remove it from the corrected series)
    cp_part = np.zeros_like(t)
    for j, cpt in enumerate(design.cps):
        cp_part += p[design.i_cp(j)] * (t > cpt)

    # segments
    segments = []
    for k, s in enumerate(seg_ids):
        ins = kept & (seg == s)
        ts = t[ins]
        if not design.has_trend(k):
            d, du = np.nan, np.nan
            notes.append(f"PO {po.versions[s]}: fewer than {MIN_TREND_POINTS} acquisitions, no drift fitted")
            log.warning("%s: %s", c, notes[-1])
        elif expo_flag:
            t1, t2 = float(ts.min()), float(ts.max())
            if t2 - t1 <= 0:
                d, du = np.nan, np.nan
            else:
                d, du = propagate(lambda q, k=k, t1=t1, t2=t2: (design.trend(q, k, t2, True)
                                                                 - design.trend(q, k, t1, True)) / (t2 - t1),
                                  p, C)
        else:
            d, du = float(p[design.i_trend(k)]), float(np.sqrt(C[design.i_trend(k), design.i_trend(k)]))
        stats = robust_stats(np.exp(y[ins] - geo[ins]))
        segments.append(SegmentResult(po.versions[s], s, stats[0], int((valid & ~kept & (seg == s)).sum()),
                                      *stats[1:], d, du, float(ts.min()), float(ts.max())))
    # steps at each validity start with data on both sides
    steps = []
    for k in range(1, len(seg_ids)):
        s0, s1 = seg_ids[k - 1], seg_ids[k]
        if s1 != s0 + 1:
            notes.append(f"PO {po.versions[s0 + 1]}..{po.versions[s1 - 1]} have no acquisitions: "
                         f"the step at {po.versions[s1]} spans several updates and is not reported")
            log.warning("%s: %s", c, notes[-1])
            continue
        tv = float(po.validity_start[s1])
        def step_of(q, k=k, tv=tv):
            return np.exp(design.trend(q, k, tv, expo_flag) - design.trend(q, k - 1, tv, expo_flag)) - 1.0

        val, unc = propagate(step_of, p, C)
        steps.append(StepResult(po.versions[s1], tv, val, unc, float(gains[s0] / gains[s1] - 1.0)))

    # reprocessed series and its single-trend fit (phase levels when not identifiable above)
    fac = reprocess_factor(gains, seg, ref_idx)
    rep = series.ratio * fac
    y_rep = np.where(valid, np.log(np.where(valid, rep, 1.0)), 0.0)
    rdesign = _Design(t, [seg_ids[0]], np.full_like(seg, seg_ids[0]), phases_all[1:], series.phase, G,
                      design.cps, single_trend=True, valid=valid)
    rdesign.seg_ids = [seg_ids[0]]
    rfit = robust_fit(rdesign.X, y_rep, sigma, kept, tau_mode=expo_flag, dX_dtau=rdesign.dX_dtau,
                      reject=False)
    rp, rC = rfit.params, rfit.cov
    if expo_flag:
        t1, t2 = float(t[kept].min()), float(t[kept].max())
        drep, drep_u = propagate(lambda q: (rdesign.trend(q, 0, t2, True) - rdesign.trend(q, 0, t1, True))
                                 / (t2 - t1), rp, rC)
    else:
        it = rdesign.i_trend(0)
        drep, drep_u = float(rp[it]), float(np.sqrt(rC[it, it]))

    corrected = rep / np.exp(geo) / np.exp(cp_part)
    phases = []
    for name in phases_all:
        inp = kept & (series.phase == name)
        st = robust_stats(corrected[inp])
        if name == phases_all[0]:
            lev, lev_u, src = 0.0, 0.0, "reference"
        elif name in phase_cols:
            j = phase_cols.index(name)
            lev, lev_u = propagate(lambda q, j=j: np.exp(q[design.i_phase(j)]) - 1.0, p, C)
            src = "as-processed"
        else:
            j = phases_all[1:].index(name)
            lev, lev_u = propagate(lambda q, j=j: np.exp(q[rdesign.i_phase(j)]) - 1.0, rp, rC)
            src = "reprocessed"
        if inp.sum() >= 3 and np.ptp(t[inp]) > 0:
            pf = fit_drift(t[inp], corrected[inp], series.ratio_unc[inp] * fac[inp], "linear", reject=False)
            pd, pdu = pf.drift_per_year, pf.drift_unc
        else:
            pd, pdu = np.nan, np.nan
        phases.append(PhaseResult(name, st[0], st[1], st[2], st[3], st[4], lev, lev_u, pd, pdu, src))

    cps = []
    for j, (cpt, dchi2, thr) in enumerate(cp_found):
        v, u = propagate(lambda q, j=j: np.exp(q[design.i_cp(j)]) - 1.0, p, C)
        cps.append(ChangePoint(cpt, v, u, dchi2, thr))
    gdiag = np.sqrt(np.diag(C))[gsl]
    outlier = valid & ~kept
    return BandResult(
        c, choice, series.n, int(valid.sum()), int(outlier.sum()), fit.chi2, fit.dof, fit.scale,
        fit.rejection_capped, float(fit.tau) if expo_flag else np.nan,
        float(np.sqrt(C[-1, -1])) if expo_flag else np.nan, float(bic_l), float(bic_e), segments, steps,
        phases, gnames, p[gsl].copy(), gdiag.copy(), cps, drep, drep_u, po.versions[ref_idx],
        ratio_reprocessed=np.where(valid, rep, np.nan), ratio_corrected=np.where(valid, corrected, np.nan),
        model_ratio=np.where(valid, np.exp(model_y), np.nan),
        residual=np.where(valid, np.exp(y - model_y) - 1.0, np.nan), outlier=outlier, warnings=notes,
        used=valid.copy())
