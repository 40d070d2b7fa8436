"""The calibration frame layout: image, serial overclock per NAVBIAS quadrant, parallel rows."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from etalon.fileio import EtalonInputError
from etalon.nav.bias import bias_image, load_bias_table
from etalon.nav.layout import DEFAULT_LAYOUT, FrameLayout

BIASES = (383.0, 391.0, 376.0, 388.0)


def _image():
    return (np.arange(1008 * 1008, dtype=np.uint32) % 16000).astype(np.uint16).reshape(1008, 1008)


def test_default_geometry():
    layout = FrameLayout()
    assert layout.frame_shape == (1024, 1024)
    assert layout.image_slices() == (slice(8, 1016), slice(8, 1016))
    assert layout.serial_overclock_slices(1) == (slice(512, 1016), slice(0, 8))      # upper-left
    assert layout.serial_overclock_slices(2) == (slice(8, 512), slice(0, 8))         # lower-left
    assert layout.serial_overclock_slices(3) == (slice(512, 1016), slice(1016, 1024))  # upper-right
    assert layout.serial_overclock_slices(4) == (slice(8, 512), slice(1016, 1024))   # lower-right
    bottom, top = layout.parallel_overclock_slices()
    assert bottom == (slice(0, 8), slice(None)) and top == (slice(1016, 1024), slice(None))


def test_embed_places_every_pixel():
    layout = DEFAULT_LAYOUT
    img = _image()
    frame = layout.embed(img, BIASES)
    assert frame.dtype == np.uint16 and frame.shape == (1024, 1024)
    np.testing.assert_array_equal(frame[8:1016, 8:1016], img)
    np.testing.assert_array_equal(layout.extract(frame), img)
    # parallel overclock: zeros over the full width, corners included
    assert not frame[:8].any() and not frame[1016:].any()
    # serial overclock: quadrant bias beside its own image rows
    assert (frame[512:1016, :8] == 383).all()    # 1 upper-left
    assert (frame[8:512, :8] == 391).all()       # 2 lower-left
    assert (frame[512:1016, 1016:] == 376).all()  # 3 upper-right
    assert (frame[8:512, 1016:] == 388).all()    # 4 lower-right
    for q in (1, 2, 3, 4):
        assert (layout.serial_overclock(frame, q) == BIASES[q - 1]).all()
    # total count: every frame pixel is image, serial or parallel overclock
    assert layout.region_map().size == 1008 * 1008 + 4 * 504 * 8 + 2 * 8 * 1024


def test_serial_overclock_quadrants_match_bias_module_convention():
    """The overclock beside a quadrant's image rows holds that quadrant's bias_image value."""
    layout = DEFAULT_LAYOUT
    ref = bias_image(BIASES)
    frame = layout.embed(ref.astype(np.float32), BIASES)
    for q in (1, 2, 3, 4):
        rows, _ = layout.serial_overclock_slices(q)
        img_rows, img_cols = layout.image_quadrant_slices(q)
        assert rows == img_rows
        assert np.unique(frame[img_rows, img_cols]).tolist() == [BIASES[q - 1]]


def test_fractional_bias_gives_float_frame():
    frame = DEFAULT_LAYOUT.embed(_image(), (383.5, 391, 376, 388))
    assert frame.dtype == np.float32
    assert frame[600, 3] == 383.5


def test_custom_layout_and_header_round_trip():
    layout = FrameLayout(image_lines=64, image_pixels=32, serial_left=2, serial_right=4,
                         parallel_bottom=1, parallel_top=3)
    assert layout.frame_shape == (68, 38)
    img = np.ones((64, 32), np.uint16) * 7
    frame = layout.embed(img, (1, 2, 3, 4))
    assert (frame[33:65, 0:2] == 1).all() and (frame[1:33, 0:2] == 2).all()
    assert (frame[33:65, 34:38] == 3).all() and (frame[1:33, 34:38] == 4).all()
    assert not frame[0].any() and not frame[65:].any()
    h = layout.to_header(fits.Header())
    assert FrameLayout.from_header(h) == layout
    assert FrameLayout.without_overclock((64, 64)).frame_shape == (64, 64)


def test_pad_for_flags():
    flags = np.full((1008, 1008), 2, np.uint8)
    padded = DEFAULT_LAYOUT.pad(flags, 0)
    assert padded.dtype == np.uint8 and padded.sum() == 2 * 1008 * 1008


@pytest.mark.parametrize("kwargs", [{"serial_left": -1}, {"image_lines": 0}])
def test_bad_layouts_rejected(kwargs):
    with pytest.raises(ValueError):
        FrameLayout(**kwargs)


def test_wrong_shapes_rejected():
    with pytest.raises(ValueError, match="image shape"):
        DEFAULT_LAYOUT.embed(np.zeros((10, 10)), BIASES)
    with pytest.raises(ValueError, match="frame shape"):
        DEFAULT_LAYOUT.extract(np.zeros((1008, 1008)))
    with pytest.raises(ValueError, match="4 quadrant biases"):
        DEFAULT_LAYOUT.embed(_image(), (1, 2, 3))
    with pytest.raises(ValueError, match=r"quadrant must be 1\.\.4"):
        DEFAULT_LAYOUT.serial_overclock_slices(5)
    with pytest.raises(KeyError, match="OVSERL"):
        FrameLayout.from_header(fits.Header({"OVIMGLIN": 1008}))


def test_default_bias_table_values():
    table = load_bias_table()
    assert table["NAVMRI"] == BIASES
    assert set(table) == {"NAVHRI", "NAVMRI", "NAVITS"}


_BIAS_HEADER = "# comment\ninstrument,quadrant,bias_dn\n"
_MRI_ROWS = "".join(f"NAVMRI,{q},{380 + q}\n" for q in (1, 2, 3, 4))


@pytest.mark.parametrize("body, message", [
    (_MRI_ROWS.replace("384", "nan"), "data row 4: bias_dn must be finite"),
    (_MRI_ROWS + "MRI,1,380\n", "data row 5: instrument must be one of"),
    (_MRI_ROWS + "NAVMRI,2,999\n", "data row 5: NAVMRI quadrant 2 given twice"),
    (_MRI_ROWS.replace("NAVMRI,3,383", "NAVMRI,3,x"), "data row 3: quadrant and bias_dn"),
    (_MRI_ROWS.replace("NAVMRI,4,384\n", ""), r"lacks quadrant\(s\) \[4\]"),
    ("", "has no data row"),
])
def test_bad_bias_tables_are_clear_errors_naming_the_file(tmp_path, body, message):
    p = tmp_path / "bias.csv"
    p.write_text(_BIAS_HEADER + body)
    with pytest.raises(EtalonInputError, match=message) as err:
        load_bias_table(p)
    assert str(err.value).startswith(str(p))


def test_binary_bias_table_is_a_clear_error(tmp_path):
    p = tmp_path / "bias.csv"
    p.write_bytes(b"\xff\xfe\x00\x81" * 50)
    with pytest.raises(EtalonInputError, match="not a text CSV"):
        load_bias_table(p)


def test_blank_lines_in_bias_table_are_skipped(tmp_path):
    p = tmp_path / "bias.csv"
    p.write_text(_BIAS_HEADER + "\n   \n" + _MRI_ROWS)
    assert load_bias_table(p) == {"NAVMRI": (381.0, 382.0, 383.0, 384.0)}
