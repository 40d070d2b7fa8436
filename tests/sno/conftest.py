"""Shared fixtures of the SNO tests: the bundled Sentinel-2 TLEs, sites, orbits."""

from __future__ import annotations

import pytest

from etalon.data import data_path


@pytest.fixture(scope="session")
def tle_path():
    return data_path("orbits", "sentinel2_tle.txt")


@pytest.fixture(scope="session")
def tles(tle_path):
    from etalon.sno.tle import read_tle

    return read_tle(tle_path)
