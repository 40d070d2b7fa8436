"""FILTER, INTTIME and the nearest science image for CCDT."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.io import fits

from etalon.data import DATA_DIR, deep_impact_archive_files
from etalon.fileio import EtalonInputError
from etalon.nav import keywords as kw
from etalon.nav.archive import read_archive, stop_tdb


@pytest.mark.parametrize("exposure_s, expected_ms", [
    (0.0, 3.5), (0.05, 53.5), (np.float32(0.05), 53.5), (np.float32(0.1), 103.5),
    (np.float32(1.234), 1237.5), (np.float32(10.0), 10003.5),
])
def test_inttime_is_commanded_ms_plus_3_5(exposure_s, expected_ms):
    assert kw.integration_time_ms(exposure_s) == expected_ms


def test_inttime_rejects_nonsense():
    with pytest.raises(ValueError):
        kw.integration_time_ms(-1)
    with pytest.raises(ValueError):
        kw.integration_time_ms(float("nan"))


def test_sequence_lookup_by_exposure_and_day(tmp_path):
    p = tmp_path / "seq.csv"
    p.write_text("# comment\nexposure_id,doy,filter\n100,184,clear1\n100,185,RED\n200,,IR\n")
    table = kw.load_sequence_table(p)
    assert table.lookup(100, 184) == "CLEAR1"
    assert table.lookup(100, 185) == "RED"
    assert table.lookup(100, 186) is None
    assert table.lookup(200, 12) == "IR"  # empty doy: every day
    assert kw.filter_for("NAVMRI", 100, 185, table) == ("RED", None)
    name, warning = kw.filter_for("NAVHRI", 999, 185, table)
    assert name == "UNKNOWN" and "999" in warning and "seq.csv" in warning
    assert kw.filter_for("NAVITS", 999, 185, table) == ("NONE", None)


def test_default_sequence_table_has_the_real_exposure():
    assert kw.load_sequence_table().lookup(9000910, 185) == "CLEAR1"


@pytest.mark.parametrize("content, message", [
    ("exposure_id,filter\n1,CLEAR1\n", "needs the columns"),
    ("exposure_id,doy,filter\nabc,185,CLEAR1\n", "must be integers"),
    ("exposure_id,doy,filter\n1,400,CLEAR1\n", "doy must be 1..366"),
    ("exposure_id,doy,filter\n1,185,\n", "empty filter"),
    ("exposure_id,doy,filter\n1,185,A\n1,185,B\n", "two filters"),
])
def test_bad_sequence_tables(tmp_path, content, message):
    p = tmp_path / "seq.csv"
    p.write_text(content)
    with pytest.raises(EtalonInputError, match=message):
        kw.load_sequence_table(p)
    with pytest.raises(EtalonInputError, match="does not exist"):
        kw.load_sequence_table(tmp_path / "missing.csv")


def test_scan_real_science_folder():
    index = kw.scan_science_folder(DATA_DIR / "deep_impact")
    assert len(index.images) == 6 and not index.skipped
    assert {s.instrument for s in index.images} == {"MRIVIS"}
    assert all(s.ccdt == pytest.approx(177.69833984) for s in index.images)
    # sorted by stop time, which matches the archive's NOMSCT0 within 2 ms
    for s in index.images:
        assert abs(s.stop_tdb - fits.getheader(s.path)["NOMSCT0"]) < 0.002
    assert [s.path for s in index.images] == [str(p) for p in deep_impact_archive_files()]


def test_nearest_science_image_by_time_and_instrument(tmp_path):
    # copies of the real files with distinct CCDT values, and one relabelled HRIVIS
    for i, src in enumerate(deep_impact_archive_files()):
        dst = tmp_path / src.name
        shutil.copy(src, dst)
        with fits.open(dst, mode="update") as hdul:
            hdul[0].header["CCDT"] = 170.0 + i
            if i == 5:
                hdul[0].header["INSTRUME"] = "HRIVIS"
    (tmp_path / "notes.fits").write_text("not fits")
    index = kw.scan_science_folder(tmp_path)
    assert [p for p, _ in index.skipped] == [str(tmp_path / "notes.fits")]
    times = [s.stop_tdb for s in index.images]
    # just after the 3rd MRI image (064): nearest is 064, CCDT 172
    near = kw.nearest_science_image(index.images, "NAVMRI", times[2] + 0.01)
    assert near.path.endswith("_064_dn.fit") and near.ccdt == 172.0
    # an hour after everything: the last MRIVIS (066), not the HRIVIS one (067)
    near = kw.nearest_science_image(index.images, "NAVMRI", times[-1] + 3600)
    assert near.path.endswith("_066_dn.fit") and near.ccdt == 174.0
    assert kw.nearest_science_image(index.images, "NAVHRI", 0.0).ccdt == 175.0
    assert kw.nearest_science_image(index.images, "NAVITS", 0.0) is None
    with pytest.raises(ValueError, match="unknown NAV instrument"):
        kw.nearest_science_image(index.images, "MRIVIS", 0.0)


def test_missing_science_folder_is_clear(tmp_path):
    with pytest.raises(EtalonInputError, match="science folder does not exist"):
        kw.scan_science_folder(tmp_path / "nowhere")
    f = tmp_path / "file.fits"
    f.write_text("x")
    with pytest.raises(EtalonInputError, match="is a file"):
        kw.scan_science_folder(f)
    assert kw.scan_science_folder(tmp_path).images == ()


def test_archive_reader_reads_real_products():
    path = deep_impact_archive_files()[0]
    frame = read_archive(path)
    assert frame.data.dtype == np.dtype(np.float32) and frame.data.dtype.isnative
    assert frame.data.shape == (64, 64)
    assert frame.snr is not None and frame.snr.shape == (64, 64)
    assert frame.header["INSTRUME"] == "MRIVIS" and frame.header["EXPID"] == 9000910
    assert len(frame.header) > 500
    with fits.open(path) as hdul:
        np.testing.assert_array_equal(frame.flags, hdul["FLAGS"].data)
        np.testing.assert_array_equal(frame.data, hdul[0].data)
    # the quality map agrees with the header's own counts
    assert int(((frame.flags & 1) > 0).sum()) == frame.header["BADPXCT"] == 128
    assert int(((frame.flags & 2) > 0).sum()) == frame.header["MISSPXCT"] == 100
    assert int(((frame.flags & 32) > 0).sum()) == frame.header["SATPXCT"] == 3
    assert abs(stop_tdb(frame.header) - 173727938.359) < 0.002


def test_archive_reader_rejects_other_files(tmp_path):
    p = tmp_path / "nav.fits"
    fits.PrimaryHDU(np.zeros((4, 4), np.uint16), header=fits.Header({"INSTRUME": "NAVMRI"})).writeto(p)
    with pytest.raises(EtalonInputError, match="not a Deep Impact archive product"):
        read_archive(p)
    with pytest.raises(EtalonInputError, match="no usable stop time"):
        stop_tdb(fits.Header({"INSTRUME": "MRIVIS"}), p)
