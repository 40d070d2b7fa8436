from __future__ import annotations

import pytest

from etalon.fileio import EtalonInputError, atomic_output, require_file


def test_atomic_output_renames_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.suffix == ".txt"
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_atomic_output_keeps_old_file_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_require_file_names_the_file_and_the_problem(tmp_path):
    with pytest.raises(EtalonInputError, match=r"missing\.fits: FITS file does not exist"):
        require_file(tmp_path / "missing.fits", "FITS file")
    with pytest.raises(EtalonInputError, match="is a folder"):
        require_file(tmp_path)
    f = tmp_path / "x.bin"
    f.write_bytes(b"1")
    assert require_file(f) == f
