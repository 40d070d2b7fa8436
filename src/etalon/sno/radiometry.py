"""Radiometric comparison of matched acquisitions: TOA reflectance ratios with SBAF.

For a matched pair of bands (target A, reference B) over one scene:

- the spectral band adjustment factor ``SBAF = rho_A / rho_B`` of the scene spectrum through
  the two responses (:func:`etalon.spectral.integrate.sbaf`, uncertainty from the spectrum's
  sigma by Monte Carlo);
- the ratio ``R = rho_A,obs / (SBAF rho_B,obs)``: 1 when both sensors agree, ``g_A / g_B``
  when their calibrations are off by gains ``g_A`` and ``g_B``;
- ``ratio_unc`` (random, k=1) from the two reflectance uncertainties;
  ``ratio_unc_total`` adds the SBAF uncertainty.

The per-band summary over many coincidences is the inverse-variance weighted mean of the
ratios (random uncertainties) by the campaign module's robust weighted least squares
(:func:`etalon.campaign.robust_fit`, constant model: outliers rejected beyond its robust
threshold, statistical uncertainty inflated by ``sqrt(chi2 / dof)`` when the scatter exceeds
the stated errors), and the SBAF uncertainty added in quadrature once (it is common to every
coincidence over the same scene spectrum and does not average down).

Geometry is assumed matched (the coincidence thresholds): no BRDF normalisation is applied.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from etalon.fileio import EtalonInputError
from etalon.spectral.integrate import SBAF, band_reflectance, correlated_perturbation, sbaf
from etalon.spectral.responses import SpectralResponse

__all__ = [
    "DEFAULT_BAND_PAIRS",
    "MATCH_COLUMNS",
    "band_sbafs",
    "compare_matched",
    "correlated_perturbation",
    "read_spectrum",
    "responses_for",
    "sentinel2_responses",
    "simulate_matched",
    "summarise",
]

#: VENuS band -> Sentinel-2 MSI band of the same centre (the bundled S2 responses have no B1, B9)
DEFAULT_BAND_PAIRS: tuple[tuple[str, str], ...] = (
    ("B3", "B2"), ("B4", "B3"), ("B7", "B4"), ("B8", "B5"), ("B9", "B6"), ("B10", "B7"),
    ("B11", "B8A"),
)
#: columns a matched-acquisition table must have (one row per coincidence and band pair)
MATCH_COLUMNS = ("match_id", "band_a", "band_b", "rho_a", "rho_a_unc", "rho_b", "rho_b_unc")


def sentinel2_responses(unit: str = "A") -> dict[str, SpectralResponse]:
    """Bundled Sentinel-2A or -2B MSI responses (``B2``..``B12``, ``B8A``), um."""
    from etalon.data import data_path
    from etalon.spectral.responses import read_srf_table

    u = str(unit).strip().upper()[-1:]
    if u not in ("A", "B"):
        raise ValueError(f"Sentinel-2 unit must be A or B, got {unit!r}")
    return read_srf_table(data_path("sentinel2", f"sentinel_2{u.lower()}_spectral_response.csv"))


def responses_for(name: str) -> dict[str, SpectralResponse]:
    """Responses by name: ``venus``, ``sentinel-2a``, ``sentinel-2b`` (bundled) or a file path."""
    key = str(name).strip().lower().replace("_", "-")
    if key in ("venus", "ven", "vssc"):
        from etalon.venus.bands import responses

        return responses()
    if key in ("sentinel-2a", "s2a", "sentinel2a"):
        return sentinel2_responses("A")
    if key in ("sentinel-2b", "s2b", "sentinel2b"):
        return sentinel2_responses("B")
    from etalon.spectral.responses import read_srf

    return read_srf(name)


def read_spectrum(path: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A scene's TOA reflectance spectrum: wavelength (um), reflectance, sigma (unitless).

    Default the bundled DIMITRI Libya-4 spectrum (350-2500 nm).
    """
    from etalon.desert import read_site_spectrum

    wl_nm, rho, sig = read_site_spectrum(path)
    return wl_nm / 1000.0, rho, sig


def band_sbafs(wavelength_um: np.ndarray, reflectance: np.ndarray, sigma: np.ndarray | None,
               responses_a: Mapping[str, SpectralResponse], responses_b: Mapping[str, SpectralResponse],
               pairs: Sequence[tuple[str, str]] = DEFAULT_BAND_PAIRS, n_draws: int = 200,
               seed: int = 0) -> dict[tuple[str, str], SBAF]:
    """SBAF of each band pair (target in A, reference in B) over a scene spectrum.

    Raises
    ------
    ValueError
        Naming a band missing from its response set.
    """
    out = {}
    for ba, bb in pairs:
        if ba not in responses_a:
            raise ValueError(f"band {ba!r} not in the A responses ({', '.join(responses_a)})")
        if bb not in responses_b:
            raise ValueError(f"band {bb!r} not in the B responses ({', '.join(responses_b)})")
        out[(ba, bb)] = sbaf(wavelength_um, reflectance, responses_a[ba], responses_b[bb],
                             reflectance_unc=sigma, n_draws=n_draws, seed=seed)
    return out


def compare_matched(matches, sbafs: Mapping[tuple[str, str], SBAF], source: str = "<matches>"):
    """Ratios of matched acquisitions, one row per coincidence and band pair.

    Parameters
    ----------
    matches : astropy.table.Table
        Columns :data:`MATCH_COLUMNS` (reflectances unitless, uncertainties k=1).
    sbafs : mapping
        ``(band_a, band_b) -> SBAF`` (:func:`band_sbafs`).
    source : str
        Name of the table in error messages.

    Returns
    -------
    astropy.table.Table
        ``matches`` plus ``sbaf``, ``sbaf_unc``, ``ratio``, ``ratio_unc`` (random),
        ``ratio_unc_total``.

    Raises
    ------
    EtalonInputError
        Naming ``source`` for a missing column or a band pair without SBAF.
    """
    missing = [c for c in MATCH_COLUMNS if c not in matches.colnames]
    if missing:
        raise EtalonInputError(source, f"matched-acquisition table lacks columns {missing}")
    out = matches.copy()
    ba = np.asarray(out["band_a"]).astype(str)
    bb = np.asarray(out["band_b"]).astype(str)
    unknown = sorted({(a, b) for a, b in zip(ba, bb, strict=True)} - set(sbafs))
    if unknown:
        raise EtalonInputError(source, f"band pairs without SBAF (not configured): {unknown}")
    s = np.array([sbafs[(a, b)].value for a, b in zip(ba, bb, strict=True)])
    su = np.array([sbafs[(a, b)].unc for a, b in zip(ba, bb, strict=True)])
    ra, rau = np.asarray(out["rho_a"], float), np.asarray(out["rho_a_unc"], float)
    rb, rbu = np.asarray(out["rho_b"], float), np.asarray(out["rho_b_unc"], float)
    if np.any(~(rb > 0)) or np.any(~np.isfinite(ra)):
        raise EtalonInputError(source, "reflectances must be finite and rho_b > 0")
    ratio = ra / (s * rb)
    rel = np.hypot(rau / ra, rbu / rb)
    out["sbaf"], out["sbaf_unc"] = s, su
    out["ratio"] = ratio
    out["ratio_unc"] = ratio * rel
    out["ratio_unc_total"] = ratio * np.sqrt(rel**2 + (su / s) ** 2)
    return out


def summarise(comparison):
    """Per band pair: weighted mean ratio and its honest uncertainty over many coincidences.

    Returns
    -------
    astropy.table.Table
        ``band_a, band_b, n, ratio, ratio_unc`` (total, k=1), ``ratio_unc_stat`` (after the
        Birge inflation), ``sbaf_rel_unc``, ``birge_ratio``, ``rms_scatter``.
    """
    from astropy.table import Table

    rows = []
    ba = np.asarray(comparison["band_a"]).astype(str)
    bb = np.asarray(comparison["band_b"]).astype(str)
    keys = list(dict.fromkeys(zip(ba, bb, strict=True)))
    for a, b in keys:
        m = (ba == a) & (bb == b)
        r = np.asarray(comparison["ratio"], float)[m]
        u = np.asarray(comparison["ratio_unc"], float)[m]
        n = int(m.sum())
        mean, stat_inf, birge, n_out = _weighted_mean(r, u)
        srel = float(np.median(np.asarray(comparison["sbaf_unc"], float)[m]
                               / np.asarray(comparison["sbaf"], float)[m]))
        total = float(np.hypot(stat_inf, mean * srel))
        rows.append((a, b, n, mean, total, stat_inf, srel, birge, n_out,
                     float(np.std(r, ddof=1)) if n > 1 else float("nan")))
    return Table(rows=rows, names=("band_a", "band_b", "n", "ratio", "ratio_unc", "ratio_unc_stat",
                                   "sbaf_rel_unc", "birge_ratio", "n_outliers", "rms_scatter"),
                 dtype=(str, str, int, float, float, float, float, float, int, float))


def _weighted_mean(r: np.ndarray, u: np.ndarray) -> tuple[float, float, float, int]:
    """Weighted mean, its Birge-inflated uncertainty, the Birge ratio, outliers rejected.

    Uses the campaign module's robust weighted least squares (``etalon.campaign.
    robust_fit``: iterative rejection beyond its robust threshold, covariance scaled by
    ``max(1, chi2/dof)``) with a constant model; plain inverse-variance mean without it.
    """
    try:
        from etalon.campaign import robust_fit
    except ImportError:  # pragma: no cover - campaign module absent
        robust_fit = None
    n = r.size
    if robust_fit is not None and n > 2:
        fit = robust_fit(lambda _tau: np.ones((n, 1)), r, u)
        birge = float(np.sqrt(fit.chi2 / fit.dof)) if fit.dof > 0 else 1.0
        return float(fit.params[0]), float(np.sqrt(fit.cov[0, 0])), birge, int(fit.n_outliers)
    w = 1.0 / u**2
    mean = float(np.sum(w * r) / np.sum(w))
    stat = float(np.sqrt(1.0 / np.sum(w)))
    birge = float(np.sqrt(np.sum(w * (r - mean) ** 2) / (n - 1))) if n > 1 else 1.0
    return mean, stat * max(1.0, birge), birge, 0


def simulate_matched(n_matches: int, responses_a: Mapping[str, SpectralResponse],
                     responses_b: Mapping[str, SpectralResponse], spectrum=None,
                     pairs: Sequence[tuple[str, str]] = DEFAULT_BAND_PAIRS,
                     gain_a: Mapping[str, float] | None = None,
                     gain_b: Mapping[str, float] | None = None, noise_rel: float = 0.01,
                     scene_from_sigma: bool = True, seed: int = 0, match_ids=None):
    """Simulated matched acquisitions of one scene by two sensors with known gains.

    The true scene is the spectrum plus one draw of its uncertainty (so that an SBAF computed
    from the nominal spectrum is wrong by an amount its uncertainty describes); each sensor
    sees ``gain x band reflectance x (1 + noise_rel N(0, 1))``.

    Parameters
    ----------
    n_matches : int
        Coincidences.
    responses_a, responses_b : mapping
        Band responses of the two sensors.
    spectrum : (wavelength_um, reflectance, sigma), optional
        Default the bundled Libya-4 spectrum.
    gain_a, gain_b : mapping, optional
        True gains per band (default 1).
    noise_rel : float
        Relative random noise of each reflectance (also the stated uncertainty).
    scene_from_sigma : bool
        Perturb the true scene by one draw of the spectrum's sigma.
    seed : int
    match_ids : sequence, optional
        Names of the coincidences (default ``M0000``...).

    Returns
    -------
    astropy.table.Table
        Columns :data:`MATCH_COLUMNS` plus ``true_ratio`` (``g_A / g_B``).
    """
    from astropy.table import Table

    rng = np.random.default_rng(seed)
    wl, rho, sig = spectrum if spectrum is not None else read_spectrum()
    scene = rho + (correlated_perturbation(wl, sig, rng) if scene_from_sigma else 0.0)
    ga, gb = dict(gain_a or {}), dict(gain_b or {})
    ids = list(match_ids) if match_ids is not None else [f"M{i:04d}" for i in range(n_matches)]
    rows = []
    for a, b in pairs:
        ta = band_reflectance(wl, scene, responses_a[a])
        tb = band_reflectance(wl, scene, responses_b[b])
        for mid in ids[:n_matches]:
            xa = ga.get(a, 1.0) * ta * (1 + noise_rel * rng.standard_normal())
            xb = gb.get(b, 1.0) * tb * (1 + noise_rel * rng.standard_normal())
            rows.append((mid, a, b, xa, noise_rel * xa, xb, noise_rel * xb,
                         ga.get(a, 1.0) / gb.get(b, 1.0)))
    return Table(rows=rows, names=(*MATCH_COLUMNS, "true_ratio"),
                 dtype=(str, str, str, float, float, float, float, float))
