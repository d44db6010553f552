"""The SQLite store file: created owner-only, checked for corruption when it is opened.

A new store file is created ``0600`` in folders created ``0700`` (SQLite gives its ``-wal``,
``-shm`` and ``-journal`` files the mode of the database file). An existing file is checked
with ``PRAGMA quick_check`` before anything else reads it, once per process for each version
of the file (path, size and modification time): a damaged file is refused with a
:class:`~kinship.errors.StoreError` that names it and gives the restore procedure, instead of a
raw ``sqlite3.DatabaseError`` half-way through a run. ``quick_check`` reads the whole file
(about a second per GB); it skips the index-to-table cross-checks of ``integrity_check``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from kinship.errors import StoreError

__all__ = ["RESTORE_PROCEDURE", "check_sqlite_file", "prepare_sqlite_file"]

_DIR_MODE, _FILE_MODE = 0o700, 0o600

#: How to restore a store from a backup (cited by every corruption error).
RESTORE_PROCEDURE = (
    "stop every flow that uses the store; keep the damaged file for the record (rename it, do "
    "not delete it); restore the latest backup with `scripts/flow restore --from BACKUP --store "
    "PATH` (set REUNITE_BACKUP_KEY if the backup is encrypted); then re-ingest the batches "
    "received since that backup (`scripts/flow ingest`) and run `scripts/flow match --full`"
)

_checked: set[tuple[str, int, int, int]] = set()
_lock = threading.Lock()


def prepare_sqlite_file(path: Path) -> None:
    """Create the store file's missing folders (``0700``) and the file itself (``0600``), or check it.

    Parameters
    ----------
    path : Path
        Absolute path of the SQLite file.

    Raises
    ------
    StoreError
        If an existing file fails :func:`check_sqlite_file`.
    """
    missing = []
    probe = path.parent
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=_DIR_MODE)
            os.chmod(folder, _DIR_MODE)
        except FileExistsError:
            pass
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE))
        os.chmod(path, _FILE_MODE)
        return
    except FileExistsError:
        pass
    check_sqlite_file(path)


def check_sqlite_file(path: Path) -> None:
    """``PRAGMA quick_check`` of a SQLite store file; a clear error if it is damaged.

    Parameters
    ----------
    path : Path
        An existing file. An empty file (a store about to be created) passes.

    Raises
    ------
    StoreError
        If the file is not a SQLite database or ``quick_check`` reports damage; the message names
        the file, the first problems found and :data:`RESTORE_PROCEDURE`.
    """
    st = path.stat()
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if st.st_size == 0 or key in _checked:
        return
    try:
        conn = sqlite3.connect(path, timeout=30)
        try:
            # one line per problem, each in one line (SQLite's own text may span several)
            problems = [' '.join(str(row[0]).split()) for row in conn.execute("PRAGMA quick_check(5)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return  # a writer holds it; the next open checks it
        problems = [str(exc)]
    if problems != ["ok"]:
        raise StoreError(
            f"store file {path} is damaged (SQLite quick_check: {'; '.join(problems)}); expected an intact "
            f"SQLite database; nothing was read from it. To restore: {RESTORE_PROCEDURE}"
        )
    with _lock:
        _checked.add(key)
