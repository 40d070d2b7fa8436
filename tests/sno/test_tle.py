"""TLE reading: checksums, line checks, epoch age; the reader fuzzed."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etalon.fileio import EtalonInputError
from etalon.sno.timescale import parse_time
from etalon.sno.tle import TleAgeError, check_age, checksum, parse_tle_lines, read_tle

L1 = "1 40697U 15028A   24337.14457616  .00000519  00000-0  21480-3 0  9998"
L2 = "2 40697  98.5704  48.9920 0001011  93.0957 267.0342 14.30811188493363"


def test_bundled_file_reads_both_sentinel2(tles):
    assert [t.name for t in tles] == ["SENTINEL-2A", "SENTINEL-2B"]
    assert [t.norad for t in tles] == [40697, 42063]
    # epoch 24337.14457616 = 2024-12-02 (day 337 of a leap year) + 0.14457616 d
    assert tles[0].epoch == pytest.approx(parse_time("2024-12-02T00:00:00") + 0.14457616 * 86400, abs=1e-3)
    assert tles[0].source.endswith("sentinel2_tle.txt:2")


def test_checksum_of_real_lines():
    assert checksum(L1) == 8 and checksum(L2) == 3


def test_bad_checksum_names_file_and_line(tmp_path):
    p = tmp_path / "bad.tle"
    p.write_text("SENTINEL-2A\n" + L1[:-1] + "7\n" + L2 + "\n")
    with pytest.raises(EtalonInputError, match=r"bad\.tle: line 2: bad checksum"):
        read_tle(p)


def test_corrupt_and_truncated_lines(tmp_path):
    p = tmp_path / "c.tle"
    p.write_text("SENTINEL-2A\n" + L1 + "\n" + L2[:40] + "\n")
    with pytest.raises(EtalonInputError, match=r"c\.tle: line 3: TLE line 2 has 40 characters"):
        read_tle(p)
    p.write_text("SENTINEL-2A\n" + L1 + "\n" + L2.replace("2 40697", "2 40698") + "\n")
    with pytest.raises(EtalonInputError, match=r"line 3: bad checksum|catalogue numbers differ"):
        read_tle(p)
    p.write_text("SENTINEL-2A\nSENTINEL-2B\n" + L1 + "\n")
    with pytest.raises(EtalonInputError, match="line 2: two name lines"):
        read_tle(p)
    p.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(EtalonInputError, match="not an ASCII TLE file"):
        read_tle(p)


def test_two_line_file_without_name():
    (t,) = parse_tle_lines([L1, L2], "x.tle")
    assert t.name == "NORAD 40697"


def test_age_warning_and_refusal(tles, caplog):
    t = tles[0]
    with caplog.at_level(logging.WARNING, logger="etalon"):
        assert check_age(t, t.epoch, t.epoch + 3 * 86400) == pytest.approx(3.0)
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="etalon"):
        assert check_age(t, t.epoch + 9 * 86400, t.epoch + 10 * 86400) == pytest.approx(10.0)
    assert "10.0 days from the window" in caplog.text
    with pytest.raises(TleAgeError, match=r"sentinel2_tle\.txt: line 2: TLE of SENTINEL-2A .* 365 days"):
        check_age(t, t.epoch + 360 * 86400, t.epoch + 365 * 86400)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
                max_size=6))
def test_reader_fuzz_only_raises_input_errors(lines):
    try:
        out = parse_tle_lines(lines, "fuzz.tle")
    except EtalonInputError as exc:
        assert str(exc).startswith("fuzz.tle")
    else:
        assert all(len(t.line1) == 69 for t in out)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 68), st.sampled_from("0123456789-+. X"))
def test_fuzz_one_changed_character(pos, char):
    line = L2[:pos] + char + L2[pos + 1:]
    try:
        (t,) = parse_tle_lines(["S2", L1, line], "f.tle")
    except EtalonInputError as exc:
        assert str(exc).startswith("f.tle")
    else:  # only changes that keep the checksum (or are no change) get through
        assert checksum(line) == int(line[68])
        assert t.norad == 40697
