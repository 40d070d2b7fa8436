"""Spectral response functions (SRF) of imager channels.

Two real formats are read: the GSICS netCDF SRF files (wavelength in um, one
column per channel, fill values for unused samples) and plain tables with a
wavelength column in nm followed by one column per band (the Venus B1..B12 TSV).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from etalon.fileio import EtalonInputError, require_file

__all__ = ["SpectralResponse", "read_gsics_srf", "read_srf", "read_srf_table"]


@dataclass(frozen=True)
class SpectralResponse:
    """The spectral response of one channel.

    Attributes
    ----------
    channel : str
        Channel name (``"VIS006"``, ``"B4"``...).
    wavelength_um : numpy.ndarray
        Increasing wavelengths, um.
    response : numpy.ndarray
        Relative response (any scale; normalised where used).
    """

    channel: str
    wavelength_um: np.ndarray
    response: np.ndarray

    @property
    def centre_um(self) -> float:
        """Response-weighted mean wavelength, um."""
        w = np.trapezoid(self.response, self.wavelength_um)
        return float(np.trapezoid(self.response * self.wavelength_um, self.wavelength_um) / w)


def _clean(channel: str, wl: np.ndarray, resp: np.ndarray) -> SpectralResponse:
    ok = np.isfinite(wl) & np.isfinite(resp)
    wl, resp = np.asarray(wl[ok], float), np.asarray(resp[ok], float)
    order = np.argsort(wl)
    return SpectralResponse(channel, wl[order], np.clip(resp[order], 0.0, None))


def _usable(path: Path, responses: dict[str, SpectralResponse]) -> dict[str, SpectralResponse]:
    """Drop channels without a usable response (fewer than 2 samples or none above 0), with a warning."""
    kept = {}
    for name, srf in responses.items():
        if srf.wavelength_um.size >= 2 and np.any(srf.response > 0):
            kept[name] = srf
        else:
            warnings.warn(f"{path}: channel {name!r} has no usable spectral response: left out",
                          stacklevel=3)
    if not kept:
        raise EtalonInputError(path, "no channel with a usable spectral response")
    return kept


def read_gsics_srf(path: str | os.PathLike[str]) -> dict[str, SpectralResponse]:
    """Read a GSICS spectral-response netCDF file (variables ``channel_id``, ``wavelength``, ``srf``).

    Returns
    -------
    dict
        Channel name -> :class:`SpectralResponse`; fill values are dropped.
    """
    import netCDF4

    p = require_file(path, "GSICS SRF file")
    try:
        with netCDF4.Dataset(p) as ds:
            names = [str(n).strip() for n in ds["channel_id"][:]]
            wl = np.ma.filled(ds["wavelength"][:].astype(float), np.nan)
            srf = np.ma.filled(ds["srf"][:].astype(float), np.nan)
    except (OSError, KeyError, IndexError) as exc:
        raise EtalonInputError(p, f"not a GSICS SRF netCDF file ({exc})") from exc
    return _usable(p, {n: _clean(n, wl[:, i], srf[:, i]) for i, n in enumerate(names)})


def read_srf_table(path: str | os.PathLike[str]) -> dict[str, SpectralResponse]:
    """Read a text table: first column wavelength in nm, then one column per band (header names).

    Tab, comma or blank separated (the Venus ``venus_spectral_response.tsv``).
    """
    p = require_file(path, "SRF table")
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise EtalonInputError(p, f"not a text SRF table ({exc})") from exc
    if len(lines) < 3:
        raise EtalonInputError(p, "SRF table needs a header line and at least two wavelengths")
    first = lines[0]
    delimiter = "\t" if "\t" in first else ("," if "," in first else None)
    names = first.split(delimiter)
    try:
        data = np.loadtxt(lines[1:], delimiter=delimiter, ndmin=2)
    except ValueError as exc:
        raise EtalonInputError(p, f"not a numeric SRF table ({exc})") from exc
    if data.shape[1] != len(names) or data.shape[1] < 2:
        raise EtalonInputError(p, "header and columns of the SRF table disagree")
    wl_um = data[:, 0] / 1000.0
    return _usable(p, {n.strip(): _clean(n.strip(), wl_um, data[:, i + 1])
                       for i, n in enumerate(names[1:])})


def read_srf(path: str | os.PathLike[str]) -> dict[str, SpectralResponse]:
    """Read any supported SRF file: ``.nc`` (GSICS) or a text table (nm)."""
    return read_gsics_srf(path) if Path(path).suffix.lower() == ".nc" else read_srf_table(path)
