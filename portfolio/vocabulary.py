"""Matching column names against a vocabulary on word boundaries, and the vocabularies of protected
attributes and outcomes (English and German).

Names are compared as words after :func:`portfolio.synonyms.normalise_name` (camelCase, ``_``,
``-``, ``.`` and spaces split words; umlauts spelled out: ``ä`` -> ``ae``). A synonym matches when

* its words appear in the name as consecutive whole words (``"age"`` matches ``customer_age`` but
  never ``language``, ``page``, ``mileage``, ``percentage`` or ``storage``);
* written ``"stem*"``, when a word of the name starts with the stem (``"pregnan*"``: pregnant,
  pregnancy);
* written ``"~stem"``, when a word of the name contains the stem: only for long German compound
  parts (``"~staatsangehoerig"`` in ``Staatsangehörigkeit``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd

from portfolio.synonyms import normalise_name


def name_words(name: object) -> tuple[str, ...]:
    """The words of a column name, as compared (``"MARRIAGE"`` -> ``("marriage",)``)."""
    return tuple(normalise_name(name).split())


def _contains_run(words: Sequence[str], run: Sequence[str]) -> bool:
    n = len(run)
    return n > 0 and any(tuple(words[i:i + n]) == tuple(run) for i in range(len(words) - n + 1))


def synonym_matches(words: Sequence[str], synonym: str) -> bool:
    """Whether one synonym (plain words, ``stem*`` or ``~stem``) matches the name's words."""
    if synonym.startswith("~"):
        stem = synonym[1:]
        return any(stem in word for word in words)
    if synonym.endswith("*"):
        stem = synonym[:-1]
        return any(word.startswith(stem) for word in words)
    return _contains_run(words, normalise_name(synonym).split())


def first_match(words: Sequence[str], synonyms: Iterable[str]) -> str | None:
    """The first synonym that matches, else ``None``."""
    return next((s for s in synonyms if synonym_matches(words, s)), None)


@dataclass(frozen=True)
class NameRule:
    """A meaning recognised by name: any synonym of ``any_of`` (English) or ``german``, or one synonym
    of every group in ``all_of`` (either language).

    ``none_of`` words veto the rule (``"account age"`` is not a person's age).
    """

    meaning: str
    any_of: tuple[str, ...] = ()
    all_of: tuple[tuple[str, ...], ...] = ()
    none_of: tuple[str, ...] = ()
    german: tuple[str, ...] = ()

    def match(self, words: Sequence[str]) -> str | None:
        """The synonym (or ``"a + b"`` for groups) that matched, else ``None``."""
        if self.none_of and first_match(words, self.none_of):
            return None
        found = first_match(words, self.any_of) or first_match(words, self.german)
        if found:
            return found
        if self.all_of:
            parts = [first_match(words, group) for group in self.all_of]
            if all(parts):
                return " + ".join(p.strip("~*") for p in parts if p)
        return None


def match_rules(words: Sequence[str], rules: Iterable[NameRule]) -> tuple[str, str] | None:
    """``(meaning, synonym)`` of the first rule that matches."""
    for rule in rules:
        found = rule.match(words)
        if found:
            return rule.meaning, found
    return None


def describe_synonym(synonym: str, rules: Iterable[NameRule] = ()) -> str:
    """``"German synonym 'bestritten'"``, ``"English synonym 'dispute'"`` or ``"name words 'a + b'"``."""
    plain = synonym.strip("~*")
    if " + " in synonym:
        return f"name words '{plain}'"
    german = any(synonym in rule.german for rule in rules)
    return f"{'German' if german else 'English'} synonym '{plain}'"


# ---------------------------------------------------------------------------- protected attributes
class Protected:
    """Meanings of protected attributes (AGG § 19, Reg B): never a model or persona feature."""

    AGE = "protected.age"
    SEX = "protected.sex"
    MARITAL_STATUS = "protected.marital_status"
    NATIONALITY = "protected.nationality"
    RELIGION = "protected.religion"
    ETHNICITY = "protected.ethnicity"
    DISABILITY = "protected.disability"
    PREGNANCY = "protected.pregnancy"
    SEXUAL_ORIENTATION = "protected.sexual_orientation"
    ALL = (AGE, SEX, MARITAL_STATUS, NATIONALITY, RELIGION, ETHNICITY, DISABILITY, PREGNANCY,
           SEXUAL_ORIENTATION)


#: Words that make "age" the age of a thing, not of a person ("account age", "debt age days").
_THING_AGE = ("account", "accounts", "contract", "debt", "loan", "invoice", "claim", "case", "konto",
              "vertrag", "forderung", "rechnung", "akte", "item", "receivable", "receivables",
              "portfolio", "file", "record", "kontos", "vertrags", "days", "day", "tage", "months", "month", "monate",
              "bucket", "aging", "ageing", "vehicle", "car", "fahrzeug", "product", "relationship")

PROTECTED_RULES: tuple[NameRule, ...] = (
    NameRule(Protected.SEXUAL_ORIENTATION, any_of=("sexual orientation", "sexual identity", "lgbt*"),
             german=("sexuelle orientierung", "sexuelle identitaet")),
    NameRule(Protected.SEX, any_of=("sex", "gender", "salutation", "personal status", "female", "male"),
             german=("~geschlecht", "anrede", "weiblich", "maennlich")),
    NameRule(Protected.MARITAL_STATUS, any_of=(
        "marital*", "marriage", "married", "family status", "civil status", "spouse"),
        german=("verheiratet", "~familienstand", "~zivilstand", "~personenstand", "ehestand", "ehe", "ledig",
                "ehepartner")),
    NameRule(Protected.NATIONALITY, any_of=(
        "nationality", "citizenship", "citizen", "foreign worker", "foreigner", "country of birth",
        "birth country", "place of birth", "immigrant*", "migration*", "residence permit", "residence status"),
        german=("~nationalitaet", "~staatsangehoerig", "~staatsbuerger", "~auslaender", "~geburtsland",
                "~geburtsort", "~migration", "~aufenthaltstitel", "~aufenthaltsstatus")),
    NameRule(Protected.RELIGION, any_of=("religio*", "denomination", "faith", "church"),
             german=("~konfession", "kirche", "~kirchensteuer", "~religionszugehoerig")),
    NameRule(Protected.ETHNICITY, any_of=("ethnic*", "race", "racial", "skin colour", "skin color"),
             german=("~ethnie", "rasse", "~herkunft", "~hautfarbe"),
             none_of=("forderung", "claim", "lead", "leads", "quelle", "source", "daten", "data", "kanal",
                      "channel", "~forderungsherkunft")),
    NameRule(Protected.DISABILITY, any_of=("disab*", "handicap*", "impairment"), german=("~behinder", "gdb")),
    NameRule(Protected.PREGNANCY, any_of=("pregnan*", "maternity"), german=("~schwanger", "~mutterschutz")),
    NameRule(Protected.AGE, any_of=("birth year", "year of birth", "yob"),
             german=("~geburtsjahr", "jahrgang", "~altersgruppe", "~altersklasse", "~lebensalter", "~kundenalter",
                     "~schuldneralter"),
             all_of=(("age", "ages", "alter", "altersjahre"),), none_of=_THING_AGE),
)

#: Values that say a protected attribute whatever the column is called ("Info3": m/w/d).
PROTECTED_LEVELS: dict[str, frozenset[str]] = {
    Protected.SEX: frozenset({"m", "w", "d", "f", "male", "female", "maennlich", "weiblich", "divers", "diverse",
                              "herr", "frau", "mr", "mrs", "ms", "miss", "mann"}),
    Protected.MARITAL_STATUS: frozenset({"ledig", "verheiratet", "geschieden", "verwitwet", "single", "married",
                                         "divorced", "widowed", "separated", "getrennt", "getrennt lebend",
                                         "eingetragene lebenspartnerschaft", "civil partnership"}),
}
#: Share of the filled values that must be such levels.
PROTECTED_LEVEL_SHARE = 0.95
_ALL_LEVELS = frozenset().union(*PROTECTED_LEVELS.values())


def protected_by_content(values: pd.Series) -> tuple[str, str] | None:
    """``(meaning, "values ...")`` when a text column's levels are those of sex or marital status."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    text = values.dropna().astype("str")
    if _mostly_not_levels(text):
        return None
    # Distinct cells are counted first and only they are normalised (same counts, far fewer string calls).
    raw = text.value_counts(sort=False)
    keys = raw.index.str.strip().str.lower().str.rstrip(".")
    tallies = raw.to_numpy()
    filled = int(tallies[(keys != "")].sum())
    if filled < 10:
        return None
    # Only keys that are levels are grouped and ranked (a column of 100,000 names has none): the same
    # counts in the same order as ranking every key and keeping the levels.
    levels_seen = keys.isin(_ALL_LEVELS)
    counts = pd.Series(tallies[levels_seen], index=keys[levels_seen]).groupby(level=0, sort=False).sum()
    counts = counts.sort_values(ascending=False, kind="stable")
    for meaning, levels in PROTECTED_LEVELS.items():
        known = counts[counts.index.isin(levels)]
        if len(known) < 2 or known.sum() < PROTECTED_LEVEL_SHARE * filled:
            continue
        letters = set(known.index)
        if letters <= {"d", "f", "m", "w"} and not ("m" in letters and letters & {"f", "w"}):
            continue  # single letters say sex only as m with f or w
        shown = ", ".join(map(str, known.index[:4]))
        return meaning, f"values ({shown}) that say {meaning.split('.')[1].replace('_', ' ')}"
    return None


def _mostly_not_levels(text: pd.Series) -> bool:
    """Whether more cells than ``1 - PROTECTED_LEVEL_SHARE`` of them hold a digit or an "@" (ids, e-mail
    addresses, phone numbers, IBANs, streets). No level holds one, so such a column cannot reach the
    share, and its values need not be counted (a hash of every distinct cell: ~0.3 s per column at
    1,000,000 rows)."""
    return bool(text.str.contains("[0-9@]", regex=True).sum() > (1 - PROTECTED_LEVEL_SHARE) * len(text))


#: A full date of birth identifies a person: personal data (masked), and it reveals age.
BIRTH_DATE_SYNONYMS = ("date of birth", "birth date", "birthdate", "dob", "birthday", "~geburtsdatum",
                       "~geburtstag", "geb datum")


def protected_meaning(name: object) -> tuple[str, str] | None:
    """``(meaning, synonym)`` when the name says a protected attribute, else ``None``."""
    return match_rules(name_words(name), PROTECTED_RULES)


def is_birth_date_name(name: object) -> str | None:
    """The synonym when the name says a full date of birth, else ``None``."""
    return first_match(name_words(name), BIRTH_DATE_SYNONYMS)


# ---------------------------------------------------------------------------- outcomes
class Outcome:
    """Meanings of outcome (target) columns: which way round the event is, when the name says so."""

    PAID = "outcome.paid"  #: 1 = the account was paid / cured / recovered
    NOT_PAID = "outcome.not_paid"  #: 1 = the account defaulted / was written off
    AMOUNT = "outcome.amount"  #: an amount or share recovered
    UNKNOWN_DIRECTION = "outcome"  #: an outcome whose coding the user must state (e.g. 1/2)
    ALL = (PAID, NOT_PAID, AMOUNT, UNKNOWN_DIRECTION)


#: Names that say "not paid": an outcome by name alone.
NOT_PAID_STRONG = ("default", "defaulted", "default flag", "is default", "charged off", "charge off",
                   "chargeoff", "written off", "write off", "writeoff", "abgeschrieben", "~zahlungsausfall",
                   "ausgefallen", "~dlq", "serious delinquency", "not paid", "unpaid", "nicht bezahlt",
                   "uneinbringlich")
#: Names that say "not paid" but also name scores and counts: an outcome only when two-valued.
NOT_PAID_WEAK = ("bad", "good bad", "credit risk", "delinquent", "delinquency", "ausfall", "~ausfall",
                 "risk class", "risk flag")
#: Names that say "paid": an outcome by name alone.
PAID_STRONG = ("paid", "bezahlt", "gezahlt", "cured", "cure", "recovered", "recovery", "settled",
               "collected", "zahlungseingang", "eingezogen", "beigetrieben", "eingegangen", "realisiert",
               "ausgeglichen", "erledigt", "zahlungserfolg", "eingang")
#: Names that say "outcome" without saying which way round.
GENERIC_OUTCOME = ("outcome", "target", "zielvariable")
#: Words that make any outcome name something else (a date, a count, a setting).
NOT_AN_OUTCOME = ("date", "datum", "count", "anzahl", "setting", "reason", "grund", "method", "methode")
#: Words that make "default"/"ausfall" a score, a rate or a duration rather than the event.
NOT_A_DEFAULT_EVENT = ("rate", "probability", "pd", "score", "wahrscheinlichkeit", "risiko", "value", "wert",
                       "amount", "betrag", "days", "tage", "quote")
AMOUNT_WORDS = ("amount", "betrag", "sum", "summe", "rate", "ratio", "share", "quote", "value")


def outcome_by_name(name: object, values: pd.Series | None = None) -> tuple[str, str] | None:
    """``(meaning, synonym)`` when the name says an outcome.

    Strong names ("default", "paid_90d", "bezahlt") are outcomes whatever their values; weak ones
    ("bad", "credit_risk", "Ausfall") only when the column has two values (0/1, 1/2, good/bad). A
    "paid" name on numbers with more than two values is an amount recovered.
    """
    words = name_words(name)
    if first_match(words, NOT_AN_OUTCOME):
        return None
    not_default = first_match(words, NOT_A_DEFAULT_EVENT)
    found = first_match(words, NOT_PAID_STRONG)
    if found and not not_default:
        return Outcome.NOT_PAID, found
    for synonyms, meaning in ((PAID_STRONG, Outcome.PAID), (GENERIC_OUTCOME, Outcome.UNKNOWN_DIRECTION)):
        found = first_match(words, synonyms)
        if found:
            two_valued, amounts = _value_shape(values)
            amount = first_match(words, AMOUNT_WORDS)
            return (Outcome.AMOUNT if (amount and not two_valued) or amounts else meaning), found
    found = first_match(words, NOT_PAID_WEAK)
    if found and not not_default and _value_shape(values)[0]:
        return (Outcome.NOT_PAID if found != "credit risk" else Outcome.UNKNOWN_DIRECTION), found
    return None


def _value_shape(values: pd.Series | None) -> tuple[bool, bool]:
    """``(two_valued, amounts)``: whether the column holds exactly two values, and whether it holds
    numbers with more. Worked out only once a name says an outcome: counting the distinct values is
    the expensive part (~0.07 s per column at 1,000,000 rows)."""
    filled = values.dropna() if values is not None else pd.Series(dtype="float64")
    try:
        two_valued = filled.nunique() == 2
    except TypeError:
        two_valued = filled.astype("str").nunique() == 2
    amounts = (pd.api.types.is_numeric_dtype(filled) and not pd.api.types.is_bool_dtype(filled)
               and not two_valued and len(filled) > 0)
    return two_valued, amounts
