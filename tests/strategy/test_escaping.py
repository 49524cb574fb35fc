"""Formula-injection protection: no text cell starts with a trigger unescaped; escaping is idempotent."""
from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import given, settings, strategies as st
from openpyxl import load_workbook

from strategy.escape import (FORMULA_TRIGGERS, escape_cell, escape_frame, is_phone_number,
                             xlsx_safe_cell)
from strategy.export import render

triggerish = st.one_of(
    st.text(),
    st.builds(lambda t, rest: t + rest, st.sampled_from(FORMULA_TRIGGERS + ("'", " ")), st.text()),
)
PROVENANCE = {"run_id": "r", "persona_definitions": [{"persona_id": 0}]}


@given(triggerish)
def test_an_escaped_cell_never_starts_with_a_formula_trigger(text):
    if is_phone_number(text):  # "+49 170 …" keeps its "+" (next test)
        return
    assert not escape_cell(text).startswith(FORMULA_TRIGGERS)
    assert not xlsx_safe_cell(text).startswith(FORMULA_TRIGGERS)


def test_phone_numbers_keep_their_plus_and_formulas_do_not():
    for phone in ("+49 170 1234567", "+491701234567", "+49 (0)30/123-4567", "+1-202-555-0143"):
        assert escape_cell(phone) == phone
    for formula in ("+SUM(A1)", "+49+cmd|' /C calc'!A0", "+1+1", "+A1", "+49 170 12345 =1"):
        assert escape_cell(formula) == "'" + formula


@given(triggerish)
def test_escaping_twice_changes_nothing(text):
    assert escape_cell(escape_cell(text)) == escape_cell(text)
    assert xlsx_safe_cell(xlsx_safe_cell(text)) == xlsx_safe_cell(text)


@given(triggerish)
def test_escaping_only_adds_a_leading_quote(text):
    escaped = escape_cell(text)
    assert escaped in (text, "'" + text)


def test_numbers_and_booleans_are_not_text_and_stay_as_they_are():
    frame = escape_frame(pd.DataFrame({"n": [-1.5, 2.0], "b": [True, False], "t": ["-1", "ok"]}))
    assert frame["n"].tolist() == [-1.5, 2.0] and frame["b"].tolist() == [True, False]
    assert frame["t"].tolist() == ["'-1", "ok"]


def _csv_cells(content: bytes) -> list[str]:
    return [c for row in csv.reader(io.StringIO(content.decode("utf-8"), newline="")) for c in row]


def _xlsx_cells(content: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
             for c in row if isinstance(c, str)]
    book.close()
    return cells


@settings(max_examples=40, deadline=None)
@given(st.lists(triggerish, min_size=1, max_size=6), triggerish)
def test_no_exported_text_cell_starts_with_a_formula_character(values, header):
    table = pd.DataFrame({"persona_name": values, header or "x": values, "size": range(len(values))})
    for fmt, cells in (("csv", _csv_cells), ("xlsx", _xlsx_cells)):
        content, _sidecar = render(fmt, table, table, None, PROVENANCE)
        assert [c for c in cells(content) if c.startswith(FORMULA_TRIGGERS)] == []
