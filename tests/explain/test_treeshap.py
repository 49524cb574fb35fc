"""Exact SHAP for every account: explain.treeshap against the library's TreeExplainer, chunked and threaded."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from explain import treeshap
from explain.shapley import compute_shap, explain_frame


def _model(rows: int = 3_000, seed: int = 3, categorical: bool = True):
    """Numeric features with missing values and a level-coded one (native categorical splits or not)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=rows), rng.exponential(size=rows), rng.integers(0, 6, size=rows),
                         rng.normal(size=rows)])
    X[rng.random(rows) < 0.1, 0] = np.nan
    X[rng.random(rows) < 0.05, 2] = np.nan
    logit = X[:, 1] - np.nan_to_num(X[:, 0]) + (np.nan_to_num(X[:, 2]) % 3 == 1) - 0.5
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    model = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=15,
                                           categorical_features=[2] if categorical else None,
                                           random_state=seed).fit(X, y)
    test = X[:800].copy()
    test[:20, 2] = 7  # a level never seen in training (treated as missing by a categorical split)
    return model, test


def _brute_force(model, x: np.ndarray) -> np.ndarray:
    """Shapley values of v(S) = E[f(x) | x_S] (path-dependent expectation), by enumerating every S."""
    from itertools import combinations
    from math import factorial

    known, f_idx_map = model._bin_mapper.make_known_categories_bitsets()

    def goes_left(node, bitsets, v) -> bool:
        if np.isnan(v) or (node["is_categorical"] and v < 0):
            return bool(node["missing_go_to_left"])
        if node["is_categorical"]:
            c = int(v)
            if (bitsets[node["bitset_idx"], c // 32] >> (c % 32)) & 1:
                return True
            if (known[f_idx_map[node["feature_idx"]], c // 32] >> (c % 32)) & 1:
                return False
            return bool(node["missing_go_to_left"])
        return bool(v <= node["num_threshold"])

    def expectation(nodes, bitsets, n, S) -> float:
        node = nodes[n]
        if node["is_leaf"]:
            return float(node["value"])
        left, right = int(node["left"]), int(node["right"])
        if int(node["feature_idx"]) in S:
            return expectation(nodes, bitsets, left if goes_left(node, bitsets, x[node["feature_idx"]]) else right, S)
        return (nodes[left]["count"] * expectation(nodes, bitsets, left, S)
                + nodes[right]["count"] * expectation(nodes, bitsets, right, S)) / node["count"]

    M = len(x)
    v = {}
    for size in range(M + 1):
        for S in combinations(range(M), size):
            v[frozenset(S)] = sum(expectation(p.nodes, p.raw_left_cat_bitsets, 0, set(S))
                                  for (p,) in model._predictors)
    phi = np.zeros(M)
    for i in range(M):
        others = [j for j in range(M) if j != i]
        for size in range(M):
            for S in combinations(others, size):
                w = factorial(size) * factorial(M - size - 1) / factorial(M)
                phi[i] += w * (v[frozenset(S) | {i}] - v[frozenset(S)])
    return phi


def test_values_equal_the_library_treeexplainer_to_1e_6():
    """The app's models split level codes as numbers (no native categorical splits), as here."""
    shap = pytest.importorskip("shap")
    model, X = _model(categorical=False)
    ours = treeshap.contributions(treeshap.prepare(model), treeshap.model_input(model, X))
    theirs = np.asarray(shap.TreeExplainer(model).shap_values(X))
    theirs = theirs[..., 1] if theirs.ndim == 3 else theirs
    assert np.max(np.abs(ours - theirs)) <= 1e-6
    base = treeshap.prepare(model).base_value
    assert np.max(np.abs(base + ours.sum(axis=1) - model.decision_function(X))) <= 1e-9


def test_native_categorical_splits_are_exact_too():
    """shap 0.51 reads scikit-learn's categorical splits as thresholds (its values do not add up);
    ours follow the bitsets: equal to Shapley values by enumeration, and additive."""
    model, X = _model(categorical=True)
    tables = treeshap.prepare(model)
    ours = treeshap.contributions(tables, treeshap.model_input(model, X))
    assert np.max(np.abs(tables.base_value + ours.sum(axis=1) - model.decision_function(X))) <= 1e-9
    read = treeshap.model_input(model, X)  # the columns as the trees read them (categoricals first)
    columns = treeshap.original_columns(model)
    assert list(columns) == [2, 0, 1, 3]
    for row in (0, 5, 25, 300):  # rows 0 and 5 hold the unseen level
        np.testing.assert_allclose(ours[row, columns], _brute_force(model, read[row]), atol=1e-9)


def test_the_cache_and_the_chunks_give_the_same_values():
    model, X = _model(seed=4)
    tables = treeshap.prepare(model)
    Xa = treeshap.model_input(model, X)
    whole = treeshap.contributions(tables, Xa)
    cache = treeshap.new_cache(tables, capacity=50)  # a full cache falls back to computing
    parts = np.vstack([treeshap.contributions(tables, Xa[i:i + 97], cache) for i in range(0, len(Xa), 97)])
    np.testing.assert_array_equal(whole, parts)


def test_the_run_model_matches_the_library_on_a_sample(risk_5k, generator_portfolio):
    """Issue 16: SHAP values of a sample of the run's accounts match shap's exact TreeExplainer to 1e-6."""
    shap = pytest.importorskip("shap")
    sample = generator_portfolio.frame.sample(300, random_state=1)
    ours, _ = explain_frame(risk_5k.model, sample)
    theirs = np.asarray(shap.TreeExplainer(risk_5k.model.classifier).shap_values(risk_5k.model.matrix(sample)))
    theirs = theirs[..., 1] if theirs.ndim == 3 else theirs
    assert np.max(np.abs(ours - theirs)) <= 1e-6


def test_chunked_threaded_reasons_equal_one_pass(risk_5k, generator_portfolio):
    frame = generator_portfolio.frame.reset_index(drop=True)
    ids = frame["account_id"].astype(str)
    one = compute_shap(risk_5k.model, frame, ids, cap=5_000, seed=1)
    many = compute_shap(risk_5k.model, frame, ids, cap=700, seed=1, threads=2, chunk_rows=900)
    assert many.chunks == 6 and many.chunks_checked == 6
    assert one.reasons.to_pylist() == many.reasons.to_pylist()
    assert len(many.values) == 700 and many.sampled
    pd.testing.assert_frame_equal(many.values, one.values.loc[many.values.index], check_exact=True)


def test_the_fitted_matrix_gives_the_same_values_and_reasons_as_encoding_again(risk_5k, generator_portfolio):
    """compute_shap(encoded=...) slices the matrix the model was fitted on instead of encoding again."""
    frame = generator_portfolio.frame.reset_index(drop=True)
    ids = frame["account_id"].astype(str)
    again = compute_shap(risk_5k.model, frame, ids, cap=800, seed=3, chunk_rows=1_300)
    sliced = compute_shap(risk_5k.model, frame, ids, cap=800, seed=3, chunk_rows=1_300,
                          encoded=risk_5k.model.matrix(frame))
    pd.testing.assert_frame_equal(sliced.values, again.values, check_exact=True)
    pd.testing.assert_frame_equal(sliced.feature_values, again.feature_values)
    assert sliced.reasons.to_pylist() == again.reasons.to_pylist()
    with pytest.raises(ValueError, match="rows"):
        compute_shap(risk_5k.model, frame, ids, cap=10, seed=3, encoded=risk_5k.model.matrix(frame.iloc[:10]))


def test_leaf_tables_are_the_games_built_one_by_one():
    """The d games of a leaf built together equal the direct sum over subsets (Shapley's formula)."""
    import itertools
    import math

    rng = np.random.default_rng(5)
    for d in (1, 2, 4):
        zero, value = rng.uniform(0.1, 0.9, d), 1.7
        table = treeshap._leaf_table(value, zero)
        for pattern in range(2 ** d):
            s = [(pattern >> g) & 1 for g in range(d)]
            v = lambda subset: value * math.prod(s[g] if g in subset else zero[g] for g in range(d))  # noqa: E731
            for u in range(d):
                others = [g for g in range(d) if g != u]
                expected = sum(math.factorial(len(c)) * math.factorial(d - len(c) - 1) / math.factorial(d)
                               * (v(set(c) | {u}) - v(set(c)))
                               for m in range(d) for c in itertools.combinations(others, m))
                assert abs(table[pattern, u] - expected) <= 1e-12
