"""Plain-language reasons from SHAP values: "Days past due 182 → raises risk" (English and German).

Risk means the probability of NOT paying, so a positive SHAP value (on the log-odds of NOT paying)
"raises risk" and a negative one "lowers risk".
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Readable names of the columns this app knows; anything else is prettified from its name.
LABELS: dict[str, dict[str, str]] = {
    "balance": {"en": "Balance", "de": "Offener Betrag"},
    "days_past_due": {"en": "Days past due", "de": "Verzugstage"},
    "original_amount": {"en": "Original amount", "de": "Ursprungsbetrag"},
    "sector": {"en": "Sector", "de": "Branche"},
    "product": {"en": "Product", "de": "Produkt"},
    "months_on_book": {"en": "Months on book", "de": "Vertragsdauer Monate"},
    "prior_payments": {"en": "Prior payments", "de": "Anzahl bisheriger Zahlungen"},
    "partial_payment_ratio": {"en": "Share already paid", "de": "Teilzahlungsquote"},
    "broken_promises": {"en": "Broken promises", "de": "Gebrochene Zahlungszusagen"},
    "best_response_hour": {"en": "Best response hour", "de": "Beste Antwortstunde"},
    "portal_logins": {"en": "Portal log-ins", "de": "Portal-Logins"},
    "payment_method": {"en": "Payment method", "de": "Zahlungsart"},
    "region": {"en": "Region", "de": "Bundesland"},
    "postcode": {"en": "Postcode", "de": "Postleitzahl"},
    "email_opt_out": {"en": "E-mail opt-out", "de": "Widerspruch E-Mail"},
    "sms_opt_out": {"en": "SMS opt-out", "de": "Widerspruch SMS"},
    "dispute_flag": {"en": "Disputed", "de": "Forderung bestritten"},
    "over_indebted_flag": {"en": "Over-indebted", "de": "Überschuldung"},
    "time_barred": {"en": "Time-barred", "de": "Verjährt"},
    "response_rate": {"en": "Response rate", "de": "Reaktionsquote"},
    "contact_attempts": {"en": "Contact attempts", "de": "Kontaktversuche"},
    "reminders_sent": {"en": "Reminders sent", "de": "Versandte Mahnungen"},
    "dunning_level": {"en": "Dunning level", "de": "Mahnstufe"},
    "income": {"en": "Income", "de": "Einkommen"},
}
_CHANNELS = {"sms": ("SMS", "SMS"), "email": ("e-mail", "E-Mail"), "letter": ("letter", "Brief"),
             "phone": ("phone", "Telefon"), "push": ("app push", "App-Push")}
for _key, (_en, _de) in _CHANNELS.items():
    LABELS[f"{_key}_attempts"] = {"en": f"Contact attempts by {_en}", "de": f"Kontaktversuche {_de}"}
    LABELS[f"{_key}_responses"] = {"en": f"Responses by {_en}", "de": f"Reaktionen {_de}"}
# German ERP exports name the columns in German; they get the same labels in either language.
_BY_GERMAN_NAME = {names["de"].lower(): names for names in LABELS.values()}
FLAG_COLUMNS = {"dispute_flag", "over_indebted_flag", "email_opt_out", "sms_opt_out", "time_barred"}
YES_NO = {"en": ("yes", "no"), "de": ("ja", "nein")}
MONEY_COLUMNS = {"balance", "original_amount", "income", "amount_recovered_90d"}
DIRECTION = {"en": ("raises risk", "lowers risk"), "de": ("erhöht das Risiko", "senkt das Risiko")}
MISSING = {"en": "missing", "de": "fehlt"}


def feature_label(column: str, language: str = "en") -> str:
    """Readable name of a column ("days_past_due" -> "Days past due" / "Verzugstage")."""
    known = LABELS.get(column) or LABELS.get(column.lower()) or _BY_GERMAN_NAME.get(column.lower())
    if known:
        return known.get(language, known["en"])
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", column).replace("_", " ").replace("-", " ").split()
    text = " ".join(words) or column
    return text[:1].upper() + text[1:]


def format_number(value: float, language: str = "en", money: bool = False) -> str:
    """A number as a person writes it: 182, 1,234.5 (en) / 1.234,5 (de), money with €."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING[language]
    value = float(value)
    if money:  # whole euros, half up (format() rounds half to even: 1234.5 -> 1,234)
        text = f"{np.sign(value) * np.floor(abs(value) + 0.5):,.0f}"
    elif value == int(value) and abs(value) < 1e15:
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:,.1f}"
    else:
        text = f"{value:.2f}"
    if language == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    if money:
        return f"€{text}" if language == "en" else f"{text} €"
    return text


def format_values(column: str, values: pd.Series, language: str = "en") -> np.ndarray:
    """Each value of a feature column as display text (categoricals as they are)."""
    if _is_flag(column):  # 0/1 columns read as yes/no: "Disputed yes → raises risk"
        yes, no = YES_NO[language]
        numbers = pd.to_numeric(values.astype(object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return np.array([MISSING[language] if np.isnan(v) else yes if v == 1 else no if v == 0
                         else format_number(v, language) for v in numbers], dtype=object)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        money = column in MONEY_COLUMNS
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        return np.array([format_number(v, language, money) for v in numbers], dtype=object)
    return np.array([MISSING[language] if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                     else str(v) for v in values.astype(object)], dtype=object)


def _is_flag(column: str) -> bool:
    name = column.lower()
    known = LABELS.get(column) or _BY_GERMAN_NAME.get(name)
    return (name in FLAG_COLUMNS or name.endswith("_flag") or name.startswith(("is_", "has_"))
            or any(known is LABELS[key] for key in FLAG_COLUMNS if key in LABELS))


def reason_text(column: str, shown_value: str, shap_value: float, language: str = "en") -> str:
    up, down = DIRECTION[language]
    return f"{feature_label(column, language)} {shown_value} → {up if shap_value > 0 else down}"


def top_reasons(shap_values: pd.DataFrame, feature_values: pd.DataFrame, language: str = "en",
                top: int = 3) -> list[str]:
    """The ``top`` features with the largest |SHAP| per account, as one "; "-joined text each.

    ``shap_values`` and ``feature_values`` share rows and columns (one column per feature).
    Features with a SHAP value of exactly zero are never given as a reason. Only the cells that
    become reasons are formatted (a few per account, not every feature).
    """
    columns = list(shap_values.columns)
    values = shap_values.to_numpy(dtype=float)
    k = min(top, len(columns))
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    parts = np.full(order.shape, "", dtype=object)
    for j, column in enumerate(columns):
        rows, ranks = np.nonzero(order == j)
        if len(rows) == 0:
            continue
        shown = format_values(column, feature_values[column].iloc[rows], language)
        for row, rank, text in zip(rows, ranks, shown):
            value = values[row, j]
            if value != 0:
                parts[row, rank] = reason_text(column, text, value, language)
    return ["; ".join(p for p in row if p) for row in parts]
