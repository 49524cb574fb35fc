"""Fuzz the reader and validator: any upload ends in a frame, a report or a UserError, never a crash.

Run with ``make fuzz`` (profile "fuzz": ``FUZZ_EXAMPLES`` examples per property, default 1,500, a few
minutes). In the normal suite each property runs :data:`SMOKE_EXAMPLES` examples. Crashes found here
are fixed and kept as explicit regression examples below (``@example``) and in tests/portfolio.
"""
from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portfolio.roles import detect_roles
from portfolio.validate import validate_portfolio
from portfolio_strategies import (
    FILENAMES, arbitrary_bytes, damaged_files, delimited_text, frame_as_file, load_or_user_error,
    read_or_user_error, small_frames,
)

SMOKE_EXAMPLES = 20
FUZZING = settings.get_current_profile_name() == "fuzz"
#: Under the fuzz profile take its example count (and time budget per property); else a smoke run.
FUZZ = settings(max_examples=settings.default.max_examples if FUZZING else SMOKE_EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(data=arbitrary_bytes(), filename=st.sampled_from(FILENAMES))
@example(data=b"PK\x03\x04" + b"\x00" * 40, filename="f.xlsx")
@example(data=b"PAR1PAR1", filename="f.parquet")
@example(data=b"\xff\xfe\x00\x00", filename="f.csv")
@example(data=b'"', filename="f.csv")
def test_fuzz_arbitrary_bytes(data, filename):
    read_or_user_error(data, filename)


@FUZZ
@given(data=delimited_text())
@example(data="Offener Betrag\n:\n,\n".encode())  # a line break in a value once split a problem line
@example(data="Konto;Saldo;dpd\nA;1;1\nB;2".encode())  # file cut inside the last row
def test_fuzz_delimited_text(data):
    load_or_user_error(data, "upload.csv")


@FUZZ
@given(damaged=damaged_files())
def test_fuzz_damaged_files(damaged):
    data, filename = damaged
    load_or_user_error(data, filename)


@FUZZ
@given(frame=small_frames())
@example(frame=pd.DataFrame({"Offener Betrag": [":\n,"]}, dtype=object))
def test_fuzz_frames_in_memory(frame):
    load_or_user_error(frame)
    validate_portfolio(frame, detect_roles(frame))


@FUZZ
@given(frame=small_frames(), kind=st.sampled_from(["csv", "xlsx", "parquet"]))
def test_fuzz_frames_as_files(frame, kind):
    data = frame_as_file(frame, kind)
    if data is not None:
        load_or_user_error(data, f"frame.{kind}")
