"""Rulepacks: German by default, US on request; every rule names its source and whether it is law or house
policy; the German pack never cites US law and states the German rules correctly."""
from __future__ import annotations

import re
from datetime import date

import pytest

from core.errors import UserError
from portfolio.currency import Currency
from strategy.rulepacks import (
    ACCOUNT_RULE_IDS, ENV_VAR, default_rulepack_name, get_rulepack, rulepack_choice,
)
from strategy.settings import StrategySettings

GERMAN = get_rulepack("de")
US_LAW = re.compile(r"CFR|U\.S\.C\.|FDCPA|Regulation F|Reg F|1006\.")
HOUSE_POLICY = {"contact_hours", "contact_days", "contact_cap", "quiet_period", "escalation_min_balance",
                "minimum_balance_enforcement", "reminders_before_escalation"}


@pytest.mark.parametrize("name", ["de", "us"])
def test_every_pack_defines_the_account_rules_with_a_source_and_a_kind(name):
    pack = get_rulepack(name)
    assert set(ACCOUNT_RULE_IDS) <= set(pack.rules)
    for rule in pack.rules.values():
        assert rule.source.strip() and rule.title.strip() and rule.kind in ("law", "house_policy")
    assert set(pack.check_ids) <= set(pack.rules)


def test_no_german_rule_cites_us_law():
    assert [r.rule_id for r in GERMAN.rules.values() if US_LAW.search(r.source + r.title)] == []
    assert not any(US_LAW.search(str(v)) for v in GERMAN.modules.values())


def test_german_rules_are_labelled_as_in_the_domain_notes():
    assert {r.rule_id for r in GERMAN.house_policy()} == HOUSE_POLICY
    assert "house policy" in GERMAN.rule("minimum_balance_enforcement").source
    assert "no threshold" in GERMAN.rule("minimum_balance_enforcement").source


def test_german_sources_state_the_law_correctly():
    reminder = GERMAN.rule("reminders_before_escalation").source
    assert "§ 286 Abs. 2 Nr. 1 BGB" in reminder and "§ 286 Abs. 3" in reminder
    assert "§ 13e RDG" in GERMAN.rule("collection_costs").source and "§ 13f RDG" in GERMAN.rule("collection_costs").source
    bureau = GERMAN.rule("credit_bureau_conditions").source
    assert "§ 31 Abs. 2" in bureau and "prior notice" in bureau and "no dispute" in bureau
    interest = GERMAN.rule("default_interest").source
    assert "§ 288" in interest and "5 percentage points" in interest and "9 points" in interest and "€40" in interest
    energy = GERMAN.rule("energy_disconnection").source
    assert "§ 41f EnWG" in energy and "§ 41g EnWG" in energy and "8 Werktage" in energy and "4 weeks" in energy
    hardship = GERMAN.rule("hardship_protection").source
    assert "§ 22 Abs. 8 SGB II" in hardship and "2023/2225" not in hardship
    assert "§ 89 InsO" in GERMAN.rule("insolvency_stop").source


def test_the_german_contact_policy_is_house_policy_from_the_settings():
    contact = GERMAN.contact
    assert (contact.earliest_hour, contact.latest_hour) == (8, 20)
    assert "sun" not in contact.weekdays and contact.no_public_holidays and contact.holiday_country == "DE"
    assert contact.max_contacts_per_week == 3 and contact.whatsapp_needs_opt_in
    tuned = get_rulepack("de", StrategySettings(max_contacts_per_week=2, holiday_subdivision="NW")).contact
    assert tuned.max_contacts_per_week == 2 and tuned.subdivision == "NW"


def test_the_us_pack_keeps_regulation_f():
    us = get_rulepack("us")
    assert (us.contact.earliest_hour, us.contact.latest_hour, us.contact.max_calls_per_7_days) == (8, 21, 7)
    assert "1006.26(b)" in us.rule("time_barred").source


def test_german_is_the_default_and_us_only_on_request(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_rulepack_name() == "de"
    assert default_rulepack_name(Currency.of_code("EUR")) == "de"
    assert default_rulepack_name({"parameters": {"currency": {"code": "EUR"}}}) == "de"
    name, why = rulepack_choice("USD")
    assert name == "de" and f"{ENV_VAR}=us" in why
    assert default_rulepack_name("EUR", StrategySettings(rulepack="us")) == "us"
    monkeypatch.setenv(ENV_VAR, "us")
    assert default_rulepack_name("EUR", StrategySettings(rulepack="de")) == "us"


def test_an_unknown_pack_or_rule_is_a_clear_error(monkeypatch):
    with pytest.raises(UserError, match="unknown rulepack 'fr'.*de, us"):
        get_rulepack("fr")
    with pytest.raises(UserError, match="German rulepack.*no rule 'no_such_rule'"):
        GERMAN.rule("no_such_rule")
    monkeypatch.setenv(ENV_VAR, "xx")
    with pytest.raises(UserError, match=ENV_VAR):
        default_rulepack_name()


def test_default_interest_follows_section_288():
    interest = GERMAN.modules["default_interest"]
    # Base rate 2.27 %: consumer 7.27 %, business 11.27 %; 1,000 € for 73 days as a consumer:
    # 1000 * 7.27 % * 73/365 = 14.54 €; the € 40 flat fee only from a business.
    assert interest.rate(2.27, business=False) == pytest.approx(7.27)
    assert interest.rate(2.27, business=True) == pytest.approx(11.27)
    assert interest.interest(1000.0, 2.27, 73, business=False) == pytest.approx(14.54)
    assert interest.flat_fee(business=True) == 40.0 and interest.flat_fee(business=False) == 0.0


def test_the_energy_module_follows_sections_41f_and_41g():
    pack = get_rulepack("de", StrategySettings(utility_module=True))
    energy = pack.modules["energy"]
    assert "energy" not in GERMAN.modules  # optional
    # Instalment 45 €: twice is 90 €, below the 100 € floor -> 100 €. Annual bill 1,200 €: 1/6 = 200 €.
    assert energy.threshold(45.0) == 100.0 and energy.threshold(annual_bill_eur=1200.0) == 200.0
    assert energy.threshold() is None
    assert energy.may_threaten(150.0, 60.0) and not energy.may_threaten(150.0, 60.0, disputed_eur=40.0)
    assert energy.agreement_range(250.0) == (6, 18) and energy.agreement_range(800.0) == (12, 24)
    # Threat 01.12.2025 -> 4 weeks: 29.12.2025. Announcement 15.12.2025 (Mon): 8 Werktage are 16, 17, 18,
    # 19, 20 (Sat), 22, 23, 24 -> from 25.12.; 25/26 are holidays, 27 Sat is a working day; the four
    # weeks end later, on Monday 29.12.2025.
    assert energy.earliest_disconnection(date(2025, 12, 1), date(2025, 12, 15), pack.contact) == date(2025, 12, 29)
    # Announcement 22.12.2025: the 8 Werktage end 03.01.2026 -> Monday 05.01.2026 (04.01. is a Sunday).
    assert energy.earliest_disconnection(date(2025, 12, 1), date(2025, 12, 22), pack.contact) == date(2026, 1, 5)


def test_a_pack_describes_itself_as_plain_data():
    data = GERMAN.to_dict()
    assert data["name"] == "de" and data["contact"]["weekdays"][0] == "mon"
    assert {r["kind"] for r in data["rules"]} == {"law", "house_policy"}
