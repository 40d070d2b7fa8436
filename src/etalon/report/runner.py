"""Execute the notebooks with papermill and publish them as HTML reports with an index.

For each notebook: check the requested parameters against its ``parameters``
cell, execute it in a kernel of *this* Python environment, write the executed
notebook and an HTML page (code optionally hidden), collect its headline
figures (:func:`etalon.report.record`). Then write ``index.html`` (and
``index.json``) with every notebook's status, duration, parameters and
figures. A failing notebook is reported with the failing cell and its error;
the others still run.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import html
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from etalon import __version__
from etalon.fileio import atomic_output
from etalon.report import Record, collect_records, format_value
from etalon.report.parameters import ParameterError, coerce_value, read_notebook_json, read_parameters

__all__ = [
    "KERNEL_NAME",
    "NotebookRun",
    "default_notebook_dir",
    "ensure_kernel",
    "export_html",
    "find_notebooks",
    "notebook_title",
    "resolve_parameters",
    "run_notebook",
    "run_reports",
    "write_index",
]

#: kernelspec name registered inside the running environment (``sys.prefix``)
KERNEL_NAME = "etalon"

#: default limit for one cell, seconds: a hung kernel becomes a failure, not a stuck report
CELL_TIMEOUT_S = 600


def _ipc_kernel_manager():
    """A kernel manager class talking to the kernel over unix sockets (IPC), not TCP ports.

    Kernels started at the same moment by parallel runs (``--jobs``, pytest-xdist)
    can pick the same free TCP ports and hang; each IPC kernel gets socket paths
    of its own in the Jupyter runtime folder, so they never collide.
    """
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", str(runtime / f"etalon-{uuid.uuid4().hex[:12]}"))
            super().__init__(**kwargs)

    return IPCKernelManager


@dataclass
class NotebookRun:
    """The outcome of one notebook.

    ``status`` is ``"ok"``, ``"failed"`` (a cell raised) or ``"rejected"`` (bad
    parameters: not executed).
    """

    name: str
    source: str
    title: str = ""
    status: str = "pending"
    duration_s: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    failing_cell: str | None = None
    html: str | None = None
    executed: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# ---------------------------------------------------------------- discovery
def default_notebook_dir() -> Path:
    """``./notebooks`` when it exists, else the ``notebooks/`` of the source checkout."""
    here = Path.cwd() / "notebooks"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "notebooks"


def find_notebooks(directory: str | os.PathLike[str], names: Sequence[str] | None = None) -> list[Path]:
    """Notebooks of ``directory`` in reading order, or those matching ``names``.

    A name matches a notebook by its file name, its stem, or a unique stem prefix
    (``01`` for ``01_nav_decoding.ipynb``).

    Raises
    ------
    FileNotFoundError
        When the folder has no notebook or a name matches none.
    ValueError
        When a name matches several notebooks.
    """
    folder = Path(directory)
    every = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not every:
        raise FileNotFoundError(f"{folder}: no notebook (*.ipynb) here")
    if not names:
        return every
    chosen: list[Path] = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        exact = [p for p in every if p.stem == stem]
        hits = exact or [p for p in every if p.stem.startswith(stem)]
        if not hits:
            raise FileNotFoundError(f"{folder}: no notebook matches {name!r} "
                                    f"(have: {', '.join(p.stem for p in every)})")
        if len(hits) > 1:
            raise ValueError(f"{name!r} matches several notebooks: {', '.join(p.stem for p in hits)}")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return chosen


# ---------------------------------------------------------------- parameters
def resolve_parameters(
    notebooks: Sequence[Path], pairs: Iterable[tuple[str, str]]
) -> tuple[dict[Path, dict[str, Any]], dict[Path, str]]:
    """Distribute ``-p NAME VALUE`` pairs over the notebooks and convert the values.

    ``NAME`` applies to every selected notebook that declares it;
    ``NOTEBOOK:NAME`` (stem or unique prefix) to that notebook only.

    Returns
    -------
    values : dict
        Per notebook, the converted overrides.
    rejected : dict
        Per notebook, the error that forbids running it (unknown name given to
        it by ``NOTEBOOK:NAME``, or a value of the wrong type).

    Raises
    ------
    ParameterError
        When an unscoped ``NAME`` is declared by none of the selected notebooks.
    """
    declared = {nb: read_parameters(nb) for nb in notebooks}
    values: dict[Path, dict[str, Any]] = {nb: {} for nb in notebooks}
    rejected: dict[Path, str] = {}
    for key, text in pairs:
        if ":" in key:
            scope, name = key.split(":", 1)
            targets = [nb for nb in notebooks if nb.stem == scope] or \
                [nb for nb in notebooks if nb.stem.startswith(scope)]
            if len(targets) != 1:
                raise ParameterError(f"-p {key}: {scope!r} names {len(targets)} of the selected notebooks")
            nb = targets[0]
            if name not in declared[nb]:
                rejected.setdefault(nb, f"{nb.name}: unknown parameter {name!r} "
                                        f"(declared: {', '.join(declared[nb]) or 'none'})")
                continue
            targets_named = [nb]
        else:
            name = key
            targets_named = [nb for nb in notebooks if name in declared[nb]]
            if not targets_named:
                known = sorted({n for d in declared.values() for n in d})
                raise ParameterError(f"-p {name}: no selected notebook declares this parameter "
                                     f"(declared: {', '.join(known) or 'none'})")
        for nb in targets_named:
            try:
                values[nb][name] = coerce_value(text, declared[nb][name].annotation,
                                                where=f"{nb.name}: parameter {name!r}")
            except ParameterError as exc:
                rejected.setdefault(nb, str(exc))
    return values, rejected


# ---------------------------------------------------------------- kernel
def ensure_kernel() -> str:
    """Register this environment's Python as kernelspec :data:`KERNEL_NAME` under ``sys.prefix``.

    The environment's ``share/jupyter`` is also put first on ``JUPYTER_PATH`` so
    that a user-level kernel of the same name cannot shadow it. Returns the
    kernel name.
    """
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    share = Path(sys.prefix) / "share" / "jupyter"
    current = os.environ.get("JUPYTER_PATH", "")
    if str(share) not in current.split(os.pathsep):
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(share), current) if p)
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        good = Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()
    except NoSuchKernel:
        good = False
    if not good:
        install(kernel_name=KERNEL_NAME, display_name="Python (etalon)", prefix=sys.prefix)
    return KERNEL_NAME


# ---------------------------------------------------------------- one notebook
def notebook_title(path: str | os.PathLike[str]) -> str:
    """The first markdown heading of a notebook (``""`` when there is none)."""
    try:
        nb = read_notebook_json(path)
    except ParameterError:
        return ""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def export_html(executed: str | os.PathLike[str], hide_code: bool = False) -> str:
    """The HTML page of an executed notebook, complete without network.

    Widgets become static views of their saved state, math becomes inline SVG,
    and no script or stylesheet is loaded from a CDN (:mod:`etalon.report.offline`).
    """
    import nbformat
    from nbconvert import HTMLExporter

    from etalon.report.offline import offline_notebook, strip_remote

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = hide_code
    exporter.exclude_input_prompt = hide_code
    exporter.exclude_output_prompt = hide_code
    nb = nbformat.from_dict(offline_notebook(nbformat.read(executed, as_version=4)))
    body, _ = exporter.from_notebook_node(nb)
    return strip_remote(body)


def _export_html(executed: Path, target: Path, hide_code: bool) -> None:
    body = export_html(executed, hide_code)
    with atomic_output(target) as tmp:
        tmp.write_text(body, encoding="utf-8")


def _failing_cell(exc: Exception) -> tuple[str, str]:
    """(error text, failing cell description) from a papermill execution error."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    cell_index = getattr(exc, "cell_index", None)
    exec_count = getattr(exc, "exec_count", None)
    source = getattr(exc, "source", "")
    where = f"cell {cell_index}" if cell_index is not None else "a cell"
    if exec_count is not None:
        where += f" (In [{exec_count}])"
    return f"{ename}: {evalue}", f"{where}:\n{source}"


def run_notebook(
    notebook: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    parameters: dict[str, Any] | None = None,
    *,
    hide_code: bool = False,
    kernel_name: str | None = None,
    rejected: str | None = None,
    cell_timeout_s: float = CELL_TIMEOUT_S,
) -> NotebookRun:
    """Execute one notebook and write ``NAME.ipynb`` and ``NAME.html`` into ``output_dir``.

    Never raises for a failing notebook: the returned :class:`NotebookRun` says
    what happened. ``rejected`` (a parameter error) skips execution; a cell
    running longer than ``cell_timeout_s`` seconds fails the notebook.
    """
    import papermill as pm

    nb_path = Path(notebook)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    parameters = dict(parameters or {})
    declared = read_parameters(nb_path)
    effective = {name: p.default for name, p in declared.items()}
    effective.update(parameters)
    run = NotebookRun(name=nb_path.stem, source=str(nb_path), title=notebook_title(nb_path),
                      parameters=effective)
    if rejected:
        run.status, run.error = "rejected", rejected
        return run
    executed = out / f"{nb_path.stem}.ipynb"
    start = time.perf_counter()
    try:
        with atomic_output(executed) as tmp:
            try:
                pm.execute_notebook(
                    str(nb_path), str(tmp), parameters=parameters,
                    kernel_name=kernel_name or ensure_kernel(), progress_bar=False,
                    cwd=str(nb_path.parent), language="python",
                    # nbclient takes whole seconds: 30.5 -> 31
                    execution_timeout=max(1, math.ceil(cell_timeout_s)),
                    kernel_manager_class=_ipc_kernel_manager(),
                )
                run.status = "ok"
            except pm.PapermillExecutionError as exc:
                run.status = "failed"
                run.error, run.failing_cell = _failing_cell(exc)
        run.executed = executed.name
    except Exception as exc:  # kernel died, notebook unreadable...
        run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
    run.duration_s = time.perf_counter() - start
    if executed.exists() and run.executed:
        import nbformat

        run.records = [asdict(r) for r in collect_records(nbformat.read(executed, as_version=4))]
        try:
            _export_html(executed, out / f"{nb_path.stem}.html", hide_code)
            run.html = f"{nb_path.stem}.html"
        except Exception as exc:
            run.error = (run.error + "; " if run.error else "") + f"HTML export failed: {exc}"
            run.status = "failed"
    return run


def _run_in_child(args: tuple) -> NotebookRun:
    notebook, output_dir, parameters, hide_code, kernel, rejected, cell_timeout_s = args
    return run_notebook(notebook, output_dir, parameters, hide_code=hide_code,
                        kernel_name=kernel, rejected=rejected, cell_timeout_s=cell_timeout_s)


# ---------------------------------------------------------------- all notebooks
def run_reports(
    notebooks: Sequence[Path],
    output_dir: str | os.PathLike[str],
    parameters: dict[Path, dict[str, Any]] | None = None,
    rejected: dict[Path, str] | None = None,
    *,
    jobs: int = 1,
    hide_code: bool = False,
    progress: bool = True,
    cell_timeout_s: float = CELL_TIMEOUT_S,
) -> list[NotebookRun]:
    """Run every notebook (``jobs`` at a time), write the index; return the runs in input order."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    kernel = ensure_kernel()
    parameters = parameters or {}
    rejected = rejected or {}
    tasks = [(nb, out, parameters.get(nb, {}), hide_code, kernel, rejected.get(nb), cell_timeout_s)
             for nb in notebooks]
    runs: list[NotebookRun | None] = [None] * len(tasks)
    bar = tqdm(total=len(tasks), desc="notebooks", unit="nb", disable=not progress, file=sys.stderr)
    try:
        if jobs <= 1 or len(tasks) == 1:
            for i, task in enumerate(tasks):
                bar.set_postfix_str(task[0].stem)
                runs[i] = _run_in_child(task)
                bar.update(1)
        else:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
                futures = {pool.submit(_run_in_child, t): i for i, t in enumerate(tasks)}
                for fut in cf.as_completed(futures):
                    i = futures[fut]
                    try:
                        runs[i] = fut.result()
                    except Exception as exc:
                        runs[i] = NotebookRun(name=tasks[i][0].stem, source=str(tasks[i][0]),
                                              status="failed", error=f"{type(exc).__name__}: {exc}")
                    bar.update(1)
    finally:
        bar.close()
    done = [r for r in runs if r is not None]
    write_index(done, out)
    return done


# ---------------------------------------------------------------- index
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%;table-layout:auto}th,td{border:1px solid #ccc;
padding:.4em .6em;vertical-align:top;text-align:left;overflow-wrap:break-word}.wrap{overflow-x:auto}
th{background:#f0f0f0;white-space:nowrap}.ok{color:#060;font-weight:bold}
.failed,.rejected{color:#a00;font-weight:bold}code{font-size:90%}pre{white-space:pre-wrap;
margin:0;font-size:85%}.meta{color:#666}
"""


def write_index(runs: Sequence[NotebookRun], output_dir: str | os.PathLike[str]) -> Path:
    """Write ``index.html`` and ``index.json`` summarising ``runs``; return the HTML path."""
    out = Path(output_dir)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    rows = []
    for r in runs:
        link = f'<a href="{html.escape(r.html)}">{html.escape(r.name)}</a>' if r.html else html.escape(r.name)
        nb_link = f' (<a href="{html.escape(r.executed)}">ipynb</a>)' if r.executed else ""
        params = "<br>".join(f"<code>{html.escape(k)} = {html.escape(repr(v))}</code>"
                             for k, v in r.parameters.items())
        figures = "<br>".join(
            f"{html.escape(rec['name'])}: <b>{html.escape(format_value(rec['value']))}</b> "
            f"{html.escape(rec['unit'])}" for rec in r.records)
        status = f'<span class="{r.status}">{r.status}</span>'
        if r.error:
            status += f"<pre>{html.escape(r.error)}</pre>"
        if r.failing_cell:
            status += f"<pre>{html.escape(r.failing_cell)}</pre>"
        title = f"<br><small>{html.escape(r.title)}</small>" if r.title else ""
        rows.append(f"<tr><td>{link}{nb_link}{title}</td><td>{status}</td><td>{r.duration_s:.1f} s</td>"
                    f"<td>{params}</td><td>{figures}</td></tr>")
    n_ok = sum(r.ok for r in runs)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>etalon reports</title><style>{_STYLE}</style></head>
<body><h1>etalon reports</h1>
<p class="meta">{n_ok} of {len(runs)} notebooks succeeded &middot; etalon {__version__} &middot;
Python {platform.python_version()} &middot; {stamp}</p>
<div class="wrap"><table>
<tr><th>notebook</th><th>status</th><th>duration</th><th>parameters</th><th>headline figures</th></tr>
{chr(10).join(rows)}
</table></div></body></html>
"""
    target = out / "index.html"
    with atomic_output(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    summary = {"etalon_version": __version__, "created_utc": stamp,
               "notebooks": [asdict(r) for r in runs]}
    with atomic_output(out / "index.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return target


__all__ += ["Record"]
