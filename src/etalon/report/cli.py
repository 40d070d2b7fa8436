"""``etalon report``: run the notebooks and publish them as HTML reports."""

from __future__ import annotations

import argparse
import logging
import math

log = logging.getLogger(__name__)


def _seconds(text: str) -> float:
    """``--timeout`` value: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number of seconds")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 1 to 64 notebooks at once")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``etalon report``."""
    p = subparsers.add_parser(
        "report",
        help="execute the notebooks (papermill) and write HTML reports with an index",
        description="Execute notebooks headless with papermill in this environment's kernel, "
        "write each executed notebook and its HTML page, and index.html / index.json listing "
        "every notebook's status, duration, parameters and headline figures. Exits non-zero "
        "if any notebook fails (the others still run).",
    )
    p.add_argument("--output-dir", metavar="DIR", default=None,
                   help="folder for the reports (default: reports); never the notebooks' folder")
    p.add_argument("-o", "--output", metavar="DIR", default=None, dest="output_legacy",
                   help="same as --output-dir (kept for old scripts; -o names a file in every "
                   "other command)")
    p.add_argument("--notebooks", "-n", metavar="NAME", nargs="+", default=None,
                   help="notebooks to run: file name, stem or unique stem prefix (default: all)")
    p.add_argument("--notebook-dir", metavar="DIR", default=None,
                   help="folder holding the notebooks (default: ./notebooks, else the source checkout's)")
    p.add_argument("-p", "--parameter", metavar=("NAME", "VALUE"), nargs=2, action="append", default=[],
                   help="set a parameter; NAME applies to every selected notebook declaring it, "
                   "NOTEBOOK:NAME to one notebook; the value is checked against the declared type "
                   "(repeatable)")
    p.add_argument("--jobs", "-j", metavar="N", type=_jobs, default=1,
                   help="notebooks executed at once, each in its own process (default: %(default)s)")
    p.add_argument("--timeout", metavar="SECONDS", type=_seconds, default=None,
                   help="fail a notebook whose cell runs longer than this, s (default: 600)")
    p.add_argument("--no-code", action="store_true",
                   help="hide code cells in the HTML reports (outputs only)")
    from etalon.cliutil import add_common_options

    add_common_options(p, output=None)
    p.set_defaults(func=_run)


def planned_outputs(notebooks, output_dir) -> list[str]:
    """Every file ``etalon report`` writes into ``output_dir``."""
    from pathlib import Path

    out = Path(output_dir)
    files = [str(out / f"{nb.stem}{ext}") for nb in notebooks for ext in (".ipynb", ".html")]
    return [*files, str(out / "index.html"), str(out / "index.json")]


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from etalon.cliutil import UsageError, check_outputs, output_dir_or_error, show_progress
    from etalon.report import format_value
    from etalon.report.parameters import ParameterError
    from etalon.report.runner import (
        CELL_TIMEOUT_S,
        default_notebook_dir,
        find_notebooks,
        resolve_parameters,
        run_reports,
    )

    if args.output_legacy and args.output_dir and args.output_legacy != args.output_dir:
        raise UsageError(f"-o {args.output_legacy} and --output-dir {args.output_dir}: give one")
    output_dir = args.output_dir or args.output_legacy or "reports"
    output_dir_or_error(output_dir)
    try:
        notebooks = find_notebooks(args.notebook_dir or default_notebook_dir(), args.notebooks)
        values, rejected = resolve_parameters(notebooks, [tuple(p) for p in args.parameter])
    except (FileNotFoundError, ValueError, ParameterError) as exc:
        raise UsageError(str(exc)) from exc
    folders = {nb.parent.resolve() for nb in notebooks}
    if Path(output_dir).resolve() in folders:
        raise UsageError(f"{output_dir}: the output folder is the notebooks' folder; the executed "
                         "copies would replace the source notebooks (use --output-dir reports)")
    check_outputs(notebooks, planned_outputs(notebooks, output_dir))
    runs = run_reports(notebooks, output_dir, values, rejected, jobs=args.jobs,
                       hide_code=args.no_code, progress=show_progress(args),
                       cell_timeout_s=args.timeout or CELL_TIMEOUT_S)
    for r in runs:
        line = f"{r.status:>8}  {r.name:<32} {r.duration_s:6.1f} s"
        if r.records:
            line += "  " + ", ".join(f"{x['name']} = {format_value(x['value'])} {x['unit']}".rstrip()
                                     for x in r.records[:3])
        print(line)
    failed = [r for r in runs if not r.ok]
    for r in failed:
        text = f"FAILED {r.name}: {r.error}"
        if r.failing_cell:
            text += f"\nfailing {r.failing_cell}"
        log.error("%s", text)
    print(f"\nreports in {output_dir}/index.html ({len(runs) - len(failed)} of {len(runs)} ok)")
    return 1 if failed else 0
