"""Settings for persona discovery and for a whole run, with their defaults in one place.

Both classes are frozen dataclasses so a run's settings can be hashed (the app caches results by
them), written to ``run.json`` and read back unchanged.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class DiscoverySettings:
    """How personas are found: features, UMAP, HDBSCAN, the settings search and assignment.

    Parameters
    ----------
    n_components : int
        Dimensions of the UMAP embedding that HDBSCAN clusters (5-8 keeps density structure that
        2-D squeezes away).
    n_neighbors : int
        UMAP neighbourhood size in accounts. Larger: broader structure, fewer and bigger personas.
    n_epochs : int
        UMAP optimisation epochs of the clustering embedding. Fewer is faster. 120: on a generated
        100,000-row portfolio (10,000 fitted rows, three seeds) truth ARI 0.83 / 0.89 / 0.80 against
        0.84 / 0.86 / 0.80 with umap-learn's 200, in 1.2-1.7 s less.
    min_cluster_share : float
        Smallest persona as a share of the fitted rows (0.02 = 2 %). Larger: fewer, bigger personas.
        Given as a share so the same setting means the same thing at 2,000 and at 2,000,000 rows.
    min_cluster_size_floor : int
        Lower bound of HDBSCAN's ``min_cluster_size`` in accounts, for small portfolios.
    min_samples : int
        HDBSCAN ``min_samples``: how conservative the density estimate is. Larger: more accounts
        called noise (they still get a persona, flagged ``needs_review``).
    review_threshold : float
        Accounts whose membership probability (0..1) is below this are flagged ``needs_review``.
    display_rows : int
        Accounts drawn on the 2-D map (a stratified display sample; the rest have no x, y).
    categorical_weight : float
        Weight of each categorical column relative to one numeric feature (1.0 = the whole one-hot
        group weighs like one numeric feature; 0.5 halves it). Keeps personas about behaviour rather
        than product or region.
    max_levels : int
        Categorical columns with more distinct values than this are not one-hot encoded (excluded
        with a reason); levels rarer than ``rare_level_share`` are grouped as "other".
    rare_level_share : float
        Share of rows below which a categorical level is grouped into "other".
    search : bool
        Run the settings search (min cluster size x neighbours) before the final fit.
    search_min_cluster_shares, search_n_neighbors : tuple
        The grid searched.
    search_rows : int
        Accounts in each sub-sample the search fits (the search never fits on the full sample).
        2,000 and 3,000 chose settings of the same truth ARI on generated 100,000-row portfolios
        (0.80-0.87 over three seeds); 2,000 is ~0.5 s faster.
    search_n_epochs : int
        UMAP epochs inside the search (the search compares settings, so coarser embeddings do).
    stability_resamples : int
        Sub-samples (each with its own UMAP seed) whose labels are compared pairwise (ARI on the
        overlap) to measure stability. At least 2.
    knn_neighbors : int
        Neighbours used to assign accounts to personas (see ``PersonaModel.assign``).
    knn_reference_rows : int
        Most clustered accounts kept as the assignment reference (bounded memory and time).
    batch_rows : int
        Accounts assigned per batch.
    consolidate : bool
        After HDBSCAN, split personas whose sub-clusters are separated by a density valley in the
        behavioural features and merge neighbours without one (:mod:`personas.consolidate`).
    settled_confidence : float
        A run whose confidence (``metrics.confidence``, 0..1) is below this is reported as
        "not settled" (threshold from the recovery suite, see the README).
    """

    n_components: int = 6
    n_neighbors: int = 15
    n_epochs: int = 120
    min_cluster_share: float = 0.02
    min_cluster_size_floor: int = 15
    min_samples: int = 10
    review_threshold: float = 0.5
    display_rows: int = 5_000
    categorical_weight: float = 1.0
    max_levels: int = 20
    rare_level_share: float = 0.01
    search: bool = True
    search_min_cluster_shares: tuple[float, ...] = (0.01, 0.02, 0.04)
    search_n_neighbors: tuple[int, ...] = (15, 30)
    search_rows: int = 2_000
    search_n_epochs: int = 100
    stability_resamples: int = 3
    knn_neighbors: int = 15
    knn_reference_rows: int = 20_000
    batch_rows: int = 50_000
    consolidate: bool = True
    settled_confidence: float = 0.75

    def min_cluster_size(self, n_rows: int, share: float | None = None) -> int:
        """HDBSCAN ``min_cluster_size`` in accounts for ``n_rows`` fitted rows."""
        share = self.min_cluster_share if share is None else share
        return max(self.min_cluster_size_floor, int(round(share * n_rows)))

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DiscoverySettings":
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)


@dataclass(frozen=True)
class RunSettings:
    """Everything one run needs besides the portfolio.

    Parameters
    ----------
    discovery : DiscoverySettings
        Persona discovery settings.
    target : str or None
        Outcome column for the risk model (issue 4); ``None`` skips the risk model step.
    target_event : {"paid", "default"}
        What the event value of ``target`` means (paid, or not paid). The risk score is always the
        probability of NOT paying.
    target_event_value : str or None
        The value of ``target`` that means ``target_event`` (e.g. ``"2"`` in a column coded 1/2,
        ``"ja"`` in ja/nein); every other value means the opposite. ``None``: the column must be
        0/1 and 1 is the event (``portfolio.target.check_target``).
    truth_col : str or None
        Planted labels to evaluate against (truth ARI). Never a feature.
    seed : int
        Seed for sampling, UMAP and the search: the same seed repeats a run exactly.
    max_fit_rows : int
        Most accounts UMAP and HDBSCAN are fitted on (a stratified sample); all accounts are assigned
        by a k-NN vote. Measured on a generated 100,000-row portfolio (truth ARI over all accounts,
        two seeds): 10,000 fitted rows 0.81 / 0.81, 20,000 rows 0.81 / 0.82 at 1.6x the discovery
        time; the settings search's choice moves the ARI more than the sample size does.
    parallel_risk : bool
        Fit the risk model in a second process while persona discovery (single-threaded, so that a
        seed repeats it exactly) runs in this one. Same result either way; off = one process.
    parallel_risk_min_rows : int
        Below this many accounts the risk model runs in this process: a second process costs ~1.3 s
        of imports, about what the whole risk step takes on a few thousand accounts.
    language : {"en", "de"}
        The run's primary language of persona names (``persona_name``, a profile's ``name``). Every run
        names its personas in English and German alike (``persona_name_en``/``persona_name_de``, a
        profile's ``names``), so pages and the CLI show the reader's language without a new run; the app
        therefore never matches a run by this setting (``app_pages._personas_ui.settings_match``).
    currency : str or None
        ISO code of the portfolio's amounts (``"EUR"``) when it has no currency column; a currency
        column holding one currency wins. ``None``: unknown unless the portfolio says (amounts are
        then shown without a symbol; see :mod:`portfolio.currency`).
    """

    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    target: str | None = None
    target_event: str = "paid"
    target_event_value: str | None = None
    truth_col: str | None = None
    seed: int = 42
    max_fit_rows: int = 10_000
    language: str = "en"
    parallel_risk: bool = True
    parallel_risk_min_rows: int = 5_000
    currency: str | None = None

    def with_discovery(self, **changes: Any) -> "RunSettings":
        return replace(self, discovery=replace(self.discovery, **changes))

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "discovery"}
        data["discovery"] = self.discovery.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunSettings":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "discovery"}
        return cls(discovery=DiscoverySettings.from_dict(data.get("discovery", {})), **values)
