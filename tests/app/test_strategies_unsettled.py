"""A manager sees, on the Strategies page, that the personas are not settled before approving a
strategy per persona; once the analyst has decided on the pairs told apart only by a missing value,
the warning goes (the run's confidence being high enough).

The run is a real pipeline run on the recovery suite's German export whose unreachable persona has
no contact rate ("Kontaktquote", 3,000 accounts, seed 11), where the verdict names such pairs.
"""
from __future__ import annotations


PAGE = "app_pages/4_strategies.py"


def _desk(run_dir, data: bytes, frame, *, add_users: bool = True):
    from tests.app.conftest import REVIEW_USERS, ReviewDesk
    from tests.user_factory import add_users as add

    desk = ReviewDesk(run_dir, data, "kontaktquote.csv", frame)
    if add_users:  # one review database per test: the users once
        store = desk.store()
        add(store, [desk.user(name) for name in sorted(REVIEW_USERS, key=lambda n: n != "root")])
        store.close()
    return desk


def _warnings(at) -> list[str]:
    return [w.value for w in at.warning if w.value.startswith("Before approving:")]


def test_a_manager_is_told_before_approving_that_personas_are_cut_by_a_missing_value():
    from application.pipeline import apply_edit, run_pipeline
    from benchmarks.worlds import world
    from core.workspace import runs_dir
    from personas import edits
    from personas.settings import RunSettings
    from portfolio.load import load_portfolio

    item = world("missing_by_persona")
    data = item.make(3_000, 11).drop(columns=["true_persona"]).to_csv(index=False).encode()
    portfolio = load_portfolio(data, filename="kontaktquote.csv")
    result = run_pipeline(portfolio, RunSettings(seed=11, language=item.language))
    metrics = result.meta["metrics"]
    assert metrics["missing_cuts"] and metrics["confidence"] >= metrics["settled_threshold"]
    folder = result.save(runs_dir() / result.run_id)
    desk = _desk(folder, data, portfolio.frame)

    at = desk.open("mia", PAGE)
    shown = _warnings(at)
    assert len(shown) == 1 and "differ mainly in whether Kontaktquote has a value" in shown[0]

    for cut in metrics["missing_cuts"]:
        result = apply_edit(result, edits.keep_apart(cut["personas"], cut["column"], user="ana"))
    kept = result.save(runs_dir() / result.run_id)
    assert result.meta["metrics"]["settled"] is True
    at = _desk(kept, data, portfolio.frame, add_users=False).open("mia", PAGE)
    assert not at.exception, at.exception
    assert _warnings(at) == [], "decided by the analyst and confident: nothing to warn about"
