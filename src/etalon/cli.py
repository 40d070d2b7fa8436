"""The ``etalon`` command line: a thin layer over the package's functions.

Each command lives beside the code it drives, in a module with a
``register(subparsers)`` function that adds its parser and sets
``func`` (called with the parsed arguments, returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from etalon import __version__

__all__ = ["build_parser", "main"]

#: command groups and the modules that register their commands, in help order
COMMAND_GROUPS: dict[str | None, tuple[str, str, tuple[str, ...]]] = {
    None: ("", "", ("etalon.report.cli",)),
    "nav": (
        "Deep Impact navigation images: decode raw telemetry, pre-process",
        "Deep Impact NAV telemetry to FITS and frames ready for calibration.",
        ("etalon.nav.cli_simulate", "etalon.nav.cli_decode", "etalon.nav.cli_preprocess"),
    ),
    "ccd": (
        "CCD calibration pipeline (Deep Impact NAV and archive frames)",
        "Saturation, linearity, bias, dark, flat, despike, bad pixels, radiance.",
        ("etalon.ccd.cli",),
    ),
    "moon": (
        "Lunar calibration: measure Moon irradiance, ROLO/LIME model",
        "Lunar disk extraction, irradiance and the reference model.",
        ("etalon.moon.cli",),
    ),
    "venus": (
        "VENuS instrument: L1 headers, PO, campaign simulator, CT1/CT2 stray light",
        "VENuS (Venμs) instrument facts, Level-1 headers, official calibration parameters (PO), "
        "simulated calibration campaigns, CT1/CT2 residual stray-light quantification.",
        ("etalon.venus.cli", "etalon.straylight.cli"),
    ),
    "campaign": (
        "Moon calibration campaign: drift after PO updates, phases, flight acceptance",
        "Per-band time series of observed/model ratios: geometry fit, drift per PO segment, "
        "PO steps, orbit phases, statistical results file, in-flight acceptance.",
        ("etalon.campaign.cli",),
    ),
    "desert": (
        "Desert-site (PICS) calibration: BRDF normalisation, cross-calibration, Moon vs desert",
        "DIMITRI desert-site series, directional normalisation, SBAF, cross-calibration and the "
        "comparison with the Moon.",
        ("etalon.desert.cli",),
    ),
    "sno": (
        "SNO for the operational chain: overpasses, coincidences, radiometric comparison",
        "Simultaneous nadir overpasses and same-site near-simultaneous acquisitions from TLEs or "
        "mean elements, and their radiometric comparison.",
        ("etalon.sno.cli",),
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser of the ``etalon`` command."""
    parser = argparse.ArgumentParser(
        prog="etalon",
        description="etalon: in-flight calibration studies of space imagers "
        "(Deep Impact NAV images, lunar and VENuS radiometric calibration).",
    )
    parser.add_argument("--version", action="version", version=f"etalon {__version__}")
    top = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group, (help_text, description, modules) in COMMAND_GROUPS.items():
        if group is None:
            target = top
        else:
            gp = top.add_parser(group, help=help_text, description=description)
            gp.set_defaults(func=lambda _args, _gp=gp: _gp.print_help() or 2)
            target = gp.add_subparsers(title=f"{group} commands", metavar="COMMAND")
        for module in modules:
            importlib.import_module(module).register(target)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 done, 1 some inputs failed, 2 bad input)."""
    import logging

    from etalon.cliutil import EXIT_USAGE, UsageError, setup_logging
    from etalon.fileio import EtalonInputError

    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False),
                  getattr(args, "log_format", "text"))
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except (UsageError, EtalonInputError) as exc:
        logging.getLogger("etalon").error("%s", exc)
        return EXIT_USAGE
    except BrokenPipeError:  # `etalon ... | head`: the reader went away; not an error of ours
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
