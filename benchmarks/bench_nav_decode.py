"""Benchmark: decoding raw NAV files, each method in its own fresh process.

Three ways to turn the same bytes into pixels:

* ``etalon``: :func:`etalon.nav.decode` (validation, resync machinery,
  snips, quality map, science orientation, report);
* ``plain``: the packet-by-packet decoder a user would write with ``struct``:
  unpack each header, unpack its pixels, copy them row segment by row segment
  into a list, then make the numpy array (written here, pure Python);
* ``byteswap floor``: one big-endian -> native copy of the same bytes with numpy,
  the least any decoder must do.

Files: a simulated 1008 x 1008 frame sent as one snip (2,205 packets, 2,208,528
bytes) and a crafted 2 MB file of 25,000 one-pixel snips (issue 17, item 8).

Each method runs in a **fresh Python process** (``subprocess``) that only imports
what it needs, then reads the file from disk and decodes it ``--repeat`` (7)
times: *cold* is the first call (imports done, buffers not yet faulted in),
*median* the median of all calls, *warm* the median of calls 2..n. Nothing is
simulated in the timed process. The parent checks beforehand that the plain
decoder's image equals etalon's. ``--cpu N`` pins every worker to core N.

Run: ``.venv/bin/python benchmarks/bench_nav_decode.py`` (writes only to a
temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_HEADER = struct.Struct(">H f f d d d d f f f f i B B H H H H H H H H")

METHODS = ("etalon", "plain", "byteswap floor")


def plain_decode(data: bytes) -> np.ndarray:
    """A plain packet-by-packet NAV decoder (pure Python + struct), science frame of MRI/ITS."""
    n_lines = n_pixels = 1008
    image = [0] * (n_lines * n_pixels)
    offset, size = 0, len(data)
    instrument = None
    while offset + 80 <= size:
        fields = _HEADER.unpack_from(data, offset)
        length, detector = fields[0], fields[12]
        left, right, _top, _bottom, first_pixel, first_line = fields[16:22]
        if length <= 80 or length > 1002 or length % 2 or offset + length > size:
            offset += 1  # resynchronise byte by byte
            continue
        instrument = detector
        count = (length - 80) // 2
        pixels = struct.unpack_from(f">{count}H", data, offset + 80)
        line, column = first_line, first_pixel
        i = 0
        while i < count:
            run = min(count - i, right - column + 1)
            start = line * n_pixels + column
            image[start:start + run] = pixels[i:i + run]
            i += run
            line, column = line + 1, left
        offset += length
    raw = np.array(image, dtype=np.uint16).reshape(n_lines, n_pixels)
    return raw[::-1, :].copy() if instrument == 3 else raw[::-1, ::-1].copy()


def byteswap_floor(data: bytes) -> np.ndarray:
    """One big-endian -> native copy of all the bytes."""
    return np.frombuffer(data, ">u2", count=len(data) // 2).astype(np.uint16)


def _worker(method: str, path: str, repeat: int, cpu: int | None) -> None:
    """Fresh process: read ``path`` and decode it ``repeat`` times; print the times (s) as JSON."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    if method == "etalon":
        from etalon.nav.decoder import decode as func
    elif method == "plain":
        func = plain_decode
    else:
        func = byteswap_floor
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func(Path(path).read_bytes())
        times.append(time.perf_counter() - t0)
    print(json.dumps(times))


def _run_fresh(method: str, path: Path, repeat: int, cpu: int | None) -> list[float]:
    cmd = [sys.executable, __file__, "--worker", method, "--file", str(path),
           "--repeat", str(repeat)] + ([] if cpu is None else ["--cpu", str(cpu)])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _crafted_snips(n_snips: int = 25_000, seed: int = 0) -> bytes:
    """``n_snips`` one-pixel snips, one 82-byte packet each (spec layout, MRI)."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(1008 * 1008, n_snips, replace=False)
    values = rng.integers(1, 16000, n_snips)
    parts = []
    for p, v in zip(flat.tolist(), values.tolist(), strict=True):
        line, pixel = divmod(p, 1008)
        parts.append(_HEADER.pack(82, 1.0, 1.0, 1.7e8, 1.0, 0.5, 2.0, 0.0, 0.0, 0.0, 0.05,
                                  1000093, 2, 0, 1, 1, pixel, pixel, line, line, pixel, line)
                     + struct.pack(">H", v))
    return b"".join(parts)


def main(argv=None) -> dict:
    """Run the benchmark, print the tables, return the per-method times (s)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="decodes per fresh process")
    parser.add_argument("--instrument", default="NAVMRI", help="NAVHRI, NAVMRI or NAVITS")
    parser.add_argument("--cpu", type=int, default=None, help="pin the workers to this core")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.file, args.repeat, args.cpu)
        return {}

    from etalon.nav.decoder import decode
    from etalon.nav.simulate import simulate_nav_file

    sim = simulate_nav_file(args.instrument, 9000385, seed=0, layout="full")
    nav = decode(sim.raw)
    assert nav.report.packets_used == 2205 and nav.report.missing_pixels == 0
    np.testing.assert_array_equal(nav.image, sim.truth.scene)
    np.testing.assert_array_equal(plain_decode(sim.raw), nav.image)
    crafted = _crafted_snips()
    assert decode(crafted).report.snips == 25_000

    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {"full frame": Path(tmp) / sim.name, "25,000 snips": Path(tmp) / "crafted.bin"}
        files["full frame"].write_bytes(sim.raw)
        files["25,000 snips"].write_bytes(crafted)
        for label, path in files.items():
            size = path.stat().st_size
            print(f"\n{label}: {size:,} bytes ({args.instrument if label == 'full frame' else 'NAVMRI'}), "
                  f"each method in a fresh process, read + decode x {args.repeat}")
            print(f"{'method':<16}{'cold ms':>10}{'median ms':>11}{'warm ms':>10}"
                  f"{'MB/s (med)':>12}{'vs etalon':>11}")
            rows = {m: _run_fresh(m, path, args.repeat, args.cpu) for m in METHODS}
            ours = statistics.median(rows["etalon"])
            for m, t in rows.items():
                med, warm = statistics.median(t), statistics.median(t[1:] or t)
                print(f"{m:<16}{t[0] * 1e3:>10.2f}{med * 1e3:>11.2f}{warm * 1e3:>10.2f}"
                      f"{size / 1e6 / med:>12.0f}{med / ours:>10.2f}x")
            plain = statistics.median(rows["plain"])
            print(f"etalon: {plain / ours:.1f}x the plain decoder (target >= 10x), "
                  f"{size / 1e6 / ours:.0f} MB/s median (target >= 300 MB/s), cold "
                  f"{rows['etalon'][0] * 1e3:.2f} ms, "
                  f"warm {statistics.median(rows['etalon'][1:]) * 1e3:.2f} ms")
            results[label] = rows
    return results


if __name__ == "__main__":
    main()
