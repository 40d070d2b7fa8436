"""Simulated raw NAV telemetry with known truth.

Real raw NAV files cannot be bundled, so tests, benchmarks and notebooks use
this simulator. It draws a synthetic encounter scene (the nucleus of a comet,
its coma, stars, noise and the per-quadrant bias of the default bias table), cuts
it into snips, encodes the snips as packets following ``docs/nav-format.md``
(layout from :mod:`etalon.nav.format`) and can damage the stream the way
telemetry gets damaged: lost packets, shuffled packets, a truncated file,
garbage between packets.

Every simulated file comes with its truth (:class:`NavTruth`): what a perfect
decoder must return, pixel for pixel.

Main entry points: :func:`simulate_nav_file` (one file) and
:func:`write_simulated_sequence` (a folder of files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.time import Time, TimeDelta

from etalon.fileio import atomic_output
from etalon.nav import format as fmt
from etalon.nav.bias import bias_image, load_bias_table
from etalon.nav.decoder import NavHeader
from etalon.nav.filename import format_nav_filename

__all__ = ["DAMAGE_MODES", "LAYOUTS", "NavTruth", "SimulatedNavFile", "encode_packets",
           "simulate_nav_file", "simulate_scene", "simulate_sequence",
           "write_simulated_sequence"]

#: snip layouts: AutoNav-like snips, the same plus overlapping snips, the whole frame
LAYOUTS = ("autonav", "overlap", "full")

#: named damage modes -> keyword arguments of :func:`simulate_nav_file`
DAMAGE_MODES: dict[str, dict] = {
    "none": {},
    "lost": {"lost": 3},
    "shuffled": {"shuffle": True},
    "truncated": {"truncate": True},
    "garbage": {"garbage": 3},
    "all": {"lost": 2, "shuffle": True, "truncate": True, "garbage": 2},
}

#: 14-bit detector: the largest DN
DN_MAX = 16383

#: NAIF ID of 9P/Tempel 1
TEMPEL1 = 1000093

#: the simulator's image_type codes (a convention of the simulator, not the mission's)
IMAGE_TYPES = {"OpNav": 0, "AutoNav": 1}


@dataclass
class NavTruth:
    """What a perfect decoder returns for a simulated file.

    Attributes
    ----------
    scene : numpy.ndarray
        uint16 (1008, 1008), science orientation: the whole simulated frame in DN
        (bias + sky + coma + nucleus + stars + noise, clipped to 0..16383), before
        it is cut into snips.
    image : numpy.ndarray
        uint16, science orientation: ``scene`` where an intact delivered packet
        carries the pixel, 0 elsewhere (what ``NavImage.image`` must equal).
    missing : numpy.ndarray
        bool, science orientation: pixels no intact delivered packet carries
        (what ``NavImage.flags & 2`` must flag).
    header : NavHeader
        The per-image values the decoder must return (float32 fields as their
        float32 values; centroid in raw and science frames, 0-based).
    bias : tuple of float
        The four quadrant biases put into the scene (NAVBIAS1..4 order, DN), from
        ``etalon.nav.bias.load_bias_table()[instrument]``.
    snips : list of tuple
        Raw-frame rectangles ``(left, right, top, bottom)``, 0-based inclusive, in
        encoding order.
    packets : numpy.ndarray
        One row per encoded packet: ``snip``, ``start`` (raster index in the snip),
        ``npix``, ``delivered`` (False if lost or cut off by truncation) and
        ``offset`` (byte offset in the raw file, -1 if not delivered).
    overlap_pixels : int
        Pixels carried by two or more delivered packets (same values).
    garbage_bytes, truncated_bytes : int
        Bytes of garbage inserted; bytes of the cut-off packet left in the file.
    garbage_runs : int
        Number of garbage insertions.
    """

    scene: np.ndarray
    image: np.ndarray
    missing: np.ndarray
    header: NavHeader
    bias: tuple[float, float, float, float]
    snips: list[tuple[int, int, int, int]]
    packets: np.ndarray
    overlap_pixels: int = 0
    garbage_bytes: int = 0
    truncated_bytes: int = 0
    garbage_runs: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def packets_delivered(self) -> int:
        """Intact packets in the file."""
        return int(np.count_nonzero(self.packets["delivered"]))

    @property
    def bytes_skipped(self) -> int:
        """Bytes a decoder must skip (garbage plus the cut-off packet)."""
        return self.garbage_bytes + self.truncated_bytes


@dataclass
class SimulatedNavFile:
    """A simulated raw NAV file: bytes, file name, truth."""

    raw: bytes
    name: str
    truth: NavTruth

    def write(self, folder: str | os.PathLike[str]) -> Path:
        """Write the raw bytes to ``folder/name`` (atomically); return the path."""
        path = Path(folder) / self.name
        with atomic_output(path) as tmp:
            tmp.write_bytes(self.raw)
        return path


_PACKET_TRUTH_DTYPE = np.dtype([("snip", "i4"), ("start", "i8"), ("npix", "i4"),
                                ("delivered", "?"), ("offset", "i8")])


# --------------------------------------------------------------------------- scene

def simulate_scene(instrument: str, rng: np.random.Generator, *, n_stars: int = 40,
                   nucleus_peak_dn: float = 9000.0,
                   stars: list | None = None) -> tuple[np.ndarray, tuple[float, float]]:
    """A synthetic encounter frame in DN, science orientation.

    Components (DN): the quadrant bias of ``load_bias_table()[instrument]``
    (:func:`etalon.nav.bias.bias_image`), a sky level of 15, a coma falling as
    1/r from the nucleus, an elliptical nucleus (semi-axes 20 to 45 pixels, limb
    darkened, peak ``nucleus_peak_dn``), ``n_stars`` Gaussian stars (sigma 1.1
    pixels, peaks 150 to 9000), then shot noise (gain 1 e-/DN) and 3 DN of read
    noise; rounded and clipped to 0..16383 (14 bits).

    Returns
    -------
    scene : numpy.ndarray
        uint16 (1008, 1008).
    nucleus : (float, float)
        Nucleus centre (line, pixel), science array, 0-based.

    ``stars``, when a list, receives ``(line, pixel, peak)`` of every star
    (science array, 0-based; DN).
    """
    shape = fmt.FRAME_SHAPE
    lines, pixels = np.indices(shape, dtype=np.float64)
    cl = 504 + rng.uniform(-180, 180)
    cp = 504 + rng.uniform(-180, 180)
    a, b = rng.uniform(30, 45), rng.uniform(20, 28)
    theta = rng.uniform(0, np.pi)
    dl, dp = lines - cl, pixels - cp
    u = (dp * np.cos(theta) + dl * np.sin(theta)) / a
    v = (-dp * np.sin(theta) + dl * np.cos(theta)) / b
    rho2 = u * u + v * v
    signal = np.where(rho2 < 1.0, nucleus_peak_dn * np.sqrt(np.clip(1.0 - rho2, 0, 1)) ** 0.7, 0.0)
    signal += 15.0 + 2500.0 / (np.hypot(dl, dp) / 8.0 + 1.0)
    for _ in range(n_stars):
        sl, sp = rng.uniform(8, shape[0] - 8), rng.uniform(8, shape[1] - 8)
        peak = rng.uniform(150, 9000)
        if stars is not None:
            stars.append((sl, sp, peak))
        l0, p0 = int(sl) - 6, int(sp) - 6
        sub_l, sub_p = lines[l0:l0 + 13, p0:p0 + 13], pixels[l0:l0 + 13, p0:p0 + 13]
        signal[l0:l0 + 13, p0:p0 + 13] += peak * np.exp(
            -((sub_l - sl) ** 2 + (sub_p - sp) ** 2) / (2 * 1.1**2))
    noisy = rng.normal(signal, np.sqrt(signal + 9.0))
    bias = bias_image(load_bias_table()[instrument], shape)
    scene = np.clip(np.rint(noisy + bias), 0, DN_MAX).astype(np.uint16)
    return scene, (cl, cp)


# --------------------------------------------------------------------------- snips

def _autonav_snips(raw_scene: np.ndarray, nucleus_raw: tuple[float, float], rng,
                   n_star_snips: int, stars_raw=()) -> list[tuple[int, int, int, int]]:
    """Nucleus snip plus small snips on the brightest stars, raw frame, non-overlapping."""
    h, w = raw_scene.shape
    cl, cp = nucleus_raw
    half_w, half_h = int(rng.integers(40, 56)), int(rng.integers(36, 50))
    snips = [(max(0, int(cp) - half_w), min(w - 1, int(cp) + half_w),
              max(0, int(cl) - half_h), min(h - 1, int(cl) + half_h))]
    bright = sorted(stars_raw, key=lambda s: -s[2])
    tries = 0
    while len(snips) < 1 + n_star_snips and tries < 500:
        size = int(rng.integers(12, 25))
        if tries < len(bright):
            line, pixel = bright[tries][0], bright[tries][1]
            left = int(np.clip(pixel - size // 2, 0, w - size))
            top = int(np.clip(line - size // 2, 0, h - size))
        else:
            left, top = int(rng.integers(0, w - size)), int(rng.integers(0, h - size))
        tries += 1
        rect = (left, left + size - 1, top, top + size - 1)
        if any(not (rect[1] < s[0] or s[1] < rect[0] or rect[3] < s[2] or s[3] < rect[2])
               for s in snips):
            continue
        snips.append(rect)
    return snips


def _overlapping_snips(snips, rng) -> list[tuple[int, int, int, int]]:
    """Extra snips overlapping the first ones (the same pixels downlinked twice)."""
    extra = []
    for left, right, top, bottom in snips[:3]:
        w, h = right - left + 1, bottom - top + 1
        dl, dt = int(rng.integers(1, max(2, w // 2))), int(rng.integers(1, max(2, h // 2)))
        extra.append((min(1007, left + dl), min(1007, right + dl),
                      min(1007, top + dt), min(1007, bottom + dt)))
    return snips + extra


# --------------------------------------------------------------------------- encoder

def encode_packets(raw: np.ndarray, snips, header_values: dict, *,
                   packet_pixels: int | np.ndarray | None = None,
                   rng: np.random.Generator | None = None) -> tuple[list[bytes], np.ndarray]:
    """Encode snips of a raw-frame image as NAV packets (spec of ``docs/nav-format.md``).

    Parameters
    ----------
    raw : numpy.ndarray
        uint16 (1008, 1008), raw frame (line 0 at the top).
    snips : sequence of (left, right, top, bottom)
        0-based inclusive raw rectangles, in transmission order.
    header_values : dict
        Per-image fields (:data:`etalon.nav.format.IMAGE_FIELDS`), e.g.
        ``{"pseudo_et": ..., "detector": 2, ...}``; centroid 0-based.
    packet_pixels : int, "random" or None
        Pixels per packet (the last packet of a snip carries the rest); None:
        461, the most a packet holds; ``"random"``: sizes drawn from 1..461
        with ``rng``.

    Returns
    -------
    packets : list of bytes
        One item per packet, in order.
    info : numpy.ndarray
        One row per packet: ``snip``, ``start``, ``npix`` (delivered True,
        offset -1: filled in by the caller).
    """
    rng = rng or np.random.default_rng(0)
    packets: list[bytes] = []
    rows = []
    base = fmt.INDEX_BASE
    for k, (left, right, top, bottom) in enumerate(snips):
        pixels = np.ascontiguousarray(raw[top:bottom + 1, left:right + 1]).reshape(-1)
        width, total = right - left + 1, pixels.size
        start = 0
        while start < total:
            if isinstance(packet_pixels, str):
                n = int(rng.integers(1, fmt.MAX_PIXELS_PER_PACKET + 1))
            else:
                n = packet_pixels or fmt.MAX_PIXELS_PER_PACKET
            n = min(n, total - start)
            hdr = np.zeros(1, fmt.HEADER_DTYPE)
            for name in fmt.IMAGE_FIELDS:
                hdr[name] = header_values[name]
            hdr["centroid_pixel"] = header_values["centroid_pixel"] + base
            hdr["centroid_line"] = header_values["centroid_line"] + base
            hdr["length"] = fmt.HEADER_SIZE + n * fmt.PIXEL_DTYPE.itemsize
            hdr["left"], hdr["right"] = left + base, right + base
            hdr["top"], hdr["bottom"] = top + base, bottom + base
            hdr["first_line"] = top + start // width + base
            hdr["first_pixel"] = left + start % width + base
            packets.append(hdr.tobytes() + pixels[start:start + n].astype(fmt.PIXEL_DTYPE).tobytes())
            rows.append((k, start, n, True, -1))
            start += n
    return packets, np.array(rows, dtype=_PACKET_TRUTH_DTYPE)


# --------------------------------------------------------------------------- one file

def _pseudo_et(observed: Time, instrument: str) -> float:
    """The pseudo-ET (s) the flight code writes for an observation at UTC ``observed``."""
    from etalon.nav import sclk

    tdb = sclk.utc_to_tdb(observed.utc.isot)
    ticks = sclk.tdb_to_ticks(sclk.sclk_id_for(instrument), tdb)
    return ticks / sclk.TICKS_PER_SECOND - sclk.NOMINAL_OFFSET_S


def simulate_nav_file(
    instrument: str = "NAVMRI",
    exposure_id: int = 9000385,
    seed: int = 0,
    *,
    layout: str = "autonav",
    n_star_snips: int = 6,
    packet_pixels: int | str | None = None,
    lost: int = 0,
    shuffle: bool = False,
    truncate: bool = False,
    garbage: int = 0,
    kind: str | None = None,
    observed: Time | str = "2005-07-04T05:30:00",
    suffix: int = 0,
) -> SimulatedNavFile:
    """Simulate one raw NAV file with its truth.

    Parameters
    ----------
    instrument : str
        NAVHRI, NAVMRI or NAVITS.
    exposure_id : int
        Exposure ID (in the file name).
    seed : int
        Seed of everything random (scene, snips, damage).
    layout : str
        ``"autonav"``: a nucleus snip (about 100 x 90 pixels) and
        ``n_star_snips`` small non-overlapping snips (12 to 24 pixels square) on
        the brightest stars;
        ``"overlap"``: the same plus 3 snips overlapping the first three;
        ``"full"``: the whole 1008 x 1008 frame as one snip (2,205 packets of
        up to 461 pixels: 2,204 full ones and one of 20).
    packet_pixels : int, "random" or None
        Pixels per packet (default 461, the most a packet holds).
    lost : int
        Number of packets dropped (chosen at random).
    shuffle : bool
        Deliver the packets in random order.
    truncate : bool
        Cut the file inside its last packet (that packet is lost).
    garbage : int
        Number of runs of random bytes (1 to 300 bytes each) inserted before
        randomly chosen packets (never after the last one).
    kind : str, optional
        ``"AutoNav"`` or ``"OpNav"`` (file name letter and image_type); default
        OpNav for the full frame, AutoNav otherwise.
    observed : astropy.time.Time or str
        Observation time (UTC); the ground-received time of the file name is 8
        to 20 minutes later, and the pseudo-ET is what the flight code wrote:
        spacecraft clock ticks / 256 minus the nominal 64.184 s, the clock
        being the instrument's (flyby -140 for HRI/MRI, impactor -70 for ITS,
        converted with the bundled SPICE kernels).
    suffix : int
        Uniqueness suffix of the file name.

    Returns
    -------
    SimulatedNavFile
        ``raw`` bytes, file ``name``, ``truth`` (:class:`NavTruth`).
    """
    if instrument not in fmt.INSTRUMENT_CODES:
        raise ValueError(f"unknown instrument {instrument!r}: use NAVHRI, NAVMRI or NAVITS")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: use one of {LAYOUTS}")
    rng = np.random.default_rng(seed)
    kind = kind or ("OpNav" if layout == "full" else "AutoNav")
    stars: list = []
    scene, (cl_sci, cp_sci) = simulate_scene(instrument, rng, stars=stars)
    raw_scene = fmt.science_to_raw(scene, instrument)

    # AutoNav centroid: near the nucleus centre, raw frame, float32
    c_line_raw_f64, c_pixel_raw_f64 = fmt.raw_point_to_science(
        cl_sci + rng.normal(0, 0.5), cp_sci + rng.normal(0, 0.5), instrument)
    c_line_raw = float(np.float32(c_line_raw_f64))
    c_pixel_raw = float(np.float32(c_pixel_raw_f64))
    c_line_sci, c_pixel_sci = fmt.raw_point_to_science(c_line_raw, c_pixel_raw, instrument)

    observed = Time(observed, scale="utc")
    pseudo_et = _pseudo_et(observed, instrument)
    rate = float(np.float32(rng.normal(0, 2e-5)))
    values = {
        "centroid_pixel": c_pixel_raw, "centroid_line": c_line_raw, "pseudo_et": pseudo_et,
        "ra": float(rng.uniform(0, 2 * np.pi)), "dec": float(rng.uniform(-0.5 * np.pi, 0.5 * np.pi)),
        "twist": float(rng.uniform(0, 2 * np.pi)), "rate_x": rate, "rate_y": rate, "rate_z": rate,
        "exposure": float(np.float32(rng.choice([0.0, 0.01, 0.05, 0.1, 0.5]))),
        "target_id": TEMPEL1, "detector": fmt.INSTRUMENT_CODES[instrument], "compression": 0,
        "image_number": 1, "image_type": IMAGE_TYPES[kind],
    }
    header = NavHeader(
        instrument=instrument, detector=values["detector"], compression=0, image_number=1,
        image_type=values["image_type"], target_id=TEMPEL1, pseudo_et=pseudo_et, ra=values["ra"],
        dec=values["dec"], twist=values["twist"], rate_x=rate, rate_y=rate, rate_z=rate,
        exposure=values["exposure"], centroid_line_raw=c_line_raw, centroid_pixel_raw=c_pixel_raw,
        centroid_line=float(c_line_sci), centroid_pixel=float(c_pixel_sci),
    )

    if layout == "full":
        snips = [(0, fmt.FRAME_SHAPE[1] - 1, 0, fmt.FRAME_SHAPE[0] - 1)]
    else:
        stars_raw = [(*fmt.raw_point_to_science(sl, sp, instrument), peak) for sl, sp, peak in stars]
        snips = _autonav_snips(raw_scene, (c_line_raw, c_pixel_raw), rng, n_star_snips, stars_raw)
        if layout == "overlap":
            snips = _overlapping_snips(snips, rng)
    packets, info = encode_packets(raw_scene, snips, values, packet_pixels=packet_pixels, rng=rng)

    # damage: lost, shuffled, garbage, truncated
    order = np.arange(len(packets))
    if lost:
        dropped = rng.choice(order.size, size=min(lost, order.size - 1), replace=False)
        info["delivered"][dropped] = False
        order = order[info["delivered"][order]]
    if shuffle:
        order = rng.permutation(order)
    garbage_before: dict[int, bytes] = {}
    if garbage:
        slots = rng.choice(order.size, size=min(garbage, order.size), replace=False)
        for slot in slots.tolist():
            garbage_before[slot] = rng.integers(0, 256, int(rng.integers(1, 301)), np.uint8).tobytes()
    chunks, offset = [], 0
    for slot, p in enumerate(order.tolist()):
        if slot in garbage_before:
            chunks.append(garbage_before[slot])
            offset += len(garbage_before[slot])
        info["offset"][p] = offset
        chunks.append(packets[p])
        offset += len(packets[p])
    raw_bytes = b"".join(chunks)
    truncated_bytes = 0
    if truncate:
        last = int(order[-1])
        keep = int(rng.integers(1, len(packets[last])))  # 1 .. length-1 bytes of it remain
        raw_bytes = raw_bytes[:len(raw_bytes) - len(packets[last]) + keep]
        info["delivered"][last] = False
        info["offset"][last] = -1
        truncated_bytes = keep
    info["offset"][~info["delivered"]] = -1

    # truth: what intact delivered packets carry
    count = np.zeros(fmt.FRAME_SHAPE, np.int32)
    for row in info[info["delivered"]]:
        left, right, top, _ = snips[row["snip"]]
        width = right - left + 1
        idx = row["start"] + np.arange(row["npix"])
        np.add.at(count, (top + idx // width, left + idx % width), 1)
    received_raw = count > 0
    image_raw = np.where(received_raw, raw_scene, 0).astype(np.uint16)
    truth = NavTruth(
        scene=scene, image=fmt.raw_to_science(image_raw, instrument),
        missing=fmt.raw_to_science(~received_raw, instrument), header=header,
        bias=tuple(load_bias_table()[instrument]), snips=list(snips), packets=info,
        overlap_pixels=int(np.count_nonzero(count > 1)),
        garbage_bytes=sum(len(g) for g in garbage_before.values()),
        truncated_bytes=truncated_bytes, garbage_runs=len(garbage_before),
    )
    received = observed + TimeDelta(float(rng.uniform(480, 1200)), format="sec")
    name = format_nav_filename(kind, instrument, exposure_id, received, suffix)
    return SimulatedNavFile(raw=raw_bytes, name=name, truth=truth)


def simulate_sequence(
    n_files: int = 4,
    *,
    seed: int = 0,
    instruments: tuple[str, ...] = ("NAVMRI", "NAVHRI", "NAVITS"),
    layouts: tuple[str, ...] = ("autonav",),
    damages: tuple[str, ...] = ("none",),
    first_exposure_id: int = 9000380,
    start: Time | str = "2005-07-04T05:00:00",
    cadence_s: float = 60.0,
) -> list[SimulatedNavFile]:
    """A sequence of simulated raw NAV files (bytes, names and truths, nothing written).

    File ``i`` uses ``instruments[i % len]``, ``layouts[i % len]``, the damage
    mode ``damages[i % len]`` (a key of :data:`DAMAGE_MODES`), exposure ID
    ``first_exposure_id + i``, observation time ``start + i * cadence_s`` and
    seed ``seed + i``: it is :func:`simulate_nav_file` with those arguments.
    """
    start = Time(start, scale="utc")
    return [
        simulate_nav_file(
            instruments[i % len(instruments)], first_exposure_id + i, seed + i,
            layout=layouts[i % len(layouts)], observed=start + TimeDelta(i * cadence_s, format="sec"),
            **DAMAGE_MODES[damages[i % len(damages)]],
        )
        for i in range(n_files)
    ]


def write_simulated_sequence(folder: str | os.PathLike[str], n_files: int = 4, **options) -> list[Path]:
    """Write :func:`simulate_sequence` ``(n_files, **options)`` into ``folder``; return the paths.

    The truths are those of :func:`simulate_sequence` with the same arguments.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [sim.write(folder) for sim in simulate_sequence(n_files, **options)]
