"""Persona names a collector would use, in English or German, and the descriptive list beside them.

A name is a short archetype read from the profile ("Überschuldete mit hoher Forderung",
"Vergessliche Zahler", "Nicht erreichbar"; "Over-indebted with a large balance", "Forgetful payers",
"Unreachable"), built from *traits*, one per concept the profile shows:

* What a column means comes from the portfolio's column model (the profile's ``meaning`` per
  feature, or :mod:`portfolio.meanings` for older profiles), never from its name here.
* A persona defined by a flag (dispute, over-indebtedness, insolvency ...: at least 35 % flagged and
  20 points above the portfolio) or by missing data (at least half without a value, 25 points above
  the portfolio) is named by it first, however far down the ranking by standardised difference it is.
* Contact attempts are the collector's effort, not the debtor's behaviour: they stay in the
  descriptive list and never name a persona.
* A column without a collections meaning is named by its humanised label only when that is made of
  readable words ("Kontaktquote hoch", "high contact rate"); codes (``PAY_0``, ``BILL_AMT1``, ``A32``,
  ``EDUCATION``) are counted instead ("lower values on 4 features"). A category level enters a German
  name only when translated or German-looking.
* Names are unique within a run, and two names never differ only by numbers: colliding names each
  take their persona's next trait until they differ (a median-based balance and days-past-due phrase
  comes last).

:func:`name_personas` also writes ``profile["descriptors"]``: the phrases the name was chosen from,
strongest first, flags and missing data with their share ("überschuldet (51 %)").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from portfolio.meanings import CHANNEL_LABELS, Meaning, label, meaning_by_name

MIN_STD_DIFF = 0.25  # weaker differences are not worth a word
EXTRA_STD_DIFF = 0.5  # a second phrase joins the name from this difference on
FLAG_SHARE, FLAG_LIFT = 0.35, 0.20  # a flag defines a persona: share, and points above the portfolio
MISSING_SHARE, MISSING_LIFT = 0.5, 0.25  # missing data defines a persona: share, and points above
DEFINING = 10.0  # strength of a defining flag or missing column: ahead of every difference
MAX_DESCRIPTORS = 6
BALANCE, DAYS_PAST_DUE = "balance", "days_past_due"  # the required roles' canonical columns
DPD_BUCKETS = ((30, "0–30"), (60, "30–60"), (90, "60–90"), (150, "90–150"), (float("inf"), "150+"))


@dataclass(frozen=True)
class Phrases:
    """How a trait reads in a name: leading it, after a comma, or after a noun ("mit ...")."""

    head: str | None = None
    extra: str | None = None
    with_form: str | None = None
    noun: bool = False  # the head is a noun phrase ("Überschuldete") and takes a ``with_form``


@dataclass(frozen=True)
class Trait:
    """One thing a persona shows: its family (one phrase per family in a name), strength
    (standardised difference; ``DEFINING`` and above for defining flags and missing data), the
    words for the descriptive list, and the phrases for a name (``None``: never in a name)."""

    family: str
    strength: float
    descriptor: str
    phrases: Phrases | None = None
    unnamed: int = 0  # +1 / -1: a column without a readable label, higher / lower
    sign: int = 0  # +1 / -1: the persona's value is higher / lower than the portfolio's


def _p(descriptor: str, head: str | None = None, extra: str | None = "=", with_form: str | None = None,
       noun: bool = False) -> tuple[str, Phrases]:
    """Vocabulary entry; ``extra="="`` repeats the descriptor after a comma, ``None`` never."""
    return descriptor, Phrases(head, descriptor if extra == "=" else extra, with_form, noun)


# meaning -> language -> (higher, lower); ``None``: no words that way round
VOCABULARY: dict[str, dict[str, tuple[tuple[str, Phrases] | None, ...]]] = {
    BALANCE: {"en": (_p("high balance", "Large balances", "large balance", "with a large balance", True),
                     _p("small balance", "Small balances", "small balance", "with a small balance", True)),
              "de": (_p("hoher Saldo", "Hohe Forderungen", "hoher Saldo", "mit hoher Forderung", True),
                     _p("kleiner Saldo", "Kleine Forderungen", "kleiner Saldo", "mit kleiner Forderung", True))},
    Meaning.ORIGINAL_AMOUNT: {
        "en": (_p("large original debt", None, "=", "with a large original debt"),
               _p("small original debt", None, "=", "with a small original debt")),
        "de": (_p("hohe Ursprungsforderung", None, "=", "mit hoher Ursprungsforderung"),
               _p("kleine Ursprungsforderung", None, "=", "mit kleiner Ursprungsforderung"))},
    Meaning.RESPONSES: {"en": (_p("responsive", "Responsive", "easy to reach", None, True),
                               _p("unreachable", "Unreachable", "hard to reach", None, True)),
                        "de": (_p("gut erreichbar", "Gut erreichbar", "=", None, True),
                               _p("nicht erreichbar", "Nicht erreichbar", "schwer erreichbar", None, True))},
    Meaning.BEST_RESPONSE_HOUR: {"en": (_p("answers in the evening"), _p("answers in the daytime")),
                                 "de": (_p("abends erreichbar"), _p("tagsüber erreichbar"))},
    Meaning.BROKEN_PROMISES: {"en": (_p("broken promises", "Promise breakers", "breaks promises",
                                        "with broken promises", True),
                                     _p("keeps promises", None, None)),
                              "de": (_p("gebrochene Zahlungszusagen", "Zusagenbrecher", "bricht Zusagen",
                                        "mit gebrochenen Zusagen", True),
                                     _p("hält Zusagen", None, None))},
    Meaning.PAYMENTS_SO_FAR: {"en": (_p("regular payer", "Regular payers", "pays regularly", None, True),
                                     _p("few payments so far", "Hardly paying", "hardly pays")),
                              "de": (_p("zahlt regelmäßig", "Regelmäßige Zahler", "=", None, True),
                                     _p("bisher kaum Zahlungen", "Zahlen kaum", "zahlt kaum"))},
    Meaning.PARTIAL_PAYMENT_RATIO: {"en": (_p("partly paid", "Part payers", "pays in part", None, True),
                                           _p("nothing paid yet", None, None)),
                                    "de": (_p("teilweise bezahlt", "Teilzahler", "zahlt in Teilen", None, True),
                                           _p("noch nichts bezahlt", None, None))},
    Meaning.DIGITAL_ACTIVITY: {"en": (_p("digital self-service", "Digital self-servers", "uses the portal", None, True),
                                      _p("offline", None, None)),
                               "de": (_p("digital aktiv", "Digital Aktive", "=", None, True),
                                      _p("offline", None, None))},
    Meaning.TENURE: {"en": (_p("long-standing customer", "Long-standing customers", "long-standing customers",
                               None, True),
                            _p("new customer", "New customers", "new customers", None, True)),
                     "de": (_p("langjähriger Kunde", "Langjährige Kunden", "langjährige Kunden", None, True),
                            _p("Neukunde", "Neukunden", "=", None, True))},
}
FAMILY = {BALANCE: "amount", Meaning.ORIGINAL_AMOUNT: "amount", Meaning.BEST_RESPONSE_HOUR: "reach",
          Meaning.RESPONSES: "reach"}
# flags that define a persona, in order of precedence (what stops escalation first)
FLAGS: dict[str, dict[str, tuple[str, Phrases]]] = {
    Meaning.INSOLVENCY: {"en": _p("in insolvency", "In insolvency"), "de": _p("in Insolvenz", "In Insolvenz")},
    Meaning.DISPUTE: {"en": _p("disputes the debt", "Disputes the debt"),
                      "de": _p("bestreitet die Forderung", "Bestreitet die Forderung")},
    Meaning.OVER_INDEBTED: {"en": _p("over-indebted", "Over-indebted", "=", None, True),
                            "de": _p("überschuldet", "Überschuldete", "=", None, True)},
    Meaning.TIME_BARRED: {"en": _p("time-barred", "Time-barred claims", "=", None, True),
                          "de": _p("verjährt", "Verjährte Forderungen", "=", None, True)},
    Meaning.CONTRACT_ENDED: {"en": _p("contract ended", "Former customers", "=", None, True),
                             "de": _p("Vertrag beendet", "Ehemalige Kunden", "=", None, True)},
    Meaning.CUSTOMER_ACTIVE: {"en": _p("active customer", "Active customers", "=", None, True),
                              "de": _p("aktiver Kunde", "Aktive Kunden", "=", None, True)},
}
OPT_OUT = {"en": ("objected to {channel}", "Objected to {channel}"),
           "de": ("Widerspruch gegen {channel}", "Widerspruch gegen {channel}")}
ARCHETYPES = {"forgetful": {"en": "Forgetful payers", "de": "Vergessliche Zahler"},
              "early_default": {"en": "Early defaulters", "de": "Frühausfälle"}}
DPD_WORDS = {"en": ("{bucket} days past due", "Long overdue", "long overdue", "Slightly late", "slightly late"),
             "de": ("{bucket} Tage überfällig", "Lange überfällig", "lange überfällig", "Knapp überfällig",
                    "knapp überfällig")}
ATTEMPTS = {"en": ("many contact attempts", "few contact attempts"),
            "de": ("viele Kontaktversuche", "wenige Kontaktversuche")}
# per channel: "many contact attempts" and "few contact attempts" side by side would contradict themselves
AND = {"en": "and", "de": "und"}
ATTEMPTS_BY = {"en": ("many contact attempts by {channel}", "few contact attempts by {channel}"),
               "de": ("viele Kontaktversuche per {channel}", "wenige Kontaktversuche per {channel}")}
RESPONSES_BY = {"en": ("responds by {channel}", "no response by {channel}"),
                "de": ("reagiert per {channel}", "keine Reaktion per {channel}")}
MISSING = {"en": ("no {label} given", "No {label} given", "missing data", "Missing data"),
           "de": ("{label} unbekannt", "{label} unbekannt", "fehlende Angaben", "Mit fehlenden Angaben")}
# a meaning's label as it reads inside a sentence where the column label does not ("Beste Antwortstunde")
IN_A_NAME = {Meaning.BEST_RESPONSE_HOUR: {"de": "beste Antwortzeit"}}
GENERIC = {"en": ("high {label}", "low {label}"), "de": ("{label} hoch", "{label} niedrig")}
LEVEL = {"en": ("mostly {level}", "more often {level}"), "de": ("überwiegend {level}", "häufiger {level}")}
UNNAMED = {"en": ("higher values on {n} {noun}", "lower values on {n} {noun}",
                  "higher on {up}, lower on {down} {noun}", ("one", "feature", "features")),
           "de": ("höhere Werte bei {n} {noun}", "niedrigere Werte bei {n} {noun}",
                  "höher bei {up}, niedriger bei {down} {noun}", ("einem", "Merkmal", "Merkmalen"))}
MARKED, MARKED_STD_DIFF = {"en": "markedly ", "de": "deutlich "}, 1.5
CONTEXT_BALANCE = {"en": ("large balance", "medium balance", "small balance"),
                   "de": ("hoher Saldo", "mittlerer Saldo", "kleiner Saldo")}
FALLBACK = {"en": "Typical accounts", "de": "Typische Konten"}
# English category levels a German name may show translated; a level neither translated nor
# German-looking is described by the column instead of quoted
LEVELS_DE = {"letter": "Brief", "email": "E-Mail", "e-mail": "E-Mail", "sms": "SMS", "phone": "Telefon",
             "card": "Karte", "loan": "Kredit", "telecom": "Telekommunikation", "utility": "Versorger",
             "energy": "Energie", "direct debit": "Lastschrift", "transfer": "Überweisung", "cash": "Barzahlung",
             "north": "Nord", "south": "Süd", "east": "Ost", "west": "West", "central": "Mitte",
             "retail": "Handel", "insurance": "Versicherung", "mail order": "Versandhandel",
             # the levels of the bundled sample (sample_data/generator.py): sectors, products, payment methods
             "e-commerce": "Onlinehandel", "banking": "Bank", "fitness": "Fitness", "push": "App-Push",
             "app push": "App-Push", "mobile contract": "Mobilfunkvertrag", "broadband": "Breitband",
             "prepaid top-up": "Prepaid-Aufladung", "electricity": "Strom", "gas": "Gas",
             "district heating": "Fernwärme", "invoice purchase": "Rechnungskauf",
             "buy now pay later": "Später bezahlen", "marketplace order": "Marktplatzbestellung",
             "instalment loan": "Ratenkredit", "overdraft": "Dispokredit", "credit card": "Kreditkarte",
             "car insurance": "Kfz-Versicherung", "household insurance": "Hausratversicherung",
             "liability insurance": "Haftpflichtversicherung", "gym membership": "Fitnessstudio",
             "streaming subscription": "Streaming-Abo", "club fee": "Vereinsbeitrag",
             "sepa direct debit": "SEPA-Lastschrift", "bank transfer": "Überweisung", "paypal": "PayPal"}
# levels that say nothing a name could use ("mostly none"): counted like a code instead
EMPTY_LEVELS = frozenset({"none", "unknown", "n/a", "na", "keine", "unbekannt", "sonstige", "k. a."})
SHORT_WORDS = frozenset({"of", "on", "in", "at", "by", "per", "to", "the", "and", "or", "for", "im", "am", "an",
                         "zu", "zum", "zur", "pro", "je", "und", "der", "die", "das", "des", "dem", "den", "mit",
                         "bei", "von", "vom", "für", "auf", "aus"})
NOT_LEVELS = frozenset({"(missing)", "other"})  # the feature builder's own levels: not data
_ALNUM_MIX = re.compile(r"\d[^\W\d_]|[^\W\d_]\d")


# ---------------------------------------------------------------------------- readable words
def readable_label(column: object, language: str = "en") -> str | None:
    """The column's name as words (``"MonthlyIncome"`` -> ``"monthly income"``), or ``None`` when it
    is a code: a word with digits (``PAY_0``, ``BILL_AMT1``, ``A32``), an all-capitals field name
    (``EDUCATION``, ``LIMIT_BAL``), a short abbreviation, or a bare number (``EDUCATION 6``)."""
    text = re.sub(r"(?<=[a-zäöüß])(?=[A-ZÄÖÜ])", " ", str(column))
    tokens = [t for t in re.split(r"[\s_\-./:]+", text) if t]
    if not tokens or any(_ALNUM_MIX.search(t) for t in tokens):
        return None
    for i, token in enumerate(tokens):
        if token.isdigit():  # "Zahlungen 12 Monate" reads; "EDUCATION 6" does not
            if i == len(tokens) - 1 or not tokens[i + 1].isalpha():
                return None
        elif not token.isalpha() or (token.isupper() and len(token) > 1):
            return None
        elif len(token) < 4 and token.casefold() not in SHORT_WORDS:
            return None
    if language == "de" or (text == str(column) and any(t[:1].isupper() for t in tokens)):
        return " ".join(tokens)  # a name written as words keeps its case ("Kontaktquote": a German noun)
    return " ".join(t[:1].lower() + t[1:] for t in tokens)  # "MonthlyIncome" -> "monthly income"


def readable_level(level: object, language: str = "en") -> str | None:
    """A category level fit for a name: readable words; in German translated or German-looking."""
    text = str(level).strip()
    if text.casefold() in NOT_LEVELS or text.casefold() in EMPTY_LEVELS:
        return None
    if language == "de":
        translated = LEVELS_DE.get(text.casefold())
        if translated:
            return translated
        words = readable_label(text, "de")
        return words if words and words[:1].isupper() else None
    return readable_label(text, "de")  # as written: a level is a value, not a column name


def _lang(language: str) -> str:
    return language if language in FALLBACK else "en"


def _channel(meaning: str, language: str) -> str:
    en, de = CHANNEL_LABELS.get(meaning.split(".", 1)[-1], (meaning, meaning))
    return de if language == "de" else en


def _pct(share: float) -> str:
    return f"{share:.0%}".replace("%", " %")


# ---------------------------------------------------------------------------- traits
def _meaning(entry: dict[str, Any], meanings: dict[str, str]) -> str | None:
    feature = str(entry["feature"])
    if feature == BALANCE:
        return BALANCE
    if "meaning" in entry or feature in meanings:
        return entry.get("meaning") or meanings.get(feature)
    found = meaning_by_name(feature)  # profiles saved before meanings were stored
    return found[0] if found else None


def _dpd_trait(entry: dict[str, Any], language: str) -> Trait:
    days = float(entry.get("persona_value") or 0.0)
    bucket = next(text for limit, text in DPD_BUCKETS if days < limit)
    descriptor, long_head, long_extra, late_head, late_extra = DPD_WORDS[language]
    descriptor = descriptor.format(bucket=bucket)
    higher, strength = entry["direction"] == "higher", abs(float(entry["std_diff"]))
    if higher and days >= 90:
        return Trait("days", strength, descriptor, Phrases(long_head, long_extra, None, True))
    if not higher and days < 30:
        return Trait("days", strength, descriptor, Phrases(late_head, late_extra, None, True))
    return Trait("days", strength, descriptor, Phrases(None, descriptor))


def _feature_trait(entry: dict[str, Any], meanings: dict[str, str], language: str) -> Trait | None:
    feature, higher = str(entry["feature"]), entry["direction"] == "higher"
    strength = abs(float(entry["std_diff"]))
    if feature == DAYS_PAST_DUE:
        return _dpd_trait(entry, language)
    if " = " in feature:
        return _level_trait(entry, feature, higher, strength, language)
    meaning = _meaning(entry, meanings)
    if meaning is None:
        return _unnamed_or_label(feature, readable_label(feature, language), higher, strength, language)
    kind = meaning.split(".", 1)[0]
    if meaning in FLAGS or kind == Meaning.OPT_OUT:
        return None  # flags speak through their share (flag_shares), not their difference
    if kind == Meaning.ATTEMPTS:  # the collector's effort: described, never a name
        if "." not in meaning:
            return Trait(f"effort:{meaning}", strength, ATTEMPTS[language][0 if higher else 1])
        by = ATTEMPTS_BY[language][0 if higher else 1].format(channel=_channel(meaning, language))
        return Trait(f"effort:{meaning}", strength, by)
    if kind == Meaning.RESPONSES:
        _, reach = VOCABULARY[kind][language][0 if higher else 1]
        by = RESPONSES_BY[language][0 if higher else 1].format(channel=_channel(meaning, language))
        return Trait("reach", strength, by, reach)
    if meaning in VOCABULARY:
        found = VOCABULARY[meaning][language][0 if higher else 1]
        return Trait(FAMILY.get(meaning, meaning), strength, *found) if found else None
    return _unnamed_or_label(feature, label(meaning, language), higher, strength, language, True)


def _unnamed_or_label(feature: str, words: str | None, higher: bool, strength: float, language: str,
                     meaning_label: bool = False) -> Trait:
    """A column without collections vocabulary. Only a meaning's own label may name a persona; a
    column's name (even a readable one) stays in the descriptive list and is counted in the name."""
    text = GENERIC[language][0 if higher else 1]
    phrase = text.format(label=words or feature)
    if not meaning_label:
        return Trait(f"column:{feature}", strength, phrase, unnamed=1 if higher else -1)
    return Trait(f"column:{feature}", strength * 0.8, phrase, Phrases(phrase[:1].upper() + phrase[1:], phrase))


def _level_trait(entry: dict[str, Any], feature: str, higher: bool, strength: float, language: str) -> Trait | None:
    column, level = feature.split(" = ", 1)
    if not higher or level in NOT_LEVELS:
        return None
    words = readable_level(level, language)
    if words is None:
        return Trait(f"level:{column}", strength, feature, unnamed=1)
    mostly, more_often = LEVEL[language]
    phrase = (mostly if (entry.get("persona_value") or 0) >= 0.5 else more_often).format(level=words)
    return Trait(f"level:{column}", strength * 0.9, phrase, Phrases(phrase[:1].upper() + phrase[1:], phrase))


def _flag_traits(profile: dict[str, Any], overall: dict[str, float], language: str) -> list[Trait]:
    traits = []
    order = list(FLAGS) + [Meaning.opt_out(c) for c in Meaning.CHANNELS]
    for meaning, stored in (profile.get("flag_shares") or {}).items():
        share = stored.get("share")
        if share is None or meaning not in order:
            continue
        if share < FLAG_SHARE or share - overall.get(meaning, 0.0) < FLAG_LIFT:
            continue
        if meaning in FLAGS:
            descriptor, phrases = FLAGS[meaning][language]
        else:
            descriptor, head = (t.format(channel=_channel(meaning, language)) for t in OPT_OUT[language])
            phrases = Phrases(head, descriptor)
        strength = DEFINING + share + (len(order) - order.index(meaning))
        traits.append(Trait(meaning, strength, f"{descriptor} ({_pct(share)})", phrases))
    return traits


def _missing_traits(profile: dict[str, Any], meanings: dict[str, str], language: str) -> list[Trait]:
    traits = []
    for column, shares in (profile.get("missing_shares") or {}).items():
        share, overall = shares.get("persona") or 0.0, shares.get("portfolio") or 0.0
        if share < MISSING_SHARE or share - overall < MISSING_LIFT:
            continue
        meaning = meanings.get(column)
        words = (IN_A_NAME.get(meaning, {}).get(language) or label(meaning, language)) if meaning \
            else readable_label(column, language)
        descriptor, head, plain, plain_head = MISSING[language]
        if words is None:
            descriptor, head = plain, plain_head
        descriptor, head = descriptor.format(label=words), head.format(label=words)
        head = head[:1].upper() + head[1:]
        traits.append(Trait(f"missing:{column}", DEFINING + share, f"{descriptor} ({_pct(share)})",
                            Phrases(head, descriptor)))
    return traits


def persona_traits(profile: dict[str, Any], language: str = "en",
                   flag_overall: dict[str, float] | None = None) -> list[Trait]:
    """Every trait of a profile, strongest first (defining flags and missing data lead)."""
    language = _lang(language)
    meanings = dict(profile.get("column_meanings") or {})
    overall = dict(flag_overall or {})
    for entry in profile.get("distinguishing", []):  # a 0/1 flag feature's portfolio value is its share
        meaning = _meaning(entry, meanings)
        if meaning and meaning not in overall and entry.get("portfolio_value") is not None:
            overall[meaning] = float(entry["portfolio_value"])
    traits = _flag_traits(profile, overall, language) + _missing_traits(profile, meanings, language)
    for entry in profile.get("distinguishing", []):
        if abs(float(entry["std_diff"])) >= MIN_STD_DIFF:
            trait = _feature_trait(entry, meanings, language)
            if trait is not None:
                traits.append(replace(trait, sign=1 if entry["direction"] == "higher" else -1))
    return sorted(traits, key=lambda t: -t.strength)


# ---------------------------------------------------------------------------- names
@dataclass(frozen=True)
class Extra:
    """A phrase that can follow the head: after a comma, or after a noun head as ``with_form``."""

    comma: str
    with_form: str | None
    strength: float


@dataclass(frozen=True)
class NamePlan:
    """A persona's head and the phrases that may follow it, strongest first."""

    head: str
    noun: bool
    extras: tuple[Extra, ...]
    default_parts: int

    def render(self, parts: int) -> str:
        text, with_used = self.head, False
        for extra in self.extras[:parts]:
            if self.noun and extra.with_form and not with_used:
                text, with_used = f"{text} {extra.with_form}", True
            else:
                text = f"{text}, {extra.comma}"
        return text


def _negative(trait: Trait) -> bool:
    """Behaviour that does not fit a merely forgetful payer."""
    return trait.strength >= EXTRA_STD_DIFF and (
        (trait.family == Meaning.BROKEN_PROMISES and trait.sign > 0)
        or (trait.family in (Meaning.PAYMENTS_SO_FAR, "reach") and trait.sign < 0) or trait.strength >= DEFINING)


def _head(traits: list[Trait], language: str) -> tuple[str, bool, set[str]] | None:
    """The leading phrase, whether it is a noun phrase, and the families it stands for."""
    named = [t for t in traits if t.phrases is not None and t.phrases.head]
    if named and named[0].strength >= DEFINING:
        return named[0].phrases.head, named[0].phrases.noun, {named[0].family}
    by_family = {t.family: t for t in reversed(traits)}
    tenure, payments = by_family.get(Meaning.TENURE), by_family.get(Meaning.PAYMENTS_SO_FAR)
    options: list[tuple[float, str, bool, set[str]]] = []
    if tenure and payments and tenure.sign < 0 and payments.sign < 0 and \
            min(tenure.strength, payments.strength) >= EXTRA_STD_DIFF:
        options.append((max(tenure.strength, payments.strength) + 0.5, ARCHETYPES["early_default"][language], True,
                        {Meaning.TENURE, Meaning.PAYMENTS_SO_FAR}))
    days = by_family.get("days")
    if days and days.sign < 0 and days.phrases.head and days.strength >= EXTRA_STD_DIFF \
            and not any(_negative(t) for t in traits):
        options.append((days.strength, ARCHETYPES["forgetful"][language], True, {"days"}))
    for trait in named:
        weight = 0.7 if trait.family == "amount" else 1.0  # amounts read better after a head
        options.append((trait.strength * weight, trait.phrases.head, trait.phrases.noun, {trait.family}))
    if not options:
        return None
    _, head, noun, families = max(options, key=lambda o: o[0])
    return head, noun, families


def _unnamed_phrase(traits: list[Trait], language: str, families: set[str]) -> str | None:
    """"höhere Werte bei 3 Merkmalen": columns without collections words, counted, never quoted."""
    strong = [t for t in traits if t.unnamed and t.family not in families and t.strength >= EXTRA_STD_DIFF]
    up, down = sum(t.unnamed > 0 for t in strong), sum(t.unnamed < 0 for t in strong)
    higher, lower, both, (one, noun, nouns) = UNNAMED[language]

    def count(n: int) -> str:
        return one if n == 1 else str(n)

    marked = MARKED[language] if strong and max(t.strength for t in strong) >= MARKED_STD_DIFF else ""
    if up and down:
        return marked + both.format(up=count(up), down=count(down), noun=noun if down == 1 else nouns)
    if up or down:
        n = up or down
        return marked + (higher if up else lower).format(n=count(n), noun=noun if n == 1 else nouns)
    return None


def _context(profile: dict[str, Any], language: str, families: set[str]) -> list[Extra]:
    """Balance and days past due from the medians: the last words that tell two personas apart."""
    medians = profile.get("medians") or {}
    out = []
    days = (medians.get(DAYS_PAST_DUE) or {}).get("persona")
    if days is not None and "days" not in families:
        bucket = next(text for limit, text in DPD_BUCKETS if days < limit)
        out.append(Extra(DPD_WORDS[language][0].format(bucket=bucket), None, 0.0))
    balance = medians.get(BALANCE) or {}
    if balance.get("persona") is not None and balance.get("portfolio") and "amount" not in families:
        ratio = balance["persona"] / balance["portfolio"]
        band = CONTEXT_BALANCE[language][0 if ratio >= 1.5 else 2 if ratio <= 2 / 3 else 1]
        out.append(Extra(band, None, 0.0))
    return out


def name_plan(profile: dict[str, Any], language: str = "en", flag_overall: dict[str, float] | None = None,
              traits: list[Trait] | None = None) -> NamePlan:
    """How a persona is named: its head and the phrases that may follow, strongest first."""
    language = _lang(language)
    traits = persona_traits(profile, language, flag_overall) if traits is None else traits
    found = _head(traits, language)
    extras: list[Extra] = []
    if found is None:
        unnamed = _unnamed_phrase(traits, language, set())
        head, noun, families = (unnamed[:1].upper() + unnamed[1:] if unnamed else FALLBACK[language]), False, set()
    else:
        head, noun, families = found
        families = set(families)
    for trait in traits:
        phrases = trait.phrases
        if phrases is None or trait.family in families or not (phrases.extra or phrases.with_form):
            continue
        if phrases.head == head:
            continue
        extras.append(Extra(phrases.extra or phrases.with_form, phrases.with_form, trait.strength))
        families.add(trait.family)
    if found is not None:
        unnamed = _unnamed_phrase(traits, language, families)
        if unnamed:
            extras.append(Extra(unnamed, None, EXTRA_STD_DIFF))
    extras += _context(profile, language, families)
    strong = [e for e in extras if e.strength >= EXTRA_STD_DIFF]
    default = max(min(1, len(strong)), sum(e.strength >= DEFINING for e in extras))
    return NamePlan(head, noun, tuple(extras), default)


def name_persona(profile: dict[str, Any], language: str = "en", parts: int | None = None) -> str:
    """A short name for one persona (:func:`name_personas` makes names unique within a run)."""
    plan = name_plan(profile, language)
    return plan.render(plan.default_parts if parts is None else parts)


def describe_persona(profile: dict[str, Any], language: str = "en",
                     flag_overall: dict[str, float] | None = None) -> list[str]:
    """The descriptive list beside the name: each trait's words, strongest first, no phrase twice.

    Contact attempts per channel read as one phrase per direction ("many contact attempts by phone,
    e-mail and SMS"), so the collector's effort never fills the list."""
    language = _lang(language)
    traits = persona_traits(profile, language, flag_overall)
    channels: dict[int, list[str]] = {}
    for trait in traits:
        meaning = trait.family.removeprefix("effort:")
        if trait.family.startswith("effort:") and "." in meaning:
            channels.setdefault(trait.sign, []).append(_channel(meaning, language))
    out: list[str] = []
    for trait in traits:
        descriptor = trait.descriptor
        meaning = trait.family.removeprefix("effort:")
        if trait.family.startswith("effort:") and "." in meaning:
            names = channels[trait.sign]
            listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {AND[language]} {names[-1]}"
            descriptor = ATTEMPTS_BY[language][0 if trait.sign >= 0 else 1].format(channel=listed)
        if descriptor not in out:
            out.append(descriptor)
    return out[:MAX_DESCRIPTORS]


def _flag_overall(profiles: list[dict[str, Any]]) -> dict[str, float]:
    """Share of each flag over the whole portfolio, from the personas' counts."""
    counts: dict[str, list[int]] = {}
    for profile in profiles:
        for meaning, stored in (profile.get("flag_shares") or {}).items():
            total = counts.setdefault(meaning, [0, 0])
            total[0] += int(stored.get("count") or 0)
            total[1] += int(stored.get("known") or 0)
    return {m: c / k for m, (c, k) in counts.items() if k}


def _key(name: str) -> str:
    """Names equal under this key are near-identical: same words, whatever case or punctuation."""
    return " ".join(re.sub(r"[\W_]+", " ", name.casefold()).split())


def name_personas(profiles: list[dict[str, Any]], language: str = "en",
                  fixed: dict[int, str] | None = None) -> dict[int, str]:
    """Unique names for all profiles; ``fixed`` names (analyst renames) are kept as they are.

    Also writes each profile's ``descriptors`` (the phrases its name was chosen from). Names that
    collide, or differ only by numbers, each take their persona's next phrase until they differ.
    """
    language = _lang(language)
    fixed = fixed or {}
    overall = _flag_overall(profiles)
    plans: dict[int, NamePlan] = {}
    for profile in profiles:
        traits = persona_traits(profile, language, overall)
        profile["descriptors"] = describe_persona(profile, language, overall)
        pid = int(profile["persona_id"])
        if pid not in fixed:
            plans[pid] = name_plan(profile, language, overall, traits)
    parts = {pid: plan.default_parts for pid, plan in plans.items()}
    taken = {_key(name) for name in fixed.values()}
    for _ in range(12):
        groups: dict[str, list[int]] = {}
        for pid, plan in plans.items():
            groups.setdefault(_key(plan.render(parts[pid])), []).append(pid)
        clashes = [ids for key, ids in groups.items() if len(ids) > 1 or key in taken]
        grown = [pid for ids in clashes for pid in ids if parts[pid] < len(plans[pid].extras)]
        if not grown:
            break
        for pid in grown:
            parts[pid] += 1
    names = {pid: plans[pid].render(parts[pid]) for pid in plans}
    return {**_last_resort(names, profiles, language, taken), **fixed}


def _last_resort(names: dict[int, str], profiles: list[dict[str, Any]], language: str,
                 taken: set[str]) -> dict[int, str]:
    """Numbers for names the profiles cannot tell apart (larger persona first)."""
    size = {int(p["persona_id"]): int(p.get("size") or 0) for p in profiles}
    groups: dict[str, list[int]] = {}
    for pid, name in names.items():
        groups.setdefault(_key(name), []).append(pid)
    word = {"en": "group", "de": "Gruppe"}[language]  # only where the data has no words to tell them apart
    out = dict(names)
    for key, ids in groups.items():
        if len(ids) > 1 or key in taken:
            for n, pid in enumerate(sorted(ids, key=lambda i: -size[i]), start=1):
                out[pid] = f"{names[pid]} ({word} {n})"
    return out


# ---------------------------------------------------------------------------- both languages
NAME_LANGUAGES = ("en", "de")  # every run names its personas in each of these


def names_in_languages(profiles: list[dict[str, Any]], primary: str = "en", fixed: dict[int, str] | None = None,
                       kept: dict[str, dict[int, str]] | None = None) -> dict[str, dict[int, str]]:
    """Unique names for all profiles in every language of ``NAME_LANGUAGES``: ``{language: {id: name}}``.

    ``fixed`` are the analyst's names (renames): the analyst's own text, the same in every language.
    ``kept`` are names per language to keep as they are (personas an edit did not change), unless one
    reads like an analyst's name (it is then named anew, so names stay unique in each language).

    Writes each profile's ``names`` (``{language: name}``), ``descriptors_by_language``, and ``name``
    and ``descriptors`` in the ``primary`` language (what runs saved before both languages hold).
    """
    primary = _lang(primary)
    fixed = {int(p): str(n) for p, n in (fixed or {}).items()}
    analyst = {_key(n) for n in fixed.values()}
    out: dict[str, dict[int, str]] = {}
    descriptors: dict[str, dict[int, list[str]]] = {}
    for language in NAME_LANGUAGES:
        keep = {int(p): n for p, n in ((kept or {}).get(language) or {}).items()
                if int(p) not in fixed and _key(n) not in analyst}
        out[language] = name_personas(profiles, language, fixed={**keep, **fixed})
        descriptors[language] = {int(p["persona_id"]): list(p.get("descriptors") or []) for p in profiles}
    for profile in profiles:
        pid = int(profile["persona_id"])
        profile["names"] = {language: out[language][pid] for language in NAME_LANGUAGES}
        profile["descriptors_by_language"] = {language: descriptors[language][pid] for language in NAME_LANGUAGES}
        profile["name"], profile["descriptors"] = out[primary][pid], descriptors[primary][pid]
    return out


def _shown_language(language: str | None) -> str:
    if language is None:
        from core.i18n import current_language

        language = current_language()
    return language


def display_name(profile: dict[str, Any], language: str | None = None) -> str:
    """A persona's name in ``language`` (default: the page's or CLI's, ``core.i18n.current_language``);
    a run saved before names came in both languages has one name, shown whatever the language."""
    from core.i18n import persona_name

    return persona_name(profile, language)


def display_names(profiles: list[dict[str, Any]] | None, language: str | None = None) -> dict[int, str]:
    """Each persona's name by id in ``language`` (default: the current one); none without profiles."""
    return {int(p["persona_id"]): display_name(p, language) for p in (profiles or [])}


def display_descriptors(profile: dict[str, Any], language: str | None = None) -> list[str]:
    """The descriptive list beside the name in ``language`` (the saved one for older runs)."""
    by_language = profile.get("descriptors_by_language") or {}
    found = by_language.get(_shown_language(language))
    return list(found if found is not None else profile.get("descriptors") or [])


def name_column(columns: Any, language: str | None = None) -> str:
    """The column of ``accounts.parquet`` holding persona names in ``language``: ``persona_name_de`` ...,
    or ``persona_name`` (the run's primary language) in runs saved before both languages."""
    column = f"persona_name_{_shown_language(language)}"
    return column if column in columns else "persona_name"


def names_by_language(profiles: list[dict[str, Any]]) -> dict[str, dict[int, str]]:
    """``{language: {id: name}}`` from saved profiles (empty for a run saved with one language)."""
    out: dict[str, dict[int, str]] = {}
    for profile in profiles:
        for language, name in (profile.get("names") or {}).items():
            out.setdefault(language, {})[int(profile["persona_id"])] = name
    return out
