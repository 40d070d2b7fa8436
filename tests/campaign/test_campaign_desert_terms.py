"""Moon and desert in one results file: ``etalon desert compare-moon --desert-terms`` feeding
``etalon campaign analyze --desert-terms`` on one simulated gain history (known truth)."""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from etalon.cli import main


def test_desert_terms_from_compare_moon_into_the_results_file(tmp_path, capsys):
    from etalon.campaign import desert_terms_table, read_results
    from etalon.desert.simulate import simulate_coupled_campaign

    c = simulate_coupled_campaign(seed=5, desert_step_days=16, moon_per_month=1)
    moon, po, desert = tmp_path / "moon.ecsv", tmp_path / "po.ecsv", tmp_path / "desert.ecsv"
    c.moon.write(moon, format="ascii.ecsv")
    c.po.write(po, format="ascii.ecsv")
    c.desert.write(desert, format="ascii.ecsv")
    summary, r0 = tmp_path / "SUMMARY.ecsv", tmp_path / "R0.nc"
    assert main(["campaign", "analyze", str(moon), "--po", str(po), "-o", str(r0), "--summary",
                 str(summary), "-q"]) == 0
    terms = tmp_path / "TERMS.ecsv"
    assert main(["desert", "compare-moon", "--moon", str(summary), "--desert", str(desert), "-o",
                 str(tmp_path / "cmp.ecsv"), "--desert-terms", str(terms), "-q"]) == 0
    results = tmp_path / "RESULTS.nc"
    assert main(["campaign", "analyze", str(moon), "--po", str(po), "-o", str(results),
                 "--desert-terms", str(terms), "-q"]) == 0
    ds = read_results(results)
    t = Table.read(terms, format="ascii.ecsv")
    bands = [str(b) for b in ds["channel"].values]
    phases = [str(p) for p in ds["phase_name"].values]
    assert phases == ["VM1", "VM5"] and len(bands) == 12
    # every desert term of a band and phase the campaign has is stored exactly, the rest listed
    stored = {(r["channel"], r["term"]): (r["value"], r["unc"]) for r in desert_terms_table(ds)}
    for r in t:
        key = (str(r["channel"]), str(r["term"]))
        if key[1] == "drift:all" or key[1][6:] in phases:
            assert stored[key] == (float(r["value"]), float(r["unc"])), key
        else:
            assert f"{key[0]} {key[1]}: phase not in the lunar campaign" in ds.attrs["desert_terms_ignored"]
    # the desert's VM5 level and drift agree with the Moon's and with the truth (within 4 sigma)
    j = phases.index("VM5")
    lvl, lvl_u = ds["desert_phase_level"].values[:, j], ds["desert_phase_level_unc"].values[:, j]
    moon_lvl, moon_u = ds["phase_level"].values[:, j], ds["phase_level_unc"].values[:, j]
    assert np.all(lvl_u > 0) and np.all(np.abs(lvl - moon_lvl) < 4 * np.hypot(lvl_u, moon_u))
    truth = {(str(r["channel"]), str(r["term"])): float(r["value"]) for r in c.truth}
    d, du = ds["desert_drift"].values, ds["desert_drift_unc"].values
    true_d = np.array([truth[(b, "drift")] for b in bands])
    assert np.all(du > 0) and np.all(np.abs(d - true_d) < 4 * du)
