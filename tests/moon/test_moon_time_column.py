"""The measurement table's ``time`` is an astropy Time column, in memory and after an ECSV round trip."""

from __future__ import annotations

from astropy.table import Table
from astropy.time import Time

from etalon.data import gsics_lunar_files
from etalon.moon.measure import measure_file, rows_to_table, write_measurement_table


def test_time_column_is_time_and_survives_ecsv(tmp_path):
    path = gsics_lunar_files()[0]
    table = rows_to_table(measure_file(path, method="threshold"))
    assert isinstance(table["time"], Time)
    assert table["time"].scale == "utc"
    # the real file's observation time (its name carries 2013-01-01 14:56:44)
    assert str(table["time"][0]).startswith("2013-01-01T14:5")
    out = write_measurement_table(table, tmp_path / "m.ecsv")
    back = Table.read(out)
    assert isinstance(back["time"], Time)
    assert abs((back["time"][0] - table["time"][0]).to_value("s")) < 1e-3
