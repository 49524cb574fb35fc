"""Generated persona names from the features that set a persona apart, in English or German.

A name joins up to three phrases with " · ", taken in order of the standardised difference
("High balance · 150+ days past due · unreachable"). Phrases use collections words where the
column has a meaning in the portfolio's column model (contact responses -> reachable, broken
promises, disputes, over-indebtedness; the profile says which) and a plain "high/low <column>"
otherwise. Names are made unique within a run.
"""
from __future__ import annotations

from typing import Any

from portfolio.meanings import Meaning, meaning_by_name

SEPARATOR = " · "
MIN_STD_DIFF = 0.25  # weaker differences are not worth a word in the name

# meaning (or meaning prefix for per-channel meanings) -> {language: (phrase if higher, phrase if lower)}
VOCABULARY: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "balance": {"en": ("high balance", "small balance"), "de": ("hoher Saldo", "kleiner Saldo")},
    Meaning.ORIGINAL_AMOUNT: {"en": ("large original debt", "small original debt"),
                              "de": ("hohe Ursprungsforderung", "kleine Ursprungsforderung")},
    Meaning.BEST_RESPONSE_HOUR: {"en": ("answers in the evening", "answers in the daytime"),
                                 "de": ("abends erreichbar", "tagsüber erreichbar")},
    Meaning.RESPONSES: {"en": ("responsive", "unreachable"), "de": ("gut erreichbar", "nicht erreichbar")},
    Meaning.ATTEMPTS: {"en": ("many contact attempts", "few contact attempts"),
                       "de": ("viele Kontaktversuche", "wenige Kontaktversuche")},
    Meaning.BROKEN_PROMISES: {"en": ("broken promises", "keeps promises"),
                              "de": ("gebrochene Zusagen", "hält Zusagen")},
    Meaning.DISPUTE: {"en": ("disputes the debt", None), "de": ("bestreitet die Forderung", None)},
    Meaning.OVER_INDEBTED: {"en": ("over-indebted", None), "de": ("überschuldet", None)},
    Meaning.INSOLVENCY: {"en": ("insolvency", None), "de": ("Insolvenz", None)},
    Meaning.TIME_BARRED: {"en": ("time-barred", None), "de": ("verjährt", None)},
    Meaning.OPT_OUT: {"en": ("opted out of a channel", None), "de": ("Kanal widersprochen", None)},
    Meaning.DIGITAL_ACTIVITY: {"en": ("digital self-service", "offline"), "de": ("digital aktiv", "offline")},
    Meaning.PARTIAL_PAYMENT_RATIO: {"en": ("partly paid", "nothing paid yet"),
                                    "de": ("teilweise bezahlt", "noch nichts bezahlt")},
    Meaning.PAYMENTS_SO_FAR: {"en": ("regular payer", "few payments so far"),
                              "de": ("zahlt regelmäßig", "bisher kaum Zahlungen")},
    Meaning.TENURE: {"en": ("long-standing customer", "new customer"), "de": ("langjähriger Kunde", "Neukunde")},
}
GENERIC = {"en": ("high {col}", "low {col}"), "de": ("hoch: {col}", "niedrig: {col}")}
LEVEL = {"en": "{level}", "de": "{level}"}
DPD = {"en": "{bucket} days past due", "de": "{bucket} Tage überfällig"}
FALLBACK = {"en": "Typical accounts", "de": "Typische Konten"}
DPD_BUCKETS = ((30, "0–30"), (60, "30–60"), (90, "60–90"), (150, "90–150"), (float("inf"), "150+"))


def _dpd_bucket(days: float | None) -> str:
    days = 0.0 if days is None else days
    return next(label for limit, label in DPD_BUCKETS if days < limit)


def _meaning(entry: dict[str, Any]) -> str | None:
    """The meaning of a distinguishing feature: as the profile states it (profiles built from a
    portfolio's column model), else as :mod:`portfolio.meanings` reads the bare name (older profiles)."""
    if entry["feature"] == "balance":
        return "balance"
    if "meaning" in entry:
        return entry["meaning"]
    found = meaning_by_name(entry["feature"])
    return found[0] if found else None


def _concept(entry: dict[str, Any]) -> str:
    """What a feature is about: one phrase per concept, so no name says 'unreachable · responsive'."""
    feature = entry["feature"]
    if " = " in feature:
        return feature
    meaning = _meaning(entry)
    if meaning is None:
        return feature
    key = meaning if meaning in VOCABULARY else meaning.split(".")[0]
    return f"vocabulary-{key}" if key in VOCABULARY else feature


def phrase(entry: dict[str, Any], language: str = "en") -> str | None:
    """The words for one distinguishing feature, or ``None`` when it has no word that way round."""
    lang = language if language in GENERIC else "en"
    feature, higher = entry["feature"], entry["direction"] == "higher"
    if " = " in feature:  # a categorical level
        column, level = feature.split(" = ", 1)
        return LEVEL[lang].format(level=level, col=column.replace("_", " ")) if higher else None
    if feature == "days_past_due":
        return DPD[lang].format(bucket=_dpd_bucket(entry.get("persona_value")))
    concept = _concept(entry)
    if concept.startswith("vocabulary-"):
        return VOCABULARY[concept.split("-", 1)[1]][lang][0 if higher else 1]
    readable = feature.replace("_", " ")
    return GENERIC[lang][0 if higher else 1].format(col=readable)


def name_persona(profile: dict[str, Any], language: str = "en", parts: int = 3) -> str:
    """A short name from a profile's distinguishing features."""
    return SEPARATOR.join(_phrases(profile, language)[:parts]) or FALLBACK.get(language, FALLBACK["en"])


def _phrases(profile: dict[str, Any], language: str) -> list[str]:
    phrases: list[str] = []
    concepts: set[str] = set()
    for entry in profile.get("distinguishing", []):
        if abs(entry["std_diff"]) < MIN_STD_DIFF and phrases:
            break
        concept = _concept(entry)
        words = phrase(entry, language)
        if words and words not in phrases and concept not in concepts:
            phrases.append(words)
            concepts.add(concept)
    if phrases:
        phrases[0] = phrases[0][0].upper() + phrases[0][1:]
    return phrases


def name_personas(profiles: list[dict[str, Any]], language: str = "en",
                  fixed: dict[int, str] | None = None) -> dict[int, str]:
    """Unique names for all profiles; ``fixed`` names (analyst renames) are kept as they are."""
    fixed = fixed or {}
    names: dict[int, str] = {}
    taken = set(fixed.values())
    for profile in sorted(profiles, key=lambda p: -p["size"]):  # larger personas get the short name
        pid = int(profile["persona_id"])
        if pid in fixed:
            names[pid] = fixed[pid]
            continue
        phrases = _phrases(profile, language)
        candidate = None
        for parts in range(min(3, len(phrases)) or 1, len(phrases) + 1):
            text = SEPARATOR.join(phrases[:parts])
            if text not in taken:
                candidate = text
                break
        if candidate is None:
            base = SEPARATOR.join(phrases[:3]) or FALLBACK.get(language, FALLBACK["en"])
            candidate, k = base, 2
            while candidate in taken:
                candidate, k = f"{base} ({k})", k + 1
        names[pid] = candidate
        taken.add(candidate)
    return names
