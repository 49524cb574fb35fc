"""The command line speaks the operator's language: ``--language`` (before the command, or after any
command without a ``--language`` of its own), else ``PERSONAS_LANGUAGE``, else English. Validation
messages name the file, the column and the rows in German too; ``--json`` stays English; texts stored
in English (excluded-row reasons, column reasons) are shown translated, old ones as they are."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import i18n

REPO = Path(__file__).resolve().parents[2]

#: A German ERP export with a duplicated account, a text in the amounts, a negative days-past-due and
#: an empty amount: every row problem the validator knows, on rows 3, 4 and 5 of the file.
GERMAN_EXPORT = ("Konto;Offener Betrag;Tage überfällig;Branche\n"
                 "A1;100,50;10;telecom\nA2;abc;20;energy\nA2;5;-3;energy\nA4;;5;energy\n"
                 + "".join(f"B{i};{i},00;{i};telecom\n" for i in range(10, 30)))


@pytest.fixture(autouse=True)
def _language_restored(monkeypatch):
    """``main()`` sets the language of this context; put it back so that other tests see English."""
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    token = i18n._language.set(None)
    yield
    i18n._language.reset(token)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _validate(capsys, *argv: str) -> tuple[int, str, str]:
    from application.cli import main

    code = main(["validate", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_with_language_de_prints_german_and_english_stays_the_default(tmp_path, capsys):
    path = _write(tmp_path, "export.csv", GERMAN_EXPORT)
    code_en, out_en, _err = _validate(capsys, str(path))
    code_de, out_de, _err = _validate(capsys, str(path), "--language", "de")
    assert code_en == code_de == 0
    assert "report:" in out_en and "rows excluded, per reason:" in out_en
    assert "Bericht:" not in out_en
    assert "Bericht:" in out_de and "ausgeschlossene Zeilen je Grund:" in out_de
    assert "Zusammenfassung: 24 Zeilen gelesen, 3 ausgeschlossen, 21 verwendbar" in out_de
    assert "report:" not in out_de and "rows read" not in out_de


def test_personas_language_de_in_the_environment_prints_german(tmp_path, capsys, monkeypatch):
    path = _write(tmp_path, "export.csv", GERMAN_EXPORT)
    monkeypatch.setenv("PERSONAS_LANGUAGE", "de")
    code, out, _err = _validate(capsys, str(path))
    assert code == 0
    assert "Bericht:" in out
    # the option wins over the environment
    code, out, _err = _validate(capsys, str(path), "--language", "en")
    assert "report:" in out and "Bericht:" not in out


def test_a_german_users_validation_error_names_file_column_and_rows_in_german(tmp_path, capsys):
    path = _write(tmp_path, "bestand_2026-11.csv", GERMAN_EXPORT.replace("A4;;5", "A4;;5").replace(
        "".join(f"B{i};{i},00;{i};telecom\n" for i in range(10, 30)), ""))
    code, out, err = _validate(capsys, str(path), "--language", "de")
    assert code == 1  # three of four rows excluded: more than half
    assert out.startswith("bestand_2026-11.csv: csv, Kodierung utf-8, Trennzeichen ';', 4 Zeilen, 4 Spalten")
    errors = [line for line in err.splitlines() if line.startswith("Fehler: ")]
    assert "Fehler: Spalte 'Offener Betrag' (balance): 1 Wert ist keine Zahl (z. B. 'abc'; Zeile 3); " \
           "ausgeschlossen [Zeilennummern wie in der Datei: ihre erste Zeile (normalerweise die Kopfzeile) " \
           "ist Zeile 1]" in errors
    assert any(line.startswith("Fehler: Spalte 'Konto' (account_id): 2 Zeilen teilen 1 Kontonummer(n)")
               and "Zeilen 3, 4" in line for line in errors)
    assert any("3 von 4 Zeilen (75 %) haben blockierende Probleme" in line and "korrigieren Sie die Datei" in line
               for line in errors)
    assert not any(line.startswith("error: ") for line in err.splitlines())


def test_a_missing_file_is_refused_in_german(tmp_path, capsys):
    code, _out, err = _validate(capsys, str(tmp_path / "fehlt.csv"), "--language", "de")
    assert code == 2
    assert err.strip() == f"Fehler: {tmp_path / 'fehlt.csv'}: Datei nicht gefunden."


def test_an_unreadable_file_names_the_file_and_what_to_do_in_german(tmp_path, capsys):
    path = tmp_path / "bestand.csv"
    path.write_bytes(b"%PDF-1.7 binary")
    code, _out, err = _validate(capsys, str(path), "--language", "de")
    assert code == 1
    assert "Fehler: bestand.csv: ist ein PDF-Dokument, keine Tabelle." in err


def test_json_output_stays_english_and_locale_free(tmp_path, capsys):
    path = _write(tmp_path, "export.csv", GERMAN_EXPORT)
    _code, english, _err = _validate(capsys, str(path), "--json")
    _code, german, _err = _validate(capsys, str(path), "--json", "--language", "de")
    assert json.loads(german) == json.loads(english)
    data = json.loads(german)
    assert data["rows"]["excluded"] == {"duplicate account id; balance is not a number": 1,
                                        "duplicate account id; days past due is negative": 1,
                                        "balance is empty or NaN": 1}


def test_help_and_usage_errors_follow_the_language(capsys):
    from application.cli import main

    with pytest.raises(SystemExit):
        main(["--language", "de", "validate", "--help"])
    shown = capsys.readouterr().out
    assert shown.startswith("Aufruf: personas validate")
    assert "Liest einen Bestand (CSV, XLSX oder Parquet)" in shown
    assert "Optionen:" in shown
    with pytest.raises(SystemExit) as stopped:
        main(["validate", "--language", "de"])
    assert stopped.value.code == 2
    assert "personas validate: Fehler: Folgende Argumente fehlen: FILE" in capsys.readouterr().err


def test_every_command_takes_the_language_of_its_messages():
    """``--language`` means the messages' language after every command without its own ``--language``;
    ``run --language`` stays the language of the persona names (the messages' goes before ``run``)."""
    from application.cli import LANGUAGE_DEST, _subparsers, build_parser, requested_language

    parser = build_parser()

    def leaves(current, path=()):
        children = _subparsers(current)
        if not children:
            yield path, current
        for name, child in children.items():
            yield from leaves(child, (*path, name))

    for path, leaf in leaves(parser):
        own = [a for a in leaf._actions if "--language" in a.option_strings]
        assert own, f"{' '.join(path)} has no --language"
        if path[-1] not in ("run", "sample", "sample-payments"):
            assert own[0].dest == LANGUAGE_DEST, path
    assert requested_language(["validate", "x.csv", "--language", "de"], parser) == "de"
    assert requested_language(["review", "list", "--run", "r", "--user", "u", "--language=de"], parser) == "de"
    assert requested_language(["users", "list", "--language", "de"], parser) == "de"
    assert requested_language(["run", "x.csv", "--out", "o", "--language", "de"], parser) is None
    assert requested_language(["--language", "de", "run", "x.csv", "--out", "o", "--language", "en"], parser) == "de"


def test_run_refusals_are_german_and_run_language_names_the_personas(tmp_path, capsys):
    from application.cli import main

    out_dir = tmp_path / "existing"
    out_dir.mkdir()
    path = _write(tmp_path, "export.csv", GERMAN_EXPORT)
    assert main(["--language", "de", "run", str(path), "--out", str(out_dir)]) == 1
    assert "Fehler: --out " in capsys.readouterr().err
    assert main(["run", str(path), "--out", str(out_dir), "--language", "de"]) == 1
    assert capsys.readouterr().err.startswith("error: --out ")  # the names' language, not the messages'


def test_stored_english_reasons_are_shown_translated_and_unknown_ones_as_they_are():
    from portfolio.reason_text import reason_text
    from portfolio.report import excluded_reason_text, rows_summary

    assert excluded_reason_text("duplicate account id; balance is not a number", "de") == \
        "doppelte Kontonummer; offener Betrag ist keine Zahl"
    assert excluded_reason_text("a reason written by a later version", "de") == "a reason written by a later version"
    assert excluded_reason_text("balance is empty or NaN", "en") == "balance is empty or NaN"
    rows = {"read": 5000, "used": 4000, "excluded": {"balance is empty or NaN": 1000}}
    assert rows_summary(rows) == "5,000 rows read, 4,000 used, 1,000 excluded (1,000 balance is empty or NaN)"
    assert rows_summary(rows, "de") == \
        "5.000 Zeilen gelesen, 4.000 verwendet, 1.000 ausgeschlossen (1.000 offener Betrag ist leer oder NaN)"
    assert rows_summary({"read": 10, "used": 8}, "de") == \
        "10 Zeilen gelesen, 8 verwendet, 2 ausgeschlossen (Gründe in diesem Lauf nicht vermerkt)"
    assert reason_text("matched German synonym 'saldo' for balance", "de") == \
        "deutsches Synonym 'saldo' für balance erkannt"
    assert reason_text("numeric: used as a behavioural feature; meaning disputed: matched German synonym "
                       "'bestritten' in 'Bestritten'", "de") == (
        "numerisch: als Verhaltensmerkmal verwendet; Bedeutung Forderung bestritten: deutsches Synonym "
        "'bestritten' in 'Bestritten' erkannt")
    assert reason_text("id-like or free text: 1,234 distinct values in 2,000 filled rows (62%); not useful "
                       "for grouping", "de") == ("id-artig oder Freitext: 1.234 verschiedene Werte in 2.000 "
                                                 "gefüllten Zeilen (62 %); nicht nützlich zum Gruppieren")
    assert reason_text("typed by hand", "de") == "typed by hand"
    assert reason_text("column 'Währung' holds EUR on every row (--currency USD not used: the column decides)",
                       "de") == "Spalte 'Währung' enthält in jeder Zeile EUR (--currency USD nicht verwendet: " \
                                "die Spalte entscheidet)"


def test_problems_keep_their_english_message_and_show_in_german(tmp_path):
    from portfolio.load import load_portfolio

    portfolio = load_portfolio(_write(tmp_path, "export.csv", GERMAN_EXPORT))
    report = portfolio.report
    assert report.problems
    for problem in report.problems:
        assert problem.message.isascii() or "ü" in problem.message  # English as before (column names aside)
        assert problem.display("en") == problem.message
        assert problem.display("de") != problem.message, problem.message
    assert set(report.excluded_rows["reason"]) == {"duplicate account id; balance is not a number",
                                                   "duplicate account id; days past due is negative",
                                                   "balance is empty or NaN"}
    with i18n.use_language("de"):  # stored texts stay English whatever the reader's language
        again = load_portfolio(_write(tmp_path, "export2.csv", GERMAN_EXPORT)).report
    assert [p.message for p in again.problems] == [p.message for p in report.problems]
    assert again.rows_section() == report.rows_section()


def test_a_portfolio_error_is_english_when_stored_and_german_when_shown(tmp_path):
    from core.errors import PortfolioError
    from portfolio.load import load_portfolio

    path = tmp_path / "leer.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(PortfolioError) as raised:
        load_portfolio(path)
    err = raised.value
    assert err.english == "leer.csv: the file is empty."
    assert err.args == ("leer.csv: the file is empty.",)
    with i18n.use_language("de"):
        assert str(err) == "leer.csv: Die Datei ist leer."
        assert err.lines == ["leer.csv: Die Datei ist leer."]
    with i18n.use_language("en"):
        assert str(err) == "leer.csv: the file is empty."


def test_the_command_line_in_a_fresh_process_is_german(tmp_path):
    """``python -m personas validate FILE --language de`` as an operator types it."""
    path = _write(tmp_path, "export.csv", GERMAN_EXPORT)
    env = {k: v for k, v in os.environ.items() if k != i18n.ENV_VAR}
    done = subprocess.run([sys.executable, "-m", "personas", "validate", str(path), "--language", "de"],
                          capture_output=True, text=True, cwd=str(REPO), env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Bericht:" in done.stdout
    assert "Zusammenfassung: 24 Zeilen gelesen" in done.stdout
    assert "Traceback" not in done.stderr
