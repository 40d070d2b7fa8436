"""Figures of the lunar calibration: disk extractions, curves of growth, model ratios, tuner.

Plot functions take measurements (pairs of :class:`~etalon.moon.measure.ChannelData`
and :class:`~etalon.moon.measure.ChannelMeasurement`, or a measurement table),
draw on new axes unless given some, and return the matplotlib Figure. None
calls ``plt.show()`` or chooses a backend, except the interactive tuner's
callback, which must show its figure in the widget's output area.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from astropy.table import Table
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from etalon.moon.measure import ChannelData, ChannelMeasurement, measure_channel, read_channels

if TYPE_CHECKING:
    import ipywidgets

__all__ = [
    "extraction_tuner",
    "plot_curves_of_growth",
    "plot_extraction",
    "plot_extractions",
    "plot_integration_region",
    "plot_model_comparison",
    "plot_ratios",
]

#: one channel's data with its measurement
Measured = tuple[ChannelData, ChannelMeasurement]

_CIRCLE = np.linspace(0, 2 * np.pi, 361)


def _label(ch: ChannelData) -> str:
    return f"{ch.time.isot[:10]} {ch.channel}"


def _show_counts(ax: Axes, ch: ChannelData, vmin: float | None) -> None:
    """The channel's counts in grey (``vmin`` .. 99.5th percentile), framed on its valid pixels."""
    counts = ch.counts
    valid = np.isfinite(counts)
    if not valid.any():
        raise ValueError(f"{_label(ch)}: no valid pixel to show")
    floor = float(np.nanmin(counts)) if vmin is None else vmin
    ax.imshow(counts, origin="lower", cmap="gray", vmin=floor,
              vmax=np.nanpercentile(counts, 99.5))
    rows, cols = np.flatnonzero(valid.any(axis=1)), np.flatnonzero(valid.any(axis=0))
    ax.set_xlim(cols[0] - 0.5, cols[-1] + 0.5)  # pixel edges of the valid bounding box
    ax.set_ylim(rows[0] - 0.5, rows[-1] + 0.5)


def _check_disk(ch: ChannelData, m: ChannelMeasurement) -> None:
    if m.disk is None:
        raise ValueError(f"{_label(ch)}: no disk was extracted (flags {m.row.get('flags')})")


def plot_extraction(ch: ChannelData, m: ChannelMeasurement, *, ax: Axes | None = None,
                    vmin: float | None = None) -> Figure:
    """One channel with its extracted disk drawn over the counts.

    Limb points (red dots), the fitted circle or ellipse (cyan), the
    lit-plus-terminator mask (magenta contour) and the integration radius
    (radius + ``integration_margin``, dashed yellow).

    Parameters
    ----------
    ch : ChannelData
        The channel (counts, DN).
    m : ChannelMeasurement
        Its measurement (``measure_channel(ch, "laplace", ...)``), with a disk.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new 4 x 4 inch figure by default.
    vmin : float, optional
        Grey-scale floor, DN (default: the lowest count).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When the measurement holds no disk (absent channel).
    """
    _check_disk(ch, m)
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).subplots()
    _show_counts(ax, ch, vmin)
    d = m.disk
    cx, cy, a, b, ang = d.ellipse()
    ax.plot(*_ellipse_xy((cx, cy, a, b, ang)), "c-", lw=0.8)
    margin = m.row["integration_margin"]
    ax.plot(*_ellipse_xy((cx, cy, a + margin, b + margin, ang)), "y--", lw=0.8)
    ax.plot(d.limb_x, d.limb_y, "r.", ms=1.5)
    ax.contour(d.moon_mask, levels=[0.5], colors="m", linewidths=0.6)
    ax.set_title(_label(ch), fontsize=9)
    return ax.figure


def _ellipse_xy(e: tuple[float, float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Points of the ellipse (cx, cy, a, b, angle_deg) for plotting, pixels."""
    cx, cy, a, b, ang = e
    c, s = math.cos(math.radians(ang)), math.sin(math.radians(ang))
    u, v = a * np.cos(_CIRCLE), b * np.sin(_CIRCLE)
    return cx + u * c - v * s, cy + u * s + v * c


def plot_extractions(measured: Sequence[Measured], ncols: int = 3, *,
                     fig: Figure | None = None, vmin: float | None = None) -> Figure:
    """A grid of :func:`plot_extraction`, ``ncols`` channels per row.

    Parameters
    ----------
    measured : sequence of (ChannelData, ChannelMeasurement)
        In reading order (e.g. file by file, channel by channel).
    ncols : int
        Panels per row (the number of channels per file).
    fig : matplotlib.figure.Figure, optional
        Figure to draw on (cleared); new, 4 inches per panel, by default.
    vmin : float, optional
        Grey-scale floor, DN (default: each channel's lowest count).

    Returns
    -------
    matplotlib.figure.Figure
        ``ceil(len(measured) / ncols) x ncols`` axes, with a legend of the
        colours as its title; a channel without a disk gets an empty panel
        saying so.
    """
    if not measured:
        raise ValueError("nothing to plot: no measured channel")
    nrows = math.ceil(len(measured) / ncols)
    if fig is None:
        fig = plt.figure(figsize=(4 * ncols, 4 * nrows))
    else:
        fig.clear()
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (ch, m) in zip(axes, measured, strict=False):
        if m.disk is None:  # absent channel or failed extraction: say so, keep the grid
            ax.set_title(f"{_label(ch)}: no disk (flags {m.row.get('flags')})", fontsize=9)
            ax.set_axis_off()
        else:
            plot_extraction(ch, m, ax=ax, vmin=vmin)
    for ax in axes[len(measured):]:
        ax.set_visible(False)
    fig.suptitle("limb points (red), fitted disk (cyan), lit+terminator mask (magenta), "
                 "integration radius (yellow)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_curves_of_growth(measured: Sequence[Measured], *, ax: Axes | None = None) -> Figure:
    """Curves of growth, normalised to the flux at the background radius.

    One line per channel (``flux / flux[-1]`` against the distance beyond the
    fitted limb), and a grey vertical line at each ``integration_margin``: the
    halo should be inside the integration region, where the curve is flat.

    Parameters
    ----------
    measured : sequence of (ChannelData, ChannelMeasurement)
        Measurements with a curve of growth (Laplace method).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new 7 x 4 inch figure by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        ax = plt.figure(figsize=(7, 4)).subplots()
    for ch, m in measured:
        if m.curve is None:
            raise ValueError(f"{_label(ch)}: the measurement has no curve of growth")
        ax.plot(m.curve.margin, m.curve.flux / m.curve.flux[-1], label=_label(ch))
        ax.axvline(m.row["integration_margin"], color="0.8", lw=0.5)
    ax.set_xlabel("distance beyond the fitted limb (pixels)")
    ax.set_ylabel("flux / flux at the background radius")
    ax.set_ylim(0.97, 1.005)
    ax.legend(fontsize=7)
    return ax.figure


def plot_ratios(table: Table, channels: Sequence[str] | None = None, *,
                ax: Axes | None = None) -> Figure:
    """Observed / model irradiance against the absolute phase angle, one marker per channel.

    Parameters
    ----------
    table : astropy.table.Table
        Measurement rows with ``channel``, ``phase_angle`` (deg) and ``ratio``, and
        ``ratio_unc`` (k=1) for error bars when present (e.g. the Laplace rows of
        :func:`etalon.moon.measure.rows_to_table`).
    channels : sequence of str, optional
        Channels to draw, in legend order (default: those of the table, in
        order of appearance).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new 7 x 4 inch figure by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if channels is None:
        channels = list(dict.fromkeys(str(c) for c in table["channel"]))
    if ax is None:
        ax = plt.figure(figsize=(7, 4)).subplots()
    markers = "osd^v<>ph*"
    for i, name in enumerate(channels):
        sel = table[table["channel"] == name]
        x = np.abs(np.asarray(sel["phase_angle"], dtype=float))
        y = np.asarray(sel["ratio"], dtype=float)
        if "ratio_unc" in sel.colnames:
            ax.errorbar(x, y, yerr=np.asarray(sel["ratio_unc"], dtype=float),
                        fmt=markers[i % len(markers)], capsize=3, label=name)
        else:
            ax.plot(x, y, markers[i % len(markers)], label=name)
    ax.axhline(1, color="k", lw=0.5)
    ax.set_xlabel("|phase angle| (deg)")
    models = sorted({str(m) for m in table["model"]}) if "model" in table.colnames else []
    ax.set_ylabel(f"observed / {models[0] if len(models) == 1 else 'model'}")
    ax.legend()
    return ax.figure


def plot_model_comparison(tables: dict[str, Table], channels: Sequence[str], *,
                          fig: Figure | None = None) -> Figure:
    """Observed / model ratio per channel for several models side by side, with k=1 error bars.

    Parameters
    ----------
    tables : dict
        Label (e.g. ``"ROLO"``, ``"GIRO-like"``, ``"LIME"``) -> measurement rows with
        ``channel``, ``time``, ``ratio`` and ``ratio_unc``.
    channels : sequence of str
        One panel per channel.
    fig : matplotlib.figure.Figure, optional
        Figure to draw on (cleared); new by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = fig or plt.figure(figsize=(4 * len(channels), 3.6))
    fig.clear()
    axes = fig.subplots(1, len(channels), sharey=True, squeeze=False)[0]
    n = len(tables)
    for ax, name in zip(axes, channels, strict=True):
        for k, (label, t) in enumerate(tables.items()):
            sel = t[t["channel"] == name]
            x = np.arange(len(sel)) + (k - (n - 1) / 2) * 0.18
            ax.errorbar(x, np.asarray(sel["ratio"], float), yerr=np.asarray(sel["ratio_unc"], float),
                        fmt="osd^v"[k % 5], capsize=3, label=label)
            ax.set_xticks(np.arange(len(sel)), [str(v)[:10] for v in sel["time"]], rotation=20,
                          fontsize=8)
        ax.axhline(1, color="k", lw=0.5)
        ax.set_title(name)
        ax.set_xlabel("observation date (UTC)")
    axes[0].set_ylabel("observed / model irradiance")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_integration_region(ch: ChannelData, m: ChannelMeasurement, *, ax: Axes | None = None,
                            vmin: float | None = None) -> Figure:
    """The counts with the integration region (yellow contour) and the limb points (red).

    Parameters
    ----------
    ch : ChannelData
    m : ChannelMeasurement
        Laplace measurement with ``region`` and ``disk``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new 4 x 4 inch figure by default.
    vmin : float, optional
        Grey-scale floor, DN (default: the lowest count).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_disk(ch, m)
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).subplots()
    _show_counts(ax, ch, vmin)
    if m.region is not None:
        ax.contour(m.region, levels=[0.5], colors="y", linewidths=0.6)
    ax.plot(m.disk.limb_x, m.disk.limb_y, "r.", ms=1.5)
    return ax.figure


def extraction_tuner(paths: Sequence[str | os.PathLike[str]],
                     channels: Sequence[str] = ("VIS006", "VIS008", "NIR016"), *,
                     sigma: float = 1.0, background_margin: float = 20.0,
                     outlier_k: float = 8.0) -> ipywidgets.interactive:
    """Sliders over the Laplace extraction of one channel, redrawn live in JupyterLab.

    Controls: ``file_index`` (which of ``paths``), ``channel``, ``sigma`` (LoG
    scale, 0.6-3 px), ``margin`` (background margin, 8-30 px) and
    ``outlier_k`` (4-20 sigma). Each change measures the channel again
    (:func:`etalon.moon.measure.measure_channel`), shows
    :func:`plot_integration_region` and prints the irradiance, radius,
    integration margin and number of outliers. Files are read once each.

    Parameters
    ----------
    paths : sequence of path
        GSICS lunar files or FITS Moon images.
    channels : sequence of str
        Channel names offered.
    sigma, background_margin, outlier_k : float
        Starting values of the sliders (px, px, sigmas).

    Returns
    -------
    ipywidgets.interactive
        Display it (last expression of a cell); ``.children`` holds the
        controls then the output area.
    """
    import ipywidgets as widgets

    if not paths:
        raise ValueError("the tuner needs at least one file")
    files = [str(p) for p in paths]
    read = functools.lru_cache(maxsize=None)(read_channels)

    def show(file_index: int = 0, channel: str = channels[0], sigma: float = sigma,
             margin: float = background_margin, outlier_k: float = outlier_k) -> None:
        found = [c for c in read(files[file_index]) if c.channel == channel]
        if not found:
            print(f"{files[file_index]}: no channel {channel}")
            return
        m = measure_channel(found[0], "laplace", sigma=sigma, background_margin=margin,
                            outlier_k=outlier_k)
        if m.disk is None:
            print(f"{channel}: no disk extracted (flags {m.row['flags']})")
            return
        plot_integration_region(found[0], m)
        plt.show()
        print(f"irr_obs = {m.row['irr_obs']:.6e} W m-2 um-1, radius = {m.disk.radius:.2f} px, "
              f"margin = {m.row['integration_margin']} px, outliers = {m.row['n_outliers']}")

    return widgets.interactive(
        show,
        file_index=widgets.IntSlider(value=0, min=0, max=len(files) - 1),
        channel=list(channels),
        sigma=widgets.FloatSlider(value=sigma, min=0.6, max=3.0, step=0.1),
        margin=widgets.FloatSlider(value=background_margin, min=8, max=30, step=1),
        outlier_k=widgets.FloatSlider(value=outlier_k, min=4, max=20, step=0.5))
