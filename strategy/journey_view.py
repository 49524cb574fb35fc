"""What the Strategies page shows of a journey: the dated ladder of one persona's strategy, and a
per-account preview of which rules change an account's steps.

Both are built from the same functions the account-level export uses
(:func:`strategy.journey.journey_of`, :func:`strategy.account_plan.plan_accounts`) on the run's own
portfolio copy, so the preview shows what the export would send, before anything is approved.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from strategy.catalogue import Strategy
from strategy.journey import journey_of

PREVIEW_COLUMNS = ("account_id", "rules changed", "steps executed", "needs_review")


def journey_table(strategy: Strategy, rulepack: Any) -> pd.DataFrame:
    """One row per step of ``strategy``'s journey: day, step, action, channel, tone."""
    rows = [{"day": int(step.day), "step": step.label or step.action, "action": step.action,
             "channel": step.channel or "none", "tone": step.tone}
            for step in journey_of(strategy, rulepack)]
    return pd.DataFrame(rows, columns=["day", "step", "action", "channel", "tone"])


def persona_preview(run: Any, persona_id: int, strategy: Strategy, rulepack: Any, *,
                    settings: Any = None, start: date | None = None, limit: int = 200) -> pd.DataFrame | None:
    """The accounts of ``persona_id`` whose steps the per-account rules change, first ``limit`` of them.

    Returns ``None`` when the run keeps no portfolio copy (no account-level facts to check).
    Columns: account_id, rules changed (rule ids), steps executed (plain text), needs_review.
    """
    from portfolio.currency import currency_of_run
    from strategy.account_plan import plan_accounts
    from strategy.context import roles_of_run
    from strategy.export_tables import canonical_frame

    stored = getattr(run, "portfolio", None)
    if stored is None:
        return None
    keep = [c for c in ("account_id", "persona_id", "needs_review") if c in run.accounts.columns]
    accounts = run.accounts.loc[run.accounts["persona_id"] == int(persona_id), keep].copy()
    accounts["account_id"] = accounts["account_id"].astype(str)
    frame = canonical_frame(stored, run)
    columns = [c for c in frame.columns if c not in ("persona_id", "needs_review")]
    accounts = accounts.merge(frame[columns].drop_duplicates("account_id"), on="account_id", how="left")
    meanings = getattr(run, "meanings", None) or roles_of_run(run.meta)
    plan = plan_accounts({int(persona_id): strategy}, accounts, meanings, rulepack, start or date.today(),
                         settings=settings, currency=currency_of_run(run.meta))
    changed = plan[plan["rules_applied"].map(lambda rules: bool(rules))]
    preview = pd.DataFrame({
        "account_id": changed["account_id"].astype(str),
        "rules changed": changed["rules_applied"].map(lambda rules: ", ".join(map(str, rules))),
        "steps executed": changed["strategy_executed"].astype(str),
        "needs_review": changed["needs_review"].astype(bool),
    }, columns=list(PREVIEW_COLUMNS))
    preview.attrs["accounts"] = len(plan)
    preview.attrs["changed"] = len(changed)
    return preview.head(limit).reset_index(drop=True)
