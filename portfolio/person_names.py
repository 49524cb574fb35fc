"""Recognise columns of person names by their values, whatever the column is called.

A column holds person names when most sampled values look like names (one to three capitalised
words of letters, e.g. ``"Anna"``, ``"Müller"``, ``"Anna-Lena Schmidt"``, ``"Müller, Anna"``) and
many contain a common first or family name (package data ``portfolio/data/*.txt``, German and
English names and those frequent in Germany). A column ``Info1`` of first names is then personal
data, never a feature.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import pandas as pd

from portfolio.patterns import sample_text

#: Share of sampled values that must look like names (capitalised words of letters).
NAME_SHAPE_SHARE = 0.8
#: Share of sampled values that must contain a listed first or family name.
KNOWN_NAME_SHARE = 0.3
#: Fewer sampled values than this are not enough to call a column one of names.
MIN_SAMPLE = 5

_DATA = Path(__file__).resolve().parent / "data"
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.]*(?:-[^\W\d_][^\W\d_'’.]*)*$")
_SPLIT = re.compile(r"[\s,]+")


def fold(text: str) -> str:
    """Comparable form of a name: lower case, umlauts spelled out, accents removed."""
    lowered = text.strip().lower().translate(_UMLAUTS)
    return unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=1)
def known_names() -> frozenset[str]:
    """The listed first and family names, folded."""
    names: set[str] = set()
    for file in ("first_names.txt", "surnames.txt"):
        for line in (_DATA / file).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                names.add(fold(line))
    return frozenset(names)


def _words(value: str) -> list[str] | None:
    """The words of a value shaped like a person's name, else ``None``."""
    words = [w for w in _SPLIT.split(value.strip()) if w]
    if not 1 <= len(words) <= 3:
        return None
    if all(_WORD.match(w) and w[0].isupper() and not w.isupper() or (len(w) <= 2 and w.endswith("."))
           for w in words):
        return words
    return None


def detect_person_names(values: pd.Series) -> str | None:
    """A reason when the values are person names, else ``None``."""
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return None
    sample = sample_text(values)
    if len(sample) < MIN_SAMPLE:
        return None
    shaped = [w for w in (_words(v) for v in sample) if w is not None]
    if len(shaped) < NAME_SHAPE_SHARE * len(sample):
        return None
    names = known_names()
    known = sum(any(fold(part) in names for w in words for part in w.split("-")) for words in shaped)
    if known < KNOWN_NAME_SHARE * len(sample):
        return None
    return f"values look like person names ({known} of {len(sample)} sampled contain a common first or family name)"
