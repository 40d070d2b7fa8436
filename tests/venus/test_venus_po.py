"""PO registry: in force at t, ECSV round trip, built from real headers."""

from __future__ import annotations

import pytest
from astropy.table import Table

from etalon.cli import main
from etalon.data import data_path
from etalon.fileio import EtalonInputError
from etalon.venus.bands import BANDS
from etalon.venus.header import read_l1_header
from etalon.venus.po import PoRegistry, PoSet, read_po, write_po

REAL = data_path("venus", "VE_VM01_VSC_L1VALD_ISRAEL03_20190204.HDR.xml")


def _reg():
    ak1 = {b.name: b.header_ak for b in BANDS}
    ak2 = {k: v * 0.99 for k, v in ak1.items()}
    ak3 = {k: v * 0.98 for k, v in ak1.items()}
    return PoRegistry([PoSet("PO-2", "2019-06-01T00:00:00", ak2, darkcu={"B1": 8}),
                       PoSet("PO-1", "2017-08-02T00:00:00", ak1, darkcu={"B1": 8}),
                       PoSet("PO-3", "2022-03-01T00:00:00", ak3, darkcu={"B1": 9})])


def test_in_force_takes_latest_start_not_after_t():
    reg = _reg()
    assert reg.versions == ["PO-1", "PO-2", "PO-3"]
    assert reg.in_force("2019-05-31T23:59:59").version == "PO-1"
    assert reg.in_force("2019-06-01T00:00:00").version == "PO-2"
    assert reg.in_force("2024-07-01").version == "PO-3"
    assert list(reg.versions_at(["2018-01-01", "2020-01-01", "2023-01-01"])) == ["PO-1", "PO-2", "PO-3"]
    assert reg.gain_at(["2018-01-01", "2023-01-01"], "B02").tolist() == [0.708, pytest.approx(0.708 * 0.98)]
    with pytest.raises(ValueError, match="before the first"):
        reg.in_force("2017-01-01")


def test_duplicates_refused():
    ak = {b.name: 1.0 for b in BANDS}
    with pytest.raises(ValueError, match="duplicate"):
        PoRegistry([PoSet("A", "2018-01-01T00:00:00", ak), PoSet("A", "2019-01-01T00:00:00", ak)])
    with pytest.raises(ValueError, match="same time"):
        PoRegistry([PoSet("A", "2018-01-01T00:00:00", ak), PoSet("B", "2018-01-01T00:00:00", ak)])


def test_ecsv_round_trip_and_columns(tmp_path):
    reg = _reg()
    p = write_po(reg, tmp_path / "po.ecsv")
    t = Table.read(p, format="ascii.ecsv")
    assert t.colnames[:5] == ["version", "validity_start", "validity_stop", "channel", "gain"]
    assert len(t) == 36 and t["version"].dtype.kind == "U" and t["validity_start"][0] == "2017-08-02T00:00:00"
    back = read_po(p)
    assert back.versions == reg.versions
    for a, b in zip(back, reg, strict=True):
        assert a.ak == b.ak and a.validity_start == b.validity_start and a.darkcu == b.darkcu


def test_minimal_table_as_issue_11_writes_it(tmp_path):
    # the campaign issue reads/writes only version, validity_start, channel, gain
    t = Table({"version": ["1", "1", "2", "2"],
               "validity_start": ["2017-08-02T00:00:00Z"] * 2 + ["2020-01-01"] * 2,
               "channel": ["B1", "B2", "B1", "B2"], "gain": [0.2, 0.7, 0.21, 0.71]})
    p = tmp_path / "min.ecsv"
    t.write(p, format="ascii.ecsv")
    reg = read_po(p)
    assert reg.in_force("2021-01-01").ak == {"B1": 0.21, "B2": 0.71}


def test_bad_registry_files(tmp_path):
    p = tmp_path / "bad.ecsv"
    p.write_text("not ecsv at all\n")
    with pytest.raises(EtalonInputError, match=r"bad\.ecsv"):
        read_po(p)
    Table({"version": ["1"], "channel": ["B1"]}).write(p, format="ascii.ecsv", overwrite=True)
    with pytest.raises(EtalonInputError, match="missing columns"):
        read_po(p)
    Table({"version": ["1"], "validity_start": ["2018-01-01"], "channel": ["B1"], "gain": [-1.0]}).write(
        p, format="ascii.ecsv", overwrite=True)
    with pytest.raises(EtalonInputError, match="not > 0"):
        read_po(p)


def test_from_real_header_and_edited_copy(tmp_path):
    h = read_l1_header(REAL)
    reg = PoRegistry.from_headers([REAL])
    (s,) = reg.sets
    assert s.version == "P7-D8-R8-S8"
    assert s.validity_start == "2017-10-21T00:00:00"      # DARKCU/RELSEN v8 start
    assert s.ak == h.ak and s.darkcu["B1"] == 8 and s.strlgt["B12"] == 8
    # a later header with a new PHGAIN (v8 from 2020-01-15) and new A_k: a second PO version
    data = REAL.read_bytes()
    new = (data.replace(b"PHGAIN_L_ALLSITES_00007_20170801", b"PHGAIN_L_ALLSITES_00008_20200115")
           .replace(b'<Ak sk="B01">0.204', b'<Ak sk="B01">0.199'))
    p2 = tmp_path / "later.HDR.xml"
    p2.write_bytes(new)
    reg2 = PoRegistry.from_headers([REAL, p2, REAL])
    assert reg2.versions == ["P7-D8-R8-S8", "P8-D8-R8-S8"]
    assert reg2.in_force("2020-01-15").ak["B1"] == 0.199
    assert reg2.in_force("2020-01-14").ak["B1"] == 0.204


def test_cli_po(tmp_path, capsys):
    out = tmp_path / "po.ecsv"
    assert main(["venus", "po", str(REAL), "-o", str(out)]) == 0
    assert read_po(out).versions == ["P7-D8-R8-S8"]
    assert main(["venus", "po", str(REAL), "-o", str(REAL)]) == 2
