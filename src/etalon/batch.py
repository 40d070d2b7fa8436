"""One helper for every command that processes many files: :func:`map_files`.

Files go to a dask.distributed cluster (a local one when the batch is big enough
to pay for it, an existing one through its scheduler address), a progress bar
follows them, results come back in input order, and a file that fails is
reported with its error while the others finish.

When is a local cluster worth it? (:func:`use_local_cluster`) Starting one costs
about :data:`CLUSTER_STARTUP_S` seconds; with ``w`` worker processes it saves
``(1 - 1/w)`` of the work. So the batch runs in this process unless::

    n_files >= MIN_FILES_FOR_CLUSTER  and  w >= 2  and
    estimated_work_s * (1 - 1/w) > CLUSTER_STARTUP_S

``estimated_work_s`` is ``seconds_per_file * n_files`` when the caller knows its
cost per file, else an estimate from the inputs' sizes
(:data:`FIXED_COST_S` per file plus size / :data:`THROUGHPUT_BYTES_S`).
``--scheduler`` always wins: ``synchronous`` runs in this process, ``local``
starts a local cluster whatever the size, an address uses that cluster.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

__all__ = [
    "CLUSTER_STARTUP_S",
    "FIXED_COST_S",
    "MIN_FILES_FOR_CLUSTER",
    "THROUGHPUT_BYTES_S",
    "FileResult",
    "add_scheduler_option",
    "batch_exit_code",
    "check_scheduler",
    "emit_messages",
    "estimate_work_s",
    "map_files",
    "report_failures",
    "use_local_cluster",
]

log = logging.getLogger(__name__)

#: seconds to start (and stop) a local dask.distributed cluster of 2 processes, measured
CLUSTER_STARTUP_S = 3.0
#: fewer files than this always run in this process
MIN_FILES_FOR_CLUSTER = 4
#: per-file work assumed when the caller gives none: fixed part, s
FIXED_COST_S = 0.15
#: per-file work assumed when the caller gives none: bytes processed per second
THROUGHPUT_BYTES_S = 10e6


@dataclass
class FileResult:
    """The outcome of processing one file.

    Attributes
    ----------
    path : str
        The input, as given.
    value : Any
        What the function returned (None when it failed).
    error : str or None
        ``"ExceptionType: message"`` when it failed.
    traceback : str or None
        The formatted traceback when it failed.
    messages : list of (str, int, str)
        Warnings raised and ``etalon`` log records of level WARNING or more emitted
        while processing the file (logger name, level, text), wherever it ran: the
        caller re-emits them (:func:`map_files` does) so that they reach the
        terminal from dask workers too.
    bad_input : bool
        The failure is an :class:`etalon.fileio.EtalonInputError` (the input is at
        fault, not the program).
    message : str or None
        The failure in one line for the user: the error's message when it names
        the file already, else ``"<path>: <type>: <message>"``.
    """

    path: str
    value: Any = None
    error: str | None = None
    traceback: str | None = None
    messages: list = field(default_factory=list)
    bad_input: bool = False
    message: str | None = None

    @property
    def ok(self) -> bool:
        """True when the function returned without raising."""
        return self.error is None


class _Collect(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def _failure(label: str, exc: BaseException) -> FileResult:
    from etalon.fileio import EtalonInputError

    text = str(exc)
    bad = isinstance(exc, EtalonInputError)
    if isinstance(exc, OSError) and not bad:
        from etalon.fileio import describe_os_error

        text = f"{describe_os_error(exc)}" + (f" ({exc.filename})" if exc.filename else "")
    if bad:
        message = text if text.startswith(label) else f"{label}: {text}"
    else:
        message = f"{label}: {type(exc).__name__}: {text}"
    return FileResult(path=label, error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(), bad_input=bad, message=message)


def _label(path: Any) -> str:
    """How a batch item is named in messages: a path, or the input of an (input, output) pair."""
    return str(path[0]) if isinstance(path, tuple) and path else str(path)


def _run_one(func: Callable[[Any], Any], path: Any) -> FileResult:
    import warnings

    label = _label(path)
    root = logging.getLogger("etalon")
    saved = (root.handlers[:], root.propagate, root.level)
    level = min(logging.WARNING, root.getEffectiveLevel())
    collect = _Collect(level)
    root.handlers = [collect]
    root.propagate = False
    root.setLevel(level)
    try:
        with warnings.catch_warnings(record=True) as caught:
            try:
                result = FileResult(path=label, value=func(path))
            except Exception as exc:  # a failing file is reported, the batch goes on
                result = _failure(label, exc)
    finally:
        root.handlers, root.propagate = saved[0], saved[1]
        root.setLevel(saved[2])
    seen = set()
    for name, level, text in collect.records + [
            ("py.warnings", logging.WARNING, f"{w.category.__name__}: {w.message}") for w in caught]:
        if text not in seen:
            seen.add(text)
            result.messages.append((name, level, text))
    return result


def emit_messages(results: Sequence[FileResult]) -> None:
    """Log the messages every file's processing emitted, prefixed with the file (once each)."""
    for r in results:
        for name, level, text in r.messages:
            logging.getLogger(name if name.startswith("etalon") else "etalon.batch").log(
                level, "%s: %s", r.path, text)


def map_files(
    func: Callable[[Any], Any],
    paths: Sequence[Any],
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
    description: str = "files",
    seconds_per_file: float | None = None,
    emit: bool = True,
) -> list[FileResult]:
    """Apply ``func`` to every path; return one :class:`FileResult` per path, in input order.

    Parameters
    ----------
    func : callable
        Takes one path, returns anything picklable. Must be importable by the
        workers (a module-level function or a ``functools.partial`` of one).
    paths : sequence
        Inputs (usually file paths).
    scheduler : str or None
        ``None``: by the rule of :func:`use_local_cluster` (module docstring),
        in this process for small batches, else a local dask.distributed
        cluster (one single-threaded worker process per core, at most one per
        file). ``"synchronous"``: everything in this process, one after the
        other. ``"local"``: a local cluster whatever the batch. Any other
        string: the address of an existing scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    n_workers : int or None
        Workers of the local cluster (default: number of cores).
    progress : bool
        Show a progress bar (on stderr).
    description : str
        Label of the progress bar.
    seconds_per_file : float or None
        The caller's estimate of the work per file, s (default: from the file sizes).
    emit : bool
        Log each file's warnings (:attr:`FileResult.messages`) when the batch is
        done, prefixed with the file (default); False leaves it to the caller.

    Returns
    -------
    list of FileResult
        ``results[i]`` belongs to ``paths[i]``; failures carry ``error`` and
        ``traceback`` instead of ``value``.
    """
    paths = list(paths)
    if not paths:
        return []
    bar = tqdm(total=len(paths), desc=description, unit="file", disable=not progress, file=sys.stderr)
    try:
        in_process = scheduler == "synchronous" or (
            scheduler is None and not use_local_cluster(paths, n_workers, seconds_per_file))
        if in_process:
            log.debug("%s: %d file(s) in this process", description, len(paths))
            results = []
            for p in paths:
                results.append(_run_one(func, p))
                bar.update(1)
        else:
            results = _map_distributed(func, paths, scheduler, n_workers, bar)
    finally:
        bar.close()
    if emit:
        emit_messages(results)
    return results


def estimate_work_s(paths: Sequence[Any], seconds_per_file: float | None = None) -> float:
    """Estimated in-process work of a batch, s (see the module docstring)."""
    if seconds_per_file is not None:
        return float(seconds_per_file) * len(paths)
    total = 0.0
    for p in paths:
        if isinstance(p, tuple) and p:  # (input, output) pairs: the input's size
            p = p[0]
        try:
            size = os.stat(p).st_size if isinstance(p, (str, os.PathLike)) else 0
        except (OSError, ValueError):
            size = 0
        total += FIXED_COST_S + size / THROUGHPUT_BYTES_S
    return total


def use_local_cluster(paths: Sequence[Any], n_workers: int | None = None,
                      seconds_per_file: float | None = None) -> bool:
    """Whether a local cluster pays for a batch with no ``--scheduler`` (rule: module docstring)."""
    workers = max(1, min(n_workers or os.cpu_count() or 1, len(paths)))
    if len(paths) < MIN_FILES_FOR_CLUSTER or workers < 2:
        return False
    return estimate_work_s(paths, seconds_per_file) * (1 - 1 / workers) > CLUSTER_STARTUP_S


def _map_distributed(func, paths, scheduler, n_workers, bar) -> list[FileResult]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler in (None, "local"):
        workers = max(1, min(n_workers or os.cpu_count() or 1, len(paths)))
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never collide with a running cluster
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=os.environ.get("ETALON_SCHEDULER_TIMEOUT", "30s"))
        except (OSError, TimeoutError, ValueError) as exc:
            from etalon.cliutil import UsageError

            raise UsageError(f"--scheduler {scheduler}: cannot connect to this dask scheduler "
                             f"({type(exc).__name__}: {exc})") from exc
    try:
        futures = [client.submit(_run_one, func, p, pure=False) for p in paths]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[FileResult | None] = [None] * len(paths)
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except Exception as exc:  # worker died, unpicklable result...
                results[i] = _failure(_label(paths[i]), exc)
            bar.update(1)
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def batch_exit_code(results: Sequence[FileResult]) -> int:
    """The exit code of a batch command: 0 all done; 2 nothing done, every input bad
    (:class:`~etalon.fileio.EtalonInputError`); 1 otherwise when some file failed."""
    failed = [r for r in results if not r.ok]
    if not failed:
        return 0
    return 2 if len(failed) == len(results) and all(r.bad_input for r in failed) else 1


_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx|inproc)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}(?:/.*)?$"
                      r"|^inproc://.+$")


def check_scheduler(text: str) -> str:
    """``--scheduler`` value checked: ``synchronous``, ``local`` or ``[protocol://]host:port``.

    Raises
    ------
    argparse.ArgumentTypeError
        Naming the value and what is accepted (argparse turns it into exit 2).
    """
    value = text.strip()
    if value in ("synchronous", "local") or _ADDRESS.match(value):
        return value
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a scheduler: use 'synchronous', 'local' or an address such as "
        "tcp://10.0.0.5:8786")


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler ADDRESS`` to a batch command's parser."""
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        type=check_scheduler,
        help="where the files are processed: 'synchronous' (this process), 'local' (a local "
        "dask cluster) or the address of an existing dask.distributed scheduler "
        "(default: this process for small batches, a local cluster when it pays; see "
        "docs/cli.md)",
    )


def report_failures(results: Sequence[FileResult], stream=None) -> int:
    """Report every failure (file and error); return the count (0 = all good).

    Failures go to the ``etalon.batch`` logger (errors: shown even with ``-q``), or
    are printed to ``stream`` when one is given.
    """
    failed = [r for r in results if not r.ok]
    lines = [f"FAILED {r.message or f'{r.path}: {r.error}'}" for r in failed]
    if failed:
        lines.append(f"{len(failed)} of {len(results)} file(s) failed")
    for line in lines:
        if stream is not None:
            print(line, file=stream)
        else:
            log.error("%s", line)
    return len(failed)
