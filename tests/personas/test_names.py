"""Generated persona names: collections words, English and German, unique within a run."""
from __future__ import annotations

from personas.names import name_persona, name_personas, readable_label


def _profile(pid, size, *entries):
    return {"persona_id": pid, "size": size, "distinguishing": [
        {"feature": f, "std_diff": d, "direction": "higher" if d > 0 else "lower", "persona_value": v,
         "portfolio_value": None} for f, d, v in entries]}


LATE_AND_SILENT = _profile(0, 100, ("balance", 1.5, 4000.0), ("days_past_due", 1.2, 190.0),
                           ("phone_responses", -1.0, 0.0))


def test_a_name_is_a_short_archetype_in_collections_words():
    assert name_persona(LATE_AND_SILENT) == "Long overdue with a large balance"


def test_names_are_available_in_german():
    assert name_persona(LATE_AND_SILENT, "de") == "Lange überfällig mit hoher Forderung"


def test_one_concept_gives_one_phrase_so_names_never_contradict_themselves():
    profile = _profile(0, 10, ("sms_responses", -1.0, 0.0), ("letter_responses", 0.9, 2.0),
                       ("balance", 0.8, 900.0))
    assert name_persona(profile) == "Unreachable with a large balance"
    assert "responsive" not in name_persona(profile)


def test_a_slightly_late_persona_with_nothing_against_it_is_a_forgetful_payer():
    profile = _profile(0, 10, ("days_past_due", -1.2, 12.0), ("balance", -0.9, 250.0))
    assert name_persona(profile, "de") == "Vergessliche Zahler mit kleiner Forderung"
    assert name_persona(profile) == "Forgetful payers with a small balance"


def test_names_are_unique_within_a_run():
    twins = [_profile(i, 100 - i, ("balance", 1.0, 500.0)) for i in range(3)]
    names = name_personas(twins)
    assert len(set(names.values())) == 3


def test_analyst_names_are_kept():
    names = name_personas([LATE_AND_SILENT], fixed={0: "Chronic late payers"})
    assert names[0] == "Chronic late payers"


def test_the_descriptive_list_stays_beside_the_name():
    profiles = [LATE_AND_SILENT]
    name_personas(profiles)
    assert profiles[0]["descriptors"][:3] == ["high balance", "150+ days past due", "no response by phone"]


def test_codes_are_not_readable_labels():
    for code in ("PAY_0", "BILL_AMT1", "A32", "EDUCATION", "LIMIT_BAL", "EDUCATION 6", "payments_12m"):
        assert readable_label(code) is None, code
    assert readable_label("MonthlyIncome") == "monthly income"
    assert readable_label("Zahlungen 12 Monate", "de") == "Zahlungen 12 Monate"
