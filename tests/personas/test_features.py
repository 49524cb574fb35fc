"""FeatureBuilder: which columns become features and how they are transformed and weighted."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from persona_synthetic import synthetic_frame, synthetic_roles
from personas.features import FeatureBuilder, feature_columns


def _builder(frame=None, **kwargs):
    frame = synthetic_frame(600, seed=3) if frame is None else frame
    return FeatureBuilder(feature_columns(frame, synthetic_roles(frame)), **kwargs).fit(frame), frame


def test_only_behavioural_columns_become_features():
    builder, _ = _builder()
    assert {"balance", "days_past_due"} <= set(builder.used_columns)
    for never in ("account_id", "email", "age", "paid_90d", "true_persona"):
        assert never not in builder.used_columns
        assert not any(name.startswith(never) for name in builder.feature_names_out_)


def test_heavy_tailed_amounts_are_log_transformed_and_rates_are_not():
    builder, _ = _builder()
    spec = {s["column"]: s for s in builder.specs_}
    assert spec["balance"]["log"] is True
    assert spec["contact_response_rate"]["log"] is False


def test_missing_values_are_imputed_and_flagged_only_when_missingness_goes_with_behaviour():
    # Issue 15: contact_response_rate is missing for 3 % of accounts completely at random, so a
    # missing flag would only cut personas in two; it is imputed and not flagged.
    builder, frame = _builder()
    X = builder.transform(frame)
    assert np.isfinite(X).all()
    assert "contact_response_rate (missing)" not in builder.feature_names_out_
    # the former behaviour (median and a flag for every column with gaps) stays available
    plain, _ = _builder(relevance=False)
    flag = plain.transform(frame)[:, plain.feature_names_out_.index("contact_response_rate (missing)")]
    assert flag.sum() == frame["contact_response_rate"].isna().sum()


def test_a_categorical_without_behaviour_weighs_far_less_than_one_numeric_feature():
    builder, _ = _builder()
    region = next(s for s in builder.specs_ if s["column"] == "region")
    # Independent of every behaviour column: a few percent of a numeric feature's weight at most.
    assert region["weight"] < 0.2


def test_each_one_hot_group_weighs_like_one_numeric_feature_without_relevance_scaling():
    builder, frame = _builder(categorical_relevance=False)
    X = builder.transform(frame)
    columns = [i for i, n in enumerate(builder.feature_names_out_) if n.startswith("region = ")]
    onehot = X[:, columns]
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(X), 4000), rng.integers(0, len(X), 4000)
    mean_sq = np.mean(np.sum((onehot[a] - onehot[b]) ** 2, axis=1))
    assert abs(mean_sq - 2.0) < 0.3  # a robust-scaled numeric adds about 2 on average


def test_rare_levels_are_grouped_as_other():
    frame = synthetic_frame(600, seed=3)
    frame.loc[:3, "region"] = "Island"
    builder, _ = _builder(frame)
    region = next(s for s in builder.specs_ if s["column"] == "region")
    assert "Island" not in region["levels"] and "other" in region["levels"]


def test_a_fitted_builder_round_trips_through_json():
    builder, frame = _builder()
    again = FeatureBuilder.from_dict(json.loads(json.dumps(builder.to_dict())))
    np.testing.assert_array_equal(builder.transform(frame), again.transform(frame))


def test_jitter_spreads_counts_and_imputed_values_only_and_repeats_with_its_seed():
    builder, frame = _builder()
    plain, jittered = builder.transform(frame), builder.transform(frame, jitter_seed=1)
    changed = np.flatnonzero(np.any(plain != jittered, axis=0))
    names = {builder.feature_names_out_[i] for i in changed}
    assert names == {"payments_12m", "broken_promises", "days_past_due", "contact_response_rate"}
    rate = builder.feature_names_out_.index("contact_response_rate")
    moved = plain[:, rate] != jittered[:, rate]
    np.testing.assert_array_equal(moved, frame["contact_response_rate"].isna().to_numpy())
    np.testing.assert_array_equal(jittered, builder.transform(frame, jitter_seed=1))


def test_text_with_too_many_values_is_left_out_with_a_reason():
    frame = synthetic_frame(300, seed=1).assign(note=[f"n{i}" for i in range(300)])
    builder = FeatureBuilder(["balance", "days_past_due", "note"]).fit(frame)
    assert "note" in builder.excluded_ and "distinct values" in builder.excluded_["note"]
    assert isinstance(pd.Series(builder.excluded_).iloc[0], str)


def test_a_text_column_is_coded_through_its_distinct_values_exactly_as_value_by_value():
    """The fast path for text columns gives every value the level the value-by-value path gives it:
    missing values, values outside the levels (pooled as "other" only when that is a level) and a
    value that reads like another type."""
    from personas.features import MISSING_LEVEL, OTHER_LEVEL, _value_levels

    values = ["Bayern", None, "Berlin", "Hamburg", "1", "Bayern", None, "1.0", "Saarland"]
    text = pd.Series(values, dtype="str")
    as_objects = pd.Series(values, dtype="object")
    for levels in (["Bayern", "Berlin", "1"], ["Bayern", "Berlin", OTHER_LEVEL],
                   ["Bayern", MISSING_LEVEL, OTHER_LEVEL], ["Berlin", MISSING_LEVEL]):
        fast = _value_levels(text, levels)
        assert fast.tolist() == _value_levels(as_objects, levels).tolist(), levels
    assert _value_levels(text, ["Bayern", MISSING_LEVEL, OTHER_LEVEL]).tolist() == [0, 1, 2, 2, 2, 0, 1, 2, 2]
    assert _value_levels(text, ["Berlin", "1"]).tolist() == [-1, -1, 0, -1, 1, -1, -1, -1, -1]


def test_the_matrix_is_float32_with_the_same_values_as_stacking_in_float64_first():
    from personas.features import _stack_float32

    rng = np.random.default_rng(5)
    blocks = [rng.normal(size=(50, 1)) * 1e3, rng.random((50, 3)) > 0.5, rng.normal(size=(50, 2)) / 7]
    stacked = _stack_float32(blocks)
    assert stacked.dtype == np.float32 and stacked.flags.c_contiguous
    assert np.array_equal(stacked, np.hstack(blocks).astype(np.float32))
