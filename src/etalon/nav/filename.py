"""Names of the raw NAV files: ``NAV_OM_9000385.bin_2005_185T03_38_58.000``.

=====================  =============================================================
part                   meaning
=====================  =============================================================
``NAV``                NAV data
``_O`` / ``_A``        OpNav / AutoNav
``M_`` / ``I_`` / ``H_``  instrument MRI / ITS / HRIV
``9000385``            exposure ID (image number within an exposure ID is always 1)
``.bin``               raw data
``_2005_185T03_38_58`` AMMOS ground-received time, ``YYYY_DOYTHH_MM_SS`` (UTC)
``.000``               uniqueness suffix
=====================  =============================================================
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import PurePath

from astropy.time import Time

from etalon.fileio import EtalonInputError
from etalon.nav.format import INSTRUMENT_LETTERS

__all__ = ["NAV_KINDS", "NavFileName", "NavFileNameError", "format_nav_filename",
           "parse_nav_filename"]

#: kind letter -> kind name
NAV_KINDS = {"O": "OpNav", "A": "AutoNav"}

_PATTERN = re.compile(
    r"^NAV_(?P<kind>[A-Z])(?P<letter>[A-Z])_(?P<expid>\d+)\.bin"
    r"_(?P<year>\d{4})_(?P<doy>\d{3})T(?P<hour>\d{2})_(?P<minute>\d{2})_(?P<second>\d{2})"
    r"\.(?P<suffix>[0-9A-Za-z]+)$"
)


class NavFileNameError(EtalonInputError):
    """A raw NAV file name does not follow ``NAV_<O|A><M|I|H>_<expid>.bin_<YYYY_DOYTHH_MM_SS>.<n>``."""


@dataclass(frozen=True)
class NavFileName:
    """The facts a raw NAV file name carries.

    Attributes
    ----------
    name : str
        The file name itself (no folder).
    kind : str
        ``"OpNav"`` or ``"AutoNav"``.
    kind_letter : str
        ``"O"`` or ``"A"``.
    instrument : str
        ``"NAVMRI"``, ``"NAVITS"`` or ``"NAVHRI"``.
    instrument_letter : str
        ``"M"``, ``"I"`` or ``"H"``.
    exposure_id : int
        Exposure ID.
    year, doy, hour, minute, second : int
        AMMOS ground-received time, UTC, as written in the name.
    received : astropy.time.Time
        The same time as a UTC :class:`~astropy.time.Time`.
    suffix : str
        Uniqueness suffix (e.g. ``"000"``).
    """

    name: str
    kind: str
    kind_letter: str
    instrument: str
    instrument_letter: str
    exposure_id: int
    year: int
    doy: int
    hour: int
    minute: int
    second: int
    received: Time
    suffix: str

    @property
    def file_id(self) -> str:
        """The part before ``.bin`` (e.g. ``NAV_OM_9000385``)."""
        return self.name.split(".bin", 1)[0]


def parse_nav_filename(name: str | os.PathLike[str]) -> NavFileName:
    """Parse a raw NAV file name (a folder part is ignored).

    Raises
    ------
    NavFileNameError
        Naming the file and what is wrong with the name.
    """
    base = PurePath(os.fspath(name)).name
    m = _PATTERN.match(base)
    if m is None:
        raise NavFileNameError(base, "not a raw NAV file name: expected "
                               "NAV_<O|A><M|I|H>_<exposure id>.bin_<YYYY>_<DOY>T<HH>_<MM>_<SS>.<suffix>"
                               ", e.g. NAV_OM_9000385.bin_2005_185T03_38_58.000")
    g = m.groupdict()
    if g["kind"] not in NAV_KINDS:
        raise NavFileNameError(base, f"kind letter {g['kind']!r} is neither O (OpNav) nor A (AutoNav)")
    if g["letter"] not in INSTRUMENT_LETTERS:
        raise NavFileNameError(base, f"instrument letter {g['letter']!r} is none of M (MRI), "
                               "I (ITS), H (HRIV)")
    year, doy, hour, minute, second = (int(g[k]) for k in ("year", "doy", "hour", "minute", "second"))
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= doy <= (366 if leap else 365):
        raise NavFileNameError(base, f"day of year {doy} does not exist in {year}")
    if hour > 23 or minute > 59 or second > 60:
        raise NavFileNameError(base, f"time {hour:02d}:{minute:02d}:{second:02d} is not a time of day")
    received = Time(f"{year:04d}:{doy:03d}:{hour:02d}:{minute:02d}:{second:02d}", format="yday",
                    scale="utc")
    return NavFileName(
        name=base, kind=NAV_KINDS[g["kind"]], kind_letter=g["kind"],
        instrument=INSTRUMENT_LETTERS[g["letter"]], instrument_letter=g["letter"],
        exposure_id=int(g["expid"]), year=year, doy=doy, hour=hour, minute=minute,
        second=second, received=received, suffix=g["suffix"],
    )


def format_nav_filename(kind: str, instrument: str, exposure_id: int, received: Time,
                        suffix: int | str = 0) -> str:
    """Build a raw NAV file name (the inverse of :func:`parse_nav_filename`).

    Parameters
    ----------
    kind : str
        ``"OpNav"``/``"O"`` or ``"AutoNav"``/``"A"``.
    instrument : str
        ``"NAVMRI"``, ``"NAVITS"``, ``"NAVHRI"`` (or the letter).
    exposure_id : int
        Exposure ID.
    received : astropy.time.Time
        Ground-received time (UTC, truncated to the second).
    suffix : int or str
        Uniqueness suffix (an int is written with 3 digits).
    """
    kind_letter = kind if kind in NAV_KINDS else {v: k for k, v in NAV_KINDS.items()}[kind]
    letters = {v: k for k, v in INSTRUMENT_LETTERS.items()}
    letter = instrument if instrument in INSTRUMENT_LETTERS else letters[instrument]
    yday = received.utc.yday  # 'YYYY:DOY:HH:MM:SS.sss'
    year, doy, hh, mm, ss = yday.split(":")
    suffix_text = f"{suffix:03d}" if isinstance(suffix, int) else str(suffix)
    return (f"NAV_{kind_letter}{letter}_{int(exposure_id)}.bin_{year}_{doy}T{hh}_{mm}_"
            f"{int(float(ss)):02d}.{suffix_text}")
