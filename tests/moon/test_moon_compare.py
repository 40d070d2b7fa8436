"""Method comparison helpers of etalon.moon.measure, on the real GSICS SEVIRI file of 2013-01-01."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from etalon.data import gsics_lunar_files
from etalon.moon.measure import (
    compare_methods,
    measure_channels,
    measure_file,
    reproduces_operators,
    rows_to_table,
)

CHANNELS = ["VIS006", "VIS008", "NIR016"]


@pytest.fixture(scope="module")
def table():
    path = gsics_lunar_files()[0]
    rows = measure_file(path, method="laplace") + measure_file(path, method="threshold")
    return rows_to_table([r for r in rows if r["channel"] in CHANNELS])


def test_threshold_rows_reproduce_the_operators_and_a_changed_value_does_not(table):
    assert reproduces_operators(table, "threshold") is True
    assert reproduces_operators(table, "laplace") is False  # a different method
    tampered = table.copy()
    row = np.flatnonzero(tampered["method"] == "threshold")[1]
    tampered["moon_pix_num"][row] += 1
    assert reproduces_operators(tampered) is False
    with pytest.raises(ValueError, match="no 'lime' rows"):
        reproduces_operators(table, "lime")
    # relative tolerance 1e-6 on irr_obs: 5e-9 is reproduced, 2e-6 is not
    near = table.copy()
    sel = np.flatnonzero(near["method"] == "threshold")
    near["operator_irr_obs"][sel] *= 1 + 5e-9
    assert reproduces_operators(near) is True
    near["operator_irr_obs"][sel[0]] *= 1 + 2e-6
    assert reproduces_operators(near) is False
    assert reproduces_operators(near, rtol=1e-5) is True


def test_compare_methods_on_the_real_file(table):
    comparison = compare_methods(table)
    assert comparison.colnames == ["date", "channel", "threshold", "laplace",
                                   "laplace/threshold - 1 (%)"]
    assert list(comparison["channel"]) == CHANNELS
    assert list(comparison["date"]) == ["2013-01-01"] * 3
    thr = table[table["method"] == "threshold"]
    lap = table[table["method"] == "laplace"]
    np.testing.assert_array_equal(comparison["threshold"], thr["irr_obs"])
    np.testing.assert_array_equal(comparison["laplace"], lap["irr_obs"])
    np.testing.assert_array_equal(comparison["laplace/threshold - 1 (%)"],
                                  (np.asarray(lap["irr_obs"]) / np.asarray(thr["irr_obs"]) - 1) * 100)
    assert comparison["laplace"].unit == table["irr_obs"].unit
    # the two methods agree to better than 0.5 % on SEVIRI (notebook 04: 0.37 % at most)
    assert np.max(np.abs(comparison["laplace/threshold - 1 (%)"])) < 0.5


def test_compare_methods_pairs_rows_by_time_and_channel_not_by_position():
    t1, t2 = "2020-01-01T00:00:00.000", "2020-02-01T00:00:00.000"
    table = Table({"time": [t2, t1, t1, t1, t2],
                   "channel": ["B", "A", "B", "A", "B"],
                   "method": ["threshold", "threshold", "threshold", "laplace", "laplace"],
                   "irr_obs": [4.0, 2.0, 8.0, 2.02, 3.0]})
    out = compare_methods(table)
    assert [tuple(r)[:4] for r in out] == [("2020-01-01", "A", 2.0, 2.02),
                                          ("2020-02-01", "B", 4.0, 3.0)]
    np.testing.assert_allclose(out["laplace/threshold - 1 (%)"], [1.0, -25.0])
    assert out["laplace/threshold - 1 (%)"].info.format == ".3f"
    # a candidate row with no reference row is left out
    assert len(compare_methods(table[1:])) == 1


def test_measure_channels_keeps_the_chosen_channels_in_file_order():
    files = gsics_lunar_files()[:2]
    pairs = measure_channels(files, ["NIR016", "VIS006"], sigma=1.0)
    assert [(ch.time.isot[:10], ch.channel) for ch, _ in pairs] == [
        ("2013-01-01", "VIS006"), ("2013-01-01", "NIR016"),
        ("2014-03-18", "VIS006"), ("2014-03-18", "NIR016")]
    assert all(m.row["method"] == "laplace" and m.curve is not None for _, m in pairs)
    # the same numbers as measure_file
    rows = {r["channel"]: r for r in measure_file(files[0])}
    assert pairs[0][1].row["irr_obs"] == rows["VIS006"]["irr_obs"]
