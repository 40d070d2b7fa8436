"""``etalon nav preprocess``: NAV frames (and archive products) made ready for calibration."""

from __future__ import annotations

import argparse

from etalon.batch import add_scheduler_option

__all__ = ["register", "run"]

_DESCRIPTION = """\
Pre-process Deep Impact NAV frames for the calibration pipeline (Navigation Images
Report, sections 3-4): spacecraft clock, TDB and UTC times from the pseudo-ET (SPICE
kernels bundled), FILTER from a sequencing table, INTTIME = commanded exposure + 3.5 ms,
IMGH001 = 0, CCDT and DELTAT from the nearest science image of the same CCD, the FLAGS
quality map, and the 1024 x 1024 calibration frame with serial overclock filled with
the quadrant biases (NAVBIAS1..4) and parallel overclock with zeros.

INPUT may be a decoded NAV FITS file (etalon nav decode), a raw NAV telemetry file
(decoded on the fly) or one of the mission's archive FITS products (kept as they are,
keywords completed). Each INPUT gives DIR/<name>_prep.fits; inputs are never modified.
Every output names the tables and kernels it used (keywords and HISTORY).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``preprocess`` to the ``nav`` command group."""
    p = subparsers.add_parser(
        "preprocess",
        help="make NAV frames ready for calibration (time, keywords, overclock, bias)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="decoded NAV FITS, raw NAV file or archive FITS product")
    p.add_argument("--output-dir", "-O", required=True, metavar="DIR",
                   help="folder for the products (created if needed)")
    p.add_argument("--sequence", metavar="CSV", default=None,
                   help="sequencing table, columns exposure_id,doy,filter (default: the bundled "
                   "example; images absent from it get FILTER = UNKNOWN and a warning)")
    p.add_argument("--science-dir", metavar="DIR", default=None,
                   help="folder of science FITS files (HRIVIS/MRIVIS/ITSVIS) giving CCDT from "
                   "the nearest image in time (default: none, CCDT = DELTAT = -9999 with a "
                   "warning)")
    p.add_argument("--bias", metavar="CSV", default=None,
                   help="bias table, columns instrument,quadrant,bias_dn (default: the bundled "
                   "table, the bias of etalon's NAV simulator)")
    p.add_argument("--sclk-adjust", metavar="CSV", default=None,
                   help="SCLK adjustment table, columns spacecraft,valid_from,offset_s (default: "
                   "the nominal 64.184 s for both spacecraft)")
    add_scheduler_option(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no per-file lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Pre-process every INPUT; return the number of failed files capped at 1 as exit code."""
    import functools
    import sys

    from etalon.batch import map_files, report_failures
    from etalon.fileio import EtalonInputError
    from etalon.nav.preprocess import load_tables, preprocess_file

    try:
        tables = load_tables(sequence=args.sequence, science_dir=args.science_dir,
                             bias=args.bias, sclk_adjust=args.sclk_adjust)
    except EtalonInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if tables.science is not None:
        for path, reason in tables.science.skipped:
            print(f"science folder: skipped {path}: {reason}", file=sys.stderr)
    func = functools.partial(preprocess_file, output_dir=args.output_dir, tables=tables)
    results = map_files(func, args.inputs, scheduler=args.scheduler, progress=not args.quiet,
                        description="nav preprocess")
    for r in results:
        if r.ok:
            if not args.quiet:
                print(f"{r.path} -> {r.value['output']}")
            for text in r.value["warnings"]:
                print(f"warning: {r.path}: {text}", file=sys.stderr)
    return 1 if report_failures(results) else 0
