"""Champion/challenger on the Strategies page: an analyst proposes a challenger, the proposer cannot
approve it, another manager can (with the version shown), and the approval stores the minimum sample."""
from __future__ import annotations

from strategy.auth import User

PAGE = "app_pages/4_strategies.py"


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_an_analyst_proposes_a_challenger_and_another_manager_approves_it(review_desk):
    review_desk.propose_all("ana")
    run, store = review_desk.run_view(), review_desk.store()
    pid = run.persona_ids[0]

    at = review_desk.open("ana", PAGE)
    assert not at.exception, at.exception
    at.number_input(key=f"ch_share_{pid}").set_value(30)
    at = _click(at, "Propose challenger")
    assert not at.exception, at.exception
    experiment = store.get_experiment(run, pid)
    assert experiment is not None and experiment.state == "proposed"
    assert experiment.challenger_share == 0.3 and experiment.proposed_by == "ana"

    at = review_desk.open("mia", PAGE)
    assert not at.exception, at.exception
    assert "Approve challenger" in [b.label for b in at.button]
    at = _click(at, "Approve challenger")
    assert not at.exception, at.exception
    approved = store.get_experiment(run, pid)
    assert approved.state == "approved" and approved.approved_by == "mia"
    assert approved.min_sample_per_arm and approved.min_sample_per_arm > 0
    assert any("minimum sample" in s.value for s in at.success)


def test_an_analyst_sees_the_proposed_experiment_but_cannot_approve_it(review_desk):
    review_desk.propose_all("ana")
    run, store = review_desk.run_view(), review_desk.store()
    pid = run.persona_ids[0]
    store.propose_challenger(User("ana", "analyst"), run, pid, challenger_share=0.2)
    at = review_desk.open("ana", PAGE)  # an analyst sees the experiment but no approval button
    assert not at.exception, at.exception
    assert "Approve challenger" not in [b.label for b in at.button]
    assert any("Experiment" in m.value for m in at.markdown)
