"""The US rulepack (Regulation F, 12 CFR 1006, and the FDCPA): an option for US portfolios only.

Chosen only on request (``PERSONAS_RULEPACK=us`` or ``StrategySettings(rulepack="us")``). Rules
that have no US counterpart say so in their source.
"""
from __future__ import annotations

from strategy.rulepacks import checks
from strategy.rulepacks.base import ContactPolicy, PersonaCheck, RuleInfo, RulePack
from strategy.settings import StrategySettings

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("contact_hours", "law", "12 CFR 1006.6(b)(1)(i) (08:00-21:00 local time)", "Contact hours"),
    RuleInfo("contact_days", "house_policy",
             "house policy: Reg F sets hours, not days (12 CFR 1006.6(b)(1)(i): no contact at an inconvenient "
             "time)", "Contact days"),
    RuleInfo("call_frequency", "law", "12 CFR 1006.14(b)(2)(i) (7 call attempts per debt in 7 days)",
             "Call frequency"),
    RuleInfo("contact_cap", "law", "12 CFR 1006.14(b)(2)(i) (calls only: 7 attempts per debt in 7 days)",
             "Contact cap"),
    RuleInfo("quiet_period", "law", "12 CFR 1006.14(b)(2)(ii) (no call for 7 days after a conversation)",
             "Quiet period after a conversation"),
    RuleInfo("opt_out_included", "law", "12 CFR 1006.6(e) (opt-out notice in e-mail and text)",
             "Opt-out on e-mail/SMS"),
    RuleInfo("opted_out_channel", "law", "12 CFR 1006.14(h) (a medium the consumer refused)",
             "Opted-out channel blocked"),
    RuleInfo("channel_objection", "law", "12 CFR 1006.14(h) (a medium the consumer refused)",
             "Objected channel never used"),
    RuleInfo("whatsapp_opt_in", "house_policy", "house policy (the messenger's terms require an opt-in)",
             "WhatsApp only with opt-in"),
    RuleInfo("escalation_min_balance", "house_policy", "house policy (proportionality)",
             "No legal escalation for small balances"),
    RuleInfo("minimum_balance_enforcement", "house_policy", "house policy (proportionality)",
             "Minimum balance before agency or court"),
    RuleInfo("reminders_before_escalation", "house_policy", "house policy", "Reminder before escalation"),
    RuleInfo("time_barred", "law", "12 CFR 1006.26(b) (no suit or threat of suit on time-barred debt)",
             "Time-barred debt"),
    RuleInfo("dispute_hold", "law",
             "15 U.S.C. 1692g(b) (collection stops on a timely written dispute until verification); "
             "12 CFR 1006.34", "Disputed debt"),
    RuleInfo("insolvency_stop", "law", "11 U.S.C. 362(a) (automatic stay in bankruptcy)", "Bankruptcy: stop"),
    RuleInfo("hardship_route", "house_policy", "house policy (forbearance for consumers in hardship)",
             "Hardship route"),
    RuleInfo("hardship_protection", "house_policy", "house policy (forbearance for consumers in hardship)",
             "Hardship: no agency, court or bureau"),
    RuleInfo("credit_bureau", "law",
             "12 CFR 1006.30(a) (communicate before furnishing); 15 U.S.C. 1681s-2(a)(3) (report a dispute)",
             "Credit-bureau reporting"),
    RuleInfo("credit_bureau_conditions", "law",
             "12 CFR 1006.30(a) (communicate before furnishing); 15 U.S.C. 1681s-2(a)(3) (report a dispute)",
             "Credit-bureau reporting"),
    RuleInfo("collection_costs", "law", "15 U.S.C. 1692f(1); 12 CFR 1006.22(b) (only amounts the agreement or "
             "law permits)", "Collection costs"),
    RuleInfo("default_interest", "law", "12 CFR 1006.22(b) (interest only as the agreement or state law "
             "permits); not calculated in this pack", "Interest"),
    RuleInfo("energy_disconnection", "law", "not applicable in this pack: state utility commission rules "
             "decide", "Utility disconnection"),
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
    return RulePack(name="us", label="US (Regulation F)", rules={r.rule_id: r for r in RULES},
                    contact=CONTACT, checks=CHECKS, modules={})
