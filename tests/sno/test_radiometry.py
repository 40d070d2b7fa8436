"""Radiometric comparison: exact arithmetic, SBAF sanity, honest uncertainties (pulls)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from etalon.fileio import EtalonInputError
from etalon.sno.radiometry import (
    DEFAULT_BAND_PAIRS,
    band_sbafs,
    compare_matched,
    read_spectrum,
    responses_for,
    simulate_matched,
    summarise,
)
from etalon.spectral.integrate import SBAF


@pytest.fixture(scope="module")
def setup():
    va, sa = responses_for("venus"), responses_for("sentinel-2a")
    spec = read_spectrum()
    sb = band_sbafs(*spec, va, sa, DEFAULT_BAND_PAIRS, n_draws=100, seed=1)
    return va, sa, spec, sb


def test_sbaf_of_a_band_with_itself_is_one(setup):
    _, sa, spec, _ = setup
    s = band_sbafs(*spec, sa, sa, [("B4", "B4")], n_draws=20)
    assert s[("B4", "B4")].value == pytest.approx(1.0, abs=1e-12)
    assert s[("B4", "B4")].unc == pytest.approx(0.0, abs=1e-12)


def test_sbaf_values_follow_the_libya4_slope(setup):
    *_, sb = setup
    # Libya-4 reddens from blue to red: VENuS B4 (555 nm, 40 nm) vs S2 B3 (560 nm, 35 nm) differ
    # by a few percent; narrow well-matched red-edge pairs agree within 0.5 %
    assert all(0.9 < v.value < 1.1 for v in sb.values())
    assert abs(sb[("B9", "B6")].value - 1) < 0.005 and abs(sb[("B10", "B7")].value - 1) < 0.005
    assert all(v.unc > 0 for v in sb.values())


def test_ratio_arithmetic_exact():
    m = Table(rows=[("M1", "X", "Y", 0.30, 0.003, 0.25, 0.005)],
              names=("match_id", "band_a", "band_b", "rho_a", "rho_a_unc", "rho_b", "rho_b_unc"))
    out = compare_matched(m, {("X", "Y"): SBAF("X", "Y", 1.2, 0.012)})
    assert out["ratio"][0] == pytest.approx(0.30 / (1.2 * 0.25))
    assert out["ratio_unc"][0] == pytest.approx(1.0 * np.hypot(0.01, 0.02))
    assert out["ratio_unc_total"][0] == pytest.approx(np.sqrt(0.01**2 + 0.02**2 + 0.01**2))


def test_bad_tables_name_the_source():
    m = Table({"match_id": ["a"], "band_a": ["X"]})
    with pytest.raises(EtalonInputError, match=r"m\.ecsv: matched-acquisition table lacks columns"):
        compare_matched(m, {}, source="m.ecsv")
    m = Table(rows=[("M1", "X", "Z", 0.3, 0.1, 0.2, 0.1)], names=(
        "match_id", "band_a", "band_b", "rho_a", "rho_a_unc", "rho_b", "rho_b_unc"))
    with pytest.raises(EtalonInputError, match="band pairs without SBAF"):
        compare_matched(m, {("X", "Y"): SBAF("X", "Y", 1.0, 0.0)}, source="m.ecsv")


def test_recovers_known_gain_ratios(setup):
    va, sa, spec, sb = setup
    gains = {"B3": 1.03, "B7": 0.98}
    m = simulate_matched(40, va, sa, spec, gain_a=gains, noise_rel=0.01, seed=3)
    s = summarise(compare_matched(m, sb))
    for row in s:
        truth = gains.get(row["band_a"], 1.0)
        assert abs(row["ratio"] - truth) < 4 * row["ratio_unc"]
        assert row["n"] == 40


def test_pulls_are_honest_over_60_cases(setup):
    """Scene drawn from the spectrum's sigma, 1-2 % noise, 8-30 coincidences: rms pull near 1."""
    va, sa, spec, sb = setup
    rng = np.random.default_rng(7)
    pulls = []
    for case in range(60):
        gains = {b: 1 + 0.03 * rng.standard_normal() for b, _ in DEFAULT_BAND_PAIRS}
        m = simulate_matched(int(rng.integers(8, 31)), va, sa, spec, gain_a=gains,
                             noise_rel=float(rng.uniform(0.01, 0.02)), seed=1000 + case)
        s = summarise(compare_matched(m, sb))
        truth = np.array([gains[b] for b in s["band_a"]])
        pulls.extend((np.asarray(s["ratio"]) - truth) / np.asarray(s["ratio_unc"]))
    rms = float(np.sqrt(np.mean(np.square(pulls))))
    print(f"rms pull {rms:.3f} over {len(pulls)} band summaries")
    assert len(pulls) == 60 * len(DEFAULT_BAND_PAIRS)
    assert 0.8 <= rms <= 1.25


def test_ignoring_the_sbaf_error_would_be_dishonest(setup):
    """Without the SBAF term the pulls of the blue/green pairs are too large: the term matters."""
    va, sa, spec, sb = setup
    pulls = []
    for case in range(40):
        m = simulate_matched(30, va, sa, spec, pairs=[("B4", "B3")], noise_rel=0.01, seed=2000 + case)
        s = summarise(compare_matched(m, sb))
        pulls.append((s["ratio"][0] - 1.0) / s["ratio_unc_stat"][0])
    assert np.sqrt(np.mean(np.square(pulls))) > 1.5
