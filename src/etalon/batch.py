"""One helper for every command that processes many files: :func:`map_files`.

Files go to a dask.distributed cluster (a local one by default, an existing one
through its scheduler address), a progress bar follows them, results come back
in input order, and a file that fails is reported with its error while the
others finish.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

__all__ = ["FileResult", "add_scheduler_option", "map_files", "report_failures"]


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
    """

    path: str
    value: Any = None
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        """True when the function returned without raising."""
        return self.error is None


def _run_one(func: Callable[[Any], Any], path: Any) -> FileResult:
    try:
        return FileResult(path=str(path), value=func(path))
    except Exception as exc:  # a failing file is reported, the batch goes on
        return FileResult(
            path=str(path),
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
        )


def map_files(
    func: Callable[[Any], Any],
    paths: Sequence[Any],
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
    description: str = "files",
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
        ``None``: start a local dask.distributed cluster (one single-threaded
        worker process per core, at most one per file); a single file is
        processed in this process, a cluster costing seconds to start.
        ``"synchronous"``: everything in this process, one after the other
        (debugging). Any other string: the address of an existing scheduler,
        e.g. ``"tcp://10.0.0.5:8786"``.
    n_workers : int or None
        Workers of the local cluster (default: number of cores).
    progress : bool
        Show a progress bar (on stderr).
    description : str
        Label of the progress bar.

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
        if scheduler == "synchronous" or (scheduler is None and len(paths) == 1):
            results = []
            for p in paths:
                results.append(_run_one(func, p))
                bar.update(1)
            return results
        return _map_distributed(func, paths, scheduler, n_workers, bar)
    finally:
        bar.close()


def _map_distributed(func, paths, scheduler, n_workers, bar) -> list[FileResult]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
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
        client = Client(scheduler, timeout="30s")
    try:
        futures = [client.submit(_run_one, func, p, pure=False) for p in paths]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[FileResult | None] = [None] * len(paths)
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except Exception as exc:  # worker died, unpicklable result...
                results[i] = FileResult(path=str(paths[i]), error=f"{type(exc).__name__}: {exc}",
                                        traceback=traceback.format_exc())
            bar.update(1)
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler ADDRESS`` to a batch command's parser."""
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="dask.distributed scheduler address of an existing cluster (default: start a "
        "local cluster; 'synchronous' runs in this process)",
    )


def report_failures(results: Sequence[FileResult], stream=None) -> int:
    """Print every failure (file and error) to ``stream``; return the count (0 = all good)."""
    stream = stream or sys.stderr
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"FAILED {r.path}: {r.error}", file=stream)
    if failed:
        print(f"{len(failed)} of {len(results)} file(s) failed", file=stream)
    return len(failed)
