"""Numbers and tables for people: significant digits, units, tables that fit.

One helper for the command line and the notebooks, so that a value reads the
same everywhere: ``format_number(0.0010595276740239998)`` is ``"0.00106"``,
``format_number(0.009999999776482582)`` (a float32 0.01) is ``"0.01"``,
``format_quantity(1.2345, 0.0123, "W m-2 um-1")`` is ``"1.234 ± 0.012 W m-2 um-1"``.

Tables: :func:`format_table` returns a copy whose float columns print with
significant digits (``table.pprint`` on the command line), :func:`html_table`
an HTML table without astropy's dtype row, in a box that scrolls instead of
running off the page; :func:`show` displays one in a notebook.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["DIGITS", "format_number", "format_quantity", "format_table", "header_table",
           "html_table", "show"]

#: significant digits by default
DIGITS = 4


def _is_float(value: Any) -> bool:
    return isinstance(value, (float, np.floating))


def format_number(value: Any, digits: int = DIGITS) -> str:
    """``value`` with ``digits`` significant digits (integers, text and bools as they are).

    Plain notation from 1e-4 up to ``10**digits``, scientific outside (``%g``); trailing zeros dropped;
    NaN as ``nan``, infinities as ``inf``/``-inf``; float32 values are rounded
    from their float32 precision first (``0.01``, not ``0.009999999776482582``).

    Examples
    --------
    >>> format_number(0.0010595276740239998)
    '0.00106'
    >>> format_number(np.float32(0.01))
    '0.01'
    >>> format_number(123456789.0)
    '1.235e+08'
    >>> format_number(-0.0)
    '0'
    """
    if hasattr(value, "unit") and hasattr(value, "value"):  # astropy Quantity
        return f"{format_number(value.value, digits)} {value.unit}".rstrip()
    if isinstance(value, (bool, np.bool_)) or not _is_float(value):
        if isinstance(value, (np.integer,)):
            return str(int(value))
        return str(value)
    if isinstance(value, np.float32):
        digits = min(digits, 7)
    x = float(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        return f"{mantissa}e{exp}"
    return "0" if text == "-0" else text


def format_quantity(value: Any, uncertainty: Any = None, unit: str = "", digits: int = DIGITS) -> str:
    """``value ± uncertainty unit``, the value rounded at the uncertainty's second digit.

    Without (or with a non-finite or zero) uncertainty, ``value`` gets ``digits``
    significant digits.

    Examples
    --------
    >>> format_quantity(1.23456, 0.0123, "W m-2 um-1")
    '1.235 ± 0.012 W m-2 um-1'
    >>> format_quantity(0.9451, None, "")
    '0.9451'
    """
    if uncertainty is None or not np.isfinite(uncertainty) or uncertainty <= 0 or not np.isfinite(value):
        text = format_number(value, digits)
    else:
        u = float(uncertainty)
        u_exp = math.floor(math.log10(u))
        decimals = 1 - u_exp  # two significant digits of the uncertainty
        if decimals > 0 and abs(float(value)) < 1e6:
            text = f"{float(value):.{decimals}f} ± {u:.{decimals}f}"
        else:
            v_exp = math.floor(math.log10(abs(float(value)))) if value else u_exp
            sig = max(2, v_exp - u_exp + 2)
            text = f"{format_number(float(value), sig)} ± {format_number(u, 2)}"
    return f"{text} {unit}".rstrip()


def _column_formatter(digits: int):
    return lambda v: format_number(v, digits)


def format_table(table, digits: int = DIGITS, units: Mapping[str, str] | None = None):
    """A copy of an astropy ``table`` whose float columns print with ``digits`` significant digits.

    ``units`` gives column units to set (shown under the names by ``pprint``).
    The values themselves are untouched (only their display format).
    """
    out = table.copy(copy_data=False)
    for name in out.colnames:
        col = out[name]
        if getattr(col, "dtype", None) is not None and col.dtype.kind == "f":
            col.info.format = _column_formatter(digits)
        if units and name in units:
            col.unit = units[name]
    return out


_STYLE = ("<style>.etalon-table{overflow-x:auto;max-width:100%}"
          ".etalon-table table{border-collapse:collapse;font-size:90%;font-variant-numeric:"
          "tabular-nums}.etalon-table th,.etalon-table td{border-bottom:1px solid #ddd;"
          "padding:.2em .6em;text-align:right;white-space:nowrap}.etalon-table th{background:"
          "#f4f4f4}.etalon-table td.t{text-align:left;white-space:normal;min-width:12em;"
          "max-width:40em}</style>")


def _cell(value: Any, digits: int) -> tuple[str, bool]:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return " ".join(format_number(v, digits) for v in value.ravel()[:6]) + \
            (" …" if value.size > 6 else ""), False
    numeric = isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))
    return format_number(value, digits), numeric


def html_table(table, digits: int = DIGITS, max_rows: int = 50, caption: str | None = None) -> str:
    """An astropy ``Table`` (or a list of dicts) as HTML: significant digits, units in the
    header, no dtype row, in a box that scrolls sideways rather than overflowing.

    Shows the first and last rows of a longer table, with the count of rows left out.
    """
    if isinstance(table, (list, tuple)):
        from astropy.table import Table

        table = Table(rows=list(table)) if table else Table()
    names = list(table.colnames)
    head = []
    for n in names:
        unit = getattr(table[n], "unit", None)
        label = html.escape(str(n)) + (f"<br><small>{html.escape(str(unit))}</small>" if unit else "")
        head.append(f"<th>{label}</th>")
    n_rows = len(table)
    if n_rows > max_rows:
        keep = list(range(max_rows // 2)) + list(range(n_rows - max_rows // 2, n_rows))
    else:
        keep = list(range(n_rows))
    body = []
    for k, i in enumerate(keep):
        if k and i != keep[k - 1] + 1:
            body.append(f'<tr><td class="t" colspan="{len(names)}">… {i - keep[k - 1] - 1} '
                        "rows …</td></tr>")
        cells = []
        for n in names:
            v = table[n][i]
            if hasattr(v, "unit") and hasattr(v, "value"):
                v = v.value
            text, numeric = _cell(v, digits)
            cells.append(f'<td{"" if numeric else " class=t"}>{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'{_STYLE}<div class="etalon-table"><table>{cap}<thead><tr>{"".join(head)}</tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table></div>')


class _HTML:
    def __init__(self, text: str, plain: str) -> None:
        self._html, self._plain = text, plain

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._plain


def show(table, digits: int = DIGITS, max_rows: int = 50, caption: str | None = None):
    """Display ``table`` in a notebook as :func:`html_table` (returns the displayable object)."""
    from astropy.table import Table

    tab = table if isinstance(table, Table) else Table(rows=list(table))
    plain = "\n".join(format_table(tab, digits).pformat(max_lines=max_rows + 4, max_width=-1,
                                                        show_dtype=False))
    return _HTML(html_table(tab, digits, max_rows, caption), plain)


def header_table(header, keys: Iterable[str] | None = None, digits: int = 6):
    """FITS header cards (``keys``, default all but HISTORY/COMMENT) as a keyword/value/comment
    table with numbers at ``digits`` significant digits, for :func:`show`."""
    from astropy.table import Table

    rows = []
    for key in keys if keys is not None else header.keys():
        if key in ("HISTORY", "COMMENT", "") or key not in header:
            continue
        value = header[key]
        rows.append((key, format_number(value, digits) if _is_float(value) else str(value),
                     header.comments[key]))
    return Table(rows=rows or None, names=("keyword", "value", "comment"), dtype=(str, str, str))
