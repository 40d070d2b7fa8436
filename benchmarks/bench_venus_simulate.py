"""Benchmark: one full-size simulated VENuS lunar acquisition (12 bands, Moon ~1,217 px).

Each method runs in its own fresh Python process (imports included in nothing but the
reported "import" line), side by side:

1. ``etalon.venus.simulate.simulate_acquisition``: the whole chain (geometry, ROLO x bias,
   stretched Moon, PSF, CT1/CT2, dark / relative gain, noise, hot pixels, Level 1 with the PO);
2. the same plus ``write_acquisition`` (the GSICS netCDF with raw DN and per-column arrays);
3. what a user would pick instead: ``etalon.moon.simulate.simulate_moon_image`` twelve times
   (one circular Moon per band, same imagette size, no oversampling, PO, parallax or ghosts).

Run by hand: ``.venv/bin/python benchmarks/bench_venus_simulate.py [--scale 1.0]``. Prints wall
and CPU times and the ratios; writes only to a temporary folder (removed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import logging; logging.disable(logging.WARNING)
method, scale, tmp = sys.argv[1], float(sys.argv[2]), sys.argv[3]
t_imp = time.perf_counter()
import numpy as np
from astropy.time import Time
from etalon.venus.simulate import (CampaignConfig, default_ct1, default_ct2, po_registry,
                                   simulate_acquisition, write_acquisition, _image_geometry)
from etalon.moon.simulate import simulate_moon_image
from etalon.venus import phases as ph
t_imp = time.perf_counter() - t_imp
cfg = CampaignConfig(scale=scale, seed=0, desert=False)
reg = po_registry(cfg)
t = Time("2022-05-10T03:00:00")
ct1, ct2 = default_ct1(scale), default_ct2(scale)
t0, c0 = time.perf_counter(), time.process_time()
if method in ("venus", "venus+write"):
    acq = simulate_acquisition(t, cfg, reg, 0, None, ct1, ct2)
    shape = acq.dc["B1"].shape
    if method == "venus+write":
        write_acquisition(acq, tmp + "/acq.nc")
else:
    rows, cols, radius = _image_geometry(cfg, ph.MOON_MEAN_DISTANCE_KM, ph.oversampling_factor(6e-3, 560))
    shape = (rows, cols)
    for k in range(12):
        simulate_moon_image(40.0, shape=shape, centre_xy=(cols / 2, rows / 2), radius=radius, seed=k)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"method": method, "wall_s": wall, "cpu_s": cpu, "import_s": t_imp,
                  "shape": list(shape), "maxrss_mb": rss}))
"""

METHODS = {
    "venus": "etalon.venus simulate_acquisition (12 bands, full chain)",
    "venus+write": "etalon.venus simulate + write_acquisition (GSICS netCDF)",
    "moon-x12": "etalon.moon.simulate_moon_image x 12 (circles, no PO/ghosts)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="image scale (1 = full size)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="etalon-bench-venus-") as tmp:
        for m in METHODS:
            out = subprocess.run([sys.executable, "-c", _CHILD, m, str(args.scale), tmp],
                                 capture_output=True, text=True, check=True).stdout
            results[m] = json.loads(out.strip().splitlines()[-1])
    ref = results["venus"]["wall_s"]
    print(f"one VENuS lunar acquisition, scale {args.scale}, imagette {results['venus']['shape']} x 12 bands")
    print(f"{'method':62s} {'wall s':>8s} {'cpu s':>8s} {'vs venus':>9s} {'RSS MB':>8s}")
    for m, label in METHODS.items():
        r = results[m]
        print(f"{label:62s} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r['wall_s'] / ref:9.2f} "
              f"{r['maxrss_mb']:8.0f}")
    print(f"(imports, not timed above: {results['venus']['import_s']:.1f} s)")


if __name__ == "__main__":
    main()
