"""``python -m personas sample``: writes csv/parquet/xlsx atomically; bad arguments exit 2, unwritable paths 1."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from application.cli import main
from sample_data.generator import generate_portfolio, write_portfolio
from core.errors import UserError


def test_writes_a_csv_that_reads_back(tmp_path):
    out = tmp_path / "book.csv"
    assert main(["sample", "--rows", "50", "--seed", "3", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 50 and frame["account_id"].is_unique
    assert frame["balance"].tolist() == generate_portfolio(50, seed=3)["balance"].tolist()


def test_writes_parquet_with_the_generated_frame(tmp_path):
    out = tmp_path / "book.parquet"
    assert main(["sample", "--rows", "40", "--out", str(out)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out), generate_portfolio(40, seed=42), check_dtype=False)


def test_german_csv_uses_semicolons_decimal_commas_and_cp1252(tmp_path):
    out = tmp_path / "export.csv"
    assert main(["sample", "--rows", "30", "--language", "de", "--out", str(out)]) == 0
    header = out.read_bytes().splitlines()[0].decode("cp1252")
    assert header.startswith("Aktenzeichen;Offener Betrag;") and "Straße" in header
    frame = pd.read_csv(out, sep=";", decimal=",", encoding="cp1252")
    assert frame["Offener Betrag"].tolist() == generate_portfolio(30, seed=42)["balance"].tolist()


def test_writes_xlsx(tmp_path):
    out = tmp_path / "book.xlsx"
    assert main(["sample", "--rows", "10", "--out", str(out)]) == 0
    assert len(pd.read_excel(out)) == 10


@pytest.mark.parametrize("rows", ["0", "-3"])
def test_a_non_positive_row_count_is_a_usage_error(tmp_path, capsys, rows):
    assert main(["sample", "--rows", rows, "--out", str(tmp_path / "x.csv")]) == 2
    assert "--rows" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_non_numeric_row_count_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["sample", "--rows", "many", "--out", str(tmp_path / "x.csv")])
    assert exit_info.value.code == 2


def test_an_unknown_extension_is_a_usage_error(tmp_path, capsys):
    assert main(["sample", "--rows", "5", "--out", str(tmp_path / "x.txt")]) == 2
    assert ".csv, .parquet, .xlsx" in capsys.readouterr().err


def test_a_missing_folder_exits_1_with_one_line(tmp_path, capsys):
    assert main(["sample", "--rows", "5", "--out", str(tmp_path / "nowhere" / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_a_read_only_folder_exits_1(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["sample", "--rows", "5", "--out", str(locked / "x.csv")]) == 1


def test_a_failed_write_leaves_neither_a_half_file_nor_a_temp_file(tmp_path, monkeypatch):
    out = tmp_path / "book.csv"
    out.write_text("previous content")

    def fail(self, path, *args, **kwargs):
        with open(path, "w") as handle:
            handle.write("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail)
    with pytest.raises(UserError, match="No space left"):
        write_portfolio(generate_portfolio(5), out)
    assert out.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["book.csv"]


def test_written_files_get_the_usual_permissions(tmp_path):
    out = write_portfolio(generate_portfolio(5), tmp_path / "book.parquet")
    assert out.stat().st_mode & 0o044  # readable by group/others as with a plain open(), not mkstemp's 0600


def test_an_out_path_that_is_a_folder_exits_1_and_leaves_no_temp_file(tmp_path, capsys):
    (tmp_path / "taken.csv").mkdir()
    assert main(["sample", "--rows", "5", "--out", str(tmp_path / "taken.csv")]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["taken.csv"]
