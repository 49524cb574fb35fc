"""Profiles and names read what columns mean from the portfolio's column model, never from names."""
from __future__ import annotations

import numpy as np
import pandas as pd

from personas.features import FeatureBuilder, feature_columns
from personas.names import name_persona
from personas.profiles import build_profiles, outcome_columns
from portfolio.meanings import Meaning
from portfolio.roles import detect_roles

N = 60


def _export(**extra) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = {"Akte": [f"A{i}" for i in range(N)], "Saldo": rng.uniform(100, 900, N).round(2),
            "Verzugstage": rng.integers(0, 200, N)}
    data.update(extra)
    return pd.DataFrame(data)


def _profiles(frame: pd.DataFrame, mapping=None, persona_of=None):
    roles = detect_roles(frame, mapping)
    data = frame.rename(columns=roles.renamed)
    builder = FeatureBuilder(feature_columns(data, roles)).fit(data)
    persona_of = np.repeat([0, 1], N // 2) if persona_of is None else persona_of
    accounts = pd.DataFrame({"account_id": data["account_id"], "persona_id": persona_of, "needs_review": False})
    outcomes = outcome_columns(data, roles)
    return outcomes, build_profiles(data, accounts, builder, builder.transform(data), outcomes)


def test_every_flag_column_with_a_meaning_gets_its_share_with_count_and_column():
    marks = ["x"] * 10 + [None] * 20 + ["x"] * 5 + [None] * 25
    outcomes, profiles = _profiles(_export(Insolvenz=marks, **{"Widerspruch SMS": ["J", "N", None] * 20}))

    assert outcomes["flags"] == {Meaning.INSOLVENCY: "Insolvenz", Meaning.opt_out("sms"): "Widerspruch SMS"}
    assert profiles[0]["flag_shares"][Meaning.INSOLVENCY] == {"share": 0.3333, "count": 10, "known": 30,
                                                              "column": "Insolvenz"}
    assert profiles[1]["flag_shares"][Meaning.opt_out("sms")]["known"] == 20


def test_a_portfolio_without_flag_columns_gives_profiles_without_flag_shares():
    _, profiles = _profiles(_export(Branche=["Energie", "Telekom"] * (N // 2)))

    assert profiles[0]["flag_shares"] == {}


def test_the_outcome_direction_comes_from_the_outcome_meaning():
    outcomes, _ = _profiles(_export(SeriousDlqin2yrs=[0, 1] * (N // 2)))

    assert outcomes["pay"] == "SeriousDlqin2yrs" and outcomes["pay_event"] == "default"


def test_names_follow_the_meaning_a_mapping_gives_an_unfamiliar_column():
    disputes = [1] * 25 + [0] * 5 + [0] * 30
    _, profiles = _profiles(_export(**{"Kennz. 7": disputes}), {"Kennz. 7": {"meaning": "dispute"}})

    top = profiles[0]["distinguishing"][0]
    assert top["feature"] == "Kennz. 7" and top["meaning"] == Meaning.DISPUTE
    assert name_persona(profiles[0]).startswith("Disputes the debt")


def test_yes_no_flags_with_gaps_from_a_file_can_be_profiled(tmp_path):
    from portfolio.read import read_table

    lines = ["Akte;Saldo;Verzugstage;Bestritten"] + [
        f"A{i};{100 + i},50;{i % 90};{['J', 'N', ''][i % 3]}" for i in range(N)]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    _, profiles = _profiles(read_table(path).frame)

    assert profiles[0]["flag_shares"][Meaning.DISPUTE] == {"share": 0.5, "count": 10, "known": 20,
                                                            "column": "Bestritten"}
