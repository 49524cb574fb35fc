"""The upload and the chosen run live in the workspace, not only in the browser session (issue 18, build 6).

A reload is a new Streamlit session of the same browser: here a new ``AppTest`` handed the first one's
session cookie (tests/conftest.py's fake browser). Signing in again is a new ``AppTest`` signed in as the
same user. The upload goes through the Portfolio page's own file uploader.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
TIMEOUT_S = 180
RUN_A = "20261130-080000-aaaaaaaaaa"
RUN_B = "20261201-080000-bbbbbbbbbb"


def export(rows: int = 300, seed: int = 4) -> bytes:
    """A generated portfolio with an outcome column (1 = paid)."""
    from sample_data.generator import generate_portfolio

    frame = generate_portfolio(rows, seed=seed).drop(columns=["amount_recovered_90d"])
    return frame.to_csv(index=False).encode("utf-8")


def fabricated_run(run_id: str, **meta) -> Path:
    """A small signed run folder in this test's workspace (no fitted model: the Portfolio page never loads one)."""
    from core.workspace import runs_dir
    from tests.run_factory import save_fabricated_run

    accounts = pd.DataFrame({"account_id": [f"K{i:03d}" for i in range(20)], "persona_id": 0,
                             "persona_name": "Reliable early payers", "membership_probability": 0.9,
                             "needs_review": False, "x": np.nan, "y": np.nan, "risk_score": 0.2})
    profiles = [{"persona_id": 0, "name": "Reliable early payers", "size": 20, "share_accounts": 1.0,
                 "share_balance": 1.0, "pay_rate": 0.8, "mean_recovery": None, "mean_risk_score": 0.2,
                 "medians": {"balance": {"persona": 300.0, "portfolio": 300.0}}, "distinguishing": [],
                 "categorical_shares": {}, "needs_review_count": 0}]
    return save_fabricated_run(runs_dir() / run_id, run_id, profiles, accounts, **meta).path


def signed_in(name: str, role: str = "analyst") -> AppTest:
    """``app.py`` in a new browser session, signed in as ``name`` (a new sign-in)."""
    from strategy.auth import User

    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User(name, role)
    at.run()
    assert not at.exception, at.exception
    return at


def reloaded(at: AppTest) -> AppTest:
    """The same browser after a reload: a new Streamlit session that sends the same session cookie."""
    from tests.fake_browser import browser_cookie

    again = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    again.session_state["_test_cookie"] = browser_cookie(at)
    again.run()
    assert not again.exception, again.exception
    return again


def upload(at: AppTest, data: bytes, name: str = "export.csv") -> AppTest:
    at.file_uploader[0].set_value((name, data, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def rows_read(at: AppTest) -> int:
    metric = next(m for m in at.metric if m.label == "Rows read")
    return int(metric.value.replace(",", "").replace(".", ""))


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def user_folder(name: str) -> Path:
    from application.user_workspace import UPLOADS, user_key
    from core.workspace import workspace_dir

    return workspace_dir() / UPLOADS / user_key(name)


def record(name: str):
    from application.user_workspace import saved_workspace
    from core.workspace import database_url
    from strategy.store import ReviewStore

    store = ReviewStore(database_url())
    try:
        return saved_workspace(store, name)
    finally:
        store.close()


# ---------------------------------------------------------------- a reload, a bookmark, signing in again
def test_a_reload_brings_back_the_upload_its_corrections_and_the_chosen_run():
    run_a, run_b = fabricated_run(RUN_A), fabricated_run(RUN_B)
    data = export()
    at = upload(signed_in("ana"), data)
    assert rows_read(at) == 300
    outcome = next(s for s in at.selectbox if s.label == "Outcome column the risk model learns from")
    outcome.select("paid_90d").run()
    at.session_state["run_dir"] = str(run_a)  # the older run, chosen in the sidebar
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["run_dir"] == str(run_a)

    again = reloaded(at)
    choice = again.session_state["portfolio_choice"]
    assert (choice.filename, choice.sha256, choice.data) == ("export.csv", hashlib.sha256(data).hexdigest(), data)
    assert rows_read(again) == 300
    assert "Using the uploaded file **export.csv**" in captions(again)
    assert again.session_state["target"] == "paid_90d"
    assert again.session_state["run_dir"] == str(run_a), "the chosen run, not the newest one"
    assert str(run_b) != again.session_state["run_dir"]
    assert not [w.value for w in again.warning if "restored" in w.value or "workspace" in w.value]


def test_a_chosen_edit_comes_back_over_the_run_it_was_edited_from():
    fabricated_run(RUN_A)
    edited = fabricated_run(RUN_B, parent_run_id=RUN_A, edits=1)
    at = upload(signed_in("ana"), export())
    at.session_state["run_dir"] = str(edited)
    at.run()

    again = reloaded(at)
    assert again.session_state["run_dir"] == str(edited)
    assert again.session_state["persona_edited_dir"] == str(edited)
    assert again.session_state["persona_edited_base"] == RUN_A, "the Personas page shows the edit over its run"


def test_signing_in_again_brings_back_the_upload_and_the_column_corrections():
    data = export()
    at = upload(signed_in("ana"), data)
    table = at.data_editor(key="role_editor").value.reset_index(drop=True)
    row = int(table.index[table["name"] == "sector"][0])
    at.session_state["role_editor"] = {"edited_rows": {row: {"role": "excluded"}}, "added_rows": [],
                                       "deleted_rows": []}
    at.run()
    next(b for b in at.button if b.label == "Apply changes").click().run()
    assert not at.exception, at.exception

    again = signed_in("ana")  # another browser, a new sign-in
    assert again.session_state["portfolio_choice"].sha256 == hashlib.sha256(data).hexdigest()
    assert json.loads(again.session_state["portfolio_choice"].mapping_json)["sector"] == "excluded"
    assert again.data_editor(key="role_editor").value.set_index("name").at["sector", "role"] == "excluded"


def test_another_user_never_sees_the_upload():
    upload(signed_in("ana"), export())

    bob = signed_in("bob")
    assert "portfolio_choice" not in bob.session_state or \
        bob.session_state["portfolio_choice"].filename == "sample_portfolio.csv"
    assert "Using the bundled sample portfolio **sample_portfolio.csv**" in captions(bob)
    assert rows_read(bob) == 5000
    assert record("bob") is None or record("bob").sha256 is None
    assert not user_folder("bob").exists()
    assert len(list(user_folder("ana").iterdir())) == 1


def test_replacing_the_upload_deletes_the_previous_file():
    first, second = export(seed=4), export(rows=200, seed=5)
    at = upload(signed_in("ana"), first, "first.csv")
    assert [p.name for p in user_folder("ana").iterdir()] == [f"{hashlib.sha256(first).hexdigest()}.csv"]
    upload(at, second, "second.csv")
    assert rows_read(at) == 200
    assert [p.name for p in user_folder("ana").iterdir()] == [f"{hashlib.sha256(second).hexdigest()}.csv"]
    assert (record("ana").filename, record("ana").sha256) == ("second.csv", hashlib.sha256(second).hexdigest())

    again = reloaded(at)
    assert again.session_state["portfolio_choice"].filename == "second.csv"
    assert rows_read(again) == 200


def test_forget_my_upload_deletes_the_file_and_the_record():
    at = upload(signed_in("ana"), export())
    assert user_folder("ana").is_dir()
    next(b for b in at.button if b.label == "Forget my upload").click().run()
    assert not at.exception, at.exception

    assert not user_folder("ana").exists()
    assert record("ana") is None
    assert "Using the bundled sample portfolio" in captions(at)
    assert rows_read(at) == 5000
    assert at.file_uploader[0].value is None, "the uploader is emptied, so the file is not kept again"
    again = reloaded(at)
    assert rows_read(again) == 5000
    assert not user_folder("ana").exists()


def test_the_account_page_shows_the_kept_upload_and_forgets_it():
    at = upload(signed_in("ana"), export(), "offen.csv")
    at.switch_page("app_pages/7_account.py").run()
    assert not at.exception, at.exception
    assert "**offen.csv**" in captions(at) and "kept in this app's workspace" in captions(at)
    next(b for b in at.button if b.label == "Forget my upload").click().run()
    assert not at.exception, at.exception
    assert record("ana") is None and not user_folder("ana").exists()
    assert "No file of yours is kept in the workspace" in captions(at)


# ---------------------------------------------------------------- what is not restored
def test_a_tampered_run_folder_is_not_restored_and_the_user_is_told_in_one_line():
    run_a = fabricated_run(RUN_A)
    at = upload(signed_in("ana"), export())
    at.session_state["run_dir"] = str(run_a)
    at.run()
    assert record("ana").run_id == RUN_A
    with open(run_a / "accounts.parquet", "ab") as handle:  # someone who can write the workspace
        handle.write(b"\0")

    again = reloaded(at)
    assert again.session_state["portfolio_choice"].filename == "export.csv", "the upload still comes back"
    shown = again.session_state["run_dir"] if "run_dir" in again.session_state else None
    assert shown != str(run_a)
    assert all(str(run_a) not in box.options for box in again.sidebar.selectbox), "nor offered in the sidebar"
    warnings = [w.value for w in again.warning]
    assert len([w for w in warnings if RUN_A in w]) == 1, warnings
    assert "failed its integrity check" in next(w for w in warnings if RUN_A in w)


def test_an_upload_changed_in_the_workspace_is_not_used():
    data = export()
    at = upload(signed_in("ana"), data)
    (path,) = list(user_folder("ana").iterdir())
    os.chmod(path, 0o600)
    path.write_bytes(data.replace(b"\n", b"\n9", 1))

    again = reloaded(at)
    assert rows_read(again) == 5000, "the bundled sample, never the altered bytes"
    assert any("export.csv" in w.value and "no longer in the workspace" in w.value for w in again.warning)
    assert not user_folder("ana").exists() and record("ana").sha256 is None
    assert not [w for w in reloaded(again).warning if "export.csv" in w.value], "said once"


# ---------------------------------------------------------------- the files themselves
def test_uploads_are_private_files_in_private_folders():
    from core.workspace import workspace_dir

    data = export()
    upload(signed_in("ana"), data)
    folder = user_folder("ana")
    (path,) = list(folder.iterdir())
    assert stat.S_IMODE(os.lstat(workspace_dir() / "uploads").st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    assert path.read_bytes() == data
    assert "ana" not in str(folder.relative_to(workspace_dir())), "no user name becomes a path"


def test_a_symbolic_link_in_the_workspace_is_never_followed(tmp_path):
    from application import user_workspace
    from core.errors import UserError
    from core.workspace import database_url, workspace_dir
    from strategy.store import ReviewStore

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (workspace_dir() / "uploads").mkdir(mode=0o700)
    user_folder("ana").symlink_to(elsewhere, target_is_directory=True)
    store = ReviewStore(database_url())
    try:
        with pytest.raises(UserError, match="symbolic link"):
            user_workspace.save_upload(store, "ana", b"a,b\n1,2\n", "x.csv")
        assert list(elsewhere.iterdir()) == []
        record = user_workspace.SavedWorkspace("ana", "x.csv", hashlib.sha256(b"a,b\n1,2\n").hexdigest())
        (elsewhere / user_workspace.stored_name(record.sha256, "x.csv")).write_bytes(b"a,b\n1,2\n")
        with pytest.raises(UserError, match="symbolic link"):
            user_workspace.read_upload("ana", record)
    finally:
        store.close()


def test_a_stored_run_id_is_checked_before_it_becomes_a_path():
    from application import user_workspace
    from core.errors import UserError
    from core.workspace import database_url
    from strategy.store import ReviewStore

    store = ReviewStore(database_url())
    try:
        for bad in ("../../etc", "/tmp/run", "20261201-080000-bbbbbbbbbb/.."):
            with pytest.raises(UserError):
                user_workspace.save_run_choice(store, "ana", bad)
        user_workspace.save_run_choice(store, "ana", RUN_B)
        assert user_workspace.saved_workspace(store, "ana").run_id == RUN_B
    finally:
        store.close()


def test_a_removed_users_upload_is_deleted_at_the_next_sign_in():
    from core.workspace import database_url
    from strategy.auth import User
    from strategy.store import ReviewStore

    upload(signed_in("bob"), export())
    assert user_folder("bob").is_dir()
    signed_in("root", "admin")  # creates the administrator
    store = ReviewStore(database_url())
    try:
        store.remove_user(User("root", "admin"), "bob")
    finally:
        store.close()
    signed_in("ana")
    assert not user_folder("bob").exists()
    assert record("bob") is None
