"""Benchmark: decoding a full-frame raw NAV file, side by side in one run.

Three ways to turn the same bytes into pixels:

* ``etalon``: :func:`etalon.nav.decode` (validation, resync machinery,
  snips, quality map, science orientation, report);
* ``plain``: the packet-by-packet decoder a user would write with ``struct``:
  unpack each header, unpack its pixels, copy them row segment by row segment
  into a list, then make the numpy array (written here, pure Python);
* ``byteswap floor``: one big-endian -> native copy of the same bytes with numpy,
  the least any decoder must do.

The file is a simulated 1008 x 1008 frame sent as one snip: 2,205 packets
(2,204 of 461 pixels and one of 20), 2,208,528 bytes. Times are the best of
``--repeat`` runs on one core (numpy runs these operations single-threaded);
pin the process with ``taskset -c 0`` to be strict. The plain decoder's image
is checked against etalon's before timing.

Run: ``.venv/bin/python benchmarks/bench_nav_decode.py`` (writes nothing).
"""

from __future__ import annotations

import argparse
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from etalon.nav.decoder import decode
from etalon.nav.simulate import simulate_nav_file

_HEADER = struct.Struct(">H f f d d d d f f f f i B B H H H H H H H H")


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


def best_time(func, arg, repeat: int) -> float:
    """Best wall time of ``repeat`` calls, s."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func(arg)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> dict[str, float]:
    """Run the benchmark, print the table, return the times (s)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="runs of the fast decoders (best kept)")
    parser.add_argument("--plain-repeat", type=int, default=3, help="runs of the plain decoder")
    parser.add_argument("--instrument", default="NAVMRI", help="NAVHRI, NAVMRI or NAVITS")
    args = parser.parse_args(argv)

    sim = simulate_nav_file(args.instrument, 9000385, seed=0, layout="full")
    data = sim.raw
    nav = decode(data)
    assert nav.report.packets_used == 2205 and nav.report.missing_pixels == 0
    np.testing.assert_array_equal(nav.image, sim.truth.scene)
    np.testing.assert_array_equal(plain_decode(data), nav.image)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / sim.name
        path.write_bytes(data)
        times = {
            "etalon decode (bytes)": best_time(decode, data, args.repeat),
            "etalon decode (file)": best_time(decode, path, args.repeat),
            "plain struct decoder": best_time(plain_decode, data, args.plain_repeat),
            "byteswap floor": best_time(byteswap_floor, data, args.repeat),
        }
    ours = times["etalon decode (bytes)"]
    mb = len(data) / 1e6
    print(f"full-frame NAV file: {len(data):,} bytes, {nav.report.packets_used:,} packets, "
          f"{args.instrument}")
    print(f"{'method':<24}{'time (ms)':>12}{'MB/s':>10}{'vs etalon':>12}")
    for name, t in times.items():
        print(f"{name:<24}{t * 1e3:>12.2f}{mb / t:>10.0f}{t / ours:>11.2f}x")
    print(f"etalon is {times['plain struct decoder'] / ours:.1f}x the plain decoder "
          f"(target >= 10x), {mb / ours:.0f} MB/s (target >= 300 MB/s), "
          f"{ours / times['byteswap floor']:.1f}x the byteswap floor")
    return times


if __name__ == "__main__":
    main()
