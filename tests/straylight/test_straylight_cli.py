"""``etalon venus crosstalk``: the external contract (columns, rows), batch failures, formats."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from etalon.cli import main
from etalon.straylight.io import TABLE_COLUMNS, write_fits_scene, write_netcdf_scene
from etalon.straylight.models import CT2Ghost
from etalon.straylight.params import write_parameters
from etalon.straylight.simulate import simulate_acquisition


def test_crosstalk_cli_fits_and_netcdf(tmp_path):
    ghosts = [CT2Ghost("B1", "B2", 1e-2, 30.3, -20.2, 1.5), CT2Ghost("B11", "B12", 5e-3, -25.0, 28.4, 1.0)]
    acq = simulate_acquisition(shape=(120, 120), radius=18.0, ct2=ghosts, seed=4, phase_deg=5.0,
                               moon_dn=8000.0)
    fits_path = write_fits_scene(tmp_path / "scene.fits", acq.images)
    nc_path = write_netcdf_scene(tmp_path / "scene.nc", acq.images)
    bad = tmp_path / "bad.fits"
    imgs = dict(acq.images)
    imgs["B7"] = imgs["B7"].copy()
    imgs["B7"][5, 5] = np.nan
    write_fits_scene(bad, imgs)
    params = write_parameters(tmp_path / "prior.ecsv", [],
                              [CT2Ghost(g.source, g.victim, 0.0, g.dx + 2, g.dy - 1, 1.5) for g in ghosts])
    out = tmp_path / "ct.ecsv"
    code = main(["venus", "crosstalk", str(fits_path), str(nc_path), str(bad), "-o", str(out),
                 "--parameters", str(params), "--no-progress", "-q"])
    assert code == 1                                    # one input failed, the others finished
    t = Table.read(out)
    assert tuple(t.colnames) == TABLE_COLUMNS
    assert sorted(set(t["file"])) == ["scene.fits", "scene.nc"]
    for name in ("scene.fits", "scene.nc"):
        rows = t[t["file"] == name]
        assert (rows["type"] == "CT1").sum() == 12 and (rows["type"] == "CT2").sum() == 24
        ct1 = rows[rows["type"] == "CT1"]
        assert np.all(ct1["source_band"] == ct1["victim_band"]) and np.all(np.isnan(ct1["dx"]))
        sig = rows[(rows["type"] == "CT2") & rows["significant"]]
        pairs = sorted(zip(sig["source_band"], sig["victim_band"], strict=True))
        assert pairs == [("B1", "B2"), ("B11", "B12")]
        r = sig[sig["source_band"] == "B1"][0]
        assert abs(r["coefficient"] - 1e-2) < 1e-3 and abs(r["dx"] - 30.3) < 1 and abs(r["dy"] + 20.2) < 1
    assert t.meta["etalon_step"] == "venus crosstalk"
    # the output may not be an input
    assert main(["venus", "crosstalk", str(fits_path), "-o", str(fits_path), "-q"]) == 2


def _naxis_bomb(path, hdu_start: int = 0) -> None:
    """Set the first NAXIS card at or after byte ``hdu_start`` to 99999999999999999999."""
    raw = bytearray(path.read_bytes())
    i = next(i for i in range(hdu_start, len(raw), 80) if raw[i:i + 8] == b"NAXIS   ")
    raw[i:i + 80] = f"{'NAXIS':8}= {'99999999999999999999':>20}".ljust(80).encode()
    path.write_bytes(bytes(raw))


def test_crosstalk_every_input_bad_exit_2_naxis_refused_fast(tmp_path, capsys):
    """NAXIS = 1e20 in the primary header or in a band extension is refused (astropy would
    loop without end); every input bad gives exit 2 and no table."""
    images = {"B1": np.ones((8, 8)), "B2": np.ones((8, 8))}
    prim = write_fits_scene(tmp_path / "prim.fits", images)
    ext = write_fits_scene(tmp_path / "ext.fits", images)
    _naxis_bomb(prim)
    _naxis_bomb(ext, hdu_start=2880 * 2)  # after the (stamped) primary header: in an extension
    junk = tmp_path / "trame_é.fits"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype="uint8").tobytes())
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    out = tmp_path / "o" / "ct.ecsv"
    code = main(["venus", "crosstalk", str(prim), str(ext), str(junk), str(empty), str(tmp_path / "none"),
                 "-o", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "prim.fits: invalid NAXIS card (99999999999999999999)" in err, err
    assert "ext.fits: invalid NAXIS card (extension) (99999999999999999999)" in err, err
    assert "trame_é.fits" in err and "empty.fits" in err and "none" in err
    assert "5 of 5 file(s) failed" in err
    assert not out.exists()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_crosstalk_output_is_an_input_refused(tmp_path, capsys):
    scene = write_fits_scene(tmp_path / "s.fits", {"B1": np.ones((8, 8))})
    data = scene.read_bytes()
    assert main(["venus", "crosstalk", str(scene), "-o", str(scene), "--no-progress"]) == 2
    assert f"{scene}: output is the input" in capsys.readouterr().err
    assert scene.read_bytes() == data


_SCENE = None


def _scene_bytes(tmp_path_factory=None) -> bytes:
    global _SCENE
    if _SCENE is None:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as d:
            p = write_fits_scene(Path(d) / "s.fits", {"B1": np.ones((6, 6)), "B2": np.ones((6, 6))})
            _SCENE = p.read_bytes()
    return _SCENE


def test_duplicated_naxis_card_refused(tmp_path):
    """Found by the fuzz below: a second NAXIS = 1e20 card after NAXIS = 0 in the primary
    header passed the first-card checks and astropy (which takes the last) looped."""
    from etalon.fileio import EtalonInputError
    from etalon.straylight.io import read_scene

    raw = bytearray(_scene_bytes())
    raw[4 * 80:4 * 80 + 30] = b"NAXIS   = 99999999999999999999"
    p = tmp_path / "dup.fits"
    p.write_bytes(bytes(raw))
    with pytest.raises(EtalonInputError, match="the NAXIS card appears twice"):
        read_scene(p)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3 * 2880 + 400), st.sampled_from(
    [b"NAXIS   = 99999999999999999999", b"NAXIS2  = -5", b"BITPIX  = 7", b"END", b"\x00\xff",
     b"NAXIS1  = 1000000000", b"PCOUNT  = -1", b"GCOUNT  = 99999999999"])), min_size=1, max_size=3))
@example(edits=[(2879, b"\x00\xff")])  # found by the fuzz: an HDU astropy cannot classify, no .data
def test_read_scene_fuzz_only_input_errors(tmp_path, edits):
    """Mutated header cards: the reader returns a scene or raises EtalonInputError, quickly."""
    from etalon.fileio import EtalonInputError
    from etalon.straylight.io import read_scene

    raw = bytearray(_scene_bytes())
    for pos, text in edits:
        pos = pos - pos % 80 if not text.startswith(b"\x00") else pos
        raw[pos:pos + len(text)] = text
    p = tmp_path / "fuzz.fits"
    p.write_bytes(bytes(raw))
    try:
        images = read_scene(p)
    except EtalonInputError as exc:
        assert str(exc).startswith(str(p))
    else:
        assert set(images) <= {"B1", "B2"}


def test_crosstalk_cli_edge_scene_detected(tmp_path, caplog):
    """A bright half-plane reaching the frame border is quantified as an edge scene (auto):
    same columns, the injected pairs significant, dx / dy NaN for an oblique edge (the
    along-edge component is not measurable), the across component in --extra-columns."""
    from etalon.straylight.edges import EdgeGeometry, simulate_edge_scene
    from etalon.venus.bands import BAND_NAMES

    geo = EdgeGeometry("half-plane", 30.0, -12.0)
    nx, ny = geo.normal
    ghosts = [CT2Ghost("B1", "B2", 1e-2, 30.0 * nx - 3.0 * ny, 30.0 * ny + 3.0 * nx, 1.5),
              CT2Ghost("B11", "B12", 5e-3, 22.0 * nx, 22.0 * ny, 1.0)]
    sc = simulate_edge_scene(BAND_NAMES, shape=(128, 128), geometry=geo, ct2=ghosts, seed=2,
                             level_dn=8000.0)
    path = write_fits_scene(tmp_path / "edge.fits", sc.images)
    params = write_parameters(tmp_path / "prior.ecsv", [],
                              [CT2Ghost(g.source, g.victim, 0.0, g.dx + 1, g.dy - 1, 1.5) for g in ghosts])
    out = tmp_path / "edge.ecsv"
    code = main(["venus", "crosstalk", str(path), "-o", str(out), "--parameters", str(params),
                 "--search-radius", "4", "--extra-columns", "--no-progress", "-q"])
    assert code == 0
    t = Table.read(out)
    assert tuple(t.colnames[:len(TABLE_COLUMNS)]) == TABLE_COLUMNS
    assert set(t["scene"]) == {"edge"}
    assert (t["type"] == "CT1").sum() == 12 and (t["type"] == "CT2").sum() == 24
    sig = t[(t["type"] == "CT2") & t["significant"]]
    assert sorted(zip(sig["source_band"], sig["victim_band"], strict=True)) == [("B1", "B2"), ("B11", "B12")]
    r = sig[sig["source_band"] == "B1"][0]
    assert abs(r["coefficient"] - 1e-2) < 1e-3 and abs(r["across"] - 30.0) < 1.0
    assert np.isnan(r["dx"]) and np.isnan(r["dy"]) and np.isnan(r["along"])
    assert t.meta["parameters"]["scene"] == "auto"
