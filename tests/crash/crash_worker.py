"""A process that writes to the review database as fast as it can, until it is killed.

Run by ``test_crash_safety.py`` as ``python crash_worker.py DB RUN_DIR EXPORT_DIR``. The database
must already hold the users and the registered run (``prepare``). Each loop iteration does real
review work with the real store: propose or edit a persona's strategy (analyst), approve it (a
different manager), reject one, toggle the kill switch, override an account, and export the
approved mappings when every persona is approved. After each committed transaction it prints
``committed <audit seq>`` so the parent knows what must survive the kill.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from strategy.auth import User  # noqa: E402
from tests.run_factory import save_fabricated_run  # noqa: E402
from strategy.catalogue import Strategy  # noqa: E402
from strategy.run_view import load_run_view  # noqa: E402
from strategy.store import ReviewStore  # noqa: E402

ANALYSTS = (User("ana", "analyst"), User("alex", "analyst"))
MANAGER = User("max", "manager")
COMPLIANCE = User("cora", "compliance")
ADMIN = User("root", "admin")
RUN_ID = "20261123-080000-c0a5000001"
PERSONA_NAMES = ("Reliable early payers", "Small forgotten balances", "Late but willing")


def write_run(directory: Path, n_per_persona: int = 40) -> Path:
    """A small signed run folder (run.json, personas.json, accounts.parquet) like the pipeline writes."""
    rng = np.random.default_rng(3)
    accounts, profiles = [], []
    for pid, name in enumerate(PERSONA_NAMES):
        ids = [f"K{pid}{i:04d}" for i in range(n_per_persona)]
        balance = rng.lognormal(np.log(200 + 300 * pid), 0.3, n_per_persona)
        accounts.append(pd.DataFrame({
            "account_id": ids, "persona_id": pid, "persona_name": name,
            "membership_probability": 0.9, "needs_review": False, "x": np.nan, "y": np.nan,
            "risk_score": 0.2 + 0.1 * pid}))
        profiles.append({
            "persona_id": pid, "name": name, "size": n_per_persona,
            "share_accounts": 1 / len(PERSONA_NAMES), "share_balance": 1 / len(PERSONA_NAMES),
            "pay_rate": 0.8 - 0.1 * pid, "mean_recovery": None, "mean_risk_score": 0.2 + 0.1 * pid,
            "medians": {"balance": {"persona": float(np.median(balance)), "portfolio": 400.0},
                        "days_past_due": {"persona": 20.0 + 10 * pid, "portfolio": 30.0}},
            "distinguishing": [], "categorical_shares": {}, "needs_review_count": 0})
    save_fabricated_run(directory, RUN_ID, profiles, pd.concat(accounts, ignore_index=True),
                        data_sha256="cd" * 32, source_name="crash.csv")
    return directory


def prepare(db: Path, run_dir: Path) -> None:
    """Users of every role and the registered run (done once, before any worker starts)."""
    from tests.user_factory import add_users

    write_run(run_dir)
    store = ReviewStore(db)
    try:
        add_users(store, [u for u in (ADMIN, *ANALYSTS, MANAGER, COMPLIANCE)
                          if store.get_user(u.username) is None])
        store.register_run(ANALYSTS[0], load_run_view(run_dir))
        store.sign_off_model(COMPLIANCE, load_run_view(run_dir), "crash test")
    finally:
        store.close()


def strategy_for(step: int) -> Strategy:
    return Strategy(channel="letter", contacts_per_week=1 + step % 3, tone="friendly",
                    offer="reminder", rationale=f"crash-test step {step}: =not a formula")


def _export(store: ReviewStore, run, export_dir: Path, step: int) -> None:
    try:
        from strategy.export import export_mappings
    except ImportError:
        return  # the export module has not landed yet
    fmt = ("csv", "json", "xlsx")[step % 3]
    export_mappings(store, run, MANAGER, fmt=fmt, out=export_dir / f"mappings_{step}.{fmt}")


def undo_what_a_kill_left_on(store: ReviewStore, run) -> None:
    """Lift the vetoes and the kill switch an earlier, killed worker left on, so that approvals and
    exports can go on (a kill between a veto and its lift, or between switch on and off, leaves them
    standing, by design)."""
    for veto in store.vetoes(run.run_id, active_only=True):
        store.lift_veto(COMPLIANCE, run, veto.persona_id, "crash test: veto of a killed worker answered")
    if store.kill_switch().get("on"):
        store.set_kill_switch(COMPLIANCE, False)


def work(db: Path, run_dir: Path, export_dir: Path) -> None:
    store = ReviewStore(db)
    run = load_run_view(run_dir)

    def committed() -> None:
        print(f"committed {store.audit_head()[0]}", flush=True)

    undo_what_a_kill_left_on(store, run)
    print("ready", flush=True)
    for step in itertools.count():
        analyst = ANALYSTS[step % 2]
        for pid in run.persona_ids:  # propose or edit every persona's strategy
            mapping = store.find_mapping(run, pid)
            if mapping is None:
                store.propose(analyst, run, pid, strategy_for(step))
            else:
                store.edit(analyst, run, pid, strategy_for(step), expected_version=mapping.version)
            committed()
        if step % 3 == 1:  # a compliance veto, then the analyst proposes again
            pid = run.persona_ids[step % len(run.persona_ids)]
            mapping = store.get_mapping(run, pid)
            store.reject(COMPLIANCE, run, pid, "crash test: veto", expected_version=mapping.version)
            committed()
            store.edit(analyst, run, pid, strategy_for(step + 1),
                       expected_version=mapping.version + 1)
            committed()
            store.lift_veto(COMPLIANCE, run, pid, "crash test: concern answered")  # a veto stays until lifted
            committed()
        for pid in run.persona_ids:  # the manager approves everything
            mapping = store.get_mapping(run, pid)
            store.approve(MANAGER, run, pid, expected_version=mapping.version)
            committed()
        store.override_account(MANAGER, run, f"K0{step % 40:04d}", reason="crash test",
                               strategy=strategy_for(step))
        committed()
        if step % 4 == 2:
            store.set_kill_switch(COMPLIANCE, True, "crash test")
            store.set_kill_switch(COMPLIANCE, False)
            committed()
        _export(store, run, export_dir, step)
        committed()


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        work(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
