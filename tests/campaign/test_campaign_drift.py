"""fit_drift (reused by the desert cross-calibration): values, honest sigmas, rules."""

from __future__ import annotations

import numpy as np
import pytest

from etalon.campaign.drift import fit_drift, propagate


def test_linear_drift_pulls_over_many_series():
    rng = np.random.default_rng(5)
    pulls, levels = [], []
    t = np.linspace(2018, 2024, 80)
    for _ in range(60):
        d = rng.uniform(-0.012, 0.004)
        y = 1.02 * np.exp(d * (t - 2018)) * (1 + rng.normal(0, 0.001, t.size))
        f = fit_drift(t, y, 0.001 * y, "linear")
        pulls.append((f.drift_per_year - d) / f.drift_unc)
        levels.append((f.level - 1.02 * np.exp(d * (f.t_ref - 2018))) / f.level_unc)
        # the WLS limit of a straight line with 0.1 % noise (no scaling below 1)
        limit = 0.001 / np.sqrt(np.sum((t - t.mean()) ** 2))
        assert 0.999999 * limit <= f.drift_unc < 1.3 * limit
    for p in (np.array(pulls), np.array(levels)):
        assert 0.8 < np.sqrt(np.mean(p**2)) < 1.25


def test_uncertainties_scaled_up_when_scatter_exceeds_them():
    rng = np.random.default_rng(6)
    t = np.linspace(0, 5, 200)
    y = np.exp(-0.01 * t) * (1 + rng.normal(0, 0.003, t.size))  # 3x the stated 0.1 %
    f = fit_drift(t, y, 0.001 * y, "linear")
    assert f.scale == pytest.approx(3.0, rel=0.15)
    limit = 0.003 / np.sqrt(np.sum((t - t.mean()) ** 2))
    assert f.drift_unc == pytest.approx(limit, rel=0.15)


def test_outliers_rejected_and_counted():
    rng = np.random.default_rng(7)
    t = np.linspace(0, 4, 100)
    y = np.exp(0.004 * t) * (1 + rng.normal(0, 0.001, t.size))
    y[[10, 50, 77]] *= (1.05, 0.93, 1.02)
    f = fit_drift(t, y, 0.001 * y)
    assert f.n_outliers == 3 and not f.kept[[10, 50, 77]].any()
    assert abs(f.drift_per_year - 0.004) < 3 * f.drift_unc
    g = fit_drift(t, y, 0.001 * y, reject=False)
    assert g.n_outliers == 0 and g.scale > 3


def test_exponential_chosen_when_curved_and_linear_when_not():
    rng = np.random.default_rng(8)
    t = np.linspace(2017.6, 2024.5, 140)
    tau, b = 1.5, 0.03
    y = np.exp(-b * (1 - np.exp(-(t - t[0]) / tau))) * (1 + rng.normal(0, 0.001, t.size))
    f = fit_drift(t, y, 0.001 * y, "auto")
    assert f.model == "exponential"
    assert abs(f.tau_years - tau) < 3 * f.tau_unc
    truth = -b * (np.exp(-(t[-1] - t[0]) / tau) - 1) * -1 / (t[-1] - t[0])
    assert abs(f.drift_per_year - truth) < 3 * f.drift_unc
    assert f.bic_exponential < f.bic_linear
    lin = fit_drift(t, np.exp(-0.005 * (t - 2020)) * (1 + rng.normal(0, 0.001, t.size)),
                    0.001 * np.ones(t.size), "auto")
    assert lin.model == "linear"


def test_extra_regressors_fitted_jointly():
    rng = np.random.default_rng(9)
    t = np.linspace(0, 6, 120)
    x = rng.uniform(-1, 1, t.size)
    y = np.exp(-0.006 * t + 0.02 * x) * (1 + rng.normal(0, 0.001, t.size))
    f = fit_drift(t, y, 0.001 * y, "linear", extra=x[:, None])
    assert abs(f.extra_coef[0] - 0.02) < 3 * f.extra_unc[0]
    assert abs(f.drift_per_year + 0.006) < 3 * f.drift_unc


def test_bad_arguments():
    with pytest.raises(ValueError, match="model must be"):
        fit_drift([1, 2, 3, 4], [1, 1, 1, 1], [0.1] * 4, "cubic")
    with pytest.raises(ValueError, match="at least 3 valid points"):
        fit_drift([1, 2], [1, 1], [0.1, 0.1])


def test_propagate_linear_function_is_exact():
    cov = np.array([[4.0, 1.0], [1.0, 9.0]])
    v, u = propagate(lambda p: 2 * p[0] - p[1], np.array([1.0, 2.0]), cov)
    assert v == 0.0 and u == pytest.approx(np.sqrt(4 * 4 - 4 * 1 + 9))
