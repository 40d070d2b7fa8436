"""The report runner: parameters checked, figures collected, failures reported, others still run."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from etalon.cli import main
from etalon.report import RECORD_MIME, Record, collect_records
from etalon.report.parameters import ParameterError, coerce_value, read_parameters
from etalon.report.runner import find_notebooks, resolve_parameters


def _write_nb(path, params: str, body: str):
    nb = new_notebook(cells=[
        new_markdown_cell("# test notebook"),
        new_code_cell(params, metadata={"tags": ["parameters"]}),
        new_code_cell(body),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebook_dir(tmp_path):
    d = tmp_path / "nbs"
    d.mkdir()
    _write_nb(d / "10_square.ipynb", "n: int = 3\nscale: float = 2.0\nlabel: str | None = None",
              "from etalon.report import record\n"
              "record('square', n * n * scale, 'DN')\nprint('label', label)")
    _write_nb(d / "20_fails.ipynb", "divisor: int = 0", "x = 1 / divisor")
    return d


def test_read_parameters_types_and_defaults(notebook_dir):
    params = read_parameters(notebook_dir / "10_square.ipynb")
    assert [(p.name, p.annotation, p.default) for p in params.values()] == [
        ("n", "int", 3), ("scale", "float", 2.0), ("label", "str | None", None)]


@pytest.mark.parametrize(("text", "annotation", "expected"), [
    ("4", "int", 4), ("4", "float", 4.0), ("1e-3", "float", 0.001), ("true", "bool", True),
    ("0", "bool", False), ("a b", "str", "a b"), ("[1, 2]", "list[int]", [1, 2]),
    ("None", "str | None", None), ("x", "str | None", "x"), ("{a: 1}", "dict", {"a": 1}),
])
def test_coerce_value(text, annotation, expected):
    assert coerce_value(text, annotation) == expected


@pytest.mark.parametrize(("text", "annotation"), [("3.5", "int"), ("x", "float"), ("maybe", "bool"),
                                                  ("true", "int"), ("7", "list[int]")])
def test_coerce_value_refuses_wrong_type(text, annotation):
    with pytest.raises(ParameterError, match=re.escape(f"expected a value of type {annotation}")):
        coerce_value(text, annotation, where="nb: parameter 'p'")


def test_resolve_parameters_scoping(notebook_dir):
    nbs = find_notebooks(notebook_dir)
    values, rejected = resolve_parameters(nbs, [("n", "5"), ("20:divisor", "2")])
    assert values[nbs[0]] == {"n": 5}
    assert values[nbs[1]] == {"divisor": 2}
    assert rejected == {}
    values, rejected = resolve_parameters(nbs, [("10:nope", "1"), ("n", "five")])
    assert "unknown parameter 'nope'" in rejected[nbs[0]]
    with pytest.raises(ParameterError, match="no selected notebook declares"):
        resolve_parameters(nbs, [("unknown", "1")])


def test_find_notebooks_by_prefix(notebook_dir):
    assert [p.name for p in find_notebooks(notebook_dir, ["20"])] == ["20_fails.ipynb"]
    with pytest.raises(FileNotFoundError, match="no notebook matches"):
        find_notebooks(notebook_dir, ["99"])


def test_collect_records_from_outputs():
    rec = Record("irr", 1.5, "W m-2 um-1")
    nb = {"cells": [{"cell_type": "code", "outputs": [{"data": rec._repr_mimebundle_()}]}]}
    assert collect_records(nb) == [rec]
    assert RECORD_MIME in rec._repr_mimebundle_()


def test_report_command_end_to_end(notebook_dir, tmp_path, capsys):
    out = tmp_path / "reports"
    code = main(["report", "--notebook-dir", str(notebook_dir), "--output-dir", str(out),
                 "-p", "n", "4", "-p", "20:divisor", "not-a-number", "--no-progress", "--no-code"])
    assert code == 1
    captured = capsys.readouterr()
    assert "FAILED 20_fails" in captured.err
    assert "expected a value of type int, got 'not-a-number'" in captured.err
    summary = json.loads((out / "index.json").read_text())
    runs = {r["name"]: r for r in summary["notebooks"]}
    assert runs["10_square"]["status"] == "ok"
    assert runs["10_square"]["title"] == "test notebook"
    assert runs["10_square"]["records"] == [{"name": "square", "value": 32.0, "unit": "DN"}]
    assert runs["10_square"]["parameters"] == {"n": 4, "scale": 2.0, "label": None}
    assert runs["20_fails"]["status"] == "rejected"
    assert (out / "10_square.html").exists()
    html = (out / "10_square.html").read_text()
    assert "record(" not in html  # --no-code hides the code
    index = (out / "index.html").read_text()
    assert "10_square" in index and "20_fails" in index and "square" in index


def test_failing_cell_is_reported_and_others_still_run(notebook_dir, tmp_path, capsys):
    out = tmp_path / "reports"
    code = main(["report", "--notebook-dir", str(notebook_dir), "--output-dir", str(out),
                 "--no-progress", "--jobs", "2"])
    assert code == 1
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err
    assert "x = 1 / divisor" in err
    assert (out / "10_square.html").exists() and (out / "20_fails.html").exists()
    summary = json.loads((out / "index.json").read_text())
    assert [r["status"] for r in summary["notebooks"]] == ["ok", "failed"]


def test_unknown_unscoped_parameter_is_a_usage_error(notebook_dir, tmp_path, capsys):
    code = main(["report", "--notebook-dir", str(notebook_dir), "--output-dir", str(tmp_path / "r"),
                 "-p", "nonsense", "1", "--no-progress"])
    assert code == 2
    assert "no selected notebook declares this parameter" in capsys.readouterr().err


def test_a_cell_over_the_timeout_fails_the_notebook_instead_of_hanging(tmp_path, capsys):
    d = tmp_path / "nbs"
    d.mkdir()
    _write_nb(d / "30_hangs.ipynb", "seconds: float = 60.0", "import time\ntime.sleep(seconds)")
    code = main(["report", "--notebook-dir", str(d), "--output-dir", str(tmp_path / "r"),
                 "--timeout", "2", "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "FAILED 30_hangs" in err and "time.sleep(seconds)" in err
    summary = json.loads((tmp_path / "r" / "index.json").read_text())
    assert summary["notebooks"][0]["status"] == "failed"
    assert summary["notebooks"][0]["duration_s"] < 30


# ---------------------------------------------------------------- issues 16/17
import shutil  # noqa: E402
import subprocess  # noqa: E402

from etalon.report.offline import remote_references, render_math, static_widgets  # noqa: E402

_WIDGET_CELL = """import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
%matplotlib inline
choice = widgets.Dropdown(options=[("first", 1), ("second", 2)], description="file")
def show(index):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(np.arange(10) * index)
    ax.set_title(f"frame {index}")
    plt.show()
display(widgets.VBox([choice, widgets.interactive_output(show, {"index": choice})]))"""


def test_report_refuses_to_write_into_the_notebooks_folder(notebook_dir, capsys):
    before = {p.name: p.read_bytes() for p in notebook_dir.iterdir()}
    for option in ("-o", "--output-dir"):
        code = main(["report", "-n", "10", "--notebook-dir", str(notebook_dir), option, str(notebook_dir),
                     "--no-progress"])
        assert code == 2
        assert "the output folder is the notebooks' folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in notebook_dir.iterdir()} == before


def test_report_output_dir_that_is_a_file_is_one_line_error(notebook_dir, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["report", "--notebook-dir", str(notebook_dir), "--output-dir", str(afile),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {afile}: --output-dir is a file, expected a folder"


def test_corrupt_notebook_error_names_the_file(tmp_path, capsys):
    d = tmp_path / "nbs"
    d.mkdir()
    (d / "50_broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    assert main(["report", "--notebook-dir", str(d), "--output-dir", str(tmp_path / "r"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{d / '50_broken.ipynb'}: not a notebook (invalid JSON at line 1" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "x"])
def test_bad_timeout_is_a_usage_error(notebook_dir, tmp_path, value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--notebook-dir", str(notebook_dir), "--output-dir", str(tmp_path / "r"),
              "--timeout", value])
    assert exc.value.code == 2


def test_render_math_and_static_widgets_units():
    out = render_math("energy $E = mc^2$, price $5 and `$x$` code")
    assert out.count('class="etalon-math"') == 1 and 'alt="E = mc^2"' in out and "`$x$`" in out
    nb = {"metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {
        "a": {"model_name": "IntSliderModel", "state": {"value": 4, "min": 0, "max": 9,
                                                         "description": "gain"}}}}}},
          "cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {
              "application/vnd.jupyter.widget-view+json": {"model_id": "a"}, "text/plain": "x"}}]}]}
    out = static_widgets(nb)
    html_text = out["cells"][0]["outputs"][0]["data"]["text/html"]
    assert "<b>gain</b> <code>4</code>" in html_text and "range 0 to 9" in html_text
    assert "widgets" not in out["metadata"] and "widgets" in nb["metadata"]


def test_report_with_a_widget_renders_offline_in_a_browser(tmp_path, capsys):
    """The HTML report of a notebook with a widget loads nothing from the network and shows the
    widget's output (the figure) as a static view; checked in headless Chromium, network off."""
    d = tmp_path / "nbs"
    d.mkdir()
    _write_nb(d / "60_widget.ipynb", "n: int = 1",
              _WIDGET_CELL + "\nfrom etalon.report import record\nrecord('n', n)")
    nb = nbformat.read(d / "60_widget.ipynb", as_version=4)
    nb.cells.insert(1, new_markdown_cell("Inputs none, outputs a figure; math $\\alpha = 2$."))
    nbformat.write(nb, d / "60_widget.ipynb")
    out = tmp_path / "r"
    # --timeout 30.5: fractional seconds accepted (nbclient takes whole seconds)
    assert main(["report", "--notebook-dir", str(d), "--output-dir", str(out), "--timeout", "30.5",
                 "--no-progress"]) == 0
    page = (out / "60_widget.html").read_text(encoding="utf-8")
    assert remote_references(page) == []
    assert "cdnjs" not in page and "unpkg" not in page
    assert page.count('class="etalon-widget-static"') == 1
    assert 'class="etalon-math"' in page
    executed = json.loads((out / "60_widget.ipynb").read_text())
    assert "widgets" in executed["metadata"]  # the live state stays in the notebook for JupyterLab
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("no chromium on this machine (apt-get install -y chromium): static checks only")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--proxy-server=http://127.0.0.1:9",
             "--proxy-bypass-list=<-loopback>", "--host-resolver-rules=MAP * ~NOTFOUND",
             f"--user-data-dir={tmp_path / 'chrome'}", "--window-size=1100,1600"]
    url = (out / "60_widget.html").as_uri()
    dom = subprocess.run([chromium, *flags, "--dump-dom", url], capture_output=True, text=True,
                         timeout=60).stdout
    widget = dom[dom.index('class="etalon-widget-static"'):]
    widget = widget[:widget.find("jp-Cell ")]  # up to the next cell
    assert "<b>file</b> <code>first</code>" in widget
    assert '<img alt="figure" src="data:image/png;base64,' in widget
    shot = out / "60_widget.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", url], capture_output=True, timeout=60)
    assert shot.stat().st_size > 10_000
