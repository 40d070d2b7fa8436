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


def test_flag_map_legend_counts_each_bit_and_images_carry_units():
    import matplotlib.pyplot as plt

    from etalon.ccd.plots import FLAG_BITS, flag_classes, plot_flags

    flags = np.zeros((4, 5), np.uint8)
    flags[0, :] = 2          # 5 missing
    flags[1, 0] = 2 | 8      # missing wins over despiked
    flags[1, 1] = 8
    flags[2, 2] = 1
    flags[3, 3] = 16 | 32    # most saturated wins
    classes, rows = flag_classes(flags)
    counts = {label: n for label, _, n in rows}
    assert counts == {"no flag": 11, "2: missing": 6, "32: saturated (most)": 1,
                      "16: saturated (some)": 0, "1: bad pixel": 1, "8: despiked": 1,
                      "4: overlap conflict": 0}
    assert classes[1, 0] == 1 and classes[3, 3] == 2 and len(rows) == len(FLAG_BITS) + 1
    fig = plot_flags(flags, title="t")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0] == "no flag (11 px)" and "2: missing (6 px)" in legend
    fig = plot_before_after(np.arange(16.0).reshape(4, 4) + 1, np.ones((4, 4)) * 2)
    assert [cb.get_ylabel() for cb in fig.axes[2:]] == ["DN (asinh stretch, 1-99.8 percentile)"] * 2
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes[:2])
    plt.close("all")
