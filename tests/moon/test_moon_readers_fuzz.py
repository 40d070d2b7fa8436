"""Moon FITS images and spectral-response files, damaged: a clear EtalonInputError naming the file."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.time import Time
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from etalon.data import data_path
from etalon.fileio import EtalonInputError
from etalon.moon.images import MoonImage, read_moon_image, write_moon_image
from etalon.spectral.responses import read_srf

_FUZZ = settings(max_examples=30, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


def _damage(data: bytes, cut: int, pos: int, flip: int) -> bytes:
    out = bytearray(data[:cut])
    if out:
        out[pos % len(out)] ^= flip
    return bytes(out)


def _check(reader, path):
    try:
        reader(path)
    except EtalonInputError as exc:
        assert str(exc).startswith(str(path))


@pytest.fixture(scope="module")
def moon_fits_bytes(tmp_path_factory):
    image = MoonImage(np.arange(48 * 40, dtype=float).reshape(48, 40), Time("2014-03-18T14:01:12"),
                      np.array([42164.8, -75.05, 66.49]), "ITRF", "B4", 1.5e-3, 2.0e-10, 1.0,
                      gain=4.0, read_noise_e=10.0, threshold=60.0)
    return write_moon_image(image, tmp_path_factory.mktemp("moon") / "moon.fits").read_bytes()


@pytest.mark.filterwarnings("ignore")  # damaged on purpose: only the exception matters
@_FUZZ
@given(cut=st.integers(0, 12000), pos=st.integers(0, 12000), flip=st.integers(1, 255))
@example(cut=10560, pos=730, flip=1)     # a damaged OBSPOSZ card: VerifyError on access
@example(cut=10560, pos=2000, flip=64)   # the data part truncated
def test_damaged_moon_image_raises_clear_error(tmp_path, moon_fits_bytes, cut, pos, flip):
    bad = tmp_path / "damaged.fits"
    bad.write_bytes(_damage(moon_fits_bytes, cut, pos, flip))
    _check(read_moon_image, bad)


@pytest.mark.filterwarnings("ignore")  # damaged on purpose: only the exception matters
@pytest.mark.parametrize("card, value", [("OBSPOSX", "'abc'"), ("RADCOEF", "'x'"), ("GAIN", "'e'"),
                                         ("DATE-OBS", "'not a date'"), ("OBSFRAME", "'GALACTIC'")])
def test_bad_moon_keyword_values_named(tmp_path, moon_fits_bytes, card, value):
    header = moon_fits_bytes[:2880].decode("ascii")
    i = header.index(f"{card:<8}= ")
    line = f"{card:<8}= {value:<70}"[:80]
    bad = tmp_path / "badkey.fits"
    bad.write_bytes((header[:i] + line + header[i + 80:]).encode("ascii") + moon_fits_bytes[2880:])
    with pytest.raises(EtalonInputError, match=card) as info:
        read_moon_image(bad)
    assert str(info.value).startswith(str(bad))


@pytest.mark.filterwarnings("ignore")  # damaged on purpose: only the exception matters
@_FUZZ
@given(cut=st.integers(0, 60000), pos=st.integers(0, 60000), flip=st.integers(1, 255))
def test_damaged_gsics_srf_raises_clear_error(tmp_path, cut, pos, flip):
    src = data_path("gsics_lunar", "W_XX-EUMETSAT-Darmstadt_VIS+IR+SRF_MSG3+SEVIRI_C_EUMG.nc")
    bad = tmp_path / "damaged_srf.nc"
    bad.write_bytes(_damage(src.read_bytes(), cut, pos, flip))
    _check(read_srf, bad)


@pytest.mark.filterwarnings("ignore")  # damaged on purpose: only the exception matters
@_FUZZ
@given(cut=st.integers(0, 40000), pos=st.integers(0, 40000), flip=st.integers(1, 255))
def test_damaged_srf_table_raises_clear_error(tmp_path, cut, pos, flip):
    src = data_path("venus", "venus_spectral_response.tsv")
    bad = tmp_path / "damaged_srf.tsv"
    bad.write_bytes(_damage(src.read_bytes(), cut, pos, flip))
    _check(read_srf, bad)


def test_srf_channel_without_response_is_left_out_with_a_warning(tmp_path):
    from etalon.spectral.responses import read_srf_table

    table = tmp_path / "srf.tsv"
    table.write_text("SR_WL\tB1\tB2\n500\t0\t0\n501\t0.5\t0\n502\t1\t0\n503\t0\t0\n")
    with pytest.warns(UserWarning, match=r"srf\.tsv: channel 'B2' has no usable spectral response"):
        responses = read_srf_table(table)
    assert list(responses) == ["B1"]
    empty = tmp_path / "empty.tsv"
    empty.write_text("SR_WL\tB1\n500\t0\n501\t0\n")
    with pytest.raises(EtalonInputError, match=r"empty\.tsv: no channel with a usable spectral"), \
            pytest.warns(UserWarning):
        read_srf_table(empty)
