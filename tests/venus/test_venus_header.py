"""The real VENuS L1 header reads completely; damaged or foreign XML fails clearly."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.cli import main
from etalon.data import data_path
from etalon.fileio import EtalonInputError
from etalon.venus.bands import BANDS
from etalon.venus.header import parse_gipp_name, parse_l1_header, read_l1_header

REAL = data_path("venus", "VE_VM01_VSC_L1VALD_ISRAEL03_20190204.HDR.xml")


@pytest.fixture(scope="module")
def header():
    return read_l1_header(REAL)


def test_real_header_identity(header):
    assert header.product == "VE_VM01_VSC_L1VALD_ISRAEL03_20190204"
    assert header.site == "ISRAEL03"
    assert header.acquisition_time == "2019-02-04T08:34:37Z"
    assert header.phase == "VM01" and header.phase_name == "VM1"
    assert header.orbit == 7993


def test_real_header_93_gipp_with_versions_and_validity(header):
    assert len(header.gipp) == 93
    assert [g.sn for g in header.gipp] == list(range(1, 94))
    natures = {g.nature for g in header.gipp}
    assert {"PHGAIN", "RELSEN", "DARKCU", "STRLGT", "POLART", "POLINT", "POLREF", "NOISMO",
            "VIEDIR"} <= natures
    for nat in ("DARKCU", "RELSEN", "STRLGT", "VIEDIR", "POLART", "OUTORD"):
        assert sorted(int(g.band[1:]) for g in header.gipp_of(nat)) == list(range(1, 13))
    (phg,) = header.gipp_of("PHGAIN")
    assert (phg.version, phg.validity_start, phg.validity_stop, phg.band) == (
        7, "2017-08-01", "9999-12-31", None)
    (dk3,) = header.gipp_of("DARKCU", "B03")
    assert (dk3.version, dk3.validity_start, dk3.band, dk3.code) == (8, "2017-10-21", "B3", "111101")
    assert header.gipp_of("CLOUDD")[0].version == 6


def test_real_header_ak_polarisation_wavelengths_flags(header):
    assert header.ak == {b.name: b.header_ak for b in BANDS}
    assert header.ak["B1"] == 0.204 and header.ak["B12"] == 1.88
    assert header.polarization["B1"] == -0.0014 and header.polarization["B12"] == -0.0001
    assert len(header.polarization) == 12
    assert header.central_wavelength_nm == {b.name: b.header_centre_nm for b in BANDS}
    assert header.flags["Straylight_T1"] is True and header.flags["Straylight_T2"] is True
    assert header.flags["Restoration"] is False and header.flags["Remanence"] is False
    assert len(header.flags) == 9


def test_cli_json_keys(capsys):
    assert main(["venus", "header", str(REAL), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("product", "site", "acquisition_time", "phase", "gipp", "ak", "polarization", "flags"):
        assert key in d
    assert len(d["gipp"]) == 93
    g = d["gipp"][7]
    assert set(g) >= {"nature", "version", "validity_start", "validity_stop", "band"}
    assert isinstance(g["version"], int) and g["band"] == "B3"
    assert d["ak"]["B9"] == 2.257 and d["flags"]["Equalization"] is True


def test_parse_gipp_name():
    g = parse_gipp_name("VE_OPER_GIP_STRLGT_L_ALLSITES_00003_20170801_99991231_B12")
    assert (g.nature, g.version, g.band, g.code) == ("STRLGT", 3, "B12", None)
    with pytest.raises(ValueError, match="not understood"):
        parse_gipp_name("VE_OPER_GIP_X_L_ALLSITES")
    with pytest.raises(ValueError, match="validity date"):
        parse_gipp_name("VE_OPER_GIP_STRLGT_L_ALLSITES_00003_20171301_99991231")


@pytest.mark.parametrize("text, match", [
    (b"", "malformed"),
    (b"<a><b></a>", "malformed"),
    (b"<?xml version='1.0'?><root/>", "not a VENuS Earth Explorer header"),
    (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "DTD"),
    (b"<Earth_Explorer_Header xmlns='http://eop-cfi.esa.int/CFI'><Fixed_Header/></Earth_Explorer_Header>",
     "mission missing"),
])
def test_bad_xml_names_the_file(tmp_path, text, match):
    p = tmp_path / "bad.HDR.xml"
    p.write_bytes(text)
    with pytest.raises(EtalonInputError, match=match) as exc:
        read_l1_header(p)
    assert str(p) in str(exc.value)


def test_truncated_and_edited_real_header(tmp_path):
    data = REAL.read_bytes()
    p = tmp_path / "t.xml"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(EtalonInputError, match="truncated"):
        read_l1_header(p)
    p.write_bytes(data.replace(b"<Ak sk=\"B05\">1.667</Ak>", b""))
    with pytest.raises(EtalonInputError, match="List_of_Aks declares 12"):
        read_l1_header(p)
    p.write_bytes(data.replace(b"<Equalization>true", b"<Equalization>maybe"))
    with pytest.raises(EtalonInputError, match="Equalization"):
        read_l1_header(p)
    p.write_bytes(data.replace(b"<Mission>VENuS", b"<Mission>SENTINEL2"))
    with pytest.raises(EtalonInputError, match="not VENuS"):
        read_l1_header(p)
    assert REAL.read_bytes() == data  # input untouched


_DATA = REAL.read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pos=st.integers(0, len(_DATA) - 1), cut=st.booleans(), junk=st.binary(min_size=1, max_size=8))
def test_fuzz_damaged_header_reads_or_fails_cleanly(pos, cut, junk):
    data = _DATA[:pos] if cut else _DATA[:pos] + junk + _DATA[pos + len(junk):]
    try:
        h = parse_l1_header(data, "fuzz.xml")
    except EtalonInputError as exc:
        assert str(exc).startswith("fuzz.xml: ")
    else:
        assert len(h.gipp) == 93 and len(h.ak) == 12
