"""Figures of NAV pre-processing (etalon.nav.plots): what is drawn, where."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from astropy.io import fits
from matplotlib.figure import Figure

from etalon.frame import FLAG_MISSING, Frame, write_frame
from etalon.nav.keywords import ScienceImage
from etalon.nav.layout import DEFAULT_LAYOUT, FrameLayout
from etalon.nav.plots import plot_frame_layout, plot_preprocessed_frame, plot_science_match


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labels(ax) -> dict[str, tuple[float, float]]:
    return {t.get_text(): t.get_position() for t in ax.texts}


# ------------------------------------------------------------------- frame layout
def test_layout_figure_labels_each_quadrant_at_its_centre():
    fig = plot_frame_layout(DEFAULT_LAYOUT)
    assert isinstance(fig, Figure)
    whole, zoom = fig.axes
    labels = _labels(whole)
    # default frame: image rows/cols 8..1015; quadrant n's image is a 504 x 504 block
    assert labels == {
        "quadrant 1\nserial overclock = NAVBIAS1": (260.0, 764.0),  # upper-left
        "quadrant 2\nserial overclock = NAVBIAS2": (260.0, 260.0),  # lower-left
        "quadrant 3\nserial overclock = NAVBIAS3": (764.0, 764.0),  # upper-right
        "quadrant 4\nserial overclock = NAVBIAS4": (764.0, 260.0),  # lower-right
    }
    assert len(zoom.texts) == 0
    # the images drawn are the region map, whole and its 40 x 40 lower-left corner
    regions = DEFAULT_LAYOUT.region_map()
    np.testing.assert_array_equal(whole.images[0].get_array(), regions)
    corner = zoom.images[0].get_array()
    assert corner.shape == (40, 40)
    assert (corner[:8] == 0).all()            # parallel overclock rows
    assert (corner[8:, :8] == 2).all()        # serial overclock of quadrant 2
    assert (corner[8:, 8:] == 12).all()       # image of quadrant 2
    assert whole.images[0].origin == "lower"
    assert "frame (1024, 1024): image (1008, 1008)" in whole.get_title()
    assert "8+8 serial columns, 8+8 parallel rows" in whole.get_title()


def test_layout_figure_follows_another_layout_and_reuses_a_figure():
    layout = FrameLayout(image_lines=100, image_pixels=60, serial_left=4, serial_right=0,
                         parallel_bottom=2, parallel_top=6)
    target = plt.figure()
    fig = plot_frame_layout(layout, corner=10, fig=target)
    assert fig is target and len(fig.axes) == 2
    labels = _labels(fig.axes[0])
    # quadrant 3 (upper-right): image rows 50..99 -> frame 52..101, cols 30..59 -> 34..63
    assert labels["quadrant 3\nserial overclock = NAVBIAS3"] == (49.0, 77.0)
    assert fig.axes[1].images[0].get_array().shape == (10, 10)
    assert "4+0 serial columns, 2+6 parallel rows" in fig.axes[0].get_title()


# ----------------------------------------------------------- nearest-science match
def _science():
    return [ScienceImage("/data/mv_a.fit", "MRIVIS", 1000.0, 270.5),
            ScienceImage("/data/hv_b.fit", "HRIVIS", 1010.0, 271.0),
            ScienceImage("/data/mv_c.fit", "MRIVIS", 1020.0, 270.7)]


def test_science_match_annotates_deltat_of_each_nav_header_and_joins_its_source():
    headers = [
        {"INSTRUME": "NAVMRI", "NOMSCT0": 1004.0, "CCDTFILE": "mv_a.fit", "DELTAT": 4.0},
        {"INSTRUME": "NAVHRI", "NOMSCT0": 1012.25, "CCDTFILE": "hv_b.fit", "DELTAT": 2.25},
        {"INSTRUME": "NAVMRI", "NOMSCT0": 1017.5, "CCDTFILE": "mv_c.fit", "DELTAT": -2.5},
        # no science image of that CCD: a triangle, but no line and no DELTAT
        {"INSTRUME": "NAVITS", "NOMSCT0": 1030.0, "CCDTFILE": "NONE", "DELTAT": -9999.0},
    ]
    fig = plot_science_match(_science(), headers)
    (ax,) = fig.axes
    notes = {t.get_text(): t.xy for t in ax.texts}
    # times relative to the earliest stop (1000 s); NAV lanes sit 0.15 below the CCD's lane
    assert notes == {"DELTAT +4.000 s": (4.0, pytest.approx(0.85)),
                     "DELTAT +2.250 s": (12.25, pytest.approx(-0.15)),
                     "DELTAT -2.500 s": (17.5, pytest.approx(0.85))}
    lines = [line for line in ax.lines if line.get_linestyle() == "-"]
    assert [(tuple(ln.get_xdata()), tuple(np.round(ln.get_ydata(), 2))) for ln in lines] == [
        ((4.0, 0.0), (0.85, 1.15)), ((12.25, 10.0), (-0.15, 0.15)), ((17.5, 20.0), (0.85, 1.15))]
    triangles = [ln for ln in ax.lines if ln.get_marker() == "^"]
    dots = [ln for ln in ax.lines if ln.get_marker() == "o"]
    assert len(triangles) == 4 and len(dots) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["HRI", "MRI", "ITS"]
    assert ax.get_xlabel().startswith("stop time - 2000-01-01T")


def test_science_match_on_given_axes_and_refuses_nothing_to_draw():
    fig, ax = plt.subplots()
    assert plot_science_match(_science(), [], ax=ax) is fig
    with pytest.raises(ValueError, match="no science image and no NAV header"):
        plot_science_match([], [])


# -------------------------------------------------------- a pre-processed frame
def _frame() -> Frame:
    layout = DEFAULT_LAYOUT
    image = np.full(layout.image_shape, 1000, np.uint16)
    image[:100, :100] = 3000
    data = layout.embed(image, (383, 391, 376, 388))
    flags = np.zeros(layout.frame_shape, np.uint8)
    flags[layout.image_slices()][500:510, :] = FLAG_MISSING  # 10 lines of 1008 missing
    flags[20, 20] = 1  # a bad pixel: not counted as missing
    header = fits.Header({"INSTRUME": "NAVMRI", "EXPID": 9000910, "NAVBIAS1": 383.0,
                          "NAVBIAS2": 391.0, "NAVBIAS3": 376.0, "NAVBIAS4": 388.0})
    return Frame(data, flags, header)


def test_preprocessed_frame_titles_count_missing_pixels_and_show_the_corner():
    frame = _frame()
    fig = plot_preprocessed_frame(frame)
    image_ax, corner_ax, flags_ax, colorbar_ax, image_colorbar = fig.axes
    assert (colorbar_ax.get_ylabel(), image_colorbar.get_ylabel()) == ("DN", "log10 DN")
    assert [t.get_text() for t in flags_ax.get_legend().get_texts()] == [
        f"data ({1024 * 1024 - 10080:,} px)", "2: missing (10,080 px)"]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in (image_ax, corner_ax, flags_ax))
    assert image_ax.get_title() == "NAVMRI 9000910: log10 DN"
    assert corner_ax.get_title() == "corner: serial columns = NAVBIAS2 = 391 DN"
    assert flags_ax.get_title() == "FLAGS: 10080 missing pixels"
    np.testing.assert_array_equal(corner_ax.images[0].get_array(), frame.data[:40, :40])
    np.testing.assert_allclose(image_ax.images[0].get_array()[600, 0], np.log10(383))
    assert colorbar_ax.get_label() == "<colorbar>"


def test_preprocessed_frame_from_a_file(tmp_path):
    path = tmp_path / "prep.fits"
    write_frame(_frame(), path)
    fig = plot_preprocessed_frame(path, corner=16)
    assert fig.axes[2].get_title() == "FLAGS: 10080 missing pixels"
    assert fig.axes[1].images[0].get_array().shape == (16, 16)
