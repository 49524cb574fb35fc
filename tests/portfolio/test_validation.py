"""Validation: blocking errors exclude rows (listed with reasons), warnings never do."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portfolio.load import load_portfolio
from portfolio.roles import detect_roles
from portfolio.validate import ValidationSettings, validate_portfolio

N = 30


def good(**changes) -> pd.DataFrame:
    data = pd.DataFrame({"account_id": [f"A{i:03d}" for i in range(N)],
                         "balance": np.linspace(100, 400, N), "days_past_due": np.arange(N) % 60,
                         "sector": ["energy", "telco", "retail"] * (N // 3)})
    for column, values in changes.items():
        data[column] = values
    return data


def validate(data: pd.DataFrame, **kwargs):
    return validate_portfolio(data, detect_roles(data), **kwargs)


def errors_by_code(report) -> dict[str, list]:
    found: dict[str, list] = {}
    for problem in report.errors:
        found.setdefault(problem.code, []).append(problem)
    return found


def test_a_clean_portfolio_has_no_problems_and_is_usable():
    report = validate(good())

    assert report.problems == []
    assert report.is_usable
    assert (report.n_rows_read, report.n_rows_usable) == (N, N)
    assert report.excluded_rows.empty


def test_a_file_without_an_id_column_is_usable_with_row_numbers_as_ids_and_a_warning():
    portfolio = load_portfolio(good().drop(columns="account_id"))

    assert portfolio.is_usable and portfolio.report.generated_ids
    assert portfolio.frame["account_id"].tolist()[:3] == ["row_2", "row_3", "row_4"]
    assert portfolio.roles.roles["account_id"] == "account_id"
    assert "no account id column" in portfolio.roles.reasons["account_id"] or \
        "generated" in portfolio.roles.reasons["account_id"]
    warning = next(p for p in portfolio.report.warnings if p.code == "generated_ids")
    assert "row number" in warning.message and "--mapping" in warning.message


@pytest.mark.parametrize("missing", ["balance", "days_past_due"])
def test_missing_required_column_is_blocking_and_names_synonyms_and_the_mapping(missing):
    report = validate(good().drop(columns=missing))

    problem = errors_by_code(report)["missing_column"][0]
    assert not report.is_usable
    assert "names tried" in problem.message
    assert "mapping" in problem.message


def test_duplicate_ids_exclude_every_row_of_that_id():
    ids = [f"A{i:03d}" for i in range(N)]
    ids[5] = ids[9] = "A001"
    report = validate(good(account_id=ids))

    problem = errors_by_code(report)["duplicate_id"][0]
    assert problem.count == 3
    assert problem.rows == [3, 7, 11]  # header is row 1
    assert report.excluded_rows["row"].tolist() == [3, 7, 11]
    assert set(report.excluded_rows["reason"]) == {"duplicate account id"}
    assert report.is_usable


def test_empty_ids_are_excluded_and_listed():
    ids = [f"A{i:03d}" for i in range(N)]
    ids[0], ids[4] = "", None
    report = validate(good(account_id=ids))

    assert errors_by_code(report)["empty_id"][0].rows == [2, 6]
    assert report.excluded_rows["reason"].tolist() == ["empty account id", "empty account id"]


def test_unparseable_balance_is_excluded_with_the_value_shown():
    balances = [f"{i},50" for i in range(N)]
    balances[3] = "zwölf"
    report = validate(good(balance=balances))

    problem = errors_by_code(report)["not_a_number"][0]
    assert problem.rows == [5]
    assert "'zwölf'" in problem.message
    assert report.excluded_rows.iloc[0]["reason"] == "balance is not a number"


def test_negative_balance_is_excluded():
    balances = np.linspace(100, 400, N)
    balances[2] = -5
    report = validate(good(balance=balances))

    assert errors_by_code(report)["negative"][0].rows == [4]
    assert report.n_rows_usable == N - 1


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinite_amounts_are_blocking(bad):
    balances = np.linspace(100, 400, N)
    balances[0] = bad
    report = validate(good(balance=balances))

    assert report.excluded_rows["row"].tolist() == [2]
    assert report.errors[0].code in {"empty", "infinite"}


@pytest.mark.parametrize("bad,code", [(-3, "negative"), ("bald", "not_a_number"), (None, "empty")])
def test_negative_or_unparseable_days_past_due_are_blocking(bad, code):
    dpd = [str(v) for v in np.arange(N)]
    dpd[1] = bad
    report = validate(good(days_past_due=dpd))

    assert errors_by_code(report)[code][0].rows == [3]


def test_a_row_with_several_problems_is_listed_once_with_all_reasons():
    data = good()
    data.loc[0, "account_id"] = ""
    data.loc[0, "balance"] = -1.0
    report = validate(data)

    assert len(report.excluded_rows) == 1
    assert report.excluded_rows.iloc[0]["reason"] == "empty account id; balance is negative"


def test_too_many_excluded_rows_make_the_portfolio_unusable():
    balances = np.full(N, -1.0)
    balances[:10] = 5.0
    report = validate(good(balance=balances))

    assert not report.is_usable
    assert errors_by_code(report)["too_many_excluded"]


def test_excluded_share_limit_is_configurable():
    balances = np.full(N, -1.0)
    balances[:10] = 5.0
    report = validate(good(balance=balances), settings=ValidationSettings(max_excluded_share=0.9))

    assert report.is_usable
    assert any(p.code == "rows_excluded" for p in report.warnings)


def test_no_usable_rows_make_the_portfolio_unusable():
    report = validate(good(balance=np.full(N, -1.0)))

    assert not report.is_usable


def test_missing_share_above_the_threshold_is_a_warning():
    sector = ["energy"] * N
    sector[:10] = [None] * 10
    sector[10] = "telco"
    report = validate(good(sector=sector))

    warning = next(p for p in report.warnings if p.code == "missing_share")
    assert warning.column == "sector" and warning.count == 10
    assert report.errors == []


def test_constant_column_is_a_warning():
    report = validate(good(mandant=["M1"] * N))

    assert any(p.code == "constant_column" and p.column == "mandant" for p in report.warnings)


def test_balance_far_above_the_robust_fence_is_an_outlier_warning_and_kept():
    balances = np.linspace(100, 400, N)
    balances[7] = 9_000_000
    report = validate(good(balance=balances))

    outlier = next(p for p in report.warnings if p.code == "outlier")
    assert outlier.rows == [9]
    assert report.n_rows_usable == N


def test_high_cardinality_categorical_is_a_warning():
    levels = [f"L{i % 60}" for i in range(200)]
    data = pd.DataFrame({"account_id": [f"A{i}" for i in range(200)], "balance": np.linspace(1, 9, 200),
                         "days_past_due": np.arange(200) % 30, "product": levels})
    report = validate(data)

    assert any(p.code == "high_cardinality" and p.column == "product" for p in report.warnings)


def test_report_lines_give_one_line_per_problem_and_a_summary():
    ids = [f"A{i:03d}" for i in range(N)]
    ids[1] = ""
    report = validate(good(account_id=ids))

    lines = report.lines()
    assert len(lines) == len(report.problems) + 1
    assert lines[0].startswith("error: column 'account_id': 1 row has an empty account id (row 3)")
    assert "first line (normally the header) is row 1" in lines[0]
    assert lines[-1].startswith("summary:")


def test_report_to_frame_has_one_row_per_problem():
    ids = [f"A{i:03d}" for i in range(N)]
    ids[1] = ""
    frame = validate(good(account_id=ids)).to_frame()

    assert list(frame.columns) == ["severity", "column", "count", "rows", "message"]


def test_row_numbers_refer_to_the_file_with_source_column_names():
    data = ("Aktenzeichen;Offener Betrag;Verzugstage\nA1;1,00;1\nA2;-2,00;2\nA3;3,00;3\n").encode()

    portfolio = load_portfolio(data, filename="x.csv")

    row = portfolio.report.excluded_rows.iloc[0]
    assert (row["row"], row["account_id"], row["column"]) == (3, "A2", "Offener Betrag")
    assert "Offener Betrag" in portfolio.report.errors[0].message


def test_reader_notes_become_warnings():
    data = "id;Saldo;dpd;Ort\n".encode() + "A;1;1;München\n".encode("utf-8") + "B;2;2;Köln\n".encode("cp1252")

    portfolio = load_portfolio(data, filename="x.csv")

    assert any("mixed text encodings" in p.message for p in portfolio.report.warnings)


def test_unhashable_cells_in_a_frame_are_reported_not_crashed_on():
    data = pd.DataFrame({"account_id": [[1], [2]], "balance": [{"a": 1}, 2], "days_past_due": [pd.NA, 1]},
                        dtype=object)

    report = validate(data)

    assert report.n_rows_read == 2 and report.errors


def test_truncated_last_row_of_a_csv_is_excluded_with_the_reason():
    data = "Konto;Saldo;dpd\nA;1;1\nB;2;2\nC;3;3\nD;4".encode()

    portfolio = load_portfolio(data, filename="x.csv")

    assert portfolio.report.excluded_rows["row"].tolist() == [5]
    assert "ends in the middle of this row" in portfolio.report.excluded_rows["reason"].iloc[0]


def test_infinite_values_in_other_numeric_columns_are_a_warning_and_become_missing():
    data = good(original_amount=[np.inf] + [1.0] * (N - 1))

    portfolio = load_portfolio(data)

    assert any(p.code == "infinite" and p.rows == [2] for p in portfolio.report.warnings)
    assert pd.isna(portfolio.frame["original_amount"].iloc[0])


def test_row_numbers_count_blank_lines_as_the_file_shows_them():
    data = "Konto;Saldo;dpd\nA;1;1\n\nB;-2;2\nC;3;3\n".encode()

    portfolio = load_portfolio(data, filename="x.csv")

    assert portfolio.report.excluded_rows["row"].tolist() == [4]
    assert portfolio.row_numbers.tolist() == [2, 5]


def test_excel_sep_line_sets_the_delimiter_and_counts_as_row_one():
    data = "sep=,\nKonto,Saldo,dpd\nA,1,1\nB,-2,2\n".encode()

    portfolio = load_portfolio(data, filename="x.csv")

    assert portfolio.read.delimiter == ","
    assert portfolio.report.excluded_rows["row"].tolist() == [4]


def test_title_rows_above_the_header_in_excel_are_skipped_and_rows_keep_sheet_numbers():
    from portfolio_files import xlsx_bytes

    data = xlsx_bytes({"S": [["Bestand Mai 2024"], [], ["Konto", "Saldo", "dpd"], ["A", 1, 1], [],
                             ["B", -2, 2], ["C", 3, 3]]})

    portfolio = load_portfolio(data, filename="x.xlsx")

    assert list(portfolio.frame.columns) == ["account_id", "balance", "days_past_due"]
    assert portfolio.report.excluded_rows["row"].tolist() == [6]
    assert any("above the header were skipped" in p.message for p in portfolio.report.warnings)


def test_a_title_line_above_a_csv_header_is_skipped():
    data = "Forderungsbestand 2024\nKonto;Saldo;dpd\nA;1;1\nB;2;2\n".encode()

    portfolio = load_portfolio(data, filename="x.csv")

    assert portfolio.frame["account_id"].tolist() == ["A", "B"]
    assert portfolio.row_numbers.tolist() == [3, 4]
