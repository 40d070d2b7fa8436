"""A notebook's ``parameters`` cell, read with :mod:`ast`, and command-line values checked against it.

The cell holds typed assignments (``n_files: int = 3``). A value given on the
command line (always text) is converted to the declared type, or refused with
a message naming the notebook, the parameter, the type and the value: never a
silent default.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["NotebookParameter", "ParameterError", "coerce_value", "read_notebook_json",
           "read_parameters"]


class ParameterError(ValueError):
    """A parameter name or value that a notebook does not accept."""


@dataclass(frozen=True)
class NotebookParameter:
    """One assignment of a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : str
    annotation : str or None
        The declared type as written (``"int"``, ``"list[str]"``, ``"str | None"``).
    default : Any
        The default value (a Python literal), or its source text when it is not a literal.
    """

    name: str
    annotation: str | None
    default: Any


def read_notebook_json(path: str | os.PathLike[str]) -> dict:
    """The notebook at ``path`` as a dict.

    Raises
    ------
    ParameterError
        Naming the file, when it cannot be read or is not a notebook (JSON object
        with a ``cells`` list).
    """
    p = Path(path)
    try:
        nb = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"{p}: cannot read the notebook ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{p}: not a notebook (not UTF-8 text: {exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{p}: not a notebook (invalid JSON at line {exc.lineno}, "
                             f"column {exc.colno}: {exc.msg})") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ParameterError(f"{p}: not a notebook (no list of cells)")
    return nb


def _parameters_cell(nb: dict, path: Path) -> str:
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"
             and "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"{path}: expected exactly one cell tagged 'parameters', found {len(cells)}")
    source = cells[0]["source"]
    return "".join(source) if isinstance(source, list) else source


def read_parameters(path: str | os.PathLike[str]) -> dict[str, NotebookParameter]:
    """The parameters declared in the notebook at ``path``, in order.

    Raises
    ------
    ParameterError
        When the notebook has no (or several) ``parameters`` cells or the cell is
        not valid Python.
    """
    p = Path(path)
    nb = read_notebook_json(p)
    source = _parameters_cell(nb, p)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"{p}: the parameters cell is not valid Python ({exc})") from exc
    found: dict[str, NotebookParameter] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)):
            name, annotation, value = node.targets[0].id, None, node.value
        else:
            continue
        try:
            default = ast.literal_eval(value)
        except ValueError:
            default = ast.unparse(value)
        found[name] = NotebookParameter(name=name, annotation=annotation, default=default)
    return found


def _split_union(annotation: str) -> tuple[str, bool]:
    """``"str | None"`` -> (``"str"``, True); ``"Optional[int]"`` -> (``"int"``, True)."""
    text = annotation.replace(" ", "")
    if text.startswith("Optional[") and text.endswith("]"):
        return text[len("Optional["):-1], True
    parts = [p for p in text.split("|") if p]
    optional = "None" in parts
    parts = [p for p in parts if p != "None"]
    return ("|".join(parts) if parts else "None"), optional


def coerce_value(text: str, annotation: str | None, *, where: str = "") -> Any:
    """Convert command-line ``text`` to the declared ``annotation``.

    ``str`` takes the text as it is; ``int``, ``float`` and ``bool`` must parse
    as such (``float`` takes integers too); ``list[...]``/``dict[...]`` take YAML
    or JSON (``[1, 2]``); ``X | None`` also takes ``None``/``null``. A parameter
    without annotation takes the YAML reading of the text.

    Raises
    ------
    ParameterError
        Naming ``where`` (notebook and parameter), the type and the value.
    """
    prefix = f"{where}: " if where else ""
    if annotation is None:
        return yaml.safe_load(text) if text.strip() else text
    base, optional = _split_union(annotation)
    if optional and text.strip() in ("None", "null", "~"):
        return None
    try:
        parsed = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        parsed = text
    kind = base.split("[", 1)[0]
    if kind == "str":
        return text
    if kind == "bool":
        if isinstance(parsed, bool):
            return parsed
        if text.strip() in ("0", "1"):
            return text.strip() == "1"
    elif kind == "int":
        if isinstance(parsed, int) and not isinstance(parsed, bool):
            return parsed
    elif kind == "float":
        if isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
            return float(parsed)
        try:  # YAML 1.1 reads "1e-3" as text
            return float(text.strip())
        except ValueError:
            pass
    elif kind in ("list", "tuple", "List", "Sequence"):
        if isinstance(parsed, list):
            return parsed
    elif kind in ("dict", "Dict", "Mapping"):
        if isinstance(parsed, dict):
            return parsed
    else:  # an annotation we do not check: take the YAML reading
        return parsed
    raise ParameterError(f"{prefix}expected a value of type {annotation}, got {text!r}")
