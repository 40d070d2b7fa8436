"""GSICS lunar files: reading, writing, and the operators' numbers reproduced exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etalon.data import gsics_lunar_files
from etalon.fileio import EtalonInputError
from etalon.moon.gsics import read_gsics_lunar, write_gsics_lunar
from etalon.moon.measure import measure_file

# the operators' own values in the three SEVIRI files (EUMETSAT), per channel
OPERATOR = {
    "20130101145644": {"VIS006": (6310, 612348, 0.001058214832752479),
                       "VIS008": (6357, 633121, 0.0009229919009888422),
                       "NIR016": (7333, 942696, 0.0003506938986537141)},
    "20140318140112": {"VIS006": (7464, 908729, 0.0019233498386870265),
                       "VIS008": (7505, 937220, 0.001656664015137767),
                       "NIR016": (8520, 1399294, 0.0005949228451947655)},
    "20140715153303": {"VIS006": (7300, 700673, 0.0011960197250124008),
                       "VIS008": (7355, 726318, 0.0010493754068903645),
                       "NIR016": (8148, 1063563, 0.0003995950619516861)},
}


def _stamp(path) -> str:
    return path.name.split("_")[-2]


def test_read_all_variables_and_fill_values():
    obs = read_gsics_lunar(gsics_lunar_files()[0])
    assert set(obs.variables) == {"channel_name", "date", "sat_pos", "sat_pos_ref", "irr_obs",
                                  "pix_solid_ang", "ovrsamp_fa", "dc_obs", "dc_obs_offset",
                                  "moon_pix_num", "moon_pix_thld", "rad_obs_imgt", "dc_obs_imgt"}
    assert [c.name for c in obs.channels] == ["VIS006", "VIS008", "NIR016", "HRVIS"]
    assert obs.time.isot == "2013-01-01T14:56:44.000"
    assert obs.sat_pos_ref == "ITRF93" and obs.frame == "ITRF"
    np.testing.assert_allclose(obs.sat_pos_km, [42069.67982869, -2551.87170835, 998.48108832])
    vis = obs.channel("VIS006")
    assert vis.present and vis.moon_pix_thld == 53 and vis.dc_obs == 612348
    assert vis.dc_imagette.shape == (499, 499)
    assert vis.dc_imagette.count() == 147 * 147       # the rest is fill (-999), masked
    assert vis.dc_imagette.mask[200, 200] and not vis.dc_imagette.mask[0, 0]
    hrv = obs.channel("HRVIS")
    assert not hrv.present and hrv.irr_obs is None and hrv.dc_imagette.count() == 0


@pytest.mark.parametrize("path", gsics_lunar_files(), ids=_stamp)
def test_threshold_method_reproduces_operators_exactly(path):
    rows = {r["channel"]: r for r in measure_file(path, method="threshold")}
    for channel, (npix, dc, irr) in OPERATOR[_stamp(path)].items():
        r = rows[channel]
        assert r["moon_pix_num"] == npix
        assert r["dc_obs"] == dc
        assert r["irr_obs"] == irr                    # bit for bit
    assert np.isnan(rows["HRVIS"]["irr_obs"]) and rows["HRVIS"]["flags"] & 8


@pytest.mark.parametrize("path", gsics_lunar_files(), ids=_stamp)
def test_laplace_close_to_operators_and_ratios(path):
    rows = {r["channel"]: r for r in measure_file(path)}
    for channel in ("VIS006", "VIS008", "NIR016"):
        r = rows[channel]
        assert r["method"] == "laplace"
        assert r["irr_obs"] == pytest.approx(r["operator_irr_obs"], rel=0.005)
        assert r["dc_obs_offset"] == pytest.approx(51.1, abs=0.3)   # sub-DN deep space
        assert 44 < r["radius"] < 54
    # observed / ROLO: VIS within 10 %, NIR016 within 20 %
    assert rows["VIS006"]["ratio"] == pytest.approx(1.0, abs=0.10)
    assert rows["VIS008"]["ratio"] == pytest.approx(1.0, abs=0.10)
    assert rows["NIR016"]["ratio"] == pytest.approx(1.0, abs=0.20)


def test_write_read_roundtrip(tmp_path):
    obs = read_gsics_lunar(gsics_lunar_files()[1])
    out = write_gsics_lunar(tmp_path / "copy.nc", obs, {"VIS006": {"irr_model": 2.0e-3}},
                            history="test")
    back = read_gsics_lunar(out)
    assert back.time == obs.time and back.sat_pos_ref == obs.sat_pos_ref
    for a, b in zip(obs.channels, back.channels, strict=True):
        assert a.values == b.values
        assert np.ma.allequal(a.dc_imagette, b.dc_imagette)
        assert np.array_equal(a.dc_imagette.mask, b.dc_imagette.mask)
    assert back.variables["irr_model"][0] == 2.0e-3 and back.variables["irr_model"].mask[1]
    from etalon import __version__

    assert back.attributes["etalon_version"] == __version__
    assert back.attributes["etalon_inputs"] == str(obs.path)
    assert back.attributes["history"].endswith("test")
    rows = measure_file(out, method="threshold")
    assert rows[0]["irr_obs"] == OPERATOR["20140318140112"]["VIS006"][2]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=200000), flip=st.integers(min_value=0, max_value=255))
def test_damaged_files_raise_clear_errors(tmp_path, cut, flip):
    data = bytearray(gsics_lunar_files()[0].read_bytes()[:cut])
    if data:
        data[len(data) // 2] ^= flip
    bad = tmp_path / "damaged.nc"
    bad.write_bytes(bytes(data))
    try:
        read_gsics_lunar(bad)
    except EtalonInputError as exc:
        assert str(exc).startswith(str(bad))


def _copy_with(tmp_path, name, edit):
    """A copy of a SEVIRI file with one change made by ``edit(netCDF4.Dataset)``."""
    import shutil

    import netCDF4

    dst = tmp_path / name
    shutil.copy(gsics_lunar_files()[0], dst)
    with netCDF4.Dataset(dst, "a") as ds:
        edit(ds)
    return dst


def _set_ref(ds, text):
    n = len(ds.dimensions[ds["sat_pos_ref"].dimensions[0]])
    ds["sat_pos_ref"][:] = np.array(list(text.ljust(n)[:n]), dtype="S1")


@pytest.mark.parametrize("name,edit,message", [
    ("frame.nc", lambda ds: _set_ref(ds, "ITFR93"), "sat_pos_ref 'ITFR93' is not a known frame"),
    ("centre.nc", lambda ds: ds["sat_pos"].__setitem__(slice(None), [0.0, 0.0, 0.0]),
     "from the Earth's centre"),
    ("nanpos.nc", lambda ds: ds["sat_pos"].__setitem__(0, np.nan), "sat_pos must be 3 finite"),
])
def test_bad_observer_is_refused_naming_the_file(tmp_path, name, edit, message):
    path = _copy_with(tmp_path, name, edit)
    with pytest.raises(EtalonInputError, match=name) as exc:
        read_gsics_lunar(path)
    assert message in str(exc.value)


@pytest.mark.parametrize("value", [0.0, -1.75])
def test_non_positive_oversampling_factor_is_refused(tmp_path, value):
    path = _copy_with(tmp_path, "ovr.nc", lambda ds: ds["ovrsamp_fa"].__setitem__(0, value))
    with pytest.raises(EtalonInputError, match="oversampling factor must be > 0"):
        measure_file(path)
    if value == 0.0:                    # the same error from a worker process, naming the file
        with pytest.raises(EtalonInputError, match=r"ovr\.nc: channel VIS006: oversampling"):
            measure_file(path, jobs=2)


def test_damaged_global_attributes_give_an_input_error(tmp_path, monkeypatch):
    import netCDF4

    def broken(self, name):
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    monkeypatch.setattr(netCDF4.Dataset, "getncattr", broken)
    with pytest.raises(EtalonInputError, match="damaged global attributes"):
        read_gsics_lunar(gsics_lunar_files()[0])


def test_writer_keeps_the_reader_compatible_and_carries_the_optional_variables(tmp_path):
    """12 channels B1..B12 with gain and read noise: written, read back, measured with VENuS SRFs."""
    from etalon.moon.gsics import GsicsChannel, GsicsLunarObservation

    src = read_gsics_lunar(gsics_lunar_files()[1])
    vis = src.channel("VIS006")
    chans = [GsicsChannel(f"B{i}", True, dict(vis.values, gain=8.0, read_noise=15.0),
                          vis.dc_imagette, vis.rad_imagette) for i in range(1, 13)]
    obs = GsicsLunarObservation(None, src.time, src.sat_pos_km, src.sat_pos_ref, chans)
    path = write_gsics_lunar(tmp_path / "venus12.nc", obs)
    back = read_gsics_lunar(path)
    assert [c.name for c in back.channels] == [f"B{i}" for i in range(1, 13)]
    assert back.channels[3].values["gain"] == 8.0 and back.channels[3].values["read_noise"] == 15.0
    rows = measure_file(path, method="threshold", model="rolo")
    assert [r["channel"] for r in rows] == [f"B{i}" for i in range(1, 13)]
    assert all(np.isfinite(r["irr_model"]) for r in rows)        # matched to the VENuS SRFs
    assert all(not r["flags"] & 64 for r in rows)                 # gain known: shot noise in
