"""Kernel BRDF: kernel values, fit honesty (pulls), real Libya-4 normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from etalon.desert.brdf import (
    InsufficientDataError,
    fit_band,
    kernels,
    li_sparse_r,
    normalise_series,
    ross_thick,
    seasonal_cycle,
)


def test_kernel_values():
    # both kernels vanish at nadir illumination and view
    assert ross_thick(0, 0, 0) == pytest.approx(0.0, abs=1e-12)
    assert li_sparse_r(0, 0, 0) == pytest.approx(0.0, abs=1e-12)
    # SZA 30, VZA 0 (values worked by hand from the kernel formulas)
    assert ross_thick(30, 0, 0) == pytest.approx(-0.03143, abs=2e-5)
    assert li_sparse_r(30, 0, 0) == pytest.approx(-0.6983, abs=2e-4)
    # reciprocity and the hot spot (backscatter raa = 0 brighter than forward raa = 180)
    assert ross_thick(40, 20, 60) == pytest.approx(ross_thick(20, 40, 60), abs=1e-12)
    assert li_sparse_r(40, 20, 60) == pytest.approx(li_sparse_r(20, 40, 60), abs=1e-12)
    assert ross_thick(40, 40, 0) > ross_thick(40, 40, 180)
    assert li_sparse_r(40, 40, 0) > li_sparse_r(40, 40, 180)
    assert kernels([30, 40], 0, 0).shape == (2, 3)


def _geometry(rng, n):
    return rng.uniform(15, 60, n), rng.uniform(0, 40, n), rng.uniform(0, 180, n)


def test_fit_pulls_against_truth():
    """rho_ref and rho_norm uncertainties are honest: pull rms near 1 over 60 seeded series."""
    coef = np.array([0.30, 0.15, 0.01])
    ref_true = float(kernels(30, 0, 0)[0] @ coef)
    pulls, npulls = [], []
    for seed in range(60):
        rng = np.random.default_rng(seed)
        sza, vza, raa = _geometry(rng, 150)
        truth = kernels(sza, vza, raa) @ coef
        sig_rel = rng.uniform(0.005, 0.02, sza.size)     # per-acquisition noise, known ratio
        rho = truth * (1 + sig_rel * rng.standard_normal(sza.size))
        fit = fit_band(sza, vza, raa, rho, sigma=sig_rel * truth * 3.0)   # weights up to scale
        pulls.append((fit.rho_ref - ref_true) / fit.rho_ref_unc)
        # normalised acquisition pulls: truth of rho_norm is the model at the reference
        x = kernels(sza, vza, raa)
        m = x @ fit.coef
        rn = rho * fit.rho_ref / m
        grad = kernels(30, 0, 0)[0][None, :] / fit.rho_ref - x / m[:, None]
        var = (fit.birge * 3.0 * sig_rel * truth / rho) ** 2 + np.einsum(
            "ij,jk,ik->i", grad, fit.cov, grad)
        npulls.extend(((rn - ref_true) / (rn * np.sqrt(var)))[:5])
    pulls = np.array(pulls)
    assert 0.8 < np.sqrt(np.mean(pulls ** 2)) < 1.25
    assert abs(np.mean(pulls)) < 0.4
    assert 0.85 < np.sqrt(np.mean(np.square(npulls))) < 1.15


def test_outliers_rejected():
    rng = np.random.default_rng(3)
    sza, vza, raa = _geometry(rng, 200)
    truth = kernels(sza, vza, raa) @ np.array([0.3, 0.15, 0.01])
    rho = truth * (1 + 0.01 * rng.standard_normal(200))
    cloudy = np.zeros(200, bool)
    cloudy[::17] = True
    rho[cloudy] *= 1.15
    fit = fit_band(sza, vza, raa, rho)
    assert np.all(fit.outlier[cloudy])
    assert fit.outlier.sum() <= cloudy.sum() + 3
    assert fit.residual_rms == pytest.approx(0.01, rel=0.15)


def test_too_few():
    with pytest.raises(InsufficientDataError, match="1 clear acquisitions"):
        fit_band([30], [0], [0], [0.3])


def test_seasonal_cycle_recovered():
    t = np.linspace(2003, 2010, 400)
    y = 0.3 * (1 + 0.002 * (t - t.mean()) + 0.01 * np.cos(2 * np.pi * (t - 0.25)))
    sc = seasonal_cycle(t, y, np.full(t.size, 1e-4))
    assert sc.amplitude == pytest.approx(0.01, rel=1e-3)
    assert sc.peak_doy == pytest.approx(0.25 * 365.25, abs=1.0)
    assert sc.trend_per_year == pytest.approx(0.002, rel=0.02)


RAW_GT_1PC = {"MERIS_3rd_Reprocessing", "MERIS_2nd_Reprocessing", "MODISA_Collection_5",
              "AATSR_2nd_Reprocessing"}


@pytest.mark.parametrize("name", sorted(RAW_GT_1PC))
def test_real_libya4_normalisation_reduces_rms(name):
    """Acceptance: in every fitted band whose raw rms exceeds 1 %, the normalised rms is smaller."""
    from etalon.data import data_path
    from etalon.desert.dimitri import read_series

    s = read_series(data_path("desert", f"dimitri_{name}_Libya4.sav"))
    ns = normalise_series(s)
    assert ns.fits
    for b in ns.fits:
        if ns.raw_rms[b] > 0.01:
            assert ns.norm_rms[b] < ns.raw_rms[b], (name, b, ns.raw_rms[b], ns.norm_rms[b])
    if name.startswith("MERIS"):
        # 412 nm: raw ~11 % (geometry) down to < 2 % after normalisation
        assert ns.raw_rms[0] > 0.10 and ns.norm_rms[0] < 0.02
        assert set(ns.fits) == set(range(15))
    if name.startswith("MODISA"):
        # saturated ocean bands and the 1383 nm cirrus band are skipped, with a reason
        assert {5, 6, 7, 8, 9, 10, 14} <= set(ns.skipped)
        assert "absorption" in ns.skipped[14]


def test_all_cloudy_series(meris3):
    import dataclasses

    cloudy = dataclasses.replace(meris3, rho_std=0.2 * meris3.rho)   # every ROI heterogeneous
    with pytest.raises(InsufficientDataError, match="no band could be normalised"):
        normalise_series(cloudy)
