"""The bundled sample the app opens: a German ERP export of generate_portfolio(5000, seed 42, language "de")."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from sample_data.generator import generate_portfolio

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "sample_portfolio.csv"


def test_the_bundled_sample_is_the_seed_42_german_export():
    assert SAMPLE.stat().st_size < 2 * 2**20
    text_columns = {"Aktenzeichen": str, "PLZ": str, "Telefon": str, "IBAN": str}
    bundled = pd.read_csv(SAMPLE, sep=";", decimal=",", encoding="cp1252", dtype=text_columns)
    expected = generate_portfolio(5_000, seed=42, language="de")
    expected["Beste Antwortstunde"] = expected["Beste Antwortstunde"].astype(float)  # CSV: empty -> NaN
    assert list(bundled.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(bundled, expected, check_dtype=False, check_exact=False, rtol=1e-12)
