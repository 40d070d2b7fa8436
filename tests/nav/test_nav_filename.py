"""Raw NAV file names: NAV_OM_9000385.bin_2005_185T03_38_58.000."""

from __future__ import annotations

import pytest
from astropy.time import Time

from etalon.fileio import EtalonInputError
from etalon.nav.filename import NavFileNameError, format_nav_filename, parse_nav_filename


def test_parses_the_spec_example():
    fn = parse_nav_filename("/data/raw/NAV_OM_9000385.bin_2005_185T03_38_58.000")
    assert (fn.kind, fn.kind_letter, fn.instrument, fn.instrument_letter) == ("OpNav", "O", "NAVMRI", "M")
    assert fn.exposure_id == 9000385 and fn.suffix == "000" and fn.file_id == "NAV_OM_9000385"
    assert (fn.year, fn.doy, fn.hour, fn.minute, fn.second) == (2005, 185, 3, 38, 58)
    assert fn.received.scale == "utc"
    assert fn.received.isot == "2005-07-04T03:38:58.000"  # day 185 of 2005 is 4 July


@pytest.mark.parametrize("name,kind,instrument", [
    ("NAV_AH_9000001.bin_2005_001T00_00_00.001", "AutoNav", "NAVHRI"),
    ("NAV_AI_42.bin_2004_366T23_59_59.007", "AutoNav", "NAVITS"),
])
def test_kinds_and_instruments(name, kind, instrument):
    fn = parse_nav_filename(name)
    assert (fn.kind, fn.instrument) == (kind, instrument)


@pytest.mark.parametrize("name,problem", [
    ("frame_0001.bin", "not a raw NAV file name"),
    ("NAV_XM_9000385.bin_2005_185T03_38_58.000", "kind letter 'X'"),
    ("NAV_OQ_9000385.bin_2005_185T03_38_58.000", "instrument letter 'Q'"),
    ("NAV_OM_9000385.bin_2005_366T03_38_58.000", "day of year 366 does not exist in 2005"),
    ("NAV_OM_9000385.bin_2005_185T25_38_58.000", "not a time of day"),
])
def test_bad_names_are_clear_errors(name, problem):
    with pytest.raises(NavFileNameError, match=problem) as err:
        parse_nav_filename(name)
    assert isinstance(err.value, EtalonInputError) and str(err.value).startswith(name)


def test_format_is_the_inverse_of_parse():
    t = Time("2005-07-04T05:44:34.9", scale="utc")
    name = format_nav_filename("AutoNav", "NAVITS", 9000910, t, 3)
    assert name == "NAV_AI_9000910.bin_2005_185T05_44_34.003"
    fn = parse_nav_filename(name)
    assert (fn.instrument, fn.exposure_id, fn.suffix) == ("NAVITS", 9000910, "003")
