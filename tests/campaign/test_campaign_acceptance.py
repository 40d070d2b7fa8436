"""Flight acceptance: criteria per band from TOML, verdicts with the figures behind them."""

from __future__ import annotations

import numpy as np
import pytest

from etalon.campaign.acceptance import default_criteria, evaluate_acceptance, read_criteria
from etalon.campaign.analysis import analyze_campaign
from etalon.campaign.results import to_dataset
from etalon.campaign.series import build_series, check_measurement_table, po_from_table
from etalon.cliutil import UsageError


@pytest.fixture(scope="module")
def dataset(small_campaign):
    po = po_from_table(small_campaign.po)
    return to_dataset(analyze_campaign(build_series(check_measurement_table(small_campaign.table), po), po))


def test_verdicts_follow_the_figures(dataset, small_campaign, tmp_path):
    truth = {b: small_campaign.truth_value(b, "phase:VM5") for b in ("B1", "B4", "B11")}
    # a threshold between the bands' true offsets: the bands above it must fail
    thr = float(np.median(np.abs(list(truth.values()))))
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'phase = "VM5"\nreference_phase = "VM1"\n[default]\nmax_phase_offset = {thr}\n'
                   'max_abs_drift = 0.05\nmin_n = 20\n[bands.B11]\nmin_n = 1000\n')
    tab = evaluate_acceptance(dataset, read_criteria(cfg))
    assert list(tab["channel"]) == ["B1", "B4", "B11"]
    for row in tab:
        assert row["pass_offset"] == (abs(row["phase_offset"]) <= thr)
        assert abs(row["phase_offset"] - truth[row["channel"]]) < 3 * row["phase_offset_unc"]
        assert row["margin_offset_sigma"] == pytest.approx((thr - abs(row["phase_offset"]))
                                                           / row["phase_offset_unc"])
        i = list(tab["channel"]).index(row["channel"])
        assert row["n"] == int(dataset["phase_n"].values[i, 1])
    b11 = tab[tab["channel"] == "B11"][0]
    assert b11["verdict"] == "FAIL" and "n " in b11["reason"] and "< 1000" in b11["reason"]
    assert b11["min_n"] == 1000


def test_default_criteria():
    c = default_criteria()
    assert (c.phase, c.reference_phase) == ("VM5", "VM1")
    assert c.for_band("B3") == {"max_phase_offset": 0.01, "max_abs_drift": 0.01, "min_n": 20}


@pytest.mark.parametrize("text, message", [
    ("[default]\nmax_phase_offset = 0.01\nmin_n = 3\n", "lacks criterion"),
    ("[default]\nmax_phase_offset = 0.01\nmax_abs_drift = 'x'\nmin_n = 3\n", "must be a number"),
    ("[default]\nmax_phase_offset = 0.01\nmax_abs_drift = 0.1\nmin_n = 3\nfoo = 1\n", "unknown criterion"),
    ("colour = 1\n", "unknown key"),
])
def test_bad_criteria(tmp_path, text, message):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(UsageError, match=message):
        read_criteria(p)


def test_unknown_phase(dataset):
    c = default_criteria()
    c.phase = "VM9"
    with pytest.raises(UsageError, match="phase VM9 is not in the results"):
        evaluate_acceptance(dataset, c)
