"""``python -m personas validate``: roles and report on stdout; exit 0 usable, 1 blocking errors, 2 usage."""
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


def test_blocking_errors_exit_1_with_one_line_per_problem(tmp_path, capsys):
    path = tmp_path / "fehler.csv"
    good = "".join(f"G{i};{i};{i}\n" for i in range(10))
    path.write_text("Konto;Saldo;dpd\nA;1;1\nA;2;2\nB;-3;3\nC;4;x\n" + good, encoding="utf-8")

    code, out, err = run(capsys, str(path))

    lines = err.strip().splitlines()
    assert code == 1
    assert len(lines) == 3
    assert all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in out + err


def test_missing_required_column_exits_1(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("a;b\n1;2\n3;4\n", encoding="utf-8")

    code, _, err = run(capsys, str(path))

    assert code == 1
    assert len(err.strip().splitlines()) == 3


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


def test_truncated_csv_exits_1_naming_the_cut_row(tmp_path, capsys):
    path = tmp_path / "halb.csv"
    path.write_bytes(GERMAN_CSV.encode("cp1252")[:-38])  # cut inside the last row's balance

    code, _, err = run(capsys, str(path))

    assert code == 1
    assert "row 5" in err


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
