"""The operational runs behind ``etalon sno predict / overpasses / compare``.

Each run: validate everything (configuration, TLEs and their age, the window) before any
work; compute; write the products atomically under deterministic names derived from the
run name and the window (a rerun replaces them, never duplicates them); write a JSON
summary listing inputs, parameters, counts, outputs and failures.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from etalon.fileio import EtalonInputError, atomic_output
from etalon.sno.config import Config, SatelliteSpec
from etalon.sno.orbits import Orbit, from_tle, sun_synchronous, venus_orbit
from etalon.sno.timescale import to_iso
from etalon.sno.tle import check_age, read_tle

__all__ = [
    "PredictResult",
    "build_orbit",
    "output_paths",
    "predict",
    "stamp",
    "window_tag",
    "write_json",
    "write_table",
]

log = logging.getLogger(__name__)


def window_tag(start: float, end: float) -> str:
    """``20241201T000000_20241208T000000``: the window in output names."""
    def f(t: float) -> str:
        return str(to_iso(t, "s")).replace("-", "").replace(":", "")
    return f"{f(start)}_{f(end)}"


def output_paths(output_dir: str | os.PathLike[str], name: str, start: float, end: float,
                 kinds=("overpasses", "coincidences", "crossings")) -> dict[str, Path]:
    """Deterministic product paths of a predict run: ``<name>_<kind>_<window>.ecsv`` and the summary."""
    tag = window_tag(start, end)
    out = {k: Path(output_dir) / f"{name}_{k}_{tag}.ecsv" for k in kinds}
    out["summary"] = Path(output_dir) / f"{name}_summary_{tag}.json"
    return out


def build_orbit(spec: SatelliteSpec, start: float, end: float, max_age_days: float,
                warn_age_days: float, config_path: str = "<config>") -> tuple[Orbit, dict[str, Any]]:
    """The orbit of a configured satellite, its TLE age checked against the window.

    Raises
    ------
    EtalonInputError
        A bad TLE file, a satellite not in it, or a TLE too old for the window.
    """
    if spec.tle is not None:
        tles = read_tle(spec.tle)
        want = spec.tle_name or spec.name
        match = [t for t in tles if t.name.strip().upper() == want.strip().upper()]
        if not match and len(tles) == 1 and spec.tle_name is None:
            match = tles
        if not match:
            raise EtalonInputError(spec.tle, f"no satellite named {want!r} (needed by {spec.key} of "
                                   f"{config_path}); the file has {[t.name for t in tles]}")
        tle = match[0]
        age = check_age(tle, start, end, warn_age_days, max_age_days)
        orbit = from_tle(tle)
        orbit = Orbit(spec.name, orbit.satrec, orbit.source, orbit.epoch, tle)
        return orbit, {"name": spec.name, "source": tle.source, "epoch": tle.epoch_iso,
                       "max_age_days": round(age, 3), "norad": tle.norad}
    if spec.venus_phase is not None:
        orbit = venus_orbit(spec.venus_phase, spec.epoch, spec.mean_anomaly_deg, name=spec.name)
    else:
        e = spec.elements or {}
        orbit = sun_synchronous(spec.name, e["altitude_km"], e["ltdn_hours"], e["epoch"],
                                e.get("mean_anomaly_deg", 0.0), e.get("repeat_days"))
    log.warning("%s: no TLE, %s (ground tracks of the right family; pass times are not the real "
                "satellite's)", spec.name, orbit.source)
    return orbit, {"name": spec.name, "source": orbit.source, "epoch": str(to_iso(orbit.epoch))}


@dataclass
class PredictResult:
    """Products of a predict run (astropy tables) and what went wrong."""

    overpasses: Any
    coincidences: Any
    crossings: Any | None
    satellites: list[dict[str, Any]]
    failures: list[str] = field(default_factory=list)


def predict(config: Config, orbits: dict[str, Orbit], start: float, end: float) -> PredictResult:
    """Overpasses of every satellite over every site, same-site coincidences, orbit crossings.

    A satellite whose propagation fails (SGP4 error) is listed in ``failures`` and the
    others finish.
    """
    from astropy.table import Table, vstack

    from etalon.sno.coincidence import find_orbit_crossings, same_site_coincidences
    from etalon.sno.overpass import find_overpasses

    op = config.overpass
    passes: dict[str, Table] = {}
    failures = []
    specs = {sp.name: sp for sp in config.satellites}
    for name, orbit in orbits.items():
        vza = specs[name].max_vza_deg if name in specs and specs[name].max_vza_deg is not None \
            else op["max_vza_deg"]
        try:
            passes[name] = find_overpasses(orbit, config.sites, start, end, vza,
                                           op["max_sza_deg"], op["coarse_step_s"])
        except RuntimeError as exc:
            failures.append(f"{name}: {exc}")
            log.error("%s: overpasses failed: %s", name, exc)
    names = list(orbits)
    pairs = config.coincidence["pairs"] or [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    co = config.coincidence
    coinc = []
    crossings = []
    for a, b in pairs:
        if a in passes and b in passes:
            coinc.append(same_site_coincidences(passes[a], passes[b], co["max_dt_s"], co["max_vza_deg"],
                                                co["max_view_separation_deg"], co["max_delta_sza_deg"]))
        if config.crossing["enabled"] and a in passes and b in passes:
            cr = config.crossing
            try:
                crossings.append(find_orbit_crossings(orbits[a], orbits[b], start, end,
                                                      cr["max_distance_km"], cr["max_dt_s"],
                                                      cr["coarse_step_s"]))
            except RuntimeError as exc:
                failures.append(f"{a} x {b}: {exc}")
                log.error("%s x %s: orbit crossings failed: %s", a, b, exc)
    over = vstack(list(passes.values())) if passes else Table()
    if len(over):
        over.sort(["t", "site"])
    return PredictResult(over, vstack(coinc) if coinc else Table(),
                         (vstack(crossings) if crossings else Table()) if config.crossing["enabled"]
                         else None, [], failures)


def stamp(table, step: str, inputs, parameters: dict[str, Any]) -> None:
    """Provenance in the table's metadata."""
    from etalon.provenance import table_provenance

    table.meta.update(table_provenance(step, inputs, parameters))


def write_table(table, path: str | os.PathLike[str]) -> None:
    """Write an ECSV table atomically (replaces an existing product)."""
    with atomic_output(path) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)


def _jsonable(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    return str(v)


def write_json(obj: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a JSON summary atomically."""
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n", encoding="utf-8")
