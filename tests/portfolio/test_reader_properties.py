"""Whatever a user uploads, reading and validating ends in a frame, a report or a UserError (hypothesis).

A modest number of examples keeps the normal suite fast; ``make fuzz`` runs the same properties with
many more (tests/fuzz), which also runs them in the normal suite. Every XLSX or Parquet example starts a
parser process (``portfolio.read_guard``, about a second each), so those properties get fewer. Measured
with coverage (two seeds each; lines of portfolio/ and core/ run in this process): 40/20 examples reach
1,790-1,797 lines, 200/60 reached 1,814-1,820 for about 3.5 times the CPU time. The main path only the
larger runs reached, a file mixing UTF-8 and Windows-1252 lines, has an example test of its own
(test_hostile_inputs.py).
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio.roles import detect_roles
from portfolio.validate import validate_portfolio
from portfolio_strategies import (
    FILENAMES, arbitrary_bytes, damaged_files, delimited_text, frame_as_file, load_or_user_error,
    read_or_user_error, small_frames,
)

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(data=arbitrary_bytes(), filename=st.sampled_from(FILENAMES))
def test_arbitrary_bytes_end_in_a_frame_or_a_user_error(data, filename):
    read_or_user_error(data, filename)


@PROPERTY
@given(data=delimited_text())
def test_arbitrary_delimited_text_loads_or_fails_with_a_user_error(data):
    load_or_user_error(data, "upload.csv")


@FEWER
@given(damaged=damaged_files())
def test_damaged_csv_xlsx_and_parquet_files_end_in_a_report_or_a_user_error(damaged):
    data, filename = damaged
    load_or_user_error(data, filename)


@PROPERTY
@given(frame=small_frames())
def test_arbitrary_small_frames_validate_to_a_report_or_a_user_error(frame):
    load_or_user_error(frame)
    report = validate_portfolio(frame, detect_roles(frame))
    assert report.n_rows_read == len(frame)


@FEWER
@given(frame=small_frames(), kind=st.sampled_from(["csv", "xlsx", "parquet"]))
def test_arbitrary_small_frames_written_to_files_load_or_fail_with_a_user_error(frame, kind):
    data = frame_as_file(frame, kind)
    if data is not None:
        load_or_user_error(data, f"frame.{kind}")
