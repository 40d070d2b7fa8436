"""Figures of the desert notebook (matplotlib; every axis labelled with its unit)."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_brdf_fit", "plot_crosscal", "plot_moon_vs_desert", "plot_raw_vs_normalised",
           "plot_rms", "plot_sbaf"]


def plot_raw_vs_normalised(ns, bands, ax=None):
    """Raw and normalised TOA reflectance against time for a few bands of one sensor."""
    import matplotlib.pyplot as plt

    s = ns.series
    if ax is None:
        _, ax = plt.subplots(len(bands), 1, figsize=(9, 2.4 * len(bands)), sharex=True,
                             squeeze=False)
        ax = ax[:, 0]
    for a, b in zip(ax, bands, strict=False):
        clear = ~ns.outlier[:, b]
        a.plot(s.decimal_year, s.rho[:, b], ".", ms=2, color="0.6", label="raw")
        a.plot(s.decimal_year[~clear], s.rho[~clear, b], "x", ms=3, color="tab:red",
               label="rejected (cloud, dust)")
        every = max(1, int(clear.sum()) // 300)   # error bars on at most ~300 points (speed)
        a.errorbar(s.decimal_year[clear], ns.rho_norm[clear, b], ns.rho_norm_unc[clear, b], fmt=".",
                   ms=2, lw=0.3, color="tab:blue", errorevery=every,
                   label="normalised to SZA 30, VZA 0" + (f" (error bar every {every})" if every > 1 else ""))
        a.set_ylabel("TOA reflectance")
        a.set_title(f"{s.sensor} {s.version}, band {b} ({s.wavelength_nm[b]:g} nm)", fontsize=9)
    ax[0].legend(fontsize=7, loc="upper right")
    ax[-1].set_xlabel("year")
    return ax[0].figure


def plot_rms(ns, ax=None):
    """Relative rms of the raw and normalised series per band (%)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    s = ns.series
    bands = sorted(ns.raw_rms)
    wl = s.wavelength_nm[bands]
    ax.semilogy(wl, [100 * ns.raw_rms[b] for b in bands], "o", label="raw")
    ax.semilogy(wl, [100 * ns.norm_rms[b] for b in bands], "s", label="normalised")
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--", label="1 %")
    ax.set_xlabel("band centre (nm)")
    ax.set_ylabel("relative rms (%)")
    ax.set_title(f"{s.sensor} {s.version}: Libya-4 series scatter")
    ax.legend(fontsize=8)
    return ax.figure


def plot_brdf_fit(ns, band, ax=None):
    """Observed / model against view zenith (signed by azimuth side) and SZA, for one band."""
    import matplotlib.pyplot as plt

    from etalon.desert.brdf import kernels

    s = ns.series
    f = ns.fits[band]
    raa = s.raa
    model = kernels(s.sza, s.vza, raa) @ f.coef
    clear = ~ns.outlier[:, band]
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(10, 3.4))
    side = np.where(raa < 90, -1.0, 1.0) * s.vza   # negative: backscatter side
    sc = ax[0].scatter(side[clear], s.rho[clear, band], c=s.sza[clear], s=4, cmap="viridis")
    ax[0].plot(side[clear], model[clear], ".", ms=1, color="k", label="Ross-Li model")
    ax[0].set_xlabel("view zenith (deg; < 0 backscatter side)")
    ax[0].set_ylabel("TOA reflectance")
    ax[0].legend(fontsize=7)
    cb = ax[0].figure.colorbar(sc, ax=ax[0])
    cb.set_label("SZA (deg)")
    ax[1].plot(s.sza[clear], s.rho[clear, band] / model[clear] - 1, ".", ms=2)
    ax[1].axhline(0, color="k", lw=0.8)
    ax[1].set_xlabel("solar zenith (deg)")
    ax[1].set_ylabel("observed / model - 1")
    ax[0].set_title(f"{s.sensor} band {band} ({s.wavelength_nm[band]:g} nm): f_iso "
                    f"{f.coef[0]:.4f}, f_vol {f.coef[1]:.3f}, f_geo {f.coef[2]:.4f}", fontsize=9)
    ax[1].set_title(f"residual rms {100 * f.residual_rms:.2f} %, N = {f.n_used}", fontsize=9)
    return ax[0].figure


def plot_sbaf(pairs, values, uncs, ax=None):
    """SBAF per matched band pair, with error bars."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    ax.errorbar(pairs, values, uncs, fmt="o", capsize=3)
    ax.axhline(1, color="0.5", lw=0.8)
    ax.set_xlabel("band pair (DIMITRI nominal centre, nm)")
    ax.set_ylabel("SBAF (target / reference)")
    ax.set_title("SBAF over the Libya-4 TOA spectrum")
    return ax.figure


def plot_crosscal(results, ax=None):
    """Per-bin ratio target / (reference x SBAF) against time, one panel per pair."""
    import matplotlib.pyplot as plt

    n = len(results)
    if ax is None:
        _, ax = plt.subplots(n, 1, figsize=(9, 1.9 * n), sharex=True, squeeze=False)
        ax = ax[:, 0]
    for a, r in zip(ax, results, strict=False):
        a.errorbar(r.t_mid, r.bin_ratio, r.bin_unc, fmt=".", ms=3, lw=0.5)
        a.axhline(r.ratio, color="tab:red", lw=1,
                  label=f"{r.ratio:.4f} +- {r.ratio_unc:.4f}; drift {100 * r.drift_per_year:+.2f} "
                  f"+- {100 * r.drift_unc:.2f} %/yr")
        a.axhline(1, color="0.5", lw=0.6, ls="--")
        a.set_ylabel("ratio")
        a.set_title(f"{r.pair.centre_nm:g} nm", fontsize=8, loc="left")
        a.legend(fontsize=7, loc="upper right")
    ax[-1].set_xlabel("year")
    ax[0].figure.suptitle(f"{results[0].target} / ({results[0].reference} x SBAF), 30-day bins")
    return ax[0].figure


def plot_moon_vs_desert(cmp, term="phase:VM5", truth=None, ax=None):
    """Moon and desert values of one term per band, with error bars (and the truth if given)."""
    import matplotlib.pyplot as plt

    sel = np.asarray(cmp["term"]) == term
    c = cmp[sel]
    x = np.arange(len(c))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.4))
    ax.errorbar(x - 0.12, 100 * np.asarray(c["moon"]), 100 * np.asarray(c["moon_unc"]), fmt="o",
                capsize=2, label="Moon (campaign)")
    ax.errorbar(x + 0.12, 100 * np.asarray(c["desert"]), 100 * np.asarray(c["desert_unc"]),
                fmt="s", capsize=2, label="desert (Libya-4)")
    if truth is not None:
        ax.plot(x, 100 * np.asarray(truth, float), "k_", ms=14, label="truth (instrument)")
    ax.set_xticks(x, list(c["channel"]))
    ax.axhline(0, color="0.5", lw=0.6)
    unit = "%/yr" if term == "drift" else "%"
    ax.set_ylabel(f"{term} ({unit})")
    ax.set_xlabel("VENuS band")
    ax.set_title(f"Moon vs desert: {term}")
    ax.legend(fontsize=8)
    return ax.figure
