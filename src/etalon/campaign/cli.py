"""``etalon campaign analyze | acceptance | simulate``: thin layer over :mod:`etalon.campaign`."""

from __future__ import annotations

import argparse
import logging

from etalon.cliutil import add_common_options

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``analyze``, ``acceptance`` and ``simulate`` to the ``etalon campaign`` group."""
    a = subparsers.add_parser(
        "analyze", help="drift per PO segment, PO steps, phase levels and change points of a lunar campaign",
        description="Read measurement tables (etalon moon measure ECSV: time, channel, ratio, ratio_unc, "
        "signed phase_angle, optional phase) and the PO registry (version, validity_start, channel, gain); "
        "fit per band the geometry dependence jointly with a trend per PO segment; write the statistical "
        "results file (CF netCDF) and the summary (ECSV: channel, term, value, unc); with "
        "--desert-terms, the desert's phase levels and drift beside the Moon's in the results file.")
    a.add_argument("tables", nargs="+", metavar="TABLE.ecsv", help="measurement tables (any number)")
    a.add_argument("--po", required=True, metavar="PO.ecsv",
                   help="PO registry: version, validity_start (ISO UTC), channel, gain")
    add_common_options(a, output="file", output_required=True, progress=False)
    a.add_argument("--summary", metavar="SUMMARY.ecsv", default=None,
                   help="also write the summary table (channel, term, value, unc)")
    a.add_argument("--model", choices=("auto", "linear", "exponential"), default="auto",
                   help="trend model in each PO segment (default auto: lower BIC)")
    a.add_argument("--reference-po", metavar="VERSION", default=None,
                   help="PO version the reprocessed series is brought to (default: the last one)")
    a.add_argument("--geometry-degree", type=int, choices=(1, 2), default=1,
                   help="phase-angle polynomial degree on each side, waxing and waning (default 1)")
    a.add_argument("--no-libration", action="store_true",
                   help="do not fit the libration terms even if the tables have sel_obs_lat/sel_obs_lon")
    a.add_argument("--outlier-k", type=float, default=4.0, metavar="K",
                   help="reject points beyond K robust sigmas (default 4)")
    a.add_argument("--max-changepoints", type=int, default=3, metavar="N",
                   help="at most N steps no PO explains are searched per band (default 3; 0: none)")
    a.add_argument("--uncertainty", choices=("random", "total"), default="random",
                   help="weights: ratio_unc_random when the tables have it (default; the model's "
                   "absolute uncertainty cancels in drifts and steps), or the total ratio_unc")
    a.add_argument("--allow-single-band", action="store_true",
                   help="accept tables holding one band only (refused by default)")
    a.add_argument("--desert-terms", metavar="TERMS.ecsv", default=None,
                   help="desert terms (channel, term, value, unc; phase:<name> and drift:all, as "
                   "etalon desert compare-moon --desert-terms writes) stored in the results file "
                   "beside the Moon's (desert_phase_level, desert_drift...)")
    a.set_defaults(func=_analyze)

    c = subparsers.add_parser(
        "acceptance", help="in-flight acceptance after the orbit change: pass/fail per band",
        description="Apply criteria per band (TOML: |phase/reference - 1|, |drift| within the phase, minimum "
        "N) to a campaign results file; write a pass/fail ECSV with the figures behind each verdict.")
    c.add_argument("results", metavar="RESULTS.nc", help="results file of etalon campaign analyze")
    c.add_argument("--config", metavar="CRITERIA.toml", default=None,
                   help="criteria (default: the built-in ones, 1 %% offset, 1 %%/yr drift, 20 acquisitions)")
    add_common_options(c, output="file", output_required=True, progress=False)
    c.set_defaults(func=_acceptance)

    s = subparsers.add_parser(
        "simulate", help="write a synthetic campaign (measurement tables, PO registry, truth)",
        description="Synthetic lunar campaign at the measurement-table level (etalon.campaign.synthetic): "
        "drifts, 2-3 PO updates, VM5 offset, phase-angle dependence, 0.1 %% noise, bad acquisitions.")
    add_common_options(s, output="dir", output_required=True, progress=False)
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--bands", default=None, metavar="B1,B2,...", help="bands (default the 12 VENuS bands)")
    s.add_argument("--files", type=int, default=3, help="number of measurement tables (default 3)")
    s.add_argument("--noise", type=float, default=0.001, help="relative noise per ratio (default 0.001)")
    s.set_defaults(func=_simulate)


def _analyze(args: argparse.Namespace) -> int:
    from etalon.campaign.analysis import analyze_files
    from etalon.campaign.results import read_desert_terms, summary_table, write_results, write_summary
    from etalon.cliutil import check_outputs

    outs = [args.output] + ([args.summary] if args.summary else [])
    extra = [args.desert_terms] if args.desert_terms else []
    check_outputs([*args.tables, args.po, *extra], outs)
    if not args.summary:
        log.warning("no --summary: only the results file %s is written", args.output)
    desert = read_desert_terms(args.desert_terms) if args.desert_terms else None  # before any work
    result = analyze_files(args.tables, args.po, allow_single_band=args.allow_single_band,
                           use_libration=not args.no_libration, uncertainty=args.uncertainty,
                           model=args.model,
                           geometry_degree=args.geometry_degree, outlier_k=args.outlier_k,
                           max_changepoints=args.max_changepoints, reference_po=args.reference_po)
    if not result.bands:
        log.error("no band could be fitted")
        return 1
    write_results(result, args.output, desert_terms=desert, desert_source=args.desert_terms)
    if args.summary:
        write_summary(result, args.summary, inputs=[*args.tables, args.po], parameters=result.parameters)
    tab = summary_table(result)
    print(f"{len(result.bands)} band(s), {len(result.po.versions)} PO version(s) -> {args.output}"
          + (f", {args.summary}" if args.summary else ""))
    tab.pprint(max_width=200, max_lines=60)
    return 1 if result.failed else 0


def _acceptance(args: argparse.Namespace) -> int:
    from etalon.campaign.acceptance import (
        default_criteria,
        evaluate_acceptance,
        read_criteria,
        write_acceptance,
    )
    from etalon.campaign.results import read_results
    from etalon.cliutil import check_outputs

    check_outputs([args.results] + ([args.config] if args.config else []), [args.output])
    if args.config:
        crit = read_criteria(args.config)
    else:
        log.warning("no --config: built-in acceptance criteria used (etalon.campaign.acceptance."
                    "DEFAULT_CRITERIA_TOML)")
        crit = default_criteria()
    tab = evaluate_acceptance(read_results(args.results), crit)
    write_acceptance(tab, args.output, inputs=[args.results] + ([args.config] if args.config else []),
                     parameters={"phase": crit.phase, "reference_phase": crit.reference_phase})
    npass = int((tab["verdict"] == "PASS").sum())
    print(f"{npass}/{len(tab)} band(s) pass ({crit.phase} vs {crit.reference_phase}) -> {args.output}")
    tab["channel", "n", "phase_offset", "phase_offset_unc", "drift", "drift_unc", "verdict",
        "reason"].pprint(max_width=200, max_lines=60)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from etalon.campaign.synthetic import simulate_campaign
    from etalon.cliutil import UsageError, output_dir_or_error

    output_dir_or_error(args.output_dir)  # before any work: a file in the way is refused
    if args.files < 1:
        raise UsageError(f"--files {args.files}: must be >= 1")
    if not 0 <= args.noise < 1:
        raise UsageError(f"--noise {args.noise}: must be in [0, 1) (relative noise per ratio)")
    bands = [b.strip() for b in args.bands.split(",") if b.strip()] if args.bands else None
    camp = simulate_campaign(args.seed, bands, noise=args.noise)
    paths, po, truth = camp.write(args.output_dir, files=args.files)
    print(f"{len(camp.table)} row(s) in {len(paths)} table(s), {po}, {truth}")
    return 0
