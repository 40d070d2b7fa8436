"""The fast paths of the lunar measurement give the values of the plain ones, bit for bit.

Image-sized distance grids, the all-valid erosion shortcut and the cached Earth-orientation
table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from etalon.moon.extraction import _eroded, ellipse_distance, ellipse_distance_grid


@pytest.mark.parametrize("shape, ellipse", [
    ((1640, 1397), (700.3, 810.2, 730.1, 608.5, 12.3)),
    ((50, 60), (20.0, 30.0, 10.0, 8.0, 90.0)),        # the centre on a pixel: rho = 0 there
    ((7, 9), (4.0, 3.0, 5.0, 5.0, 0.0)),
    ((64, 64), (-10.5, 80.25, 30.0, 45.0, -33.0)),     # centre off the frame
])
def test_distance_grid_equals_the_pointwise_formula(shape, ellipse):
    yy, xx = np.indices(shape)
    expected = ellipse_distance(xx, yy, *ellipse)
    got = ellipse_distance_grid(shape, *ellipse)
    assert got.shape == shape
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("shape, n", [((40, 50), 4), ((9, 9), 4), ((8, 30), 4), ((100, 3), 1), ((5, 5), 2)])
def test_erosion_shortcut_equals_binary_erosion(shape, n):
    valid = np.ones(shape, bool)
    assert np.array_equal(_eroded(valid, shape, n), ndimage.binary_erosion(valid, iterations=n))
    valid[shape[0] // 2, shape[1] // 2] = False           # not all valid: the filter itself
    assert np.array_equal(_eroded(valid, shape, n), ndimage.binary_erosion(valid, iterations=n))


_GEOMETRY = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from astropy.time import Time
from etalon.moon.geometry import lunar_geometry
out = {}
for t, xyz in (("2020-01-01T00:00:00", [7098.0, 0.0, 0.0]), ("2025-11-01T03:00:00", [42164.0, 100.0, 5.0])):
    g = lunar_geometry(Time(t), xyz, "ITRF")
    out[t] = [g.obs_moon_km, g.phase_angle_deg, g.sel_obs_lat_deg, g.sel_obs_lon_deg, g.sel_sun_lon_deg]
print(json.dumps(out))
"""


def _geometry_in_fresh_process(cache: str) -> dict:
    env = dict(os.environ, ETALON_CACHE=cache)
    run = subprocess.run([sys.executable, "-c", _GEOMETRY], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(run.stdout)


def test_earth_orientation_cache_gives_the_same_geometry(tmp_path):
    """First process parses astropy's IERS files and writes the cache, the second reads it:
    the geometry agrees to the last bit, and a damaged cache is parsed again, not trusted."""
    cache = tmp_path / "cache"
    first = _geometry_in_fresh_process(str(cache))
    files = list((cache / "iers").glob("iers_auto-*.npz"))
    assert len(files) == 1
    second = _geometry_in_fresh_process(str(cache))
    assert second == first
    files[0].write_bytes(b"not an npz file")
    assert _geometry_in_fresh_process(str(cache)) == first
    # an unwritable cache folder: the table is parsed as astropy does, the values the same
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    assert _geometry_in_fresh_process(str(blocked)) == first
