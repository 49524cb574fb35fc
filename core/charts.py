"""Charts that keep the plot height they ask for, whatever their title, axes and legend need.

Streamlit draws an Altair chart without its own ``autosize`` with ``autosize: fit``: the chart's
``height`` becomes the height of the whole box, title, axes and legend included, so a 234 px plot of
nine labelled rows is squeezed to about 150 px and Vega drops every second label. Measured in a real
browser (``tests/browser/chart_checks.py``), giving the box a computed pixel height did not help
either: a legend at the bottom, a two-line title or long German axis titles take more than any fixed
allowance. :func:`fit_width` therefore gives the chart Vega-Lite's ``fit-x`` autosize: its width
follows the page, its plot is exactly the height it asks for, and title, axes and legend are added
around it; the page shows it with Streamlit's default ``height="content"``::

    st.altair_chart(fit_width(chart), width="stretch")
"""
from __future__ import annotations

from typing import Any

#: Width follows the container; height is the plot's own, with title, axes and legend added around it.
AUTOSIZE = {"type": "fit-x", "contains": "padding"}


def fit_width(chart: Any) -> Any:
    """``chart`` with ``autosize: fit-x`` (unless it sets its own autosize), for ``st.altair_chart``."""
    if "autosize" in chart.to_dict():
        return chart
    return chart.properties(autosize=AUTOSIZE)
