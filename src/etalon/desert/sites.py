"""The site catalogue: CNES desert sites (verified centres) and the DIMITRI site boxes.

One data file, ``etalon/data/desert/sites.csv`` (``#`` comment lines say where each value
comes from). Centres in degrees (north and east positive).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

__all__ = ["Site", "read_sites", "site"]


@dataclass(frozen=True)
class Site:
    """A calibration site.

    Attributes
    ----------
    name, type, source : str
        ``Libya4``; ``Desert``/``Salt``/``Ice``/``Ocean``/``Forest``; ``CNES``, ``DIMITRI`` or both.
    centre_lat, centre_lon : float
        Centre, deg.
    north, south, east, west : float
        Region-of-interest box, deg (NaN where only the centre is public).
    size_km : float
        Nominal size of the site, km (NaN when not given).
    """

    name: str
    type: str
    source: str
    centre_lat: float
    centre_lon: float
    north: float
    south: float
    east: float
    west: float
    size_km: float

    @property
    def has_box(self) -> bool:
        """True when the site has a region-of-interest box."""
        return not math.isnan(self.north)


def _f(v: str) -> float:
    return float(v) if v.strip() else float("nan")


@functools.lru_cache(maxsize=1)
def read_sites() -> dict[str, Site]:
    """All sites of the catalogue, by name."""
    from etalon.data import data_path

    lines = [ln for ln in data_path("desert", "sites.csv").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    out = {}
    for ln in lines[1:]:
        v = ln.split(",")
        out[v[0]] = Site(v[0], v[1], v[2], *(_f(x) for x in v[3:10]))
    return out


def site(name: str) -> Site:
    """One site by name (case and spaces ignored: ``"Libya 4"`` -> ``Libya4``).

    Raises
    ------
    KeyError
        Unknown site (the message lists the known ones).
    """
    sites = read_sites()
    key = name.replace(" ", "").replace("-", "").lower()
    for k, s in sites.items():
        if k.lower() == key:
            return s
    raise KeyError(f"unknown site {name!r}; known: {', '.join(sites)}")
