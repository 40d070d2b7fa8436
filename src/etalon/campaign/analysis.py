"""A whole campaign: every band through the joint model, with the inputs' provenance.

``analyze_files(tables, po)`` is what ``etalon campaign analyze`` runs: read and check the
inputs (:mod:`.series`), fit each band (:mod:`.model`), keep everything for the results
file (:mod:`.results`). A band whose fit fails is reported (logged, listed in
``CampaignResult.failed``) and the others still finish.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from etalon.campaign.model import BandResult, analyze_band
from etalon.campaign.series import BandSeries, PORegistry, build_series, read_measurements, read_po

__all__ = ["CampaignResult", "analyze_campaign", "analyze_files", "find_campaign_files"]

log = logging.getLogger(__name__)


@dataclass
class CampaignResult:
    """Results of every band of a campaign.

    Attributes
    ----------
    bands : dict of str to BandResult
    series : dict of str to BandSeries
        The inputs, per band.
    po : PORegistry
    parameters : dict
        Options of the analysis.
    inputs : list of str
        Measurement tables read.
    lunar_model : str
        Reference model named by the tables (``model`` column or metadata), or "unknown".
    failed : dict of str to str
        Band -> reason, for bands whose fit failed.
    """

    bands: dict[str, BandResult]
    series: dict[str, BandSeries]
    po: PORegistry
    parameters: dict = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    lunar_model: str = "unknown"
    failed: dict[str, str] = field(default_factory=dict)


def analyze_campaign(series: dict[str, BandSeries], po: PORegistry, *, model: str = "auto",
                     geometry_degree: int = 1, outlier_k: float = 4.0, max_changepoints: int = 3,
                     alpha_changepoint: float = 0.001, reference_po: str | None = None,
                     inputs: Sequence[str] = (), lunar_model: str = "unknown") -> CampaignResult:
    """Fit every band (see :func:`etalon.campaign.model.analyze_band` for the options)."""
    if reference_po is not None and reference_po not in po.versions:
        from etalon.cliutil import UsageError

        raise UsageError(f"reference PO {reference_po!r} is not in the registry ({', '.join(po.versions)})")
    params = {"model": model, "geometry_degree": geometry_degree, "outlier_k": outlier_k,
              "max_changepoints": max_changepoints, "alpha_changepoint": alpha_changepoint,
              "reference_po": reference_po or po.versions[-1]}
    out: dict[str, BandResult] = {}
    failed: dict[str, str] = {}
    for name, s in series.items():
        try:
            out[name] = analyze_band(s, po, model=model, geometry_degree=geometry_degree,
                                     outlier_k=outlier_k, max_changepoints=max_changepoints,
                                     alpha_changepoint=alpha_changepoint, reference_po=reference_po)
        except (ValueError, ArithmeticError) as exc:
            failed[name] = str(exc)
            log.error("%s: fit failed: %s", name, exc)
    return CampaignResult(out, series, po, params, [str(p) for p in inputs], lunar_model, failed)


def analyze_files(tables: Sequence[str | os.PathLike[str]], po_path: str | os.PathLike[str], *,
                  allow_single_band: bool = False, use_libration: bool = True, uncertainty: str = "random",
                  **options) -> CampaignResult:
    """Read measurement tables and a PO registry, then :func:`analyze_campaign`.

    Raises
    ------
    etalon.fileio.EtalonInputError
        Bad tables or PO (:mod:`.series`).
    """
    tab = read_measurements(tables)
    po = read_po(po_path)
    series = build_series(tab, po, allow_single_band=allow_single_band, use_libration=use_libration,
                          uncertainty=uncertainty)
    lunar = "unknown"
    if "model" in tab.colnames:
        lunar = ", ".join(sorted({str(m) for m in tab["model"]}))
    elif "model" in tab.meta:
        lunar = str(tab.meta["model"])
    return analyze_campaign(series, po, inputs=[str(p) for p in tables], lunar_model=lunar, **options)


def find_campaign_files(folder: str | os.PathLike[str]) -> tuple[list[str], str, str | None]:
    """Measurement tables, PO registry and (optional) truth of a campaign folder.

    The folder holds ``*.ecsv`` measurement tables, ``po.ecsv`` (or ``PO.ecsv``) and optionally
    ``truth.ecsv`` (as written by ``etalon campaign simulate``).

    Raises
    ------
    etalon.fileio.EtalonInputError
        No PO registry or no measurement table in the folder.
    """
    from pathlib import Path

    from etalon.fileio import EtalonInputError

    d = Path(folder)
    if not d.is_dir():
        raise EtalonInputError(d, "campaign folder does not exist")
    po = next((d / n for n in ("po.ecsv", "PO.ecsv") if (d / n).exists()), None)
    if po is None:
        raise EtalonInputError(d, "no po.ecsv (PO registry) in the campaign folder")
    skip = {"po.ecsv", "truth.ecsv", "summary.ecsv", "acceptance.ecsv"}
    tables = sorted(str(p) for p in d.glob("*.ecsv") if p.name.lower() not in skip)
    if not tables:
        raise EtalonInputError(d, "no measurement table (*.ecsv) in the campaign folder")
    truth = d / "truth.ecsv"
    return tables, str(po), str(truth) if truth.exists() else None


def tables_from_lunar_files(folder: str | os.PathLike[str], output: str | os.PathLike[str]) -> str:
    """Measure the lunar netCDF files of a simulated campaign folder into one table.

    For a folder written by the VENuS campaign simulator (``VENUS_MOON_*.nc``, ``po.ecsv``):
    :func:`etalon.moon.measure.measure_files` (Laplace extraction, ROLO) on every ``*.nc``,
    written to ``output`` (ECSV) for :func:`analyze_files`. Returns ``output``.
    """
    from pathlib import Path

    from etalon.fileio import EtalonInputError
    from etalon.moon.measure import measure_files, write_measurement_table

    files = sorted(str(p) for p in Path(folder).glob("*.nc"))
    if not files:
        raise EtalonInputError(folder, "no lunar netCDF file (*.nc) in the campaign folder")
    table, _ = measure_files(files, progress=False)
    write_measurement_table(table, output)
    return str(output)
