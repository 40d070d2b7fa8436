"""The truth-comparison helpers used by the tests, the benchmark and notebook 03."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from etalon.ccd.plots import plot_before_after, plot_snr
from etalon.ccd.validation import detection_scores, flag_comparison, normalized_residuals
from etalon.frame import Frame


def test_detection_scores_by_hand():
    truth = np.array([1, 1, 1, 1, 0, 0], bool)
    found = np.array([1, 1, 1, 0, 1, 0], bool)
    assert detection_scores(found, truth) == (0.75, 0.75)
    assert detection_scores(np.zeros(6, bool), truth) == (0.0, 0.0)


def test_flag_comparison_counts_extra_and_missed():
    truth = np.array([[1, 2], [16 | 32, 0]], np.uint8)
    flags = np.array([[1, 0], [16 | 32, 1]], np.uint8)
    table = flag_comparison(flags, truth)
    rows = {r["bit"]: (r["pipeline"], r["truth"], r["extra"], r["missed"]) for r in table}
    assert rows[1] == (2, 1, 1, 0)
    assert rows[2] == (0, 1, 0, 1)
    assert rows[16] == rows[32] == (1, 1, 0, 0)


def test_normalized_residuals_uses_snr_and_skips_flagged_and_cosmic_pixels():
    data = np.array([[110.0, 90.0], [500.0, 100.0]])
    snr = np.array([[11.0, 9.0], [5.0, 10.0]])  # sigma = data / snr = 10 DN
    flags = np.array([[0, 0], [0, 1]], np.uint8)
    cosmic = np.array([[0.0, 0.0], [400.0, 0.0]])
    frame = Frame(data=data, flags=flags, header=fits.Header(), snr=snr)
    r = normalized_residuals(frame, np.full((2, 2), 100.0), cosmic)
    np.testing.assert_allclose(r, [1.0, -1.0])


def test_plots_draw_what_they_say():
    snr = np.array([[0.0, 10.0], [100.0, 1000.0]])
    fig = plot_snr(snr)
    assert fig.axes[0].get_title() == "SNR extension"
    assert fig.axes[1].get_ylabel() == "SNR"
    fig = plot_before_after(np.arange(16.0).reshape(4, 4) + 1, np.ones((4, 4)) * 2)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["raw frame (DN)", "calibrated (DN)"]
