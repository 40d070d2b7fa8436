"""Benchmark of etalon's CCD calibration against ccdproc and astroscrappy, one fresh process per method.

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

The parent process simulates the frames, generates the (synthetic) reference
set and writes every input to a temporary folder (FITS frames, ``.npy``
arrays). Then each method runs in a **fresh Python process** (``subprocess``)
that imports only what it needs, reads its inputs from disk and times each
frame ``--repeat`` times: *cold* is the first call of the process (imports
done), *median* the median over frames of each frame's median. The outputs go
back through ``.npy`` files; the parent compares them (max |etalon - ccdproc|,
detection precision / recall against the injected truth). Nothing is
simulated in a timed process. ``--cpu N`` pins every worker to core N.

Run by hand: ``.venv/bin/python benchmarks/bench_ccd.py [--frames 3]``. Prints a
table of times, ratios and detection scores; writes only to a temporary folder.
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
import warnings
from pathlib import Path

import numpy as np

#: method -> (group, label)
METHODS = {
    "dark_flat_etalon": "dark+flat: etalon",
    "dark_flat_ccdproc": "dark+flat: ccdproc",
    "despike_etalon": "despike: etalon detect_spikes",
    "despike_scrappy_default": "despike: astroscrappy default",
    "despike_scrappy_tuned": "despike: astroscrappy tuned (objlim 10 sigclip 6)",
    "pipeline_etalon": "pipeline: etalon Pipeline.run",
    "pipeline_baseline": "pipeline: ccdproc + astroscrappy (tuned)",
}
GAIN, READ = 28.0, 1.0  # e-/DN and DN of the simulated NAV CCD
SCRAPPY = {"despike_scrappy_default": {},
           "despike_scrappy_tuned": {"objlim": 10.0, "sigclip": 6.0}}


# --------------------------------------------------------------------------- fresh process
def _references():
    from etalon.ccd.pipeline import Pipeline
    from etalon.ccd.reference import load_bad_pixels, load_dark, load_flat, load_linearity

    pipe = Pipeline.default()
    refs = pipe.reference_set("NAVMRI")
    return (pipe, load_dark(refs.dark, "NAVMRI", (1008, 1008)),
            load_flat(refs.flat, "NAVMRI", (1008, 1008)),
            load_bad_pixels(refs.badpix, "NAVMRI", (1008, 1008)),
            load_linearity(refs.linearity, "NAVMRI"))


def _worker(method: str, work: Path, n_frames: int, repeat: int, cpu: int | None) -> None:
    """Run one method on every frame of ``work``; print the times (s) per frame as JSON."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    warnings.simplefilter("ignore")
    from etalon.frame import read_frame

    pipe, dark, flat, bad, lin = _references()
    times: list[list[float]] = []
    for i in range(n_frames):
        f = work / f"frame{i}"
        meta = json.loads((f / "meta.json").read_text())
        func = _method(method, f, meta, pipe, dark, flat, bad, lin, read_frame)
        frame_times, out = [], None
        for _ in range(repeat if not method.startswith(("despike_scrappy", "pipeline_base"))
                       else 1):
            t0 = time.perf_counter()
            out = func()
            frame_times.append(time.perf_counter() - t0)
        np.save(f / f"out_{method}.npy", out)
        times.append(frame_times)
    print(json.dumps(times))


def _method(method, f: Path, meta: dict, pipe, dark, flat, bad, lin, read_frame):
    """The timed closure of ``method`` on the inputs of folder ``f`` (read here, untimed)."""
    t_ms, ccdt = meta["inttime"], meta["ccdt"]
    if method == "pipeline_etalon":
        frame = read_frame(f / "frame.fits")
        return lambda: (pipe.run(frame).frame.flags & 8) != 0
    if method == "pipeline_baseline":
        return _baseline(read_frame(f / "frame.fits"), meta, dark, flat, bad, lin)
    if method.startswith("dark_flat"):
        image = np.load(f / "image.npy")
        if method == "dark_flat_etalon":
            from astropy.io import fits

            from etalon.ccd.dark import subtract_dark
            from etalon.ccd.flat import flat_correct

            hdr = fits.Header(meta["header"])
            zero_flags = np.zeros(image.shape, np.uint8)

            def etalon_dark_flat():
                out = subtract_dark(image, zero_flags, hdr, dark, inttime_ms=t_ms, ccdt_k=ccdt)
                return flat_correct(out.data, out.flags, out.header, flat).data
            return etalon_dark_flat
        import astropy.units as u
        import ccdproc
        from astropy.nddata import CCDData

        master_flat = CCDData(np.where(flat.flat >= 0.1, flat.flat, 1.0), unit="adu")

        def ccdproc_dark_flat():
            ccd = CCDData(image, unit="adu")
            scaled = CCDData(dark.dark_dn(t_ms, ccdt), unit="adu")  # the model at CCDT
            ccd = ccdproc.subtract_dark(ccd, scaled, data_exposure=t_ms * u.ms,
                                        dark_exposure=t_ms * u.ms, scale=True)
            return ccdproc.flat_correct(ccd, master_flat, norm_value=1.0).data
        return ccdproc_dark_flat
    calibrated, variance = np.load(f / "calibrated.npy"), np.load(f / "variance.npy")
    holes, saturated = np.load(f / "holes.npy"), np.load(f / "saturated.npy")
    if method == "despike_etalon":
        from etalon.ccd.despike import detect_spikes

        params = dict(pipe.steps["despike"].params)
        return lambda: detect_spikes(calibrated, variance, holes, saturated, **params)[0]
    import astroscrappy

    kw = SCRAPPY[method]
    return lambda: astroscrappy.detect_cosmics(calibrated, inmask=holes | saturated, gain=GAIN,
                                               readnoise=READ * GAIN, satlevel=1e9, **kw)[0]


def _baseline(frame, meta, dark, flat, bad, lin):
    """ccdproc + astroscrappy doing the pipeline's steps (returns the cosmic-ray mask)."""
    import astropy.units as u
    import astroscrappy
    import ccdproc
    from astropy.nddata import CCDData

    from etalon.ccd.bias import frame_layout
    from etalon.ccd.linearity import polynomial
    from etalon.nav.bias import quadrant_slices

    layout = frame_layout(frame.data.shape, frame.header)
    t_ms, biases = meta["inttime"], meta["biases"]
    shape = (1008, 1008)
    bias_image = np.zeros(shape, np.float32)
    for q, sl in quadrant_slices(shape).items():
        bias_image[sl] = biases[q - 1]
    master_bias = CCDData(bias_image, unit="adu")
    master_dark = CCDData(dark.dark_dn(t_ms, meta["ccdt"]), unit="adu")
    master_flat = CCDData(np.where(flat.flat >= 0.1, flat.flat, 1.0), unit="adu")
    bad_mask = bad.bad | (flat.flat < 0.1)

    def baseline():
        data = frame.data.astype(np.float32)
        flags = frame.flags.copy()
        flags |= np.where(data >= 11000, 16, 0).astype(np.uint8)
        flags |= np.where(data >= 15000, 32, 0).astype(np.uint8)
        _ = [float(np.median(data[layout.serial_overclock_slices(q)])) for q in (1, 2, 3, 4)]
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
        cr, _clean = astroscrappy.detect_cosmics(ccd.data, inmask=mask_in, gain=GAIN,
                                                 readnoise=READ * GAIN, satlevel=1e9,
                                                 objlim=10.0, sigclip=6.0)
        return cr
    return baseline


def _run_fresh(method: str, work: Path, n_frames: int, repeat: int, cpu: int | None
               ) -> list[list[float]]:
    cmd = [sys.executable, __file__, "--worker", method, "--work", str(work),
           "--frames", str(n_frames), "--repeat", str(repeat)] + (
        [] if cpu is None else ["--cpu", str(cpu)])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- parent
def _prepare(work: Path, n_frames: int, n_cosmics: int) -> None:
    """Simulate the frames and write every method's inputs (untimed, in the parent)."""
    from etalon.ccd.dark import subtract_dark
    from etalon.ccd.flat import flat_correct
    from etalon.ccd.linearity import polynomial
    from etalon.ccd.simulate import default_snips, simulate_nav_frame
    from etalon.frame import write_frame
    from etalon.nav.bias import quadrant_slices

    _pipe, dark, flat, bad, lin = _references()
    for i in range(n_frames):
        f = work / f"frame{i}"
        f.mkdir()
        sim = simulate_nav_frame(100 + i, snips=default_snips(full_frame=True),
                                 n_cosmics=n_cosmics)
        frame, layout, hdr = sim.frame, sim.layout, sim.frame.header
        write_frame(frame, f / "frame.fits")
        raw = frame.data.astype(np.float32)
        image = np.array(layout.extract(raw))
        biases = [float(np.median(raw[layout.serial_overclock_slices(q)])) for q in (1, 2, 3, 4)]
        for q, sl in quadrant_slices(image.shape).items():
            image[sl] = polynomial(image[sl] - biases[q - 1], lin.coefficients[q - 1])
        t_ms, ccdt = float(hdr["INTTIME"]), float(hdr["CCDT"])
        out = subtract_dark(image, np.zeros(image.shape, np.uint8), hdr, dark, inttime_ms=t_ms,
                            ccdt_k=ccdt)
        calibrated = flat_correct(out.data, out.flags, out.header, flat).data
        variance = READ**2 + 1 / 12 + np.maximum(image, 0) / GAIN
        variance = (variance / np.where(flat.flat >= 0.1, flat.flat, 1.0) ** 2).astype(np.float32)
        missing = (layout.extract(frame.flags) & 2) != 0
        holes = missing | bad.bad | (flat.flat < 0.1)
        saturated = (np.array(layout.extract(raw)) >= 11000) & ~missing
        for name, arr in {"image": image, "calibrated": calibrated, "variance": variance,
                          "holes": holes, "saturated": saturated,
                          "truth": sim.cosmic_mask & ~bad.bad}.items():
            np.save(f / f"{name}.npy", arr)
        header = {k: hdr[k] for k in ("INSTRUME", "INTTIME", "CCDT") if k in hdr}
        (f / "meta.json").write_text(json.dumps({"inttime": t_ms, "ccdt": ccdt, "biases": biases,
                                                 "header": header}))


def main(argv=None) -> dict:
    """Run the benchmark, print the tables, return the per-method times (s)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3, help="simulated frames (default 3)")
    parser.add_argument("--cosmics", type=int, default=1500, help="cosmic-ray tracks per frame")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timings per frame (median); astroscrappy and the ccdproc pipeline once")
    parser.add_argument("--cpu", type=int, default=None, help="pin the workers to this core")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--work", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("ETALON_CACHE", tempfile.mkdtemp(prefix="etalon-bench-"))
    if args.worker:
        _worker(args.worker, Path(args.work), args.frames, args.repeat, args.cpu)
        return {}
    warnings.simplefilter("ignore")
    from etalon.ccd.validation import detection_scores

    with tempfile.TemporaryDirectory(prefix="etalon-bench-ccd-") as tmp:
        work = Path(tmp)
        _prepare(work, args.frames, args.cosmics)
        rows = {m: _run_fresh(m, work, args.frames, args.repeat, args.cpu) for m in METHODS}
        frames = [work / f"frame{i}" for i in range(args.frames)]
        diff = max(float(np.nanmax(np.abs(np.load(f / "out_dark_flat_etalon.npy")
                                          - np.load(f / "out_dark_flat_ccdproc.npy"))))
                   for f in frames)
        scores = {}
        for m in ("pipeline_etalon", "despike_etalon", *SCRAPPY, "pipeline_baseline"):
            values = []
            for f in frames:
                mask, truth = np.load(f / f"out_{m}.npy"), np.load(f / "truth.npy")
                if m != "pipeline_etalon":
                    mask = mask & ~np.load(f / "holes.npy")
                values.append(detection_scores(mask, truth))
            scores[m] = values

    def med(m):
        return statistics.median(statistics.median(t) for t in rows[m])

    print(f"\netalon CCD benchmark: {args.frames} simulated 1024 x 1024 NAV frames, "
          f"{args.cosmics} cosmic-ray tracks each, {os.cpu_count()} cores; each method in a "
          f"fresh process (cold = first call, median over frames of per-frame medians)\n")
    print(f"{'method':58s} {'cold s':>9s} {'median s':>9s}")
    for m, label in METHODS.items():
        print(f"{label:58s} {rows[m][0][0]:9.4f} {med(m):9.4f}")
    print(f"{'dark+flat: max |etalon - ccdproc| (DN)':58s} {diff:19.3g}")
    print()
    print(f"{'ratio (median)':58s} {'value':>9s}")
    print(f"{'dark+flat: ccdproc / etalon':58s} "
          f"{med('dark_flat_ccdproc') / med('dark_flat_etalon'):9.2f}")
    for m in SCRAPPY:
        print(f"{METHODS[m] + ' / etalon':58s} {med(m) / med('despike_etalon'):9.2f}")
    print(f"{'pipeline: (ccdproc + astroscrappy) / etalon':58s} "
          f"{med('pipeline_baseline') / med('pipeline_etalon'):9.2f}")
    print()
    print(f"{'cosmic-ray detection (pixels)':58s} {'precision':>10s} {'recall':>8s}")
    for m, values in scores.items():
        label = "etalon despike (in pipeline)" if m == "pipeline_etalon" else METHODS[m]
        p = statistics.mean(v[0] for v in values)
        r = statistics.mean(v[1] for v in values)
        print(f"{label:58s} {p:10.4f} {r:8.4f}")
    return rows


if __name__ == "__main__":
    main()
