"""VENuS orbit phases VM1..VM5 and what an altitude means for imaging and for the Moon.

The phase table (altitudes, dates) is the public record gathered in ``shared/venus.md``
(CNES; Dick et al. 2022; CALCON 2022). Exact VM2-VM4 dates are not public: the dates used
here for them are the project's assumption (documented in ``docs/venus.md``). Every derived
quantity (GSD, ground speed, line period) is *computed* from the altitude for a circular orbit
over a spherical Earth, not typed:

- GSD = altitude x IFOV, with IFOV = 13 um / 1.75 m = 7.43 urad;
- orbital speed v = sqrt(GM / (R + h)); ground speed = v R / (R + h) (Earth rotation ignored);
- line period = GSD / ground speed (a TDI pushbroom reads one line per GSD of ground track).

Lunar acquisition: VENuS scans the Moon with a pitch manoeuvre at an inertial angular rate
``omega`` (rad/s). One line period sweeps ``omega * line_period`` rad of sky, so the along-track
oversampling factor (lines per IFOV of sky) is ``IFOV / (omega * line_period)``. The Moon's
size in pixels (across track) does not depend on the altitude: its angular diameter over the
IFOV, about 1,217 px at the mean Earth-Moon distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DETECTOR_PITCH_M",
    "DETECTOR_UNIT_ALONG_TRACK_DEG",
    "EARTH_GM_KM3_S2",
    "EARTH_RADIUS_KM",
    "FOCAL_LENGTH_M",
    "IFOV_RAD",
    "LTDN_HOURS",
    "MOON_MEAN_DISTANCE_KM",
    "MOON_RADIUS_KM",
    "NOMINAL_LUNAR_PITCH_RATE_RAD_S",
    "PHASES",
    "PHASE_NAMES",
    "OrbitPhase",
    "altitude_at",
    "ground_speed_km_s",
    "gsd_m",
    "line_period_ms",
    "lunar_pitch_rate_for",
    "moon_diameter_px",
    "orbital_period_s",
    "oversampling_factor",
    "phase_at",
    "phases_at",
    "unit_along_track_offset_rad",
]

#: detector pixel pitch, m (ELOP design review: 13 um TDI pixels)
DETECTOR_PITCH_M = 13e-6
#: telescope focal length, m (CNES: Ritchey-Chretien, 25 cm aperture, 1.75 m focal length)
FOCAL_LENGTH_M = 1.75
#: instantaneous field of view of one pixel, rad (derived: 13 um / 1.75 m = 7.43 urad)
IFOV_RAD = DETECTOR_PITCH_M / FOCAL_LENGTH_M
#: Earth equatorial radius, km (WGS84) and gravitational parameter, km3 s-2 (EGM96)
EARTH_RADIUS_KM = 6378.137
EARTH_GM_KM3_S2 = 398600.4418
#: Moon mean radius, km (IAU) and mean Earth-Moon distance, km
MOON_RADIUS_KM = 1737.4
MOON_MEAN_DISTANCE_KM = 384400.0
#: VENuS local time of the descending node, hours (sun-synchronous orbit, 10:30)
LTDN_HOURS = 10.5

#: along-track viewing angle of each detector unit, deg, relative to the boresight (project
#: definition: units about 0.4 deg apart, B5 (D1) and B6 (D4) 1.25 deg apart; the order
#: D1, D3, D2, D4 along track is the project's assumption, not a public fact)
DETECTOR_UNIT_ALONG_TRACK_DEG: dict[str, float] = {
    "D1": -0.625, "D3": -0.625 / 3.0, "D2": 0.625 / 3.0, "D4": 0.625,
}

#: the project's nominal inertial pitch rate of a lunar acquisition, rad/s (assumption: gives
#: an oversampling factor of about 1.6 at 720 km and 2.1 at 560 km)
NOMINAL_LUNAR_PITCH_RATE_RAD_S = 6.0e-3


def orbital_period_s(altitude_km: float) -> float:
    """Period of a circular orbit at ``altitude_km`` (km), s."""
    r = EARTH_RADIUS_KM + float(altitude_km)
    return 2.0 * math.pi * math.sqrt(r**3 / EARTH_GM_KM3_S2)


def gsd_m(altitude_km: float) -> float:
    """Nadir ground sampling distance, m, at ``altitude_km`` (km): altitude x IFOV."""
    return float(altitude_km) * 1e3 * IFOV_RAD


def ground_speed_km_s(altitude_km: float) -> float:
    """Speed of the sub-satellite point, km/s, circular orbit, Earth rotation ignored."""
    r = EARTH_RADIUS_KM + float(altitude_km)
    return math.sqrt(EARTH_GM_KM3_S2 / r) * EARTH_RADIUS_KM / r


def line_period_ms(altitude_km: float) -> float:
    """TDI line period, ms: the time the ground track takes to advance one GSD."""
    return gsd_m(altitude_km) / (ground_speed_km_s(altitude_km) * 1e3) * 1e3


def oversampling_factor(pitch_rate_rad_s: float, altitude_km: float,
                        ifov_rad: float = IFOV_RAD) -> float:
    """Along-track oversampling factor of a lunar acquisition (dimensionless).

    Parameters
    ----------
    pitch_rate_rad_s : float
        Inertial angular rate of the line of sight during the scan, rad/s (> 0).
    altitude_km : float
        Orbit altitude, km (sets the line period).
    ifov_rad : float
        Pixel IFOV, rad.

    Returns
    -------
    float
        Lines recorded per IFOV of sky swept: ``IFOV / (rate * line_period)``. Above 1 the
        Moon is stretched along track; the GSICS irradiance divides by it.
    """
    rate = float(pitch_rate_rad_s)
    if not rate > 0:
        raise ValueError(f"pitch rate must be > 0 rad/s, got {pitch_rate_rad_s!r}")
    return ifov_rad / (rate * line_period_ms(altitude_km) * 1e-3)


def lunar_pitch_rate_for(oversampling: float, altitude_km: float) -> float:
    """The pitch rate, rad/s, giving oversampling factor ``oversampling`` at ``altitude_km``."""
    return IFOV_RAD / (float(oversampling) * line_period_ms(altitude_km) * 1e-3)


def moon_diameter_px(distance_km: float = MOON_MEAN_DISTANCE_KM, ifov_rad: float = IFOV_RAD) -> float:
    """Apparent lunar diameter in pixels (across track) at ``distance_km`` from the observer.

    About 1,217 px at the mean distance, whatever the orbit altitude.
    """
    return 2.0 * math.asin(MOON_RADIUS_KM / float(distance_km)) / ifov_rad


def unit_along_track_offset_rad(unit: str) -> float:
    """Along-track viewing angle of a detector unit (``D1``..``D4``), rad."""
    return math.radians(DETECTOR_UNIT_ALONG_TRACK_DEG[str(unit).strip().upper()])


@dataclass(frozen=True)
class OrbitPhase:
    """One VENuS mission phase.

    Attributes
    ----------
    name : str
        ``VM1`` .. ``VM5``.
    altitude_km : float
        Representative altitude, km (the mean of start and end for a transfer phase).
    start, stop : str or None
        First and last day (ISO date, UTC); ``None`` when open.
    revisit_days : float or None
        Revisit of the sites, days (None when not a science phase).
    altitude_start_km, altitude_end_km : float
        Altitude at the start and at the end of the phase, km (equal for a stable phase).
    description : str
        What the phase is.
    dates_public : bool
        False when the dates are the project's assumption.
    """

    name: str
    altitude_km: float
    start: str | None
    stop: str | None
    revisit_days: float | None
    altitude_start_km: float
    altitude_end_km: float
    description: str = ""
    dates_public: bool = True

    @property
    def gsd_m(self) -> float:
        """Nadir GSD at ``altitude_km``, m."""
        return gsd_m(self.altitude_km)

    @property
    def ground_speed_km_s(self) -> float:
        """Ground speed at ``altitude_km``, km/s."""
        return ground_speed_km_s(self.altitude_km)

    @property
    def line_period_ms(self) -> float:
        """Line period at ``altitude_km``, ms."""
        return line_period_ms(self.altitude_km)

    def oversampling_factor(self, pitch_rate_rad_s: float = NOMINAL_LUNAR_PITCH_RATE_RAD_S) -> float:
        """Oversampling factor of a lunar acquisition at this phase's altitude."""
        return oversampling_factor(pitch_rate_rad_s, self.altitude_km)

    def as_dict(self) -> dict[str, object]:
        """The phase with its derived quantities, as a plain dict (for tables and JSON)."""
        return {"name": self.name, "altitude_km": self.altitude_km, "start": self.start,
                "stop": self.stop, "revisit_days": self.revisit_days,
                "altitude_start_km": self.altitude_start_km, "altitude_end_km": self.altitude_end_km,
                "gsd_m": self.gsd_m, "ground_speed_km_s": self.ground_speed_km_s,
                "line_period_ms": self.line_period_ms, "description": self.description,
                "dates_public": self.dates_public}


_PHASE_TABLE = (
    # name, start alt, end alt, start, stop, revisit, description, dates public
    ("VM1", 720.0, 720.0, "2017-08-02", "2020-10-31", 2.0, "science phase 1, 2-day revisit", True),
    ("VM2", 720.0, 410.0, "2020-11-01", "2021-03-31", None, "electric-propulsion descent", False),
    ("VM3", 410.0, 410.0, "2021-04-01", "2021-09-30", None, "technology phase at ~410 km", False),
    ("VM4", 410.0, 560.0, "2021-10-01", "2022-02-28", None, "climb to 560 km", False),
    ("VM5", 560.0, 560.0, "2022-03-01", "2024-07-31", 1.0,
     "science phase 2, 1-day revisit; dark, equalisation, desert and Moon calibration redone", True),
)

#: the five phases, by name
PHASES: dict[str, OrbitPhase] = {
    n: OrbitPhase(n, (a0 + a1) / 2.0, s, e, r, a0, a1, d, pub)
    for n, a0, a1, s, e, r, d, pub in _PHASE_TABLE
}
PHASE_NAMES: tuple[str, ...] = tuple(PHASES)


def _mjd(time) -> np.ndarray:
    from astropy.time import Time

    t = time if isinstance(time, Time) else Time(time, scale="utc")
    return np.atleast_1d(np.asarray(t.utc.mjd, dtype=float))


def _bounds_mjd() -> tuple[np.ndarray, np.ndarray]:
    from astropy.time import Time

    starts = Time([p.start for p in PHASES.values()], scale="utc").mjd
    stops = Time([p.stop for p in PHASES.values()], scale="utc").mjd + 1.0  # stop day inclusive
    return np.asarray(starts), np.asarray(stops)


def phases_at(times) -> np.ndarray:
    """The phase name of each time (array of str).

    Parameters
    ----------
    times : astropy.time.Time, str, datetime or a sequence of them (UTC)

    Raises
    ------
    ValueError
        If a time is outside the mission (before VM1 start or after VM5 stop).
    """
    mjd = _mjd(times)
    starts, stops = _bounds_mjd()
    idx = np.searchsorted(starts, mjd, side="right") - 1
    bad = (idx < 0) | (mjd >= stops[-1])
    if np.any(bad):
        raise ValueError(f"time outside the VENuS mission ({PHASES['VM1'].start} to "
                         f"{PHASES['VM5'].stop}): MJD {mjd[bad][0]:.3f}")
    return np.asarray(PHASE_NAMES, dtype=object)[idx].astype(str)


def phase_at(time) -> str:
    """The phase (``"VM1"``..``"VM5"``) in force at ``time`` (UTC; Time, ISO str or datetime)."""
    names = phases_at(time)
    if names.size != 1:
        raise ValueError("phase_at takes one time; use phases_at for several")
    return str(names[0])


def altitude_at(times) -> np.ndarray | float:
    """Orbit altitude, km, at ``times``: constant in VM1/VM3/VM5, linear in time in VM2/VM4."""
    from astropy.time import Time

    mjd = _mjd(times)
    names = phases_at(times)
    out = np.empty(mjd.shape)
    for i, (m, n) in enumerate(zip(mjd, names, strict=True)):
        p = PHASES[n]
        t0 = Time(p.start, scale="utc").mjd
        t1 = Time(p.stop, scale="utc").mjd + 1.0
        f = min(max((m - t0) / (t1 - t0), 0.0), 1.0)
        out[i] = p.altitude_start_km + f * (p.altitude_end_km - p.altitude_start_km)
    scalar = np.ndim(times) == 0 or (isinstance(times, Time) and times.isscalar)
    return float(out[0]) if scalar else out
