"""``etalon ccd calibrate``: the calibration pipeline over FITS frames (thin CLI layer)."""

from __future__ import annotations

import argparse
import sys

from etalon.batch import add_scheduler_option

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` (and ``steps``) to the ``etalon ccd`` command group."""
    p = subparsers.add_parser(
        "calibrate",
        help="calibrate NAV or archive FITS frames (saturation, bias, linearity, dark, flat, "
             "bad pixels, despike, radiance)",
        description="Calibrate FITS frames: etalon's pre-processed NAV frames (1024 x 1024 with "
                    "overclock) and the mission's archive products alike. Steps the input's own "
                    "keywords say were applied are not applied again. Writes "
                    "<output-dir>/<name>_cal.fits with FLAGS and SNR extensions; inputs are "
                    "never modified; a failing file is reported and the others still finish.",
        epilog="Exit status: 0 all files calibrated, 1 some file failed (each reported), "
               "2 bad configuration or inputs whose products would share a name.",
    )
    p.add_argument("fits", nargs="+", metavar="FITS", help="input FITS file(s)")
    p.add_argument("--output-dir", "-o", required=True, metavar="DIR",
                   help="folder for the calibrated files (created if needed)")
    p.add_argument("--config", metavar="FILE", default=None,
                   help="TOML configuration overlaid on the NAV default "
                        "(etalon/data/ccd/nav_default.toml): step states, reasons, parameters, "
                        "reference files")
    add_scheduler_option(p)
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=_calibrate)

    s = subparsers.add_parser(
        "steps",
        help="print the configured steps (state, reason, parameters)",
        description="Print the calibration steps of a configuration, in run order.",
    )
    s.add_argument("--config", metavar="FILE", default=None,
                   help="TOML configuration overlaid on the NAV default")
    s.set_defaults(func=_steps)


def _pipeline(config):
    from etalon.ccd.pipeline import Pipeline

    return Pipeline.from_toml(config) if config else Pipeline.default()


def _output_clashes(paths: list[str]) -> list[list[str]]:
    """Groups of distinct inputs whose products would have the same name (same file stem)."""
    from pathlib import Path

    by_stem: dict[str, list[str]] = {}
    for path in dict.fromkeys(paths):
        by_stem.setdefault(Path(path).stem, []).append(path)
    return [group for group in by_stem.values() if len(group) > 1]


def _calibrate(args: argparse.Namespace) -> int:
    import functools

    from etalon.batch import map_files, report_failures
    from etalon.ccd.pipeline import calibrate_file
    from etalon.fileio import EtalonInputError

    try:
        _pipeline(args.config)  # fail early on a bad configuration
    except EtalonInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clashes = _output_clashes(args.fits)
    if clashes:  # two inputs would write the same <stem>_cal.fits: the first would be lost
        print("error: inputs with the same name would overwrite each other's product in "
              f"{args.output_dir}: " + "; ".join(", ".join(group) for group in clashes),
              file=sys.stderr)
        return 2
    func = functools.partial(calibrate_file, output_dir=args.output_dir, config=args.config)
    results = map_files(func, args.fits, scheduler=args.scheduler, progress=not args.no_progress,
                        description="calibrate")
    for r in results:
        if r.ok:
            print(f"{r.path} -> {r.value}")
    return 1 if report_failures(results) else 0


def _steps(args: argparse.Namespace) -> int:
    from etalon.fileio import EtalonInputError

    try:
        pipeline = _pipeline(args.config)
    except EtalonInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pipeline.table().pprint(max_lines=-1, max_width=-1)
    return 0
