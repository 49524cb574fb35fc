"""The persona map for every account: placing accounts outside the display sample, which map a run
opens with, and the two charts (points, aggregated cells) sharing one colour per persona."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from personas.mapview import (POINTS_LIMIT, aggregate_map, cell_chart, default_map_view, persona_colors,
                              persona_scale, place_all_accounts, point_chart, run_features, with_coordinates)

CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def _run_like(n: int = 3_000, sample: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Accounts of three personas whose map position follows their features; only ``sample`` have x, y."""
    rng = np.random.default_rng(seed)
    persona = rng.integers(0, 3, size=n)
    features = np.hstack([CENTRES[persona] + rng.normal(scale=0.5, size=(n, 2)), rng.normal(size=(n, 3))])
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "persona_id": persona,
                             "persona_name": [f"Name {p}" for p in persona],
                             "needs_review": rng.random(n) < 0.1, "x": np.nan, "y": np.nan})
    shown = rng.choice(n, size=sample, replace=False)
    accounts.loc[shown, ["x", "y"]] = features[shown, :2] * 2.0  # the "UMAP" of the sample
    return accounts, features


def test_the_map_opens_as_points_up_to_the_limit_and_aggregated_above():
    assert POINTS_LIMIT == 20_000
    assert default_map_view(5_000) == "points"
    assert default_map_view(POINTS_LIMIT) == "points"
    assert default_map_view(POINTS_LIMIT + 1) == "aggregated"


def test_every_account_gets_a_position_and_the_display_sample_keeps_its_own():
    accounts, features = _run_like()
    before = accounts.copy()
    xy = place_all_accounts(accounts, features)
    assert xy.shape == (len(accounts), 2) and np.isfinite(xy).all()
    shown = accounts["x"].notna().to_numpy()
    np.testing.assert_allclose(xy[shown], accounts.loc[shown, ["x", "y"]].to_numpy(), rtol=1e-6)
    pd.testing.assert_frame_equal(accounts, before)  # the run's accounts are not changed


def test_placed_accounts_land_in_their_personas_region_of_the_map():
    accounts, features = _run_like()
    xy = place_all_accounts(accounts, features)
    placed = accounts["x"].isna().to_numpy()
    nearest = np.argmin(((xy[placed, None, :] - 2.0 * CENTRES[None]) ** 2).sum(axis=2), axis=1)
    assert (nearest == accounts.loc[placed, "persona_id"].to_numpy()).mean() > 0.99


def test_the_aggregated_map_counts_every_account_once_placed():
    accounts, features = _run_like()
    cells = aggregate_map(with_coordinates(accounts, place_all_accounts(accounts, features)), bins=20)
    assert cells["count"].sum() == len(accounts)
    assert cells["needs_review_count"].sum() == accounts["needs_review"].sum()
    assert set(cells["persona_id"]) == {0, 1, 2}


def test_without_features_only_the_display_sample_has_a_position():
    accounts, _ = _run_like()
    xy = place_all_accounts(accounts, None)
    assert np.isfinite(xy).all(axis=1).sum() == accounts["x"].notna().sum()


def test_a_loaded_run_rebuilds_its_features_only_from_its_own_portfolio():
    accounts, features = _run_like(n=200, sample=50)
    frame = pd.DataFrame({"f": range(200)})
    builder = SimpleNamespace(transform=lambda f: features[f["f"].to_numpy()])
    run = SimpleNamespace(features=None, meta={"data_sha256": "abc"}, builder=builder, accounts=accounts)
    np.testing.assert_array_equal(run_features(run, SimpleNamespace(sha256="abc", frame=frame)), features)
    assert run_features(run, SimpleNamespace(sha256="other", frame=frame)) is None
    assert run_features(run, None) is None
    in_memory = SimpleNamespace(features=features, meta={}, builder=None, accounts=accounts)
    assert run_features(in_memory, None) is features


def _colour_encoding(chart) -> dict:
    return chart.to_dict()["encoding"]["color"]


def test_points_and_cells_give_each_persona_the_same_colour():
    accounts, features = _run_like()
    scale = persona_scale(accounts)
    points = accounts[accounts["x"].notna()].assign(
        persona=lambda t: t["persona_id"].astype(str) + ": " + t["persona_name"], balance=1.0, days_past_due=30,
        membership_probability=0.9)
    cells = aggregate_map(with_coordinates(accounts, place_all_accounts(accounts, features)), bins=20)
    on_points = _colour_encoding(point_chart(points, scale, len(accounts)))
    on_cells = _colour_encoding(cell_chart(cells, scale))
    assert on_points["scale"] == on_cells["scale"]
    colours = persona_colors([0, 1, 2])
    assert on_points["scale"]["domain"] == ["0: Name 0", "1: Name 1", "2: Name 2"]
    assert on_points["scale"]["range"] == [colours[0], colours[1], colours[2]]


def test_a_persona_dominant_in_no_cell_still_owns_its_colour():
    accounts = pd.DataFrame({"persona_id": [0, 0, 0, 1], "persona_name": ["A", "A", "A", "B"],
                             "x": [0.0, 0.1, 0.2, 0.15], "y": [0.0, 0.1, 0.2, 0.15]})
    cells = aggregate_map(accounts, bins=1)
    assert list(cells["persona_id"]) == [0]
    scale = _colour_encoding(cell_chart(cells, persona_scale(accounts)))["scale"]
    assert scale["domain"] == ["0: A", "1: B"] and scale["range"][1] == persona_colors([1])[1]


def test_the_aggregated_chart_states_accounts_and_cells_and_shows_each_cells_mix():
    accounts, features = _run_like()
    cells = aggregate_map(with_coordinates(accounts, place_all_accounts(accounts, features)), bins=20)
    spec = cell_chart(cells, persona_scale(accounts)).to_dict()
    assert spec["title"] == f"{len(accounts):,} accounts drawn as {len(cells):,} cells (aggregated on the server)"
    assert spec["encoding"]["opacity"]["field"] == "dominant_share"
    assert {"dominant_share", "count"} <= {t["field"] for t in spec["encoding"]["tooltip"]}
