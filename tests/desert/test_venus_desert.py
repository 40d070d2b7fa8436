"""Simulated VENuS desert acquisitions: geometry, truth, and honest desert-derived terms."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from astropy.time import Time

from etalon.desert.compare import compare_moon_desert, venus_desert_terms
from etalon.desert.simulate import simulate_venus_desert, solar_angles, venus_band_reflectance

BANDS = [f"B{i}" for i in range(1, 13)]


def campaign(seed: int = 0, step: int = 8, cloud_fraction: float = 0.03):
    """A VM1 + VM5 desert campaign: linear drift per band, a VM5 gain offset, two PO updates."""
    from etalon.venus.phases import phases_at

    mjd = np.concatenate([np.arange(Time("2018-01-01").mjd, Time("2020-10-30").mjd, step),
                          np.arange(Time("2022-03-05").mjd, Time("2024-07-30").mjd, step)])
    t = Time(mjd, format="mjd", scale="utc")
    ph = phases_at(t)
    ty = 2000 + (mjd - 51544.5) / 365.25
    rng = np.random.default_rng(1000 + seed)
    gain, ak, truth = {}, {}, {"offset": {}, "drift": {}}
    for b in BANDS:
        d = rng.uniform(-0.012, 0.004)
        off = rng.uniform(-0.02, 0.02)
        gain[b] = 1.5 * np.exp(d * (ty - 2018)) * np.where(ph == "VM5", 1 + off, 1.0)
        ak[b] = 1.5 * np.where(ty > 2019.5, 0.99, 1.0) * np.where(ty > 2023, 0.985, 1.0)
        truth["offset"][b], truth["drift"][b] = off, d
    tab = simulate_venus_desert(t, gain, ak, ph, seed=seed, cloud_fraction=cloud_fraction)
    return tab, truth


@pytest.mark.parametrize(("iso", "sza", "saa"), [
    # reference: astropy get_sun -> AltAz at 28.55 N, 23.39 E (no refraction), computed once
    ("2021-03-20T10:41:00", 28.58459, 183.72832),
    ("2021-06-21T10:23:00", 5.24894, 166.63450),
    ("2019-12-01T08:56:26", 53.80088, 157.15504),
    ("2023-09-10T08:56:26", 31.34366, 134.71392),
])
def test_solar_geometry(iso, sza, saa):
    z, a = solar_angles(Time(iso, scale="utc"), 28.55, 23.39)
    assert z[0] == pytest.approx(sza, abs=0.01) and a[0] == pytest.approx(saa, abs=0.02)


def test_simulated_table_truth():
    tab, _truth = campaign(seed=0, step=30, cloud_fraction=0.0)
    n = len(tab) // 12
    assert set(tab["band"]) == set(BANDS) and len(tab) == 12 * n
    b4 = tab[tab["band"] == "B4"]
    # overpass at 10:30 local mean solar time: 10.5 - 23.39/15 h = 08:56 UTC
    assert b4["time"][0].endswith("T08:56:26.400")
    vm1, vm5 = b4[b4["phase"] == "VM1"], b4[b4["phase"] == "VM5"]
    assert np.allclose(vm1["vza"], np.degrees(np.arctan(120 / 720)))
    assert np.allclose(vm5["vza"], np.degrees(np.arctan(150 / 560)))
    np.testing.assert_allclose(b4["gain_factor"], b4["true_gain"] / b4["ak_in_force"])
    # observed / (truth x gain factor) is the noise: mean 1, rms = the stated sigma
    r = b4["rho"] / (b4["rho_true"] * b4["gain_factor"])
    assert abs(np.mean(r) - 1) < 0.005 and 0.006 < np.std(r) < 0.013
    # the site reflectance at the reference geometry is the spectrum through the VENuS response
    assert venus_band_reflectance()["B4"] == pytest.approx(0.1868, abs=5e-4)
    with pytest.raises(ValueError, match="true_gain has no values"):
        simulate_venus_desert(Time(["2018-01-01"]), {}, {}, ["VM1"])


def test_desert_terms_within_uncertainty_of_truth():
    """Acceptance: desert-derived VM5 level and drift, pulls against the truth, 30 campaigns."""
    pulls = {"phase:VM5": [], "drift:all": []}
    err_true = []
    for seed in range(30):
        tab, truth = campaign(seed=seed)
        terms = venus_desert_terms(tab)
        assert not terms.meta["failed"]
        for row in terms:
            if row["term"] in pulls:
                pulls[row["term"]].append((row["value"] - row["truth"]) / row["unc"])
            if row["term"] == "phase:VM5":
                err_true.append((row["value"] - truth["offset"][row["channel"]]) / row["unc"])
                assert abs(row["truth"] - truth["offset"][row["channel"]]) < 1e-4
    for term, p in pulls.items():
        p = np.array(p)
        assert p.size == 360
        assert 0.8 < np.sqrt(np.mean(p ** 2)) < 1.25, term
        assert np.mean(np.abs(p) < 3) > 0.98, term
    assert 0.8 < np.sqrt(np.mean(np.square(err_true))) < 1.25


def test_clouds_flagged():
    tab, _ = campaign(seed=3, cloud_fraction=0.1)
    terms = venus_desert_terms(tab)
    n_cloudy = int(np.sum(tab["cloudy"][tab["band"] == "B1"]))
    assert n_cloudy > 10
    assert np.all(terms["n_outliers"] >= n_cloudy)


def test_compare_consistent_where_truth_says_so():
    tab, truth = campaign(seed=7)
    terms = venus_desert_terms(tab)
    # a Moon summary that agrees with the truth except B3, where the Moon sees an extra +2 %
    rows = []
    for b in BANDS:
        moon = truth["offset"][b] + (0.02 if b == "B3" else 0.0)
        rows += [(b, "phase:VM5", moon, 0.001), (b, "drift:1", truth["drift"][b], 5e-4),
                 (b, "drift:2", truth["drift"][b], 5e-4)]
    moon = Table(rows=rows, names=("channel", "term", "value", "unc"))
    c = compare_moon_desert(moon, terms)
    vm5 = c[c["term"] == "phase:VM5"]
    assert not vm5["consistent"][vm5["channel"] == "B3"][0]
    assert np.mean(vm5["consistent"][vm5["channel"] != "B3"]) >= 10 / 11
    ref = c[c["term"] == "phase:VM1"]
    assert np.all(ref["difference"] == 0) and np.all(ref["consistent"])
    dr = c[c["term"] == "drift"]
    assert np.allclose(dr["moon"], [truth["drift"][b] for b in dr["channel"]])
    assert np.all(np.abs(dr["z"]) < 4)
    with pytest.raises(ValueError, match="no band in common"):
        compare_moon_desert(Table(rows=[("X1", "phase:VM5", 0.0, 1.0)],
                                  names=("channel", "term", "value", "unc")), terms)
