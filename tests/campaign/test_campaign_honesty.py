"""Honesty of the campaign analysis on synthetic campaigns with known truth (own seeds).

Every drift, PO step and phase level is compared with the truth of the generator: pulls
(error / reported sigma) must have an rms near 1, almost none beyond 3 sigma, and the reported
sigmas must not exceed 3 times the statistical limit of the sampling (the Cramer-Rao bound of
the linear model, computed here from the design matrix with the true noise, independently of
the package's fitting code).
"""

from __future__ import annotations

import numpy as np
import pytest

from etalon.campaign.analysis import analyze_campaign
from etalon.campaign.series import build_series, check_measurement_table, po_from_table
from etalon.campaign.synthetic import simulate_campaign

SEEDS = (101, 102, 103, 104, 105)


def _run(camp):
    tab = check_measurement_table(camp.table)
    po = po_from_table(camp.po)
    series = build_series(tab, po)
    return analyze_campaign(series, po), series, po


def _cramer_rao(camp, series, po, channel):
    """Variances of the true linear model's drifts, steps and phase level (true noise, good points)."""
    s = series[channel]
    bad = np.asarray(camp.table["is_bad"])[np.asarray(camp.table["channel"]) == channel]
    good = ~bad
    t, seg = s.t_years[good], s.po_index[good]
    segs = sorted(set(seg.tolist()))
    tm = {k: t[seg == k].mean() for k in segs}
    g = s.phase_angle[good]
    x = np.abs(g) - 45.0
    cols = [(seg == k).astype(float) for k in segs]
    cols += [(seg == k) * (t - tm[k]) for k in segs]
    cols += [(s.phase[good] == "VM5").astype(float), x * (g < 0), x * (g >= 0)]
    cols += [s.libration[good, 0], s.libration[good, 1]]
    X = np.column_stack(cols)
    C = np.linalg.inv(X.T @ X / camp.noise**2)
    ns = len(segs)
    out = {}
    for i, k in enumerate(segs):
        out[f"drift:{po.versions[k]}"] = np.sqrt(C[ns + i, ns + i])
    for i in range(1, ns):
        k0, k1 = segs[i - 1], segs[i]
        tv = po.validity_start[k1]
        grad = np.zeros(X.shape[1])
        grad[i], grad[i - 1] = 1, -1
        grad[ns + i], grad[ns + i - 1] = tv - tm[k1], -(tv - tm[k0])
        out[f"step:{po.versions[k1]}"] = np.sqrt(grad @ C @ grad)
    out["phase:VM5"] = np.sqrt(C[2 * ns, 2 * ns])
    return out


@pytest.fixture(scope="module")
def campaigns():
    out = []
    for seed in SEEDS:
        camp = simulate_campaign(seed)
        res, series, po = _run(camp)
        out.append((camp, res, series, po))
    return out


def _pulls(camp, res, series=None, po=None, cr=False):
    pulls, ratios = [], []
    for c, b in res.bands.items():
        limit = _cramer_rao(camp, series, po, c) if cr else {}
        items = [(f"drift:{s.version}", s.drift, s.drift_unc, 1.0) for s in b.segments]
        items += [(f"step:{s.version}", s.measured, s.measured_unc, 1 + s.measured) for s in b.steps]
        items += [(f"phase:{p.name}", p.level, p.level_unc, 1 + p.level) for p in b.phases[1:]]
        for term, value, unc, jac in items:
            pulls.append((value - camp.truth_value(c, term)) / unc)
            if cr:
                ratios.append(unc / (limit[term] * jac))
    return np.array(pulls), np.array(ratios)


def test_pulls_are_honest_over_many_bands_and_seeds(campaigns):
    pulls = np.concatenate([_pulls(c, r)[0] for c, r, _, _ in campaigns])
    assert pulls.size >= 300
    rms = float(np.sqrt(np.mean(pulls**2)))
    assert 0.8 < rms < 1.25, rms
    # Gaussian: 0.27 % beyond 3 sigma; allow 1 %, and nothing absurd
    assert np.mean(np.abs(pulls) > 3) <= 0.01
    assert np.max(np.abs(pulls)) < 4.5
    assert abs(np.mean(pulls)) < 0.2  # no bias


def test_every_term_of_the_first_campaign_within_three_sigma(campaigns):
    camp, res, _, _ = campaigns[0]
    pulls, _ = _pulls(camp, res)
    assert np.all(np.abs(pulls) < 3), np.abs(pulls).max()


def test_sigmas_within_three_times_the_statistical_limit(campaigns):
    for camp, res, series, po in campaigns[:3]:
        _, ratios = _pulls(camp, res, series, po, cr=True)
        # never below the limit (no optimistic sigma), never more than 3x above it
        assert ratios.min() > 0.9, ratios.min()
        assert ratios.max() < 3.0, ratios.max()


def test_bad_acquisitions_are_the_rejected_ones(campaigns):
    for camp, res, _, _ in campaigns:
        for c, b in res.bands.items():
            bad = np.asarray(camp.table["is_bad"])[np.asarray(camp.table["channel"]) == c]
            assert np.array_equal(b.outlier, bad), c
            assert b.n_outliers == 3


def test_no_false_change_points_in_clean_campaigns(campaigns):
    n = sum(len(b.changepoints) for _, r, _, _ in campaigns for b in r.bands.values())
    assert n <= 1  # 60 bands at a family-wise false-alarm rate of 0.1 % each


def test_unexplained_jumps_are_found_and_measured():
    from etalon.campaign.series import julian_year

    jumps = {"B7": ("2022-06-15", 0.01), "B8": ("2024-03-15", -0.006)}
    allp = []
    for seed in (211, 212):
        camp = simulate_campaign(seed, jumps=jumps, bands=["B5", "B6", "B7", "B8"])
        res, _, _ = _run(camp)
        for band, (date, size) in jumps.items():
            cps = res.bands[band].changepoints
            assert len(cps) == 1, (seed, band, cps)
            assert abs(cps[0].t_years - julian_year(date)[0]) * 365.25 < 20
            assert abs(cps[0].step - size) < 3 * cps[0].step_unc
            assert res.bands[band].n_outliers <= 4  # the points after the jump are not thrown away
        assert not res.bands["B5"].changepoints and not res.bands["B6"].changepoints
        allp.append(_pulls(camp, res)[0])
    allp = np.concatenate(allp)
    assert 0.7 < np.sqrt(np.mean(allp**2)) < 1.3
    assert np.max(np.abs(allp)) < 4.0


def test_exponential_drifts_are_chosen_and_recovered():
    allp, models = [], []
    for seed in (221, 222):
        camp = simulate_campaign(seed, bands=["B1", "B2", "B3", "B4"], drift_range=(-0.03, -0.02),
                                 exponential_bands=("B1", "B2", "B3", "B4"))
        res, _, _ = _run(camp)
        models += [b.model for b in res.bands.values()]
        allp.append(_pulls(camp, res)[0])
    allp = np.concatenate(allp)
    assert models.count("exponential") == len(models)
    assert 0.7 < np.sqrt(np.mean(allp**2)) < 1.3
    assert np.max(np.abs(allp)) < 4.0
