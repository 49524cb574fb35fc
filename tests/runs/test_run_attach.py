"""Files attached to a saved run (runs.folder.attach): the run stays signed and every reader still verifies it."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from runs import RunFolderError, new_run_id, open_run
from runs.folder import MANIFEST, attach
from tests.run_factory import save_fabricated_run

PROFILES = [{"persona_id": 0, "name": "Forgetful payers", "size": 2, "share_accounts": 1.0, "share_balance": 1.0}]


@pytest.fixture
def run_dir(tmp_path):
    accounts = pd.DataFrame({"account_id": ["a1", "a2"], "persona_id": [0, 0]})
    return save_fabricated_run(tmp_path / "runs" / "r", new_run_id(), PROFILES, accounts).path


def test_attached_files_are_listed_hashed_and_readable(run_dir):
    before = open_run(run_dir)
    folder = attach(run_dir, {"outcomes/payments-1.parquet": b"PAR1 data", "outcomes/payments-1.json": b"{}"})
    assert folder.read_bytes("outcomes/payments-1.parquet") == b"PAR1 data"
    assert set(before.files) < set(folder.files) and folder.fingerprint != before.fingerprint
    assert {k: v for k, v in folder.files.items() if k in before.files} == before.files
    assert open_run(run_dir).run_id == before.run_id


def test_a_tampered_attached_file_is_refused(run_dir):
    attach(run_dir, {"outcomes/payments-1.parquet": b"original"})
    (run_dir / "outcomes" / "payments-1.parquet").write_bytes(b"forged")
    with pytest.raises(RunFolderError, match="changed since the run was saved"):
        open_run(run_dir)


def test_an_unlisted_file_dropped_into_outcomes_is_refused_and_never_signed_by_attach(run_dir):
    attach(run_dir, {"outcomes/payments-1.parquet": b"one"})
    (run_dir / "outcomes" / "payments-9.parquet").write_bytes(b"smuggled")
    with pytest.raises(RunFolderError, match="not part of the saved run"):
        open_run(run_dir)
    with pytest.raises(RunFolderError, match="not part of the saved run"):
        attach(run_dir, {"outcomes/payments-2.parquet": b"two"})
    assert "outcomes/payments-9.parquet" not in json.loads((run_dir / MANIFEST).read_text())["body"]["files"]


@pytest.mark.parametrize("name", ["run.json", "outcomes/../run.json", "outcomes/sub/x.parquet", "model/x",
                                  "outcomes/", "outcomes/.hidden", "/tmp/outcomes/x"])
def test_names_outside_outcomes_are_refused_and_nothing_changes(run_dir, name):
    manifest = (run_dir / MANIFEST).read_bytes()
    with pytest.raises(RunFolderError, match="cannot be attached"):
        attach(run_dir, {name: b"x"})
    assert (run_dir / MANIFEST).read_bytes() == manifest
    open_run(run_dir)


def test_an_existing_attached_file_is_never_replaced(run_dir):
    attach(run_dir, {"outcomes/payments-1.parquet": b"first"})
    with pytest.raises(RunFolderError, match="exists already"):
        attach(run_dir, {"outcomes/payments-1.parquet": b"second"})
    assert open_run(run_dir).read_bytes("outcomes/payments-1.parquet") == b"first"


def test_an_altered_run_takes_no_attachment(run_dir):
    (run_dir / "edits.json").write_text("[1]")
    with pytest.raises(RunFolderError, match="changed since the run was saved"):
        attach(run_dir, {"outcomes/payments-1.parquet": b"x"})
    assert not (run_dir / "outcomes").exists()


def test_a_failed_attach_leaves_the_run_as_it_was(run_dir, monkeypatch):
    from runs import folder as folder_module

    manifest = (run_dir / MANIFEST).read_bytes()

    def broken_replace(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folder_module.os, "replace", broken_replace)
    with pytest.raises(OSError):
        attach(run_dir, {"outcomes/payments-1.parquet": b"x"})
    monkeypatch.undo()
    assert (run_dir / MANIFEST).read_bytes() == manifest
    assert not (run_dir / "outcomes" / "payments-1.parquet").exists()
    open_run(run_dir)
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".attach-")]


def test_attach_copies_where_the_file_system_has_no_hard_links(run_dir, monkeypatch):
    import errno

    from runs import folder as folder_module

    def no_links(*_args, **_kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(folder_module.os, "link", no_links)
    folder = attach(run_dir, {"outcomes/payments-1.parquet": b"copied"})
    assert folder.read_bytes("outcomes/payments-1.parquet") == b"copied"


def test_concurrent_attaches_keep_each_others_files(run_dir):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: attach(run_dir, {f"outcomes/payments-{n}.parquet": str(n).encode()}), range(1, 9)))
    folder = open_run(run_dir)
    assert [folder.read_bytes(f"outcomes/payments-{n}.parquet") for n in range(1, 9)] == \
        [str(n).encode() for n in range(1, 9)]
