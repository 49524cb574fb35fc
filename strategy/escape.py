"""Protection of exported spreadsheet cells against formula injection (OWASP CSV Injection, CWE-1236).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, tab, carriage return, line feed or NUL is
prefixed with a single quote, so a spreadsheet shows it as text instead of evaluating it. The rule
is idempotent: an escaped cell starts with ``'``, which is not a trigger, so escaping it again
changes nothing. Only text is touched; numbers and booleans stay what they are. A phone number in
international form (``+49 170 1234567``, ``+49 (0)30/123-45``: a ``+`` followed only by digits,
spaces and ``()/-.``) keeps its ``+``: a dialler needs it, and a spreadsheet can compute nothing
from it beyond a number.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
# Characters XML 1.0 cannot hold (openpyxl refuses them); removed before escaping so that a
# hidden control character can never move a trigger to the front after escaping.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


_PHONE_NUMBER = re.compile(r"\+[0-9][0-9 ()/.\-]{3,30}[0-9]")


def is_phone_number(value: Any) -> bool:
    """Whether ``value`` is a phone number in international form (kept as it is)."""
    return isinstance(value, str) and _PHONE_NUMBER.fullmatch(value) is not None


def escape_cell(value: Any) -> Any:
    """Return ``value`` with a leading ``'`` if it is text starting with a formula trigger
    (phone numbers in international form excepted)."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not is_phone_number(value):
        return "'" + value
    return value


def xlsx_safe_cell(value: Any) -> Any:
    """Remove characters XML cannot store, then :func:`escape_cell` (for XLSX cells)."""
    if isinstance(value, str):
        value = _XML_ILLEGAL.sub("", value)
    return escape_cell(value)


def escape_frame(frame: pd.DataFrame, cell=escape_cell) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and every column name escaped."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        # Escape each distinct value once: export columns repeat a handful of values.
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        escaped = np.array([cell(u) for u in uniques] + [None], dtype=object)
        out[column] = pd.Series(escaped[codes], index=values.index, dtype=object)
    out.columns = [cell(str(c)) for c in out.columns]
    return out
