"""Renaming a column to any synonym of the vocabulary, or to an unknown name plus a mapping entry,
yields the same roles and meanings: what a column means does not depend on how an export spells it."""
from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from portfolio.meanings import CHANNEL_SYNONYMS, RULES, Meaning
from portfolio.meanings import _ATTEMPT_WORDS, _OPT_OUT_WORDS, _RESPONSE_WORDS  # the vocabulary under test
from portfolio.roles import Role, detect_roles
from portfolio.vocabulary import GENERIC_OUTCOME, NOT_PAID_STRONG, PAID_STRONG, PROTECTED_RULES, Outcome, Protected

N = 24


def _plain(synonym: str) -> str:
    return synonym.strip("~*")


def _rule_names(rule) -> list[str]:
    names = [_plain(s) for s in rule.any_of + rule.german]
    if rule.all_of:
        names += ["_".join(_plain(p) for p in combo) for combo in product(*rule.all_of)]
    return sorted(set(names))


def synonyms() -> dict[str, list[str]]:
    """Every column name the vocabulary offers for each meaning."""
    out = {rule.meaning: _rule_names(rule) for rule in RULES + PROTECTED_RULES}
    for channel, channel_words in CHANNEL_SYNONYMS.items():
        for kind, words in ((Meaning.OPT_OUT, _OPT_OUT_WORDS), (Meaning.RESPONSES, _RESPONSE_WORDS),
                            (Meaning.ATTEMPTS, _ATTEMPT_WORDS)):
            out[f"{kind}.{channel}"] = sorted({f"{_plain(w)} {_plain(c)}" for w, c in product(words, channel_words)})
    out[Outcome.NOT_PAID] = sorted({_plain(s) for s in NOT_PAID_STRONG})
    out[Outcome.PAID] = sorted({_plain(s) for s in PAID_STRONG})
    out[Outcome.UNKNOWN_DIRECTION] = sorted({_plain(s) for s in GENERIC_OUTCOME})
    return out


SYNONYMS = synonyms()
FLAG_VALUES = ["J", "N", "N", "J"] * (N // 4)


def values_for(meaning: str) -> list:
    """Values a column with this meaning holds in an export."""
    kind = meaning.split(".")[0]
    if meaning in Meaning.FLAGS or kind == Meaning.OPT_OUT:
        return FLAG_VALUES
    if meaning == Meaning.BEST_RESPONSE_HOUR:
        return [8 + i % 12 for i in range(N)]
    if meaning == Meaning.PARTIAL_PAYMENT_RATIO:
        return list(np.linspace(0, 1, N))
    if meaning == Meaning.PAYMENT_METHOD:
        return ["SEPA", "PayPal", "Überweisung"] * (N // 3)
    if meaning == Meaning.CURRENCY:
        return ["EUR", "CHF"] * (N // 2)
    if meaning == Meaning.DUE_DATE:
        return [f"2025-0{1 + i % 9}-1{i % 10}" for i in range(N)]
    if meaning in Outcome.ALL:
        return [0, 1] * (N // 2)
    return [i % 5 for i in range(N)]


def role_for(meaning: str) -> str:
    if meaning in Protected.ALL:
        return Role.SENSITIVE
    if meaning in Outcome.ALL:
        return Role.TARGET
    return Role.EXCLUDED if meaning in (Meaning.DUE_DATE,) else Role.FEATURE


def base(**columns) -> pd.DataFrame:
    data = {"account_id": [f"A{i}" for i in range(N)], "balance": np.linspace(10, 500, N),
            "days_past_due": [i % 60 for i in range(N)]}
    data.update(columns)
    return pd.DataFrame(data)


@pytest.mark.parametrize("meaning", sorted(SYNONYMS))
def test_every_synonym_of_the_vocabulary_gives_its_meaning(meaning):
    wrong = []
    for name in SYNONYMS[meaning]:
        roles = detect_roles(base(**{name: values_for(meaning)}))
        if (roles.meanings.get(name), roles.roles.get(name)) != (meaning, role_for(meaning)):
            wrong.append(f"{name!r}: {roles.roles.get(name)}, {roles.meanings.get(name)}")
    assert wrong == []


# A small export: one column per kind of meaning, each with values such a column holds.
COLUMNS = {
    "Gebrochene Zahlungszusagen": Meaning.BROKEN_PROMISES, "Teilzahlungsquote": Meaning.PARTIAL_PAYMENT_RATIO,
    "Anzahl bisheriger Zahlungen": Meaning.PAYMENTS_SO_FAR, "Kontaktversuche SMS": Meaning.attempts("sms"),
    "Reaktionen SMS": Meaning.responses("sms"), "Widerspruch E-Mail": Meaning.opt_out("email"),
    "Bestritten": Meaning.DISPUTE, "Überschuldet": Meaning.OVER_INDEBTED, "Verjährt": Meaning.TIME_BARRED,
    "Beste Antwortstunde": Meaning.BEST_RESPONSE_HOUR, "Zahlungsart": Meaning.PAYMENT_METHOD,
    "Familienstand": Protected.MARITAL_STATUS, "Alter": Protected.AGE, "Geschlecht": Protected.SEX,
    "bezahlt_90_tage": Outcome.PAID, "Zahlungsausfall": Outcome.NOT_PAID,
}
EXPORT = base(**{name: values_for(meaning) for name, meaning in COLUMNS.items()},
              Branche=["Energie", "Telekom"] * (N // 2))


def _decisions(roles) -> list[tuple[str, str | None]]:
    """(role, meaning) of each column, in frame order (names differ between the runs compared)."""
    return [(role, roles.meanings.get(column)) for column, role in roles.roles.items()]


rename = st.fixed_dictionaries({
    column: st.one_of(st.just(("keep", column)), st.sampled_from(SYNONYMS[meaning]).map(lambda n: ("synonym", n)),
                      st.integers(1, 99).map(lambda k: ("unknown", f"Feld {k}")))
    for column, meaning in COLUMNS.items()})


@settings(max_examples=60, deadline=None)
@given(rename)
def test_renaming_to_synonyms_or_unknown_names_with_a_mapping_keeps_roles_and_meanings(choices):
    expected = detect_roles(EXPORT)
    names, mapping, taken = {}, {}, set(EXPORT.columns)
    for column, (how, name) in choices.items():
        if how == "keep" or name in taken:
            continue
        taken.add(name)
        names[column] = name
        if how == "unknown":
            mapping[name] = {"role": expected.roles[column], "meaning": expected.meanings.get(column)}

    renamed = detect_roles(EXPORT.rename(columns=names), mapping)

    assert _decisions(renamed) == _decisions(expected)
