"""Number columns of ``st.dataframe`` in the reader's language.

Streamlit cannot be told a locale: ``NumberColumn(format="percent")`` follows the *browser's* locale
(an English browser writes "12.50%" to a German user), and printf formats such as ``"%.3f"`` always
write a decimal point ("0.812"). The language chosen on the Account page is therefore not followed by
Streamlit's own number formats. :func:`number_columns` keeps the numbers (and Streamlit's formats) in
English and, in any other language, writes those columns as text with ``core.formats`` ("0,812",
"12,5 %", "–" for a missing value). German tables then sort those columns as text: the price of
showing the chosen language.
"""
from __future__ import annotations

from typing import Any, Literal, Mapping

import pandas as pd
import streamlit as st

from core.formats import format_number, format_percent
from core.i18n import resolve_language

Kind = Literal["percent", "decimal"]


def number_columns(frame: pd.DataFrame, columns: Mapping[Any, tuple[Kind, int]], language: str | None,
                   labels: Mapping[Any, str | None] | None = None,
                   helps: Mapping[Any, str | None] | None = None) -> tuple[pd.DataFrame, dict[Any, Any]]:
    """``(shown_frame, column_config)`` for the number ``columns`` of ``frame`` (``{key: (kind, decimals)}``,
    kind ``"percent"`` for a share 0..1 or ``"decimal"``; keys not in ``frame`` are left out).

    English: ``frame`` itself and ``NumberColumn(label, format="percent")`` / ``format="%.<decimals>f"``
    (Streamlit's percent format ignores ``decimals``). Other languages: a copy of ``frame`` with those
    columns written by :func:`core.formats.format_percent` / :func:`core.formats.format_number` (in place,
    so the column order is kept) and ``TextColumn(label)``. ``labels`` and ``helps`` give each column's
    header and tooltip (``None``: Streamlit's default, the column's key)."""
    labels, helps = labels or {}, helps or {}
    present = {key: spec for key, spec in columns.items() if key in frame.columns}
    config: dict[Any, Any] = {}
    if resolve_language(language) == "en":
        for key, (kind, decimals) in present.items():
            number_format = "percent" if kind == "percent" else f"%.{decimals}f"
            config[key] = st.column_config.NumberColumn(labels.get(key), help=helps.get(key), format=number_format)
        return frame, config
    shown = frame.copy()
    for key, (kind, decimals) in present.items():
        write = format_percent if kind == "percent" else format_number
        shown[key] = [write(value, language, decimals=decimals) for value in frame[key]]
        config[key] = st.column_config.TextColumn(labels.get(key), help=helps.get(key))
    return shown, config
