"""``etalon campaign analyze | acceptance | simulate`` end to end (the external contract)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from etalon.cli import main


def test_analyze_then_acceptance(written_campaign, small_campaign, tmp_path, capsys):
    tables, po, _ = written_campaign
    out, summ = tmp_path / "RESULTS.nc", tmp_path / "SUMMARY.ecsv"
    rc = main(["campaign", "analyze", *tables, "--po", po, "-o", str(out), "--summary", str(summ), "-q"])
    assert rc == 0
    tab = Table.read(summ, format="ascii.ecsv")
    assert tab.colnames == ["channel", "term", "value", "unc"]
    # every reported term with an uncertainty is within 4 sigma of the generator's truth
    for row in tab:
        truth = small_campaign.truth_value(row["channel"], row["term"])
        if row["term"].startswith("expected_step"):
            assert row["value"] == pytest.approx(truth, rel=1e-9)
        else:
            assert abs(row["value"] - truth) < 4 * row["unc"], (row["channel"], row["term"])
    assert tab.meta["etalon_step"] == "campaign summary" and po in tab.meta["inputs"]
    assert "3 band(s)" in capsys.readouterr().out
    cfg = tmp_path / "crit.toml"
    cfg.write_text('[default]\nmax_phase_offset = 0.5\nmax_abs_drift = 0.5\nmin_n = 10\n')
    acc = tmp_path / "acc.ecsv"
    assert main(["campaign", "acceptance", str(out), "--config", str(cfg), "-o", str(acc), "-q"]) == 0
    a = Table.read(acc, format="ascii.ecsv")
    assert list(a["verdict"]) == ["PASS"] * 3
    assert np.all(np.isfinite(a["phase_offset_unc"])) and np.all(a["n"] > 40)


def test_bad_inputs_exit_2_with_one_line(written_campaign, small_campaign, tmp_path, caplog):
    tables, po, _ = written_campaign
    out = str(tmp_path / "r.nc")
    assert main(["campaign", "analyze", *tables, "--po", po, "-o", tables[0]]) == 2
    assert "refusing to overwrite an input" in caplog.text
    bad = tmp_path / "nocol.ecsv"
    t = Table.read(tables[0], format="ascii.ecsv")
    t.remove_column("phase_angle")
    t.write(bad, format="ascii.ecsv")
    assert main(["campaign", "analyze", str(bad), "--po", po, "-o", out]) == 2
    assert "lacks column(s) phase_angle" in caplog.text
    one = tmp_path / "one.ecsv"
    t = Table.read(tables[0], format="ascii.ecsv")
    t[t["channel"] == "B1"].write(one, format="ascii.ecsv")
    assert main(["campaign", "analyze", str(one), "--po", po, "-o", out]) == 2
    assert "one band only" in caplog.text
    assert main(["campaign", "analyze", *tables, "--po", po, "-o", out, "--reference-po", "PO-9"]) == 2
    assert not (tmp_path / "r.nc").exists()


def test_simulate_writes_tables_po_and_truth(tmp_path, capsys):
    d = tmp_path / "sim"
    assert main(["campaign", "simulate", "--output-dir", str(d), "--seed", "3", "--bands", "B2,B3",
                 "--files", "2"]) == 0
    names = sorted(p.name for p in d.iterdir())
    assert names == ["moon_measure_01.ecsv", "moon_measure_02.ecsv", "po.ecsv", "truth.ecsv"]
    t1 = Table.read(d / "moon_measure_01.ecsv", format="ascii.ecsv")
    t2 = Table.read(d / "moon_measure_02.ecsv", format="ascii.ecsv")
    assert len(t1) + len(t2) == 2 * 136 and set(t1["channel"]) == {"B2", "B3"}
    assert max(t1["time"]) < min(t2["time"])  # split on acquisitions, in time order
