"""Benchmark: a full-size 12-band VENuS-like lunar acquisition measured band by band, sequential
against band-parallel (``etalon moon measure --jobs N``), each method in its own fresh process.

The acquisition is a GSICS-style netCDF file written by
:func:`etalon.moon.simulate.write_simulated_acquisition`: 12 channels B1..B12 (the bundled VENuS
responses), a Moon 1,217 px across stretched 1.2x along track (pushbroom oversampling), shot and
read noise, hot and cold pixels, true irradiance from ROLO. Side by side:

1. ``sequential``: ``measure_file(path)``: the bands one after the other (what a user runs by default);
2. ``jobs=N``: ``measure_file(path, jobs=N)``: the bands in N worker processes.

Each method runs in a fresh ``python`` subprocess (imports, file reading, geometry and model
included in its wall time; etalon's Earth-orientation cache is warmed beforehand, as on any
machine after its first run), reports its wall time and peak resident memory (this process and its
workers, ``ru_maxrss``), and writes its rows; the rows of all methods are compared for identity.
The irradiance error against the truth is printed too. The machine's load average is printed
before and after: other work on the machine takes the second core from the parallel run.

The methods alternate round after round (``--repeat`` rounds): the best wall time of each
method is compared, and the ratio of each round is printed.

Run by hand: ``.venv/bin/python benchmarks/bench_moon_bands.py [--jobs 2] [--repeat 3]``.
Writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

_MAKE = r"""
import json, sys
from etalon.moon.simulate import write_simulated_acquisition
from etalon.moon.geometry import earth_orientation_table
truth = write_simulated_acquisition(sys.argv[1], radius_px=float(sys.argv[2]), ovrsamp_fa=float(sys.argv[3]))
earth_orientation_table()     # etalon's IERS cache, as on any machine after its first run
with open(sys.argv[4], "w") as f:
    json.dump(truth, f)
"""

_CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
from etalon.moon.measure import measure_file
path, jobs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = measure_file(path, model="rolo", jobs=jobs)
wall = time.perf_counter() - t0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
with open("/proc/self/status") as f:      # VmHWM: this process's peak, reset at exec
    rss_self = next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
rss_children = kids.ru_maxrss / 1024
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
keep = ("channel", "irr_obs", "irr_obs_unc", "irr_model", "ratio", "ratio_unc", "ovrsamp_fa_fit",
        "radius", "integration_margin", "flags")
with open(out, "w") as f:
    json.dump({"wall_s": wall, "cpu_s": cpu, "rss_self_mb": rss_self, "rss_children_mb": rss_children,
               "rows": [{k: r[k] for k in keep} for r in rows]}, f)
"""


def _run(python: str, path: str, jobs: int, out: str) -> dict:
    subprocess.run([python, "-c", _CHILD, path, str(jobs), out], check=True)
    with open(out) as f:
        return json.load(f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of the parallel run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each method once a round; best kept)")
    parser.add_argument("--radius", type=float, default=608.5, help="Moon radius across track, px")
    parser.add_argument("--ovrsamp", type=float, default=1.2, help="oversampling factor")
    args = parser.parse_args()
    os.environ.setdefault("ETALON_CACHE", tempfile.mkdtemp(prefix="etalon-bench-"))
    tmp = tempfile.mkdtemp(prefix="bench-moon-bands-")
    path = os.path.join(tmp, "venus_like_12band.nc")
    t0 = time.perf_counter()
    # written by its own process, so this one stays small (a child forked from a large
    # process would inherit its peak memory figure)
    subprocess.run([sys.executable, "-c", _MAKE, path, str(args.radius), str(args.ovrsamp),
                    os.path.join(tmp, "truth.json")], check=True)
    with open(os.path.join(tmp, "truth.json")) as f:
        truth = json.load(f)
    size_mb = os.path.getsize(path) / 1e6
    print(f"acquisition: 12 bands, Moon {2 * args.radius:.0f} px across x {args.ovrsamp} along track, "
          f"{size_mb:.0f} MB, written in {time.perf_counter() - t0:.1f} s; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    # the methods alternate, round after round, so that a change of the machine's speed
    # (other virtual machines on the host) falls on both alike; best of the rounds per method,
    # and the ratio of each round
    methods = (("sequential", 1), (f"jobs={args.jobs}", args.jobs))
    results: dict[str, dict] = {}
    rounds = []
    for k in range(args.repeat):
        walls = {}
        for name, jobs in methods:
            r = _run(sys.executable, path, jobs, os.path.join(tmp, f"{name}{k}.json"))
            walls[name] = r["wall_s"]
            if name not in results or r["wall_s"] < results[name]["wall_s"]:
                results[name] = r
        rounds.append(walls["sequential"] / walls[methods[1][0]])
    seq = results["sequential"]
    print(f"{'method':>12s} {'wall s':>8s} {'speed-up':>9s} {'CPU s':>8s} "
          f"{'peak RSS MB (main / workers)':>30s}")
    for name, r in results.items():
        print(f"{name:>12s} {r['wall_s']:8.2f} {seq['wall_s'] / r['wall_s']:9.2f} {r['cpu_s']:8.1f} "
              f"{r['rss_self_mb']:14.0f} / {r['rss_children_mb']:.0f}")
    print("speed-up of each round (sequential / parallel, run one after the other): "
          + ", ".join(f"{x:.2f}" for x in rounds) + f"; median {statistics.median(rounds):.2f}")
    print(f"load average after the runs: {os.getloadavg()[0]:.1f} (other work on the machine "
          "takes cores from the parallel run)")
    par = results[f"jobs={args.jobs}"]
    identical = seq["rows"] == par["rows"]
    print(f"rows identical: {identical}")
    errs = [abs(r["irr_obs"] / truth[r["channel"]] - 1) for r in seq["rows"]]
    fits = [abs(r["ovrsamp_fa_fit"] / args.ovrsamp - 1) for r in seq["rows"]]
    print(f"max |irr_obs / truth - 1| = {max(errs):.2e}; max |ovrsamp_fa_fit / truth - 1| = "
          f"{max(fits):.2e}; ratios {min(r['ratio'] for r in seq['rows']):.5f}.."
          f"{max(r['ratio'] for r in seq['rows']):.5f}")


if __name__ == "__main__":
    main()
