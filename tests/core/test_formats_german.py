"""German and English formats through Babel: numbers, amounts, percentages, dates, charts and CSV files."""
from __future__ import annotations

import csv
import io

import altair as alt
import pandas as pd
import pytest

from core.formats import (axis_format, csv_bytes, format_count, format_date, format_money, format_number,
                          format_percent, format_timestamp, localise_chart, vega_locale)
from core.i18n import use_language


def test_a_number_in_german_and_english():
    assert format_number(1234.56, "de") == "1.234,56"
    assert format_number(1234.56, "en") == "1,234.56"
    assert format_count(1500, "de") == "1.500"


def test_an_amount_in_euro_and_with_an_unknown_currency():
    assert format_money(1234.56, "EUR", "de") == "1.234,56 €"
    assert format_money(1234.56, "EUR", "en") == "€1,234.56"
    assert format_money(1234.56, None, "de") == "1.234,56"
    assert format_money(1234.5, "CHF", "de", decimals=0) == "1.235 CHF"


def test_an_amount_takes_the_portfolios_currency_object():
    from portfolio.currency import Currency

    assert format_money(99.5, Currency.of_code("EUR"), "de") == "99,50 €"
    assert format_money(99.5, Currency(), "de") == "99,50"


def test_percentages_and_dates():
    assert format_percent(0.1234, "de") == "12,3 %"
    assert format_percent(0.1234, "en") == "12.3%"
    assert format_date("2026-12-01", "de") == "01.12.2026"
    assert format_date(pd.Timestamp("2026-12-01"), "en") == "2026-12-01"


def test_a_timestamp_has_no_microseconds_and_says_its_zone_when_asked():
    stamp = "2026-12-01T19:55:12.123456+00:00"
    assert format_timestamp(stamp, "de") == "01.12.2026 19:55"
    assert format_timestamp(stamp, "de", "Europe/Berlin", state_zone=True) == "01.12.2026 20:55 Europe/Berlin"
    assert format_timestamp(stamp, "en", state_zone=True) == "2026-12-01 19:55 UTC"


def test_missing_values_show_a_dash():
    assert {format_number(None, "de"), format_money(float("nan"), "EUR", "de"), format_date(None, "de")} == {"–"}


def test_the_current_language_is_the_default():
    with use_language("de"):
        assert format_number(0.5) == "0,50"


def test_charts_get_the_german_number_and_time_locale():
    chart = alt.Chart(pd.DataFrame({"a": [0.5]})).mark_bar().encode(
        x=alt.X("a:Q", axis=alt.Axis(format=axis_format("percent")))).configure_axis(labelLimit=300)
    spec = localise_chart(chart, "de", "EUR").to_dict()
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert spec["config"]["locale"]["number"]["thousands"] == "."
    assert spec["config"]["locale"]["time"]["date"] == "%d.%m.%Y"
    assert spec["config"]["axis"]["labelLimit"] == 300, "the chart's own config is kept"
    assert vega_locale("de", None)["number"]["currency"] == ["", ""], "no symbol for an unknown currency"


def test_a_german_csv_opens_in_german_excel_conventions():
    frame = pd.DataFrame({"Konto": ["A-1", "B-2"], "Offener Betrag": [1234.5, 2.25],
                          "Fällig am": pd.to_datetime(["2026-12-01", "2026-11-15"])})
    data = csv_bytes(frame, "de")
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Konto", "Offener Betrag", "Fällig am"]
    assert rows[1] == ["A-1", "1234,5", "01.12.2026"]
    assert rows[2] == ["B-2", "2,25", "15.11.2026"]


def test_an_english_csv_uses_commas_and_points():
    data = csv_bytes(pd.DataFrame({"balance": [1234.5]}), "en")
    assert data.decode("utf-8-sig").splitlines() == ["balance", "1234.5"]


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_csv_round_trips_through_pandas_with_its_dialect(language):
    from core.formats import CSV_DIALECTS

    frame = pd.DataFrame({"x": [1.5, -2.25], "name": ["a;b", "c,d"]})
    dialect = CSV_DIALECTS[language]
    back = pd.read_csv(io.BytesIO(csv_bytes(frame, language)), sep=dialect["sep"], decimal=dialect["decimal"],
                       encoding="utf-8-sig")
    pd.testing.assert_frame_equal(back, frame)


def test_the_download_arguments_carry_the_same_bytes():
    from core.formats import csv_download

    frame = pd.DataFrame({"Betrag": [1.5]})
    arguments = csv_download(frame, "beträge", "de")
    assert arguments["file_name"] == "beträge.csv" and arguments["mime"] == "text/csv"
    assert arguments["data"].encode("utf-8") == csv_bytes(frame, "de")
