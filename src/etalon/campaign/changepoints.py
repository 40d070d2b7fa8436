"""Change points: steps in a band's series that no PO update explains.

Method (numpy only): greedy binary segmentation with a likelihood-ratio test on the joint
model. For every candidate date (the midpoint between two consecutive kept acquisitions) the
model is augmented with a step column ``H(t - c)``; the chi-square decrease is computed at once
for all candidates by projecting the step columns out of the (weighted) design matrix:
``dchi2 = (h'^T r)^2 / (h'^T h')`` with ``h'`` the part of the step orthogonal to the model and
``r`` the weighted residuals. The best candidate is accepted when ``dchi2 / s^2`` exceeds the
chi-square(1 dof) quantile at ``alpha / m`` (Bonferroni over the ``m`` candidates, ``alpha``
0.001 by default; ``s^2`` = max(1, reduced chi-square)); the step is then added to the model and
the scan repeated (at most ``max_changepoints``). The scan uses the kept acquisitions only.
A large jump makes the robust fit reject the acquisitions after it: a run of at least
``min_size`` consecutive rejected acquisitions with residuals of one sign (:func:`rejected_runs`)
is tested in the same way, on the kept points plus the run, with and without the step.
Candidates within ``min_separation_days`` (30) of a PO validity start, or with fewer than
``min_size`` (5) acquisitions on either side inside their block (a run of one PO segment and
one orbit phase, cut at the steps already found) are not tested: a PO step or a phase level
explains them, or too few points would carry the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ChangePoint", "rejected_runs", "scan_step"]


@dataclass
class ChangePoint:
    """A detected step of one band.

    Attributes
    ----------
    t_years : float
        Date of the step (midpoint between two acquisitions), Julian years.
    step, step_unc : float
        ``ratio_after / ratio_before - 1`` and its 1-sigma uncertainty (from the final fit).
    delta_chi2 : float
        Chi-square decrease when it was accepted (after scaling).
    threshold : float
        The threshold it passed.
    """

    t_years: float
    step: float
    step_unc: float
    delta_chi2: float
    threshold: float


def scan_step(X: np.ndarray, y: np.ndarray, sigma: np.ndarray, kept: np.ndarray, t: np.ndarray,
              segment: np.ndarray, phase: np.ndarray, po_starts: np.ndarray, *, alpha: float = 0.001,
              min_size: int = 5, min_separation_days: float = 30.0, scale2: float = 1.0,
              existing: np.ndarray | None = None) -> tuple[float, float, float] | None:
    """Best single step to add to a fitted model, or None when none is significant.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Design matrix of the current model (all rows).
    y, sigma : numpy.ndarray, shape (n,)
        Data (ln ratio) and uncertainties.
    kept : numpy.ndarray of bool
        Rows in the fit.
    t : numpy.ndarray
        Julian years.
    segment : numpy.ndarray of int
        PO segment of each row.
    phase : numpy.ndarray of str
    po_starts : numpy.ndarray
        Validity starts, Julian years.
    scale2 : float
        Variance scale (max(1, reduced chi-square)).

    existing : numpy.ndarray, optional
        Change points already in the model, Julian years.

    Returns
    -------
    (t_candidate, delta_chi2_scaled, threshold) or None
    """
    from scipy.special import chdtri

    existing = np.zeros(0) if existing is None else np.asarray(existing, dtype=float)
    idx = np.flatnonzero(kept)
    if idx.size < 2 * min_size + X.shape[1]:
        return None
    tk, sk, pk = t[idx], segment[idx], np.asarray(phase)[idx]
    # blocks: runs of one PO segment and one phase, also cut at the steps already in the model
    cut = np.concatenate([[0], np.cumsum((sk[1:] != sk[:-1]) | (pk[1:] != pk[:-1])
                                         | (np.searchsorted(np.sort(existing), tk[1:])
                                            != np.searchsorted(np.sort(existing), tk[:-1])))])
    cands = []
    for j in range(idx.size - 1):
        if cut[j] != cut[j + 1] or tk[j + 1] <= tk[j]:
            continue
        c = 0.5 * (tk[j] + tk[j + 1])
        if np.any(np.abs(po_starts - c) * 365.25 < min_separation_days):
            continue
        block = cut == cut[j]
        if np.sum(block & (tk < c)) < min_size or np.sum(block & (tk > c)) < min_size:
            continue
        cands.append(c)
    if not cands:
        return None
    c = np.asarray(cands)
    w = 1.0 / sigma[idx]
    A = X[idx] * w[:, None]
    Q, _ = np.linalg.qr(A)
    beta, *_ = np.linalg.lstsq(A, y[idx] * w, rcond=None)
    r = y[idx] * w - A @ beta
    H = (tk[:, None] > c[None, :]).astype(float) * w[:, None]
    Hp = H - Q @ (Q.T @ H)
    den = np.sum(Hp * Hp, axis=0)
    ok = den > 1e-12 * np.sum(H * H, axis=0)
    d = np.where(ok, (Hp.T @ r) ** 2 / np.where(ok, den, 1.0), 0.0) / scale2
    best = int(np.argmax(d))
    thr = float(chdtri(1, alpha / c.size))  # chi-square(1) quantile at alpha / m
    if d[best] > thr:
        return float(c[best]), float(d[best]), thr
    return None


def rejected_runs(t: np.ndarray, kept: np.ndarray, valid: np.ndarray, residual: np.ndarray,
                  segment: np.ndarray, phase: np.ndarray,
                  min_size: int = 5) -> list[tuple[float, np.ndarray]]:
    """Runs of at least ``min_size`` consecutive rejected acquisitions with residuals of one sign.

    After an instrument jump the robust fit rejects the acquisitions that follow it: such a
    run (inside one PO segment and one phase) is a step candidate, tested by the caller with a
    likelihood-ratio test on a fixed set of points (the kept ones plus the run).

    Returns
    -------
    list of (candidate date in Julian years, boolean mask of the run): the dates before and
    after each run
    """
    idx = np.flatnonzero(valid)
    out = []
    j = 0
    while j < idx.size:
        if kept[idx[j]]:
            j += 1
            continue
        k = j
        sign = np.sign(residual[idx[j]])
        while (k + 1 < idx.size and not kept[idx[k + 1]] and np.sign(residual[idx[k + 1]]) == sign
               and segment[idx[k + 1]] == segment[idx[j]] and phase[idx[k + 1]] == phase[idx[j]]):
            k += 1
        if k - j + 1 >= min_size:
            mask = np.zeros(t.size, bool)
            mask[idx[j:k + 1]] = True
            # the step is at the start of the run (the run follows a jump) or at its end (the
            # fit followed the later points and rejected the earlier ones)
            if j > 0:
                out.append((0.5 * (t[idx[j - 1]] + t[idx[j]]), mask))
            if k + 1 < idx.size:
                out.append((0.5 * (t[idx[k]] + t[idx[k + 1]]), mask))
        j = k + 1
    return out
