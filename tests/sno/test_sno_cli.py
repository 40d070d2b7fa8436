"""The operational commands: contract, deterministic atomic outputs, exit codes, bad input."""

from __future__ import annotations

import json
import shutil

import pytest
from astropy.table import Table
from hypothesis import given, settings
from hypothesis import strategies as st

from etalon.cli import main

L1 = "1 40697U 15028A   24337.14457616  .00000519  00000-0  21480-3 0  9998"
L2 = "2 40697  98.5704  48.9920 0001011  93.0957 267.0342 14.30811188493363"
SITES = ["28.55,23.39", "43.56,4.86", "-23.6,15.12"]


def _overpasses(tle, out, start="2024-12-01", end="2024-12-03", sites=SITES, extra=()):
    argv = ["sno", "overpasses", "--tle", str(tle), "--start", start, "--end", end,
            "--max-vza", "40", "-o", str(out), *extra]
    for s in sites:
        argv += ["--site", s]
    return main(argv)


def test_overpasses_contract(tmp_path, tle_path, capsys):
    out = tmp_path / "o" / "passes.ecsv"
    assert _overpasses(tle_path, out) == 0
    t = Table.read(out, format="ascii.ecsv")
    assert t.colnames[:7] == ["satellite", "time", "vza", "vaa", "sza", "saa", "distance_km"]
    assert set(t["satellite"]) == {"SENTINEL-2A", "SENTINEL-2B"}
    assert all(len(x) == 23 and x[10] == "T" for x in t["time"])
    assert (t["vza"] <= 40).all() and t["vza"].unit == "deg" and t["distance_km"].unit == "km"
    assert t.meta["etalon_step"] == "sno overpasses"
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["count"] == len(t) and summary["status"] == "ok"
    # rerun: the same two files, replaced
    assert _overpasses(tle_path, out) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["passes.ecsv", "passes.json"]
    assert len(Table.read(out, format="ascii.ecsv")) == len(t)


def _bad_tle(tmp_path, l1=L1, l2=L2):
    p = tmp_path / "in.tle"
    p.write_text(f"SENTINEL-2A\n{l1}\n{l2}\n")
    return p


@pytest.mark.parametrize("case,pattern", [
    ("corrupt", r"in\.tle: line 3: TLE line 2 has 50 characters"),
    ("checksum", r"in\.tle: line 2: bad checksum"),
    ("old", r"in\.tle: line 2: TLE of SENTINEL-2A .* days from the window"),
    ("end_before_start", r"--end 2024-12-01 is not after --start 2024-12-04"),
    ("latitude", r"--site: site '95,10': latitude 95.0 deg outside \[-90, 90\]"),
    ("missing", r"nope\.tle: TLE file does not exist"),
])
def test_overpasses_bad_input_exit_2_nothing_written(tmp_path, capsys, case, pattern):
    tle = _bad_tle(tmp_path)
    kw = {}
    if case == "corrupt":
        tle = _bad_tle(tmp_path, l2=L2[:50])
    elif case == "checksum":
        tle = _bad_tle(tmp_path, l1=L1[:-1] + "1")
    elif case == "old":
        kw = {"start": "2025-09-01", "end": "2025-09-05"}
    elif case == "end_before_start":
        kw = {"start": "2024-12-04", "end": "2024-12-01"}
    elif case == "latitude":
        kw = {"sites": ["95,10"]}
    elif case == "missing":
        tle = tmp_path / "nope.tle"
    out = tmp_path / "out" / "p.ecsv"
    assert _overpasses(tle, out, **kw) == 2
    err = capsys.readouterr().err
    import re

    assert re.search(pattern, err), err
    assert not (tmp_path / "out").exists()


CONFIG = """
[run]
name = "t"
output_dir = "products"
start = "2024-12-01T00:00:00"
end = "2024-12-03T00:00:00"

[[satellites]]
name = "SENTINEL-2A"
tle = "{tle}"

[[satellites]]
name = "VENUS"
venus_phase = "VM5"
epoch = "2024-12-01"
mean_anomaly_deg = 252.0

[[sites]]
name = "Libya-4"
lat = 28.55
lon = 23.39

[[sites]]
name = "Algeria-3"
lat = 30.32
lon = 7.66

[overpass]
max_vza_deg = 30.0

[coincidence]
max_dt_s = 1800.0

[crossing]
enabled = true
"""


def _config(tmp_path, tle_path, text=CONFIG, **subst):
    tle = tmp_path / "s2.tle"
    shutil.copy(tle_path, tle)
    p = tmp_path / "sag.toml"
    body = text.format(tle=tle.name)
    for k, v in subst.items():
        body = body.replace(k, v)
    p.write_text(body)
    return p


def test_predict_outputs_deterministic_and_replaced(tmp_path, tle_path, capsys):
    cfg = _config(tmp_path, tle_path)
    assert main(["sno", "predict", str(cfg), "--log-format", "json"]) == 0
    out = tmp_path / "products"
    names = sorted(p.name for p in out.iterdir())
    tag = "20241201T000000_20241203T000000"
    assert names == [f"t_coincidences_{tag}.ecsv", f"t_crossings_{tag}.ecsv",
                     f"t_overpasses_{tag}.ecsv", f"t_summary_{tag}.json"]
    err_lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert err_lines and all(json.loads(ln)["level"] in ("WARNING", "INFO", "ERROR") for ln in err_lines)
    summary = json.loads((out / f"t_summary_{tag}.json").read_text())
    over = Table.read(out / f"t_overpasses_{tag}.ecsv", format="ascii.ecsv")
    assert summary["counts"]["overpasses"] == len(over) > 0
    assert set(over["satellite"]) == {"SENTINEL-2A", "VENUS"}
    assert summary["satellites"][0]["norad"] == 40697
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(["sno", "predict", str(cfg), "--start", "2024-12-01", "--end", "2024-12-03"]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert set(after) == set(before) and all(after[k] >= before[k] for k in before)


def test_predict_dry_run_writes_nothing(tmp_path, tle_path, capsys):
    cfg = _config(tmp_path, tle_path)
    assert main(["sno", "predict", str(cfg), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "would write overpasses" in text and "SENTINEL-2A" in text
    assert not (tmp_path / "products").exists()


@pytest.mark.parametrize("old,new,pattern", [
    ("max_dt_s = 1800.0", "max_dt_s = 1800.0\nmax_dtt = 3", r"unknown key 'coincidence\.max_dtt'"),
    ("[overpass]", "[overpasss]", r"unknown key 'overpasss'"),
    ("lat = 30.32", "lat = 130.32", r"'sites\[1\]\.lat' = 130\.32: latitude must be in \[-90, 90\]"),
    ("max_vza_deg = 30.0", "max_vza_deg = \"30\"", r"'overpass\.max_vza_deg' must be a number"),
    ("end = \"2024-12-03T00:00:00\"", "end = \"2024-11-03T00:00:00\"", r"is not after --start"),
    ("venus_phase = \"VM5\"", "venus_phase = \"VM7\"", r"satellites\[1\]\.venus_phase"),
    ("start = \"2024-12-01T00:00:00\"", "start = \"2025-10-01T00:00:00\"\n",
     r"s2\.tle: line 2: TLE of SENTINEL-2A"),
])
def test_predict_bad_config_exit_2_nothing_written(tmp_path, tle_path, capsys, old, new, pattern):
    import re

    if "2025-10-01" in new:
        new = new + ""
        cfg = _config(tmp_path, tle_path, **{old: new, 'end = "2024-12-03T00:00:00"':
                                             'end = "2025-10-03T00:00:00"'})
    else:
        cfg = _config(tmp_path, tle_path, **{old: new})
    assert main(["sno", "predict", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert re.search(pattern, err), err
    assert str(cfg.name) in err or "s2.tle" in err or "--start" in err
    assert not (tmp_path / "products").exists()


def test_compare_batch_with_a_failing_file(tmp_path, capsys):
    from etalon.sno.radiometry import responses_for, simulate_matched

    m = simulate_matched(12, responses_for("venus"), responses_for("sentinel-2a"),
                         gain_a={"B7": 1.04}, seed=5)
    good = tmp_path / "matches_good.ecsv"
    m.write(good, format="ascii.ecsv")
    bad = tmp_path / "matches_bad.ecsv"
    bad.write_text("not a table\n")
    outdir = tmp_path / "cmp"
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\nname = "sno"\n[compare]\nn_draws = 30\n')
    assert main(["sno", "compare", str(good), str(bad), "--config", str(cfg),
                 "--output-dir", str(outdir)]) == 1
    err = capsys.readouterr().err
    assert "matches_bad.ecsv" in err
    s = Table.read(outdir / "sno_band_summary.ecsv", format="ascii.ecsv")
    row = s[s["band_a"] == "B7"][0]
    assert abs(row["ratio"] - 1.04) < 4 * row["ratio_unc"]
    summary = json.loads((outdir / "sno_compare_summary.json").read_text())
    assert summary["status"] == "failed" and len(summary["failures"]) == 1
    assert (outdir / "matches_good_ratios.ecsv").exists()
    assert not (outdir / "matches_bad_ratios.ecsv").exists()


def test_sample_config_is_valid():
    from importlib.resources import files

    from etalon.sno.config import load_config

    cfg = load_config(str(files("etalon.sno") / "sample_config.toml"))
    assert [s.name for s in cfg.satellites] == ["SENTINEL-2B", "SENTINEL-2A", "VENUS"]
    assert cfg.crossing["enabled"] and cfg.compare["band_pairs"][0] == ("B3", "B2")


def test_per_satellite_vza_limit(tmp_path, tle_path, capsys):
    cfg = _config(tmp_path, tle_path, **{'tle = "s2.tle"': 'tle = "s2.tle"\nmax_vza_deg = 11.5'})
    assert main(["sno", "predict", str(cfg)]) == 0
    over = Table.read(next((tmp_path / "products").glob("t_overpasses_*.ecsv")), format="ascii.ecsv")
    s2 = over[over["satellite"] == "SENTINEL-2A"]
    assert len(s2) and (s2["vza"] <= 11.5).all()
    assert (over[over["satellite"] == "VENUS"]["vza"] <= 30).all()


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(st.sampled_from(["run", "satellites", "sites", "overpass", "crossing", "x"]),
                       st.one_of(st.integers(), st.text(max_size=5), st.booleans(),
                                 st.dictionaries(st.text(max_size=8), st.one_of(
                                     st.integers(), st.floats(allow_nan=True), st.text(max_size=5)),
                                     max_size=3),
                                 st.lists(st.dictionaries(st.sampled_from(
                                     ["name", "lat", "lon", "tle", "venus_phase", "bad"]),
                                     st.one_of(st.floats(allow_nan=True), st.text(max_size=5))),
                                     max_size=2)), max_size=4))
def test_config_fuzz_only_usage_errors(data):
    from etalon.cliutil import UsageError
    from etalon.sno.config import parse_config

    try:
        parse_config(data, "fuzz.toml")
    except UsageError as exc:
        assert str(exc).startswith("fuzz.toml: ")


DECAY = ("DECAYING\n1 40697U 15028A   24337.14457616  .00000519  00000-0  99999+1 0  9995\n"
         "2 40697  98.5704  48.9920 0001011  93.0957 267.0342 16.30811188493365\n")


def test_predict_a_failing_satellite_gives_exit_1_and_the_rest(tmp_path, tle_path, capsys):
    """A satellite SGP4 cannot propagate (decayed orbit) is listed; the others are produced."""
    (tmp_path / "decay.tle").write_text(DECAY)
    extra = '[[satellites]]\nname = "DECAYING"\ntle = "decay.tle"\n\n[[sites]]'
    cfg = _config(tmp_path, tle_path, **{"[[sites]]\nname = \"Libya-4\"":
                                         extra + "\nname = \"Libya-4\""})
    assert main(["sno", "predict", str(cfg)]) == 1
    assert "DECAYING" in capsys.readouterr().err
    summary = json.loads(next((tmp_path / "products").glob("t_summary_*.json")).read_text())
    assert summary["status"] == "failed" and summary["failures"][0].startswith("DECAYING")
    over = Table.read(next((tmp_path / "products").glob("t_overpasses_*.ecsv")), format="ascii.ecsv")
    assert set(over["satellite"]) == {"SENTINEL-2A", "VENUS"}


def test_overpasses_dry_run_writes_nothing(tmp_path, tle_path, capsys):
    out = tmp_path / "d" / "p.ecsv"
    assert _overpasses(tle_path, out, extra=("--dry-run",)) == 0
    text = capsys.readouterr().out
    assert "SENTINEL-2B" in text and "would write" in text
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("content", [b"", b"not a table\n", "# ECSV é\x00".encode()])
def test_compare_every_input_bad_exit_2_nothing_written(tmp_path, capsys, content):
    """All inputs bad: nothing done, exit 2 (the batch rule of etalon.batch.batch_exit_code)."""
    bad = [tmp_path / "m1.ecsv", tmp_path / "trame_é.ecsv"]
    for p in bad:
        p.write_bytes(content)
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\nname = "sno"\n[compare]\nn_draws = 30\n')
    outdir = tmp_path / "cmp"
    assert main(["sno", "compare", *map(str, bad), "--config", str(cfg),
                 "--output-dir", str(outdir)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert all(p.name in err for p in bad), err
    assert not outdir.exists() or list(outdir.iterdir()) == []


def test_predict_empty_config_names_the_file(tmp_path, capsys):
    cfg = tmp_path / "empty.toml"
    cfg.write_bytes(b"")
    assert main(["sno", "predict", str(cfg), "--output-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}: the window needs a start and an end" in err, err
    assert not (tmp_path / "o").exists()
