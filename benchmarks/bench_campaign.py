"""Benchmark of the whole campaign analysis, tables to results file, each method in a fresh process.

Side by side on the same synthetic campaigns (``etalon.campaign.synthetic``, 12 bands, truth
known), each in its own subprocess (imports included, like a user's run), wall time and peak
memory (``ru_maxrss`` of the child):

1. ``etalon campaign analyze`` (CLI: read tables + PO, joint fit per band with outlier
   rejection, trend-model choice and change-point search, write RESULTS.nc + SUMMARY.ecsv);
2. what a user would write instead: per band and PO segment ``numpy.polyfit`` of the ratio
   against time, weighted, no geometry term, no outlier rejection, steps from the two lines at
   the validity date, written to an ECSV. Its drift errors against the truth are printed beside
   its time: fast, but biased by the phase-angle dependence and the bad acquisitions.

CPU time (user + system of the child) is the figure to compare on a shared machine; the
wall time is printed beside it. Sizes: ``scaled`` (about 80 acquisitions x 12 bands: one
acquisition a month, 68 with the VM2-VM4 gap) and ``full`` (two a month, 136 x 12). With
``--from-files`` and the VENuS campaign simulator (``etalon.venus.simulate``), a third row
times a simulated campaign of 80 lunar netCDF files measured by ``etalon moon measure`` then
analysed (the measurement dominates).

Run by hand: ``.venv/bin/python benchmarks/bench_campaign.py [--repeat 3] [--from-files]``.
Prints a table; writes only in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
ETALON = str(Path(PY).with_name("etalon"))

BASELINE = r'''
import sys, json
import numpy as np
from astropy.table import Table, vstack
from astropy.time import Time
tables, po_path, out = sys.argv[1:-2], sys.argv[-2], sys.argv[-1]
tab = vstack([Table.read(p, format="ascii.ecsv") for p in tables])
po = Table.read(po_path, format="ascii.ecsv")
t = Time(list(tab["time"])).decimalyear
rows = []
versions = list(dict.fromkeys(po["version"]))
starts = Time(list(dict.fromkeys(po["validity_start"]))).decimalyear
for ch in sorted(set(tab["channel"])):
    sel = np.asarray(tab["channel"]) == ch
    tt, y, u = t[sel], np.asarray(tab["ratio"])[sel], np.asarray(tab["ratio_unc"])[sel]
    seg = np.searchsorted(starts, tt, side="right") - 1
    fits = {}
    for k, v in enumerate(versions):
        m = seg == k
        if m.sum() >= 3:
            c = np.polyfit(tt[m] - tt[m].mean(), y[m], 1, w=1 / u[m])
            fits[k] = (c, tt[m].mean())
            rows.append((ch, f"drift:{v}", c[0] / c[1]))
    for k in range(1, len(versions)):
        if k in fits and k - 1 in fits:
            (a, ma), (b, mb) = fits[k - 1], fits[k]
            after, before = np.polyval(b, starts[k] - mb), np.polyval(a, starts[k] - ma)
            rows.append((ch, f"step:{versions[k]}", after / before - 1))
Table(rows=rows, names=("channel", "term", "value")).write(out, format="ascii.ecsv", overwrite=True)
'''

CHILD = r'''
import resource, subprocess, sys, time, json
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
dt = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "s": dt, "cpu": ru.ru_utime + ru.ru_stime, "mb": ru.ru_maxrss / 1024}))
'''


def _run(cmd: list[str]) -> tuple[float, float, float]:
    out = subprocess.run([PY, "-c", CHILD, *cmd], capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    if r["rc"] != 0:
        raise RuntimeError(f"{cmd[:3]} failed")
    return r["s"], r["mb"], r["cpu"]


def _drift_errors(summary: str, truth: str) -> tuple[float, float]:
    """rms and median |error| of the drift terms against the truth, % per year."""
    import numpy as np
    from astropy.table import Table

    s = Table.read(summary, format="ascii.ecsv")
    tr = Table.read(truth, format="ascii.ecsv")
    look = {(c, t): v for c, t, v in zip(tr["channel"], tr["term"], tr["value"], strict=True)}
    err = np.array([v - look[(c, t)] for c, t, v in zip(s["channel"], s["term"], s["value"], strict=True)
                    if t.startswith("drift:") and (c, t) in look])
    return 100 * float(np.sqrt(np.mean(err**2))), 100 * float(np.median(np.abs(err)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--from-files", action="store_true",
                        help="also time simulator files -> etalon moon measure -> analyze (slow)")
    args = parser.parse_args()
    from etalon.campaign.synthetic import simulate_campaign

    work = Path(tempfile.mkdtemp(prefix="etalon-bench-campaign-"))
    rows = []
    for size, per_month in (("scaled", 1), ("full", 2)):
        camp = simulate_campaign(args.seed, per_month=per_month)
        tables, po, truth = camp.write(work / size, files=3)
        n_acq = len(camp.table) // 12
        res = {}
        for name, cmd, summ in (
            ("etalon campaign analyze", [ETALON, "campaign", "analyze", *tables, "--po", po,
                                         "-o", str(work / size / "R.nc"), "--summary",
                                         str(work / size / "S.ecsv"), "-q"], work / size / "S.ecsv"),
            ("numpy.polyfit per segment", [PY, "-c", BASELINE, *tables, po, str(work / size / "B.ecsv")],
             work / size / "B.ecsv"),
        ):
            runs = [_run(cmd) for _ in range(args.repeat)]
            res[name] = (statistics.median(r[0] for r in runs), statistics.median(r[2] for r in runs),
                         max(r[1] for r in runs), *_drift_errors(str(summ), truth))
        base = res["etalon campaign analyze"][1]
        for name, (s, cpu, mb, rms, mx) in res.items():
            rows.append((size, f"{n_acq} x 12", name, s, cpu, cpu / base, mb, rms, mx))
    if args.from_files:
        try:
            from etalon.venus import simulate as vsim
        except ImportError:
            print("etalon.venus.simulate not available: --from-files skipped")
        else:
            out = work / "files"
            cfg = vsim.CampaignConfig(scale=0.25, max_acquisitions=80)
            vsim.simulate_campaign(out, cfg)
            t0 = time.perf_counter()
            s1, mb1, c1 = _run([ETALON, "moon", "measure", *sorted(map(str, out.glob("*.nc"))), "-o",
                                str(out / "m.ecsv"), "--no-progress"])
            s2, mb2, c2 = _run([ETALON, "campaign", "analyze", str(out / "m.ecsv"), "--po",
                                str(out / "po.ecsv"), "-o", str(out / "R.nc"), "-q"])
            rows.append(("files", "80 x 12", "moon measure + campaign analyze", s1 + s2, c1 + c2,
                         float("nan"), max(mb1, mb2), float("nan"), float("nan")))
            del t0
    print(f"{'size':7s} {'campaign':9s} {'method':34s} {'wall s':>7s} {'cpu s':>6s} {'cpu ratio':>9s} "
          f"{'peak MB':>8s} {'drift err rms %/yr':>19s} {'median':>6s}")
    for r in rows:
        print(f"{r[0]:7s} {r[1]:9s} {r[2]:34s} {r[3]:7.2f} {r[4]:6.2f} {r[5]:9.2f} {r[6]:8.0f} {r[7]:19.3f} "
              f"{r[8]:6.3f}")
    print(f"(median of {args.repeat} fresh processes each; CPU count {os.cpu_count()}; "
          f"{resource.getpagesize()} B pages)")


if __name__ == "__main__":
    main()
