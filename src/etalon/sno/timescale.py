"""Times of the SNO chain: UTC seconds from J2000, ISO strings, UT1 and sidereal time.

Every time inside :mod:`etalon.sno` is a float64 number of **UTC seconds since
2000-01-01T12:00:00 UTC** counted with 86400 s per day (the POSIX convention: leap seconds
are not counted, none has occurred since 2017). Julian date UTC = 2451545 + t / 86400.
Float64 keeps better than 1 microsecond over a century.

Earth rotation uses UT1: UT1 - UTC comes from skyfield's bundled (builtin, offline) IERS
table; sidereal time is the IAU 1982 GMST that TEME coordinates are defined with.
"""

from __future__ import annotations

import datetime as _dt
import functools

import numpy as np

__all__ = [
    "DAY_S",
    "J2000_JD",
    "dut1_s",
    "gmst82_rad",
    "jd_utc",
    "parse_time",
    "skyfield_time",
    "to_iso",
]

#: seconds per day
DAY_S = 86400.0
#: Julian date of the time origin, 2000-01-01T12:00:00 UTC
J2000_JD = 2451545.0
_ORIGIN = np.datetime64("2000-01-01T12:00:00", "us")


def parse_time(value, what: str = "time") -> float:
    """UTC seconds since J2000 of an ISO string, datetime, numpy datetime64 or astropy Time.

    Parameters
    ----------
    value : str, datetime.datetime, datetime.date, numpy.datetime64, astropy.time.Time or float
        A UTC time (``"2024-12-01"``, ``"2024-12-01T10:30:00Z"``...); a float is taken as
        seconds since J2000 already.
    what : str
        Name used in the error message.

    Raises
    ------
    ValueError
        Naming ``what`` when the value is not a time.
    """
    if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool):
        return float(value)
    try:
        if hasattr(value, "utc") and hasattr(value, "jd1"):  # astropy Time
            return float((value.utc.jd1 - J2000_JD) * DAY_S + value.utc.jd2 * DAY_S)
        if isinstance(value, _dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
            d = np.datetime64(value, "us")
        elif isinstance(value, _dt.date):
            d = np.datetime64(value.isoformat(), "us")
        elif isinstance(value, np.datetime64):
            d = value.astype("datetime64[us]")
        else:
            s = str(value).strip()
            if s.endswith(("Z", "z")):
                s = s[:-1]
            if s.endswith("+00:00"):
                s = s[:-6]
            d = np.datetime64(s.replace(" ", "T"), "us")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what}: {value!r} is not an ISO UTC time ({exc})") from None
    if np.isnat(d):
        raise ValueError(f"{what}: {value!r} is not an ISO UTC time")
    return float((d - _ORIGIN) / np.timedelta64(1, "us")) * 1e-6


def to_iso(t, unit: str = "ms") -> np.ndarray | str:
    """ISO 8601 UTC strings (``2024-12-01T10:31:22.123``) of UTC seconds since J2000."""
    arr = np.asarray(t, float)
    us = np.round(arr * 1e6).astype("int64").astype("timedelta64[us]")
    out = np.datetime_as_string(_ORIGIN + us, unit=unit)
    return str(out) if arr.ndim == 0 else out


def jd_utc(t) -> tuple[float, np.ndarray]:
    """Split Julian date UTC ``(2451545.0, fraction)`` as sgp4's array API takes it."""
    return J2000_JD, np.asarray(t, float) / DAY_S


@functools.lru_cache(maxsize=1)
def _timescale():
    from skyfield.api import load

    return load.timescale(builtin=True)


def skyfield_time(t):
    """A skyfield ``Time`` (builtin timescale, offline) of UTC seconds since J2000."""
    x = np.asarray(t, float) + DAY_S / 2.0          # seconds since 2000-01-01T00:00 UTC
    days = np.floor(x / DAY_S)
    return _timescale().utc(2000, 1, 1 + days.astype(int), 0, 0, x - days * DAY_S)


def dut1_s(t) -> np.ndarray:
    """UT1 - UTC, s, at UTC seconds since J2000 (skyfield's builtin IERS table, offline).

    Sampled daily over the span of ``t`` and interpolated linearly (UT1 - UTC changes by
    less than 3 ms a day).
    """
    arr = np.asarray(t, float)
    if arr.size == 0:
        return np.zeros_like(arr)
    lo, hi = float(np.min(arr)), float(np.max(arr))
    grid = np.arange(np.floor(lo / DAY_S) - 1, np.ceil(hi / DAY_S) + 2) * DAY_S
    return np.interp(arr, grid, np.asarray(skyfield_time(grid).dut1, float))


def gmst82_rad(t, dut1: np.ndarray | float | None = None) -> np.ndarray:
    """Greenwich mean sidereal time (IAU 1982, the TEME convention), rad, in [0, 2 pi).

    Parameters
    ----------
    t : array_like
        UTC seconds since J2000.
    dut1 : array_like, optional
        UT1 - UTC, s (default from :func:`dut1_s`).
    """
    arr = np.asarray(t, float)
    d = dut1_s(arr) if dut1 is None else np.asarray(dut1, float)
    frac = (arr + d) / DAY_S                     # UT1 days since J2000 (jd whole part 2451545.0)
    c = frac / 36525.0
    g = 67310.54841 + (8640184.812866 + (0.093104 + (-6.2e-6) * c) * c) * c
    return (frac + g / DAY_S) % 1.0 * 2.0 * np.pi
