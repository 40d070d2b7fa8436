"""Provenance stamps: version, write date (input's date kept), HISTORY with inputs and parameters."""

from __future__ import annotations

import datetime as dt

from astropy.io import fits

from etalon import __version__
from etalon.provenance import stamp_header, table_provenance


def test_stamp_header_dates_version_and_history():
    header = fits.Header([("DATE", "2006-08-04T07:01:35")])
    stamp_header(header, "nav preprocess", inputs=["/data/in.fits", "tables/bias.csv"],
                 parameters={"offset_s": 64.184})
    assert header["ETALONV"] == __version__
    assert header["ORIGDATE"] == "2006-08-04T07:01:35"
    written = dt.datetime.fromisoformat(header["DATE"]).replace(tzinfo=dt.timezone.utc)
    assert abs((dt.datetime.now(dt.timezone.utc) - written).total_seconds()) < 60
    history = "".join(str(h) for h in header["HISTORY"])  # cards wrap at 72 characters
    assert f"etalon {__version__} nav preprocess" in history
    assert "in.fits, bias.csv" in history and "offset_s=64.184" in history
    stamp_header(header, "ccd calibrate")  # a second step keeps the input's original date
    assert header["ORIGDATE"] == "2006-08-04T07:01:35"
    assert len(header["HISTORY"]) >= 2


def test_table_provenance():
    meta = table_provenance("moon measure", ["a.nc"], {"method": "laplace", "sigma": 1.0,
                                                       "path": object()})
    assert meta["etalon_version"] == __version__ and meta["inputs"] == ["a.nc"]
    assert meta["parameters"]["method"] == "laplace" and meta["parameters"]["sigma"] == 1.0
    assert isinstance(meta["parameters"]["path"], str)
