"""``etalon sno predict | overpasses | compare``: the SNO chain's commands (thin layer).

Exit codes: 0 done, 1 done with failures (listed), 2 bad input or configuration (nothing
written; ``compare``: every input table bad). Products are written atomically under
deterministic names; ``--dry-run`` prints what would be done and writes nothing.
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``predict``, ``overpasses`` and ``compare`` to the ``etalon sno`` group."""
    from etalon.cliutil import add_common_options

    p = subparsers.add_parser(
        "predict", help="overpasses, same-site coincidences and orbit crossings from a TOML config",
        description="Every pass of every configured satellite over every site in the window, the "
        "same-site near-simultaneous acquisitions of each satellite pair, and (if enabled) the "
        "orbit-crossing SNOs. Writes <name>_overpasses_<window>.ecsv, <name>_coincidences_"
        "<window>.ecsv, [<name>_crossings_<window>.ecsv] and <name>_summary_<window>.json in the "
        "output folder.")
    p.add_argument("config", metavar="CONFIG.toml", help="configuration file (see docs/sno.md)")
    _window_options(p, required=False)
    p.add_argument("--dry-run", action="store_true", help="validate, print what would be done, "
                   "write nothing")
    add_common_options(p, output="dir", progress=False)
    p.set_defaults(func=_predict)

    o = subparsers.add_parser(
        "overpasses", help="passes of the satellites of a TLE file over sites",
        description="One row per pass and satellite of the TLE file: satellite (name line), time "
        "(ISO UTC of closest approach), vza, vaa, sza, saa (deg), distance_km (site to the "
        "sub-satellite point), site_lat, site_lon. Writes OUT.ecsv and OUT.json (summary).")
    # "--site -23.6,15.12": let a negative LAT,LON be a value, not an option (argparse only
    # recognises plain negative numbers by default)
    import re

    o._negative_number_matcher = re.compile(r"^-\d+$|^-\d*\.\d+$|^-\d*\.?\d*,[-+\d.,eE]*$")
    o.add_argument("--tle", required=True, metavar="FILE", help="TLE file (name line + 2 lines)")
    o.add_argument("--site", required=True, action="append", metavar="LAT,LON",
                   help="site geodetic latitude and longitude, deg (repeat for several sites)")
    _window_options(o, required=True)
    o.add_argument("--max-vza", type=float, default=None, metavar="DEG",
                   help="largest view zenith angle at closest approach, deg (default 90: every pass)")
    o.add_argument("--max-sza", type=float, default=None, metavar="DEG",
                   help="largest sun zenith angle, deg (default: day and night passes)")
    o.add_argument("--max-tle-age", type=float, default=180.0, metavar="DAYS",
                   help="refuse a TLE whose epoch is more than DAYS from the window (default 180)")
    o.add_argument("--dry-run", action="store_true", help="validate, print what would be done, "
                   "write nothing")
    add_common_options(o, output="file", output_required=True, progress=False)
    o.set_defaults(func=_overpasses)

    c = subparsers.add_parser(
        "compare", help="TOA reflectance ratios of matched acquisitions with SBAF, per-band summary",
        description="Input: matched-acquisition tables (ECSV; columns match_id, band_a, band_b, "
        "rho_a, rho_a_unc, rho_b, rho_b_unc). Output per input: <stem>_ratios.ecsv (ratio = rho_a / "
        "(SBAF rho_b) and uncertainties); over all inputs: <name>_band_summary.ecsv and "
        "<name>_compare_summary.json. A failing input is reported and the others finish (exit 1; "
        "exit 2 when every input is bad).")
    c.add_argument("matches", nargs="+", metavar="MATCHES.ecsv", help="matched-acquisition tables")
    c.add_argument("--config", default=None, metavar="CONFIG.toml",
                   help="configuration ([run] name, output_dir; [compare] responses, spectrum, pairs)")
    c.add_argument("--dry-run", action="store_true", help="validate, print what would be done, "
                   "write nothing")
    add_common_options(c, output="dir", progress=False)
    c.set_defaults(func=_compare)


def _window_options(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--start", required=required, default=None, metavar="T",
                   help="window start, ISO UTC (2024-12-01 or 2024-12-01T06:00:00)"
                   + ("" if required else "; default [run] start"))
    p.add_argument("--end", required=required, default=None, metavar="T",
                   help="window end, ISO UTC" + ("" if required else "; default [run] end"))


def _window(start, end) -> tuple[float, float]:
    from etalon.cliutil import UsageError
    from etalon.sno.timescale import parse_time

    if start is None or end is None:
        raise UsageError(f"the window needs a start and an end (--start/--end or [run] start/end); "
                         f"got start={start!r}, end={end!r}")
    try:
        s, e = parse_time(start, "--start"), parse_time(end, "--end")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not e > s:
        raise UsageError(f"--end {end} is not after --start {start}")
    if e - s > 400 * 86400.0:
        raise UsageError(f"window {start} - {end} longer than 400 days: split it")
    return s, e


def _predict(args: argparse.Namespace) -> int:
    from etalon.cliutil import UsageError, check_outputs
    from etalon.sno.chain import build_orbit, output_paths, predict, stamp, write_json, write_table
    from etalon.sno.config import load_config

    cfg = load_config(args.config)
    for d in cfg.defaults_taken:
        log.info("%s: default %s", args.config, d)
    try:
        s, e = _window(args.start or cfg.run["start"], args.end or cfg.run["end"])
    except UsageError as exc:  # the window may come from the file: name it
        raise UsageError(f"{args.config}: {exc}") from None
    if not cfg.satellites:
        raise UsageError(f"{args.config}: no [[satellites]]")
    if not cfg.sites:
        raise UsageError(f"{args.config}: no [[sites]]")
    if len(cfg.satellites) < 2:
        log.warning("%s: one satellite: overpasses only, no coincidences", args.config)
    orbits, info = {}, []
    for spec in cfg.satellites:
        orbit, meta = build_orbit(spec, s, e, cfg.run["max_tle_age_days"],
                                  cfg.run["warn_tle_age_days"], args.config)
        orbits[spec.name] = orbit
        info.append(meta)
    outdir = args.output_dir or cfg.run["output_dir"]
    kinds = ("overpasses", "coincidences") + (("crossings",) if cfg.crossing["enabled"] else ())
    paths = output_paths(outdir, cfg.run["name"], s, e, kinds)
    inputs = [args.config, *sorted({sp.tle for sp in cfg.satellites if sp.tle})]
    check_outputs(inputs, list(paths.values()))
    if args.dry_run:
        print(f"window: {args.start or cfg.run['start']} - {args.end or cfg.run['end']}")
        for m in info:
            print(f"satellite: {m['name']} ({m['source']}, epoch {m['epoch']})")
        print(f"sites: {len(cfg.sites)}")
        for k, pth in paths.items():
            print(f"would write {k}: {pth}")
        return 0
    res = predict(cfg, orbits, s, e)
    params = {"start": s, "end": e, **{f"overpass.{k}": v for k, v in cfg.overpass.items()},
              **{f"coincidence.{k}": v for k, v in cfg.coincidence.items()},
              **{f"crossing.{k}": v for k, v in cfg.crossing.items()}}
    tables = {"overpasses": res.overpasses, "coincidences": res.coincidences}
    if res.crossings is not None:
        tables["crossings"] = res.crossings
    for kind, tab in tables.items():
        stamp(tab, f"sno predict {kind}", inputs, params)
        write_table(tab, paths[kind])
        print(paths[kind])
    from etalon import __version__

    summary = {"command": "etalon sno predict", "etalon_version": __version__, "config": args.config,
               "window": {"start": str(_iso(s)), "end": str(_iso(e))}, "satellites": info,
               "sites": [site.name for site in cfg.sites],
               "counts": {k: len(t) for k, t in tables.items()},
               "outputs": {k: str(paths[k]) for k in tables}, "failures": res.failures,
               "status": "failed" if res.failures else "ok"}
    write_json(summary, paths["summary"])
    print(paths["summary"])
    for f in res.failures:
        log.error("failed: %s", f)
    return 1 if res.failures else 0


def _iso(t: float) -> str:
    from etalon.sno.timescale import to_iso

    return str(to_iso(t, "s"))


def _overpasses(args: argparse.Namespace) -> int:
    from pathlib import Path

    from astropy.table import vstack

    from etalon import __version__
    from etalon.cliutil import UsageError, check_outputs
    from etalon.sno.chain import stamp, write_json, write_table
    from etalon.sno.orbits import from_tle
    from etalon.sno.overpass import find_overpasses
    from etalon.sno.sites import parse_site
    from etalon.sno.tle import check_age, read_tle

    s, e = _window(args.start, args.end)
    try:
        sites = [parse_site(x) for x in args.site]
    except ValueError as exc:
        raise UsageError(f"--site: {exc}") from None
    if args.max_vza is None:
        args.max_vza = 90.0
        log.warning("--max-vza not given: every pass above the horizon (90 deg)")
    for opt, v in (("--max-vza", args.max_vza), ("--max-sza", args.max_sza)):
        if v is not None and not 0 <= v <= 90:
            raise UsageError(f"{opt} {v}: must be in [0, 90] deg")
    if not args.max_tle_age > 0:
        raise UsageError(f"--max-tle-age {args.max_tle_age}: must be > 0 days")
    out = Path(args.output)
    summary_path = out.with_suffix(".json")
    check_outputs([args.tle], [out, summary_path])
    tles = read_tle(args.tle)
    ages = {t.name: check_age(t, s, e, max_days=args.max_tle_age) for t in tles}
    if args.dry_run:
        for t in tles:
            print(f"satellite: {t.name} ({t.source}, epoch {t.epoch_iso}, up to {ages[t.name]:.1f} "
                  "days from the window)")
        print(f"sites: {', '.join(args.site)}; window {args.start} - {args.end}")
        print(f"would write: {out}")
        print(f"would write: {summary_path}")
        return 0
    tables, failures = [], []
    for t in tles:
        try:
            tables.append(find_overpasses(from_tle(t), sites, s, e, args.max_vza, args.max_sza))
        except RuntimeError as exc:
            failures.append(f"{t.name}: {exc}")
            log.error("%s: %s", t.name, exc)
    tab = vstack(tables) if tables else None
    if tab is None:
        log.error("no satellite could be propagated")
        return 1
    tab.sort(["t", "satellite"])
    tab = tab["satellite", "time", "vza", "vaa", "sza", "saa", "distance_km", "site_lat", "site_lon"]
    stamp(tab, "sno overpasses", [args.tle], {"start": args.start, "end": args.end,
                                             "max_vza_deg": args.max_vza, "max_sza_deg": args.max_sza,
                                             "sites": ";".join(args.site)})
    write_table(tab, out)
    write_json({"command": "etalon sno overpasses", "etalon_version": __version__, "tle": args.tle,
                "satellites": [{"name": t.name, "source": t.source, "epoch": t.epoch_iso,
                                "max_age_days": round(ages[t.name], 3)} for t in tles],
                "sites": args.site, "window": {"start": args.start, "end": args.end},
                "max_vza_deg": args.max_vza, "count": len(tab), "outputs": [str(out)],
                "failures": failures, "status": "failed" if failures else "ok"}, summary_path)
    print(out)
    return 1 if failures else 0


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from astropy.table import Table, vstack

    from etalon import __version__
    from etalon.cliutil import UsageError, check_outputs
    from etalon.fileio import EtalonInputError, require_file
    from etalon.sno.chain import stamp, write_json, write_table
    from etalon.sno.config import load_config, parse_config
    from etalon.sno.radiometry import (
        DEFAULT_BAND_PAIRS,
        band_sbafs,
        compare_matched,
        read_spectrum,
        responses_for,
        summarise,
    )

    cfg = load_config(args.config) if args.config else parse_config({})
    cc = cfg.compare
    outdir = Path(args.output_dir or cfg.run["output_dir"])
    if not args.config and not args.output_dir:
        log.warning("no --output-dir: writing in the current folder")
    name = cfg.run["name"]
    out_ratio = {m: outdir / f"{Path(m).stem}_ratios.ecsv" for m in args.matches}
    out_band = outdir / f"{name}_band_summary.ecsv"
    out_json = outdir / f"{name}_compare_summary.json"
    inputs = list(args.matches) + ([args.config] if args.config else [])
    check_outputs(inputs, [*out_ratio.values(), out_band, out_json])
    for m in args.matches:
        require_file(m, "matched-acquisition table")
    try:
        resp_a, resp_b = responses_for(cc["responses_a"]), responses_for(cc["responses_b"])
    except (EtalonInputError, ValueError) as exc:
        raise UsageError(f"compare responses: {exc}") from None
    pairs = cc["band_pairs"] or list(DEFAULT_BAND_PAIRS)
    spec = read_spectrum(cc["spectrum"])
    if args.dry_run:
        print(f"band pairs: {', '.join(f'{a}/{b}' for a, b in pairs)}; spectrum "
              f"{cc['spectrum'] or 'bundled Libya-4'}")
        for m, o in out_ratio.items():
            print(f"would write: {o} (from {m})")
        print(f"would write: {out_band}")
        print(f"would write: {out_json}")
        return 0
    try:
        sbafs = band_sbafs(*spec, resp_a, resp_b, pairs, cc["n_draws"], cc["seed"])
    except ValueError as exc:
        raise UsageError(f"compare band pairs: {exc}") from None
    done, failures = [], []
    for m in args.matches:
        try:
            try:
                tab = Table.read(m, format="ascii.ecsv")
            except Exception as exc:
                raise EtalonInputError(m, f"not an ECSV table ({exc})") from None
            res = compare_matched(tab, sbafs, source=m)
        except EtalonInputError as exc:
            failures.append(str(exc))
            log.error("%s", exc)
            continue
        stamp(res, "sno compare", [m], {"responses_a": cc["responses_a"],
                                       "responses_b": cc["responses_b"],
                                       "spectrum": cc["spectrum"] or "bundled Libya-4"})
        write_table(res, out_ratio[m])
        print(out_ratio[m])
        done.append(res)
    if not done:  # every input bad (each an EtalonInputError): nothing done, exit 2
        log.error("no matched-acquisition table could be compared")
        return 2
    summary = summarise(vstack(done, metadata_conflicts="silent"))
    stamp(summary, "sno compare summary", [m for m in args.matches], {"n_files": len(done)})
    write_table(summary, out_band)
    print(out_band)
    write_json({"command": "etalon sno compare", "etalon_version": __version__,
                "inputs": list(args.matches), "outputs": [str(out_ratio[m]) for m in args.matches
                                                          if out_ratio[m].exists()] + [str(out_band)],
                "sbaf": {f"{a}/{b}": {"value": v.value, "unc": v.unc} for (a, b), v in sbafs.items()},
                "bands": [{k: (row[k].item() if hasattr(row[k], "item") else row[k])
                           for k in summary.colnames} for row in summary],
                "failures": failures, "status": "failed" if failures else "ok"}, out_json)
    print(out_json)
    return 1 if failures else 0
