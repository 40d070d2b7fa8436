"""Each step alone, on small arrays with exact expected values."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from etalon.ccd.bias import overclock_biases, subtract_bias
from etalon.ccd.despike import detect_spikes
from etalon.ccd.flat import flat_correct
from etalon.ccd.linearity import linearize
from etalon.ccd.noise import NoiseModel
from etalon.ccd.radiance import to_iof, to_radiance
from etalon.ccd.reference import FlatReference, LinearityReference, RadcalReference
from etalon.ccd.saturation import flag_saturation
from etalon.ccd.step import FLAG_MISSING
from etalon.nav.bias import quadrant_slices
from etalon.nav.layout import FrameLayout


def test_saturation_levels_exact():
    data = np.array([[10999, 11000, 14999], [15000, 16383, 0]], np.uint16)
    flags = np.array([[0, 0, 0], [0, 0, 2]], np.uint8)
    out = flag_saturation(data, flags, fits.Header())
    assert out.flags.tolist() == [[0, 16, 16], [48, 48, 2]]
    assert (out.header["PSATPXCT"], out.header["SATPXCT"], out.header["ASATPXCT"]) == (4, 2, 1)
    assert out.data is data and flags.tolist() == [[0, 0, 0], [0, 0, 2]]  # input untouched


def test_linearity_per_quadrant():
    coefficients = np.zeros((4, 5))
    coefficients[:, 1] = 1.0
    coefficients[:, 2] = [1e-6, 2e-6, 3e-6, 4e-6]
    data = np.full((4, 4), 1000.0, np.float32)
    out = linearize(data, np.zeros((4, 4), np.uint8), fits.Header(),
                    LinearityReference(coefficients, "lin.fits"),
                    variance=np.ones((4, 4), np.float32))
    # quadrants: 1 upper-left [2:, :2], 2 lower-left [:2, :2], 3 upper-right, 4 lower-right
    assert out.data[3, 0] == pytest.approx(1001.0)
    assert out.data[0, 0] == pytest.approx(1002.0)
    assert out.data[3, 3] == pytest.approx(1003.0)
    assert out.data[0, 3] == pytest.approx(1004.0)
    assert out.variance[0, 3] == pytest.approx((1 + 2 * 4e-6 * 1000) ** 2, rel=1e-6)
    assert out.header["LINDC2"] == 4e-6 and out.header["LINEARIZ"] is True


def test_flat_guards_dead_pixels():
    flat = np.array([[1.0, 2.0], [0.01, 0.5]], np.float32)
    out = flat_correct(np.full((2, 2), 10.0, np.float32), np.zeros((2, 2), np.uint8),
                       fits.Header(), FlatReference(flat, "flat.fits"),
                       variance=np.full((2, 2), 4.0, np.float32))
    assert out.data.tolist() == [[10.0, 5.0], [10.0, 20.0]]
    assert out.flags.tolist() == [[0, 0], [1, 0]]
    assert out.variance.tolist() == [[4.0, 1.0], [4.0, 16.0]]


def test_radiance_and_iof_arithmetic():
    radcal = RadcalReference({"CLEAR1": (650.0, 2e-4, 500.0)}, "radcal.fits")
    data = np.full((2, 2), 1000.0, np.float32)
    out = to_radiance(data, np.zeros((2, 2), np.uint8), fits.Header(), radcal,
                      filter_name="clear1", inttime_ms=50.0)
    assert out.data[0, 0] == pytest.approx(1000 / 0.05 * 2e-4)
    assert out.header["CALTYPE"] == "RAD" and out.header["RADCALV"] == 2e-4
    iof = to_iof(out.data, out.flags, out.header, radcal, filter_name="CLEAR1",
                 sun_distance_au=1.5)
    assert iof.data[0, 0] == pytest.approx(4.0 * 1.5**2 / 500.0)
    assert iof.header["CALTYPE"] == "IF" and iof.header["IOFCALD"] == 1.5


def test_noise_model():
    model = NoiseModel(gain=25.0, read_noise=2.0)
    assert model.variance(np.array([100.0, -5.0])).tolist() == pytest.approx(
        [4 + 1 / 12 + 4.0, 4 + 1 / 12])


def _field(seed=0, shape=(64, 64)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    truth = 100.0 + 3.0 * xx + 2.0 * yy                  # a steep gradient
    return truth + rng.normal(0, 2.0, shape), np.full(shape, 4.0)


def test_despike_single_pixel_and_track():
    image, var = _field()
    image[20, 20] += 80.0
    image[40, 10:14] += 60.0                             # a 4-pixel track
    mask, cleaned = detect_spikes(image, var)
    assert mask[20, 20] and mask[40, 10:14].all()
    assert mask.sum() == 5
    assert abs(cleaned[20, 20] - (100 + 60 + 40)) < 8


def test_despike_spares_point_sources():
    image, var = _field(1)
    yy, xx = np.mgrid[0:64, 0:64]
    sigma = 1.7 / 2.3548
    image += 2000.0 * np.exp(-((yy - 30.3) ** 2 + (xx - 30.6) ** 2) / (2 * sigma**2))
    mask, _ = detect_spikes(image, var)
    assert not mask.any()


def test_despike_ignores_holes_and_their_edges():
    image, var = _field(2)
    holes = np.zeros(image.shape, bool)
    holes[:, 32:] = True                                 # outside the snip
    image[holes] = 0.0                                   # what decoding leaves there
    image[10, 5:9] = 1e4                                 # garbage inside a hole is never seen
    holes[10, 5:9] = True
    mask, _ = detect_spikes(image, var, holes)
    assert not mask.any()
    image[20, 31] += 100.0                               # a hit on the snip's edge column
    mask, _ = detect_spikes(image, var, holes)
    assert mask.sum() == 1 and mask[20, 31]


def test_bias_from_each_quadrants_own_serial_overclock():
    """Noisy overclock, a different bias per quadrant, garbage in a missing overclock pixel."""
    layout = FrameLayout(image_lines=8, image_pixels=8, serial_left=4, serial_right=4,
                         parallel_bottom=2, parallel_top=2)
    biases = (383.0, 391.0, 376.0, 388.0)
    rng = np.random.default_rng(3)
    frame = layout.embed(np.zeros((8, 8)), biases, dtype=np.float32)
    frame += rng.choice([-1.0, 0.0, 1.0], frame.shape).astype(np.float32)  # read noise
    flags = np.zeros(frame.shape, np.uint8)
    rows, cols = layout.serial_overclock_slices(3)
    frame[rows.start, cols.start] = 16383.0                    # a lost packet's garbage ...
    flags[rows.start, cols.start] = FLAG_MISSING               # ... flagged missing
    measured = [float(np.median(np.delete(frame[layout.serial_overclock_slices(q)].ravel(),
                                          0 if q == 3 else [])))
                for q in (1, 2, 3, 4)]
    out = subtract_bias(frame, flags, fits.Header(), layout)
    assert overclock_biases(frame, flags, layout) == tuple(measured)
    assert [out.header[f"BIASDN{q}"] for q in (1, 2, 3, 4)] == pytest.approx(measured)
    assert max(abs(m - b) for m, b in zip(measured, biases, strict=True)) <= 1.0
    expected = np.array(layout.extract(frame))
    for q, sl in quadrant_slices((8, 8)).items():             # 1 upper-left ... 4 lower-right
        expected[sl] -= measured[q - 1]
    np.testing.assert_array_equal(out.data, expected)
    assert out.data.shape == out.flags.shape == (8, 8)
