"""Figures of NAV pre-processing: frame layout, CCDT match, a pre-processed frame.

Each function takes data (a layout, science images and headers, a frame),
draws on new axes unless given some, and returns the matplotlib Figure. No
function calls ``plt.show()`` or chooses a backend: in a notebook the inline
backend shows the figure, elsewhere save it with ``fig.savefig(...)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgba
from matplotlib.figure import Figure

from etalon.frame import FLAG_MISSING, Frame, read_frame
from etalon.nav.archive import NAV_TO_SCIENCE
from etalon.nav.keywords import ScienceImage
from etalon.nav.layout import DEFAULT_LAYOUT, FrameLayout
from etalon.nav.sclk import tdb_to_utc

__all__ = ["plot_frame_layout", "plot_preprocessed_frame", "plot_science_match"]

#: colour of each quadrant (1..4) in the layout drawing
QUADRANT_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red")
#: the three CCDs, bottom to top in the science-match drawing
_LANES = ("NAVHRI", "NAVMRI", "NAVITS")


def _new_axes(n: int, figsize: tuple[float, float], fig: Figure | None) -> list[Axes]:
    """``n`` axes in one row: on a new pyplot figure, or on ``fig`` (cleared)."""
    if fig is None:
        fig = plt.figure(figsize=figsize)
    else:
        fig.clear()
    return list(np.atleast_1d(fig.subplots(1, n)))


def plot_frame_layout(layout: FrameLayout = DEFAULT_LAYOUT, *, corner: int = 40,
                      fig: Figure | None = None) -> Figure:
    """Draw where the image, serial and parallel overclock sit in a calibration frame.

    Left: the whole frame, each quadrant's image pale and its serial overclock
    in the full colour, labelled ``quadrant n / serial overclock = NAVBIASn`` at
    the centre of the quadrant. Right: the lower-left ``corner`` x ``corner``
    pixels (parallel rows grey, serial columns of quadrant 2). Row 0 at the
    bottom, as the NAVBIAS numbering assumes.

    Parameters
    ----------
    layout : FrameLayout
        The frame geometry (default: the NAV 1024 x 1024 frame).
    corner : int
        Size of the zoomed corner, pixels.
    fig : matplotlib.figure.Figure, optional
        Figure to draw on (cleared); a new 12 x 5.5 inch figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        With two axes: the frame and the corner.
    """
    regions = layout.region_map()  # 0 parallel, q serial of quadrant q, 10 + q image of q
    colours = (["0.35", *QUADRANT_COLOURS] + ["white"] * 6
               + [to_rgba(c, 0.25) for c in QUADRANT_COLOURS])
    cmap = ListedColormap(colours)
    whole, zoom = _new_axes(2, (12, 5.5), fig)
    for ax, part in ((whole, np.s_[:, :]), (zoom, np.s_[:corner, :corner])):
        ax.imshow(regions[part], origin="lower", cmap=cmap, vmin=-0.5, vmax=14.5,
                  interpolation="nearest")
        ax.set_xlabel("pixel (column)")
        ax.set_ylabel("line (row)")
    for q in (1, 2, 3, 4):
        rows, cols = layout.image_quadrant_slices(q)
        whole.text((cols.start + cols.stop) / 2, (rows.start + rows.stop) / 2,
                   f"quadrant {q}\nserial overclock = NAVBIAS{q}", ha="center", va="center")
    whole.set_title(f"frame {layout.frame_shape}: image {layout.image_shape},\n"
                    f"{layout.serial_left}+{layout.serial_right} serial columns, "
                    f"{layout.parallel_bottom}+{layout.parallel_top} parallel rows")
    zoom.set_title(f"lower-left corner:\nparallel rows (grey, {layout.parallel_fill:g} DN), "
                   "serial columns of quadrant 2")
    whole.figure.tight_layout()
    return whole.figure


def plot_science_match(science_images: Sequence[ScienceImage],
                       headers: Sequence[Mapping[str, Any]], *,
                       ax: Axes | None = None) -> Figure:
    """Stop times of science and NAV images, with the science image that gave each CCDT.

    Science images are dots, NAV images triangles, one lane per CCD (HRI, MRI,
    ITS); a line joins each NAV image to the science image named by its
    ``CCDTFILE``, annotated with its ``DELTAT``. Times are seconds after the
    earliest stop time.

    Parameters
    ----------
    science_images : sequence of etalon.nav.keywords.ScienceImage
        The science images CCDT was taken from (``tables.science.images``).
    headers : sequence of astropy.io.fits.Header or mappings
        Pre-processed NAV headers with ``INSTRUME``, ``NOMSCT0`` (stop TDB,
        s past J2000), ``CCDTFILE`` and ``DELTAT`` (s).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new 11 x 3.5 inch figure by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        ax = plt.figure(figsize=(11, 3.5)).subplots()
    science_lane = {NAV_TO_SCIENCE[nav]: i for i, nav in enumerate(_LANES)}
    nav_lane = {nav: i for i, nav in enumerate(_LANES)}
    times = [s.stop_tdb for s in science_images] + [float(h["NOMSCT0"]) for h in headers]
    if not times:
        raise ValueError("no science image and no NAV header to draw")
    t_ref = min(times)
    by_name = {Path(s.path).name: s for s in science_images}
    for s in science_images:
        ax.plot(s.stop_tdb - t_ref, science_lane.get(s.instrument, 3) + 0.15, "o", color="C0")
    for h in headers:
        t, y = float(h["NOMSCT0"]) - t_ref, nav_lane.get(str(h["INSTRUME"]), 3) - 0.15
        ax.plot(t, y, "^", color="C3")
        source = by_name.get(str(h.get("CCDTFILE", "")))
        if source is not None:
            ax.plot([t, source.stop_tdb - t_ref], [y, y + 0.3], "-", color="C3")
            ax.annotate(f"DELTAT {h['DELTAT']:+.3f} s", (t, y), fontsize=8,
                        xytext=(4, -12), textcoords="offset points")
    ax.set_yticks([0, 1, 2], ["HRI", "MRI", "ITS"])
    ax.set_ylabel("CCD")
    ax.set_xlabel(f"stop time - {tdb_to_utc(t_ref)} UTC (s)")
    ax.set_title("science images (o) and NAV images (^): CCDT from the nearest of the same CCD")
    ax.figure.tight_layout()
    return ax.figure


def plot_preprocessed_frame(frame: Frame | str | os.PathLike[str], *, corner: int = 40,
                            fig: Figure | None = None) -> Figure:
    """Show a pre-processed calibration frame: image, overclock corner, quality map.

    Left: the whole frame in log10 DN. Middle: the lower-left ``corner`` x
    ``corner`` pixels (parallel overclock rows, serial overclock columns of
    quadrant 2 holding ``NAVBIAS2``), with a colour bar. Right: the FLAGS map
    (2 = missing, outside the snips), titled with the number of missing pixels.

    Parameters
    ----------
    frame : etalon.frame.Frame or path
        The frame, or a FITS file written by ``etalon nav preprocess``; its
        header needs ``INSTRUME``, ``EXPID`` and ``NAVBIAS2``.
    corner : int
        Size of the zoomed corner, pixels.
    fig : matplotlib.figure.Figure, optional
        Figure to draw on (cleared); a new 15 x 4.8 inch figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        With three image axes (and the colour bar's).
    """
    if not isinstance(frame, Frame):
        frame = read_frame(frame)
    data, h = np.asarray(frame.data, dtype=float), frame.header
    flags = frame.flags if frame.flags is not None else np.zeros(data.shape, np.uint8)
    image_ax, corner_ax, flags_ax = _new_axes(3, (15, 4.8), fig)
    shown = image_ax.imshow(np.log10(np.clip(data, 1, None)), origin="lower", cmap="gray")
    image_ax.set_title(f"{h['INSTRUME']} {h['EXPID']}: log10 DN")
    part = data[:corner, :corner]
    im = corner_ax.imshow(part, origin="lower", cmap="viridis", vmin=0,
                          vmax=np.percentile(part, 99))
    corner_ax.set_title(f"corner: serial columns = NAVBIAS2 = {h['NAVBIAS2']:.0f} DN")
    image_ax.figure.colorbar(im, ax=corner_ax, shrink=0.8, label="DN")
    flags_ax.imshow(flags, origin="lower", cmap="gray_r", vmin=0, vmax=FLAG_MISSING,
                    interpolation="nearest")
    missing = int(np.count_nonzero(flags & FLAG_MISSING))
    flags_ax.set_title(f"FLAGS: {missing} missing pixels")
    from matplotlib.patches import Patch

    flags_ax.legend(handles=[Patch(facecolor="white", edgecolor="gray",
                                   label=f"data ({flags.size - missing:,} px)"),
                             Patch(facecolor="black", edgecolor="gray",
                                   label=f"2: missing ({missing:,} px)")],
                    loc="upper right", fontsize=7, framealpha=0.9)
    image_ax.figure.colorbar(shown, ax=image_ax, shrink=0.8, label="log10 DN")
    for ax in (image_ax, corner_ax, flags_ax):
        ax.set_xlabel("pixel (column, 0-based)")
        ax.set_ylabel("line (row, 0-based)")
    image_ax.figure.tight_layout()
    return image_ax.figure
