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
_LONGEST_MISSING_TOKEN = max(map(len, MISSING_TOKENS))

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


def stripped_text(text: pd.Series) -> pd.Series:
    """Cells as text without surrounding spaces (missing stays missing): what :func:`missing_mask` and
    :func:`has_leading_zeros` look at. A caller that asks both strips the column once and passes it."""
    return text.astype("str").str.strip()


def missing_mask(text: pd.Series, stripped: pd.Series | None = None) -> pd.Series:
    """True where a text cell means "no value" (empty, NA, n/a, -, ...); ``stripped``: ``stripped_text(text)``.

    Only cells no longer than the longest such word are lower-cased and looked up (lower-casing never
    makes a text shorter): a column of names or e-mail addresses is not copied in lower case."""
    stripped = stripped_text(text) if stripped is None else stripped
    short = np.flatnonzero(stripped.str.len().le(_LONGEST_MISSING_TOKEN).to_numpy(dtype=bool))
    is_token = np.zeros(len(text), dtype=bool)
    is_token[short] = stripped.iloc[short].str.lower().isin(MISSING_TOKENS).to_numpy(dtype=bool)
    return text.isna() | pd.Series(is_token, index=text.index, name=stripped.name)


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


def filled_sample(values: pd.Series, size: int) -> pd.Series:
    """Every n-th filled cell, at most ``size`` of them, spread over the column: the same cells (and
    index labels) as ``values.dropna().iloc[::step].head(size)``, without first copying every filled
    cell of the column (~30 MB of fresh memory per text column at 1,000,000 rows)."""
    positions = np.flatnonzero(values.notna().to_numpy(dtype=bool))
    step = max(len(positions) // size, 1)
    return values.iloc[positions[::step][:size]]


def convention_evidence(text: pd.Series) -> tuple[int, int]:
    """Cells that can only be German, and only English, among a sample of a text column."""
    sample = filled_sample(text, EVIDENCE_SAMPLE)
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


_DIGIT = re.compile(r"\d")


def _could_be_number(cell: str) -> bool:
    """Whether the cell-by-cell parser can read a number in the cell at all: it needs a digit, or
    "inf" once spaces are removed. Names, e-mail addresses and other text skip it."""
    return bool(_DIGIT.search(cell)) or "inf" in _SPACES.sub("", cell).lower()


def _parse_cells(cells: pd.Series, convention: str) -> np.ndarray:
    """Numbers (NaN where not a number) of filled text cells, in order.

    Each result depends on its own cell only, and :func:`pandas.to_numeric` picks its integer or float
    path from the set of values present (not from how often each occurs), so parsing the distinct
    cells gives the same numbers as parsing every cell."""
    stripped = cells.str.strip()
    fast = stripped.str.fullmatch(_FAST[convention]).fillna(False).astype(bool)
    plain = stripped.where(fast)
    if convention == "de":
        plain = plain.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(plain, errors="coerce").astype("float64")
    rest = cells[~fast]
    rest = rest[rest.map(_could_be_number).astype(bool)] if len(rest) else rest
    if len(rest):
        numbers.loc[rest.index] = _parse_slow(rest, convention).to_numpy()
    return numbers.to_numpy(dtype="float64")


def parse_numbers(text: pd.Series, convention: str | None = None, default: str = "en", *,
                  missing: pd.Series | None = None) -> ParsedColumn:
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
    missing
        ``missing_mask(text)`` when the caller has it already (it is then not worked out again).
    """
    index = text.index
    missing = missing_mask(text) if missing is None else missing
    filled = text[~missing].astype("str")
    if convention is None:
        german, english = convention_evidence(filled)
        convention = "de" if german > english else "en" if english > german else default
    # Each distinct cell is parsed once: a column of counts or codes repeats a few values 100,000 times.
    codes, distinct = filled.factorize()
    numbers = pd.Series(_parse_cells(pd.Series(distinct, dtype="str"), convention)[codes], index=filled.index,
                        dtype="float64")
    valid = numbers.notna()
    values = pd.Series(np.nan, index=index, dtype="float64")
    values.loc[valid[valid].index] = numbers[valid]
    return ParsedColumn(values=values, convention=convention, n_filled=int(len(filled)),
                        n_parsed=int(valid.sum()), unparsed=filled[~valid])


def looks_numeric(text: pd.Series, convention: str) -> bool:
    """Whether a clear majority of a sample of the filled cells are numbers (cheap pre-check)."""
    sample = filled_sample(text, EVIDENCE_SAMPLE)
    sample = sample[~missing_mask(sample)]
    if sample.empty:
        return False
    return parse_numbers(sample, convention=convention).n_parsed >= NUMBER_MAJORITY * len(sample)


def has_leading_zeros(text: pd.Series, stripped: pd.Series | None = None) -> bool:
    """Whether any cell looks like a code with leading zeros ("00123"): such columns stay text.

    ``stripped``: ``stripped_text(text)`` when the caller has it. Only cells starting with "0" (a
    literal test in Arrow) go through the regular expression, which pandas runs in Python, cell by
    cell, on any column with a non-ASCII character (names, streets, cities)."""
    stripped = stripped_text(text) if stripped is None else stripped
    filled = stripped.dropna()
    zeros = filled[filled.str.startswith("0").to_numpy(dtype=bool)]
    return bool(zeros.str.contains(_LEADING_ZERO, regex=True).any())
