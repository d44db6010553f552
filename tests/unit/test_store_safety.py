"""The store keeps data out of logs and off other users' screens (issue 9, deliverables 3 and 8).

Each test runs on SQLite and on PostgreSQL (``backend`` / ``store`` fixtures of
``tests/unit/conftest.py``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sqlite3
import stat
import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa

from kinship.errors import StoreError
from kinship.store import Store
from kinship.store.dberrors import describe_db_error, is_transient
from kinship.store.tables import genotypes

ROOT = Path(__file__).resolve().parents[2]
SECRET_ID = "C-SECRET-4711"
SECRET_ALLELES = ("31.2", "97.3")


def _induce_insert_error(store: Store, *, allele_2: str | None) -> sa.exc.DBAPIError:
    """Insert a genotype row the store must refuse (its sample and batch are not stored; with
    ``allele_2=None`` also a null in a non-nullable column) and return the error raised."""
    row = {"sample_id": SECRET_ID, "locus": "TH01", "allele_1": SECRET_ALLELES[0],
           "allele_2": allele_2, "file_id": 987654}
    with pytest.raises(sa.exc.DBAPIError) as info:
        with store.begin() as conn:
            conn.execute(genotypes.insert().values(**row))
    return info.value


@pytest.mark.parametrize("allele_2", [SECRET_ALLELES[1], None], ids=["foreign-key", "not-null"])
def test_an_insert_error_leaves_no_sample_id_or_allele_in_logs_or_stderr(store, allele_2, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    error = _induce_insert_error(store, allele_2=allele_2)
    logging.getLogger("reunite.test").exception("ingestion failed", exc_info=error)  # as Prefect logs it
    logged = "".join(traceback.format_exception(error))  # the whole chain: cause and context
    out, err = capfd.readouterr()
    for text in (logged, str(error), str(error.orig), caplog.text, out, err):
        assert SECRET_ID not in text
        assert not any(a in text for a in SECRET_ALLELES)
    assert isinstance(error, sa.exc.IntegrityError)  # the type is kept: the store's own handling works
    assert "genotypes" in str(error) and "values not shown" in str(error)


def test_the_scrubbed_message_names_table_and_constraint_on_postgresql(backend):
    target, schema = backend
    store = Store(target, schema=schema)
    try:
        error = _induce_insert_error(store, allele_2=None)
    finally:
        store.close()
    if target.startswith("postgresql"):
        assert "SQLSTATE 23" in str(error) and "table 'genotypes'" in str(error)
    else:
        assert "NOT NULL constraint failed: genotypes.allele_2" in str(error) or "FOREIGN KEY" in str(error)


def test_only_operational_failures_are_transient():
    locked = sa.exc.OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
    duplicate = sa.exc.IntegrityError("INSERT", None, sqlite3.IntegrityError("UNIQUE constraint failed"))
    corrupt = sa.exc.DatabaseError("SELECT", None, sqlite3.DatabaseError("database disk image is malformed"))
    assert is_transient(locked) and is_transient(TimeoutError()) and is_transient(ConnectionResetError())
    assert not any(is_transient(e) for e in (duplicate, corrupt, StoreError("x"), ValueError("x"), OSError(28, "full")))


def test_a_bind_error_is_described_without_its_value():
    assert "9.3x" not in describe_db_error(ValueError("could not convert string to float: '9.3x'"))


def test_a_new_sqlite_store_is_owner_only(tmp_path):
    path = tmp_path / "new" / "deeper" / "reunite.sqlite"
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700


def test_a_corrupted_sqlite_store_is_refused_with_the_restore_procedure(tmp_path):
    path = tmp_path / "reunite.sqlite"
    Store(path).close()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = b"\xa5" * 4096  # pages in the middle overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"store file .*reunite\.sqlite is damaged \(SQLite quick_check: .*"
                                         r"To restore: stop every flow .*scripts/flow restore --from BACKUP"):
        Store(path)


def test_a_file_that_is_not_sqlite_is_refused_with_the_restore_procedure(tmp_path):
    path = tmp_path / "reunite.sqlite"
    path.write_bytes(b"PK\x03\x04 not a database" * 100)
    with pytest.raises(StoreError, match=r"is damaged \(SQLite quick_check: file is not a database\)"):
        Store(path)


def test_the_scripts_create_prefect_home_owner_only_under_umask_077(tmp_path):
    home = tmp_path / "prefect-home"
    script = f'source scripts/_env.sh; umask; stat -c %a "$PREFECT_HOME"; touch "{tmp_path}/f"; stat -c %a "{tmp_path}/f"'
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env={**os.environ, "PREFECT_HOME": str(home)},
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["0077", "700", "600"]
