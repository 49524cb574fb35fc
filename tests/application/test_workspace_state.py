"""What a session works on, decided without Streamlit (application/workspace_state.py).

``session`` is a plain dict here, standing in for ``st.session_state``; the workspace and the review
database are this test's own (tests/conftest.py points ``PERSONAS_HOME`` at a temporary folder).
"""
from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from application import user_workspace
from application import workspace_state as ws
from core.errors import UserError
from core.workspace import runs_dir
from strategy.auth import User
from strategy.store import ReviewStore
from tests.run_factory import save_fabricated_run
from tests.user_factory import add_users

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)

RUN_A = "20261130-080000-aaaaaaaaaa"
RUN_B = "20261201-080000-bbbbbbbbbb"
ANN = User("ann", "analyst")
CSV = b"account_id,balance\nK1,10.5\nK2,20\n"


@pytest.fixture
def store(review_db_url):
    """The review store on SQLite, and on PostgreSQL (tests/conftest.py ``review_db_url``)."""
    review = ReviewStore(review_db_url)
    add_users(review, (User("root", "admin"), ANN))
    yield review
    review.close()


def fabricated_run(run_id: str, **meta):
    """A small signed run folder in this test's workspace."""
    accounts = pd.DataFrame({"account_id": ["K1", "K2"], "persona_id": 0, "persona_name": "Payers",
                             "membership_probability": 0.9, "needs_review": False, "x": np.nan,
                             "y": np.nan, "risk_score": 0.2})
    profiles = [{"persona_id": 0, "name": "Payers", "size": 2, "share_accounts": 1.0, "share_balance": 1.0,
                 "pay_rate": 0.8, "mean_recovery": None, "mean_risk_score": 0.2, "medians": {},
                 "distinguishing": [], "categorical_shares": {}, "needs_review_count": 0}]
    return save_fabricated_run(runs_dir() / run_id, run_id, profiles, accounts, **meta)


# ---------------------------------------------------------------- the chosen portfolio and settings
def test_the_sample_is_chosen_in_euros_with_its_own_hash():
    choice = ws.sample_choice()
    assert choice.filename == "sample_portfolio.csv" and choice.currency == "EUR"
    assert choice.sha256 == hashlib.sha256(ws.SAMPLE_PATH.read_bytes()).hexdigest()
    assert ws.choice_sha256(None) == choice.sha256


def test_an_upload_keeps_its_mapping_as_sorted_json_so_equal_mappings_give_equal_keys():
    first = ws.uploaded_choice(CSV, "export.csv", {"b": "balance", "a": "account_id"})
    second = ws.uploaded_choice(CSV, "export.csv", {"a": "account_id", "b": "balance"})
    assert first == second and first.mapping_json == '{"a": "account_id", "b": "balance"}'
    assert ws.choice_sha256(first) == hashlib.sha256(CSV).hexdigest()
    assert ws.uploaded_choice(CSV, "x.csv").mapping_json == "{}" and first.currency is None


def test_a_chosen_file_is_read_with_its_mapping():
    portfolio = ws.read_portfolio(CSV, "export.csv", "{}")
    assert portfolio.frame["account_id"].tolist() == ["K1", "K2"]
    with pytest.raises(UserError):
        ws.read_portfolio(b"\x00\x01", "broken.xlsx", "{}")


def test_run_settings_start_from_the_defaults_and_follow_the_choices():
    default = ws.run_settings({}, "en", None)
    assert (default.target, default.target_event, default.seed, default.discovery.search) == (None, "paid", 42, True)
    chosen = ws.run_settings({"target": "paid_90d", "target_event": "unpaid", "target_event_value": "1",
                              "seed": "7", "search": False}, "de", "CHF")
    assert (chosen.target, chosen.target_event, chosen.target_event_value, chosen.seed) == ("paid_90d", "unpaid",
                                                                                            "1", 7)
    assert (chosen.discovery.search, chosen.language, chosen.currency) == (False, "de", "CHF")
    assert ws.run_settings({"target": ""}, "en", None).target is None


def test_a_portfolio_belongs_to_a_run_by_its_data_hash():
    run = type("Run", (), {"meta": {"data_sha256": "ab" * 32}})()
    assert ws.same_data(type("P", (), {"sha256": "ab" * 32})(), run)
    assert not ws.same_data(type("P", (), {"sha256": "cd" * 32})(), run)


# ---------------------------------------------------------------- runs
def test_a_run_key_is_its_folder_and_manifest_fingerprint():
    from runs import manifest_fingerprint

    folder = fabricated_run(RUN_A)
    assert ws.run_key(str(folder.path)) == (str(folder.path), manifest_fingerprint(str(folder.path)))
    assert ws.run_key(None) is None and ws.run_key("") is None


def test_a_run_view_opens_only_with_the_fingerprint_it_was_keyed_with():
    folder = fabricated_run(RUN_A)
    run_dir, fingerprint = ws.run_key(str(folder.path))
    assert ws.load_unchanged_run_view(run_dir, fingerprint).run_id == RUN_A
    with pytest.raises(UserError, match="the run changed while it was being opened"):
        ws.load_unchanged_run_view(run_dir, "0" * 64)


def test_a_run_opens_only_with_the_fingerprint_it_was_keyed_with(monkeypatch):
    import application.pipeline

    loaded = SimpleNamespace(fingerprint="f1")  # a fabricated run has no fitted model to load
    monkeypatch.setattr(application.pipeline, "load_run", lambda path: loaded)
    assert ws.load_unchanged_run("runs/x", "f1") is loaded
    with pytest.raises(UserError, match="runs/x: the run changed while it was being opened; open it again."):
        ws.load_unchanged_run("runs/x", "f2")


def test_runs_are_listed_newest_first_and_an_altered_one_keeps_its_problem():
    fabricated_run(RUN_A)
    newer = fabricated_run(RUN_B, created_at="2026-12-01T08:00:00Z")
    assert [row["run_id"] for row in ws.list_runs()] == [RUN_B, RUN_A]
    meta = json.loads((newer.path / "run.json").read_text(encoding="utf-8"))
    (newer.path / "run.json").write_text(json.dumps({**meta, "source_name": "forged.csv"}), encoding="utf-8")
    by_id = {row["run_id"]: row for row in ws.list_runs()}
    assert by_id[RUN_A]["problem"] is None and by_id[RUN_A]["run_dir"] == str(runs_dir() / RUN_A)
    assert "changed since the run was saved" in by_id[RUN_B]["problem"]
    assert set(by_id[RUN_A]) == {"run_dir", "run_id", "parent_run_id", "created_at", "source_name", "label",
                                 "problem"}


def test_only_a_run_of_this_workspaces_runs_folder_is_kept_by_its_id(tmp_path):
    root = runs_dir()
    assert ws.chosen_run_id(str(root / RUN_A), root) == RUN_A
    assert ws.chosen_run_id(str(tmp_path / "elsewhere" / RUN_A), root) is None
    assert ws.chosen_run_id(str(root / "../etc"), root) is None
    assert ws.chosen_run_id(None, root) is None


def test_a_user_error_is_shown_one_paragraph_per_line_as_text():
    err = UserError("column *Betrag* is empty")
    assert ws.error_lines(err) == ["column *Betrag* is empty"]
    assert ws.error_text(err) == "column \\*Betrag\\* is empty"
    assert ws.error_text(UserError("two problems", lines=["one_a", "two"])) == "one\\_a\n\ntwo"


# ---------------------------------------------------------------- the reader's language
def test_the_browsers_locale_wins_over_its_accept_header():
    assert ws.browser_language("de-AT", "en-GB,en;q=0.9") == "de"
    assert ws.browser_language("fr-FR", "fr, de;q=0.8") == "de"
    assert ws.browser_language(None, None) is None


def test_a_saved_language_wins_over_the_environment_and_the_browser(store, monkeypatch):
    from strategy.preferences import save_language

    monkeypatch.delenv("PERSONAS_LANGUAGE", raising=False)
    assert ws.user_language(store, "ann", "de") == "de"
    assert ws.user_language(store, None, None) == "en"
    monkeypatch.setenv("PERSONAS_LANGUAGE", "de")
    assert ws.user_language(store, "ann", "en") == "de"
    save_language(store, "ann", "en")
    assert ws.user_language(store, "ann", "de") == "en"


# ---------------------------------------------------------------- the workspace record
def test_choices_are_kept_only_for_an_upload_and_the_run_always():
    root = runs_dir()
    choice = ws.uploaded_choice(CSV, "export.csv", {"a": "account_id"})
    session = {"portfolio_choice": choice, "upload_id": "u1", "target": "paid_90d", "seed": 7,
               "run_dir": str(root / RUN_A), "unrelated": 1}
    assert ws.session_choices(session) == {"mapping_json": '{"a": "account_id"}', "target": "paid_90d", "seed": 7}
    assert ws.snapshot(session, root) == [choice.sha256, ws.session_choices(session), RUN_A]
    assert ws.snapshot({"run_dir": str(root / RUN_A)}, root) == [None, None, RUN_A]


def test_a_new_session_takes_back_the_upload_its_choices_and_the_run(store):
    fabricated_run(RUN_A)
    user_workspace.save_upload(store, "ann", CSV, "export.csv")
    sha = hashlib.sha256(CSV).hexdigest()
    user_workspace.save_choices(store, "ann", sha, {"mapping_json": "{}", "target": "paid_90d", "seed": 3})
    user_workspace.save_run_choice(store, "ann", RUN_A)
    updates = ws.restored_session(store, "ann", {"seed": 9}, runs_dir())
    assert updates["portfolio_choice"].data == CSV and updates["upload_id"] == f"restored:{sha}"
    assert updates["target"] == "paid_90d" and "seed" not in updates  # the session's own choice stays
    assert updates["run_dir"] == str(runs_dir() / RUN_A) and updates[ws.NOTICES] == []
    assert updates[ws.RESTORED_FOR] == "ann"
    assert updates[ws.REMEMBERED] == [sha, {"mapping_json": "{}", "seed": 9, "target": "paid_90d"}, RUN_A]
    assert ws.restored_session(store, "ann", updates, runs_dir()) == {}  # once per session


def test_an_edited_run_is_restored_over_the_run_its_chain_starts_from(store):
    fabricated_run(RUN_A)
    fabricated_run(RUN_B, parent_run_id=RUN_A)
    restored = ws.run_restoration(runs_dir(), RUN_B)
    assert restored.updates == {"run_dir": str(runs_dir() / RUN_B), "persona_edited_dir": str(runs_dir() / RUN_B),
                                "persona_edited_base": RUN_A}


def test_a_missing_run_is_refused_with_one_notice(store):
    user_workspace.save_run_choice(store, "ann", RUN_A)
    updates = ws.restored_session(store, "ann", {ws.REFUSED_RUNS: ["older"]}, runs_dir())
    assert "run_dir" not in updates
    assert updates[ws.REFUSED_RUNS] == ["older", str(runs_dir() / RUN_A)]
    assert updates[ws.NOTICES] == [f"The run you had chosen ({RUN_A}) is missing or failed its integrity check; "
                                   "it was not restored."]


def test_a_lost_upload_is_said_once_and_the_sample_stays(store):
    record = user_workspace.save_upload(store, "ann", CSV, "my_export.csv")
    user_workspace.upload_path("ann", record).write_bytes(b"changed")
    updates = ws.restored_session(store, "ann", {}, runs_dir())
    assert "portfolio_choice" not in updates
    assert updates[ws.NOTICES] == ["Your upload my\\_export.csv is no longer in the workspace (or was changed "
                                   "there); the bundled sample is shown."]


def _age_upload(store, username: str, days: float) -> None:
    """Make ``username``'s kept upload ``days`` old (as if it had been uploaded then)."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    then = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
    with store.engine.begin() as conn:
        conn.execute(update(user_workspace.user_workspace).where(user_workspace.user_workspace.c.username == username)
                     .values(uploaded_at=then))


def test_an_upload_older_than_the_retention_is_deleted_with_its_choices_and_the_user_is_told_once(store):
    fabricated_run(RUN_A)
    kept = user_workspace.save_upload(store, "ann", CSV, "old_export.csv")
    user_workspace.save_choices(store, "ann", kept.sha256, {"mapping_json": "{}", "target": "paid_90d"})
    user_workspace.save_run_choice(store, "ann", RUN_A)
    fresh = user_workspace.save_upload(store, "root", b"account_id,balance\nR1,1\n", "new.csv")
    _age_upload(store, "ann", 31)
    _age_upload(store, "root", 29)
    updates = ws.restored_session(store, "ann", {}, runs_dir())
    assert "portfolio_choice" not in updates and "target" not in updates
    assert updates[ws.NOTICES] == ["Your upload old\\_export.csv has been deleted: uploads are kept for at most 30 "
                                   "days (they hold debtors' personal data). Upload it again to go on; the bundled "
                                   "sample is shown."]
    assert updates["run_dir"] == str(runs_dir() / RUN_A), "the chosen run is a decision record: it stays"
    assert not user_workspace.upload_path("ann", kept).exists()
    record = user_workspace.saved_workspace(store, "ann")
    assert record.sha256 is None and not record.choices
    assert user_workspace.read_upload("root", fresh) == b"account_id,balance\nR1,1\n", "29 days: still kept"
    assert ws.restored_session(store, "ann", {}, runs_dir())[ws.NOTICES] == [], "said once"


def test_the_retention_can_be_set_in_days_and_a_wrong_value_keeps_the_default(store, monkeypatch, capsys):
    user_workspace.save_upload(store, "ann", CSV, "export.csv")
    _age_upload(store, "ann", 8)
    monkeypatch.setenv("PERSONAS_UPLOAD_MAX_DAYS", "10")
    assert user_workspace.sweep_expired_uploads(store) == {}
    monkeypatch.setenv("PERSONAS_UPLOAD_MAX_DAYS", "7")
    assert user_workspace.sweep_expired_uploads(store) == {"ann": "export.csv"}
    for wrong in ("0", "-3", "two weeks", "1.5"):
        monkeypatch.setenv("PERSONAS_UPLOAD_MAX_DAYS", wrong)
        assert user_workspace.upload_max_days() == 30
        assert f"PERSONAS_UPLOAD_MAX_DAYS={wrong!r} is not a whole number of days" in capsys.readouterr().err


def test_an_upload_of_unknown_age_counts_as_expired(store):
    from sqlalchemy import update

    kept = user_workspace.save_upload(store, "ann", CSV, "export.csv")
    with store.engine.begin() as conn:
        conn.execute(update(user_workspace.user_workspace).values(uploaded_at="not a date"))
    assert user_workspace.sweep_expired_uploads(store) == {"ann": "export.csv"}
    assert not user_workspace.upload_path("ann", kept).exists()


def test_an_expired_upload_that_cannot_be_deleted_is_logged_and_the_others_still_go(store, monkeypatch, capsys):
    kept = {name: user_workspace.save_upload(store, name, CSV + name.encode(), f"{name}.csv") for name in ("ann", "root")}
    for name in kept:
        _age_upload(store, name, 40)
    real = user_workspace.drop_upload

    def stuck_for_ann(store_or_engine, username):
        if username == "ann":
            raise PermissionError("Permission denied")
        return real(store_or_engine, username)

    monkeypatch.setattr(user_workspace, "drop_upload", stuck_for_ann)
    assert user_workspace.sweep_expired_uploads(store) == {"root": "root.csv"}
    assert "the expired upload of 'ann' could not be deleted: Permission denied" in capsys.readouterr().err
    assert not user_workspace.upload_path("root", kept["root"]).exists()


def test_an_unreadable_workspace_is_said_in_one_line_and_nothing_is_remembered(store, monkeypatch, capsys):
    def unreadable(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(user_workspace, "restorable", unreadable)
    updates = ws.restored_session(store, "ann", {}, runs_dir())
    assert updates == {ws.RESTORED_FOR: "ann", ws.REMEMBERED: None, ws.NOTICES: [
        "Your last upload and run could not be read from the workspace; the bundled sample is shown."]}
    assert "the workspace of 'ann' could not be read: disk gone" in capsys.readouterr().err


def test_a_rerun_writes_back_only_what_changed_and_only_for_the_restored_user(store):
    fabricated_run(RUN_A)
    session = {ws.RESTORED_FOR: "ann", ws.REMEMBERED: [None, None, None], "run_dir": str(runs_dir() / RUN_A)}
    assert ws.remembered_session(store, "ann", session, runs_dir()) == {ws.REMEMBERED: [None, None, RUN_A]}
    assert user_workspace.saved_workspace(store, "ann").run_id == RUN_A
    session[ws.REMEMBERED] = [None, None, RUN_A]
    assert ws.remembered_session(store, "ann", session, runs_dir()) == {}
    assert ws.remembered_session(store, "bob", {**session, ws.REMEMBERED: None}, runs_dir()) == {}


def test_a_failed_write_back_is_logged_and_tried_again_next_rerun(store, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise OSError("read-only")

    monkeypatch.setattr(user_workspace, "save_run_choice", broken)
    assert not ws.write_back(store, "ann", [None, None, RUN_A], None)
    assert "the workspace of 'ann' could not be saved: read-only" in capsys.readouterr().err
    session = {ws.RESTORED_FOR: "ann", "run_dir": str(runs_dir() / RUN_A)}
    assert ws.remembered_session(store, "ann", session, runs_dir()) == {}


def test_an_upload_is_kept_and_found_again(store, monkeypatch, capsys):
    choice = ws.uploaded_choice(CSV, "export.csv")
    assert ws.kept_upload(store, "ann") is None
    assert ws.keep_upload(store, "ann", choice)
    assert ws.kept_upload(store, "ann").sha256 == choice.sha256
    user_workspace.save_run_choice(store, "root", None)
    assert ws.kept_upload(store, "root") is None  # a record without an upload
    def full(*args, **kwargs):
        raise OSError("full")

    monkeypatch.setattr(user_workspace, "save_upload", full)
    assert not ws.keep_upload(store, "ann", choice)
    assert "the upload of 'ann' could not be kept: full" in capsys.readouterr().err


def test_after_forgetting_the_uploader_is_new_and_nothing_is_written_back():
    updates = ws.after_forgetting("ann", {ws.UPLOAD_GENERATION: 2, "run_dir": str(runs_dir() / RUN_A)}, runs_dir())
    assert updates == {ws.UPLOAD_GENERATION: 3, ws.RESTORED_FOR: "ann", ws.REMEMBERED: [None, None, RUN_A]}
    assert ws.after_forgetting("ann", {}, runs_dir())[ws.UPLOAD_GENERATION] == 1
