"""DIMITRI series, AATSR drift tables and the site catalogue: real values and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.data import data_path
from etalon.desert.aatsr import read_drift_table
from etalon.desert.dimitri import (
    band_centres,
    decimal_year_to_time,
    parse_dimitri_name,
    read_csv_series,
    read_rsr,
    read_series,
    read_site_spectrum,
    time_to_decimal_year,
)
from etalon.desert.sites import read_sites, site
from etalon.fileio import EtalonInputError

DESERT = data_path("desert")
MERIS3 = DESERT / "dimitri_MERIS_3rd_Reprocessing_Libya4.sav"


def test_meris_series_real_values(meris3):
    s = meris3
    assert (s.sensor, s.version, s.site) == ("MERIS", "3rd_Reprocessing", "Libya4")
    assert s.n == 778 and s.rho.shape == (778, 15) and s.rho_std.shape == (778, 15)
    assert s.wavelength_nm[[0, 6, 14]].tolist() == [412.0, 665.0, 900.0]
    # first row of the file: decimal year 2002.3325213722903, VZA 16.6448 deg
    assert s.decimal_year[0] == pytest.approx(2002.3325213722903, abs=1e-12)
    assert s.vza[0] == pytest.approx(16.6447965, abs=1e-6)
    # DIMITRI convention: doy 1 on 1 January -> 2002-05-01 ~08:53 UTC (MERIS, 10:00 descending)
    assert s.time[0].isot.startswith("2002-05-01T08:53")
    assert np.all(np.isfinite(s.rho)) and np.all(s.view == "nadir")
    assert s.aux["pressure"][0] == pytest.approx(1015.87115, abs=1e-3)
    assert np.all(np.isnan(s.aux["water_vapour"]))  # -999 in the file


def test_csv_is_first_band_of_sav(meris3):
    dy, rho1 = read_csv_series(DESERT / "dimitri_MERIS_3rd_Reprocessing_Libya4.csv")
    assert dy.size == meris3.n
    np.testing.assert_allclose(dy, meris3.decimal_year, atol=1e-6)
    np.testing.assert_allclose(rho1, meris3.rho[:, 0], atol=1e-6)


def test_modis_saturated_bands_are_nan():
    s = read_series(DESERT / "dimitri_MODISA_Collection_5_Libya4.sav")
    assert s.n == 2114 and s.rho.shape[1] == 22
    # DIMITRI writes 0 for the saturated ocean bands (667 nm hi/lo gain) over the bright site
    assert np.all(np.isnan(s.rho[:, 5])) and np.all(np.isnan(s.rho[:, 6]))
    assert np.all(np.isfinite(s.rho[:, 20]))  # 646 nm land band
    assert s.wavelength_nm[20] == 646.0


def test_aatsr_views_and_thermal():
    s = read_series(DESERT / "dimitri_AATSR_2nd_Reprocessing_Libya4.sav")
    assert s.n == 712
    nadir, fwd = s.view == "nadir", s.view == "forward"
    assert nadir.sum() == fwd.sum() == 356
    # rows come in pairs nadir then forward at the same time
    np.testing.assert_array_equal(s.decimal_year[0::2], s.decimal_year[1::2])
    assert np.all(s.view[0::2] == "nadir")
    assert s.reflective.tolist() == [True] * 4 + [False] * 3
    assert np.nanmedian(s.rho[:, 5]) > 250  # brightness temperature, K


def test_decimal_year_round_trip():
    dy = np.array([2002.0027397260274, 2004.5, 2010.9900340563033])
    np.testing.assert_allclose(time_to_decimal_year(decimal_year_to_time(dy)), dy, atol=1e-9)
    assert decimal_year_to_time(2003 + 1 / 365).isot[0] == "2003-01-01T00:00:00.000"


def test_names():
    assert parse_dimitri_name("dimitri_MODISA_Collection_5_Libya4.sav") == (
        "MODISA", "Collection_5", "Libya4")
    assert parse_dimitri_name("Site_Libya4_MERIS_Proc_3rd_Reprocessing.sav") == (
        "MERIS", "3rd_Reprocessing", "Libya4")
    assert parse_dimitri_name("series.sav") == (None, None, None)
    with pytest.raises(KeyError, match="unknown DIMITRI sensor"):
        band_centres("SEVIRI")


def test_rsr_and_spectrum():
    r = read_rsr("MERIS", 6)
    assert r.channel == "MERIS_6" and 0.66 < r.centre_um < 0.67
    wl, _rho, sig = read_site_spectrum()
    assert wl[0] == 350 and wl[-1] == 2500 and wl.size == 2151 and sig[0] == 0.02
    with pytest.raises(EtalonInputError, match="no spectral response"):
        read_rsr("MODISA", 6)  # not shipped by DIMITRI (duplicate 667 nm band)


# --- bad input ---------------------------------------------------------------------------

def _real_array():
    from scipy.io import readsav

    return readsav(str(MERIS3))["data"]


def test_foreign_sav(tmp_path):
    import scipy.io

    foreign = Path(scipy.io.__file__).parent / "tests" / "data" / "scalar_float32.sav"
    if not foreign.exists():
        pytest.skip("scipy's test data are not installed")
    dst = tmp_path / "dimitri_MERIS_3rd_Reprocessing_Libya4.sav"
    shutil.copy(foreign, dst)
    with pytest.raises(EtalonInputError, match=r"dimitri_MERIS.*no 'data' array \(holds f32\)"):
        read_series(dst)


def test_other_array_and_text(tmp_path, sav_writer):
    p = sav_writer(tmp_path / "dimitri_MERIS_x_Libya4.sav", other=np.ones((3, 47)))
    with pytest.raises(EtalonInputError, match="no 'data' array"):
        read_series(p)
    t = tmp_path / "dimitri_MERIS_x_Libya4.sav"
    t.write_text("DATE;RHO1\n2002.1;0.2\n")
    with pytest.raises(EtalonInputError, match="not an IDL save file"):
        read_series(t)


def test_wrong_sensor_and_unknown_name(tmp_path):
    with pytest.raises(EtalonInputError, match=r"47 columns, a DIMITRI AATSR series has 31"):
        read_series(MERIS3, sensor="AATSR")
    p = tmp_path / "series.sav"
    shutil.copy(MERIS3, p)
    with pytest.raises(EtalonInputError, match=r"series\.sav: sensor not in the file name"):
        read_series(p)
    assert read_series(p, sensor="MERIS").n == 778


def test_missing_angles(tmp_path, sav_writer):
    a = _real_array().copy()
    a[[3, 10, 20], 1] = -999.0
    p = sav_writer(tmp_path / "dimitri_MERIS_bad_Libya4.sav", data=a)
    with pytest.raises(EtalonInputError, match="3 of 778 acquisitions have missing"):
        read_series(p)
    with pytest.warns(UserWarning, match="3 of 778 rows without valid angles dropped"):
        s = read_series(p, on_missing_angles="drop")
    assert s.n == 775


def test_empty_series(tmp_path, sav_writer):
    p = sav_writer(tmp_path / "dimitri_MERIS_e_Libya4.sav", data=np.zeros((0, 47)))
    with pytest.raises(EtalonInputError):
        read_series(p)


def test_input_not_modified(tmp_path):
    p = tmp_path / MERIS3.name
    shutil.copy(MERIS3, p)
    before = p.read_bytes()
    read_series(p)
    assert p.read_bytes() == before


_SMALL = None


def _small_sav(tmp_path_factory) -> bytes:
    global _SMALL
    if _SMALL is None:
        import importlib.util

        # this folder's conftest by path: a bare ``from conftest import`` may get another folder's
        spec = importlib.util.spec_from_file_location("desert_conftest",
                                                      Path(__file__).with_name("conftest.py"))
        conftest = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(conftest)
        p = conftest.write_sav(tmp_path_factory.mktemp("fz") / "s.sav", data=_real_array()[:4])
        _SMALL = p.read_bytes()
    return _SMALL


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_damaged_sav(tmp_path_factory, data):
    raw = bytearray(_small_sav(tmp_path_factory))
    n_edit = data.draw(st.integers(1, 6))
    for _ in range(n_edit):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(4, len(raw)))
    p = tmp_path_factory.mktemp("fz") / "dimitri_MERIS_fz_Libya4.sav"
    p.write_bytes(bytes(raw[:cut]))
    try:
        s = read_series(p)
    except EtalonInputError as exc:
        assert str(p) in str(exc)
    else:
        assert s.rho.shape == (s.n, 15) and np.all(np.isfinite(s.vza))


# --- AATSR drift tables -------------------------------------------------------------------

def test_drift_tables_real_values():
    new = read_drift_table(DESERT / "AATSR_VIS_DRIFT_V02-01.DAT")
    old = read_drift_table(DESERT / "AATSR_VIS_DRIFT_V00-19.DAT")
    assert new.version == "02-01" and old.version == "00-19"
    assert new.wavelength_nm.tolist() == [560, 659, 870, 1600]
    assert old.wavelength_nm.tolist() == [560, 660, 870, 1600]
    assert new.factor.shape == (3471, 4) and old.factor.shape == (3136, 4)
    np.testing.assert_allclose(new.factor[-1], [1.19551, 1.07634, 1.05631, 1.03071])
    np.testing.assert_allclose(new.factor_unc[-1], [0.00386, 0.00272, 0.00254, 0.00314])
    assert np.all(np.isnan(old.factor_unc))
    assert new.time[-1].isot == "2011-08-31T00:00:00.000" and new.boxcar_days == 120
    np.testing.assert_allclose(old.factor[16], [1.01082, 1.00999, 1.01048, 1.01079])
    f, _u = new.at(new.decimal_year[[0, 100]])
    np.testing.assert_allclose(f, new.factor[[0, 100]], atol=1e-12)


def test_drift_table_bad(tmp_path):
    lines = (DESERT / "AATSR_VIS_DRIFT_V02-01.DAT").read_text().splitlines()
    p = tmp_path / "AATSR_VIS_DRIFT_BAD.DAT"
    p.write_text("\n".join([*lines[:7], lines[7][:-20], *lines[8:20]]))
    with pytest.raises(EtalonInputError, match=r"AATSR_VIS_DRIFT_BAD\.DAT: rows must hold 4"):
        read_drift_table(p)
    p.write_text("\n".join(lines[5:20]))
    with pytest.raises(EtalonInputError, match="no 'Version :' line"):
        read_drift_table(p)
    p.write_text("\n".join(lines[:5]))
    with pytest.raises(EtalonInputError, match="no day row"):
        read_drift_table(p)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=8), st.integers(0, 30))
def test_fuzz_drift_table(tmp_path_factory, junk, where):
    lines = (DESERT / "AATSR_VIS_DRIFT_V02-01.DAT").read_text().splitlines()[:40]
    lines[where:where] = junk
    p = tmp_path_factory.mktemp("dt") / "AATSR_VIS_DRIFT_FZ.DAT"
    p.write_text("\n".join(lines), encoding="utf-8", errors="replace")
    try:
        t = read_drift_table(p)
    except EtalonInputError as exc:
        assert str(p) in str(exc)
    else:
        assert t.factor.shape[1] == t.wavelength_nm.size


# --- site catalogue ----------------------------------------------------------------------

def test_sites():
    sites = read_sites()
    lib = site("Libya 4")
    assert (lib.centre_lat, lib.centre_lon) == (28.55, 23.39)
    assert (lib.north + lib.south) / 2 == pytest.approx(lib.centre_lat)
    assert (lib.east + lib.west) / 2 == pytest.approx(lib.centre_lon)
    assert site("Algeria2").centre_lon == -1.38 and not site("Algeria2").has_box
    assert {"Algeria3", "Algeria4", "Algeria5", "DomeC", "Uyuni"} <= set(sites)
    for s in sites.values():
        if s.has_box:
            assert s.south < s.centre_lat < s.north and s.west < s.centre_lon < s.east
    with pytest.raises(KeyError, match="unknown site"):
        site("Sonora")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.;-e \n", max_size=30), max_size=6))
def test_fuzz_csv(tmp_path_factory, lines):
    p = tmp_path_factory.mktemp("csv") / "dimitri_X.csv"
    p.write_text("DATE;RHO1\n" + "\n".join(lines))
    try:
        dy, rho = read_csv_series(p)
    except EtalonInputError as exc:
        assert str(p) in str(exc)
    else:
        assert dy.shape == rho.shape and dy.size >= 1


def test_normalised_table_round_trip(tmp_path):
    from astropy.table import Table

    from etalon.desert.normalise import normalise_file, read_normalised_table, write_table

    t = normalise_file(DESERT / "dimitri_AATSR_2nd_Reprocessing_Libya4.sav")
    out = tmp_path / "n.ecsv"
    write_table(t, out, inputs=["x"], parameters={"a": 1})
    back = read_normalised_table(out)
    assert len(back) == len(t) and back.meta["parameters"] == {"a": 1}
    np.testing.assert_array_equal(back["outlier"], t["outlier"])
    Table({"time": ["2002-01-01"]}).write(tmp_path / "bad.ecsv", format="ascii.ecsv")
    with pytest.raises(EtalonInputError, match="no column sensor"):
        read_normalised_table(tmp_path / "bad.ecsv")
