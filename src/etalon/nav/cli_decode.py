"""``etalon nav decode``: raw NAV telemetry files to FITS (thin layer over etalon.nav.products)."""

from __future__ import annotations

import argparse
import functools
import logging

from etalon.cliutil import add_common_options

__all__ = ["register", "run"]

log = logging.getLogger(__name__)

DESCRIPTION = """\
Decode raw Deep Impact NAV telemetry files (80-byte-header packets carrying snips
of a 1008 x 1008 frame, layout of docs/nav-format.md) into FITS: primary HDU the
image in science orientation (uint16, BITPIX 16 / BZERO 32768), FLAGS (uint8:
2 missing, 4 overlap conflict) and SNIPS (binary table) extensions, header with
the packet values, the file-name keywords (FN*) and the decode report (NPKTUSED,
NPKTREJ, NBYTSKIP, NOVERLAP, NCONFLCT, NMISSING). Damaged files are decoded as far
as they go (resynchronising after damage); a file with no valid packet fails.
Every file that fails is listed, the others are still written, and the exit code
is 1 if any failed; 2 for bad options or outputs that would overwrite an input or
each other. Raw files are only read; outputs are written to a temporary file and
renamed.
"""

EPILOG = """\
examples:
  etalon nav simulate -o NAV_sim.000        # a first raw file, no mission data needed
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
    p.add_argument("--instrument", metavar="NAME", default=None,
                   help="expected instrument (NAVHRI, NAVMRI or NAVITS; MRI, ITS, HRIV or the "
                   "file-name letter M, I, H also accepted): packets of another detector are "
                   "rejected (default: the instrument the packets say)")
    add_common_options(p, output="both", output_required=True, scheduler=True)
    p.set_defaults(func=run, _parser=p)


def planned_outputs(raw: list[str], output: str | None, output_dir: str | None) -> list[str]:
    """The product of each RAW file: ``output``, or ``output_dir/<RAW name>.fits``."""
    from pathlib import Path

    from etalon.nav.products import fits_name_for

    if output:
        return [output]
    return [str(Path(output_dir) / fits_name_for(r)) for r in raw]


def run(args: argparse.Namespace) -> int:
    """Decode the files; print what was written and what failed; return the exit code."""
    from etalon.batch import batch_exit_code, map_files, report_failures
    from etalon.cliutil import UsageError, check_outputs, show_progress, unique_inputs
    from etalon.nav.decoder import _normalise_instrument

    usage = getattr(args, "_parser", None)

    def refuse(message: str):
        if usage is not None:  # argparse's usage line and exit 2
            usage.error(message)
        raise UsageError(message)

    raw = unique_inputs(args.raw)
    if args.output and len(raw) > 1:
        refuse(f"-o/--output {args.output} takes a single RAW file ({len(raw)} given); "
               "use --output-dir for several")
    if args.instrument:  # a bad name is one usage error, not one failure per file
        try:
            _normalise_instrument(args.instrument)
        except ValueError as exc:
            refuse(f"--instrument: {exc}")
    outputs = planned_outputs(raw, args.output, args.output_dir)
    check_outputs(raw, outputs)
    pairs = list(zip(raw, outputs, strict=True))
    func = functools.partial(_decode_pair, instrument=args.instrument)
    results = map_files(func, pairs, scheduler=args.scheduler, progress=show_progress(args),
                        description="nav decode")
    for (path, _), r in zip(pairs, results, strict=True):
        r.path = path
        if r.ok:
            v = r.value
            print(f"wrote {v['output']} ({v['instrument']}: {v['packets_used']} packets used, "
                  f"{v['packets_rejected']} rejected, {v['bytes_skipped']} bytes skipped, "
                  f"{v['missing_pixels']} pixels missing, {v['conflict_pixels']} in conflict)")
    report_failures(results)
    return batch_exit_code(results)


def _decode_pair(pair: tuple[str, str], instrument: str | None = None) -> dict:
    raw, out = pair
    from etalon.nav.products import decode_summary

    return decode_summary(raw, out, instrument)
