"""Acceptance: a simulated raw NAV sequence plus the real MRI science files through
``etalon nav preprocess``, every keyword checked against the simulator's truth."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time, TimeDelta

from etalon.cli import main
from etalon.data import DATA_DIR, deep_impact_archive_files
from etalon.nav import sclk

simulate = pytest.importorskip("etalon.nav.simulate")

START = "2005-07-04T05:44:30"  # the impact: science images at 05:44:34 UTC
CADENCE = 2.0
N_FILES = 6
INSTRUMENTS = ("NAVMRI", "NAVHRI", "NAVITS")
DAMAGES = ("none", "lost")
SEQUENCE = "exposure_id,doy,filter\n9000380,185,CLEAR1\n9000381,185,CLEAR6\n9000383,185,ORANGE\n"


def _sha(paths):
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sim")
    raw = simulate.write_simulated_sequence(tmp / "raw", N_FILES, seed=3, instruments=INSTRUMENTS,
                                            damages=DAMAGES, start=START, cadence_s=CADENCE)
    truths = [simulate.simulate_nav_file(
        INSTRUMENTS[i % 3], 9000380 + i, 3 + i, layout="autonav",
        observed=Time(START, scale="utc") + TimeDelta(i * CADENCE, format="sec"),
        **simulate.DAMAGE_MODES[DAMAGES[i % 2]]).truth for i in range(N_FILES)]
    seq = tmp / "sequence.csv"
    seq.write_text(SEQUENCE)
    archive = deep_impact_archive_files()
    inputs = [*raw, *archive]
    watched = [*inputs, seq]
    before = _sha(watched)
    code = main(["nav", "preprocess", *map(str, inputs), "--output-dir", str(tmp / "out"),
                 "--sequence", str(seq), "--science-dir", str(DATA_DIR / "deep_impact"),
                 "--scheduler", "synchronous", "--quiet"])
    return {"code": code, "raw": raw, "truths": truths, "out": tmp / "out", "before": before,
            "after": _sha(watched), "archive": archive}


def test_exit_code_and_inputs_untouched(run):
    assert run["code"] == 0
    assert run["after"] == run["before"]
    assert len(list(run["out"].glob("*_prep.fits"))) == N_FILES + 6


def test_every_keyword_of_every_simulated_file(run):
    science_tdb = [sclk.ticks_to_tdb(-140, sclk.sclk_string_to_ticks(-140, fits.getval(p, "SCSTOP")))
                   for p in run["archive"]]
    filters = {9000380: "CLEAR1", 9000381: "CLEAR6", 9000382: "NONE", 9000383: "ORANGE",
               9000384: "UNKNOWN", 9000385: "NONE"}
    for i, (path, truth) in enumerate(zip(run["raw"], run["truths"], strict=True)):
        inst = INSTRUMENTS[i % 3]
        with fits.open(run["out"] / (path.name + "_prep.fits")) as hdul:
            h, data, flags = hdul[0].header, hdul[0].data, hdul["FLAGS"].data
            assert h["INSTRUME"] == inst and h["EXPID"] == 9000380 + i
            assert h["PSEUDOET"] == truth.header.pseudo_et
            # INTTIME: commanded exposure (float32 s) in ms + 3.5
            assert h["INTTIME"] == pytest.approx(round(truth.header.exposure * 1000, 3) + 3.5,
                                                 abs=1e-9)
            assert h["IMGH001"] == 0
            # time chain from PSEUDOET + 64.184 s on the right clock
            sid = -70 if inst == "NAVITS" else -140
            ticks = (truth.header.pseudo_et + 64.184) * 256
            tdb = sclk.ticks_to_tdb(sid, ticks)
            assert h["SCLKID"] == sid and h["SCLKOFFS"] == 64.184
            assert h["SCSTOP"] == f"1/{round(ticks) // 256:010d}.{round(ticks) % 256:03d}"
            assert h["NOMSCT0"] == pytest.approx(tdb, abs=1e-4)
            assert h["OBSENDDT"] == sclk.tdb_to_utc(tdb)
            assert h["OBSENDJD"] == pytest.approx(Time(sclk.tdb_to_utc(tdb, 6)).mjd, abs=2e-8)
            assert h["SCSTART"] == sclk.ticks_to_sclk_string(
                sid, sclk.tdb_to_ticks(sid, tdb - h["INTTIME"] / 1000))
            # FILTER lookup (9000384: absent -> UNKNOWN; ITS: NONE)
            assert h["FILTER"] == filters[9000380 + i]
            # CCDT, DELTAT from the nearest MRIVIS image; none for HRI and ITS
            if inst == "NAVMRI":
                k = int(np.argmin([abs(tdb - t) for t in science_tdb]))
                assert h["CCDTFILE"] == run["archive"][k].name
                assert h["CCDT"] == pytest.approx(fits.getval(run["archive"][k], "CCDT"))
                assert h["DELTAT"] == pytest.approx(tdb - science_tdb[k], abs=2e-4)
                assert abs(h["DELTAT"]) < 10
            else:
                assert (h["CCDT"], h["DELTAT"], h["CCDTFILE"]) == (-9999.0, -9999.0, "NONE")
            # NAVBIAS: the simulator's bias, placed in each quadrant's serial overclock
            assert tuple(h[f"NAVBIAS{n}"] for n in (1, 2, 3, 4)) == truth.bias
            b = truth.bias
            assert (data[512:1016, :8] == b[0]).all() and (data[8:512, :8] == b[1]).all()
            assert (data[512:1016, 1016:] == b[2]).all() and (data[8:512, 1016:] == b[3]).all()
            assert not data[:8].any() and not data[1016:].any()
            # image exact, FLAGS bit 2 = missing outside the snips and lost packets
            np.testing.assert_array_equal(data[8:1016, 8:1016], truth.image)
            np.testing.assert_array_equal((flags[8:1016, 8:1016] & 2) != 0, truth.missing)
            assert not flags[:8].any() and not flags[:, :8].any() and not flags[1016:].any()
            history = "".join(h["HISTORY"])
            for name in (path.name, "sequence.csv", "bias_default.csv", "sclk_adjust_default.csv",
                         "naif0010.tls", "dif_sclkscet_00015_science.tsc",
                         "dii_sclkscet_00008_science.tsc"):
                assert name in history, name


def test_simulator_bias_is_the_default_table(run):
    """The quadrant medians of the simulated scene's dark sky sit just above NAVBIAS."""
    truth = run["truths"][0]
    from etalon.nav.bias import quadrant_slices

    for q, sl in quadrant_slices().items():
        level = float(np.percentile(truth.scene[sl], 5))
        assert truth.bias[q - 1] <= level < truth.bias[q - 1] + 200


def test_real_archive_files_pass_through(run):
    for p in run["archive"]:
        with fits.open(run["out"] / (p.stem + "_prep.fits")) as hdul, fits.open(p) as ref:
            assert hdul[0].header["PREPTYPE"] == "ARCHIVE"
            for key in ("SCSTOP", "OBSENDDT", "CCDT", "FILTER", "INTTIME", "NOMSCT0"):
                assert hdul[0].header[key] == ref[0].header[key]
            np.testing.assert_array_equal(hdul[0].data, ref[0].data)
            np.testing.assert_array_equal(hdul["FLAGS"].data, ref["FLAGS"].data)
            np.testing.assert_array_equal(hdul["SNR"].data, ref["SNR"].data)
