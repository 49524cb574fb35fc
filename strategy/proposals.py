"""Proposed strategies, one per persona, with the evidence behind each choice.

A proposal reads the persona profile along the industry's four axes (risk level, ability to pay,
willingness to pay, contactability) and, where the portfolio has contact history, the persona's
observed response rates (:mod:`strategy.contact_history`). It is guardrail-clean by construction:
after the rules of thumb pick a strategy, any step a guardrail forbids is removed and the removal
is stated in the evidence. A proposal is a suggestion for a person to review, never a decision.

Which column holds broken promises, payments so far, the dispute or over-indebtedness flag ... is
asked of the portfolio's column model (the run's roles, or the meanings the profiles carry). Every
statement that rests on a column gives the share with its count and column, or says "unknown — no
such column in the portfolio"; it never reports a missing column as 0 %.

Each proposal shows its journey (the dated Mahnstufen of :func:`strategy.journey.journey_of`) and an
``expected_effect`` that states an effect only where the portfolio holds evidence for it (observed
response rates with their intervals) and otherwise says that the effect is unknown: no proposal
predicts a payment rate it has no evidence for.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.i18n import N_
from portfolio.currency import Currency
from portfolio.meanings import ColumnMeanings, Meaning, detect_meanings
from strategy.catalogue import Strategy
from strategy.contact_history import (ChannelEvidence, best_channel, best_hour, best_payment_method,
                                      channel_evidence, has_contact_history)
from strategy.context import (UNKNOWN, PersonaContext, context_from_profile, persona_rows, profile_median,
                              resolve_meanings)
from strategy.guardrails import RULE_IDS, GuardrailResult, check_strategy, repair, violations
from strategy.journey import describe_steps_text, journey_of
from strategy.settings import StrategySettings
from strategy.texts import Money, Term, Text, TextList, Words


@dataclass(frozen=True)
class Proposal:
    """A proposed strategy for one persona, with axes, evidence and guardrail results."""

    persona_id: int
    persona_name: str
    strategy: Strategy
    axes: dict[str, str]
    evidence: tuple[str, ...]
    channels: tuple[ChannelEvidence, ...] = ()
    guardrails: tuple[GuardrailResult, ...] = field(default_factory=tuple)
    expected_effect: str = ""
    journey: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"persona_id": self.persona_id, "persona_name": self.persona_name,
                "strategy": self.strategy.to_dict(), "axes": dict(self.axes),
                "evidence": list(self.evidence),
                "guardrails": [g.to_dict() for g in self.guardrails],
                "expected_effect": self.expected_effect,
                "journey": [step.to_dict() for step in self.journey]}


def propose_strategies(profiles: list[dict[str, Any]], accounts: pd.DataFrame | None = None,
                       portfolio_frame: pd.DataFrame | None = None,
                       settings: StrategySettings | None = None, roles: Any = None,
                       currency: Currency | None = None, rulepack: Any = None) -> list[Proposal]:
    """One :class:`Proposal` per persona profile.

    Parameters
    ----------
    profiles : list of dict
        ``personas.json`` of a run.
    accounts : DataFrame, optional
        ``accounts.parquet`` (account_id, persona_id); needed with ``portfolio_frame``.
    portfolio_frame : DataFrame, optional
        The portfolio (account_id plus contact history, flags); enables per-channel response rates
        with confidence intervals, best hour and best payment method, and flag shares with counts.
    settings : StrategySettings, optional
    roles : ColumnRoles or its dict, optional
        The run's column model (``run.json`` ``roles``): which column means what. Without it, the
        meanings the profiles carry are used, else the portfolio model's reading of the frame.
    currency : Currency, optional
        The run's currency (``portfolio.currency.currency_of_run(run.meta)``); amounts in the
        evidence are written in it, and without a symbol plus "currency unknown" when not given.
    rulepack : RulePack, optional
        Labels (German for the ``de`` pack) and the utility route of the proposed journey.
    """
    cfg = settings or StrategySettings()
    frame_meanings = detect_meanings(portfolio_frame) if roles is None and portfolio_frame is not None else None
    proposals = []
    for profile in profiles:
        rows = persona_rows(accounts, portfolio_frame, int(profile["persona_id"]))
        source = roles if roles is not None else (
            None if isinstance(profile.get("column_meanings"), dict) else frame_meanings)
        proposals.append(_propose_one(profile, rows, cfg, resolve_meanings(profile, rows, source),
                                      currency or Currency(), rulepack))
    return proposals


def _propose_one(profile: dict[str, Any], rows: pd.DataFrame | None, cfg: StrategySettings,
                 meanings: ColumnMeanings, currency: Currency | None = None,
                 rulepack: Any = None) -> Proposal:
    ctx = context_from_profile(profile, rows, cfg, meanings, currency or Currency())
    evidence: list[str] = []
    risk = _risk_level(profile, evidence)
    ability = _ability(profile, rows, ctx, cfg, meanings, evidence)
    willingness = _willingness(profile, rows, ctx, meanings, evidence)
    channels = channel_evidence(rows, cfg, meanings) if has_contact_history(rows, meanings) else []
    blocked = {ch for ch, share in ctx.opt_out_shares.items() if share >= cfg.opt_out_share_blocks_channel}
    best = best_channel(channels, blocked)
    contactability = _contactability(channels, best, cfg, evidence, rows is not None)
    strategy = _rules_of_thumb(risk, ability, willingness, ctx, cfg)
    strategy = _apply_contact_evidence(strategy, best, rows, cfg, meanings, evidence)
    strategy, notes = _make_compliant(strategy, ctx, cfg)
    evidence += notes
    results = check_strategy(strategy, ctx, cfg)
    evidence += [Text(N_("Not compliant, needs a person's decision: {message}"), message=r.message)
                 for r in violations(results)]
    axes = {"risk": risk, "ability_to_pay": ability, "willingness_to_pay": willingness,
            "contactability": contactability}
    rationale = (f"{risk} risk, {ability} ability and {willingness} willingness to pay, "
                 f"{contactability} contactability: {strategy.tone} {strategy.offer.replace('_', ' ')} "
                 f"by {strategy.channel}" + (f", {strategy.escalation.replace('_', ' ')} after "
                                             f"{strategy.escalation_after_days} days"
                                             if strategy.escalation != "none" else ""))
    strategy = strategy.with_changes(rationale=rationale)
    journey = journey_of(strategy, rulepack)
    effect = expected_effect(strategy, channels, profile, cfg)
    evidence += [Text(N_("Journey: {steps}"), steps=describe_steps_text(journey)), effect]
    return Proposal(ctx.persona_id, ctx.name, strategy, axes, tuple(evidence), tuple(channels),
                    tuple(results), effect, journey)


def expected_effect(strategy: Strategy, channels: list[ChannelEvidence], profile: dict[str, Any],
                    cfg: StrategySettings) -> str:
    """What the evidence says about the strategy's effect, and what it does not say.

    Only an observed response rate on the chosen channel with enough attempts counts as evidence
    (with its 95 % interval); it is a response rate, not a payment rate. The persona's past pay
    rate was observed under its past treatment and is named as such, never as a prediction.
    """
    chosen = next((c for c in channels if c.channel == strategy.channel and c.enough), None)
    if chosen is not None:
        text = Text(N_("Expected effect: {rate:.1%} of {channel} contacts got a response in this persona (95% CI "
                       "{low:.1%}-{high:.1%}, {attempts} attempts); that is a response rate, not a payment rate. "
                       "The effect of the offer and of the later steps on payment is unknown: no result of this "
                       "strategy (champion/challenger test) is in the data"),
                    rate=chosen.rate, channel=Term(strategy.channel), low=chosen.ci_low, high=chosen.ci_high,
                    attempts=chosen.attempts)
    else:
        text = Text(N_("Expected effect: unknown — the portfolio holds no evidence on the {channel} channel (at "
                       "least {minimum} contact attempts) or on this strategy's results, so no effect is claimed"),
                    channel=Term(strategy.channel), minimum=cfg.min_sample_size)
    pay_rate = profile.get("pay_rate")
    if isinstance(pay_rate, (int, float)) and pay_rate == pay_rate:
        text = Text(N_("{text}. The persona's observed pay rate of {rate:.0%} was under its past treatment and "
                       "is not a forecast for this strategy"), text=text, rate=float(pay_rate))
    return text


def _risk_level(profile: dict[str, Any], evidence: list[str]) -> str:
    risk = profile.get("mean_risk_score")
    if risk is not None:
        level = "high" if risk >= 0.6 else "low" if risk < 0.35 else "medium"
        evidence.append(Text(N_("Risk level {level}: mean risk score {risk:.2f} (probability of not paying)"),
                             level=Term(level), risk=float(risk)))
        return level
    pay_rate = profile.get("pay_rate")
    if pay_rate is not None:
        level = "high" if pay_rate < 0.35 else "low" if pay_rate >= 0.65 else "medium"
        evidence.append(Text(N_("Risk level {level}: {rate:.0%} of the persona paid"), level=Term(level),
                             rate=float(pay_rate)))
        return level
    dpd = profile_median(profile, "days_past_due")
    if dpd is not None:
        level = "high" if dpd[0] >= 90 else "low" if dpd[0] <= 30 else "medium"
        evidence.append(Text(N_("Risk level {level}: median {days:.0f} days past due"), level=Term(level),
                             days=float(dpd[0])))
        return level
    evidence.append(Text(N_("Risk level medium: no risk score, pay rate or days past due in the profile")))
    return "medium"


def _median(profile: dict[str, Any], rows: pd.DataFrame | None, meanings: ColumnMeanings,
            meaning: str) -> tuple[float, float] | str:
    """(persona median, portfolio median) of the column with ``meaning``, or why there is none."""
    column = meanings.column_for(meaning)
    if column is None:
        return Text(UNKNOWN)
    found = profile_median(profile, column)
    if found is None and rows is not None and column in rows.columns:
        values = pd.to_numeric(rows[column], errors="coerce").dropna()
        found = (float(values.median()), float("nan")) if len(values) else None
    return found if found is not None else Text(N_("column '{column}' not summarised in the profile"),
                                                column=column)


def _ability(profile: dict[str, Any], rows: pd.DataFrame | None, ctx: PersonaContext,
             cfg: StrategySettings, meanings: ColumnMeanings, evidence: list[str]) -> str:
    if ctx.over_indebted(cfg):
        named = Text(N_("the persona is named as over-indebted; ")) if ctx.hardship_by_name else ""
        evidence.append(Text(N_("Ability to pay low: {named}{facts} (over-indebted persona, threshold "
                                "{threshold:.0%})"), named=named, facts=ctx.hardship_statement(),
                             threshold=cfg.hardship_share_threshold))
        return "low"
    balance = profile_median(profile, "balance")
    partial = _median(profile, rows, meanings, Meaning.PARTIAL_PAYMENT_RATIO)
    prior = _median(profile, rows, meanings, Meaning.PAYMENTS_SO_FAR)
    pays = (isinstance(partial, tuple) and partial[0] >= 0.3) or (isinstance(prior, tuple) and prior[0] > 0)
    large = balance is not None and balance[1] > 0 and balance[0] >= 2 * balance[1]
    level = "high" if pays and not large else "low" if large and not pays else "medium"
    facts = []
    if balance is not None:
        unit = ctx.currency or Currency()
        note = Text("; {note}", note=Words({"en": unit.note("en"), "de": unit.note("de")})) if unit.note() else ""
        facts.append(Text(N_("median balance {balance} (portfolio {portfolio}{note})"),
                          balance=Money(balance[0], unit), portfolio=Money(balance[1], unit), note=note))
    facts.append(Text(N_("partial-payment ratio {ratio:.2f}"), ratio=float(partial[0])) if isinstance(partial, tuple)
                 else Text(N_("partial-payment ratio: {why}"), why=partial))
    facts.append(Text(N_("median payments so far {n:.0f}"), n=float(prior[0])) if isinstance(prior, tuple)
                 else Text(N_("payments so far: {why}"), why=prior))
    facts.append(ctx.hardship_statement())
    evidence.append(Text(N_("Ability to pay {level}: {facts}"), level=Term(level), facts=TextList(facts)))
    return level


def _willingness(profile: dict[str, Any], rows: pd.DataFrame | None, ctx: PersonaContext,
                 meanings: ColumnMeanings, evidence: list[str]) -> str:
    broken = _median(profile, rows, meanings, Meaning.BROKEN_PROMISES)
    dispute = ctx.fact(Meaning.DISPUTE)
    disputes = dispute.share if dispute.is_known else None
    level = "medium"
    facts = [dispute.statement()]
    if isinstance(broken, tuple):
        persona, portfolio = broken[0], 0.0 if math.isnan(broken[1]) else broken[1]
        shown = "" if math.isnan(broken[1]) else Text(N_(" (portfolio {n:.1f})"), n=float(broken[1]))
        facts.insert(0, Text(N_("median broken promises {n:.1f}{portfolio}"), n=float(persona), portfolio=shown))
        if persona >= 2 or (persona > 0 and persona >= 2 * portfolio):
            level = "low"
        elif persona == 0 and disputes is not None and disputes < 0.1:
            level = "high"
    else:
        facts.insert(0, Text(N_("broken promises: {why}"), why=broken))
    if disputes is not None and disputes >= 0.2:
        level = "low"
    evidence.append(Text(N_("Willingness to pay {level}: {facts}"), level=Term(level), facts=TextList(facts)))
    return level


def _contactability(channels: list[ChannelEvidence], best: ChannelEvidence | None,
                    cfg: StrategySettings, evidence: list[str], have_rows: bool) -> str:
    if not channels:
        why = (Text(N_("contact attempts and responses per channel: {unknown}"), unknown=Text(UNKNOWN)) if have_rows
               else Text(N_("the portfolio's accounts were not given, so no contact history was read")))
        evidence.append(Text(N_("Contactability unknown: {why}; channel chosen from the risk level"), why=why))
        return "unknown"
    evidence += [e.statement(cfg.min_sample_size) for e in channels]
    if best is None:
        evidence.append(Text(N_("Contactability unknown: no channel has enough attempts to compare")))
        return "unknown"
    level = "high" if best.ci_low >= 0.3 else "low" if best.ci_low < 0.1 else "medium"
    evidence.append(Text(N_("Contactability {level}: best channel {channel} (highest lower 95% bound, {low:.1%})"),
                         level=Term(level), channel=Term(best.channel), low=best.ci_low))
    return level


def _rules_of_thumb(risk: str, ability: str, willingness: str, ctx: PersonaContext,
                    cfg: StrategySettings) -> Strategy:
    large = (ctx.median_balance or 0) >= 1000
    if ctx.over_indebted(cfg):
        return Strategy(channel="letter", tone="friendly", offer="hardship_referral")
    if risk == "low":
        return Strategy(channel="sms", tone="friendly", offer="payment_link")
    escalate = dict(reminders_sent_before_escalation=2)
    if risk == "medium":
        if ability == "low":
            return Strategy(channel="letter", tone="neutral", offer="instalment_plan",
                            n_instalments=12 if large else 6)
        return Strategy(channel="email", tone="neutral", offer="payment_link",
                        escalation="external_agency", escalation_after_days=60, **escalate)
    if willingness == "low":
        return Strategy(channel="letter", tone="firm", offer="settlement_discount", discount_pct=15.0,
                        escalation="court_dunning", escalation_after_days=60,
                        credit_bureau_report=True, **escalate)
    if ability == "low":
        return Strategy(channel="letter", tone="firm", offer="instalment_plan", n_instalments=12,
                        escalation="court_dunning", escalation_after_days=90, **escalate)
    return Strategy(channel="phone", tone="firm", offer="instalment_plan", n_instalments=6,
                    contacts_per_week=3, max_call_attempts_per_7_days=3,
                    escalation="external_agency", escalation_after_days=45, **escalate)


def _apply_contact_evidence(strategy: Strategy, best: ChannelEvidence | None,
                            rows: pd.DataFrame | None, cfg: StrategySettings, meanings: ColumnMeanings,
                            evidence: list[str]) -> Strategy:
    changes: dict[str, Any] = {}
    if best is not None and strategy.offer != "hardship_referral" and best.channel != strategy.channel:
        changes["channel"] = best.channel
        evidence.append(Text(N_("Channel {channel} instead of {before}: best observed response"),
                             channel=Term(best.channel), before=Term(strategy.channel)))
        if best.channel == "phone":
            changes.update(contacts_per_week=3, max_call_attempts_per_7_days=3)
        elif strategy.channel == "phone":
            changes.update(contacts_per_week=1, max_call_attempts_per_7_days=0)
    if rows is not None and len(rows):
        hour = best_hour(rows, cfg, meanings)
        if hour is not None:
            start = max(cfg.earliest_contact_hour, min(hour[0] - 1, cfg.latest_contact_hour - 3))
            changes.update(contact_start_hour=start,
                           contact_end_hour=min(cfg.latest_contact_hour, start + 3))
            evidence.append(Text(N_("Contact window {window}: {why}"), window=f"{start:02d}:00-{start + 3:02d}:00",
                                 why=hour[1]))
        method = best_payment_method(rows, cfg, meanings)
        if method is not None:
            changes["payment_method"] = method[0]
            evidence.append(Text(N_("Payment method offered first: {why}"), why=method[1]))
    return strategy.with_changes(**changes) if changes else strategy


def _make_compliant(strategy: Strategy, ctx: PersonaContext,
                    cfg: StrategySettings) -> tuple[Strategy, list[str]]:
    """Remove every step a guardrail forbids; say what was removed and why.

    A violation that cannot be fixed (for example every channel opted out) stays visible in the
    proposal's guardrail results, which blocks its approval.
    """
    notes = []
    for _ in range(2 * len(RULE_IDS)):
        fixable = []
        for rule in violations(check_strategy(strategy, ctx, cfg)):
            changes = _fix(rule.rule_id, strategy, ctx, cfg)
            if strategy.with_changes(**changes) != strategy:
                fixable.append((rule, changes))
        if not fixable:
            break
        rule, changes = fixable[0]
        notes.append(Text(N_("Adjusted for guardrail {rule}: {message}"), rule=rule.rule_id, message=rule.message))
        strategy = strategy.with_changes(**changes)
    return strategy, notes


def _fix(rule_id: str, s: Strategy, ctx: PersonaContext, cfg: StrategySettings) -> dict[str, Any]:
    """The guardrail's own repair under the active rulepack (:func:`strategy.guardrails.repair`)."""
    return repair(rule_id, s, ctx, cfg)
