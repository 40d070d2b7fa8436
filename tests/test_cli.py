"""``etalon --help`` and every command's help describe every option."""

from __future__ import annotations

import argparse
import subprocess
import sys

from etalon.cli import build_parser


def _all_parsers(parser: argparse.ArgumentParser, prefix=("etalon",)):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, (*prefix, name))


def test_every_option_of_every_command_has_help():
    undocumented = []
    for prefix, parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                undocumented.append(f"{' '.join(prefix)} {action.dest}")
    assert undocumented == []


def test_top_level_help_lists_the_command_groups():
    out = subprocess.run([sys.executable, "-m", "etalon.cli", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for command in ("report", "nav", "ccd", "moon"):
        assert f"    {command} " in out
    report = subprocess.run([sys.executable, "-m", "etalon.cli", "report", "--help"],
                            capture_output=True, text=True, check=True).stdout
    for option in ("--output", "--notebooks", "-p NAME VALUE", "--jobs", "--no-code"):
        assert option in report


# ---------------------------------------------------------------- one convention (issue 16)
import hashlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from etalon import cli  # noqa: E402
from etalon.cli import main  # noqa: E402
from etalon.data import deep_impact_archive_files  # noqa: E402


@pytest.fixture
def with_simulate(monkeypatch):
    """``etalon nav simulate`` registered (until the integrator adds it to COMMAND_GROUPS)."""
    group = cli.COMMAND_GROUPS["nav"]
    if "etalon.nav.cli_simulate" not in group[2]:
        monkeypatch.setitem(cli.COMMAND_GROUPS, "nav", (*group[:2], (*group[2], "etalon.nav.cli_simulate")))


def _parser(*names):
    parser = build_parser()
    for prefix, p in _all_parsers(parser):
        if prefix[1:] == names:
            return p
    raise KeyError(names)


def _options(p) -> set[str]:
    return {s for a in p._actions for s in a.option_strings}


OWN = [("nav", "decode"), ("nav", "preprocess"), ("nav", "simulate"), ("ccd", "calibrate"),
       ("ccd", "steps"), ("report",)]


@pytest.mark.parametrize("names", OWN)
def test_every_command_takes_the_common_options(with_simulate, names):
    opts = _options(_parser(*names))
    assert {"-q", "--quiet", "-v", "--verbose", "--log-format"} <= opts
    assert "-O" not in opts


def _leaf_commands():
    return [prefix[1:] for prefix, p in _all_parsers(build_parser())
            if len(prefix) > 1 and not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)]


@pytest.mark.parametrize("names", _leaf_commands(), ids=" ".join)
def test_other_commands_follow_the_convention(names):
    """Every command of every group: -q/-v (cliutil.add_common_options). Commands of other
    groups not there yet show as xfail (their owners adopt cliutil)."""
    opts = _options(_parser(*names))
    if names in OWN:
        pytest.skip("checked above")
    if not {"-q", "-v"} <= opts:
        pytest.xfail(f"etalon {' '.join(names)} has no -q/-v yet (cliutil.add_common_options)")
    assert "-O" not in opts


@pytest.mark.parametrize("names", [("nav", "decode"), ("nav", "preprocess"), ("ccd", "calibrate")])
def test_batch_commands_o_is_a_file_output_dir_a_folder(names):
    p = _parser(*names)
    actions = {a.dest: a for a in p._actions}
    assert actions["output"].option_strings == ["-o", "--output"] and actions["output"].metavar == "FILE"
    assert actions["output_dir"].option_strings == ["--output-dir"]
    assert {"--no-progress", "--scheduler"} <= _options(p)


@pytest.fixture
def archive(tmp_path):
    src = deep_impact_archive_files()[0]
    dst = tmp_path / "in" / src.name
    dst.parent.mkdir()
    shutil.copy(src, dst)
    return dst


def test_ccd_calibrate_o_names_a_file_and_an_existing_folder_is_refused(archive, tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.setenv("ETALON_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "mycal.fits"
    assert main(["ccd", "calibrate", str(archive), "-o", str(out), "--no-progress"]) == 0
    assert out.is_file()
    err = capsys.readouterr().err  # where the synthetic references would go, said first
    assert f"generated on first use into {tmp_path / 'cache' / 'ccd-reference'}" in err
    assert "set ETALON_CACHE to put them elsewhere" in err
    assert main(["ccd", "calibrate", str(archive), "-o", str(tmp_path / "in"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "is an existing folder, expected a file name (use --output-dir for a folder)" in err
    assert main(["ccd", "calibrate", str(archive), "--output-dir", str(tmp_path / "cal"),
                 "--no-progress"]) == 0
    # the product and, the despiker having run, the reversible product (archive RADREV)
    assert sorted(p.name for p in (tmp_path / "cal").iterdir()) == [f"{archive.stem}_cal.fits",
                                                                   f"{archive.stem}_calrev.fits"]


def test_ccd_calibrate_product_of_one_input_is_another_input(archive, capsys):
    second = archive.parent / f"{archive.stem}_cal.fits"
    shutil.copy(archive, second)
    before = hashlib.sha256(second.read_bytes()).hexdigest()
    code = main(["ccd", "calibrate", str(archive), str(second), "--output-dir", str(archive.parent),
                 "--no-progress"])
    assert code == 2
    assert "output is the input" in capsys.readouterr().err
    assert hashlib.sha256(second.read_bytes()).hexdigest() == before


def test_nav_simulate_decode_preprocess_calibrate_with_warnings_on_the_terminal(with_simulate, tmp_path,
                                                                                 capsys):
    raw = tmp_path / "raw"
    assert main(["nav", "simulate", "--output-dir", str(raw), "-n", "1"]) == 0
    out = capsys.readouterr().out
    (name,) = [p.name for p in raw.iterdir()]
    assert name.startswith("NAV_AM_9000380.bin_2005_185T") and f"wrote {raw / name}" in out
    decoded = tmp_path / "d.fits"
    assert main(["nav", "decode", str(raw / name), "-o", str(decoded), "--no-progress"]) == 0
    prep = tmp_path / "p.fits"
    assert main(["nav", "preprocess", str(decoded), "-o", str(prep), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "CCDT = DELTAT = -9999" in err  # the default taken, on stderr
    assert main(["ccd", "calibrate", str(prep), "-o", str(tmp_path / "c.fits"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {prep}: CCDT unknown (-9999.0): dark at the reference's temperature" in err
    assert main(["ccd", "calibrate", str(prep), "-o", str(tmp_path / "c.fits"), "-q",
                 "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().err  # -q: errors only


def test_ccd_steps_into_a_closed_pipe_exits_cleanly():
    """``etalon ccd steps | head``: the reader goes away; no BrokenPipeError traceback."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-m", "etalon.cli", "ccd", "steps"], stdout=w,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(w)
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_non_ascii_file_names(archive, tmp_path, capsys):
    src = archive.parent / "trame_é.fit"
    archive.rename(src)
    out = tmp_path / "étalonné.fits"
    assert main(["ccd", "calibrate", str(src), "-o", str(out), "--no-progress"]) == 0
    from astropy.io import fits

    history = "".join(str(h) for h in fits.getheader(out)["HISTORY"])
    assert "trame_\\xe9.fit" in history


def test_nav_decode_non_ascii_file_name(with_simulate, tmp_path):
    raw = tmp_path / "trame_é.000"
    assert main(["nav", "simulate", "-o", str(raw)]) == 0
    out = tmp_path / "trame_é.fits"
    assert main(["nav", "decode", str(raw), "-o", str(out), "--no-progress"]) == 0
    from astropy.io import fits

    assert fits.getheader(out)["FNORIG"] == "trame_\\xe9.000"  # escaped: FITS text is ASCII


def test_nav_simulate_o_and_bad_values(with_simulate, tmp_path, capsys):
    assert main(["nav", "simulate", "-o", str(tmp_path / "x.nav"), "--instrument", "NAVHRI",
                 "--damage", "lost", "--seed", "3"]) == 0
    assert Path(tmp_path / "x.nav").stat().st_size > 1000
    assert main(["nav", "simulate", "-o", str(tmp_path / "y.nav"), "-n", "2"]) == 2
    assert main(["nav", "simulate", "--output-dir", str(tmp_path), "--start", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert "takes one file" in err and "--start 'yesterday': not a UTC time" in err
