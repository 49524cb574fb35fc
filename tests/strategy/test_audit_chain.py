"""The audit log is a hash chain: any edit, deletion or reordering is detected."""
from __future__ import annotations

import pytest

from tests.strategy.conftest import ANALYST, MANAGER, raw_sql
from strategy.audit import GENESIS_HASH, verify_chain
from strategy.catalogue import Strategy

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)


@pytest.fixture
def busy_store(store, run):
    mapping = store.propose(ANALYST, run, 0, Strategy(channel="letter"))
    mapping = store.approve(MANAGER, run, 0, expected_version=mapping.version)
    store.set_kill_switch(MANAGER, True, "drill")
    store.set_kill_switch(MANAGER, False)
    assert verify_chain(store).ok
    return store


def test_an_intact_log_verifies_and_links_each_entry_to_the_previous(busy_store):
    entries = busy_store.audit_entries()
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:]))
    result = verify_chain(busy_store)
    assert (result.ok, result.first_bad_seq, result.head_hash) == (True, None, entries[-1].entry_hash)


def test_editing_an_entry_is_detected(busy_store):
    raw_sql(busy_store, "UPDATE audit_log SET \"user\" = 'mallory' WHERE seq = 8")
    result = verify_chain(busy_store)
    assert (result.ok, result.first_bad_seq) == (False, 8)
    assert "altered" in result.message


def test_editing_an_entry_and_its_hash_is_detected_by_the_next_link(busy_store):
    raw_sql(busy_store, "UPDATE audit_log SET details = '{}', entry_hash = 'f' || substr(entry_hash, 2) "
                  "WHERE seq = 5")
    result = verify_chain(busy_store)
    assert not result.ok and result.first_bad_seq == 5


def test_deleting_an_entry_is_detected(busy_store):
    raw_sql(busy_store, "DELETE FROM audit_log WHERE seq = 4")
    result = verify_chain(busy_store)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "missing" in result.message


def test_deleting_the_newest_entry_is_detected(busy_store):
    last = busy_store.audit_entries()[-1].seq
    raw_sql(busy_store, f"DELETE FROM audit_log WHERE seq = {last}")
    result = verify_chain(busy_store)
    assert not result.ok and result.first_bad_seq == last


def test_swapping_two_entries_is_detected(busy_store):
    raw_sql(busy_store, "UPDATE audit_log SET seq = -1 WHERE seq = 3",
         "UPDATE audit_log SET seq = 3 WHERE seq = 4",
         "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    result = verify_chain(busy_store)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_every_mutation_writes_its_audit_entry_in_the_same_transaction(store, run, monkeypatch):
    from strategy import audit

    def broken_append(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", broken_append)
    with pytest.raises(RuntimeError):
        store.propose(ANALYST, run, 0, Strategy())
    monkeypatch.undo()
    assert store.find_mapping(run, 0) is None  # the mapping was rolled back with its audit entry
    assert verify_chain(store).ok
