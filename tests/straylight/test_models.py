"""Forward model, Level-1-style correction and ECSV parameter sets: exact checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.fileio import EtalonInputError
from etalon.straylight.models import (
    CT1Kernel,
    CT2Ghost,
    add_stray_light,
    apply_ct1,
    correct_stray_light,
    ghost_image,
    halo_kernel,
)
from etalon.straylight.params import read_parameters, write_parameters


def _blob(shape=(64, 80), cx=30.0, cy=25.0, r=8.0):
    yy, xx = np.indices(shape)
    return np.where(np.hypot(xx - cx, yy - cy) < r, 100.0 + xx, 0.0)


def test_integer_ghost_is_the_shifted_source_and_falls_off_the_frame():
    src = _blob()
    g = ghost_image(src, CT2Ghost("B1", "B2", 0.02, 45.0, -20.0, 0.0))
    want = np.zeros_like(src)
    want[:-20, 45:] = 0.02 * src[20:, :-45]
    assert np.allclose(g, want, atol=1e-9)
    # part of the blob (x 22..38 -> 67..83 beyond column 79) left the frame: flux lost, no wrap
    assert g.sum() < 0.02 * src.sum() * 0.9
    assert np.abs(g[:, :40]).max() < 1e-9


def test_blurred_ghost_keeps_its_flux_and_centroid():
    src = _blob(shape=(96, 96), cx=30.0, cy=30.0)
    g = ghost_image(src, CT2Ghost("B1", "B2", 0.01, 20.5, 10.25, 2.0))
    assert g.sum() == pytest.approx(0.01 * src.sum(), rel=1e-9)
    yy, xx = np.indices(src.shape)
    cs = (src * xx).sum() / src.sum(), (src * yy).sum() / src.sum()
    cg = (g * xx).sum() / g.sum(), (g * yy).sum() / g.sum()
    assert cg[0] - cs[0] == pytest.approx(20.5, abs=1e-6)
    assert cg[1] - cs[1] == pytest.approx(10.25, abs=1e-6)


def test_ct1_kernel_profiles_and_flux():
    k = CT1Kernel("B1", 0.03, 4.0)
    h = halo_kernel(k)
    assert h.shape == (81, 81) and h.sum() == pytest.approx(1.0)
    c = h.shape[0] // 2
    assert h[c, c + 4] / h[c, c] == pytest.approx(np.exp(-1.0))
    p = halo_kernel(CT1Kernel("B2", 0.02, 2.0, "power", 3.0))
    c = p.shape[0] // 2
    assert p[c, c + 2] / p[c, c] == pytest.approx(2.0**-3)
    img = _blob(shape=(200, 200), cx=100, cy=100)
    out = apply_ct1(img, k)
    assert out.sum() == pytest.approx(img.sum(), rel=1e-9)        # flux conserving
    assert out[100, 100 + 30] > 0 and img[100, 130] == 0
    with pytest.raises(ValueError, match="amplitude"):
        CT1Kernel("B1", 0.7, 3.0)


def test_add_then_correct_recovers_the_scene_and_leaves_inputs_alone():
    imgs = {"B1": _blob(shape=(128, 128), cx=60, cy=60, r=15),
            "B2": 2 * _blob(shape=(128, 128), cx=60, cy=60, r=15),
            "B5": 0.5 * _blob(shape=(128, 128), cx=60, cy=60, r=15)}
    copy = {b: a.copy() for b, a in imgs.items()}
    ct1 = [CT1Kernel("B1", 0.03, 4.0), CT1Kernel("B5", 0.02, 3.0, "power", 3.0)]
    ct2 = [CT2Ghost("B1", "B2", 0.03, 25.3, -10.2, 1.5), CT2Ghost("B2", "B1", 0.02, -20, 22, 1.0),
           CT2Ghost("B5", "B1", 0.01, 0.0, 30.0, 0.0)]
    obs = add_stray_light(imgs, ct1, ct2)
    assert all(np.array_equal(imgs[b], copy[b]) for b in imgs)
    # ghost = 3 % of the (halo-spread) B1 flux; the far halo shifted off the frame is lost
    assert obs["B2"].sum() - imgs["B2"].sum() == pytest.approx(0.03 * imgs["B1"].sum(), rel=1e-4)
    back = correct_stray_light(obs, ct1, ct2, iterations=4)
    for b in imgs:
        assert np.abs(back[b] - imgs[b]).max() < 1e-4 * imgs[b].max()
    one = correct_stray_light(obs, ct1, ct2, iterations=1)      # single pass: error ~ c**2
    assert np.abs(one["B1"] - imgs["B1"]).max() < 5e-3 * imgs["B1"].max()
    with pytest.raises(ValueError, match="B9"):
        add_stray_light(imgs, [], [CT2Ghost("B9", "B1", 0.01, 1, 1, 0)])


def test_parameters_round_trip_and_bad_files(tmp_path):
    ct1 = [CT1Kernel("B1", 0.03, 4.0), CT1Kernel("B5", 0.02, 3.0, "power", 2.5, 50.0, 1.0)]
    ct2 = [CT2Ghost("B1", "B2", 0.0123, 150.25, -40.5, 2.0)]
    path = write_parameters(tmp_path / "p.ecsv", ct1, ct2, version="STRLGT-v2")
    got = read_parameters(path)
    assert got.ct1 == ct1 and got.ct2 == ct2 and got.version == "STRLGT-v2"
    assert got.meta["etalon_step"] == "straylight parameters"
    text = path.read_text()
    bad = tmp_path / "bad.ecsv"
    bad.write_text(text.replace("CT2 B1 B2", "CT3 B1 B2"))
    with pytest.raises(EtalonInputError, match=r"bad\.ecsv.*row 3.*CT1 or CT2"):
        read_parameters(bad)
    bad.write_text(text.replace("CT2 B1 B2", "CT2 B1 B13"))
    with pytest.raises(EtalonInputError, match=r"row 3.*B13"):
        read_parameters(bad)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_readers_fuzzed(tmp_path, data):
    from etalon.straylight.io import read_scene

    p = tmp_path / "fuzz.ecsv"
    p.write_bytes(b"# %ECSV 1.0\n" + data)
    with pytest.raises(EtalonInputError):
        read_parameters(p)
    q = tmp_path / "fuzz.fits"
    q.write_bytes(b"SIMPLE  =                    T" + data)
    with pytest.raises(EtalonInputError):
        read_scene(q)
