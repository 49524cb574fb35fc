"""Column-name vocabulary in English and German, and the normalisation used to compare names.

Names are compared after :func:`normalise_name`: lower case, umlauts spelled out (``ü`` -> ``ue``,
``ß`` -> ``ss``), accents removed, every run of punctuation or space turned into one space, and
currency/unit words dropped (``"Offener Betrag (EUR)"`` -> ``"offener betrag"``). Owner words such as
*customer*, *debtor*, *Kunde*, *Schuldner* are dropped too, so ``"Kunden-E-Mail"`` matches ``"e mail"``.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
# camelCase boundaries become spaces before lower-casing ("daysPastDue" -> "days past due").
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_UNIT_WORDS = {"eur", "euro", "euros", "in", "usd", "chf", "gbp", "brutto", "netto", "gross", "net"}
_OWNER_WORDS = {
    "customer", "customers", "debtor", "debtors", "client", "kunde", "kunden", "schuldner",
    "debitor", "debitoren", "primary", "main", "haupt", "contact", "kontakt", "private", "privat",
}


def normalise_name(name: object) -> str:
    """Comparable form of a column name: lower case, umlauts spelled out, punctuation as spaces.

    >>> normalise_name("Überfälligkeit (in Tagen)")
    'ueberfaelligkeit tagen'
    """
    text = str(name)
    return _normalise_cached(text) if len(text) <= _CACHED_NAME_CHARS else _normalise_text(text)


#: Longer names (hostile headers) are normalised every time rather than kept in the cache.
_CACHED_NAME_CHARS = 200


@lru_cache(maxsize=4096)
def _normalise_cached(name: str) -> str:
    """Role detection compares every column with hundreds of synonyms and normalises the same few
    hundred names ~18,000 times per file: each is worked out once."""
    return _normalise_text(name)


def _normalise_text(name: str) -> str:
    text = _CAMEL.sub(" ", name).translate(_UMLAUTS).lower()
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = [w for w in _NON_ALNUM.sub(" ", text).split() if w not in _UNIT_WORDS]
    return " ".join(words)


def strip_owner(normalised: str) -> str:
    """Drop owner words (customer, Kunde, Schuldner ...) so ``"kunden e mail"`` reads ``"e mail"``."""
    words = [w for w in normalised.split() if w not in _OWNER_WORDS]
    return " ".join(words) if words else normalised


def _norm_set(*names: str) -> frozenset[str]:
    return frozenset(normalise_name(n) for n in names)


# Required columns: exact matches after normalisation, in order of preference.
ACCOUNT_ID_SYNONYMS: tuple[str, ...] = (
    "account_id", "account id", "account number", "account no", "account nr", "account", "acct id",
    "acct", "case id", "case number", "case no", "fall id", "fall-id", "fallnummer", "fall nr",
    "kontonummer", "konto nr", "kontonr", "konto", "konto id", "aktenzeichen", "akte", "akten nr",
    "aktennummer", "az", "vertragsnummer", "vertrags nr", "vertragsnr", "vertrag", "contract id",
    "contract number", "loan id", "loan number", "kundennummer", "kunden nr", "kundennr",
    "customer id", "customer number", "debtor id", "schuldnernummer", "schuldner id",
    "forderungsnummer", "forderungs id", "reference", "referenz", "id",
)
BALANCE_SYNONYMS: tuple[str, ...] = (
    "balance", "outstanding balance", "outstanding", "outstanding amount", "amount outstanding",
    "open amount", "open balance", "amount due", "total due", "current balance", "debt",
    "debt amount", "offener betrag", "offene betrag", "betrag offen", "offener saldo", "saldo",
    "forderungsbetrag", "forderung", "restforderung", "offene forderung", "gesamtforderung",
    "restschuld", "offener posten", "kontostand", "schuld", "schuldbetrag", "amount", "betrag",
)
DAYS_PAST_DUE_SYNONYMS: tuple[str, ...] = (
    "days_past_due", "days past due", "dpd", "days overdue", "overdue days", "days in arrears",
    "arrears days", "days delinquent", "days late", "tage ueberfaellig", "ueberfaellig tage",
    "ueberfaellige tage", "verzugstage", "tage im verzug", "tage verzug", "verzug tage",
    "verzugsdauer", "ueberfaelligkeit in tagen", "ueberfaelligkeit tage", "ueberfaelligkeit",
    "tage ueberfaelligkeit", "mahntage",
)
REQUIRED_SYNONYMS: dict[str, tuple[str, ...]] = {
    "account_id": ACCOUNT_ID_SYNONYMS,
    "balance": BALANCE_SYNONYMS,
    "days_past_due": DAYS_PAST_DUE_SYNONYMS,
}

TRUTH_NAMES = _norm_set("true_persona", "truth", "ground_truth", "true_label", "true_segment",
                        "true_cluster", "planted_persona", "planted_label", "persona_truth")
TRUTH_PREFIXES = ("true ", "planted ", "ground truth")

TARGET_NAMES = _norm_set(
    "paid_90d", "amount_recovered_90d", "paid", "recovered", "recovery", "recovery amount",
    "recovery rate", "outcome", "cured", "cure", "default", "defaulted", "default flag", "is default",
    "bezahlt", "gezahlt", "zahlungseingang", "ausgeglichen", "erledigt", "settled", "written off",
    "write off", "abgeschrieben", "collected", "amount collected", "eingang", "zahlungserfolg",
)
# Word-level hints: paid_*, *_paid, *recovered*, *recovery*, *outcome*, *cured*, default flags.
TARGET_WORDS = frozenset({"paid", "recovered", "recovery", "outcome", "cured", "defaulted",
                          "bezahlt", "gezahlt", "zahlungseingang", "abgeschrieben", "settled",
                          "eingezogen", "beigetrieben", "eingegangen", "realisiert", "collected"})

SENSITIVE_NAMES = _norm_set(
    "age", "age years", "age group", "age band", "alter", "alter jahre", "altersgruppe", "altersklasse",
    "sex", "gender", "geschlecht", "nationality", "citizenship", "staatsangehoerigkeit",
    "nationalitaet", "religion", "religious affiliation", "konfession", "denomination",
    "marital status", "family status", "familienstand", "disability", "disabled", "behinderung",
    "schwerbehinderung", "ethnicity", "ethnic origin", "race", "herkunft", "ethnie",
    "migrationshintergrund", "country of birth", "geburtsland", "sexual orientation",
)
SENSITIVE_WORDS = frozenset({
    "gender", "sex", "geschlecht", "nationality", "citizenship", "staatsangehoerigkeit",
    "nationalitaet", "religion", "konfession", "marital", "familienstand", "disability",
    "behinderung", "ethnicity", "ethnic", "race", "herkunft", "ethnie",
})

PII_NAMES = _norm_set(
    "name", "full name", "first name", "last name", "given name", "family name", "surname",
    "vorname", "nachname", "familienname", "vor und nachname", "email", "e-mail", "mail",
    "email address", "e-mail address", "e-mail-adresse", "emailadresse", "mailadresse",
    "phone", "phone number", "telephone", "telephone number", "tel", "telefon", "telefonnummer",
    "mobile", "mobile number", "mobil", "mobilnummer", "handy", "handynummer", "cell phone", "fax",
    "iban", "bic", "swift", "bank account", "bankverbindung", "kontoverbindung",
    "street", "street address", "strasse", "strasse hausnummer", "hausnummer", "house number",
    "address", "adresse", "anschrift", "wohnadresse", "birth date", "date of birth", "dob",
    "birthday", "geburtsdatum", "geburtstag", "ssn", "social security number", "tax id",
    "steuer id", "steueridentifikationsnummer", "passport", "ausweisnummer", "ip address",
)
# German compounds carry the PII word inside one word ("Kundenemail", "Rechnungsadresse").
PII_STEMS = ("telefon", "strasse", "geburtsdatum", "adresse", "vorname", "nachname", "iban")
# A column about a channel is a behaviour, not the contact detail ("email_response_rate").
METRIC_WORDS = frozenset({
    "rate", "ratio", "share", "attempts", "attempt", "count", "counts", "n", "num", "contacts",
    "response", "responses", "responded", "sent", "opened", "clicks", "calls", "days", "hour",
    "hours", "logins", "score", "flag", "valid", "verified", "anzahl", "quote", "versuche",
    "optin", "opt", "out", "consent", "bounced", "available", "vorhanden", "type", "channel",
    "kontaktversuche", "kontaktversuch", "reaktionen", "reaktion", "widerspruch", "versuche",
    "antworten", "quote", "gueltig", "bounce", "kanal",
})

# Geographic columns: possible proxies for protected attributes (AGG § 19; domain notes).
POSTCODE_NAMES = _norm_set("postcode", "post code", "postal code", "zip", "zip code", "zipcode",
                           "plz", "postleitzahl", "city", "town", "ort", "wohnort", "stadt")
REGION_WORDS = frozenset({"region", "bundesland", "state", "district", "kreis", "landkreis",
                          "country", "land", "area", "gebiet"})


def name_matches(normalised: str, names: frozenset[str]) -> bool:
    """Whether the name, with or without owner words, is one of ``names``."""
    return normalised in names or strip_owner(normalised) in names


def looks_like_id_name(name: object) -> bool:
    """Whether a column name says it holds an identifier (keep its values as text, never numbers)."""
    norm = normalise_name(name)
    if norm in _norm_set(*ACCOUNT_ID_SYNONYMS):
        return True
    words = set(norm.split())
    if words & METRIC_WORDS:
        return False
    if words & {"id", "nr", "nummer", "ref", "referenz", "reference", "iban", "bic", "plz",
                "postcode", "zip", "telefon", "phone", "mobil", "tel", "uuid", "guid"}:
        return True
    if words == {"account", "number"} or (words & {"phone", "customer", "case", "contract"} and "number" in words):
        return True
    # German compounds: "Kontonummer", "Kundennr", "Aktenzeichen".
    return " " not in norm and norm.endswith(("nummer", "nr", "zeichen"))
