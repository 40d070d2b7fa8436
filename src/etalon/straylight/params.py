"""CT1/CT2 parameter sets in ECSV files (one row per CT1 band or CT2 ordered pair).

File format (astropy ECSV; documented in ``docs/straylight.md``):

============== ====== ==========================================================
column         unit   meaning
============== ====== ==========================================================
type                  ``CT1`` or ``CT2``
source_band           CT1: the band; CT2: the source band
victim_band           CT1: the band again; CT2: the victim band
coefficient           CT1: halo amplitude a; CT2: ghost coefficient c (flux ratio)
dx, dy         pix    CT2 displacement, victim minus source (NaN for CT1)
blur_px        pix    CT2 Gaussian blur sigma (NaN for CT1)
scale_px       pix    CT1 halo scale (NaN for CT2)
profile               CT1 ``exponential`` or ``power`` (empty for CT2)
index                 CT1 power-law index (NaN for CT2)
max_radius_px  pix    CT1 halo truncation radius, 0 = automatic (NaN for CT2)
inner_px       pix    CT1 inner radius (NaN for CT2)
============== ====== ==========================================================

``meta`` carries ``version`` (a parameter-set label, e.g. a PO/STRLGT version) and the
provenance written by :func:`etalon.provenance.table_provenance`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from etalon.fileio import EtalonInputError, atomic_output, require_file
from etalon.straylight.models import CT1Kernel, CT2Ghost

__all__ = ["COLUMNS", "StrayLightParameters", "parameters_table", "read_parameters",
           "write_parameters"]

COLUMNS = ("type", "source_band", "victim_band", "coefficient", "dx", "dy", "blur_px",
           "scale_px", "profile", "index", "max_radius_px", "inner_px")
_UNITS = {"dx": "pix", "dy": "pix", "blur_px": "pix", "scale_px": "pix",
          "max_radius_px": "pix", "inner_px": "pix"}


@dataclass
class StrayLightParameters:
    """A CT1/CT2 parameter set.

    Attributes
    ----------
    ct1 : list of CT1Kernel
    ct2 : list of CT2Ghost
    version : str
        Label of the set (free text).
    meta : dict
        Everything else in the file's metadata.
    """

    ct1: list[CT1Kernel]
    ct2: list[CT2Ghost]
    version: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def parameters_table(ct1: Sequence[CT1Kernel], ct2: Sequence[CT2Ghost], version: str = ""):
    """The parameter set as an astropy Table in the file layout (no provenance)."""
    from astropy.table import Table

    nan = math.nan
    rows = []
    for k in ct1:
        rows.append(("CT1", k.band, k.band, k.amplitude, nan, nan, nan, k.scale_px, k.profile,
                     k.index, k.max_radius_px, k.inner_px))
    for g in ct2:
        rows.append(("CT2", g.source, g.victim, g.coefficient, g.dx, g.dy, g.blur_px, nan, "",
                     nan, nan, nan))
    if rows:
        cols = list(zip(*rows, strict=True))
    else:
        cols = [[] for _ in COLUMNS]
    t = Table([np.array(c, dtype=str if i in (0, 1, 2, 8) else float) for i, c in enumerate(cols)],
              names=COLUMNS)
    for name, unit in _UNITS.items():
        t[name].unit = unit
    t.meta["version"] = version
    return t


def write_parameters(path: str | os.PathLike[str], ct1: Sequence[CT1Kernel],
                     ct2: Sequence[CT2Ghost], version: str = "",
                     parameters: Mapping[str, Any] | None = None,
                     inputs: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """Write a parameter set to an ECSV file (atomically), with provenance in ``meta``.

    Parameters
    ----------
    path : path-like
        Output ``.ecsv`` file.
    ct1, ct2 : sequences of CT1Kernel, CT2Ghost
    version : str
        Label of the set.
    parameters, inputs
        Provenance: how the set was obtained, from which files.
    """
    from etalon.provenance import table_provenance

    t = parameters_table(ct1, ct2, version)
    t.meta.update(table_provenance("straylight parameters", inputs, parameters))
    out = Path(path)
    with atomic_output(out) as tmp:
        t.write(tmp, format="ascii.ecsv", overwrite=True)
    return out


def _float(row, name: str, p: Path, i: int) -> float:
    try:
        return float(row[name])
    except (TypeError, ValueError) as exc:
        raise EtalonInputError(p, f"row {i + 1}: {name} is not a number ({row[name]!r})") from exc


def read_parameters(path: str | os.PathLike[str]) -> StrayLightParameters:
    """Read a CT1/CT2 parameter set written by :func:`write_parameters` (or by hand).

    Raises
    ------
    EtalonInputError
        Naming the file (and the row) when it is not ECSV, lacks a column, has an unknown
        type, a non-numeric or out-of-range value, an unknown band, or a duplicated band/pair.
    """
    from astropy.table import Table

    from etalon.venus.bands import band_name

    p = require_file(path, "stray-light parameter file")
    try:
        t = Table.read(p, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many types for malformed files
        raise EtalonInputError(p, f"not a readable ECSV table ({type(exc).__name__}: {exc})") from exc
    required = ("type", "source_band", "victim_band", "coefficient")
    missing = [c for c in required if c not in t.colnames]
    if missing:
        raise EtalonInputError(p, f"missing columns {missing} (have {t.colnames})")
    ct1: list[CT1Kernel] = []
    ct2: list[CT2Ghost] = []
    seen: set[tuple[str, str, str]] = set()
    for i, row in enumerate(t):
        kind = str(row["type"]).strip().upper()
        try:
            src, vic = band_name(str(row["source_band"])), band_name(str(row["victim_band"]))
        except ValueError as exc:
            raise EtalonInputError(p, f"row {i + 1}: {exc}") from exc
        key = (kind, src, vic)
        if key in seen:
            raise EtalonInputError(p, f"row {i + 1}: {kind} {src}->{vic} given twice")
        seen.add(key)
        coef = _float(row, "coefficient", p, i)
        try:
            if kind == "CT1":
                if src != vic:
                    raise ValueError(f"CT1 row with source {src} != victim {vic}")
                opt = {}
                for name in ("index", "max_radius_px", "inner_px"):
                    if name in t.colnames and math.isfinite(_float(row, name, p, i)):
                        opt[name] = _float(row, name, p, i)
                if "profile" in t.colnames and str(row["profile"]).strip():
                    opt["profile"] = str(row["profile"]).strip()
                if "scale_px" not in t.colnames:
                    raise ValueError("CT1 row needs column scale_px")
                ct1.append(CT1Kernel(src, coef, _float(row, "scale_px", p, i), **opt))
            elif kind == "CT2":
                for name in ("dx", "dy"):
                    if name not in t.colnames:
                        raise ValueError(f"CT2 row needs column {name}")
                blur = _float(row, "blur_px", p, i) if "blur_px" in t.colnames else 0.0
                ct2.append(CT2Ghost(src, vic, coef, _float(row, "dx", p, i),
                                    _float(row, "dy", p, i), blur))
            else:
                raise ValueError(f"type must be CT1 or CT2, got {row['type']!r}")
        except ValueError as exc:
            raise EtalonInputError(p, f"row {i + 1}: {exc}") from exc
    meta = dict(t.meta)
    return StrayLightParameters(ct1, ct2, str(meta.pop("version", "")), meta)
