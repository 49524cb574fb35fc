"""``python -m personas validate``: roles and report on stdout; exit 0 usable (also with excluded rows),
1 not usable or unreadable, 2 usage."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from application.cli import main
from portfolio_files import GERMAN_CSV, xlsx_bytes

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["validate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_usable_file_exits_0_and_prints_roles_and_report(tmp_path, capsys):
    path = tmp_path / "bestand.csv"
    path.write_bytes(GERMAN_CSV.encode("cp1252"))

    code, out, err = run(capsys, str(path))

    assert code == 0
    assert "Kontonummer" in out and "account_id" in out and "matched German synonym" in out
    assert "summary: 4 rows read, 0 excluded, 4 usable" in out
    assert err == ""


def test_rows_excluded_for_blocking_errors_leave_a_usable_portfolio_exit_0(tmp_path, capsys):
    path = tmp_path / "fehler.csv"
    good = "".join(f"G{i};{i};{i}\n" for i in range(10))
    path.write_text("Konto;Saldo;dpd\nA;1;1\nA;2;2\nB;-3;3\nC;4;x\n" + good, encoding="utf-8")

    code, out, err = run(capsys, str(path))

    assert code == 0
    problems = [line.strip() for line in out.splitlines() if line.strip().startswith("error: ")]
    assert len(problems) == 3  # one line per problem: duplicate id, negative balance, dpd not a number
    assert "rows excluded, per reason:" in out and "duplicate account id" in out
    assert "portfolio is usable" in out
    assert err == "" and "Traceback" not in out


def test_unusable_portfolio_exits_1_with_one_line_per_error(tmp_path, capsys):
    path = tmp_path / "fehler.csv"
    path.write_text("Konto;Saldo;dpd\nA;x;1\nB;y;2\nC;z;3\nD;4;4\n", encoding="utf-8")

    code, _, err = run(capsys, str(path))

    lines = err.strip().splitlines()
    assert code == 1
    assert len(lines) == 2  # balance not a number in 3 rows; 75 % of the rows excluded
    assert all(line.startswith("error: ") for line in lines)


def test_missing_required_columns_exit_1(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("a;b\n1;2\n3;4\n", encoding="utf-8")

    code, _, err = run(capsys, str(path))

    assert code == 1
    assert len(err.strip().splitlines()) == 2  # balance and days past due; ids come from row numbers
    assert "balance" in err and "days past due" in err


def test_garbled_file_exits_1_with_one_line(tmp_path, capsys):
    path = tmp_path / "kaputt.csv"
    path.write_bytes(b"\x00\x01\x02garbage\xff" * 50)

    code, _, err = run(capsys, str(path))

    assert code == 1
    assert err.count("\n") == 1 and "binary data" in err


def test_truncated_xlsx_exits_1_with_one_line(tmp_path, capsys):
    data = xlsx_bytes({"S": [["Konto", "Saldo", "dpd"], ["A", 1, 2]]})
    path = tmp_path / "halb.xlsx"
    path.write_bytes(data[: len(data) // 2])

    code, _, err = run(capsys, str(path))

    assert code == 1
    assert err.count("\n") == 1 and "truncated" in err


def test_truncated_csv_excludes_the_cut_row_by_its_number_and_exits_0(tmp_path, capsys):
    path = tmp_path / "halb.csv"
    path.write_bytes(GERMAN_CSV.encode("cp1252")[:-38])  # cut inside the last row's balance

    code, out, _ = run(capsys, str(path))

    assert code == 0  # 1 of 4 rows excluded: usable, like `personas run`
    assert "row 5" in out and "the file ends in the middle of this row" in out


def test_missing_file_is_a_usage_error_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, str(tmp_path / "fehlt.csv"))

    assert code == 2
    assert "file not found" in err


def test_mapping_file_is_applied(tmp_path, capsys):
    data = tmp_path / "x.csv"
    data.write_text("Akte;Betrag X;Tage\nA;1;1\nB;2;2\n", encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"Akte": "account_id", "Betrag X": "balance", "Tage": "days_past_due"}))

    code, out, _ = run(capsys, str(data), "--mapping", str(mapping))

    assert code == 0
    assert "set by the mapping" in out


def test_bad_mapping_exits_1_naming_the_problem(tmp_path, capsys):
    data = tmp_path / "x.csv"
    data.write_text("Akte;Saldo;dpd\nA;1;1\n", encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"Fehlt": "account_id"}))

    code, _, err = run(capsys, str(data), "--mapping", str(mapping))

    assert code == 1
    assert "'Fehlt'" in err


def test_size_cap_option_refuses_a_larger_file(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_bytes(GERMAN_CSV.encode("cp1252") * 20)

    code, _, err = run(capsys, str(path), "--max-mb", "0.001")

    assert code == 1
    assert "limit" in err and "--max-mb" in err


def test_sheet_option_selects_the_sheet(tmp_path, capsys):
    path = tmp_path / "b.xlsx"
    path.write_bytes(xlsx_bytes({"Info": [["x"], ["y"]], "Daten": [["Konto", "Saldo", "dpd"], ["A", 1, 2]]}))

    code, _, _ = run(capsys, str(path), "--sheet", "Daten")

    assert code == 0


def test_command_runs_as_a_module_without_traceback(tmp_path):
    path = tmp_path / "kaputt.xlsx"
    path.write_bytes(b"Konto;Saldo\nA;1\n")

    done = subprocess.run([sys.executable, "-m", "personas", "validate", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "looks like delimited text" in done.stderr


def test_non_positive_size_cap_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_bytes(GERMAN_CSV.encode("cp1252"))

    code, _, err = run(capsys, str(path), "--max-mb", "0")

    assert code == 2
    assert "--max-mb" in err


# ---------------------------------------------------------------- --json
def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


def test_json_lists_every_column_with_role_meaning_and_reason(tmp_path, capsys):
    from portfolio.load import load_portfolio

    path = tmp_path / "bestand.csv"
    path.write_bytes(GERMAN_CSV.encode("cp1252"))

    code, data = run_json(capsys, str(path))

    header = GERMAN_CSV.splitlines()[0].split(";")
    assert [c["name"] for c in data["columns"]] == header
    assert all({"name", "role", "meaning", "reason"} <= set(c) and c["reason"] for c in data["columns"])
    roles = {c["name"]: c["role"] for c in data["columns"]}
    assert roles["Kontonummer"] == "account_id" and roles["Offener Betrag"] == "balance"
    model = load_portfolio(path).roles
    meanings = getattr(model, "meanings", {}) or {}
    assert {c["column"]: c["meaning"] for c in data["columns"]} == {c: meanings.get(c) for c in model.roles}
    assert data["rows"] == {"read": 4, "used": 4, "excluded": {}}
    assert data["excluded_rows"] == [] and data["usable"] is True and data["exit_code"] == code == 0


def test_json_counts_excluded_rows_per_reason_and_lists_each_row(tmp_path, capsys):
    path = tmp_path / "fehler.csv"
    good = "".join(f"G{i};{i};{i}\n" for i in range(10))
    path.write_text("Konto;Saldo;dpd\nA;1;1\nA;2;2\nB;;3\nC;4;x\n" + good, encoding="utf-8")

    code, data = run_json(capsys, str(path))

    assert code == data["exit_code"] == 0 and data["usable"] is True
    assert data["rows"] == {"read": 14, "used": 10, "excluded": {
        "duplicate account id": 2, "balance is empty or NaN": 1, "days past due is not a number": 1}}
    assert [(r["row"], r["reason"]) for r in data["excluded_rows"]] == [
        (2, "duplicate account id"), (3, "duplicate account id"), (4, "balance is empty or NaN"),
        (5, "days past due is not a number")]
    assert any(p["code"] == "duplicate_id" and p["severity"] == "error" for p in data["problems"])


def test_json_of_a_file_without_ids_marks_the_generated_id_column(tmp_path, capsys):
    path = tmp_path / "ohne_id.csv"
    path.write_text("Saldo;dpd\n1;1\n2;2\n", encoding="utf-8")

    code, data = run_json(capsys, str(path))

    assert code == 0 and data["generated_ids"] is True
    generated = [c for c in data["columns"] if c["generated"]]
    assert [c["column"] for c in generated] == ["account_id"]
    assert any(p["code"] == "generated_ids" for p in data["problems"])


def test_json_of_an_unreadable_file_is_still_one_object_with_exit_code_1(tmp_path, capsys):
    path = tmp_path / "kaputt.csv"
    path.write_bytes(b"\x00\x01\x02garbage\xff" * 50)

    code, out, err = run(capsys, str(path), "--json")

    data = json.loads(out)
    assert code == data["exit_code"] == 1 and data["usable"] is False and data["columns"] == []
    assert "binary data" in data["problems"][0]["message"] and "binary data" in err


def _outcome_file(tmp_path, yes: str, no: str):
    path = tmp_path / "ziel.csv"
    path.write_text("Konto;Saldo;dpd;Ausgang\n" + "".join(
        f"K{i};{i};{i};{yes if i % 3 else no}\n" for i in range(30)), encoding="utf-8")
    return path


def test_json_reports_how_the_target_is_read(tmp_path, capsys):
    path = _outcome_file(tmp_path, "1", "2")

    code, data = run_json(capsys, str(path), "--target", "Ausgang", "--target-event", "default",
                          "--target-event-value", "2")

    assert code == 0
    assert data["target"] == {"column": "Ausgang", "event": "default", "event_value": "2", "other_value": "1",
                              "values": {"1": 20, "2": 10}, "coding": "event value named"}


def test_a_text_coded_target_without_its_event_value_exits_1_naming_column_values_and_option(tmp_path, capsys):
    path = _outcome_file(tmp_path, "paid", "unpaid")

    code, out, err = run(capsys, str(path), "--target", "Ausgang")

    assert code == 1
    assert "'Ausgang'" in err and "'paid' (20 rows)" in err and "'unpaid' (10 rows)" in err
    assert "--target-event-value paid" in err
    assert "Traceback" not in out + err


def test_a_ja_nein_target_is_read_as_yes_no_with_ja_as_the_event(tmp_path, capsys):
    path = _outcome_file(tmp_path, "ja", "nein")

    code, data = run_json(capsys, str(path), "--target", "Ausgang")

    assert code == 0
    assert data["target"]["values"] == {"true": 20, "false": 10} and data["target"]["event_value"] == "true"
    code, data = run_json(capsys, str(path), "--target", "Ausgang", "--target-event-value", "nein")
    assert code == 0 and data["target"]["event_value"] == "false"


def test_target_event_value_without_target_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "bestand.csv"
    path.write_bytes(GERMAN_CSV.encode("cp1252"))

    code, _, err = run(capsys, str(path), "--target-event-value", "2")

    assert code == 2 and "--target" in err
