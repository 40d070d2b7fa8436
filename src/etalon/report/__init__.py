"""Headline results of a notebook, for the report index.

A notebook calls :func:`record` for each scalar worth seeing on the front
page of the reports (``index.html``). The value is displayed in the notebook
and carried in its output under the MIME type :data:`RECORD_MIME`, from which
``etalon report`` collects it after execution: no side files, and the
executed notebook alone is the record.

The runner itself is :mod:`etalon.report.runner` (imported lazily: notebooks
that only record stay light).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RECORD_MIME", "Record", "collect_records", "format_value", "record"]

#: MIME type under which a record travels in a notebook's outputs
RECORD_MIME = "application/vnd.etalon.record+json"


@dataclass(frozen=True)
class Record:
    """One headline figure: name, value, unit (free text, e.g. ``"W m-2 um-1"``)."""

    name: str
    value: Any
    unit: str = ""

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        text = f"{self.name} = {format_value(self.value)} {self.unit}".rstrip()
        return {
            RECORD_MIME: asdict(self),
            "text/plain": text,
            "text/html": f"<p><b>{_escape(self.name)}</b> = {_escape(format_value(self.value))} "
            f"{_escape(self.unit)}</p>",
        }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_value(value: Any) -> str:
    """A recorded value as text: floats to 4 significant digits (:func:`etalon.display.format_number`)."""
    from etalon.display import format_number

    return format_number(value)


def _plain(value: Any) -> Any:
    """A JSON-ready version of ``value`` (numpy scalars and quantities welcome)."""
    if hasattr(value, "unit") and hasattr(value, "value"):  # astropy Quantity
        value = value.value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalar / 0-d array
        value = value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def record(name: str, value: Any, unit: str = "") -> None:
    """Record a headline figure of this notebook and display it.

    Parameters
    ----------
    name : str
        Short label, e.g. ``"decode throughput"``.
    value : number, bool or str
        The figure (numpy scalars and astropy quantities are converted; a
        quantity's unit is used when ``unit`` is empty).
    unit : str
        Unit of ``value``, free text.

    The record is displayed (``name = value unit``) and returns nothing, so a
    call ending a cell does not show it twice.
    """
    if not unit and hasattr(value, "unit"):
        unit = str(value.unit)
    rec = Record(name=str(name), value=_plain(value), unit=str(unit))
    json.dumps(asdict(rec))  # fail here, not in the report, if not serialisable
    try:
        from IPython.display import display

        display(rec)
    except ImportError:  # pragma: no cover - IPython is a dependency
        print(rec._repr_mimebundle_()["text/plain"])


def collect_records(notebook: Any) -> list[Record]:
    """All records found in the outputs of an executed notebook (an nbformat node), in order."""
    found: list[Record] = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if RECORD_MIME in data:
                payload = data[RECORD_MIME]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                found.append(Record(**payload))
    return found
