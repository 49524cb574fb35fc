"""Yes/no columns as other systems write them: 1/0, J/N, ja/nein, yes/no, true/false, wahr/falsch, x/blank.

:func:`flag_values` reads such a column as 1.0 (yes), 0.0 (no) or NaN (unknown); numbers count as
yes when above zero (a count of disputes is a dispute flag). :func:`looks_like_flag` decides whether
a text column is a flag at all, and :func:`as_boolean` turns one into pandas' nullable ``boolean``.
A column of only ``x`` marks and blanks is a flag whose blanks mean *no* (how ticked boxes export).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

TRUE_TOKENS = frozenset({"1", "1.0", "true", "t", "yes", "y", "ja", "j", "wahr", "x", "✓", "✔"})
FALSE_TOKENS = frozenset({"0", "0.0", "false", "f", "no", "n", "nein", "falsch"})
#: Share of the filled cells that must be yes/no words before a text column counts as a flag.
FLAG_MAJORITY = 0.95


def token(value: Any) -> str:
    """A cell as a comparable token: stripped, lower case."""
    return str(value).strip().lower()


def is_true_token(value: Any) -> bool:
    """Whether one cell (or a category level) means yes."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return bool(value == value and value > 0)
    text = token(value)
    if text in TRUE_TOKENS:
        return True
    try:
        return float(text.replace(",", ".")) > 0
    except ValueError:
        return False


def _is_marks(text: pd.Series) -> bool:
    """Only ``x`` (or tick) marks and blanks: a ticked-box column."""
    filled = text.dropna()
    return bool(len(filled)) and filled.isin({"x", "✓", "✔"}).all() and text.isna().any()


def _tokens(values: pd.Series) -> pd.Series:
    """Cells as tokens; empty and blank cells as ``None``.

    Each distinct cell text is tokenized once (``token(v) == token(str(v))``; ``1`` and ``1.0`` stay
    apart because the texts are compared, not the values): at 100,000 rows and 15 text columns that is
    a few thousand calls instead of three million."""
    missing = values.isna().to_numpy()
    codes, uniques = pd.factorize(values.astype(str))
    lookup = np.array([token(v) or np.nan for v in uniques] + [np.nan], dtype=object)
    out = lookup[codes]
    out[missing] = np.nan
    return pd.Series(out, index=values.index, dtype=object)


#: Cells drawn (seeded) for the quick rejection in :func:`_sample_could_be_flag`.
FLAG_SAMPLE = 2_000
#: A sample share of yes/no words below this rules a column out: a column whose whole share is at least
#: FLAG_MAJORITY (0.95) shows less than 0.80 in 500 or more random non-blank cells with a probability
#: below 1e-20, so the quick answer is the full count's answer.
FLAG_SAMPLE_SHARE = 0.80


@lru_cache(maxsize=8)
def _draw(n_filled: int) -> np.ndarray:
    """Which of ``n_filled`` cells the quick check looks at: what ``filled.sample(n=FLAG_SAMPLE,
    random_state=0)`` draws. The draw depends on the count alone (a shuffle of all of them, ~0.02 s
    at 1,000,000), so the columns of one file, mostly equally filled, share it."""
    drawn = pd.Series(np.arange(n_filled)).sample(n=FLAG_SAMPLE, random_state=0).to_numpy()
    drawn.flags.writeable = False  # shared by every caller
    return drawn


def _sample_could_be_flag(values: pd.Series, filled: np.ndarray) -> bool:
    """Quick rejection of text columns that cannot be flags (names, e-mail addresses, IBANs).

    Tokenizing every distinct cell of a 100,000-row name column cost ~0.1 s per column; a seeded
    random sample of the cells rules out nearly every such column, and columns that pass go through
    the full count in :func:`looks_like_flag`. Blank cells are left out of the share as they are
    there; a sample with fewer than ``FLAG_SAMPLE // 4`` non-blank cells decides nothing. ``filled``
    holds the positions of the filled cells: drawing from them draws the same cells as drawing from
    ``values.dropna()``, without copying every filled cell first."""
    if len(filled) <= FLAG_SAMPLE:
        return True
    present = _tokens(values.iloc[filled[_draw(len(filled))]]).dropna()
    if len(present) < FLAG_SAMPLE // 4:
        return True
    return bool(present.isin(TRUE_TOKENS | FALSE_TOKENS).mean() >= FLAG_SAMPLE_SHARE)


def looks_like_flag(values: pd.Series) -> bool:
    """Whether a column holds yes/no values (booleans, 0/1, J/N, ja/nein, yes/no, x/blank ...)."""
    if pd.api.types.is_bool_dtype(values):
        return True
    filled = np.flatnonzero(values.notna().to_numpy(dtype=bool))
    if not len(filled):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return bool(pd.Series(values.iloc[filled].unique()).isin([0, 1]).all())
    if not _sample_could_be_flag(values, filled):
        return False
    text = _tokens(values)
    present = text.dropna()
    if present.empty:
        return False
    known = present.isin(TRUE_TOKENS | FALSE_TOKENS)
    if known.mean() < FLAG_MAJORITY:
        return False
    levels = set(present[known].unique())
    return bool(levels & TRUE_TOKENS) and (bool(levels & FALSE_TOKENS) or _is_marks(text))


def flag_values(values: pd.Series) -> pd.Series:
    """1.0 where a cell means yes, 0.0 where it means no, NaN where it is empty or unreadable.

    Numbers above zero are yes (a count of events is a flag that the event happened). In a column
    of only ``x`` marks and blanks the blanks are no.
    """
    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64") if not values.isna().any() else \
            values.astype("object").map(lambda v: np.nan if v is None or v is pd.NA else float(bool(v))).astype("float64")
    if pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        return (numbers > 0).astype("float64").where(numbers.notna())
    text = _tokens(values)
    marks = _is_marks(text)
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    out[text.isin(TRUE_TOKENS)] = 1.0
    out[text.isin(FALSE_TOKENS)] = 0.0
    numeric = pd.to_numeric(text.where(out.isna()).str.replace(",", ".", regex=False), errors="coerce")
    out = out.where(numeric.isna(), (numeric > 0).astype("float64"))
    if marks:
        out = out.fillna(0.0)
    return out


def as_boolean(values: pd.Series) -> pd.Series:
    """A flag column as pandas' nullable ``boolean`` (missing stays missing)."""
    numbers = flag_values(values)
    missing = numbers.isna().to_numpy()
    yes = numbers.fillna(0.0).to_numpy() != 0.0  # bool(v) of each number, without a Python call per cell
    return pd.Series(pd.arrays.BooleanArray(yes, missing), index=numbers.index, name=numbers.name)


def flag_summary(values: pd.Series) -> dict[str, Any]:
    """How many accounts are flagged: ``{"share", "count", "known"}``.

    ``share`` is ``count / known``, where ``known`` counts the accounts with a yes or a no
    (``None`` when no account has either).
    """
    numbers = flag_values(values)
    known = int(numbers.notna().sum())
    count = int((numbers == 1.0).sum())
    return {"share": (count / known) if known else None, "count": count, "known": known}
