"""The German rulepack: German law where there is law, house policy (labelled so) where there is not.

No rule here cites US law. Sources are the current texts of BGB, BDSG, RDG, UWG, InsO, EnWG,
SGB II and the GDPR (DSGVO); a calculator for default interest (§ 288 BGB) and the energy
supplier's disconnection module (§§ 41f, 41g EnWG) live in :mod:`strategy.rulepacks.german_modules`.
"""
from __future__ import annotations

from core.i18n import N_
from strategy.rulepacks import checks
from strategy.rulepacks.base import ContactPolicy, PersonaCheck, RuleInfo, RulePack
from strategy.rulepacks.german_modules import ENERGY, INTEREST, HARDSHIP_REFERRAL
from strategy.settings import StrategySettings

RULES: tuple[RuleInfo, ...] = (
    RuleInfo("contact_hours", "house_policy",
             N_("house policy (no statutory contact hours in Germany; aggressive practices are unfair (§ "
                "4a UWG))"),
             N_("Contact hours")),
    RuleInfo("contact_days", "house_policy",
             N_("house policy: working days only, no Sundays or public holidays (federal and Land "
                "holidays); aggressive practices are unfair (§ 4a UWG)"),
             N_("Contact days")),
    RuleInfo("contact_cap", "house_policy",
             N_("house policy: one cap on contacts across all channels per week; persistent contact is "
                "harassment (§ 4a Abs. 1 Satz 2 Nr. 1 UWG)"),
             N_("Contact cap across all channels")),
    RuleInfo("quiet_period", "house_policy",
             N_("house policy: no contact for some days after a conversation; aggressive practices are "
                "unfair (§ 4a UWG)"),
             N_("Quiet period after a conversation")),
    RuleInfo("opt_out_included", "law",
             N_("Art. 21 Abs. 4 DSGVO (the right to object is pointed out at the first communication)"),
             N_("Objection right in electronic messages")),
    RuleInfo("opted_out_channel", "law",
             N_("Art. 21 Abs. 1 DSGVO (objection)"),
             N_("Objected channel blocked")),
    RuleInfo("channel_objection", "law",
             N_("Art. 21 Abs. 1 DSGVO (objection)"),
             N_("Objected channel never used")),
    RuleInfo("whatsapp_opt_in", "law",
             N_("Art. 6 Abs. 1 lit. a DSGVO (consent: the number and messages pass to the messenger's "
                "operator)"),
             N_("WhatsApp only with opt-in")),
    RuleInfo("escalation_min_balance", "house_policy",
             N_("house policy (proportionality); no statutory minimum: § 13e RDG caps recoverable costs, "
                "it sets no threshold"),
             N_("No legal escalation for small balances")),
    RuleInfo("minimum_balance_enforcement", "house_policy",
             N_("house policy (proportionality); no statutory minimum: § 13e RDG caps recoverable costs, "
                "it sets no threshold"),
             N_("Minimum balance before agency or court")),
    RuleInfo("reminders_before_escalation", "house_policy",
             N_("house policy: default (Verzug) arises with a reminder (§ 286 Abs. 1 BGB) but also "
                "without one on a calendar due date (§ 286 Abs. 2 Nr. 1 BGB) or 30 days after due date "
                "and invoice (§ 286 Abs. 3 BGB)"),
             N_("Reminder before escalation")),
    RuleInfo("time_barred", "law",
             N_("§ 214 Abs. 1 BGB (a time-barred claim may be refused); §§ 195, 199, 212, 203, 204, 197 "
                "BGB (periods); no threat of enforcement (§ 5 UWG)"),
             N_("Time-barred claims: voluntary payment only")),
    RuleInfo("dispute_hold", "law",
             N_("§ 31 Abs. 2 Satz 1 Nr. 4 lit. d BDSG (no bureau report of a disputed claim); § 694 ZPO "
                "(an objection to a Mahnbescheid); §§ 280, 286 BGB with § 13e RDG (costs only as damages "
                "for default)"),
             N_("Open dispute: Mahnsperre")),
    RuleInfo("insolvency_stop", "law",
             N_("§ 89 InsO (no individual enforcement during the proceedings); § 87 InsO (claims only "
                "through the insolvency table); § 294 InsO (none during the period of good conduct)"),
             N_("Insolvency: stop")),
    RuleInfo("hardship_route", "law",
             N_("§ 4a Abs. 2 Satz 1 Nr. 3 UWG (no exploiting a debtor's distress); energy: §§ 41f, 41g "
                "EnWG (information on help), § 22 Abs. 8 SGB II (Jobcenter may take over energy arrears)"),
             N_("Hardship route for over-indebted debtors")),
    RuleInfo("hardship_protection", "law",
             N_("§ 4a Abs. 2 Satz 1 Nr. 3 UWG (no exploiting a debtor's distress); energy: §§ 41f, 41g "
                "EnWG (information on help), § 22 Abs. 8 SGB II (Jobcenter may take over energy arrears)"),
             N_("Over-indebtedness: referral, no agency, court or bureau")),
    RuleInfo("credit_bureau", "law",
             N_("§ 31 Abs. 2 Satz 1 BDSG (Nr. 1 titled, Nr. 3 acknowledged, or Nr. 4: two written "
                "reminders, four weeks between the first reminder and the report, prior notice of the "
                "report, no dispute), a yardstick under Art. 6 Abs. 1 lit. f DSGVO (EuGH C-634/21)"),
             N_("Credit-bureau report conditions")),
    RuleInfo("credit_bureau_conditions", "law",
             N_("§ 31 Abs. 2 Satz 1 BDSG (Nr. 1 titled, Nr. 3 acknowledged, or Nr. 4: two written "
                "reminders, four weeks between the first reminder and the report, prior notice of the "
                "report, no dispute), a yardstick under Art. 6 Abs. 1 lit. f DSGVO (EuGH C-634/21)"),
             N_("Credit-bureau report conditions")),
    RuleInfo("collection_costs", "law",
             N_("§§ 280 Abs. 2, 286 BGB (costs only as damages for default; the reminder that creates "
                "default is not recoverable); § 13e RDG (agency costs capped at a lawyer's fee); § 13f "
                "RDG (no double charge of agency and lawyer); §§ 13a, 13b RDG (information in the "
                "agency's first letter)"),
             N_("Collection costs")),
    RuleInfo("default_interest", "law",
             N_("§ 288 Abs. 1 BGB (5 percentage points over the base rate of § 247 BGB), Abs. 2 (9 "
                "points when no consumer is party), Abs. 5 (€40 flat fee from a business debtor)"),
             N_("Default interest")),
    RuleInfo("energy_disconnection", "law",
             N_("§ 41f EnWG (arrears of twice the monthly instalment or 1/6 of the annual bill and at "
                "least €100; threat 4 weeks and announcement 8 Werktage before, by letter); § 41g EnWG "
                "(interest-free Abwendungsvereinbarung, 6-18 months, 12-24 above €300)"),
             N_("Energy supply disconnection")),
)

CHECKS: tuple[PersonaCheck, ...] = (
    PersonaCheck("contact_hours", checks.contact_hours),
    PersonaCheck("contact_days", checks.contact_days),
    PersonaCheck("contact_cap", checks.contact_cap),
    PersonaCheck("opt_out_included", checks.opt_out_included),
    PersonaCheck("opted_out_channel", checks.opted_out_channel),
    PersonaCheck("whatsapp_opt_in", checks.whatsapp_opt_in),
    PersonaCheck("escalation_min_balance", checks.escalation_min_balance),
    PersonaCheck("time_barred", checks.time_barred),
    PersonaCheck("hardship_route", checks.hardship_route),
    PersonaCheck("dispute_hold", checks.dispute_hold),
    PersonaCheck("reminders_before_escalation", checks.reminders_before_escalation),
    PersonaCheck("credit_bureau", checks.credit_bureau),
)


def contact_policy(settings: StrategySettings) -> ContactPolicy:
    """The house contact policy from the workspace settings (Monday to Saturday by default)."""
    weekdays = ("mon", "tue", "wed", "thu", "fri") + (("sat",) if settings.contact_on_saturday else ())
    return ContactPolicy(
        earliest_hour=settings.earliest_contact_hour, latest_hour=settings.latest_contact_hour,
        weekdays=weekdays, no_public_holidays=True, holiday_country="DE",
        subdivision=settings.holiday_subdivision,
        max_contacts_per_week=settings.max_contacts_per_week,
        max_calls_per_7_days=settings.max_call_attempts_per_7_days,
        quiet_days_after_conversation=settings.quiet_days_after_conversation,
        whatsapp_needs_opt_in=True)


def german_rulepack(settings: StrategySettings | None = None) -> RulePack:
    """The German rulepack with the workspace's house-policy numbers."""
    cfg = settings or StrategySettings()
    modules = {"default_interest": INTEREST, "hardship_referral": HARDSHIP_REFERRAL,
               "reminder_note": N_("house policy; default can arise without a reminder (§ 286 Abs. 2 Nr. 1, "
                                    "Abs. 3 BGB)"),
               "bureau_notice": N_("the reminders must give prior notice of the possible report, no earlier "
                                    "than the first reminder (§ 31 Abs. 2 Satz 1 Nr. 4 lit. c BDSG)")}
    if cfg.utility_module:
        modules["energy"] = ENERGY
    return RulePack(name="de", label=N_("German"), rules={r.rule_id: r for r in RULES},
                    contact=contact_policy(cfg), checks=CHECKS, modules=modules)
