"""The six real archive files go through the pipeline with the steps their own headers say
were applied, and every keyword written is one of the archive's names."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from astropy.io import fits

from etalon.ccd.keywords import ETALON_KEYWORDS, MISSION_KEYWORDS
from etalon.ccd.pipeline import Pipeline, calibrate_file
from etalon.ccd.step import FLAG_DESPIKED, FLAG_MISSING
from etalon.data import deep_impact_archive_files
from etalon.frame import read_frame

ARCHIVE = deep_impact_archive_files()
ALREADY = {"saturation": "SATPIX", "dark": "DARKCORR", "flat": "FLATCORR", "badpixels": "BPIXFL"}


def test_six_archive_files():
    assert len(ARCHIVE) == 6


def test_mission_keyword_names_are_the_archives():
    names = set(fits.getheader(ARCHIVE[0]).keys())
    mission_only = {k for k in MISSION_KEYWORDS if not k.startswith("LIN")} | {
        f"LIN{q}C{k}" for q in "AB" for k in range(5)}
    assert mission_only <= names
    assert not set(ETALON_KEYWORDS) & names           # etalon's own names never clash


@pytest.mark.parametrize("path", ARCHIVE, ids=[p.name for p in ARCHIVE])
def test_archive_file_through_pipeline(path):
    frame = read_frame(path)
    result = Pipeline.default().run(frame)
    outcome = {r.step: r for r in result.steps}
    for step, keyword in ALREADY.items():
        assert frame.header[keyword] is True
        assert outcome[step].outcome == "skipped"
        assert keyword in outcome[step].reason
    assert outcome["bias"].outcome == "skipped" and "BIASFN" in outcome["bias"].reason
    assert outcome["linearity"].outcome == "skipped" and "DARKCORR" in outcome["linearity"].reason
    # steps the NAV configuration skips, but which the mission applied to this product
    for step, keyword in (("crosstalk", "XTALK"), ("smear", "SMEAR")):
        assert frame.header[keyword] is True
        assert outcome[step].reason == f"already applied to the input ({keyword} = T)"
    assert frame.header["DESPIKE"] is False and outcome["despike"].outcome == "applied"
    out = result.frame
    # the mission's flags are kept; only etalon's despike bit may be added
    assert np.array_equal(out.flags & ~FLAG_DESPIKED, frame.flags)
    missing = (out.flags & FLAG_MISSING) != 0
    assert np.isnan(out.data[missing]).all() and np.isfinite(out.data[~missing]).all()
    changed = (out.data != frame.data) & ~missing
    assert np.array_equal(changed, (out.flags & FLAG_DESPIKED) != 0)
    assert changed.sum() <= 3                         # a few isolated pixels at most
    keep = ~changed
    assert np.array_equal(out.snr[keep], frame.snr[keep])
    # every keyword etalon writes or changes is an archive name or etalon's own
    written = {k for k in out.header if k not in frame.header or out.header[k] != frame.header[k]}
    written -= {"HISTORY", "COMMENT", ""}
    archive_names = set(frame.header.keys())
    assert written <= archive_names | set(ETALON_KEYWORDS) | {"ETALONV", "ORIGDATE"}
    for key in ("SATPIX", "DARKCORR", "FLATCORR", "BPIXFL", "XTALK", "SMEAR"):
        assert out.header[key] is True               # the mission's own record stays
    assert out.header["DESPIKE"] is True and out.header["DESPIKCT"] == changed.sum()
    assert out.header["MISSPXCT"] == 100 and out.header["CALTYPE"] == "DN"
    # etalon changed the file: PGMNAME names etalon (the archive's DICAL stays in HISTORY)
    assert frame.header["PGMNAME"] == "DICAL" and out.header["PGMNAME"] == "ETALON"
    # statistics without the missing pixels (the archive's DATAMIN was a missing pixel)
    valid = (out.flags & 2) == 0
    assert out.header["DATAMIN"] == pytest.approx(float(out.data[valid].min()), abs=1e-3)
    assert out.header["DATAMIN"] > frame.header["DATAMIN"]


def test_calibrate_file_writes_product_and_keeps_input(tmp_path):
    path = ARCHIVE[0]
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out = calibrate_file(path, tmp_path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with fits.open(out) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "FLAGS", "MASK", "UNCERT", "SNR"]
        assert hdul[0].header["CALCFG"] == "NAV"
        history = " ".join(str(h) for h in hdul[0].header["HISTORY"])
        assert "ccd calibrate" in history and path.name in history
