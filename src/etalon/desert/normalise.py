"""The normalised-series table (``etalon desert normalise``): one row per acquisition and band.

Columns (the external contract): ``time`` (ISO UTC), ``sensor``, ``band`` (index as in the
series), ``wavelength`` (nm), ``sza``, ``vza``, ``raa`` (deg), ``rho`` (TOA reflectance),
``rho_norm`` (normalised to SZA 30, VZA 0), ``rho_norm_unc``, ``outlier`` (bool); and, beyond
the contract, ``version``, ``site``, ``view``, ``decimal_year``, ``rho_std``. Thermal bands
(brightness temperatures) are left out; bands that could not be fitted (saturated, absorption
bands) keep their rows with ``rho_norm`` NaN and ``outlier`` True, the reason in the table's
``meta['bands']``.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from etalon.desert.brdf import NormalisedSeries, normalise_series

__all__ = ["normalise_file", "normalised_table", "read_normalised_table", "write_table"]

log = logging.getLogger(__name__)


def normalised_table(ns: NormalisedSeries):
    """Flatten a :class:`NormalisedSeries` into the contract table (astropy Table).

    The per-band fit (coefficients, covariance, reference reflectance, residual rms, raw and
    normalised relative rms, seasonal cycle) goes to ``meta['bands'][<index>]``.
    """
    from astropy.table import Table

    s = ns.series
    bands = [int(b) for b in s.band_index if s.reflective[b]]
    n = s.n
    nb = len(bands)
    rows = np.repeat(np.arange(n), nb)
    cols = np.tile(np.array(bands), n)
    t = Table()
    t["time"] = np.repeat(np.asarray(s.time.utc.isot), nb)
    t["sensor"] = np.full(rows.size, s.sensor)
    t["version"] = np.full(rows.size, s.version)
    t["site"] = np.full(rows.size, s.site)
    t["view"] = s.view[rows]
    t["decimal_year"] = s.decimal_year[rows]
    t["band"] = cols
    t["wavelength"] = s.wavelength_nm[cols]
    t["wavelength"].unit = "nm"
    for name in ("sza", "vza"):
        t[name] = getattr(s, name)[rows]
        t[name].unit = "deg"
    t["raa"] = s.raa[rows]
    t["raa"].unit = "deg"
    t["rho"] = s.rho[rows, cols]
    t["rho_std"] = s.rho_std[rows, cols]
    t["rho_norm"] = ns.rho_norm[rows, cols]
    t["rho_norm_unc"] = ns.rho_norm_unc[rows, cols]
    t["outlier"] = ns.outlier[rows, cols] | ~np.isfinite(ns.rho_norm[rows, cols])
    meta = {}
    for b in bands:
        if b in ns.fits:
            f = ns.fits[b]
            sc = ns.seasonal.get(b)
            meta[b] = {
                "wavelength_nm": float(s.wavelength_nm[b]),
                "f_iso": float(f.coef[0]), "f_vol": float(f.coef[1]), "f_geo": float(f.coef[2]),
                "cov": [[float(v) for v in row] for row in f.cov],
                "rho_ref": f.rho_ref, "rho_ref_unc": f.rho_ref_unc,
                "residual_rms": f.residual_rms, "n_used": f.n_used,
                "raw_rms": ns.raw_rms.get(b), "norm_rms": ns.norm_rms.get(b),
                "seasonal_amplitude": None if sc is None else sc.amplitude,
                "seasonal_amplitude_unc": None if sc is None else sc.amplitude_unc,
                "seasonal_peak_doy": None if sc is None else sc.peak_doy,
                "trend_per_year": None if sc is None else sc.trend_per_year,
                "trend_unc": None if sc is None else sc.trend_unc,
            }
        else:
            meta[b] = {"wavelength_nm": float(s.wavelength_nm[b]),
                       "skipped": ns.skipped.get(b, "not fitted")}
    t.meta["bands"] = {f"{s.sensor}:{s.version}:{b}": v for b, v in meta.items()}
    t.meta["reference_geometry"] = {"sza": ns.ref[0], "vza": ns.ref[1], "raa": ns.ref[2]}
    t.meta["brdf_model"] = "Ross-thick + Li-sparse-reciprocal (h/b=2, b/r=1), WLS per band"
    return t


def normalise_file(path: str | os.PathLike[str], sensor: str | None = None, **kwargs):
    """Read a DIMITRI series, normalise it and return its table (see :func:`normalised_table`).

    Parameters
    ----------
    path : path-like
        A DIMITRI ``.sav`` file.
    sensor : str, optional
        DIMITRI sensor name (default from the file name).
    **kwargs
        Passed to :func:`etalon.desert.brdf.normalise_series`.

    Raises
    ------
    EtalonInputError
        Naming the file: unreadable series, or too few clear acquisitions to fit any band
        (an all-cloudy series, a single acquisition).
    """
    from etalon.desert.brdf import InsufficientDataError
    from etalon.desert.dimitri import read_series
    from etalon.fileio import EtalonInputError

    series = read_series(path, sensor)
    try:
        ns = normalise_series(series, **kwargs)
    except InsufficientDataError as exc:
        raise EtalonInputError(path, f"{series.n} acquisition(s): {exc}") from None
    for b, why in sorted(ns.skipped.items()):
        if series.reflective[b]:
            log.warning("band %d (%g nm) not normalised: %s", b, series.wavelength_nm[b], why)
    return normalised_table(ns)


def write_table(table, path: str | os.PathLike[str], inputs=(), parameters=None,
                step: str = "desert normalise") -> None:
    """Write a table as ECSV atomically, with provenance (``step``, inputs, parameters) in its meta."""
    from etalon.fileio import atomic_output
    from etalon.provenance import table_provenance

    table.meta.update(table_provenance(step, inputs, parameters))
    with atomic_output(path) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)


def read_normalised_table(path: str | os.PathLike[str]):
    """Read a table written by ``etalon desert normalise`` (checks the contract columns).

    Raises
    ------
    EtalonInputError
        Not an ECSV table, or a contract column missing.
    """
    from astropy.table import Table

    from etalon.fileio import EtalonInputError, require_file

    p = require_file(path, "normalised table")
    try:
        t = Table.read(p, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many types for a bad ECSV
        raise EtalonInputError(p, f"not an ECSV table ({type(exc).__name__}: {exc})") from None
    need = ("time", "sensor", "band", "wavelength", "sza", "vza", "raa", "rho", "rho_norm",
            "rho_norm_unc", "outlier")
    missing = [c for c in need if c not in t.colnames]
    if missing:
        raise EtalonInputError(p, f"not a normalised desert table: no column {', '.join(missing)}")
    return t
