"""What the Portfolio page shows, decided without a browser: row counts, the column table, the rows
excluded per reason, the way out of a blocked file, the outcome question and its caption, the currency
line, the overview charts and the message after a run was applied (application.portfolio_page)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from application import portfolio_page as facts
from core.i18n import use_language
from portfolio.currency import Currency, portfolio_currency
from portfolio.load import load_portfolio
from portfolio.reason_text import reason_text
from portfolio.target import check_target, target_values


def _export(rows: int = 40) -> bytes:
    """A file without an id column, every fifth balance empty and an outcome coded 1/2."""
    lines = ["balance,days_past_due,sector,outcome_class"]
    lines += [f"{'' if i % 5 == 0 else 100 + i},{i % 90},{'a' if i % 2 else 'b'},{1 if i % 3 else 2}"
              for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(_export(), filename="export.csv", mapping={"outcome_class": "target"})


@pytest.fixture(scope="module")
def note():
    """A text file that is no portfolio: the required columns are missing."""
    return load_portfolio(b"hello world\nthis is a note\n", filename="notiz.txt")


def test_a_usable_file_counts_rows_read_usable_and_excluded(portfolio):
    assert facts.row_metrics(portfolio.report) == [("Rows read", "40", None), ("Usable rows", "32", None),
                                                   ("Excluded rows", "8", None)]


def test_an_unusable_file_shows_no_usable_rows_and_no_excluded_count(note):
    assert facts.row_metrics(note.report) == [
        ("Rows read", "1", None),
        ("Usable rows", "0", "None until the blocking problems under Validation are fixed.")]


def test_row_counts_are_in_the_page_language(portfolio):
    with use_language("de"):
        labels = [label for label, _value, _help in facts.row_metrics(portfolio.report)]
    assert labels == ["Gelesene Zeilen", "Verwendbare Zeilen", "Ausgeschlossene Zeilen"]


def test_the_role_table_gives_each_reason_in_the_page_language(portfolio):
    table = facts.role_table(portfolio.roles, portfolio.report, "de").set_index("name")
    original = portfolio.roles.reasons["sector"]
    assert table.at["sector", "reason"] == reason_text(original, "de") != original
    assert table.at["balance", "role"] == "balance"
    assert bool(table.at["account_id", "generated"])


def test_a_correction_is_added_to_the_mapping_and_earlier_ones_stay():
    mapping = facts.merged_mapping('{"outcome_class": "target", "sector": "feature"}', {"sector": "excluded"})
    assert mapping == {"outcome_class": "target", "sector": "excluded"}


def test_a_clean_file_says_no_problems_found():
    clean = load_portfolio(b"account_id,balance,days_past_due\nA,1,1\nB,2,2\nC,3,3\n", filename="c.csv")
    assert facts.problem_messages(clean.report, "en") == [("success", "No problems found.")]


def test_errors_are_listed_before_warnings_in_the_page_language(portfolio):
    messages = facts.problem_messages(portfolio.report, "de")
    kinds = [kind for kind, _text in messages]
    assert kinds == ["error"] + ["warning"] * (len(kinds) - 1) and len(kinds) > 1
    assert "Spalte 'balance'" in messages[0][1] and "ausgeschlossen" in messages[0][1]


def test_rows_excluded_are_counted_per_reason_in_the_page_language(portfolio):
    assert facts.excluded_counts_table(portfolio.report, "en").to_dict("records") == [
        {"reason": "balance is empty or NaN", "rows": 8}]
    assert facts.excluded_counts_table(portfolio.report, "de")["reason"].tolist() == [
        "offener Betrag ist leer oder NaN"]


def test_the_excluded_rows_keep_their_file_rows_and_translate_the_reason(portfolio):
    rows = facts.excluded_rows_table(portfolio.report, "de")
    assert rows["row"].tolist() == [2, 7, 12, 17, 22, 27, 32, 37]  # every fifth data row, header = row 1
    assert set(rows["reason"]) == {"offener Betrag ist leer oder NaN"}
    assert set(portfolio.report.excluded_rows["reason"]) == {"balance is empty or NaN"}  # the report is unchanged


def test_the_excluded_heading_carries_the_rows_summary(portfolio):
    assert facts.excluded_heading(portfolio.report, "en") == (
        "**Rows excluded, per reason** (40 rows read, 32 used, 8 excluded (8 balance is empty or NaN))")


def test_missing_columns_are_fixed_in_the_column_table(note):
    assert "give the missing columns their roles in the column table above" in facts.unusable_text(note.report)


def test_other_blocking_problems_ask_for_a_corrected_file():
    blocked = load_portfolio(b"account_id,balance,days_past_due\nA,,1\nB,,2\n", filename="b.csv")
    assert not blocked.report.is_usable
    assert facts.unusable_text(blocked.report).endswith("correct the file and upload it again.")


def test_no_outcome_is_chosen_until_the_user_picks_one():
    assert facts.outcome_options(["paid_90d", "outcome_class"], None) == (
        ["(none: personas only)", "paid_90d", "outcome_class"], 0)
    assert facts.outcome_options(["paid_90d", "outcome_class"], "outcome_class")[1] == 2
    assert facts.outcome_options(["paid_90d"], "gone")[1] == 0


def test_an_outcome_meaning_not_paid_records_the_default():
    csv = b"account_id,balance,days_past_due,ausgefallen\nA,1,1,ja\nB,2,2,nein\nC,3,3,ja\n"
    marked = load_portfolio(csv, filename="x.csv",
                            mapping={"ausgefallen": {"role": "target", "meaning": "outcome.not_paid"}})
    plain = load_portfolio(csv.replace(b"ausgefallen", b"klasse"), filename="x.csv", mapping={"klasse": "target"})
    assert facts.default_event(marked.roles, "ausgefallen") == "default"
    assert facts.default_event(plain.roles, "klasse") == "paid"  # a name that says nothing: read as paid


def test_the_events_are_worded_in_the_page_language():
    assert facts.event_text("default") == "the account was not paid"
    with use_language("de"):
        assert facts.event_text("default") == "das Konto wurde nicht bezahlt"


def test_an_outcome_coded_1_2_asks_which_value_is_the_event(portfolio):
    question = facts.event_question(target_values(portfolio.frame, "outcome_class"))
    assert question.value_label == "'outcome_class' holds '1' (21 rows) and '2' (11 rows): which value is the event?"
    assert question.options == ["1", "2"] and question.event_label == "That value means"
    assert question.index_of(None) is None and question.index_of("2") == 1
    assert question.unanswered.startswith("Choose which value of 'outcome_class' is the event")


def test_an_outcome_coded_0_1_asks_nothing_about_values():
    frame = pd.DataFrame({"paid_90d": [0, 1, 1, 0, 1]})
    question = facts.event_question(target_values(frame, "paid_90d"))
    assert question.value_label is None and question.options == []
    assert question.event_label == "In that column, 1 (yes) means"


def test_the_coding_caption_names_each_value_with_its_rows(portfolio):
    coding = check_target(portfolio.frame, "outcome_class", event="default", event_value="2")
    assert facts.coding_caption(coding) == (
        "Outcome 'outcome_class': '2' = the account was NOT paid (11 rows), '1' = the opposite (21 rows). "
        "The risk score is the probability of NOT paying.")


def test_the_portfolio_decides_the_currency_when_it_has_a_currency_column():
    frame = pd.DataFrame({"account_id": list("abc"), "balance": [1, 2, 3], "days_past_due": [1, 2, 3],
                          "currency": ["EUR", "USD", "EUR"]})
    kind, text = facts.fixed_currency_note(portfolio_currency(frame))
    assert (kind, text) == ("warning", "Mixed currencies (EUR 2, USD 1 accounts): amounts cannot be summed or "
                                       "compared, so they are shown without a currency.")
    kind, text = facts.fixed_currency_note(portfolio_currency(frame.assign(currency="EUR")))
    assert kind == "caption" and text.startswith("Currency: **EUR** (from the portfolio's currency column")
    assert facts.fixed_currency_note(portfolio_currency(frame.drop(columns="currency"))) is None


def test_a_typed_currency_is_read_as_an_iso_code_and_nothing_typed_is_unknown():
    assert facts.typed_currency("usd") == ("USD", None)
    assert facts.typed_currency("  ") == (None, None)
    code, error = facts.typed_currency("12")
    assert code is None and error.startswith("'12' is not a currency code")


def test_the_currency_line_says_unknown_until_a_currency_is_typed():
    assert facts.currency_caption("", "unknown") == "Currency unknown: amounts are shown without a currency."
    assert facts.currency_caption("usd", "USD") == "Currency: **USD** (set for this portfolio)."


def test_charts_draw_a_fixed_sample_of_a_large_portfolio():
    frame = pd.DataFrame({"balance": range(30), "days_past_due": range(30)})
    sample = facts.chart_rows(frame, limit=10)
    assert len(sample) == 10 and sample.index.equals(facts.chart_rows(frame, limit=10).index)
    assert facts.chart_rows(frame, limit=30) is frame


def test_the_sample_note_appears_only_for_a_sample():
    assert facts.sample_note(5000, 12000) == "Charts drawn from a random sample of 5,000 of 12,000 accounts."
    assert facts.sample_note(300, 300) is None


def test_the_overview_charts_are_titled_and_localised_in_the_page_language():
    frame = pd.DataFrame({"balance": [10.5, 20.0, 30.25], "days_past_due": [1, 30, 90]})
    with use_language("de"):
        balance, days, note = facts.overview_charts(frame, Currency.of_code("EUR"), "de")
        balance, days = balance.to_dict(), days.to_dict()
    assert note is None
    assert balance["encoding"]["x"]["title"].endswith("(EUR)") and balance["encoding"]["x"]["bin"] == {"maxbins": 40}
    assert balance["config"]["locale"]["number"]["decimal"] == ","
    assert days["encoding"]["x"]["field"] == "days_past_due" and days["config"]["locale"]["number"]["decimal"] == ","


def test_every_role_can_be_chosen_in_the_table():
    from portfolio.decide import Role

    assert sorted(facts.ROLE_OPTIONS) == sorted(Role.ALL)


def test_runs_that_fail_their_signature_check_are_not_offered():
    runs = [{"run_dir": "/w/runs/a", "label": "A", "problem": None},
            {"run_dir": "/w/runs/b", "label": "B", "problem": "manifest does not match"}]
    assert facts.run_labels(runs) == {"/w/runs/a": "A"}


def test_an_applied_run_is_written_to_a_fresh_folder_of_the_workspace(tmp_path, monkeypatch):
    from runs.folder import check_run_id

    monkeypatch.setenv("PERSONAS_HOME", str(tmp_path))
    first, second = facts.new_run_folder(), facts.new_run_folder()
    assert first.parent == second.parent == tmp_path / "runs" and first != second
    assert check_run_id(first.name) == first.name


def test_the_applied_run_message_counts_carried_and_reviewed_personas():
    from application.apply import ApplyResult

    result = ApplyResult(run_id="20261201-115000-3fa9c01b7e", path=Path("/w/runs/x"), base_run_id="base",
                         accounts=pd.DataFrame({"account_id": ["a", "b", "c"]}), drift={"review_needed": True},
                         carry={"carried": ["p1", "p2"], "review": ["p3"]}, profiles=[])
    assert facts.applied_run_message(result) == (
        True, "New run `20261201-115000-3fa9c01b7e` for 3 accounts: approvals carried over for 2 persona(s), "
              "1 back to review. See the Drift page.")
    calm = ApplyResult(**{**result.__dict__, "drift": {"review_needed": False}, "carry": None})
    assert facts.applied_run_message(calm)[0] is False
    assert "carried over for 0 persona(s), 0 back to review" in facts.applied_run_message(calm)[1]
