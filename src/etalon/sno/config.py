"""The TOML configuration of the SNO chain, with every key validated.

Sections (see ``sample_config.toml`` beside this module and ``docs/sno.md``)::

    [run]          name, output_dir, start, end, max_tle_age_days, warn_tle_age_days
    [[satellites]] name, max_vza_deg (overrides [overpass]) and one source: tle
                   (+ tle_name), venus_phase (+ epoch, mean_anomaly_deg) or elements =
                   {altitude_km, ltdn_hours, epoch, mean_anomaly_deg, repeat_days}
    [[sites]]      name, lat, lon, height_km
    [overpass]     max_vza_deg, max_sza_deg, coarse_step_s
    [coincidence]  pairs, max_dt_s, max_vza_deg, max_view_separation_deg, max_delta_sza_deg
    [crossing]     enabled, max_distance_km, max_dt_s, coarse_step_s
    [compare]      responses_a, responses_b, spectrum, band_pairs, n_draws, seed

An unknown key, a wrong type, a value out of range or a missing required key raises
:class:`etalon.cliutil.UsageError` naming the file and the key (``sites[2].lat``). Relative
paths are relative to the configuration file's folder.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etalon.cliutil import UsageError
from etalon.sno.sites import Site

__all__ = ["Config", "SatelliteSpec", "load_config", "parse_config"]

_NUM = (int, float)

# key -> (types, required, default, check) ; check(value) returns an error text or None
_RUN = {
    "name": (str, False, "sno", lambda v: None if v and all(c.isalnum() or c in "-_." for c in v)
             else "letters, digits, '-', '_' or '.' only"),
    "output_dir": (str, False, ".", None),
    "start": (str, False, None, None),
    "end": (str, False, None, None),
    "max_tle_age_days": (_NUM, False, 180.0, lambda v: None if v > 0 else "must be > 0"),
    "warn_tle_age_days": (_NUM, False, 7.0, lambda v: None if v >= 0 else "must be >= 0"),
}
_ELEMENTS = {
    "altitude_km": (_NUM, True, None, lambda v: None if 100 <= v <= 3000 else "must be in [100, 3000] km"),
    "ltdn_hours": (_NUM, True, None, lambda v: None if 0 <= v < 24 else "must be in [0, 24) h"),
    "epoch": (str, True, None, None),
    "mean_anomaly_deg": (_NUM, False, 0.0, None),
    "repeat_days": (_NUM, False, None, lambda v: None if v > 0 else "must be > 0"),
}
_SATELLITE = {
    "name": (str, True, None, lambda v: None if v.strip() else "must not be empty"),
    "tle": (str, False, None, None),
    "tle_name": (str, False, None, None),
    "venus_phase": (str, False, None, None),
    "epoch": (str, False, None, None),
    "mean_anomaly_deg": (_NUM, False, 0.0, None),
    "elements": (dict, False, None, None),
    "max_vza_deg": (_NUM, False, None, lambda v: None if 0 <= v <= 90 else "must be in [0, 90] deg"),
}
_SITE = {
    "name": (str, True, None, None),
    "lat": (_NUM, True, None, lambda v: None if -90 <= v <= 90 else "latitude must be in [-90, 90] deg"),
    "lon": (_NUM, True, None, lambda v: None if -180 <= v <= 360 else "longitude must be in [-180, 360] deg"),
    "height_km": (_NUM, False, 0.0, lambda v: None if -0.5 <= v <= 9 else "must be in [-0.5, 9] km"),
}
_POS = lambda v: None if v > 0 else "must be > 0"  # noqa: E731
_ANGLE = lambda v: None if 0 <= v <= 90 else "must be in [0, 90] deg"  # noqa: E731
_OVERPASS = {
    "max_vza_deg": (_NUM, False, 30.0, _ANGLE),
    "max_sza_deg": (_NUM, False, None, _ANGLE),
    "coarse_step_s": (_NUM, False, 60.0, lambda v: None if 0 < v <= 600 else "must be in (0, 600] s"),
}
_COINCIDENCE = {
    "pairs": (list, False, None, None),
    "max_dt_s": (_NUM, False, 1800.0, _POS),
    "max_vza_deg": (_NUM, False, None, _ANGLE),
    "max_view_separation_deg": (_NUM, False, None,
                                lambda v: None if 0 <= v <= 180 else "must be in [0, 180] deg"),
    "max_delta_sza_deg": (_NUM, False, None, _ANGLE),
}
_CROSSING = {
    "enabled": (bool, False, False, None),
    "max_distance_km": (_NUM, False, 50.0, _POS),
    "max_dt_s": (_NUM, False, 30.0, _POS),
    "coarse_step_s": (_NUM, False, 20.0, lambda v: None if 0 < v <= 120 else "must be in (0, 120] s"),
}
_COMPARE = {
    "responses_a": (str, False, "venus", None),
    "responses_b": (str, False, "sentinel-2a", None),
    "spectrum": (str, False, None, None),
    "band_pairs": (list, False, None, None),
    "n_draws": (int, False, 200, lambda v: None if 10 <= v <= 100000 else "must be in [10, 100000]"),
    "seed": (int, False, 0, None),
}
_TOP = {"run": dict, "satellites": list, "sites": list, "overpass": dict, "coincidence": dict,
        "crossing": dict, "compare": dict}


@dataclass(frozen=True)
class SatelliteSpec:
    """One configured satellite: its name and element source (resolved paths)."""

    name: str
    tle: str | None = None
    tle_name: str | None = None
    venus_phase: str | None = None
    epoch: str | None = None
    mean_anomaly_deg: float = 0.0
    elements: dict[str, Any] | None = None
    max_vza_deg: float | None = None
    key: str = ""


@dataclass(frozen=True)
class Config:
    """A validated configuration (values with defaults filled in)."""

    path: str
    run: dict[str, Any]
    satellites: tuple[SatelliteSpec, ...]
    sites: tuple[Site, ...]
    overpass: dict[str, Any]
    coincidence: dict[str, Any]
    crossing: dict[str, Any]
    compare: dict[str, Any]
    defaults_taken: tuple[str, ...] = field(default=())


def _type_name(t) -> str:
    if t is _NUM:
        return "a number"
    return {str: "a string", bool: "true or false", int: "an integer", list: "a list",
            dict: "a table"}.get(t, str(t))


def _section(path: str, where: str, raw: Any, schema: dict, defaults: list[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: {where} must be a table")
    unknown = [k for k in raw if k not in schema]
    if unknown:
        known = ", ".join(schema)
        raise UsageError(f"{path}: unknown key '{where}.{unknown[0]}' (known keys of {where}: {known})")
    out: dict[str, Any] = {}
    for key, (types, required, default, check) in schema.items():
        name = f"{where}.{key}"
        if key not in raw:
            if required:
                raise UsageError(f"{path}: missing required key '{name}'")
            out[key] = default
            if default is not None:
                defaults.append(f"{name} = {default!r}")
            continue
        v = raw[key]
        bad_bool = isinstance(v, bool) and types is not bool
        if bad_bool or not isinstance(v, types):
            raise UsageError(f"{path}: '{name}' must be {_type_name(types)}, got {v!r}")
        if types is _NUM:
            v = float(v)
            if not math.isfinite(v):
                raise UsageError(f"{path}: '{name}' must be finite, got {v!r}")
        if check is not None:
            problem = check(v)
            if problem:
                raise UsageError(f"{path}: '{name}' = {v!r}: {problem}")
        out[key] = v
    return out


def _pairs(path: str, where: str, raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in raw):
        raise UsageError(f"{path}: '{where}' must be a list of [\"A\", \"B\"] name pairs, got {raw!r}")
    return [(a, b) for a, b in raw]


def _resolve(base: Path, p: str | None) -> str | None:
    if p is None:
        return None
    q = Path(os.path.expanduser(p))
    return os.path.normpath(q if q.is_absolute() else base / q)


def parse_config(data: dict[str, Any], path: str = "<config>") -> Config:
    """Validate a parsed TOML mapping; see the module docstring for the keys.

    Raises
    ------
    UsageError
        Naming ``path`` and the offending key.
    """
    base = Path(path).resolve().parent if path != "<config>" else Path.cwd()
    unknown = [k for k in data if k not in _TOP]
    if unknown:
        raise UsageError(f"{path}: unknown key '{unknown[0]}' (known sections: {', '.join(_TOP)})")
    defaults: list[str] = []
    run = _section(path, "run", data.get("run", {}), _RUN, defaults)
    run["output_dir"] = _resolve(base, run["output_dir"])
    sats = []
    raw_sats = data.get("satellites", [])
    if not isinstance(raw_sats, list):
        raise UsageError(f"{path}: 'satellites' must be an array of tables ([[satellites]])")
    for i, s in enumerate(raw_sats):
        where = f"satellites[{i}]"
        v = _section(path, where, s, _SATELLITE, [])
        sources = [k for k in ("tle", "venus_phase", "elements") if v[k] is not None]
        if len(sources) != 1:
            raise UsageError(f"{path}: {where} ({v['name']}) needs exactly one of tle, venus_phase, "
                             f"elements; got {sources or 'none'}")
        if v["elements"] is not None:
            v["elements"] = _section(path, f"{where}.elements", v["elements"], _ELEMENTS, [])
        if v["venus_phase"] is not None:
            from etalon.venus.phases import PHASES

            if v["venus_phase"].upper() not in PHASES:
                raise UsageError(f"{path}: '{where}.venus_phase' = {v['venus_phase']!r}: expected one "
                                 f"of {', '.join(PHASES)}")
        for tkey in ("epoch",):
            if v[tkey] is not None:
                _check_time(path, f"{where}.{tkey}", v[tkey])
        if v["elements"] is not None:
            _check_time(path, f"{where}.elements.epoch", v["elements"]["epoch"])
        v["tle"] = _resolve(base, v["tle"])
        sats.append(SatelliteSpec(**v, key=where))
    names = [s.name for s in sats]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(f"{path}: satellite names must be unique, {dup[0]!r} appears twice")
    sites = []
    raw_sites = data.get("sites", [])
    if not isinstance(raw_sites, list):
        raise UsageError(f"{path}: 'sites' must be an array of tables ([[sites]])")
    for i, s in enumerate(raw_sites):
        v = _section(path, f"sites[{i}]", s, _SITE, [])
        sites.append(Site(v["name"], v["lat"], v["lon"], v["height_km"]))
    overpass = _section(path, "overpass", data.get("overpass", {}), _OVERPASS, defaults)
    coinc = _section(path, "coincidence", data.get("coincidence", {}), _COINCIDENCE, defaults)
    if coinc["pairs"] is not None:
        coinc["pairs"] = _pairs(path, "coincidence.pairs", coinc["pairs"])
        for a, b in coinc["pairs"]:
            for n in (a, b):
                if n not in names:
                    raise UsageError(f"{path}: 'coincidence.pairs' names {n!r}, not a configured "
                                     f"satellite ({', '.join(names)})")
    crossing = _section(path, "crossing", data.get("crossing", {}), _CROSSING, defaults)
    compare = _section(path, "compare", data.get("compare", {}), _COMPARE, defaults)
    compare["spectrum"] = _resolve(base, compare["spectrum"])
    if compare["band_pairs"] is not None:
        compare["band_pairs"] = _pairs(path, "compare.band_pairs", compare["band_pairs"])
    for k in ("start", "end"):
        if run[k] is not None:
            _check_time(path, f"run.{k}", run[k])
    return Config(str(path), run, tuple(sats), tuple(sites), overpass, coinc, crossing, compare,
                  tuple(defaults))


def _check_time(path: str, key: str, value: str) -> None:
    from etalon.sno.timescale import parse_time

    try:
        parse_time(value, key)
    except ValueError as exc:
        raise UsageError(f"{path}: '{key}' = {value!r} is not an ISO UTC time") from exc


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a TOML configuration file.

    Raises
    ------
    EtalonInputError
        When the file is missing or not TOML.
    UsageError
        For an invalid key or value (naming the file and key).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]

    from etalon.fileio import EtalonInputError, require_file

    p = require_file(path, "SNO configuration")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EtalonInputError(p, f"not a valid TOML file ({exc})") from None
    return parse_config(data, str(p))
