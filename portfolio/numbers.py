"""Numbers written as text: German ("1.234,56") and English ("1,234.56") conventions, decided per column.

A column is converted to numbers only when a clear majority (:data:`NUMBER_MAJORITY`) of its
non-empty cells parse; the cells that do not parse are reported (never silently turned into gaps).
Which convention a column uses is decided from the cells that can only be read one way
("12,5" or "1.234,56" are German, "12.5" or "1,234.56" English); a column whose cells are all
ambiguous ("1.234", "500") follows the file's other columns, or German when the file is
semicolon-separated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Share of non-empty cells that must parse before a text column becomes numeric.
NUMBER_MAJORITY = 0.8
#: Text read as "no value" in any column.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--", "#n/a", "#nv", "nv"})

_CURRENCY = r"(?:€|eur|euro|\$|usd|£|gbp|chf|%)"
_CELL = re.compile(
    rf"^(?P<s1>[-+])?{_CURRENCY}?(?P<s2>[-+])?(?P<num>[\d.,]*\d[\d.,]*(?:e[-+]?\d+)?|inf|infinity)"
    rf"{_CURRENCY}?(?P<s3>-)?$",
    re.IGNORECASE,
)
_CELL_PATTERN = _CELL.pattern
_GERMAN = re.compile(r"^(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?|,\d+)$")
_ENGLISH = re.compile(r"^(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)$", re.I)
_GERMAN_ONLY = r"^(?:\d*,\d{1,2}|\d*,\d{4,}|\d{1,3}(?:\.\d{3})+,\d+|\d{1,3}(?:\.\d{3}){2,})$"
_ENGLISH_ONLY = r"^(?:\d*\.\d{1,2}|\d*\.\d{4,}|\d{1,3}(?:,\d{3})+\.\d+|\d{1,3}(?:,\d{3}){2,})$"
_LEADING_ZERO = r"^0\d"
_SPACES = r"[\s\u00a0\u202f']"


@dataclass(frozen=True)
class ParsedColumn:
    """Result of reading one text column as numbers."""

    values: pd.Series  #: float64, NaN where empty or not a number
    convention: str  #: "de" (1.234,56) or "en" (1,234.56)
    n_filled: int  #: non-empty cells
    n_parsed: int  #: cells read as numbers
    unparsed: pd.Series  #: raw text of the non-empty cells that are not numbers, by row position


def missing_mask(text: pd.Series) -> pd.Series:
    """True where a text cell means "no value" (empty, NA, n/a, -, ...)."""
    stripped = text.astype("str").str.strip().str.lower()
    return text.isna() | stripped.isin(MISSING_TOKENS)


def _split_cells(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    compact = text.astype("str").str.replace(_SPACES, "", regex=True)
    parts = compact.str.extract(_CELL_PATTERN, flags=re.IGNORECASE)
    negative = (parts["s1"] == "-") | (parts["s2"] == "-") | (parts["s3"] == "-")
    return parts["num"], negative.fillna(False).astype(bool)


def convention_evidence(text: pd.Series) -> tuple[int, int]:
    """Cells that can only be German, and only English, in a text column."""
    num, _ = _split_cells(text.dropna())
    num = num.dropna()
    return int(num.str.fullmatch(_GERMAN_ONLY).sum()), int(num.str.fullmatch(_ENGLISH_ONLY).sum())


def parse_numbers(text: pd.Series, convention: str | None = None, default: str = "en") -> ParsedColumn:
    """Read a text column as numbers.

    Parameters
    ----------
    text
        Cells as text (missing cells may be NaN).
    convention
        "de" or "en"; ``None`` decides from the cells, falling back to ``default``.
    default
        Convention used when the cells are ambiguous.
    """
    index = text.index
    missing = missing_mask(text)
    filled = text[~missing].astype("str")
    if convention is None:
        german, english = convention_evidence(filled)
        convention = "de" if german > english else "en" if english > german else default
    num, negative = _split_cells(filled)
    lowered = num.str.lower()
    infinite = lowered.isin(["inf", "infinity"])
    grammar = _GERMAN if convention == "de" else _ENGLISH
    valid = (num.str.fullmatch(grammar.pattern, flags=grammar.flags).fillna(False) | infinite).astype(bool)
    if convention == "de":
        plain = num.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        plain = num.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(plain.where(valid & ~infinite), errors="coerce").astype("float64")
    numbers = numbers.where(~infinite, np.inf)
    numbers = numbers.where(~negative, -numbers)
    valid = valid & numbers.notna()
    values = pd.Series(np.nan, index=index, dtype="float64")
    values.loc[valid[valid].index] = numbers[valid]
    return ParsedColumn(values=values, convention=convention, n_filled=int(len(filled)),
                        n_parsed=int(valid.sum()), unparsed=filled[~valid])


def has_leading_zeros(text: pd.Series) -> bool:
    """Whether any cell looks like a code with leading zeros ("00123"): such columns stay text."""
    return bool(text.dropna().astype("str").str.strip().str.contains(_LEADING_ZERO, regex=True).any())
