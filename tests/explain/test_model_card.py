"""The model card: every Mitchell et al. section present and filled from the run."""
from __future__ import annotations

import re

from explain.model_card import SECTIONS


def _sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts), 2)}


def test_every_section_is_present_and_filled(risk_5k):
    card = risk_5k.model_card()
    sections = _sections(card)
    assert list(sections) == list(SECTIONS)
    for title, body in sections.items():
        assert len(body) > 80, title
    assert not re.search(r"TODO|TBD|\{.*?\}|nan\b|None\b", card)


def test_card_states_direction_oversight_and_the_run_figures(risk_5k):
    card = risk_5k.model_card()
    sections = _sections(card)
    assert "probability that the account is NOT paid" in card
    assert "human review" in sections["Out-of-scope uses"]
    assert "Automation bias" in sections["Intended use"]
    assert f"{risk_5k.metrics['roc_auc']['value']:.3f}" in sections["Metrics"]
    assert "gender" in sections["Quantitative analyses"] and "60+" in sections["Quantitative analyses"]
    assert "out-of-fold" in sections["Evaluation data"]
    assert "email" in sections["Factors"] and "gender" in sections["Factors"]


def test_card_says_truthfully_what_a_person_reviews_and_what_is_automated(risk_5k):
    card = risk_5k.model_card()
    intended = _sections(card)["Intended use"]
    assert "decided by a person who has looked at the account" not in card
    assert "strategy of each persona" in intended and "manager approves it" in intended
    assert "not a review of every account" in intended
    automated = intended.split("**What is automated per account:**")[1].split("\n- ")[0]
    for what in ("risk score", "persona an account is assigned to", "account-level rules"):
        assert what in automated
    assert "GDPR Art. 22" in intended
    for step in ("court", "collection agency", "credit-bureau"):
        assert step in intended
    assert "routed to a person" in intended and "review" in intended


def test_card_lists_the_sample_flags_as_left_out_of_the_model(risk_5k):
    sections = _sections(risk_5k.model_card())
    for column in ("dispute_flag", "over_indebted_flag", "time_barred", "sms_opt_out", "email_opt_out"):
        assert column not in risk_5k.features
        assert f"`{column}`" in sections["Factors"]
    assert "left out of the model" in sections["Factors"]
