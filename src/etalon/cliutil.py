"""The one command-line convention every ``etalon`` command follows.

- ``-o/--output FILE`` names one output file; ``--output-dir DIR`` a folder for many;
- ``--no-progress`` hides progress bars; ``-q/--quiet`` shows errors only, ``-v/--verbose``
  adds info and debug messages; ``--log-format json`` writes one JSON object per log line;
- ``--scheduler ADDRESS`` sends batches to an existing dask.distributed cluster;
- exit codes: 0 done, 1 done but some inputs failed (listed), 2 bad input or configuration.

Messages go through :mod:`logging` (one logger per module, ``logging.getLogger(__name__)``);
:func:`setup_logging`, called once by :func:`etalon.cli.main`, installs the one handler on
the ``etalon`` logger, writing to standard error. Every default taken and every degraded
result is logged as a warning.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "add_common_options",
    "check_outputs",
    "output_dir_or_error",
    "setup_logging",
    "show_progress",
    "unique_inputs",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

log = logging.getLogger(__name__)


class UsageError(ValueError):
    """Bad command-line input or configuration: printed as one line, exit code 2."""


def add_common_options(parser: argparse.ArgumentParser, *, output: str | None = "file",
                       output_required: bool = False, progress: bool = True,
                       scheduler: bool = False) -> None:
    """Add the conventional options to a command's parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    output : {"file", "dir", "both", None}
        ``"file"`` adds ``-o/--output FILE``; ``"dir"`` adds ``--output-dir DIR``; ``"both"``
        adds both, mutually exclusive; None adds neither.
    output_required : bool
        Whether one of the output options must be given.
    progress : bool
        Add ``--no-progress``.
    scheduler : bool
        Add ``--scheduler ADDRESS`` (batch commands).
    """
    if output is not None:
        target = (parser.add_mutually_exclusive_group(required=output_required)
                  if output == "both" else parser)
        kw = {"required": output_required} if output != "both" else {}
        if output in ("file", "both"):
            target.add_argument("-o", "--output", metavar="FILE", default=None,
                                help="output file (written to a temporary file, then renamed)", **kw)
        if output in ("dir", "both"):
            target.add_argument("--output-dir", metavar="DIR", default=None,
                                help="output folder (created if needed)", **kw)
    if progress:
        parser.add_argument("--no-progress", action="store_true",
                            help="hide progress bars (also hidden with -q or when standard error "
                            "is not a terminal)")
    if scheduler:
        from etalon.batch import add_scheduler_option

        add_scheduler_option(parser)
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="show errors only")
    verbosity.add_argument("-v", "--verbose", action="count", default=0,
                           help="more messages (-v info, -vv debug)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log line format on standard error: text (default) or one JSON "
                        "object per line")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
               "logger": record.name, "message": record.getMessage()}
        for key in ("path", "code"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        return json.dumps(out, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {msg}"
        return msg


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the message (pytest's capture,
    a redirected stream), not the one of the moment the handler was made."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(verbose: int = 0, quiet: bool = False, fmt: str = "text",
                  stream=None) -> logging.Logger:
    """Install the one stderr handler of the ``etalon`` logger; route Python warnings to it.

    Parameters
    ----------
    verbose : int
        0 warnings and errors, 1 info, 2 debug.
    quiet : bool
        Errors only.
    fmt : {"text", "json"}
        Line format.
    """
    root = logging.getLogger("etalon")
    for h in list(root.handlers):
        if getattr(h, "_etalon_cli", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler._etalon_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    root.addHandler(handler)
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    root.setLevel(level)
    # propagate: a host's own handlers (pytest's capture, a notebook's logging set-up) see the
    # messages too; the command line has no root handler, so nothing is printed twice
    root.propagate = True
    # warnings.warn(...) from the package reach the same handler
    logging.captureWarnings(True)
    pywarn = logging.getLogger("py.warnings")
    pywarn.handlers = [handler]
    pywarn.setLevel(level)
    pywarn.propagate = False
    return root


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to show progress bars: not with ``--no-progress`` or ``-q``, nor when standard
    error is not a terminal (a log file, a pipe, CI)."""
    if getattr(args, "no_progress", False) or getattr(args, "quiet", False):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _resolved(p: str | os.PathLike[str]) -> Path:
    try:
        return Path(p).expanduser().resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(p))


def _identity(p: str | os.PathLike[str]) -> tuple[int, int] | None:
    try:
        st = Path(p).stat()
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def unique_inputs(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """``paths`` without repeats (the same file given twice is processed once, with a warning)."""
    seen: set = set()
    out: list[str] = []
    for p in paths:
        key = _identity(p) or _resolved(p)
        if key in seen:
            log.warning("%s: given more than once; processed once", p)
            continue
        seen.add(key)
        out.append(os.fspath(p))
    return out


def _check_target(out: str | os.PathLike[str]) -> None:
    """Refuse an output that cannot be written: a folder in its place, a file as its folder,
    a folder that is not writable, a name longer than the file system allows."""
    from etalon.fileio import EtalonOutputError

    p = Path(out)
    if p.name in ("", ".", ".."):
        raise EtalonOutputError(p, "output must be a file name, not a folder")
    try:
        if p.is_dir():
            raise EtalonOutputError(p, "output is an existing folder, expected a file name "
                                       "(use --output-dir for a folder)")
        limit = 255
        ancestor = p.parent if str(p.parent) else Path(".")
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if ancestor.exists() and not ancestor.is_dir():
            raise EtalonOutputError(p, f"cannot create the output: {ancestor} is a file, not a folder")
        try:
            limit = int(os.pathconf(ancestor, "PC_NAME_MAX"))
        except (OSError, ValueError):
            pass
        for part in p.parts:
            if len(os.fsencode(part)) > limit:
                raise EtalonOutputError(p, f"file name too long ({len(os.fsencode(part))} bytes, "
                                           f"the limit here is {limit})")
        if ancestor.exists() and not os.access(ancestor, os.W_OK | os.X_OK):
            raise EtalonOutputError(p, f"cannot write the output: folder {ancestor} is not writable "
                                       "(permission denied)")
    except OSError as exc:
        from etalon.fileio import describe_os_error

        raise EtalonOutputError(p, f"cannot write the output ({describe_os_error(exc)})") from exc


def check_outputs(inputs: Iterable[str | os.PathLike[str]],
                  outputs: Sequence[str | os.PathLike[str]]) -> None:
    """Refuse outputs that are (or resolve to) an input, collide with each other, or cannot be written.

    Call it before any work, with every input and every planned output of the
    command (every product against every input of the batch). Outputs that
    already exist are replaced: one warning says so. When ``inputs``
    and ``outputs`` have the same length they are taken as pairs, and a clash
    names the two inputs whose products would share a name.

    Raises
    ------
    UsageError
        Naming the output and the input (or the two inputs) it clashes with.
    etalon.fileio.EtalonOutputError
        Naming the output, when it cannot be written (a folder in its place, its
        folder a file or not writable, a name too long).
    """
    inputs = [os.fspath(p) for p in inputs]
    outputs = [os.fspath(p) for p in outputs]
    paired = len(inputs) == len(outputs)
    ins: dict = {}
    for p in inputs:
        ins.setdefault(_resolved(p), p)
        ident = _identity(p)
        if ident is not None:
            ins.setdefault(ident, p)
    seen: dict[Path, int] = {}
    for i, out in enumerate(outputs):
        r = _resolved(out)
        clash = ins.get(r)
        if clash is None:
            ident = _identity(out)
            clash = ins.get(ident) if ident is not None else None
        if clash is not None:
            raise UsageError(f"{out}: output is the input {clash}; refusing to overwrite an input")
        if r in seen:
            if paired:
                raise UsageError(f"{inputs[seen[r]]} and {inputs[i]} would both write {out} (one "
                                 "product would overwrite the other); rename one input, or "
                                 "process them into different folders")
            raise UsageError(f"{out}: two products would have this name; use distinct names "
                             "or --output-dir")
        seen[r] = i
    for out in dict.fromkeys(outputs):
        _check_target(out)
    existing = [o for o in dict.fromkeys(outputs) if Path(o).is_file()]
    if existing:  # never silently: say which products a rerun replaces
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        log.warning("%s%s exist%s: replaced", existing[0], more, "" if more else "s")


def output_dir_or_error(path: str | os.PathLike[str]) -> Path:
    """``--output-dir`` checked before any work: not a file, creatable and writable."""
    from etalon.fileio import EtalonOutputError

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise EtalonOutputError(p, "--output-dir is a file, expected a folder")
    _check_target(p / "x")
    return p
