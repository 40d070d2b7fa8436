"""Plots of calibrated frames: before/after, quality flags, residuals against the truth, SNR map.

Images use an asinh stretch between percentiles of the valid pixels
(:func:`image_norm`), so that faint snips and the bright nucleus show at once;
every colour bar is labelled with its unit, the flag map has a legend of its
bits (:data:`FLAG_BITS`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure

__all__ = ["FLAG_BITS", "flag_classes", "image_norm", "plot_before_after", "plot_flags",
           "plot_residuals", "plot_snr"]

#: quality bits drawn by :func:`plot_flags`, in priority order (a pixel shows its first set bit)
FLAG_BITS = ((2, "missing", "lightgray"), (32, "saturated (most)", "red"),
             (16, "saturated (some)", "orange"), (1, "bad pixel", "black"),
             (8, "despiked", "tab:blue"), (4, "overlap conflict", "magenta"))

_X_LABEL = "pixel (column, 0-based)"
_Y_LABEL = "line (row, 0-based)"


def image_norm(image: np.ndarray, valid: np.ndarray | None = None, lo_pct: float = 1.0,
               hi_pct: float = 99.8, a: float = 0.02):
    """asinh normalisation between two percentiles of the finite (and ``valid``) pixels.

    Returns an :class:`astropy.visualization.ImageNormalize` whose colour bar keeps the
    data's unit (DN...). ``a``: asinh softening (smaller shows fainter levels).
    """
    from astropy.visualization import AsinhStretch, ImageNormalize

    img = np.asarray(image, dtype=float)
    use = np.isfinite(img) if valid is None else (np.isfinite(img) & np.asarray(valid, bool))
    values = img[use]
    lo, hi = (np.percentile(values, [lo_pct, hi_pct]) if values.size else (0.0, 1.0))
    if not hi > lo:
        hi = lo + 1.0
    return ImageNormalize(vmin=float(lo), vmax=float(hi), stretch=AsinhStretch(a), clip=True)


def plot_before_after(raw: np.ndarray, calibrated: np.ndarray, *, raw_valid=None,
                      calibrated_valid=None, unit: str = "DN") -> Figure:
    """Raw frame and calibrated image side by side (asinh stretch, 1-99.8 percentile).

    Parameters
    ----------
    raw, calibrated : numpy.ndarray
        Images, ``unit`` (DN).
    raw_valid, calibrated_valid : numpy.ndarray of bool, optional
        Pixels the stretch is computed on (default: raw pixels > 0, finite calibrated pixels).
    """
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5), constrained_layout=True)
    raw = np.asarray(raw, dtype=float)
    panels = ((axes[0], raw, f"raw frame ({unit})", raw > 0 if raw_valid is None else raw_valid),
              (axes[1], np.asarray(calibrated, dtype=float), f"calibrated ({unit})",
               calibrated_valid))
    for ax, img, title, valid in panels:
        im = ax.imshow(img, origin="lower", cmap="gray", norm=image_norm(img, valid),
                       interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel(_X_LABEL)
        ax.set_ylabel(_Y_LABEL)
        fig.colorbar(im, ax=ax, shrink=0.8, label=f"{unit} (asinh stretch, 1-99.8 percentile)")
    return fig


def flag_classes(flags: np.ndarray) -> tuple[np.ndarray, list[tuple[str, str, int]]]:
    """Class map of :func:`plot_flags` (0 = no flag, k = k-th bit of :data:`FLAG_BITS`)
    and the legend rows (label, colour, pixel count) of the classes drawn."""
    f = np.asarray(flags, np.uint8)
    classes = np.zeros(f.shape, np.uint8)
    for k, (bit, _, _) in reversed(list(enumerate(FLAG_BITS, start=1))):
        classes[(f & bit) != 0] = k   # the first bit of the list wins (written last)
    rows = [("no flag", "white", int((classes == 0).sum()))]
    rows += [(f"{bit}: {name}", colour, int((classes == k).sum()))
             for k, (bit, name, colour) in enumerate(FLAG_BITS, start=1)]
    return classes, rows


def plot_flags(flags: np.ndarray, title: str = "quality flags", ax=None) -> Figure:
    """The FLAGS map, one colour per bit (:data:`FLAG_BITS`), legend with pixel counts."""
    from matplotlib.patches import Patch

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7.5, 6),
                                                                 constrained_layout=True)
    classes, rows = flag_classes(flags)
    ax.imshow(classes, origin="lower", interpolation="nearest", vmin=0, vmax=len(FLAG_BITS),
              cmap=ListedColormap([c for _, c, _ in rows]))
    ax.legend(handles=[Patch(facecolor=c, edgecolor="gray", label=f"{label} ({n:,} px)")
                       for label, c, n in rows], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=8, title="FLAGS bit (first set)", title_fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(_X_LABEL)
    ax.set_ylabel(_Y_LABEL)
    return fig


def plot_residuals(residuals: np.ndarray, raw_dn: np.ndarray, calibrated_dn: np.ndarray) -> Figure:
    """Normalized residuals against a unit Gaussian, and raw vs calibrated DN histograms."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
    x = np.linspace(-5, 5, 201)
    r = np.ravel(residuals)
    axes[0].hist(r, bins=x, density=True, alpha=0.7,
                 label=f"pipeline (mean {np.mean(r):+.3f}, rms {np.sqrt(np.mean(r**2)):.3f})")
    axes[0].plot(x, np.exp(-x**2 / 2) / np.sqrt(2 * np.pi), "k--", label="unit Gaussian")
    axes[0].set_xlabel("(calibrated - truth) / sigma (dimensionless)")
    axes[0].set_ylabel("probability density")
    axes[0].set_title("residuals against the truth, in noise units")
    axes[0].legend(fontsize=8)
    axes[1].hist(np.ravel(raw_dn), bins=200, histtype="step", label="raw DN", log=True)
    axes[1].hist(np.ravel(calibrated_dn), bins=200, histtype="step", label="calibrated DN",
                 log=True)
    axes[1].set_xlabel("DN")
    axes[1].set_ylabel("pixels per bin")
    axes[1].set_title("pixel values before and after calibration")
    axes[1].legend(fontsize=8)
    return fig


def plot_snr(snr: np.ndarray) -> Figure:
    """The SNR extension on a log scale (pixels without SNR blank)."""
    fig, ax = plt.subplots(figsize=(6, 5.5), constrained_layout=True)
    shown = np.where(snr > 0, snr, np.nan)
    im = ax.imshow(shown, origin="lower", cmap="viridis", interpolation="nearest",
                   norm=LogNorm(vmin=1, vmax=max(float(np.nanmax(shown)), 10.0)))
    fig.colorbar(im, ax=ax, label="SNR")
    ax.set_title("SNR extension")
    ax.set_xlabel(_X_LABEL)
    ax.set_ylabel(_Y_LABEL)
    return fig
