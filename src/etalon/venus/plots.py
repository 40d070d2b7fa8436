"""Figures of the VENuS instrument, its PO and simulated campaigns (matplotlib, for notebooks).

Every function draws on a new or given axes and returns the figure; nothing is saved.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "asinh_stretch",
    "plot_acquisition",
    "plot_campaign_truth",
    "plot_detector_layout",
    "plot_gipp_timeline",
    "plot_measured_vs_truth",
    "plot_po_timeline",
    "plot_responses",
]


def asinh_stretch(image: np.ndarray, lo_pct: float = 1.0, hi_pct: float = 99.8,
                  soft: float = 0.02) -> np.ndarray:
    """asinh stretch between two percentiles to [0, 1] (faint halos and ghosts visible)."""
    lo, hi = np.nanpercentile(image, [lo_pct, hi_pct])
    x = np.clip((np.asarray(image, float) - lo) / max(hi - lo, 1e-12), 0, None)
    return np.arcsinh(x / soft) / np.arcsinh(1.0 / soft)


def plot_responses(responses: dict, ax=None):
    """The 12 spectral responses (response vs wavelength in nm), coloured by detector unit."""
    import matplotlib.pyplot as plt

    from etalon.venus.bands import BAND_NAMES, detector_unit

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(9, 3.5))
    colours = {"D1": "tab:blue", "D2": "tab:red", "D3": "tab:orange", "D4": "tab:green"}
    for b in BAND_NAMES:
        r = responses[b]
        ax.plot(r.wavelength_um * 1000, r.response / np.max(r.response), color=colours[detector_unit(b)],
                lw=1.2)
        k = int(np.argmax(r.response))
        ax.text(r.wavelength_um[k] * 1000, 1.03, b, ha="center", fontsize=7)
    for u, c in colours.items():
        ax.plot([], [], color=c, label=f"unit {u}")
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("relative response")
    ax.set_ylim(0, 1.12)
    ax.set_title("VENuS spectral responses (bundled file), by detector unit")
    ax.legend(fontsize=8, ncol=4, loc="lower right")
    return fig


def plot_detector_layout(ax=None):
    """Along-track viewing angle of the detector units and the bands they hold."""
    import matplotlib.pyplot as plt

    from etalon.venus.bands import DETECTOR_UNITS
    from etalon.venus.phases import DETECTOR_UNIT_ALONG_TRACK_DEG

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 2.8))
    for u, bands in DETECTOR_UNITS.items():
        a = DETECTOR_UNIT_ALONG_TRACK_DEG[u]
        for j, b in enumerate(bands):
            y = (j - 1) * 0.03 + a
            ax.barh(y, 5200, left=-2600, height=0.02, color="0.8", edgecolor="k")
            ax.text(0, y, f"{u} {b}", ha="center", va="center", fontsize=8)
    ax.set_xlabel("detector (column) index from the centre")
    ax.set_ylabel("along-track angle (deg)")
    ax.set_title("focal plane: 4 units x 3 arrays of 5200 px (unit order: project assumption)")
    return fig


def plot_gipp_timeline(header, ax=None):
    """Validity start of each GIPP nature in a real header, labelled with its version(s)."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from astropy.time import Time

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(9, 5))
    natures = sorted({g.nature for g in header.gipp})
    for i, nat in enumerate(natures):
        gs = header.gipp_of(nat)
        starts = sorted({g.validity_start for g in gs})
        for s in starts:
            d = Time(s).datetime
            vers = sorted({g.version for g in gs if g.validity_start == s})
            ax.plot(d, i, "o", color="tab:blue")
            n = sum(g.validity_start == s for g in gs)
            ax.text(d, i + 0.25, f"v{','.join(map(str, vers))}" + (f" x{n}" if n > 1 else ""), fontsize=7)
    acq = Time(header.acquisition_time.removesuffix("Z")).datetime
    ax.axvline(acq, color="tab:red", ls="--", label=f"acquisition {header.acquisition_time[:10]}")
    ax.set_yticks(range(len(natures)), natures, fontsize=7)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.set_xlabel("validity start (UTC)")
    ax.set_title(f"GIPP files of {header.product} ({len(header.gipp)} files, all valid to 9999-12-31)")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_po_timeline(registry, truth_meta: dict, t_start: str, t_end: str, bands: Sequence[str],
                     ax=None):
    """A_po / A0 (steps at the PO updates) and the true gain A_true / A0 per band, versus time."""
    import matplotlib.pyplot as plt
    from astropy.time import Time

    from etalon.venus.simulate import gain_history

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(9, 4))
    gh = truth_meta["gain_history"]
    t = Time(np.linspace(Time(t_start).mjd, Time(t_end).mjd, 600), format="mjd")
    ty = (t.mjd - Time(gh["t0"]).mjd) / 365.25
    for k, b in enumerate(bands):
        c = f"C{k}"
        g = gain_history(ty, gh["a"][b], gh["tau_years"][b], gh["b_per_year"][b])
        ax.plot(t.datetime, g, color=c, lw=1, label=f"{b} true gain / A0")
        ax.step(t.datetime, registry.gain_at(t, b) / gh["A0"][b], where="post", color=c, ls="--", lw=1,
                label=f"{b} PO A_k / A0")
    for s in list(registry)[1:]:
        ax.axvline(s.start_time.datetime, color="0.6", lw=0.8)
        ax.text(s.start_time.datetime, ax.get_ylim()[1], s.version, fontsize=7, va="top")
    ax.set_xlabel("date (UTC)")
    ax.set_ylabel("gain / A0 (dimensionless)")
    ax.set_title("simulated PO registry: A_k updates against the true gain history")
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_acquisition(acq, bands: Sequence[str] = ("B4", "B2"), title: str = "", axes=None):
    """Level-1 counts of some bands of one acquisition (asinh stretch, square pixels: the Moon
    is stretched along rows by the oversampling factor), colour bar in DN."""
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, len(bands), figsize=(3.2 * len(bands), 4.2))
    axes = np.atleast_1d(axes)
    fig = axes[0].figure
    for ax, b in zip(axes, bands, strict=False):
        img = acq.dc[b].astype(float) - acq.truth[0]["pedestal_dn"]
        lo, hi = np.percentile(img, [1, 99.8])
        soft = 0.01
        im = ax.imshow(np.arcsinh(np.clip(img - lo, 0, None) / (soft * (hi - lo))), origin="lower",
                       cmap="gray", aspect="equal")
        cb = fig.colorbar(im, ax=ax, shrink=0.7)
        ticks = np.array([0, 0.05, 1.0]) * (hi - lo)
        cb.set_ticks(np.arcsinh(ticks / (soft * (hi - lo))), labels=[f"{v + lo:.1f}" for v in ticks])
        cb.set_label("L1 counts - pedestal (DN, asinh)", fontsize=8)
        ax.set_title(f"{b}  f = {acq.ovrsamp_fa:.2f}", fontsize=9)
        ax.set_xlabel("column (px)")
        ax.set_ylabel("line (px, along track)")
    fig.suptitle(title or f"{acq.time.isot[:10]} {acq.phase} {acq.altitude_km:.0f} km", fontsize=10)
    return fig


def plot_campaign_truth(truth, bands: Sequence[str], ax=None):
    """ratio_expected (what irr_obs / irr_model should be) and its parts, versus time."""
    import matplotlib.pyplot as plt
    from astropy.time import Time

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(9, 4))
    for k, b in enumerate(bands):
        sel = truth[truth["channel"] == b]
        t = Time(list(sel["time"])).datetime
        ax.plot(t, sel["ratio_expected"], "o-", color=f"C{k}", ms=3, lw=0.8, label=f"{b} expected obs/model")
        ax.plot(t, sel["moon_bias"] * sel["gain_ratio"], "x", color=f"C{k}", ms=4,
                label=f"{b} bias x A_true/A_po")
    ax.set_xlabel("date (UTC)")
    ax.set_ylabel("ratio (dimensionless)")
    ax.set_title("campaign truth: Moon bias x apparent gain (x equalisation, stray light)")
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_measured_vs_truth(comparison, ax=None):
    """irr_obs / irr_expected - 1 per band (a :func:`etalon.venus.validate.compare_with_truth`
    table), error bars = the allowance (3 photon sigmas + systematic budget); failed or
    unassessed measurements in red."""
    import matplotlib.pyplot as plt

    from etalon.venus.bands import BAND_NAMES

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(9, 3.5))
    files = sorted(set(comparison["file"]))
    for r in comparison:
        k = BAND_NAMES.index(r["channel"])
        x = k + 1 + 0.5 * (files.index(r["file"]) / max(len(files) - 1, 1) - 0.5)
        ok = bool(np.isfinite(r["budget"]))
        ax.errorbar(x, 100 * r["rel_error"], yerr=100 * r["allowed"] if ok else None, fmt="o", ms=3,
                    color="tab:blue" if ok and r["within"] else "tab:red", lw=0.8)
    ax.plot([], [], "o", color="tab:blue", label="within 3 photon sigmas + budget (error bar)")
    ax.plot([], [], "o", color="tab:red", label="outside, or not assessed (< 5 DN)")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xticks(range(1, 13), BAND_NAMES)
    ax.set_ylabel("irr_obs / irr_expected - 1 (%)")
    ax.set_xlabel("band")
    lim = np.nanpercentile(np.abs(100 * comparison["rel_error"]), 95) * 2 if len(comparison) else 3
    ax.set_ylim(-max(lim, 1.0), max(lim, 1.0))
    ax.set_title("etalon moon measure on the simulated campaign, against the truth")
    ax.legend(fontsize=8)
    return fig
