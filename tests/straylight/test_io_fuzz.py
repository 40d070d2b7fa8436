"""Fuzz of the multi-band scene reader (``etalon.straylight.io.read_scene``).

Damaged FITS and netCDF scenes (truncated, bytes overwritten, wrong shapes and dtypes, missing,
unknown or repeated bands, NaN / infinite pixels): the reader returns a valid scene (2-D finite
float bands of one shape, known band names) or raises ``EtalonInputError`` whose message starts
with the file name; never another exception, never a hang (5 s alarm per file).
"""

from __future__ import annotations

import itertools
import os
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from etalon.fileio import EtalonInputError
from etalon.straylight.io import read_scene, write_fits_scene, write_netcdf_scene
from etalon.venus.bands import BAND_NAMES

_COUNTER = itertools.count()
_IMAGES = {b: np.random.default_rng(i).random((8, 8)) + 1.0 for i, b in enumerate(("B1", "B2", "B5"))}
_CACHE: dict[str, bytes] = {}


def _original(kind: str) -> bytes:
    if kind not in _CACHE:
        with tempfile.TemporaryDirectory() as d:
            if kind == "fits":
                p = write_fits_scene(Path(d) / "s.fits", _IMAGES)
            else:
                p = write_netcdf_scene(Path(d) / "s.nc", _IMAGES)
            _CACHE[kind] = p.read_bytes()
    return _CACHE[kind]


@contextmanager
def _alarm(seconds: int):
    def handler(signum, frame):
        raise TimeoutError(f"read_scene took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _check(path: Path) -> None:
    """A valid scene or EtalonInputError naming the file, within 5 s; the input unchanged."""
    before = path.read_bytes()
    with _alarm(5):
        try:
            images = read_scene(path)
        except EtalonInputError as exc:
            assert str(exc).startswith(str(path)), str(exc)
            assert path.read_bytes() == before
            return
    assert path.read_bytes() == before
    assert images and set(images) <= set(BAND_NAMES)
    shapes = {a.shape for a in images.values()}
    assert len(shapes) == 1
    for a in images.values():
        assert a.ndim == 2 and a.dtype == float and np.isfinite(a).all()


_DAMAGE = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)),
                                        min_size=1, max_size=30)),
    st.tuples(st.just("zero"), st.tuples(st.floats(0.0, 1.0), st.integers(1, 4000))),
)


def _damage(raw: bytes, damage) -> bytes:
    kind, arg = damage
    b = bytearray(raw)
    if kind == "truncate":
        return bytes(b[:int(arg * len(b))])
    if kind == "flip":
        for pos, val in arg:
            b[min(int(pos * len(b)), len(b) - 1)] = val
        return bytes(b)
    start = int(arg[0] * len(b))
    b[start:start + arg[1]] = bytes(len(b[start:start + arg[1]]))
    return bytes(b)


#: examples per fuzz test (FUZZ_N=600 for a longer hunt; 600 passed when this was written)
_FUZZ = settings(max_examples=int(os.environ.get("FUZZ_N", "60")), deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("kind", ["fits", "netcdf"])
@_FUZZ
@given(damage=_DAMAGE)
@example(damage=("truncate", 0.5))
@example(damage=("zero", (0.3, 4000)))
def test_damaged_bytes(tmp_path, kind, damage):
    # a fresh name per example: HDF5 keeps a file it failed to close open, and a later
    # example rewriting the same path would read the stale one
    p = tmp_path / f"scene_{kind}_{next(_COUNTER)}.{'fits' if kind == 'fits' else 'nc'}"
    p.write_bytes(_damage(_original(kind), damage))
    _check(p)


_ARRAYS = st.sampled_from(["ok", "1d", "3d", "int16", "uint8", "float32", "nan", "inf", "bigshape",
                           "empty"])


def _array(kind: str, rng: np.random.Generator) -> np.ndarray:
    base = rng.random((8, 8)) + 1.0
    return {"ok": base, "1d": base.ravel(), "3d": np.stack([base, base]),
            "int16": (base * 100).astype(np.int16), "uint8": (base * 100).astype(np.uint8),
            "float32": base.astype(np.float32), "nan": np.where(base > 1.9, np.nan, base),
            "inf": np.where(base > 1.9, np.inf, base), "bigshape": rng.random((9, 8)),
            "empty": np.zeros((0, 8))}[kind]


@_FUZZ
@given(st.lists(st.tuples(st.sampled_from(["B1", "B01", "B2", "B5", "B13", "X", "", "b7"]), _ARRAYS),
                min_size=1, max_size=5))
@example([("B1", "ok"), ("B01", "ok")])           # one band twice
@example([("B1", "ok"), ("B2", "bigshape")])      # bands of different shapes
@example([("B1", "3d")])
def test_fits_wrong_content(tmp_path, hdus):
    """Band images of the wrong shape or dtype, unknown / repeated / missing EXTNAME, NaN."""
    from astropy.io import fits

    rng = np.random.default_rng(len(hdus))
    hl = [fits.PrimaryHDU()]
    for name, kind in hdus:
        h = fits.ImageHDU(_array(kind, rng))
        if name:
            h.header["EXTNAME"] = name
        hl.append(h)
    p = tmp_path / f"content_{next(_COUNTER)}.fits"
    fits.HDUList(hl).writeto(p)
    _check(p)


@_FUZZ
@given(st.lists(st.tuples(st.sampled_from(["B1", "B2", "B5", "B13", "B1 "]),
                          st.sampled_from(["ok", "nan", "inf", "fill"])), min_size=1, max_size=4))
@example([("B1", "ok"), ("B1", "ok")])
@example([("B13", "ok")])
def test_netcdf_wrong_content(tmp_path, chans):
    """netCDF scenes with unknown / repeated channels, NaN, infinite or fill-only imagettes."""
    rng = np.random.default_rng(len(chans))
    images = {}
    for i, (name, kind) in enumerate(chans):
        a = rng.random((8, 8)) + 1.0
        if kind == "nan":
            a[2, 3] = np.nan
        elif kind == "inf":
            a[1, 1] = np.inf
        elif kind == "fill":
            a[:] = np.nan
        images[name if name not in images else f"{name}#{i}"] = a
    p = tmp_path / f"content_{next(_COUNTER)}.nc"
    try:
        _write_nc_raw(p, images)
    except Exception:     # the writer refuses what it cannot write: nothing to read
        return
    _check(p)


def _write_nc_raw(path: Path, images: dict[str, np.ndarray]) -> None:
    """Like write_netcdf_scene, but channel names as given (repeats allowed: ``B1#3`` -> B1)."""
    from astropy.time import Time

    from etalon.moon.gsics import GsicsChannel, GsicsLunarObservation, write_gsics_lunar

    chans = []
    for name, a in images.items():
        rad = np.ma.masked_invalid(a) if np.isnan(a).all() else np.ma.asarray(a)
        dc = np.ma.asarray(np.round(np.nan_to_num(a, posinf=0.0) * 100).astype(np.int32))
        chans.append(GsicsChannel(name.split("#")[0], True, {"pix_solid_ang": 5.5e-11,
                                                            "ovrsamp_fa": 1.0}, dc, rad))
    obs = GsicsLunarObservation(None, Time("2019-02-04T12:00:00", scale="utc"),
                                np.array([7000.0, 0.0, 0.0]), "J2000", chans)
    write_gsics_lunar(path, obs, history="fuzz")


def test_netcdf_reader_errors_become_input_errors(tmp_path, monkeypatch):
    """Found by the fuzz: a damaged HDF5 chunk makes netCDF4 raise RuntimeError('NetCDF: HDF
    error') (in ``Dataset.close``, outside the GSICS reader's handler); it must name the file."""
    import etalon.moon.gsics as gsics

    p = tmp_path / "hdf.nc"
    p.write_bytes(_original("netcdf"))

    def broken(path, channels=None):
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(gsics, "read_gsics_lunar", broken)
    with pytest.raises(EtalonInputError, match=r"hdf\.nc: not a readable netCDF scene "
                       r"\(RuntimeError: NetCDF: HDF error\)"):
        read_scene(p)
