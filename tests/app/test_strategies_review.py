"""The Strategies page as the manager and compliance judge: the version approved, the sticky veto,
overrides that need a second person, and the queue of held accounts (``review_desk`` fixture:
analysts ana and bob, managers mia and max, compliance cleo, admin root)."""
from __future__ import annotations

PAGE = "app_pages/4_strategies.py"


def _labels(at) -> list[str]:
    return [b.label for b in at.button]


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_the_manager_sees_the_version_and_hash_being_approved(review_desk):
    review_desk.propose_all("ana")
    run, store = review_desk.run_view(), review_desk.store()
    pid = run.persona_ids[0]
    mapping = store.get_mapping(run, pid)
    at = review_desk.open("mia", PAGE)
    assert not at.exception, at.exception
    assert any(f"You approve version {mapping.version}" in c.value
               and mapping.version_hash[:16] in c.value for c in at.caption)
    assert any("Share of the portfolio" in m.value for m in at.markdown)
    at = _click(at, "Approve")
    assert not at.exception, at.exception
    assert store.get_mapping(run, pid).approval_hash == mapping.version_hash


def test_a_veto_blocks_approval_until_compliance_lifts_it_on_the_page(review_desk):
    review_desk.propose_all("ana")
    run, store = review_desk.run_view(), review_desk.store()
    pid = run.persona_ids[0]
    at = review_desk.open("cleo", PAGE)
    at.text_input(key=f"reason_{pid}").input("Threatening wording in reminder 2")
    at = _click(at, "Veto (reject)")
    assert not at.exception, at.exception
    rejected = store.get_mapping(run, pid)
    store.propose(review_desk.user("ana"), run, pid, rejected.strategy,
                  expected_version=rejected.version)  # the same content again

    at = review_desk.open("mia", PAGE)
    at.selectbox(key="review_persona").set_value(pid)
    at.run()
    assert any("Compliance veto by cleo" in e.value for e in at.error)
    assert "Approve" not in _labels(at) and "Lift veto" not in _labels(at)

    at = review_desk.open("cleo", PAGE)
    at.selectbox(key="review_persona").set_value(pid)
    at.run()
    at = _click(at, "Lift veto")
    assert any("needs a reason" in e.value for e in at.error)
    at.text_input(key=f"lift_reason_{pid}").input("Wording fixed in the letter system")
    at = _click(at, "Lift veto")
    assert not at.exception, at.exception
    assert store.get_mapping(run, pid).veto is None
    assert store.audit_entries(action="veto_lifted")

    at = review_desk.open("mia", PAGE)
    at.selectbox(key="review_persona").set_value(pid)
    at.run()
    at = _click(at, "Approve")
    assert not at.exception, at.exception
    assert store.get_mapping(run, pid).state == "approved"


def test_the_review_queue_lists_held_accounts_and_a_manager_clears_one(review_desk):
    review_desk.propose_all("ana")
    review_desk.approve_all("mia")
    run, store = review_desk.run_view(), review_desk.store()
    account = str(run.accounts["account_id"].iloc[3])
    store.override_account(review_desk.user("max"), run, account,
                           persona_id=run.persona_ids[-1], reason="moved on request")
    at = review_desk.open("mia", PAGE)
    assert not at.exception, at.exception
    queue = next(d.value for d in at.dataframe if list(d.value.columns) == ["account_id", "reason"])
    assert "waits for a second person" in queue.set_index("account_id").at[account, "reason"]
    flagged = run.accounts.loc[run.accounts["needs_review"].astype(bool), "account_id"]
    if len(flagged):  # the run's uncertain assignments wait for a person too
        first = str(flagged.iloc[0])
        assert "needs review" in queue.set_index("account_id").at[first, "reason"]
        at.text_input(key="clear_account_id").input(first)
        at.text_input(key="clear_account_reason").input("Checked: assignment is right")
        at = _click(at, "Clear for export")
        assert not at.exception, at.exception
        queue = next(d.value for d in at.dataframe
                     if list(d.value.columns) == ["account_id", "reason"])
        assert first not in set(queue["account_id"])
