"""The persona map's legend, tooltip and chart titles, the settings search's reason and the pipeline's
progress stages in the reader's language (German), with the English unchanged."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.i18n import use_language
from personas.mapview import aggregate_map, cell_chart, persona_scale, point_chart
from personas.search import _choose, reason_text
from personas.settings import DiscoverySettings


def _accounts(n: int = 1_500) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    persona = rng.integers(0, 2, size=n)
    return pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "persona_id": persona,
                         "persona_name": [f"Name {p}" for p in persona], "needs_review": rng.random(n) < 0.1,
                         "x": rng.normal(size=n) + 5 * persona, "y": rng.normal(size=n)})


def _points(accounts: pd.DataFrame) -> pd.DataFrame:
    return accounts.assign(persona=[f"{p}: Name {p}" for p in accounts["persona_id"]], balance=1234.5,
                           days_past_due=40, membership_probability=0.9)


def _titles(spec: dict) -> tuple[str, list[str], str]:
    return (spec["encoding"]["color"]["legend"]["title"], [t.get("title") for t in spec["encoding"]["tooltip"]],
            spec["title"])


def test_the_point_map_speaks_german_and_keeps_its_english():
    accounts = _accounts()
    points = _points(accounts.iloc[:1_200])
    with use_language("de"):
        legend, tooltips, title = _titles(point_chart(points, persona_scale(accounts), len(accounts)).to_dict())
    assert legend == "Persona"
    assert tooltips == ["Persona", "Offener Betrag", "Verzugstage", "Zugehörigkeitswahrscheinlichkeit", "Zu prüfen"]
    assert title == "1.200 von 1.500 Konten als Punkte (Anzeigestichprobe)"
    with use_language("en"):
        legend, tooltips, title = _titles(point_chart(points, persona_scale(accounts), len(accounts)).to_dict())
        spec = point_chart(points, persona_scale(accounts), 1_200).to_dict()
    assert legend == "Persona"
    assert tooltips == ["Persona", "Balance", "Days past due", "Membership probability", "Needs review"]
    assert title == "1,200 of 1,500 accounts drawn as points (display sample)"
    assert spec["title"] == "1,200 of 1,200 accounts drawn as points"
    # the data keys stay English whatever the language
    assert [t["field"] for t in spec["encoding"]["tooltip"]] == ["persona", "balance", "days_past_due",
                                                               "membership_probability", "needs_review"]


def test_the_aggregated_map_speaks_german_and_keeps_its_english():
    accounts = _accounts()
    cells = aggregate_map(accounts, bins=20)
    with use_language("de"):
        legend, tooltips, title = _titles(cell_chart(cells, persona_scale(accounts)).to_dict())
    assert legend == "Persona"
    assert tooltips == ["häufigste Persona", "ihr Anteil an der Zelle", "Konten", "zu prüfen"]
    assert title == f"1.500 Konten als {len(cells)} Zellen (auf dem Server zusammengefasst)"
    with use_language("en"):
        legend, tooltips, title = _titles(cell_chart(cells, persona_scale(accounts)).to_dict())
    assert tooltips == ["most common persona", "its share of the cell", "accounts", "need review"]
    assert title == f"1,500 accounts drawn as {len(cells)} cells (aggregated on the server)"


def _table() -> list[dict]:
    return [{"n_neighbors": 15, "min_cluster_share": 0.02, "score": 0.6123, "stability_ari": 0.81,
             "relative_validity": 0.42, "noise_share": 0.031, "personas": 6},
            {"n_neighbors": 15, "min_cluster_share": 0.04, "score": 0.5, "stability_ari": 0.7,
             "relative_validity": -0.1, "noise_share": 0.05, "personas": 4}]


def test_the_search_reason_is_stored_in_english_with_its_language_neutral_form():
    settings = DiscoverySettings(search_rows=12_000)
    search = json.loads(json.dumps(_choose(_table(), settings)))  # as run.json holds it
    english = ("highest combined score 0.612 = 0.5 x stability 0.81 + 0.3 x relative validity 0.42 + 0.2 x "
               "(1 - noise share 0.03) among 2 settings tried, each on sub-samples of 12,000 accounts "
               "(the final fit's own figures are in the metrics)")
    assert search["reason"] == english
    assert search["reason_message"]["params"]["rows"] == 12_000
    assert reason_text(search, "en") == english
    german = reason_text(search, "de")
    assert german.startswith("höchste Gesamtbewertung 0,612 = 0,5 × Stabilität 0,81 + 0,3 × relative Validität 0,42")
    assert "unter 2 geprüften Einstellungen" in german and "Teilstichproben von 12.000 Konten" in german
    with use_language("de"):
        assert reason_text(search) == german


def test_the_search_reason_without_stable_personas_and_an_old_run_without_the_code():
    table = [dict(row, score=float("nan")) for row in _table()]
    search = json.loads(json.dumps(_choose(table, DiscoverySettings()), allow_nan=True))
    assert search["reason"] == "no setting gave two or more stable personas; the configured defaults were kept"
    assert reason_text(search, "de") == ("keine Einstellung ergab zwei oder mehr stabile Personas; "
                                         "die eingestellten Standardwerte wurden beibehalten")
    skipped = _choose(_table()[:1], DiscoverySettings())
    assert skipped["reason"].startswith("settings search skipped (--no-search)")
    assert reason_text(skipped, "de").startswith("Einstellungssuche übersprungen (--no-search)")
    old = {"table": _table(), "reason": "highest combined score 0.700 = … (an old run)"}
    assert reason_text(old, "de") == "highest combined score 0.700 = … (an old run)"
    assert reason_text(None, "de") == "" and reason_text({"reason_message": "broken", "reason": "x"}, "de") == "x"
