"""Plots of calibrated frames: before/after, residuals against the truth, SNR map."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

__all__ = ["plot_before_after", "plot_residuals", "plot_snr"]


def plot_before_after(raw: np.ndarray, calibrated: np.ndarray) -> Figure:
    """Raw frame and calibrated image side by side (DN, 1 to 99.5 percentile stretch)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    for ax, img, title in ((axes[0], raw, "raw frame (DN)"), (axes[1], calibrated, "calibrated (DN)")):
        img = np.asarray(img, dtype=float)
        lo, hi = np.percentile(img[img > 0], [1, 99.5])
        im = ax.imshow(img, origin="lower", cmap="gray", vmin=lo, vmax=hi)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_residuals(residuals: np.ndarray, raw_dn: np.ndarray, calibrated_dn: np.ndarray) -> Figure:
    """Normalized residuals against a unit Gaussian, and raw vs calibrated DN histograms."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    x = np.linspace(-5, 5, 201)
    axes[0].hist(residuals, bins=x, density=True, alpha=0.7, label="pipeline")
    axes[0].plot(x, np.exp(-x**2 / 2) / np.sqrt(2 * np.pi), "k--", label="unit Gaussian")
    axes[0].set_xlabel("(calibrated - truth) / sigma")
    axes[0].legend()
    axes[1].hist(np.ravel(raw_dn), bins=200, histtype="step", label="raw DN", log=True)
    axes[1].hist(np.ravel(calibrated_dn), bins=200, histtype="step", label="calibrated DN", log=True)
    axes[1].set_xlabel("DN")
    axes[1].legend()
    return fig


def plot_snr(snr: np.ndarray) -> Figure:
    """The SNR extension on a log scale (pixels without SNR blank)."""
    fig, ax = plt.subplots(figsize=(6, 5.5))
    shown = np.where(snr > 0, snr, np.nan)
    im = ax.imshow(shown, origin="lower", cmap="viridis",
                   norm=LogNorm(vmin=1, vmax=float(np.nanmax(shown))))
    fig.colorbar(im, ax=ax, label="SNR")
    ax.set_title("SNR extension")
    return fig
