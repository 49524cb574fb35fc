"""How tall a chart's box must be for its plot to get the height the chart asks for.

Streamlit draws an Altair chart with ``autosize: fit``: the chart's ``height`` becomes the height of
the whole box, title, axes and legend included, so a 234 px plot of nine labelled rows is squeezed to
about 150 px and Vega drops every second label. The pages therefore pass the box height from
:func:`box_height` to ``st.altair_chart(chart, height=...)``: the plot height the chart asks for plus
room for a title and an axis, or the legend's height when that is taller.
"""
from __future__ import annotations

from typing import Any

TITLE_PX = 32  #: a chart title (one line)
AXIS_PX = 56  #: x-axis labels and title
LEGEND_ROW_PX = 18  #: one legend entry
LEGEND_HEAD_PX = 28  #: the legend's title


def _heights(spec: dict[str, Any]) -> list[float]:
    out = [float(spec["height"])] if isinstance(spec.get("height"), (int, float)) else []
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for part in spec.get(key) or []:
            out += _heights(part)
    return out


def _legend_rows(spec: dict[str, Any]) -> int:
    """Entries of the longest nominal colour legend (its domain, or the distinct values in the data)."""
    rows = 0
    for part in [spec, *(spec.get("layer") or [])]:
        colour = (part.get("encoding") or {}).get("color") or {}
        if colour.get("legend", {}) is None or colour.get("type") not in ("nominal", "ordinal"):
            continue
        domain = (colour.get("scale") or {}).get("domain")
        if isinstance(domain, list):
            rows = max(rows, len(domain))
            continue
        field = colour.get("field")
        for values in (spec.get("datasets") or {}).values():
            if field and values and isinstance(values, list):
                rows = max(rows, len({str(row.get(field)) for row in values if isinstance(row, dict)}))
    return rows


def box_height(chart: Any) -> int | str:
    """The pixel height to give ``st.altair_chart`` so the plot keeps the height the chart asks for;
    ``"content"`` for a chart that asks for none (Streamlit's default then applies)."""
    spec = chart.to_dict()
    heights = _heights(spec)
    if not heights:
        return "content"
    plot = max(heights)
    titled = bool(spec.get("title")) or any(bool(p.get("title")) for p in spec.get("layer") or [])
    box = plot + AXIS_PX + (TITLE_PX if titled else 0)
    legend = _legend_rows(spec)
    if legend:
        box = max(box, LEGEND_HEAD_PX + legend * LEGEND_ROW_PX + (TITLE_PX if titled else 0))
    return int(round(box))
