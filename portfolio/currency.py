"""The run's currency, decided once, and the one way amounts are written.

:func:`portfolio_currency` decides it from the portfolio: a currency column (meaning
``Meaning.CURRENCY`` in the column model) holding one currency, else a setting (``--currency CODE``,
``RunSettings.currency``), else unknown. A column holding several currencies is "mixed": amounts
cannot be summed or compared across currencies, so they are shown without a symbol and the run warns.
Nothing ever falls back to a made-up €.

:func:`format_amount` writes an amount in that currency ("€1,234.50" / "1.234,50 €", "$1,234.50",
"1,234.50 CHF", or a bare "1,234.50" when the currency is unknown or mixed); :meth:`Currency.note`
gives the words to say once beside such amounts ("currency unknown").
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from core.errors import UserError
from portfolio.meanings import ColumnMeanings, Meaning, detect_meanings

#: Currency symbols written before (en) or after (de) the amount; other codes are written after it.
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
#: Text found in currency columns that is not an ISO code.
ALIASES = {"€": "EUR", "EURO": "EUR", "EUROS": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "¥": "JPY",
           "SFR": "CHF", "FR.": "CHF"}
_CODE = re.compile(r"^[A-Z]{3}$")

UNKNOWN_WORDS = {"en": "currency unknown", "de": "Währung unbekannt"}
MIXED_WORDS = {"en": "mixed currencies", "de": "gemischte Währungen"}


@dataclass(frozen=True)
class Currency:
    """The run's currency: ``code`` (ISO 4217, ``None`` when unknown or mixed), ``symbol`` (``None``
    when the code has none), ``source`` ("column", "setting", "unknown" or "mixed") and ``reason``."""

    code: str | None = None
    symbol: str | None = None
    source: str = "unknown"
    reason: str = "no currency column and no currency setting"

    @property
    def is_known(self) -> bool:
        return self.code is not None

    @property
    def is_mixed(self) -> bool:
        return self.source == "mixed"

    def label(self, language: str = "en") -> str:
        """``"EUR"``, or the words for an unknown / mixed currency."""
        if self.code:
            return self.code
        return (MIXED_WORDS if self.is_mixed else UNKNOWN_WORDS).get(language, UNKNOWN_WORDS["en"])

    def note(self, language: str = "en") -> str:
        """Words to say once beside amounts written without a currency ("" when it is known)."""
        if self.code:
            return ""
        if self.is_mixed:
            return ("gemischte Währungen: Beträge ohne Währungszeichen, nicht summierbar" if language == "de"
                    else "mixed currencies: amounts shown without a currency and cannot be summed")
        return UNKNOWN_WORDS.get(language, UNKNOWN_WORDS["en"])

    def matches(self, code: str | None) -> bool:
        """Whether amounts in ``code`` are in this currency (``False`` when unknown or mixed)."""
        return bool(self.code) and self.code == normalise_code(code)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "source": self.source, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Any) -> "Currency":
        """A currency from ``run.json`` ``parameters.currency`` (anything else: unknown)."""
        if isinstance(data, Currency):
            return data
        if not isinstance(data, Mapping):
            return cls()
        code = normalise_code(data.get("code"))
        source = str(data.get("source") or ("setting" if code else "unknown"))
        reason = str(data.get("reason") or cls.reason)
        return cls(code, SYMBOLS.get(code) if code else None, source, reason)

    @classmethod
    def of_code(cls, code: str, source: str = "setting", reason: str = "") -> "Currency":
        """A known currency from a code or symbol (``"EUR"``, ``"€"``); ``UserError`` when it is not one."""
        normal = normalise_code(code)
        if normal is None:
            raise UserError(f"currency {code!r} is not a currency: give a three-letter ISO code such as EUR, "
                            "USD or CHF (--currency).")
        return cls(normal, SYMBOLS.get(normal), source, reason or f"set to {normal} by the run's settings")


def normalise_code(value: Any) -> str | None:
    """``"eur"``, ``"€"``, ``"Euro"`` -> ``"EUR"``; ``None`` for anything that is not a currency."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().upper()
    text = ALIASES.get(text, text)
    return text if _CODE.match(text) else None


def currency_of_run(meta: Any) -> Currency:
    """The currency a run recorded (``run.json`` ``parameters.currency``); unknown for older runs."""
    parameters = meta.get("parameters") if isinstance(meta, Mapping) else None
    data = parameters.get("currency") if isinstance(parameters, Mapping) else None
    if data is None:
        return Currency(reason="the run recorded no currency")
    return Currency.from_dict(data)


def portfolio_currency(frame: pd.DataFrame, roles: Any = None, setting: str | None = None) -> Currency:
    """The run's currency: a currency column with one currency, else ``setting``, else unknown.

    ``roles`` is the portfolio's column model (``ColumnRoles`` or anything
    :meth:`ColumnMeanings.of` reads); without it the frame's columns are read. A column holding
    several currencies gives a "mixed" currency (no code) whose reason names them with their counts.
    An invalid ``setting`` raises ``UserError``.
    """
    chosen = Currency.of_code(setting, "setting", f"set with --currency {normalise_code(setting)}") \
        if setting not in (None, "") else None
    meanings = ColumnMeanings.of(roles) if roles is not None else detect_meanings(frame)
    column = meanings.column_for(Meaning.CURRENCY)
    if column is not None and column in frame.columns:
        text = frame[column].dropna().astype(str).str.strip()
        text = text[text != ""]
        if len(text):
            codes = text.map(normalise_code)
            bad = text[codes.isna()]
            counts = codes.dropna().value_counts()
            if len(counts) == 1 and bad.empty:
                code = str(counts.index[0])
                reason = f"column '{column}' holds {code} on every row"
                if chosen is not None and chosen.code != code:
                    reason += f" (--currency {chosen.code} not used: the column decides)"
                return Currency(code, SYMBOLS.get(code), "column", reason)
            if len(counts) > 1:
                listed = ", ".join(f"{code} {n:,}" for code, n in counts.items())
                return Currency(None, None, "mixed",
                                f"column '{column}' holds several currencies ({listed} accounts): amounts "
                                "cannot be summed or compared, so they are shown without a currency")
            if chosen is None:
                examples = ", ".join(repr(v) for v in bad.unique()[:3])
                return Currency(reason=f"column '{column}' holds values that are not currency codes ({examples})")
    if chosen is not None:
        return chosen
    return Currency(reason="no currency column and no currency setting (--currency)")


def _digits(value: float, decimals: int, language: str) -> str:
    if decimals == 0:  # whole units, half up (format() rounds half to even: 1234.5 -> 1,234)
        value = math.copysign(math.floor(abs(value) + 0.5), value)
    text = f"{value:,.{decimals}f}"
    if language == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def format_amount(value: Any, currency: Currency | None = None, language: str = "en", decimals: int = 2) -> str:
    """An amount as a person writes it in the run's currency.

    ``€1,234.50`` / ``1.234,50 €`` (EUR), ``$1,234.50`` (USD), ``1,234.50 CHF`` (a code without a
    symbol), a bare ``1,234.50`` when the currency is unknown or mixed (say :meth:`Currency.note`
    once beside it), ``"–"`` for a missing value.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(number):
        return "–"
    text = _digits(number, decimals, language)
    currency = currency or Currency()
    if not currency.code:
        return text
    symbol = currency.symbol
    if symbol and language != "de":
        return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"
    return f"{text} {symbol or currency.code}"
