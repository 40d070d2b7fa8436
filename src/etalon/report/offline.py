"""HTML reports that render completely without network.

nbconvert's pages load require.js, MathJax and the Jupyter widgets' HTML manager
from public CDNs; offline, math shows as TeX source and every widget is blank.
The runner therefore hands nbconvert a copy of the executed notebook where

* each widget output is replaced by a **static rendering of its state** when
  the notebook ran (:func:`static_widgets`): the controls' values as text and an
  Output widget's captured outputs (figures, tables) as ordinary outputs; the
  executed ``.ipynb`` keeps the live widget state for JupyterLab;
* math in markdown (``$...$``, ``$$...$$``) is rendered to inline SVG by
  matplotlib's mathtext (:func:`render_math`), TeX kept as the image's text;

and the page is then cleaned of every script or stylesheet loaded from the
network (:func:`strip_remote`). :func:`remote_references` lists what a page
would still fetch (the tests require none).
"""

from __future__ import annotations

import base64
import copy
import html
import io
import re
from typing import Any

__all__ = [
    "WIDGET_STATE_MIME",
    "WIDGET_VIEW_MIME",
    "offline_notebook",
    "remote_references",
    "render_math",
    "static_widgets",
    "strip_remote",
]

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"

_NOTE = ("interactive widget, shown as it was when the report ran; open the notebook in "
         "JupyterLab to use it")
_BOX = ("VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel", "TabModel", "AccordionModel",
        "StackModel")
_SELECT = ("DropdownModel", "SelectModel", "RadioButtonsModel", "ToggleButtonsModel",
           "SelectionSliderModel")


def _ref(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        return value[len("IPY_MODEL_"):]
    return None


def _output_html(output: dict) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        return f"<pre>{html.escape(''.join(text) if isinstance(text, list) else text)}</pre>"
    if kind == "error":
        return f"<pre>{html.escape(output.get('ename', ''))}: {html.escape(output.get('evalue', ''))}</pre>"
    data = output.get("data", {})

    def text(key):
        v = data[key]
        return "".join(v) if isinstance(v, list) else v

    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            return f'<img alt="figure" src="data:{mime};base64,{text(mime).strip()}">'
    if "image/svg+xml" in data:
        return text("image/svg+xml")
    if "text/html" in data:
        return text("text/html")
    if "text/plain" in data:
        return f"<pre>{html.escape(text('text/plain'))}</pre>"
    return ""


def _widget_html(model_id: str, state: dict, depth: int = 0) -> str:
    model = state.get(model_id)
    if model is None or depth > 30:
        return ""
    name = model.get("model_name", "")
    s = model.get("state", {})
    label = html.escape(str(s.get("description", "") or ""))
    prefix = f"<b>{label}</b> " if label else ""
    if name in _BOX:
        children = [_ref(c) for c in s.get("children", [])]
        titles = s.get("titles") or s.get("_titles") or []
        parts = []
        for i, c in enumerate(children):
            if c is None:
                continue
            if isinstance(titles, dict):
                title = titles.get(str(i))
            else:
                title = titles[i] if i < len(titles) else None
            head = f"<div><b>{html.escape(str(title))}</b></div>" if title else ""
            parts.append(f"<div>{head}{_widget_html(c, state, depth + 1)}</div>")
        direction = "row" if name == "HBoxModel" else "column"
        return f'<div style="display:flex;flex-direction:{direction};gap:.4em">{"".join(parts)}</div>'
    if name == "OutputModel":
        return "".join(_output_html(o) for o in s.get("outputs", []))
    if name in _SELECT:
        labels = s.get("_options_labels", [])
        index = s.get("index")
        value = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else "(none)"
        others = ", ".join(html.escape(str(x)) for x in labels)
        return (f"<div>{prefix}<code>{html.escape(str(value))}</code> "
                f'<small style="color:#666">(choices: {others})</small></div>')
    if name == "SelectMultipleModel":
        labels = s.get("_options_labels", [])
        chosen = [labels[i] for i in s.get("index", []) if 0 <= i < len(labels)]
        return f"<div>{prefix}<code>{html.escape(', '.join(map(str, chosen)))}</code></div>"
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div>{prefix}{s.get('value', '')}</div>"
    if name == "LabelModel":
        return f"<div>{prefix}{html.escape(str(s.get('value', '')))}</div>"
    if name == "ButtonModel":
        return f"<div><code>[{label or 'button'}]</code></div>"
    if "value" in s:
        value = s["value"]
        extra = ""
        if "min" in s and "max" in s:
            extra = f' <small style="color:#666">(range {s["min"]} to {s["max"]})</small>'
        return f"<div>{prefix}<code>{html.escape(str(value))}</code>{extra}</div>"
    return f"<div><small>{html.escape(name)}</small></div>"


def static_widgets(nb: dict) -> dict:
    """A copy of notebook ``nb`` with every widget output replaced by a static HTML view of
    the widget's saved state, and the widget state removed from the metadata.

    A widget whose state was not saved keeps its ``text/plain`` representation.
    """
    nb = copy.deepcopy(nb)
    meta = nb.get("metadata", {})
    state = (meta.get("widgets", {}).get(WIDGET_STATE_MIME, {}) or {}).get("state", {})
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if WIDGET_VIEW_MIME not in data:
                continue
            view = data.pop(WIDGET_VIEW_MIME)
            if isinstance(view, str):
                import json

                view = json.loads(view)
            model_id = view.get("model_id", "")
            if model_id in state:
                body = _widget_html(model_id, state)
                data["text/html"] = (
                    '<div class="etalon-widget-static" data-model-id="'
                    f'{html.escape(model_id)}" style="border-left:3px solid #8aa4c8;'
                    'padding-left:.7em;margin:.3em 0">'
                    f'<div style="color:#666;font-size:85%">{_NOTE}</div>{body}</div>')
    if "widgets" in meta:
        meta.pop("widgets")
    return nb


# ---------------------------------------------------------------- math
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)


def _svg_of(tex: str, fontsize: float) -> str | None:
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    buf = io.BytesIO()
    try:
        mathtext.math_to_image(f"${tex}$", buf, prop=FontProperties(size=fontsize), format="svg")
    except Exception:  # mathtext supports a subset of TeX: keep the source then
        return None
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _math_img(tex: str, display: bool) -> str | None:
    svg = _svg_of(tex.strip(), 14 if display else 11)
    if svg is None:
        return None
    alt = html.escape(tex.strip(), quote=True)
    style = "display:block;margin:.5em auto" if display else "vertical-align:middle"
    return (f'<img class="etalon-math" alt="{alt}" title="{alt}" style="{style}" '
            f'src="data:image/svg+xml;base64,{svg}">')


def render_math(markdown: str) -> str:
    """``markdown`` with its ``$$...$$`` and ``$...$`` math replaced by inline SVG images
    (code spans and blocks untouched; math mathtext cannot parse kept as written)."""
    pieces = _CODE.split(markdown)
    for i in range(0, len(pieces), 2):  # even pieces are outside code
        text = _DISPLAY.sub(lambda m: _math_img(m.group(1), True) or m.group(0), pieces[i])
        pieces[i] = _INLINE.sub(lambda m: _math_img(m.group(1), False) or m.group(0), text)
    return "".join(pieces)


def offline_notebook(nb: dict) -> dict:
    """:func:`static_widgets` plus :func:`render_math` over every markdown cell."""
    nb = static_widgets(nb)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            if "$" in src:
                cell["source"] = render_math(src)
    return nb


# ---------------------------------------------------------------- page
_REMOTE = r"(?:https?:)?//"
_SCRIPT_SRC = re.compile(rf"<script\b[^>]*\bsrc=[\"']{_REMOTE}[^\"']*[\"'][^>]*>\s*</script>", re.I)
_LINK = re.compile(rf"<link\b[^>]*\bhref=[\"']{_REMOTE}[^\"']*[\"'][^>]*>", re.I)
_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.I | re.S)


def strip_remote(page: str) -> str:
    """``page`` without scripts and stylesheets loaded from the network, and without inline
    scripts that load some (the widget manager loader, MathJax configuration, mermaid)."""
    page = _SCRIPT_SRC.sub("", page)
    page = _LINK.sub("", page)

    def inline(m: re.Match) -> str:
        body = m.group(2)
        if re.search(r"https?://(?!www\.w3\.org/)", body) or "MathJax" in body or "require(" in body:
            return ""
        return m.group(0)

    return _INLINE_SCRIPT.sub(inline, page)


def remote_references(page: str) -> list[str]:
    """URLs a browser would fetch for ``page``: script/img/iframe ``src``, stylesheet ``href``,
    ``import`` and ``url(...)`` of the network (links a reader may click are not counted)."""
    found = []
    tags = r"<(?:script|img|iframe|source|embed)\b[^>]*\bsrc="
    found += re.findall(rf"{tags}[\"']({_REMOTE}[^\"']*)", page, re.I)
    found += re.findall(rf"<link\b[^>]*\bhref=[\"']({_REMOTE}[^\"']*)", page, re.I)
    found += re.findall(rf"\bimport\b[^;'\"]*[\"']({_REMOTE}[^\"']*)[\"']", page)
    found += re.findall(rf"url\(\s*[\"']?({_REMOTE}[^)\"']*)", page)
    found += re.findall(r"[\"'](https?://[^\"']*\.m?js(?:\?[^\"']*)?)[\"']", page)
    return sorted(set(found))
