"""The results file: CF metadata, every variable documented, round trip, summary contract."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.campaign.analysis import analyze_campaign
from etalon.campaign.results import (
    DESERT_VARIABLES,
    SCHEMA_VERSION,
    VARIABLES,
    read_results,
    read_summary,
    summary_table,
    to_dataset,
    write_results,
    write_summary,
)
from etalon.campaign.series import build_series, check_measurement_table, po_from_table
from etalon.fileio import EtalonInputError

DOC = Path(__file__).resolve().parents[2] / "docs" / "results-file.md"


@pytest.fixture(scope="module")
def result(small_campaign):
    po = po_from_table(small_campaign.po)
    return analyze_campaign(build_series(check_measurement_table(small_campaign.table), po), po,
                            inputs=["a.ecsv"], lunar_model="ROLO")


def test_round_trip_summary_and_arrays(result, tmp_path):
    path = tmp_path / "RESULTS.nc"
    write_results(result, path)
    ds = read_results(path)
    a, b = summary_table(result), summary_table(ds)
    assert list(a["term"]) == list(b["term"]) and list(a["channel"]) == list(b["channel"])
    np.testing.assert_array_equal(np.asarray(a["value"]), np.asarray(b["value"]))
    np.testing.assert_array_equal(np.asarray(a["unc"]), np.asarray(b["unc"]))
    mem = to_dataset(result)
    for name in ("ratio", "ratio_corrected", "drift", "step", "phase_level", "geometry_coef", "time"):
        np.testing.assert_array_equal(ds[name].values, mem[name].values)
    assert list(ds["channel"].values) == ["B1", "B4", "B11"]
    assert int(ds["outlier"].values.sum()) == 9  # 3 bad acquisitions per band


def test_summary_contract(result, tmp_path):
    tab = summary_table(result)
    assert tab.colnames == ["channel", "term", "value", "unc"]
    kinds = {t.split(":")[0] for t in tab["term"]}
    assert kinds == {"drift", "step", "expected_step", "phase"}
    versions = result.po.versions
    for ch in ("B1", "B4", "B11"):
        terms = set(tab["term"][tab["channel"] == ch])
        assert {f"drift:{v}" for v in versions} <= terms
        assert {f"step:{v}" for v in versions[1:]} <= terms
        assert "phase:VM5" in terms and "phase:VM1" not in terms
        # expected step is the gain ratio exactly
        g = result.po.gains[ch]
        for k, v in enumerate(versions[1:], start=1):
            row = (tab["channel"] == ch) & (tab["term"] == f"expected_step:{v}")
            assert float(tab["value"][row][0]) == pytest.approx(g[k - 1] / g[k] - 1, rel=1e-12)
    path = tmp_path / "SUMMARY.ecsv"
    write_summary(result, path, inputs=["a.ecsv"])
    back = read_summary(path)
    assert len(back) == len(tab) and back.meta["etalon_step"] == "campaign summary"


def test_cf_metadata_opens_in_xarray(result, tmp_path):
    path = tmp_path / "r.nc"
    write_results(result, path)
    ds = xr.open_dataset(path)  # decoded: CF time units understood by xarray
    assert ds.attrs["Conventions"] == "CF-1.8"
    assert ds.attrs["featureType"] == "timeSeries"
    assert ds.attrs["schema_version"] == SCHEMA_VERSION
    assert np.issubdtype(ds["time"].dtype, np.datetime64)
    assert str(ds["time"].values[0])[:7] == "2017-08"
    assert ds["band_index"].attrs["instance_dimension"] == "band"
    assert ds["channel"].attrs["cf_role"] == "timeseries_id"
    for name in VARIABLES:
        assert "long_name" in ds[name].attrs, name
    for name in ("drift", "drift_unc", "phase_drift", "tau"):
        assert "year" in ds[name].attrs["units"]
    assert ds.attrs["lunar_model"] == "ROLO" and "PO-1" in ds.attrs["po_versions"]
    ds.close()


def test_every_variable_is_documented():
    text = DOC.read_text(encoding="utf-8")
    assert f"schema version {SCHEMA_VERSION}" in text.lower() or f"`{SCHEMA_VERSION}`" in text
    documented = set(re.findall(r"^\|\s*`([a-z_0-9]+)`", text, flags=re.M))
    missing = [v for v in (*VARIABLES, *DESERT_VARIABLES) if v not in documented]
    assert not missing, missing


def test_read_results_refuses_other_files(tmp_path, result):
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("n", np.arange(3))}).to_netcdf(other)
    with pytest.raises(EtalonInputError, match="not an etalon campaign results file"):
        read_results(other)
    newer = tmp_path / "newer.nc"
    ds = to_dataset(result)
    ds.attrs["schema_version"] = "2.0"
    ds.to_netcdf(newer)
    with pytest.raises(EtalonInputError, match=r"schema version 2\.0"):
        read_results(newer)
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"not netcdf")
    with pytest.raises(EtalonInputError, match="cannot read as netCDF"):
        read_results(junk)


def _desert_terms():
    from astropy.table import Table

    rows = [("B1", "phase:VM1", 0.0, 0.0), ("B1", "phase:VM5", 0.0123, 0.0011),
            ("B1", "drift:all", -0.0042, 0.0007),
            ("B4", "phase:VM5", -0.0031, 0.0009), ("B11", "drift:all", 0.0015, 0.0004),
            ("B7", "drift:all", 0.002, 0.001),         # band not in the campaign: left out
            ("B4", "phase:VM3", 0.001, 0.001)]          # phase not in the campaign: left out
    t = Table(rows=rows, names=("channel", "term", "value", "unc"))
    t["n"] = 50  # extra columns (venus_desert_terms has n, n_outliers, truth) are ignored
    return t


def test_desert_terms_round_trip(result, tmp_path, caplog):
    from etalon.campaign import desert_terms_table

    path = tmp_path / "RESULTS.nc"
    write_results(result, path, desert_terms=_desert_terms(), desert_source="dir/terms.ecsv")
    ds = read_results(path)
    back = desert_terms_table(ds)
    assert [tuple(r) for r in back] == [(r[0], r[1], r[2], r[3]) for r in _desert_terms()[:5]]
    i = list(ds["channel"].values).index("B1")
    j = list(ds["phase_name"].values).index("VM5")
    assert ds["desert_phase_level"].values[i, j] == 0.0123
    assert ds["desert_phase_level_unc"].values[i, j] == 0.0011
    assert ds["desert_drift"].values[i] == -0.0042 and ds["desert_drift_unc"].values[i] == 0.0007
    assert np.isnan(ds["desert_drift"].values[list(ds["channel"].values).index("B4")])
    assert ds["desert_drift"].attrs["units"] == "year-1"
    assert ds["desert_phase_level"].dims == ("band", "phase")
    assert ds.attrs["desert_terms_file"] == "terms.ecsv"
    assert "B7 drift:all: band not analysed" in ds.attrs["desert_terms_ignored"]
    assert "B4 phase:VM3: phase not in the lunar campaign" in caplog.text
    # the Moon's figures and the summary are unchanged by the desert terms
    a, b = summary_table(result), summary_table(ds)
    assert list(a["term"]) == list(b["term"])
    np.testing.assert_array_equal(np.asarray(a["value"]), np.asarray(b["value"]))
    # without desert terms: no desert variable (schema 1.0 content), and None back
    plain = tmp_path / "plain.nc"
    write_results(result, plain)
    ds0 = read_results(plain)
    assert desert_terms_table(ds0) is None and "desert_drift" not in ds0.variables


@pytest.mark.parametrize("edit,match", [
    (lambda t: t.remove_column("unc"), "lacks column"),
    (lambda t: t.__setitem__("term", ["step:PO-2", *list(t["term"][1:])]), "unknown term"),
    (lambda t: t["unc"].__setitem__(2, -1.0), "must be finite and >= 0"),
    (lambda t: t["value"].__setitem__(2, np.nan), "is not finite"),
    (lambda t: t["term"].__setitem__(1, "phase:VM1"), "given twice"),
])
def test_desert_terms_refused(tmp_path, edit, match):
    from etalon.campaign import read_desert_terms

    t = _desert_terms()
    t["term"] = t["term"].astype("U12")
    edit(t)
    p = tmp_path / "terms.ecsv"
    t.write(p, format="ascii.ecsv")
    with pytest.raises(EtalonInputError, match=match) as info:
        read_desert_terms(p)
    assert str(info.value).startswith(str(p))


_TERMS_ECSV = None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 400), st.binary(min_size=1, max_size=6)), min_size=1, max_size=4))
def test_read_desert_terms_fuzz_only_input_errors(tmp_path, edits):
    """A mutated terms file: read back checked, or refused with EtalonInputError naming it."""
    import io

    from etalon.campaign import read_desert_terms

    global _TERMS_ECSV
    if _TERMS_ECSV is None:
        buf = io.StringIO()
        _desert_terms().write(buf, format="ascii.ecsv")
        _TERMS_ECSV = buf.getvalue().encode()
    raw = bytearray(_TERMS_ECSV)
    for pos, chunk in edits:
        raw[pos:pos + len(chunk)] = chunk
    p = tmp_path / "fuzz_terms.ecsv"
    p.write_bytes(bytes(raw))
    try:
        t = read_desert_terms(p)
    except EtalonInputError as exc:
        assert str(exc).startswith(str(p))
    else:
        assert t.colnames == ["channel", "term", "value", "unc"]
        assert np.all(np.isfinite(t["value"])) and np.all(t["unc"] >= 0)
