"""Numbers, amounts, percentages, dates and CSV files the way the reader's language writes them (Babel).

``language`` is ``"en"`` or ``"de"`` (default: the current language of :mod:`core.i18n`):

=================  ===================  =====================
                   English              German
=================  ===================  =====================
number             1,234.56             1.234,56
amount (EUR)       €1,234.56            1.234,56 €
amount (unknown)   1,234.56             1.234,56
percent            12.3%                12,3 %
date               2026-12-01           01.12.2026
timestamp          2026-12-01 19:55     01.12.2026 19:55
CSV                ``,`` and ``.``      ``;`` and ``,``
=================  ===================  =====================

Spaces inside a formatted value are plain spaces (Babel writes no-break spaces), so a value reads
the same in a page, a CSV cell and a test. Rounding is half up (1234.5 -> 1.235 with no decimals),
as a person rounds. Machine formats (JSON, Parquet, ``run.json``) never go through here.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import sys
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.i18n import current_language, resolve_language

MISSING = "–"  #: shown for a missing value in either language
_SYMBOL_CODES = {"€": "EUR", "EURO": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}
_SPACES = str.maketrans({"\xa0": " ", "\u202f": " "})

if TYPE_CHECKING:
    import pandas as pd
# pandas is imported where a frame or a timestamp is handled, not with this module: every command of the
# command line formats numbers, and most never touch a frame (``personas users add`` spent ~1 s importing it).


def _lang(language: str | None) -> str:
    return resolve_language(language or current_language())


def _number(value: Any) -> float | None:
    pandas = sys.modules.get("pandas")  # without pandas loaded, no value can be its NA or NaT
    if value is None or (pandas is not None and (value is pandas.NA or value is pandas.NaT)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _rounded(number: float, decimals: int) -> Decimal:
    return Decimal(repr(number)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _pattern(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals > 0 else "")


# ---------------------------------------------------------------------------- numbers and amounts
def format_number(value: Any, language: str | None = None, decimals: int = 2) -> str:
    """``1234.56`` -> ``"1.234,56"`` (de) / ``"1,234.56"`` (en), always ``decimals`` places; ``"–"``
    for a missing value."""
    from babel.numbers import format_decimal

    number = _number(value)
    if number is None:
        return MISSING
    return format_decimal(_rounded(number, decimals), format=_pattern(decimals), locale=_lang(language),
                          decimal_quantization=False).translate(_SPACES)


def format_count(value: Any, language: str | None = None) -> str:
    """A whole count with grouping: ``1500`` -> ``"1.500"`` (de) / ``"1,500"`` (en)."""
    return format_number(value, language, decimals=0)


def format_money(value: Any, currency: Any = None, language: str | None = None, decimals: int = 2) -> str:
    """An amount in the portfolio's currency: ``"1.234,56 €"`` (de), ``"€1,234.56"`` (en),
    ``"1.234,56 CHF"``; without a known currency the bare number (say "currency unknown" once beside it).

    ``currency`` is a :class:`portfolio.currency.Currency`, an ISO code, or ``None`` (unknown)."""
    from babel.numbers import format_currency

    number = _number(value)
    if number is None:
        return MISSING
    code = currency_code(currency)
    if not code:
        return format_number(number, language, decimals)
    language = _lang(language)
    from babel import Locale

    pattern = Locale.parse(language).currency_formats["standard"].pattern.split(";")[0]
    pattern = pattern.replace("#,##0.00", _pattern(decimals))
    return format_currency(_rounded(number, decimals), code, format=pattern, locale=language,
                           currency_digits=False, decimal_quantization=False).translate(_SPACES)


def currency_code(currency: Any) -> str | None:
    """The ISO code of a ``Currency``, a code/symbol string, or ``None``."""
    if currency is None:
        return None
    code = getattr(currency, "code", currency)
    if not isinstance(code, str) or not code.strip():
        return None
    code = _SYMBOL_CODES.get(code.strip().upper(), code.strip().upper())
    return code if re.fullmatch(r"[A-Z]{3}", code) else None


def format_percent(value: Any, language: str | None = None, decimals: int = 1) -> str:
    """A share as a percentage: ``0.1234`` -> ``"12,3 %"`` (de) / ``"12.3%"`` (en)."""
    from babel import Locale
    from babel.numbers import format_percent as babel_percent

    number = _number(value)
    if number is None:
        return MISSING
    language = _lang(language)
    pattern = Locale.parse(language).percent_formats[None].pattern.split(";")[0]
    pattern = pattern.replace("#,##0", _pattern(decimals), 1)
    return babel_percent(_rounded(number * 100, decimals) / 100, format=pattern, locale=language,
                         decimal_quantization=False).translate(_SPACES)


# ---------------------------------------------------------------------------- dates and times
def _timestamp(value: Any) -> pd.Timestamp | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(stamp) else stamp


def format_date(value: Any, language: str | None = None) -> str:
    """``2026-12-01`` -> ``"01.12.2026"`` (de) / ``"2026-12-01"`` (en); ``"–"`` when missing."""
    stamp = _timestamp(value)
    if stamp is None:
        return MISSING
    return stamp.strftime("%d.%m.%Y" if _lang(language) == "de" else "%Y-%m-%d")


def time_zone(name: str | None) -> dt.tzinfo:
    """The IANA zone ``name`` (the browser's ``st.context.timezone``), UTC when missing or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return dt.timezone.utc


def zone_label(zone: dt.tzinfo | str | None) -> str:
    """``"UTC"`` or the zone's IANA name (for a column header: "Time (Europe/Berlin)")."""
    zone = time_zone(zone) if zone is None or isinstance(zone, str) else zone
    return getattr(zone, "key", None) or "UTC"


def format_timestamp(value: Any, language: str | None = None, zone: dt.tzinfo | str | None = None,
                     *, seconds: bool = False, state_zone: bool = False) -> str:
    """A moment to the minute, in ``zone`` (default UTC): ``"01.12.2026 19:55"`` (de) /
    ``"2026-12-01 19:55"`` (en); a value without a zone is read as UTC. ``state_zone`` appends
    the zone ("… UTC"); otherwise say it once in the column header (:func:`zone_label`)."""
    stamp = _timestamp(value)
    if stamp is None:
        return MISSING
    zone = time_zone(zone) if zone is None or isinstance(zone, str) else zone
    stamp = (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).tz_convert(zone)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    text = stamp.strftime(("%d.%m.%Y " if _lang(language) == "de" else "%Y-%m-%d ") + clock)
    return f"{text} {zone_label(zone)}" if state_zone else text


# ---------------------------------------------------------------------------- charts (Vega-Lite)
_D3_NUMBER = {
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["€", ""]},
    "de": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", "\u00a0€"]},
}
_D3_TIME = {
    "en": {"dateTime": "%a %b %e %X %Y", "date": "%Y-%m-%d", "time": "%H:%M:%S", "periods": ["AM", "PM"],
           "days": ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
           "shortDays": ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
           "months": ["January", "February", "March", "April", "May", "June", "July", "August",
                      "September", "October", "November", "December"],
           "shortMonths": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]},
    "de": {"dateTime": "%A, der %e. %B %Y, %X", "date": "%d.%m.%Y", "time": "%H:%M:%S", "periods": ["AM", "PM"],
           "days": ["Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"],
           "shortDays": ["So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"],
           "months": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
                      "Oktober", "November", "Dezember"],
           "shortMonths": ["Jan", "Feb", "Mrz", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"]},
}

#: d3-format / d3-time-format strings for axes and tooltips; the separators come from the chart's locale.
AXIS_FORMATS = {"number": ",.2f", "count": ",d", "percent": ".0%", "percent1": ".1%", "money": "$,.0f",
                "date": "%x", "month": "%m.%Y"}


def vega_locale(language: str | None = None, currency: Any = None) -> dict[str, Any]:
    """Vega-Lite ``config.locale`` (d3 number and time locale) for ``language``; ``currency`` sets the
    symbol d3's ``$`` format writes (none when unknown)."""
    language = _lang(language)
    number = dict(_D3_NUMBER[language])
    code = currency_code(currency)
    if code != "EUR":
        from babel.numbers import get_currency_symbol

        symbol = get_currency_symbol(code, locale=language) if code else ""
        number["currency"] = ["", f"\u00a0{symbol}"] if language == "de" or not symbol or len(symbol) > 1 \
            else [symbol, ""]
        if not symbol:
            number["currency"] = ["", ""]
    return {"number": number, "time": dict(_D3_TIME[language])}


def axis_format(kind: str) -> str:
    """The d3 format string of a kind of value (``"percent"``, ``"count"``, ``"money"``, ``"date"`` …)."""
    return AXIS_FORMATS[kind]


def localise_chart(chart: Any, language: str | None = None, currency: Any = None) -> Any:
    """The Altair chart with German (or English) number and date formats on its axes, legends and
    tooltips (Vega-Lite ``config.locale``); other config of the chart is kept. Returns a copy."""
    import altair as alt

    chart = chart.copy(deep=False)
    config = chart.config if chart.config is not alt.Undefined else alt.Config()
    config = config.copy(deep=False) if hasattr(config, "copy") else config
    config.locale = alt.Locale(**vega_locale(language, currency))
    chart.config = config
    return chart


# ---------------------------------------------------------------------------- CSV for spreadsheets
CSV_DIALECTS = {
    "en": {"sep": ",", "decimal": ".", "date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M:%S"},
    "de": {"sep": ";", "decimal": ",", "date": "%d.%m.%Y", "datetime": "%d.%m.%Y %H:%M:%S"},
}


def csv_bytes(frame: pd.DataFrame, language: str | None = None, *, index: bool = False) -> bytes:
    """``frame`` as a CSV file the user's spreadsheet opens in columns: German Excel (``;``, decimal
    comma, dates ``01.12.2026``) or English (``,``, decimal point, ISO dates); UTF-8 with a BOM in both,
    so Excel reads umlauts and € correctly. Escape formula triggers in free text first
    (``strategy.escape.escape_frame``); JSON and Parquet exports never go through here."""
    import pandas as pd

    dialect = CSV_DIALECTS[_lang(language)]
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            stamps = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
            whole_days = stamps.dropna().eq(stamps.dropna().dt.normalize()).all()
            out[column] = stamps.dt.strftime(dialect["date"] if whole_days else dialect["datetime"])
    text = out.to_csv(index=index, sep=dialect["sep"], decimal=dialect["decimal"], lineterminator="\r\n")
    return text.encode("utf-8-sig")


def csv_download(frame: pd.DataFrame, stem: str, language: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``st.download_button``: ``data``, ``file_name`` (``stem.csv``), ``mime``.

    ``data`` is the text of :func:`csv_bytes` (it starts with the BOM character ``\ufeff``); Streamlit
    sends text as UTF-8, so the browser receives exactly those bytes."""
    return {"data": csv_bytes(frame, language).decode("utf-8"), "file_name": f"{stem}.csv", "mime": "text/csv"}
