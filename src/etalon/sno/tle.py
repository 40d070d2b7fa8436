"""Two-line element sets: reading with checksum verification, epoch-age checks.

A TLE file holds satellites as an optional name line (``SENTINEL-2A`` or ``0 SENTINEL-2A``)
followed by lines ``1 ...`` and ``2 ...`` of 69 characters. Every element line is checked:
its length, its line number, the modulo-10 checksum of column 69 (digits count their value,
``-`` counts 1), the same catalogue number on both lines, and that SGP4 can parse it. Any
failure raises :class:`~etalon.fileio.EtalonInputError` naming the file and the line.

SGP4 positions from a TLE degrade with the distance in time from its epoch (km per day for a
low orbit): :func:`check_age` warns beyond ``warn_days`` (7 by default) and refuses beyond
``max_days`` (180 by default: such a prediction is off by minutes, not seconds).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from etalon.fileio import EtalonInputError, require_file
from etalon.sno.timescale import DAY_S, J2000_JD, to_iso

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "DEFAULT_WARN_AGE_DAYS",
    "TLE",
    "TleAgeError",
    "check_age",
    "checksum",
    "parse_tle_lines",
    "read_tle",
]

log = logging.getLogger(__name__)

DEFAULT_WARN_AGE_DAYS = 7.0
DEFAULT_MAX_AGE_DAYS = 180.0


class TleAgeError(EtalonInputError):
    """The TLE epoch is too far from the time window to predict it."""


@dataclass(frozen=True)
class TLE:
    """One satellite's element set.

    Attributes
    ----------
    name : str
        Name line (without a leading ``0 ``), or ``NORAD <number>`` when absent.
    line1, line2 : str
        The two element lines (69 characters).
    norad : int
        Catalogue number.
    epoch : float
        Epoch, UTC seconds since J2000.
    source : str
        ``file:line`` of line 1.
    """

    name: str
    line1: str
    line2: str
    norad: int
    epoch: float
    source: str

    @property
    def epoch_iso(self) -> str:
        """Epoch as an ISO UTC string."""
        return str(to_iso(self.epoch))

    def satrec(self):
        """The :class:`sgp4.api.Satrec` of this element set."""
        from sgp4.api import Satrec

        return Satrec.twoline2rv(self.line1, self.line2)


def checksum(line: str) -> int:
    """Modulo-10 checksum of the first 68 characters of an element line."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def _check_line(path: str, lineno: int, line: str, number: str) -> None:
    if len(line) != 69:
        raise EtalonInputError(path, f"line {lineno}: TLE line {number} has {len(line)} "
                               "characters, expected 69")
    if not line.startswith(f"{number} "):
        raise EtalonInputError(path, f"line {lineno}: expected TLE line {number}, got {line[:10]!r}")
    if not line[68].isdigit():
        raise EtalonInputError(path, f"line {lineno}: TLE line {number} has no checksum digit "
                               f"in column 69 ({line[68]!r})")
    if checksum(line) != int(line[68]):
        raise EtalonInputError(path, f"line {lineno}: bad checksum (column 69 says {line[68]}, "
                               f"the line sums to {checksum(line)})")


def parse_tle_lines(lines: list[str], path: str = "<tle>") -> list[TLE]:
    """Parse TLE text lines (name lines optional); ``path`` names the source in errors.

    Raises
    ------
    EtalonInputError
        Naming ``path`` and the line number for any malformed line.
    """
    from sgp4.api import Satrec

    out: list[TLE] = []
    name: str | None = None
    i = 0
    stripped = [ln.rstrip("\r\n").rstrip() for ln in lines]
    while i < len(stripped):
        ln = stripped[i]
        if not ln.strip():
            i += 1
            continue
        if ln.startswith("1 ") and len(ln) >= 60:
            if i + 1 >= len(stripped):
                raise EtalonInputError(path, f"line {i + 1}: TLE line 1 without a line 2")
            l1, l2 = ln, stripped[i + 1]
            _check_line(path, i + 1, l1, "1")
            _check_line(path, i + 2, l2, "2")
            if l1[2:7] != l2[2:7]:
                raise EtalonInputError(path, f"lines {i + 1}-{i + 2}: catalogue numbers differ "
                                       f"({l1[2:7]!r} and {l2[2:7]!r})")
            try:
                sat = Satrec.twoline2rv(l1, l2)
            except (ValueError, IndexError) as exc:
                raise EtalonInputError(path, f"lines {i + 1}-{i + 2}: not a valid TLE ({exc})") from None
            if not (0.0 < sat.no_kozai < 0.2) or not (0.0 <= sat.ecco < 1.0):
                raise EtalonInputError(path, f"lines {i + 1}-{i + 2}: elements out of range "
                                       f"(mean motion {sat.no_kozai} rad/min, eccentricity {sat.ecco})")
            epoch = (sat.jdsatepoch - J2000_JD) * DAY_S + sat.jdsatepochF * DAY_S
            norad = int(sat.satnum)
            out.append(TLE(name or f"NORAD {norad}", l1, l2, norad, float(epoch), f"{path}:{i + 1}"))
            name = None
            i += 2
            continue
        if ln.startswith(("1 ", "2 ")) and len(ln) > 20 and ln[2:7].strip().isdigit():
            raise EtalonInputError(path, f"line {i + 1}: TLE line {ln[0]} out of place or truncated "
                                   f"({len(ln)} characters)")
        if name is not None:
            raise EtalonInputError(path, f"line {i + 1}: two name lines in a row ({name!r}, "
                                   f"{ln.strip()!r}): a corrupt or truncated TLE")
        name = ln[2:].strip() if ln.startswith("0 ") else ln.strip()
        if len(name) > 40:
            raise EtalonInputError(path, f"line {i + 1}: not a TLE name or element line: {ln[:30]!r}...")
        i += 1
    if name is not None:
        raise EtalonInputError(path, f"name line {name!r} without element lines")
    if not out:
        raise EtalonInputError(path, "no TLE in the file")
    return out


def read_tle(path: str | os.PathLike[str]) -> list[TLE]:
    """Read every element set of a TLE file, checking each line (see :func:`parse_tle_lines`)."""
    p = require_file(path, "TLE file")
    try:
        text = Path(p).read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise EtalonInputError(p, f"not an ASCII TLE file ({exc.reason} at byte {exc.start})") from None
    return parse_tle_lines(text.splitlines(), str(p))


def check_age(tle: TLE, start: float, end: float, warn_days: float = DEFAULT_WARN_AGE_DAYS,
              max_days: float = DEFAULT_MAX_AGE_DAYS) -> float:
    """Largest distance, days, between the TLE epoch and the window [start, end]; warn or refuse.

    Parameters
    ----------
    tle : TLE
    start, end : float
        Window, UTC seconds since J2000.
    warn_days, max_days : float
        Warn beyond ``warn_days``; raise beyond ``max_days``.

    Raises
    ------
    TleAgeError
        Naming the TLE's file and line, when the window is more than ``max_days`` from the epoch.
    """
    age = max(abs(start - tle.epoch), abs(end - tle.epoch)) / DAY_S
    path, _, line = tle.source.rpartition(":")
    if age > max_days:
        raise TleAgeError(path, f"line {line}: TLE of {tle.name} (epoch {tle.epoch_iso}) is "
                          f"{age:.0f} days from the window {to_iso(start, 's')} - {to_iso(end, 's')}, "
                          f"more than the {max_days:g} days allowed: use a recent TLE")
    if age > warn_days:
        log.warning("%s: TLE of %s (epoch %s) is up to %.1f days from the window: SGP4 "
                    "errors grow by about 1-3 km a day", tle.source, tle.name, tle.epoch_iso, age)
    return age
