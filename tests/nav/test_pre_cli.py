"""``etalon nav preprocess`` end to end: a NAV sequence plus the real MRI science files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from etalon.cli import main
from etalon.data import DATA_DIR, deep_impact_archive_files
from etalon.frame import Frame, write_frame
from etalon.nav import sclk

SCIENCE = DATA_DIR / "deep_impact"
#: stop clock of the real science images (SCSTOP), ticks
SCIENCE_STOPS = [173727702 * 256 + 195, 173727702 * 256 + 210, 173727702 * 256 + 225,
                 173727702 * 256 + 240, 173727703 * 256 + 11, 173727703 * 256 + 26]


def _digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def _hand_made_sequence(folder: Path) -> list[dict]:
    """Decoded-NAV FITS files as etalon.nav.products writes them (keywords, FLAGS)."""
    specs = [
        # instrument, expid, stop offset after the 064 science image (s), exposure (s)
        ("NAVMRI", 9000910, 0.020, 0.050),
        ("NAVMRI", 9000911, 40.0, 0.100),
        ("NAVHRI", 9000912, 1.0, 0.250),
        ("NAVITS", 9000913, 2.0, 0.010),
    ]
    rng = np.random.default_rng(4)
    out = []
    for i, (inst, expid, dt, exposure) in enumerate(specs):
        pseudo_et = SCIENCE_STOPS[2] / 256 + dt - 64.184
        h = fits.Header()
        h["INSTRUME"], h["EXPID"], h["OBJECT"], h["TARGETID"] = inst, expid, "9P/TEMPEL 1", 1000093
        h["PSEUDOET"], h["EXPSRDRT"], h["FNDOY"] = pseudo_et, float(np.float32(exposure)), 185
        data = rng.integers(0, 14000, (1008, 1008)).astype(np.uint16)
        flags = np.zeros((1008, 1008), np.uint8)
        flags[: 100 * (i + 1), :] = 2
        path = folder / f"NAV_O{inst[3]}_{expid}.bin_2005_185T06_0{i}_00.000.fits"
        write_frame(Frame(data, flags, h), path)
        out.append({"path": path, "inst": inst, "expid": expid, "dt": dt, "exposure": exposure,
                    "pseudo_et": pseudo_et, "data": data, "flags": flags})
    return out


@pytest.fixture()
def sequence_table(tmp_path):
    p = tmp_path / "sequence.csv"
    p.write_text("exposure_id,doy,filter\n9000910,185,CLEAR1\n9000911,185,ORANGE\n"
                 "9000912,185,CLEAR6\n")
    return p


def test_cli_nav_sequence_and_real_science_files(tmp_path, sequence_table):
    raw = tmp_path / "in"
    raw.mkdir()
    seq = _hand_made_sequence(raw)
    science_copies = tmp_path / "science"
    shutil.copytree(SCIENCE, science_copies)
    inputs = [s["path"] for s in seq] + [deep_impact_archive_files()[0]]
    watched = [*inputs, sequence_table, *sorted(science_copies.iterdir())]
    before = _digest(watched)
    out_dir = tmp_path / "out"
    code = main(["nav", "preprocess", *map(str, inputs), "--output-dir", str(out_dir),
                 "--sequence", str(sequence_table), "--science-dir", str(science_copies),
                 "--scheduler", "synchronous", "--quiet"])
    assert code == 0
    assert _digest(watched) == before            # inputs never modified
    science_stop_tdb = [sclk.ticks_to_tdb(-140, t) for t in SCIENCE_STOPS]
    expected_filter = {9000910: "CLEAR1", 9000911: "ORANGE", 9000912: "CLEAR6", 9000913: "NONE"}
    expected_bias = {"NAVMRI": (383, 391, 376, 388), "NAVHRI": (412, 398, 405, 421),
                     "NAVITS": (402, 395, 410, 399)}
    for s in seq:
        name = s["path"].name[: -len(".fits")] + "_prep.fits"
        with fits.open(out_dir / name) as hdul:
            h, data, flags = hdul[0].header, hdul[0].data, hdul["FLAGS"].data
            assert data.shape == (1024, 1024) and h["BITPIX"] == 16 and h["BZERO"] == 32768
            # INTTIME = commanded ms + 3.5
            assert h["INTTIME"] == pytest.approx(s["exposure"] * 1000 + 3.5, abs=1e-6)
            # time keywords from PSEUDOET + 64.184 through the right SPICE clock
            sid = -70 if s["inst"] == "NAVITS" else -140
            ticks = (s["pseudo_et"] + 64.184) * 256
            tdb = sclk.ticks_to_tdb(sid, ticks)
            assert h["SCLKID"] == sid
            assert h["SCSTOP"] == sclk.ticks_to_sclk_string(sid, ticks)
            assert h["NOMSCT0"] == pytest.approx(tdb, abs=1e-4)
            assert h["OBSENDDT"] == sclk.tdb_to_utc(tdb)
            assert h["OBSENDJD"] == pytest.approx(sclk.tdb_to_mjd_utc(tdb), abs=2e-8)
            assert h["OBSENDDT"].startswith("2005-07-04T05:4")
            # FILTER, IMGH001
            assert h["FILTER"] == expected_filter[s["expid"]]
            assert h["IMGH001"] == 0
            # CCDT / DELTAT: nearest MRIVIS image for MRI, none for HRI and ITS
            if s["inst"] == "NAVMRI":
                nearest = int(np.argmin([abs(tdb - t) for t in science_stop_tdb]))
                assert h["CCDTFILE"] == deep_impact_archive_files()[nearest].name
                assert h["CCDT"] == pytest.approx(177.69833984)
                assert h["DELTAT"] == pytest.approx(tdb - science_stop_tdb[nearest], abs=1e-3)
            else:
                assert h["CCDT"] == -9999.0 and h["CCDTFILE"] == "NONE"
            # NAVBIAS values and their placement in the serial overclock
            b = expected_bias[s["inst"]]
            assert tuple(h[f"NAVBIAS{n}"] for n in (1, 2, 3, 4)) == b
            assert (data[512:1016, :8] == b[0]).all() and (data[8:512, :8] == b[1]).all()
            assert (data[512:1016, 1016:] == b[2]).all() and (data[8:512, 1016:] == b[3]).all()
            assert not data[:8].any() and not data[1016:].any()
            np.testing.assert_array_equal(data[8:1016, 8:1016], s["data"])
            # FLAGS: missing bits carried, overclock clear
            np.testing.assert_array_equal(flags[8:1016, 8:1016], s["flags"])
            assert not flags[:8].any() and not flags[:, :8].any()
            history = "".join(h["HISTORY"])
            for table in ("sequence.csv", "bias_default.csv", "sclk_adjust_default.csv",
                          "naif0010.tls", "dif_sclkscet_00015_science.tsc"):
                assert table in history
    # the first MRI frame stops 20 ms after the 064 science image
    with fits.open(out_dir / (seq[0]["path"].name[:-5] + "_prep.fits")) as hdul:
        assert hdul[0].header["CCDTFILE"] == "mv0173727702_9000910_064_dn.fit"
        assert hdul[0].header["DELTAT"] == pytest.approx(0.020, abs=1e-4)
    # the archive product went through too, its keywords kept
    with fits.open(out_dir / "mv0173727702_9000910_062_dn_prep.fits") as hdul:
        assert hdul[0].header["PREPTYPE"] == "ARCHIVE"
        assert hdul[0].header["CCDT"] == pytest.approx(177.69833984)
        assert "SNR" in [h.name for h in hdul]


def test_cli_defaults_and_failures_reported(tmp_path, capsys):
    raw = tmp_path / "in"
    raw.mkdir()
    seq = _hand_made_sequence(raw)
    broken = raw / "broken.fits"
    broken.write_bytes(b"SIMPLE  =  garbage")
    out_dir = tmp_path / "out"
    code = main(["nav", "preprocess", str(seq[1]["path"]), str(broken), "--output-dir", str(out_dir),
                 "--scheduler", "synchronous", "--no-progress"])
    assert code == 1                                 # one failure, named
    err = capsys.readouterr().err
    assert "FAILED" in err and "broken.fits" in err
    # every default taken is a warning on the terminal, naming the file
    assert f"{seq[1]['path']}: FILTER UNKNOWN" in err and "no science folder given" in err
    with fits.open(out_dir / (seq[1]["path"].name[:-5] + "_prep.fits")) as hdul:
        assert hdul[0].header["FILTER"] == "UNKNOWN"  # 9000911 not in the bundled example
        assert hdul[0].header["CCDT"] == -9999.0


@pytest.mark.parametrize("option", ["--sequence", "--bias", "--sclk-adjust", "--science-dir"])
def test_cli_missing_table_is_a_clear_error(tmp_path, capsys, option):
    code = main(["nav", "preprocess", str(deep_impact_archive_files()[0]), "--output-dir",
                 str(tmp_path / "out"), option, str(tmp_path / "missing"), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_cli_on_local_dask_cluster(tmp_path):
    """The tables travel to worker processes (default scheduler, two files)."""
    raw = tmp_path / "in"
    raw.mkdir()
    seq = _hand_made_sequence(raw)[:2]
    out_dir = tmp_path / "out"
    code = main(["nav", "preprocess", *(str(s["path"]) for s in seq), "--output-dir", str(out_dir),
                 "--science-dir", str(SCIENCE), "--quiet"])
    assert code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        s["path"].name[:-5] + "_prep.fits" for s in seq)
