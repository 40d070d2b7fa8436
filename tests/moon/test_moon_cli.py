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


def test_model_cli(capsys):
    code = main(["moon", "model", "--time", "2014-03-18T14:01:12", "--observer",
                 "42164.81038834,-75.05481912,66.49362502", "--frame", "ITRF"])
    assert code == 0
    text = capsys.readouterr().out
    values = dict(line.strip().split(": ", 1) for line in text.splitlines() if ": " in line)
    assert float(values["phase_angle_deg"]) == pytest.approx(22.178, abs=5e-4)
    assert float(values["VIS006"]) == pytest.approx(2.036e-3, rel=1e-3)
    assert float(values["NIR016"]) == pytest.approx(5.347e-4, rel=1e-3)


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
