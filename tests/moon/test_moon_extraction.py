"""Disk extraction and irradiance on simulated Moon images with known irradiance."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.time import Time

from etalon.moon.background import deep_space_level, repair_outliers
from etalon.moon.extraction import extract_disk, fit_circle
from etalon.moon.measure import FLAG_NEAR_EDGE, FLAG_OUTLIERS, ChannelData, measure_channel
from etalon.moon.simulate import simulate_moon_image


def _channel(sim) -> ChannelData:
    return ChannelData("SIM", sim.image.astype(float), None, sim.rad_coef, sim.pix_solid_ang,
                       sim.ovrsamp_fa, Time("2020-01-01"), np.array([42164.0, 0, 0]), "ITRF",
                       sim.gain, sim.read_noise_e)


@pytest.mark.parametrize("phase", [2.0, 15.0, 30.0, 60.0, 90.0, 110.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_laplace_irradiance_within_photon_noise(phase, seed):
    """Acceptance: error within 3 photon-noise sigmas and at most 0.1 %."""
    sim = simulate_moon_image(phase, seed=seed)
    row = measure_channel(_channel(sim)).row
    err = row["irr_obs"] - sim.irradiance
    assert abs(err) <= 3 * sim.photon_sigma
    assert abs(err) <= 1e-3 * sim.irradiance
    # the budget: photon noise dominates, read and background add a few %
    assert row["irr_obs_unc"] == pytest.approx(sim.photon_sigma, rel=0.10)
    assert row["irr_obs_unc_shot"] == pytest.approx(sim.photon_sigma, rel=0.02)
    # every hot/cold pixel found and repaired, none invented
    assert row["n_outliers"] == sim.outliers.sum() == 8
    assert row["flags"] & FLAG_OUTLIERS and not row["flags"] & FLAG_NEAR_EDGE
    # deep space to sub-DN precision (the truth is 51.37 DN)
    assert row["dc_obs_offset"] == pytest.approx(51.37, abs=0.03)


def test_integer_median_would_fail_but_mean_does_not():
    rng = np.random.default_rng(3)
    img = np.floor(rng.normal(51.37, 0.8, (200, 200)) + 0.5)
    assert np.median(img) == 51.0
    est = deep_space_level(img, np.ones(img.shape, bool))
    assert est.level == pytest.approx(51.37, abs=4 * est.uncertainty)
    assert est.uncertainty == pytest.approx(0.9 / 200, rel=0.2)


@pytest.mark.parametrize("phase,tol", [(2.0, 0.15), (30.0, 0.25), (60.0, 0.5), (90.0, 0.7)])
def test_disk_fit_subpixel(phase, tol):
    sim = simulate_moon_image(phase, seed=4, n_hot=0, n_cold=0)
    fit = extract_disk(sim.image.astype(float))
    assert fit.method == "laplace" and fit.n_limb_points > 50
    assert abs(fit.centre_x - sim.centre_x) < tol
    assert abs(fit.centre_y - sim.centre_y) < tol
    assert abs(fit.radius - sim.radius) < tol
    # the mask covers the lit part: the noise-free signal outside it is tiny
    outside = sim.noise_free[~fit.moon_mask].sum() / sim.noise_free.sum()
    assert outside < 0.03


def test_crescent_and_hot_pixels():
    sim = simulate_moon_image(120.0, seed=5, n_hot=20)
    row = measure_channel(_channel(sim)).row
    assert row["n_outliers"] == 22
    assert abs(row["irr_obs"] / sim.irradiance - 1) < 1e-3


def test_moon_near_image_edge_is_flagged():
    sim = simulate_moon_image(60.0, seed=2, centre_xy=(45.0, 128.0))
    m = measure_channel(_channel(sim))
    assert m.row["flags"] & FLAG_NEAR_EDGE
    assert abs(m.disk.centre_x - 45.0) < 0.5 and abs(m.disk.radius - 40.0) < 0.5
    # the halo is cut by the image edge: the irradiance is still within 0.1 %
    assert abs(m.row["irr_obs"] / sim.irradiance - 1) < 1e-3


def test_threshold_method_on_simulation():
    sim = simulate_moon_image(10.0, seed=6, n_hot=0, n_cold=0)
    ch = _channel(sim)
    ch.threshold = 60.0
    row = measure_channel(ch, "threshold").row
    assert row["moon_pix_num"] == int((sim.image >= 60).sum())
    assert row["dc_obs"] == int(sim.image[sim.image >= 60].sum())
    # a threshold mask loses the PSF wings and halo: biased low
    assert row["irr_obs"] < sim.irradiance - 3 * sim.photon_sigma


def test_fit_circle_exact_points():
    t = np.linspace(0, np.pi, 60)
    x, y = 10.25 + 33.5 * np.cos(t), -4.5 + 33.5 * np.sin(t)
    cx, cy, r, _, used = fit_circle(np.r_[x, 0.0], np.r_[y, 0.0])  # one outlier
    assert (cx, cy, r) == pytest.approx((10.25, -4.5, 33.5), abs=1e-6)
    assert used.sum() == 60


def test_outlier_filter_keeps_sharp_edges():
    img = np.zeros((50, 50))
    img[:, 25:] = 1000.0                      # a sharp step: no pixel is above all neighbours
    img[10, 10] = 500.0                       # hot
    img[40, 40] = 0.0                         # cold
    res = repair_outliers(img, np.sqrt(1.0 + np.clip(img, 0, None) / 10), k=8)
    assert res.n_high == 1 and res.n_low == 1
    assert res.image[10, 10] == 0.0 and res.image[40, 40] == 1000.0
