"""The shared Frame structure on the real Deep Impact archive files."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.data import deep_impact_archive_files
from etalon.fileio import EtalonInputError
from etalon.frame import FLAG_BAD, FLAG_MISSING, FLAG_SAT_MOST, FLAG_SAT_SOME, Frame, read_frame, write_frame


def test_read_real_archive_file_exact_values():
    path = deep_impact_archive_files()[0]
    assert path.name == "mv0173727702_9000910_062_dn.fit"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    frame = read_frame(path)
    assert frame.data.shape == (64, 64)
    assert frame.data[32, 32] == np.float32(944.9511108398438)
    assert frame.data[0, 0] == np.float32(2424.136962890625)
    assert frame.snr[32, 32] == np.float32(98.36040496826172)
    counts = {b: int(np.count_nonzero(frame.flags & b))
              for b in (FLAG_BAD, FLAG_MISSING, FLAG_SAT_SOME, FLAG_SAT_MOST)}
    assert counts == {1: 128, 2: 100, 16: 7, 32: 3}
    assert frame.header["INSTRUME"] == "MRIVIS"
    assert frame.header["SCSTOP"] == "1/0173727702.195"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_uint16_frame_round_trip_is_stored_as_archive_raw_frames(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 65536, size=(16, 24), dtype=np.uint16)
    flags = (data % 3 == 0).astype(np.uint8) * FLAG_MISSING
    frame = Frame(data=data, flags=flags, header=fits.Header([("INSTRUME", "NAVMRI")]))
    out = write_frame(frame, tmp_path / "f.fits")
    with fits.open(out, do_not_scale_image_data=True) as hdul:
        assert hdul[0].header["BITPIX"] == 16
        assert hdul[0].header["BZERO"] == 32768
        assert [h.name for h in hdul] == ["PRIMARY", "FLAGS"]
    back = read_frame(out)
    np.testing.assert_array_equal(back.data, data)
    assert back.data.dtype == np.uint16
    np.testing.assert_array_equal(back.flags, flags)
    assert back.header["INSTRUME"] == "NAVMRI"


def test_shape_mismatch_and_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="flags shape"):
        Frame(data=np.zeros((4, 4)), flags=np.zeros((3, 4), np.uint8))
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"this is not FITS at all" * 200)
    with pytest.raises(EtalonInputError, match=r"junk\.fits"):
        read_frame(junk)
    table_only = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(table_only)
    with pytest.raises(EtalonInputError, match="no 2-D image"):
        read_frame(table_only)


_ARCHIVE_BYTES = deep_impact_archive_files()[0].read_bytes()


@pytest.mark.filterwarnings("ignore")  # damaged on purpose: only the exception matters
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(_ARCHIVE_BYTES)),
       flips=st.lists(st.tuples(st.integers(0, len(_ARCHIVE_BYTES) - 1), st.integers(1, 255)), max_size=20))
def test_read_frame_on_damaged_archive_file_gives_frame_or_clear_error(tmp_path, cut, flips):
    damaged = bytearray(_ARCHIVE_BYTES)
    for pos, xor in flips:
        damaged[pos] ^= xor
    path = tmp_path / "damaged.fit"
    path.write_bytes(bytes(damaged[:cut]))
    try:
        frame = read_frame(path)
    except EtalonInputError as exc:
        assert str(exc).startswith(str(path))
    else:
        assert frame.data.ndim == 2 and frame.flags.shape == frame.data.shape


def test_truncated_archive_file_is_an_error_not_a_partial_frame(tmp_path):
    path = tmp_path / "cut.fit"
    path.write_bytes(_ARCHIVE_BYTES[:65536])
    with pytest.raises(EtalonInputError, match="truncated FITS file"):
        read_frame(path)


def test_read_frame_refuses_an_absurd_naxis_before_astropy_parses_it(tmp_path):
    """A 98 KB file whose NAXIS is 99999999999999999999 used to make astropy loop without end."""
    raw = bytearray(_ARCHIVE_BYTES)
    card = next(i for i in range(0, 2880 * 4, 80) if raw[i:i + 8] == b"NAXIS   ")
    raw[card:card + 80] = f"{'NAXIS':8}= {'99999999999999999999':>20}".ljust(80).encode()
    path = tmp_path / "naxis.fit"
    path.write_bytes(bytes(raw))
    with pytest.raises(EtalonInputError, match=r"naxis\.fit: invalid NAXIS card \(99999999999999999999\)"):
        read_frame(path)
