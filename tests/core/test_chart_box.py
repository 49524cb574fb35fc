"""The chart box is tall enough for the plot height a chart asks for, its title, axis and legend."""
from __future__ import annotations

import altair as alt
import pandas as pd

from core.charts import AXIS_PX, TITLE_PX, box_height


def _data(n: int) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"persona {i}" for i in range(n)], "value": range(n)})


def test_a_titled_bar_chart_gets_its_plot_height_plus_title_and_axis():
    chart = alt.Chart(_data(9)).mark_bar().encode(y="name:N", x="value:Q").properties(height=234, title="t")
    assert box_height(chart) == 234 + TITLE_PX + AXIS_PX


def test_a_layered_chart_uses_the_tallest_layer_and_a_long_legend_wins():
    data = _data(30)
    bars = alt.Chart(data).mark_bar().encode(y="name:N", x="value:Q", color="name:N")
    chart = (bars + bars.mark_point()).properties(height=100)
    assert box_height(chart) >= 30 * 18  # thirty legend entries need more room than the plot


def test_a_chart_without_a_height_keeps_streamlits_default():
    assert box_height(alt.Chart(_data(3)).mark_bar().encode(x="value:Q")) == "content"
