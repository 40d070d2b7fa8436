"""The results file: CF metadata, every variable documented, round trip, summary contract."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from etalon.campaign.analysis import analyze_campaign
from etalon.campaign.results import (
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
    missing = [v for v in VARIABLES if v not in documented]
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
