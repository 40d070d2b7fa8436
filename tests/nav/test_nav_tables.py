"""Tables shown by the pre-processing notebook: layout, biases, keywords, science images, SCLK."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from etalon.data import deep_impact_archive_files
from etalon.nav.bias import overclock_bias_table
from etalon.nav.keywords import (
    PREPROCESS_KEYWORDS,
    SUMMARY_KEYWORDS,
    ScienceImage,
    header_table,
    keyword_table,
    science_table,
)
from etalon.nav.layout import DEFAULT_LAYOUT, FrameLayout, region_table
from etalon.nav.sclk import check_archive_times


def test_region_table_gives_inclusive_pixel_ranges_of_the_default_frame():
    table = region_table(DEFAULT_LAYOUT)
    assert list(table["region"]) == ["image"] + [f"serial overclock, quadrant {q}" for q in
                                                 (1, 2, 3, 4)]
    assert list(table["frame pixels"]) == [
        "rows 8..1015, cols 8..1015",
        "rows 512..1015, cols 0..7",
        "rows 8..511, cols 0..7",
        "rows 512..1015, cols 1016..1023",
        "rows 8..511, cols 1016..1023",
    ]


def test_region_table_follows_the_layout():
    table = region_table(FrameLayout(image_lines=10, image_pixels=20, serial_left=2,
                                     serial_right=3, parallel_bottom=1, parallel_top=0))
    assert table["frame pixels"][0] == "rows 1..10, cols 2..21"
    assert table["frame pixels"][4] == "rows 1..5, cols 22..24"


def test_overclock_bias_table_reads_each_quadrants_serial_columns():
    frame = DEFAULT_LAYOUT.embed(np.full((1008, 1008), 5000, np.uint16), (383, 391, 376, 388))
    frame[DEFAULT_LAYOUT.serial_overclock_slices(3)][:3] = 60000  # a few hot pixels: median holds
    header = fits.Header({"NAVBIAS1": 383, "NAVBIAS2": 391, "NAVBIAS3": 376, "NAVBIAS4": 390})
    table = overclock_bias_table(frame, header, DEFAULT_LAYOUT)
    assert list(table["quadrant"]) == [1, 2, 3, 4]
    assert list(table["NAVBIAS (DN)"]) == [383, 391, 376, 390]
    # the frame holds 388 in quadrant 4: the table shows the disagreement
    assert list(table["serial overclock median (DN)"]) == [383.0, 391.0, 376.0, 388.0]
    with pytest.raises(KeyError):
        overclock_bias_table(frame, fits.Header({"NAVBIAS1": 1}), DEFAULT_LAYOUT)


def test_keyword_table_before_after_marks_missing_keywords():
    before = fits.Header({"INSTRUME": "NAVMRI", "EXPID": 9000910})
    after = fits.Header({"INSTRUME": "NAVMRI", "EXPID": 9000910, "CCDT": 270.5, "FILTER": "CLEAR1"})
    table = keyword_table(before, after, ["INSTRUME", "FILTER", "CCDT", "NAVBIAS1"])
    assert table.colnames == ["keyword", "before", "after"]
    assert [tuple(r) for r in table] == [("INSTRUME", "NAVMRI", "NAVMRI"),
                                         ("FILTER", "-", "CLEAR1"), ("CCDT", "-", "270.5"),
                                         ("NAVBIAS1", "-", "-")]
    assert list(keyword_table(before, after)["keyword"]) == list(PREPROCESS_KEYWORDS)
    assert len(PREPROCESS_KEYWORDS) == 21 and set(SUMMARY_KEYWORDS) <= set(PREPROCESS_KEYWORDS)


def test_header_table_one_row_per_header():
    headers = [fits.Header({"INSTRUME": "NAVMRI", "CCDT": 270.5}),
               fits.Header({"INSTRUME": "NAVITS", "CCDT": -9999.0})]
    table = header_table(headers, ["INSTRUME", "CCDT"])
    assert list(table["INSTRUME"]) == ["NAVMRI", "NAVITS"]
    assert list(table["CCDT"]) == [270.5, -9999.0]
    assert header_table(headers).colnames == list(SUMMARY_KEYWORDS)


def test_science_table_converts_stop_tdb_to_utc():
    # the real MRI image mv0173727702_9000910_062: mid-exposure TDB 173727938.333 s is
    # 2005-07-04T05:44:34.149 UTC in its archive header
    table = science_table([ScienceImage("/x/mv0173727702_9000910_062_dn.fit", "MRIVIS",
                                        173727938.333, 270.25)])
    assert table.colnames == ["file", "INSTRUME", "stop UTC", "stop TDB (s)", "CCDT (K)"]
    assert tuple(table[0]) == ("mv0173727702_9000910_062_dn.fit", "MRIVIS",
                               "2005-07-04T05:44:34.149", 173727938.333, 270.25)


def test_archive_time_check_reproduces_the_real_header_to_2_ms():
    header = fits.getheader(deep_impact_archive_files()[0])
    check = check_archive_times(header)
    # etalon's SPICE chain vs the archive's: 1.6 ms apart (documented in notebook 02)
    assert round(check.tdb_residual_ms, 2) == -1.62
    assert round(check.utc_residual_ms, 2) == -1.64
    rows = {r["step"]: (r["etalon"], r["archive header"]) for r in check.table}
    assert rows["clock string"] == ("1/0173727702.188", "1/0173727702.188")
    ticks = rows["ticks (x 1/256 s)"]
    assert ticks[0] == ticks[1]
    assert rows["UTC"][0].startswith("2005-07-04T05:44:34.14")
    # stop and start clocks rebuilt from SCSTOP and INTTIME agree with the archive exactly
    for step in ("stop clock (SCSTOP)", "stop UTC (OBSENDDT)", "start clock (SCSTART)"):
        assert rows[step][0] == rows[step][1], step


def test_archive_time_check_names_a_missing_keyword():
    header = fits.getheader(deep_impact_archive_files()[0])
    del header["NOMSCLK"]
    with pytest.raises(KeyError, match="NOMSCLK"):
        check_archive_times(header)
