"""Benchmark of the SNO search: coarse scan + root refinement against a plain 1-s scan.

Two problems, each method in its own fresh Python process (imports and table loads
included in neither timing; the time of the search itself is measured):

1. **same-site coincidences**, a year, two satellites (VENuS VM5 as mean elements, aligned
   on Libya-4, and Sentinel-2A from its TLE), 100 sites: every pass of each satellite with a
   view zenith angle <= 30 deg in daylight, then pairs within 30 min at the same site.
   Refined: ``find_overpasses`` (60-s bracketing scan, Illinois roots to 1 ms). Plain:
   ``scan_overpasses`` (the same propagator every 1 s, view zenith at every sample, local
   minima).
2. **orbit-crossing SNOs** (GSICS polar-polar), Sentinel-2A against an afternoon (13:30)
   sun-synchronous orbiter, 30 days, 100 km and 60 s: ``find_orbit_crossings`` against
   ``scan_orbit_crossings`` (every 1 s, every 1-s lag).

Reported: time of each method, the ratio, the events both find, and those only one finds.

Run by hand: ``.venv/bin/python benchmarks/bench_sno.py [--days 365] [--sites 100]
[--crossing-days 30]``. Prints a table; writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def _sites(n: int):
    import numpy as np

    from etalon.sno.sites import EXAMPLE_SITES, Site

    rng = np.random.default_rng(42)
    extra = [Site(f"S{i:03d}", float(np.degrees(np.arcsin(rng.uniform(-0.85, 0.95)))),
                  float(rng.uniform(-180, 180))) for i in range(max(0, n - len(EXAMPLE_SITES)))]
    return (list(EXAMPLE_SITES) + extra)[:n]


def _orbits(problem: str):
    from etalon.data import data_path
    from etalon.sno.orbits import align_to_site, from_tle, sun_synchronous, venus_orbit
    from etalon.sno.sites import EXAMPLE_SITES
    from etalon.sno.tle import read_tle

    s2a = from_tle(read_tle(data_path("orbits", "sentinel2_tle.txt"))[0])
    t0 = s2a.epoch
    if problem == "same-site":
        ma = align_to_site(lambda m: venus_orbit("VM5", t0, m), EXAMPLE_SITES[0], t0)
        return venus_orbit("VM5", t0, ma), s2a, t0
    return s2a, sun_synchronous("SSO-1330", 824.0, 13.5, t0), t0


def _worker(problem: str, method: str, days: float, n_sites: int, out: str) -> None:
    from etalon.sno.coincidence import (
        find_orbit_crossings,
        same_site_coincidences,
        scan_orbit_crossings,
    )
    from etalon.sno.overpass import find_overpasses, scan_overpasses

    a, b, t0 = _orbits(problem)
    start, end = t0, t0 + days * 86400.0
    if problem == "same-site":
        sites = _sites(n_sites)
        find = find_overpasses if method == "refined" else scan_overpasses
        tic = time.perf_counter()
        pa = find(a, sites, start, end, max_vza_deg=30.0, max_sza_deg=80.0)
        pb = find(b, sites, start, end, max_vza_deg=30.0, max_sza_deg=80.0)
        co = same_site_coincidences(pa, pb, max_dt_s=1800.0)
        elapsed = time.perf_counter() - tic
        events = [[str(r["site"]), float(r["t_a"]), float(r["t_b"])] for r in co]
        extra = {"passes": [len(pa), len(pb)]}
    else:
        find = find_orbit_crossings if method == "refined" else scan_orbit_crossings
        tic = time.perf_counter()
        cr = find(a, b, start, end, 100.0, 60.0)
        elapsed = time.perf_counter() - tic
        events = [["", float(r["t_a"]), float(r["t_b"])] for r in cr]
        extra = {}
    with open(out, "w") as f:
        json.dump({"elapsed_s": elapsed, "events": events, **extra}, f)


def _run(problem, method, days, n_sites, tmp):
    out = os.path.join(tmp, f"{problem}_{method}.json")
    subprocess.run([sys.executable, __file__, "--worker", problem, method, "--days", str(days),
                    "--sites", str(n_sites), "--out", out], check=True)
    with open(out) as f:
        return json.load(f)


def _match(ref, scan, tol_s):
    both = 0
    used = set()
    for s in scan:
        hit = [i for i, r in enumerate(ref) if r[0] == s[0] and abs(r[1] - s[1]) <= tol_s
               and abs(r[2] - s[2]) <= tol_s + 1 and i not in used]
        if hit:
            used.add(hit[0])
            both += 1
    return both, len(scan) - both, len(ref) - len(used)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0, help="same-site window, days (365)")
    parser.add_argument("--sites", type=int, default=100, help="sites (100)")
    parser.add_argument("--crossing-days", type=float, default=30.0,
                        help="orbit-crossing window, days (30)")
    parser.add_argument("--worker", nargs=2, metavar=("PROBLEM", "METHOD"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker[0], args.worker[1], args.days, args.sites, args.out)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="etalon-bench-sno-") as tmp:
        for problem, days, tol in (("same-site", args.days, 1.0),
                                   ("crossing", args.crossing_days, 30.0)):
            ref = _run(problem, "refined", days, args.sites, tmp)
            scan = _run(problem, "scan", days, args.sites, tmp)
            both, only_scan, only_ref = _match(ref["events"], scan["events"], tol)
            rows.append((problem, days, ref["elapsed_s"], scan["elapsed_s"],
                         scan["elapsed_s"] / ref["elapsed_s"], len(ref["events"]),
                         len(scan["events"]), both, only_scan, only_ref))
    print(f"{'problem':<10} {'days':>5} {'refined s':>10} {'1-s scan s':>11} {'ratio':>7} "
          f"{'refined':>8} {'scan':>6} {'both':>6} {'scan only':>10} {'refined only':>13}")
    for r in rows:
        print(f"{r[0]:<10} {r[1]:>5.0f} {r[2]:>10.2f} {r[3]:>11.2f} {r[4]:>7.1f} {r[5]:>8d} "
              f"{r[6]:>6d} {r[7]:>6d} {r[8]:>10d} {r[9]:>13d}")
    print(f"same-site: {args.sites} sites, VENuS VM5 (mean elements) x Sentinel-2A (TLE), "
          "vza <= 30 deg, sza <= 80 deg, |dt| <= 30 min; crossing: S2A x 13:30 SSO, 100 km, 60 s")


if __name__ == "__main__":
    main()
