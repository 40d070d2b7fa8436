"""Shared pytest configuration for etalon's tests."""

from __future__ import annotations

import os

# Plots in tests and notebooks never need a screen.
os.environ.setdefault("MPLBACKEND", "Agg")
