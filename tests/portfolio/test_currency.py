"""The run's currency: decided once from the portfolio (a currency column or a setting), never a made-up €."""
from __future__ import annotations

import pandas as pd
import pytest

from core.errors import UserError
from portfolio.currency import Currency, currency_of_run, format_amount, normalise_code, portfolio_currency
from portfolio.roles import detect_roles


def _frame(**extra) -> pd.DataFrame:
    frame = pd.DataFrame({"account_id": [f"A{i}" for i in range(6)], "balance": [10.0, 20, 30, 40, 50, 60],
                          "days_past_due": [1, 2, 3, 4, 5, 6]})
    for name, values in extra.items():
        frame[name] = values
    return frame


def test_a_currency_column_with_one_value_decides():
    frame = _frame(currency=["USD"] * 6)
    currency = portfolio_currency(frame, detect_roles(frame))
    assert (currency.code, currency.symbol, currency.source) == ("USD", "$", "column")
    assert "currency" in currency.reason


def test_a_german_waehrung_column_of_symbols_is_read():
    frame = _frame(**{"Währung": ["€"] * 6})
    assert portfolio_currency(frame).code == "EUR"


def test_the_column_wins_over_the_setting_and_says_so():
    frame = _frame(currency=["USD"] * 6)
    currency = portfolio_currency(frame, detect_roles(frame), setting="EUR")
    assert currency.code == "USD" and "--currency EUR not used" in currency.reason


def test_no_column_and_no_setting_is_unknown_never_euro():
    currency = portfolio_currency(_frame())
    assert currency.code is None and currency.source == "unknown"
    assert currency.note() == "currency unknown" and currency.label() == "currency unknown"
    assert format_amount(1234.5, currency) == "1,234.50"


def test_a_setting_is_used_without_a_column():
    currency = portfolio_currency(_frame(), setting="eur")
    assert (currency.code, currency.source) == ("EUR", "setting")
    assert format_amount(1234.5, currency) == "€1,234.50"
    assert format_amount(1234.5, currency, "de") == "1.234,50 €"


def test_mixed_currencies_are_named_and_shown_without_a_symbol():
    frame = _frame(currency=["EUR"] * 4 + ["USD"] * 2)
    currency = portfolio_currency(frame, detect_roles(frame), setting="EUR")
    assert currency.source == "mixed" and currency.code is None
    assert "EUR 4" in currency.reason and "USD 2" in currency.reason and "cannot be summed" in currency.reason
    assert format_amount(99, currency) == "99.00" and "mixed currencies" in currency.note()


@pytest.mark.parametrize("bad", ["euros please", "12", "XX"])
def test_an_invalid_setting_is_a_user_error(bad):
    with pytest.raises(UserError, match="not a currency"):
        portfolio_currency(_frame(), setting=bad)


def test_amounts_are_written_per_currency_and_language():
    assert format_amount(-5, Currency.of_code("USD")) == "-$5.00"
    assert format_amount(1234.5, Currency.of_code("CHF"), "de") == "1.234,50 CHF"
    assert format_amount(1234.5, Currency.of_code("GBP"), decimals=0) == "£1,235"
    assert format_amount(None, Currency.of_code("EUR")) == "–"
    assert normalise_code("Euro") == "EUR" and normalise_code("") is None


def test_the_run_json_section_round_trips_and_old_runs_are_unknown():
    currency = portfolio_currency(_frame(), setting="USD")
    meta = {"parameters": {"currency": currency.to_dict()}}
    assert currency_of_run(meta) == currency
    assert currency_of_run({"parameters": {}}).code is None
    assert currency_of_run(None).code is None
