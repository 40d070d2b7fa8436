"""In-flight acceptance after the orbit change: criteria per band, pass/fail with the figures.

Criteria come from a TOML file::

    phase = "VM5"              # the phase under acceptance
    reference_phase = "VM1"    # the phase it is compared with

    [default]
    max_phase_offset = 0.01    # |level(VM5) / level(VM1) - 1|, fractional
    max_abs_drift = 0.01       # |drift within VM5|, per year
    min_n = 20                 # kept acquisitions in VM5

    [bands.B1]                 # overrides for one band
    max_phase_offset = 0.02

A band passes when every criterion holds on the *measured value*: ``n >= min_n``,
``|offset| <= max_phase_offset`` and ``|drift| <= max_abs_drift``. The table also gives each
figure's uncertainty and the margin in sigmas (``(threshold - |value|) / unc``: negative when it
fails, small when the verdict could flip within the uncertainty), so a verdict is never given
without the number behind it. A band without a figure (no acquisition in the phase) fails with
the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import tomllib

from etalon.cliutil import UsageError
from etalon.fileio import EtalonInputError, require_file

__all__ = ["DEFAULT_CRITERIA_TOML", "AcceptanceCriteria", "default_criteria", "evaluate_acceptance",
           "read_criteria", "write_acceptance"]

#: the project's default criteria (used, with a warning, when no file is given)
DEFAULT_CRITERIA_TOML = """\
phase = "VM5"
reference_phase = "VM1"

[default]
max_phase_offset = 0.01
max_abs_drift = 0.01
min_n = 20
"""

KEYS = {"max_phase_offset": float, "max_abs_drift": float, "min_n": int}


@dataclass
class AcceptanceCriteria:
    """Acceptance criteria.

    Attributes
    ----------
    phase, reference_phase : str
    default : dict
        ``max_phase_offset`` (fractional), ``max_abs_drift`` (yr-1), ``min_n``.
    bands : dict of str to dict
        Per-band overrides.
    path : str
    """

    phase: str
    reference_phase: str
    default: dict
    bands: dict
    path: str = ""

    def for_band(self, band: str) -> dict:
        out = dict(self.default)
        out.update(self.bands.get(band, {}))
        return out


def _check_keys(table: dict, where: str, path: str) -> dict:
    out = {}
    for k, v in table.items():
        if k not in KEYS:
            raise UsageError(f"{path}: unknown criterion {k!r} in [{where}] (known: {', '.join(KEYS)})")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise UsageError(f"{path}: criterion {k} in [{where}] must be a number, got {v!r}")
        if v < 0:
            raise UsageError(f"{path}: criterion {k} in [{where}] must be >= 0, got {v}")
        out[k] = KEYS[k](v)
    return out


def default_criteria() -> AcceptanceCriteria:
    """The criteria of :data:`DEFAULT_CRITERIA_TOML`."""
    return _criteria_from_dict(tomllib.loads(DEFAULT_CRITERIA_TOML), "<default criteria>")


def read_criteria(path: str | os.PathLike[str]) -> AcceptanceCriteria:
    """Read and validate a criteria TOML file (module docstring).

    Raises
    ------
    etalon.cliutil.UsageError
        Unknown keys, non-numeric or negative thresholds, a missing ``[default]`` criterion.
    etalon.fileio.EtalonInputError
        The file cannot be read or is not TOML.
    """
    p = require_file(path, "acceptance criteria")
    try:
        cfg = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EtalonInputError(p, f"not valid TOML: {exc}") from exc
    return _criteria_from_dict(cfg, str(p))


def _criteria_from_dict(cfg: dict, p: str) -> AcceptanceCriteria:
    unknown = set(cfg) - {"phase", "reference_phase", "default", "bands"}
    if unknown:
        raise UsageError(f"{p}: unknown key(s) {sorted(unknown)} "
                         "(known: phase, reference_phase, default, bands)")
    default = _check_keys(cfg.get("default", {}), "default", p)
    missing = [k for k in KEYS if k not in default]
    if missing:
        raise UsageError(f"{p}: [default] lacks criterion(s) {', '.join(missing)}")
    bands = {}
    for b, t in cfg.get("bands", {}).items():
        if not isinstance(t, dict):
            raise UsageError(f"{p}: [bands.{b}] must be a table")
        bands[str(b)] = _check_keys(t, f"bands.{b}", p)
    return AcceptanceCriteria(str(cfg.get("phase", "VM5")), str(cfg.get("reference_phase", "VM1")),
                              default, bands, p)


def evaluate_acceptance(ds, criteria: AcceptanceCriteria):
    """Pass/fail table per band from a results dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`etalon.campaign.results.read_results` (or ``to_dataset``).
    criteria : AcceptanceCriteria

    Returns
    -------
    astropy.table.Table
        channel, n, min_n, pass_n, phase_offset, phase_offset_unc, max_phase_offset,
        margin_offset_sigma, pass_offset, drift, drift_unc, max_abs_drift, margin_drift_sigma,
        pass_drift, verdict (PASS/FAIL), reason.
    """
    from astropy.table import Table

    phases = [str(p) for p in ds["phase_name"].values]
    for name in (criteria.phase, criteria.reference_phase):
        if name not in phases:
            raise UsageError(f"phase {name} is not in the results (phases: {', '.join(phases)})")
    j = phases.index(criteria.phase)
    jr = phases.index(criteria.reference_phase)
    rows = []
    for i, ch in enumerate(str(c) for c in ds["channel"].values):
        crit = criteria.for_band(ch)
        n = int(ds["phase_n"].values[i, j])
        lev, lev_u = float(ds["phase_level"].values[i, j]), float(ds["phase_level_unc"].values[i, j])
        lr, lr_u = float(ds["phase_level"].values[i, jr]), float(ds["phase_level_unc"].values[i, jr])
        # offset of the phase against the reference phase (both relative to the first phase)
        off = (1 + lev) / (1 + lr) - 1
        off_u = float(np.hypot(lev_u, lr_u))
        d, du = float(ds["phase_drift"].values[i, j]), float(ds["phase_drift_unc"].values[i, j])
        reasons = []
        pass_n = n >= crit["min_n"]
        if not pass_n:
            reasons.append(f"n {n} < {crit['min_n']}")
        pass_off = bool(np.isfinite(off) and abs(off) <= crit["max_phase_offset"])
        if not pass_off:
            reasons.append("no phase level" if not np.isfinite(off) else
                           f"|offset| {abs(off):.4g} > {crit['max_phase_offset']:.4g}")
        pass_d = bool(np.isfinite(d) and abs(d) <= crit["max_abs_drift"])
        if not pass_d:
            reasons.append("no drift" if not np.isfinite(d) else
                           f"|drift| {abs(d):.4g}/yr > {crit['max_abs_drift']:.4g}/yr")

        def margin(thr, v, u):
            return (thr - abs(v)) / u if np.isfinite(v) and u > 0 else np.nan

        rows.append((ch, n, crit["min_n"], pass_n, off, off_u, crit["max_phase_offset"],
                     margin(crit["max_phase_offset"], off, off_u), pass_off, d, du, crit["max_abs_drift"],
                     margin(crit["max_abs_drift"], d, du), pass_d,
                     "PASS" if (pass_n and pass_off and pass_d) else "FAIL", "; ".join(reasons)))
    names = ("channel", "n", "min_n", "pass_n", "phase_offset", "phase_offset_unc", "max_phase_offset",
             "margin_offset_sigma", "pass_offset", "drift", "drift_unc", "max_abs_drift",
             "margin_drift_sigma", "pass_drift", "verdict", "reason")
    tab = Table(rows=rows or None, names=names,
                dtype=(str, int, int, bool, float, float, float, float, bool, float, float, float, float,
                       bool, str, str))
    for c in ("drift", "drift_unc", "max_abs_drift"):
        tab[c].unit = "1 / yr"
    tab.meta.update({"phase": criteria.phase, "reference_phase": criteria.reference_phase,
                     "criteria_file": os.path.basename(criteria.path),
                     "rule": "PASS when n >= min_n, |phase_offset| <= max_phase_offset and "
                             "|drift| <= max_abs_drift (measured values); margins in sigmas"})
    return tab


def write_acceptance(tab, path: str | os.PathLike[str], inputs=(), parameters=None) -> None:
    """Write the acceptance table as ECSV with provenance, atomically."""
    from etalon.fileio import atomic_output
    from etalon.provenance import table_provenance

    tab = tab.copy()
    tab.meta.update(table_provenance("campaign acceptance", inputs, parameters))
    with atomic_output(path) as tmp:
        tab.write(tmp, format="ascii.ecsv", overwrite=True)
