"""The outcome column for the risk model: 0/1 is read as is, any other pair needs its event value."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from core.errors import PortfolioError
from portfolio.target import check_target

N = 40


def frame(values) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [f"A{i}" for i in range(len(values))], "outcome": values})


def test_a_0_1_column_is_read_with_1_as_the_event():
    coding = check_target(frame([0, 1] * (N // 2)), "outcome")

    assert coding.event_value == "1"
    assert coding.encode(frame([0, 1, 1])["outcome"]).tolist() == [0, 1, 1]


def test_a_boolean_column_is_read_like_0_1():
    coding = check_target(frame([False, True] * (N // 2)), "outcome", event="default")

    assert coding.encode(pd.Series([True, False])).tolist() == [1, 0]


@pytest.mark.parametrize("pair", [(1, 2), ("ja", "nein"), ("yes", "no"), ("paid", "unpaid"), ("J", "N")])
def test_any_other_pair_asks_which_value_is_the_event(pair):
    with pytest.raises(PortfolioError) as err:
        check_target(frame(list(pair) * (N // 2)), "outcome", source_name="export.csv")

    message = str(err.value)
    assert "export.csv" in message and "'outcome'" in message
    assert f"'{pair[0]}' ({N // 2} rows)" in message and f"'{pair[1]}' ({N // 2} rows)" in message
    assert "--target-event-value" in message


def test_the_named_event_value_decides_the_coding():
    coding = check_target(frame([1, 2] * (N // 2)), "outcome", event="default", event_value="2")

    assert coding.encode(pd.Series([1, 2, 2.0, "2"])).tolist() == [0, 1, 1, 1]
    assert coding.to_dict()["values"] == {"1": N // 2, "2": N // 2}


def test_event_values_are_matched_without_case_or_spaces():
    coding = check_target(frame([" Ja", "Nein"] * (N // 2)), "outcome", event_value="ja")

    assert coding.encode(pd.Series(["ja", "JA ", "nein"])).tolist() == [1, 1, 0]


def test_a_0_1_column_can_be_read_the_other_way_round():
    coding = check_target(frame([0, 1] * (N // 2)), "outcome", event_value="0")

    assert coding.encode(pd.Series([0, 1])).tolist() == [1, 0]


def test_an_event_value_the_column_does_not_hold_is_refused_listing_the_values():
    with pytest.raises(PortfolioError, match=r"no value '3'.*'1' .*'2' "):
        check_target(frame([1, 2] * (N // 2)), "outcome", event_value="3")


def test_empty_outcomes_are_refused_naming_the_file_rows():
    values = [0, 1] * (N // 2)
    values[4] = None
    values[7] = ""
    with pytest.raises(PortfolioError, match=r"empty in 2 rows \(rows 16, 19\)"):
        check_target(frame(values), "outcome", row_numbers=np.arange(N) + 12)


@pytest.mark.parametrize("values, words", [([0] * N, "one value"), (list(range(N)), "40 different values")])
def test_a_column_without_exactly_two_values_is_refused(values, words):
    with pytest.raises(PortfolioError, match=words):
        check_target(frame(values), "outcome")


def test_an_outcome_with_too_few_accounts_of_one_kind_is_refused():
    with pytest.raises(PortfolioError, match="at least 5 of each"):
        check_target(frame([0] * (N - 3) + [1] * 3), "outcome")


def test_a_missing_column_is_refused_listing_the_columns():
    with pytest.raises(PortfolioError, match="not a column.*account_id"):
        check_target(frame([0, 1] * 10), "paid")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["a", "b"]), min_size=10, max_size=60).filter(
    lambda v: min(v.count("a"), v.count("b")) >= 5))
def test_the_encoded_events_count_the_rows_holding_the_event_value(values):
    coding = check_target(frame(values), "outcome", event_value="b")

    assert int(coding.encode(frame(values)["outcome"]).sum()) == values.count("b")
