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
    # a bad configuration is reported before any input is looked at (x.fits does not exist)
    cfg.write_text('[steps.smear]\nstate = "bogus"\n')
    out = tmp_path / "out"
    assert main(["ccd", "calibrate", "x.fits", "--output-dir", str(out), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert str(cfg) in err and "state must be one of" in err and "'bogus'" in err
    assert "x.fits" not in err and not out.exists()
    # a good configuration and a missing input: the input is named, nothing written
    cfg.write_text('[steps.smear]\nstate = "enabled"\nwarn_fraction = 0.0\n')
    assert main(["ccd", "calibrate", "x.fits", "--output-dir", str(out), "--config", str(cfg),
                 "--scheduler", "synchronous", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "x.fits" in err and "does not exist" in err and not (out / "x_cal.fits").exists()


def test_cli_smear_is_estimated_and_warned_not_removed(tmp_path, capsys):
    """``[steps.smear]`` enabled: SMEARFRC written, warned above warn_fraction, pixels untouched."""
    nav = write_frame(simulate_nav_frame(23, n_cosmics=0).frame, tmp_path / "nav_23.fits")
    out = tmp_path / "out"
    fractions = {}
    for warn_fraction in (0.0, 1.0):
        cfg = tmp_path / f"smear_{warn_fraction}.toml"
        cfg.write_text(f'[steps.smear]\nstate = "enabled"\nwarn_fraction = {warn_fraction}\n')
        product = out / f"w{warn_fraction}.fits"
        assert main(["ccd", "calibrate", str(nav), "-o", str(product), "--config", str(cfg),
                     "--scheduler", "synchronous", "--no-progress"]) == 0
        err = capsys.readouterr().err
        assert ("frame-transfer smear not removed" in err) is (warn_fraction == 0.0)
        cal = read_frame(product)
        assert cal.header["SMEAR"] is False          # estimated, not removed
        fractions[warn_fraction] = cal.header["SMEARFRC"]
        assert 0 < cal.header["SMEARFRC"] < 0.5 and cal.header["SMEARMAX"] > 0
    assert fractions[0.0] == fractions[1.0]          # the threshold only decides the warning
    off = tmp_path / "off.toml"
    off.write_text('[steps.smear]\nstate = "disabled"\nreason = "test"\n')
    assert main(["ccd", "calibrate", str(nav), "-o", str(out / "off.fits"), "--config", str(off),
                 "--scheduler", "synchronous", "--no-progress"]) == 0
    assert "SMEARFRC" not in read_frame(out / "off.fits").header
    np.testing.assert_array_equal(read_frame(out / "off.fits").data, read_frame(out / "w1.0.fits").data)


def test_cli_writes_ccddata_product_and_reversible_product(tmp_path, capsys):
    """The command line writes MASK/UNCERT and, after despiking, the reversible ``_calrev``."""
    from astropy.io import fits
    from astropy.nddata import CCDData

    nav = write_frame(simulate_nav_frame(24, n_cosmics=40).frame, tmp_path / "nav_24.fits")
    out = tmp_path / "out"
    assert main(["ccd", "calibrate", str(nav), "--output-dir", str(out), "--scheduler",
                 "synchronous", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    cal, rev = out / "nav_24_cal.fits", out / "nav_24_calrev.fits"
    assert str(cal) in printed and str(rev) in printed
    with fits.open(cal) as a, fits.open(rev) as b:
        assert {"FLAGS", "MASK", "UNCERT", "SNR"} <= {h.name for h in a}
        assert b[0].header["CALTYPE"] == a[0].header["CALTYPE"] + "REV"   # e.g. RAD / RADREV
        despiked = (a["FLAGS"].data & 8) != 0
        assert despiked.sum() > 0 and not np.any(b["FLAGS"].data & 8)
    ccd = CCDData.read(cal)
    assert ccd.mask is not None and ccd.uncertainty is not None and ccd.mask[despiked].all()


def test_cli_reversible_product_may_not_overwrite_an_input(tmp_path, capsys):
    frame = simulate_nav_frame(25, n_cosmics=0).frame
    a = write_frame(frame, tmp_path / "a.fits")
    victim = write_frame(frame, tmp_path / "a_calrev.fits")
    before = victim.read_bytes()
    code = main(["ccd", "calibrate", str(a), str(victim), "--output-dir", str(tmp_path),
                 "--scheduler", "synchronous", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "a_calrev.fits" in err and "overwrite" in err
    assert victim.read_bytes() == before and not (tmp_path / "a_cal.fits").exists()


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
