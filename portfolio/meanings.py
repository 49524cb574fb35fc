"""What a column means for collections: payments so far, broken promises, contact history per
channel, opt-outs, dispute, over-indebtedness, time-barred, insolvency, due date, currency ...

The one vocabulary of the app. :func:`detect_meaning` decides a column's meaning from its name
(English and German synonyms, on word boundaries; see :mod:`portfolio.vocabulary`) checked against
its values (a dispute flag must hold yes/no values or counts, an hour 0-23), or from its values
alone (ISO currency codes). :class:`ColumnMeanings` answers the other packages' questions ("which
column holds the dispute flag?") so that none of them matches column names itself.

Meanings are plain strings so they survive JSON; per-channel meanings are ``"<kind>.<channel>"``
(``"contact_attempts.sms"``, ``"opt_out.email"``). Protected attributes and outcomes have their own
meanings (``"protected.age"``, ``"outcome.not_paid"``; see :mod:`portfolio.vocabulary`).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Mapping

import pandas as pd

from portfolio.flags import looks_like_flag
from portfolio.patterns import sample_text
from portfolio.vocabulary import (
    NameRule, Outcome, Protected, describe_synonym, first_match, match_rules, name_words,
)


class Meaning:
    """Collections meanings of columns."""

    PAYMENTS_SO_FAR = "payments_so_far"  #: number (or amount) of payments made before the snapshot
    BROKEN_PROMISES = "broken_promises"  #: promises to pay not kept (count)
    PARTIAL_PAYMENT_RATIO = "partial_payment_ratio"  #: share of the debt already paid (0..1)
    BEST_RESPONSE_HOUR = "best_response_hour"  #: hour of day (0-23) the debtor answers most
    PAYMENT_METHOD = "payment_method"
    DISPUTE = "dispute"  #: the debtor disputes the claim (flag or count)
    OVER_INDEBTED = "over_indebted"  #: over-indebtedness / hardship / vulnerability (flag)
    TIME_BARRED = "time_barred"  #: the claim is time-barred (flag)
    INSOLVENCY = "insolvency"  #: insolvency proceedings (flag)
    CUSTOMER_ACTIVE = "customer_active"  #: the customer relationship is still active (flag)
    CONTRACT_ENDED = "contract_ended"  #: the contract has ended, final invoice (flag)
    DUE_DATE = "due_date"
    CURRENCY = "currency"
    ORIGINAL_AMOUNT = "original_amount"  #: the amount first owed
    TENURE = "tenure"  #: how long the customer relationship lasts (months on book)
    DIGITAL_ACTIVITY = "digital_activity"  #: portal / app log-ins
    TITLED = "titled"  #: an enforceable title exists (Vollstreckungstitel: judgment, enforcement order) (flag)
    ACKNOWLEDGED_ON = "acknowledged_on"  #: date the debtor acknowledged the claim (§ 212 BGB restart)
    LAST_PAYMENT_ON = "last_payment_on"  #: date of the latest part-payment (§ 212 BGB restart)
    LAST_CONVERSATION_ON = "last_conversation_on"  #: date of the latest conversation with the debtor
    ATTEMPTS = "contact_attempts"  #: prefix: contact attempts per channel
    RESPONSES = "contact_responses"  #: prefix: responses per channel
    OPT_OUT = "opt_out"  #: prefix: opt-out / objection per channel (flag)
    OPT_IN = "opt_in"  #: prefix: the debtor's consent to a channel, e.g. WhatsApp (flag)

    CHANNELS = ("sms", "email", "letter", "phone", "app_push", "whatsapp")
    PER_CHANNEL = (ATTEMPTS, RESPONSES, OPT_OUT, OPT_IN)
    SINGLE = (PAYMENTS_SO_FAR, BROKEN_PROMISES, PARTIAL_PAYMENT_RATIO, BEST_RESPONSE_HOUR, PAYMENT_METHOD,
              DISPUTE, OVER_INDEBTED, TIME_BARRED, INSOLVENCY, CUSTOMER_ACTIVE, CONTRACT_ENDED, DUE_DATE, CURRENCY,
              ORIGINAL_AMOUNT, TENURE, DIGITAL_ACTIVITY, TITLED, ACKNOWLEDGED_ON, LAST_PAYMENT_ON,
              LAST_CONVERSATION_ON)
    #: Meanings whose column holds dates (German ``15.03.2021`` or ISO; read with :func:`date_values`).
    DATES = (DUE_DATE, ACKNOWLEDGED_ON, LAST_PAYMENT_ON, LAST_CONVERSATION_ON)
    #: Yes/no facts about an account; profiles carry their shares (set below the class).
    FLAGS: tuple[str, ...] = ()
    ALL: tuple[str, ...] = ()

    @staticmethod
    def attempts(channel: str) -> str:
        return f"{Meaning.ATTEMPTS}.{channel}"

    @staticmethod
    def responses(channel: str) -> str:
        return f"{Meaning.RESPONSES}.{channel}"

    @staticmethod
    def opt_out(channel: str) -> str:
        return f"{Meaning.OPT_OUT}.{channel}"

    @staticmethod
    def opt_in(channel: str) -> str:
        return f"{Meaning.OPT_IN}.{channel}"


Meaning.FLAGS = (Meaning.DISPUTE, Meaning.OVER_INDEBTED, Meaning.TIME_BARRED, Meaning.INSOLVENCY,
                 Meaning.CUSTOMER_ACTIVE, Meaning.CONTRACT_ENDED, Meaning.TITLED) + tuple(
    Meaning.opt_out(channel) for channel in Meaning.CHANNELS) + tuple(
    Meaning.opt_in(channel) for channel in Meaning.CHANNELS)
Meaning.ALL = Meaning.SINGLE + tuple(f"{kind}.{channel}" for kind in Meaning.PER_CHANNEL
                                     for channel in Meaning.CHANNELS)

#: Every meaning a column can have (collections, protected attributes, outcomes).
ALL_MEANINGS = Meaning.ALL + Protected.ALL + Outcome.ALL

#: Words for each meaning in evidence, tables and explanations (German as ERP exports name the column).
LABELS: dict[str, dict[str, str]] = {
    Meaning.PAYMENTS_SO_FAR: {"en": "prior payments", "de": "Anzahl bisheriger Zahlungen"},
    Meaning.BROKEN_PROMISES: {"en": "broken promises", "de": "Gebrochene Zahlungszusagen"},
    Meaning.PARTIAL_PAYMENT_RATIO: {"en": "share already paid", "de": "Teilzahlungsquote"},
    Meaning.BEST_RESPONSE_HOUR: {"en": "best response hour", "de": "Beste Antwortstunde"},
    Meaning.PAYMENT_METHOD: {"en": "payment method", "de": "Zahlungsart"},
    Meaning.DISPUTE: {"en": "disputed", "de": "Forderung bestritten"},
    Meaning.OVER_INDEBTED: {"en": "over-indebted", "de": "Überschuldung"},
    Meaning.TIME_BARRED: {"en": "time-barred", "de": "Verjährt"},
    Meaning.INSOLVENCY: {"en": "insolvency", "de": "Insolvenz"},
    Meaning.CUSTOMER_ACTIVE: {"en": "customer active", "de": "Kunde aktiv"},
    Meaning.CONTRACT_ENDED: {"en": "contract ended", "de": "Vertrag beendet"},
    Meaning.DUE_DATE: {"en": "due date", "de": "Fälligkeitsdatum"},
    Meaning.CURRENCY: {"en": "currency", "de": "Währung"},
    Meaning.ORIGINAL_AMOUNT: {"en": "original amount", "de": "Ursprungsbetrag"},
    Meaning.TENURE: {"en": "months on book", "de": "Vertragsdauer Monate"},
    Meaning.DIGITAL_ACTIVITY: {"en": "portal log-ins", "de": "Portal-Logins"},
    Meaning.TITLED: {"en": "titled claim", "de": "Tituliert"},
    Meaning.ACKNOWLEDGED_ON: {"en": "acknowledged on", "de": "Anerkannt am"},
    Meaning.LAST_PAYMENT_ON: {"en": "last part-payment on", "de": "Letzte Teilzahlung am"},
    Meaning.LAST_CONVERSATION_ON: {"en": "last conversation on", "de": "Letztes Gespräch am"},
}
CHANNEL_LABELS = {"sms": ("SMS", "SMS"), "email": ("e-mail", "E-Mail"), "letter": ("letter", "Brief"),
                  "phone": ("phone", "Telefon"), "app_push": ("app push", "App-Push"),
                  "whatsapp": ("WhatsApp", "WhatsApp")}
for _channel, (_en, _de) in CHANNEL_LABELS.items():
    LABELS[Meaning.attempts(_channel)] = {"en": f"contact attempts by {_en}", "de": f"Kontaktversuche {_de}"}
    LABELS[Meaning.responses(_channel)] = {"en": f"responses by {_en}", "de": f"Reaktionen {_de}"}
    LABELS[Meaning.opt_out(_channel)] = {"en": f"{_en} opt-out", "de": f"Widerspruch {_de}"}
    LABELS[Meaning.opt_in(_channel)] = {"en": f"{_en} opt-in", "de": f"Einwilligung {_de}"}
for _meaning in Protected.ALL + Outcome.ALL:
    LABELS[_meaning] = {"en": _meaning.replace(".", ": ").replace("_", " "),
                        "de": _meaning.replace(".", ": ").replace("_", " ")}


def label(meaning: str, language: str = "en") -> str:
    """Words for a meaning (``"dispute"`` -> ``"disputed"`` / ``"Forderung bestritten"``)."""
    words = LABELS.get(meaning)
    return words.get(language, words["en"]) if words else meaning.replace("_", " ")


# ---------------------------------------------------------------------------- the vocabulary
_RATE_WORDS = ("rate", "ratio", "share", "quote", "~quote", "percent", "prozent", "pct", "anteil")
_HOUR_WORDS = ("hour", "hours", "stunde", "~stunde", "uhrzeit", "time", "zeit", "tageszeit", "weekday", "wochentag")
CHANNEL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "sms": ("sms", "text message", "text messages", "~sms"),
    "email": ("email", "e mail", "emails", "mail", "mails", "~email"),
    "letter": ("letter", "letters", "brief", "briefe", "post", "postal", "~brief"),
    "phone": ("phone", "call", "calls", "telephone", "telefon", "~telefon", "anruf", "anrufe", "~anruf", "tel",
              "dialer"),
    "whatsapp": ("whatsapp", "whats app", "~whatsapp"),  # before app push: "WhatsApp" reads "whats app"
    "app_push": ("push", "app push", "push notification", "~push", "app"),
}
_OPT_OUT_WORDS = ("opt out", "optout", "opted out", "~optout", "objection", "objected", "widerspruch",
                  "~widerspruch", "unsubscribed", "unsubscribe", "abgemeldet", "~abmeldung", "blocked", "gesperrt",
                  "sperre", "~sperre", "do not contact", "no contact", "robinson")
_RESPONSE_WORDS = ("responses", "response", "responded", "replies", "reply", "answered", "answers", "reaktionen",
                   "reaktion", "~reaktion", "antworten", "antwort", "~antwort", "rueckmeldung", "~rueckmeldung",
                   "reached", "erreicht", "contacts made")
# Only words that say "attempts": a bare count ("n_calls_30d", "Anzahl SMS") may be a window or a direction.
_ATTEMPT_WORDS = ("attempts", "attempt", "versuche", "~versuch", "sent", "gesendet", "versendet", "verschickt",
                  "~versand", "contacts", "kontakte", "dials")
# Consent to a channel ("whatsapp_opt_in": the reader drops "in" as a unit word, so "opt" without "out").
_OPT_IN_WORDS = ("optin", "consent", "consented", "permission", "einwilligung", "~einwilligung",
                 "zustimmung", "~zustimmung", "~einverstaendnis", "erlaubt")

#: Single meanings by name, in the order they are tried (earlier rules win).
RULES: tuple[NameRule, ...] = (
    NameRule(Meaning.TIME_BARRED, any_of=("time barred", "statute barred", "limitation expired"),
             german=("~verjaehrt", "verjaehr*", "~verjaehrung")),
    NameRule(Meaning.INSOLVENCY, any_of=("insolven*", "bankrupt*"),
             german=("~insolvenz", "restschuldbefreiung")),
    NameRule(Meaning.DISPUTE, any_of=("dispute*", "contested", "in dispute"),
             german=("~bestritten", "bestreit*", "~bestreitung", "einwand", "einwendung", "~einwendung",
                     "einspruch", "~einspruch", "~strittig", "streitfall", "~streitig")),
    NameRule(Meaning.OVER_INDEBTED, any_of=(
        "hardship*", "over indebted", "overindebted*", "over indebtedness", "vulnerab*", "debt advice",
        "financial difficulty", "financial difficulties"),
        german=("~ueberschuld", "~schuldnerberatung", "~haertefall", "notlage", "~notlage")),
    NameRule(Meaning.BROKEN_PROMISES, any_of=("broken ptp",), german=("~gebrochenezusage",),
             all_of=(("promise*", "ptp", "~zusage", "~versprechen"),
                     ("broken", "gebrochen*", "failed", "missed", "unkept", "~geplatzt", "nicht eingehalten"))),
    NameRule(Meaning.PARTIAL_PAYMENT_RATIO, any_of=("share paid", "paid share", "paid ratio"),
             german=("~teilzahlungsquote", "~tilgungsquote"),
             all_of=(("partial", "~teilzahl", "teil"), _RATE_WORDS)),
    NameRule(Meaning.PAYMENTS_SO_FAR, any_of=("partial payments",), german=("teilzahlungen", "~teilzahlungen"),
             all_of=(("payments", "payment", "zahlungen", "zahlung", "paid", "gezahlt", "bezahlt", "~zahlungen"),
                     ("prior", "previous", "so far", "made", "bisher*", "bereits", "geleistet*",
                      "count", "number", "anzahl", "n", "num", "history", "vorherig*", "frueher*")),
             none_of=("date", "datum", "method", "art", "~zahlungsart", "plan", "promise*", "~zusage") + _RATE_WORDS
             + _HOUR_WORDS),
    NameRule(Meaning.BEST_RESPONSE_HOUR,
             all_of=(("hour", "hours", "stunde", "~stunde", "uhrzeit", "time of day", "tageszeit"),
                     ("response", "responses", "contact", "antwort", "~antwort", "reaktion", "~reaktion",
                      "erreichbar*", "reachable", "answer", "best", "beste", "preferred", "bevorzugt*", "call"))),
    NameRule(Meaning.PAYMENT_METHOD, any_of=("payment method", "payment type", "payment mode", "payment channel"),
             german=("~zahlungsart", "~zahlweise", "~zahlungsweg", "~zahlungsmethode")),
    NameRule(Meaning.DUE_DATE, any_of=("due date", "date due", "due on", "payment due date"),
             german=("~faelligkeitsdatum", "faellig am", "faelligkeit", "~zahlungsziel")),
    NameRule(Meaning.CURRENCY, any_of=("currency", "currency code", "ccy", "curr"),
             german=("~waehrung", "devise")),
    NameRule(Meaning.ORIGINAL_AMOUNT, any_of=("original amount", "original balance", "original debt",
                                              "initial amount"),
             german=("~ursprungsbetrag", "~ursprungsforderung", "~hauptforderung")),
    NameRule(Meaning.TENURE, any_of=("months on book", "tenure", "contract duration", "relationship length",
                                     "months as customer", "customer since"),
             german=("~vertragsdauer", "laufzeit", "~kundenbeziehung", "kunde seit")),
    NameRule(Meaning.DIGITAL_ACTIVITY, any_of=("logins", "log ins", "logons", "login count", "number of logins",
                                               "portal visits", "app sessions", "online visits"),
             german=("~portal", "~anmeldungen")),
    NameRule(Meaning.CONTRACT_ENDED, any_of=("contract ended", "contract terminated", "final invoice",
                                             "former customer", "ex customer", "contract end flag"),
             german=("vertrag beendet", "beendet", "~gekuendigt", "kuendigung", "~schlussrechnung",
                     "ehemaliger kunde")),
    NameRule(Meaning.CUSTOMER_ACTIVE, any_of=("active customer", "customer active", "contract active",
                                              "active contract", "customer is active"),
             german=("aktiv", "aktiver kunde", "kunde aktiv", "vertrag aktiv", "~bestandskunde", "~aktivkunde")),
    # A flag; the value check keeps an academic "Titel" (Dr., Prof.) and a title's date out.
    NameRule(Meaning.TITLED, any_of=("titled", "title", "has title", "enforceable title", "titled claim",
                                     "judgment", "judgement", "court order", "enforcement order"),
             german=("~tituliert", "~titel", "~titulierung", "~vollstreckungsbescheid", "~urteil")),
)

#: Date meanings by name; a column holds one only when its values are dates (:func:`looks_like_date_column`),
#: so "letzte Teilzahlung" holding amounts is not a date.
DATE_RULES: tuple[NameRule, ...] = (
    NameRule(Meaning.ACKNOWLEDGED_ON, any_of=("acknowledged", "acknowledged on", "acknowledgement date",
                                              "acknowledgment date", "date acknowledged", "acknowledg*"),
             german=("anerkannt", "anerkannt am", "~anerkenntnis", "~anerkennung", "~schuldanerkenntnis")),
    NameRule(Meaning.LAST_PAYMENT_ON, any_of=("last payment", "last payment on", "last paid", "last paid on",
                                              "date of last payment", "last partial payment", "last part payment",
                                              "most recent payment"),
             german=("letzte zahlung", "letzte teilzahlung", "~letztzahlung", "letzte rate", "zuletzt gezahlt",
                     "zuletzt bezahlt", "letzter zahlungstag")),
    NameRule(Meaning.LAST_CONVERSATION_ON, any_of=("last conversation", "conversation date", "last spoke",
                                                   "last talked", "last rpc", "last right party contact",
                                                   "right party contact date"),
             german=("~gespraech", "~telefonat", "letztes gespraech", "letztes telefonat")),
)

#: Meanings whose column must hold yes/no values; the first group may also hold counts.
_FLAG_OR_COUNT = {Meaning.DISPUTE, Meaning.OVER_INDEBTED, Meaning.TIME_BARRED, Meaning.INSOLVENCY}
_STRICT_FLAGS = {Meaning.CUSTOMER_ACTIVE, Meaning.CONTRACT_ENDED, Meaning.TITLED}
_STRICT_DATES = {Meaning.ACKNOWLEDGED_ON, Meaning.LAST_PAYMENT_ON, Meaning.LAST_CONVERSATION_ON}
_NUMBERS = {Meaning.PAYMENTS_SO_FAR, Meaning.BROKEN_PROMISES, Meaning.PARTIAL_PAYMENT_RATIO,
            Meaning.BEST_RESPONSE_HOUR, Meaning.ORIGINAL_AMOUNT, Meaning.TENURE, Meaning.DIGITAL_ACTIVITY}
CURRENCY_CODES = frozenset({"EUR", "USD", "GBP", "CHF", "PLN", "CZK", "SEK", "NOK", "DKK", "HUF", "RON", "BGN",
                            "JPY", "CNY", "CAD", "AUD", "TRY", "€", "$", "£"})


def _channel_meaning(words: tuple[str, ...]) -> tuple[str, str] | None:
    """``(meaning, synonyms)`` of a per-channel column ("Kontaktversuche SMS", "email_opt_out")."""
    channel = next(((ch, syn) for ch, synonyms in CHANNEL_SYNONYMS.items()
                    if (syn := first_match(words, synonyms))), None)
    if channel is None:
        return None
    name, channel_word = channel
    # consent is the opposite of an opt-out ("opt in" reads "opt": the reader drops "in" as a unit word)
    consent = first_match(words, _OPT_IN_WORDS) or (
        "opt in" if ("opt" in words or "opted" in words) and "out" not in words else None)
    if consent:
        return Meaning.opt_in(name), f"{consent} + {channel_word}"
    kind_word = first_match(words, _OPT_OUT_WORDS)
    if kind_word:
        return Meaning.opt_out(name), f"{kind_word} + {channel_word}"
    if first_match(words, _RATE_WORDS + _HOUR_WORDS):
        return None
    kind_word = first_match(words, _RESPONSE_WORDS)
    if kind_word:
        return Meaning.responses(name), f"{kind_word} + {channel_word}"
    kind_word = first_match(words, _ATTEMPT_WORDS)
    if kind_word and kind_word != channel_word:
        return Meaning.attempts(name), f"{kind_word} + {channel_word}"
    return None


def meaning_by_name(name: object) -> tuple[str, str] | None:
    """``(meaning, synonym text)`` of a collections column by its name alone, else ``None``."""
    words = name_words(name)
    return match_rules(words, RULES) or match_rules(words, DATE_RULES) or _channel_meaning(words)


def _is_number_column(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def fits_values(meaning: str, values: pd.Series | None) -> bool:
    """Whether the values can hold the meaning (a flag yes/no, a count a number, an hour 0-23)."""
    if values is None or values.dropna().empty:
        return True
    kind = meaning.split(".")[0]
    if meaning in _STRICT_FLAGS or kind in (Meaning.OPT_OUT, Meaning.OPT_IN):
        return looks_like_flag(values)
    if meaning in _STRICT_DATES:
        return looks_like_date_column(values)
    if meaning in _FLAG_OR_COUNT:
        return looks_like_flag(values) or (_is_number_column(values) and float(values.min()) >= 0)
    if meaning in _NUMBERS or kind in (Meaning.ATTEMPTS, Meaning.RESPONSES):
        if not _is_number_column(values):
            return False
        if meaning == Meaning.BEST_RESPONSE_HOUR:
            return bool(values.dropna().between(0, 24).all())
        return True
    return True


def currency_by_content(values: pd.Series) -> str | None:
    """A reason when the values are ISO currency codes (``EUR``, ``CHF`` ...), else ``None``."""
    if _is_number_column(values) or pd.api.types.is_bool_dtype(values):
        return None
    sample = sample_text(values, 100)
    codes = sum(v.upper() in CURRENCY_CODES for v in sample)
    if sample and codes >= 0.9 * len(sample):
        return f"values are currency codes ({codes} of {len(sample)} sampled)"
    return None


def detect_meaning(name: object, values: pd.Series | None = None) -> tuple[str, str] | None:
    """``(meaning, reason)`` of a collections column from its name and values, else ``None``.

    A name that says a meaning the values cannot hold (a "dispute date" of dates for the dispute
    flag) gives no meaning: the column is then judged by its content like any other.
    """
    found = meaning_by_name(name)
    if found is not None:
        meaning, synonym = found
        if fits_values(meaning, values):
            return meaning, f"{label(meaning)}: matched {describe_synonym(synonym, RULES + DATE_RULES)} in '{name}'"
    if values is not None:
        currency = currency_by_content(values)
        if currency:
            return Meaning.CURRENCY, f"{label(Meaning.CURRENCY)}: {currency}"
    return None


# ---------------------------------------------------------------------------- dates
#: Date formats tried, day first (German exports) before the US month-first form.
DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%m/%d/%Y")
#: Share of the filled cells that must read as dates for a text column to be a date column.
DATE_MAJORITY = 0.8


def _date_cell_text(value: Any) -> str | None:
    """One cell as stripped text (``None`` when empty); an ISO timestamp keeps only its date."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (pd.Timestamp, datetime.datetime, datetime.date)):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    if len(text) > 10 and text[4:5] == "-" and text[10:11] in ("T", " "):
        text = text[:10]
    return text or None


def _date_text(values: pd.Series) -> pd.Series:
    """Cells as stripped text (``None`` when empty); an ISO timestamp keeps only its date."""
    return values.astype("object").map(_date_cell_text)


def date_values(values: pd.Series) -> pd.Series:
    """A date column as ``datetime64`` (NaT where empty or unreadable), indexed like ``values``.

    Reads datetime columns, date objects from spreadsheets and text in the format most of the
    column's cells share out of :data:`DATE_FORMATS` (``15.03.2021`` before ``03/15/2021``).
    Numbers are not dates (an Excel serial number would be a guess) and give NaT.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values)
        out = out.dt.tz_localize(None) if getattr(out.dt, "tz", None) is not None else out
        return out.astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    text = _date_text(values)
    readings = [pd.to_datetime(text, format=fmt, errors="coerce") for fmt in DATE_FORMATS]
    # The format most cells share decides; cells it cannot read are tried with the others in turn.
    readings.sort(key=lambda parsed: -int(parsed.notna().sum()))  # stable: ties keep day-first order
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for parsed in readings:
        out = out.fillna(parsed.astype("datetime64[ns]"))
    return out


def date_value(value: Any) -> datetime.date | None:
    """One cell as a date (German ``15.03.2021`` first, then the other :data:`DATE_FORMATS`), else ``None``."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _date_cell_text(value)
    if text is None:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def looks_like_date_column(values: pd.Series) -> bool:
    """Whether a column holds dates (datetime values, or text of which most cells read as dates)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    filled = values.dropna()
    if filled.empty or pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    present = _date_text(filled).dropna()
    return bool(len(present)) and date_values(present).notna().mean() >= DATE_MAJORITY


# ---------------------------------------------------------------------------- answering questions
@dataclass(frozen=True)
class ColumnMeanings:
    """Column -> meaning, with the reason of each decision; what other packages ask.

    Build one from roles (:meth:`of`), or, where no roles were kept, from a frame
    (:func:`detect_meanings`) or from bare column names (:func:`meanings_by_names`).
    """

    meanings: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def meaning_of(self, column: object) -> str | None:
        """The meaning of a column, or ``None``."""
        return self.meanings.get(column)  # type: ignore[arg-type]

    def column_for(self, meaning: str) -> str | None:
        """The first column with exactly this meaning, else ``None``."""
        return self._first_column.get(meaning)

    @cached_property
    def _first_column(self) -> dict[str, str]:
        first: dict[str, str] = {}
        for column, meaning in self.meanings.items():
            first.setdefault(meaning, column)
        return first

    def columns_for(self, prefix: str) -> list[str]:
        """Columns whose meaning is ``prefix`` or starts with ``prefix.`` (``"opt_out"``: every channel)."""
        return [c for c, m in self.meanings.items() if m == prefix or m.startswith(prefix + ".")]

    def present_in(self, columns: Iterable[object]) -> "ColumnMeanings":
        """Only the columns among ``columns`` (e.g. those of a persona's rows)."""
        keep = set(columns)
        return ColumnMeanings({c: m for c, m in self.meanings.items() if c in keep},
                              {c: r for c, r in self.reasons.items() if c in keep})

    def __bool__(self) -> bool:
        return bool(self.meanings)

    @classmethod
    def of(cls, source: Any) -> "ColumnMeanings":
        """Meanings of ``source``: :class:`ColumnMeanings`, roles (with ``meanings``), a roles dict
        (``ColumnRoles.to_dict()``), a ``{column: meaning}`` dict, or ``None`` (no meanings)."""
        if source is None:
            return cls()
        if isinstance(source, ColumnMeanings):
            return source
        if isinstance(source, Mapping):
            if "roles" in source:  # ColumnRoles.to_dict()
                return cls(dict(source.get("meanings") or {}), dict(source.get("meaning_reasons") or {}))
            return cls({str(k): str(v) for k, v in source.items() if v})
        meanings = getattr(source, "meanings", None)
        if isinstance(meanings, ColumnMeanings):
            return meanings
        return cls(dict(meanings or {}), dict(getattr(source, "meaning_reasons", None) or {}))


def detect_meanings(frame: pd.DataFrame) -> ColumnMeanings:
    """Meanings of a frame's columns by name and values (for callers that kept no roles).

    Protected attributes and outcomes are decided with roles (:func:`portfolio.roles.detect_roles`).
    """
    meanings, reasons = {}, {}
    for column in frame.columns:
        found = detect_meaning(column, frame[column])
        if found:
            meanings[column], reasons[column] = found
    return ColumnMeanings(meanings, reasons)


def meanings_by_names(columns: Iterable[object]) -> ColumnMeanings:
    """Meanings of bare column names (no values to check them against), e.g. of an old profile."""
    meanings, reasons = {}, {}
    for column in columns:
        found = detect_meaning(column)
        if found:
            meanings[column], reasons[column] = found
    return ColumnMeanings(meanings, reasons)
