"""Command registration placeholder: the module's owner replaces this file."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Register nothing yet."""
