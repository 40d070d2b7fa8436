"""``etalon --help`` and every command's help describe every option."""

from __future__ import annotations

import argparse
import subprocess
import sys

from etalon.cli import build_parser


def _all_parsers(parser: argparse.ArgumentParser, prefix=("etalon",)):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, (*prefix, name))


def test_every_option_of_every_command_has_help():
    undocumented = []
    for prefix, parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                undocumented.append(f"{' '.join(prefix)} {action.dest}")
    assert undocumented == []


def test_top_level_help_lists_the_command_groups():
    out = subprocess.run([sys.executable, "-m", "etalon.cli", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for command in ("report", "nav", "ccd", "moon"):
        assert f"    {command} " in out
    report = subprocess.run([sys.executable, "-m", "etalon.cli", "report", "--help"],
                            capture_output=True, text=True, check=True).stdout
    for option in ("--output", "--notebooks", "-p NAME VALUE", "--jobs", "--no-code"):
        assert option in report
