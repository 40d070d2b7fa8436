"""Campaign simulator: dates, truth consistency, determinism, and measurement against truth."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from astropy.table import Table
from astropy.time import Time

from etalon.moon.gsics import read_gsics_lunar
from etalon.venus import phases as ph
from etalon.venus.bands import BAND_NAMES, BANDS
from etalon.venus.po import read_po
from etalon.venus.simulate import (
    CampaignConfig,
    acquisition_times,
    gain_history,
    po_registry,
    simulate_acquisition,
    simulate_campaign,
    sun_sync_inclination_deg,
)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    out = tmp_path_factory.mktemp("venus_campaign")
    cfg = CampaignConfig(scale=0.125, max_acquisitions=4, seed=3, start="2017-09-01", end="2024-07-31")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = simulate_campaign(out, cfg)
    return out, res


def test_acquisition_dates_phases_and_cadence():
    t, p = acquisition_times("2018-01-01", "2019-12-31", per_month=1, seed=0)
    assert 23 <= len(t) <= 26                       # about monthly over 2 years
    assert np.all(np.diff(t.mjd) > 10)
    assert np.all((np.abs(p) >= 7) & (np.abs(p) <= 88))
    assert (p < 0).sum() >= 11 and (p > 0).sum() >= 11    # waxing and waning alternate
    t2, p2 = acquisition_times("2018-01-01", "2019-12-31", per_month=2, seed=0)
    assert 47 <= len(t2) <= 52
    # the target is met on the geocentric phase curve: the observer's phase differs by parallax only
    from etalon.moon.geometry import lunar_geometry

    g = lunar_geometry(t2[5], [0, 0, 0], "J2000")
    assert g.phase_angle_deg == pytest.approx(p2[5], abs=0.3)


def test_sun_synchronous_orbit():
    assert sun_sync_inclination_deg(720) == pytest.approx(98.3, abs=0.1)
    assert sun_sync_inclination_deg(560) == pytest.approx(97.6, abs=0.1)


def test_truth_files_suffice(campaign):
    out, _res = campaign
    truth = Table.read(out / "truth.ecsv")
    meta = json.loads((out / "truth.json").read_text())
    reg = read_po(out / "po.ecsv")
    assert len(truth) == 4 * 12 and meta["n_acquisitions"] == 4
    assert reg.versions == ["PO-1", "PO-2", "PO-3", "PO-4", "PO-5"]
    gh = meta["gain_history"]
    for row in truth:
        b = row["channel"]
        t_years = (Time(row["time"]).mjd - Time(gh["t0"]).mjd) / 365.25
        g = 1 - gh["a"][b] * (1 - math.exp(-t_years / gh["tau_years"][b])) - gh["b_per_year"][b] * t_years
        assert row["gain_true"] == pytest.approx(gh["A0"][b] * g, rel=1e-12)
        assert row["gain_po"] == reg.in_force(row["time"]).ak[b]
        assert row["po_version"] == reg.in_force(row["time"]).version
        assert row["irr_true"] == pytest.approx(row["irr_model"] * meta["moon_bias"][b], rel=1e-12)
        # every factor between the true Moon and what the L1 image holds is in the truth
        assert row["irr_expected"] == pytest.approx(
            row["irr_true"] * row["gain_true"] / row["gain_po"] * row["equalisation_factor"]
            * row["straylight_factor"], rel=1e-9)
        assert row["phase_name"] == ph.phase_at(row["time"])
        obs = np.array([row["observer_x"], row["observer_y"], row["observer_z"]])
        assert np.linalg.norm(obs) - ph.EARTH_RADIUS_KM == pytest.approx(row["altitude_km"], abs=1e-6)
        assert row["ovrsamp_fa"] == pytest.approx(ph.oversampling_factor(6e-3, row["altitude_km"]))


def test_desert_written_beside_with_same_gain_and_po(campaign):
    pytest.importorskip("etalon.desert.simulate")
    out, res = campaign
    d = Table.read(out / "desert.ecsv")
    reg = res["registry"]
    assert len(d) >= 150 * 12                          # every 16 days over ~7 years
    row = d[len(d) // 2]
    assert row["ak_in_force"] == pytest.approx(reg.in_force(row["time"]).ak[row["band"]])
    cfg = res["config"]
    t_years = (Time(row["time"]).mjd - Time(cfg.t0).mjd) / 365.25
    b = row["band"]
    a0 = next(x.header_ak for x in BANDS if x.name == b)
    g = gain_history(t_years, cfg.exp_amplitude[b], cfg.exp_tau_years[b], cfg.linear_per_year[b])
    assert row["true_gain"] == pytest.approx(a0 * g, rel=1e-3)


def test_po_updates_correct_most_not_all_of_the_drift():
    cfg = CampaignConfig(po_gain_error=0.0)
    reg = po_registry(cfg)
    assert [s.validity_start[:10] for s in reg] == ["2017-08-02", "2019-06-01", "2022-03-01",
                                                    "2022-09-01", "2023-09-01"]
    # VM5 start: dark and equalisation redone, A_k unchanged (separable from the A_k step)
    assert reg["PO-3"].ak == reg["PO-2"].ak and reg["PO-4"].ak != reg["PO-3"].ak
    assert reg["PO-3"].darkcu["B1"] == 9 and reg["PO-2"].darkcu["B1"] == 8
    for s in (reg["PO-2"], reg["PO-4"], reg["PO-5"]):
        t = (s.start_time.mjd - Time(cfg.t0).mjd) / 365.25
        for b in BANDS:
            g = gain_history(t, cfg.exp_amplitude[b.name], cfg.exp_tau_years[b.name],
                             cfg.linear_per_year[b.name])
            left = (b.header_ak * g) / s.ak[b.name]       # apparent ratio just after the update
            assert 1 - left == pytest.approx(0.2 * (1 - g) / (1 - 0.8 * (1 - g)), abs=2e-6)
    assert reg["PO-3"].darkcu["B1"] == 9 and reg["PO-2"].darkcu["B1"] == 8


def test_files_are_gsics_and_hold_l1_and_raw(campaign):
    _out, res = campaign
    truth = res["truth"]
    f = res["files"][0]
    obs = read_gsics_lunar(f)
    assert [c.name for c in obs.channels] == list(BAND_NAMES)
    row = truth[(truth["file"] == f.name) & (truth["channel"] == "B4")][0]
    ch = obs.channel("B4")
    assert ch.pix_solid_ang == pytest.approx((ph.IFOV_RAD / 0.125) ** 2)
    assert ch.ovrsamp_fa == pytest.approx(row["ovrsamp_fa"])
    dc = np.ma.filled(ch.dc_imagette, 0).astype(float)
    rad = np.ma.filled(ch.rad_imagette, 0)
    # radiance from the unrounded Level-1 counts: dc is its rounding (within half a count)
    resid = rad * row["gain_po"] + 100.0 - dc
    assert np.all(np.abs(resid) <= 0.5 + 1e-3)
    assert 0.2 < np.std(resid) < 0.4               # uniform rounding error, 0.29 count rms
    # the stretched Moon: lit rows span about 2 r f, lit columns at most 2 r
    lit = dc > 100 + 0.3 * row["moon_mean_dn"]
    rows_lit = np.where(lit.sum(axis=1) >= 5)[0]      # ignore hot pixels and noise
    assert np.ptp(rows_lit) == pytest.approx(2 * row["radius_row"], rel=0.06)
    # parallax: units D1 and D4 put the Moon at different lines
    c1 = truth[(truth["file"] == f.name) & (truth["channel"] == "B1")][0]["centre_y"]
    c6 = truth[(truth["file"] == f.name) & (truth["channel"] == "B6")][0]["centre_y"]
    # D4 sits 120 px x scale x f below D1 (project layout) give or take the pointing error
    assert c6 - c1 == pytest.approx(120 * 0.125 * row["ovrsamp_fa"], abs=4 * 15 * 0.125)
    t1, t6 = (truth[(truth["file"] == f.name) & (truth["channel"] == b)][0]["time_offset_s"]
              for b in ("B1", "B6"))
    assert t6 - t1 == pytest.approx(math.radians(1.25) / 6e-3)
    import netCDF4

    with netCDF4.Dataset(f) as ds:
        raw = ds["dc_raw_imgt"][:, :, 3].astype(float)
        dark_t, gain_t = ds["dark_true"][:, 3], ds["relgain_true"][:, 3]
    # raw DN = A_true G_true L + D_true: deep-space columns sit at the true dark
    assert np.median(raw[:10]) == pytest.approx(np.median(dark_t), abs=1.0)
    assert abs(np.mean(gain_t) - 1) < 0.003               # a crop of an array normalised to 1


def test_deterministic_by_seed(tmp_path):
    cfg = CampaignConfig(scale=0.05, seed=11, desert=False, straylight=False)
    reg = po_registry(cfg)
    t = Time("2022-06-10T03:00:00")
    a = simulate_acquisition(t, cfg, reg, 0)
    b = simulate_acquisition(t, cfg, reg, 0)
    c = simulate_acquisition(t, CampaignConfig(scale=0.05, seed=12, desert=False, straylight=False), reg, 0)
    for band in ("B1", "B7"):
        np.testing.assert_array_equal(a.dc[band], b.dc[band])
        np.testing.assert_array_equal(a.raw[band], b.raw[band])
    assert not np.array_equal(a.dc["B7"], c.dc["B7"])
    assert a.truth == b.truth


def test_measure_recovers_truth(campaign):
    """`etalon moon measure` (Laplace, the per-channel measurement it runs) on the scaled
    campaign: |irr_obs - irr_expected| within 3 photon sigmas + the systematic budget of
    docs/venus-simulator.md, for every band whose lit disk averages >= 5 DN."""
    from etalon.venus.validate import compare_with_truth

    _out, res = campaign
    table = compare_with_truth(res["files"], res["truth"])
    assert len(table) == 4 * 12
    assessed = table[np.isfinite(table["budget"])]
    assert len(assessed) >= 4 * 11                     # all but the faintest B1 measurements
    bad = assessed[~assessed["within"]]
    assert len(bad) == 0, bad["file", "channel", "rel_error", "allowed", "error"]
    assert np.all(np.abs(assessed["rel_error"]) > 0)   # a real comparison, not a copy
