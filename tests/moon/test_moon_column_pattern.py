"""The column-pattern term of the budget: a per-column offset left by Level 1."""

from __future__ import annotations

import numpy as np

from etalon.moon.measure import column_pattern_sigma


def _geometry(rows=200, cols=160, radius=50.0):
    yy, xx = np.mgrid[:rows, :cols]
    dist = np.hypot(xx - cols / 2, yy - rows / 2)
    return dist <= radius + 10, dist > radius + 30


def test_column_pattern_sigma_is_the_rms_error_the_pattern_makes():
    """Over 200 realisations of noise + a 0.3 DN column pattern, the error of the
    background-subtracted sum, sum_c r_c (n_c - N b_c / B), has the rms the function states
    (measured on the deep-space pixels of each image alone)."""
    region, background = _geometry()
    rng = np.random.default_rng(4)
    errors, sigmas = [], []
    n_c, b_c = region.sum(axis=0), background.sum(axis=0)
    for _ in range(200):
        pattern = rng.normal(0, 0.3, region.shape[1])
        image = 100 + pattern[None, :] + rng.normal(0, 0.6, region.shape)
        sigmas.append(column_pattern_sigma(image, region, background, 0.6))
        errors.append(float(np.sum(pattern * (n_c - n_c.sum() * b_c / b_c.sum()))))
    ratio = float(np.sqrt(np.mean(np.square(errors))) / np.sqrt(np.mean(np.square(sigmas))))
    assert 0.85 <= ratio <= 1.15
    # each image's estimate of the pattern rms is close to 0.3 DN
    lever = float(np.sqrt(np.sum((n_c - n_c.sum() * b_c / b_c.sum()) ** 2)))
    assert 0.27 <= np.median(sigmas) / lever <= 0.33


def test_no_pattern_gives_a_small_term_and_too_few_rows_give_zero():
    region, background = _geometry()
    rng = np.random.default_rng(5)
    noise_only = [column_pattern_sigma(100 + rng.normal(0, 0.6, region.shape), region, background, 0.6)
                  for _ in range(50)]
    lever = float(np.sqrt(np.sum((region.sum(0) - region.sum() * background.sum(0) / background.sum()) ** 2)))
    assert np.median(noise_only) / lever < 0.03          # DN: tiny against a 0.3 DN pattern
    few = np.zeros_like(background)
    few[:2] = True                                      # two deep-space rows only
    assert column_pattern_sigma(np.full(region.shape, 100.0), region, few, 0.6) == 0.0
