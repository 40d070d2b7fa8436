"""Sun-Moon-observer geometry for lunar calibration, offline.

Positions come from astropy with the JPL DE421 ephemeris read by jplephem from
the ``skyfield-data`` package when it is installed (astropy's built-in
ephemeris otherwise). The observer is given in km, Earth-fixed (``"ITRF"``,
converted with astropy's ITRS -> GCRS transformation and the bundled IERS
tables) or inertial (``"J2000"``, taken as GCRS/ICRF axes).

Vectors are taken in the Moon's rest frame, where the light reflected toward
the observer travels the geometric distance ``|observer(t) - Moon(t)|``: a
light-time correction made with *barycentric* positions would add the common
30 km/s orbital motion of the Earth and the Moon (up to +-40 km, 2e-4 on the
irradiance) and is not applied. The Moon's orientation is taken at the
emission time ``t - d/c``; the Sun is light-time corrected (Moon <- Sun). The
phase angle is geometric, the convention of the models' geometry (the LIME
toolbox computes it with SPICE, aberration correction "NONE"): the Moon's
aberration of the sunlight (<= 20 arcsec, 0.006 degree) is not applied.

Selenographic coordinates use the IAU lunar orientation model (pole
alpha0/delta0 and prime meridian W with the E1..E13 periodic terms, Archinal
et al. 2011, WGCCRE 2009), which follows the mean-Earth/polar-axis frame to
about 150 m on the lunar surface.

The phase angle is signed as in the LIME toolbox: negative before full Moon
(waxing: the Sun east of the sub-observer point), positive after.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.time import Time

__all__ = ["LunarGeometry", "default_ephemeris", "iau_moon_rotation", "lunar_geometry"]

_C_KM_S = 299792.458
_AU_KM = 149597870.7


@functools.lru_cache(maxsize=1)
def default_ephemeris() -> str:
    """Path of DE421 from ``skyfield-data`` when installed, else ``"builtin"``."""
    try:
        import jplephem  # noqa: F401
        import skyfield_data
    except ImportError:
        return "builtin"
    path = Path(skyfield_data.__file__).parent / "data" / "de421.bsp"
    return str(path) if path.is_file() else "builtin"


def iau_moon_rotation(tdb_jd: float) -> np.ndarray:
    """Rotation matrix ICRF -> IAU Moon body-fixed frame at TDB Julian date ``tdb_jd``.

    Pole (alpha0, delta0) and prime meridian W of the IAU WGCCRE 2009 model for
    the Moon, with its periodic terms E1..E13.
    """
    d = tdb_jd - 2451545.0
    t = d / 36525.0
    e = np.radians(np.array([
        125.045 - 0.0529921 * d, 250.089 - 0.1059842 * d, 260.008 + 13.0120009 * d,
        176.625 + 13.3407154 * d, 357.529 + 0.9856003 * d, 311.589 + 26.4057084 * d,
        134.963 + 13.0649930 * d, 276.617 + 0.3287146 * d, 34.226 + 1.7484877 * d,
        15.134 - 0.1589763 * d, 119.743 + 0.0036096 * d, 239.961 + 0.1643573 * d,
        25.053 + 12.9590088 * d,
    ]))
    s, c = np.sin(e), np.cos(e)
    alpha0 = (269.9949 + 0.0031 * t - 3.8787 * s[0] - 0.1204 * s[1] + 0.0700 * s[2]
              - 0.0172 * s[3] + 0.0072 * s[5] - 0.0052 * s[9] + 0.0043 * s[12])
    delta0 = (66.5392 + 0.0130 * t + 1.5419 * c[0] + 0.0239 * c[1] - 0.0278 * c[2]
              + 0.0068 * c[3] - 0.0029 * c[5] + 0.0009 * c[6] + 0.0008 * c[9] - 0.0009 * c[12])
    w = (38.3213 + 13.17635815 * d - 1.4e-12 * d**2 + 3.5610 * s[0] + 0.1208 * s[1]
         - 0.0642 * s[2] + 0.0158 * s[3] + 0.0252 * s[4] - 0.0066 * s[5] - 0.0047 * s[6]
         - 0.0046 * s[7] + 0.0028 * s[8] + 0.0052 * s[9] + 0.0040 * s[10] + 0.0019 * s[11]
         - 0.0044 * s[12])
    return _rot_z(np.radians(w)) @ _rot_x(np.radians(90.0 - delta0)) @ _rot_z(
        np.radians(90.0 + alpha0))


def _rot_z(a: float) -> np.ndarray:
    """Frame rotation about z by angle a (coordinates of a fixed vector in the rotated frame)."""
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])


@dataclass(frozen=True)
class LunarGeometry:
    """Geometry of one lunar observation.

    Attributes
    ----------
    time : astropy.time.Time
        Observation time.
    phase_angle_deg : float
        Sun-Moon-observer angle, degrees, negative before full Moon (waxing).
    sel_obs_lat_deg, sel_obs_lon_deg : float
        Selenographic latitude/longitude of the observer (sub-observer point), degrees.
    sel_sun_lat_deg, sel_sun_lon_deg : float
        Selenographic latitude/longitude of the Sun (sub-solar point), degrees.
    sun_moon_au : float
        Sun-Moon distance, AU.
    obs_moon_km : float
        Observer-Moon distance, km.
    moon_icrs_km : numpy.ndarray
        Moon position relative to the observer (ICRF axes), km.
    ephemeris : str
        Ephemeris used (``"de421"`` or ``"builtin"``).
    """

    time: Time
    phase_angle_deg: float
    sel_obs_lat_deg: float
    sel_obs_lon_deg: float
    sel_sun_lat_deg: float
    sel_sun_lon_deg: float
    sun_moon_au: float
    obs_moon_km: float
    moon_icrs_km: np.ndarray
    ephemeris: str

    @property
    def abs_phase_angle_deg(self) -> float:
        """Absolute phase angle, degrees."""
        return abs(self.phase_angle_deg)

    @property
    def sel_sun_lon_rad(self) -> float:
        """Selenographic longitude of the Sun, radians (as ROLO's Phi)."""
        return float(np.radians(self.sel_sun_lon_deg))

    def as_dict(self) -> dict[str, float | str]:
        """Plain values, for tables and printing."""
        return {
            "time": self.time.isot,
            "phase_angle_deg": self.phase_angle_deg,
            "sel_obs_lat_deg": self.sel_obs_lat_deg,
            "sel_obs_lon_deg": self.sel_obs_lon_deg,
            "sel_sun_lat_deg": self.sel_sun_lat_deg,
            "sel_sun_lon_deg": self.sel_sun_lon_deg,
            "sun_moon_au": self.sun_moon_au,
            "obs_moon_km": self.obs_moon_km,
            "ephemeris": self.ephemeris,
        }


def _observer_gcrs_km(time: Time, observer_km: Sequence[float], frame: str) -> np.ndarray:
    xyz = np.asarray(observer_km, dtype=float).reshape(3)
    frame_u = frame.upper()
    if frame_u in ("J2000", "EME2000", "GCRS", "ICRF"):
        return xyz
    if frame_u not in ("ITRF", "ITRF93", "ITRS", "ECEF"):
        raise ValueError(f"unknown observer frame {frame!r}: use 'ITRF' or 'J2000'")
    from astropy.coordinates import GCRS, ITRS, CartesianRepresentation
    from astropy.utils import iers

    with iers.conf.set_temp("auto_download", False), iers.conf.set_temp("auto_max_age", None), \
            iers.earth_orientation_table.set(earth_orientation_table()):
        itrs = ITRS(CartesianRepresentation(xyz * u.km), obstime=time)
        gcrs = itrs.transform_to(GCRS(obstime=time))
    return gcrs.cartesian.xyz.to_value(u.km)


@functools.lru_cache(maxsize=1)
def earth_orientation_table():
    """astropy's bundled Earth-orientation table (IERS A + B, no download), read once per machine.

    astropy parses its two IERS text files (20,000 days) in every new process, 0.6-1 s:
    more than a whole observation's geometry. The table is the one
    ``astropy.utils.iers.IERS_Auto.open()`` returns with ``auto_download`` off; its columns
    are kept in an ``.npz`` file in etalon's cache (:func:`etalon.fileio.cache_directory`),
    named after the astropy version and the source files' sizes and dates, and rebuilt
    from it, value for value. When the cache cannot be read or written the table is parsed
    as astropy does.

    Returns
    -------
    astropy.utils.iers.IERS_Auto
    """
    import astropy
    from astropy.table import MaskedColumn, QTable
    from astropy.utils import iers
    from astropy.utils.masked import Masked

    from etalon.fileio import atomic_output, cache_directory

    sources = [Path(f) for f in (iers.IERS_A_FILE, iers.IERS_B_FILE)]
    try:
        stamp = "-".join(f"{p.stat().st_size}-{int(p.stat().st_mtime)}" for p in sources)
    except OSError:
        stamp = None
    cache = cache_directory("iers") / f"iers_auto-astropy{astropy.__version__}-{stamp}.npz"
    if stamp is not None:
        try:
            with np.load(cache, allow_pickle=False) as z:
                names = [str(n) for n in z["names"]]
                cols = []
                for i, name in enumerate(names):
                    unit = str(z["units"][i])
                    data = z[f"c{i}"]
                    col = data * u.Unit(unit) if unit else data
                    if z["masked"][i]:
                        col = (Masked(col, mask=z[f"m{i}"]) if unit
                               else MaskedColumn(data, mask=z[f"m{i}"], name=name))
                    cols.append(col)
                table = iers.IERS_Auto(QTable(cols, names=names))
                table.meta.update(predictive_index=int(z["predictive_index"]),
                                  predictive_mjd=float(z["predictive_mjd"]),
                                  data_path=str(sources[0]))
                iers.IERS_Auto.iers_table = table
                return table
        except (OSError, KeyError, ValueError):
            pass
    with iers.conf.set_temp("auto_download", False), iers.conf.set_temp("auto_max_age", None):
        table = iers.IERS_Auto.open()
    if stamp is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            arrays: dict[str, np.ndarray] = {}
            units, masked = [], []
            for i, name in enumerate(table.colnames):
                col = table[name]
                unit = getattr(col, "unit", None)
                units.append("" if unit is None else unit.to_string())
                mask = getattr(col, "mask", None)
                masked.append(bool(mask is not None and np.any(mask)))
                arrays[f"c{i}"] = np.asarray(getattr(col, "value", col))
                if masked[-1]:
                    arrays[f"m{i}"] = np.asarray(mask)
            with atomic_output(cache) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, names=np.array(table.colnames), units=np.array(units),
                         masked=np.array(masked), predictive_index=table.meta["predictive_index"],
                         predictive_mjd=table.meta["predictive_mjd"], **arrays)
        except (OSError, KeyError, TypeError, ValueError):
            pass
    return table


def _body_bary_km(body: str, time: Time, ephemeris: str) -> np.ndarray:
    from astropy.coordinates import get_body_barycentric

    return get_body_barycentric(body, time, ephemeris=ephemeris).xyz.to_value(u.km)


def _lonlat(v: np.ndarray) -> tuple[float, float]:
    r = np.linalg.norm(v)
    return float(np.degrees(np.arctan2(v[1], v[0]))), float(np.degrees(np.arcsin(v[2] / r)))


def lunar_geometry(time: Time | str, observer_km: Sequence[float], frame: str = "ITRF",
                   ephemeris: str | os.PathLike[str] | None = None) -> LunarGeometry:
    """Phase angle, distances and selenographic coordinates of an observation.

    Parameters
    ----------
    time : astropy.time.Time or str
        Observation time (UTC string accepted).
    observer_km : sequence of 3 floats
        Observer position, km, geocentric, in ``frame``.
    frame : {"ITRF", "J2000"}
        Earth-fixed (ITRF/ITRS) or inertial (J2000 = GCRS axes).
    ephemeris : str or path, optional
        Passed to astropy (``"builtin"``, ``"de432s"``, a .bsp path); default
        DE421 from skyfield-data when available.

    Returns
    -------
    LunarGeometry
    """
    t = time if isinstance(time, Time) else Time(time, scale="utc")
    eph = str(ephemeris) if ephemeris is not None else default_ephemeris()
    obs_geo = _observer_gcrs_km(t, observer_km, frame)
    earth = _body_bary_km("earth", t, eph)
    obs = earth + obs_geo
    to_obs = obs - _body_bary_km("moon", t, eph)
    obs_moon = float(np.linalg.norm(to_obs))
    t_moon = t - (obs_moon / _C_KM_S) * u.s          # emission of the reflected light
    moon = _body_bary_km("moon", t_moon, eph)
    t_sun = t_moon
    for _ in range(2):
        sun = _body_bary_km("sun", t_sun, eph)
        t_sun = t_moon - (np.linalg.norm(sun - moon) / _C_KM_S) * u.s
    to_sun = sun - moon
    cosg = np.dot(to_obs, to_sun) / (obs_moon * np.linalg.norm(to_sun))
    phase = float(np.degrees(np.arccos(np.clip(cosg, -1.0, 1.0))))
    rot = iau_moon_rotation(t_moon.tdb.jd1 + t_moon.tdb.jd2)
    obs_lon, obs_lat = _lonlat(rot @ to_obs)
    sun_lon, sun_lat = _lonlat(rot @ to_sun)
    dlon = (sun_lon - obs_lon + 180.0) % 360.0 - 180.0
    signed = -phase if dlon > 0 else phase
    name = "de421" if eph.endswith("de421.bsp") else Path(eph).name
    return LunarGeometry(t, signed, obs_lat, obs_lon, sun_lat, sun_lon,
                         float(np.linalg.norm(to_sun) / _AU_KM), obs_moon, -to_obs, name)
