"""Every notebook: committed clean, with a header and a parameters cell, and it runs.

Execution uses the report runner (papermill, this environment's kernel) with
the overrides of ``tests/notebook_params/NAME.yml`` when that file exists.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from etalon.report.parameters import coerce_value, read_parameters
from etalon.report.runner import run_notebook

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PARAMS_DIR = Path(__file__).resolve().parent / "notebook_params"


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["00_overview.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean_with_header_and_parameters(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert not [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")], \
        f"{path.name} has stored outputs: clear them before committing"
    assert nb["cells"][0]["cell_type"] == "markdown"
    header = "".join(nb["cells"][0]["source"]).lower()
    for word in ("purpose", "input", "output"):
        assert word in header, f"{path.name}: the markdown header should say its {word}"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    params = read_parameters(path)
    assert params, f"{path.name}: the parameters cell declares nothing"
    untyped = [p.name for p in params.values() if p.annotation is None]
    assert untyped == [], f"{path.name}: parameters without a type annotation: {untyped}"


def _overrides(path: Path) -> dict:
    file = PARAMS_DIR / f"{path.stem}.yml"
    if not file.exists():
        return {}
    raw = yaml.safe_load(file.read_text()) or {}
    declared = read_parameters(path)
    unknown = set(raw) - set(declared)
    assert not unknown, f"{file.name} sets parameters {path.name} does not declare: {unknown}"
    # same conversion as `etalon report -p`, so the file is checked like the command line
    return {k: coerce_value(v if isinstance(v, str) else json.dumps(v), declared[k].annotation)
            for k, v in raw.items()}


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    # with the test parameters no cell takes 30 s; 60 s also bounds the intermittent stall of a
    # widget cell under papermill (the kernel idle, its reply awaited until the cell timeout,
    # then the run completes: jupyter/nbclient#312), seen for 300 s in notebooks 01 and 04
    run = run_notebook(path, tmp_path, _overrides(path), cell_timeout_s=60)
    assert run.status == "ok", f"{path.name} failed: {run.error}\n{run.failing_cell}"
    assert (tmp_path / f"{path.stem}.html").exists()
    assert run.records, f"{path.name} records no headline figure (etalon.report.record)"


def test_one_kernel_name_everywhere():
    """Notebooks, the report runner and ``make`` (venv, lab) use one kernel: "etalon"."""
    import re

    from etalon.report.runner import KERNEL_NAME

    assert KERNEL_NAME == "etalon"
    wrong = {}
    for path in NOTEBOOKS:
        spec = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("kernelspec", {})
        if (spec.get("name"), spec.get("display_name")) != ("etalon", "Python (etalon)"):
            wrong[path.name] = spec.get("name")
    assert wrong == {}, f"notebooks asking for another kernel: {wrong}"
    makefile = (NOTEBOOK_DIR.parent / "Makefile").read_text()
    assert re.search(r'ipykernel install --sys-prefix --name etalon --display-name "Python \(etalon\)"',
                     makefile)
    assert re.search(r"^lab: .*\n\t.*jupyter lab --notebook-dir=notebooks", makefile, re.M)
