"""ESA's AATSR visible-channel drift correction tables (``AATSR_VIS_DRIFT_V<version>.DAT``).

Two real versions are bundled (DIMITRI ``AUX_DATA``): ``V00-19`` (generated 25 Nov 2010,
a daily factor per channel) and ``V02-01`` (generated 1 Nov 2011, a daily factor and its
uncertainty per channel): two successive versions of official calibration parameters.

Format: a header (``Version   : 02-01``, ``File Generated : ...``, ``Boxcar Width Used :120
Days``), a line of ``*``, a column header (``#  Date  0.56um ...`` or ``560nm ...``), then one
row per day: index, ``DD-MON-YYYY HH:MM:SS``, then per channel the factor (and, in V02-01,
its uncertainty). The factor is the drift of the channel's response relative to its
pre-launch calibration: DIMITRI's ``aatsr_apply_drift_correction`` divides the L1 reflectance
by it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from etalon.fileio import EtalonInputError, require_file

__all__ = ["AatsrDriftTable", "read_drift_table"]

_MONTHS = {m: i + 1 for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))}
_ROW = re.compile(r"^\s*(\d+)\s+(\d{2})-([A-Z]{3})-(\d{4})\s+(\d{2}):(\d{2}):(\d{2})\s+(.*)$")


@dataclass(frozen=True)
class AatsrDriftTable:
    """One version of the AATSR visible drift table.

    Attributes
    ----------
    version : str
        ``"00-19"``, ``"02-01"``.
    generated : str
        The file's generation date as written.
    boxcar_days : float or None
        Smoothing width used, days.
    wavelength_nm : numpy.ndarray, shape (4,)
        Channel wavelengths, nm (560, 659/660, 870, 1600).
    time : astropy.time.Time, shape (n,)
        Days (UTC).
    decimal_year : numpy.ndarray, shape (n,)
        The same as decimal years (astropy ``jyear``-free: calendar year + fraction).
    factor : numpy.ndarray, shape (n, 4)
        Drift factor per channel (unitless).
    factor_unc : numpy.ndarray, shape (n, 4)
        Its uncertainty (unitless); NaN when the version gives none (V00-19).
    path : str
    """

    version: str
    generated: str
    boxcar_days: float | None
    wavelength_nm: np.ndarray
    time: object
    decimal_year: np.ndarray
    factor: np.ndarray
    factor_unc: np.ndarray
    path: str

    def at(self, decimal_year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Factor and uncertainty interpolated at decimal years, shapes (m, 4) (NaN outside)."""
        x = np.atleast_1d(np.asarray(decimal_year, float))
        f = np.column_stack([np.interp(x, self.decimal_year, self.factor[:, j], np.nan, np.nan)
                             for j in range(self.factor.shape[1])])
        u = np.column_stack([np.interp(x, self.decimal_year, self.factor_unc[:, j], np.nan, np.nan)
                             for j in range(self.factor.shape[1])])
        return f, u


def _wavelengths(line: str) -> np.ndarray:
    out = []
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*(um|nm)", line):
        v = float(m.group(1))
        out.append(v * 1000.0 if m.group(2) == "um" else v)
    return np.array(out)


def read_drift_table(path: str | os.PathLike[str]) -> AatsrDriftTable:
    """Read an ``AATSR_VIS_DRIFT_*.DAT`` table (either version's layout).

    Raises
    ------
    EtalonInputError
        Naming the file: no ``Version`` line, no channel header, no day row, a row whose
        number of values is neither one nor two per channel, dates not increasing.
    """
    from astropy.time import Time

    p = require_file(path, "AATSR drift table")
    try:
        lines = p.read_text(encoding="ascii").splitlines()
    except UnicodeDecodeError as exc:
        raise EtalonInputError(p, f"not a text drift table ({exc})") from None
    meta: dict[str, str] = {}
    wl = np.array([])
    rows: list[tuple[str, list[float]]] = []
    for i, ln in enumerate(lines):
        if not rows and ":" in ln and not _ROW.match(ln) and len(wl) == 0:
            key, _, val = ln.partition(":")
            meta[key.strip().lower()] = val.strip()
            continue
        if "#" in ln and "Date" in ln:
            wl = _wavelengths(ln)
            continue
        m = _ROW.match(ln)
        if m:
            if m.group(3) not in _MONTHS:
                raise EtalonInputError(p, f"line {i + 1}: unknown month {m.group(3)!r}")
            iso = (f"{m.group(4)}-{_MONTHS[m.group(3)]:02d}-{m.group(2)}T"
                   f"{m.group(5)}:{m.group(6)}:{m.group(7)}")
            try:
                vals = [float(v) for v in m.group(8).split()]
            except ValueError:
                raise EtalonInputError(p, f"line {i + 1}: non-numeric drift values") from None
            rows.append((iso, vals))
        elif rows and ln.strip():
            raise EtalonInputError(p, f"line {i + 1}: not a drift-table row: {ln.strip()[:60]!r}")
    if "version" not in meta:
        raise EtalonInputError(p, "not an AATSR drift table: no 'Version :' line")
    if wl.size == 0:
        raise EtalonInputError(p, "no channel header ('#  Date  0.56um ...') before the rows")
    if not rows:
        raise EtalonInputError(p, "no day row in the drift table")
    nch = wl.size
    nval = {len(v) for _, v in rows}
    if len(nval) != 1 or nval.pop() not in (nch, 2 * nch):
        raise EtalonInputError(p, f"rows must hold {nch} factors or {nch} factor/uncertainty pairs")
    vals = np.array([v for _, v in rows])
    if vals.shape[1] == nch:
        factor, unc = vals, np.full_like(vals, np.nan)
    else:
        factor, unc = vals[:, 0::2], vals[:, 1::2]
    try:
        time = Time([r[0] for r in rows], format="isot", scale="utc")
    except ValueError as exc:
        raise EtalonInputError(p, f"invalid date in the drift table ({exc})") from None
    from etalon.desert.dimitri import time_to_decimal_year

    dy = time_to_decimal_year(time)
    if np.any(np.diff(dy) <= 0):
        raise EtalonInputError(p, "dates are not increasing")
    box = meta.get("boxcar width used")
    boxm = re.match(r"\s*([\d.]+)", box or "")
    return AatsrDriftTable(version=meta["version"], generated=meta.get("file generated", ""),
                           boxcar_days=float(boxm.group(1)) if boxm else None,
                           wavelength_nm=wl, time=time, decimal_year=dy, factor=factor,
                           factor_unc=unc, path=str(p))
