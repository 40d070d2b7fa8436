"""NAV decoder: exact round trip against the simulator, spec layout, damage, errors."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from etalon.fileio import EtalonInputError
from etalon.nav import format as fmt
from etalon.nav.decoder import NavDecodeError, decode
from etalon.nav.simulate import DAMAGE_MODES, LAYOUTS, simulate_nav_file

INSTRUMENTS = ("NAVHRI", "NAVMRI", "NAVITS")

# ----------------------------------------------------------------- an independent encoder
# Written from the table of docs/nav-format.md with struct, not with etalon.nav.format,
# so that a layout mistake in format.py cannot cancel out in the round trip.
_SPEC = struct.Struct(">H f f d d d d f f f f i B B H H H H H H H H")
assert _SPEC.size == 80


def spec_packet(values, *, detector=2, left=0, right=2, top=0, bottom=1, first_pixel=None,
                first_line=None, pseudo_et=1.7e8, ra=1.0, dec=0.5, twist=2.0, centroid=(10.5, 20.25),
                target=1000093, compression=0, length=None):
    """One packet by the spec: big-endian, 0-based, raster order from (top, left)."""
    values = np.asarray(values, dtype=np.uint16)
    first_pixel = left if first_pixel is None else first_pixel
    first_line = top if first_line is None else first_line
    length = 80 + 2 * values.size if length is None else length
    head = _SPEC.pack(length, centroid[0], centroid[1], pseudo_et, ra, dec, twist, 1e-5, 1e-5, 1e-5,
                      0.05, target, detector, compression, 1, 1, left, right, top, bottom,
                      first_pixel, first_line)
    return head + struct.pack(f">{values.size}H", *values.tolist())


def test_header_layout_is_the_spec_table():
    offsets = {name: fmt.HEADER_DTYPE.fields[name][1] for name in fmt.HEADER_DTYPE.names}
    assert offsets == {
        "length": 0, "centroid_pixel": 2, "centroid_line": 6, "pseudo_et": 10, "ra": 18,
        "dec": 26, "twist": 34, "rate_x": 42, "rate_y": 46, "rate_z": 50, "exposure": 54,
        "target_id": 58, "detector": 62, "compression": 63, "image_number": 64,
        "image_type": 66, "left": 68, "right": 70, "top": 72, "bottom": 74,
        "first_pixel": 76, "first_line": 78}
    assert fmt.HEADER_DTYPE.itemsize == 80
    assert all(fmt.HEADER_DTYPE[n].byteorder in (">", "|") for n in fmt.HEADER_DTYPE.names)
    assert fmt.PIXEL_DTYPE == np.dtype(">u2") and fmt.INDEX_BASE == 0
    assert fmt.MAX_PIXELS_PER_PACKET == 461


@pytest.mark.parametrize("instrument,detector,sci_corner", [
    ("NAVHRI", 3, lambda line, pixel: (1007 - line, pixel)),          # vertical flip
    ("NAVMRI", 2, lambda line, pixel: (1007 - line, 1007 - pixel)),   # 180 degrees
    ("NAVITS", 1, lambda line, pixel: (1007 - line, 1007 - pixel)),
])
def test_spec_packets_land_in_raw_and_science_frames(instrument, detector, sci_corner):
    # snip 3 pixels wide, 2 lines high at raw (line 5..6, pixel 10..12), sent as two packets
    values = [101, 102, 103, 201, 202, 203]
    data = (spec_packet(values[:4], detector=detector, left=10, right=12, top=5, bottom=6)
            + spec_packet(values[4:], detector=detector, left=10, right=12, top=5, bottom=6,
                          first_pixel=11, first_line=6))
    nav = decode(data)
    assert nav.instrument == instrument
    assert nav.raw_image[5, 10:13].tolist() == [101, 102, 103]
    assert nav.raw_image[6, 10:13].tolist() == [201, 202, 203]
    for (line, pixel), v in zip([(5, 10), (5, 12), (6, 10), (6, 12)], [101, 103, 201, 203],
                                strict=True):
        assert nav.image[sci_corner(line, pixel)] == v
    assert nav.report.missing_pixels == 1008 * 1008 - 6
    assert int(np.count_nonzero(nav.flags == 2)) == 1008 * 1008 - 6
    assert not (nav.flags[sci_corner(5, 10)] & 2)
    row = nav.snips[0]
    assert (row["raw_left"], row["raw_right"], row["raw_top"], row["raw_bottom"]) == (10, 12, 5, 6)
    assert (row["sci_line_min"], row["sci_line_max"]) == (1007 - 6, 1007 - 5)
    assert row["n_packets"] == 2 and row["complete"]
    # AutoNav centroid (pixel 10.5, line 20.25 in the raw frame)
    assert nav.header.centroid_pixel_raw == 10.5 and nav.header.centroid_line_raw == 20.25
    assert (nav.header.centroid_line, nav.header.centroid_pixel) == sci_corner(20.25, 10.5)
    assert nav.header.pseudo_et == 1.7e8 and nav.header.target_id == 1000093
    raw_north = (270 - np.degrees(2.0)) % 360
    assert nav.header.celestial_north_raw_deg == pytest.approx(raw_north)
    # science array: MRI/ITS rotate 180 deg (mirrors the clock angle in the origin-lower
    # display), HRIV flips vertically (keeps it)
    expected = raw_north if instrument == "NAVHRI" else (-raw_north) % 360
    assert nav.header.celestial_north_deg == pytest.approx(expected)


@pytest.mark.parametrize("instrument", INSTRUMENTS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("damage", list(DAMAGE_MODES))
def test_round_trip_is_exact(instrument, layout, damage):
    sim = simulate_nav_file(instrument, 9000385, seed=11, layout=layout, **DAMAGE_MODES[damage])
    truth = sim.truth
    nav = decode(sim.raw, name=sim.name)
    assert nav.image.dtype == np.uint16 and nav.image.shape == (1008, 1008)
    np.testing.assert_array_equal(nav.image, truth.image)
    np.testing.assert_array_equal((nav.flags & 2) != 0, truth.missing)
    assert not (nav.flags & 4).any()
    assert nav.header == truth.header
    # orientation: HRIV flips vertically, MRI and ITS rotate 180 degrees
    expected_raw = truth.image[::-1, :] if instrument == "NAVHRI" else truth.image[::-1, ::-1]
    np.testing.assert_array_equal(nav.raw_image, expected_raw)
    r = nav.report
    assert r.packets_used == truth.packets_delivered
    assert r.bytes_skipped == truth.bytes_skipped
    assert r.packets_rejected == truth.garbage_runs + (1 if DAMAGE_MODES[damage].get("truncate") else 0)
    assert r.overlap_pixels == truth.overlap_pixels
    assert r.conflict_pixels == 0
    assert r.missing_pixels == int(truth.missing.sum())
    assert r.snips == len({truth.snips[s] for s in truth.packets["snip"][truth.packets["delivered"]]})
    assert nav.filename is not None and nav.filename.instrument == instrument
    # the scene carries the default bias of the instrument (quadrant 2 = science [:504, :504])
    assert truth.bias == tuple(__import__("etalon.nav.bias", fromlist=["x"]).load_bias_table()[instrument])


def test_random_packet_sizes_round_trip():
    sim = simulate_nav_file("NAVMRI", 1, seed=5, layout="overlap", packet_pixels="random",
                            shuffle=True, garbage=2, lost=2)
    nav = decode(sim.raw)
    np.testing.assert_array_equal(nav.image, sim.truth.image)
    np.testing.assert_array_equal(nav.missing, sim.truth.missing)


def test_full_frame_has_2205_packets_and_decodes_completely():
    sim = simulate_nav_file("NAVHRI", 1, seed=2, layout="full")
    assert sim.truth.packets.size == 2205  # 2,204 packets of 461 pixels and one of 20
    nav = decode(sim.raw)
    np.testing.assert_array_equal(nav.image, sim.truth.scene)
    assert nav.report.missing_pixels == 0 and not nav.report.resynchronised
    assert nav.snips.size == 1 and nav.snips["complete"][0]


def test_every_source_kind_gives_the_same_image(tmp_path):
    sim = simulate_nav_file("NAVITS", 7, seed=1)
    path = sim.write(tmp_path)
    before = path.read_bytes()
    results = [decode(path), decode(str(path)), decode(sim.raw), decode(bytearray(sim.raw)),
               decode(memoryview(sim.raw)), decode(io.BytesIO(sim.raw))]
    for nav in results:
        np.testing.assert_array_equal(nav.image, sim.truth.image)
    assert results[0].source == str(path) and results[0].filename.exposure_id == 7
    assert path.read_bytes() == before  # input untouched


def test_overlap_conflict_sets_bit_4_and_first_packet_wins():
    a = spec_packet([1, 2, 3, 4, 5, 6], left=0, right=2, top=0, bottom=1)
    b = spec_packet([9, 2, 3, 4, 5, 7], left=0, right=2, top=0, bottom=1)  # same snip, 2 differ
    nav = decode(a + b)
    assert nav.report.overlap_pixels == 6 and nav.report.conflict_pixels == 2
    assert nav.raw_image[0, :3].tolist() == [1, 2, 3] and nav.raw_image[1, 2] == 6
    assert nav.raw_flags[0, 0] == 4 and nav.raw_flags[1, 2] == 4 and nav.raw_flags[0, 1] == 0
    # a snip carried by more packets wins over a one-packet snip
    big = [spec_packet([10, 11], left=0, right=1, top=0, bottom=1),
           spec_packet([12, 13], left=0, right=1, top=0, bottom=1, first_line=1)]
    lone = spec_packet([99, 11, 12, 13, 14, 15], left=0, right=5, top=0, bottom=0)
    nav = decode(lone + b"".join(big))
    assert nav.raw_image[0, 0] == 10 and nav.raw_flags[0, 0] == 4


def test_resynchronises_and_reports_every_skip():
    p = [spec_packet([i, i + 1], left=2 * i, right=2 * i + 1, top=0, bottom=0) for i in range(6)]
    foreign = spec_packet([77, 77], left=0, right=1, top=3, bottom=3, pseudo_et=5.0)
    cut = p[3][:-2] + p[3][-1:]  # one byte gone from packet 3's data: it runs over packet 4
    data = b"\x01\x02\x03" + p[0] + p[1] + foreign + p[2] + cut + p[4] + p[5][:82]
    nav = decode(data)
    r = nav.report
    assert r.packets_used == 4 and r.resynchronised
    assert nav.raw_image[0, :6].tolist() == [0, 1, 1, 2, 2, 3]
    assert nav.raw_image[0, 8:10].tolist() == [4, 5] and nav.raw_image[3, 0] == 0
    assert nav.raw_flags[0, 6] == 2 and nav.raw_flags[0, 10] == 2  # cut packet 3, truncated 5
    reasons = {rej.offset: rej.code for rej in r.rejected}
    assert reasons.pop(0) in (2, 3, 4, 5, 6, 7, 8)
    assert reasons == {3 + 2 * 84: 9, 3 + 4 * 84: 10,
                       len(data) - 82: 8}
    assert "pseudo_et" in next(x.reason for x in r.rejected if x.code == 9)
    assert r.bytes_skipped == 3 + 84 + 83 + 82
    assert sum(n for _, n in r.skipped) == r.bytes_skipped


def test_packet_failing_validation_is_rejected_with_its_reason():
    good = spec_packet([5, 6], left=0, right=1, top=0, bottom=0)
    bad = {
        3: spec_packet([1, 2], detector=7),
        4: spec_packet([1, 2], compression=2),
        5: spec_packet([1, 2], left=1000, right=1010),
        6: spec_packet([1, 2], first_pixel=5),
        7: spec_packet([1, 2, 3, 4, 5, 6, 7], left=0, right=2, top=0, bottom=1),
    }
    for code, packet in bad.items():
        nav = decode(good + packet + good)
        assert [rej.code for rej in nav.report.rejected] == [code]
        assert nav.report.packets_used == 2


def test_no_valid_packet_is_a_clear_error(tmp_path):
    with pytest.raises(NavDecodeError, match="empty file"):
        decode(b"")
    junk = tmp_path / "NAV_OM_9000385.bin_2005_185T03_38_58.000"
    junk.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(NavDecodeError, match=r"^.*NAV_OM_9000385.*no valid NAV packet"):
        decode(junk)
    with pytest.raises(NavDecodeError, match="instrument NAVHRI"):
        decode(spec_packet([1, 2]), instrument="NAVHRI")
    with pytest.raises(EtalonInputError, match="does not exist"):
        decode(tmp_path / "nothing.bin")


def test_expected_instrument_filters_packets():
    mri = spec_packet([1, 2], detector=2)
    its = (spec_packet([3, 4], detector=1, left=4, right=5)
           + spec_packet([5, 6], detector=1, left=4, right=5, first_pixel=4, first_line=1,
                         top=0, bottom=1))
    nav = decode(mri + its, instrument="ITS")
    assert nav.instrument == "NAVITS" and nav.report.packets_used == 2
    assert nav.report.rejected[0].code == 11
    # one ITS header against an MRI packet is not an ITS image (issue 17, item 9)
    with pytest.raises(NavDecodeError, match="no valid NAVITS packet"):
        decode(mri + spec_packet([3, 4], detector=1, left=4, right=5), instrument="ITS")


def test_bad_file_name_still_decodes_with_a_warning():
    nav = decode(spec_packet([1, 2], detector=3), name="frame_0001.bin")
    assert nav.filename is None and nav.instrument == "NAVHRI"
    assert any("not a raw NAV file name" in w for w in nav.report.warnings)
