"""Server-side aggregation of the persona map, so the browser draws a few thousand marks at any size.

Altair/Vega-Lite sends every point to the browser; past ~20,000 points the map stutters and past
~200,000 the page stalls. :func:`aggregate_map` bins the accounts that have map coordinates into a
square grid on the server and returns one row per non-empty cell: its bounds, how many accounts it
holds, the persona most of them belong to (so the cell keeps that persona's colour), how dominant
that persona is, and how many accounts need review. The number of marks is at most ``bins ** 2``
whatever the portfolio's size.

:func:`persona_colors` gives every persona a fixed colour so the point map and the aggregated map
use the same colours; :func:`interpolate_coordinates` places accounts outside the display sample
on the map (mean position of their nearest display-sample accounts in feature space), so the
aggregated map can show every account rather than the sample only (:func:`run_features` and
:func:`place_all_accounts` do that for a run). :func:`point_chart` and :func:`cell_chart` are the two
altair maps the Personas page places; both take the one :func:`persona_scale`. Which one a run opens
with: :func:`default_map_view` (points up to :data:`POINTS_LIMIT` accounts, cells above).

>>> cells = aggregate_map(run.accounts, bins=80)              # doctest: +SKIP
>>> alt.Chart(cells).mark_rect().encode(x="x0", x2="x1", y="y0", y2="y1",
...     color=alt.Color("persona_name", scale=persona_scale), opacity="dominant_share")  # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from core.formats import format_count
from core.i18n import _

# Tableau 20 reordered so the first ten are the strong hues: persona 0..9 get distinct colours.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d", "#f1ce63",
           "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e")
# Up to this many accounts the map draws the display sample as points by default; above it, every
# account aggregated into cells (the display sample is a smaller and smaller part of the portfolio).
POINTS_LIMIT = 20_000
MAP_BINS = 60  # cells per axis of the aggregated map: at most 3,600 marks
PLACEMENT_NEIGHBOURS = 10  # display-sample accounts whose mean position places an account off the sample
CELL_COLUMNS = ("x", "y", "x0", "x1", "y0", "y1", "count", "persona_id", "persona_name", "dominant_share",
                "needs_review_count", "share_of_shown")


def persona_colors(persona_ids) -> dict[int, str]:
    """Persona id -> hex colour, stable across runs and views (persona 0 is always the same blue)."""
    return {int(p): PALETTE[int(p) % len(PALETTE)] for p in sorted({int(p) for p in persona_ids})}


def aggregate_map(accounts: pd.DataFrame, bins: int = 80, *, x: str = "x", y: str = "y",
                  persona: str = "persona_id", name: str = "persona_name") -> pd.DataFrame:
    """Bin the accounts with map coordinates into a ``bins`` x ``bins`` square grid.

    Parameters
    ----------
    accounts : DataFrame
        One row per account with map coordinates ``x``, ``y`` (NaN = not on the map, ignored), the
        persona id and, when present, ``persona_name`` and ``needs_review``.
    bins : int
        Cells along each axis (the map has at most ``bins ** 2`` marks). 60-100 suits a page-wide map.

    Returns
    -------
    DataFrame, one row per non-empty cell, largest count first:
    ``x``, ``y`` (cell centre), ``x0``, ``x1``, ``y0``, ``y1`` (bounds, map units), ``count`` (accounts),
    ``persona_id`` / ``persona_name`` (the persona most accounts in the cell belong to; ties go to the
    lower id), ``dominant_share`` (0..1: that persona's share of the cell; low = mixed border region),
    ``needs_review_count`` and ``share_of_shown`` (count / all accounts on the map).
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    xs = pd.to_numeric(accounts[x], errors="coerce").to_numpy(dtype="float64")
    ys = pd.to_numeric(accounts[y], errors="coerce").to_numpy(dtype="float64")
    shown = np.isfinite(xs) & np.isfinite(ys)
    if not shown.any():
        return pd.DataFrame({c: [] for c in CELL_COLUMNS})
    xs, ys = xs[shown], ys[shown]
    personas = accounts[persona].to_numpy()[shown].astype(np.int64)
    x_edges, y_edges = _edges(xs, bins), _edges(ys, bins)
    cell = (_bin(xs, x_edges, bins) * bins + _bin(ys, y_edges, bins)).astype(np.int64)

    # Counts per (cell, persona) in one pass; the dominant persona is the arg-max within each cell.
    n_personas = int(personas.max()) + 1
    pair = cell * n_personas + personas
    pairs, pair_counts = np.unique(pair, return_counts=True)
    pair_cell, pair_persona = pairs // n_personas, pairs % n_personas
    order = np.lexsort((pair_persona, -pair_counts, pair_cell))  # per cell: most accounts, then lower id
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair_cell[order][1:] != pair_cell[order][:-1]
    winners = order[first]
    cells = pair_cell[winners]
    totals = np.bincount(cell, minlength=bins * bins)[cells]
    review = np.zeros(len(cells), dtype=np.int64)
    if "needs_review" in accounts.columns:
        flagged = accounts["needs_review"].to_numpy()[shown].astype(bool)
        review = np.bincount(cell[flagged], minlength=bins * bins)[cells]
    ix, iy = cells // bins, cells % bins
    table = pd.DataFrame({
        "x": (x_edges[ix] + x_edges[ix + 1]) / 2, "y": (y_edges[iy] + y_edges[iy + 1]) / 2,
        "x0": x_edges[ix], "x1": x_edges[ix + 1], "y0": y_edges[iy], "y1": y_edges[iy + 1],
        "count": totals, "persona_id": pair_persona[winners],
        "persona_name": _names(accounts, persona, name, shown, pair_persona[winners]),
        "dominant_share": pair_counts[winners] / totals, "needs_review_count": review,
        "share_of_shown": totals / int(shown.sum()),
    })
    return table.sort_values(["count", "persona_id"], ascending=[False, True], ignore_index=True)


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high <= low:  # every point at one coordinate: a unit-wide cell around it
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def _bin(values: np.ndarray, edges: np.ndarray, bins: int) -> np.ndarray:
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)


def _names(accounts: pd.DataFrame, persona: str, name: str, shown: np.ndarray, ids: np.ndarray) -> np.ndarray:
    if name not in accounts.columns:
        return np.array([f"Persona {p}" for p in ids], dtype=object)
    lookup = (pd.DataFrame({"id": accounts[persona].to_numpy()[shown], "name": accounts[name].to_numpy()[shown]})
              .drop_duplicates("id").set_index("id")["name"])
    return lookup.reindex(ids).to_numpy(dtype=object)


def interpolate_coordinates(reference_X: np.ndarray, reference_xy: np.ndarray, X: np.ndarray,
                            k: int = 10, batch_rows: int = 50_000) -> np.ndarray:
    """Map positions for accounts outside the display sample: mean x, y of their ``k`` nearest
    display-sample accounts in feature space (brute-force k-NN in batches; memory bounded by
    ``batch_rows x len(reference_X)``).

    Parameters
    ----------
    reference_X : (m, d) array
        Feature rows of the display sample (the accounts that have UMAP map coordinates).
    reference_xy : (m, 2) array
        Their map coordinates.
    X : (n, d) array
        Feature rows of the accounts to place.

    Returns
    -------
    (n, 2) float32 array of map coordinates.
    """
    from sklearn.neighbors import NearestNeighbors

    reference_X = np.asarray(reference_X, dtype=np.float32)
    reference_xy = np.asarray(reference_xy, dtype=np.float32)
    k = int(min(k, len(reference_X)))
    index = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(reference_X)
    out = np.empty((len(X), 2), dtype=np.float32)
    for start in range(0, len(X), batch_rows):
        batch = np.asarray(X[start:start + batch_rows], dtype=np.float32)
        _, idx = index.kneighbors(batch)
        out[start:start + len(batch)] = reference_xy[idx].mean(axis=1)
    return out


def map_caption(accounts: pd.DataFrame, cells: pd.DataFrame | None = None) -> str:
    """One line for under the chart: how many accounts the map shows, and as how many marks."""
    total = len(accounts)
    shown = int(np.isfinite(pd.to_numeric(accounts.get("x"), errors="coerce")).sum()) if "x" in accounts else 0
    text = f"Map of {shown:,} of {total:,} accounts"
    if shown < total:
        text += " (display sample)"
    if cells is not None:
        text += f", drawn as {len(cells):,} cells coloured by each cell's most common persona"
    return text + "."


# ---------------------------------------------------------------- every account on the map
def default_map_view(n_accounts: int) -> str:
    """The map a run opens with: ``"points"`` up to :data:`POINTS_LIMIT` accounts, ``"aggregated"`` above.

    Up to the limit the display sample is a large part of the portfolio and points show single
    accounts; above it the sample is a shrinking minority, so the map shows every account in cells.
    """
    return "points" if int(n_accounts) <= POINTS_LIMIT else "aggregated"


def run_features(run: Any, portfolio: Any = None) -> np.ndarray | None:
    """The run's feature matrix, one row per account in ``run.accounts`` order, or ``None``.

    A run made in this process keeps its features in memory (``run.features``); a loaded run has
    them rebuilt from ``portfolio`` with the run's own fitted feature builder, but only when that is
    the portfolio the run was made from (same SHA-256) and has as many accounts.
    """
    features = getattr(run, "features", None)
    if features is None and portfolio is not None and portfolio.sha256 == run.meta.get("data_sha256"):
        features = run.builder.transform(portfolio.frame.reset_index(drop=True))
    if features is None or len(features) != len(run.accounts):
        return None
    return features


def place_all_accounts(accounts: pd.DataFrame, features: np.ndarray | None,
                       k: int = PLACEMENT_NEIGHBOURS) -> np.ndarray:
    """Map coordinates for every account: UMAP's for the display sample, interpolated for the rest.

    Parameters
    ----------
    accounts : DataFrame
        One row per account with ``x``, ``y`` (NaN outside the display sample).
    features : (n, d) array or None
        Feature rows in the same order (see :func:`run_features`). ``None``: nothing to place
        with, the accounts outside the display sample keep NaN.
    k : int
        Display-sample neighbours averaged per placed account (see :func:`interpolate_coordinates`).

    Returns
    -------
    (n, 2) float32 array of map coordinates (map units, the same as ``x``, ``y``).
    """
    xy = accounts[["x", "y"]].to_numpy(dtype=np.float32, na_value=np.nan, copy=True)
    on_map = np.isfinite(xy).all(axis=1)
    if features is None or on_map.all() or not on_map.any():
        return xy
    if len(features) != len(accounts):
        raise ValueError(f"features has {len(features):,} rows for {len(accounts):,} accounts")
    xy[~on_map] = interpolate_coordinates(features[on_map], xy[on_map], features[~on_map], k=k)
    return xy


def with_coordinates(accounts: pd.DataFrame, xy: np.ndarray) -> pd.DataFrame:
    """The accounts' persona columns with ``x``, ``y`` taken from ``xy`` (what :func:`aggregate_map` bins)."""
    keep = [c for c in ("account_id", "persona_id", "persona_name", "needs_review") if c in accounts.columns]
    return accounts[keep].assign(x=xy[:, 0], y=xy[:, 1])


# ---------------------------------------------------------------- charts (altair; pages only place them)
def persona_label(persona_ids: Any, persona_names: Any) -> np.ndarray:
    """Legend text ``"<id>: <name>"`` for each account or cell (positional), the same on both maps."""
    ids = pd.Series(np.asarray(persona_ids)).astype(str)
    return (ids + ": " + pd.Series(np.asarray(persona_names)).astype(str)).to_numpy(dtype=object)


def persona_scale(accounts: pd.DataFrame) -> alt.Scale:
    """The colour scale both maps share: every persona's label in id order, coloured by :func:`persona_colors`.

    An explicit domain and range keep a persona's colour when the other map shows fewer personas
    (a persona dominant in no cell still owns its colour).
    """
    names = accounts.groupby("persona_id", sort=True)["persona_name"].first()
    colours = persona_colors(names.index)
    return alt.Scale(domain=list(persona_label(names.index, names.to_numpy())),
                     range=[colours[int(p)] for p in names.index])


def _legend() -> alt.Legend:
    return alt.Legend(title=_("Persona"), orient="bottom", columns=2)


def point_chart(points: pd.DataFrame, scale: alt.Scale, n_accounts: int) -> alt.Chart:
    """The display sample as points (``points`` from ``personas.views.map_points``), coloured by persona."""
    return alt.Chart(points).mark_circle(size=18, opacity=0.7).encode(
        x=alt.X("x:Q", axis=None, scale=alt.Scale(zero=False)),
        y=alt.Y("y:Q", axis=None, scale=alt.Scale(zero=False)),
        color=alt.Color("persona:N", scale=scale, legend=_legend()),
        tooltip=[alt.Tooltip("persona:N", title=_("Persona")),
                 alt.Tooltip("balance:Q", title=_("Balance"), format=",.2f"),
                 alt.Tooltip("days_past_due:Q", title=_("Days past due")),
                 alt.Tooltip("membership_probability:Q", title=_("Membership probability"), format=".2f"),
                 alt.Tooltip("needs_review:N", title=_("Needs review"))],
    ).properties(height=520, title=_point_title(len(points), n_accounts)).interactive()


def _point_title(shown: int, n_accounts: int) -> str:
    values = {"shown": format_count(shown), "total": format_count(n_accounts)}
    if shown < n_accounts:
        return _("{shown} of {total} accounts drawn as points (display sample)").format(**values)
    return _("{shown} of {total} accounts drawn as points").format(**values)


def cell_chart(cells: pd.DataFrame, scale: alt.Scale) -> alt.Chart:
    """Cells from :func:`aggregate_map` as rectangles in their dominant persona's colour.

    Opacity follows the dominant share (pale = mixed border region); the tooltip gives the persona,
    its share of the cell, the accounts in the cell and how many of them need review.
    """
    data = cells.assign(persona=persona_label(cells["persona_id"], cells["persona_name"]))
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("x0:Q", axis=None, scale=alt.Scale(zero=False)), x2="x1:Q",
        y=alt.Y("y0:Q", axis=None, scale=alt.Scale(zero=False)), y2="y1:Q",
        color=alt.Color("persona:N", scale=scale, legend=_legend()),
        opacity=alt.Opacity("dominant_share:Q", scale=alt.Scale(domain=[0, 1], range=[0.25, 1]), legend=None),
        tooltip=[alt.Tooltip("persona:N", title=_("most common persona")),
                 alt.Tooltip("dominant_share:Q", title=_("its share of the cell"), format=".0%"),
                 alt.Tooltip("count:Q", title=_("accounts"), format=","),
                 alt.Tooltip("needs_review_count:Q", title=_("need review"), format=",")],
    ).properties(height=520, title=_("{total} accounts drawn as {cells} cells (aggregated on the server)").format(
        total=format_count(int(cells["count"].sum())), cells=format_count(len(cells)))).interactive()
