"""``etalon nav preprocess``: NAV frames (and archive products) made ready for calibration."""

from __future__ import annotations

import argparse
import logging

from etalon.cliutil import add_common_options

__all__ = ["register", "run"]

log = logging.getLogger(__name__)

_DESCRIPTION = """\
Pre-process Deep Impact NAV frames for the calibration pipeline (Navigation Images
Report, sections 3-4): spacecraft clock, TDB and UTC times from the pseudo-ET (SPICE
kernels bundled), FILTER from a sequencing table, INTTIME = commanded exposure + 3.5 ms,
IMGH001 = 0, CCDT and DELTAT from the nearest science image of the same CCD, the FLAGS
quality map, and the 1024 x 1024 calibration frame with serial overclock filled with
the quadrant biases (NAVBIAS1..4) and parallel overclock with zeros.

INPUT may be a decoded NAV FITS file (etalon nav decode), a raw NAV telemetry file
(decoded on the fly) or one of the mission's archive FITS products (kept as they are,
keywords completed). Each INPUT gives DIR/<name>_prep.fits (--output-dir), or the one
file -o names; inputs are never modified. Every default taken (bundled tables, no
science folder) is a warning on the terminal and in the product's HISTORY. Every
output names the tables and kernels it used (keywords and HISTORY). Exit code 0 all
written, 1 some input failed (listed), 2 bad options or clashing outputs.
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
    p.add_argument("--sequence", metavar="CSV", default=None,
                   help="sequencing table, columns exposure_id,doy,filter[,instrument] "
                   "(default: the bundled example; images absent from it get FILTER = UNKNOWN "
                   "and a warning)")
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
    add_common_options(p, output="both", output_required=True, scheduler=True)
    p.set_defaults(func=run)


def planned_outputs(inputs: list[str], output: str | None, output_dir: str | None) -> list[str]:
    """The product of each INPUT: ``output``, or ``output_dir/<name>_prep.fits``."""
    from etalon.nav.preprocess import output_path_for

    if output:
        return [output]
    return [str(output_path_for(p, output_dir)) for p in inputs]


def preprocess_pair(pair: tuple[str, str], tables) -> dict:
    """Pre-process ``pair[0]`` into ``pair[1]`` (module level: shipped to batch workers).

    Returns the dict of :func:`etalon.nav.preprocess.preprocess_file` (written through
    :func:`etalon.nav.ccddata.write_product`: FLAGS, MASK, CCDData-readable BUNIT):
    ``output``, ``instrument``, ``warnings``.
    """
    from etalon.nav.preprocess import preprocess_file

    path, out = pair
    return preprocess_file(path, None, tables, out_path=out)


def run(args: argparse.Namespace) -> int:
    """Pre-process every INPUT; return 0 done, 1 some failed."""
    import functools

    from etalon.batch import batch_exit_code, map_files, report_failures
    from etalon.cliutil import UsageError, check_outputs, show_progress, unique_inputs
    from etalon.nav.preprocess import load_tables

    inputs = unique_inputs(args.inputs)
    if args.output and len(inputs) > 1:
        raise UsageError(f"-o/--output {args.output} takes a single INPUT ({len(inputs)} given); "
                         "use --output-dir for several")
    outputs = planned_outputs(inputs, args.output, args.output_dir)
    check_outputs(inputs, outputs)
    tables = load_tables(sequence=args.sequence, science_dir=args.science_dir,
                         bias=args.bias, sclk_adjust=args.sclk_adjust)
    if tables.science is not None:
        for path, reason in tables.science.skipped:
            log.warning("science folder: skipped %s: %s", path, reason)
    pairs = list(zip(inputs, outputs, strict=True))
    func = functools.partial(preprocess_pair, tables=tables)
    results = map_files(func, pairs, scheduler=args.scheduler, progress=show_progress(args),
                        description="nav preprocess")
    shown: set[str] = set()
    for path, r in zip(inputs, results, strict=True):
        r.path = path
        if r.ok:
            print(f"{path} -> {r.value['output']}")
            for text in r.value["warnings"]:
                # the same default is taken for every file: say it once, not once per file
                if text not in shown or len(inputs) == 1:
                    log.warning("%s: %s", path, text)
                    shown.add(text)
    report_failures(results)
    return batch_exit_code(results)
