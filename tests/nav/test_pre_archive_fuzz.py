"""The archive reader and the science-folder scan against damaged FITS files (hypothesis)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.data import deep_impact_archive_files
from etalon.fileio import EtalonInputError
from etalon.frame import Frame
from etalon.nav.archive import read_archive
from etalon.nav.keywords import scan_science_folder

ORIGINAL = deep_impact_archive_files()[0].read_bytes()


def damage(mode: str, pos: int, flips: list[tuple[int, int]], insert: bytes, size: int) -> bytes:
    data = bytearray(ORIGINAL)
    pos = pos % len(data)
    if mode == "cut":
        data = data[:pos]
    elif mode == "flip":
        for i, bit in flips:
            data[i % len(data)] ^= 1 << bit
    elif mode == "insert":
        data[pos:pos] = insert
    else:
        data[pos:pos + size] = bytes(min(size, len(data) - pos))
    return bytes(data)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["cut", "flip", "insert", "zero_block"]), st.integers(0, len(ORIGINAL)),
       st.lists(st.tuples(st.integers(0, len(ORIGINAL)), st.integers(0, 7)), min_size=1,
                max_size=20),
       st.binary(min_size=1, max_size=200), st.integers(1, 5000))
def test_damaged_archive_file_is_a_frame_or_a_clear_error(mode, pos, flips, insert, size):
    blob = damage(mode, pos, flips, insert, size)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mv_damaged.fit"
        path.write_bytes(blob)
        try:
            frame = read_archive(path)
        except EtalonInputError as exc:
            assert str(exc).startswith(str(path))
        else:
            assert isinstance(frame, Frame) and frame.data.ndim == 2
        index = scan_science_folder(tmp)   # never raises: a bad file is skipped with a reason
        assert len(index.images) + len(index.skipped) == 1
