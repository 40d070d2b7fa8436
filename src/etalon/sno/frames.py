"""Earth-fixed geometry: WGS84 sites, TEME to Earth-fixed, the Sun, look angles, distances.

Frames
------
- TEME: the frame SGP4 works in. TEME -> Earth-fixed (pseudo-ITRS) is one rotation by the
  IAU 1982 Greenwich mean sidereal time (UT1); polar motion (about 10 m) is neglected.
- Earth-fixed vectors are in km, velocities in km/s (including the Earth-rotation term).

Angles
------
View zenith ``vza`` and sun zenith ``sza`` are measured at the ground site from the local
ellipsoid normal; azimuths ``vaa`` and ``saa`` are the directions from the site *towards*
the satellite or the Sun, degrees clockwise from north, in [0, 360).

Sun
---
The Sun's direction comes from the Astronomical Almanac's low-precision formula (mean
elements of date; better than 0.01 deg from 1950 to 2050), rotated by GMST; its distance
in km from the same formula.
"""

from __future__ import annotations

import numpy as np

from etalon.sno.timescale import DAY_S, gmst82_rad

__all__ = [
    "EARTH_OMEGA_RAD_S",
    "MEAN_EARTH_RADIUS_KM",
    "WGS84_A_KM",
    "WGS84_F",
    "central_angle_rad",
    "ecef_to_geodetic",
    "geodetic_to_ecef",
    "great_circle_km",
    "look_angles",
    "sun_ecef_km",
    "teme_to_ecef",
]

#: WGS84 equatorial radius, km, and flattening
WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563
_E2 = WGS84_F * (2.0 - WGS84_F)
#: mean Earth radius (IUGG), km, of the sphere ground distances are measured on
MEAN_EARTH_RADIUS_KM = 6371.0088
#: Earth rotation rate, rad/s (the value skyfield and SGP4 references use)
EARTH_OMEGA_RAD_S = 7.292115e-5
_AU_KM = 149597870.7


def geodetic_to_ecef(lat_deg, lon_deg, height_km=0.0) -> np.ndarray:
    """Earth-fixed position, km (..., 3), of WGS84 geodetic latitude, longitude (deg), height (km)."""
    lat = np.radians(np.asarray(lat_deg, float))
    lon = np.radians(np.asarray(lon_deg, float))
    h = np.asarray(height_km, float)
    n = WGS84_A_KM / np.sqrt(1.0 - _E2 * np.sin(lat) ** 2)
    x = (n + h) * np.cos(lat) * np.cos(lon)
    y = (n + h) * np.cos(lat) * np.sin(lon)
    z = (n * (1.0 - _E2) + h) * np.sin(lat)
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef_to_geodetic(r_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 geodetic latitude, longitude (deg, [-180, 180)) and height (km) of Earth-fixed km.

    Bowring's method with three fixed-point iterations (below 1 mm for LEO altitudes). The
    latitude and longitude of a satellite are those of its (geodetic) sub-satellite point.
    """
    r = np.asarray(r_km, float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    p = np.hypot(x, y)
    lon = np.arctan2(y, x)
    lat = np.arctan2(z, p * (1.0 - _E2))
    for _ in range(3):
        n = WGS84_A_KM / np.sqrt(1.0 - _E2 * np.sin(lat) ** 2)
        h = p / np.maximum(np.cos(lat), 1e-12) - n
        lat = np.arctan2(z, p * (1.0 - _E2 * n / (n + h)))
    n = WGS84_A_KM / np.sqrt(1.0 - _E2 * np.sin(lat) ** 2)
    h = p / np.maximum(np.cos(lat), 1e-12) - n
    lon_deg = (np.degrees(lon) + 180.0) % 360.0 - 180.0
    return np.degrees(lat), lon_deg, h


def teme_to_ecef(t, r_teme: np.ndarray, v_teme: np.ndarray,
                 dut1: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rotate SGP4 TEME position (km) and velocity (km/s) to Earth-fixed.

    Parameters
    ----------
    t : array_like (n,)
        UTC seconds since J2000.
    r_teme, v_teme : numpy.ndarray (n, 3)
        TEME position, km, and velocity, km/s.

    Returns
    -------
    r_ecef, v_ecef : numpy.ndarray (n, 3)
        Earth-fixed position, km, and velocity relative to the rotating Earth, km/s.
    """
    th = gmst82_rad(t, dut1)
    c, s = np.cos(th), np.sin(th)
    r = np.asarray(r_teme, float)
    v = np.asarray(v_teme, float)
    x = c * r[..., 0] + s * r[..., 1]
    y = -s * r[..., 0] + c * r[..., 1]
    vx = c * v[..., 0] + s * v[..., 1] + EARTH_OMEGA_RAD_S * y
    vy = -s * v[..., 0] + c * v[..., 1] - EARTH_OMEGA_RAD_S * x
    return (np.stack([x, y, r[..., 2]], axis=-1), np.stack([vx, vy, v[..., 2]], axis=-1))


def sun_ecef_km(t, dut1: np.ndarray | None = None) -> np.ndarray:
    """Earth-fixed position of the Sun, km (n, 3), at UTC seconds since J2000.

    Astronomical Almanac low-precision solar coordinates (about 0.01 deg), equator and
    equinox of date, rotated by GMST.
    """
    arr = np.asarray(t, float)
    n = arr / DAY_S
    mean_lon = np.radians((280.460 + 0.9856474 * n) % 360.0)
    g = np.radians((357.528 + 0.9856003 * n) % 360.0)
    ecl_lon = mean_lon + np.radians(1.915) * np.sin(g) + np.radians(0.020) * np.sin(2 * g)
    eps = np.radians(23.439 - 4.0e-7 * n)
    dist = (1.00014 - 0.01671 * np.cos(g) - 0.00014 * np.cos(2 * g)) * _AU_KM
    x = np.cos(ecl_lon)
    y = np.cos(eps) * np.sin(ecl_lon)
    z = np.sin(eps) * np.sin(ecl_lon)
    th = gmst82_rad(arr, dut1)
    c, s = np.cos(th), np.sin(th)
    return dist[..., None] * np.stack([c * x + s * y, -s * x + c * y, z], axis=-1)


def _enu_basis(lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lat = np.radians(np.asarray(lat_deg, float))
    lon = np.radians(np.asarray(lon_deg, float))
    east = np.stack([-np.sin(lon), np.cos(lon), np.zeros_like(lon)], axis=-1)
    north = np.stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)], axis=-1)
    up = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
    return east, north, up


def look_angles(site_lat_deg, site_lon_deg, site_ecef_km: np.ndarray,
                target_ecef_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zenith and azimuth angles, deg, of a target seen from a ground site.

    Parameters
    ----------
    site_lat_deg, site_lon_deg : array_like
        Geodetic latitude and longitude of the site(s), deg (broadcast against the targets).
    site_ecef_km, target_ecef_km : numpy.ndarray (..., 3)
        Earth-fixed positions, km.

    Returns
    -------
    zenith_deg, azimuth_deg : numpy.ndarray
        Zenith angle from the ellipsoid normal, and azimuth of the direction to the target,
        clockwise from north in [0, 360).
    """
    east, north, up = _enu_basis(site_lat_deg, site_lon_deg)
    rho = np.asarray(target_ecef_km, float) - np.asarray(site_ecef_km, float)
    rn = np.linalg.norm(rho, axis=-1)
    cz = np.sum(rho * up, axis=-1) / rn
    zen = np.degrees(np.arccos(np.clip(cz, -1.0, 1.0)))
    az = np.degrees(np.arctan2(np.sum(rho * east, axis=-1), np.sum(rho * north, axis=-1))) % 360.0
    return zen, az


def great_circle_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg,
                    radius_km: float = MEAN_EARTH_RADIUS_KM) -> np.ndarray:
    """Great-circle distance, km, on a sphere of ``radius_km`` (haversine; about 0.5 % of the ellipsoid's)."""
    p1, p2 = np.radians(lat1_deg), np.radians(lat2_deg)
    dl = np.radians(np.asarray(lon2_deg, float) - np.asarray(lon1_deg, float))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2.0 * radius_km * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def central_angle_rad(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """Angle, rad, between unit vectors (..., 3) (chord formula, accurate at small angles)."""
    chord = np.linalg.norm(np.asarray(u1) - np.asarray(u2), axis=-1)
    return 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
