"""SHAP values of the refit risk model, on the log-odds of NOT paying, and the views built on them.

SHAP explains the raw output of the trees (``decision_function``), which is the log-odds of
class 1 = "NOT paid", so a positive value raises the risk score. Base value + sum of SHAP values
equals that log-odds; :func:`compute_shap` checks it to 1e-6.

Every account is explained, at every size: :func:`compute_shap` computes exact TreeSHAP values
(:mod:`explain.treeshap`, the same values as ``shap.TreeExplainer``) chunk by chunk and keeps per
account only what its reasons need (the top features and their values, as text), so memory does
not grow with a dense accounts x features table. The full table of values (``ShapTable.values``:
global importance, beeswarm, dependence, persona views, stored in ``shap_values.parquet``) is kept
for every account up to ``cap`` and for a seeded sample of ``cap`` accounts above; a waterfall for
an account outside that table is computed on request from its row (:meth:`ShapTable.explain_rows`).
"""
from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from explain import cores
from explain.model import RiskModel, sigmoid
from explain.reasons import feature_label, format_values

ADDITIVITY_TOLERANCE = 1e-6


class AdditivityError(RuntimeError):
    """Base value + SHAP values did not add up to the model's log-odds: the explanation is wrong."""


@dataclass
class ShapTable:
    """SHAP values (log-odds of NOT paying) and the feature values they explain, per account.

    ``values`` and ``feature_values`` are indexed by account_id with one column per feature;
    categorical feature values are their level names.
    """

    values: pd.DataFrame
    feature_values: pd.DataFrame
    base_value: float
    n_accounts: int
    sampled: bool
    seed: int
    seconds: float
    max_additivity_error: float
    #: Reason text per account (Arrow strings), in the order of the accounts explained; None once
    #: the scores hold them, and when loaded from a run.
    reasons: "pa.ChunkedArray | None" = None
    #: Accounts whose SHAP values were computed (all of them), and how many chunks were checked for
    #: additivity out of how many.
    accounts_with_reasons: int | None = None
    chunks: int = 1
    chunks_checked: int = 1

    @property
    def features(self) -> list[str]:
        return list(self.values.columns)

    @property
    def log_odds(self) -> pd.Series:
        return self.base_value + self.values.sum(axis=1)

    # ------------------------------------------------------------------ global views
    def global_importance(self, language: str = "en") -> pd.DataFrame:
        """Mean |SHAP| per feature (log-odds), largest first."""
        mean_abs = self.values.abs().mean()
        table = pd.DataFrame({"feature": mean_abs.index, "mean_abs_shap": mean_abs.to_numpy()})
        table["label"] = [feature_label(f, language) for f in table["feature"]]
        return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)

    def beeswarm(self, max_points: int = 1000, seed: int = 42, language: str = "en",
                 currency: str | None = None) -> pd.DataFrame:
        """Long table for a beeswarm plot: a seeded sample of accounts, one row per feature.

        ``value_percentile`` (0..1) colours the points: the feature value's rank among the explained
        accounts (categorical features use their level's mean rank order by level code).
        """
        n = len(self.values)
        rows = np.sort(np.random.default_rng(seed).choice(n, size=min(max_points, n), replace=False))
        parts = []
        for feature in self.features:
            raw = self.feature_values[feature]
            rank = _percentile(raw)
            parts.append(pd.DataFrame({
                "account_id": self.values.index[rows],
                "feature": feature, "label": feature_label(feature, language),
                "shap": self.values[feature].to_numpy()[rows],
                "feature_value": format_values(feature, raw.iloc[rows], language, currency),
                "value_percentile": rank[rows],
            }))
        table = pd.concat(parts, ignore_index=True)
        order = self.global_importance(language)["feature"].tolist()
        table["importance_rank"] = table["feature"].map({f: i for i, f in enumerate(order)})
        return table

    def dependence(self, feature: str, language: str = "en", currency: str | None = None) -> pd.DataFrame:
        """SHAP value of one feature against its value, one row per explained account."""
        raw = self.feature_values[feature]
        return pd.DataFrame({"account_id": self.values.index, "value": raw.to_numpy(),
                             "shown_value": format_values(feature, raw, language, currency),
                             "shap": self.values[feature].to_numpy()})

    # ------------------------------------------------------------------ one account
    def waterfall(self, account_id: str, language: str = "en", currency: str | None = None) -> dict:
        """Base value, each feature's contribution (log-odds) largest first, the total and probability.

        ``probability`` is the refit model's uncalibrated probability of NOT paying; the reported
        risk score is out-of-fold (and calibrated when the run calibrated), so it can differ a little.
        """
        if account_id not in self.values.index:
            raise KeyError(account_id)
        contributions = self.values.loc[account_id]
        shown = {f: format_values(f, self.feature_values.loc[[account_id], f], language, currency)[0]
                 for f in self.features}
        table = pd.DataFrame({"feature": contributions.index, "contribution": contributions.to_numpy()})
        table["label"] = [feature_label(f, language) for f in table["feature"]]
        table["value"] = [shown[f] for f in table["feature"]]
        table = table.reindex(table["contribution"].abs().sort_values(ascending=False).index)
        table = table.reset_index(drop=True)
        table["end"] = self.base_value + table["contribution"].cumsum()
        table["start"] = table["end"] - table["contribution"]
        log_odds = float(self.base_value + contributions.sum())
        return {"account_id": account_id, "base_value": self.base_value, "log_odds": log_odds,
                "probability": float(sigmoid(log_odds)), "base_probability": float(sigmoid(self.base_value)),
                "contributions": table}

    # ------------------------------------------------------------------ personas
    def persona_explanation(self, persona_ids: pd.Series, language: str = "en") -> pd.DataFrame:
        """Per persona and feature: mean SHAP in the persona minus the portfolio mean (log-odds).

        Positive ``difference``: this feature pushes the persona's risk of NOT paying above average.
        ``persona_ids`` is indexed by account_id; accounts without SHAP values are left out.
        """
        ids = persona_ids.reindex(self.values.index)
        known = ids.notna().to_numpy()
        values = self.values[known]
        portfolio_mean = values.mean()
        means = values.groupby(ids[known].to_numpy()).mean()
        sizes = ids[known].value_counts()
        table = means.stack().rename("persona_mean_shap").reset_index()
        table.columns = ["persona_id", "feature", "persona_mean_shap"]
        table["portfolio_mean_shap"] = table["feature"].map(portfolio_mean)
        table["difference"] = table["persona_mean_shap"] - table["portfolio_mean_shap"]
        table["direction"] = np.where(table["difference"] > 0, "raises risk", "lowers risk")
        table["label"] = [feature_label(f, language) for f in table["feature"]]
        table["accounts"] = table["persona_id"].map(sizes).astype(int)
        table["persona_id"] = table["persona_id"].astype(int)
        table["abs_difference"] = table["difference"].abs()
        return table.sort_values(["persona_id", "abs_difference"], ascending=[True, False],
                                 ignore_index=True).drop(columns="abs_difference")

    # ------------------------------------------------------------------ storage
    def to_frame(self) -> pd.DataFrame:
        """shap_values.parquet: account_id, one column per feature, base_value and log_odds."""
        table = self.values.reset_index(names="account_id")
        table["base_value"] = self.base_value
        table["log_odds"] = self.log_odds.to_numpy()
        return table

    def meta(self) -> dict:
        """``accounts_explained``: accounts in the stored table of values (all, or the seeded
        sample: ``sampled``); ``accounts_with_reasons``: accounts whose SHAP values were computed
        and turned into reasons (every account)."""
        with_reasons = self.n_accounts if self.accounts_with_reasons is None else self.accounts_with_reasons
        return {"scale": "log-odds of NOT paying", "accounts_explained": len(self.values),
                "accounts_total": self.n_accounts, "sampled": self.sampled, "sample_seed": self.seed,
                "accounts_with_reasons": int(with_reasons), "method": METHOD,
                "chunks": self.chunks, "chunks_checked": self.chunks_checked,
                "base_value": self.base_value, "seconds": round(self.seconds, 3),
                "max_additivity_error": self.max_additivity_error}

    @classmethod
    def from_frames(cls, shap_frame: pd.DataFrame, feature_values: pd.DataFrame, meta: dict) -> "ShapTable":
        values = shap_frame.set_index("account_id").drop(columns=["base_value", "log_odds"])
        features = feature_values.set_index("account_id").reindex(values.index)
        with_reasons = meta.get("accounts_with_reasons")  # runs before every account was explained: the table
        return cls(values, features, float(meta["base_value"]), int(meta["accounts_total"]),
                   bool(meta["sampled"]), int(meta["sample_seed"]), float(meta["seconds"]),
                   float(meta["max_additivity_error"]), None,
                   int(with_reasons) if with_reasons is not None else len(values),
                   int(meta.get("chunks", 1)), int(meta.get("chunks_checked", 1)))


def _percentile(raw: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(raw):
        return raw.rank(pct=True).to_numpy(dtype=float, na_value=np.nan)
    codes = pd.Categorical(raw.astype(object)).codes.astype(float)
    codes[codes < 0] = np.nan
    return pd.Series(codes).rank(pct=True).to_numpy(dtype=float, na_value=np.nan)


def explained_rows(n: int, cap: int, seed: int) -> tuple[np.ndarray, bool]:
    """All row positions up to ``cap``, else a seeded sample of ``cap`` positions (sorted)."""
    if n <= cap:
        return np.arange(n), False
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False)), True


METHOD = "exact TreeSHAP (tree_path_dependent), explain.treeshap; equal to shap.TreeExplainer"
#: Most accounts per chunk: the chunk's values (rows x features float64) are the only dense table held.
CHUNK_ROWS = 50_000
#: Fewest accounts per chunk when a portfolio is cut into CHECKED_CHUNKS chunks (100,000 accounts: 8 of
#: 12,500): smaller chunks let the run's risk process put its second thread to work as soon as discovery
#: ends, instead of waiting for one of two 50,000-account chunks; every chunk is still checked up to 8.
MIN_CHUNK_ROWS = 10_000
#: Chunks checked for additivity: all up to this many, else this many spread evenly (first and last included).
CHECKED_CHUNKS = 8


def compute_shap(model: RiskModel, frame: pd.DataFrame, account_ids: pd.Series, *, cap: int,
                 seed: int, language: str = "en", currency: str | None = None, top: int = 3,
                 threads: int = 1, chunk_rows: int | None = None, encoded: pd.DataFrame | None = None) -> ShapTable:
    """Exact TreeSHAP values and reasons for every account, in chunks; additivity checked.

    The returned table keeps the full values of every account up to ``cap`` (else of a seeded
    sample of ``cap``; ``cap=0`` keeps none) and the reason text of every account.

    ``encoded`` is ``model.matrix(frame)`` when the caller has it already (the run's risk step: the
    matrix the model was fitted on); the chunks then slice it instead of encoding the portfolio a
    second time (0.2 CPU-s at 100,000 accounts, about 2 s at 1,000,000). The values are the same.
    """
    from explain.reasons import reason_array, top_order

    started = time.perf_counter()
    n = len(frame)
    if chunk_rows is None:
        chunk_rows = min(CHUNK_ROWS, max(MIN_CHUNK_ROWS, -(-n // CHECKED_CHUNKS)))
    if encoded is not None and len(encoded) != n:
        raise ValueError(f"encoded has {len(encoded)} rows, frame {n}")
    rows, sampled = explained_rows(n, cap, seed)
    tables = _tables(model)
    features = list(model.encoder.features)
    starts = list(range(0, n, chunk_rows)) or [0]
    checked = _checked_chunks(len(starts))
    reasons: dict[int, object] = {}  # chunk number -> Arrow strings (no million Python str objects)
    kept: list[np.ndarray] = []
    errors = [0.0]
    caches = {}

    def one_chunk(number: int, first: int) -> None:
        from explain import treeshap

        part = frame.iloc[first:first + chunk_rows]
        if len(part) == 0:
            return
        matrix = model.matrix(part) if encoded is None else encoded.iloc[first:first + len(part)]
        worker = threading.get_ident()
        if worker not in caches:
            caches[worker] = treeshap.new_cache(tables)
        values = treeshap.contributions(tables, treeshap.model_input(model.classifier, matrix), caches[worker])
        if number in checked:
            errors.append(check_additivity(values, tables.base_value, model.classifier.decision_function(matrix)))
        order = top_order(values, top)
        chosen = np.take_along_axis(values, order, axis=1)
        shown = display_values(model, part, matrix)
        reasons[number] = reason_array(order, chosen, shown, features, language, currency)
        inside = rows[(rows >= first) & (rows < first + len(part))]
        kept.append((first, values[inside - first]))

    workers = max(1, int(threads))
    if workers == 1 and cores.threads_hook is None:
        for number, first in enumerate(starts):
            one_chunk(number, first)
    else:
        _in_threads(one_chunk, starts, workers)
    kept.sort(key=lambda item: item[0])
    values = np.vstack([v for _, v in kept]) if kept else np.zeros((0, len(features)))
    index = pd.Index(account_ids.iloc[rows].astype(str).to_numpy(), name="account_id")
    shap_frame = pd.DataFrame(values, index=index, columns=features)
    feature_values = display_values(model, frame.iloc[rows],
                                    None if encoded is None else encoded.iloc[rows]).set_axis(index)
    texts = pa.chunked_array([reasons[i] for i in sorted(reasons)], type=pa.large_string())
    return ShapTable(shap_frame, feature_values, tables.base_value, n, sampled, seed,
                     time.perf_counter() - started, float(max(errors)), texts, n, len(starts), len(checked))


def _in_threads(one_chunk: Callable[[int, int], None], starts: list[int], workers: int) -> None:
    """Chunks on up to ``workers`` threads (the numba kernel releases the GIL); ``cores.threads_hook``,
    when set, may raise the number between chunks (the run's child process, once discovery ended).

    Each of these threads is one thread of work: its additivity check (scikit-learn's
    ``decision_function``, OpenMP) runs on one thread too. A new thread starts with OpenMP's default of
    one thread per core, not the caller's limit, so without this a chunk's check put a second busy
    thread on the core that persona discovery was using (measured in the run's risk process at
    100,000 accounts without ``OMP_WAIT_POLICY=PASSIVE``: 7.7 CPU-s for the SHAP step instead of 3.6).
    """
    import queue

    from core.threads import limit_threads

    todo: "queue.Queue[tuple[int, int]]" = queue.Queue()
    for item in enumerate(starts):
        todo.put(item)
    failures: list[BaseException] = []

    def work(slot: int) -> None:
        with limit_threads(1, user_api="openmp"):  # this thread's own OpenMP setting
            _work(slot)

    def _work(slot: int) -> None:
        while not failures:
            allowed = cores.threads_now(workers)
            if slot >= allowed:
                time.sleep(0.2)
                if todo.empty():
                    return
                continue
            try:
                number, first = todo.get_nowait()
            except queue.Empty:
                return
            try:
                one_chunk(number, first)
            except BaseException as err:  # raised in the caller below
                failures.append(err)

    slots = max(workers, 2 if cores.threads_hook else 1)
    pool = [threading.Thread(target=work, args=(slot,), daemon=True) for slot in range(slots)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise failures[0]


def _checked_chunks(count: int) -> set[int]:
    if count <= CHECKED_CHUNKS:
        return set(range(count))
    return {int(round(i)) for i in np.linspace(0, count - 1, CHECKED_CHUNKS)}


_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_TABLES_LOCK = threading.Lock()


def _tables(model: RiskModel):
    """The model's trees flattened for :mod:`explain.treeshap`, built once per fitted classifier."""
    from explain import treeshap

    with _TABLES_LOCK:
        tables = _TABLES.get(model.classifier)
        if tables is None:
            tables = _TABLES[model.classifier] = treeshap.prepare(model.classifier)
        return tables


def explain_frame(model: RiskModel, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Exact SHAP values (rows x features) of ``frame``'s accounts and the base value (checked)."""
    from explain import treeshap

    tables = _tables(model)
    matrix = model.matrix(frame)
    values = treeshap.contributions(tables, treeshap.model_input(model.classifier, matrix))
    check_additivity(values, tables.base_value, model.classifier.decision_function(matrix))
    return values, tables.base_value


def check_additivity(values: np.ndarray, base: float, log_odds: np.ndarray) -> float:
    """Largest |base + sum(SHAP) - log-odds|; raises :class:`AdditivityError` above 1e-6."""
    error = float(np.max(np.abs(base + values.sum(axis=1) - log_odds))) if len(values) else 0.0
    if not error <= ADDITIVITY_TOLERANCE:
        raise AdditivityError(f"SHAP values do not add up to the model's log-odds (max error {error:.2e} "
                              f"> {ADDITIVITY_TOLERANCE:.0e}); the explanation cannot be trusted.")
    return error


def display_values(model: RiskModel, frame: pd.DataFrame, encoded: pd.DataFrame | None = None) -> pd.DataFrame:
    """Feature values as the model saw them: numbers as floats, categoricals as level names."""
    encoded = model.matrix(frame) if encoded is None else encoded
    out = {}
    for feature in model.encoder.features:
        if feature in model.encoder.categories_:
            out[feature] = pd.Series(model.encoder.decode(feature, encoded[feature].to_numpy()),
                                     index=frame.index, dtype=object)
        else:
            out[feature] = encoded[feature]
    return pd.DataFrame(out, index=frame.index)
