"""preprocess_frame on hand-built NAV frames (the decoder's keywords) and on archive products."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from etalon.data import DATA_DIR, deep_impact_archive_files
from etalon.fileio import EtalonInputError
from etalon.frame import Frame, read_frame
from etalon.nav import sclk
from etalon.nav.bias import DEFAULT_BIAS_TABLE
from etalon.nav.keywords import DEFAULT_SEQUENCE_TABLE
from etalon.nav.preprocess import PreprocessWarning, load_tables, preprocess_frame

#: SCSTOP of the real mv0173727702_9000910_062_dn.fit, as a pseudo-ET
PSEUDO_ET_062 = 173727702 + 195 / 256 - 64.184


def nav_frame(instrument="NAVMRI", expid=9000910, pseudo_et=PSEUDO_ET_062, exposure_s=0.05,
              fndoy=185, snips=None) -> Frame:
    """A frame carrying the keywords etalon.nav.products writes."""
    h = fits.Header()
    h["INSTRUME"] = instrument
    h["EXPID"] = expid
    h["OBJECT"] = "9P/TEMPEL 1"
    h["TARGETID"] = 1000093
    h["PSEUDOET"] = pseudo_et
    h["EXPSRDRT"] = float(np.float32(exposure_s))
    if fndoy is not None:
        h["FNDOY"] = fndoy
    data = (np.arange(1008 * 1008, dtype=np.uint32) % 14000).astype(np.uint16).reshape(1008, 1008)
    flags = np.zeros((1008, 1008), np.uint8)
    flags[:10, :] = 2
    return Frame(data=data, flags=flags, header=h, snips=snips, source="hand_made.fits")


@pytest.fixture(scope="module")
def tables():
    # the bundled tables named explicitly: no default taken, nothing guessed (CALSYNTH = F)
    return load_tables(sequence=DEFAULT_SEQUENCE_TABLE, bias=DEFAULT_BIAS_TABLE,
                       science_dir=DATA_DIR / "deep_impact")


def test_every_nav_keyword(tables):
    frame = nav_frame()
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", PreprocessWarning)   # nothing is guessed here
        out = preprocess_frame(frame, tables)
    h = out.header
    # input untouched
    np.testing.assert_array_equal(frame.data, before.data)
    np.testing.assert_array_equal(frame.flags, before.flags)
    assert frame.header == before.header
    # INTTIME arithmetic: 0.05 s commanded (float32) -> 50 ms + 3.5 ms
    assert h["CMDEXPTM"] == 50.0 and h["MINEXPTM"] == 3.5 and h["INTTIME"] == 53.5
    # time: the stop is the real file's SCSTOP; TDB and UTC as its header
    assert h["SCLKID"] == -140 and h["SCLKOFFS"] == 64.184
    assert h["SCSTOP"] == "1/0173727702.195" == h["NOMSLK0"]
    assert abs(h["NOMSCT0"] - 173727938.359) < 0.002
    assert h["OBSENDDT"] == "2005-07-04T05:44:34.175"
    assert abs(h["OBSENDJD"] - 53555.2392844) < 1e-7
    assert h["SCSTART"] == "1/0173727702.181"     # 53.5 ms before the stop (the real 51.4: .182)
    # FITS-standard start time: the real file's OBSDATE 05:44:34.123 with INTTIME 51.4 ms;
    # 53.5 ms here starts 2.1 ms earlier
    assert h["DATE-OBS"] == h["OBSDATE"] == "2005-07-04T05:44:34.121"
    assert h["MJD-OBS"] == h["OBSJD"] and abs(h["MJD-OBS"] - (h["OBSENDJD"] - 0.0535 / 86400)) < 1.1e-8
    assert abs(h["NOMTDBSC"] - (h["NOMSCT0"] - 0.02675)) < 1e-4
    assert h["LSKFILE"] == "naif0010.tls" and h["SCLKFILE"] == "dif_sclkscet_00015_science.tsc"
    assert h["SCLKADJ"] == "sclk_adjust_default.csv"
    # FILTER from the sequencing table, IMGH001
    assert h["FILTER"] == "CLEAR1" and h["SEQTABLE"] == "sequence_example.csv"
    assert h["IMGH001"] == 0
    # CCDT from the nearest MRIVIS image: the 062 file itself, DELTAT ~ 0
    assert h["CCDTFILE"] == "mv0173727702_9000910_062_dn.fit"
    assert h["CCDT"] == pytest.approx(177.69833984)
    assert abs(h["DELTAT"]) < 0.002
    # bias and overclock
    assert [h[f"NAVBIAS{n}"] for n in (1, 2, 3, 4)] == [383.0, 391.0, 376.0, 388.0]
    assert h["BIASTAB"] == "bias_default.csv"
    assert out.data.shape == (1024, 1024) and out.data.dtype == np.uint16
    np.testing.assert_array_equal(out.data[8:1016, 8:1016], frame.data)
    assert (out.data[512:1016, :8] == 383).all() and (out.data[8:512, :8] == 391).all()
    assert (out.data[512:1016, 1016:] == 376).all() and (out.data[8:512, 1016:] == 388).all()
    assert not out.data[:8].any() and not out.data[1016:].any()
    # FLAGS carried into the frame, overclock flags 0
    assert out.flags.shape == (1024, 1024)
    np.testing.assert_array_equal(out.flags[8:1016, 8:1016], frame.flags)
    assert out.flags.sum() == frame.flags.sum()
    assert (h["OVSERL"], h["OVSERR"], h["OVPARB"], h["OVPART"]) == (8, 8, 8, 8)
    # provenance: every table and kernel named in HISTORY
    history = "".join(str(c) for c in h["HISTORY"])
    for name in ("hand_made.fits", "sequence_example.csv", "sclk_adjust_default.csv",
                 "bias_default.csv", "naif0010.tls", "dif_sclkscet_00015_science.tsc",
                 "dii_sclkscet_00008_science.tsc", "nav preprocess"):
        assert name in history, name
    assert "ETALONV" in h


def test_its_uses_impactor_clock_and_its_bias(tables):
    with pytest.warns(PreprocessWarning, match="no NAVITS science image"):
        out = preprocess_frame(nav_frame("NAVITS", expid=77), tables)
    h = out.header
    assert h["SCLKID"] == -70 and h["SCLKFILE"] == "dii_sclkscet_00008_science.tsc"
    ticks = (PSEUDO_ET_062 + 64.184) * 256
    assert h["NOMSCT0"] == pytest.approx(sclk.ticks_to_tdb(-70, ticks), abs=1e-4)
    assert h["FILTER"] == "NONE"
    assert h["CCDT"] == -9999.0 and h["DELTAT"] == -9999.0 and h["CCDTFILE"] == "NONE"
    assert [h[f"NAVBIAS{n}"] for n in (1, 2, 3, 4)] == [402.0, 395.0, 410.0, 399.0]


def test_unknown_filter_and_no_science_folder_warn_and_default():
    tables = load_tables()
    with pytest.warns(PreprocessWarning) as record:
        out = preprocess_frame(nav_frame("NAVHRI", expid=1234567), tables)
    texts = [str(w.message) for w in record]
    assert any("FILTER UNKNOWN" in t and "1234567" in t for t in texts)
    assert any("no science folder" in t for t in texts)
    assert out.header["FILTER"] == "UNKNOWN" and out.header["CCDT"] == -9999.0
    history = "".join(str(c) for c in out.header["HISTORY"])
    assert "WARNING: FILTER UNKNOWN" in history.replace("\n", "")


def test_missing_fndoy_uses_day_of_stop_time(tables):
    with pytest.warns(PreprocessWarning, match="FNDOY missing"):
        out = preprocess_frame(nav_frame(fndoy=None), tables)
    assert out.header["FILTER"] == "CLEAR1"   # day 185 from OBSENDDT


def test_sclk_adjustment_shifts_time(tmp_path):
    p = tmp_path / "adj.csv"
    p.write_text("spacecraft,valid_from,offset_s\nDIF,2005-01-01,65.184\n")
    tables = load_tables(sclk_adjust=p, science_dir=DATA_DIR / "deep_impact")
    out = preprocess_frame(nav_frame(), tables)
    assert out.header["SCLKOFFS"] == 65.184 and out.header["SCLKADJ"] == "adj.csv"
    assert out.header["SCSTOP"] == "1/0173727703.195"
    # one second later: nearest is now 067 (stop 1/0173727703.026), 169 ticks earlier
    assert out.header["DELTAT"] == pytest.approx(169 / 256, abs=0.001)
    assert out.header["CCDTFILE"] == "mv0173727703_9000910_067_dn.fit"


def test_snips_mark_missing_outside(tables):
    snips = Table({"sci_line_min": [0, 0], "sci_line_max": [1007, 99],
                   "sci_pixel_min": [0, 600], "sci_pixel_max": [503, 699]})
    frame = nav_frame(snips=snips)
    frame.flags[:] = 0
    out = preprocess_frame(frame, tables)
    img_flags = out.flags[8:1016, 8:1016]
    assert not img_flags[:, :504].any() and not img_flags[:100, 600:700].any()
    assert (img_flags[100:, 504:] == 2).all() and (img_flags[:100, 504:600] == 2).all()
    assert int(img_flags.sum()) == 2 * (504 * 1008 - 100 * 100)


def test_missing_expid_gives_unknown_filter(tables):
    frame = nav_frame()
    del frame.header["EXPID"]
    with pytest.warns(PreprocessWarning, match="EXPID missing"):
        out = preprocess_frame(frame, tables)
    assert out.header["FILTER"] == "UNKNOWN"


@pytest.mark.parametrize("key", ["PSEUDOET", "EXPSRDRT"])
def test_missing_keyword_is_clear_error(tables, key):
    frame = nav_frame()
    del frame.header[key]
    with pytest.raises(EtalonInputError, match=f"hand_made.fits: NAV frame lacks the {key}"):
        preprocess_frame(frame, tables)


@pytest.mark.filterwarnings("ignore::etalon.nav.preprocess.PreprocessWarning")
def test_bad_inputs_are_clear_errors(tables, tmp_path):
    frame = nav_frame()
    frame.header["PSEUDOET"] = "soon"
    with pytest.raises(EtalonInputError, match="PSEUDOET = 'soon' is not a number"):
        preprocess_frame(frame, tables)
    small = Frame(np.zeros((10, 10), np.uint16), None, nav_frame().header, source="s.fits")
    with pytest.raises(EtalonInputError, match="image shape"):
        preprocess_frame(small, tables)
    other = Frame(np.zeros((10, 10), np.uint16), None, fits.Header({"INSTRUME": "CAMERA"}))
    with pytest.raises(EtalonInputError, match="neither a NAV instrument"):
        preprocess_frame(other, tables)
    bias = tmp_path / "bias.csv"
    bias.write_text("instrument,quadrant,bias_dn\n" + "".join(f"NAVHRI,{q},400\n" for q in range(1, 5)))
    with pytest.raises(EtalonInputError, match="bias table has no row for NAVMRI"):
        preprocess_frame(nav_frame(), load_tables(bias=bias))
    with pytest.raises(EtalonInputError, match="bias table does not exist"):
        load_tables(bias=tmp_path / "nope.csv")
    with pytest.raises(EtalonInputError, match="sequencing table does not exist"):
        load_tables(sequence=tmp_path / "nope.csv")
    with pytest.raises(EtalonInputError, match="science folder does not exist"):
        load_tables(science_dir=tmp_path / "nope")


def test_archive_product_keeps_mission_keywords(tables):
    path = deep_impact_archive_files()[0]
    frame = read_frame(path)
    out = preprocess_frame(frame, tables)
    for key in ("SCSTOP", "OBSENDDT", "INTTIME", "FILTER", "CCDT", "NOMSCT0", "EXPID"):
        assert out.header[key] == frame.header[key]
    assert out.header["PREPTYPE"] == "ARCHIVE"
    # the FITS-standard names of the archive's start time
    assert (out.header["DATE-OBS"], out.header["MJD-OBS"]) == ("2005-07-04T05:44:34.123", 53555.2392838)
    assert "DATE-OBS" not in frame.header
    assert (out.header["OVSERL"], out.header["OVIMGLIN"]) == (0, 64)
    np.testing.assert_array_equal(out.data, frame.data)
    np.testing.assert_array_equal(out.flags, frame.flags)
    np.testing.assert_array_equal(out.snr, frame.snr)
    # without NOMSCT0 the stop TDB is computed from SCSTOP
    del frame.header["NOMSCT0"]
    out = preprocess_frame(frame, tables)
    assert abs(out.header["NOMSCT0"] - 173727938.359) < 0.002
