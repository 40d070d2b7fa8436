"""``etalon venus crosstalk``: the external contract (columns, rows), batch failures, formats."""

from __future__ import annotations

import numpy as np
from astropy.table import Table

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
