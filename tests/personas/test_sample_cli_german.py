"""`personas --language de sample …` / `sample-payments`: help, messages and errors in German; the
English stays as it was. (`sample --language de` is the columns' language, not the messages'.)"""
from __future__ import annotations

import pytest

from application.cli import main
from core.i18n import use_language


def _run(argv: list[str]) -> int:
    with use_language("en"):  # the CLI sets the language of this context; put it back afterwards
        return main(argv)


def test_sample_reports_in_german_and_in_english(tmp_path, capsys):
    assert _run(["--language", "de", "sample", "--rows", "1200", "--out", str(tmp_path / "a.csv")]) == 0
    assert capsys.readouterr().err == f"1.200 Konten nach {tmp_path / 'a.csv'} geschrieben\n"
    assert _run(["sample", "--rows", "1200", "--out", str(tmp_path / "b.csv")]) == 0
    assert capsys.readouterr().err == f"wrote 1,200 accounts to {tmp_path / 'b.csv'}\n"
    # --language after `sample` names the columns' language: the messages stay English
    assert _run(["sample", "--rows", "30", "--language", "de", "--out", str(tmp_path / "c.csv")]) == 0
    assert capsys.readouterr().err.startswith("wrote 30 accounts to ")
    assert (tmp_path / "c.csv").read_bytes().startswith(b"Aktenzeichen;")


def test_the_next_month_reports_in_german(tmp_path, capsys):
    base = tmp_path / "m1.csv"
    assert _run(["sample", "--rows", "200", "--seed", "3", "--out", str(base)]) == 0
    capsys.readouterr()
    assert _run(["--language", "de", "sample", "--base", str(base), "--out", str(tmp_path / "m2.csv")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("Monat 2 geschrieben: ") and f"(200 in {base}) nach " in err


@pytest.mark.parametrize("argv, german, english", [
    (["sample", "--rows", "0", "--out", "x.csv"], "--rows muss eine positive Anzahl von Konten sein, erhalten: 0",
     "--rows must be a positive number of accounts, got 0"),
    (["sample", "--rows", "5", "--out", "x.txt"],
     "--out x.txt: Dateityp '.txt' wird nicht unterstützt; verwenden Sie einen von .csv, .parquet, .xlsx",
     "--out x.txt: unsupported file type '.txt'; use one of .csv, .parquet, .xlsx"),
    (["sample", "--rows", "5", "--out", "x"], "--out x: Dateityp fehlt; verwenden Sie einen von .csv, .parquet, .xlsx",
     "--out x: unsupported file type '(none)'; use one of .csv, .parquet, .xlsx"),
    (["sample", "--rows", "5", "--shift", "a=0.1", "--out", "x.csv"], "--shift braucht --base",
     "--shift needs --base (it moves an archetype's share in next month's file)"),
])
def test_usage_errors_in_german_and_english(tmp_path, monkeypatch, capsys, argv, german, english):
    monkeypatch.chdir(tmp_path)
    assert _run(["--language", "de", *argv]) == 2
    assert german in capsys.readouterr().err
    assert _run(argv) == 2
    assert english in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_errors_of_the_generator_and_the_payments_in_german(tmp_path, capsys):
    assert _run(["--language", "de", "sample", "--rows", "5", "--out", str(tmp_path / "nowhere" / "x.csv")]) == 1
    assert f"Ordner {tmp_path / 'nowhere'} existiert nicht; legen Sie ihn an" in capsys.readouterr().err
    portfolio = tmp_path / "p.csv"
    assert _run(["sample", "--rows", "50", "--out", str(portfolio)]) == 0
    capsys.readouterr()
    argv = ["sample-payments", "--export", str(tmp_path / "missing.csv"), "--portfolio", str(portfolio),
            "--out", str(tmp_path / "pay.csv")]
    assert _run(["--language", "de", *argv]) == 1
    assert f"{tmp_path / 'missing.csv'}: Exportdatei nicht gefunden." in capsys.readouterr().err
    assert _run(argv) == 1
    assert f"{tmp_path / 'missing.csv'}: export file not found." in capsys.readouterr().err


def test_the_help_is_german(capsys):
    with pytest.raises(SystemExit):
        _run(["--language", "de", "sample", "--help"])
    out = capsys.readouterr().out
    assert "Anzahl der Konten (Standard 5000)" in out and "number of accounts" not in out
    with pytest.raises(SystemExit):
        _run(["sample-payments", "--help"])
    assert "first day of the month paid in" in capsys.readouterr().out
