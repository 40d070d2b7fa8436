"""`etalon venus` commands: exit codes and outputs."""

from __future__ import annotations

import json

from astropy.table import Table

from etalon.cli import main
from etalon.venus.validate import systematic_budget


def test_header_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "x.HDR.xml"
    bad.write_text("<Earth_Explorer_Header")
    assert main(["venus", "header", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert main(["venus", "header", str(tmp_path / "missing.xml")]) == 2


def test_simulate_campaign_cli(tmp_path, capsys):
    out = tmp_path / "camp"
    rc = main(["venus", "simulate-campaign", str(out), "--scale", "0.05", "--max-acquisitions", "1",
               "--start", "2022-04-01", "--end", "2022-05-31", "--no-straylight", "--no-desert",
               "--no-progress", "--seed", "4"])
    assert rc == 0
    files = sorted(out.glob("VENUS_MOON_*.nc"))
    assert len(files) == 1
    truth = Table.read(out / "truth.ecsv")
    assert len(truth) == 12 and set(truth["phase_name"]) == {"VM5"}
    meta = json.loads((out / "truth.json").read_text())
    assert meta["config"]["seed"] == 4 and meta["config"]["straylight"] is False
    assert (out / "po.ecsv").exists() and not (out / "desert.ecsv").exists()
    assert main(["venus", "simulate-campaign", str(out), "--scale", "2"]) == 2
    (tmp_path / "afile").write_text("x")
    assert main(["venus", "simulate-campaign", str(tmp_path / "afile"), "--scale", "0.05"]) == 2


def test_budget_table():
    assert systematic_budget(50.0) == 0.008 and systematic_budget(12.0) == 0.009
    assert systematic_budget(7.0) == 0.015
    assert systematic_budget(3.0) != systematic_budget(3.0)      # NaN: not assessed
