"""German ERP column names feed the proposals' evidence and the guardrail context."""
from __future__ import annotations

import pandas as pd

from strategy.contact_history import channel_evidence
from strategy.context import context_from_profile


def _german_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": [f"A{i}" for i in range(40)],
        "balance": [500.0] * 40, "days_past_due": [60] * 40,
        "Kontaktversuche SMS": [5] * 40, "Reaktionen SMS": [2] * 40,
        "Widerspruch E-Mail": [1] * 30 + [0] * 10,
        "Überschuldung": [1] * 40, "Verjährt": [1] * 20 + [0] * 20,
        "Forderung bestritten": [0] * 40,
    })


def test_german_contact_history_is_recognised_as_sms_evidence():
    evidence = {e.channel: e for e in channel_evidence(_german_rows(), _settings())}
    assert evidence["sms"].attempts == 200 and evidence["sms"].responses == 80


def test_german_flags_set_hardship_time_barred_and_opt_out_shares():
    ctx = context_from_profile({"persona_id": 1, "name": "x", "size": 40}, _german_rows())
    assert ctx.hardship_share == 1.0
    assert ctx.time_barred_share == 0.5
    assert ctx.opt_out_shares.get("email") == 0.75


def _settings():
    from strategy.settings import StrategySettings

    return StrategySettings()
