"""The aggregated persona map: a bounded number of marks at any size, counts and colours kept."""
from __future__ import annotations

import numpy as np
import pandas as pd

from personas.mapview import aggregate_map, interpolate_coordinates, map_caption, persona_colors


def _accounts(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    persona = rng.integers(0, 5, size=n)
    centres = np.array([[0, 0], [5, 0], [0, 5], [5, 5], [10, 10]], dtype=float)
    xy = centres[persona] + rng.normal(scale=0.8, size=(n, 2))
    return pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "persona_id": persona,
                         "persona_name": [f"Name {p}" for p in persona], "x": xy[:, 0], "y": xy[:, 1],
                         "needs_review": rng.random(n) < 0.1})


def test_the_number_of_cells_is_bounded_by_the_grid_whatever_the_size():
    cells = aggregate_map(_accounts(200_000), bins=40)
    assert len(cells) <= 40 * 40
    assert cells["count"].sum() == 200_000


def test_every_cell_keeps_its_dominant_persona_and_name():
    accounts = _accounts(20_000)
    cells = aggregate_map(accounts, bins=30)
    assert set(cells["persona_id"]) == set(range(5))
    assert (cells["persona_name"] == "Name " + cells["persona_id"].astype(str)).all()
    assert cells["dominant_share"].between(0, 1).all()
    assert cells["needs_review_count"].sum() == accounts["needs_review"].sum()


def test_dominant_persona_is_the_majority_of_the_cell():
    accounts = pd.DataFrame({"persona_id": [0, 1, 1, 2], "x": [0.1, 0.2, 0.3, 9.0], "y": [0.1, 0.2, 0.3, 9.0]})
    cells = aggregate_map(accounts, bins=2).set_index("persona_id")
    assert cells.loc[1, "count"] == 3 and abs(cells.loc[1, "dominant_share"] - 2 / 3) < 1e-12
    assert cells.loc[2, "count"] == 1 and 0 not in cells.index


def test_accounts_without_coordinates_are_left_out_and_stated():
    accounts = _accounts(1_000)
    accounts.loc[500:, ["x", "y"]] = np.nan
    cells = aggregate_map(accounts, bins=10)
    assert cells["count"].sum() == 500
    assert "500 of 1,000 accounts (display sample)" in map_caption(accounts, cells)


def test_persona_colours_are_stable_and_distinct_for_ten_personas():
    colours = persona_colors(range(10))
    assert len(set(colours.values())) == 10
    assert persona_colors([3])[3] == colours[3]


def test_interpolated_positions_land_near_their_neighbours():
    rng = np.random.default_rng(1)
    reference_X = rng.normal(size=(500, 4)).astype(np.float32)
    xy = reference_X[:, :2] * 10
    placed = interpolate_coordinates(reference_X, xy, reference_X[:50] + 1e-3, k=1)
    np.testing.assert_allclose(placed, xy[:50], atol=1e-4)
