"""``etalon report``: run the notebooks and publish them as HTML reports."""

from __future__ import annotations

import argparse
import sys


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
    p.add_argument("--output", "-o", metavar="DIR", default="reports",
                   help="folder for the reports (default: %(default)s)")
    p.add_argument("--notebooks", "-n", metavar="NAME", nargs="+", default=None,
                   help="notebooks to run: file name, stem or unique stem prefix (default: all)")
    p.add_argument("--notebook-dir", metavar="DIR", default=None,
                   help="folder holding the notebooks (default: ./notebooks, else the source checkout's)")
    p.add_argument("-p", "--parameter", metavar=("NAME", "VALUE"), nargs=2, action="append", default=[],
                   help="set a parameter; NAME applies to every selected notebook declaring it, "
                   "NOTEBOOK:NAME to one notebook; the value is checked against the declared type "
                   "(repeatable)")
    p.add_argument("--jobs", "-j", metavar="N", type=int, default=1,
                   help="notebooks executed at once, each in its own process (default: %(default)s)")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=None,
                   help="fail a notebook whose cell runs longer than this (default: 600)")
    p.add_argument("--no-code", action="store_true",
                   help="hide code cells in the HTML reports (outputs only)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from etalon.report import format_value
    from etalon.report.parameters import ParameterError
    from etalon.report.runner import (
        CELL_TIMEOUT_S,
        default_notebook_dir,
        find_notebooks,
        resolve_parameters,
        run_reports,
    )

    try:
        notebooks = find_notebooks(args.notebook_dir or default_notebook_dir(), args.notebooks)
        values, rejected = resolve_parameters(notebooks, [tuple(p) for p in args.parameter])
    except (FileNotFoundError, ValueError, ParameterError) as exc:
        print(f"etalon report: error: {exc}", file=sys.stderr)
        return 2
    runs = run_reports(notebooks, args.output, values, rejected, jobs=max(1, args.jobs),
                       hide_code=args.no_code, progress=not args.no_progress,
                       cell_timeout_s=args.timeout or CELL_TIMEOUT_S)
    for r in runs:
        line = f"{r.status:>8}  {r.name:<32} {r.duration_s:6.1f} s"
        if r.records:
            line += "  " + ", ".join(f"{x['name']} = {format_value(x['value'])} {x['unit']}".rstrip()
                                     for x in r.records[:3])
        print(line)
    failed = [r for r in runs if not r.ok]
    for r in failed:
        print(f"\nFAILED {r.name}: {r.error}", file=sys.stderr)
        if r.failing_cell:
            print(f"failing {r.failing_cell}", file=sys.stderr)
    print(f"\nreports in {args.output}/index.html ({len(runs) - len(failed)} of {len(runs)} ok)")
    return 1 if failed else 0
