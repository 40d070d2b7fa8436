"""The calibration pipeline: configured steps in a fixed order, over a :class:`Frame`.

A :class:`Pipeline` is built from a TOML file or a dict (overlaying the NAV
default, ``etalon/data/ccd/nav_default.toml``). Every step of the mission's
science pipeline has a configured state, ``enabled``, ``skipped`` or
``disabled``, and a reason; the steps etalon does not implement (crosstalk,
smear, gap filling, MTF, ...) can only be skipped or disabled. At run time an
enabled step is *applied*, or skipped with a reason when the input's own
keywords say it was already applied (archive products: ``SATPIX``,
``DARKCORR``, ``FLATCORR``, ``BPIXFL`` = T) or when it does not apply to this
input (no overclock, already dark-subtracted data cannot be linearized).

Order (etalon's; the mission's section-5 order with bias, noise model and bad
pixel flagging placed where they serve): saturation, bitweight, tempvolt,
bias, linearity, noise, crosstalk, dark, smear, gain, flat, badpixels,
despike, clean, denoise, mtf, radiance, iof, geometric.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from etalon.ccd import reference as ref
from etalon.ccd.badpixels import flag_bad_pixels
from etalon.ccd.bias import frame_layout, has_navbias_keywords, has_serial_overclock, subtract_bias
from etalon.ccd.dark import subtract_dark
from etalon.ccd.despike import despike
from etalon.ccd.flat import flat_correct
from etalon.ccd.keywords import bool_keyword, set_keywords
from etalon.ccd.linearity import linearize
from etalon.ccd.noise import NoiseModel, initial_variance, snr_map
from etalon.ccd.radiance import AU_KM, to_iof, to_radiance
from etalon.ccd.saturation import flag_saturation
from etalon.ccd.step import FLAG_DESPIKED, FLAG_MISSING
from etalon.data import data_path
from etalon.fileio import EtalonInputError
from etalon.frame import Frame, read_frame
from etalon.nav.ccddata import ccddata_to_frame, frame_to_ccddata, write_product
from etalon.nav.layout import FrameLayout
from etalon.provenance import add_history, stamp_header

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["DEFAULT_CONFIG", "IRREVERSIBLE_STEPS", "STATES", "STEPS", "CalibrationResult",
           "Pipeline", "StepRecord", "calibrate_file", "calibrate_to", "collect_warnings",
           "reversible_path"]

log = logging.getLogger(__name__)

_quiet = threading.local()


@contextlib.contextmanager
def collect_warnings():
    """Within it, the pipeline does not log its warnings: the caller logs the returned ones.

    ``CalibrationResult.warnings`` and the ``warnings`` of :func:`calibrate_to` still
    hold every one (and HISTORY still records them). The command line uses it so that
    a warning raised in a batch worker is said once, by the main process. Per thread.
    """
    before = getattr(_quiet, "on", False)
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = before


def _log_warning(msg: str, *args) -> None:
    if not getattr(_quiet, "on", False):
        log.warning(msg, *args)

#: steps that cannot be undone (they replace pixel values): the reversible product
#: (CALTYPE ...REV, as the archive's RADREV) is made without them
IRREVERSIBLE_STEPS = ("despike", "clean", "denoise", "mtf")
#: frame-transfer time of the NAV CCDs, ms (5.2 ms for HRI/MRI/ITS, the issue's figure)
FRAME_TRANSFER_MS = 5.2

#: the NAV default configuration file
DEFAULT_CONFIG = data_path("ccd", "nav_default.toml")

STATES = ("enabled", "skipped", "disabled")


@dataclass(frozen=True)
class _StepSpec:
    keyword: str | None          # the mission's T/F keyword of the step (None: no keyword)
    implemented: bool
    params: dict[str, Any]       # accepted parameters and their defaults
    description: str


#: every step, in run order
STEPS: dict[str, _StepSpec] = {
    "saturation": _StepSpec("SATPIX", True, {"some": 11000, "most": 15000, "adc": 16383},
                            "flag saturated pixels on raw DN (bits 16, 32)"),
    "bitweight": _StepSpec("BITCORR", False, {}, "uneven bit weighting correction"),
    "tempvolt": _StepSpec("TMPVLTUP", False, {}, "temperature/voltage recalibration"),
    "bias": _StepSpec(None, True, {}, "subtract quadrant bias (serial overclock / NAVBIAS)"),
    "linearity": _StepSpec("LINEARIZ", True, {}, "linearize DN per quadrant"),
    "noise": _StepSpec(None, True, {"gain": 28.0, "read_noise": 1.0, "quantization": True},
                       "noise model: variance from gain, read and shot noise (linear DN)"),
    "crosstalk": _StepSpec("XTALK", False, {}, "electrical crosstalk removal"),
    "dark": _StepSpec("DARKCORR", True, {}, "subtract dark scaled with INTTIME and CCDT"),
    "smear": _StepSpec("SMEAR", True, {"transfer_ms": FRAME_TRANSFER_MS, "ccd_lines": 1008,
                                       "warn_fraction": 0.01},
                       "estimate frame-transfer smear and warn above warn_fraction (not removed)"),
    "gain": _StepSpec("GAINCORR", False, {}, "quadrant gain normalization"),
    "flat": _StepSpec("FLATCORR", True, {"min_flat": 0.1}, "divide by the flat field"),
    "badpixels": _StepSpec("BPIXFL", True, {}, "flag bad pixels (bit 1)"),
    "despike": _StepSpec("DESPIKE", True, {"threshold": 5.0, "contrast": 3.0,
                                           "grow_threshold": 3.0, "iterations": 2,
                                           "min_neighbours": 1, "tolerance": 0.01,
                                           "psf_fraction": 0.1},
                         "detect and replace spikes (bit 8)"),
    "clean": _StepSpec("CLEAN", False, {}, "fill small gaps"),
    "denoise": _StepSpec("DENOISE", False, {}, "random gaussian noise removal"),
    "mtf": _StepSpec("DECON", False, {}, "MTF correction (deconvolution)"),
    "radiance": _StepSpec("RADCAL", True, {}, "DN -> radiance with RADCAL per filter"),
    "iof": _StepSpec("IOFCAL", True, {"sun_distance_au": 0.0}, "radiance -> I/F"),
    "geometric": _StepSpec("GEOMCAL", False, {}, "geometric calibration"),
}


_ORDER = {name: i for i, name in enumerate(STEPS)}

#: keys accepted in the [pipeline] and [references] tables, and their types
_SECTIONS: dict[str, dict[str, type]] = {
    "pipeline": {"name": str, "description": str, "respect_input_keywords": bool},
    "references": {"source": str, "directory": str, "library": str, "dark": str, "flat": str,
                   "badpix": str, "linearity": str, "radcal": str},
}
#: values of references.source: the synthetic set (for the kinds not given), or files only
REFERENCE_SOURCES = ("synthetic", "files")


@dataclass(frozen=True)
class StepConfig:
    """Configured state of one step."""

    name: str
    state: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepRecord:
    """What a step did to one frame: outcome ``applied``, ``skipped`` or ``disabled``."""

    step: str
    configured: str
    outcome: str
    reason: str
    parameters: str = ""
    reference: str = ""


@dataclass
class CalibrationResult:
    """A calibrated frame, the record of every step, its uncertainty and synthetic references.

    Attributes
    ----------
    frame : Frame
        The calibrated frame (float32 data, NaN where missing).
    steps : list of StepRecord
        What every step did.
    uncertainty : numpy.ndarray or None
        One-sigma uncertainty in the data's unit (NaN where missing).
    synthetic : tuple of str
        Reference kinds taken from etalon's synthetic (illustrative) set.
    """

    frame: Frame
    steps: list[StepRecord]
    uncertainty: np.ndarray | None = None
    synthetic: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_ccddata(self):
        """The calibrated frame as :class:`astropy.nddata.CCDData` (unit, mask, uncertainty, flags)."""
        return frame_to_ccddata(self.frame, self.uncertainty)

    def step_table(self) -> Table:
        """The step records as a table (step, configured, outcome, reason, parameters, reference)."""
        names = ("step", "configured", "outcome", "reason", "parameters", "reference")
        return Table(rows=[tuple(getattr(r, n) for n in names) for r in self.steps] or None,
                     names=names, dtype=[str] * len(names))


def _load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise EtalonInputError(p, "configuration file does not exist")
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise EtalonInputError(p, f"not valid TOML ({exc})") from exc


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class Pipeline:
    """The configured calibration pipeline.

    Parameters
    ----------
    config : dict, optional
        Configuration (same structure as the TOML file), overlaid on the NAV default.
    source : str, optional
        Where the configuration came from (for error messages and HISTORY).
    base_dir : path, optional
        Folder against which relative reference paths resolve.

    Examples
    --------
    >>> pipe = Pipeline({"steps": {"despike": {"state": "disabled", "reason": "test"}}})
    >>> pipe.steps["despike"].state
    'disabled'
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, source: str | None = None,
                 base_dir: str | os.PathLike[str] | None = None):
        self.source = source or "dict"
        if config is not None and not isinstance(config, Mapping):
            raise self._error(f"configuration must be a mapping, got {type(config).__name__}")
        self.config = _merge(_load_toml(DEFAULT_CONFIG), config or {})
        self._check_sections()
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.name = str(self.config.get("pipeline", {}).get("name", "custom"))
        self.respect_input = bool(self.config.get("pipeline", {}).get("respect_input_keywords", True))
        self.steps = self._parse_steps(self.config.get("steps", {}))
        self._references: dict[Any, Any] = {}
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ construction
    @classmethod
    def default(cls) -> Pipeline:
        """The NAV configuration of the Navigation Images Report."""
        return cls(source=str(DEFAULT_CONFIG))

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Pipeline:
        """A pipeline from a TOML file (overlaid on the NAV default)."""
        p = Path(path)
        return cls(_load_toml(p), source=str(p), base_dir=p.parent)

    def _error(self, problem: str) -> EtalonInputError:
        return EtalonInputError(self.source, problem)

    def _check_sections(self) -> None:
        """Unknown tables or keys, and values of the wrong type, are errors naming the file."""
        unknown = sorted(set(self.config) - {*_SECTIONS, "steps"})
        if unknown:
            raise self._error(f"unknown table(s) {', '.join(unknown)}; known: pipeline, "
                              "references, steps")
        for section, keys in _SECTIONS.items():
            table = self.config.get(section, {})
            if not isinstance(table, Mapping):
                raise self._error(f"[{section}] must be a table")
            bad = sorted(set(table) - set(keys))
            if bad:
                raise self._error(f"[{section}]: unknown key(s) {', '.join(bad)}; "
                                  f"accepted: {', '.join(keys)}")
            for key, kind in keys.items():
                if key in table and not isinstance(table[key], kind):
                    raise self._error(f"[{section}] {key} must be a {kind.__name__}, "
                                      f"got {table[key]!r}")
        source = self.config.get("references", {}).get("source", "synthetic")
        if source not in REFERENCE_SOURCES:
            raise self._error(f"[references] source must be one of {REFERENCE_SOURCES}, "
                              f"got {source!r}")

    def _parse_steps(self, raw: Mapping[str, Any]) -> dict[str, StepConfig]:
        if not isinstance(raw, Mapping):
            raise self._error("[steps] must be a table of step tables")
        unknown = sorted(set(raw) - set(STEPS))
        if unknown:
            raise self._error(f"unknown step(s) {', '.join(unknown)}; known: {', '.join(STEPS)}")
        steps = {}
        for name, spec in STEPS.items():
            if not isinstance(raw.get(name, {}), Mapping):
                raise self._error(f"[steps.{name}] must be a table (state, reason, parameters)")
            entry = dict(raw.get(name, {}))
            state = entry.pop("state", "disabled")
            reason = entry.pop("reason", "not configured")
            if not isinstance(reason, str):
                raise self._error(f"step {name}: reason must be a string")
            if state not in STATES:
                raise self._error(f"step {name}: state must be one of {STATES}, got {state!r}")
            if state == "enabled" and not spec.implemented:
                raise self._error(f"step {name} ({spec.description}) is not implemented by etalon: "
                                  "it can only be skipped or disabled")
            bad = sorted(set(entry) - set(spec.params))
            if bad:
                raise self._error(f"step {name}: unknown parameter(s) {', '.join(bad)}; "
                                  f"accepted: {', '.join(spec.params) or 'none'}")
            params = {**spec.params, **entry}
            for key, default in spec.params.items():
                if isinstance(default, bool) and not isinstance(params[key], bool):
                    raise self._error(f"step {name}: {key} must be true or false")
                if isinstance(default, (int, float)) and not isinstance(default, bool):
                    if isinstance(params[key], bool) or not isinstance(params[key], (int, float)):
                        raise self._error(f"step {name}: {key} must be a number")
                    if isinstance(default, int) and not float(params[key]).is_integer():
                        raise self._error(f"step {name}: {key} must be an integer, "
                                          f"got {params[key]!r}")
            steps[name] = StepConfig(name, state, reason, params)
        return steps

    def table(self) -> Table:
        """Configured steps: step, state, reason, parameters (run order)."""
        rows = [(s.name, s.state, s.reason, ", ".join(f"{k}={v}" for k, v in s.params.items()))
                for s in self.steps.values()]
        return Table(rows=rows, names=("step", "state", "reason", "parameters"),
                     dtype=[str] * 4)

    # ------------------------------------------------------------------ references
    def _library(self):
        cfg = self.config.get("references", {})
        folder = cfg.get("library") or None
        if folder is None:
            return None, None
        p = Path(folder)
        if not p.is_absolute() and self.base_dir is not None:
            p = self.base_dir / p
        if "_library" not in self._references:
            self._references["_library"] = ref.scan_reference_library(p)
        return self._references["_library"], p

    def reference_path(self, kind: str, instrument: str, mode=None, filter_name=None
                       ) -> tuple[Path, bool]:
        """The ``kind`` reference file of a frame and whether it is etalon's synthetic one.

        Order: the explicit path of the configuration, else the best match of the
        ``[references] library`` folder by (instrument, IMGMODE, FILTER), else the
        synthetic set (``source = "synthetic"``).

        Raises
        ------
        EtalonInputError
            When nothing serves the frame (naming the library or the configuration).
        """
        cfg = self.config.get("references", {})
        value = cfg.get(kind) or None
        if value:
            p = Path(value)
            return (p if p.is_absolute() or self.base_dir is None else self.base_dir / p), False
        entries, folder = self._library()
        if entries is not None:
            if cfg.get("source", "synthetic") == "files" or any(
                    e.reftype == ref.REFTYPES[kind]
                    and e.instrument == ref.reference_instrument(instrument) for e in entries):
                return ref.select_reference(entries, kind, instrument, mode, filter_name,
                                            where=folder), False
        path = self.reference_set(instrument).paths()[kind]
        if path is None:
            raise self._error(f"no {kind} reference file configured for {instrument}")
        return path, cfg.get(kind) in (None, "")

    def reference_set(self, instrument: str) -> ref.ReferenceSet:
        """The reference files for ``instrument`` (explicit paths, else the synthetic set)."""
        cfg = self.config.get("references", {})
        explicit = {k: cfg.get(k) or None for k in ("dark", "flat", "badpix", "linearity", "radcal")}
        base = None
        if cfg.get("source", "synthetic") == "synthetic" and not all(explicit.values()):
            directory = cfg.get("directory") or None
            if directory and self.base_dir is not None:
                directory = self.base_dir / directory
            base = ref.synthetic_reference_set(instrument, directory)
        paths = {}
        for kind, value in explicit.items():
            if value:
                p = Path(value)
                paths[kind] = p if p.is_absolute() or self.base_dir is None else self.base_dir / p
            else:
                paths[kind] = None if base is None else base.paths()[kind]
        return ref.ReferenceSet(instrument=ref.reference_instrument(instrument), **paths)

    def _reference(self, kind: str, instrument: str, shape: tuple[int, ...] | None,
                   mode=None, filter_name=None):
        """(reference, synthetic?) of ``kind`` for a frame of (instrument, mode, filter)."""
        key = (kind, ref.reference_instrument(instrument), tuple(shape or ()),
               None if mode is None else str(mode), None if filter_name is None else filter_name)
        if key not in self._references:
            path, synthetic = self.reference_path(kind, instrument, mode, filter_name)
            sel = {"mode": mode, "filter_name": filter_name, "check_selection": True}
            loader = {"dark": ref.load_dark, "flat": ref.load_flat, "badpix": ref.load_bad_pixels}
            if kind in loader:
                value = loader[kind](path, instrument, shape, **sel)
            elif kind == "linearity":
                value = ref.load_linearity(path, instrument, **sel)
            else:
                value = ref.load_radcal(path, instrument, mode=mode, check_selection=True)
            synthetic = synthetic or _is_synthetic_file(path)
            self._references[key] = (value, synthetic)
            if synthetic and kind not in self._warned:
                self._warned.add(kind)
                _log_warning("ccd calibrate: no %s reference given for %s: using etalon's synthetic "
                            "%s (illustrative, not the mission's; CALSYNTH = T in the products)",
                            kind, ref.reference_instrument(instrument), Path(path).name)
        return self._references[key]

    # ------------------------------------------------------------------ running
    def run(self, frame, *, reversible: bool = False):
        """Calibrate ``frame`` (not modified).

        Parameters
        ----------
        frame : Frame or astropy.nddata.CCDData
            A frame (``read_frame``) or a CCDData (``CCDData.read`` of an etalon
            product; its uncertainty, when it has one, stands for the SNR).
        reversible : bool
            Leave out the irreversible steps (:data:`IRREVERSIBLE_STEPS`): the
            archive's reversible product (CALTYPE ``RADREV``...).

        Returns
        -------
        CalibrationResult or CCDData
            For a Frame: the new frame, the step records, the uncertainty. For a
            CCDData: the calibrated CCDData (unit, mask, uncertainty, flags, header
            with the step HISTORY).

        Raises
        ------
        EtalonInputError
            Naming the frame's file, when a keyword an enabled step needs is
            missing (INTTIME, CCDT, FILTER), the bias cannot be removed, or no
            reference serves the frame's (instrument, mode, filter).
        """
        as_ccd = not isinstance(frame, Frame)
        if as_ccd:
            frame = _frame_of(frame)
        run = _Run(self, frame, reversible=reversible)
        for name in STEPS:
            run.do(name)
        result = run.finish()
        return result.to_ccddata() if as_ccd else result


def _is_synthetic_file(path) -> bool:
    """True when a reference file says it is etalon's synthetic set (ORIGIN keyword)."""
    from astropy.io import fits

    try:
        return str(fits.getval(path, "ORIGIN", 0)).strip().lower().startswith("etalon synthetic")
    except (OSError, KeyError):
        return False


def _frame_of(ccd) -> Frame:
    """A Frame from a CCDData (SNR from its uncertainty)."""
    try:
        frame, unc = ccddata_to_frame(ccd)
    except AttributeError:
        raise TypeError(f"Pipeline.run takes an etalon Frame or an astropy CCDData, not "
                        f"{type(ccd).__name__}") from None
    if unc is not None and np.issubdtype(frame.data.dtype, np.floating):
        with np.errstate(divide="ignore", invalid="ignore"):
            frame.snr = np.where(unc > 0, frame.data / unc, 0).astype(np.float32)
    return frame


class _Run:
    """State of one frame going through the pipeline."""

    def __init__(self, pipeline: Pipeline, frame: Frame, reversible: bool = False):
        self.p = pipeline
        self.reversible = reversible
        self.synthetic: list[str] = []
        self.warnings: list[str] = []
        self.frame = frame
        self.source = frame.source or "frame"
        self.data = frame.data
        self.flags = np.array(frame.flags, dtype=np.uint8)
        self.header = frame.header.copy()
        self.input_header = frame.header
        self.variance: np.ndarray | None = None
        self.layout = frame_layout(frame.data.shape, frame.header)
        self.extracted = False
        self.records: list[StepRecord] = []
        self.instrument = str(frame.header.get("INSTRUME", "")).strip().upper()
        self.references_used: list[str] = []
        self.snr_from_input = False

    # -- helpers
    def fail(self, problem: str) -> EtalonInputError:
        return EtalonInputError(self.source, problem)

    def number(self, key: str, why: str) -> float:
        value = self.header.get(key)
        if value is None or isinstance(value, str) or not np.isfinite(float(value)):
            raise self.fail(f"keyword {key} missing or not a number: {why}")
        return float(value)

    def reference(self, kind: str, shape: tuple[int, ...] | None):
        """The ``kind`` reference of this frame's (instrument, IMGMODE, FILTER), clear errors."""
        mode = self.input_header.get("IMGMODE")
        filt = str(self.header.get("FILTER", "")).strip().upper() or None
        try:
            value, synthetic = self.p._reference(kind, self.instrument, shape, mode, filt)
        except EtalonInputError as exc:
            raise EtalonInputError(exc.path, f"{exc.problem} (frame {self.source})") from None
        except ValueError as exc:  # no synthetic reference set for this INSTRUME
            raise self.fail(f"INSTRUME is {self.instrument or 'absent'!r}: no {kind} reference "
                            f"({exc})") from None
        if synthetic and kind not in self.synthetic:
            self.synthetic.append(kind)
        return value

    def warn(self, text: str) -> None:
        """A degraded result: logged, and a HISTORY warning line."""
        self.warnings.append(text)
        _log_warning("%s: %s", self.source, text)
        add_history(self.header, f"etalon WARNING: {text}")

    def already(self, keyword: str) -> bool:
        return self.p.respect_input and bool_keyword(self.input_header, keyword)

    def record(self, cfg: StepConfig, outcome: str, reason: str, reference: str = "") -> None:
        params = ", ".join(f"{k}={v}" for k, v in cfg.params.items()) if outcome == "applied" else ""
        self.records.append(StepRecord(cfg.name, cfg.state, outcome, reason, params, reference))
        if reference:
            self.references_used.append(reference)

    def apply(self, out) -> None:
        self.data, self.flags, self.header, self.variance = out

    def extract_image(self) -> None:
        if not self.extracted:
            self.data = np.array(self.layout.extract(self.data), dtype=np.float32)
            self.flags = np.array(self.layout.extract(self.flags), dtype=np.uint8)
            if self.variance is not None:
                self.variance = np.array(self.layout.extract(self.variance))
            self.extracted = True

    # -- steps
    def do(self, name: str) -> None:
        cfg = self.p.steps[name]
        spec = STEPS[name]
        if _ORDER[name] > _ORDER["bias"]:
            self.extract_image()
        if spec.keyword and self.already(spec.keyword):
            # the input's own record wins over the configured state (archive: XTALK = T)
            self.record(cfg, "skipped", f"already applied to the input ({spec.keyword} = T)")
            return
        if cfg.state != "enabled":
            if spec.keyword and spec.keyword not in self.header:
                set_keywords(self.header, {spec.keyword: False})
            self.record(cfg, cfg.state, cfg.reason)
            return
        if self.reversible and name in IRREVERSIBLE_STEPS:
            if spec.keyword:
                set_keywords(self.header, {spec.keyword: False})
            self.record(cfg, "skipped", "reversible product: irreversible step left out")
            return
        getattr(self, f"step_{name}")(cfg)

    def step_saturation(self, cfg: StepConfig) -> None:
        if self.already("DARKCORR") or str(self.header.get("CALTYPE", "")).strip() in ("RAD", "IF"):
            self.record(cfg, "skipped", "input is not raw DN (already calibrated): saturation "
                                        "levels apply to raw DN only")
            set_keywords(self.header, {"SATPIX": False})
            return
        p = cfg.params
        self.apply(flag_saturation(self.data, self.flags, self.header, some=p["some"],
                                   most=p["most"], adc=p["adc"]))
        self.record(cfg, "applied", cfg.reason)

    def step_bias(self, cfg: StepConfig) -> None:
        biasfn = str(self.input_header.get("BIASFN", "")).strip()
        if self.p.respect_input and (biasfn or bool_keyword(self.input_header, "DARKCORR")):
            self.record(cfg, "skipped", f"input already bias-subtracted (BIASFN = {biasfn!r})")
        elif has_serial_overclock(self.layout):
            problem = self._bias_problem()
            if problem is None and str(self.header.get("PREPTYPE", "")).strip() == "NAV" \
                    and not has_navbias_keywords(self.header):
                problem = "NAVBIAS1..4 missing from a pre-processed NAV frame"
            if problem:
                raise self.fail(f"{problem}: the overclock cannot be checked against the "
                                "bias table; re-run etalon nav preprocess")
            self.apply(subtract_bias(self.data, self.flags, self.header, self.layout))
            self.extracted = True
            self.record(cfg, "applied", "quadrant biases from the serial overclock")
            return
        elif has_navbias_keywords(self.header):
            biases = tuple(float(self.header[f"NAVBIAS{n}"]) for n in range(1, 5))
            self.apply(subtract_bias(self.data, self.flags, self.header, self.layout,
                                     biases=biases))
            self.extracted = True
            self.record(cfg, "applied", "quadrant biases from the NAVBIAS keywords (no overclock)")
            return
        else:
            raise self.fail(self._bias_problem() or "no serial overclock and no NAVBIAS1..4 "
                            "keywords: the bias (~400 DN) cannot be removed; pre-process the "
                            "frame (etalon nav preprocess) or disable the bias step")
        self.extract_image()

    def _bias_problem(self) -> str | None:
        present = [n for n in range(1, 5) if f"NAVBIAS{n}" in self.header]
        if 0 < len(present) < 4:
            missing = ", ".join(f"NAVBIAS{n}" for n in range(1, 5) if n not in present)
            return f"{missing} missing (the other quadrants have theirs): bias not removed"
        return None

    def step_noise(self, cfg: StepConfig) -> None:
        p = cfg.params
        model = NoiseModel(gain=float(p["gain"]), read_noise=float(p["read_noise"]),
                           quantization=bool(p["quantization"]))
        calibrated = self.already("DARKCORR") or self.already("FLATCORR")
        if calibrated and self.frame.snr is not None:
            snr = np.asarray(self.frame.snr, dtype=np.float32)
            modelled = model.variance(np.abs(self.data))
            with np.errstate(divide="ignore", invalid="ignore"):
                var = np.where(snr != 0, (self.data / snr) ** 2, modelled)
            self.variance = np.where(np.isfinite(var) & (var > 0), var, modelled).astype(np.float32)
            self.snr_from_input = True
            add_history(self.header, "etalon ccd noise: variance from the input's SNR extension")
            self.record(cfg, "skipped", "input already calibrated: variance from its SNR extension")
            return
        self.apply(initial_variance(self.data, self.flags, self.header, model))
        self.record(cfg, "applied", cfg.reason)

    def step_linearity(self, cfg: StepConfig) -> None:
        if self.already("DARKCORR"):
            self.record(cfg, "skipped", "input already dark-subtracted (DARKCORR = T): "
                                        "linearity applies to bias-subtracted raw DN only")
            return
        reference = self.reference("linearity", None)
        self.apply(linearize(self.data, self.flags, self.header, reference,
                             variance=self.variance))
        self.record(cfg, "applied", cfg.reason, reference.name)

    def step_dark(self, cfg: StepConfig) -> None:
        inttime = self.number("INTTIME", "the dark scales with the integration time (ms)")
        if inttime <= 0:
            raise self.fail(f"INTTIME = {inttime:g} ms: the dark scales with the integration "
                            "time, which must be positive (commanded exposure + 3.5 ms)")
        reference = self.reference("dark", self.data.shape)
        ccdt = self.number("CCDT", "the dark scales with the CCD temperature (K)")
        known = ccdt > 0
        if not known:  # the archive's -9999 "no value": pre-processing found no science image
            ccdt = reference.t_ref_k
            set_keywords(self.header, {"DRKTDEF": True})
            self.warn(f"CCDT unknown ({self.header.get('CCDT')}): dark at the reference's "
                      f"temperature {ccdt:.3f} K")
        self.apply(subtract_dark(self.data, self.flags, self.header, reference,
                                 inttime_ms=inttime, ccdt_k=float(ccdt), variance=self.variance))
        self.record(cfg, "applied", cfg.reason if known else
                    f"{cfg.reason}; CCDT unknown: reference temperature {ccdt:.3f} K used",
                    reference.name)

    def step_smear(self, cfg: StepConfig) -> None:
        from etalon.ccd.smear import estimate_smear

        inttime = self.number("INTTIME", "smear is the transfer time over the integration time")
        if inttime <= 0:
            raise self.fail(f"INTTIME = {inttime:g} ms: must be positive")
        p = cfg.params
        est = estimate_smear(self.data, self.flags, inttime_ms=inttime,
                             transfer_ms=float(p["transfer_ms"]), ccd_lines=int(p["ccd_lines"]))
        set_keywords(self.header, {"SMEAR": False, "SMEARFRC": round(est.fraction, 5),
                                   "SMEARMAX": round(est.max_dn, 3)})
        add_history(self.header, f"etalon ccd smear: estimated, not removed: up to "
                                 f"{est.max_dn:.2f} DN added to column {est.column} "
                                 f"({100 * est.fraction:.2f} % of its brightest pixel), transfer "
                                 f"{p['transfer_ms']} ms over INTTIME {inttime:g} ms")
        if est.fraction > float(p["warn_fraction"]):
            self.warn(f"frame-transfer smear not removed: {100 * est.fraction:.1f} % of the "
                      f"brightest pixel of column {est.column} ({est.max_dn:.1f} DN) is added to "
                      f"every pixel of that column (threshold {100 * float(p['warn_fraction']):g} %)")
        self.record(cfg, "applied", f"estimated {100 * est.fraction:.2f} % (not removed)")

    def step_flat(self, cfg: StepConfig) -> None:
        reference = self.reference("flat", self.data.shape)
        self.apply(flat_correct(self.data, self.flags, self.header, reference,
                                min_flat=float(cfg.params["min_flat"]), variance=self.variance))
        self.record(cfg, "applied", cfg.reason, reference.name)

    def step_badpixels(self, cfg: StepConfig) -> None:
        reference = self.reference("badpix", self.data.shape)
        self.apply(flag_bad_pixels(self.data, self.flags, self.header, reference,
                                   variance=self.variance))
        self.record(cfg, "applied", cfg.reason, reference.name)

    def step_despike(self, cfg: StepConfig) -> None:
        if self.variance is None:
            self.record(cfg, "skipped", "no noise model (noise step not enabled)")
            set_keywords(self.header, {"DESPIKE": False})
            return
        p = cfg.params
        self.apply(despike(self.data, self.flags, self.header, threshold=float(p["threshold"]),
                           contrast=float(p["contrast"]), grow_threshold=float(p["grow_threshold"]),
                           iterations=int(p["iterations"]), min_neighbours=int(p["min_neighbours"]),
                           tolerance=float(p["tolerance"]),
                           psf_fraction=float(p["psf_fraction"]), variance=self.variance))
        self.record(cfg, "applied", cfg.reason)

    def _filter(self) -> str:
        name = str(self.header.get("FILTER", "")).strip().upper()
        if not name or name == "UNKNOWN":
            raise self.fail(f"FILTER is {name or 'absent'!r}: radiometric calibration needs the "
                            "filter (pre-processing's sequence table)")
        return name

    def step_radiance(self, cfg: StepConfig) -> None:
        reference = self.reference("radcal", None)
        name = self._filter()
        inttime = self.number("INTTIME", "radiance is per second of integration (ms)")
        if inttime <= 0:
            raise self.fail(f"INTTIME = {inttime:g} ms: radiance is per second of integration, "
                            "it needs a positive integration time")
        try:
            out = to_radiance(self.data, self.flags, self.header, reference, filter_name=name,
                              inttime_ms=inttime, variance=self.variance)
        except KeyError:
            raise self.fail(f"FILTER {name!r} is not in the RADCAL table {reference.name} "
                            f"(filters: {', '.join(sorted(reference.constants))})") from None
        self.apply(out)
        self.record(cfg, "applied", cfg.reason, reference.name)

    def step_iof(self, cfg: StepConfig) -> None:
        if not (bool_keyword(self.header, "RADCAL")):
            raise self.fail("I/F needs radiance: enable the radiance step")
        reference = self.reference("radcal", None)
        distance = float(cfg.params["sun_distance_au"])
        if distance <= 0:
            distance = self.number("TARSUNR", "I/F needs the target-Sun distance (km), or set "
                                              "sun_distance_au") / AU_KM
        self.apply(to_iof(self.data, self.flags, self.header, reference,
                          filter_name=self._filter(), sun_distance_au=distance,
                          variance=self.variance))
        self.record(cfg, "applied", cfg.reason, reference.name)

    # -- end
    def finish(self) -> Frame:
        self.extract_image()
        h = self.header
        valid = (self.flags & FLAG_MISSING) == 0
        values = self.data[valid & np.isfinite(self.data)]
        stats = {"MISSPXCT": int((~valid).sum())}
        if values.size:
            stats.update(DATAMIN=round(float(values.min()), 4), DATAMAX=round(float(values.max()), 4),
                         MEDPVAL=round(float(np.median(values)), 4),
                         STDPVAL=round(float(values.std()), 4))
        stats["DESPIKCT"] = int(np.count_nonzero(self.flags & FLAG_DESPIKED))
        set_keywords(h, stats)
        caltype = str(h.get("CALTYPE", "")).strip().upper()
        if caltype in ("", "RAW"):  # decoded NAV frames say RAW
            caltype = "DN"
            set_keywords(h, {"BUNIT": "DN", "BUNITARC": "DATA NUMBER"})
        if caltype.endswith("REV"):
            caltype = caltype[:-3]
        # etalon wrote this file: PGMNAME names the program that produced it (archive: DICAL)
        set_keywords(h, {"PGMNAME": "ETALON"})
        irreversible = any(r.outcome == "applied" and r.step in IRREVERSIBLE_STEPS
                           for r in self.records) or bool_keyword(self.input_header, "DESPIKE")
        set_keywords(h, {"CALTYPE": caltype if irreversible else caltype + "REV",
                         "CALCFG": self.p.name})
        synthetic = bool(self.synthetic) or bool_keyword(self.input_header, "CALSYNTH")
        if self.synthetic:
            add_history(h, "etalon WARNING: synthetic reference(s) used ("
                        + ", ".join(self.synthetic) + "): etalon's illustrative set, not the "
                        "mission's calibration")
        set_keywords(h, {"CALSYNTH": synthetic})
        if self.extracted and self.layout.frame_shape != self.layout.image_shape:
            FrameLayout.without_overclock(self.layout.image_shape).to_header(h)
        snr = None
        if self.variance is not None:
            snr = snr_map(self.data, self.variance, self.flags)
            if self.snr_from_input:
                keep = (self.flags & FLAG_DESPIKED) == 0
                snr = np.where(keep, np.asarray(self.frame.snr, np.float32), snr)
        elif self.frame.snr is not None and self.frame.snr.shape == self.data.shape:
            snr = np.asarray(self.frame.snr, np.float32)
        applied = [r.step for r in self.records if r.outcome == "applied"]
        stamp_header(h, "ccd calibrate", inputs=[self.source, *self.references_used],
                     parameters={"config": f"{self.p.name} ({Path(self.p.source).name})",
                                 "applied": "+".join(applied) or "none",
                                 "reversible": self.reversible})
        data = np.array(self.data, dtype=np.float32)
        missing = (self.flags & FLAG_MISSING) != 0
        data[missing] = np.nan  # the quality map says why
        uncertainty = None
        if self.variance is not None:
            with np.errstate(invalid="ignore"):
                uncertainty = np.sqrt(np.asarray(self.variance, np.float32))
            if self.snr_from_input:
                keep = (self.flags & FLAG_DESPIKED) == 0
                with np.errstate(divide="ignore", invalid="ignore"):
                    from_snr = np.abs(data) / np.abs(np.asarray(self.frame.snr, np.float32))
                uncertainty = np.where(keep & np.isfinite(from_snr), from_snr, uncertainty)
            uncertainty = np.where(missing, np.nan, uncertainty).astype(np.float32)
        frame = Frame(data=data, flags=self.flags, header=h, snr=snr, snips=self.frame.snips,
                      source=self.frame.source)
        return CalibrationResult(frame, self.records, uncertainty, tuple(self.synthetic),
                                 tuple(self.warnings))


def product_paths(path: str | os.PathLike[str], output_dir: str | os.PathLike[str]
                  ) -> dict[str, Path]:
    """Products of one input: ``cal`` (``<stem>_cal.fits``, with the irreversible steps) and
    ``rev`` (``<stem>_calrev.fits``, reversible steps only, as the archive's RADREV)."""
    stem = Path(path).stem
    return {"cal": Path(output_dir) / f"{stem}_cal.fits",
            "rev": Path(output_dir) / f"{stem}_calrev.fits"}


def reversible_path(out: str | os.PathLike[str]) -> Path:
    """The reversible product beside ``out``: ``x_cal.fits`` -> ``x_calrev.fits``."""
    o = Path(out)
    suffix = "".join(o.suffixes[-1:]) or ".fits"
    return o.with_name(o.name[: len(o.name) - len(suffix)] + "rev" + suffix)


def calibrate_to(frame: Frame | str | os.PathLike[str], out: str | os.PathLike[str],
                 pipeline: Pipeline | None = None, *, reversible: bool = True) -> dict:
    """Calibrate one frame into ``out`` (and its reversible product); the input is only read.

    Writes ``out`` (every enabled step; CALTYPE ``DN``, ``RAD`` or ``IF``) and, with
    ``reversible`` (default) when an irreversible step (despike...) was applied,
    :func:`reversible_path` (``<name>rev.fits``) without the irreversible steps
    (CALTYPE ``DNREV``, ``RADREV``, ``IFREV``), as the archive separates RADREV
    from RAD. Both open with ``CCDData.read`` (unit, MASK, UNCERT).

    Returns
    -------
    dict
        ``output``, ``reversible`` (path or None), ``warnings`` (degraded results
        and defaults taken, also in HISTORY), ``synthetic`` (reference kinds taken
        from etalon's illustrative set).
    """
    pipeline = pipeline or Pipeline.default()
    if not isinstance(frame, Frame):
        frame = read_frame(frame)
    result = pipeline.run(frame)
    warnings = list(result.warnings)
    write_product(result.frame, out, result.uncertainty)
    rev_out = None
    if reversible and any(r.step in IRREVERSIBLE_STEPS and r.outcome == "applied"
                          for r in result.steps):
        rev_out = reversible_path(out)
        with collect_warnings():  # the same warnings again: said once, by the first run
            rev = pipeline.run(frame, reversible=True)
        write_product(rev.frame, rev_out, rev.uncertainty)
    if result.synthetic:
        warnings.append("synthetic reference(s) " + ", ".join(result.synthetic) + ": etalon's "
                        "illustrative set, not the mission's (CALSYNTH = T)")
    return {"output": str(out), "reversible": None if rev_out is None else str(rev_out),
            "warnings": warnings, "synthetic": list(result.synthetic)}


def calibrate_file(path: str | os.PathLike[str], output_dir: str | os.PathLike[str],
                   config: str | os.PathLike[str] | Mapping[str, Any] | None = None, *,
                   reversible: bool = True) -> str:
    """Read a FITS frame, calibrate it into ``<output_dir>/<stem>_cal.fits``; return its path.

    With ``reversible``, also ``<stem>_calrev.fits`` (see :func:`calibrate_to`).
    ``config``: a TOML path, a dict, or None (NAV default). The input is never modified.
    """
    if config is None:
        pipeline = Pipeline.default()
    elif isinstance(config, Mapping):
        pipeline = Pipeline(config)
    else:
        pipeline = Pipeline.from_toml(config)
    src = Path(path)
    out = Path(output_dir) / f"{src.stem}_cal.fits"
    for o in (out, reversible_path(out)):
        if o.resolve() == src.resolve():
            raise EtalonInputError(src, "output would overwrite the input")
    return calibrate_to(src, out, pipeline, reversible=reversible)["output"]
