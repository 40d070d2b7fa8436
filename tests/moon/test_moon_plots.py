"""Figures of the lunar calibration (etalon.moon.plots) on a real GSICS SEVIRI observation."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from astropy.table import Table
from matplotlib.contour import ContourSet

from etalon.data import gsics_lunar_files
from etalon.moon.measure import measure_channel, measure_channels
from etalon.moon.plots import (
    extraction_tuner,
    plot_curves_of_growth,
    plot_extraction,
    plot_extractions,
    plot_integration_region,
    plot_ratios,
)

CHANNELS = ["VIS006", "VIS008", "NIR016"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def measured():
    """The three channels of the 2013-01-01 observation, Laplace method."""
    return measure_channels(gsics_lunar_files()[:1], CHANNELS, "laplace")


def _circle_radius(line, cx, cy):
    r = np.hypot(np.asarray(line.get_xdata()) - cx, np.asarray(line.get_ydata()) - cy)
    assert np.ptp(r) < 1e-9
    return r.mean()


def test_extraction_draws_the_fitted_circle_integration_radius_and_limb(measured):
    ch, m = measured[0]
    fig = plot_extraction(ch, m)
    (ax,) = fig.axes
    d = m.disk
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-" and ln.get_marker() != "."]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    dots = [ln for ln in ax.lines if ln.get_marker() == "."]
    assert len(solid) == len(dashed) == len(dots) == 1
    assert _circle_radius(solid[0], d.centre_x, d.centre_y) == pytest.approx(d.radius, abs=1e-9)
    assert 45 < d.radius < 50  # the 2013-01-01 Moon is 47.5 px across in radius
    outer = _circle_radius(dashed[0], d.centre_x, d.centre_y)
    assert outer == pytest.approx(d.radius + m.row["integration_margin"], abs=1e-9)
    np.testing.assert_array_equal(dots[0].get_xdata(), d.limb_x)
    np.testing.assert_array_equal(dots[0].get_ydata(), d.limb_y)
    assert any(isinstance(c, ContourSet) for c in ax.get_children())  # the lit mask
    assert ax.get_title() == "2013-01-01 VIS006"
    # framed on the 147 x 147 valid pixels of the 499 x 499 imagette, edges at half pixels
    assert ax.get_xlim() == (-0.5, 146.5) and ax.get_ylim() == (-0.5, 146.5)
    image = ax.images[0]
    assert image.get_clim() == (np.nanmin(ch.counts), np.nanpercentile(ch.counts, 99.5))


def test_extractions_grid_one_panel_per_channel_and_says_when_no_disk():
    everything = measure_channels(gsics_lunar_files()[:1])  # includes HRVIS: fill values only
    assert [ch.channel for ch, _ in everything] == ["VIS006", "VIS008", "NIR016", "HRVIS"]
    fig = plot_extractions(everything, ncols=3, vmin=48)
    assert len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["2013-01-01 VIS006", "2013-01-01 VIS008", "2013-01-01 NIR016"]
    assert titles[3].startswith("2013-01-01 HRVIS: no disk")
    assert [ax.get_visible() for ax in fig.axes] == [True] * 4 + [False] * 2
    assert fig.axes[0].images[0].get_clim()[0] == 48
    assert "fitted disk (cyan)" in fig.get_suptitle()
    with pytest.raises(ValueError, match="no measured channel"):
        plot_extractions([])
    with pytest.raises(ValueError, match=r"HRVIS.*no disk"):
        plot_extraction(*everything[3])


def test_curves_of_growth_are_normalised_at_the_background_radius(measured):
    fig = plot_curves_of_growth(measured)
    (ax,) = fig.axes
    curves = [ln for ln in ax.lines if not ln.get_label().startswith("_")]
    assert [ln.get_label() for ln in curves] == [f"2013-01-01 {c}" for c in CHANNELS]
    for line, (_, m) in zip(curves, measured, strict=True):
        np.testing.assert_array_equal(line.get_xdata(), m.curve.margin)
        assert line.get_ydata()[-1] == 1.0
    vertical = [ln for ln in ax.lines if ln.get_label().startswith("_")]
    assert sorted(ln.get_xdata()[0] for ln in vertical) == sorted(
        m.row["integration_margin"] for _, m in measured)
    assert ax.get_ylim() == (0.97, 1.005)


def test_ratios_plot_abs_phase_per_channel_with_distinct_markers():
    table = Table({"channel": ["VIS006", "VIS008", "VIS006"], "phase_angle": [-47.1, -47.1, 30.0],
                   "ratio": [0.95, 1.01, 0.96]})
    fig = plot_ratios(table, ["VIS006", "VIS008"])
    (ax,) = fig.axes
    points = [ln for ln in ax.lines if not ln.get_label().startswith("_")]
    assert [(ln.get_label(), ln.get_marker()) for ln in points] == [("VIS006", "o"),
                                                                   ("VIS008", "s")]
    np.testing.assert_array_equal(points[0].get_xdata(), [47.1, 30.0])
    np.testing.assert_array_equal(points[0].get_ydata(), [0.95, 0.96])
    # without a channel list: the table's channels, in order of appearance
    legend = plot_ratios(table).axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["VIS006", "VIS008"]


def test_integration_region_contour_and_limb_points(measured):
    ch, m = measured[1]
    fig, ax = plt.subplots()
    assert plot_integration_region(ch, m, ax=ax) is fig
    assert any(isinstance(c, ContourSet) for c in ax.get_children())
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), m.disk.limb_x)


def test_tuner_has_the_expected_controls_and_measures_again_on_change(capsys):
    paths = gsics_lunar_files()[:2]
    tuner = extraction_tuner(paths, CHANNELS, sigma=1.2, background_margin=18.0)
    assert isinstance(tuner, widgets.interactive)
    controls = {w.description: w for w in tuner.children[:-1]}
    assert list(controls) == ["file_index", "channel", "sigma", "margin", "outlier_k"]
    assert isinstance(tuner.children[-1], widgets.Output)
    assert (controls["file_index"].min, controls["file_index"].max) == (0, 1)
    assert list(controls["channel"].options) == CHANNELS
    sigma = controls["sigma"]
    assert (sigma.value, sigma.min, sigma.max, sigma.step) == (1.2, 0.6, 3.0, 0.1)
    margin = controls["margin"]
    assert (margin.value, margin.min, margin.max) == (18.0, 8, 30)
    assert (controls["outlier_k"].value, controls["outlier_k"].min,
            controls["outlier_k"].max) == (8.0, 4, 20)

    capsys.readouterr()
    controls["file_index"].value = 1
    controls["channel"].value = "NIR016"
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    ch = measure_channels(paths[1:], ["NIR016"])[0][0]
    expected = measure_channel(ch, "laplace", sigma=1.2, background_margin=18.0)
    assert printed.startswith(f"irr_obs = {expected.row['irr_obs']:.6e} W m-2 um-1, "
                              f"radius = {expected.disk.radius:.2f} px")
    with pytest.raises(ValueError, match="at least one file"):
        extraction_tuner([])
