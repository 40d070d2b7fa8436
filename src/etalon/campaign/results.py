"""The statistical results file (CF netCDF) and the campaign summary (ECSV).

Schema: ``docs/results-file.md`` (version :data:`SCHEMA_VERSION`). The netCDF is written with
xarray (netCDF4 engine) and read back by :func:`read_results`, which checks the schema name
and version and the presence of every variable; :func:`summary_table` builds the same
summary from a :class:`~etalon.campaign.analysis.CampaignResult` or from a dataset read back,
so the two can be compared (round trip).

The summary has one row per channel and term, columns ``channel``, ``term``, ``value``,
``unc``, with ``term`` one of ``drift:<version>`` (yr-1, fractional change of the ratio per year
within that PO segment), ``step:<version>`` (measured ratio_after / ratio_before - 1 at the
version's validity start), ``expected_step:<version>`` (from the gains, ``unc`` 0), and
``phase:<name>`` (level of that phase relative to the first phase, after drift removal).

Desert terms (schema 1.1, optional): a table of the same four columns (``channel``, ``term``,
``value``, ``unc``; terms ``phase:<name>`` and ``drift:all``, as
``etalon.desert.compare.venus_desert_terms`` returns and ``etalon desert compare-moon
--desert-terms`` writes) given to :func:`to_dataset` / :func:`write_results` is stored beside the
Moon's figures as ``desert_phase_level``, ``desert_phase_level_unc`` (band, phase) and
``desert_drift``, ``desert_drift_unc`` (band); :func:`desert_terms_table` gives it back. This
module only reads that generic table: it does not import :mod:`etalon.desert`.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np

from etalon import __version__

__all__ = ["DESERT_VARIABLES", "SCHEMA_NAME", "SCHEMA_VERSION", "check_desert_terms", "desert_terms_table",
           "read_desert_terms", "read_results", "read_summary", "summary_table", "to_dataset",
           "write_results", "write_summary"]

log = logging.getLogger(__name__)

SCHEMA_NAME = "etalon-campaign-results"
SCHEMA_VERSION = "1.1"

#: optional variables (schema 1.1): the desert terms stored beside the Moon's when given
DESERT_VARIABLES = ("desert_phase_level", "desert_phase_level_unc", "desert_drift", "desert_drift_unc")

#: every variable of schema 1.0 (read_results checks them)
VARIABLES = (
    "time", "band_index", "ratio", "ratio_unc", "phase_angle", "po_index", "phase_index", "valid",
    "outlier", "ratio_reprocessed", "ratio_corrected", "model_ratio", "residual",
    "channel", "drift_model", "n_obs", "n_valid", "n_outliers", "chi2", "dof", "reduced_chi2",
    "uncertainty_scale", "tau", "tau_unc", "bic_linear", "bic_exponential", "drift_reprocessed",
    "drift_reprocessed_unc", "n_changepoints",
    "po_version", "validity_start", "gain", "seg_n", "seg_n_outliers", "seg_mean", "seg_median",
    "seg_std", "seg_mad_std", "drift", "drift_unc", "step", "step_unc", "expected_step",
    "step_minus_expected", "phase_name", "phase_n", "phase_mean", "phase_median", "phase_std",
    "phase_mad_std", "phase_level", "phase_level_unc", "phase_significance", "phase_drift",
    "phase_drift_unc", "phase_level_source", "geometry_term", "geometry_coef", "geometry_coef_unc",
    "changepoint_time", "changepoint_step", "changepoint_step_unc", "changepoint_delta_chi2",
)

_EPOCH = "days since 2000-01-01 12:00:00"  # J2000, UTC


def _days(t_years: np.ndarray) -> np.ndarray:
    return (np.asarray(t_years, dtype=float) - 2000.0) * 365.25


def check_desert_terms(table, source=None):
    """Check a desert terms table (channel, term, value, unc) and return its four columns.

    Parameters
    ----------
    table : astropy.table.Table
        One row per band and term: ``phase:<name>`` (level of that orbit phase relative to the
        desert's first phase, fractional) and ``drift:all`` (fractional change per year,
        year-1), ``unc`` their 1-sigma uncertainties; other columns are ignored.
    source : path-like, optional
        Named in the errors (default ``"desert terms"``).

    Returns
    -------
    astropy.table.Table
        Columns ``channel``, ``term``, ``value``, ``unc`` (str, str, float, float).

    Raises
    ------
    etalon.fileio.EtalonInputError
        A missing column, a term other than ``phase:<name>`` / ``drift:all``, a non-finite
        value, a negative or non-finite uncertainty, a (channel, term) given twice, no row.
    """
    from astropy.table import Table

    from etalon.fileio import EtalonInputError

    src = source if source is not None else "desert terms"
    missing = [c for c in ("channel", "term", "value", "unc") if c not in table.colnames]
    if missing:
        raise EtalonInputError(src, f"desert terms table lacks column(s) {', '.join(missing)}")
    if len(table) == 0:
        raise EtalonInputError(src, "desert terms table has no row")
    ch = [str(c).strip() for c in table["channel"]]
    term = [str(t).strip() for t in table["term"]]
    try:
        value = np.asarray(table["value"], dtype=float)
        unc = np.asarray(table["unc"], dtype=float)
    except (TypeError, ValueError) as exc:
        raise EtalonInputError(src, f"desert terms: value/unc not numbers ({exc})") from None
    seen: set = set()
    for i, (c, t) in enumerate(zip(ch, term, strict=True)):
        where = f"row {i + 1} ({c}, {t})"
        if not (t == "drift:all" or (t.startswith("phase:") and len(t) > 6)):
            raise EtalonInputError(src, f"{where}: unknown term; expected phase:<name> or drift:all")
        if not np.isfinite(value[i]):
            raise EtalonInputError(src, f"{where}: value {value[i]} is not finite")
        if not (np.isfinite(unc[i]) and unc[i] >= 0):
            raise EtalonInputError(src, f"{where}: unc {unc[i]} must be finite and >= 0")
        if (c, t) in seen:
            raise EtalonInputError(src, f"{where}: given twice")
        seen.add((c, t))
    return Table([ch, term, value, unc], names=("channel", "term", "value", "unc"),
                 dtype=(str, str, float, float))


def read_desert_terms(path: str | os.PathLike[str]):
    """Read a desert terms ECSV (``etalon desert compare-moon --desert-terms``) and check it.

    Raises
    ------
    etalon.fileio.EtalonInputError
        Not an ECSV table, or the content refused by :func:`check_desert_terms`.
    """
    from astropy.table import Table

    from etalon.fileio import EtalonInputError, require_file

    p = require_file(path, "desert terms table")
    try:
        tab = Table.read(p, format="ascii.ecsv")
    except Exception as exc:  # astropy raises many types for a bad ECSV
        raise EtalonInputError(p, f"cannot read as ECSV: {type(exc).__name__}: {exc}") from None
    return check_desert_terms(tab, p)


def _desert_vars(terms, bands: list[str], phase_names: list[str]) -> tuple[dict, list[str]]:
    """The four desert variables on the (band, phase) grid; terms that do not fit are listed."""
    nb, npz = len(bands), max(len(phase_names), 1)
    level, level_u = np.full((nb, npz), np.nan), np.full((nb, npz), np.nan)
    drift, drift_u = np.full(nb, np.nan), np.full(nb, np.nan)
    ignored = []
    for c, t, v, u in zip(terms["channel"], terms["term"], terms["value"], terms["unc"], strict=True):
        c, t = str(c), str(t)
        if c not in bands:
            ignored.append(f"{c} {t}: band not analysed")
            continue
        i = bands.index(c)
        if t == "drift:all":
            drift[i], drift_u[i] = v, u
        elif t[6:] in phase_names:
            j = phase_names.index(t[6:])
            level[i, j], level_u[i, j] = v, u
        else:
            ignored.append(f"{c} {t}: phase not in the lunar campaign")
    frac = "1"
    data_vars = {
        "desert_phase_level": (("band", "phase"), level, {
            "long_name": "desert level of the phase relative to the desert's first phase, after "
                         "drift removal (the definition of phase_level)", "units": frac}),
        "desert_phase_level_unc": (("band", "phase"), level_u,
                                   {"long_name": "1-sigma uncertainty of desert_phase_level", "units": frac}),
        "desert_drift": ("band", drift, {"long_name": "desert drift over the whole series "
                                                      "(fractional change per year)", "units": "year-1"}),
        "desert_drift_unc": ("band", drift_u, {"long_name": "1-sigma uncertainty of desert_drift",
                                               "units": "year-1"}),
    }
    return data_vars, ignored


def desert_terms_table(ds):
    """The desert terms stored in a results dataset, as a table (None when it has none).

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`read_results` or :func:`to_dataset`.

    Returns
    -------
    astropy.table.Table or None
        ``channel``, ``term`` (``phase:<name>``, ``drift:all``), ``value``, ``unc``: the rows
        stored (NaN cells skipped), bands in the file's order, phases then drift.
    """
    from astropy.table import Table

    if not all(v in ds.variables for v in DESERT_VARIABLES):
        return None
    phases = [str(v) for v in ds["phase_name"].values]
    rows = []
    for i, ch in enumerate(str(c) for c in ds["channel"].values):
        for j, name in enumerate(phases):
            v = float(ds["desert_phase_level"].values[i, j])
            if np.isfinite(v):
                rows.append((ch, f"phase:{name}", v, float(ds["desert_phase_level_unc"].values[i, j])))
        v = float(ds["desert_drift"].values[i])
        if np.isfinite(v):
            rows.append((ch, "drift:all", v, float(ds["desert_drift_unc"].values[i])))
    return Table(rows=rows or None, names=("channel", "term", "value", "unc"),
                 dtype=(str, str, float, float))


def to_dataset(result, desert_terms=None, desert_source: str | None = None):
    """The results of a campaign as an :class:`xarray.Dataset` (schema 1.1).

    Parameters
    ----------
    result : etalon.campaign.analysis.CampaignResult
    desert_terms : astropy.table.Table, optional
        Desert terms (``channel``, ``term``, ``value``, ``unc``; :func:`check_desert_terms`)
        stored as ``desert_phase_level``, ``desert_phase_level_unc``, ``desert_drift``,
        ``desert_drift_unc``; rows whose band or phase the campaign lacks are left out, with a
        warning, and listed in the attribute ``desert_terms_ignored``.
    desert_source : str, optional
        The desert terms file, recorded in the attribute ``desert_terms_file``.
    """
    import xarray as xr

    bands = list(result.bands)
    po = result.po
    nb, nv = len(bands), len(po.versions)
    phase_names = list(dict.fromkeys(p.name for b in result.bands.values() for p in b.phases))
    npz = max(len(phase_names), 1)
    gterms = list(dict.fromkeys(n for b in result.bands.values() for n in b.geometry_names))
    ncp = max([len(b.changepoints) for b in result.bands.values()] + [1])

    # per acquisition (indexed ragged array, CF 1.8 section 9.3.4)
    obs = {k: [] for k in ("time", "band_index", "ratio", "ratio_unc", "phase_angle", "po_index",
                           "phase_index", "valid", "outlier", "ratio_reprocessed", "ratio_corrected",
                           "model_ratio", "residual")}
    for i, name in enumerate(bands):
        s, b = result.series[name], result.bands[name]
        obs["time"].append(_days(s.t_years))
        obs["band_index"].append(np.full(s.n, i, dtype=np.int32))
        obs["ratio"].append(s.ratio)
        obs["ratio_unc"].append(s.ratio_unc)
        obs["phase_angle"].append(s.phase_angle)
        obs["po_index"].append(s.po_index.astype(np.int32))
        obs["phase_index"].append(np.array([phase_names.index(p) if p in phase_names else -1
                                            for p in s.phase], dtype=np.int32))
        obs["valid"].append((b.used if b.used.size else s.valid).astype(np.int8))
        obs["outlier"].append(b.outlier.astype(np.int8))
        obs["ratio_reprocessed"].append(b.ratio_reprocessed)
        obs["ratio_corrected"].append(b.ratio_corrected)
        obs["model_ratio"].append(b.model_ratio)
        obs["residual"].append(b.residual)
    obs = {k: np.concatenate(v) if v else np.array([]) for k, v in obs.items()}

    def full(shape, fill=np.nan, dtype=float):
        return np.full(shape, fill, dtype=dtype)

    seg = {k: full((nb, nv)) for k in ("seg_mean", "seg_median", "seg_std", "seg_mad_std", "drift",
                                        "drift_unc", "step", "step_unc", "expected_step",
                                        "step_minus_expected")}
    seg_n = full((nb, nv), 0, np.int32)
    seg_no = full((nb, nv), 0, np.int32)
    ph = {k: full((nb, npz)) for k in ("phase_mean", "phase_median", "phase_std", "phase_mad_std",
                                        "phase_level", "phase_level_unc", "phase_significance",
                                        "phase_drift", "phase_drift_unc")}
    ph_n = full((nb, npz), 0, np.int32)
    ph_src = np.full((nb, npz), "", dtype=object)
    geo = full((nb, max(len(gterms), 1)))
    geo_u = full((nb, max(len(gterms), 1)))
    cp = {k: full((nb, ncp)) for k in ("changepoint_time", "changepoint_step", "changepoint_step_unc",
                                        "changepoint_delta_chi2")}
    per_band = {k: [] for k in ("drift_model", "n_obs", "n_valid", "n_outliers", "chi2", "dof",
                                "reduced_chi2", "uncertainty_scale", "tau", "tau_unc", "bic_linear",
                                "bic_exponential", "drift_reprocessed", "drift_reprocessed_unc",
                                "n_changepoints")}
    gain = np.array([po.gains[b] for b in bands]) if nb else np.zeros((0, nv))
    for i, name in enumerate(bands):
        b = result.bands[name]
        for k in range(1, nv):
            seg["expected_step"][i, k] = gain[i, k - 1] / gain[i, k] - 1
        for s in b.segments:
            k = s.index
            seg_n[i, k], seg_no[i, k] = s.n, s.n_outliers
            for key, val in (("seg_mean", s.mean), ("seg_median", s.median), ("seg_std", s.std),
                             ("seg_mad_std", s.mad_std), ("drift", s.drift), ("drift_unc", s.drift_unc)):
                seg[key][i, k] = val
        for st in b.steps:
            k = po.versions.index(st.version)
            seg["step"][i, k], seg["step_unc"][i, k] = st.measured, st.measured_unc
            seg["step_minus_expected"][i, k] = st.difference
        for p in b.phases:
            j = phase_names.index(p.name)
            ph_n[i, j] = p.n
            ph_src[i, j] = p.source
            for key, val in (("phase_mean", p.mean), ("phase_median", p.median), ("phase_std", p.std),
                             ("phase_mad_std", p.mad_std), ("phase_level", p.level),
                             ("phase_level_unc", p.level_unc), ("phase_significance", p.significance),
                             ("phase_drift", p.drift), ("phase_drift_unc", p.drift_unc)):
                ph[key][i, j] = val
        for gname, cval, uval in zip(b.geometry_names, b.geometry_coef, b.geometry_unc, strict=True):
            geo[i, gterms.index(gname)] = cval
            geo_u[i, gterms.index(gname)] = uval
        for j, c in enumerate(b.changepoints):
            cp["changepoint_time"][i, j] = _days(c.t_years)
            cp["changepoint_step"][i, j] = c.step
            cp["changepoint_step_unc"][i, j] = c.step_unc
            cp["changepoint_delta_chi2"][i, j] = c.delta_chi2
        for key, val in (("drift_model", b.model), ("n_obs", b.n), ("n_valid", b.n_valid),
                         ("n_outliers", b.n_outliers), ("chi2", b.chi2), ("dof", b.dof),
                         ("reduced_chi2", b.reduced_chi2), ("uncertainty_scale", b.scale),
                         ("tau", b.tau_years), ("tau_unc", b.tau_unc), ("bic_linear", b.bic_linear),
                         ("bic_exponential", b.bic_exponential), ("drift_reprocessed", b.drift_reprocessed),
                         ("drift_reprocessed_unc", b.drift_reprocessed_unc),
                         ("n_changepoints", len(b.changepoints))):
            per_band[key].append(val)

    tattrs = {"standard_name": "time", "long_name": "acquisition time (UTC)", "units": _EPOCH,
              "calendar": "standard"}
    frac = "1"
    data_vars = {
        "time": ("obs", obs["time"], tattrs),
        "band_index": ("obs", obs["band_index"], {"long_name": "index of the band of each acquisition",
                                                  "instance_dimension": "band"}),
        "ratio": ("obs", obs["ratio"], {"long_name": "observed / model lunar irradiance, as processed",
                                        "units": frac, "ancillary_variables": "ratio_unc valid outlier"}),
        "ratio_unc": ("obs", obs["ratio_unc"], {"long_name": "1-sigma uncertainty of ratio", "units": frac}),
        "phase_angle": ("obs", obs["phase_angle"], {"long_name": "signed lunar phase angle (negative waxing)",
                                                    "units": "degree"}),
        "po_index": ("obs", obs["po_index"],
                     {"long_name": "index of the PO version in force (dimension segment)"}),
        "phase_index": ("obs", obs["phase_index"],
                        {"long_name": "index of the orbit phase (dimension phase)"}),
        "valid": ("obs", obs["valid"], {"long_name": "row used in the fits",
                                        "flag_values": np.array([0, 1], np.int8),
                                        "flag_meanings": "invalid_input valid"}),
        "outlier": ("obs", obs["outlier"], {"long_name": "rejected by the robust fit",
                                            "flag_values": np.array([0, 1], np.int8),
                                            "flag_meanings": "kept rejected_outlier"}),
        "ratio_reprocessed": ("obs", obs["ratio_reprocessed"],
                              {"long_name": "ratio brought to the reference PO", "units": frac}),
        "ratio_corrected": ("obs", obs["ratio_corrected"],
                            {"long_name": "reprocessed ratio, geometry dependence and change points removed",
                             "units": frac}),
        "model_ratio": ("obs", obs["model_ratio"], {"long_name": "ratio predicted by the joint model",
                                                    "units": frac}),
        "residual": ("obs", obs["residual"], {"long_name": "ratio / model_ratio - 1", "units": frac}),
        "channel": ("band", np.array(bands, dtype=object),
                    {"long_name": "band name", "cf_role": "timeseries_id"}),
        "po_version": ("segment", np.array(po.versions, dtype=object), {"long_name": "PO version"}),
        "validity_start": ("segment", _days(po.validity_start), dict(tattrs, long_name="PO validity start")),
        "gain": (("band", "segment"), gain, {"long_name": "absolute gain A_k of the PO version",
                                             "units": "DN per radiance unit"}),
        "seg_n": (("band", "segment"), seg_n, {"long_name": "kept acquisitions in the PO segment"}),
        "seg_n_outliers": (("band", "segment"), seg_no,
                           {"long_name": "rejected acquisitions in the PO segment"}),
        "phase_name": ("phase", np.array(phase_names or [""], dtype=object), {"long_name": "orbit phase"}),
        "phase_n": (("band", "phase"), ph_n, {"long_name": "kept acquisitions in the phase"}),
        "phase_level_source": (("band", "phase"), ph_src,
                               {"long_name": "series the phase level comes from "
                                             "(as-processed, reprocessed, reference)"}),
        "geometry_term": ("geometry_term", np.array(gterms or [""], dtype=object),
                          {"long_name": "geometry term of the joint fit (see docs/results-file.md)"}),
        "geometry_coef": (("band", "geometry_term"), geo, {"long_name": "coefficient in ln(ratio)",
                                                            "units": "per unit of the term"}),
        "geometry_coef_unc": (("band", "geometry_term"), geo_u,
                              {"long_name": "1-sigma uncertainty of geometry_coef",
                               "units": "per unit of the term"}),
    }
    units = {"seg_mean": frac, "seg_median": frac, "seg_std": frac, "seg_mad_std": frac,
             "drift": "year-1", "drift_unc": "year-1", "step": frac, "step_unc": frac,
             "expected_step": frac, "step_minus_expected": frac}
    long = {"seg_mean": "mean geometry-corrected ratio in the PO segment", "seg_median": "median of the same",
            "seg_std": "standard deviation of the same", "seg_mad_std": "1.4826 x median absolute deviation",
            "drift": "fractional change of the ratio per year within the PO segment",
            "drift_unc": "1-sigma uncertainty of drift",
            "step": "measured ratio_after / ratio_before - 1 at the validity start",
            "step_unc": "1-sigma uncertainty of step", "expected_step": "gain_before / gain_after - 1",
            "step_minus_expected": "step - expected_step (uncertainty step_unc)"}
    for k, v in seg.items():
        data_vars[k] = (("band", "segment"), v, {"long_name": long[k], "units": units[k]})
    plong = {"phase_mean": "mean corrected ratio in the phase", "phase_median": "median of the same",
             "phase_std": "standard deviation of the same",
             "phase_mad_std": "1.4826 x median absolute deviation",
             "phase_level": "ratio level relative to the first phase, after drift removal",
             "phase_level_unc": "1-sigma uncertainty of phase_level",
             "phase_significance": "|phase_level| / phase_level_unc",
             "phase_drift": "drift within the phase", "phase_drift_unc": "1-sigma uncertainty of phase_drift"}
    for k, v in ph.items():
        data_vars[k] = (("band", "phase"), v, {"long_name": plong[k],
                                               "units": "year-1" if "drift" in k else frac})
    clong = {"changepoint_time": "date of a step no PO explains",
             "changepoint_step": "ratio_after / ratio_before - 1 at the change point",
             "changepoint_step_unc": "1-sigma uncertainty of changepoint_step",
             "changepoint_delta_chi2": "chi-square decrease of the step (likelihood-ratio statistic)"}
    for k, v in cp.items():
        data_vars[k] = (("band", "changepoint"), v,
                        dict(tattrs, long_name=clong[k]) if k == "changepoint_time"
                        else {"long_name": clong[k]})
    blong = {"drift_model": ("trend model chosen (linear or exponential)", None),
             "n_obs": ("acquisitions", None), "n_valid": ("usable acquisitions", None),
             "n_outliers": ("rejected acquisitions", None), "chi2": ("chi-square of the joint fit", None),
             "dof": ("degrees of freedom", None), "reduced_chi2": ("chi2 / dof", None),
             "uncertainty_scale": ("factor applied to the uncertainties, sqrt(max(1, chi2/dof))", None),
             "tau": ("exponential time constant", "year"), "tau_unc": ("1-sigma uncertainty of tau", "year"),
             "bic_linear": ("BIC of the linear trend", None),
             "bic_exponential": ("BIC of the exponential", None),
             "drift_reprocessed": ("drift of the series reprocessed to the reference PO (single trend)",
                                   "year-1"),
             "drift_reprocessed_unc": ("1-sigma uncertainty of drift_reprocessed", "year-1"),
             "n_changepoints": ("steps detected that no PO explains", None)}
    for k, v in per_band.items():
        arr = np.array(v, dtype=object if k == "drift_model" else float)
        if k in ("n_obs", "n_valid", "n_outliers", "dof", "n_changepoints"):
            arr = arr.astype(np.int32)
        attrs = {"long_name": blong[k][0]}
        if blong[k][1]:
            attrs["units"] = blong[k][1]
        data_vars[k] = ("band", arr, attrs)
    ignored: list[str] = []
    if desert_terms is not None:
        terms = check_desert_terms(desert_terms, desert_source)
        dvars, ignored = _desert_vars(terms, bands, phase_names)
        data_vars.update(dvars)
        for text in ignored:
            log.warning("%s: %s: not stored", desert_source or "desert terms", text)
    ds = xr.Dataset({k: xr.Variable(*v) for k, v in data_vars.items()})
    ds.attrs = {
        "Conventions": "CF-1.8",
        "featureType": "timeSeries",
        "title": "etalon lunar calibration campaign: drift, PO steps, orbit phases",
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "source": f"etalon {__version__} (etalon.campaign)",
        "etalon_version": __version__,
        "history": f"created by etalon campaign analyze, etalon {__version__}",
        "inputs": json.dumps([os.path.basename(p) for p in result.inputs]),
        "po_file": os.path.basename(po.path) if po.path else "",
        "po_versions": json.dumps(po.versions),
        "reference_po": result.parameters.get("reference_po", po.versions[-1]),
        "lunar_model": result.lunar_model,
        "parameters": json.dumps(result.parameters),
        "failed_bands": json.dumps(result.failed),
        "rules": ("WLS in ln(ratio); covariance x max(1, chi2/dof); outliers |z| > k x max(1, 1.4826 MAD) "
                  "iterated; trend model by BIC; change points by likelihood-ratio test (Bonferroni)"),
    }
    from etalon.provenance import table_provenance

    prov = table_provenance("campaign analyze", result.inputs, result.parameters)
    ds.attrs["created_utc"] = prov["created_utc"]
    if desert_terms is not None:
        ds.attrs["desert_terms_file"] = os.path.basename(os.fspath(desert_source)) if desert_source else ""
        ds.attrs["desert_terms_ignored"] = json.dumps(ignored)
    return ds


def write_results(result, path: str | os.PathLike[str], desert_terms=None,
                  desert_source: str | None = None) -> None:
    """Write the results file (CF netCDF-4) atomically.

    ``desert_terms`` and ``desert_source``: optional desert terms stored beside the Moon's
    (:func:`to_dataset`).
    """
    from etalon.fileio import atomic_output

    ds = to_dataset(result, desert_terms, desert_source)
    enc = {k: {"zlib": True, "complevel": 4} for k, v in ds.data_vars.items() if v.dtype.kind == "f"}
    for k in ("time", "validity_start", "changepoint_time"):
        enc.setdefault(k, {})["dtype"] = "float64"
    with atomic_output(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=enc)


def read_results(path: str | os.PathLike[str]):
    """Read a results file back as an :class:`xarray.Dataset`, checking its schema.

    Time variables are left as numbers (``days since J2000``) so values round-trip exactly.

    Raises
    ------
    etalon.fileio.EtalonInputError
        Not a netCDF file, another schema, a newer major version, or a missing variable.
    """
    import xarray as xr

    from etalon.fileio import EtalonInputError, require_file

    p = require_file(path, "results file")
    try:
        ds = xr.open_dataset(p, engine="netcdf4", decode_times=False).load()
    except Exception as exc:
        raise EtalonInputError(p, f"cannot read as netCDF: {exc}") from exc
    if ds.attrs.get("schema") != SCHEMA_NAME:
        raise EtalonInputError(p, f"not an etalon campaign results file (schema {ds.attrs.get('schema')!r})")
    major = str(ds.attrs.get("schema_version", "0")).split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise EtalonInputError(p, f"schema version {ds.attrs.get('schema_version')} not readable by this "
                               f"etalon (reads {SCHEMA_VERSION})")
    missing = [v for v in VARIABLES if v not in ds.variables]
    if missing:
        raise EtalonInputError(p, f"results file lacks variable(s) {', '.join(missing)}")
    return ds


def summary_table(source):
    """The campaign summary: channel, term, value, unc (module docstring).

    Parameters
    ----------
    source : CampaignResult or xarray.Dataset
        A result in memory, or a results file read back by :func:`read_results`.
    """
    from astropy.table import Table

    ds = source if hasattr(source, "data_vars") else to_dataset(source)
    rows = []
    versions = [str(v) for v in ds["po_version"].values]
    phases = [str(v) for v in ds["phase_name"].values]
    for i, ch in enumerate(str(c) for c in ds["channel"].values):
        for k, v in enumerate(versions):
            if int(ds["seg_n"].values[i, k]) > 0 and np.isfinite(ds["drift"].values[i, k]):
                rows.append((ch, f"drift:{v}", float(ds["drift"].values[i, k]),
                             float(ds["drift_unc"].values[i, k])))
        for k, v in enumerate(versions):
            if k and np.isfinite(ds["step"].values[i, k]):
                rows.append((ch, f"step:{v}", float(ds["step"].values[i, k]),
                             float(ds["step_unc"].values[i, k])))
                rows.append((ch, f"expected_step:{v}", float(ds["expected_step"].values[i, k]), 0.0))
        for j, name in enumerate(phases):
            if str(ds["phase_level_source"].values[i, j]) in ("as-processed", "reprocessed"):
                rows.append((ch, f"phase:{name}", float(ds["phase_level"].values[i, j]),
                             float(ds["phase_level_unc"].values[i, j])))
    tab = Table(rows=rows or None, names=("channel", "term", "value", "unc"),
                dtype=(str, str, float, float))
    tab["value"].description = "drift yr-1; step, expected_step, phase fractional"
    tab["unc"].description = "1-sigma uncertainty, unit of value"
    return tab


def write_summary(source, path: str | os.PathLike[str], inputs=(), parameters=None) -> None:
    """Write :func:`summary_table` as ECSV with provenance, atomically."""
    from etalon.fileio import atomic_output
    from etalon.provenance import table_provenance

    tab = summary_table(source)
    ds = source if hasattr(source, "data_vars") else None
    tab.meta.update(table_provenance("campaign summary", inputs, parameters))
    if ds is not None:
        tab.meta["po_versions"] = ds.attrs.get("po_versions")
    else:
        tab.meta["po_versions"] = json.dumps(source.po.versions)
        tab.meta["lunar_model"] = source.lunar_model
    with atomic_output(path) as tmp:
        tab.write(tmp, format="ascii.ecsv", overwrite=True)


def read_summary(path: str | os.PathLike[str]):
    """Read a summary ECSV back (checks the four columns)."""
    from astropy.table import Table

    from etalon.fileio import EtalonInputError, require_file

    p = require_file(path, "campaign summary")
    try:
        tab = Table.read(p, format="ascii.ecsv")
    except Exception as exc:
        raise EtalonInputError(p, f"cannot read as ECSV: {exc}") from exc
    missing = [c for c in ("channel", "term", "value", "unc") if c not in tab.colnames]
    if missing:
        raise EtalonInputError(p, f"summary lacks column(s) {', '.join(missing)}")
    return tab
