"""Reference files: deterministic synthetic set, loaders that check type, instrument,
shape and units, and the dark model's scaling."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

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
