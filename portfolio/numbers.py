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
_GERMAN = re.compile(r"^(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?|,\d+)$")
_ENGLISH = re.compile(r"^(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)$", re.I)
_GERMAN_ONLY_RAW = r"^(?:\d*,\d{1,2}|\d*,\d{4,}|\d{1,3}(?:\.\d{3})+,\d+|\d{1,3}(?:\.\d{3}){2,})$"
_ENGLISH_ONLY_RAW = r"^(?:\d*\.\d{1,2}|\d*\.\d{4,}|\d{1,3}(?:,\d{3})+\.\d+|\d{1,3}(?:,\d{3}){2,})$"
_LEADING_ZERO = r"^0\d"
_SPACES = re.compile(r"[\s\u00a0\u202f']")
_GERMAN_ONLY = re.compile(_GERMAN_ONLY_RAW)
_ENGLISH_ONLY = re.compile(_ENGLISH_ONLY_RAW)


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


#: Cells looked at to decide a column's convention, and to decide whether it is numeric at all.
EVIDENCE_SAMPLE = 500
_FAST = {"de": r"^-?\d+(?:,\d+)?$", "en": r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$"}


def _split_cells(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Number part and sign of each cell (slow: use on few cells only)."""
    compact = text.astype("object").map(lambda v: _SPACES.sub("", v) if isinstance(v, str) else v)
    matches = compact.map(lambda v: _CELL.match(v) if isinstance(v, str) else None)
    num = matches.map(lambda m: m.group("num") if m else None)
    negative = matches.map(lambda m: bool(m) and "-" in (m.group("s1") or "", m.group("s2") or "", m.group("s3") or ""))
    return num, negative.astype(bool)


def _sample(text: pd.Series, size: int = EVIDENCE_SAMPLE) -> pd.Series:
    step = max(len(text) // size, 1)
    return text.iloc[::step].head(size)


def convention_evidence(text: pd.Series) -> tuple[int, int]:
    """Cells that can only be German, and only English, among a sample of a text column."""
    sample = _sample(text.dropna())
    num, _ = _split_cells(sample[~missing_mask(sample)].astype("str"))
    num = num.dropna()
    if num.empty:
        return 0, 0
    return (int(num.map(lambda v: bool(_GERMAN_ONLY.match(v))).sum()),
            int(num.map(lambda v: bool(_ENGLISH_ONLY.match(v))).sum()))


def _parse_slow(text: pd.Series, convention: str) -> pd.Series:
    """Numbers (NaN where not a number) for cells with currency, grouping, trailing signs ..."""
    num, negative = _split_cells(text)
    grammar = _GERMAN if convention == "de" else _ENGLISH

    def convert(value: object) -> float:
        if not isinstance(value, str):
            return np.nan
        if value.lower() in {"inf", "infinity"}:
            return np.inf
        if not grammar.match(value):
            return np.nan
        plain = value.replace(".", "").replace(",", ".") if convention == "de" else value.replace(",", "")
        try:
            return float(plain)
        except ValueError:
            return np.nan

    numbers = num.map(convert).astype("float64")
    return numbers.where(~negative, -numbers)


def parse_numbers(text: pd.Series, convention: str | None = None, default: str = "en") -> ParsedColumn:
    """Read a text column as numbers.

    Plain cells ("1234,56" in German, "1234.56" in English) are converted in bulk; only the others
    (currency signs, thousands separators, trailing minus) go through the slower cell-by-cell parser.

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
    stripped = filled.str.strip()
    fast = stripped.str.fullmatch(_FAST[convention]).fillna(False).astype(bool)
    plain = stripped.where(fast)
    if convention == "de":
        plain = plain.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(plain, errors="coerce").astype("float64")
    rest = filled[~fast]
    if len(rest):
        numbers.loc[rest.index] = _parse_slow(rest, convention).to_numpy()
    valid = numbers.notna()
    values = pd.Series(np.nan, index=index, dtype="float64")
    values.loc[valid[valid].index] = numbers[valid]
    return ParsedColumn(values=values, convention=convention, n_filled=int(len(filled)),
                        n_parsed=int(valid.sum()), unparsed=filled[~valid])


def looks_numeric(text: pd.Series, convention: str) -> bool:
    """Whether a clear majority of a sample of the filled cells are numbers (cheap pre-check)."""
    sample = _sample(text.dropna())
    sample = sample[~missing_mask(sample)]
    if sample.empty:
        return False
    return parse_numbers(sample, convention=convention).n_parsed >= NUMBER_MAJORITY * len(sample)


def has_leading_zeros(text: pd.Series) -> bool:
    """Whether any cell looks like a code with leading zeros ("00123"): such columns stay text.

    Each distinct cell is looked at once (a column of a few hundred region or product codes repeated
    over 100,000 rows is a few hundred regular-expression matches, not 100,000)."""
    distinct = pd.Series(pd.unique(text.dropna().astype("str").to_numpy()), dtype="str")
    return bool(distinct.str.strip().str.contains(_LEADING_ZERO, regex=True).any())
