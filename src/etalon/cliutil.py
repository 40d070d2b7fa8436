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
    "setup_logging",
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
        parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
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
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._etalon_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    root.addHandler(handler)
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    root.setLevel(level)
    root.propagate = False
    # warnings.warn(...) from the package reach the same handler
    logging.captureWarnings(True)
    pywarn = logging.getLogger("py.warnings")
    pywarn.handlers = [handler]
    pywarn.setLevel(level)
    pywarn.propagate = False
    return root


def _resolved(p: str | os.PathLike[str]) -> Path:
    try:
        return Path(p).expanduser().resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(p))


def check_outputs(inputs: Iterable[str | os.PathLike[str]],
                  outputs: Sequence[str | os.PathLike[str]]) -> None:
    """Refuse outputs that are (or resolve to) an input, or that collide with each other.

    Call it before any work, with every input and every planned output of the command.

    Raises
    ------
    UsageError
        Naming the output and the input (or the two inputs) it clashes with.
    """
    ins = {}
    for p in inputs:
        ins.setdefault(_resolved(p), str(p))
        with_same = Path(p)
        if with_same.exists():
            try:
                st = with_same.stat()
                ins.setdefault((st.st_dev, st.st_ino), str(p))
            except OSError:
                pass
    seen: dict[Path, str] = {}
    for out in outputs:
        r = _resolved(out)
        if r in ins:
            raise UsageError(f"{out}: output is the input {ins[r]}; refusing to overwrite an input")
        if Path(out).exists():
            try:
                st = Path(out).stat()
                if (st.st_dev, st.st_ino) in ins:
                    raise UsageError(f"{out}: output is the input {ins[(st.st_dev, st.st_ino)]}; "
                                     "refusing to overwrite an input")
            except OSError:
                pass
        if r in seen:
            raise UsageError(f"{out}: two products would have this name ({seen[r]} and again); "
                             "use distinct names or --output-dir")
        seen[r] = str(out)
