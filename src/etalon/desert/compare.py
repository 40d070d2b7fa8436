"""VENuS desert calibration and the Moon-versus-desert comparison, per band and phase.

Desert side (:func:`venus_desert_terms`): the VENuS acquisitions over Libya-4 (a table such
as :func:`etalon.desert.simulate.simulate_venus_desert` writes, or real ROI means with the
same columns) are first brought to one PO (``rho x ak_in_force / ak_first``: the gain in
force at each acquisition is a product attribute), then per band one joint weighted fit::

    rho_i = (f_iso + f_vol K_vol_i + f_geo K_geo_i) * exp(d (t_i - t_ref) + sum_p phi_p [phase_i = p])

gives the site's directional model (Ross-thick / Li-sparse-R, :mod:`etalon.desert.brdf`), the
instrument drift ``d`` (fraction per year, ``d ln(gain)/dt``) and, per phase after the first,
its level ``exp(phi_p) - 1`` relative to the first phase after drift removal: the same
definition as the campaign's ``phase:<name>`` terms (:mod:`etalon.campaign.phases`). Gauss-Newton
iterations; covariance scaled by the reduced chi-square; outliers rejected with the rules of
:mod:`etalon.desert.brdf` (ROI heterogeneity, robust residuals, consistency across bands).
When the table carries the truth (``true_gain``), the same model fitted to the noise-free
truth at the kept acquisitions is reported as ``truth`` (what the estimator aims at).

Comparison (:func:`compare_moon_desert`): per band, the Moon's ``phase:<name>`` (campaign
SUMMARY.ecsv: ``channel, term, value, unc``; the first phase is the reference, 0 +- 0) and the
desert's, side by side; ``difference = moon - desert`` with ``sqrt(u_moon^2 + u_desert^2)``,
``z = difference / unc`` and ``consistent = |z| <= k`` (default 3). The drift each method sees:
the Moon's ``drift:<version>`` terms combined by inverse-variance weighting (the instrument's
drift within PO segments) against the desert's ``drift:all``.
"""

from __future__ import annotations

import logging

import numpy as np

from etalon.desert.brdf import InsufficientDataError, kernels

__all__ = ["compare_moon_desert", "desert_band_fit", "moon_summary", "venus_desert_terms"]

log = logging.getLogger(__name__)


def _robust_sigma(r: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def _design(x: np.ndarray, tau: np.ndarray, ind: np.ndarray, p: np.ndarray):
    f, d, phi = p[:3], p[3], p[4:]
    base = x @ f
    e = np.exp(d * tau + (ind @ phi if ind.shape[1] else 0.0))
    m = base * e
    jac = np.column_stack([x * e[:, None], m * tau, m[:, None] * ind])
    return m, jac


def _gn(x, tau, ind, y, w, p0, n_iter: int = 30):
    p = p0.copy()
    for _ in range(n_iter):
        m, j = _design(x, tau, ind, p)
        sw = np.sqrt(w)
        step, *_ = np.linalg.lstsq(j * sw[:, None], (y - m) * sw, rcond=None)
        p = p + step
        if np.max(np.abs(step)) < 1e-10:
            break
    m, j = _design(x, tau, ind, p)
    dof = max(y.size - p.size, 1)
    chi2 = float(np.sum(w * (y - m) ** 2) / dof)
    a = j * np.sqrt(w)[:, None]
    cov = np.linalg.pinv(a.T @ a) * chi2
    return p, cov, m, chi2


def desert_band_fit(sza, vza, raa, t_years, phase, rho, sigma=None, exclude=None,
                    k_sigma: float = 3.5, min_acquisitions: int = 10, max_iter: int = 20):
    """Joint BRDF + drift + phase-level fit of one band (module docstring).

    Parameters
    ----------
    sza, vza, raa : numpy.ndarray, shape (n,)
        Geometry, deg.
    t_years : numpy.ndarray
        Decimal years.
    phase : numpy.ndarray of str
        Orbit phase of each acquisition.
    rho : numpy.ndarray
        TOA reflectance at one PO.
    sigma : numpy.ndarray, optional
        Per-acquisition sigma for the weights (default equal).
    exclude : numpy.ndarray of bool, optional
        Acquisitions flagged beforehand.

    Returns
    -------
    dict
        ``phases`` (names, first = reference), ``params``, ``cov``, ``t_ref``, ``used`` (bool),
        ``birge``, ``level`` {phase: (value, unc)}, ``drift`` (value, unc).

    Raises
    ------
    InsufficientDataError
        Too few clear acquisitions (overall, or in a phase).
    """
    rho = np.asarray(rho, float)
    t = np.asarray(t_years, float)
    phase = np.asarray(phase, dtype=str)
    x = kernels(sza, vza, raa)
    n = rho.size
    s = np.ones(n) if sigma is None else np.asarray(sigma, float).copy()
    good = np.isfinite(s) & (s > 0)
    s[~good] = np.median(s[good]) if good.any() else 1.0
    w = 1 / s ** 2
    valid = np.isfinite(rho) & np.all(np.isfinite(x), axis=1) & np.isfinite(t)
    if exclude is not None:
        valid &= ~np.asarray(exclude, bool)
    names = sorted(set(phase[valid]), key=lambda p: float(np.min(t[valid & (phase == p)])))
    if valid.sum() < max(min_acquisitions, 4 + len(names)):
        raise InsufficientDataError(f"{int(valid.sum())} clear acquisitions: too few for the joint fit")
    ind = np.column_stack([(phase == p).astype(float) for p in names[1:]]) if len(names) > 1 \
        else np.zeros((n, 0))
    use = valid.copy()
    t_ref = float(np.mean(t[use]))
    tau = t - t_ref
    p0 = np.zeros(4 + ind.shape[1])
    coef, *_ = np.linalg.lstsq(x[use], rho[use], rcond=None)
    p0[:3] = coef
    for _ in range(max_iter):
        p, *_ = _gn(x[use], tau[use], ind[use], rho[use], w[use], p0)
        mall, _ = _design(x, tau, ind, p)
        rel = np.where(valid, rho / mall - 1, np.nan)
        centre, spread = np.median(rel[use]), _robust_sigma(rel[use])
        new = valid & (np.abs(rel - centre) <= k_sigma * max(spread, 1e-6))
        for q in names:
            if (new & (phase == q)).sum() < 3:
                raise InsufficientDataError(f"phase {q}: fewer than 3 clear acquisitions")
        if np.array_equal(new, use):
            break
        use = new
        p0 = p
    p, cov, _, chi2 = _gn(x[use], tau[use], ind[use], rho[use], w[use], p0)
    level = {names[0]: (0.0, 0.0)}
    for k, q in enumerate(names[1:]):
        phi, uphi = p[4 + k], float(np.sqrt(max(cov[4 + k, 4 + k], 0.0)))
        level[q] = (float(np.expm1(phi)), float(np.exp(phi) * uphi))
    return {"phases": names, "params": p, "cov": cov, "t_ref": t_ref, "used": use,
            "birge": float(np.sqrt(chi2)), "level": level,
            "drift": (float(p[3]), float(np.sqrt(max(cov[3, 3], 0.0))))}


def _truth_terms(t, phase, g, used, names, t_ref):
    ind = [np.ones(used.sum()), t[used] - t_ref] + [(phase[used] == q).astype(float)
                                                     for q in names[1:]]
    a = np.column_stack(ind)
    coef, *_ = np.linalg.lstsq(a, np.log(g[used]), rcond=None)
    out = {names[0]: 0.0}
    for k, q in enumerate(names[1:]):
        out[q] = float(np.expm1(coef[2 + k]))
    return out, float(coef[1])


def venus_desert_terms(table, reprocess: bool = True, cv_max: float = 0.06,
                       k_sigma: float = 3.5, min_acquisitions: int = 10):
    """Desert-derived calibration terms per VENuS band: ``phase:<name>`` and ``drift:all``.

    Parameters
    ----------
    table : astropy.table.Table
        One row per acquisition and band with ``time`` or ``decimal_year``, ``phase``,
        ``band``, ``sza``, ``vza``, ``raa``, ``rho``; optional ``rho_std`` (weights and the
        heterogeneity rule), ``ak_in_force`` (needed for ``reprocess``), truth
        ``true_gain``.
    reprocess : bool
        Bring every acquisition to the first PO before fitting (needs ``ak_in_force``).
    cv_max, k_sigma, min_acquisitions
        Outlier rules and minimum size (:mod:`etalon.desert.brdf`).

    Returns
    -------
    astropy.table.Table
        Columns ``channel``, ``term``, ``value``, ``unc``, ``n``, ``n_outliers``, and
        ``truth`` when the table has ``true_gain`` (NaN otherwise); ``meta['failed']``
        lists bands that could not be fitted.

    Raises
    ------
    ValueError
        A required column missing, or no band could be fitted.
    """
    from astropy.table import Table

    need = ("phase", "band", "sza", "vza", "raa", "rho")
    missing = [c for c in need if c not in table.colnames]
    if "decimal_year" not in table.colnames and "time" not in table.colnames:
        missing.append("time")
    if reprocess and "ak_in_force" not in table.colnames:
        missing.append("ak_in_force (or reprocess=False)")
    if missing:
        raise ValueError(f"desert table has no column {', '.join(missing)}")
    if "decimal_year" in table.colnames:
        t_all = np.asarray(table["decimal_year"], float)
    else:
        from etalon.desert.dimitri import time_to_decimal_year

        t_all = time_to_decimal_year(np.asarray(table["time"], dtype=str))
    band_all = np.asarray(table["band"], dtype=str)
    bands = sorted(set(band_all), key=lambda b: (len(b), b))
    # acquisition key: time; rule 1 (heterogeneity) from the shortest band
    wl = (np.asarray(table["wavelength"], float) if "wavelength" in table.colnames
          else np.zeros(len(table)))
    order = sorted(bands, key=lambda b: float(np.median(wl[band_all == b])))
    het_times: set = set()
    if "rho_std" in table.colnames:
        sel = band_all == order[0]
        cv = np.asarray(table["rho_std"], float)[sel] / np.asarray(table["rho"], float)[sel]
        het_times = set(np.round(t_all[sel][np.isfinite(cv) & (cv > cv_max)], 9).tolist())
    rows = []
    failed = {}
    fits = {}
    for b in bands:
        sel = band_all == b
        sub = table[sel]
        t = t_all[sel]
        rho = np.asarray(sub["rho"], float)
        if reprocess:
            ak = np.asarray(sub["ak_in_force"], float)
            order_t = np.argsort(t)
            rho = rho * ak / ak[order_t[0]]
        sigma = np.asarray(sub["rho_std"], float) if "rho_std" in sub.colnames else None
        het = np.isin(np.round(t, 9), list(het_times))
        try:
            fits[b] = (desert_band_fit(np.asarray(sub["sza"], float), np.asarray(sub["vza"], float),
                                       np.asarray(sub["raa"], float), t,
                                       np.asarray(sub["phase"], dtype=str), rho, sigma, het,
                                       k_sigma, min_acquisitions), sel, rho, sigma, het)
        except InsufficientDataError as exc:
            failed[b] = str(exc)
    # rule 3: acquisitions rejected in at least half the fitted bands are rejected in all
    if fits:
        counts: dict = {}
        for f, sel, *_r in fits.values():
            for tt in np.round(t_all[sel][~f["used"]], 9):
                counts[tt] = counts.get(tt, 0) + 1
        bad = {tt for tt, c in counts.items() if c >= 0.5 * len(fits)}
        for b, (f, sel, rho, sigma, het) in list(fits.items()):
            t = t_all[sel]
            extra = np.isin(np.round(t, 9), list(bad)) | het
            if np.any(extra & f["used"]):
                sub = table[sel]
                try:
                    f = desert_band_fit(np.asarray(sub["sza"], float), np.asarray(sub["vza"], float),
                                        np.asarray(sub["raa"], float), t,
                                        np.asarray(sub["phase"], dtype=str), rho, sigma, extra,
                                        k_sigma, min_acquisitions)
                except InsufficientDataError as exc:
                    failed[b] = str(exc)
                    del fits[b]
                    continue
                fits[b] = (f, sel, rho, sigma, het)
    for b in bands:
        if b not in fits:
            continue
        f, sel, *_ = fits[b]
        sub = table[sel]
        t = t_all[sel]
        truth_lv, truth_d = ({}, float("nan"))
        if "true_gain" in sub.colnames:
            g = np.asarray(sub["true_gain"], float)
            if not reprocess and "ak_in_force" in sub.colnames:
                g = g / np.asarray(sub["ak_in_force"], float)
            truth_lv, truth_d = _truth_terms(t, np.asarray(sub["phase"], dtype=str), g, f["used"],
                                             f["phases"], f["t_ref"])
        n_used = int(f["used"].sum())
        n_out = int(np.isfinite(np.asarray(sub["rho"], float)).sum()) - n_used
        for q in f["phases"]:
            v, u = f["level"][q]
            rows.append((b, f"phase:{q}", v, u, n_used, n_out, truth_lv.get(q, float("nan"))))
        d, du = f["drift"]
        rows.append((b, "drift:all", d, du, n_used, n_out, truth_d))
    if not rows:
        raise ValueError("no band could be fitted: " + "; ".join(f"{b}: {m}" for b, m in failed.items()))
    out = Table(rows=rows, names=("channel", "term", "value", "unc", "n", "n_outliers", "truth"),
                dtype=(str, str, float, float, int, int, float))
    out.meta["failed"] = failed
    out.meta["method"] = ("joint Ross-thick/Li-sparse-R BRDF x exp(drift t + phase levels), "
                          "WLS Gauss-Newton" + (", reprocessed to the first PO" if reprocess else ""))
    return out


def compare_moon_desert(moon, desert, k: float = 3.0):
    """Moon versus desert, per band: phase levels and drift side by side (module docstring).

    Parameters
    ----------
    moon : astropy.table.Table
        Campaign summary (``channel``, ``term``, ``value``, ``unc``).
    desert : astropy.table.Table
        Desert terms (:func:`venus_desert_terms`).
    k : float
        Consistency threshold on ``|z|``.

    Returns
    -------
    astropy.table.Table
        ``channel``, ``term`` (``phase:<name>`` or ``drift``), ``moon``, ``moon_unc``,
        ``desert``, ``desert_unc``, ``difference``, ``difference_unc``, ``z``, ``consistent``,
        ``desert_truth``; desert phase terms the Moon summary lacks (phases without lunar
        acquisitions) are listed in ``meta['desert_terms_without_moon']``.

    Raises
    ------
    ValueError
        Missing columns, or no band in common.
    """
    from astropy.table import Table

    for name, tab in (("moon summary", moon), ("desert terms", desert)):
        miss = [c for c in ("channel", "term", "value", "unc") if c not in tab.colnames]
        if miss:
            raise ValueError(f"{name} has no column {', '.join(miss)}")
    mch = np.asarray(moon["channel"], dtype=str)
    mterm = np.asarray(moon["term"], dtype=str)
    dch = np.asarray(desert["channel"], dtype=str)
    dterm = np.asarray(desert["term"], dtype=str)
    common = [c for c in dict.fromkeys(dch.tolist()) if c in set(mch.tolist())]
    if not common:
        raise ValueError("the Moon summary and the desert terms have no band in common "
                         f"(Moon: {sorted(set(mch))[:6]}..., desert: {sorted(set(dch))[:6]}...)")
    has_truth = "truth" in desert.colnames
    rows = []
    unmatched: list[str] = []
    for c in common:
        dsel = dch == c
        msel = mch == c
        moon_terms = {t: (float(v), float(u)) for t, v, u in zip(
            mterm[msel], np.asarray(moon["value"])[msel], np.asarray(moon["unc"])[msel], strict=True)}
        for t, v, u, tr in zip(dterm[dsel], np.asarray(desert["value"], float)[dsel],
                               np.asarray(desert["unc"], float)[dsel],
                               (np.asarray(desert["truth"], float)[dsel] if has_truth
                                else np.full(dsel.sum(), np.nan)), strict=True):
            if t.startswith("phase:"):
                first = u == 0 and v == 0
                if t not in moon_terms and not first:
                    unmatched.append(f"{c} {t}")   # e.g. VM2-VM4: no lunar acquisition
                    continue
                mv, mu = moon_terms.get(t, (0.0, 0.0))
                rows.append((c, t, mv, mu, v, u, tr))
            elif t == "drift:all":
                drifts = [(vv, uu) for tt, (vv, uu) in moon_terms.items()
                          if tt.startswith("drift:") and np.isfinite(vv) and uu > 0]
                if drifts:
                    ww = np.array([1 / uu ** 2 for _, uu in drifts])
                    mv = float(np.sum(ww * np.array([vv for vv, _ in drifts])) / ww.sum())
                    mu = float(1 / np.sqrt(ww.sum()))
                else:
                    mv, mu = np.nan, np.nan
                rows.append((c, "drift", mv, mu, v, u, tr))
    out = Table(rows=rows, names=("channel", "term", "moon", "moon_unc", "desert", "desert_unc",
                                  "desert_truth"),
                dtype=(str, str, float, float, float, float, float))
    out["difference"] = out["moon"] - out["desert"]
    out["difference_unc"] = np.hypot(out["moon_unc"], out["desert_unc"])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(out["difference_unc"] > 0, out["difference"] / out["difference_unc"], np.nan)
    out["z"] = z
    out["consistent"] = np.where(np.isfinite(z), np.abs(z) <= k, out["difference"] == 0)
    out.meta["k"] = k
    out.meta["desert_terms_without_moon"] = unmatched
    out.meta["drift_rule"] = "Moon drift = inverse-variance mean of its drift:<version> terms"
    return out


def moon_summary(moon, po, folder):
    """The Moon side: :mod:`etalon.campaign` run on a lunar measurement table and PO registry.

    Parameters
    ----------
    moon, po : astropy.table.Table
        Measurement rows (``time``, ``channel``, ``ratio``, ``ratio_unc``, ``phase_angle``,
        ``phase``) and PO registry (``version``, ``validity_start``, ``channel``, ``gain``),
        e.g. from :func:`etalon.desert.simulate.simulate_coupled_campaign`.
    folder : path-like
        Where the two tables are written for the campaign reader.

    Returns
    -------
    astropy.table.Table
        The campaign summary (``channel``, ``term``, ``value``, ``unc``).
    """
    import os

    from etalon.campaign import analyze_files, summary_table

    os.makedirs(folder, exist_ok=True)
    mp, pp = os.path.join(folder, "moon_measure.ecsv"), os.path.join(folder, "po.ecsv")
    moon.write(mp, format="ascii.ecsv", overwrite=True)
    po.write(pp, format="ascii.ecsv", overwrite=True)
    return summary_table(analyze_files([mp], pp))
