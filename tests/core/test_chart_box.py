"""Charts keep the plot height they ask for: width follows the page, title, axes and legend come on top.

The real-browser check of the drawn plot height is ``tests/browser/chart_checks.py``; here the spec
Streamlit receives is checked: it must carry ``autosize: fit-x`` (Streamlit's own default for a chart
without one is ``fit``, which squeezes the plot into the box).
"""
from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from core.charts import AUTOSIZE, fit_width


def _data(n: int) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"persona {i}" for i in range(n)], "value": range(n)})


@pytest.mark.parametrize("build", [
    lambda b: b.properties(height=234, title="t"),
    lambda b: (b + b.mark_point()).properties(height=100),
    lambda b: alt.vconcat(b.properties(height=80), b.properties(height=120)),
])
def test_every_kind_of_chart_fits_its_width_and_keeps_its_height(build):
    bars = alt.Chart(_data(9)).mark_bar().encode(y="name:N", x="value:Q", color="name:N")
    chart = build(bars)
    spec = fit_width(chart).to_dict()
    assert spec["autosize"] == AUTOSIZE
    assert {k: v for k, v in spec.items() if k != "autosize"} == chart.to_dict(), "nothing else changes"


def test_a_chart_with_its_own_autosize_keeps_it():
    chart = alt.Chart(_data(3)).mark_bar().encode(x="value:Q").properties(autosize="pad")
    assert fit_width(chart).to_dict()["autosize"] == "pad"


def test_streamlit_leaves_the_autosize_alone():
    """Streamlit replaces a missing autosize by ``fit`` (the squeeze); it must keep ours."""
    from streamlit.elements.vega_charts import _prepare_vega_lite_spec

    spec = _prepare_vega_lite_spec(fit_width(alt.Chart(_data(3)).mark_bar().encode(x="value:Q")).to_dict(), True)
    assert spec["autosize"] == AUTOSIZE
