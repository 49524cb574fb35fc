"""Recognise personal data by content: e-mail addresses, IBANs (with checksum), phone numbers, birth dates.

Each detector looks at a sample of a text column's values and returns a reason such as
``"values look like e-mail addresses (48 of 50 sampled)"`` when at least :data:`CONTENT_SHARE`
of the sampled values match, else ``None``.
"""
from __future__ import annotations

import datetime
import re

import pandas as pd

from portfolio.numbers import filled_sample

#: Share of sampled non-empty values that must match a pattern.
CONTENT_SHARE = 0.5
#: Values sampled per column.
SAMPLE_SIZE = 200

_EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
# International (+49 ..., 0049 ...) or national with a leading 0 and separators ("0171 1234567").
_PHONE = re.compile(r"^(?:\+|00)\d[\d ()/.-]{6,20}$|^\(?0\d{1,5}\)?[ /-]\d[\d /-]{3,14}$")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%m/%d/%Y", "%d-%m-%Y", "%d.%m.%y")


def sample_text(values: pd.Series, size: int = SAMPLE_SIZE) -> list[str]:
    """Up to ``size`` non-empty values as stripped text, spread over the column (deterministic)."""
    return [str(v).strip() for v in filled_sample(values, size) if str(v).strip()]


def iban_is_valid(text: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    compact = re.sub(r"[\s-]", "", text).upper()
    if not _IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def _parse_date(text: str) -> datetime.date | None:
    if not (text[:1].isdigit() or text[:1] == " "):
        return None  # every format starts with a day, month or year (strptime: a digit or a space)
    text = text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text) else text
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _share(matches: int, total: int) -> bool:
    return total > 0 and matches >= CONTENT_SHARE * total


def detect_pii_content(values: pd.Series, today: datetime.date | None = None) -> str | None:
    """A reason when a column's values look like personal data, else ``None``."""
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = [v.date() for v in values.dropna().head(SAMPLE_SIZE)]
        return _birth_dates(dates, len(dates), today)
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return None
    sample = sample_text(values)
    total = len(sample)
    if total == 0:
        return None
    emails = sum(bool(_EMAIL.match(v)) for v in sample)
    if _share(emails, total):
        return f"values look like e-mail addresses ({emails} of {total} sampled)"
    ibans = sum(iban_is_valid(v) for v in sample)
    if _share(ibans, total):
        return f"values look like IBANs with a valid checksum ({ibans} of {total} sampled)"
    phones = sum(bool(_PHONE.match(v)) and 7 <= sum(c.isdigit() for c in v) <= 15 for v in sample)
    if _share(phones, total):
        return f"values look like phone numbers ({phones} of {total} sampled)"
    dates = [d for d in (_parse_date(v) for v in sample) if d is not None]
    return _birth_dates(dates, total, today)


def _birth_dates(dates: list[datetime.date], total: int, today: datetime.date | None) -> str | None:
    """Dates spread over decades, all at least 16 years back: a birth date, not a contract date."""
    today = today or datetime.date.today()
    if not _share(len(dates), total) or len(dates) < 5:
        return None
    years = sorted(d.year for d in dates)
    ages = [today.year - y for y in years]
    if min(years) >= 1900 and min(ages) >= 16 and max(ages) <= 110 and years[-1] - years[0] >= 15:
        return f"values look like dates of birth ({len(dates)} of {total} sampled, born {years[0]}-{years[-1]})"
    return None


def looks_like_dates(values: pd.Series) -> str | None:
    """A reason when a text column holds dates (not usable as a feature as they are)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return "values are dates; derive a number such as days since that date to use it as a feature"
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return None
    sample = sample_text(values, 50)
    dates = sum(_parse_date(v) is not None for v in sample)
    if sample and dates >= 0.8 * len(sample):
        return (f"values look like dates ({dates} of {len(sample)} sampled); derive a number such as "
                "days since that date to use it as a feature")
    return None
