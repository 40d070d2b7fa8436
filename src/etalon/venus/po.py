"""The PO registry: versioned, date-validated sets of VENuS official calibration parameters.

A **PO set** is what the Level-1 chain applies to a product: the absolute gains A_k of the
twelve bands (GIPP ``PHGAIN``), the polarisation coefficients, and the versions of the
per-band dark (``DARKCU``), equalisation (``RELSEN``) and stray-light (``STRLGT``) files. A PO
update is a new set with a new version and a new validity start; the set in force at time t is
the one with the latest validity start <= t (:meth:`PoRegistry.in_force`).

File format (ECSV, one row per set and band; documented in ``docs/venus.md``):

==================  ======  ==========================================================
column              type    meaning
==================  ======  ==========================================================
version             str     PO version label (``"PO-1"``; from headers ``P7-D8-R8-S3``)
validity_start      str     first instant the set applies, ISO UTC (``2017-08-01T00:00:00``)
validity_stop       str     end of validity as written (``9999-12-31T00:00:00``: open)
channel             str     band ``B1``..``B12``
gain                float   absolute gain A_k, DN / (W m-2 sr-1 um-1)
polarization        float   polarisation coefficient (NaN when unknown)
darkcu_version      int     version of the band's dark-current file (-1 unknown)
relsen_version      int     version of the band's relative-sensitivity file (-1 unknown)
strlgt_version      int     version of the band's stray-light file (-1 unknown)
source              str     where the set comes from (header file name or ``simulated``)
==================  ======  ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table
from astropy.time import Time

from etalon.fileio import EtalonInputError, atomic_output, require_file
from etalon.venus.bands import BAND_NAMES, band_name

__all__ = ["PO_COLUMNS", "PoRegistry", "PoSet", "read_po", "write_po"]

#: columns of the PO ECSV file, in order, with their units
PO_COLUMNS: dict[str, str | None] = {
    "version": None, "validity_start": None, "validity_stop": None, "channel": None,
    "gain": "DN / (W m-2 sr-1 um-1)", "polarization": None, "darkcu_version": None,
    "relsen_version": None, "strlgt_version": None, "source": None,
}
_OPEN = "9999-12-31T00:00:00"


def _iso(t: str | Time) -> str:
    if isinstance(t, Time):
        return t.utc.isot[:19]
    s = str(t).strip().removesuffix("Z")
    if s.startswith("9999"):
        return _OPEN
    return Time(s, scale="utc").isot[:19]


@dataclass(frozen=True)
class PoSet:
    """One version of the official calibration parameters.

    Attributes
    ----------
    version : str
    validity_start : str
        ISO UTC.
    ak : dict
        Band -> absolute gain A_k, DN / (W m-2 sr-1 um-1).
    polarization : dict
        Band -> polarisation coefficient.
    darkcu, relsen, strlgt : dict
        Band -> GIPP version of the dark, equalisation and stray-light file.
    validity_stop : str
        ISO UTC (``9999-12-31T00:00:00`` when open).
    source : str
    """

    version: str
    validity_start: str
    ak: dict[str, float]
    polarization: dict[str, float] = field(default_factory=dict)
    darkcu: dict[str, int] = field(default_factory=dict)
    relsen: dict[str, int] = field(default_factory=dict)
    strlgt: dict[str, int] = field(default_factory=dict)
    validity_stop: str = _OPEN
    source: str = ""

    @property
    def start_time(self) -> Time:
        """Validity start as an astropy Time (UTC)."""
        return Time(self.validity_start, scale="utc")

    def same_parameters(self, other: PoSet) -> bool:
        """True when the gains and every GIPP version are equal (the version label aside)."""
        return (self.ak == other.ak and self.darkcu == other.darkcu and self.relsen == other.relsen
                and self.strlgt == other.strlgt)


class PoRegistry:
    """An ordered collection of :class:`PoSet` (by validity start).

    Raises
    ------
    ValueError
        On construction, when two sets share a version label or a validity start.
    """

    def __init__(self, sets: Iterable[PoSet]):
        self.sets: list[PoSet] = sorted(sets, key=lambda s: s.start_time.mjd)
        versions = [s.version for s in self.sets]
        if len(set(versions)) != len(versions):
            raise ValueError(f"duplicate PO versions: {versions}")
        starts = [s.validity_start for s in self.sets]
        if len(set(starts)) != len(starts):
            raise ValueError(f"two PO sets start at the same time: {starts}")

    def __len__(self) -> int:
        return len(self.sets)

    def __iter__(self):
        return iter(self.sets)

    @property
    def versions(self) -> list[str]:
        """Version labels, in validity order."""
        return [s.version for s in self.sets]

    def __getitem__(self, version: str) -> PoSet:
        for s in self.sets:
            if s.version == version:
                return s
        raise KeyError(f"no PO version {version!r} (have {self.versions})")

    def _index(self, times) -> np.ndarray:
        t = times if isinstance(times, Time) else Time(times, scale="utc")
        mjd = np.atleast_1d(t.utc.mjd)
        starts = np.array([s.start_time.mjd for s in self.sets])
        idx = np.searchsorted(starts, mjd, side="right") - 1
        if np.any(idx < 0):
            raise ValueError(f"time before the first PO validity start ({self.sets[0].validity_start})")
        return idx

    def in_force(self, time) -> PoSet:
        """The PO set in force at ``time`` (UTC; Time or ISO string): latest start <= time."""
        idx = self._index(time)
        if idx.size != 1:
            raise ValueError("in_force takes one time; use versions_at for several")
        return self.sets[int(idx[0])]

    def versions_at(self, times) -> np.ndarray:
        """Version label in force at each time (array of str)."""
        return np.array([self.sets[i].version for i in self._index(times)], dtype=object).astype(str)

    def gain_at(self, times, band: str) -> np.ndarray:
        """A_k of ``band`` in force at each time, DN / (W m-2 sr-1 um-1)."""
        b = band_name(band)
        return np.array([self.sets[i].ak[b] for i in self._index(times)], dtype=float)

    def update_times(self) -> Time:
        """Validity starts of every set after the first (the PO update dates)."""
        return Time([s.validity_start for s in self.sets[1:]], scale="utc")

    # ---- tables ----
    def to_table(self, step: str = "venus po", inputs: Sequence[str] = ()) -> Table:
        """The registry as the documented ECSV table (one row per set and band)."""
        from etalon.provenance import table_provenance

        rows = []
        for s in self.sets:
            for b in BAND_NAMES:
                if b not in s.ak:
                    continue
                rows.append((s.version, s.validity_start, s.validity_stop, b, float(s.ak[b]),
                             float(s.polarization.get(b, np.nan)), int(s.darkcu.get(b, -1)),
                             int(s.relsen.get(b, -1)), int(s.strlgt.get(b, -1)), s.source))
        names = list(PO_COLUMNS)
        dtypes = [str, str, str, str, float, float, int, int, int, str]
        table = Table(rows=rows or None, names=names, dtype=dtypes)
        table["gain"].unit = "DN / (W m-2 sr-1 um-1)"
        table["gain"].description = "absolute gain A_k: DN = A_k G_p L + D_p"
        table.meta.update(table_provenance(step, inputs, {"n_sets": len(self.sets)}))
        table.meta["po_versions"] = self.versions
        table.meta["description"] = ("VENuS PO registry: one row per PO version and band; the set in "
                                     "force at t has the latest validity_start <= t")
        return table

    @classmethod
    def from_table(cls, table: Table, path: str | os.PathLike[str] | None = None) -> PoRegistry:
        """Build a registry from a table with at least ``version``, ``validity_start``,
        ``channel`` and ``gain`` (other columns optional).

        Raises
        ------
        EtalonInputError
            Naming ``path``, when a required column is missing or a value is invalid.
        """
        missing = [c for c in ("version", "validity_start", "channel", "gain") if c not in table.colnames]
        if missing:
            raise EtalonInputError(path, f"not a PO registry: missing columns {missing}")
        groups: dict[str, dict] = {}
        try:
            for row in table:
                v = str(row["version"])
                g = groups.setdefault(v, {"start": _iso(str(row["validity_start"])), "ak": {},
                                          "pol": {}, "d": {}, "r": {}, "s": {},
                                          "stop": _iso(str(row["validity_stop"]))
                                          if "validity_stop" in table.colnames else _OPEN,
                                          "src": str(row["source"]) if "source" in table.colnames else ""})
                if _iso(str(row["validity_start"])) != g["start"]:
                    raise ValueError(f"version {v} has two validity starts")
                b = band_name(str(row["channel"]))
                gain = float(row["gain"])
                if not np.isfinite(gain) or gain <= 0:
                    raise ValueError(f"version {v} band {b}: gain {gain} is not > 0")
                g["ak"][b] = gain
                for col, key in (("polarization", "pol"), ("darkcu_version", "d"),
                                 ("relsen_version", "r"), ("strlgt_version", "s")):
                    if col in table.colnames:
                        val = float(row[col]) if key == "pol" else int(row[col])
                        if (key == "pol" and np.isfinite(val)) or (key != "pol" and val >= 0):
                            g[key][b] = val          # -1 / NaN: unknown, not stored
            return cls(PoSet(v, g["start"], g["ak"], g["pol"], g["d"], g["r"], g["s"], g["stop"], g["src"])
                       for v, g in groups.items())
        except (ValueError, TypeError, KeyError) as exc:
            raise EtalonInputError(path, f"invalid PO registry: {exc}") from exc

    @classmethod
    def from_headers(cls, headers: Iterable) -> PoRegistry:
        """A registry from real L1 headers (paths or :class:`~etalon.venus.header.L1Header`).

        Each distinct parameter content (A_k and the DARKCU/RELSEN/STRLGT versions) is one set,
        labelled ``P<phgain>-D<darkcu>-R<relsen>-S<strlgt>`` (highest band version of each);
        its validity start is the latest validity start among the PHGAIN, DARKCU, RELSEN and
        STRLGT files it uses (the date the combination came into force).
        """
        from etalon.venus.header import L1Header, read_l1_header

        found: list[PoSet] = []
        for h in headers:
            hdr = h if isinstance(h, L1Header) else read_l1_header(h)
            per = {nat: {g.band: g.version for g in hdr.gipp_of(nat) if g.band}
                   for nat in ("DARKCU", "RELSEN", "STRLGT")}
            phg = hdr.gipp_of("PHGAIN")
            used = phg + hdr.gipp_of("DARKCU") + hdr.gipp_of("RELSEN") + hdr.gipp_of("STRLGT")
            if not used or not hdr.ak:
                raise EtalonInputError(hdr.path, "header has no PHGAIN/A_k: cannot build a PO set")
            start = max(g.validity_start for g in used)
            stop = min(g.validity_stop for g in used)
            label = (f"P{phg[0].version if phg else 0}-D{max(per['DARKCU'].values(), default=0)}"
                     f"-R{max(per['RELSEN'].values(), default=0)}-S{max(per['STRLGT'].values(), default=0)}")
            s = PoSet(label, _iso(start), dict(hdr.ak), dict(hdr.polarization), per["DARKCU"],
                      per["RELSEN"], per["STRLGT"], _iso(stop),
                      hdr.path.name if hdr.path else hdr.product)
            if any(x.same_parameters(s) for x in found):
                continue
            clash = [x for x in found if x.version == s.version]
            if clash:
                s = PoSet(f"{label}.{len(clash) + 1}", s.validity_start, s.ak, s.polarization,
                          s.darkcu, s.relsen, s.strlgt, s.validity_stop, s.source)
            found.append(s)
        if not found:
            raise ValueError("no headers given")
        return cls(found)


def write_po(registry: PoRegistry, path: str | os.PathLike[str], inputs: Sequence[str] = ()) -> Path:
    """Write the registry as ECSV (atomically)."""
    table = registry.to_table(inputs=inputs)
    with atomic_output(path) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    return Path(path)


def read_po(path: str | os.PathLike[str]) -> PoRegistry:
    """Read a PO registry ECSV file (see the module docstring for the columns).

    Raises
    ------
    EtalonInputError
        Naming the file, when it is not an ECSV table or not a PO registry.
    """
    p = require_file(path, "PO registry")
    try:
        table = Table.read(p, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many types for a damaged ECSV
        raise EtalonInputError(p, f"not an ECSV table ({type(exc).__name__}: {exc})") from exc
    return PoRegistry.from_table(table, p)
