"""Benchmark: CT1/CT2 quantification of one 12-band acquisition, bands sequential or parallel.

Each method runs in its own fresh Python process (subprocess), on the same simulated 12-band
Moon scene (``--size`` px, Moon radius ``size/8``, 12 CT2 ghosts, CT1 halos in every band):

1. ``sequential``: ``quantify(..., workers=1)``: the 12 victim bands one after the other;
2. ``threads``: ``quantify(..., workers=N)``: victim bands in N threads (numpy/scipy FFTs and
   BLAS release the GIL);
3. ``processes``: one process per detector unit (``concurrent.futures.ProcessPoolExecutor``),
   what a user would write around a per-unit call.

Run by hand: ``.venv/bin/python benchmarks/bench_straylight.py [--size 480] [--workers 2]``.
Prints the median wall time of each method and the ratio to sequential; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_CHILD = r"""
import json, statistics, sys, time
import numpy as np
from concurrent.futures import ProcessPoolExecutor
from etalon.straylight.models import CT1Kernel, CT2Ghost
from etalon.straylight.quantify import quantify
from etalon.straylight.simulate import simulate_acquisition
from etalon.venus.bands import BAND_NAMES, DETECTOR_UNITS

method, size, workers, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
radius = size / 8
ct1 = [CT1Kernel(b, 0.02, 5.0) for b in BAND_NAMES]
ct2, prior = [], []
for u, bs in DETECTOR_UNITS.items():
    for s in bs:
        for v in bs:
            if s != v:
                a, d = rng.uniform(0, 2 * np.pi), rng.uniform(1.3, 2.5) * radius
                g = CT2Ghost(s, v, 1e-2 if rng.random() < 0.5 else 0.0, d * np.cos(a), d * np.sin(a), 1.5)
                prior.append(g)
                if g.coefficient:
                    ct2.append(g)
acq = simulate_acquisition(shape=(size, size), radius=radius, ct1=ct1, ct2=ct2, seed=1)

def unit(u):
    bs = DETECTOR_UNITS[u]
    return quantify({b: acq.images[b] for b in bs}, units={u: bs}, prior=prior)

def run():
    if method == "processes":
        with ProcessPoolExecutor(workers) as ex:
            return list(ex.map(unit, DETECTOR_UNITS))
    return quantify(acq.images, prior=prior, workers=workers if method == "threads" else 1)

times = []
for _ in range(repeat):
    t0 = time.perf_counter()
    run()
    times.append(time.perf_counter() - t0)
print(json.dumps({"method": method, "median_s": statistics.median(times)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=480, help="frame size, pixels (default 480)")
    parser.add_argument("--workers", type=int, default=2, help="threads / processes (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per method (median)")
    args = parser.parse_args()
    results = {}
    for method in ("sequential", "threads", "processes"):
        out = subprocess.run([sys.executable, "-c", _CHILD, method, str(args.size), str(args.workers),
                              str(args.repeat)], capture_output=True, text=True, check=True)
        results[method] = json.loads(out.stdout.strip().splitlines()[-1])["median_s"]
    base = results["sequential"]
    print(f"12-band acquisition {args.size} x {args.size} px, {args.workers} workers")
    print(f"{'method':<12s} {'median s':>9s} {'vs sequential':>14s}")
    for m, t in results.items():
        print(f"{m:<12s} {t:9.2f} {base / t:13.2f}x")


if __name__ == "__main__":
    main()
