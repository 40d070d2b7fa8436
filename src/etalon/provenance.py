"""Provenance of every product: package version, inputs, parameters.

FITS products get an ``ETALONV`` keyword and ``HISTORY`` lines; tables get the
same facts in their ``meta``. One helper each, so every writer says the same
things the same way.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from astropy.io import fits

from etalon import __version__

__all__ = ["add_history", "fits_text", "stamp_header", "table_provenance"]


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _short(path: str | os.PathLike[str]) -> str:
    return Path(path).name


def fits_text(text: object) -> str:
    """``text`` as a FITS header string: printable ASCII, other characters as ``\\xe9``-style escapes.

    FITS header values may hold printable ASCII only; a file name such as
    ``trame_é.fits`` becomes ``trame_\\xe9.fits`` instead of failing the write.
    """
    out = os.fsdecode(text) if isinstance(text, (bytes, os.PathLike)) else str(text)
    out = out.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in out)


def add_history(header: fits.Header, text: str) -> None:
    """Append ``text`` as HISTORY lines (astropy wraps long text over several cards;
    non-ASCII characters are escaped, :func:`fits_text`)."""
    header.add_history(fits_text(text))


def stamp_header(
    header: fits.Header,
    step: str,
    inputs: Iterable[str | os.PathLike[str]] = (),
    parameters: Mapping[str, Any] | None = None,
) -> fits.Header:
    """Record in ``header`` that ``step`` of etalon made this product.

    Sets ``ETALONV`` (package version) and ``DATE`` (UTC, now: the product is a
    new file), keeping an input's own creation date as ``ORIGDATE`` (first
    stamp only), and appends one HISTORY line naming the step, its inputs (file
    names) and its parameters. Modifies and returns ``header``.
    """
    first_stamp = "ETALONV" not in header
    if first_stamp and "DATE" in header and "ORIGDATE" not in header:
        header["ORIGDATE"] = (header["DATE"], "UTC creation date of the input file")
    header["ETALONV"] = (fits_text(__version__), "etalon package version")
    header["DATE"] = (_now_iso(), "UTC date this file was written")
    parts = [f"etalon {__version__} {step}"]
    names = [_short(p) for p in inputs]
    if names:
        parts.append("inputs: " + ", ".join(names))
    if parameters:
        parts.append("parameters: " + ", ".join(f"{k}={v}" for k, v in parameters.items()))
    add_history(header, "; ".join(parts))
    return header


def table_provenance(
    step: str,
    inputs: Iterable[str | os.PathLike[str]] = (),
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Metadata for an astropy Table (``table.meta.update(...)``): version, step, inputs, parameters."""
    return {
        "etalon_version": __version__,
        "etalon_step": step,
        "created_utc": _now_iso(),
        "inputs": [str(p) for p in inputs],
        "parameters": {k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
                       for k, v in (parameters or {}).items()},
    }
