"""application.personas_page: the texts and tables the Personas page shows of a run, in English and German."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from application import personas_page as page
from core.formats import MISSING, time_zone
from core.i18n import use_language


def _profile(persona_id: int, size: int, **extra) -> dict:
    profile = {"persona_id": persona_id, "names": {"en": f"Payer {persona_id}", "de": f"Zahler {persona_id}"},
               "descriptors_by_language": {"en": ["early", "small"], "de": ["früh", "klein"]},
               "size": size, "share_accounts": size / 100, "share_balance": 0.25, "needs_review_count": 2,
               "medians": {"days_past_due": {"persona": 16.0, "portfolio": 30.5}},
               "distinguishing": [{"feature": "days_past_due", "direction": "lower", "persona_value": 16.0,
                                   "portfolio_value": 30.5},
                                  {"feature": "has_phone", "direction": "higher", "persona_value": 0.9,
                                   "portfolio_value": 0.5}]}
    return profile | extra


def _meta(table: list[dict], chosen: dict | None = None, search_rows: int | None = 2000) -> dict:
    return {"metrics": {"personas": 4}, "settings_search": {"table": table, "chosen": chosen},
            "parameters": {"settings": {"discovery": {"search_rows": search_rows}}}}


def _run(parent: str | None = None, rows: dict | None = None, target: str | None = "paid") -> SimpleNamespace:
    meta = {"source_name": "march_*.csv", "rows": rows or {"read": 1200, "used": 1000, "fitted": 800,
                                                           "excluded": {"duplicate": 150, "no balance": 50}},
            "parameters": {"settings": {"target": target}}}
    return SimpleNamespace(meta=meta, run_id="r2", parent_run_id=parent, edits=[{}, {}])


def test_known_edits_and_columns_are_named_in_the_readers_language_and_unknown_ones_kept():
    with use_language("de"):
        assert page.edit_label("merge") == "zusammengelegt"
        assert page.search_column_label("n_neighbors") == "Nachbarn"
        assert page.review_column_label("membership_probability", "de") == "Zugehörigkeitswahrscheinlichkeit"
    assert page.edit_label("recolour") == "recolour"
    assert page.search_column_label("seed") == "seed"
    assert page.review_column_label("days_past_due", "en") == "Days past due"
    assert page.review_column_label("Kunden Nr", "en") == "Kunden Nr", "a file's own column name stays"


def test_persona_labels_put_the_id_before_the_name_in_the_readers_language():
    assert page.persona_labels([_profile(0, 40), _profile(3, 60)], "de") == {0: "0: Zahler 0", 3: "3: Zahler 3"}


def test_excluded_rows_add_the_reasons_or_fall_back_to_read_minus_used():
    assert page.excluded_rows({"read": 10, "used": 7, "excluded": {"a": 1, "b": 4}}) == 5
    assert page.excluded_rows({"read": 10, "used": 7}) == 3


def test_run_caption_traces_the_figures_to_the_run_and_the_run_it_edits():
    caption = page.run_caption(_run(parent="r1"), "en")
    assert caption == ("Portfolio **march\\_\\*.csv** · 1,200 rows read, 1,000 used · 200 excluded · fitted on 800 · "
                       "outcome column: paid · run `r2` · 2 edit(s), edit of run `r1`")
    plain = page.run_caption(_run(rows={"read": 5, "used": 5, "fitted": 5}, target=None), "en")
    assert "excluded" not in plain and "edit of run" not in plain
    assert "outcome column: none (choose one on the Portfolio page)" in plain


def test_map_titles_say_when_only_the_display_sample_is_drawn():
    assert page.map_view_labels(1500, "de")["points"].endswith("1.500)")
    assert page.points_title(500, 1500, "en") == "500 of 1,500 accounts drawn as points (display sample)"
    assert page.points_title(1500, 1500, "en") == "1,500 of 1,500 accounts drawn as points"
    cells = pd.DataFrame({"count": [1000, 500, 1]})
    assert page.cells_title(cells, "en") == "1,501 accounts drawn as 3 cells (aggregated on the server)"


def test_map_caption_explains_cells_and_placement_only_on_the_aggregated_map():
    points = page.map_caption(500, 1500, 500, 1500, aggregated=False, language="en")
    assert points.startswith("Map of 500 of 1,500 accounts (display sample). Position is a 2-D UMAP")
    assert points.endswith("up to 20,000 accounts and aggregated above.")
    placed = page.map_caption(1500, 1500, 500, 1500, aggregated=True, language="en")
    assert placed.startswith("Map of 1,500 of 1,500 accounts. Each cell is coloured by its most common persona")
    assert "mean position of their 10 nearest sample accounts" in placed
    sample_only = page.map_caption(1500, 1500, 1500, 1500, aggregated=True, language="en")
    assert "nearest sample accounts" not in sample_only


def test_a_median_is_written_without_decimals_when_it_is_whole():
    assert page.median_figure(16.0, "en") == "16"
    assert page.median_figure(30.25, "de") == "30,25"
    assert page.median_figure(None, "en") == MISSING


def test_a_feature_line_explains_medians_of_numbers_and_shares_of_flags():
    entries = _profile(1, 40)["distinguishing"]
    medians = _profile(1, 40)["medians"]
    assert page.feature_line(entries[0], medians, "en") == (
        "Days past due ↓ lower than in the portfolio (median 16 here, 30.50 in the portfolio)")
    assert page.feature_line(entries[1], medians, "en") == (
        "Has phone ↑ higher than in the portfolio (90.0% of these accounts, 50.0% of the portfolio)")


def test_a_card_shows_only_the_outcomes_the_portfolio_has():
    card = page.card(_profile(1, 40, pay_rate=0.5, mean_recovery=1234.5), "EUR", "en")
    assert card["title"] == "**1 · Payer 1**" and card["descriptors"] == "early · small"
    assert card["size"] == "40 accounts (40.0%) · 25.0% of the balance"
    assert card["outcomes"] == "Pay rate 50.0% · mean recovery €1,234.50"
    assert card["features"].splitlines()[0].startswith("- Days past due ↓") and len(card["features"].splitlines()) == 2
    assert card["review"] == "2 accounts need review"
    bare = page.card(_profile(2, 10, needs_review_count=0, descriptors_by_language={}), None, "en")
    assert bare["outcomes"] == "" and bare["review"] == "" and bare["descriptors"] == ""


def test_the_portfolio_figures_weight_the_personas_by_size_and_skip_an_outcome_one_lacks():
    profiles = [_profile(0, 30, pay_rate=0.2, mean_risk_score=0.5), _profile(1, 10, pay_rate=0.6)]
    figures = page.portfolio_figures(profiles, n_accounts=40)
    assert figures["pay_rate"] == pytest.approx((0.2 * 30 + 0.6 * 10) / 40)
    assert figures["mean_risk_score"] is None and figures["mean_recovery"] is None
    assert figures["size"] == 40 and figures["needs_review_count"] == 4 and figures["share_balance"] == 1.0


def test_the_comparison_puts_the_chosen_personas_beside_the_whole_portfolio():
    profiles = [_profile(0, 30, pay_rate=0.2), _profile(1, 10, pay_rate=0.6), _profile(2, 60, pay_rate=0.1)]
    table = page.comparison_table(profiles, [2, 0], n_accounts=100, currency="EUR", language="en")
    assert list(table.columns) == ["0: Payer 0", "2: Payer 2", "Whole portfolio"]
    assert list(table.index) == ["Accounts", "Share of accounts", "Share of the balance", "Pay rate", "Need review",
                                 "Median: Days past due"]
    assert table["2: Payer 2"].tolist() == ["60", "60.0%", "25.0%", "10.0%", "2", "16"]
    assert table["Whole portfolio"].tolist() == ["100", "100.0%", "100.0%", "18.0%", "6", "30.50"]
    with use_language("de"):
        german = page.comparison_table(profiles, [0, 1], 100, "EUR", "de")
    assert "Gesamter Bestand" in german.columns and german.loc["Zahlungsquote", "1: Zahler 1"] == "60,0 %"


def test_a_figure_only_some_personas_have_is_missing_in_the_others():
    profiles = [_profile(0, 30, mean_recovery=10.0), _profile(1, 10)]
    table = page.comparison_table(profiles, [0, 1], 40, "EUR", "en")
    assert table.loc["Mean recovery"].tolist() == ["€10.00", MISSING, MISSING]


def test_the_search_verdict_says_why_the_run_has_its_number_of_personas():
    row = {"n_neighbors": 15, "min_cluster_share": 0.05, "score": 0.7}
    assert page.search_verdict(_meta([]), "en") == "**Why 4 personas:** no settings search recorded."
    assert "the settings search was off" in page.search_verdict(_meta([row]), "en")
    assert "the configured defaults were kept" in page.search_verdict(_meta([row, row], {"score": None}), "en")
    with use_language("de"):
        assert page.search_verdict(_meta([row, row, row], row), "de") == (
            "**Warum 4 Personas:** Die gewählte Einstellung (Nachbarn 15, Mindestanteil je Gruppe 5,0 %) hatte "
            "unter den 3 erprobten Einstellungen die höchste Bewertung.")
    assert page.search_verdict(_meta([row, row, row], row), "en") == (
        "**Why 4 personas:** the chosen setting (neighbours 15, min cluster share 5.0%) had the highest score of "
        "the 3 settings tried.")


def test_the_search_caption_gives_the_sub_sample_size_or_a_dash():
    assert "sub-samples of 2,000 accounts" in page.search_rows_caption(_meta([]), "en")
    assert f"sub-samples of {MISSING} accounts" in page.search_rows_caption(_meta([], search_rows=None), "en")


def test_the_search_table_writes_shares_scores_and_a_tick_on_the_chosen_setting():
    table = page.search_table(_meta([
        {"n_neighbors": 15, "min_cluster_share": 0.05, "noise_share": 0.125, "score": 0.71234, "chosen": True},
        {"n_neighbors": 30, "min_cluster_share": 0.1, "noise_share": 0.2, "score": None, "chosen": False}]), "de")
    assert table["min_cluster_share"].tolist() == ["5,0 %", "10,0 %"]
    assert table["noise_share"].tolist() == ["12,5 %", "20,0 %"]
    assert table["score"].tolist() == ["0,712", MISSING]
    assert table["chosen"].tolist() == ["✓", ""] and table["n_neighbors"].tolist() == [15, 30]
    assert page.search_table({}, "en").empty


def test_the_edits_table_writes_the_time_in_the_readers_zone_and_the_details_as_settings():
    zone = time_zone("Europe/Berlin")
    table = page.edits_table([{"action": "split", "user": "ana", "at": "2026-01-02T10:00:00+00:00",
                               "persona_id": 3, "parts": 2, "seed": None}], "en", zone)
    assert table.to_dict("records") == [{"at": "2026-01-02 11:00", "user": "ana", "edit": "split",
                                         "details": "persona_id=3, parts=2"}]
    labels = page.edits_column_labels(zone)
    assert labels == {"at": "Time (Europe/Berlin)", "user": "User", "edit": "Edit", "details": "Details"}


def test_the_review_caption_counts_the_accounts_to_review_and_those_shown():
    caption = page.review_caption(1234, 500, "de")
    assert caption.startswith("1.234 accounts need review") and "Showing up to 500, least certain first." in caption
