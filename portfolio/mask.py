"""Mask personal data for display: enough left to recognise a record, not enough to identify a person.

Examples: ``"Max Müller"`` -> ``"Ma*** Mü***"``, ``"jana.mueller@example.de"`` -> ``"j***@example.de"``,
``"DE89 3704 0044 0532 0130 00"`` -> ``"DE89 **** **** **** **** 00"``, ``"+49 171 1234567"`` ->
``"+49 *** *****67"``, birth dates -> ``"**.**.****"``. Empty cells stay empty; other columns are untouched.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from portfolio.patterns import iban_is_valid
from portfolio.roles import ColumnRoles
from portfolio.synonyms import normalise_name

_EMAIL = re.compile(r"^\s*([^@\s]+)@(\S+)\s*$")
_DATE = re.compile(r"^\s*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")


def mask_name(text: str) -> str:
    """Keep the first two letters of each word: "Max Müller" -> "Ma*** Mü***"."""
    return " ".join(word[:2] + "***" if len(word) > 2 else word[:1] + "***" for word in text.split())


def mask_email(text: str) -> str:
    """Keep the first letter and the domain: "jana@example.de" -> "j***@example.de"."""
    found = _EMAIL.match(text)
    if not found:
        return mask_generic(text)
    return f"{found.group(1)[:1]}***@{found.group(2)}"


def mask_iban(text: str) -> str:
    """Keep the country, check digits and the last two characters, in groups of four."""
    compact = re.sub(r"\s", "", text).upper()
    if len(compact) < 8:
        return mask_generic(text)
    hidden = compact[:4] + "*" * (len(compact) - 6) + compact[-2:]
    return " ".join(hidden[i:i + 4] for i in range(0, len(hidden), 4))


def mask_phone(text: str) -> str:
    """Keep a leading "+cc"/"0" prefix and the last two digits; every other digit becomes "*"."""
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if len(digits) < 5:
        return mask_generic(text)
    keep = set(digits[-2:])
    keep |= set(digits[:2]) if text.lstrip().startswith("+") else set(digits[:1])
    return "".join(ch if (not ch.isdigit() or i in keep) else "*" for i, ch in enumerate(text))


def mask_date(text: str) -> str:
    """Hide the whole date, keeping its shape: "12.03.1971" -> "**.**.****"."""
    return re.sub(r"\d", "*", text)


def mask_generic(text: str) -> str:
    """Keep the first character: "Hauptstraße 5" -> "H***"."""
    text = text.strip()
    return text[:1] + "***" if text else text


def _masker_for(column: object, values: pd.Series) -> Callable[[str], str]:
    name = normalise_name(column)
    sample = [str(v) for v in values.dropna().head(50)]
    if "mail" in name or (sample and sum("@" in v for v in sample) >= len(sample) / 2):
        return mask_email
    if "iban" in name or (sample and sum(iban_is_valid(v) for v in sample) >= len(sample) / 2):
        return mask_iban
    if any(w in name for w in ("phone", "telefon", "mobil", "handy", "tel", "fax", "cell")):
        return mask_phone
    if any(w in name for w in ("birth", "geburt", "dob")) or (sample and all(_DATE.match(v) for v in sample)):
        return mask_date
    if "name" in name or name in {"schuldner", "debtor", "kunde", "customer"}:
        return mask_name
    if sample and sum(bool(re.fullmatch(r"[+\d][\d ()/.-]{6,}", v)) for v in sample) >= len(sample) / 2:
        return mask_phone
    return mask_generic


def mask_pii(frame: pd.DataFrame, roles: ColumnRoles) -> pd.DataFrame:
    """A copy of ``frame`` with every PII column masked for display; other columns unchanged.

    Columns are found under their current name or their source name (``roles.pii``).
    """
    masked = frame.copy()
    for column in roles.pii:
        target = column if column in masked.columns else roles.renamed.get(column)
        if target is None or target not in masked.columns:
            continue
        values = masked[target]
        masker = _masker_for(column, values)
        text = values.map(lambda v: None if _is_missing(v) else masker(_as_text(v)))
        masked[target] = text.astype("str").where(text.notna())
    return masked


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)
