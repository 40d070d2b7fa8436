"""Figures of a campaign: ratios vs time with PO dates and phases, drifts, PO steps, VM5 vs VM1,
acceptance, and the real AATSR / MERIS updates.

Each function draws on new axes (or given ones) and returns the matplotlib Figure; none calls
``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_acceptance", "plot_drifts", "plot_phase_levels", "plot_pulls", "plot_ratios",
           "plot_real_case", "plot_steps"]

PHASE_COLOURS = {"VM1": "tab:blue", "VM2": "tab:gray", "VM3": "tab:gray", "VM4": "tab:gray",
                 "VM5": "tab:orange"}


def _truth(truth, channel: str, term: str) -> float:
    if truth is None:
        return np.nan
    sel = (np.asarray(truth["channel"]) == channel) & (np.asarray(truth["term"]) == term)
    return float(np.asarray(truth["value"])[sel][0]) if sel.any() else np.nan


def plot_ratios(result, bands: Sequence[str] | None = None, ncols: int = 3,
                corrected: bool = False) -> Figure:
    """Ratio per band vs time: points with error bars, joint model, PO dates, phases, outliers.

    Parameters
    ----------
    result : etalon.campaign.analysis.CampaignResult
    bands : sequence of str, optional
        Bands to show (default all).
    corrected : bool
        Show the ratio reprocessed to the reference PO with the geometry removed instead of the
        as-processed ratio.
    """
    bands = list(bands or result.bands)
    nrows = int(np.ceil(len(bands) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.8 * nrows), squeeze=False, sharex=True,
                             layout="constrained")
    po = result.po
    for ax, name in zip(axes.flat, bands, strict=False):
        s, b = result.series[name], result.bands[name]
        y = b.ratio_corrected if corrected else s.ratio
        unc = s.ratio_unc * (b.ratio_corrected / s.ratio if corrected else 1)
        for ph in np.unique(s.phase):
            sel = (s.phase == ph) & ~b.outlier
            ax.errorbar(s.t_years[sel], y[sel], unc[sel], fmt=".", ms=3, lw=0.6,
                        color=PHASE_COLOURS.get(ph, "k"), label=ph)
        good = np.isfinite(y) & ~b.outlier
        lo, hi = np.nanmin(y[good]), np.nanmax(y[good])
        pad = 0.25 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        if b.outlier.any():  # drawn at the axis edge when off scale
            ax.plot(s.t_years[b.outlier], np.clip(y[b.outlier], lo - 0.9 * pad, hi + 0.9 * pad), "x",
                    color="red", ms=5, label="rejected (clipped to the axes)")
        if not corrected:
            order = np.argsort(s.t_years)
            for k in np.unique(s.po_index):
                sel = order[s.po_index[order] == k]
                ax.plot(s.t_years[sel], b.model_ratio[sel], "-", color="k", lw=0.8)
        for v, tv in zip(po.versions[1:], po.validity_start[1:], strict=True):
            ax.axvline(tv, color="green", ls="--", lw=0.8)
            ax.annotate(v, (tv, 1.0), xycoords=("data", "axes fraction"), fontsize=7, color="green",
                        rotation=90, va="top", ha="right")
        ax.set_title(f"{name} ({b.model}, {b.n_outliers} rejected)", fontsize=9)
        ax.set_ylabel("corrected ratio" if corrected else "ratio obs/model")
    for ax in axes.flat[len(bands):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("year")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle("Lunar ratio per band: " + ("reprocessed to " + result.parameters.get("reference_po", "")
                                              + ", geometry removed" if corrected else
                                              "as processed, joint model (black), PO updates (green)"))
    return fig


def _per_band_terms(result, kind: str):
    rows = []
    for name, b in result.bands.items():
        if kind == "drift":
            rows += [(name, s.version, s.drift, s.drift_unc) for s in b.segments]
        elif kind == "step":
            rows += [(name, s.version, s.measured, s.measured_unc, s.expected) for s in b.steps]
    return rows


def plot_drifts(result, truth=None) -> Figure:
    """Drift of each band in each PO segment with 1-sigma error bars (and the truth when given)."""
    fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
    bands = list(result.bands)
    versions = result.po.versions
    width = 0.8 / max(len(versions), 1)
    for k, v in enumerate(versions):
        x, y, e, tr = [], [], [], []
        for i, name in enumerate(bands):
            for s in result.bands[name].segments:
                if s.version == v and np.isfinite(s.drift):
                    x.append(i + (k - (len(versions) - 1) / 2) * width)
                    y.append(100 * s.drift)
                    e.append(100 * s.drift_unc)
                    tr.append(100 * _truth(truth, name, f"drift:{v}"))
        ax.errorbar(x, y, e, fmt="o", ms=4, capsize=2, label=f"segment {v}")
        if truth is not None:
            ax.plot(x, tr, "k_", ms=10)
    if truth is not None:
        ax.plot([], [], "k_", ms=10, label="truth")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xticks(range(len(bands)), bands)
    ax.set_xlabel("band")
    ax.set_ylabel("drift (% per year)")
    ax.set_title("Drift per band and PO segment (1-sigma error bars)")
    ax.legend(fontsize=8, ncol=2)
    return fig


def plot_steps(result, truth=None) -> Figure:
    """PO steps: measured (with 1-sigma error bars) against expected from the gains."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    rows = _per_band_terms(result, "step")
    if rows:
        m = np.array([r[2] for r in rows]) * 100
        u = np.array([r[3] for r in rows]) * 100
        ex = np.array([r[4] for r in rows]) * 100
        versions = [r[1] for r in rows]
        for v in dict.fromkeys(versions):
            sel = np.array([vv == v for vv in versions])
            ax.errorbar(ex[sel], m[sel], u[sel], fmt="o", ms=4, capsize=2, label=f"update to {v}")
            ax2.errorbar(np.flatnonzero(sel), (m - ex)[sel], u[sel], fmt="o", ms=4, capsize=2,
                         label=f"update to {v}")
        lim = [min(ex.min(), m.min()) - 0.2, max(ex.max(), m.max()) + 0.2]
        ax.plot(lim, lim, "k-", lw=0.6, label="measured = expected")
        ax2.set_xticks(range(len(rows)), [r[0] for r in rows], fontsize=7, rotation=90)
        ax2.legend(fontsize=7, ncol=3)
    ax.set_xlabel("expected step from the gains (%)")
    ax.set_ylabel("measured step (%)")
    ax.set_title("PO steps: measured vs expected")
    ax.legend(fontsize=8)
    ax2.axhline(0, color="k", lw=0.6)
    ax2.set_ylabel("measured - expected (%)")
    ax2.set_xlabel("band")
    ax2.set_title("What the updates did that the gains do not say")
    return fig


def plot_phase_levels(result, phase: str = "VM5", truth=None) -> Figure:
    """Level of ``phase`` relative to the first phase per band, 1-sigma error bars."""
    fig, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
    bands = list(result.bands)
    lev, unc, tr = [], [], []
    for name in bands:
        p = [q for q in result.bands[name].phases if q.name == phase]
        lev.append(100 * p[0].level if p else np.nan)
        unc.append(100 * p[0].level_unc if p else np.nan)
        tr.append(100 * _truth(truth, name, f"phase:{phase}"))
    x = np.arange(len(bands))
    ax.errorbar(x, lev, unc, fmt="o", capsize=3, color=PHASE_COLOURS.get(phase, "k"),
                label=f"{phase} / first phase - 1")
    if truth is not None:
        ax.plot(x, tr, "k_", ms=12, label="truth")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xticks(x, bands)
    ax.set_xlabel("band")
    ax.set_ylabel("level (%)")
    ax.set_title(f"{phase} against the first phase, after drift removal")
    ax.legend(fontsize=8)
    return fig


def plot_acceptance(table) -> Figure:
    """The acceptance figures: |offset| and |drift| per band against their thresholds."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    x = np.arange(len(table))
    for ax, key, unc, thr, label, flag in ((a1, "phase_offset", "phase_offset_unc", "max_phase_offset",
                                            "|phase offset| (%)", "pass_offset"),
                                           (a2, "drift", "drift_unc", "max_abs_drift",
                                            "|drift| (% per year)", "pass_drift")):
        colours = np.where(np.asarray(table[flag], dtype=bool), "tab:green", "tab:red")
        v = 100 * np.abs(np.asarray(table[key], dtype=float))
        u = 100 * np.asarray(table[unc], dtype=float)
        ax.bar(x, v, color=colours, alpha=0.7)
        ax.errorbar(x, v, u, fmt="none", ecolor="k", capsize=2)
        ax.step(np.r_[x - 0.5, x[-1] + 0.5] if len(x) else [], np.r_[100 * np.asarray(table[thr], float),
                100 * float(table[thr][-1])] if len(x) else [], where="post", color="k", ls="--",
                label="threshold")
        ax.set_xticks(x, list(table["channel"]))
        ax.set_xlabel("band (green: criterion met, red: not met)")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    verdicts = ", ".join(f"{c} {v}" for c, v in zip(table["channel"], table["verdict"], strict=True))
    fig.suptitle(f"In-flight acceptance: {table.meta.get('phase', '')} vs "
                 f"{table.meta.get('reference_phase', '')} (verdicts: {verdicts})", fontsize=9)
    return fig


def plot_pulls(pulls: np.ndarray, title: str = "Pulls against the truth") -> Figure:
    """Histogram of pulls (error / sigma) with the unit Gaussian."""
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    p = np.asarray(pulls, dtype=float)
    ax.hist(p, bins=np.linspace(-4, 4, 33), density=True, alpha=0.6, label=f"{p.size} terms")
    xx = np.linspace(-4, 4, 200)
    ax.plot(xx, np.exp(-xx**2 / 2) / np.sqrt(2 * np.pi), "k-", label="N(0, 1)")
    ax.set_xlabel("(measured - truth) / reported sigma")
    ax.set_ylabel("density")
    ax.set_title(f"{title}: rms {np.sqrt(np.mean(p**2)):.2f}")
    ax.legend(fontsize=8)
    return fig


def plot_real_case(case, ax=None) -> Figure:
    """A real update: as-processed series with the geometry removed, the joint model's trend of
    each version, the update date, and the measured vs expected step in the title."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
    else:
        fig = ax.figure
    r = case.result
    t = case.t_years
    geo = np.exp(case.geometry @ r.geometry_coef)
    corr = case.as_processed / geo
    trend = r.model_ratio / geo
    for k, v in enumerate(case.versions):
        sel = ((t >= case.update) == bool(k)) & ~r.outlier
        ax.plot(t[sel], corr[sel], ".", ms=3, label=f"{v} in force")
        ax.plot(t[sel], trend[sel], "k-", lw=1)
    if r.outlier.any():
        ax.plot(t[r.outlier], corr[r.outlier], "x", color="red", label="rejected")
    ax.plot([], [], "k-", label="joint model trend")
    ax.axvline(case.update, color="green", ls="--", label="update")
    ax.set_xlabel("year")
    ax.set_ylabel("TOA reflectance, geometry removed")
    s = r.steps[0] if r.steps else None
    txt = (f"step {100 * s.measured:+.2f} +- {100 * s.measured_unc:.2f} % "
           f"(expected {100 * s.expected:+.2f} +- {100 * case.direct_step_unc:.2f} %)" if s else "")
    ax.set_title(f"{case.name}, {case.band}: {txt}", fontsize=9)
    ax.legend(fontsize=7, ncol=3)
    return fig
