"""Reference files: deterministic synthetic set, loaders that check type, instrument,
shape and units, and the dark model's scaling."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.ccd import reference as ref
from etalon.fileio import EtalonInputError


@pytest.fixture(scope="module")
def refset(tmp_path_factory):
    return ref.synthetic_reference_set("NAVMRI", tmp_path_factory.mktemp("refs"))


def test_synthetic_set_is_deterministic(refset, tmp_path):
    other = ref.write_reference_set(ref.synthetic_instrument("MRIVIS"), tmp_path)
    for kind, path in refset.paths().items():
        with fits.open(path) as a, fits.open(other.paths()[kind]) as b:
            for ha, hb in zip(a, b, strict=True):
                if ha.data is not None:
                    assert np.array_equal(ha.data, hb.data), kind


def test_loaders_read_the_truth(refset):
    inst = ref.synthetic_instrument("NAVMRI")
    assert np.array_equal(ref.load_flat(refset.flat, "NAVMRI", (1008, 1008)).flat, inst.flat)
    assert np.array_equal(ref.load_bad_pixels(refset.badpix, "MRIVIS").bad, inst.bad)
    assert np.array_equal(ref.load_linearity(refset.linearity).coefficients, inst.linearity)
    radcal = ref.load_radcal(refset.radcal, "NAVMRI")
    assert radcal.lookup("clear1")[1] == inst.radcal["CLEAR1"][1]
    # IOFCALV: Wehrli solar irradiance / pi, about 1.5 W m-2 nm-1 / pi near 650 nm
    assert 400 < radcal.lookup("CLEAR1")[2] < 560


def test_dark_model_scales_with_time_and_temperature(refset):
    dark = ref.load_dark(refset.dark, "NAVMRI", (1008, 1008))
    assert dark.algorithm == "MODEL" and dark.t_ref_k == 180.0 and dark.doubling_k == 6.0
    assert dark.scale(1000.0, 180.0) == pytest.approx(1.0)
    assert dark.scale(500.0, 186.0) == pytest.approx(1.0)      # half the time, twice the rate
    d = dark.dark_dn(2000.0, 174.0)
    assert np.allclose(d, dark.offset + dark.rate, rtol=1e-6)


def test_dark_frame_algorithm(tmp_path):
    h = fits.Header({"REFTYPE": "DARK", "INSTRUME": "MRIVIS", "BUNIT": "DN", "DARKALG": "FRAME",
                     "INTTIME": 100.0, "CCDT": 180.0, "DARKDBLT": 6.0})
    path = tmp_path / "dark_frame.fits"
    fits.PrimaryHDU(np.full((4, 4), 10, np.float32), h).writeto(path)
    dark = ref.load_dark(path, "NAVMRI", (4, 4))
    assert np.allclose(dark.dark_dn(200.0, 186.0), 40.0)


@pytest.mark.parametrize(("kind", "kwargs", "message"), [
    ("flat", {"instrument": "NAVHRI"}, "needs 'HRIVIS'"),
    ("flat", {"shape": (64, 64)}, "differs from the image shape"),
    ("dark", {"instrument": "NAVITS"}, "needs 'ITSVIS'"),
    ("badpix", {"shape": (1024, 1024)}, "differs from the image shape"),
])
def test_loader_mismatch_names_the_file(refset, kind, kwargs, message):
    loader = {"flat": ref.load_flat, "dark": ref.load_dark, "badpix": ref.load_bad_pixels}[kind]
    with pytest.raises(EtalonInputError, match=message) as info:
        loader(refset.paths()[kind], **kwargs)
    assert str(info.value).startswith(str(refset.paths()[kind]))


def test_wrong_type_and_unit(refset, tmp_path):
    with pytest.raises(EtalonInputError, match="REFTYPE is 'FLAT', expected 'DARK'"):
        ref.load_dark(refset.flat)
    h = fits.Header({"REFTYPE": "FLAT", "INSTRUME": "MRIVIS", "BUNIT": "DN"})
    path = tmp_path / "flat_dn.fits"
    fits.PrimaryHDU(np.ones((4, 4), np.float32), h).writeto(path)
    with pytest.raises(EtalonInputError, match="BUNIT is 'DN'"):
        ref.load_flat(path)
    with pytest.raises(EtalonInputError, match="does not exist"):
        ref.load_flat(tmp_path / "absent.fits")


# --------------------------------------------------------------------------- damaged files
_LOADERS = {"dark": ref.load_dark, "flat": ref.load_flat, "badpix": ref.load_bad_pixels,
            "linearity": ref.load_linearity, "radcal": ref.load_radcal}


@pytest.fixture(scope="module")
def small_refset(tmp_path_factory):
    """A complete 16 x 16 reference set (small files keep the fuzzing fast)."""
    inst = ref.synthetic_instrument("MRIVIS", (16, 16))
    return ref.write_reference_set(inst, tmp_path_factory.mktemp("small"))


@pytest.mark.filterwarnings("ignore")  # damaged on purpose: only the exception matters
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(_LOADERS)), data=st.data())
def test_damaged_reference_files_give_a_clear_error(small_refset, tmp_path, kind, data):
    """Truncated or overwritten bytes: EtalonInputError naming the file, never another error."""
    raw = small_refset.paths()[kind].read_bytes()
    damage = data.draw(st.sampled_from(["truncate", "overwrite", "card"]))
    if damage == "truncate":
        cut = data.draw(st.integers(0, len(raw) - 1))
        damaged = raw[:cut]
    elif damage == "overwrite":
        at = data.draw(st.integers(0, len(raw) - 1))
        junk = data.draw(st.binary(min_size=1, max_size=64))
        damaged = raw[:at] + junk + raw[at + len(junk):]
    else:  # an unparsable value in a header card (keyword columns 0-7 kept)
        card = data.draw(st.integers(0, 35)) * 80
        damaged = raw[:card + 10] + b"'broken" + raw[card + 17:]
    path = tmp_path / f"damaged_{kind}.fits"
    path.write_bytes(damaged[:len(raw)])
    try:
        loaded = _LOADERS[kind](path)
    except EtalonInputError as exc:
        assert str(exc).startswith(str(path))
    else:  # the damage left a valid file: what it holds must still be usable numbers
        for value in vars(loaded).values():
            if isinstance(value, np.ndarray):
                assert np.all(np.isfinite(value)), kind


def test_non_finite_dark_linearity_or_radcal_are_refused(small_refset, tmp_path):
    for kind, hdu_index, column in (("dark", 0, None), ("dark", "OFFSET", None),
                                    ("linearity", 1, "C2"), ("radcal", 1, "RADCALV")):
        path = tmp_path / f"{kind}_nan.fits"
        with fits.open(small_refset.paths()[kind]) as hdul:
            if column is None:
                hdul[hdu_index].data[3, 4] = np.nan
            else:
                hdul[hdu_index].data[column][1] = np.nan
            hdul.writeto(path, overwrite=True)
        with pytest.raises(EtalonInputError, match=r"non-finite|finite and positive") as info:
            _LOADERS[kind](path)
        assert str(info.value).startswith(str(path))


def test_cached_set_is_reused_without_rebuilding_the_instrument(tmp_path, monkeypatch, caplog):
    with caplog.at_level("WARNING", logger="etalon.ccd.reference"):
        first = ref.synthetic_reference_set("NAVMRI", tmp_path)
    # writing is said first, naming the folder and how to move it
    (record,) = [r for r in caplog.records if r.name == "etalon.ccd.reference"]
    text = record.getMessage()
    assert record.levelname == "WARNING" and f"into {tmp_path} " in text
    assert "MRIVIS" in text and "not the mission's" in text and "ETALON_CACHE" in text
    caplog.clear()
    stamp = {k: p.stat().st_mtime_ns for k, p in first.paths().items()}

    def forbidden(*args, **kwargs):
        raise AssertionError("synthetic_instrument rebuilt although the set is cached")

    monkeypatch.setattr(ref, "synthetic_instrument", forbidden)
    with caplog.at_level("WARNING", logger="etalon.ccd.reference"):
        again = ref.synthetic_reference_set("MRIVIS", tmp_path)
    assert again == first and not caplog.records  # reused: nothing written, nothing said
    assert {k: p.stat().st_mtime_ns for k, p in again.paths().items()} == stamp
    with pytest.raises(ValueError, match="no synthetic instrument"):
        ref.synthetic_reference_set("WAC", tmp_path)


def _generate(directory, barrier):
    barrier.wait()
    return ref.synthetic_reference_set("NAVHRI", directory).paths()


def test_two_processes_generating_the_set_at_once(tmp_path):
    """Dask workers on a fresh cache: both succeed, the files are complete, no temp left."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(2, mp_context=ctx) as pool:
        barrier = manager.Barrier(2)
        results = [f.result(timeout=120) for f in
                   [pool.submit(_generate, tmp_path, barrier) for _ in range(2)]]
    assert results[0] == results[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in results[0].values())
    inst = ref.synthetic_instrument("NAVHRI")
    assert np.array_equal(ref.load_flat(results[0]["flat"], "NAVHRI").flat, inst.flat)
    assert np.array_equal(ref.load_dark(results[0]["dark"], "NAVHRI").rate, inst.dark_rate)
