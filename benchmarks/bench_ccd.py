"""Benchmark of etalon's CCD calibration against ccdproc and astroscrappy, in one run.

On the same simulated 1024 x 1024 NAV frames (full-frame snip, injected cosmic
rays, known truth), side by side:

1. dark + flat: etalon (``subtract_dark`` + ``flat_correct``) against ccdproc
   (``subtract_dark`` + ``flat_correct`` on ``CCDData``), same references;
2. despike: etalon's ``detect_spikes`` against astroscrappy's
   ``detect_cosmics`` (LA Cosmic; default parameters and a tuned set), time and
   pixel precision / recall of the injected hits (missing, bad and saturated
   pixels given to both as masks);
3. the whole pipeline per frame: ``Pipeline.run`` against ccdproc +
   astroscrappy doing the same steps (saturation flags and linearity with
   numpy, bias, dark, flat with ccdproc, cosmic rays with astroscrappy, bad
   pixel mask).

Run by hand: ``.venv/bin/python benchmarks/bench_ccd.py [--frames 3]``. Prints a
table of median times, ratios and detection scores; writes nothing.
"""

# ruff: noqa: B023  (the timed closures run inside their own loop iteration)
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings

import numpy as np


def _timed(func, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3, help="simulated frames (default 3)")
    parser.add_argument("--cosmics", type=int, default=1500, help="cosmic-ray tracks per frame")
    parser.add_argument("--repeat", type=int, default=3, help="timings per frame (median)")
    args = parser.parse_args()
    os.environ.setdefault("ETALON_CACHE", tempfile.mkdtemp(prefix="etalon-bench-"))
    warnings.simplefilter("ignore")

    import astropy.units as u
    import astroscrappy
    import ccdproc
    from astropy.nddata import CCDData

    from etalon.ccd.dark import subtract_dark
    from etalon.ccd.despike import detect_spikes
    from etalon.ccd.flat import flat_correct
    from etalon.ccd.linearity import polynomial
    from etalon.ccd.pipeline import Pipeline
    from etalon.ccd.reference import load_bad_pixels, load_dark, load_flat, load_linearity
    from etalon.ccd.simulate import default_snips, simulate_nav_frame
    from etalon.ccd.validation import detection_scores
    from etalon.nav.bias import quadrant_slices

    pipe = Pipeline.default()
    refs = pipe.reference_set("NAVMRI")
    dark = load_dark(refs.dark, "NAVMRI", (1008, 1008))
    flat = load_flat(refs.flat, "NAVMRI", (1008, 1008))
    bad = load_bad_pixels(refs.badpix, "NAVMRI", (1008, 1008))
    lin = load_linearity(refs.linearity, "NAVMRI")
    gain, read = 28.0, 1.0
    despike_params = {k: v for k, v in pipe.steps["despike"].params.items()}
    scrappy_sets = {
        "astroscrappy default": {},
        "astroscrappy tuned (objlim 10 sigclip 6)": {"objlim": 10.0, "sigclip": 6.0},
    }

    rows: dict[str, list[float]] = {}
    scores: dict[str, list[tuple[float, float]]] = {}

    def add(name, value):
        rows.setdefault(name, []).append(value)

    for i in range(args.frames):
        sim = simulate_nav_frame(100 + i, snips=default_snips(full_frame=True),
                                 n_cosmics=args.cosmics)
        frame = sim.frame
        layout = sim.layout
        hdr = frame.header
        t_ms, ccdt = hdr["INTTIME"], hdr["CCDT"]

        # ---- whole pipeline: etalon
        t_etalon, result = _timed(lambda frame=frame: pipe.run(frame), args.repeat)
        add("pipeline: etalon Pipeline.run", t_etalon)
        truth = sim.cosmic_mask & ~bad.bad
        scores.setdefault("etalon despike (in pipeline)", []).append(
            detection_scores((result.frame.flags & 8) != 0, truth))

        # the linearized, bias-subtracted image both dark+flat chains start from
        raw = frame.data.astype(np.float32)
        image = np.array(layout.extract(raw))
        biases = [float(np.median(raw[layout.serial_overclock_slices(q)])) for q in (1, 2, 3, 4)]
        for q, sl in quadrant_slices(image.shape).items():
            image[sl] = polynomial(image[sl] - biases[q - 1], lin.coefficients[q - 1])
        zero_flags = np.zeros(image.shape, np.uint8)

        # ---- dark + flat
        def etalon_dark_flat(image=image, t_ms=t_ms, ccdt=ccdt):
            out = subtract_dark(image, zero_flags, hdr, dark, inttime_ms=t_ms, ccdt_k=ccdt)
            return flat_correct(out.data, out.flags, out.header, flat).data

        master_dark = CCDData(dark.dark_dn(t_ms, ccdt), unit="adu")
        master_flat = CCDData(np.where(flat.flat >= 0.1, flat.flat, 1.0), unit="adu")

        def ccdproc_dark_flat(image=image, t_ms=t_ms, ccdt=ccdt):
            ccd = CCDData(image, unit="adu")
            scaled = CCDData(dark.dark_dn(t_ms, ccdt), unit="adu")  # the model at CCDT
            ccd = ccdproc.subtract_dark(ccd, scaled, data_exposure=t_ms * u.ms,
                                        dark_exposure=t_ms * u.ms, scale=True)
            return ccdproc.flat_correct(ccd, master_flat, norm_value=1.0).data

        t_e, ours = _timed(etalon_dark_flat, args.repeat)
        t_c, theirs = _timed(ccdproc_dark_flat, args.repeat)
        add("dark+flat: etalon", t_e)
        add("dark+flat: ccdproc", t_c)
        add("dark+flat: max |etalon - ccdproc| (DN)", float(np.max(np.abs(ours - theirs))))

        # ---- despike on the same calibrated image
        calibrated = ours
        variance = read**2 + 1 / 12 + np.maximum(image, 0) / gain
        variance = (variance / np.where(flat.flat >= 0.1, flat.flat, 1.0) ** 2).astype(np.float32)
        missing = (layout.extract(frame.flags) & 2) != 0
        holes = missing | bad.bad | (flat.flat < 0.1)
        saturated = (np.array(layout.extract(raw)) >= 11000) & ~missing
        t_e, (mask, _) = _timed(lambda c=calibrated, v=variance, h=holes, s=saturated:
                                detect_spikes(c, v, h, s, **despike_params), args.repeat)
        add("despike: etalon detect_spikes", t_e)
        scores.setdefault("etalon detect_spikes", []).append(detection_scores(mask, truth))
        for name, kw in scrappy_sets.items():
            t_a, (cr, _) = _timed(lambda c=calibrated, h=holes | saturated, kw=kw:
                                  astroscrappy.detect_cosmics(c, inmask=h, gain=gain,
                                                              readnoise=read * gain,
                                                              satlevel=1e9, **kw), 1)
            add(f"despike: {name}", t_a)
            scores.setdefault(name, []).append(detection_scores(cr & ~holes, truth))

        # ---- whole pipeline: ccdproc + astroscrappy doing the same steps
        bias_image = np.zeros(image.shape, np.float32)
        for q, sl in quadrant_slices(image.shape).items():
            bias_image[sl] = biases[q - 1]
        master_bias = CCDData(bias_image, unit="adu")
        bad_mask = bad.bad | (flat.flat < 0.1)

        def baseline(frame=frame, t_ms=t_ms):
            data = frame.data.astype(np.float32)
            flags = frame.flags.copy()
            flags |= np.where(data >= 11000, 16, 0).astype(np.uint8)
            flags |= np.where(data >= 15000, 32, 0).astype(np.uint8)
            qb = [float(np.median(data[layout.serial_overclock_slices(q)])) for q in (1, 2, 3, 4)]
            del qb  # measured as etalon does; the master bias holds the same values
            ccd = CCDData(np.array(layout.extract(data)), unit="adu")
            ccd = ccdproc.subtract_bias(ccd, master_bias)
            img = ccd.data
            for q, sl in quadrant_slices(img.shape).items():
                img[sl] = polynomial(img[sl], lin.coefficients[q - 1])
            ccd = ccdproc.subtract_dark(CCDData(img, unit="adu"), master_dark,
                                        data_exposure=t_ms * u.ms, dark_exposure=t_ms * u.ms,
                                        scale=True)
            ccd = ccdproc.flat_correct(ccd, master_flat, norm_value=1.0)
            inner = np.array(layout.extract(flags))
            mask_in = ((inner & 2) != 0) | bad_mask | ((inner & 16) != 0)
            cr, clean = astroscrappy.detect_cosmics(ccd.data, inmask=mask_in, gain=gain,
                                                    readnoise=read * gain, satlevel=1e9,
                                                    objlim=10.0, sigclip=6.0)
            inner |= np.where(bad_mask, 1, 0).astype(np.uint8)
            return clean, inner, cr

        t_b, _ = _timed(baseline, 1)
        add("pipeline: ccdproc + astroscrappy (tuned)", t_b)

    def med(name):
        return statistics.median(rows[name])

    print(f"\netalon CCD benchmark: {args.frames} simulated 1024 x 1024 NAV frames, "
          f"{args.cosmics} cosmic-ray tracks each, {os.cpu_count()} cores, median times\n")
    print(f"{'measure':54s} {'value':>12s}")
    for name in rows:
        unit = "" if "max |" in name else " s"
        print(f"{name:54s} {med(name):12.4f}{unit}")
    print()
    print(f"{'ratio':54s} {'value':>12s}")
    print(f"{'dark+flat: ccdproc / etalon':54s} "
          f"{med('dark+flat: ccdproc') / med('dark+flat: etalon'):12.2f}")
    for name in scrappy_sets:
        print(f"{'despike: ' + name + ' / etalon':54s} "
              f"{med('despike: ' + name) / med('despike: etalon detect_spikes'):12.2f}")
    print(f"{'pipeline: (ccdproc + astroscrappy) / etalon':54s} "
          f"{med('pipeline: ccdproc + astroscrappy (tuned)') / med('pipeline: etalon Pipeline.run'):12.2f}")
    print()
    print(f"{'cosmic-ray detection (pixels)':54s} {'precision':>10s} {'recall':>8s}")
    for name, values in scores.items():
        p = statistics.mean(v[0] for v in values)
        r = statistics.mean(v[1] for v in values)
        print(f"{name:54s} {p:10.4f} {r:8.4f}")


if __name__ == "__main__":
    main()
