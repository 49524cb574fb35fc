"""The reader's shortcuts give what the long way gives (hypothesis): numbers parsed once per distinct
cell, the cell-by-cell parser skipped for cells without a digit, blank rows found column by column, and
Windows-1252 files not decoded line by line when no line can be UTF-8, and columns of ids or e-mail
addresses not counted for sex or marital-status levels."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.numbers import MISSING_TOKENS, _could_be_number, _parse_cells, _parse_slow, parse_numbers
from portfolio.read import _blank_rows
from portfolio.read_text import _decode_mixed, _has_utf8_sequence
from portfolio.synonyms import _CACHED_NAME_CHARS, _normalise_cached, normalise_name
from portfolio.vocabulary import _ALL_LEVELS, PROTECTED_LEVEL_SHARE, _mostly_not_levels

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Pieces of number-like and other cells: German and English separators, signs, currency, spaced-out
#: "inf", Arabic-Indic digits, integers beyond 2**53 and 2**64, words, blanks.
_PIECES = ["0", "7", "12", "1.234", "1,5", "-", "+", "€", "$", " ", "\u00a0", "e5", "i", "n", "f", "inf", "INF",
           "\u0661", "\u0662", "99999999999999999999", "18446744073709551617", "9007199254740993", "abc", "n/a",
           ".", ",", "x", "%"]
cells = st.lists(st.sampled_from(_PIECES), min_size=0, max_size=4).map("".join)


@PROPERTY
@given(column=st.lists(cells, min_size=1, max_size=40), convention=st.sampled_from(["de", "en"]))
def test_numbers_parsed_once_per_distinct_cell_are_the_numbers_of_every_cell(column, convention):
    text = pd.Series(column, dtype="str")

    parsed = parse_numbers(text, convention=convention)

    filled = text[~text.str.strip().str.lower().isin(MISSING_TOKENS)]
    every_cell = _parse_cells(filled.reset_index(drop=True), convention)
    expected = pd.Series(np.nan, index=text.index)
    expected[filled.index] = every_cell
    np.testing.assert_array_equal(parsed.values.to_numpy(), expected.to_numpy())


@PROPERTY
@given(column=st.lists(cells, min_size=1, max_size=30), convention=st.sampled_from(["de", "en"]))
def test_a_cell_the_slow_parser_reads_as_a_number_is_never_skipped(column, convention):
    text = pd.Series(column, dtype="str")

    numbers = _parse_slow(text, convention)

    for cell, number in zip(column, numbers):
        assert _could_be_number(cell) or np.isnan(number), cell


@PROPERTY
@given(rows=st.lists(st.lists(st.sampled_from([None, "", " ", "\t", "a", " b ", 0, 1.5]), min_size=3, max_size=3),
                     min_size=1, max_size=12))
def test_blank_rows_found_column_by_column_are_the_rows_blank_in_every_column(rows):
    raw = pd.DataFrame(rows, dtype=object)

    expected = (raw.isna() | raw.astype("str").apply(lambda col: col.str.strip() == "")).all(axis=1).to_numpy()

    np.testing.assert_array_equal(_blank_rows(raw), expected)


@PROPERTY
@given(data=st.binary(max_size=64), chunk=st.integers(min_value=1, max_value=8))
def test_a_utf8_lead_and_continuation_byte_is_found_across_chunk_borders(data, chunk):
    expected = re.search(rb"[\xc2-\xf4][\x80-\xbf]", data) is not None

    assert _has_utf8_sequence(data, chunk=chunk) == expected


@PROPERTY
@given(lines=st.lists(st.text(alphabet="aä€ß;1\u00fc\u0100", max_size=6), min_size=1, max_size=6),
       legacy=st.lists(st.booleans(), min_size=6, max_size=6))
def test_a_file_without_utf8_sequences_has_no_non_ascii_utf8_line(lines, legacy):
    data = b"\n".join(line.encode("cp1252", "replace") if old else line.encode("utf-8")
                      for line, old in zip(lines, legacy))

    if not _has_utf8_sequence(data):
        assert _decode_mixed(data, "x.csv") is None
        for line in data.split(b"\n"):
            try:
                assert line.decode("utf-8").isascii()
            except UnicodeDecodeError:
                pass


def test_long_column_names_are_normalised_the_same_without_the_cache():
    long_name = "Offener Betrag " * (_CACHED_NAME_CHARS // 10)
    cached_before = _normalise_cached.cache_info().currsize

    normalised = normalise_name(long_name)

    assert normalised == " ".join(["offener betrag"] * long_name.count("Offener"))
    assert _normalise_cached.cache_info().currsize == cached_before
    assert normalise_name("Überfälligkeit (in Tagen)") == "ueberfaelligkeit tagen"


@PROPERTY
@given(column=st.lists(st.sampled_from(["m", "w", " Frau.", "HERR", "ledig", "", " ", "..", "a1", "x@y.de", "12",
                                        "Anna", "0171 2345"]), min_size=1, max_size=60))
def test_a_column_ruled_out_by_its_digits_never_reaches_the_level_share(column):
    text = pd.Series(column, dtype="str")

    if _mostly_not_levels(text):
        keys = text.str.strip().str.lower().str.rstrip(".")
        known, filled = int(keys.isin(_ALL_LEVELS).sum()), int((keys != "").sum())
        assert known < PROTECTED_LEVEL_SHARE * filled
