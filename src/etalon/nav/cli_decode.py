"""``etalon nav decode``: raw NAV telemetry files to FITS (thin layer over etalon.nav.products)."""

from __future__ import annotations

import argparse
import functools
import sys

from etalon.batch import add_scheduler_option

DESCRIPTION = """\
Decode raw Deep Impact NAV telemetry files (80-byte-header packets carrying snips
of a 1008 x 1008 frame, layout of docs/nav-format.md) into FITS: primary HDU the
image in science orientation (uint16, BITPIX 16 / BZERO 32768), FLAGS (uint8:
2 missing, 4 overlap conflict) and SNIPS (binary table) extensions, header with
the packet values, the file-name keywords (FN*) and the decode report (NPKTUSED,
NPKTREJ, NBYTSKIP, NOVERLAP, NCONFLCT, NMISSING). Damaged files are decoded as far
as they go (resynchronising after damage); a file with no valid packet fails.
Files are processed in parallel (dask.distributed); every file that fails is
listed, the others are still written, and the exit code is 1 if any failed.
Raw files are only read; outputs are written to a temporary file and renamed.
"""

EPILOG = """\
examples:
  etalon nav decode NAV_OM_9000385.bin_2005_185T03_38_58.000 -o mri.fits
  etalon nav decode raw/NAV_* --output-dir fits/
  etalon nav decode raw/NAV_* --output-dir fits/ --scheduler tcp://10.0.0.5:8786
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``decode`` to the ``etalon nav`` commands."""
    p = subparsers.add_parser(
        "decode", help="decode raw NAV telemetry files to FITS", description=DESCRIPTION,
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("raw", nargs="+", metavar="RAW",
                   help="raw NAV file(s), e.g. NAV_OM_9000385.bin_2005_185T03_38_58.000")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", metavar="OUT.fits",
                     help="output FITS file (only with a single RAW file)")
    out.add_argument("--output-dir", metavar="DIR",
                     help="folder for the outputs, named <RAW name>.fits (created if needed)")
    p.add_argument("--instrument", metavar="NAME", default=None,
                   help="expected instrument (NAVHRI, NAVMRI or NAVITS; MRI, ITS, HRIV or the "
                   "file-name letter M, I, H also accepted): packets of another detector are "
                   "rejected (default: the instrument the packets say)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    add_scheduler_option(p)
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    """Decode the files; print what was written and what failed; return the exit code."""
    from etalon.batch import map_files, report_failures
    from etalon.nav.decoder import _normalise_instrument
    from etalon.nav.products import decode_summary, decode_to_folder

    if args.output and len(args.raw) > 1:
        args._parser.error("-o/--output takes a single RAW file; use --output-dir for several")
    if args.instrument:  # a bad name is one usage error, not one failure per file
        try:
            _normalise_instrument(args.instrument)
        except ValueError as exc:
            args._parser.error(f"--instrument: {exc}")
    if args.output:
        func = functools.partial(decode_summary, out_path=args.output, instrument=args.instrument)
    else:
        func = functools.partial(decode_to_folder, output_dir=args.output_dir,
                                 instrument=args.instrument)
    results = map_files(func, args.raw, scheduler=args.scheduler, progress=not args.no_progress,
                        description="nav decode")
    for r in results:
        if r.ok:
            v = r.value
            print(f"wrote {v['output']} ({v['instrument']}: {v['packets_used']} packets used, "
                  f"{v['packets_rejected']} rejected, {v['bytes_skipped']} bytes skipped, "
                  f"{v['missing_pixels']} pixels missing, {v['conflict_pixels']} in conflict)")
    failed = report_failures(results, stream=sys.stderr)
    return 1 if failed else 0
