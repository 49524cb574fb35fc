"""Every run names its personas in English and German (issue 18): both in personas.json and in
accounts.parquet, unique in each language; an analyst's rename is the analyst's text in both; a run
saved with one name still loads and shows that name whatever the language.

The pipeline tests share the session's run (tests/personas/conftest.py); the rest name profiles
built here, as the profile step writes them.
"""
from __future__ import annotations

import dataclasses
import json
import re
import shutil

import pandas as pd
import pytest

from application.pipeline import apply_edit, load_run
from personas import edits, views
from personas.names import (NAME_LANGUAGES, display_descriptors, display_name, name_column, name_personas,
                            names_by_language, names_in_languages, readable_level)
from portfolio.meanings import Meaning


@pytest.fixture()
def run_copy(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


def _key(name: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", name.casefold()).split())


def _assert_unique(names: dict[int, str]) -> None:
    assert len({_key(n) for n in names.values()}) == len(names), names


# ---------------------------------------------------------------- a run
def test_a_run_stores_names_in_english_and_german_and_its_folder_verifies(run_dir):
    run = load_run(run_dir)  # verifies the signature, every file's hash and both JSON schemas
    assert run.meta["persona_names"] == {"primary": "en", "languages": ["en", "de"]}
    assert list(run.accounts.columns[:3]) == ["account_id", "persona_id", "persona_name"]
    for language in NAME_LANGUAGES:
        names = {p["persona_id"]: p["names"][language] for p in run.profiles}
        _assert_unique(names)
        by_account = run.accounts.groupby("persona_id")[f"persona_name_{language}"].agg(set)
        assert all(by_account[pid] == {name} for pid, name in names.items()), "accounts carry the profile's name"
        assert all(display_descriptors(p, language) == p["descriptors_by_language"][language] for p in run.profiles)
    assert (run.accounts["persona_name"] == run.accounts["persona_name_en"]).all(), "primary = the run's language"
    assert all(p["name"] == p["names"]["en"] for p in run.profiles)
    english = {p["persona_id"]: p["names"]["en"] for p in run.profiles}
    german = {p["persona_id"]: p["names"]["de"] for p in run.profiles}
    assert english != german, "the German names are German"
    assert all(display_name(p, "de") == german[p["persona_id"]] for p in run.profiles)
    assert views.with_names(run.accounts, "de")["persona_name"].tolist() == run.accounts["persona_name_de"].tolist()
    assert run.accounts["persona_name"].equals(load_run(run_dir).accounts["persona_name"]), "the run is unchanged"


def test_the_language_of_a_run_only_chooses_its_primary_name(train_portfolio):
    """Same data, same seed, ``language="de"``: the same names in both languages, German as ``persona_name``."""
    from application.pipeline import run_pipeline
    from persona_helpers import small_settings

    settings = small_settings(search=False, stability_resamples=2)
    english = run_pipeline(train_portfolio, settings)
    german = run_pipeline(train_portfolio, dataclasses.replace(settings, language="de"))
    assert [p["names"] for p in english.profiles] == [p["names"] for p in german.profiles]
    assert (german.accounts["persona_name"] == german.accounts["persona_name_de"]).all()
    assert german.meta["persona_names"]["primary"] == "de"


def test_a_rename_is_the_analysts_text_in_both_languages(run_copy, tmp_path):
    base = load_run(run_copy)
    renamed = apply_edit(base, edits.rename(0, "Stammkunden mit Ratenplan", user="ana"))
    saved = load_run(renamed.save(tmp_path / "renamed"))
    profile = saved.profile(0)
    assert profile["names"] == {"en": "Stammkunden mit Ratenplan", "de": "Stammkunden mit Ratenplan"}
    for language in NAME_LANGUAGES:
        assert set(saved.accounts.loc[saved.accounts["persona_id"] == 0, f"persona_name_{language}"]) == \
            {"Stammkunden mit Ratenplan"}
        others = {p["persona_id"]: p["names"][language] for p in saved.profiles if p["persona_id"] != 0}
        assert others == {p["persona_id"]: p["names"][language] for p in base.profiles if p["persona_id"] != 0}


def test_a_rename_that_reads_like_another_personas_german_name_renames_that_one_in_german(run_copy):
    base = load_run(run_copy)
    german = {p["persona_id"]: p["names"]["de"] for p in base.profiles}
    taken = german[1]  # the analyst (English run) gives persona 0 the German name of persona 1
    renamed = apply_edit(base, edits.rename(0, taken, user="ana"))
    names = {p["persona_id"]: p["names"]["de"] for p in renamed.profiles}
    assert names[0] == taken and names[1] != taken
    _assert_unique(names)


def test_a_merge_names_the_merged_persona_anew_in_both_languages(run_copy, train_portfolio):
    base = load_run(run_copy)
    merged = apply_edit(base, edits.merge([0, 1], user="ana"), train_portfolio)
    assert 1 not in {p["persona_id"] for p in merged.profiles}
    for language in NAME_LANGUAGES:
        names = {p["persona_id"]: p["names"][language] for p in merged.profiles}
        _assert_unique(names)
        before = {p["persona_id"]: p["names"][language] for p in base.profiles}
        assert all(names[pid] == before[pid] for pid in names if pid != 0), "untouched personas keep their names"
        assert set(merged.accounts[f"persona_name_{language}"]) == set(names.values())


def _as_saved_with_one_name(run_copy):
    """Rewrite the run as runs were saved before both languages: one name, no ``names``, no columns."""
    run = load_run(run_copy)
    for profile in run.profiles:
        profile.pop("names", None)
        profile.pop("descriptors_by_language", None)
    accounts = run.accounts.drop(columns=[f"persona_name_{lang}" for lang in NAME_LANGUAGES])
    meta = {k: v for k, v in run.meta.items() if k != "persona_names"}
    return dataclasses.replace(run, accounts=accounts, meta=meta, folder=None)


def test_a_run_saved_with_one_name_still_loads_and_shows_that_name(run_copy, tmp_path):
    old = load_run(_as_saved_with_one_name(run_copy).save(tmp_path / "old"))
    assert "persona_names" not in old.meta and "names" not in old.profiles[0]
    for language in NAME_LANGUAGES:
        assert [display_name(p, language) for p in old.profiles] == [p["name"] for p in old.profiles]
        assert display_descriptors(old.profiles[0], language) == old.profiles[0]["descriptors"]
        assert name_column(old.accounts.columns, language) == "persona_name"
        assert views.with_names(old.accounts, language) is old.accounts
        shown = views.map_points(old.accounts, pd.DataFrame(
            {"account_id": old.accounts["account_id"], "balance": 1.0, "days_past_due": 1}), language)
        assert shown["persona"].str.split(": ", n=1).str[1].isin([p["name"] for p in old.profiles]).all()
    assert names_by_language(old.profiles) == {}

    # an edit of it names the personas in both languages from then on, keeping the English ones
    renamed = apply_edit(old, edits.rename(2, "Quiet payers", user="ana"))
    english = {p["persona_id"]: p["names"]["en"] for p in renamed.profiles}
    assert english == {p["persona_id"]: ("Quiet payers" if p["persona_id"] == 2 else p["name"]) for p in old.profiles}
    _assert_unique({p["persona_id"]: p["names"]["de"] for p in renamed.profiles})
    reloaded = load_run(renamed.save(tmp_path / "edited"))
    assert "persona_name_de" in reloaded.accounts.columns
    assert reloaded.meta["persona_names"] == {"primary": "en", "languages": ["en", "de"]}


def test_the_schemas_accept_both_names_and_refuse_a_name_that_is_not_text(run_copy):
    from runs import schema
    from runs.errors import RunFolderError

    profiles = json.loads((run_copy / "personas.json").read_text("utf-8"))
    schema.check(profiles, "personas", "personas.json")
    profiles[0]["names"]["de"] = 7
    with pytest.raises(RunFolderError, match="personas schema"):
        schema.check(profiles, "personas", "personas.json")
    meta = json.loads((run_copy / "run.json").read_text("utf-8"))
    schema.check(meta, "run", "run.json")
    meta["persona_names"] = {"primary": "en"}
    with pytest.raises(RunFolderError, match="run schema"):
        schema.check(meta, "run", "run.json")


# ---------------------------------------------------------------- naming in both languages
def _profile(pid, size, entries, meanings=None, **extra):
    distinguishing = [{"feature": f, "std_diff": d, "direction": "higher" if d > 0 else "lower",
                       "persona_value": v, "portfolio_value": None, **({"meaning": meanings[f]}
                                                                       if meanings and f in meanings else {})}
                      for f, d, v in entries]
    return {"persona_id": pid, "size": size, "distinguishing": distinguishing,
            "column_meanings": dict(meanings or {}), **extra}


def _sample_like_profiles():
    """Personas as the app finds them on the bundled sample (an English-levelled German export)."""
    m = {"Anzahl bisheriger Zahlungen": Meaning.PAYMENTS_SO_FAR, "Vertragsdauer Monate": Meaning.TENURE,
         "Kontaktversuche Telefon": Meaning.attempts("phone"), "Kontaktversuche Brief": Meaning.attempts("letter"),
         "Kontaktversuche SMS": Meaning.attempts("sms"), "Reaktionen SMS": Meaning.responses("sms"),
         "Reaktionen Telefon": Meaning.responses("phone"), "Beste Antwortstunde": Meaning.BEST_RESPONSE_HOUR}
    return [
        _profile(0, 1300, [("Anzahl bisheriger Zahlungen", 1.2, 9), ("Kontaktversuche Telefon", -0.9, 0),
                           ("Vertragsdauer Monate", 0.8, 60), ("Kontaktversuche Brief", -0.7, 0),
                           ("Kontaktversuche SMS", 0.6, 5)], m),
        _profile(1, 800, [("Branche = telecom", 2.2, 0.9), ("Reaktionen SMS", 1.1, 3), ("Reaktionen Telefon", 0.9, 2)],
                 m),
        _profile(2, 700, [("Branche = e-commerce", 2.0, 0.8), ("Produkt = buy now pay later", 1.5, 0.4)], m),
        _profile(3, 300, [("Zahlungsart = none", 2.0, 0.9), ("Reaktionen SMS", -1.2, 0)], m),
        _profile(4, 80, [("Reaktionen SMS", 0.4, 1)], m,
                 missing_shares={"Beste Antwortstunde": {"persona": 0.74, "portfolio": 0.05}}),
    ]


def test_names_are_unique_in_each_language_and_german_names_hold_no_english_level():
    profiles = _sample_like_profiles()
    by_language = names_in_languages(profiles, "de")
    for language in NAME_LANGUAGES:
        _assert_unique(by_language[language])
    german = by_language["de"]
    assert german[1].startswith("Überwiegend Telekommunikation"), german
    assert german[2].startswith("Überwiegend Onlinehandel"), german
    for name in german.values():
        assert not re.search(r"\b(telecom|e-commerce|buy now|none)\b", name, re.I), name
    assert "Mostly telecom" in by_language["en"][1]
    assert german[4].startswith("Beste Antwortzeit unbekannt"), german
    assert [p["name"] for p in profiles] == [german[p["persona_id"]] for p in profiles], "primary: German"
    assert all(p["descriptors"] == p["descriptors_by_language"]["de"] for p in profiles)


def test_no_name_or_descriptive_list_repeats_itself_or_contradicts_itself():
    profiles = _sample_like_profiles()
    by_language = names_in_languages(profiles, "en")
    for language in NAME_LANGUAGES:
        for name in by_language[language].values():
            phrases = [p.strip().casefold() for p in re.split(r",| mit | with ", name)]
            assert len(phrases) == len(set(phrases)), name
        for profile in profiles:
            listed = profile["descriptors_by_language"][language]
            assert len(listed) == len(set(listed)), listed
            attempts = [d for d in listed if "contact attempts" in d or "Kontaktversuche" in d]
            assert len(attempts) <= 2, listed  # one phrase per direction, the channels listed in it
    few = next(d for d in profiles[0]["descriptors_by_language"]["de"] if d.startswith("wenige"))
    assert few == "wenige Kontaktversuche per Telefon und Brief"
    assert "viele Kontaktversuche per SMS" in profiles[0]["descriptors_by_language"]["de"]


def test_an_empty_level_never_names_a_persona():
    assert readable_level("none", "en") is None and readable_level("none", "de") is None
    names = name_personas(_sample_like_profiles(), "de")
    assert "none" not in names[3].casefold() and "keine angabe" not in names[3].casefold()


def test_a_fixed_name_is_kept_in_every_language_and_kept_names_stay_unless_they_clash():
    profiles = _sample_like_profiles()
    first = names_in_languages(profiles, "en")
    kept = {language: {pid: n for pid, n in names.items() if pid != 1} for language, names in first.items()}
    clash = first["de"][2]
    again = names_in_languages(profiles, "en", fixed={1: clash}, kept=kept)
    assert again["en"][1] == again["de"][1] == clash
    assert again["de"][2] != clash and again["en"][2] == first["en"][2]
    assert {pid: again["de"][pid] for pid in (0, 3, 4)} == {pid: first["de"][pid] for pid in (0, 3, 4)}
    for language in NAME_LANGUAGES:
        _assert_unique(again[language])


def test_the_current_language_chooses_the_name_shown():
    from core.i18n import use_language

    profile = {"persona_id": 3, "name": "Long overdue", "names": {"en": "Long overdue", "de": "Lange überfällig"}}
    with use_language("de"):
        assert display_name(profile) == "Lange überfällig"
        assert name_column(["persona_name", "persona_name_de"]) == "persona_name_de"
    with use_language("en"):
        assert display_name(profile) == "Long overdue"
