"""Benchmark of etalon's BRDF normalisation against scipy.optimize.curve_fit, in one run.

The same job on the real MODIS-Aqua Libya-4 series (2114 acquisitions, 12 fitted bands):
fit the Ross-thick / Li-sparse-R model per band by weighted least squares with the same
iterative 3.5-sigma robust rejection, and give each acquisition's reflectance at SZA 30, VZA 0.

1. ``etalon``: :func:`etalon.desert.brdf.normalise_series` (linear WLS by ``lstsq``);
2. ``curve_fit``: what a user would write with :func:`scipy.optimize.curve_fit` (the model as a
   Python function, ``sigma=rho_std``, ``absolute_sigma=False``), same rejection loop.

Each method runs in its own fresh Python process (imports and file reading included in the
process but not in the timing; the timing is the median of ``--repeat`` runs of the fit).
The reference values of both are compared (they must agree to 1e-6 relative).

Run by hand: ``.venv/bin/python benchmarks/bench_desert.py [--repeat 5]``. Prints a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def _series():
    from etalon.data import data_path
    from etalon.desert.dimitri import read_series

    return read_series(data_path("desert", "dimitri_MODISA_Collection_5_Libya4.sav"))


def _etalon(s):
    from etalon.desert.brdf import normalise_series

    ns = normalise_series(s)
    return {int(b): f.rho_ref for b, f in ns.fits.items()}


def _curve_fit(s):
    import numpy as np
    from scipy.optimize import curve_fit

    from etalon.desert.brdf import _heterogeneous, kernels

    het = _heterogeneous(s, 0.06)
    raa = s.raa

    def model(x, f_iso, f_vol, f_geo):
        sza, vza, phi = x
        k = kernels(sza, vza, phi)
        return f_iso + f_vol * k[:, 1] + f_geo * k[:, 2]

    out = {}
    for b in range(s.rho.shape[1]):
        rho = s.rho[:, b]
        if (not s.reflective[b] or np.mean(np.isfinite(rho)) < 0.9
                or np.nanmedian(rho) < 0.02):
            continue
        valid = np.isfinite(rho) & ~het
        use = valid.copy()
        sig = s.rho_std[:, b].copy()
        sig[~np.isfinite(sig) | (sig <= 0)] = np.nanmedian(sig)
        for _ in range(20):
            p, _cov = curve_fit(model, (s.sza[use], s.vza[use], raa[use]), rho[use],
                                p0=(0.3, 0.1, 0.0), sigma=sig[use])
            rel = np.where(valid, rho / model((s.sza, s.vza, raa), *p) - 1, np.nan)
            med = np.median(rel[use])
            mad = 1.4826 * np.median(np.abs(rel[use] - med))
            new = valid & (np.abs(rel - med) <= 3.5 * max(mad, 1e-6))
            if np.array_equal(new, use):
                break
            use = new
        p, _cov = curve_fit(model, (s.sza[use], s.vza[use], raa[use]), rho[use],
                            p0=(0.3, 0.1, 0.0), sigma=sig[use])
        out[b] = float(model((np.array([30.0]), np.array([0.0]), np.array([0.0])), *p)[0])
    return out


def _child(method: str, repeat: int) -> None:
    s = _series()
    func = {"etalon": _etalon, "curve_fit": _curve_fit}[method]
    times, ref = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        ref = func(s)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"time_s": statistics.median(times), "ref": ref}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per method (median)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.repeat)
        return
    res = {}
    for method in ("etalon", "curve_fit"):
        out = subprocess.run([sys.executable, __file__, "--child", method, "--repeat",
                              str(args.repeat)], check=True, capture_output=True, text=True)
        res[method] = json.loads(out.stdout.strip().splitlines()[-1])
    e, c = res["etalon"], res["curve_fit"]
    worst = max(abs(e["ref"][b] / c["ref"][b] - 1) for b in e["ref"])
    print("BRDF normalisation of the MODIS-A Libya-4 series (2114 acquisitions, 12 bands)")
    print(f"{'method':<12} {'median time (s)':>16} {'ratio to etalon':>16}")
    for m in ("etalon", "curve_fit"):
        print(f"{m:<12} {res[m]['time_s']:16.4f} {res[m]['time_s'] / e['time_s']:16.2f}")
    print(f"bands compared: {len(e['ref'])}; largest relative difference of rho_ref: {worst:.2e}")


if __name__ == "__main__":
    main()
