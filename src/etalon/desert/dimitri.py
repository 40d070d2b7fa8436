"""Readers for the DIMITRI desert-site series (ESA/ARGANS DIMITRI 2.0).

A DIMITRI ``.sav`` file (IDL save, read with :func:`scipy.io.readsav`) holds one array
``data``, one row per acquisition (AATSR: one row per view, nadir then forward). Columns
(from DIMITRI's ``ingest_*_product.pro``):

====== ===============================================================================
0      decimal year (DIMITRI convention: ``year + doy / ndays + hours / (24 ndays)`` with
       ``doy`` = 1 on 1 January and ``ndays`` = 366 when ``year % 4 == 0``)
1-4    VZA, VAA, SZA, SAA (deg)
5-16   auxiliary mean / sigma pairs: ozone, pressure, relative humidity, zonal wind,
       meridional wind, water vapour (-999 = none)
17..   ROI-mean TOA reflectance of each band, then each band's ROI standard deviation
====== ===============================================================================

Invalid values: ``-999`` (DIMITRI's missing value) and non-positive reflectances (DIMITRI
writes 0 for a band that saturated over the bright site, e.g. the MODIS ocean bands) become
NaN. The AATSR thermal channels (3.7, 10.85, 12 um) hold brightness temperatures (K), not
reflectances; :attr:`DimitriSeries.reflective` says which bands are reflectances.

File names follow DIMITRI: ``dimitri_<SENSOR>_<VERSION>_<SITE>.sav`` (as bundled) or
``Site_<SITE>_<SENSOR>_Proc_<VERSION>.sav`` (DIMITRI's own output name).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from etalon.fileio import EtalonInputError, require_file

__all__ = [
    "AUX_NAMES",
    "KNOWN_SENSORS",
    "DimitriSeries",
    "band_centres",
    "decimal_year_to_time",
    "parse_dimitri_name",
    "read_csv_series",
    "read_rsr",
    "read_series",
    "read_site_spectrum",
    "series_from_array",
    "time_to_decimal_year",
]

log = logging.getLogger(__name__)

MISSING = -999.0
N_LEAD = 17
#: auxiliary quantities of columns 5-16 (each a mean and a sigma), in order
AUX_NAMES = ("ozone", "pressure", "relative_humidity", "zonal_wind", "meridional_wind",
             "water_vapour")
#: wavelength above which a band is thermal (a brightness temperature, not a reflectance), nm
THERMAL_NM = 3000.0


@functools.lru_cache(maxsize=1)
def _band_table() -> dict[str, np.ndarray]:
    from etalon.data import data_path

    path = data_path("desert", "dimitri_band_names.txt")
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    names = [n.strip() for n in lines[0].split(";")][1:]
    cols: dict[str, list[float]] = {n: [] for n in names}
    for ln in lines[1:]:
        vals = [v.strip() for v in ln.split(";")][1:]
        for n, v in zip(names, vals, strict=False):
            if v and float(v) > 0:
                cols[n].append(float(v))
    return {n: np.array(v) for n, v in cols.items()}


#: sensors whose bands DIMITRI's ``dimitri_band_names.txt`` lists
KNOWN_SENSORS: tuple[str, ...] = ("AATSR", "ATSR2", "MERIS", "MODISA", "PARASOL", "VEGETATION",
                                  "VIIRS")


def band_centres(sensor: str) -> np.ndarray:
    """Band centres of a DIMITRI sensor, nm, in the order of its series' columns.

    Raises
    ------
    KeyError
        For a sensor DIMITRI does not list.
    """
    table = _band_table()
    key = sensor.upper()
    if key not in table:
        raise KeyError(f"unknown DIMITRI sensor {sensor!r}; known: {', '.join(sorted(table))}")
    return table[key].copy()


def parse_dimitri_name(path: str | os.PathLike[str]) -> tuple[str | None, str | None, str | None]:
    """Sensor, processing version and site from a DIMITRI file name (None where not found).

    ``dimitri_MERIS_3rd_Reprocessing_Libya4.sav`` -> ``("MERIS", "3rd_Reprocessing", "Libya4")``;
    ``Site_Libya4_MODISA_Proc_Collection_5.sav`` -> ``("MODISA", "Collection_5", "Libya4")``.
    """
    stem = Path(path).stem
    sensors = "|".join(sorted(KNOWN_SENSORS, key=len, reverse=True))
    m = re.fullmatch(rf"dimitri_({sensors})_(.+)_([^_]+)", stem, flags=re.IGNORECASE)
    if m:
        return m.group(1).upper(), m.group(2), m.group(3)
    m = re.fullmatch(rf"Site_([^_]+)_({sensors})_Proc_(.+)", stem, flags=re.IGNORECASE)
    if m:
        return m.group(2).upper(), m.group(3), m.group(1)
    m = re.search(rf"(?:^|_)({sensors})(?:_|$)", stem, flags=re.IGNORECASE)
    return (m.group(1).upper() if m else None), None, None


def decimal_year_to_time(decimal_year: np.ndarray):
    """DIMITRI decimal years -> :class:`astropy.time.Time` (UTC).

    DIMITRI's convention (``ingest_*_product.pro``): ``year + doy / ndays + t / (24 ndays)``
    with ``doy`` counted from 1 on 1 January and ``ndays`` 366 in years divisible by 4.
    """
    import astropy.units as u
    from astropy.time import Time

    dy = np.atleast_1d(np.asarray(decimal_year, float))
    year = np.floor(dy).astype(int)
    ndays = np.where(year % 4 == 0, 366.0, 365.0)
    days = (dy - year) * ndays - 1.0  # days since 1 January 00:00
    jan1 = Time([f"{y:04d}-01-01T00:00:00" for y in year], scale="utc")
    return jan1 + days * u.day


def time_to_decimal_year(time) -> np.ndarray:
    """Inverse of :func:`decimal_year_to_time` (astropy Time -> DIMITRI decimal years)."""
    from astropy.time import Time

    t = Time(time, scale="utc")
    ymd = np.atleast_1d(t.utc.ymdhms)
    year = np.array([int(v["year"]) for v in ymd])
    jan1 = Time([f"{y:04d}-01-01T00:00:00" for y in year], scale="utc")
    days = np.atleast_1d((t - jan1).to_value("day"))
    ndays = np.where(year % 4 == 0, 366.0, 365.0)
    return year + (days + 1.0) / ndays


@dataclass(frozen=True)
class DimitriSeries:
    """A sensor's TOA reflectance series over a site.

    Attributes
    ----------
    sensor, version, site : str
        DIMITRI sensor (``MERIS``), processing version (``3rd_Reprocessing``), site (``Libya4``).
    decimal_year : numpy.ndarray, shape (n,)
        DIMITRI decimal year of each acquisition.
    time : astropy.time.Time, shape (n,)
        The same as UTC times.
    vza, vaa, sza, saa : numpy.ndarray, shape (n,)
        Viewing and solar zenith and azimuth angles, deg.
    rho, rho_std : numpy.ndarray, shape (n, nb)
        ROI-mean TOA reflectance (unitless; brightness temperature in K for thermal bands)
        and its ROI standard deviation; NaN where invalid.
    wavelength_nm : numpy.ndarray, shape (nb,)
        Band centres, nm (DIMITRI's ``dimitri_band_names.txt``).
    band_index : numpy.ndarray, shape (nb,)
        Band index as in the series (0-based; the ``RSR_<SENSOR>_BAND_<i>.txt`` index).
    view : numpy.ndarray of str, shape (n,)
        ``"nadir"``, or ``"forward"`` for the AATSR forward-view rows.
    aux : dict
        Auxiliary means (``ozone``, ``pressure``, ...), NaN where DIMITRI has none.
    path : str
        The file read.
    """

    sensor: str
    version: str
    site: str
    decimal_year: np.ndarray
    time: object
    vza: np.ndarray
    vaa: np.ndarray
    sza: np.ndarray
    saa: np.ndarray
    rho: np.ndarray
    rho_std: np.ndarray
    wavelength_nm: np.ndarray
    band_index: np.ndarray
    view: np.ndarray = field(default_factory=lambda: np.array([], dtype="<U7"))
    aux: dict = field(default_factory=dict)
    path: str = ""

    @property
    def n(self) -> int:
        """Number of acquisitions (rows)."""
        return int(self.decimal_year.size)

    @property
    def reflective(self) -> np.ndarray:
        """Bool per band: True for reflective bands (centre below 3000 nm)."""
        return self.wavelength_nm < THERMAL_NM

    @property
    def raa(self) -> np.ndarray:
        """Relative azimuth |VAA - SAA| folded to 0-180 deg."""
        d = np.abs((self.vaa - self.saa) % 360.0)
        return np.where(d > 180.0, 360.0 - d, d)

    def select(self, rows: np.ndarray) -> DimitriSeries:
        """The series restricted to ``rows`` (bool mask or indices)."""
        rows = np.asarray(rows)
        return DimitriSeries(self.sensor, self.version, self.site, self.decimal_year[rows],
                             self.time[rows], self.vza[rows], self.vaa[rows], self.sza[rows],
                             self.saa[rows], self.rho[rows], self.rho_std[rows],
                             self.wavelength_nm, self.band_index, self.view[rows],
                             {k: v[rows] for k, v in self.aux.items()}, self.path)


def _views(sensor: str, decimal_year: np.ndarray, vza: np.ndarray) -> np.ndarray:
    view = np.full(decimal_year.size, "nadir", dtype="<U7")
    if sensor in ("AATSR", "ATSR2"):
        # DIMITRI writes the NADIR then the FWARD row of each product (same time); the
        # forward view looks ~55 deg off nadir.
        view[vza > 40.0] = "forward"
    return view


def series_from_array(data: np.ndarray, sensor: str, version: str = "unknown",
                      site: str = "unknown", path: str | os.PathLike[str] | None = None,
                      on_missing_angles: str = "error") -> DimitriSeries:
    """Build a :class:`DimitriSeries` from a DIMITRI ``data`` array (rows = acquisitions).

    Parameters
    ----------
    data : numpy.ndarray, shape (n, 17 + 2 nb)
        The array of a DIMITRI ``.sav`` file.
    sensor : str
        DIMITRI sensor name (decides the number of bands and their centres).
    version, site : str
        Processing version and site, for the record.
    path : path-like, optional
        The file the array came from (named in errors).
    on_missing_angles : {"error", "drop"}
        What to do with rows whose angles are missing (-999, NaN or out of range): raise
        :class:`EtalonInputError` (default) or drop them with a warning.

    Raises
    ------
    EtalonInputError
        Wrong shape for the sensor, no rows, missing angles (with ``"error"``), unreadable
        times.
    """
    try:
        wl = band_centres(sensor)
    except KeyError as exc:
        raise EtalonInputError(path, str(exc.args[0])) from None
    arr = np.asarray(data)
    if arr.dtype.kind not in "fiu" or arr.ndim != 2:
        raise EtalonInputError(path, f"DIMITRI 'data' must be a 2-D numeric array, got "
                                     f"{arr.dtype} with shape {arr.shape}")
    arr = arr.astype(float)
    nb = wl.size
    if arr.shape[1] != N_LEAD + 2 * nb:
        raise EtalonInputError(path, f"{arr.shape[1]} columns, a DIMITRI {sensor} series has "
                                     f"{N_LEAD + 2 * nb} (17 + 2 x {nb} bands)")
    if arr.shape[0] == 0:
        raise EtalonInputError(path, "the series has no acquisition")
    dy = arr[:, 0]
    if not np.all(np.isfinite(dy) & (dy > 1950) & (dy < 2100)):
        raise EtalonInputError(path, "decimal years missing or outside 1950-2100 (column 0)")
    ang = arr[:, 1:5]
    zen_ok = np.isfinite(ang[:, [0, 2]]) & (ang[:, [0, 2]] >= 0) & (ang[:, [0, 2]] <= 90)
    azi_ok = np.isfinite(ang[:, [1, 3]]) & (np.abs(ang[:, [1, 3]]) <= 360)
    ok = zen_ok.all(axis=1) & azi_ok.all(axis=1)
    if not ok.all():
        bad = int((~ok).sum())
        if on_missing_angles == "drop" and ok.any():
            warnings.warn(f"{path}: {bad} of {ok.size} rows without valid angles dropped",
                          stacklevel=2)
            arr, dy, ang = arr[ok], dy[ok], ang[ok]
        else:
            raise EtalonInputError(path, f"{bad} of {ok.size} acquisitions have missing or "
                                         "out-of-range angles (VZA, VAA, SZA, SAA, columns 1-4)")
    rho = arr[:, N_LEAD:N_LEAD + nb].copy()
    std = arr[:, N_LEAD + nb:].copy()
    refl = wl < THERMAL_NM
    bad_rho = ~np.isfinite(rho) | (rho == MISSING) | (refl[None, :] & (rho <= 0)) | (rho > 1e4)
    rho[bad_rho] = np.nan
    std[~np.isfinite(std) | (std < 0) | bad_rho] = np.nan
    aux = {}
    for i, name in enumerate(AUX_NAMES):
        v = arr[:, 5 + 2 * i].copy()
        v[v == MISSING] = np.nan
        aux[name] = v
    return DimitriSeries(
        sensor=sensor.upper(), version=version, site=site, decimal_year=dy,
        time=decimal_year_to_time(dy), vza=ang[:, 0].copy(), vaa=ang[:, 1].copy(),
        sza=ang[:, 2].copy(), saa=ang[:, 3].copy(), rho=rho, rho_std=std, wavelength_nm=wl,
        band_index=np.arange(nb), view=_views(sensor.upper(), dy, ang[:, 0]), aux=aux,
        path="" if path is None else str(path))


def _check_record_chain(p: Path) -> None:
    """Walk the IDL save records (signature, then rectype / next-record offsets) before scipy.

    :func:`scipy.io.readsav` follows each record's next-record offset without checking it,
    so a damaged offset pointing backwards would loop forever; refuse such a file instead.
    """
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(4)
        if len(head) < 4 or head[:2] != b"SR" or head[2:] not in (b"\x00\x04", b"\x00\x06"):
            raise EtalonInputError(p, "not an IDL save file (no 'SR' signature)")
        pos = 4
        for _ in range(100_000):
            f.seek(pos)
            rec = f.read(12)
            if len(rec) < 12:
                raise EtalonInputError(p, f"IDL save file truncated at byte {pos}")
            rectype = int.from_bytes(rec[0:4], "big", signed=True)
            nextrec = int.from_bytes(rec[4:8], "big") + (int.from_bytes(rec[8:12], "big") << 32)
            if rectype == 6:  # END_MARKER
                return
            if not (pos + 16 <= nextrec <= size):
                raise EtalonInputError(p, f"damaged IDL save file: record at byte {pos} points to "
                                          f"byte {nextrec} (file has {size})")
            pos = nextrec
    raise EtalonInputError(p, "damaged IDL save file: no end marker")


def read_series(path: str | os.PathLike[str], sensor: str | None = None,
                on_missing_angles: str = "error") -> DimitriSeries:
    """Read a DIMITRI ``.sav`` series.

    Parameters
    ----------
    path : path-like
        ``dimitri_<SENSOR>_<VERSION>_<SITE>.sav`` (or DIMITRI's ``Site_<SITE>_<SENSOR>_Proc_<VERSION>.sav``).
    sensor : str, optional
        DIMITRI sensor name; by default from the file name.
    on_missing_angles : {"error", "drop"}
        See :func:`series_from_array`.

    Returns
    -------
    DimitriSeries

    Raises
    ------
    EtalonInputError
        Naming the file: not an IDL save file, no ``data`` array (a foreign ``.sav``), sensor
        neither given nor in the name, wrong number of columns, missing angles, no rows.
    """
    p = require_file(path, "DIMITRI series")
    name_sensor, version, site = parse_dimitri_name(p)
    sensor = (sensor or name_sensor)
    if sensor is None:
        raise EtalonInputError(p, "sensor not in the file name (dimitri_<SENSOR>_<VERSION>_<SITE>"
                                  ".sav): give it (--sensor / sensor=)")
    if version is None:
        log.warning("%s: processing version and site not in the file name: 'unknown'", p)
    from scipy.io import readsav

    _check_record_chain(p)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            content = readsav(str(p), verbose=False)
    except Exception as exc:  # scipy raises bare Exception, ValueError, struct errors...
        raise EtalonInputError(p, f"not a readable IDL save file ({type(exc).__name__}: {exc})") from None
    keys = {k.lower(): k for k in content}
    if "data" not in keys:
        found = ", ".join(sorted(content)) or "nothing"
        raise EtalonInputError(p, f"not a DIMITRI series: no 'data' array (holds {found})")
    return series_from_array(content[keys["data"]], sensor, version or "unknown", site or "unknown",
                             p, on_missing_angles)


def read_csv_series(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a DIMITRI CSV (``DATE;RHO1``): decimal years and the first band's TOA reflectance.

    Raises
    ------
    EtalonInputError
        Not a ``DATE;RHO...`` table, or no numeric row.
    """
    p = require_file(path, "DIMITRI CSV")
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise EtalonInputError(p, f"not a text file ({exc})") from None
    if not lines or not lines[0].strip().upper().startswith("DATE;RHO"):
        raise EtalonInputError(p, "not a DIMITRI CSV: first line should be 'DATE;RHO1'")
    rows = [ln for ln in lines[1:] if ln.strip()]
    if not rows:
        raise EtalonInputError(p, "DIMITRI CSV has no DATE;RHO row")
    try:
        arr = np.loadtxt(rows, delimiter=";", ndmin=2)
    except ValueError as exc:
        raise EtalonInputError(p, f"non-numeric row in DIMITRI CSV ({exc})") from None
    if arr.shape[0] == 0 or arr.shape[1] < 2:
        raise EtalonInputError(p, "DIMITRI CSV has no DATE;RHO row")
    rho = arr[:, 1].copy()
    rho[(rho == MISSING) | (rho <= 0)] = np.nan
    return arr[:, 0].copy(), rho


def read_rsr(sensor: str, band_index: int, folder: str | os.PathLike[str] | None = None):
    """Relative spectral response of a DIMITRI sensor band (``RSR_<SENSOR>_BAND_<i>.txt``).

    Returns
    -------
    etalon.spectral.responses.SpectralResponse
        Channel ``"<SENSOR>_<i>"``, wavelength in um.

    Raises
    ------
    EtalonInputError
        No response file for that band, or an unreadable one.
    """
    from etalon.data import DATA_DIR
    from etalon.spectral.responses import SpectralResponse

    base = Path(folder) if folder is not None else DATA_DIR / "desert" / "rsr"
    p = base / sensor.upper() / f"RSR_{sensor.upper()}_BAND_{int(band_index)}.txt"
    if not p.exists():
        raise EtalonInputError(p, f"no spectral response for {sensor} band {band_index}")
    try:
        arr = np.loadtxt(p, delimiter=";", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise EtalonInputError(p, f"not a 'Wavelength;Response' table ({exc})") from None
    ok = np.isfinite(arr[:, 0]) & np.isfinite(arr[:, 1])
    wl, r = arr[ok, 0], np.clip(arr[ok, 1], 0.0, None)
    order = np.argsort(wl)
    if wl.size < 2 or not np.any(r > 0):
        raise EtalonInputError(p, "spectral response has fewer than 2 usable samples")
    return SpectralResponse(f"{sensor.upper()}_{int(band_index)}", wl[order] / 1000.0, r[order])


def read_site_spectrum(path: str | os.PathLike[str] | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A site's hyperspectral TOA reflectance spectrum (DIMITRI ``TOA_<site>.txt``).

    Parameters
    ----------
    path : path-like, optional
        Default: the bundled Libya-4 spectrum (350-2500 nm, 1 nm).

    Returns
    -------
    wavelength_nm, reflectance, sigma : numpy.ndarray
    """
    from etalon.data import data_path

    p = require_file(path or data_path("desert", "dimitri_TOA_Libya4_spectrum.txt"), "site spectrum")
    try:
        arr = np.loadtxt(p, delimiter=";", skiprows=1, ndmin=2)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EtalonInputError(p, f"not a 'Wavelength;Reflectance;Sigma' table ({exc})") from None
    if arr.shape[1] < 3 or arr.shape[0] < 2:
        raise EtalonInputError(p, "site spectrum needs wavelength, reflectance and sigma columns")
    return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()
