"""Guardrails: the legal and policy rules every strategy must pass before approval and export.

:func:`check_strategy` returns one :class:`GuardrailResult` per rule (passed or not) so the reviewer
sees what was checked; any failed result blocks approval and export. :func:`account_blocks` applies
the per-account part at account-level export (opted-out channel, disputed account, small balance,
time-barred debt): the blocked step is removed for that account and the reason written beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from portfolio.currency import Currency, format_amount
from portfolio.meanings import ColumnMeanings, Meaning, meanings_by_names
from strategy.catalogue import Strategy
from strategy.context import UNKNOWN, PersonaContext, truthy_value
from strategy.settings import StrategySettings

OPT_OUT_CHANNELS = ("sms", "email", "app_push", "whatsapp")
HARDSHIP_OFFERS = ("hardship_referral", "instalment_plan")


@dataclass(frozen=True)
class GuardrailResult:
    """Result of one rule: ``rule_id``, ``passed``, a message naming the rule, the legal source."""

    rule_id: str
    passed: bool
    message: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "passed": self.passed, "message": self.message,
                "source": self.source}


Rule = Callable[[Strategy, PersonaContext, StrategySettings], tuple[bool, str]]


def _contact_hours(s: Strategy, c: PersonaContext, cfg: StrategySettings) -> tuple[bool, str]:
    ok = s.contact_start_hour >= cfg.earliest_contact_hour and s.contact_end_hour <= cfg.latest_contact_hour
    return ok, (f"contact window {s.contact_start_hour:02d}:00-{s.contact_end_hour:02d}:00 "
                f"{'lies' if ok else 'does not lie'} within {cfg.earliest_contact_hour:02d}:00-"
                f"{cfg.latest_contact_hour:02d}:00")


def _call_frequency(s: Strategy, c: PersonaContext, cfg: StrategySettings) -> tuple[bool, str]:
    calls = max(s.max_call_attempts_per_7_days, s.contacts_per_week if s.channel == "phone" else 0)
    ok = calls <= cfg.max_call_attempts_per_7_days
    return ok, (f"{calls} call attempts per 7 days "
                f"({'within' if ok else 'above'} the limit of {cfg.max_call_attempts_per_7_days})")


def _opt_out_included(s: Strategy, c: PersonaContext, cfg: StrategySettings) -> tuple[bool, str]:
    if s.channel not in OPT_OUT_CHANNELS:
        return True, f"channel {s.channel} needs no electronic opt-out"
    if s.includes_opt_out:
        return True, f"{s.channel} messages carry an opt-out"
    return False, f"{s.channel} messages must carry an opt-out (includes_opt_out is off)"


def _opted_out_channel(s: Strategy, c: PersonaContext, cfg: StrategySettings) -> tuple[bool, str]:
    fact = c.fact(Meaning.opt_out(s.channel))
    if not fact.is_known:
        return True, (f"opt-outs of {s.channel}: {UNKNOWN}; an objection on file must still be "
                      "honoured by hand")
    if fact.share >= cfg.opt_out_share_blocks_channel:
        return False, (f"{fact.statement()} (block at {cfg.opt_out_share_blocks_channel:.0%}): the channel "
                       "is blocked")
    return True, f"{fact.statement()}; those accounts are blocked at account-level export"


def threshold_currency(currency: Currency | None, cfg: StrategySettings) -> tuple[bool, str]:
    """Whether the minimum-balance threshold (in ``cfg.legal_escalation_min_balance_currency``) applies
    to amounts in ``currency``, and what to say about it.

    It applies when the currencies match, and, to stay on the debtor's side, when the run's currency
    is unknown or mixed (said so); it does not apply to a portfolio in another currency.
    """
    unit = cfg.legal_escalation_min_balance_currency
    currency = currency or Currency()
    if currency.matches(unit):
        return True, ""
    if currency.is_known:
        return False, f"threshold in {unit} not applied: portfolio currency {currency.code}"
    return True, f"{currency.label()}: threshold in {unit} applied to the amounts as they are"


def minimum_balance_text(cfg: StrategySettings, currency: Currency | None = None) -> str:
    """The minimum balance for legal escalation with its currency: "€100.00" beside amounts in that
    currency, "100.00 EUR" (the code, no symbol) beside amounts in an unknown or other currency."""
    unit = Currency.of_code(cfg.legal_escalation_min_balance_currency)
    if not (currency or Currency()).matches(unit.code):
        return f"{format_amount(cfg.legal_escalation_min_balance_eur)} {unit.code}"
    return format_amount(cfg.legal_escalation_min_balance_eur, unit)


def _escalation_balance(s: Strategy, c: PersonaContext, cfg: StrategySettings) -> tuple[bool, str]:
    if s.escalation == "none":
        return True, "no legal escalation"
    applies, note = threshold_currency(c.currency, cfg)
    currency = c.currency or Currency()
    if not applies:
        shown = "unknown" if c.median_balance is None else format_amount(c.median_balance, currency)
        return True, (f"{s.escalation} for a median balance of {shown}: {note} (minimum balance for "
                      "legal escalation not checked; set legal_escalation_min_balance_currency and a "
                      "threshold in the portfolio's currency)")
    note = f"; {note}" if note else ""
    if c.median_balance is None:
        return True, (f"median balance unknown; accounts below {minimum_balance_text(cfg, c.currency)} are "
                      f"blocked at export{note}")
    ok = c.median_balance >= cfg.legal_escalation_min_balance_eur
    return ok, (f"{s.escalation} for a median balance of {format_amount(c.median_balance, currency)} "
                f"({'at or above' if ok else 'below'} the threshold of "
                f"{minimum_balance_text(cfg, c.currency)}{note})")


def _time_barred(s: Strategy, c: PersonaContext, cfg: StrategySettings) -> tuple[bool, str]:
    if s.escalation == "none":
        return True, "no legal escalation"
    ok = c.time_barred_share <= cfg.time_barred_share_blocks_escalation
    return ok, (f"{c.time_barred_share:.0%} of the persona is past {cfg.time_barred_after_days} days or "
                f"flagged (possibly time-barred; block above {cfg.time_barred_share_blocks_escalation:.0%}); "
                f"{c.fact(Meaning.TIME_BARRED).statement()}")


def _hardship_route(s: Strategy, c: PersonaContext, cfg: StrategySettings) -> tuple[bool, str]:
    if not c.over_indebted(cfg):
        if c.hardship_share is None:
            return True, (f"persona not known to be over-indebted ({c.hardship_statement()}); check "
                          "hardship account by account")
        return True, f"persona not over-indebted ({c.hardship_statement()})"
    ok = s.offer in HARDSHIP_OFFERS
    return ok, (f"over-indebted persona ({c.hardship_statement()}"
                f"{', named as such' if c.hardship_by_name else ''}) "
                f"{'gets' if ok else 'does not get'} a hardship route (offer {s.offer})")


def _reminders_before_escalation(s: Strategy, c: PersonaContext,
                                 cfg: StrategySettings) -> tuple[bool, str]:
    if s.escalation == "none":
        return True, "no legal escalation"
    ok = s.reminders_sent_before_escalation >= cfg.min_reminders_before_escalation
    return ok, (f"{s.reminders_sent_before_escalation} reminder(s) before {s.escalation} "
                f"(at least {cfg.min_reminders_before_escalation} needed to establish default)")


def _credit_bureau(s: Strategy, c: PersonaContext, cfg: StrategySettings) -> tuple[bool, str]:
    if not s.credit_bureau_report:
        return True, "no credit-bureau report"
    problems = []
    if s.reminders_sent_before_escalation < cfg.min_written_reminders_before_bureau:
        problems.append(f"{s.reminders_sent_before_escalation} written reminder(s), "
                        f"{cfg.min_written_reminders_before_bureau} needed")
    if (s.escalation_after_days or 0) < cfg.min_days_first_reminder_before_bureau:
        problems.append(f"report after {s.escalation_after_days or 0} days, the first reminder must "
                        f"be at least {cfg.min_days_first_reminder_before_bureau} days before")
    dispute = c.fact(Meaning.DISPUTE)
    if dispute.is_known and dispute.share > cfg.dispute_share_blocks_bureau:
        problems.append(f"{dispute.statement()} (block above {cfg.dispute_share_blocks_bureau:.0%})")
    if problems:
        return False, "credit-bureau report not allowed: " + "; ".join(problems)
    if not dispute.is_known:
        return True, (f"credit-bureau report after the required reminders; disputes: {UNKNOWN}, so "
                      "no account can be checked for a dispute: confirm none before reporting")
    return True, (f"credit-bureau report after the required reminders; {dispute.statement()}, disputed "
                  "accounts removed at export")


RULES: tuple[tuple[str, str, str, Rule], ...] = (
    ("contact_hours", "Contact hours", "12 CFR 1006.6(b)(1)(i)", _contact_hours),
    ("call_frequency", "Call frequency", "12 CFR 1006.14(b)(2)", _call_frequency),
    ("opt_out_included", "Opt-out on e-mail/SMS", "12 CFR 1006.6(e)", _opt_out_included),
    ("opted_out_channel", "Opted-out channel blocked", "12 CFR 1006.14(h)", _opted_out_channel),
    ("escalation_min_balance", "No legal escalation for small balances",
     "proportionality; collection costs capped by § 13e RDG", _escalation_balance),
    ("time_barred", "No legal escalation for time-barred debts",
     "12 CFR 1006.26(b); § 214 BGB", _time_barred),
    ("hardship_route", "Hardship route for over-indebted debtors",
     "Art. 35 Directive (EU) 2023/2225 (forbearance before enforcement)", _hardship_route),
    ("reminders_before_escalation", "Reminder before escalation",
     "§ 286 BGB; BGH III ZR 91/07", _reminders_before_escalation),
    ("credit_bureau", "Credit-bureau report conditions", "§ 31(2) Nr. 4 BDSG", _credit_bureau),
)
RULE_IDS = tuple(rule[0] for rule in RULES)


def check_strategy(strategy: Strategy, persona_context: PersonaContext | None = None,
                   settings: StrategySettings | None = None) -> list[GuardrailResult]:
    """Check ``strategy`` for a persona against every rule in :data:`RULES`.

    Returns
    -------
    list of GuardrailResult
        One per rule, in rule order; the message starts with the rule's name and ends with its
        source, e.g. ``"Contact hours: contact window 07:00-20:00 does not lie within 08:00-21:00
        (12 CFR 1006.6(b)(1)(i))"``.
    """
    context = persona_context or PersonaContext()
    cfg = settings or StrategySettings()
    results = []
    for rule_id, title, source, rule in RULES:
        passed, detail = rule(strategy, context, cfg)
        verdict = "passed" if passed else "VIOLATED"
        results.append(GuardrailResult(rule_id, passed, f"{title} {verdict}: {detail} ({source})",
                                       source))
    return results


def violations(results: list[GuardrailResult]) -> list[GuardrailResult]:
    """The failed results."""
    return [r for r in results if not r.passed]


def account_block_map(strategy: Strategy, account: dict[str, Any],
                      settings: StrategySettings | None = None, *, meanings: Any = None,
                      currency: Currency | None = None) -> dict[str, str]:
    """Steps of ``strategy`` one account is protected from: ``{step: reason with its source}``.

    ``account`` is the account's portfolio row as a dict; missing columns block nothing. Steps are
    ``channel`` (opted out), ``escalation`` (small balance or time-barred) and
    ``credit_bureau_report`` (disputed debt). ``meanings`` (the run's roles or
    :class:`~portfolio.meanings.ColumnMeanings`) says which column holds the opt-outs and the dispute
    flag; without it the portfolio model reads the row's column names (slower: pass it for a
    whole portfolio). ``currency`` is the run's currency: the minimum balance is checked only when
    it is the threshold's currency or unknown (:func:`threshold_currency`).
    """
    cfg = settings or StrategySettings()
    known = meanings_by_names(account) if meanings is None else ColumnMeanings.of(meanings)
    blocks: dict[str, str] = {}
    opt_out = known.column_for(Meaning.opt_out(strategy.channel))
    if opt_out is not None and truthy_value(account.get(opt_out)):
        blocks["channel"] = f"channel {strategy.channel}: account opted out (12 CFR 1006.14(h))"
    if strategy.escalation != "none":
        balance, dpd = _number(account.get("balance")), _number(account.get("days_past_due"))
        time_barred = known.column_for(Meaning.TIME_BARRED)
        applies = threshold_currency(currency, cfg)[0]
        if applies and balance is not None and balance < cfg.legal_escalation_min_balance_eur:
            blocks["escalation"] = (f"escalation: balance {format_amount(balance, currency)} below "
                                    f"{minimum_balance_text(cfg, currency)} (proportionality)")
        elif dpd is not None and dpd > cfg.time_barred_after_days:
            blocks["escalation"] = (f"escalation: {dpd:.0f} days past due, possibly time-barred "
                                    "(12 CFR 1006.26(b); § 214 BGB)")
        elif time_barred is not None and truthy_value(account.get(time_barred)):
            blocks["escalation"] = "escalation: account flagged time-barred (12 CFR 1006.26(b); § 214 BGB)"
    dispute = known.column_for(Meaning.DISPUTE)
    if strategy.credit_bureau_report and dispute is not None and truthy_value(account.get(dispute)):
        blocks["credit_bureau_report"] = ("credit_bureau_report: account disputes the debt "
                                          "(§ 31(2) Nr. 4 BDSG)")
    return blocks


def account_blocks(strategy: Strategy, account: dict[str, Any] | pd.Series,
                   settings: StrategySettings | None = None, *, meanings: Any = None,
                   currency: Currency | None = None) -> list[str]:
    """The reasons of :func:`account_block_map` as a list."""
    return list(account_block_map(strategy, dict(account), settings, meanings=meanings,
                                  currency=currency).values())


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number
