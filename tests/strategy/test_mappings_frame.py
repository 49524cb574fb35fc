"""The mapping table's guardrail column agrees with the check that approval runs."""
from __future__ import annotations

from tests.strategy.conftest import ANALYST
from strategy.catalogue import Strategy

REPORTED = Strategy(channel="letter", escalation="external_agency", escalation_after_days=30,
                    reminders_sent_before_escalation=2, credit_bureau_report=True,
                    rationale="Report after two reminders")


def test_with_the_portfolio_the_table_fails_the_guardrail_that_blocks_approval(store, run,
                                                                            portfolio_frame):
    disputed = portfolio_frame.copy()
    disputed.loc[disputed["account_id"].str.startswith("A2"), "disputes"] = 1  # all of persona 2
    store.propose(ANALYST, run, 2, REPORTED)

    profile_only = store.mappings_frame(run).set_index("persona_id")
    with_accounts = store.mappings_frame(run, disputed).set_index("persona_id")

    approval_view = store.get_mapping(run, 2, disputed)
    assert not approval_view.guardrails_pass, "every account of persona 2 disputes the debt"
    assert with_accounts.at[2, "guardrails_pass"] == approval_view.guardrails_pass
    assert profile_only.at[2, "guardrails_pass"], "the profile alone cannot see the disputes"
