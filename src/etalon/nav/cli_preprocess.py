"""Command-line registration (placeholder until the command is implemented)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's command(s) to ``subparsers``."""
