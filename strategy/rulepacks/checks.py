"""Persona-level checks shared by the rulepacks: each returns ``(passed, what was found)``.

A check reads the strategy, the persona's facts (:class:`~strategy.context.PersonaContext`), the
workspace settings and the pack (its contact policy and the source of its rules). Which checks a
pack runs, in which order, is the pack's choice (:mod:`strategy.rulepacks.germany`, ``.us``).
Facts that are unknown (no such column) never pass silently: the message says so.
"""
from __future__ import annotations

from portfolio.currency import Currency, format_amount
from portfolio.meanings import Meaning
from strategy.catalogue import WEEKDAYS, Strategy
from strategy.context import UNKNOWN, PersonaContext
from strategy.rulepacks.base import RulePack
from strategy.settings import StrategySettings

OPT_OUT_CHANNELS = ("sms", "email", "app_push", "whatsapp")
HARDSHIP_OFFERS = ("hardship_referral", "instalment_plan")
#: Share of a persona that must have opted in before WhatsApp is its channel (the rest get a letter).
WHATSAPP_OPT_IN_SHARE = 0.5


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


def contact_hours(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    policy = pack.contact
    ok = s.contact_start_hour >= policy.earliest_hour and s.contact_end_hour <= policy.latest_hour
    return ok, (f"contact window {s.contact_start_hour:02d}:00-{s.contact_end_hour:02d}:00 "
                f"{'lies' if ok else 'does not lie'} within {policy.earliest_hour:02d}:00-"
                f"{policy.latest_hour:02d}:00")


def contact_days(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    policy = pack.contact
    barred = [d for d in s.contact_weekdays if d not in policy.weekdays]
    allowed = ", ".join(d for d in WEEKDAYS if d in policy.weekdays)
    holidays = (f"; public holidays ({policy.holiday_country}"
                f"{'-' + policy.subdivision if policy.subdivision else ', federal'}) are skipped when steps "
                "are dated" if policy.no_public_holidays else "")
    if barred:
        return False, f"contact on {', '.join(barred)} is not allowed (allowed: {allowed}){holidays}"
    return True, f"contact days {', '.join(s.contact_weekdays)} within {allowed}{holidays}"


def call_frequency(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    limit = pack.contact.max_calls_per_7_days
    calls = max(s.max_call_attempts_per_7_days, s.contacts_per_week if s.channel == "phone" else 0)
    ok = calls <= limit
    return ok, f"{calls} call attempts per 7 days ({'within' if ok else 'above'} the limit of {limit})"


def contact_cap(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    policy = pack.contact
    calls = max(s.max_call_attempts_per_7_days, s.contacts_per_week if s.channel == "phone" else 0)
    problems = []
    if s.contacts_per_week > policy.max_contacts_per_week:
        problems.append(f"{s.contacts_per_week} contacts per week by {s.channel} (cap across all channels: "
                        f"{policy.max_contacts_per_week})")
    if calls > min(policy.max_calls_per_7_days, policy.max_contacts_per_week):
        problems.append(f"{calls} call attempts per 7 days (cap: "
                        f"{min(policy.max_calls_per_7_days, policy.max_contacts_per_week)})")
    if problems:
        return False, "; ".join(problems)
    return True, (f"{s.contacts_per_week} contact(s) per week, {calls} call attempt(s), within the cap of "
                  f"{policy.max_contacts_per_week} contacts across all channels; "
                  f"{policy.quiet_days_after_conversation} quiet days after a conversation are kept per account")


def opt_out_included(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    if s.channel not in OPT_OUT_CHANNELS:
        return True, f"channel {s.channel} needs no electronic opt-out"
    if s.includes_opt_out:
        return True, f"{s.channel} messages carry an opt-out"
    return False, f"{s.channel} messages must carry an opt-out (includes_opt_out is off)"


def opted_out_channel(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    fact = c.fact(Meaning.opt_out(s.channel))
    if not fact.is_known:
        return True, (f"opt-outs of {s.channel}: {UNKNOWN}; an objection on file must still be "
                      "honoured by hand")
    if fact.share >= cfg.opt_out_share_blocks_channel:
        return False, (f"{fact.statement()} (block at {cfg.opt_out_share_blocks_channel:.0%}): the channel "
                       "is blocked")
    return True, f"{fact.statement()}; those accounts are blocked at account-level export"


def whatsapp_opt_in(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    if s.channel != "whatsapp" or not pack.contact.whatsapp_needs_opt_in:
        return True, f"channel {s.channel}: no WhatsApp opt-in needed"
    fact = c.fact(Meaning.opt_in("whatsapp"))
    if not fact.is_known:
        return False, ("WhatsApp opt-in: unknown — no such column in the portfolio, so no account may be "
                       "contacted by WhatsApp")
    where = f"column '{fact.column}'" if fact.column else "as given"
    counted = f"{fact.count:,} of {fact.known:,} accounts, " if fact.count is not None and fact.known else ""
    said = f"{fact.share:.0%} opted in to WhatsApp ({counted}{where})"
    if fact.share < WHATSAPP_OPT_IN_SHARE:
        return False, f"{said}; fewer than {WHATSAPP_OPT_IN_SHARE:.0%}: choose another channel"
    return True, f"{said}; accounts without opt-in get a letter at export"


def escalation_min_balance(s: Strategy, c: PersonaContext, cfg: StrategySettings,
                           pack: RulePack) -> tuple[bool, str]:
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


def time_barred(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    if s.escalation == "none" and not s.credit_bureau_report:
        return True, "no enforcement step"
    ok = c.time_barred_share <= cfg.time_barred_share_blocks_escalation
    return ok, (f"{c.time_barred_share:.0%} of the persona is past {cfg.time_barred_after_days} days or "
                f"flagged (possibly time-barred; block above {cfg.time_barred_share_blocks_escalation:.0%}); "
                f"{c.fact(Meaning.TIME_BARRED).statement()}; each account's limitation date is computed at "
                "export and a time-barred account is asked only for voluntary payment")


def hardship_route(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    if not c.over_indebted(cfg):
        if c.hardship_share is None:
            return True, (f"persona not known to be over-indebted ({c.hardship_statement()}); check "
                          "hardship account by account")
        return True, f"persona not over-indebted ({c.hardship_statement()})"
    ok = s.offer in HARDSHIP_OFFERS and s.escalation == "none" and not s.credit_bureau_report
    steps = "" if s.escalation == "none" and not s.credit_bureau_report else \
        f" and keeps {s.escalation if s.escalation != 'none' else 'a credit-bureau report'}"
    referral = pack.modules.get("hardship_referral", "")
    return ok, (f"over-indebted persona ({c.hardship_statement()}"
                f"{', named as such' if c.hardship_by_name else ''}) "
                f"{'gets' if ok else 'does not get'} a hardship route (offer {s.offer}{steps})"
                + (f"; referral: {referral}" if referral else ""))


def dispute_hold(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    """Informational at persona level: the hold is per account (a dispute is one debtor's)."""
    if s.escalation == "none" and not s.credit_bureau_report:
        return True, "no escalation step to hold"
    fact = c.fact(Meaning.DISPUTE)
    if not fact.is_known:
        return True, (f"disputes: {UNKNOWN}; no account can be held automatically: confirm none is "
                      "disputed before escalating")
    return True, (f"{fact.statement()}; every disputed account is held at export (no dunning escalation, "
                  "agency, court or credit-bureau step until the dispute is resolved)")


def reminders_before_escalation(s: Strategy, c: PersonaContext, cfg: StrategySettings,
                                pack: RulePack) -> tuple[bool, str]:
    if s.escalation == "none":
        return True, "no legal escalation"
    ok = s.reminders_sent_before_escalation >= cfg.min_reminders_before_escalation
    why = pack.modules.get("reminder_note", "")
    return ok, (f"{s.reminders_sent_before_escalation} reminder(s) before {s.escalation} "
                f"(at least {cfg.min_reminders_before_escalation} required{': ' + why if why else ''})")


def credit_bureau(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
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
    notice = pack.modules.get("bureau_notice", "")
    notice = f"; {notice}" if notice else ""
    if problems:
        return False, "credit-bureau report not allowed: " + "; ".join(problems)
    if not dispute.is_known:
        return True, (f"credit-bureau report after the required reminders{notice}; disputes: {UNKNOWN}, so "
                      "no account can be checked for a dispute: confirm none before reporting")
    return True, (f"credit-bureau report after the required reminders{notice}; {dispute.statement()}, "
                  "disputed accounts removed at export")
