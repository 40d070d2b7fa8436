"""Bad input gives a clear error naming the file, never a silent fit; readers fuzzed."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.campaign.series import (
    build_series,
    check_measurement_table,
    julian_year,
    po_from_table,
    read_measurements,
    read_po,
)
from etalon.cliutil import UsageError
from etalon.fileio import EtalonInputError


def _tables(camp):
    tab = camp.table.copy()
    tab.remove_column("is_bad")
    return tab


def _write(tab, path):
    tab.write(path, format="ascii.ecsv", overwrite=True)
    return str(path)


def test_reads_and_splits_by_band(written_campaign, small_campaign):
    tables, po_path, _ = written_campaign
    tab = read_measurements(tables)
    po = read_po(po_path)
    series = build_series(tab, po)
    assert list(series) == ["B1", "B4", "B11"]
    n = len(small_campaign.table) // 3
    assert all(s.n == n for s in series.values())
    # the PO in force at each acquisition is the one whose validity started last before it
    s = series["B4"]
    for k, tv in enumerate(po.validity_start):
        later = s.t_years >= tv
        assert np.all(s.po_index[later] >= k)
    assert po.versions[0] == "PO-1" and len(po.versions) in (3, 4)


def test_missing_column_names_file_and_column(small_campaign, tmp_path):
    tab = _tables(small_campaign)
    tab.remove_column("ratio_unc")
    path = _write(tab, tmp_path / "t.ecsv")
    with pytest.raises(EtalonInputError, match=r"t\.ecsv: measurement table lacks column\(s\) ratio_unc"):
        read_measurements([path])


def test_unsorted_times_are_refused(small_campaign, tmp_path):
    tab = _tables(small_campaign)
    rows = np.flatnonzero(np.asarray(tab["channel"]) == "B1")
    tab["time"][rows[3]], tab["time"][rows[4]] = tab["time"][rows[4]], tab["time"][rows[3]]
    path = _write(tab, tmp_path / "u.ecsv")
    with pytest.raises(EtalonInputError, match="times of channel B1 are not increasing"):
        read_measurements([path])


def test_duplicate_acquisition_across_files_is_refused(small_campaign, tmp_path):
    tab = _tables(small_campaign)
    a = _write(tab[:30], tmp_path / "a.ecsv")
    b = _write(tab[27:60], tmp_path / "b.ecsv")
    with pytest.raises(EtalonInputError, match="duplicate acquisition: channel"):
        read_measurements([a, b])


def test_no_po_in_force_is_refused(small_campaign, tmp_path):
    po = small_campaign.po.copy()
    po["validity_start"][po["version"] == "PO-1"] = "2017-09-01T00:00:00"  # after the first acquisition
    path = _write(po, tmp_path / "po.ecsv")
    tab = check_measurement_table(_tables(small_campaign))
    with pytest.raises(EtalonInputError, match=r"po\.ecsv: no PO in force for B1 at 2017-08"):
        build_series(tab, read_po(path))


def test_one_band_only_is_refused_unless_allowed(small_campaign):
    tab = _tables(small_campaign)
    tab = check_measurement_table(tab[np.asarray(tab["channel"]) == "B4"])
    po = po_from_table(small_campaign.po)
    with pytest.raises(UsageError, match="one band only"):
        build_series(tab, po)
    assert list(build_series(tab, po, allow_single_band=True)) == ["B4"]


def test_channel_absent_from_po(small_campaign):
    po = small_campaign.po[np.asarray(small_campaign.po["channel"]) != "B11"]
    with pytest.raises(EtalonInputError, match=r"no gains for channel\(s\) \['B11'\]"):
        build_series(check_measurement_table(_tables(small_campaign)), po_from_table(po))


@pytest.mark.parametrize("change, message", [
    (lambda po: po.__setitem__("gain", -np.asarray(po["gain"])), "gains must be finite and positive"),
    (lambda po: po.remove_column("gain"), r"lacks column\(s\) gain"),
    (lambda po: po.remove_row(0), "channel B1 lacks version"),
])
def test_bad_po_tables(small_campaign, change, message):
    po = small_campaign.po.copy()
    change(po)
    with pytest.raises(EtalonInputError, match=message):
        po_from_table(po)


def test_invalid_rows_are_flagged_counted_and_left_out(small_campaign, caplog):
    tab = _tables(small_campaign)
    rows = np.flatnonzero(np.asarray(tab["channel"]) == "B1")[:2]
    tab["ratio"][rows[0]] = np.nan
    tab["ratio_unc"][rows[1]] = 0.0
    series = build_series(check_measurement_table(tab), po_from_table(small_campaign.po))
    assert (~series["B1"].valid).sum() == 2 and series["B4"].valid.all()
    assert "2 row(s) flagged invalid" in caplog.text
    from etalon.campaign.model import analyze_band

    res = analyze_band(series["B1"], po_from_table(small_campaign.po))
    assert res.n_valid == series["B1"].n - 2
    assert np.isnan(res.ratio_corrected[0]) and np.isnan(res.ratio_corrected[1])
    assert not res.outlier[:2].any()


def test_missing_phase_column_is_computed_with_a_warning(small_campaign, caplog):
    tab = _tables(small_campaign)
    tab.remove_column("phase")
    series = build_series(check_measurement_table(tab), po_from_table(small_campaign.po))
    assert "no 'phase' column" in caplog.text
    b1 = np.asarray(small_campaign.table["channel"]) == "B1"
    assert np.array_equal(series["B1"].phase, np.asarray(small_campaign.table["phase"])[b1])


def test_julian_year():
    assert julian_year("2000-01-01T12:00:00")[0] == pytest.approx(2000.0, abs=1e-12)
    assert julian_year("2000-12-31T18:00:00")[0] == pytest.approx(2001.0, abs=1e-9)  # 2000: 366 d


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_readers_fuzzed_with_bytes(tmp_path, data):
    p = tmp_path / "fuzz.ecsv"
    p.write_bytes(data)
    for reader in (read_po, lambda x: read_measurements([x])):
        with pytest.raises(EtalonInputError):
            reader(p)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["V1", "V2", ""]),
                               st.sampled_from(["2018-01-01", "x", "2019-05-01"]),
                               st.sampled_from(["B1", "B2"]), st.floats(allow_nan=True)),
                     min_size=0, max_size=5))
def test_po_table_fuzzed(rows):
    tab = Table(rows=rows or None, names=("version", "validity_start", "channel", "gain"),
                dtype=(str, str, str, float))
    try:
        po = po_from_table(tab, "fuzz.ecsv")
    except EtalonInputError as exc:
        assert str(exc).startswith("fuzz.ecsv: ")
        return
    assert all(np.all(g > 0) for g in po.gains.values())
    assert np.all(np.diff(po.validity_start) > 0)


def test_phase_with_too_few_acquisitions_is_left_out(small_campaign, caplog):
    from etalon.campaign.model import analyze_band

    tab = _tables(small_campaign)
    rows = np.flatnonzero(np.asarray(tab["channel"]) == "B4")
    tab["phase"][rows[60]] = "VM3"  # a lone acquisition during the technology phase
    po = po_from_table(small_campaign.po)
    res = analyze_band(build_series(check_measurement_table(tab), po)["B4"], po)
    assert "phase VM3: 1 acquisition(s), fewer than 3" in caplog.text
    assert not res.used[60] and res.used.sum() == len(rows) - 1
    assert [p.name for p in res.phases] == ["VM1", "VM5"]


def test_too_few_acquisitions_fails_with_the_counts(small_campaign):
    from etalon.campaign.model import analyze_band

    tab = _tables(small_campaign)
    tab = tab[np.asarray(tab["channel"]) == "B4"][::25]
    po = po_from_table(small_campaign.po)
    with pytest.raises(ValueError, match=r"not identifiable: \d+ usable acquisitions for \d+ parameters"):
        analyze_band(build_series(check_measurement_table(tab), po, allow_single_band=True)["B4"], po)


def test_random_uncertainty_used_when_present(small_campaign, caplog):
    tab = _tables(small_campaign)
    tab["ratio_unc_random"] = tab["ratio_unc"]
    tab["ratio_unc"] = 0.05 * np.asarray(tab["ratio"])  # total: with a 5 % model uncertainty
    po = po_from_table(small_campaign.po)
    s = build_series(check_measurement_table(tab), po)["B1"]
    assert "weights from ratio_unc_random" in caplog.text
    np.testing.assert_allclose(s.ratio_unc / s.ratio, small_campaign.noise)
    total = build_series(check_measurement_table(tab), po, uncertainty="total")["B1"]
    np.testing.assert_allclose(total.ratio_unc / total.ratio, 0.05)
