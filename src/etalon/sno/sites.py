"""Ground sites: geodetic position, validated; the example site list of the notebooks.

The real VENuS site list (about 100 sites, 27 km x 27 km scenes) is not bundled: the
examples use the desert calibration sites of ``shared/venus.md`` and a few well-known
calibration and flux sites with published coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["EXAMPLE_SITES", "Site", "parse_site"]


@dataclass(frozen=True)
class Site:
    """A ground site.

    Attributes
    ----------
    name : str
    lat, lon : float
        WGS84 geodetic latitude (deg, [-90, 90]) and longitude (deg, east positive).
    height_km : float
        Height above the ellipsoid, km.
    """

    name: str
    lat: float
    lon: float
    height_km: float = 0.0

    def __post_init__(self) -> None:
        for key in ("lat", "lon", "height_km"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"site {self.name!r}: {key} must be a finite number, got {v!r}")
        if not -90.0 <= self.lat <= 90.0:
            raise ValueError(f"site {self.name!r}: latitude {self.lat} deg outside [-90, 90]")
        if not -180.0 <= self.lon <= 360.0:
            raise ValueError(f"site {self.name!r}: longitude {self.lon} deg outside [-180, 360]")
        if not -0.5 <= self.height_km <= 9.0:
            raise ValueError(f"site {self.name!r}: height {self.height_km} km outside [-0.5, 9]")


def parse_site(text: str, name: str | None = None) -> Site:
    """A site from ``"LAT,LON"`` or ``"LAT,LON,HEIGHT_KM"`` (deg, deg, km).

    Raises
    ------
    ValueError
        Naming the text when it is not two or three numbers or a latitude is out of range.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) not in (2, 3):
        raise ValueError(f"site {text!r}: expected LAT,LON in degrees")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"site {text!r}: expected LAT,LON in degrees (numbers)") from None
    return Site(name or str(text).strip(), *vals)


#: example site list: desert PICS of shared/venus.md and well-known calibration / flux sites
EXAMPLE_SITES: tuple[Site, ...] = (
    Site("Libya-4", 28.55, 23.39),
    Site("Algeria-2", 26.09, -1.38),
    Site("Algeria-3", 30.32, 7.66),
    Site("Algeria-4", 30.04, 5.59),
    Site("Algeria-5", 31.02, 2.23),
    Site("La Crau", 43.56, 4.86),
    Site("Lamasquere", 43.50, 1.24),
    Site("Gobabeb", -23.60, 15.12),
    Site("Railroad Valley", 38.50, -115.69, 1.44),
    Site("ARM SGP", 36.61, -97.49, 0.31),
)
