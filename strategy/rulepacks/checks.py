"""Persona-level checks shared by the rulepacks: each returns ``(passed, what was found)``.

A check reads the strategy, the persona's facts (:class:`~strategy.context.PersonaContext`), the
workspace settings and the pack (its contact policy and the source of its rules). Which checks a
pack runs, in which order, is the pack's choice (:mod:`strategy.rulepacks.germany`, ``.us``).
Facts that are unknown (no such column) never pass silently: the message says so.
"""
from __future__ import annotations

from core.i18n import N_
from portfolio.currency import Currency
from portfolio.meanings import Meaning
from strategy.catalogue import WEEKDAYS, Strategy
from strategy.context import UNKNOWN, PersonaContext
from strategy.rulepacks.base import RulePack
from strategy.settings import StrategySettings
from strategy.texts import Money, Term, Text, TextList, Words, terms

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
        return False, Text(N_("threshold in {unit} not applied: portfolio currency {code}"), unit=unit,
                           code=currency.code)
    return True, Text(N_("{currency}: threshold in {unit} applied to the amounts as they are"),
                      currency=Words({"en": currency.label("en"), "de": currency.label("de")}), unit=unit)


def minimum_balance_text(cfg: StrategySettings, currency: Currency | None = None) -> str:
    """The minimum balance for legal escalation with its currency: "€100.00" beside amounts in that
    currency, "100.00 EUR" (the code, no symbol) beside amounts in an unknown or other currency."""
    unit = Currency.of_code(cfg.legal_escalation_min_balance_currency)
    if not (currency or Currency()).matches(unit.code):
        return Text("{amount} {code}", amount=Money(cfg.legal_escalation_min_balance_eur), code=unit.code)
    return Money(cfg.legal_escalation_min_balance_eur, unit)


def _hours(start: int, end: int) -> str:
    return f"{start:02d}:00-{end:02d}:00"


def contact_hours(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    policy = pack.contact
    ok = s.contact_start_hour >= policy.earliest_hour and s.contact_end_hour <= policy.latest_hour
    window = _hours(s.contact_start_hour, s.contact_end_hour)
    allowed = _hours(policy.earliest_hour, policy.latest_hour)
    if ok:
        return ok, Text(N_("contact window {window} lies within {allowed}"), window=window, allowed=allowed)
    return ok, Text(N_("contact window {window} does not lie within {allowed}"), window=window, allowed=allowed)


def contact_days(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    policy = pack.contact
    barred = [d for d in s.contact_weekdays if d not in policy.weekdays]
    allowed = terms(d for d in WEEKDAYS if d in policy.weekdays)
    holidays = ""
    if policy.no_public_holidays:
        holidays = (Text(N_("; public holidays ({country}-{land}) are skipped when steps are dated"),
                         country=policy.holiday_country, land=policy.subdivision) if policy.subdivision else
                    Text(N_("; public holidays ({country}, federal) are skipped when steps are dated"),
                         country=policy.holiday_country))
    if barred:
        return False, Text(N_("contact on {days} is not allowed (allowed: {allowed}){holidays}"),
                           days=terms(barred), allowed=allowed, holidays=holidays)
    return True, Text(N_("contact days {days} within {allowed}{holidays}"), days=terms(s.contact_weekdays),
                      allowed=allowed, holidays=holidays)


def _calls(s: Strategy) -> int:
    return max(s.max_call_attempts_per_7_days, s.contacts_per_week if s.channel == "phone" else 0)


def call_frequency(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    limit = pack.contact.max_calls_per_7_days
    calls = _calls(s)
    ok = calls <= limit
    if ok:
        return ok, Text(N_("{calls} call attempts per 7 days (within the limit of {limit})"), calls=calls, limit=limit)
    return ok, Text(N_("{calls} call attempts per 7 days (above the limit of {limit})"), calls=calls, limit=limit)


def contact_cap(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    policy = pack.contact
    calls = _calls(s)
    cap = min(policy.max_calls_per_7_days, policy.max_contacts_per_week)
    problems = []
    if s.contacts_per_week > policy.max_contacts_per_week:
        problems.append(Text(N_("{n} contacts per week by {channel} (cap across all channels: {cap})"),
                             n=s.contacts_per_week, channel=Term(s.channel), cap=policy.max_contacts_per_week))
    if calls > cap:
        problems.append(Text(N_("{calls} call attempts per 7 days (cap: {cap})"), calls=calls, cap=cap))
    if problems:
        return False, TextList(problems, "; ")
    return True, Text(N_("{n} contact(s) per week, {calls} call attempt(s), within the cap of {cap} contacts "
                         "across all channels; {quiet} quiet days after a conversation are kept per account"),
                      n=s.contacts_per_week, calls=calls, cap=policy.max_contacts_per_week,
                      quiet=policy.quiet_days_after_conversation)


def opt_out_included(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    if s.channel not in OPT_OUT_CHANNELS:
        return True, Text(N_("channel {channel} needs no electronic opt-out"), channel=Term(s.channel))
    if s.includes_opt_out:
        return True, Text(N_("{channel} messages carry an opt-out"), channel=Term(s.channel))
    return False, Text(N_("{channel} messages must carry an opt-out (includes_opt_out is off)"),
                       channel=Term(s.channel))


def opted_out_channel(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    fact = c.fact(Meaning.opt_out(s.channel))
    if not fact.is_known:
        return True, Text(N_("opt-outs of {channel}: {unknown}; an objection on file must still be honoured by hand"),
                          channel=Term(s.channel), unknown=Text(UNKNOWN))
    if fact.share >= cfg.opt_out_share_blocks_channel:
        return False, Text(N_("{fact} (block at {block:.0%}): the channel is blocked"), fact=fact.statement(),
                           block=cfg.opt_out_share_blocks_channel)
    return True, Text(N_("{fact}; those accounts are blocked at account-level export"), fact=fact.statement())


def whatsapp_opt_in(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    if s.channel != "whatsapp" or not pack.contact.whatsapp_needs_opt_in:
        return True, Text(N_("channel {channel}: no WhatsApp opt-in needed"), channel=Term(s.channel))
    fact = c.fact(Meaning.opt_in("whatsapp"))
    if not fact.is_known:
        return False, Text(N_("WhatsApp opt-in: unknown — no such column in the portfolio, so no account may be "
                              "contacted by WhatsApp"))
    where = Text(N_("column '{column}'"), column=fact.column) if fact.column else Text(N_("as given"))
    if fact.count is not None and fact.known:
        said = Text(N_("{share:.0%} opted in to WhatsApp ({count:,} of {known:,} accounts, {where})"),
                    share=fact.share, count=fact.count, known=fact.known, where=where)
    else:
        said = Text(N_("{share:.0%} opted in to WhatsApp ({where})"), share=fact.share, where=where)
    if fact.share < WHATSAPP_OPT_IN_SHARE:
        return False, Text(N_("{said}; fewer than {minimum:.0%}: choose another channel"), said=said,
                           minimum=WHATSAPP_OPT_IN_SHARE)
    return True, Text(N_("{said}; accounts without opt-in get a letter at export"), said=said)


def escalation_min_balance(s: Strategy, c: PersonaContext, cfg: StrategySettings,
                           pack: RulePack) -> tuple[bool, str]:
    if s.escalation == "none":
        return True, Text(N_("no legal escalation"))
    applies, note = threshold_currency(c.currency, cfg)
    currency = c.currency or Currency()
    if not applies:
        shown = Term("unknown") if c.median_balance is None else Money(c.median_balance, currency)
        return True, Text(N_("{escalation} for a median balance of {balance}: {note} (minimum balance for legal "
                             "escalation not checked; set legal_escalation_min_balance_currency and a threshold "
                             "in the portfolio's currency)"), escalation=Term(s.escalation), balance=shown,
                          note=note)
    note = Text("; {note}", note=note) if note else ""
    if c.median_balance is None:
        return True, Text(N_("median balance unknown; accounts below {minimum} are blocked at export{note}"),
                          minimum=minimum_balance_text(cfg, c.currency), note=note)
    ok = c.median_balance >= cfg.legal_escalation_min_balance_eur
    message = (N_("{escalation} for a median balance of {balance} (at or above the threshold of {minimum}{note})")
               if ok else
               N_("{escalation} for a median balance of {balance} (below the threshold of {minimum}{note})"))
    return ok, Text(message, escalation=Term(s.escalation), balance=Money(c.median_balance, currency),
                    minimum=minimum_balance_text(cfg, c.currency), note=note)


def time_barred(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    if s.escalation == "none" and not s.credit_bureau_report:
        return True, Text(N_("no enforcement step"))
    ok = c.time_barred_share <= cfg.time_barred_share_blocks_escalation
    return ok, Text(N_("{share:.0%} of the persona is past {days} days or flagged (possibly time-barred; block above "
                       "{block:.0%}); {fact}; each account's limitation date is computed at export and a "
                       "time-barred account is asked only for voluntary payment"),
                    share=c.time_barred_share, days=cfg.time_barred_after_days,
                    block=cfg.time_barred_share_blocks_escalation, fact=c.fact(Meaning.TIME_BARRED).statement())


def hardship_route(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    if not c.over_indebted(cfg):
        if c.hardship_share is None:
            return True, Text(N_("persona not known to be over-indebted ({facts}); check hardship account by "
                                 "account"), facts=c.hardship_statement())
        return True, Text(N_("persona not over-indebted ({facts})"), facts=c.hardship_statement())
    ok = s.offer in HARDSHIP_OFFERS and s.escalation == "none" and not s.credit_bureau_report
    steps = "" if s.escalation == "none" and not s.credit_bureau_report else Text(
        N_(" and keeps {step}"), step=Term(s.escalation) if s.escalation != "none" else Text(N_("a credit-bureau report")))
    referral = pack.modules.get("hardship_referral", "")
    named = Text(N_(", named as such")) if c.hardship_by_name else ""
    message = (N_("over-indebted persona ({facts}{named}) gets a hardship route (offer {offer}{steps})") if ok else
               N_("over-indebted persona ({facts}{named}) does not get a hardship route (offer {offer}{steps})"))
    text = Text(message, facts=c.hardship_statement(), named=named, offer=Term(s.offer), steps=steps)
    if referral:
        return ok, Text(N_("{text}; referral: {referral}"), text=text, referral=Text(referral))
    return ok, text


def dispute_hold(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    """Informational at persona level: the hold is per account (a dispute is one debtor's)."""
    if s.escalation == "none" and not s.credit_bureau_report:
        return True, Text(N_("no escalation step to hold"))
    fact = c.fact(Meaning.DISPUTE)
    if not fact.is_known:
        return True, Text(N_("disputes: {unknown}; no account can be held automatically: confirm none is disputed "
                             "before escalating"), unknown=Text(UNKNOWN))
    return True, Text(N_("{fact}; every disputed account is held at export (no dunning escalation, agency, court "
                         "or credit-bureau step until the dispute is resolved)"), fact=fact.statement())


def reminders_before_escalation(s: Strategy, c: PersonaContext, cfg: StrategySettings,
                                pack: RulePack) -> tuple[bool, str]:
    if s.escalation == "none":
        return True, Text(N_("no legal escalation"))
    ok = s.reminders_sent_before_escalation >= cfg.min_reminders_before_escalation
    why = pack.modules.get("reminder_note", "")
    return ok, Text(N_("{n} reminder(s) before {escalation} (at least {minimum} required{why})"),
                    n=s.reminders_sent_before_escalation, escalation=Term(s.escalation),
                    minimum=cfg.min_reminders_before_escalation, why=Text(": {why}", why=Text(why)) if why else "")


def credit_bureau(s: Strategy, c: PersonaContext, cfg: StrategySettings, pack: RulePack) -> tuple[bool, str]:
    if not s.credit_bureau_report:
        return True, Text(N_("no credit-bureau report"))
    problems = []
    if s.reminders_sent_before_escalation < cfg.min_written_reminders_before_bureau:
        problems.append(Text(N_("{n} written reminder(s), {needed} needed"), n=s.reminders_sent_before_escalation,
                             needed=cfg.min_written_reminders_before_bureau))
    if (s.escalation_after_days or 0) < cfg.min_days_first_reminder_before_bureau:
        problems.append(Text(N_("report after {days} days, the first reminder must be at least {minimum} days "
                                "before"), days=s.escalation_after_days or 0,
                             minimum=cfg.min_days_first_reminder_before_bureau))
    dispute = c.fact(Meaning.DISPUTE)
    if dispute.is_known and dispute.share > cfg.dispute_share_blocks_bureau:
        problems.append(Text(N_("{fact} (block above {block:.0%})"), fact=dispute.statement(),
                             block=cfg.dispute_share_blocks_bureau))
    notice = pack.modules.get("bureau_notice", "")
    notice = Text("; {notice}", notice=Text(notice)) if notice else ""
    if problems:
        return False, Text(N_("credit-bureau report not allowed: {problems}"), problems=TextList(problems, "; "))
    if not dispute.is_known:
        return True, Text(N_("credit-bureau report after the required reminders{notice}; disputes: {unknown}, so "
                             "no account can be checked for a dispute: confirm none before reporting"),
                          notice=notice, unknown=Text(UNKNOWN))
    return True, Text(N_("credit-bureau report after the required reminders{notice}; {fact}, disputed accounts "
                         "removed at export"), notice=notice, fact=dispute.statement())
