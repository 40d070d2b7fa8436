"""LIME as the toolbox computes it: both coefficient generations, the toolbox's published test
values through the file-reading path, the Apollo 16 interpolation, TSIS-1, and the propagation
of the coefficient uncertainty (analytic against Monte Carlo).

The expected values are the LIME toolbox's own unit-test data (LIME-ESA/lime_tbx,
``lime_tbx/business/lime_algorithms/lime/tests/test_elref.py``, ``test_lime.py``,
``test_eli.py`` and ``assets/tsis_cimel.csv``): facts, not code.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from etalon.data import data_path
from etalon.fileio import EtalonInputError
from etalon.moon.model import (
    MOON_SOLID_ANGLE_SR,
    band_irradiance,
    band_weights,
    distance_factor,
    get_model,
    interpolation_matrix,
    lime_band_uncertainty,
    lime_convention,
    lime_model,
    read_lime_coefficients,
    rolo_giro_model,
    rolo_model,
    spectral_irradiance,
)
from etalon.spectral.responses import SpectralResponse, read_srf

WLENS = [440, 500, 675, 870, 1020, 1640]
# toolbox test coefficients, 18 per wavelength, in the ATBD order (test_elref.py, toolbox >= 1.1.0)
_A_B = [
    [-2.263172432, -1.953409783, 0.691585146, -0.301894577, 0.052456211, 0.008714468, -0.004148856],
    [-2.150477824, -1.828162868, 0.596750118, -0.279326293, 0.050077725, 0.010694765, -0.003817844],
    [-1.914524626, -1.722984816, 0.562314803, -0.276204745, 0.047094444, 0.012212050, -0.004842774],
    [-1.816469623, -1.590599221, 0.465802547, -0.248147989, 0.046822590, 0.018782172, -0.007000712],
    [-1.752793600, -1.505016569, 0.401689482, -0.229885748, 0.052411689, 0.021768424, -0.008638112],
    [-1.474382296, -1.217779712, 0.189072862, -0.168372041, 0.047554853, 0.011998950, -0.004867793],
]
_C_ATBD = [
    [-0.000358287, 0.001216634, 0.000732067, 0.001610105],
    [-0.000414510, 0.001116700, 0.000944686, 0.001779578],
    [-0.000426178, 0.001112617, 0.000936428, 0.001710380],
    [-0.000374185, 0.001153363, 0.000894613, 0.001881709],
    [-0.000449685, 0.001044300, 0.000837371, 0.001817379],
    [-0.000489541, 0.000944675, 0.001093331, 0.001732148],
]
_D = [
    [-0.092938476, 2.000625563, -0.005710425], [12.966528574, -12.421979227, -0.002729971],
    [9.886489331, -9.752388729, -0.005938836], [10.478132200, -10.363729899, -0.003423694],
    [11.936277597, -11.815427729, -0.002552853], [14.326729557, -14.410231212, 0.000003484],
]
_P = [1.354459689, 1.314673623, 9.324088764, 9.596769204]
COEFFS_ATBD = np.array([_A_B[k] + _C_ATBD[k] + _D[k] + _P for k in range(6)]).T        # (18, 6)
# the same model in the toolbox's pre-1.1.0 order (test_lime.py): c1<->c2, c3<->c4 swapped
COEFFS_OLD = COEFFS_ATBD[[0, 1, 2, 3, 4, 5, 6, 8, 7, 10, 9, 11, 12, 13, 14, 15, 16, 17]]
# u_coeff of the toolbox tests, % of the coefficient, a0 row and the libration rows (ATBD order)
U_A0 = [9.3686983712e-03, 9.1701494391e-03, 8.2767133073e-03, 8.6737894428e-03,
        7.0855452522e-03, 7.0855453006e-03]
# MoonData(1 AU, 400000 km, sun lon 1 rad, obs lat 40, obs lon 30, |phase| 50, phase 50)
GEOMETRY = dict(phase_deg=50.0, obs_lat_deg=40.0, obs_lon_deg=30.0, sun_lon_deg=math.degrees(1.0))
ELREF_CHECK = [0.030732903677862477, 0.03648929661334069, 0.0492340672567728,
               0.05826947690460127, 0.0642498981188091, 0.09576452090114816]
# test_elref.py: punpy Monte Carlo (100 draws) of the reflectance uncertainty, identity correlation
ELREF_CHECK_UNCS = [6.2591e-06, 7.4265e-06, 7.7568e-06, 9.4509e-06, 8.1534e-06, 1.0008e-05]
# test_eli.py: irradiance W m-2 nm-1 at 1 AU, 400000 km with the TSIS-1 CIMEL solar values
ELIS_CHECK = [1.0797115270270405e-06, 1.349498873307202e-06, 1.4076935974170986e-06,
              1.0233894777590921e-06, 8.503963982841415e-07, 4.1148031586953454e-07]
TSIS_CIMEL = [1.8622064060781873, 1.9603369500934011, 1.5155354495830629, 0.930943917032395,
              0.7015726794219683, 0.227755098787054]                                    # W m-2 nm-1


def _write_lime(path, coeffs, attrs, wavelength=True, u_percent=None):
    import netCDF4

    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("i_coeff", 18)
        ds.createDimension("wavelength", coeffs.shape[1])
        ds.createDimension("i_coeff.wavelength", 18 * coeffs.shape[1])
        ds.setncatts(attrs)
        ds.createVariable("coeff", "f8", ("i_coeff", "wavelength"))[:] = coeffs
        if u_percent is not None:
            ds.createVariable("u_coeff", "f8", ("i_coeff", "wavelength"))[:] = u_percent
            corr = ds.createVariable("err_corr_coeff", "f8", ("i_coeff.wavelength", "i_coeff.wavelength"))
            corr[:] = np.eye(18 * coeffs.shape[1])
        if wavelength:
            ds.createVariable("wavelength", "i8", ("wavelength",))[:] = WLENS
    return path


def _u_percent():
    u = np.zeros((18, 6))
    u[0] = U_A0
    return u


def test_convention_is_decided_from_the_file_attributes():
    assert lime_convention({"file_version": 1, "release_date": "20231120"}) == "swapped"
    assert lime_convention({"file_version": 2, "release_date": "20231120"}) == "ATBD"   # the _v02 fix
    assert lime_convention({"file_version": 1, "release_date": "20230123"}) == "swapped"
    assert lime_convention({"file_version": 1, "release_date": "20250608"}) == "ATBD"
    assert lime_convention({"file_version": 1, "release_date": 20251010}) == "ATBD"
    assert lime_convention({"tbx_version_required": "1.1.0", "release_date": "20200101"}) == "ATBD"
    assert lime_convention({"tbx_version_required": "1.0.3"}) == "swapped"
    assert lime_convention({"creation_date": "20240101"}) == "swapped"
    assert lime_convention({}) == "ATBD"


@pytest.mark.parametrize("generation", ["old", "new"])
def test_toolbox_reflectances_reproduced_through_the_file_reading_path(tmp_path, generation):
    """Both generations give the toolbox's published reflectances (rel 1e-13)."""
    if generation == "old":
        path = _write_lime(tmp_path / "LIME_MODEL_COEFS_20231120_V01.nc", COEFFS_OLD,
                           {"file_version": 1, "release_date": "20231120", "software_version": "1.0"})
    else:
        path = _write_lime(tmp_path / "LIME_MODEL_COEFS_20231120_V02.nc", COEFFS_ATBD,
                           {"file_version": 2, "release_date": "20231120", "software_version": "1.0"})
    m = read_lime_coefficients(path)
    assert m.convention.startswith("ATBD" if generation == "new" else "swapped")
    np.testing.assert_array_equal(m.coefficients, COEFFS_ATBD)          # always the ATBD meaning
    np.testing.assert_allclose(m.reflectance(**GEOMETRY), ELREF_CHECK, rtol=1e-13)
    # the wrong order would be 2.5 % off at 440 nm: the test can fail
    wrong = read_lime_coefficients(path, convention="ATBD" if generation == "old" else "swapped")
    assert abs(wrong.reflectance(**GEOMETRY)[0] / ELREF_CHECK[0] - 1) > 0.02


def test_file_without_wavelength_variable_takes_the_cimel_wavelengths(tmp_path):
    path = _write_lime(tmp_path / "nowl.nc", COEFFS_ATBD, {"file_version": 2}, wavelength=False)
    with pytest.warns(UserWarning, match="CIMEL wavelengths"):
        m = read_lime_coefficients(path)
    np.testing.assert_array_equal(m.wavelength_um * 1000, WLENS)
    np.testing.assert_allclose(m.reflectance(**GEOMETRY), ELREF_CHECK, rtol=1e-13)
    with pytest.raises(EtalonInputError, match=r"nowl5\.nc.*5 columns"):
        read_lime_coefficients(_write_lime(tmp_path / "nowl5.nc", COEFFS_ATBD[:, :5], {},
                                           wavelength=False))


def test_toolbox_irradiance_values_from_the_reflectances():
    """E = A Omega E_sun / pi (1/d_sun)^2 (384400/d_obs)^2, toolbox's ELI test values to 1e-4.

    The toolbox takes Omega = 6.4177e-5 sr; etalon computes pi (1737.4/384400)^2 = 6.41776e-5
    (+1e-5 relative).
    """
    a = np.array(ELREF_CHECK)
    eli = a * MOON_SOLID_ANGLE_SR * np.array(TSIS_CIMEL) / np.pi * distance_factor(1.0, 400000.0)
    np.testing.assert_allclose(eli, ELIS_CHECK, rtol=2e-5)


def test_tsis_band_values_at_the_cimel_wavelengths():
    """TSIS-1 averaged over a 10 nm Gaussian band matches the toolbox's CIMEL solar values.

    The CIMEL filters are 10 nm wide (25 nm at 1640 nm) and not bundled; a Gaussian of the same
    width gives the toolbox's values to 1.5 % (the real filters are not Gaussian).
    """
    m = lime_model()
    for wl, ref in zip(WLENS, TSIS_CIMEL, strict=True):
        fwhm = 25.0 if wl == 1640 else 10.0
        x = np.linspace(wl - 2 * fwhm, wl + 2 * fwhm, 401) / 1000
        srf = SpectralResponse("c", x, np.exp(-4 * math.log(2) * ((x * 1000 - wl) / fwhm) ** 2))
        bw = band_weights(m, srf)
        assert bw.solar_weighted / 1000 == pytest.approx(ref, rel=0.02)


def test_coefficient_uncertainty_analytic_against_toolbox_and_monte_carlo(tmp_path):
    path = _write_lime(tmp_path / "u.nc", COEFFS_ATBD, {"file_version": 2}, u_percent=_u_percent())
    m = read_lime_coefficients(path)
    a = m.reflectance(**GEOMETRY)
    for k in range(6):
        g = np.zeros(6)
        g[k] = 1.0
        analytic = lime_band_uncertainty(m, g, **GEOMETRY)
        # a0 only: d ln A / d a0 = 1, so u(A) = A u(a0)
        assert analytic == pytest.approx(a[k] * U_A0[k] / 100 * abs(COEFFS_ATBD[0, k]), rel=1e-9)
        # the toolbox's 100-draw Monte Carlo agrees within its own sampling noise (~ 7 %)
        assert analytic == pytest.approx(ELREF_CHECK_UNCS[k], rel=0.15)
    # the bundled file with its full correlation: analytic and numpy Monte Carlo agree to 5 %
    sev = read_srf(data_path("gsics_lunar", "W_XX-EUMETSAT-Darmstadt_VIS+IR+SRF_MSG3+SEVIRI_C_EUMG.nc"))
    lime = lime_model()
    g = band_weights(lime, sev["VIS008"]).g
    geo = dict(phase_deg=35.0, obs_lat_deg=-5.0, obs_lon_deg=6.0, sun_lon_deg=-30.0)
    an = lime_band_uncertainty(lime, g, **geo)
    mc = lime_band_uncertainty(lime, g, **geo, method="montecarlo", n_draws=3000, seed=3)
    assert mc == pytest.approx(an, rel=0.05)
    assert 0.002 < an / float(g @ lime.reflectance(**geo)) < 0.03


def test_interpolation_along_the_apollo16_shape():
    m = lime_model()
    wl = m.wavelength_um
    w = interpolation_matrix(m, wl)
    np.testing.assert_allclose(w, np.eye(6), atol=1e-12)            # exact at the model wavelengths
    a = m.reflectance(30.0, 0, 0, -30.0)
    grid = np.array([0.40, 0.44, 0.55, 1.3, 1.64, 2.2])
    along = interpolation_matrix(m, grid) @ a
    from etalon.moon.model import apollo16_shape

    swl, sref = apollo16_shape()
    s = np.interp(grid, swl, sref)
    s_k = np.interp(wl, swl, sref)
    # beyond the ends the ratio to the shape is held: A(400)/S(400) = A(440)/S(440)
    assert along[0] / s[0] == pytest.approx(a[0] / s_k[0], rel=1e-12)
    assert along[-1] / s[-1] == pytest.approx(a[-1] / s_k[-1], rel=1e-12)
    # between nodes the ratio is linear in wavelength
    t = (0.55 - 0.50) / (0.675 - 0.50)
    assert along[2] / s[2] == pytest.approx((1 - t) * a[1] / s_k[1] + t * a[2] / s_k[2], rel=1e-12)


def test_giro_smoothing_removes_the_rolo_band_scatter():
    raw, giro = rolo_model(), rolo_giro_model()
    assert get_model("rolo-giro") is giro and get_model("ROLO") is raw
    geo = (30.0, 2.0, -3.0, 20.0)
    a = raw.reflectance(*geo)
    smooth = interpolation_matrix(giro, raw.wavelength_um) @ a
    i665 = int(np.argmin(abs(raw.wavelength_um - 0.665)))
    i1634 = int(np.argmin(abs(raw.wavelength_um - 1.634)))
    assert a[i665] / smooth[i665] - 1 == pytest.approx(0.073, abs=0.01)   # raw 7 % high at 665 nm
    assert a[i1634] / smooth[i1634] - 1 == pytest.approx(-0.042, abs=0.01)  # 4 % low at 1634 nm
    sev = read_srf(data_path("gsics_lunar", "W_XX-EUMETSAT-Darmstadt_VIS+IR+SRF_MSG3+SEVIRI_C_EUMG.nc"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = band_irradiance(raw, sev["NIR016"], *geo).irradiance
        gm = band_irradiance(giro, sev["NIR016"], *geo).irradiance
    assert gm / r - 1 == pytest.approx(0.03, abs=0.02)                    # GIRO-like 1-5 % above raw


def test_extrapolation_is_flagged_and_quantified():
    venus = read_srf(data_path("venus", "venus_spectral_response.tsv"))
    m = lime_model()
    b1 = band_irradiance(m, venus["B1"], 30.0, 0, 0, -30.0)                # 424 nm < 440 nm
    b4 = band_irradiance(m, venus["B4"], 30.0, 0, 0, -30.0)
    assert b1.extrapolated and b1.extrapolated_fraction > 0.95
    assert b1.unc_extrapolation == pytest.approx(0.05 * b1.extrapolated_fraction * b1.irradiance)
    assert not b4.extrapolated and b4.extrapolated_fraction == 0.0 and b4.unc_extrapolation == 0.0
    assert b1.uncertainty > b4.uncertainty / b4.irradiance * b1.irradiance
    # LIME spectral irradiance uses TSIS-1 and the shape
    e = spectral_irradiance(m, np.array([0.675]), 30.0, 0, 0, -30.0)
    a = m.reflectance(30.0, 0, 0, -30.0)[2]
    assert e[0] == pytest.approx(a * MOON_SOLID_ANGLE_SR * m.solar_spectrum().at(0.675) / np.pi, rel=1e-12)
