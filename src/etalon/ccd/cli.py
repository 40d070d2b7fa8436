"""``etalon ccd calibrate`` and ``etalon ccd steps``: the calibration pipeline (thin CLI layer)."""

from __future__ import annotations

import argparse
import logging

from etalon.cliutil import add_common_options

__all__ = ["calibrate_pair", "planned_outputs", "register"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` (and ``steps``) to the ``etalon ccd`` command group."""
    p = subparsers.add_parser(
        "calibrate",
        help="calibrate NAV or archive FITS frames (saturation, bias, linearity, dark, flat, "
             "bad pixels, despike, radiance)",
        description="Calibrate FITS frames: etalon's pre-processed NAV frames (1024 x 1024 with "
                    "overclock) and the mission's archive products alike. Steps the input's own "
                    "keywords say were applied are not applied again. Writes the file -o names "
                    "(one input) or <output-dir>/<name>_cal.fits, with FLAGS, MASK, UNCERT and "
                    "SNR extensions (CCDData.read opens it), and, when an irreversible step "
                    "(despike) was applied, <name>_calrev.fits with the reversible steps only "
                    "(CALTYPE RADREV...), as the archive does; inputs are never modified; "
                    "a failing file is reported and the others still finish. Every degraded "
                    "result (unknown CCDT, smear, synthetic references) is a warning on the "
                    "terminal and a HISTORY line in the product.",
        epilog="Exit status: 0 all files calibrated, 1 some file failed (each reported), "
               "2 bad configuration or options, or outputs that would overwrite an input or "
               "each other.",
    )
    p.add_argument("fits", nargs="+", metavar="FITS", help="input FITS file(s)")
    p.add_argument("--config", metavar="FILE", default=None,
                   help="TOML configuration overlaid on the NAV default "
                        "(etalon/data/ccd/nav_default.toml): step states, reasons, parameters, "
                        "reference files")
    add_common_options(p, output="both", output_required=True, scheduler=True)
    p.set_defaults(func=_calibrate)

    s = subparsers.add_parser(
        "steps",
        help="print the configured steps (state, reason, parameters)",
        description="Print the calibration steps of a configuration, in run order.",
    )
    s.add_argument("--config", metavar="FILE", default=None,
                   help="TOML configuration overlaid on the NAV default")
    add_common_options(s, output=None, progress=False)
    s.set_defaults(func=_steps)


def _pipeline(config):
    from etalon.ccd.pipeline import Pipeline

    if not config:
        return Pipeline.default()
    from etalon.fileio import EtalonInputError, require_file

    require_file(config, "configuration file")
    try:
        return Pipeline.from_toml(config)
    except EtalonInputError:
        raise
    except (UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:  # binary or odd files
        raise EtalonInputError(config, f"not a valid configuration ({type(exc).__name__}: {exc})") \
            from exc


def planned_outputs(inputs: list[str], output: str | None, output_dir: str | None) -> list[str]:
    """Every file the command may write: each input's product (``output``, or
    ``output_dir/<stem>_cal.fits``) followed by its reversible product (``<stem>_calrev.fits``),
    so that :func:`etalon.cliutil.check_outputs` also guards the reversible files."""
    from etalon.ccd.pipeline import reversible_path

    out: list[str] = []
    for product in _products(inputs, output, output_dir):
        out += [product, str(reversible_path(product))]
    return out


def _products(inputs: list[str], output: str | None, output_dir: str | None) -> list[str]:
    """The calibrated product of each input, in input order."""
    from pathlib import Path

    if output:
        return [output]
    return [str(Path(output_dir) / f"{Path(p).stem}_cal.fits") for p in inputs]


def calibrate_pair(pair: tuple[str, str], config=None) -> dict:
    """Calibrate ``pair[0]`` into ``pair[1]`` (module level: shipped to batch workers).

    Writes through :func:`etalon.ccd.pipeline.calibrate_to`: the product with FLAGS,
    MASK, UNCERT and SNR extensions and, when an irreversible step (despike) was
    applied, the reversible product ``<name>rev.fits`` beside it.

    Returns
    -------
    dict
        ``output``, ``reversible`` (path or None) and ``warnings`` (the degraded
        results and defaults taken, also in the product's HISTORY).
    """
    from etalon.ccd.pipeline import calibrate_to, collect_warnings
    from etalon.frame import read_frame

    path, out = pair
    frame = read_frame(path)
    with collect_warnings():  # returned, and said once by the main process (batch workers)
        info = calibrate_to(frame, out, _pipeline(config))
    return {"output": info["output"], "reversible": info["reversible"],
            "warnings": list(info["warnings"])}


def _say_where_references_go() -> None:
    """Say it before the synthetic reference set is written to the cache on first use."""
    try:
        from etalon.ccd.reference import default_reference_directory
    except ImportError:  # pragma: no cover
        return
    folder = default_reference_directory()
    try:
        empty = not folder.is_dir() or not any(folder.iterdir())
    except OSError:
        empty = True
    if empty:
        log.warning("steps without a reference file in the configuration use etalon's synthetic "
                    "references, generated on first use into %s (about 13 MB per camera); set ETALON_CACHE "
                    "to put them elsewhere", folder)


def _calibrate(args: argparse.Namespace) -> int:
    import functools

    from etalon.batch import batch_exit_code, map_files, report_failures
    from etalon.cliutil import UsageError, check_outputs, show_progress, unique_inputs

    inputs = unique_inputs(args.fits)
    if args.output and len(inputs) > 1:
        raise UsageError(f"-o/--output {args.output} takes a single FITS file ({len(inputs)} "
                         "given); use --output-dir for several")
    _pipeline(args.config)  # fail early on a bad configuration
    _say_where_references_go()
    # planned_outputs gives two files per input (product, reversible product): pair each
    # with its input so that a clash names the inputs
    check_outputs([p for p in inputs for _ in range(2)],
                  planned_outputs(inputs, args.output, args.output_dir))
    outputs = _products(inputs, args.output, args.output_dir)
    func = functools.partial(calibrate_pair, config=args.config)
    results = map_files(func, list(zip(inputs, outputs, strict=True)), scheduler=args.scheduler,
                        progress=show_progress(args), description="calibrate")
    for r in results:
        if r.ok:
            print(f"{r.path} -> {r.value['output']}")
            if r.value.get("reversible"):
                print(f"{r.path} -> {r.value['reversible']} (reversible steps only)")
            for text in r.value["warnings"]:
                log.warning("%s: %s", r.path, text)
    report_failures(results)
    return batch_exit_code(results)


def _steps(args: argparse.Namespace) -> int:
    pipeline = _pipeline(args.config)
    pipeline.table().pprint(max_lines=-1, max_width=-1)
    return 0
