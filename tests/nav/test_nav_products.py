"""NAV FITS products and the ``etalon nav decode`` command."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from etalon.cli import main
from etalon.frame import read_frame
from etalon.nav.decoder import decode
from etalon.nav.products import decode_to_fits, nav_to_frame
from etalon.nav.simulate import simulate_nav_file


@pytest.fixture(scope="module")
def sim():
    return simulate_nav_file("NAVITS", 9000385, seed=4, lost=2, garbage=1, truncate=True)


def test_cli_writes_the_fits_described(sim, tmp_path, capsys):
    raw = sim.write(tmp_path)
    before = raw.read_bytes()
    out = tmp_path / "out" / "its.fits"
    assert main(["nav", "decode", str(raw), "-o", str(out), "--no-progress"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert raw.read_bytes() == before
    t, h = sim.truth, sim.truth.header
    with fits.open(out) as hdul:
        assert [x.name for x in hdul] == ["PRIMARY", "FLAGS", "MASK", "SNIPS"]
        hdr = hdul[0].header
        assert hdr["BITPIX"] == 16 and hdr["BZERO"] == 32768
        assert hdul[0].data.dtype == np.uint16
        np.testing.assert_array_equal(hdul[0].data, t.image)
        np.testing.assert_array_equal((hdul["FLAGS"].data & 2) != 0, t.missing)
        assert hdul["FLAGS"].data.dtype == np.uint8
        snips = hdul["SNIPS"].data
    assert (hdr["MISSION"], hdr["OBSERVAT"], hdr["INSTRUME"]) == ("DEEP IMPACT", "IMPACTOR S/C", "NAVITS")
    assert hdr["EXPID"] == 9000385 and isinstance(hdr["EXPID"], int)
    assert (hdr["OBJECT"], hdr["TARGETID"]) == ("9P/TEMPEL 1", 1000093)
    assert hdr["FNORIG"] == sim.name and hdr["FNINSTRM"] == "I" and hdr["FNKIND"] == "AutoNav"
    fn_doy = int(sim.name.split("_")[4][:3])  # NAV_AI_<id>.bin_<YYYY>_<DOY>T...
    assert hdr["FNDOY"] == fn_doy and hdr["FNYEAR"] == 2005
    assert hdr["BORERA"] == pytest.approx(np.degrees(h.ra), abs=1e-12)
    assert hdr["BOREDEC"] == pytest.approx(np.degrees(h.dec), abs=1e-12)
    assert hdr["TWIST"] == pytest.approx(np.degrees(h.twist), abs=1e-12)
    assert hdr["CELESTNR"] == pytest.approx((270 - np.degrees(h.twist)) % 360, abs=1e-12)
    assert hdr["CELESTN"] == pytest.approx(h.celestial_north_deg, abs=1e-12)
    assert hdr["PSEUDOET"] == h.pseudo_et  # float64 in the packets: every digit
    # float32 in the packets: the 7 digits float32 carries, equal in float32
    assert hdr["EXPSRDRT"] == float(f"{h.exposure:.7g}")
    assert np.float32(hdr["EXPSRDRT"]) == np.float32(h.exposure)
    assert (hdr["CENTLINE"], hdr["CENTPIX"]) == (float(f"{h.centroid_line:.7g}"),
                                                 float(f"{h.centroid_pixel:.7g}"))
    assert hdr["CENTLINE"] == pytest.approx(h.centroid_line, abs=1e-3)
    assert "0-based" in hdr.comments["CENTPIX"]
    assert (hdr["DETECTOR"], hdr["COMPRESS"], hdr["IMGNUM"]) == (1, 0, 1)
    assert hdr["NPKTUSED"] == t.packets_delivered
    assert hdr["NPKTREJ"] == 2 and hdr["NBYTSKIP"] == t.bytes_skipped
    assert hdr["NMISSING"] == int(t.missing.sum()) and hdr["NCONFLCT"] == 0 and hdr["NOVERLAP"] == 0
    assert hdr["ETALONV"] and any("nav decode" in str(x) for x in hdr["HISTORY"])
    delivered_snips = set(t.packets["snip"][t.packets["delivered"]].tolist())
    assert len(snips) == len(delivered_snips) and snips["n_packets"].sum() == t.packets_delivered


def test_function_and_frame_round_trip(sim, tmp_path):
    raw = sim.write(tmp_path)
    out = decode_to_fits(raw, tmp_path / "x.fits")
    frame = read_frame(out)
    np.testing.assert_array_equal(frame.data, sim.truth.image)
    assert frame.snips is not None and frame.snips["n_packets"].sum() == sim.truth.packets_delivered
    again = nav_to_frame(decode(raw))
    assert again.header["EXPID"] == frame.header["EXPID"]
    assert [k for k in again.header if k.startswith("FN")] == [k for k in frame.header if k.startswith("FN")]


def test_unparseable_name_still_decodes_without_expid(sim, tmp_path):
    raw = tmp_path / "telemetry_dump.bin"
    raw.write_bytes(sim.raw)
    frame = read_frame(decode_to_fits(raw, tmp_path / "y.fits"))
    assert frame.header["INSTRUME"] == "NAVITS" and "EXPID" not in frame.header
    assert frame.header["FNSTATUS"].endswith("FAILED") and frame.header["FNORIG"] == raw.name


def test_cli_batch_writes_good_lists_broken_exits_nonzero(tmp_path, capsys):
    good = [simulate_nav_file(inst, 9000400 + i, seed=i).write(tmp_path)
            for i, inst in enumerate(["NAVHRI", "NAVMRI"])]
    broken = tmp_path / "NAV_OM_9000999.bin_2005_185T03_38_58.000"
    broken.write_bytes(b"\x00" * 5000)
    missing = tmp_path / "NAV_OM_9000998.bin_2005_185T03_38_58.000"
    outdir = tmp_path / "fits"
    code = main(["nav", "decode", str(good[0]), str(broken), str(good[1]), str(missing),
                 "--output-dir", str(outdir), "--no-progress"])
    assert code != 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in outdir.iterdir()) == sorted(g.name + ".fits" for g in good)
    assert f"FAILED {broken}" in captured.err and "no valid NAV packet" in captured.err
    assert f"FAILED {missing}" in captured.err and "2 of 4 file(s) failed" in captured.err
    assert not [p for p in outdir.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_cli_refuses_one_output_for_several_files(tmp_path):
    with pytest.raises(SystemExit) as err:
        main(["nav", "decode", "a", "b", "-o", str(tmp_path / "x.fits")])
    assert err.value.code == 2


def test_unparseable_name_is_said_once_and_a_given_name_still_counts(sim, tmp_path):
    raw = tmp_path / "telemetry_dump.bin"
    raw.write_bytes(sim.raw)
    header = read_frame(decode_to_fits(raw, tmp_path / "y.fits")).header
    said = [str(c) for c in header["COMMENT"]]
    assert sum("not a raw NAV file name" in c for c in said) == 1
    # decoded from bytes, the name given to nav_to_frame is parsed (FN* and EXPID)
    frame = nav_to_frame(decode(sim.raw), sim.name)
    assert frame.header["EXPID"] == 9000385 and frame.header["FNORIG"] == sim.name
    # decoded under a bad name, a good name given afterwards wins; a bad one is said once
    renamed = nav_to_frame(decode(raw), sim.name).header
    assert renamed["FNSTATUS"].endswith("SUCCEEDED") and renamed["EXPID"] == 9000385
    assert renamed["FNDOY"] == int(sim.name.split("_")[4][:3])
    bad = nav_to_frame(decode(sim.raw), "other.bin").header
    assert sum("not a raw NAV file name" in str(c) for c in bad["COMMENT"]) == 1


def test_cli_bad_instrument_is_one_usage_error(sim, tmp_path, capsys):
    raw = sim.write(tmp_path)
    with pytest.raises(SystemExit) as err:
        main(["nav", "decode", str(raw), "-o", str(tmp_path / "x.fits"), "--instrument", "XYZ",
              "--no-progress"])
    assert err.value.code == 2
    assert "unknown NAV instrument 'XYZ'" in capsys.readouterr().err
    assert not (tmp_path / "x.fits").exists()
    assert main(["nav", "decode", str(raw), "-o", str(tmp_path / "x.fits"), "--instrument", "its",
                 "--no-progress"]) == 0
    assert fits.getval(tmp_path / "x.fits", "INSTRUME") == "NAVITS"


def test_float32_values_are_written_as_the_number_they_stand_for(tmp_path):
    """EXPSRDRT = 0.01 (the commanded 10 ms), not 0.009999999776482582 (float32 noise)."""
    from etalon.nav.products import float32_value

    assert float32_value(np.float32(0.01)) == 0.01
    assert float32_value(np.float32(1 / 3)) == 0.3333333
    assert float32_value(np.float32(664.9071)) == 664.9071
    assert np.isnan(float32_value(np.float32("nan"))) and float32_value(np.inf) == np.inf
    sim = simulate_nav_file("NAVMRI", 9000385, seed=0, n_star_snips=1)
    assert sim.truth.header.exposure == float(np.float32(0.01)) != 0.01  # the packet's float32
    out = decode_to_fits(sim.write(tmp_path), tmp_path / "mri.fits")
    with fits.open(out) as hdul:
        card = hdul[0].header.cards["EXPSRDRT"].image
        assert hdul[0].header["EXPSRDRT"] == 0.01
        assert card.startswith("EXPSRDRT=                 0.01 /")
        for key in ("RATEX", "RATEY", "RATEZ", "CENTLRAW", "CENTPRAW"):  # at most 7 digits
            digits = str(hdul[0].header[key]).lstrip("-").replace(".", "").split("e")[0].strip("0")
            assert len(digits) <= 7, (key, hdul[0].header[key])


@pytest.mark.parametrize("instrument, observed", [("NAVMRI", "2005-07-04T05:30:00"),
                                                  ("NAVITS", "2005-07-04T05:44:20.500")])
def test_date_obs_and_mjd_obs_are_the_exposure_start(tmp_path, instrument, observed):
    """DATE-OBS/MJD-OBS: UTC of the exposure start = pseudo-ET time - (EXPSRDRT + 3.5 ms).

    The simulator writes the pseudo-ET of ``observed`` (the exposure's end) with
    the nominal offset; the truth is computed here with astropy, not SPICE.
    """
    from astropy.time import Time, TimeDelta

    sim = simulate_nav_file(instrument, 9000385, seed=1, n_star_snips=1, observed=observed)
    out = decode_to_fits(sim.write(tmp_path), tmp_path / "d.fits")
    hdr = fits.getheader(out)
    inttime_s = float(f"{sim.truth.header.exposure:.7g}") + 0.0035
    start = Time(observed, scale="utc") - TimeDelta(inttime_s, format="sec")
    got = Time(hdr["DATE-OBS"], format="isot", scale="utc")
    assert abs((got - start).to_value("s")) <= 0.0006           # ms digits, SCLK tick 1/256 s
    assert hdr["MJD-OBS"] == pytest.approx(start.mjd, abs=1e-8)
    assert Time(hdr["MJD-OBS"], format="mjd", scale="utc").isot[:19] == hdr["DATE-OBS"][:19]
    # pre-processing rewrites them from the adjusted time chain: = OBSDATE / OBSJD
    from etalon.nav.preprocess import load_tables, preprocess_file

    info = preprocess_file(out, tmp_path, load_tables())
    prep = fits.getheader(info["output"])
    assert prep["DATE-OBS"] == prep["OBSDATE"] and prep["MJD-OBS"] == prep["OBSJD"]
    assert abs((Time(prep["DATE-OBS"]) - start).to_value("s")) <= 0.0006


def test_plot_nav_quality_panel_has_a_colour_legend_with_counts(sim):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from etalon.nav.products import QUALITY_CLASSES, plot_nav

    nav = decode(sim.raw)
    fig = plot_nav(nav)
    try:
        image_ax, quality_ax = fig.axes[:2]
        texts = [t.get_text() for t in quality_ax.get_legend().get_texts()]
        n_missing = int(((nav.flags & 2) != 0).sum() - ((nav.flags & 4) != 0).sum())
        assert texts == [f"received: {nav.flags.size - n_missing - int((nav.flags & 4 != 0).sum()):,} px",
                         f"missing (FLAGS 2): {n_missing:,} px", "overlap conflict (FLAGS 4): 0 px"]
        colours = [tuple(p.get_facecolor()) for p in quality_ax.get_legend().get_patches()]
        assert colours == [matplotlib.colors.to_rgba(c) for _, c, _ in QUALITY_CLASSES]
        assert [t.get_text() for t in image_ax.get_legend().get_texts()] == [
            "snip, complete", "snip, partial"]
        assert fig.axes[2].get_ylabel().startswith("DN")        # the image's colour bar
        assert "0-based" in quality_ax.get_xlabel() and quality_ax.get_title()
    finally:
        plt.close(fig)
