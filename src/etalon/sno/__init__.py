"""SNO for the operational chain (SAG): overpasses, coincidences, radiometric comparison.

Modules: :mod:`~etalon.sno.tle` (TLE reading, checksums, epoch age), :mod:`~etalon.sno.orbits`
(TLE and sun-synchronous mean-element orbits, VENuS phases), :mod:`~etalon.sno.timescale`
and :mod:`~etalon.sno.frames` (times, UT1, TEME to Earth-fixed, Sun, look angles),
:mod:`~etalon.sno.sites`, :mod:`~etalon.sno.overpass` (site passes),
:mod:`~etalon.sno.coincidence` (same-site coincidences, orbit crossings),
:mod:`~etalon.sno.radiometry` (SBAF-corrected reflectance ratios, per-band summary),
:mod:`~etalon.sno.config` (TOML), :mod:`~etalon.sno.chain` and :mod:`~etalon.sno.cli` (the
``etalon sno`` commands), :mod:`~etalon.sno.plots`. See ``docs/sno.md``.
"""
