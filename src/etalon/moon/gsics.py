"""GSICS lunar observation files (CF netCDF-4): read every variable, write GSICS-style results.

The real files (Meteosat-10 SEVIRI, EUMETSAT) hold, per channel ``chan``:
``channel_name``, ``irr_obs`` (W m-2 um-1), ``pix_solid_ang`` (sr),
``ovrsamp_fa``, ``dc_obs``, ``dc_obs_offset``, ``moon_pix_num``,
``moon_pix_thld``, and the imagettes ``dc_obs_imgt`` / ``rad_obs_imgt``
(row, col, chan); plus ``date`` (s since 1970, UTC), ``sat_pos`` (km) and
``sat_pos_ref`` (frame name, e.g. ITRF93). Fill values (``_FillValue``, -999)
are honoured: they become masked pixels, NaN, or ``None``; a channel whose
values are all fill (HRVIS in the SEVIRI files) is kept with ``present=False``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.time import Time

from etalon.fileio import EtalonInputError, atomic_output, require_file

__all__ = [
    "GsicsChannel",
    "GsicsLunarObservation",
    "read_gsics_lunar",
    "write_gsics_lunar",
]

_PER_CHANNEL = ("irr_obs", "pix_solid_ang", "ovrsamp_fa", "dc_obs", "dc_obs_offset",
                "moon_pix_num", "moon_pix_thld")
#: per-channel variables read when present (etalon extensions: gain e-/DN, read noise e-,
#: relative 1-sigma of pix_solid_ang, 1-sigma of ovrsamp_fa)
_OPTIONAL_PER_CHANNEL = ("gain", "read_noise", "pix_solid_ang_unc", "ovrsamp_fa_unc")
_REQUIRED = ("channel_name", "date", "sat_pos", "sat_pos_ref", "dc_obs_imgt", "rad_obs_imgt",
             "pix_solid_ang", "ovrsamp_fa")


@dataclass
class GsicsChannel:
    """One channel (record) of a GSICS lunar observation.

    Attributes
    ----------
    name : str
        Channel name.
    present : bool
        False when the file carries only fill values for it.
    values : dict
        The per-channel scalars (``irr_obs``, ``dc_obs``...) with ``None`` for fill.
    dc_imagette : numpy.ma.MaskedArray
        Counts (rows, cols), fill masked.
    rad_imagette : numpy.ma.MaskedArray
        Radiance W m-2 sr-1 um-1 (rows, cols), fill masked.
    """

    name: str
    present: bool
    values: dict[str, Any]
    dc_imagette: np.ma.MaskedArray = field(repr=False)
    rad_imagette: np.ma.MaskedArray = field(repr=False)

    def __getattr__(self, item: str) -> Any:
        values = self.__dict__.get("values", {})
        if item in values:
            return values[item]
        raise AttributeError(item)


@dataclass
class GsicsLunarObservation:
    """A GSICS lunar observation file in memory.

    Attributes
    ----------
    path : pathlib.Path or None
    time : astropy.time.Time
        Observation time (UTC).
    sat_pos_km : numpy.ndarray
        Satellite position, km.
    sat_pos_ref : str
        Its frame (``"ITRF93"`` in the SEVIRI files).
    channels : list of GsicsChannel
    attributes : dict
        Global attributes.
    variables : dict
        Every variable of the file (masked arrays; strings decoded).
    """

    path: Path | None
    time: Time
    sat_pos_km: np.ndarray
    sat_pos_ref: str
    channels: list[GsicsChannel]
    attributes: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict, repr=False)

    def channel(self, name: str) -> GsicsChannel:
        """The channel called ``name``."""
        for ch in self.channels:
            if ch.name == name:
                return ch
        raise KeyError(f"{self.path}: no channel {name!r} (have {[c.name for c in self.channels]})")

    @property
    def frame(self) -> str:
        """``"ITRF"`` or ``"J2000"``, from ``sat_pos_ref`` (unknown names are refused on reading)."""
        return _frame_of(self.sat_pos_ref) or "J2000"


def _scalar(v: Any) -> Any:
    if v is np.ma.masked:
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def read_gsics_lunar(path: str | os.PathLike[str],
                     channels: Sequence[str] | None = None) -> GsicsLunarObservation:
    """Read a GSICS lunar observation netCDF file, all variables, fill values honoured.

    Parameters
    ----------
    path : path-like
    channels : sequence of str, optional
        Read only these channels (their imagettes and per-channel values, in the file's
        order; ``[]`` reads the time, position and attributes alone). Unknown names are
        ignored. Default: every channel.

    Raises
    ------
    EtalonInputError
        Naming the file, when it is not netCDF or lacks a required variable.
    """
    import netCDF4

    p = require_file(path, "GSICS lunar observation file")
    try:
        ds = netCDF4.Dataset(p)
    except OSError as exc:
        raise EtalonInputError(p, f"not a netCDF file ({exc})") from exc
    try:
        missing = [v for v in _REQUIRED if v not in ds.variables]
        if missing:
            raise EtalonInputError(p, f"not a GSICS lunar observation file: missing {missing}")
        ds.set_auto_chartostring(False)
        keep = None
        if channels is not None:
            all_names = [str(n) for n in np.atleast_1d(np.char.strip(np.asarray(
                netCDF4.chartostring(np.ma.filled(ds["channel_name"][:], b""))).astype(str)))]
            wanted = {str(c) for c in channels}
            keep = [i for i, n in enumerate(all_names) if n in wanted]
        n_chan = len(ds.dimensions["chan"]) if "chan" in ds.dimensions else None
        variables: dict[str, Any] = {}
        for name, var in ds.variables.items():
            dims = var.dimensions
            if keep is not None and "chan" in dims and n_chan is not None:
                index = tuple(keep if d == "chan" else slice(None) for d in dims)
                data = var[index] if keep else var[tuple(slice(0, 0) if d == "chan" else slice(None)
                                                          for d in dims)]
            else:
                data = var[:]
            if var.dtype == "S1" or (hasattr(data, "dtype") and data.dtype.kind == "S"):
                data = netCDF4.chartostring(np.ma.filled(data, b""))
                data = np.char.strip(np.asarray(data).astype(str))
            variables[name] = data
        try:
            attributes = {k: ds.getncattr(k) for k in ds.ncattrs()}
        except Exception as exc:  # netCDF4 raises many types on a damaged attribute table
            raise EtalonInputError(p, f"damaged global attributes ({type(exc).__name__}: {exc})") from exc
    except (KeyError, IndexError, ValueError, RuntimeError) as exc:
        raise EtalonInputError(p, f"cannot read GSICS lunar file ({exc})") from exc
    finally:
        try:
            ds.close()
        except RuntimeError:     # netCDF4 raises "NetCDF: HDF error" closing some damaged files
            pass
    return _observation_from_variables(p, variables, attributes)


def _observation_from_variables(p: Path | None, variables: dict[str, Any],
                                attributes: dict[str, Any]) -> GsicsLunarObservation:
    names = [str(n) for n in np.atleast_1d(variables["channel_name"])]
    date = np.ma.filled(np.atleast_1d(variables["date"]).astype(float), np.nan)[0]
    if not np.isfinite(date):
        raise EtalonInputError(p, "observation date is missing (fill value)")
    time = Time(date, format="unix", scale="utc")
    sat_pos = np.ma.filled(np.asarray(variables["sat_pos"], dtype=float), np.nan)
    dc = np.ma.asarray(variables["dc_obs_imgt"])
    rad = np.ma.asarray(variables["rad_obs_imgt"])
    if dc.ndim != 3 or dc.shape[2] != len(names) or rad.shape != dc.shape:
        raise EtalonInputError(p, f"imagettes must be (row, col, {len(names)}), got {dc.shape}")
    channels = []
    for i, name in enumerate(names):
        values = {}
        for key in _PER_CHANNEL + _OPTIONAL_PER_CHANNEL:
            if key in variables and np.ma.asarray(variables[key]).shape == (len(names),):
                values[key] = _scalar(np.ma.asarray(variables[key])[i])
        dci, radi = dc[:, :, i], rad[:, :, i]
        present = bool(np.ma.count(dci) > 0) and values.get("pix_solid_ang") is not None
        channels.append(GsicsChannel(name, present, values, dci, radi))
    ref = str(np.asarray(variables["sat_pos_ref"])).strip()
    if _frame_of(ref) is None:
        raise EtalonInputError(p, f"sat_pos_ref {ref!r} is not a known frame (use one of "
                                  f"{', '.join(_FRAMES_ITRF + _FRAMES_INERTIAL)})")
    if sat_pos.shape != (3,) or not np.all(np.isfinite(sat_pos)):
        raise EtalonInputError(p, f"sat_pos must be 3 finite values in km, got {sat_pos}")
    r = float(np.linalg.norm(sat_pos))
    if r < 6000.0:
        raise EtalonInputError(p, f"sat_pos is {r:.1f} km from the Earth's centre: not an observer "
                                  "position (km, geocentric)")
    return GsicsLunarObservation(p, time, sat_pos, ref, channels, attributes, variables)


#: sat_pos_ref values read as Earth-fixed (ITRF) or inertial (J2000/GCRS axes)
_FRAMES_ITRF = ("ITRF", "ITRF93", "ITRF2000", "ITRF2008", "ITRF2014", "ITRF2020", "ITRS", "ECEF")
_FRAMES_INERTIAL = ("J2000", "EME2000", "GCRF", "GCRS", "ICRF")


def _frame_of(ref: str) -> str | None:
    """``"ITRF"``, ``"J2000"`` or None (unknown) for a ``sat_pos_ref`` value."""
    r = ref.strip().upper()
    if r in _FRAMES_ITRF:
        return "ITRF"
    if r in _FRAMES_INERTIAL:
        return "J2000"
    return None


def write_gsics_lunar(path: str | os.PathLike[str], observation: GsicsLunarObservation,
                      results: dict[str, dict[str, float]] | None = None,
                      history: str = "", parameters: dict[str, Any] | None = None) -> Path:
    """Write a GSICS-style lunar observation file (atomically).

    The layout is the operators' (dimensions ``chan``, ``row``, ``col``,
    fill value -999); ``results`` adds per-channel variables
    (e.g. ``{"VIS006": {"irr_obs": ..., "irr_model": ...}}``) named by their keys.
    Provenance goes into global attributes: ``etalon_version``, ``etalon_step``,
    ``etalon_inputs`` (the source file), ``etalon_parameters`` and ``history``.
    """
    import netCDF4

    from etalon.provenance import table_provenance

    fill = -999
    names = [c.name for c in observation.channels]
    strlen = max(6, max(len(n) for n in names))
    rows, cols = observation.channels[0].dc_imagette.shape
    out = Path(path)
    with atomic_output(out) as tmp:
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
            attrs = dict(observation.attributes)
            attrs.setdefault("Conventions", "CF-1.6")
            attrs.setdefault("project", "Global Space-based Inter-Calibration System <http://gsics.wmo.int>")
            attrs.setdefault("title", "lunar observation file")
            attrs["history"] = (str(attrs.get("history", "")) + "\n" + history).strip()
            attrs["id"] = out.name
            prov = table_provenance("moon gsics write",
                                    [observation.path] if observation.path else [], parameters)
            attrs.update(etalon_version=prov["etalon_version"], etalon_step=prov["etalon_step"],
                         etalon_created_utc=prov["created_utc"],
                         etalon_inputs=", ".join(prov["inputs"]),
                         etalon_parameters=repr(prov["parameters"]))
            ds.setncatts({k: (v if isinstance(v, (str, int, float, np.number)) else str(v))
                          for k, v in attrs.items()})
            ds.createDimension("chan", len(names))
            ds.createDimension("chan_strlen", strlen)
            ds.createDimension("date", 1)
            ds.createDimension("sat_ref_strlen", max(6, len(observation.sat_pos_ref)))
            ds.createDimension("sat_xyz", 3)
            ds.createDimension("col", cols)
            ds.createDimension("row", rows)
            v = ds.createVariable("channel_name", "S1", ("chan", "chan_strlen"))
            v.standard_name, v.long_name = "sensor_band_identifier", "channel identifier"
            v[:] = netCDF4.stringtochar(np.array(names, dtype=f"S{strlen}"))
            v = ds.createVariable("date", "f8", ("date",))
            v.standard_name, v.units = "time", "seconds since 1970-01-01T00:00:00Z"
            v.long_name, v.calendar = "time of lunar observation", "gregorian"
            v[:] = [observation.time.unix]
            v = ds.createVariable("sat_pos", "f8", ("sat_xyz",), fill_value=float(fill))
            v.long_name, v.units = "satellite position x y z in sat_pos_ref", "km"
            v[:] = observation.sat_pos_km
            v = ds.createVariable("sat_pos_ref", "S1", ("sat_ref_strlen",))
            v.long_name = "reference frame of satellite position"
            v[:] = netCDF4.stringtochar(np.array([observation.sat_pos_ref],
                                                 dtype=f"S{len(ds.dimensions['sat_ref_strlen'])}"))[0]
            units = {"irr_obs": "W m-2 um-1", "pix_solid_ang": "sr", "dc_obs_offset": "1"}
            ints = {"dc_obs", "moon_pix_num", "moon_pix_thld"}
            keys = list(_PER_CHANNEL)
            keys += [k for k in _OPTIONAL_PER_CHANNEL
                     if any(ch.values.get(k) is not None for ch in observation.channels)]
            for r in (results or {}).values():
                keys += [k for k in r if k not in keys]
            for key in keys:
                vals = []
                for ch in observation.channels:
                    val = (results or {}).get(ch.name, {}).get(key, ch.values.get(key))
                    vals.append(fill if val is None or (isinstance(val, float) and np.isnan(val)) else val)
                dtype = "i4" if key in ints else "f8"
                v = ds.createVariable(key, dtype, ("chan",),
                                      fill_value=fill if dtype == "i4" else float(fill))
                if key in units:
                    v.units = units[key]
                v[:] = np.array(vals, dtype=dtype)
            for key, dtype, attr in (("rad_obs_imgt", "f8", "rad_imagette"),
                                     ("dc_obs_imgt", "i4", "dc_imagette")):
                v = ds.createVariable(key, dtype, ("row", "col", "chan"),
                                      fill_value=fill if dtype == "i4" else float(fill))
                v.units = "W sr-1 m-2 um-1" if key == "rad_obs_imgt" else "1"
                stack = np.ma.stack([getattr(ch, attr) for ch in observation.channels], axis=2)
                v[:] = np.ma.filled(stack.astype(dtype), fill)
    return out
