"""Guardrails: the legal and policy rules every strategy must pass before approval and export.

The rules come from the active rulepack (:mod:`strategy.rulepacks`: German by default, US Reg F on
request). :func:`check_strategy` returns one :class:`GuardrailResult` per persona-level check of
the pack (passed or not, with the rule's source and whether it is law or house policy) so the
reviewer sees what was checked; any failed result blocks approval and export.

Per account, :func:`account_protections` says which rules protect one account whatever its
strategy (insolvency, open dispute, over-indebtedness, time-barred by the computed limitation date
or the ERP flag, objected channels, WhatsApp without opt-in, a recent conversation, a small
balance), and :func:`account_block_map` turns them into the steps of a strategy the account must
lose (``channel``, ``escalation``, ``credit_bureau_report``, and ``stop`` for insolvency).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from core.i18n import N_
from portfolio.currency import Currency
from portfolio.meanings import ColumnMeanings, Meaning, date_value, meanings_by_names
from strategy.catalogue import Strategy
from strategy.context import PersonaContext, truthy_value
from strategy.limitation import account_limitation
from strategy.rulepacks import ALL_RULE_IDS, RulePack, active_rulepack
from strategy.rulepacks.checks import (  # noqa: F401  (re-exported: callers import them from here)
    HARDSHIP_OFFERS, OPT_OUT_CHANNELS, minimum_balance_text, threshold_currency,
)
from strategy.settings import StrategySettings
from strategy.texts import Money, Term, Text, render, terms

#: Every rule id any rulepack knows: persona-level checks and account-level rules.
RULE_IDS = ALL_RULE_IDS
#: Steps a protection removes from an account's strategy.
BLOCKED_STEPS: dict[str, tuple[str, ...]] = {
    "insolvency_stop": ("stop", "escalation", "credit_bureau_report"),
    "dispute_hold": ("escalation", "credit_bureau_report"),
    "hardship_protection": ("escalation", "credit_bureau_report"),
    "time_barred": ("escalation", "credit_bureau_report"),
    "minimum_balance_enforcement": ("escalation",),
    "channel_objection": ("channel",),
    "whatsapp_opt_in": ("channel",),
}


@dataclass(frozen=True)
class GuardrailResult:
    """Result of one rule: ``rule_id``, ``passed``, a message naming the rule, the source and
    ``kind`` (``"law"`` or ``"house_policy"``)."""

    rule_id: str
    passed: bool
    message: str
    source: str
    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {"rule_id": self.rule_id, "passed": self.passed, "message": str(self.message),
               "source": self.source, "kind": self.kind}
        if isinstance(self.message, Text):
            out["text"] = self.message.to_dict()
        return out

    def text(self, language: str | None = None) -> str:
        """The message in the reader's language (``language``, default the current one)."""
        return render(self.message, language)

    def source_text(self, language: str | None = None) -> str:
        """The rule's source in the reader's language."""
        return render(Text(self.source), language) if self.source else ""


def resolve_rulepack(rulepack: RulePack | str | None, settings: StrategySettings | None = None,
                     source: Any = None) -> RulePack:
    """The pack to use: ``rulepack`` itself, a pack by name, or the active one
    (:func:`strategy.rulepacks.active_rulepack`)."""
    if isinstance(rulepack, RulePack):
        return rulepack
    if isinstance(rulepack, str):
        from strategy.rulepacks import get_rulepack
        return get_rulepack(rulepack, settings)
    return active_rulepack(source, settings)


def check_strategy(strategy: Strategy, persona_context: PersonaContext | None = None,
                   settings: StrategySettings | None = None, *,
                   rulepack: RulePack | str | None = None) -> list[GuardrailResult]:
    """Check ``strategy`` for a persona against every persona-level check of the rulepack.

    Parameters
    ----------
    rulepack : RulePack or str, optional
        The pack (or its name); default the active one for the workspace and the persona's currency.

    Returns
    -------
    list of GuardrailResult
        One per check, in the pack's order; the message starts with the rule's name and ends with
        its source and kind, e.g. ``"Contact hours VIOLATED: contact window 07:00-20:00 does not lie
        within 08:00-20:00 (house policy (no statutory contact hours in Germany ...); house policy)"``.
    """
    context = persona_context or PersonaContext()
    cfg = settings or StrategySettings()
    pack = resolve_rulepack(rulepack, cfg, context.currency)
    results = []
    for check in pack.checks:
        rule = pack.rule(check.rule_id)
        passed, detail = check.check(strategy, context, cfg, pack)
        message = Text(N_("{title} passed: {detail} ({citation})") if passed else
                       N_("{title} VIOLATED: {detail} ({citation})"),
                       title=rule.title_text(), detail=detail, citation=rule.citation())
        results.append(GuardrailResult(rule.rule_id, passed, message, rule.source, rule.kind))
    return results


def violations(results: list[GuardrailResult]) -> list[GuardrailResult]:
    """The failed results."""
    return [r for r in results if not r.passed]


def repair(rule_id: str, strategy: Strategy, context: PersonaContext | None = None,
           settings: StrategySettings | None = None, *, rulepack: RulePack | str | None = None) -> dict[str, Any]:
    """Changes to ``strategy`` that remove a violation of ``rule_id`` (``{}`` when none can).

    For proposals: the fix never adds a step, only removes or softens one.
    """
    cfg = settings or StrategySettings()
    ctx = context or PersonaContext()
    pack = resolve_rulepack(rulepack, cfg, ctx.currency)
    policy = pack.contact
    no_escalation = {"escalation": "none", "escalation_after_days": None, "credit_bureau_report": False}
    if rule_id == "contact_hours":
        start = min(max(strategy.contact_start_hour, policy.earliest_hour), policy.latest_hour - 1)
        return {"contact_start_hour": start,
                "contact_end_hour": max(start + 1, min(strategy.contact_end_hour, policy.latest_hour))}
    if rule_id == "contact_days":
        days = tuple(d for d in strategy.contact_weekdays if d in policy.weekdays)
        return {"contact_weekdays": days or tuple(d for d in policy.weekdays if d != "sat")}
    if rule_id in ("contact_cap", "call_frequency"):
        cap = min(policy.max_calls_per_7_days, policy.max_contacts_per_week)
        return {"contacts_per_week": min(strategy.contacts_per_week, policy.max_contacts_per_week),
                "max_call_attempts_per_7_days": min(strategy.max_call_attempts_per_7_days, cap)}
    if rule_id == "opt_out_included":
        return {"includes_opt_out": True}
    if rule_id in ("opted_out_channel", "whatsapp_opt_in"):
        open_channels = [ch for ch in ("letter", "email", "sms", "app_push")
                         if (ctx.opt_out_shares.get(ch) or 0.0) < cfg.opt_out_share_blocks_channel]
        return {"channel": (open_channels or ["letter"])[0], "max_call_attempts_per_7_days": 0,
                "contacts_per_week": min(strategy.contacts_per_week, 1), "includes_opt_out": True}
    if rule_id in ("escalation_min_balance", "time_barred", "dispute_hold"):
        return no_escalation
    if rule_id == "hardship_route":
        return {**no_escalation, "offer": "hardship_referral", "n_instalments": None, "discount_pct": None,
                "tone": "friendly"}
    if rule_id == "reminders_before_escalation":
        return {"reminders_sent_before_escalation": cfg.min_reminders_before_escalation}
    if rule_id == "credit_bureau":
        return {"credit_bureau_report": False}
    return {}


# ---------------------------------------------------------------------------- per account
def account_protections(account: dict[str, Any] | pd.Series, meanings: Any = None, *,
                        rulepack: RulePack | str | None = None, settings: StrategySettings | None = None,
                        currency: Currency | None = None, today: date | None = None) -> dict[str, str]:
    """Rules that protect one account whatever its strategy: ``{rule_id: reason with source}``.

    ``account`` is the account's portfolio row; ``meanings`` (the run's roles or
    :class:`~portfolio.meanings.ColumnMeanings`) says which column holds what (without it the
    row's column names are read: slower). Flags are read as J/N, ja/nein, 0/1, yes/no.

    Rule ids: ``insolvency_stop``, ``dispute_hold``, ``hardship_protection``, ``time_barred``
    (limitation date computed, :mod:`strategy.limitation`, or the ERP flag),
    ``channel_objection`` (reason lists the channels), ``whatsapp_opt_in`` (no opt-in on file),
    ``quiet_period`` (a conversation within the quiet days: no contact before the date named),
    ``minimum_balance_enforcement`` (balance below the house minimum for agency or court).
    """
    row = dict(account)
    known = meanings_by_names(row) if meanings is None else ColumnMeanings.of(meanings)
    cfg = settings or StrategySettings()
    pack = resolve_rulepack(rulepack, cfg, currency)
    today = today or date.today()
    out: dict[str, str] = {}

    def flagged(meaning: str) -> bool:
        column = known.column_for(meaning)
        return column is not None and truthy_value(row.get(column))

    def because(rule_id: str, what: Text) -> None:
        out[rule_id] = Text("{what} ({citation})", what=what, citation=pack.rule(rule_id).citation())

    if flagged(Meaning.INSOLVENCY):
        because("insolvency_stop", Text(N_("insolvency proceedings: collection stops")))
    if flagged(Meaning.DISPUTE):
        because("dispute_hold", Text(N_("the debtor disputes the claim: Mahnsperre until resolved, no dunning "
                                        "escalation, agency, court or credit-bureau step")))
    if flagged(Meaning.OVER_INDEBTED):
        referral = pack.modules.get("hardship_referral")
        because("hardship_protection",
                Text(N_("over-indebted: referral to {referral}, a payment plan and a gentle tone; no agency, court "
                        "or credit-bureau step"), referral=Text(referral)) if referral else
                Text(N_("over-indebted: referral, a payment plan and a gentle tone; no agency, court or "
                        "credit-bureau step")))
    end, barred, basis = account_limitation(row, known, today)
    if barred:
        because("time_barred", Text(N_("time-barred ({basis}; limitation ended {end}): voluntary payment only"),
                                    basis=basis, end=f"{end:%d.%m.%Y}") if end else
                Text(N_("time-barred ({basis}): voluntary payment only"), basis=basis))
    objected = [ch for ch in Meaning.CHANNELS if flagged(Meaning.opt_out(ch))]
    if objected:
        because("channel_objection", Text(N_("objected to {channels}: never used"), channels=terms(objected)))
    if pack.contact.whatsapp_needs_opt_in and not flagged(Meaning.opt_in("whatsapp")):
        because("whatsapp_opt_in", Text(N_("no WhatsApp opt-in on file: WhatsApp not used")))
    talked = known.column_for(Meaning.LAST_CONVERSATION_ON)
    spoke_on = date_value(row.get(talked)) if talked is not None else None
    quiet = pack.contact.quiet_days_after_conversation
    if spoke_on is not None and quiet and today < spoke_on + timedelta(days=quiet + 1):
        because("quiet_period", Text(N_("conversation on {spoken}: no contact before {until}"),
                                     spoken=f"{spoke_on:%d.%m.%Y}",
                                     until=f"{spoke_on + timedelta(days=quiet + 1):%d.%m.%Y}"))
    balance = _number(row.get("balance"))
    if balance is not None and threshold_currency(currency, cfg)[0] \
            and balance < cfg.legal_escalation_min_balance_eur:
        because("minimum_balance_enforcement", _small_balance(balance, currency, cfg))
    return out


def _small_balance(balance: float, currency: Currency | None, cfg: StrategySettings) -> Text:
    return Text(N_("balance {balance} below {minimum} (proportionality)"), balance=Money(balance, currency),
                minimum=minimum_balance_text(cfg, currency))


def account_block_map(strategy: Strategy, account: dict[str, Any],
                      settings: StrategySettings | None = None, *, meanings: Any = None,
                      currency: Currency | None = None, rulepack: RulePack | str | None = None,
                      today: date | None = None) -> dict[str, str]:
    """Steps of ``strategy`` one account is protected from: ``{step: reason with its source}``.

    Steps are ``channel`` (objected channel, or WhatsApp without opt-in), ``escalation`` (agency or
    court: insolvency, dispute, over-indebtedness, time-barred, small balance),
    ``credit_bureau_report`` (the same, minus the small balance) and ``stop`` (insolvency: no
    collection at all). Only steps the strategy has are named (``stop`` always). ``account`` is the
    account's portfolio row as a dict; missing columns block nothing; see
    :func:`account_protections` for ``meanings``, ``currency``, ``rulepack`` and ``today``.
    """
    row = dict(account)
    known = meanings_by_names(row) if meanings is None else ColumnMeanings.of(meanings)
    protections = account_protections(row, known, rulepack=rulepack, settings=settings,
                                      currency=currency, today=today)
    has = {"stop": True, "escalation": strategy.escalation != "none",
           "credit_bureau_report": strategy.credit_bureau_report}
    blocks: dict[str, str] = {}
    for rule_id, reason in protections.items():
        if rule_id == "channel_objection" and not _objected(strategy.channel, row, known):
            continue
        if rule_id == "whatsapp_opt_in" and strategy.channel != "whatsapp":
            continue
        if rule_id == "minimum_balance_enforcement":
            what = reason.params.get("what") if isinstance(reason, Text) else None
            reason = what if isinstance(what, Text) else reason.split(" (", 1)[0] + " (proportionality)"
        for step in BLOCKED_STEPS.get(rule_id, ()):
            if step == "channel":
                blocks.setdefault("channel", Text(N_("channel {channel}: {reason}"), channel=Term(strategy.channel),
                                                  reason=reason))
            elif has.get(step):
                blocks.setdefault(step, Text("{step}: {reason}", step=Term(step), reason=reason))
    return blocks


def account_blocks(strategy: Strategy, account: dict[str, Any] | pd.Series,
                   settings: StrategySettings | None = None, *, meanings: Any = None,
                   currency: Currency | None = None, rulepack: RulePack | str | None = None,
                   today: date | None = None) -> list[str]:
    """The reasons of :func:`account_block_map` as a list."""
    return list(account_block_map(strategy, dict(account), settings, meanings=meanings, currency=currency,
                                  rulepack=rulepack, today=today).values())


def _objected(channel: str, row: dict[str, Any], known: ColumnMeanings) -> bool:
    column = known.column_for(Meaning.opt_out(channel))
    return column is not None and truthy_value(row.get(column))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number
