"""Backup and restore of a store on SQLite and PostgreSQL, plain and encrypted (issue 9, deliverable 8)."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from datetime import datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from kinship.errors import StoreError
from kinship.store import Store
from kinship.store.backup import ENCRYPTED_MAGIC, backup_store, new_backup_key, restore_store


@pytest.fixture
def backup_backend(backend):
    """``backend``, skipped on PostgreSQL when pg_dump is absent (failing under CI=true)."""
    target, _ = backend
    if "://" in target and shutil.which("pg_dump") is None:
        from tests.unit.conftest import _in_ci

        if _in_ci():
            pytest.fail("CI=true but pg_dump is not installed (apt-get install postgresql-client)")
        pytest.skip(reason="pg_dump / pg_restore not installed (apt-get install postgresql-client)")
    return backend


def _add_run(store: Store, run_id: str, n: int) -> None:
    store.record_match_run({"run_id": run_id, "started_at": datetime(2026, 3, 1, 12, tzinfo=timezone.utc),
                            "finished_at": datetime(2026, 3, 1, 12, 5, tzinfo=timezone.utc), "kind": "full",
                            "parameters": {"theta": 0.01}, "freq_table_name": "t", "freq_table_hash": "0" * 64,
                            "code_version": "test"})
    store.write_matches(run_id, pd.DataFrame({
        "lab": "L", "family_id": [f"F-{k:03d}" for k in range(n)], "candidate_id": "C-0001",
        "log10_lr": [-float("inf")] + [k / 3 for k in range(1, n)], "n_loci_compared": 18, "n_inconsistent": 0,
        "rank_for_candidate": range(1, n + 1), "rank_for_family": 1, "posterior": 0.5, "conclusion": "inconclusive",
        "flag": False}))


def _snapshot(target: str, schema: str | None) -> dict:
    """Every row of every table of the store, sorted."""
    store = Store(target, schema=schema)
    try:
        with store.engine.connect() as c:
            tables = sa.inspect(c).get_table_names(schema=schema)
            return {t: sorted(map(repr, c.execute(sa.text(f'select * from "{t}"')).all())) for t in sorted(tables)}
    finally:
        store.close()


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_backup_then_restore_gives_back_the_same_store(backup_backend, tmp_path, encrypted):
    target, schema = backup_backend
    key = new_backup_key() if encrypted else None
    store = Store(target, schema=schema)
    _add_run(store, "run-1", 5)
    store.close()
    before = _snapshot(target, schema)
    backup = tmp_path / "backups" / "store.backup"
    info = backup_store(target, backup, schema=schema, key=key)
    assert info["encrypted"] is encrypted and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.read_bytes().startswith(ENCRYPTED_MAGIC) is encrypted
    assert [p.name for p in backup.parent.iterdir()] == ["store.backup"]  # no temporary copy left

    store = Store(target, schema=schema)  # the store moves on after the backup ...
    _add_run(store, "run-2", 3)
    store.close()
    assert _snapshot(target, schema) != before
    info = restore_store(backup, target, schema=schema, key=key, replace=True)  # ... and is restored
    assert info["has_secret"] is encrypted
    after = _snapshot(target, schema)
    if not encrypted:  # a plain backup leaves the pseudonym secret out
        assert before.pop("store_secrets") and after.pop("store_secrets") == []
    assert after == before
    assert Store(target, schema=schema).load_matches("run-1")["log10_lr"].iloc[0] == -float("inf")


def test_an_encrypted_backup_is_not_readable_as_sqlite_without_the_key(tmp_path):
    target = str(tmp_path / "reunite.sqlite")
    store = Store(target)
    _add_run(store, "run-1", 2)
    store.close()
    backup = tmp_path / "store.backup"
    backup_store(target, backup, key=new_backup_key())
    assert b"run-1" not in backup.read_bytes() and b"SQLite format 3" not in backup.read_bytes()
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(backup).execute("select * from match_runs").all()
    with pytest.raises(StoreError, match="is encrypted; expected the key it was made with"):
        restore_store(backup, tmp_path / "restored.sqlite")
    with pytest.raises(StoreError, match="does not decrypt: wrong key, or the file was cut or altered"):
        restore_store(backup, tmp_path / "restored.sqlite", key=new_backup_key())
    assert not (tmp_path / "restored.sqlite").exists()


def test_a_cut_or_altered_encrypted_backup_is_refused_saying_so(tmp_path):
    target = str(tmp_path / "reunite.sqlite")
    store = Store(target)
    _add_run(store, "run-1", 2)
    store.close()
    key = new_backup_key()
    backup = tmp_path / "store.backup"
    backup_store(target, backup, key=key)
    data = backup.read_bytes()
    for damaged, expected in ((data[:-10], r"the file is cut short: chunk 0 has \d+ of its \d+ bytes"),
                              (data[:len(ENCRYPTED_MAGIC) + 2], r"the file is cut short after chunk 0"),
                              (data[:100] + bytes([data[100] ^ 1]) + data[101:],
                               r"does not decrypt: wrong key, or the file was cut or altered")):
        backup.write_bytes(damaged)
        with pytest.raises(StoreError, match=expected) as info:
            restore_store(backup, tmp_path / "restored.sqlite", key=key)
        assert "\n" not in str(info.value)
        assert not (tmp_path / "restored.sqlite").exists()


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_plain_backup_leaves_the_pseudonym_secret_out_and_the_restored_store_makes_a_new_one(
        backup_backend, tmp_path, encrypted):
    target, schema = backup_backend
    key = new_backup_key() if encrypted else None
    with Store(target, schema=schema) as store:
        earlier = store.pseudonym("张伟 13800138000")
        with store.engine.connect() as c:
            secret = c.execute(sa.select(sa.text("value")).select_from(sa.table("store_secrets", schema=schema))
                               ).scalar_one()
    backup = tmp_path / "store.backup"
    info = backup_store(target, backup, schema=schema, key=key)
    assert info["has_secret"] is encrypted
    if "://" not in target:
        assert secret.encode() not in backup.read_bytes() and bytes.fromhex(secret) not in backup.read_bytes()
    restored = restore_store(backup, target, schema=schema, key=key, replace=True)
    assert restored["has_secret"] is encrypted
    with Store(target, schema=schema) as store:  # a store without a secret makes one on first use
        later = store.pseudonym("张伟 13800138000")
        assert store.pseudonym("张伟 13800138000") == later and later.startswith("h:")
    assert (later == earlier) is encrypted
    with Store(target, schema=schema) as store:  # ... and keeps it
        assert store.pseudonym("张伟 13800138000") == later


def test_a_restore_does_not_overwrite_a_store_unless_asked(tmp_path):
    target = tmp_path / "reunite.sqlite"
    Store(target).close()
    backup_store(target, tmp_path / "b.sqlite")
    with pytest.raises(StoreError, match="exists; expected a new path, or --replace"):
        restore_store(tmp_path / "b.sqlite", target)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello world" * 10)
    with pytest.raises(StoreError, match="not a store backup"):
        restore_store(junk, tmp_path / "new.sqlite")
