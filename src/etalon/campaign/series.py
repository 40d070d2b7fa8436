"""Campaign inputs: measurement tables, the PO registry, and per-band time series.

A measurement table is the ECSV written by ``etalon moon measure`` (or any table with the
same columns): one row per acquisition and channel, with at least

- ``time`` (ISO UTC), ``channel`` (band name), ``ratio`` (observed / model irradiance,
  unitless), ``ratio_unc`` (its 1-sigma uncertainty, same unit), ``phase_angle`` (deg,
  signed: negative waxing, positive waning);
- optionally ``ratio_unc_random`` (the random part of ``ratio_unc``: used for the weights when
  present, see :func:`build_series`), ``phase`` (orbit phase, ``VM1`` ... ``VM5``; computed from the date with
  :func:`etalon.venus.phases.phases_at` when absent), ``sel_obs_lat`` and ``sel_obs_lon``
  (observer selenographic latitude and longitude, deg: the libration), ``flags``.

The PO registry (``PO.ecsv``) has one row per version and channel: ``version`` (str),
``validity_start`` (ISO UTC), ``channel``, ``gain`` (the absolute gain A_k in force from that
date, DN per radiance unit). Ratios were computed with the PO in force at each acquisition:
an update from gain ``a`` to gain ``b`` multiplies later ratios by ``a / b``.

Times are carried as Julian years, ``t = 2000 + (JD_UTC - 2451545.0) / 365.25``.

Rules for bad input (each raises :class:`etalon.fileio.EtalonInputError` naming the file):
missing columns; unparsable times; times not increasing within a channel of one file;
the same channel and time (within 1 s) twice, in one file or two; a channel absent from the
PO; an acquisition earlier than the first validity start of its channel (no PO in force);
non-positive or non-finite gains; a version listed twice for a channel. Rows whose ratio,
ratio_unc or phase angle is not finite or not positive (ratio, ratio_unc) are *flagged*
(``valid`` False), left out of the fits, counted, and logged as a warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from etalon.fileio import EtalonInputError, require_file

__all__ = [
    "OPTIONAL_COLUMNS",
    "PO_COLUMNS",
    "REQUIRED_COLUMNS",
    "BandSeries",
    "PORegistry",
    "build_series",
    "julian_year",
    "julian_year_to_iso",
    "read_measurements",
    "read_po",
]

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("time", "channel", "ratio", "ratio_unc", "phase_angle")
OPTIONAL_COLUMNS = ("phase", "sel_obs_lat", "sel_obs_lon", "flags", "model")
PO_COLUMNS = ("version", "validity_start", "channel", "gain")
#: two rows of one channel closer than this are the same acquisition, s
DUPLICATE_TOLERANCE_S = 1.0


def julian_year(time) -> np.ndarray:
    """Julian years of UTC times: ``2000 + (JD - 2451545) / 365.25``.

    Parameters
    ----------
    time : str, sequence of str, or astropy.time.Time
        ISO UTC times.

    Returns
    -------
    numpy.ndarray of float
        Years (Julian, 365.25 d).
    """
    from astropy.time import Time

    t = time if isinstance(time, Time) else Time(np.atleast_1d(np.asarray(time, dtype=str)), scale="utc")
    return 2000.0 + (np.atleast_1d(t.utc.jd) - 2451545.0) / 365.25


def julian_year_to_iso(t_years: np.ndarray | float) -> np.ndarray:
    """ISO UTC strings (to the second) of Julian years (inverse of :func:`julian_year`)."""
    from astropy.time import Time

    jd = 2451545.0 + (np.atleast_1d(np.asarray(t_years, dtype=float)) - 2000.0) * 365.25
    return np.asarray(Time(jd, format="jd", scale="utc").isot, dtype=str)


@dataclass
class PORegistry:
    """Versions of the official calibration parameters (PO): absolute gains by channel.

    Attributes
    ----------
    versions : list of str
        Versions in order of validity start.
    validity_start : numpy.ndarray of float
        Julian years of each version's validity start (same for every channel: checked).
    validity_iso : list of str
        The same, ISO UTC as read.
    gains : dict of str to numpy.ndarray
        Channel -> gain A_k of each version (DN per radiance unit; only ratios matter).
    path : str
        The file read (empty when built in memory).
    """

    versions: list[str]
    validity_start: np.ndarray
    validity_iso: list[str]
    gains: dict[str, np.ndarray]
    path: str = ""

    def index_at(self, t_years: np.ndarray) -> np.ndarray:
        """Index of the version in force at each time (-1 before the first validity start)."""
        return np.searchsorted(self.validity_start, np.asarray(t_years, dtype=float), side="right") - 1

    def expected_step(self, channel: str, k: int) -> float:
        """Ratio change the update to version ``k`` causes: ``gain[k-1] / gain[k] - 1``."""
        g = self.gains[channel]
        return float(g[k - 1] / g[k] - 1.0)


def read_po(path: str | os.PathLike[str]) -> PORegistry:
    """Read a PO registry ECSV (columns version, validity_start, channel, gain).

    Raises
    ------
    EtalonInputError
        Missing columns, unparsable dates, non-positive gains, a channel lacking a version,
        a version repeated for a channel, or versions whose validity starts differ by channel.
    """
    from astropy.table import Table

    p = require_file(path, "PO registry")
    try:
        tab = Table.read(p, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many types on bad files
        raise EtalonInputError(p, f"cannot read as ECSV: {exc}") from exc
    return po_from_table(tab, str(p))


def po_from_table(tab, path: str = "") -> PORegistry:
    """Validate and convert a PO table (see :func:`read_po`)."""
    missing = [c for c in PO_COLUMNS if c not in tab.colnames]
    if missing:
        raise EtalonInputError(path or None, f"PO table lacks column(s) {', '.join(missing)}")
    if len(tab) == 0:
        raise EtalonInputError(path or None, "PO table has no rows")
    versions = [str(v) for v in tab["version"]]
    channels = [str(c) for c in tab["channel"]]
    try:
        gains = np.asarray(tab["gain"], dtype=float)
        starts = julian_year([str(s) for s in tab["validity_start"]])
    except Exception as exc:
        raise EtalonInputError(path or None, f"PO table: unparsable gain or validity_start: {exc}") from exc
    if not np.all(np.isfinite(gains)) or np.any(gains <= 0):
        raise EtalonInputError(path or None, "PO table: gains must be finite and positive")
    start_of: dict[str, float] = {}
    iso_of: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for v, c, s, raw in zip(versions, channels, starts, tab["validity_start"], strict=True):
        if (v, c) in seen:
            raise EtalonInputError(path or None, f"PO table: version {v} listed twice for {c}")
        seen.add((v, c))
        if v in start_of and abs(start_of[v] - s) > 1e-9:
            raise EtalonInputError(path or None, f"PO table: version {v} has different validity "
                                   "starts for different channels")
        start_of.setdefault(v, float(s))
        iso_of.setdefault(v, str(raw))
    order = sorted(start_of, key=start_of.get)
    vstart = np.array([start_of[v] for v in order])
    if np.any(np.diff(vstart) <= 0):
        raise EtalonInputError(path or None, "PO table: two versions share a validity start")
    out: dict[str, np.ndarray] = {}
    for c in sorted(set(channels)):
        g = np.full(len(order), np.nan)
        for v, cc, gain in zip(versions, channels, gains, strict=True):
            if cc == c:
                g[order.index(v)] = gain
        if np.any(np.isnan(g)):
            lacking = [order[i] for i in np.flatnonzero(np.isnan(g))]
            raise EtalonInputError(path or None, f"PO table: channel {c} lacks version(s) {lacking}")
        out[c] = g
    return PORegistry(order, vstart, [iso_of[v] for v in order], out, path)


def read_measurements(paths: Sequence[str | os.PathLike[str]]):
    """Read and stack measurement tables, checking each one.

    Parameters
    ----------
    paths : sequence of path
        ECSV measurement tables (``etalon moon measure`` output).

    Returns
    -------
    astropy.table.Table
        The rows of every file, with a ``source`` column (file name) and ``t_years``
        (Julian years), sorted by channel then time.

    Raises
    ------
    EtalonInputError
        Naming the file: unreadable, a missing column, unparsable times, times not increasing
        within a channel, or a duplicate acquisition (same channel and time, within 1 s).
    """
    from astropy.table import Table, vstack

    if not paths:
        raise EtalonInputError(None, "no measurement table given")
    parts = []
    for path in paths:
        p = require_file(path, "measurement table")
        try:
            tab = Table.read(p, format="ascii.ecsv")
        except Exception as exc:
            raise EtalonInputError(p, f"cannot read as ECSV: {exc}") from exc
        parts.append(check_measurement_table(tab, str(p)))
    tab = vstack(parts, metadata_conflicts="silent") if len(parts) > 1 else parts[0]
    order = np.lexsort((np.asarray(tab["t_years"]), np.asarray(tab["channel"], dtype=str)))
    tab = tab[order]
    ch = np.asarray(tab["channel"], dtype=str)
    t = np.asarray(tab["t_years"], dtype=float)
    same = (ch[1:] == ch[:-1]) & (np.diff(t) * 365.25 * 86400.0 < DUPLICATE_TOLERANCE_S)
    if np.any(same):
        i = int(np.flatnonzero(same)[0])
        raise EtalonInputError(tab["source"][i + 1], f"duplicate acquisition: channel {ch[i]} at "
                               f"{tab['time'][i]} also in {tab['source'][i]} (same time within "
                               f"{DUPLICATE_TOLERANCE_S:g} s); remove one")
    return tab


def check_measurement_table(tab, path: str = ""):
    """Check one measurement table; return a copy with ``source`` and ``t_years`` columns."""
    missing = [c for c in REQUIRED_COLUMNS if c not in tab.colnames]
    if missing:
        raise EtalonInputError(path or None, f"measurement table lacks column(s) {', '.join(missing)} "
                               f"(needs {', '.join(REQUIRED_COLUMNS)})")
    tab = tab.copy(copy_data=True)
    if len(tab) == 0:
        raise EtalonInputError(path or None, "measurement table has no rows")
    try:
        tab["t_years"] = julian_year([str(s) for s in tab["time"]])
    except Exception as exc:
        raise EtalonInputError(path or None, f"unparsable time: {exc}") from exc
    ch = np.asarray(tab["channel"], dtype=str)
    t = np.asarray(tab["t_years"])
    for c in np.unique(ch):
        tc = t[ch == c]
        bad = np.flatnonzero(np.diff(tc) < 0)
        if bad.size:
            rows = np.flatnonzero(ch == c)
            raise EtalonInputError(path or None, f"times of channel {c} are not increasing (row "
                                   f"{int(rows[bad[0] + 1])}: {tab['time'][rows[bad[0] + 1]]} after "
                                   f"{tab['time'][rows[bad[0]]]}); sort the table")
    for name in ("ratio", "ratio_unc", "phase_angle"):
        try:
            tab[name] = np.asarray(tab[name], dtype=float)
        except (TypeError, ValueError) as exc:
            raise EtalonInputError(path or None, f"column {name} is not numeric: {exc}") from exc
    tab["source"] = os.path.basename(path) if path else "<table>"
    return tab


@dataclass
class BandSeries:
    """One band's lunar ratio series with the PO in force and the orbit phase.

    Attributes
    ----------
    channel : str
    t_years : numpy.ndarray
        Julian years of each acquisition.
    time : numpy.ndarray of str
        ISO UTC.
    ratio, ratio_unc : numpy.ndarray
        Observed / model ratio and 1-sigma uncertainty (unitless), as processed.
    phase_angle : numpy.ndarray
        Signed lunar phase angle, deg (negative waxing).
    phase : numpy.ndarray of str
        Orbit phase (VM1 ... VM5).
    po_index : numpy.ndarray of int
        Index in :attr:`PORegistry.versions` of the PO in force.
    valid : numpy.ndarray of bool
        False for flagged rows (non-finite or non-positive values), left out of the fits.
    libration : numpy.ndarray or None
        (n, 2) observer selenographic latitude and longitude, deg, when the table has them.
    source : numpy.ndarray of str
        File of each row.
    """

    channel: str
    t_years: np.ndarray
    time: np.ndarray
    ratio: np.ndarray
    ratio_unc: np.ndarray
    phase_angle: np.ndarray
    phase: np.ndarray
    po_index: np.ndarray
    valid: np.ndarray
    libration: np.ndarray | None = None
    source: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))

    @property
    def n(self) -> int:
        return int(self.t_years.size)


def build_series(table, po: PORegistry, *, allow_single_band: bool = False,
                 use_libration: bool = True, uncertainty: str = "random") -> dict[str, BandSeries]:
    """Split a stacked measurement table into per-band series with PO and phase.

    Parameters
    ----------
    table : astropy.table.Table
        From :func:`read_measurements`.
    po : PORegistry
        The registry the ratios were computed with.
    allow_single_band : bool
        A campaign with one band only is refused unless True (a VENuS campaign has 12; one
        band usually means a wrong selection).
    use_libration : bool
        Carry ``sel_obs_lat`` / ``sel_obs_lon`` for the geometry fit when present.
    uncertainty : {"random", "total"}
        ``"random"`` (default): weight with ``ratio_unc_random`` when the tables have it
        (``etalon moon measure`` writes it: the observation's random part); the reference
        model's absolute uncertainty, included in ``ratio_unc``, is common to every acquisition
        of a band and cancels in drifts, steps and phase levels. ``"total"``: ``ratio_unc``.

    Raises
    ------
    EtalonInputError
        A channel absent from the PO, or an acquisition before its channel's first validity
        start (no PO in force).
    etalon.cliutil.UsageError
        One band only and ``allow_single_band`` False.
    """
    from etalon.cliutil import UsageError

    ch_all = np.asarray(table["channel"], dtype=str)
    channels = list(dict.fromkeys(sorted(set(ch_all.tolist()), key=_band_key)))
    if len(channels) == 1 and not allow_single_band:
        raise UsageError(f"the tables hold one band only ({channels[0]}); a campaign compares bands "
                         "and PO versions across bands: give all bands, or allow a single band "
                         "explicitly (--allow-single-band)")
    missing = [c for c in channels if c not in po.gains]
    if missing:
        raise EtalonInputError(po.path or None, f"PO registry has no gains for channel(s) {missing}")
    has_phase = "phase" in table.colnames
    if not has_phase:
        log.warning("measurement tables have no 'phase' column: orbit phases taken from the dates "
                    "(etalon.venus.phases)")
    has_lib = use_libration and "sel_obs_lat" in table.colnames and "sel_obs_lon" in table.colnames
    if uncertainty not in ("random", "total"):
        raise ValueError(f"uncertainty must be random or total, got {uncertainty!r}")
    unc_col = "ratio_unc"
    if uncertainty == "random" and "ratio_unc_random" in table.colnames:
        unc_col = "ratio_unc_random"
        log.warning("weights from ratio_unc_random (the observation's random part): the model's "
                    "absolute uncertainty in ratio_unc is common to all acquisitions and cancels in "
                    "drifts and steps (use the total with --uncertainty total)")
    out: dict[str, BandSeries] = {}
    for c in channels:
        sel = ch_all == c
        sub = table[sel]
        t = np.asarray(sub["t_years"], dtype=float)
        idx = po.index_at(t)
        if np.any(idx < 0):
            i = int(np.flatnonzero(idx < 0)[0])
            raise EtalonInputError(po.path or None, f"no PO in force for {c} at {sub['time'][i]} "
                                   f"({sub['source'][i]}): the first validity start is {po.validity_iso[0]}")
        ratio = np.asarray(sub["ratio"], dtype=float)
        unc = np.asarray(sub[unc_col], dtype=float)
        pa = np.asarray(sub["phase_angle"], dtype=float)
        if has_phase:
            phase = np.array([str(p).strip() for p in sub["phase"]])
        else:
            from etalon.venus.phases import phases_at

            phase = np.asarray(phases_at([str(s) for s in sub["time"]]), dtype=str)
        lib = None
        valid = np.isfinite(ratio) & (ratio > 0) & np.isfinite(unc) & (unc > 0) & np.isfinite(pa)
        if has_lib:
            lib = np.column_stack([np.asarray(sub["sel_obs_lat"], float),
                                   np.asarray(sub["sel_obs_lon"], float)])
            valid &= np.all(np.isfinite(lib), axis=1)
        if not np.all(valid):
            log.warning("%s: %d row(s) flagged invalid (non-finite or non-positive ratio, ratio_unc, "
                        "phase angle or libration) and left out of the fits", c, int((~valid).sum()))
        out[c] = BandSeries(c, t, np.array([str(s) for s in sub["time"]]), ratio, unc, pa, phase, idx, valid,
                            lib, np.asarray(sub["source"], dtype=str))
    return out


def _band_key(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits and name.lstrip("Bb").isdigit() else 10**6, name)
