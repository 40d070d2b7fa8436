"""Deep Impact time chain against the real archive header (issue 4 acceptance)."""

from __future__ import annotations

import pytest
from astropy.io import fits

from etalon.data import deep_impact_archive_files
from etalon.fileio import EtalonInputError
from etalon.nav import sclk


def test_issue_check_clock_to_tdb_and_utc_within_5_ms():
    # mv0173727702_9000910_062_dn.fit: NOMSCLK 1/0173727702.188, NOMTDBSC 173727938.333,
    # NOMISCSC 2005-07-04T05:44:34.149
    ticks = sclk.sclk_string_to_ticks(sclk.FLYBY_SCLK_ID, "1/0173727702.188")
    assert ticks == 173727702 * 256 + 188 == 44474291900  # the header's NOMSCLKD
    tdb = sclk.ticks_to_tdb(sclk.FLYBY_SCLK_ID, ticks)
    assert abs(tdb - 173727938.333) < 0.005
    utc = sclk.tdb_to_utc(tdb, 6)
    assert utc.startswith("2005-07-04T05:44:34.")
    assert abs(float(utc[17:]) - 34.149) < 0.005
    # measured: TDB residual -1.6 ms, UTC residual -1.6 ms (tick rounding of the mid time)
    assert tdb - 173727938.333 == pytest.approx(-0.00162, abs=0.0002)


def test_kernels_furnished_once_whatever_the_number_of_calls():
    import spiceypy as sp

    for _ in range(5):
        sclk.furnish_kernels()
    loaded = [sp.kdata(i, "ALL")[0] for i in range(sp.ktotal("ALL"))]
    for path in sclk.kernel_paths().values():
        assert loaded.count(str(path)) == 1


def test_sclk_ids_per_instrument():
    assert sclk.sclk_id_for("NAVMRI") == sclk.sclk_id_for("NAVHRI") == -140
    assert sclk.sclk_id_for("MRIVIS") == sclk.sclk_id_for("hrivis") == -140
    assert sclk.sclk_id_for("NAVITS") == sclk.sclk_id_for("ITSVIS") == -70
    with pytest.raises(ValueError, match="unknown instrument"):
        sclk.sclk_id_for("NAVXXX")


def test_impactor_clock_is_another_clock():
    flyby = sclk.ticks_to_tdb(-140, 44474291900)
    impactor = sclk.ticks_to_tdb(-70, 44474291900)
    assert abs(flyby - impactor) > 60  # the two clocks drifted apart by minutes


@pytest.mark.parametrize("path", deep_impact_archive_files(), ids=lambda p: p.name)
def test_stop_time_chain_reproduces_every_real_header(path):
    """From SCSTOP (as pseudo-ET + 64.184 s) and INTTIME, the archive's own time keywords."""
    h = fits.getheader(path)
    stop_ticks = sclk.sclk_string_to_ticks(-140, h["SCSTOP"])
    pseudo_et = stop_ticks / 256 - sclk.NOMINAL_OFFSET_S
    t = sclk.image_times(pseudo_et, -140, sclk.NOMINAL_OFFSET_S, h["INTTIME"])
    assert t.stop_sclk == h["SCSTOP"] == h["NOMSLK0"]
    assert t.start_sclk == h["SCSTART"]
    assert t.mid_sclk == h["NOMSCLK"]
    assert abs(t.stop_tdb - h["NOMSCT0"]) < 0.002
    assert abs(t.mid_tdb - h["NOMTDBSC"]) < 0.002
    # UTC strings equal to the millisecond rounding (the archive rounds its own way)
    for ours, key in ((t.stop_utc, "OBSENDDT"), (t.mid_utc, "OBSMIDDT"), (t.start_utc, "OBSDATE")):
        assert ours[:17] == h[key][:17]
        assert abs(float(ours[17:]) - float(h[key][17:])) <= 0.0011, key
    assert abs(t.stop_mjd - h["OBSENDJD"]) < 1e-7   # 8.6 ms
    assert abs(t.start_mjd - h["OBSJD"]) < 1e-7


def test_clock_string_round_trip_and_format():
    assert sclk.ticks_to_sclk_string(-140, 44474291907) == "1/0173727702.195"
    assert sclk.ticks_to_sclk_string(-140, 44474291906.6) == "1/0173727702.195"
    assert sclk.ticks_to_sclk_string(-70, 256 * 5 + 3) == "1/0000000005.003"


def test_default_adjustment_table_is_nominal():
    table = sclk.load_sclk_adjust_table()
    row = table.offset_for(-140, 173727638.0)
    assert row.offset_s == 64.184 and row.sclk_id == -140
    assert table.offset_for(-70, 173727638.0).offset_s == 64.184


def test_adjustment_table_picks_latest_row_before_image(tmp_path):
    p = tmp_path / "adj.csv"
    p.write_text("# updates\nspacecraft,valid_from,offset_s\n"
                 "flyby,2000-01-01T12:00:00,64.184\n"
                 "DIF,2005-06-01T00:00:00,64.200\n"
                 "DIF,2005-08-01T00:00:00,64.300\n"
                 "-70,2000-01-01,64.0\n")
    table = sclk.load_sclk_adjust_table(p)
    july = 173727638.0  # 2005-07-04
    assert table.offset_for(-140, july).offset_s == 64.200
    assert table.offset_for(-140, july).valid_from == "2005-06-01T00:00:00"
    assert table.offset_for(-140, 150000000.0).offset_s == 64.184   # 2004
    assert table.offset_for(-70, july).offset_s == 64.0
    # the offset moves the stop time one for one
    t1 = sclk.image_times(july, -140, 64.184, 10.0)
    t2 = sclk.image_times(july, -140, 64.200, 10.0)
    assert t2.stop_tdb - t1.stop_tdb == pytest.approx(0.016 * 1.0000073, abs=1e-6)


@pytest.mark.parametrize("content, message", [
    ("spacecraft,offset_s\nDIF,64.184\n", "needs the columns"),
    ("spacecraft,valid_from,offset_s\n", "no data row"),
    ("spacecraft,valid_from,offset_s\nMARS,2000-01-01,64.184\n", "spacecraft must be"),
    ("spacecraft,valid_from,offset_s\nDIF,not a date,64.184\n", "bad valid_from"),
    ("spacecraft,valid_from,offset_s\nDIF,2000-01-01,abc\n", "bad valid_from or offset_s"),
])
def test_bad_adjustment_tables_are_clear_errors(tmp_path, content, message):
    p = tmp_path / "adj.csv"
    p.write_text(content)
    with pytest.raises(EtalonInputError, match=message) as err:
        sclk.load_sclk_adjust_table(p)
    assert str(err.value).startswith(str(p))


def test_missing_adjustment_table_and_uncovered_time(tmp_path):
    with pytest.raises(EtalonInputError, match="does not exist"):
        sclk.load_sclk_adjust_table(tmp_path / "nope.csv")
    p = tmp_path / "adj.csv"
    p.write_text("spacecraft,valid_from,offset_s\nDIF,2005-08-01,64.3\n")
    with pytest.raises(EtalonInputError, match="no SCLK offset for spacecraft -140"):
        sclk.load_sclk_adjust_table(p).offset_for(-140, 173727638.0)
