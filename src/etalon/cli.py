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
        ("etalon.nav.cli_decode", "etalon.nav.cli_preprocess"),
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
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
