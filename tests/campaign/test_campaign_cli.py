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


def test_simulate_output_dir_is_a_file_exit_2_naming_it(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("a file, not a folder")
    assert main(["campaign", "simulate", "--output-dir", str(f)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{f}: --output-dir is a file" in err, err
    assert f.read_text() == "a file, not a folder"
    assert main(["campaign", "simulate", "--output-dir", str(f / "sub")]) == 2
    assert f"{f} is a file, not a folder" in capsys.readouterr().err
    assert main(["campaign", "simulate", "--output-dir", str(tmp_path / "d"), "--files", "0"]) == 2
    assert "--files 0" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_analyze_and_acceptance_refuse_an_input_as_output(written_campaign, tmp_path, capsys):
    import hashlib

    tables, po, _ = written_campaign
    digest = hashlib.sha256(open(po, "rb").read()).hexdigest()
    assert main(["campaign", "analyze", *tables, "--po", po, "-o", po]) == 2
    assert f"{po}: output is the input" in capsys.readouterr().err
    out = tmp_path / "r.nc"
    assert main(["campaign", "analyze", *tables, "--po", po, "-o", str(out), "--summary", tables[1]]) == 2
    assert "refusing to overwrite an input" in capsys.readouterr().err
    assert hashlib.sha256(open(po, "rb").read()).hexdigest() == digest and not out.exists()
    assert main(["campaign", "analyze", *tables, "--po", po, "-o", str(out), "-q"]) == 0
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert main(["campaign", "acceptance", str(out), "-o", str(out)]) == 2
    assert f"{out}: output is the input" in capsys.readouterr().err
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest


def test_analyze_with_desert_terms(written_campaign, tmp_path, capsys):
    from etalon.campaign import desert_terms_table, read_results

    tables, po, _ = written_campaign
    terms = tmp_path / "terms.ecsv"
    Table(rows=[("B1", "phase:VM1", 0.0, 0.0), ("B1", "phase:VM5", 0.0105, 0.0012),
                ("B4", "drift:all", -0.0061, 0.0008)],
          names=("channel", "term", "value", "unc")).write(terms, format="ascii.ecsv")
    out = tmp_path / "R.nc"
    assert main(["campaign", "analyze", *tables, "--po", po, "-o", str(out), "--desert-terms",
                 str(terms), "-q"]) == 0
    ds = read_results(out)
    back = desert_terms_table(ds)
    assert [tuple(r) for r in back] == [("B1", "phase:VM1", 0.0, 0.0), ("B1", "phase:VM5", 0.0105, 0.0012),
                                        ("B4", "drift:all", -0.0061, 0.0008)]
    assert ds.attrs["desert_terms_file"] == "terms.ecsv"
    # bad desert terms: exit 2 naming the file, nothing written; the terms file as an output refused
    bad = tmp_path / "bad_terms.ecsv"
    Table({"channel": ["B1"], "term": ["drift:all"], "value": [0.1]}).write(bad, format="ascii.ecsv")
    out2 = tmp_path / "R2.nc"
    assert main(["campaign", "analyze", *tables, "--po", po, "-o", str(out2),
                 "--desert-terms", str(bad)]) == 2
    assert f"{bad}: desert terms table lacks column(s) unc" in capsys.readouterr().err
    assert main(["campaign", "analyze", *tables, "--po", po, "-o", str(out2), "--summary", str(terms),
                 "--desert-terms", str(terms)]) == 2
    assert "refusing to overwrite an input" in capsys.readouterr().err
    assert not out2.exists()
