"""Multi-band scenes in and CT1/CT2 result tables out.

Inputs:

- **FITS**: one image HDU per band, ``EXTNAME`` ``B1`` .. ``B12`` (``B01`` accepted), float
  radiance (W m-2 sr-1 um-1), the same scene registered band to band;
- **netCDF**: the 12-band GSICS-style lunar observation of the campaign simulator
  (:mod:`etalon.moon.gsics`: ``channel_name`` B1..B12, imagettes ``rad_obs_imgt`` (row, col,
  chan)); fill values become NaN and are reported.

Every problem raises :class:`etalon.fileio.EtalonInputError` naming the file and the band.

Output (``etalon venus crosstalk``): one row per file, type and pair, columns ``file``,
``type`` (CT1/CT2), ``source_band``, ``victim_band``, ``coefficient``, ``coefficient_unc``,
``dx``, ``dy`` (pixels, NaN for CT1), ``significant``; ``extra=True`` adds ``dx_unc``,
``dy_unc``, ``blur_px``, ``blur_unc``, ``snr``, ``threshold``, ``search``, ``refined``,
``scene`` (moon / edge), ``across``, ``across_unc``, ``along``, ``along_unc`` (pixels, edge
scenes; NaN for Moon scenes).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from etalon.fileio import EtalonInputError, atomic_output, require_file

log = logging.getLogger(__name__)

__all__ = ["SCENES", "TABLE_COLUMNS", "FileQuantification", "quantify_file", "read_scene",
           "results_table", "write_fits_scene", "write_netcdf_scene", "write_results_table"]

TABLE_COLUMNS = ("file", "type", "source_band", "victim_band", "coefficient", "coefficient_unc",
                 "dx", "dy", "significant")
_EXTRA = ("dx_unc", "dy_unc", "blur_px", "blur_unc", "snr", "threshold", "search", "refined",
          "scene", "across", "across_unc", "along", "along_unc")


def _band(p: Path, name: str, where: str) -> str:
    from etalon.venus.bands import band_name

    try:
        return band_name(name)
    except ValueError as exc:
        raise EtalonInputError(p, f"{where}: {exc}") from None


def _check_band(p: Path, b: str, a: np.ndarray) -> np.ndarray:
    if a.ndim != 2:
        raise EtalonInputError(p, f"band {b}: expected a 2-D image, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number):
        raise EtalonInputError(p, f"band {b}: not numeric data ({a.dtype})")
    a = np.asarray(a, dtype=float)
    bad = ~np.isfinite(a)
    if bad.any():
        raise EtalonInputError(p, f"band {b}: {int(bad.sum())} NaN, infinite or fill pixels")
    return a


def _read_fits(p: Path) -> dict[str, np.ndarray]:
    from astropy.io import fits

    from etalon.fileio import check_fits_header

    check_fits_header(p)  # every HDU's absurd or repeated axis cards refused before astropy parses them
    try:
        with fits.open(p, memmap=False) as hdul:
            out: dict[str, np.ndarray] = {}
            for i, hdu in enumerate(hdul):
                name = str(hdu.header.get("EXTNAME", "")).strip()
                if not name or hdu.data is None:
                    continue
                b = _band(p, name, f"HDU {i} EXTNAME {name!r}")
                if b in out:
                    raise EtalonInputError(p, f"band {b}: two HDUs")
                out[b] = _check_band(p, b, np.array(hdu.data))
    except EtalonInputError:
        raise
    except (OSError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        # AttributeError: astropy's _ValidHDU (an HDU it cannot classify) has no .data
        raise EtalonInputError(p, f"not a readable FITS file ({type(exc).__name__}: {exc})") from exc
    if not out:
        raise EtalonInputError(p, "no image HDU with EXTNAME B1..B12")
    return out


def _read_netcdf(p: Path) -> dict[str, np.ndarray]:
    from etalon.moon.gsics import read_gsics_lunar

    try:
        obs = read_gsics_lunar(p)
    except EtalonInputError:
        raise
    except (OSError, RuntimeError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            UnicodeDecodeError, OverflowError) as exc:
        # netCDF4 / HDF5 raise RuntimeError ("NetCDF: HDF error") on damaged chunks, also
        # while closing the file; astropy Time raises ValueError on absurd dates
        raise EtalonInputError(p, f"not a readable netCDF scene ({type(exc).__name__}: {exc})") from exc
    out: dict[str, np.ndarray] = {}
    for ch in obs.channels:
        b = _band(p, ch.name, f"channel {ch.name!r}")
        if b in out:
            raise EtalonInputError(p, f"band {b}: two channels")
        if not ch.present:
            raise EtalonInputError(p, f"band {b}: only fill values")
        out[b] = _check_band(p, b, np.ma.filled(ch.rad_imagette.astype(float), np.nan))
    return out


def read_scene(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a multi-band scene (FITS with EXTNAME B1..B12, or a 12-band lunar netCDF).

    Returns
    -------
    dict band -> numpy.ndarray
        Float images (radiance), band order of the file.

    Raises
    ------
    EtalonInputError
        Naming the file and the band: unreadable file, unknown band name, duplicated band,
        non-2-D or non-numeric data, NaN / fill pixels, bands of different shapes.
    """
    p = require_file(path, "multi-band scene")
    with open(p, "rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"SIMPLE"):
        images = _read_fits(p)
    elif magic.startswith(b"\x89HDF") or magic.startswith(b"CDF"):
        images = _read_netcdf(p)
    else:
        raise EtalonInputError(p, "neither FITS nor netCDF (unknown file signature)")
    shapes = {b: a.shape for b, a in images.items()}
    first = next(iter(shapes))
    for b, s in shapes.items():
        if s != shapes[first]:
            raise EtalonInputError(p, f"band {b}: shape {s} differs from band {first} {shapes[first]}")
    return images


def write_fits_scene(path: str | os.PathLike[str], images: Mapping[str, np.ndarray],
                     step: str = "straylight scene", parameters: Mapping[str, Any] | None = None) -> Path:
    """Write a multi-band scene as FITS (one float32 image HDU per band, EXTNAME = band)."""
    from astropy.io import fits

    from etalon.provenance import stamp_header

    prim = fits.PrimaryHDU()
    stamp_header(prim.header, step, (), parameters)
    hdus = [prim]
    for b, a in images.items():
        h = fits.ImageHDU(np.asarray(a, dtype=np.float32), name=b)
        h.header["BUNIT"] = ("W m-2 sr-1 um-1", "radiance")
        hdus.append(h)
    out = Path(path)
    with atomic_output(out) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True)
    return out


@dataclass
class FileQuantification:
    """A file and what was measured in it.

    ``result`` is a :class:`etalon.straylight.quantify.Quantification` (Moon scene) or a
    :class:`etalon.straylight.edges.EdgeQuantification` (bright-edge scene); ``scene`` says
    which (``"moon"`` or ``"edge"``).
    """

    path: str
    result: Any
    scene: str = "moon"


SCENES = ("auto", "moon", "edge")


def quantify_file(path: str | os.PathLike[str], prior=None, scene: str = "auto",
                  edge_distance_px: float = 5.0, **kwargs) -> FileQuantification:
    """Read a scene and quantify its CT1/CT2 (errors name the file and the band).

    Parameters
    ----------
    path : path-like
        FITS or netCDF multi-band scene.
    prior : sequence of CT2Ghost, optional
        Level-1 displacements (search windows).
    scene : str
        ``"moon"`` (:func:`etalon.straylight.quantify.quantify`), ``"edge"``
        (:func:`etalon.straylight.edges.quantify_edges`) or ``"auto"``: edge when the first
        band's bright region reaches the frame border (a Moon in deep space never does), else
        Moon. A bright region wholly inside the frame that is not a Moon needs ``"edge"``.
    edge_distance_px : float
        Edge scenes: CT1 measured farther than this from the edge, pixels.
    **kwargs
        To :func:`~etalon.straylight.quantify.quantify` (Moon); for an edge scene only
        ``search_radius_px`` and ``alpha`` are used.
    """
    from etalon.straylight.edges import is_edge_scene, quantify_edges
    from etalon.straylight.quantify import quantify

    if scene not in SCENES:
        raise ValueError(f"scene must be one of {SCENES}, got {scene!r}")
    images = read_scene(path)
    kind = scene
    if scene == "auto":
        kind = "edge" if is_edge_scene(images) else "moon"
        if kind == "edge":
            log.warning("%s: the bright region reaches the frame border: quantified as a "
                        "bright-edge scene (--scene moon to force the Moon method)", path)
    try:
        if kind == "edge":
            ekw = {k: kwargs[k] for k in ("search_radius_px", "alpha") if k in kwargs}
            q = quantify_edges(images, prior=prior, distance_px=edge_distance_px, **ekw)
        else:
            q = quantify(images, prior=prior, **kwargs)
    except ValueError as exc:
        raise EtalonInputError(path, str(exc)) from exc
    return FileQuantification(str(path), q, kind)


def results_table(results: Sequence[FileQuantification], extra: bool = False,
                  ct1_alpha: float = 1e-3):
    """The CT1/CT2 table: one row per file, type and pair (columns :data:`TABLE_COLUMNS`).

    CT1 rows: ``coefficient`` = fraction of the band's signal beyond 1.1 disk radii (Moon
    scene) or farther than ``distance_px`` from the edge (edge scene), significant when
    ``fraction / unc > Phi^-1(1 - ct1_alpha / 2)``. CT2 rows of an edge scene: ``dx``, ``dy``
    NaN when the displacement along a straight edge is not measurable (see
    :mod:`etalon.straylight.edges`); the extra columns ``across``, ``along`` give the
    components across and along the source's edge (NaN for Moon scenes).
    """
    from astropy.table import Table
    from scipy import special

    z1 = float(special.ndtri(1 - ct1_alpha / 2))
    rows = []
    nan = math.nan
    for fq in results:
        q = fq.result
        name = Path(fq.path).name
        scene = getattr(fq, "scene", "moon")
        for b, c in q.ct1.items():
            sig = bool(c.fraction_unc > 0 and abs(c.fraction) / c.fraction_unc > z1)
            rows.append((name, "CT1", b, b, c.fraction, c.fraction_unc, nan, nan, sig,
                         nan, nan, nan, nan, c.fraction / c.fraction_unc if c.fraction_unc > 0 else nan,
                         z1, "", False, scene, nan, nan, nan, nan))
        for r in q.ct2:
            rows.append((name, "CT2", r.source, r.victim, r.coefficient, r.coefficient_unc, r.dx,
                         r.dy, r.significant, r.dx_unc, r.dy_unc, r.blur_px, r.blur_unc, r.snr,
                         r.threshold, r.search, r.refined, scene, getattr(r, "across", nan),
                         getattr(r, "across_unc", nan), getattr(r, "along", nan),
                         getattr(r, "along_unc", nan)))
    names = TABLE_COLUMNS + _EXTRA
    dtypes = (str, str, str, str, float, float, float, float, bool, float, float, float, float,
              float, float, str, bool, str, float, float, float, float)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    t = Table([np.array(c, dtype=d) for c, d in zip(cols, dtypes, strict=True)], names=names)
    for n in ("dx", "dy", "dx_unc", "dy_unc", "blur_px", "blur_unc", "across", "across_unc", "along",
              "along_unc"):
        t[n].unit = "pix"
    if not extra:
        t = t[list(TABLE_COLUMNS)]
    return t


def write_results_table(table, path: str | os.PathLike[str], inputs: Sequence[str] = (),
                        parameters: Mapping[str, Any] | None = None) -> Path:
    """Write the CT1/CT2 table as ECSV (atomically) with provenance in ``meta``."""
    from etalon.provenance import table_provenance

    table = table.copy()
    table.meta.update(table_provenance("venus crosstalk", inputs, parameters))
    out = Path(path)
    with atomic_output(out) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    return out


def write_netcdf_scene(path: str | os.PathLike[str], images: Mapping[str, np.ndarray],
                       time: str = "2019-02-04T12:00:00", pix_solid_ang: float = 5.52e-11,
                       ovrsamp_fa: float = 1.0) -> Path:
    """Write a multi-band scene as a GSICS-style lunar netCDF (channels = bands).

    Radiance goes to ``rad_obs_imgt``; ``dc_obs_imgt`` holds ``A_k * L`` rounded (DN).
    """
    from astropy.time import Time

    from etalon.moon.gsics import GsicsChannel, GsicsLunarObservation, write_gsics_lunar
    from etalon.venus.bands import band

    chans = []
    for b, a in images.items():
        rad = np.ma.asarray(np.asarray(a, float))
        dc = np.ma.asarray(np.round(rad * band(b).header_ak).astype(np.int32))
        chans.append(GsicsChannel(b, True, {"pix_solid_ang": pix_solid_ang,
                                            "ovrsamp_fa": ovrsamp_fa}, dc, rad))
    obs = GsicsLunarObservation(None, Time(time, scale="utc"), np.array([7000.0, 0.0, 0.0]),
                                "J2000", chans)
    return write_gsics_lunar(path, obs, history="etalon straylight scene")
