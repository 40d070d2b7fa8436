"""A minimal IDL SAVE writer for tests: 2-D float64 arrays only (what DIMITRI files hold).

Written from the record layout :func:`scipy.io.readsav` reads (signature ``SR\\x00\\x04``,
VARIABLE records with a type descriptor, an array descriptor and VARSTART 7, an END_MARKER).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest


def _long(v: int) -> bytes:
    return struct.pack(">l", int(v))


def _string(s: str) -> bytes:
    b = s.encode("latin1")
    pad = (-len(b)) % 4
    return _long(len(b)) + b + b"\0" * pad


def write_sav(path: str | Path, **arrays: np.ndarray) -> Path:
    """Write 2-D (or 1-D) float64 arrays as IDL variables (names upper-cased)."""
    out = bytearray(b"SR\x00\x04")
    for name, arr in arrays.items():
        a = np.asarray(arr, dtype=">f8")
        dims = list(a.shape[::-1]) + [0] * (8 - a.ndim)
        body = _string(name.upper())
        body += _long(5) + _long(4)  # typecode double, varflags: array
        body += _long(8) + _long(0) + _long(a.nbytes) + _long(a.size) + _long(a.ndim)
        body += _long(0) + _long(0) + _long(8) + b"".join(_long(d) for d in dims)
        body += _long(7) + a.tobytes(order="C")
        start = len(out)
        nextrec = start + 16 + len(body)
        out += _long(2) + struct.pack(">I", nextrec) + struct.pack(">I", 0) + b"\0" * 4 + body
    start = len(out)
    out += _long(6) + struct.pack(">I", start + 16) + struct.pack(">I", 0) + b"\0" * 4
    p = Path(path)
    p.write_bytes(bytes(out))
    return p


@pytest.fixture
def sav_writer():
    """The :func:`write_sav` function, for tests that build DIMITRI-like files."""
    return write_sav


@pytest.fixture(scope="session")
def meris3():
    """The real MERIS 3rd-reprocessing Libya-4 series."""
    from etalon.data import data_path
    from etalon.desert.dimitri import read_series

    return read_series(data_path("desert", "dimitri_MERIS_3rd_Reprocessing_Libya4.sav"))
