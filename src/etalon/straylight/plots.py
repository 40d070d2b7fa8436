"""Figures of the CT1/CT2 study (used by notebook 07): images, profiles, matrices, residuals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from etalon.venus.bands import DETECTOR_UNITS

__all__ = ["plot_bands", "plot_ct1_profiles", "plot_ct2_matrices", "plot_edge_bands",
           "plot_edge_profiles", "plot_residuals", "residual_levels"]


def _stretch(a: np.ndarray) -> tuple[np.ndarray, float, float]:
    lo, hi = np.nanpercentile(a, [1, 99.9])
    scale = max((hi - lo) / 200.0, 1e-30)
    return np.arcsinh((a - lo) / scale), 0.0, float(np.arcsinh((hi - lo) / scale))


def _band_grid(images: Mapping[str, np.ndarray], bands: Sequence[str], mark, title: str, ncols: int):
    """The bands in a grid (asinh stretch, no ticks), ``mark(ax, band)`` drawing on each."""
    import matplotlib.pyplot as plt

    nrows = int(np.ceil(len(bands) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.6 * nrows), squeeze=False)
    for ax, b in zip(axes.flat, bands, strict=False):
        img, lo, hi = _stretch(images[b])
        ax.imshow(img, origin="lower", cmap="gray", vmin=lo, vmax=hi)
        mark(ax, b)
        ax.set_title(b, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(bands):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_bands(images: Mapping[str, np.ndarray], quant, title: str = "", ncols: int = 6):
    """Each band (asinh stretch) with the significant CT2 ghosts marked (circle + source)."""
    import matplotlib.pyplot as plt

    def mark(ax, b):
        for r in quant.ct2:
            if r.victim == b and r.significant:
                d = quant.disks[r.source]
                ax.add_patch(plt.Circle((d.centre_x + r.dx, d.centre_y + r.dy), d.radius,
                                        fill=False, color="tab:red", lw=0.8))
                ax.text(d.centre_x + r.dx, d.centre_y + r.dy, r.source, color="tab:red",
                        ha="center", va="center", fontsize=7)

    return _band_grid(images, list(images), mark,
                      title or "Bands (asinh stretch); red: significant CT2 ghosts (source band)", ncols)


def plot_ct1_profiles(quants: Mapping[str, object], bands: Sequence[str] | None = None):
    """Radial CT1 profiles (fraction of the band's signal per pixel) vs distance in disk radii."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(quants), figsize=(5.5 * len(quants), 4), squeeze=False)
    for ax, (label, q) in zip(axes.flat, quants.items(), strict=True):
        for b in bands or list(q.ct1):
            c = q.ct1[b]
            ax.errorbar(c.r_over_radius, c.profile, yerr=c.profile_unc, fmt=".-", ms=3, lw=0.8,
                        label=f"{b}: {c.fraction:.2e}")
        ax.axvline(q.r_factor, color="k", ls=":", lw=0.8)
        ax.set_yscale("symlog", linthresh=1e-9)
        ax.set_xscale("log")
        ax.set_xlabel("distance from disk centre (disk radii)")
        ax.set_ylabel("signal / band total (1/pixel)")
        ax.set_title(f"CT1 radial profiles: {label}")
        ax.legend(fontsize=6, ncol=2, title="band: fraction > 1.1 R", title_fontsize=6)
    fig.tight_layout()
    return fig


def plot_ct2_matrices(quant, title: str = "", units: Mapping[str, Sequence[str]] = DETECTOR_UNITS):
    """CT2 coefficient matrix per detector unit (heat map, coefficient +- uncertainty)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import SymLogNorm

    fig, axes = plt.subplots(1, len(units), figsize=(4.2 * len(units), 3.8), squeeze=False)
    norm = SymLogNorm(linthresh=1e-5, vmin=-3e-2, vmax=3e-2)
    im = None
    for ax, (u, bands) in zip(axes.flat, units.items(), strict=True):
        m = np.full((len(bands), len(bands)), np.nan)
        for i, v in enumerate(bands):
            for j, s in enumerate(bands):
                if s == v:
                    continue
                try:
                    r = quant.pair(s, v)
                except KeyError:
                    continue
                m[i, j] = r.coefficient
                star = "\n*" if r.significant else ""
                ax.text(j, i, f"{r.coefficient:.1e}\n±{r.coefficient_unc:.0e}{star}",
                        ha="center", va="center", fontsize=7)
        im = ax.imshow(m, cmap="coolwarm", norm=norm)
        ax.set_xticks(range(len(bands)), bands)
        ax.set_yticks(range(len(bands)), bands)
        ax.set_xlabel("source band")
        ax.set_ylabel("victim band")
        ax.set_title(f"{u}")
    cb = fig.colorbar(im, ax=list(axes.flat), shrink=0.8)
    cb.set_label("CT2 coefficient (ghost flux / source flux)")
    fig.suptitle(title or "CT2 coefficients (* significant)")
    return fig


def plot_residuals(panels: Mapping[str, np.ndarray], title: str = "", unit: str = "W m-2 sr-1 um-1"):
    """Residual maps side by side (same symmetric colour scale)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.3 * len(panels), 3.8), squeeze=False)
    vmax = max(float(np.nanpercentile(np.abs(a), 99.5)) for a in panels.values())
    im = None
    for ax, (label, a) in zip(axes.flat, panels.items(), strict=True):
        im = ax.imshow(a, origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("column (px)")
        ax.set_ylabel("row (px)")
    cb = fig.colorbar(im, ax=list(axes.flat), shrink=0.8)
    cb.set_label(f"residual ({unit})")
    fig.suptitle(title)
    return fig


def residual_levels(quants: Mapping[str, object], requirement: float, k: float = 2.0):
    """Table of residual levels vs a requirement: per case, type and pair, ``|value| + k sigma``.

    ``meets`` is ``|value| + k * sigma <= requirement`` (the residual is shown to be below it).
    """
    from astropy.table import Table

    rows = []
    for label, q in quants.items():
        for b, c in q.ct1.items():
            bound = abs(c.fraction) + k * c.fraction_unc
            rows.append((label, "CT1", b, b, c.fraction, c.fraction_unc, bound, bound <= requirement))
        for r in q.ct2:
            bound = abs(r.coefficient) + k * r.coefficient_unc
            rows.append((label, "CT2", r.source, r.victim, r.coefficient, r.coefficient_unc, bound,
                         bound <= requirement))
    return Table(rows=rows, names=("case", "type", "source_band", "victim_band", "value", "unc",
                                   f"bound_{k:g}sigma", "meets"))


def plot_edge_bands(images: Mapping[str, np.ndarray], quant, title: str = "", ncols: int = 6):
    """Each band of an edge scene (asinh stretch) with its edge (white) and the edges of the
    significant CT2 ghosts (red: where the source's edge lands, across-edge displacement)."""

    def mark(ax, b):
        ax.contour(quant.edges[b].distance, levels=[0.5], colors="w", linewidths=0.6)
        for r in quant.ct2:
            if r.victim == b and r.significant and np.isfinite(r.across) and r.across > 0:
                ax.contour(quant.edges[r.source].distance, levels=[r.across], colors="tab:red",
                           linewidths=0.8)
                ys, xs = np.nonzero(np.abs(quant.edges[r.source].distance - r.across) < 0.5)
                if xs.size:
                    k = xs.size // 2
                    ax.text(xs[k], ys[k], r.source, color="tab:red", fontsize=7)

    return _band_grid(images, [b for b in images if b in quant.edges], mark,
                      title or "Edge scene (asinh stretch); white: edge, red: significant CT2 ghost edges",
                      ncols)


def plot_edge_profiles(quant, bands: Sequence[str] | None = None, title: str = ""):
    """CT1 edge profiles: signal per pixel over the bright level vs distance from the edge
    (points with error bars: cleaned image; lines: fitted halo model)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for b in bands or list(quant.ct1):
        c = quant.ct1[b]
        near = c.distance >= 1.0
        eb = ax.errorbar(c.distance[near], c.profile[near], yerr=c.profile_unc[near], fmt=".", ms=3,
                         label=f"{b}: {c.fraction:.2e} ± {c.fraction_unc:.0e}")
        fitted = c.distance > quant.distance_px      # the model is fitted there only
        ax.plot(c.distance[fitted], c.model_profile[fitted], "-", lw=0.8, color=eb[0].get_color())
    ax.axvline(quant.distance_px, color="k", ls=":", lw=0.8)
    ax.set_yscale("symlog", linthresh=1e-5)
    ax.set_xscale("log")
    ax.set_xlabel("distance from the edge, dark side (px)")
    ax.set_ylabel("signal / bright level (dimensionless)")
    ax.set_title(title or f"CT1 edge profiles (dotted: {quant.distance_px:g} px; "
                 "legend: fraction beyond it)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig
