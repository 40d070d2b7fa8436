"""``etalon ccd calibrate`` on simulated NAV frames, an archive file and a broken file."""

from __future__ import annotations

import numpy as np

from etalon.ccd.simulate import simulate_nav_frame
from etalon.cli import main
from etalon.data import deep_impact_archive_files
from etalon.frame import read_frame, write_frame


def test_cli_calibrates_nav_and_archive_and_reports_failures(tmp_path, capsys):
    nav = write_frame(simulate_nav_frame(21, n_cosmics=50).frame, tmp_path / "nav_21.fits")
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"SIMPLE  = not fits")
    archive = deep_impact_archive_files()[1]
    out = tmp_path / "out"
    code = main(["ccd", "calibrate", str(nav), str(archive), str(broken), "--output-dir",
                 str(out), "--scheduler", "synchronous", "--no-progress"])
    assert code == 1
    text = capsys.readouterr()
    assert "broken.fits" in text.err and "1 of 3 file(s) failed" in text.err
    cal = read_frame(out / "nav_21_cal.fits")
    assert cal.data.shape == (1008, 1008) and cal.snr is not None
    assert cal.header["DARKCORR"] is True and np.any(cal.flags & 2)
    assert (out / f"{archive.stem}_cal.fits").exists()


def test_cli_config_and_steps(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[steps.despike]\nstate = "disabled"\nreason = "keep every pixel"\n')
    assert main(["ccd", "steps", "--config", str(cfg)]) == 0
    assert "keep every pixel" in capsys.readouterr().out
    cfg.write_text('[steps.smear]\nstate = "enabled"\n')
    assert main(["ccd", "calibrate", "x.fits", "--output-dir", str(tmp_path), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "not implemented" in err and str(cfg) in err


def test_cli_refuses_inputs_whose_products_would_overwrite_each_other(tmp_path, capsys):
    a, b = tmp_path / "a" / "frame.fits", tmp_path / "b" / "frame.fits"
    for path in (a, b):
        path.parent.mkdir()
        write_frame(simulate_nav_frame(22, n_cosmics=0).frame, path)
    out = tmp_path / "out"
    code = main(["ccd", "calibrate", str(a), str(b), "--output-dir", str(out), "--scheduler", "synchronous",
                 "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert str(a) in err and str(b) in err and "overwrite" in err
    assert not out.exists()
