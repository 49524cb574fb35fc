"""What a reader sees of the app's Vega-Lite charts in a real browser: plot heights and axis labels.

How the checks read a chart (Streamlit 1.67, vega-embed):

* **What the chart asked for** comes from the server itself: :class:`ChartSpecs` listens to the tab's
  websocket and decodes every ``ForwardMsg`` with Streamlit's own protobuf classes; a new
  ``vega_lite_chart`` element carries the Vega-Lite spec as JSON (a message the browser already has
  arrives as a ``ref_hash`` and is looked up). The requested plot height is the largest ``height`` in
  the spec or its layers (what ``explain/charts.py`` sets;
  ``core/charts.fit_width`` keeps it as the plot height).
* **What was drawn** is read from the DOM. Streamlit renders a chart as SVG unless it has more than
  2,000 data rows per view (then canvas). In the SVG, Vega writes the plot area as the root group's
  background path (``g.role-frame.root > g > path.background``, ``d="M0,0h{width}v{height}h…"``), each
  axis as ``g.role-axis`` with an ``aria-label`` (``"Y-axis for a discrete scale with 11 values: …"``)
  and its tick labels as ``g.role-axis-label text``; a label Vega hides because it would overlap gets
  ``opacity="0"``, one cut by ``labelLimit`` ends in "…". Titles are ``g.role-title text``.
* A drawn chart is paired with its spec by text: every title in the spec (chart, axes, legend) must
  appear in the chart's SVG (its ``aria-label``\\ s hold the full titles); the newest such spec wins.
* A canvas chart has no DOM to read: only its box is checked (it must be at least the requested plot
  height); its labels cannot be checked (``report`` lists it as such).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page

_PROBE = """() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]')).map((el, index) => {
  const rect = el.getBoundingClientRect();
  const visible = el.offsetParent !== null && rect.height > 0 && rect.width > 0;
  const svg = el.querySelector('svg.marks');
  const out = {index, visible, box: rect.height, renderer: svg ? 'svg' : (el.querySelector('canvas') ? 'canvas' : 'none')};
  if (!svg || !visible) return out;
  const frame = svg.getBoundingClientRect();
  // 3 px of slack: a rotated axis title's box pokes out a little while the text is whole.
  const inside = r => r.left >= frame.left - 3 && r.right <= frame.right + 3 && r.top >= frame.top - 3
                      && r.bottom <= frame.bottom + 3;
  const background = svg.querySelector('g.role-frame.root > g > path.background');
  const size = background && /h(-?[\\d.]+)v(-?[\\d.]+)/.exec(background.getAttribute('d') || '');
  out.plot = size ? [parseFloat(size[1]), parseFloat(size[2])] : null;
  out.texts = Array.from(svg.querySelectorAll('[aria-label]')).map(n => n.getAttribute('aria-label'))
    .concat(Array.from(svg.querySelectorAll('.role-title text, .role-axis-title text, .role-legend-title text'))
            .map(t => t.textContent));
  out.titles = Array.from(svg.querySelectorAll('.role-title text, .role-axis-title text')).map(t => ({
    text: t.textContent, inside: inside(t.getBoundingClientRect())}));
  out.axes = Array.from(svg.querySelectorAll('g.role-axis[aria-label]')).map(axis => ({
    label: axis.getAttribute('aria-label'),
    ticks: Array.from(axis.querySelectorAll('.role-axis-label text')).map(t => ({
      text: t.textContent, opacity: parseFloat(t.getAttribute('opacity') ?? '1'),
      inside: inside(t.getBoundingClientRect())}))}));
  out.legend = Array.from(svg.querySelectorAll('.role-legend-label text')).map(t => t.textContent);
  out.bars = svg.querySelectorAll('g.mark-rect.role-mark path').length;
  return out;
})"""


class ChartSpecs:
    """Every Vega-Lite spec the server sent to one tab, in the order they came (newest last)."""

    def __init__(self, page: Page) -> None:
        self.specs: list[dict[str, Any]] = []
        self._by_hash: dict[str, Any] = {}
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if not isinstance(payload, (bytes, bytearray)):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(bytes(payload))
        except Exception:  # not a ForwardMsg: nothing to record
            return
        if msg.WhichOneof("type") == "ref_hash":
            msg = self._by_hash.get(msg.ref_hash)
            if msg is None:
                return
        elif msg.hash:
            self._by_hash[msg.hash] = msg
        if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        if element.WhichOneof("type") != "vega_lite_chart":
            return
        try:
            self.specs.append(json.loads(element.vega_lite_chart.spec))
        except ValueError:
            return


def _titles(spec: dict[str, Any]) -> list[str]:
    """The chart, axis and legend titles a spec asks for (its layers' too)."""
    found: list[str] = []

    def text(value) -> None:
        if isinstance(value, str) and value.strip():
            found.append(value.strip())
        elif isinstance(value, list):
            found.extend(v.strip() for v in value if isinstance(v, str) and v.strip())
        elif isinstance(value, dict):
            text(value.get("text"))

    def walk(part: dict[str, Any]) -> None:
        text(part.get("title"))
        for channel in (part.get("encoding") or {}).values():
            if isinstance(channel, dict) and "title" in channel:
                text(channel["title"])
        for key in ("layer", "vconcat", "hconcat", "concat"):
            for sub in part.get(key) or []:
                if isinstance(sub, dict):
                    walk(sub)

    walk(spec)
    return list(dict.fromkeys(found))


def requested_height(spec: dict[str, Any]) -> float | None:
    """The plot height a spec asks for (the largest ``height`` of the spec and its parts)."""
    heights: list[float] = []

    def walk(part: dict[str, Any]) -> None:
        if isinstance(part.get("height"), (int, float)):
            heights.append(float(part["height"]))
        for key in ("layer", "vconcat", "hconcat", "concat"):
            for sub in part.get(key) or []:
                if isinstance(sub, dict):
                    walk(sub)

    walk(spec)
    return max(heights) if heights else None


@dataclass
class DrawnChart:
    """One chart as the browser drew it, with the spec it was drawn from (when found)."""

    index: int
    renderer: str
    box: float
    plot: tuple[float, float] | None = None
    texts: list[str] = field(default_factory=list)
    titles: list[dict] = field(default_factory=list)
    axes: list[dict] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)
    bars: int = 0
    spec: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        titles = _titles(self.spec) if self.spec else []
        return repr(titles[0]) if titles else f"chart #{self.index + 1}"

    @property
    def requested(self) -> float | None:
        return requested_height(self.spec) if self.spec else None

    def y_axis(self) -> dict | None:
        return next((a for a in self.axes if a["label"].startswith("Y-axis")), None)

    def discrete_values(self, axis: dict) -> int | None:
        match = re.search(r"discrete scale with (\d+) values?", axis["label"])
        return int(match.group(1)) if match else None


def drawn_charts(page: Page, specs: ChartSpecs) -> list[DrawnChart]:
    """The visible charts of the page (hidden tabs left out), each paired with its spec."""
    charts = []
    for raw in page.evaluate(_PROBE):
        if not raw.pop("visible"):
            continue
        chart = DrawnChart(**{k: raw[k] for k in ("index", "renderer", "box")})
        chart.plot = tuple(raw["plot"]) if raw.get("plot") else None
        for key in ("texts", "titles", "axes", "legend", "bars"):
            if key in raw:
                setattr(chart, key, raw[key])
        joined = "\n".join(chart.texts)
        best = None
        for spec in reversed(specs.specs):  # the newest spec with the most titles found in the drawing
            titles = _titles(spec)
            if titles and all(t in joined for t in titles) and (best is None or len(titles) > len(_titles(best))):
                best = spec
        chart.spec = best
        charts.append(chart)
    return charts


def height_problems(charts: list[DrawnChart]) -> list[str]:
    """Charts whose plot area is shorter than the height their spec asks for."""
    problems = []
    for chart in charts:
        if chart.renderer == "svg" and chart.spec is None:
            problems.append(f"{chart.name}: no spec sent by the server matches its titles {chart.texts[:4]}")
            continue
        wanted = chart.requested
        if wanted is None:
            continue  # the chart asks for no height (Streamlit's default applies)
        drawn = chart.plot[1] if chart.plot else chart.box  # a canvas: its whole box, an upper bound of the plot
        if drawn + 0.5 < wanted:
            where = "plot area" if chart.plot else f"{chart.renderer} box"
            problems.append(f"{chart.name}: {where} {drawn:.0f} px tall, the chart asks for {wanted:.0f} px")
    return problems


def label_problems(charts: list[DrawnChart]) -> list[str]:
    """Hidden, cut or clipped labels: every value of a discrete y axis needs its label, whole; titles whole."""
    problems = []
    for chart in charts:
        for title in chart.titles:
            if title["text"].endswith("…") or not title["inside"]:
                problems.append(f"{chart.name}: title {title['text']!r} is cut or outside the chart")
        axis = chart.y_axis()
        if axis is None:
            continue
        values = chart.discrete_values(axis)
        if values is None:
            continue
        shown = [t for t in axis["ticks"] if t["opacity"] > 0 and t["inside"] and not t["text"].endswith("…")]
        if len(shown) < values:
            hidden = [t["text"] for t in axis["ticks"] if t not in shown]
            problems.append(f"{chart.name}: {len(shown)} of {values} y-axis labels readable "
                            f"(hidden or cut: {hidden})")
    return problems


def chart_report(charts: list[DrawnChart]) -> str:
    """One line per chart (for an assertion message or the test log)."""
    lines = []
    for chart in charts:
        plot = f"plot {chart.plot[0]:.0f}x{chart.plot[1]:.0f}" if chart.plot else f"box {chart.box:.0f} (no plot read)"
        lines.append(f"{chart.name} [{chart.renderer}] {plot}, asks {chart.requested}")
    return "\n".join(lines)
