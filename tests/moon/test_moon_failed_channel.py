"""A channel that cannot be measured does not lose the file's other channels."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from etalon.fileio import EtalonInputError
from etalon.moon import measure as mm
from etalon.moon.gsics import read_gsics_lunar, write_gsics_lunar
from etalon.moon.simulate import write_simulated_acquisition

BANDS = tuple(f"B{i}" for i in range(1, 13))


def _faint_file(tmp_path, faint=("B1",), factor=1e-5):
    """A 12-band acquisition (R = 40 px) whose ``faint`` bands hold a Moon below 0.5 DN (a flat frame)."""
    src = tmp_path / "bright.nc"
    truth = write_simulated_acquisition(src, radius_px=40.0, ovrsamp_fa=1.3, margin_px=40,
                                        supersample=2, seed=5)
    obs = read_gsics_lunar(src)
    for ch in obs.channels:
        if ch.name in faint:
            bg = float(round(ch.values["dc_obs_offset"]))
            dc = np.asarray(ch.dc_imagette, float)
            faint_dc = np.round(bg + factor * (dc - bg))
            ch.dc_imagette = np.ma.masked_array(faint_dc.astype(np.int32))
            ch.rad_imagette = np.ma.masked_array((faint_dc - bg) * 0.01)
    path = tmp_path / "faint.nc"
    write_gsics_lunar(path, obs, history="test: faint bands")
    return path, truth


@pytest.fixture(scope="module")
def faint_b1(tmp_path_factory):
    return _faint_file(tmp_path_factory.mktemp("faint"))


def test_a_too_faint_band_is_a_flagged_nan_row_and_the_others_are_measured(faint_b1, caplog):
    path, truth = faint_b1
    with caplog.at_level(logging.WARNING, logger="etalon.moon.measure"):
        rows = mm.measure_file(path)
    by = {r["channel"]: r for r in rows}
    assert tuple(by) == BANDS
    b1 = by["B1"]
    assert b1["flags"] & mm.FLAG_MEASUREMENT_FAILED
    assert np.isnan(b1["irr_obs"]) and np.isnan(b1["irr_obs_unc"]) and np.isnan(b1["ratio"])
    assert b1["file"] == path.name
    assert np.isfinite(b1["irr_model"])            # the model still says what was expected
    for name in BANDS[1:]:
        r = by[name]
        assert not r["flags"] & mm.FLAG_MEASUREMENT_FAILED
        assert r["irr_obs"] == pytest.approx(truth[name], rel=0.01)
    msgs = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING]
    assert any(path.name in m and "channel B1" in m for m in msgs), msgs
    assert "_error" not in b1


def test_parallel_run_gives_the_same_failed_row(faint_b1):
    path, _ = faint_b1
    seq = mm.measure_file(path)
    par = mm.measure_file(path, jobs=2)
    for a, b in zip(seq, par, strict=True):
        assert a["flags"] == b["flags"]
        assert a["irr_obs"] == b["irr_obs"] or (np.isnan(a["irr_obs"]) and np.isnan(b["irr_obs"]))


def test_a_file_whose_every_channel_fails_fails_naming_the_file(tmp_path):
    path, _ = _faint_file(tmp_path, faint=BANDS)
    with pytest.raises(EtalonInputError, match="no channel could be measured") as info:
        mm.measure_file(path)
    assert Path(info.value.path).name == path.name


def test_measure_files_table_keeps_the_failed_channel(faint_b1):
    path, _ = faint_b1
    table, results = mm.measure_files([path], progress=False, scheduler="synchronous")
    assert all(r.ok for r in results) and len(table) == 12
    assert int(table["flags"][0]) & mm.FLAG_MEASUREMENT_FAILED
    assert table.meta["flags"]["FLAG_MEASUREMENT_FAILED"] == 2048
