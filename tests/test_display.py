"""Numbers for people: significant digits and units, tables without dtype rows that fit."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from etalon.display import format_number, format_quantity, format_table, header_table, html_table, show


@pytest.mark.parametrize(("value", "text"), [
    (0.0010595276740239998, "0.00106"),   # the example
    (0.009999999776482582, "0.01"),       # EXPSRDRT, a float32 0.01 read back as float64
    (np.float32(0.01), "0.01"),
    (1.0, "1"), (-2.5, "-2.5"), (123.456, "123.5"), (999999.0, "1e+06"),
    (123456789.0, "1.235e+08"), (1.5e-7, "1.5e-07"), (0.0, "0"), (-0.0, "0"),
    (float("nan"), "nan"), (float("-inf"), "-inf"),
    (7, "7"), (np.int64(12), "12"), (True, "True"), ("MRI", "MRI"),
])
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(("value", "unc", "unit", "text"), [
    (1.23456, 0.0123, "W m-2 um-1", "1.235 ± 0.012 W m-2 um-1"),
    (0.94512, 0.0031, "", "0.9451 ± 0.0031"),
    (1523.7, 23.0, "DN", "1524 ± 23 DN"),
    (2.0e7, 3.1e5, "px/s", "2e+07 ± 3.1e+05 px/s"),
    (0.9451, None, "", "0.9451"), (1.0, float("nan"), "K", "1 K"),
])
def test_format_quantity(value, unc, unit, text):
    assert format_quantity(value, unc, unit) == text


def test_table_cells_formatted_without_dtype_row_and_boxed():
    t = Table({"channel": ["VIS006", "NIR016"], "ratio": [0.9451234567, 1.1312345678],
               "irr_obs": [0.0010595276740239998, 0.002]})
    t["irr_obs"].unit = "W m-2 um-1"
    lines = format_table(t).pformat(show_dtype=False, show_unit=False)
    assert lines[2].split() == ["VIS006", "0.9451", "0.00106"]
    assert t["ratio"][0] == 0.9451234567  # the values are untouched
    page = html_table(t)
    assert "<td>0.9451</td>" in page and "<td>0.00106</td>" in page
    assert f"<small>{t['irr_obs'].unit}</small>" in page and "float64" not in page and "str6" not in page
    assert 'class="etalon-table"' in page and "overflow-x:auto" in page
    assert "0.9451" in repr(show(t)) and "float64" not in repr(show(t))


def test_long_tables_are_shortened_and_headers_shown_with_digits():
    page = html_table(Table({"i": np.arange(200)}), max_rows=10)
    assert "… 190 rows …" in page and "<td>199</td>" in page and "<td>100</td>" not in page
    h = fits.Header([("EXPSRDRT", 0.009999999776482582, "exposure s"), ("INSTRUME", "NAVMRI")])
    rows = header_table(h)
    assert list(rows["value"]) == ["0.01", "NAVMRI"] and list(rows["comment"]) == ["exposure s", ""]
