"""A renamed column (a vocabulary synonym, or an unknown name plus a mapping entry) gives the same proposals."""
from __future__ import annotations

import re
from itertools import product

from hypothesis import given, settings, strategies as st

from portfolio.meanings import RULES
from strategy.proposals import propose_strategies
from test_flag_evidence import german_export, run_like

EXPORT = german_export()
MEANING_RULES = {rule.meaning: rule for rule in RULES}


def _synonyms(meaning: str) -> list[str]:
    rule = MEANING_RULES[meaning]
    names = [s.strip("~*") for s in rule.any_of + rule.german]
    if rule.all_of:
        names += ["_".join(p.strip("~*") for p in combo) for combo in product(*rule.all_of)]
    return sorted(set(names))


def _comparable(proposals) -> list[tuple]:
    """Strategy, axes and evidence of each proposal, with column names taken out of the evidence."""
    return [(p.strategy, p.axes, tuple(re.sub(r"column '[^']*'", "column", e) for e in p.evidence))
            for p in proposals]


EXPECTED = run_like(EXPORT)
RENAMES = st.fixed_dictionaries({
    column: st.one_of(st.just(None), st.sampled_from(_synonyms(EXPECTED[0].meanings[column])),
                      st.integers(1, 99).map(lambda k: f"Kennzeichen {k}"))
    for column in ("Bestritten", "Überschuldet", "Gebrochene Zahlungszusagen", "Teilzahlungsquote",
                   "Anzahl bisheriger Zahlungen")})


@settings(max_examples=25, deadline=None)
@given(RENAMES)
def test_renamed_columns_give_the_same_proposals(choices):
    roles, data, accounts, profiles = EXPECTED
    names = {c: n for c, n in choices.items() if n is not None}
    if len(set(names.values())) < len(names):
        names = {}
    mapping = {n: {"role": roles.roles[c], "meaning": roles.meanings[c]}
               for c, n in names.items() if n.startswith("Kennzeichen")}
    renamed = run_like(EXPORT.rename(columns=names), mapping)

    expected = propose_strategies(profiles, accounts, data, roles=roles)
    got = propose_strategies(renamed[3], renamed[2], renamed[1], roles=renamed[0])

    assert _comparable(got) == _comparable(expected)
