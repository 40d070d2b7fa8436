"""``etalon desert normalise | crosscal | compare-moon``: contract columns, bad input, provenance."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from etalon.cli import main
from etalon.data import data_path

DESERT = data_path("desert")
MERIS3 = DESERT / "dimitri_MERIS_3rd_Reprocessing_Libya4.sav"
AATSR = DESERT / "dimitri_AATSR_2nd_Reprocessing_Libya4.sav"
CONTRACT = ["time", "sensor", "band", "wavelength", "sza", "vza", "raa", "rho", "rho_norm",
            "rho_norm_unc", "outlier"]


def _array():
    from scipy.io import readsav

    return readsav(str(MERIS3))["data"].copy()


def test_normalise_contract(tmp_path):
    out = tmp_path / "norm.ecsv"
    assert main(["desert", "normalise", str(AATSR), "-o", str(out), "--no-progress"]) == 0
    t = Table.read(out, format="ascii.ecsv")
    assert t.colnames[:1] == ["time"] and all(c in t.colnames for c in CONTRACT)
    # AATSR: 712 rows (nadir + forward) x 4 reflective bands; thermal bands left out
    assert len(t) == 712 * 4 and sorted(set(t["band"])) == [0, 1, 2, 3]
    assert t["time"][0] == "2002-07-23T08:44:31.002" and set(t["sensor"]) == {"AATSR"}
    assert t["outlier"].dtype == bool and str(t["wavelength"].unit) == "nm"
    first = t[(t["band"] == 0)][0]
    assert first["rho"] == pytest.approx(0.3646662, abs=1e-6)       # = the DIMITRI CSV's RHO1
    assert first["vza"] == pytest.approx(2.018353, abs=1e-5)
    clear = t[~t["outlier"]]
    assert np.all(np.isfinite(clear["rho_norm"])) and np.all(clear["rho_norm_unc"] > 0)
    assert t.meta["etalon_step"] == "desert normalise"
    assert t.meta["reference_geometry"] == {"sza": 30.0, "vza": 0.0, "raa": 0.0}
    b0 = t.meta["bands"]["AATSR:2nd_Reprocessing:0"]
    assert b0["norm_rms"] < b0["raw_rms"] and b0["rho_ref_unc"] > 0
    assert not list(tmp_path.glob(".norm*"))


def test_normalise_sensor_option_and_batch_failure(tmp_path, capsys, sav_writer):
    unnamed = tmp_path / "series.sav"
    shutil.copy(MERIS3, unnamed)
    bad = sav_writer(tmp_path / "dimitri_MERIS_bad_Libya4.sav", data=_array()[:1])   # one acquisition
    out = tmp_path / "n.ecsv"
    code = main(["desert", "normalise", str(unnamed), str(bad), "--sensor", "MERIS", "-o", str(out),
                 "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "dimitri_MERIS_bad_Libya4.sav" in err and "1 acquisition(s)" in err
    t = Table.read(out, format="ascii.ecsv")
    assert len(t) == 778 * 15 and set(t["sensor"]) == {"MERIS"}


@pytest.mark.parametrize("case", ["foreign", "missing_angles", "all_cloudy", "one", "text"])
def test_normalise_bad_input(tmp_path, capsys, sav_writer, case):
    name = tmp_path / "dimitri_MERIS_x_Libya4.sav"
    if case == "foreign":
        import scipy.io

        src = Path(scipy.io.__file__).parent / "tests" / "data" / "struct_arrays.sav"
        if not src.exists():
            pytest.skip("scipy test data not installed")
        shutil.copy(src, name)
        expect = "no 'data' array"
    elif case == "missing_angles":
        a = _array()
        a[5, 3] = -999.0
        sav_writer(name, data=a)
        expect = "missing or out-of-range angles"
    elif case == "all_cloudy":
        a = _array()
        a[:, 32:47] = 0.25 * a[:, 17:32]            # every ROI heterogeneous (CV 25 %)
        sav_writer(name, data=a)
        expect = "no band could be normalised"
    elif case == "one":
        sav_writer(name, data=_array()[:1])
        expect = "1 acquisition(s)"
    else:
        name.write_text("not a save file")
        expect = "not an IDL save file"
    before = name.read_bytes()
    out = tmp_path / "o.ecsv"
    # the only input is bad: exit 2 (batch_exit_code); with a good one beside it: 1
    assert main(["desert", "normalise", str(name), "-o", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(name) in err and expect in err
    assert not out.exists() and name.read_bytes() == before


def test_normalise_output_is_input(capsys):
    assert main(["desert", "normalise", str(MERIS3), "-o", str(MERIS3)]) == 2


def test_crosscal_cli(tmp_path, capsys):
    out, series = tmp_path / "x.ecsv", tmp_path / "s.ecsv"
    modis = DESERT / "dimitri_MODISA_Collection_5_Libya4.sav"
    assert main(["desert", "crosscal", str(MERIS3), str(modis), "-o", str(out), "--series",
                 str(series)]) == 0
    t = Table.read(out, format="ascii.ecsv")
    # matched pairs normalised in both (MODIS 487 nm saturates over Libya-4: skipped)
    assert t["centre_nm"].tolist() == [412, 443, 555, 665, 870, 900]
    assert np.all(t["ratio_unc"] >= t["ratio_unc_stat"]) and np.all(t["sbaf_unc"] > 0)
    assert np.all(np.abs(t["ratio"] - 1) < 0.05)
    assert set(t["target"]) == {"MERIS:3rd_Reprocessing"} and t.meta["etalon_step"] == "desert crosscal"
    s = Table.read(series, format="ascii.ecsv")
    assert len(s) == int(np.sum(t["n_bins"]))
    assert "412 nm  ratio" in capsys.readouterr().out


def test_compare_moon_cli(tmp_path, capsys):
    from etalon.desert.simulate import simulate_coupled_campaign

    c = simulate_coupled_campaign(seed=5, desert_step_days=16, moon_per_month=1)
    desert = tmp_path / "desert.ecsv"
    c.desert.write(desert, format="ascii.ecsv")
    tr = c.truth
    rows = []
    for b in sorted(set(tr["channel"])):
        val = {t: v for ch, t, v in tr if ch == b}
        rows += [(b, "phase:VM5", val["phase:VM5:moon"], 0.001), (b, "drift:1", val["drift"], 5e-4)]
    moon = tmp_path / "SUMMARY.ecsv"
    Table(rows=rows, names=("channel", "term", "value", "unc")).write(moon, format="ascii.ecsv")
    out, terms = tmp_path / "cmp.ecsv", tmp_path / "terms.ecsv"
    assert main(["desert", "compare-moon", "--moon", str(moon), "--desert", str(desert), "-o",
                 str(out), "--desert-terms", str(terms)]) == 0
    cmp = Table.read(out, format="ascii.ecsv")
    assert set(cmp["term"]) == {"phase:VM1", "phase:VM5", "drift"} and len(cmp) == 36
    assert np.mean(cmp["consistent"][cmp["term"] == "phase:VM5"]) >= 10 / 12  # no lunar artefact
    t = Table.read(terms, format="ascii.ecsv")
    assert t.meta["etalon_step"] == "desert compare-moon" and np.all(np.isfinite(t["truth"]))
    assert "phase:VM5" in capsys.readouterr().out
    # the desert terms file is accepted in place of the acquisitions
    assert main(["desert", "compare-moon", "--moon", str(moon), "--desert", str(terms), "-o",
                 str(tmp_path / "cmp2.ecsv")]) == 0
    # bad Moon summary: names the file, exit 2
    bad = tmp_path / "bad.ecsv"
    Table({"channel": ["B1"], "x": [1.0]}).write(bad, format="ascii.ecsv")
    assert main(["desert", "compare-moon", "--moon", str(bad), "--desert", str(terms), "-o",
                 str(tmp_path / "c2.ecsv")]) == 2
    assert "bad.ecsv" in capsys.readouterr().err
