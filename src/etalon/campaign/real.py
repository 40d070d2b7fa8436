"""Real parameter updates on the same code: AATSR drift-correction versions, MERIS reprocessings.

Two real cases from the Libya-4 desert site (DIMITRI series, bundled in ``etalon/data/desert``):

**AATSR, drift correction V00-19 -> V02-01.** ESA's AATSR visible-channel drift correction is a
daily table per channel (``AATSR_VIS_DRIFT_V00-19.DAT``, Nov 2010; ``V02-01``, Nov 2011, with
uncertainties). A reflectance is corrected by dividing by the table's factor at its date
(DIMITRI ``AATSR_APPLY_DRIFT_CORRECTION``: ``corrected = reflectance / drift``). The DIMITRI
series is taken as corrected with V02-01 (*assumption*: the later table, distributed with the
series); the uncorrected reflectance is then ``rho x d_V02-01(t)`` and the series corrected with
version ``v`` is ``rho x d_V02-01(t) / d_v(t)``. The "PO update" is V00-19 in force until
``update`` (default 2007-01-01, *our choice*: the tables are real, the switch date is not) and
V02-01 after: an as-processed series with a step at the date that the tables predict
(``d_V00-19(t_v) / d_V02-01(t_v) - 1``). The campaign's joint model (one trend per version,
geometry ``sec(SZA)`` and its square, ``sec(VZA)``) measures the step and the drift before and
after; the fully reprocessed series of each version give the residual drift of each correction.

**MERIS, 2nd -> 3rd reprocessing.** The same acquisitions processed with two generations of
calibration: matched by time (within 1 minute), the ratio 3rd / 2nd per band is the update's
effect, measured directly. The as-processed series (2nd before ``update``, 3rd after, default
2006-01-01) goes through the same joint model; the "expected" step is the direct ratio at the
date (from a line through the matched ratios), so measured and expected are two independent
measurements of one step.

Uncertainties per acquisition: the desert has no per-acquisition measurement uncertainty, so
each point gets the robust scatter of successive differences of ``ln rho``
(``1.4826 MAD(diff) / sqrt(2)``), and the WLS covariance is scaled by the reduced chi-square
when it exceeds 1 (:mod:`.drift`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from etalon.fileio import EtalonInputError, require_file

__all__ = ["AatsrDriftTable", "RealCase", "aatsr_case", "meris_case", "read_aatsr_drift_table"]

AATSR_CHANNELS_NM = (560.0, 659.0, 870.0, 1600.0)
_MONTHS = {m: i + 1 for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP",
                                            "OCT", "NOV", "DEC"))}


@dataclass
class AatsrDriftTable:
    """An AATSR visible drift-correction table.

    Attributes
    ----------
    version : str
        ``00-19`` or ``02-01`` (from the header).
    decimal_year : numpy.ndarray, shape (n,)
        Calendar decimal year of each day (DIMITRI's convention).
    factor, factor_unc : numpy.ndarray, shape (n, 4)
        Drift factor of the 560, 659, 870, 1600 nm channels (unitless) and its uncertainty
        (NaN when the version has none).
    path : str
    """

    version: str
    decimal_year: np.ndarray
    factor: np.ndarray
    factor_unc: np.ndarray
    path: str = ""

    def at(self, decimal_year: np.ndarray, channel: int) -> np.ndarray:
        """Factor of one channel (0..3) interpolated at the given dates (NaN outside the table)."""
        return np.interp(decimal_year, self.decimal_year, self.factor[:, channel], left=np.nan, right=np.nan)


def _decimal_year(day: int, month: int, year: int) -> float:
    import datetime as dt

    d = dt.date(year, month, day)
    start = dt.date(year, 1, 1)
    n = (dt.date(year + 1, 1, 1) - start).days
    return year + (d - start).days / n


def read_aatsr_drift_table(path: str | os.PathLike[str]) -> AatsrDriftTable:
    """Read ``AATSR_VIS_DRIFT_<version>.DAT`` (both layouts: factors only, or factor + uncertainty).

    Raises
    ------
    EtalonInputError
        No version line, no data rows, a malformed row, or dates not increasing.
    """
    p = require_file(path, "AATSR drift table")
    try:
        text = p.read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise EtalonInputError(p, f"not a text drift table: {exc}") from exc
    version = None
    rows = []
    for k, line in enumerate(text.splitlines()):
        parts = line.split()
        if line.startswith("Version") and ":" in line:
            version = line.split(":", 1)[1].strip()
            continue
        if len(parts) < 7 or not parts[0].isdigit():
            continue
        try:
            dd, mon, yy = parts[1].split("-")
            dy = _decimal_year(int(dd), _MONTHS[mon.upper()], int(yy))
            vals = [float(v) for v in parts[3:]]
        except (ValueError, KeyError) as exc:
            raise EtalonInputError(p, f"line {k + 1}: malformed row {line.strip()!r}") from exc
        if len(vals) == 4:
            rows.append([dy, *vals, *[np.nan] * 4])
        elif len(vals) == 8:
            rows.append([dy, *vals[0::2], *vals[1::2]])
        else:
            raise EtalonInputError(p, f"line {k + 1}: expected 4 or 8 values, got {len(vals)}")
    if version is None:
        raise EtalonInputError(p, "no 'Version :' header line")
    if not rows:
        raise EtalonInputError(p, "no data rows")
    a = np.asarray(rows, dtype=float)
    if np.any(np.diff(a[:, 0]) <= 0):
        raise EtalonInputError(p, "dates are not increasing")
    if not np.all(np.isfinite(a[:, 1:5])) or np.any(a[:, 1:5] <= 0):
        raise EtalonInputError(p, "drift factors must be finite and positive")
    return AatsrDriftTable(version, a[:, 0], a[:, 1:5], a[:, 5:9], str(p))


@dataclass
class RealCase:
    """A real parameter update analysed with the campaign code.

    Attributes
    ----------
    name : str
    band : str
    t_years : numpy.ndarray
        Decimal years of the acquisitions used.
    as_processed : numpy.ndarray
        Reflectance with the old version before the update and the new one after.
    by_version : dict of str to numpy.ndarray
        Reflectance fully processed with each version.
    update : float
        Decimal year of the switch.
    result : etalon.campaign.model.BandResult
        Joint model on the as-processed series.
    drifts : dict of str to etalon.campaign.drift.DriftFit
        Drift of the series fully processed with each version (geometry fitted jointly).
    direct_step, direct_step_unc : float
        For MERIS: the matched-acquisition ratio at the update date; for AATSR: the tables'
        prediction (uncertainty from V02-01's stated uncertainties).
    versions : (str, str)
        Old and new version.
    geometry : numpy.ndarray, shape (n, 3)
        Geometry columns of the joint fit (``sec(SZA)``, its square, ``sec(VZA)``, centred).
    """

    name: str
    band: str
    t_years: np.ndarray
    as_processed: np.ndarray
    by_version: dict
    update: float
    result: object
    drifts: dict
    direct_step: float
    direct_step_unc: float
    versions: tuple[str, str]
    geometry: np.ndarray


def _desert_geometry(sza: np.ndarray, vza: np.ndarray) -> tuple[np.ndarray, list[str]]:
    x = 1 / np.cos(np.radians(sza))
    x = x - np.mean(x)
    v = 1 / np.cos(np.radians(vza))
    v = v - np.mean(v)
    return np.column_stack([x, x**2, v]), ["sec_sza", "sec_sza2", "sec_vza"]


def _point_sigma(y: np.ndarray) -> float:
    d = np.diff(np.log(y))
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2))


def _case(name, band, t, rho_old, rho_new, sza, vza, update, versions, expected, direct_unc):
    from etalon.campaign.drift import fit_drift
    from etalon.campaign.model import analyze_band
    from etalon.campaign.series import BandSeries, PORegistry

    ok = np.isfinite(rho_old) & np.isfinite(rho_new) & (rho_old > 0) & (rho_new > 0)
    t, rho_old, rho_new, sza, vza = t[ok], rho_old[ok], rho_new[ok], sza[ok], vza[ok]
    seg = (t >= update).astype(int)
    asp = np.where(seg == 1, rho_new, rho_old)
    sig = _point_sigma(asp)
    G, names = _desert_geometry(sza, vza)
    po = PORegistry(list(versions), np.array([t.min() - 1.0, update]), ["", ""],
                    {band: np.array([1.0, 1.0 / (1.0 + expected)])})
    series = BandSeries(band, t, np.array([""] * t.size), asp, sig * asp, np.zeros(t.size),
                        np.array(["all"] * t.size), seg, np.ones(t.size, bool))
    res = analyze_band(series, po, model="linear", geometry=(G, names), max_changepoints=0)
    drifts = {v: fit_drift(t, r, sig * r, "linear", extra=G) for v, r in zip(versions, (rho_old, rho_new),
                                                                          strict=True)}
    return RealCase(name, band, t, asp, dict(zip(versions, (rho_old, rho_new), strict=True)), update, res,
                    drifts, expected, direct_unc, tuple(versions), G)


def aatsr_case(channel: int = 0, update: float = 2007.0, series_path: str | None = None,
               old_table: str | None = None, new_table: str | None = None) -> RealCase:
    """The AATSR drift-correction update V00-19 -> V02-01 on the Libya-4 nadir series.

    Parameters
    ----------
    channel : int
        0..3: 560, 659, 870, 1600 nm (the DIMITRI AATSR bands 0..3).
    update : float
        Decimal year of the switch (our choice; default 2007.0).
    series_path, old_table, new_table : str, optional
        Default: the bundled DIMITRI series and the two tables.
    """
    from etalon.data import data_path
    from etalon.desert import read_series

    s = read_series(series_path or data_path("desert", "dimitri_AATSR_2nd_Reprocessing_Libya4.sav"))
    old = read_aatsr_drift_table(old_table or data_path("desert", "AATSR_VIS_DRIFT_V00-19.DAT"))
    new = read_aatsr_drift_table(new_table or data_path("desert", "AATSR_VIS_DRIFT_V02-01.DAT"))
    nadir = np.asarray(s.view) == "nadir"
    t = s.decimal_year[nadir]
    rho = s.rho[nadir, channel]
    d_old, d_new = old.at(t, channel), new.at(t, channel)
    raw = rho * d_new
    rho_old, rho_new = raw / d_old, raw / d_new
    f_old = float(old.at(np.array([update]), channel)[0])
    f_new = float(new.at(np.array([update]), channel)[0])
    expected = f_old / f_new - 1
    u_new = float(np.interp(update, new.decimal_year, new.factor_unc[:, channel]))
    band = f"AATSR {AATSR_CHANNELS_NM[channel]:.0f} nm"
    return _case("AATSR drift correction", band, t, rho_old, rho_new, s.sza[nadir], s.vza[nadir], update,
                 (f"V{old.version}", f"V{new.version}"), expected, abs(1 + expected) * u_new / f_new)


def meris_case(band: int = 6, update: float = 2006.0, second_path: str | None = None,
               third_path: str | None = None, match_minutes: float = 1.0) -> RealCase:
    """MERIS 2nd -> 3rd reprocessing on the Libya-4 series, matched acquisitions.

    Parameters
    ----------
    band : int
        Band index in the series (0..14; 6 = 665 nm).
    update : float
        Decimal year of the switch (our choice; default 2006.0).
    match_minutes : float
        Two rows are one acquisition when their times differ by less than this.
    """
    from etalon.campaign.drift import fit_drift
    from etalon.data import data_path
    from etalon.desert import read_series

    a = read_series(second_path or data_path("desert", "dimitri_MERIS_2nd_Reprocessing_Libya4.sav"))
    b = read_series(third_path or data_path("desert", "dimitri_MERIS_3rd_Reprocessing_Libya4.sav"))
    j = np.searchsorted(b.decimal_year, a.decimal_year).clip(1, b.decimal_year.size - 1)
    j = np.where(np.abs(b.decimal_year[j - 1] - a.decimal_year) < np.abs(b.decimal_year[j] - a.decimal_year),
                 j - 1, j)
    match = np.abs(b.decimal_year[j] - a.decimal_year) * 365.25 * 1440 < match_minutes
    ia, ib = np.flatnonzero(match), j[match]
    t = a.decimal_year[ia]
    r2, r3 = a.rho[ia, band], b.rho[ib, band]
    ok = np.isfinite(r2) & np.isfinite(r3) & (r2 > 0) & (r3 > 0)
    ratio = r3[ok] / r2[ok]
    rf = fit_drift(t[ok], ratio, np.full(ok.sum(), 1e-3) * ratio, "linear")
    direct, direct_u = 0.0, 0.0
    from etalon.campaign.drift import propagate

    direct, direct_u = propagate(lambda p: np.exp(p[0] + p[1] * (update - rf.t_ref)) - 1, rf.params, rf.cov)
    name = f"MERIS {a.wavelength_nm[band]:.0f} nm"
    return _case("MERIS reprocessing", name, t, r2, r3, a.sza[ia], a.vza[ia], update,
                 ("2nd reprocessing", "3rd reprocessing"), direct, direct_u)
