"""Whatever a user puts in the outcome column, the result is the event vector or a UserError."""
from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from explain.features import event_vector
from core.errors import UserError

SPELLINGS = {"yes": 1, "no": 0, "true": 1, "false": 0, "1": 1, "0": 0, "ja": 1, "nein": 0}
cells = st.one_of(st.sampled_from(sorted(SPELLINGS)), st.text(max_size=6), st.integers(-2, 3),
                  st.floats(allow_nan=True), st.none())


@settings(max_examples=150, deadline=None)
@given(st.lists(cells, min_size=1, max_size=20), st.sampled_from(["paid", "default"]))
def test_outcome_column_gives_events_or_a_user_error_naming_it(values, target_event):
    frame = pd.DataFrame({"outcome": pd.Series(values, dtype=object)})
    try:
        event = event_vector(frame, "outcome", target_event)
    except UserError as err:
        assert '"outcome"' in str(err)
        return
    assert set(event.tolist()) <= {0, 1} and len(event) == len(values)


@given(st.lists(st.sampled_from(sorted(SPELLINGS)), min_size=1, max_size=30))
def test_paid_and_default_readings_are_mirror_images(values):
    frame = pd.DataFrame({"outcome": [v.upper() if i % 2 else v for i, v in enumerate(values)]})
    paid = event_vector(frame, "outcome", "paid")
    default = event_vector(frame, "outcome", "default")
    assert (paid + default == 1).all()
    assert default.tolist() == [SPELLINGS[v] for v in values]
