"""Evidence states only what the data shows: true flag shares with counts, "unknown" without a column.

Profiles are built the way a run builds them (portfolio roles -> feature builder -> profiles), without
the UMAP step: the personas are given.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from personas.features import FeatureBuilder, feature_columns
from personas.profiles import build_profiles, outcome_columns
from portfolio.meanings import Meaning
from portfolio.roles import detect_roles
from strategy.context import UNKNOWN, context_from_profile
from strategy.guardrails import account_block_map, check_strategy, violations
from strategy.catalogue import Strategy
from strategy.proposals import propose_strategies

PER_PERSONA = 50


def _yes(count: int) -> list[str]:
    return ["J"] * count + ["N"] * (PER_PERSONA - count)


def german_export() -> pd.DataFrame:
    """Persona 0 disputes (32 of 50) and breaks promises; persona 1 is over-indebted (25 of 50)."""
    rng = np.random.default_rng(3)
    n = 2 * PER_PERSONA
    return pd.DataFrame({
        "Aktenzeichen": [f"AZ{i:04d}" for i in range(n)],
        "Offener Betrag": np.r_[rng.uniform(800, 1500, PER_PERSONA), rng.uniform(900, 1600, PER_PERSONA)].round(2),
        "Verzugstage": np.r_[rng.integers(100, 200, PER_PERSONA), rng.integers(100, 200, PER_PERSONA)],
        "Bestritten": _yes(32) + _yes(2),
        "Überschuldet": _yes(4) + _yes(25),
        "Gebrochene Zahlungszusagen": np.r_[rng.integers(3, 6, PER_PERSONA), np.zeros(PER_PERSONA, int)],
        "Teilzahlungsquote": np.r_[np.zeros(PER_PERSONA), rng.uniform(0.3, 0.6, PER_PERSONA)].round(2),
        "Anzahl bisheriger Zahlungen": np.r_[np.zeros(PER_PERSONA, int), rng.integers(1, 5, PER_PERSONA)],
    })


def run_like(frame: pd.DataFrame, mapping: dict | None = None):
    """Roles, renamed frame, accounts and profiles as the pipeline makes them (personas given)."""
    roles = detect_roles(frame, mapping)
    data = frame.rename(columns=roles.renamed)
    builder = FeatureBuilder(feature_columns(data, roles)).fit(data)
    accounts = pd.DataFrame({"account_id": data["account_id"].astype(str),
                             "persona_id": np.repeat([0, 1], len(data) // 2), "needs_review": False})
    profiles = build_profiles(data, accounts, builder, builder.transform(data), outcome_columns(data, roles))
    return roles, data, accounts, profiles


@pytest.fixture(scope="module")
def german_run():
    return run_like(german_export())


def test_profiles_carry_the_true_flag_shares_with_counts(german_run):
    _, _, _, profiles = german_run

    assert profiles[0]["flag_shares"][Meaning.DISPUTE] == {"share": 0.64, "count": 32, "known": 50,
                                                            "column": "Bestritten"}
    assert profiles[1]["flag_shares"][Meaning.OVER_INDEBTED]["count"] == 25


def test_proposals_report_the_true_shares_with_counts(german_run):
    roles, data, accounts, profiles = german_run

    disputing, indebted = propose_strategies(profiles, accounts, data, roles=roles)

    assert any("64% dispute the debt (32 of 50 accounts, column 'Bestritten')" in e for e in disputing.evidence)
    assert any("50% are over-indebted (25 of 50 accounts, column 'Überschuldet')" in e for e in indebted.evidence)
    assert not any("0% dispute" in e for e in disputing.evidence + indebted.evidence)


def test_a_german_export_switches_on_ability_and_willingness(german_run):
    roles, data, accounts, profiles = german_run

    disputing, indebted = propose_strategies(profiles, accounts, data, roles=roles)

    assert disputing.axes["willingness_to_pay"] == "low"
    assert any("median broken promises 4" in e or "median broken promises 3" in e for e in disputing.evidence)
    assert indebted.axes["ability_to_pay"] == "low"
    assert indebted.strategy.offer == "hardship_referral" and indebted.strategy.escalation == "none"


def test_a_disputing_persona_is_never_reported_to_the_credit_bureau(german_run):
    roles, data, accounts, profiles = german_run

    disputing = propose_strategies(profiles, accounts, data, roles=roles)[0]

    assert not disputing.strategy.credit_bureau_report
    report = Strategy(channel="letter", tone="firm", offer="instalment_plan", n_instalments=6,
                      escalation="court_dunning", escalation_after_days=60, reminders_sent_before_escalation=2,
                      credit_bureau_report=True)
    failed = violations(check_strategy(report, context_from_profile(profiles[0], roles=roles)))
    assert [r.rule_id for r in failed] == ["credit_bureau"]
    assert "32 of 50 accounts" in failed[0].message


def test_the_profile_alone_gives_the_same_shares_as_the_rows(german_run):
    roles, data, accounts, profiles = german_run

    with_rows = propose_strategies(profiles, accounts, data, roles=roles)
    profile_only = propose_strategies(profiles)

    for a, b in zip(with_rows, profile_only):
        assert a.axes["ability_to_pay"] == b.axes["ability_to_pay"]
        assert a.axes["willingness_to_pay"] == b.axes["willingness_to_pay"]
        assert [e for e in a.evidence if "dispute the debt" in e][0].split(":", 1)[1] in \
            [e.split(":", 1)[1] for e in b.evidence if "dispute the debt" in e][0]


def test_without_dispute_or_over_indebtedness_columns_the_evidence_says_unknown():
    frame = german_export().drop(columns=["Bestritten", "Überschuldet"])
    roles, data, accounts, profiles = run_like(frame)

    proposals = propose_strategies(profiles, accounts, data, roles=roles)

    for proposal in proposals:
        text = "\n".join(proposal.evidence + tuple(g.message for g in proposal.guardrails))
        assert f"disputed: {UNKNOWN}" in text
        assert f"over-indebted: {UNKNOWN}" in text
        assert "0% dispute" not in text and "0% hardship" not in text and "0% are over-indebted" not in text


def test_an_unknown_dispute_share_never_blocks_or_passes_silently():
    context = context_from_profile({"persona_id": 1, "name": "x", "size": 10,
                                    "medians": {"balance": {"persona": 800.0, "portfolio": 500.0}}})
    report = Strategy(channel="letter", tone="firm", offer="instalment_plan", n_instalments=6,
                      escalation="court_dunning", escalation_after_days=60, reminders_sent_before_escalation=2,
                      credit_bureau_report=True)

    bureau = next(r for r in check_strategy(report, context) if r.rule_id == "credit_bureau")

    assert context.dispute_share is None and bureau.passed
    assert UNKNOWN in bureau.message and "confirm none before reporting" in bureau.message


def test_a_mapped_column_feeds_the_same_evidence_as_a_recognised_one():
    frame = german_export().rename(columns={"Bestritten": "Kennz. 7"})
    roles, data, accounts, profiles = run_like(frame, {"Kennz. 7": {"role": "feature", "meaning": "dispute"}})

    disputing = propose_strategies(profiles, accounts, data, roles=roles)[0]

    assert any("64% dispute the debt (32 of 50 accounts, column 'Kennz. 7')" in e for e in disputing.evidence)


def test_account_level_blocks_use_the_column_model(german_run):
    roles, data, _, _ = german_run
    row = data.iloc[0].to_dict()  # persona 0's first account disputes the debt
    report = Strategy(channel="letter", offer="instalment_plan", n_instalments=6, escalation="court_dunning",
                      escalation_after_days=60, reminders_sent_before_escalation=2, credit_bureau_report=True)

    blocks = account_block_map(report, row, meanings=roles)

    assert "credit_bureau_report" in blocks
