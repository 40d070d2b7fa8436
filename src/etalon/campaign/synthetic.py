"""Synthetic lunar campaigns at the measurement-table level, with their truth.

What a campaign of ``etalon moon measure`` tables would hold if the instrument did exactly
this (all numbers drawn from ``seed``):

- the band's true sensitivity ``A(t)`` drifts linearly in ``ln`` at ``d`` in
  ``drift_range`` (default -1.2 % to +0.4 % per year), or exponentially for the bands in
  ``exponential_bands`` (``ln A = b (1 - exp(-(t - t0) / tau))``); optional unexplained jumps;
- 2 or 3 PO updates (``n_updates``), at dates drawn in VM1 (2018-01 to 2019-12, and 2020-01 to
  2020-06 for a third) and in VM5 (2022-09 to 2023-12), never in the VM2-VM4 gap, each
  re-setting the gain to the current sensitivity within 0.3 % (1 sigma);
- ratios ``A(t) / gain_in_force x geometry x (1 + VM5 offset) x (1 + noise)``: the geometry is
  a phase-angle slope on each side (waxing, waning) and a libration slope (the fitted terms of
  :mod:`.geometry`); the VM5 offset is drawn in ``vm5_offset_range``; the noise is Gaussian,
  ``noise`` (0.1 %) relative, and ``ratio_unc`` states it;
- two acquisitions a month (``per_month``) from 2017-08 to 2024-07, none between the end of
  VM1 and the start of VM5 (descent, technology phase, climb);
- ``n_bad`` bad acquisitions per band (3 % to 10 % off: a partial disk, a pointing error).

The truth is a table in the layout of the campaign summary (channel, term, value): the drift of
each PO segment (mean slope of ``ln A`` between the segment's first and last good acquisition),
the measured step each update should show, the expected one from the gains, the VM5 level, and
the geometry coefficients.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SyntheticCampaign", "compare_with_truth", "simulate_campaign"]

VM1_END = "2020-10-31"
VM5_START = "2022-03-01"


@dataclass
class SyntheticCampaign:
    """A synthetic campaign.

    Attributes
    ----------
    table : astropy.table.Table
        Measurement rows (time, channel, ratio, ratio_unc, phase_angle, phase, sel_obs_lat,
        sel_obs_lon, is_bad), sorted by time then channel.
    po : astropy.table.Table
        PO registry (version, validity_start, channel, gain).
    truth : astropy.table.Table
        channel, term, value.
    noise : float
        Relative 1-sigma noise of each ratio.
    """

    table: object
    po: object
    truth: object
    noise: float

    def truth_value(self, channel: str, term: str) -> float:
        """The true value of one summary term."""
        sel = (np.asarray(self.truth["channel"]) == channel) & (np.asarray(self.truth["term"]) == term)
        if not sel.any():
            raise KeyError(f"no truth for {channel} {term}")
        return float(np.asarray(self.truth["value"])[sel][0])

    def write(self, folder: str | os.PathLike[str], files: int = 3) -> tuple[list[str], str, str]:
        """Write the measurement tables (split in ``files`` files by time), PO and truth as ECSV.

        Returns
        -------
        (table paths, PO path, truth path)
        """
        from etalon.fileio import atomic_output

        os.makedirs(folder, exist_ok=True)
        tab = self.table.copy()
        tab.remove_column("is_bad")
        edges = np.linspace(0, len(tab), files + 1).astype(int)
        # split on acquisition boundaries (all channels of one time in one file)
        times = np.array([str(s) for s in tab["time"]])
        paths = []
        for i in range(files):
            a, b = edges[i], edges[i + 1]
            while 0 < a < len(tab) and times[a] == times[a - 1]:
                a += 1
            while 0 < b < len(tab) and times[b] == times[b - 1]:
                b += 1
            part = tab[a:b]
            if len(part) == 0:
                continue
            path = os.path.join(folder, f"moon_measure_{i + 1:02d}.ecsv")
            with atomic_output(path) as tmp:
                part.write(tmp, format="ascii.ecsv", overwrite=True)
            paths.append(path)
        po_path = os.path.join(folder, "po.ecsv")
        with atomic_output(po_path) as tmp:
            self.po.write(tmp, format="ascii.ecsv", overwrite=True)
        truth_path = os.path.join(folder, "truth.ecsv")
        with atomic_output(truth_path) as tmp:
            self.truth.write(tmp, format="ascii.ecsv", overwrite=True)
        return paths, po_path, truth_path


def _dates(start: str, stop: str, per_month: int, rng) -> list[str]:
    from astropy.time import Time

    y0, m0 = int(start[:4]), int(start[5:7])
    y1, m1 = int(stop[:4]), int(stop[5:7])
    out = []
    y, m = y0, m0
    days = np.linspace(4, 26, per_month).round().astype(int) if per_month > 1 else np.array([14])
    while (y, m) <= (y1, m1):
        for d in days:
            hh, mm = rng.integers(0, 24), rng.integers(0, 60)
            iso = f"{y:04d}-{m:02d}-{int(d):02d}T{hh:02d}:{mm:02d}:00"
            if not (VM1_END < iso[:10] < VM5_START):
                out.append(iso)
        m += 1
        if m == 13:
            y, m = y + 1, 1
    Time(out, scale="utc")  # validates
    return out


def simulate_campaign(seed: int = 0, bands: Sequence[str] | None = None, *, start: str = "2017-08-01",
                      stop: str = "2024-07-31", per_month: int = 2, n_updates: int | None = None,
                      noise: float = 0.001, n_bad: int = 3,
                      drift_range: tuple[float, float] = (-0.012, 0.004),
                      vm5_offset_range: tuple[float, float] = (-0.01, 0.01),
                      phase_slope_range: tuple[float, float] = (-3e-4, 3e-4),
                      libration_slope_range: tuple[float, float] = (-2e-4, 2e-4),
                      exponential_bands: Sequence[str] = (),
                      jumps: Mapping[str, tuple[str, float]] | None = None,
                      gain_error: float = 0.003) -> SyntheticCampaign:
    """Draw a synthetic campaign (see the module docstring).

    Parameters
    ----------
    seed : int
    bands : sequence of str, optional
        Band names (default the 12 VENuS bands).
    start, stop : str
        ISO dates of the first and last month.
    per_month : int
        Acquisitions per month.
    n_updates : {2, 3}, optional
        PO updates after the first version (default: drawn, 2 or 3).
    noise : float
        Relative 1-sigma noise (0.001 = 0.1 %).
    n_bad : int
        Bad acquisitions per band.
    drift_range : (float, float)
        Range of the linear drifts, yr-1 (fractional).
    vm5_offset_range : (float, float)
        Range of the VM5 level against VM1 (fractional).
    phase_slope_range, libration_slope_range : (float, float)
        Geometry slopes, deg-1 (fractional).
    exponential_bands : sequence of str
        Bands whose drift is exponential (tau 1.5 to 4 years, initial drift in ``drift_range``).
    jumps : mapping band -> (ISO date, fraction), optional
        Unexplained instrument jumps.
    gain_error : float
        1-sigma relative error of each PO gain against the true sensitivity at its date.
    """
    from astropy.table import Table

    from etalon.campaign.series import julian_year
    from etalon.venus.bands import BANDS

    rng = np.random.default_rng(seed)
    bands = list(bands) if bands is not None else [b.name for b in BANDS]
    header_ak = {b.name: b.header_ak for b in BANDS}
    times = _dates(start, stop, per_month, rng)
    t = julian_year(times)
    phase = np.where(np.asarray(times) < VM5_START, "VM1", "VM5")
    nup = int(n_updates if n_updates is not None else rng.integers(2, 4))
    if nup not in (2, 3):
        raise ValueError("n_updates must be 2 or 3")
    upd = [f"{2018 + int(rng.integers(0, 2))}-{int(rng.integers(1, 13)):02d}-01"]
    if nup == 3:
        upd.append(f"2020-{int(rng.integers(1, 7)):02d}-01")
    m = 8 + int(rng.integers(0, 16))  # 2022-09 .. 2023-12
    upd.append(f"{2022 + m // 12}-{m % 12 + 1:02d}-01")
    versions = ["PO-1"] + [f"PO-{k + 2}" for k in range(len(upd))]
    vstart = [times[0][:10] + "T00:00:00"] + [u + "T00:00:00" for u in upd]
    tv = julian_year(vstart)
    t0 = float(t[0])
    n = t.size
    rows: dict[str, list] = {k: [] for k in ("time", "channel", "ratio", "ratio_unc", "phase_angle",
                                             "phase", "sel_obs_lat", "sel_obs_lon", "is_bad")}
    po_rows: list[tuple[str, str, str, float]] = []
    truth: list[tuple[str, str, float]] = []
    # one geometry per acquisition (the same Moon for all bands)
    g = rng.uniform(25, 65, n) * rng.choice([-1.0, 1.0], n)
    lat = rng.uniform(-6.5, 6.5, n)
    lon = rng.uniform(-7.5, 7.5, n)
    seg = np.searchsorted(tv, t, side="right") - 1
    jumps = dict(jumps or {})
    for band in bands:
        d = rng.uniform(*drift_range)
        if band in exponential_bands:
            tau = rng.uniform(1.5, 4.0)

            def lnA(x, d=d, tau=tau):
                return d * tau * (1 - np.exp(-(np.asarray(x) - t0) / tau))
        else:
            def lnA(x, d=d):
                return d * (np.asarray(x) - t0)
        jump_t, jump = (None, 0.0)
        if band in jumps:
            jump_t, jump = float(julian_year(jumps[band][0])[0]), float(jumps[band][1])

        def lnA_full(x, lnA=lnA, jump_t=jump_t, jump=jump):
            x = np.asarray(x, dtype=float)
            return lnA(x) + (np.log1p(jump) * (x > jump_t) if jump_t is not None else 0.0)

        a0 = header_ak.get(band, 1.0)
        gains = np.array([a0 * np.exp(lnA_full(x)) * (1 + rng.normal(0, gain_error)) for x in tv])
        for v, s, gk in zip(versions, vstart, gains, strict=True):
            po_rows.append((v, s, band, float(gk)))
        sw, sn = rng.uniform(*phase_slope_range, 2)
        sl, so = rng.uniform(*libration_slope_range, 2)
        off = rng.uniform(*vm5_offset_range)
        x = np.abs(g) - 45.0
        geo = np.where(g < 0, sw * x, sn * x) + sl * lat + so * lon
        ln_ratio = np.log(a0) + lnA_full(t) - np.log(gains[seg]) + geo + np.log1p(off) * (phase == "VM5")
        ratio = np.exp(ln_ratio) * (1 + rng.normal(0, noise, n))
        bad = np.zeros(n, bool)
        if n_bad:
            ib = rng.choice(n, size=n_bad, replace=False)
            bad[ib] = True
            ratio[ib] *= 1 + rng.choice([-1.0, 1.0], n_bad) * rng.uniform(0.03, 0.10, n_bad)
        rows["time"] += list(times)
        rows["channel"] += [band] * n
        rows["ratio"] += list(ratio)
        rows["ratio_unc"] += list(noise * ratio)
        rows["phase_angle"] += list(g)
        rows["phase"] += list(phase)
        rows["sel_obs_lat"] += list(lat)
        rows["sel_obs_lon"] += list(lon)
        rows["is_bad"] += list(bad)
        good = ~bad
        for k, v in enumerate(versions):
            ins = good & (seg == k)
            if ins.sum() >= 2:
                t1, t2 = t[ins].min(), t[ins].max()
                truth.append((band, f"drift:{v}", float((lnA(t2) - lnA(t1)) / (t2 - t1))))
            if k:
                exp_step = gains[k - 1] / gains[k] - 1
                jump_here = jump_t is not None and abs(jump_t - tv[k]) < 1e-9
                step = (1 + exp_step) * (1 + (jump if jump_here else 0)) - 1
                truth.append((band, f"step:{v}", float(step)))
                truth.append((band, f"expected_step:{v}", float(exp_step)))
        truth.append((band, "phase:VM5", float(off)))
        for name, val in (("phase_waxing", sw), ("phase_waning", sn), ("libration_lat", sl),
                          ("libration_lon", so)):
            truth.append((band, f"geometry:{name}", float(val)))
        if jump_t is not None:
            truth.append((band, f"changepoint:{jumps[band][0]}", float(jump)))
    tab = Table(rows)
    order = np.lexsort((np.asarray([bands.index(c) for c in tab["channel"]]), np.asarray(tab["time"])))
    tab = tab[order]
    tab["phase_angle"].unit = "deg"
    tab["sel_obs_lat"].unit = "deg"
    tab["sel_obs_lon"].unit = "deg"
    tab.meta.update({"model": "synthetic (etalon.campaign.synthetic)", "seed": seed, "noise": noise})
    po = Table(rows=po_rows, names=("version", "validity_start", "channel", "gain"))
    po.meta["comment"] = "synthetic PO registry: gain A_k in force from validity_start"
    tr = Table(rows=truth, names=("channel", "term", "value"))
    tr.meta.update({"seed": seed, "updates": upd})
    return SyntheticCampaign(tab, po, tr, noise)


def compare_with_truth(result, truth):
    """Join a campaign summary with the truth: pulls of every term with an uncertainty.

    Parameters
    ----------
    result : CampaignResult or xarray.Dataset
    truth : astropy.table.Table
        channel, term, value (:attr:`SyntheticCampaign.truth`).

    Returns
    -------
    astropy.table.Table
        channel, term, value, unc, truth, pull (``(value - truth) / unc``), for the drift, step
        and phase terms present in both.
    """
    from astropy.table import Table

    from etalon.campaign.results import summary_table

    s = summary_table(result)
    lookup = {(str(c), str(t)): float(v) for c, t, v in zip(truth["channel"], truth["term"], truth["value"],
                                                             strict=True)}
    rows = []
    for c, t, v, u in zip(s["channel"], s["term"], s["value"], s["unc"], strict=True):
        key = (str(c), str(t))
        if key in lookup and u > 0:
            pull = (float(v) - lookup[key]) / float(u)
            rows.append((key[0], key[1], float(v), float(u), lookup[key], pull))
    return Table(rows=rows or None, names=("channel", "term", "value", "unc", "truth", "pull"),
                 dtype=(str, str, float, float, float, float))
