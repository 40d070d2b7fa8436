"""ROLO/LIME reference model: hand computation from the published table, units, warnings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from etalon.data import data_path
from etalon.moon.model import (
    MOON_SOLID_ANGLE_SR,
    LunarModelRangeWarning,
    band_irradiance,
    disk_reflectance,
    lime_model,
    read_lime_coefficients,
    rolo_model,
    spectral_irradiance,
)
from etalon.spectral.responses import SpectralResponse, read_srf
from etalon.spectral.solar import wehrli


def test_rolo_reproduces_hand_computation_at_544nm():
    """Kieffer & Stone (2005) eq. 10, Table 4 row 544.0 nm, by hand.

    Geometry: |g| = 30 deg, observer selenographic latitude 5 deg and longitude
    -3 deg, Sun selenographic longitude -30 deg (Phi = -pi/6 rad).
    Row 544.0: a0..a3 = -2.13864, -1.60613, 0.27886, -0.16426;
    b1..b3 = 0.03833, 0.01189, -0.0039; d1..d3 = 0.3719, -0.10629, 0.01428.
    Constants: c1..c4 = 0.00034115, -0.0013425, 0.00095906, 0.00066229 (c1, c3 with
    the latitude theta; c2, c4 with the longitude phi); p1..p4 = 4.06054, 12.8802,
    -30.5858, 16.7498.
    """
    g = 30.0 * math.pi / 180.0          # 0.5235987755982988 rad
    phi_sun = -30.0 * math.pi / 180.0   # -0.5235987755982988 rad
    ln_a = (
        -2.13864
        + -1.60613 * g + 0.27886 * g**2 + -0.16426 * g**3          # -0.8409677, +0.0764511, -0.0235791
        + 0.03833 * phi_sun + 0.01189 * phi_sun**3   # -0.0200695, -0.0017068
        + -0.0039 * phi_sun**5                         # +0.0001535
        + 0.00034115 * 5.0 + -0.0013425 * -3.0                      # +0.0017058, +0.0040275
        + 0.00095906 * phi_sun * 5.0 + 0.00066229 * phi_sun * -3.0  # -0.0025108, +0.0010403
        + 0.3719 * math.exp(-30.0 / 4.06054)                         # +0.0002300
        + -0.10629 * math.exp(-30.0 / 12.8802)                       # -0.0103503
        + 0.01428 * math.cos((30.0 - -30.5858) / 16.7498)            # -0.0126957
    )
    assert ln_a == pytest.approx(-2.9669118661391227, abs=1e-13)
    expected = math.exp(ln_a)  # 0.05146198670256442
    model = rolo_model()
    k = int(np.argmin(np.abs(model.wavelength_um - 0.544)))
    assert model.wavelength_um[k] == pytest.approx(0.544)
    got = disk_reflectance(model.coefficients[:, k:k + 1], 30.0, 5.0, -3.0, -30.0)
    assert got.shape == (1,)
    assert got[0] == pytest.approx(expected, rel=1e-12)
    assert got[0] == pytest.approx(0.05146198670256442, rel=1e-12)
    # the sign of the phase is ignored (carried by the Sun longitude)
    assert disk_reflectance(model.coefficients[:, k], -30.0, 5.0, -3.0, -30.0)[0] == got[0]


def test_rolo_table_has_32_wavelengths_and_constants():
    m = rolo_model()
    assert m.coefficients.shape == (18, 32)
    assert m.wavelength_um[0] == pytest.approx(0.350) and m.wavelength_um[-1] == pytest.approx(2.3836)
    np.testing.assert_array_equal(m.coefficients[7:11, 5], [0.00034115, -0.0013425, 0.00095906, 0.00066229])
    np.testing.assert_array_equal(m.coefficients[14:18, 31], [4.06054, 12.8802, -30.5858, 16.7498])


def test_warning_outside_phase_range():
    k = rolo_model().coefficients[:, :2]
    with pytest.warns(LunarModelRangeWarning, match="outside the model range"):
        disk_reflectance(k, 1.0, 0, 0, 0)
    with pytest.warns(LunarModelRangeWarning):
        disk_reflectance(k, -100.0, 0, 0, 0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        disk_reflectance(k, 1.55, 0, 0, 0)
        disk_reflectance(k, 97.0, 0, 0, 0)


def test_bundled_lime_file_is_read_in_its_own_atbd_order():
    """The 20251010 file (released after toolbox 1.1.0) is in ATBD order: no re-ordering."""
    import netCDF4

    path = data_path("lunar_model", "LIME_MODEL_COEFS_20251010_V01.nc")
    with netCDF4.Dataset(path) as ds:
        raw = np.asarray(ds["coeff"][:])
    m = read_lime_coefficients(path)
    assert m.convention == "ATBD"
    assert m.coefficients.shape == (18, 6)
    np.testing.assert_array_equal(m.wavelength_um * 1000, [440, 500, 675, 870, 1020, 1640])
    np.testing.assert_array_equal(m.coefficients, raw)
    # the ATBD form, written out (c1, c3 x observer latitude), equals disk_reflectance
    g, lat, lon, sun = 40.0, 6.0, -4.0, 25.0
    gr, sr = math.radians(g), math.radians(sun)
    c = raw[:, 2]
    ln = (c[0] + c[1] * gr + c[2] * gr**2 + c[3] * gr**3 + c[4] * sr + c[5] * sr**3 + c[6] * sr**5
          + c[7] * lat + c[8] * lon + c[9] * sr * lat + c[10] * sr * lon
          + c[11] * math.exp(-g / c[14]) + c[12] * math.exp(-g / c[15])
          + c[13] * math.cos((g - c[16]) / c[17]))
    assert m.reflectance(g, lat, lon, sun)[2] == pytest.approx(math.exp(ln), rel=1e-12)
    assert np.all(np.isfinite(m.uncertainty)) and m.err_corr.shape == (108, 108)
    # LIME and ROLO agree to ~15 % on the disk reflectance near 675 nm
    rolo_675 = np.interp(0.675, rolo_model().wavelength_um, rolo_model().reflectance(g, lat, lon, sun))
    assert lime_model().reflectance(g, lat, lon, sun)[2] / rolo_675 == pytest.approx(1.0, abs=0.15)


def test_irradiance_units_and_normalisation():
    assert MOON_SOLID_ANGLE_SR == pytest.approx(6.4177e-5, rel=1e-4)
    m = rolo_model()
    a = m.reflectance(10.0, 0, 0, 0)
    e = spectral_irradiance(m, np.array([0.544]), 10.0, 0, 0, 0)
    k = int(np.argmin(np.abs(m.wavelength_um - 0.544)))
    expected = a[k] * 6.4177e-5 * wehrli().at(0.544) / np.pi  # W m-2 um-1 at 1 AU, 384400 km
    assert e[0] == pytest.approx(expected, rel=2e-4)
    far = spectral_irradiance(m, np.array([0.544]), 10.0, 0, 0, 0, sun_moon_au=1.01,
                              obs_moon_km=400000.0)
    assert far[0] == pytest.approx(e[0] / 1.01**2 * (384400 / 400000) ** 2, rel=1e-12)
    # a narrow box response returns the spectral value there
    box = SpectralResponse("box", np.array([0.5435, 0.5445]), np.array([1.0, 1.0]))
    b = band_irradiance(m, box, 10.0, 0, 0, 0)
    assert b.irradiance == pytest.approx(e[0], rel=2e-3)
    assert b.uncertainty == pytest.approx(0.05 * b.irradiance, rel=1e-9)   # ROLO's 5 % scale
    assert b.in_phase_range and not b.extrapolated


def test_band_irradiance_over_real_responses():
    sev = read_srf(data_path("gsics_lunar", "W_XX-EUMETSAT-Darmstadt_VIS+IR+SRF_MSG3+SEVIRI_C_EUMG.nc"))
    venus = read_srf(data_path("venus", "venus_spectral_response.tsv"))
    assert sorted(venus) == sorted(f"B{i}" for i in range(1, 13))
    m = rolo_model()
    vis = band_irradiance(m, sev["VIS006"], 20.0, 0, 0, -20.0).irradiance
    nir = band_irradiance(m, sev["NIR016"], 20.0, 0, 0, -20.0).irradiance
    b4 = band_irradiance(m, venus["B4"], 20.0, 0, 0, -20.0).irradiance
    # the Moon is red, the Sun peaks in the visible: E(0.64 um) ~ 3.5 x E(1.6 um) here
    assert 2.5 < vis / nir < 4.5
    assert 1.5e-3 < vis < 3.5e-3 and 1.5e-3 < b4 < 3.5e-3
    assert band_irradiance(lime_model(), sev["NIR016"], 20.0, 0, 0, -20.0).extrapolated


def test_disk_reflectance_vectorised_over_columns_and_geometries():
    """(18, n) coefficients give n values; geometry may be scalar, (n,) or (m, 1)."""
    k = rolo_model().coefficients                                   # (18, 32)
    phases = np.linspace(5.0, 90.0, 32)
    per_column = disk_reflectance(k, phases, 5.0, -3.0, -30.0)      # one geometry per column
    assert per_column.shape == (32,)
    for j in (0, 7, 31):                                            # equals the scalar call
        assert per_column[j] == disk_reflectance(k[:, j:j + 1], float(phases[j]), 5.0, -3.0,
                                                 -30.0)[0]
    grid = disk_reflectance(k, phases[:, None], 5.0, -3.0, -30.0)   # (m, 1) x (n,) -> (m, n)
    assert grid.shape == (32, 32)
    np.testing.assert_array_equal(np.diagonal(grid), per_column)
    # numpy scalars and 0-d arrays are scalars
    assert disk_reflectance(k, np.float64(30.0), np.array(5.0), 5, -30).shape == (32,)
    with pytest.warns(LunarModelRangeWarning, match="100.000"):
        disk_reflectance(k[:, :2], np.array([30.0, -100.0]), 0, 0, 0)
    with pytest.raises(ValueError, match=r"\(18, n\)"):
        disk_reflectance(k[:17], 30.0, 0, 0, 0)
