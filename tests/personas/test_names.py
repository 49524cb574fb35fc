"""Generated persona names: domain words, English and German, unique within a run."""
from __future__ import annotations

from personas.names import name_persona, name_personas


def _profile(pid, size, *entries):
    return {"persona_id": pid, "size": size, "distinguishing": [
        {"feature": f, "std_diff": d, "direction": "higher" if d > 0 else "lower", "persona_value": v,
         "portfolio_value": None} for f, d, v in entries]}


LATE_AND_SILENT = _profile(0, 100, ("balance", 1.5, 4000.0), ("days_past_due", 1.2, 190.0),
                           ("phone_responses", -1.0, 0.0))


def test_a_name_uses_collections_words():
    assert name_persona(LATE_AND_SILENT) == "High balance · 150+ days past due · unreachable"


def test_names_are_available_in_german():
    assert name_persona(LATE_AND_SILENT, "de") == "Hoher Saldo · 150+ Tage überfällig · nicht erreichbar"


def test_one_concept_gives_one_phrase_so_names_never_contradict_themselves():
    profile = _profile(0, 10, ("sms_responses", -1.0, 0.0), ("letter_responses", 0.9, 2.0),
                       ("balance", 0.8, 900.0))
    assert name_persona(profile) == "Unreachable · high balance"
    assert "responsive" not in name_persona(profile)


def test_names_are_unique_within_a_run():
    twins = [_profile(i, 100 - i, ("balance", 1.0, 500.0)) for i in range(3)]
    names = name_personas(twins)
    assert len(set(names.values())) == 3


def test_analyst_names_are_kept():
    names = name_personas([LATE_AND_SILENT], fixed={0: "Chronic late payers"})
    assert names[0] == "Chronic late payers"
