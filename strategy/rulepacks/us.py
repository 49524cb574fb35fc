"""The US rulepack (Regulation F, 12 CFR 1006, and the FDCPA): an option for US portfolios only.

Chosen only on request (``PERSONAS_RULEPACK=us`` or ``StrategySettings(rulepack="us")``). Rules
that have no US counterpart say so in their source.
"""
from __future__ import annotations

from core.i18n import N_
from strategy.rulepacks import checks
from strategy.rulepacks.base import ContactPolicy, PersonaCheck, RuleInfo, RulePack
from strategy.settings import StrategySettings

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("contact_hours", "law",
             N_("12 CFR 1006.6(b)(1)(i) (08:00-21:00 local time)"),
             N_("Contact hours")),
    RuleInfo("contact_days", "house_policy",
             N_("house policy: Reg F sets hours, not days (12 CFR 1006.6(b)(1)(i): no contact at an "
                "inconvenient time)"),
             N_("Contact days")),
    RuleInfo("call_frequency", "law",
             N_("12 CFR 1006.14(b)(2)(i) (7 call attempts per debt in 7 days)"),
             N_("Call frequency")),
    RuleInfo("contact_cap", "law",
             N_("12 CFR 1006.14(b)(2)(i) (calls only: 7 attempts per debt in 7 days)"),
             N_("Contact cap")),
    RuleInfo("quiet_period", "law",
             N_("12 CFR 1006.14(b)(2)(ii) (no call for 7 days after a conversation)"),
             N_("Quiet period after a conversation")),
    RuleInfo("opt_out_included", "law",
             N_("12 CFR 1006.6(e) (opt-out notice in e-mail and text)"),
             N_("Opt-out on e-mail/SMS")),
    RuleInfo("opted_out_channel", "law",
             N_("12 CFR 1006.14(h) (a medium the consumer refused)"),
             N_("Opted-out channel blocked")),
    RuleInfo("channel_objection", "law",
             N_("12 CFR 1006.14(h) (a medium the consumer refused)"),
             N_("Objected channel never used")),
    RuleInfo("whatsapp_opt_in", "house_policy",
             N_("house policy (the messenger's terms require an opt-in)"),
             N_("WhatsApp only with opt-in")),
    RuleInfo("escalation_min_balance", "house_policy",
             N_("house policy (proportionality)"),
             N_("No legal escalation for small balances")),
    RuleInfo("minimum_balance_enforcement", "house_policy",
             N_("house policy (proportionality)"),
             N_("Minimum balance before agency or court")),
    RuleInfo("reminders_before_escalation", "house_policy",
             N_("house policy"),
             N_("Reminder before escalation")),
    RuleInfo("time_barred", "law",
             N_("12 CFR 1006.26(b) (no suit or threat of suit on time-barred debt)"),
             N_("Time-barred debt")),
    RuleInfo("dispute_hold", "law",
             N_("15 U.S.C. 1692g(b) (collection stops on a timely written dispute until verification); "
                "12 CFR 1006.34"),
             N_("Disputed debt")),
    RuleInfo("insolvency_stop", "law",
             N_("11 U.S.C. 362(a) (automatic stay in bankruptcy)"),
             N_("Bankruptcy: stop")),
    RuleInfo("hardship_route", "house_policy",
             N_("house policy (forbearance for consumers in hardship)"),
             N_("Hardship route")),
    RuleInfo("hardship_protection", "house_policy",
             N_("house policy (forbearance for consumers in hardship)"),
             N_("Hardship: no agency, court or bureau")),
    RuleInfo("credit_bureau", "law",
             N_("12 CFR 1006.30(a) (communicate before furnishing); 15 U.S.C. 1681s-2(a)(3) (report a "
                "dispute)"),
             N_("Credit-bureau reporting")),
    RuleInfo("credit_bureau_conditions", "law",
             N_("12 CFR 1006.30(a) (communicate before furnishing); 15 U.S.C. 1681s-2(a)(3) (report a "
                "dispute)"),
             N_("Credit-bureau reporting")),
    RuleInfo("collection_costs", "law",
             N_("15 U.S.C. 1692f(1); 12 CFR 1006.22(b) (only amounts the agreement or law permits)"),
             N_("Collection costs")),
    RuleInfo("default_interest", "law",
             N_("12 CFR 1006.22(b) (interest only as the agreement or state law permits); not calculated "
                "in this pack"),
             N_("Interest")),
    RuleInfo("energy_disconnection", "law",
             N_("not applicable in this pack: state utility commission rules decide"),
             N_("Utility disconnection")),
)

CHECKS: tuple[PersonaCheck, ...] = (
    PersonaCheck("contact_hours", checks.contact_hours),
    PersonaCheck("call_frequency", checks.call_frequency),
    PersonaCheck("opt_out_included", checks.opt_out_included),
    PersonaCheck("opted_out_channel", checks.opted_out_channel),
    PersonaCheck("escalation_min_balance", checks.escalation_min_balance),
    PersonaCheck("time_barred", checks.time_barred),
    PersonaCheck("hardship_route", checks.hardship_route),
    PersonaCheck("dispute_hold", checks.dispute_hold),
    PersonaCheck("reminders_before_escalation", checks.reminders_before_escalation),
    PersonaCheck("credit_bureau", checks.credit_bureau),
)

#: Reg F: 08:00-21:00 local, 7 call attempts in 7 days, 7 days quiet after a conversation.
CONTACT = ContactPolicy(earliest_hour=8, latest_hour=21,
                        weekdays=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                        no_public_holidays=False, holiday_country=None, subdivision=None,
                        max_contacts_per_week=21, max_calls_per_7_days=7, quiet_days_after_conversation=7,
                        whatsapp_needs_opt_in=True)


def us_rulepack(settings: StrategySettings | None = None) -> RulePack:
    """The US rulepack (its contact numbers are law, not workspace settings)."""
    return RulePack(name="us", label=N_("US (Regulation F)"), rules={r.rule_id: r for r in RULES},
                    contact=CONTACT, checks=CHECKS, modules={})
