"""Cross-calibration of a target sensor against a reference sensor over a desert site.

Method (after Lacherade et al., IEEE TGRS 2013, "Cross calibration over desert sites"):

1. each sensor's series is normalised to the same reference geometry (SZA 30, VZA 0) with
   its own BRDF fit (:mod:`etalon.desert.brdf`), outliers (clouds, dust) rejected;
2. a target band is matched to a reference band by DIMITRI's band-matching table
   (``dimitri_band_centre_index.txt``; the MODIS-A *land* bands over a desert);
3. the spectral band adjustment factor ``SBAF = rho_target / rho_reference`` of the site's
   hyperspectral TOA spectrum (``dimitri_TOA_Libya4_spectrum.txt``) through the two
   responses, with its uncertainty from the spectrum's sigma
   (:func:`etalon.spectral.integrate.sbaf`);
4. acquisitions are grouped in time bins (default 30 days, so the two sensors see the same
   season and atmosphere): per bin ``ratio = <target> / (<reference> x SBAF)``, its
   statistical uncertainty from the per-acquisition uncertainties of both means;
5. the ratio's mean over bins (weighted, uncertainty scaled by the Birge ratio when the bins
   scatter more than their uncertainties) and its trend (:func:`etalon.campaign.fit_drift`,
   linear), the total uncertainty adding the SBAF's in quadrature.

A ratio of 1 means the target agrees with the reference; ``ratio - 1`` is the target's
calibration bias against the reference.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "BandPair",
    "CrossCalResult",
    "band_pairs",
    "bin_ratio",
    "crosscal_band",
    "crosscal_sensors",
    "results_table",
    "sensor_sbaf",
]


@dataclass(frozen=True)
class BandPair:
    """A matched band pair: DIMITRI nominal centre (nm), target and reference band indices."""

    centre_nm: float
    target_band: int
    reference_band: int


_COLUMN = {"MODISA": "MODISA_L"}  # desert sites: the MODIS land bands


@functools.lru_cache(maxsize=1)
def _match_table() -> tuple[list[str], np.ndarray]:
    from etalon.data import data_path

    lines = [ln for ln in data_path("desert", "dimitri_band_centre_index.txt").read_text(
        encoding="utf-8").splitlines() if ln.strip()]
    names = [n.strip() for n in lines[0].split(";")]
    arr = np.array([[float(v) for v in ln.split(";")] for ln in lines[1:]])
    return names, arr


def band_pairs(target: str, reference: str) -> list[BandPair]:
    """Matched bands of two DIMITRI sensors (``dimitri_band_centre_index.txt``).

    Raises
    ------
    KeyError
        A sensor not in the matching table.
    """
    names, arr = _match_table()
    cols = []
    for s in (target, reference):
        key = _COLUMN.get(s.upper(), s.upper())
        if key not in names:
            raise KeyError(f"sensor {s!r} not in DIMITRI's band-matching table "
                           f"({', '.join(names[2:])})")
        cols.append(names.index(key))
    out = []
    for row in arr:
        t, r = int(row[cols[0]]), int(row[cols[1]])
        if t >= 0 and r >= 0:
            out.append(BandPair(float(row[1]), t, r))
    return out


def sensor_sbaf(target: str, target_band: int, reference: str, reference_band: int,
                spectrum: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                n_draws: int = 200, seed: int = 0):
    """SBAF of a target band against a reference band over a site spectrum.

    Parameters
    ----------
    target, reference : str
        DIMITRI sensor names.
    target_band, reference_band : int
        Band indices (the ``RSR_<SENSOR>_BAND_<i>.txt`` index).
    spectrum : (wavelength_nm, reflectance, sigma), optional
        Site TOA spectrum (default the bundled Libya-4 one).
    n_draws, seed : int
        Monte Carlo draws for the uncertainty (:func:`etalon.spectral.integrate.sbaf`).

    Returns
    -------
    etalon.spectral.integrate.SBAF
        ``value`` = rho_target / rho_reference, ``unc`` from the spectrum's sigma.
    """
    from etalon.desert.dimitri import read_rsr, read_site_spectrum
    from etalon.spectral.integrate import sbaf

    wl, rho, sig = spectrum if spectrum is not None else read_site_spectrum()
    return sbaf(np.asarray(wl) / 1000.0, rho, read_rsr(target, target_band),
                read_rsr(reference, reference_band), reflectance_unc=sig, n_draws=n_draws,
                seed=seed)


def _bin_means(t: np.ndarray, y: np.ndarray, u: np.ndarray, edges: np.ndarray):
    idx = np.digitize(t, edges) - 1
    nb = edges.size - 1
    mean = np.full(nb, np.nan)
    sem = np.full(nb, np.nan)
    cnt = np.zeros(nb, int)
    for k in range(nb):
        sel = idx == k
        if sel.any():
            cnt[k] = int(sel.sum())
            mean[k] = float(np.mean(y[sel]))
            sem[k] = float(np.sqrt(np.sum(u[sel] ** 2)) / cnt[k])
    return mean, sem, cnt


def bin_ratio(t_target: np.ndarray, y_target: np.ndarray, u_target: np.ndarray,
              t_reference: np.ndarray, y_reference: np.ndarray, u_reference: np.ndarray,
              sbaf: float = 1.0, bin_days: float = 30.0, min_per_bin: int = 1):
    """Per time bin ratio ``<target> / (<reference> x sbaf)`` and its statistical uncertainty.

    Parameters
    ----------
    t_target, t_reference : numpy.ndarray
        Decimal years of the (clear, normalised) acquisitions.
    y_target, u_target, y_reference, u_reference : numpy.ndarray
        Normalised reflectances and their per-acquisition uncertainties.
    sbaf : float
        Spectral band adjustment factor (target / reference).
    bin_days : float
        Bin width, days.
    min_per_bin : int
        Fewest acquisitions of each sensor for a bin to count.

    Returns
    -------
    t_mid, ratio, ratio_unc, n_target, n_reference : numpy.ndarray
        Bins where both sensors have data; times in decimal years.
    """
    t0 = max(np.min(t_target), np.min(t_reference))
    t1 = min(np.max(t_target), np.max(t_reference))
    if t1 <= t0:
        raise ValueError("the two series do not overlap in time")
    width = bin_days / 365.25
    edges = t0 + width * np.arange(int(np.ceil((t1 - t0) / width)) + 1)
    if edges[-1] < t1:
        edges = np.append(edges, edges[-1] + width)
    edges[-1] += 1e-9
    mt, st, nt = _bin_means(t_target, y_target, u_target, edges)
    mr, sr, nr = _bin_means(t_reference, y_reference, u_reference, edges)
    ok = (nt >= min_per_bin) & (nr >= min_per_bin)
    ratio = mt / (mr * sbaf)
    unc = ratio * np.sqrt((st / mt) ** 2 + (sr / mr) ** 2)
    mid = 0.5 * (edges[:-1] + edges[1:])
    return mid[ok], ratio[ok], unc[ok], nt[ok], nr[ok]


@dataclass
class CrossCalResult:
    """Cross-calibration of one band pair.

    Attributes
    ----------
    target, reference : str
        ``SENSOR:VERSION`` of each.
    pair : BandPair
    target_wavelength_nm, reference_wavelength_nm : float
    sbaf, sbaf_unc : float
        Spectral band adjustment factor (target / reference) and its uncertainty.
    ratio, ratio_unc_stat, ratio_unc : float
        Mean of ``target / (reference x SBAF)`` over the bins; statistical uncertainty
        (Birge-scaled); total with the SBAF's.
    drift_per_year, drift_unc : float
        Linear trend of the ratio, fraction per year (``fit_drift``; NaN with < 4 bins).
    n_bins : int
    drift_method : str
        ``"etalon.campaign.drift.fit_drift"`` or ``"local WLS"``.
    t_mid, bin_ratio, bin_unc, n_target, n_reference : numpy.ndarray
        The per-bin series.
    """

    target: str
    reference: str
    pair: BandPair
    target_wavelength_nm: float
    reference_wavelength_nm: float
    sbaf: float
    sbaf_unc: float
    ratio: float
    ratio_unc_stat: float
    ratio_unc: float
    drift_per_year: float
    drift_unc: float
    n_bins: int
    drift_method: str
    t_mid: np.ndarray = field(default_factory=lambda: np.array([]))
    bin_ratio: np.ndarray = field(default_factory=lambda: np.array([]))
    bin_unc: np.ndarray = field(default_factory=lambda: np.array([]))
    n_target: np.ndarray = field(default_factory=lambda: np.array([], int))
    n_reference: np.ndarray = field(default_factory=lambda: np.array([], int))


def _drift(t: np.ndarray, y: np.ndarray, u: np.ndarray) -> tuple[float, float, str]:
    try:
        from etalon.campaign import fit_drift
    except ImportError:  # pragma: no cover - the campaign module is part of the package
        fit_drift = None
    if fit_drift is not None:
        f = fit_drift(t, y, u, model="linear", reject=False)
        return float(f.drift_per_year), float(f.drift_unc), "etalon.campaign.drift.fit_drift"
    x = np.column_stack([np.ones_like(t), t - t.mean()])
    w = 1 / (u / y) ** 2
    a = x * np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(a, np.log(y) * np.sqrt(w), rcond=None)
    res = np.log(y) - x @ coef
    chi2 = max(float(np.sum(w * res ** 2) / max(t.size - 2, 1)), 1.0)
    cov = np.linalg.inv(a.T @ a) * chi2
    return float(coef[1]), float(np.sqrt(cov[1, 1])), "local WLS"


def crosscal_band(target_t: np.ndarray, target_y: np.ndarray, target_u: np.ndarray,
                  reference_t: np.ndarray, reference_y: np.ndarray, reference_u: np.ndarray,
                  sbaf_value: float, sbaf_unc: float, pair: BandPair, target: str = "target",
                  reference: str = "reference", target_wavelength_nm: float = float("nan"),
                  reference_wavelength_nm: float = float("nan"), bin_days: float = 30.0,
                  min_per_bin: int = 1) -> CrossCalResult:
    """Cross-calibrate one band pair from two normalised, clear series (see module docstring).

    Raises
    ------
    ValueError
        No common time bin.
    """
    tm, r, ru, nt, nr = bin_ratio(target_t, target_y, target_u, reference_t, reference_y,
                                  reference_u, sbaf_value, bin_days, min_per_bin)
    ok = np.isfinite(r) & np.isfinite(ru) & (ru > 0)
    tm, r, ru, nt, nr = tm[ok], r[ok], ru[ok], nt[ok], nr[ok]
    if r.size == 0:
        raise ValueError("no time bin holds acquisitions of both sensors")
    w = 1 / ru ** 2
    mean = float(np.sum(w * r) / np.sum(w))
    stat = float(np.sqrt(1 / np.sum(w)))
    if r.size > 1:
        birge = np.sqrt(np.sum(w * (r - mean) ** 2) / (r.size - 1))
        stat *= max(1.0, float(birge))
    total = float(np.hypot(stat, mean * sbaf_unc / sbaf_value))
    if r.size >= 4:
        d, du, how = _drift(tm, r, ru)
    else:
        d, du, how = float("nan"), float("nan"), "none (fewer than 4 bins)"
    return CrossCalResult(target, reference, pair, target_wavelength_nm, reference_wavelength_nm,
                          float(sbaf_value), float(sbaf_unc), mean, stat, total, d, du,
                          int(r.size), how, tm, r, ru, nt, nr)


def crosscal_sensors(target, reference, spectrum=None, bin_days: float = 30.0,
                     n_draws: int = 200) -> tuple[list[CrossCalResult], dict[float, str]]:
    """Cross-calibrate every matched band pair of two normalised series.

    Parameters
    ----------
    target, reference : NormalisedSeries
        :func:`etalon.desert.brdf.normalise_series` of each sensor over the same site.
    spectrum : (wavelength_nm, reflectance, sigma), optional
        Site TOA spectrum (default the bundled Libya-4 one).
    bin_days : float
        Time bin, days.
    n_draws : int
        Monte Carlo draws of the SBAF uncertainty.

    Returns
    -------
    results : list of CrossCalResult
        One per pair normalised in both series.
    skipped : dict
        Pair centre (nm) -> reason, for the others.
    """
    from etalon.desert.dimitri import read_site_spectrum

    spectrum = spectrum if spectrum is not None else read_site_spectrum()
    ts, rs = target.series, reference.series
    out, skipped = [], {}

    def clear(ns, b):
        c = ~ns.outlier[:, b] & np.isfinite(ns.rho_norm[:, b])
        return ns.series.decimal_year[c], ns.rho_norm[c, b], ns.rho_norm_unc[c, b]

    for p in band_pairs(ts.sensor, rs.sensor):
        if p.target_band not in target.fits or p.reference_band not in reference.fits:
            why = [target.skipped.get(p.target_band), reference.skipped.get(p.reference_band)]
            skipped[p.centre_nm] = "; ".join(w for w in why if w) or "not normalised"
            continue
        sb = sensor_sbaf(ts.sensor, p.target_band, rs.sensor, p.reference_band, spectrum,
                         n_draws=n_draws)
        try:
            out.append(crosscal_band(*clear(target, p.target_band), *clear(reference, p.reference_band),
                                     sb.value, sb.unc, p, f"{ts.sensor}:{ts.version}",
                                     f"{rs.sensor}:{rs.version}",
                                     float(ts.wavelength_nm[p.target_band]),
                                     float(rs.wavelength_nm[p.reference_band]), bin_days))
        except ValueError as exc:
            skipped[p.centre_nm] = str(exc)
    return out, skipped


def results_table(results: list[CrossCalResult]):
    """One row per band pair (astropy Table): SBAF, ratio with uncertainties, drift."""
    from astropy.table import Table

    rows = [(r.pair.centre_nm, r.pair.target_band, r.pair.reference_band, r.target_wavelength_nm,
             r.reference_wavelength_nm, r.sbaf, r.sbaf_unc, r.ratio, r.ratio_unc_stat, r.ratio_unc,
             r.drift_per_year, r.drift_unc, r.n_bins, r.target, r.reference) for r in results]
    t = Table(rows=rows or None, names=(
        "centre_nm", "target_band", "reference_band", "target_wavelength", "reference_wavelength",
        "sbaf", "sbaf_unc", "ratio", "ratio_unc_stat", "ratio_unc", "drift_per_year", "drift_unc",
        "n_bins", "target", "reference"))
    for c in ("centre_nm", "target_wavelength", "reference_wavelength"):
        t[c].unit = "nm"
    t["drift_per_year"].unit = t["drift_unc"].unit = "1 / yr"
    if results:
        t.meta["drift_method"] = results[0].drift_method
    return t
