"""The ``etalon moon`` commands: table columns, provenance, failures reported, FITS images."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from astropy.time import Time

from etalon.cli import main
from etalon.data import gsics_lunar_files
from etalon.fileio import EtalonInputError
from etalon.moon.images import MoonImage, read_moon_image, write_moon_image
from etalon.moon.measure import measure_file
from etalon.moon.simulate import simulate_moon_image

REQUIRED = ["file", "time", "channel", "method", "moon_pix_num", "dc_obs", "dc_obs_offset",
            "irr_obs", "irr_obs_unc", "centre_x", "centre_y", "radius", "phase_angle",
            "irr_model", "ratio", "flags"]

#: a FITS primary header whose NAXIS = 1e20 (astropy would try to parse it for long)
_HUGE_NAXIS = b"".join(c.ljust(80).encode() for c in (
    "SIMPLE  =                    T", "BITPIX  =                   16",
    "NAXIS   = 100000000000000000000", "END")).ljust(2880)


def test_measure_threshold_cli_with_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "broken.nc"
    bad.write_bytes(b"not netcdf")
    out = tmp_path / "table.ecsv"
    files = [str(p) for p in gsics_lunar_files()] + [str(bad)]
    code = main(["moon", "measure", *files, "-o", str(out), "--method", "threshold",
                 "--scheduler", "synchronous", "--no-progress"])
    assert code == 1                                    # one file failed...
    err = capsys.readouterr().err
    assert "broken.nc" in err
    t = Table.read(out, format="ascii.ecsv")            # ...the others are in the table
    assert len(t) == 12 and all(c in t.colnames for c in REQUIRED)
    assert str(t["irr_obs"].unit) == "W / (um m2)"
    assert t.meta["etalon_step"] == "moon measure" and t.meta["parameters"]["method"] == "threshold"
    vis = t[(t["channel"] == "VIS006")][0]
    assert vis["irr_obs"] == 0.001058214832752479 and vis["moon_pix_num"] == 6310
    assert not list(tmp_path.glob(".table.ecsv.*"))     # no temporary left
    assert str(vis["time"]).startswith("2013-01-01T14:56:44")


def test_measure_cli_exits_2_when_every_input_is_bad(tmp_path, capsys):
    bad = [tmp_path / "a.nc", tmp_path / "b.fits"]
    bad[0].write_bytes(b"not netcdf")
    bad[1].write_bytes(_HUGE_NAXIS)
    code = main(["moon", "measure", *map(str, bad), "-o", str(tmp_path / "t.ecsv"),
                 "--scheduler", "synchronous", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "a.nc" in err and "b.fits" in err and "NAXIS" in err


def test_fits_reader_refuses_an_absurd_naxis_before_astropy(tmp_path):
    path = tmp_path / "huge.fits"
    path.write_bytes(_HUGE_NAXIS)
    with pytest.raises(EtalonInputError, match="NAXIS"):
        read_moon_image(path)


def test_model_cli(capsys):
    code = main(["moon", "model", "--time", "2014-03-18T14:01:12", "--observer",
                 "42164.81038834,-75.05481912,66.49362502", "--frame", "ITRF"])
    assert code == 0
    text = capsys.readouterr().out
    values = dict(line.strip().split(": ", 1) for line in text.splitlines() if ": " in line)
    assert float(values["phase_angle_deg"]) == pytest.approx(22.178, abs=5e-4)
    assert float(values["VIS006"].split()[0]) == pytest.approx(2.036e-3, rel=1e-3)
    assert float(values["NIR016"].split()[0]) == pytest.approx(5.347e-4, rel=1e-3)
    assert float(values["VIS006"].split()[2]) == pytest.approx(0.05 * 2.036e-3, rel=0.01)  # ROLO 5 %


def test_fits_moon_image_roundtrip_and_measure(tmp_path):
    sim = simulate_moon_image(45.0, seed=7)
    img = MoonImage(sim.image, Time("2014-03-18T14:01:12", scale="utc"),
                    np.array([42164.81038834, -75.05481912, 66.49362502]), "ITRF", "VIS006",
                    sim.rad_coef, sim.pix_solid_ang, sim.ovrsamp_fa, sim.gain, sim.read_noise_e)
    path = write_moon_image(img, tmp_path / "moon.fits")
    back = read_moon_image(path)
    assert back.channel == "VIS006" and back.gain == 10.0 and back.frame == "ITRF"
    np.testing.assert_array_equal(back.data, sim.image)
    assert "ETALONV" in back.header
    (row,) = measure_file(path)
    assert abs(row["irr_obs"] - sim.irradiance) <= 3 * sim.photon_sigma
    assert row["phase_angle"] == pytest.approx(22.178, abs=0.001)
    assert np.isfinite(row["irr_model"]) and row["ratio"] == pytest.approx(row["irr_obs"] / row["irr_model"])


def test_fits_missing_keyword(tmp_path):
    from astropy.io import fits

    p = tmp_path / "x.fits"
    fits.PrimaryHDU(np.zeros((10, 10))).writeto(p)
    with pytest.raises(EtalonInputError, match="lacks keyword"):
        read_moon_image(p)


@pytest.mark.parametrize("args,message", [
    (["--time", "2014-13-45", "--observer", "42164,0,0"], "not an ISO UTC time"),
    (["--time", "1700-01-01", "--observer", "42164,0,0"], "cannot compute the lunar geometry"),
    (["--time", "2014-03-18", "--observer", "nan,0,0"], "must be finite"),
    (["--time", "2014-03-18", "--observer", "1e30,0,0"], "beyond the Moon"),
    (["--time", "2014-03-18", "--observer", "0,0,0"], "inside the Earth"),
    (["--time", "2014-03-18", "--observer", "42164,0,0", "--srf", "/no/such.nc"], "does not exist"),
    (["--time", "2014-03-18", "--observer", "42164,0,0", "--model", "bogus"], "--model bogus"),
])
def test_model_cli_bad_input_is_one_line_exit_2(args, message, capsys):
    assert main(["moon", "model", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if line.startswith("error:")]) == 1
    assert message in err[-1]


def test_measure_cli_refuses_output_equal_to_input_and_non_finite_threshold(tmp_path, capsys):
    src = gsics_lunar_files()[0]
    assert main(["moon", "measure", str(src), "-o", str(src)]) == 2
    assert "input" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["moon", "measure", str(src), "-o", str(tmp_path / "t.ecsv"), "--threshold", "inf"])
    assert exc.value.code == 2


def test_measure_cli_models_and_jobs(tmp_path):
    """--model rolo-giro / lime recorded in the rows and the meta; --jobs 2 gives identical rows."""
    src = str(gsics_lunar_files()[1])
    tables = {}
    for model, jobs in (("lime", 1), ("lime", 2), ("rolo-giro", 1)):
        out = tmp_path / f"{model}{jobs}.ecsv"
        assert main(["moon", "measure", src, "-o", str(out), "--model", model, "--jobs", str(jobs),
                     "--no-progress", "--scheduler", "synchronous"]) == 0
        tables[model, jobs] = Table.read(out, format="ascii.ecsv")
    lime1, lime2, giro = tables["lime", 1], tables["lime", 2], tables["rolo-giro", 1]
    assert set(lime1["model"]) == {"LIME LIME_MODEL_COEFS_20251010_V01.nc"}
    assert lime1.meta["model"] == "LIME LIME_MODEL_COEFS_20251010_V01.nc"
    assert set(giro["model"]) == {"ROLO-GIRO"}
    for name in ("irr_obs", "irr_obs_unc", "irr_model", "irr_model_unc", "ratio", "ratio_unc",
                 "ovrsamp_fa_fit"):
        np.testing.assert_array_equal(np.asarray(lime1[name]), np.asarray(lime2[name]))
    ok = np.isfinite(np.asarray(lime1["ratio"], float))
    assert np.all(np.asarray(lime1["ratio_unc"], float)[ok] > 0)
