"""What one column is, judged on its own: its role and its meaning, from its name and its values.

:func:`decide_column` is the order of the rules (planted label, date of birth, protected attribute,
collections meaning, outcome, personal data or postcode by name, then content); :func:`role_by_content`
judges the values alone (personal data, empty, constant, dates, id-like text, numeric or categorical).
:mod:`portfolio.roles` applies them to every column and resolves the required columns and the mapping.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from portfolio.meanings import detect_meaning, label
from portfolio.patterns import detect_pii_content, looks_like_dates
from portfolio.person_names import detect_person_names
from portfolio.synonyms import (
    METRIC_WORDS, PII_NAMES, PII_STEMS, POSTCODE_NAMES, TRUTH_NAMES, TRUTH_PREFIXES, looks_like_id_name,
    name_matches, normalise_name, strip_owner,
)
from portfolio.vocabulary import Protected, is_birth_date_name, outcome_by_name, protected_by_content, protected_meaning

#: Text columns with more distinct values than this share of rows (and > 20 values) look like ids.
ID_LIKE_SHARE = 0.5


class Role:
    """Role names (plain strings, so they survive JSON)."""

    ACCOUNT_ID = "account_id"
    BALANCE = "balance"
    DAYS_PAST_DUE = "days_past_due"
    PII = "pii"
    SENSITIVE = "sensitive"
    TARGET = "target"
    TRUTH = "truth"
    FEATURE = "feature"
    EXCLUDED = "excluded"
    REQUIRED = (ACCOUNT_ID, BALANCE, DAYS_PAST_DUE)
    ALL = (ACCOUNT_ID, BALANCE, DAYS_PAST_DUE, PII, SENSITIVE, TARGET, TRUTH, FEATURE, EXCLUDED)


Decision = tuple[tuple[str, str], tuple[str, str] | None]


def decide_column(column: Any, values: pd.Series) -> Decision:
    """``((role, reason), (meaning, reason) or None)`` of a column no mapping speaks about.

    Order matters: a planted label, a date of birth and a protected attribute are decided before
    anything else; a collections meaning ("bisher gezahlt": payments so far) before an outcome
    ("bezahlt"); personal data and postcodes by name before content.
    """
    norm = normalise_name(column)
    if norm in TRUTH_NAMES or norm.startswith(TRUTH_PREFIXES):
        return (Role.TRUTH, f"named like a planted label ('{column}'): kept for evaluation only"), None
    birth = is_birth_date_name(column)
    if birth:
        return ((Role.PII, f"named like a date of birth ('{column}'): personal data revealing age, masked "
                           "when shown, never a feature"),
                (Protected.AGE, f"{label(Protected.AGE)}: a date of birth ('{birth.strip('~*')}')"))
    protected = protected_meaning(column) or protected_by_content(values)
    if protected:
        meaning, evidence = protected
        how = f"named like a protected attribute ('{column}' ~ '{evidence.strip('~*')}')" \
            if not evidence.startswith("values") else f"a protected attribute by its {evidence}"
        return ((Role.SENSITIVE, f"{how}: kept only for fairness audits, never a feature"),
                (meaning, f"{label(meaning)}: {how}"))
    meaning = detect_meaning(column, values)
    if meaning:
        return role_by_content(values), meaning
    outcome = outcome_by_name(column, values)
    if outcome:
        how = f"named like an outcome ('{column}' ~ '{outcome[1].strip('~*')}')"
        return (Role.TARGET, f"{how}: a target, never a feature"), (outcome[0], f"{label(outcome[0])}: {how}")
    return _role_by_name(column) or role_by_content(values), None


def _role_by_name(column: Any) -> tuple[str, str] | None:
    norm = normalise_name(column)
    words = set(norm.split())
    compact = norm.replace(" ", "")
    is_metric = bool(words & METRIC_WORDS)
    # Stems only for one-word German compounds ("Kundenemail", "Rechnungsadresse").
    single_word = " " not in strip_owner(norm)
    if not is_metric and (name_matches(norm, PII_NAMES) or (single_word and any(s in compact for s in PII_STEMS))):
        return Role.PII, f"named like personal data ('{column}'): masked when shown, never a feature"
    if name_matches(norm, POSTCODE_NAMES):
        return Role.EXCLUDED, (f"postcode/place ('{column}') is a possible proxy for protected attributes; "
                               "excluded by default (map it to 'feature' to use it)")
    return None


def role_by_content(values: pd.Series) -> tuple[str, str]:
    pii = detect_pii_content(values) or detect_person_names(values)
    if pii:
        return Role.PII, f"{pii}: personal data, masked when shown, never a feature"
    filled = values.dropna()
    if filled.empty:
        return Role.EXCLUDED, "all values are empty"
    distinct = nunique(filled)
    if distinct == 1:
        return Role.EXCLUDED, f"constant: every filled value is '{str(filled.iloc[0])[:40]}'"
    dates = looks_like_dates(values)
    if dates:
        return Role.EXCLUDED, dates
    numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
    if not numeric and distinct > 20 and distinct > ID_LIKE_SHARE * len(filled):
        return Role.EXCLUDED, (f"id-like or free text: {distinct:,} distinct values in {len(filled):,} filled "
                               f"rows ({distinct / len(filled):.0%}); not useful for grouping")
    if numeric and looks_like_id_name(values.name) and distinct == len(filled) and len(filled) > 20:
        return Role.EXCLUDED, "a second identifier (named like an id, every value distinct)"
    if numeric:
        return Role.FEATURE, "numeric: used as a behavioural feature"
    return Role.FEATURE, f"categorical with {distinct:,} levels: used as a feature"


def nunique(values: pd.Series) -> int:
    try:
        return int(values.nunique())
    except TypeError:  # unhashable cells (lists, dicts) in a frame built in code
        return int(values.astype("str").nunique())
