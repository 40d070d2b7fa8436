"""Real parameter updates on the campaign code: AATSR drift tables, MERIS reprocessings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.campaign.real import aatsr_case, meris_case, read_aatsr_drift_table
from etalon.data import data_path
from etalon.fileio import EtalonInputError


def test_aatsr_tables_read_exactly():
    old = read_aatsr_drift_table(data_path("desert", "AATSR_VIS_DRIFT_V00-19.DAT"))
    new = read_aatsr_drift_table(data_path("desert", "AATSR_VIS_DRIFT_V02-01.DAT"))
    assert (old.version, new.version) == ("00-19", "02-01")
    assert old.factor.shape == (3136, 4) and new.factor.shape == (3471, 4)
    assert np.isnan(old.factor_unc).all()
    # rows as printed in the files
    np.testing.assert_array_equal(old.factor[16], [1.01082, 1.00999, 1.01048, 1.01079])
    np.testing.assert_array_equal(new.factor[0], [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(new.factor_unc[0], [0.01082, 0.01000, 0.00976, 0.01226])
    np.testing.assert_array_equal(new.factor[3468], [1.19517, 1.07637, 1.05633, 1.03057])
    assert new.decimal_year[0] == pytest.approx(2002 + 59 / 365)  # 1 March 2002


def test_bad_drift_tables(tmp_path):
    p = tmp_path / "d.DAT"
    p.write_text("Version : 1\n     0  01-MAR-2002 00:00:00   1.0 1.0 1.0\n")
    with pytest.raises(EtalonInputError, match="no data rows"):
        read_aatsr_drift_table(p)
    p.write_text("     0  01-MAR-2002 00:00:00   1.0 1.0 1.0 1.0\n")
    with pytest.raises(EtalonInputError, match="Version"):
        read_aatsr_drift_table(p)
    p.write_text("Version : 1\n     0  01-XXX-2002 00:00:00   1.0 1.0 1.0 1.0\n")
    with pytest.raises(EtalonInputError, match="malformed row"):
        read_aatsr_drift_table(p)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_drift_table_reader_fuzzed(tmp_path, data):
    p = tmp_path / "f.DAT"
    p.write_bytes(data)
    with pytest.raises(EtalonInputError):
        read_aatsr_drift_table(p)


@pytest.fixture(scope="module")
def aatsr560():
    return aatsr_case(0)


def test_aatsr_update_step_measured_as_the_tables_predict(aatsr560):
    c = aatsr560
    old = read_aatsr_drift_table(data_path("desert", "AATSR_VIS_DRIFT_V00-19.DAT"))
    new = read_aatsr_drift_table(data_path("desert", "AATSR_VIS_DRIFT_V02-01.DAT"))
    at = np.array([2007.0])
    assert c.direct_step == pytest.approx(old.at(at, 0)[0] / new.at(at, 0)[0] - 1)
    s = c.result.steps[0]
    assert s.version == "V02-01" and s.expected == pytest.approx(c.direct_step)
    assert abs(s.measured - s.expected) < 3 * s.measured_unc
    assert 0.001 < s.measured_unc < 0.01  # 0.1 - 1 %: what ~350 desert points with ~1-2 % scatter give
    assert c.result.n == 345  # nadir rows with a 560 nm value inside both tables


def test_aatsr_drift_difference_is_the_tables_difference(aatsr560):
    c = aatsr560
    d_old, d_new = c.drifts["V00-19"], c.drifts["V02-01"]
    # the two series differ by d_old(t) / d_new(t): the difference of their drifts is the WLS
    # slope of ln(d_V00-19 / d_V02-01) on the same points and the same geometry
    from etalon.campaign.drift import fit_drift

    ratio = c.by_version["V02-01"] / c.by_version["V00-19"]
    direct = fit_drift(c.t_years, ratio, 0.01 * ratio, "linear", extra=c.geometry, reject=False)
    assert d_new.drift_per_year - d_old.drift_per_year == pytest.approx(direct.drift_per_year, abs=2e-4)
    assert d_old.n_outliers == d_new.n_outliers


def test_meris_reprocessing_step_agrees_with_matched_acquisitions():
    c = meris_case(6)  # 665 nm
    s = c.result.steps[0]
    assert c.result.n > 600  # acquisitions present in both reprocessings
    assert abs(s.measured - c.direct_step) < 3 * np.hypot(s.measured_unc, c.direct_step_unc)
    assert c.direct_step_unc < 0.001  # the matched ratio is precise (same acquisitions)
    assert abs(c.direct_step) < 0.02
