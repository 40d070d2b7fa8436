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


# ---------------------------------------------------------------- issue 16/17 additions
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402

from etalon.fileio import (  # noqa: E402
    EtalonOutputError,
    check_fits_header,
    stale_temporaries,
    temporary_name,
)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        with atomic_output(tmp_path / "index.html") as tmp:
            tmp.write_text("<html></html>")
        with atomic_output(tmp_path / "f.fits") as tmp:  # astropy writes into the temporary
            fits.PrimaryHDU(np.zeros((2, 2), np.float32)).writeto(tmp, overwrite=True)
    finally:
        os.umask(old)
    assert (tmp_path / "index.html").stat().st_mode & 0o777 == mode
    assert (tmp_path / "f.fits").stat().st_mode & 0o777 == mode


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "NAV_x.fits"
    stale = tmp_path / temporary_name(target, pid=_dead_pid())
    stale.write_bytes(b"half a product" * 1000)
    live = tmp_path / temporary_name(target, pid=os.getpid())  # a concurrent writer: kept
    live.write_bytes(b"being written")
    other = tmp_path / temporary_name(tmp_path / "other.fits", pid=_dead_pid())
    other.write_bytes(b"another product's")
    assert stale_temporaries(target) == [stale]
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"done")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, live.name, other.name])


def test_a_sigkilled_run_leaves_only_a_temporary_that_a_rerun_removes(tmp_path):
    target = tmp_path / "product.bin"
    code = ("import sys, time; from etalon.fileio import atomic_output\n"
            f"with atomic_output({str(target)!r}) as tmp:\n"
            "    tmp.write_bytes(b'x' * 1000); print('writing', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait()
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".product.bin.") and not target.exists()
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"ok")
    assert [p.name for p in tmp_path.iterdir()] == ["product.bin"]


def test_a_legal_250_byte_name_is_written(tmp_path):
    target = tmp_path / ("n" * 245 + ".fits")
    assert len(target.name) == 250
    name = temporary_name(target)
    assert len(name.encode()) <= 255 and name.endswith(".tmp.fits")
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"ok")
    assert target.read_bytes() == b"ok"
    with atomic_output(target) as tmp:  # twice: the shortened temporary names are recognised
        tmp.write_bytes(b"again")
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_unwritable_places_are_errors_naming_the_output(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(EtalonOutputError, match=r"afile/out\.fits: cannot create the output: .*afile is a f"):
        with atomic_output(afile / "out.fits"):
            pass
    with pytest.raises(EtalonOutputError, match="is an existing folder"):
        with atomic_output(tmp_path):
            pass
    with pytest.raises(EtalonOutputError, match="file name too long"):
        with atomic_output(tmp_path / ("n" * 300 + ".fits")):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def _fits_bytes(**cards) -> bytes:
    header = [f"{'SIMPLE':8}= {'T':>20}", f"{'BITPIX':8}= {cards.pop('BITPIX', 16):>20}"]
    header += [f"{k:8}= {v:>20}" for k, v in cards.items()]
    header.append("END")
    raw = "".join(c.ljust(80) for c in header).encode()
    return raw + b" " * (-len(raw) % 2880)


@pytest.mark.parametrize(("cards", "data_bytes", "problem"), [
    ({"NAXIS": "99999999999999999999"}, 0, r"invalid NAXIS card \(99999999999999999999\)"),
    ({"NAXIS": 1000000}, 0, "invalid NAXIS card"),
    ({"NAXIS": -1}, 0, "invalid NAXIS card"),
    ({"NAXIS": 2, "NAXIS1": 100000, "NAXIS2": 100000}, 2880,
     r"announces 20000000000 bytes of image data .*holds 2880"),
    ({"NAXIS": 2, "NAXIS1": 10}, 2880, "invalid or missing NAXIS2"),
    ({"BITPIX": 12, "NAXIS": 0}, 0, "invalid BITPIX"),
])
def test_check_fits_header_refuses_absurd_cards_before_astropy(tmp_path, cards, data_bytes, problem):
    path = tmp_path / "bad.fits"
    path.write_bytes(_fits_bytes(**cards) + b"\0" * data_bytes)
    with pytest.raises(EtalonInputError, match=rf"bad\.fits: .*{problem}"):
        check_fits_header(path)


def test_check_fits_header_accepts_real_files(tmp_path):
    from etalon.data import deep_impact_archive_files

    for path in deep_impact_archive_files():
        check_fits_header(path)
    ok = tmp_path / "ok.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros((3, 5), np.int16)), fits.ImageHDU(np.ones(4))]).writeto(ok)
    check_fits_header(ok)
    with pytest.raises(EtalonInputError, match="no END card"):
        ok2 = tmp_path / "noend.fits"
        ok2.write_bytes(ok.read_bytes()[:80 * 4])
        check_fits_header(ok2)
    with pytest.raises(EtalonInputError, match="not a FITS file"):
        junk = tmp_path / "junk.fits"
        junk.write_bytes(b"\x00" * 3000)
        check_fits_header(junk)
