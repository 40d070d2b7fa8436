"""Orbits to propagate: from TLEs, or from mean elements (sun-synchronous circular orbits).

Every orbit is an SGP4 satellite record (:class:`sgp4.api.Satrec`), so one vectorised
propagator (``Satrec.sgp4_array``, compiled) serves TLE satellites and element-only ones
alike. A satellite without a TLE (VENuS in a given orbit phase) gets a circular
sun-synchronous orbit built from its altitude and local time of the descending node:

- semi-major axis ``a = R_eq + h``, eccentricity 0 (WGS72 constants, as SGP4);
- inclination from the J2 nodal precession equal to the Sun's mean motion
  (360 deg per 365.2422 days): ``cos i = -(2 pi / 365.2422 d) / (1.5 n J2 (R/a)^2)``;
- right ascension of the ascending node at the epoch from the mean Sun's right ascension
  and the local time of the ascending node (LTDN + 12 h);
- optionally a repeat ground track (``repeat_days``): the altitude is adjusted so that an
  integer number of nodal revolutions fits in ``repeat_days`` solar days (first-order J2
  rates), as VENuS's 2-day (VM1) and 1-day (VM5) revisits require.

The along-track phase (mean anomaly at the epoch) of a real satellite is not in its
altitude and LTDN: an element-only orbit gives ground tracks and geometry of the right
family, not the real satellite's pass times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from etalon.sno.frames import teme_to_ecef
from etalon.sno.timescale import DAY_S, J2000_JD, dut1_s, gmst82_rad, parse_time
from etalon.sno.tle import TLE

__all__ = [
    "Orbit",
    "SunSynchronousElements",
    "align_to_site",
    "from_tle",
    "repeat_altitude_km",
    "sun_synchronous",
    "sun_synchronous_inclination_deg",
    "venus_orbit",
]

# WGS72 (SGP4's constants)
_MU = 398600.8
_RE = 6378.135
_J2 = 0.001082616
_SUN_RATE = 2.0 * math.pi / (365.2422 * DAY_S)  # rad/s


@dataclass(frozen=True)
class Orbit:
    """A satellite to propagate.

    Attributes
    ----------
    name : str
        Satellite name (the TLE name line, or the element set's name).
    satrec : sgp4.api.Satrec
        SGP4 record.
    source : str
        Where the elements come from (``file:line`` or a description of the mean elements).
    epoch : float
        Element epoch, UTC seconds since J2000.
    tle : TLE or None
        The element set when read from a TLE file.
    """

    name: str
    satrec: object = field(repr=False)
    source: str
    epoch: float
    tle: TLE | None = field(default=None, repr=False)

    def teme(self, t) -> tuple[np.ndarray, np.ndarray]:
        """TEME position (km) and velocity (km/s), (n, 3), at UTC seconds since J2000.

        Raises
        ------
        RuntimeError
            When SGP4 reports an error (decayed orbit, eccentricity out of range).
        """
        arr = np.atleast_1d(np.asarray(t, float))
        jd = np.full(arr.shape, J2000_JD)
        err, r, v = self.satrec.sgp4_array(jd, arr / DAY_S)
        if np.any(err):
            k = int(np.flatnonzero(err)[0])
            raise RuntimeError(f"{self.name} ({self.source}): SGP4 error {int(err[k])} at "
                               f"t = {arr[k]:.1f} s from J2000")
        return r, v

    def ecef(self, t, dut1: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Earth-fixed position (km) and velocity (km/s, rotating frame), (n, 3)."""
        arr = np.atleast_1d(np.asarray(t, float))
        r, v = self.teme(arr)
        return teme_to_ecef(arr, r, v, dut1)


def from_tle(tle: TLE) -> Orbit:
    """The orbit of a TLE."""
    return Orbit(tle.name, tle.satrec(), tle.source, tle.epoch, tle)


def _node_drift_rad(sat, t0: float, repeat_days: float, revs: int) -> float:
    """Eastward shift, rad, of the ascending-node longitude after one repeat cycle (SGP4)."""
    from etalon.sno.frames import teme_to_ecef

    t = t0 + np.arange(0.0, (repeat_days + 0.2) * DAY_S, 5.0)
    _, r, v = sat.sgp4_array(np.full(t.size, J2000_JD), t / DAY_S)
    re, _ = teme_to_ecef(t, r, v)
    z = re[:, 2]
    i = np.flatnonzero((z[:-1] < 0) & (z[1:] >= 0))
    f = -z[i] / (z[i + 1] - z[i])
    x = re[i, 0] + f * (re[i + 1, 0] - re[i, 0])
    y = re[i, 1] + f * (re[i + 1, 1] - re[i, 1])
    lon = np.arctan2(y, x)
    return float((lon[revs] - lon[0] + math.pi) % (2 * math.pi) - math.pi)


def sun_synchronous_inclination_deg(altitude_km: float) -> float:
    """Inclination, deg, of a circular sun-synchronous orbit at ``altitude_km`` (first-order J2)."""
    a = _RE + float(altitude_km)
    n = math.sqrt(_MU / a**3)
    c = -_SUN_RATE / (1.5 * n * _J2 * (_RE / a) ** 2)
    if not -1.0 <= c <= 1.0:
        raise ValueError(f"no sun-synchronous circular orbit at {altitude_km} km")
    return math.degrees(math.acos(c))


def _nodal_rate_rad_s(a: float) -> float:
    """Draconic angular rate (dM/dt + domega/dt) of a circular SSO, rad/s, first-order J2."""
    n = math.sqrt(_MU / a**3)
    ci = -_SUN_RATE / (1.5 * n * _J2 * (_RE / a) ** 2)
    k = 0.75 * _J2 * (_RE / a) ** 2
    return n * (1.0 + k * (3 * ci**2 - 1.0)) + n * k * (5 * ci**2 - 1.0)


def repeat_altitude_km(altitude_km: float, repeat_days: float) -> tuple[float, int]:
    """Altitude nearest ``altitude_km`` with a ground track repeating after ``repeat_days``.

    Returns
    -------
    altitude_km : float
        The adjusted altitude, km.
    revolutions : int
        Nodal revolutions per repeat cycle.
    """
    from scipy.optimize import brentq

    span = float(repeat_days) * DAY_S
    a0 = _RE + float(altitude_km)
    revs = round(_nodal_rate_rad_s(a0) * span / (2 * math.pi))
    a = brentq(lambda x: _nodal_rate_rad_s(x) * span / (2 * math.pi) - revs, a0 - 300.0, a0 + 300.0,
               xtol=1e-6)
    return a - _RE, int(revs)


@dataclass(frozen=True)
class SunSynchronousElements:
    """Mean elements of a circular sun-synchronous orbit.

    Attributes
    ----------
    name : str
    altitude_km : float
        Altitude above the equatorial radius, km.
    ltdn_hours : float
        Local (mean solar) time of the descending node, hours.
    epoch : float
        Epoch, UTC seconds since J2000.
    mean_anomaly_deg : float
        Argument of latitude at the epoch, deg from the ascending node.
    inclination_deg : float
        Inclination, deg.
    raan_deg : float
        Right ascension of the ascending node at the epoch (TEME), deg.
    """

    name: str
    altitude_km: float
    ltdn_hours: float
    epoch: float
    mean_anomaly_deg: float
    inclination_deg: float
    raan_deg: float


def sun_synchronous(name: str, altitude_km: float, ltdn_hours: float, epoch,
                    mean_anomaly_deg: float = 0.0, repeat_days: float | None = None,
                    satnum: int = 99999) -> Orbit:
    """A circular sun-synchronous orbit from altitude and local time of the descending node.

    Parameters
    ----------
    name : str
        Satellite name.
    altitude_km : float
        Altitude, km (adjusted to a repeat orbit when ``repeat_days`` is given).
    ltdn_hours : float
        Local mean solar time of the descending node, hours (10.5 for 10:30).
    epoch : str, datetime or float
        Element epoch (UTC).
    mean_anomaly_deg : float
        Argument of latitude at the epoch, deg.
    repeat_days : float, optional
        Repeat cycle of the ground track, days.
    satnum : int
        Catalogue number given to the record.
    """
    from sgp4.api import WGS72, Satrec

    if not 100.0 <= float(altitude_km) <= 3000.0:
        raise ValueError(f"{name}: altitude {altitude_km} km outside 100-3000 km")
    if not 0.0 <= float(ltdn_hours) < 24.0:
        raise ValueError(f"{name}: LTDN {ltdn_hours} h outside [0, 24)")
    t0 = parse_time(epoch, f"{name} epoch")
    alt = float(altitude_km)
    note = ""
    if repeat_days:
        alt, revs = repeat_altitude_km(alt, repeat_days)
        note = f", {revs} revolutions in {repeat_days:g} days"
    else:
        revs = 0
    a = _RE + alt
    n = math.sqrt(_MU / a**3)  # rad/s
    inc = sun_synchronous_inclination_deg(alt)
    # mean Sun right ascension = GMST - (UT1 - 12 h) hour angle; node at local time LTAN
    gmst = float(gmst82_rad(t0))
    ut1_day_frac = ((t0 + float(dut1_s(t0))) / DAY_S + 0.5) % 1.0
    ra_mean_sun = gmst - (ut1_day_frac - 0.5) * 2 * math.pi
    ltan = (float(ltdn_hours) + 12.0) % 24.0
    raan = (ra_mean_sun + (ltan - 12.0) / 24.0 * 2 * math.pi) % (2 * math.pi)
    epoch_1949 = (t0 / DAY_S) + (J2000_JD - 2433281.5)

    def build(n_rad_s: float):
        sat = Satrec()
        sat.sgp4init(WGS72, "i", int(satnum), epoch_1949, 0.0, 0.0, 0.0, 0.0, 0.0,
                     math.radians(inc), math.radians(mean_anomaly_deg), n_rad_s * 60.0, raan)
        return sat

    sat = build(n)
    if repeat_days:
        # SGP4's secular theory differs from the first-order J2 rates: tune the mean motion
        # until the node longitude repeats after repeat_days (drift below ~10 m per cycle)
        for _ in range(3):
            drift = _node_drift_rad(sat, t0, float(repeat_days), revs)
            period = float(repeat_days) * DAY_S / revs
            dt = drift / (2 * math.pi / DAY_S) / revs     # node early by dt per revolution
            n *= (period - dt) / period
            sat = build(n)
    src = (f"mean elements: circular sun-synchronous, {alt:.2f} km, i = {inc:.3f} deg, "
           f"LTDN {ltdn_hours:g} h{note}, {n * DAY_S / (2 * math.pi):.6f} rev/day")
    return Orbit(name, sat, src, t0)


def venus_orbit(phase: str, epoch=None, mean_anomaly_deg: float = 0.0, name: str | None = None,
                repeat: bool = True) -> Orbit:
    """VENuS in an orbit phase (``VM1``..``VM5``) as a sun-synchronous orbit (no public TLE here).

    Parameters
    ----------
    phase : str
        Phase name from :data:`etalon.venus.phases.PHASES` (altitude, revisit).
    epoch : optional
        Element epoch (default the phase start).
    mean_anomaly_deg : float
        Along-track phase at the epoch, deg (unknown for the real satellite).
    name : str, optional
        Satellite name (default ``VENUS-<phase>``).
    repeat : bool
        Adjust the altitude to the phase's revisit (repeat ground track).
    """
    from etalon.venus.phases import LTDN_HOURS, PHASES

    key = str(phase).strip().upper()
    if key not in PHASES:
        raise ValueError(f"unknown VENuS phase {phase!r}; expected one of {', '.join(PHASES)}")
    p = PHASES[key]
    return sun_synchronous(name or f"VENUS-{key}", p.altitude_km, LTDN_HOURS,
                           epoch if epoch is not None else p.start, mean_anomaly_deg,
                           p.revisit_days if repeat else None, satnum=42064)


def align_to_site(make_orbit, site, start: float, days: float = 2.0, iterations: int = 3) -> float:
    """Mean anomaly at the epoch that puts a sun-synchronous orbit's ground track over a site.

    Real VENuS sites lie on its repeat ground track; an element-only orbit has an arbitrary
    along-track phase. Shifting the mean anomaly by ``dM`` makes the satellite arrive
    ``dM / n`` earlier, which moves the ground track east by ``omega_rel dM / n``; the
    daylight pass of ``[start, start + days]`` nearest the site is moved onto it.

    Parameters
    ----------
    make_orbit : callable
        ``make_orbit(mean_anomaly_deg) -> Orbit``.
    site : Site
    start : float
        Beginning of the search window, UTC seconds since J2000.
    days : float
        Search window (at least the repeat cycle), days.

    Returns
    -------
    float
        Mean anomaly, deg in [0, 360).
    """
    from etalon.sno.overpass import find_overpasses

    m = 0.0
    for _ in range(iterations):
        orbit = make_orbit(m)
        p = find_overpasses(orbit, [site], start, start + days * DAY_S, 90.0, 90.0)
        if not len(p):
            break
        j = int(np.argmin(np.asarray(p["distance_km"])))
        n = float(orbit.satrec.no_kozai) / 60.0          # rad/s
        w_rel = 2 * math.pi / DAY_S                        # SSO: Earth turns once a solar day wrt the node
        dlon = math.radians(((site.lon - float(p["sub_lon"][j]) + 180.0) % 360.0) - 180.0)
        m = (m + math.degrees(n * dlon / w_rel)) % 360.0
    return m
