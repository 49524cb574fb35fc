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

from core.i18n import N_
from strategy.catalogue import Strategy
from strategy.journey import describe_steps_text, journey_of, step_label
from strategy.texts import Text, render

PREVIEW_COLUMNS = ("account_id", "rules changed", "steps executed", "needs_review")
STOPPED = Text(N_("stopped: insolvency proceedings (no collection steps)"))
HOLDOUT = Text(N_("holdout arm of a champion/challenger experiment"))
HOLDOUT_ONLY = Text(N_("holdout (champion/challenger experiment): no collection contact"))


def journey_table(strategy: Strategy, rulepack: Any, language: str | None = None) -> pd.DataFrame:
    """One row per step of ``strategy``'s journey: day, step, action, channel, tone. ``step`` is the
    step's label in the reader's ``language`` (default: the current one), whatever the rulepack's
    language; the other columns keep the keys."""
    rows = [{"day": int(step.day), "step": step_label(step.label, language) if step.label else step.action,
             "action": step.action,
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
    shown = changed.head(limit)
    preview = pd.DataFrame({
        "account_id": shown["account_id"].astype(str),
        "rules changed": shown["rules_applied"].map(lambda rules: rule_titles(rules, rulepack)),
        "steps executed": [executed_text(steps, rules) for steps, rules in zip(shown["steps"], shown["rules_applied"])],
        "needs_review": shown["needs_review"].astype(bool),
    }, columns=list(PREVIEW_COLUMNS))
    preview.attrs["accounts"] = len(plan)
    preview.attrs["changed"] = len(changed)
    return preview.reset_index(drop=True)


def rule_titles(rule_ids: Any, rulepack: Any) -> str:
    """The rules' titles in the reader's language ("Offene Bestreitung: Mahnsperre, ..."); the id where
    the pack has no such rule."""
    titles = []
    for rule_id in rule_ids:
        try:
            titles.append(render(rulepack.rule(rule_id).title_text()))
        except Exception:  # a rule the pack does not define (holdout): its id
            titles.append(render(HOLDOUT) if rule_id == "holdout" else str(rule_id))
    return ", ".join(titles)


def executed_text(steps: Any, rules: Any) -> str:
    """What an account receives, in the reader's language (the account plan's ``strategy_executed``)."""
    steps = list(steps) if steps is not None else []
    if "insolvency_stop" in (rules or ()):
        return render(STOPPED)
    if "holdout" in (rules or ()):
        return render(Text(N_("holdout (champion/challenger experiment): no collection contact; only {steps}"),
                           steps=describe_steps_text(steps)) if steps else HOLDOUT_ONLY)
    return render(describe_steps_text(steps))
