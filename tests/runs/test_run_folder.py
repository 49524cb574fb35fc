"""The run folder holds against someone who can write the workspace (runs/folder.py)."""
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runs import RunFolderError, check_run_id, list_runs, new_run_id, open_run, run_path, save_run
from runs.folder import MANIFEST, _canonical
from runs import signing
from tests.run_factory import save_fabricated_run

PROFILES = [{"persona_id": 0, "name": "Forgetful payers", "size": 3, "share_accounts": 0.6,
             "share_balance": 0.5},
            {"persona_id": 1, "name": "Over-indebted", "size": 2, "share_accounts": 0.4,
             "share_balance": 0.5}]


def _accounts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": ["a1", "a2", "a3", "a4", "a5"], "persona_id": [0, 0, 0, 1, 1]})


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return save_fabricated_run(tmp_path / "runs" / "r", new_run_id(), PROFILES, _accounts()).path


def _resign(run_dir: Path) -> None:
    """What an attacker without the key can do at best: re-hash every file in the manifest."""
    from core.hashing import sha256_file

    manifest = json.loads((run_dir / MANIFEST).read_text())
    body = manifest["body"]
    body["files"] = {rel: sha256_file(run_dir / rel) for rel in body["files"] if (run_dir / rel).exists()}
    (run_dir / MANIFEST).write_text(json.dumps(manifest))


def test_a_saved_run_opens_with_its_own_id_and_fingerprint(run_dir):
    folder = open_run(run_dir)
    assert check_run_id(folder.run_id) == folder.meta["run_id"]
    assert folder.parent_run_id is None
    assert len(folder.fingerprint) == 64
    assert folder.read_parquet("accounts.parquet")["account_id"].tolist() == ["a1", "a2", "a3", "a4", "a5"]


@pytest.mark.parametrize("name", ["accounts.parquet", "personas.json", "run.json", "model/reference.npz"])
def test_an_altered_file_is_refused_whether_or_not_the_manifest_is_rehashed(run_dir, name):
    path = run_dir / name
    if name == "accounts.parquet":
        pd.DataFrame({"account_id": ["a1", "a2", "a3", "a4", "a5"], "persona_id": [0] * 5}).to_parquet(path)
    elif name == "personas.json":
        path.write_text(json.dumps(PROFILES[:1]))
    else:
        path.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(RunFolderError, match="changed since the run was saved"):
        open_run(run_dir)
    _resign(run_dir)
    with pytest.raises(RunFolderError, match="signature does not match"):
        open_run(run_dir)


def test_an_unsigned_or_forged_manifest_is_refused(run_dir):
    manifest = json.loads((run_dir / MANIFEST).read_text())
    manifest["signature"] = "0" * 64
    (run_dir / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(RunFolderError, match="signature"):
        open_run(run_dir)
    manifest.pop("signature")
    (run_dir / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(RunFolderError, match="damaged"):
        open_run(run_dir)


def test_a_run_signed_with_another_installations_key_is_refused(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONAS_CONFIG_DIR", str(tmp_path / "other-installation"))
    with pytest.raises(RunFolderError, match="another installation"):
        open_run(run_dir)


def test_a_file_planted_in_the_run_folder_is_refused(run_dir):
    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {run_dir.parent / 'pwned'}",))

    (run_dir / "risk").mkdir(exist_ok=True)
    (run_dir / "risk" / "model.pkl").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(RunFolderError, match="not part of the saved run"):
        open_run(run_dir)
    assert not (run_dir.parent / "pwned").exists()


def test_a_symbolic_link_inside_the_run_is_refused(run_dir, tmp_path):
    outside = tmp_path / "elsewhere.parquet"
    shutil.copy(run_dir / "accounts.parquet", outside)
    (run_dir / "accounts.parquet").unlink()
    (run_dir / "accounts.parquet").symlink_to(outside)
    with pytest.raises(RunFolderError, match="symbolic link"):
        open_run(run_dir)


def test_a_run_folder_that_is_a_symbolic_link_is_refused(run_dir, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(run_dir)
    with pytest.raises(RunFolderError, match="symbolic link"):
        open_run(link)


@pytest.mark.parametrize("bad", ["../../x", "a/b", "..", "", "20261201-115000-3FA9C01B7E", "x" * 300])
def test_run_ids_that_could_be_paths_are_refused(tmp_path, bad):
    with pytest.raises(RunFolderError, match="not a run id"):
        run_path(tmp_path, bad)
    with pytest.raises(RunFolderError):
        save_fabricated_run(tmp_path / "out", bad, PROFILES, _accounts())
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "x").exists()


def test_a_run_is_never_written_over_another(run_dir):
    before = open_run(run_dir).fingerprint
    with pytest.raises(RunFolderError, match="exists already"):
        save_fabricated_run(run_dir, new_run_id(), PROFILES[:1], _accounts().assign(persona_id=0))
    assert open_run(run_dir).fingerprint == before
    assert [p.name for p in run_dir.parent.iterdir()] == [run_dir.name]  # no staging left behind


def test_a_symbolic_link_at_the_target_is_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    target = tmp_path / "runs" / "next"
    target.parent.mkdir()
    target.symlink_to(victim)
    with pytest.raises(RunFolderError, match="exists already"):
        save_fabricated_run(target, new_run_id(), PROFILES, _accounts())
    assert (victim / "keep.txt").read_text() == "precious" and len(list(victim.iterdir())) == 1


def test_a_failed_save_leaves_nothing_behind(tmp_path):
    def write(staging: Path) -> None:
        (staging / "run.json").write_text("{}")
        raise OSError("disk full")

    with pytest.raises(OSError):
        save_run(tmp_path / "runs" / "r", write)
    assert list((tmp_path / "runs").iterdir()) == []


def test_run_json_must_match_its_schema(tmp_path):
    with pytest.raises(Exception, match="schema"):
        save_fabricated_run(tmp_path / "r", new_run_id(), PROFILES, _accounts(), seed="not a number")
    assert not (tmp_path / "r").exists()


def test_reads_after_opening_are_checked_again(run_dir):
    folder = open_run(run_dir)
    (run_dir / "personas.json").write_text("[]")
    with pytest.raises(RunFolderError, match="changed since"):
        folder.read_json("personas.json")


def test_list_runs_labels_edits_and_shows_refused_folders(tmp_path):
    root = tmp_path / "runs"
    base = save_fabricated_run(root / "a", new_run_id(), PROFILES, _accounts())
    edit_id = new_run_id()
    save_fabricated_run(root / "b", edit_id, PROFILES, _accounts(), parent_run_id=base.run_id,
                        created_by="alice", created_at="2026-11-24T08:00:00Z")
    broken = save_fabricated_run(root / "c", new_run_id(), PROFILES, _accounts())
    (broken.path / MANIFEST).write_text("{}")
    infos = {info.path.name: info for info in list_runs(root)}
    assert infos["b"].parent_run_id == base.run_id and f"edit of {base.run_id} by alice" in infos["b"].label
    assert infos["a"].problem is None and infos["c"].problem


def test_the_signing_key_is_private_and_outside_the_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONAS_CONFIG_DIR", str(tmp_path / "config"))
    signing.sign(b"x")
    key = tmp_path / "config" / "run-signing.key"
    assert key.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("PERSONAS_CONFIG_DIR", str(Path(os.environ["PERSONAS_HOME"]) / "cfg"))
    with pytest.raises(signing.SigningKeyError, match="inside the workspace"):
        signing.sign(b"x")


def test_a_readable_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONAS_CONFIG_DIR", str(tmp_path / "config"))
    signing.sign(b"x")
    (tmp_path / "config" / "run-signing.key").chmod(0o644)
    with pytest.raises(signing.SigningKeyError, match="chmod 600"):
        signing.sign(b"x")


def test_canonical_manifest_bytes_do_not_depend_on_key_order():
    assert _canonical({"b": 1, "a": {"y": 2, "x": 1}}) == _canonical({"a": {"x": 1, "y": 2}, "b": 1})
    assert np.array_equal(np.frombuffer(_canonical({}), dtype=np.uint8), np.frombuffer(b"{}", dtype=np.uint8))
