"""Plots of the SNO chain: ground tracks, coincidence geometry, band ratios (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from etalon.sno.frames import ecef_to_geodetic
from etalon.sno.orbits import Orbit
from etalon.sno.sites import Site

__all__ = ["ground_track", "plot_band_ratios", "plot_coincidence_geometry", "plot_ground_tracks",
           "track_sites"]


def ground_track(orbit: Orbit, start: float, end: float, step_s: float = 30.0):
    """Times (s), geodetic latitudes and longitudes (deg) of the sub-satellite point."""
    t = np.arange(start, end, step_s)
    r, _ = orbit.ecef(t)
    lat, lon, _ = ecef_to_geodetic(r)
    return t, lat, lon


def track_sites(orbit: Orbit, start: float, n: int, lat_range=(-45.0, 60.0), seed: int = 0,
                day_only: bool = True) -> list[Site]:
    """``n`` sites on the daylight descending ground track of ``orbit`` over one day.

    Real VENuS sites lie on its repeat track; the bundled examples do not, so a site list
    "like VENuS's" is drawn on the modelled track (latitudes uniform in ``lat_range``).
    """
    from etalon.sno.frames import geodetic_to_ecef, look_angles, sun_ecef_km

    t, lat, lon = ground_track(orbit, start, start + 86400.0, 10.0)
    desc = np.gradient(lat) < 0
    ok = desc & (lat >= lat_range[0]) & (lat <= lat_range[1])
    if day_only:
        sza, _ = look_angles(lat, lon, geodetic_to_ecef(lat, lon), sun_ecef_km(t))
        ok &= sza < 70
    idx = np.flatnonzero(ok)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(idx, size=min(n, idx.size), replace=False))
    return [Site(f"T{i + 1:02d}", round(float(lat[k]), 4), round(float(lon[k]), 4))
            for i, k in enumerate(pick)]


def plot_ground_tracks(orbits: Sequence[Orbit], start: float, end: float,
                       sites: Sequence[Site] = (), ax=None, step_s: float = 30.0,
                       day_only: bool = False):
    """Ground tracks on a longitude-latitude map (deg), broken at the antimeridian.

    ``day_only`` keeps the sunlit part (sun zenith below 90 deg at the sub-satellite point).
    """
    import matplotlib.pyplot as plt

    from etalon.sno.frames import geodetic_to_ecef, look_angles, sun_ecef_km

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 5.5))
    for orbit in orbits:
        t, lat, lon = ground_track(orbit, start, end, step_s)
        lon = lon.copy()
        lon[1:][np.abs(np.diff(lon)) > 180] = np.nan
        if day_only:
            sza, _ = look_angles(lat, lon, geodetic_to_ecef(lat, np.nan_to_num(lon)), sun_ecef_km(t))
            lon[sza >= 90] = np.nan
        ax.plot(lon, lat, lw=0.7, label=orbit.name)
    if sites:
        ax.plot([s.lon for s in sites], [s.lat for s in sites], "k^", ms=6, label="sites")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xlabel("longitude (deg east)")
    ax.set_ylabel("geodetic latitude (deg)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return ax


def plot_coincidence_geometry(coincidences, axes=None):
    """Histograms of |dt| (min), view zenith angles, view-direction separation and sun zenith difference."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(2, 2, figsize=(11, 7))
    axes = np.asarray(axes).ravel()
    c = coincidences
    axes[0].hist(np.abs(np.asarray(c["dt_s"])) / 60.0, bins=20, color="C0")
    axes[0].set_xlabel("|t_B - t_A| (min)")
    axes[1].hist([np.asarray(c["vza_a"]), np.asarray(c["vza_b"])], bins=20,
                 label=[" / ".join(sorted(set(np.asarray(c["satellite_a"]).astype(str)))) or "A",
                        " / ".join(sorted(set(np.asarray(c["satellite_b"]).astype(str)))) or "B"])
    axes[1].set_xlabel("view zenith angle (deg)")
    axes[1].legend()
    axes[2].hist(np.asarray(c["view_separation_deg"]), bins=20, color="C2")
    axes[2].set_xlabel("angle between the two view directions (deg)")
    axes[3].hist(np.asarray(c["delta_sza_deg"]), bins=20, color="C3")
    axes[3].set_xlabel("|sun zenith A - sun zenith B| (deg)")
    for ax in axes:
        ax.set_ylabel("coincidences")
    axes[0].figure.suptitle(f"Geometry of {len(c)} same-site coincidences")
    axes[0].figure.tight_layout()
    return axes


def plot_band_ratios(summary, truth: dict[str, float] | None = None, ax=None):
    """Per-band weighted mean ratio with its total uncertainty (k=1), and the truth if known."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    x = np.arange(len(summary))
    labels = [f"{a}/{b}" for a, b in zip(summary["band_a"], summary["band_b"], strict=True)]
    ax.errorbar(x, summary["ratio"], yerr=summary["ratio_unc"], fmt="o", capsize=4,
                label="measured (k=1, incl. SBAF)")
    if truth:
        ax.plot(x, [truth.get(a, 1.0) for a in summary["band_a"]], "kx", ms=9, label="simulated truth")
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_xticks(x, labels)
    ax.set_xlabel("band pair (VENuS / Sentinel-2)")
    ax.set_ylabel("rho_A / (SBAF rho_B)")
    ax.set_title("Radiometric comparison over the coincidences")
    ax.legend()
    return ax
