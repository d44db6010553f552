"""Backup and restore of a store, on SQLite and PostgreSQL, encrypted when a key is given.

* **SQLite**: the online backup API (:meth:`sqlite3.Connection.backup`) copies a consistent
  snapshot while flows keep reading and writing; the copy passes ``PRAGMA quick_check`` before it
  is kept. A restore writes the backup beside the store, checks it and renames it over the
  store (its ``-wal`` / ``-shm`` files removed first: they belong to the replaced file).
* **PostgreSQL**: ``pg_dump --format=custom`` of the store's schema (``public`` when none is
  given) and ``pg_restore --clean --if-exists --single-transaction`` (all or nothing). Both come
  with the PostgreSQL client (Debian: ``apt-get install postgresql-client``). The password, if
  the URL has one, is passed in ``PGPASSWORD``, never on a command line.

With a key (a Fernet key, :func:`new_backup_key`; the flows read it from ``REUNITE_BACKUP_KEY``)
the backup file is encrypted and authenticated (Fernet: AES-128-CBC with HMAC-SHA256, from the
``cryptography`` package) in 16 MiB chunks, each numbered and the last one marked, so that a
reordered, truncated or altered file is refused rather than restored. Without a key the backup
is plain (a SQLite file, or a ``pg_dump`` archive) and holds every genotype: keep it like the
store. Backup files are written ``0600`` (and renamed into place: a failed backup leaves no file).

A plain backup leaves out the **pseudonym secret** (table ``store_secrets``, the key of the
``h:`` pseudonyms; :mod:`kinship.store.catalogue`): with it, the pseudonym of an 11-digit mobile
number could be found by trying every number. SQLite: the row is deleted from the copy (with
``secure_delete``, so its bytes do not stay in free pages) before the copy is checked;
PostgreSQL: ``pg_dump --exclude-table-data`` of ``<schema>.store_secrets``. An encrypted backup
keeps it. A store restored from a plain backup gets a new secret on first use, so pseudonyms
made after the restore differ from those made before (``restore_store`` returns
``"has_secret": False``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa

from kinship.errors import StoreError
from kinship.store.files import check_sqlite_file

__all__ = ["ENCRYPTED_MAGIC", "backup_store", "new_backup_key", "restore_store"]

#: First bytes of an encrypted backup file.
ENCRYPTED_MAGIC = b"REUNITE-BACKUP-FERNET-1\n"
_CHUNK = 16 * 1024 * 1024
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PGDUMP_MAGIC = b"PGDMP"


def new_backup_key() -> str:
    """A new random backup key (a Fernet key: 32 random bytes, URL-safe base64, 44 characters).

    Examples
    --------
    >>> len(new_backup_key())
    44
    """
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def _fernet(key: str):
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.encode("ascii") if isinstance(key, str) else key)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise StoreError(
            "the backup key (REUNITE_BACKUP_KEY) is not a Fernet key; expected 44 URL-safe base64 "
            "characters; fix: make one with `scripts/flow backup --new-key` and keep it apart from "
            "the backups"
        ) from None


def _is_url(target: str) -> bool:
    return "://" in target


# --------------------------------------------------------------------------------------------
# Encryption: numbered Fernet chunks


def _encrypt(source: BinaryIO, dest: BinaryIO, key: str) -> None:
    fernet = _fernet(key)
    dest.write(ENCRYPTED_MAGIC)
    index, chunk = 0, source.read(_CHUNK)
    while True:
        following = source.read(_CHUNK) if chunk else b""
        last = not following
        token = fernet.encrypt(struct.pack(">?Q", last, index) + chunk)
        dest.write(struct.pack(">I", len(token)) + token)
        if last:
            return
        index, chunk = index + 1, following


def _decrypt(source: BinaryIO, key: str | None, name: str) -> Iterator[bytes]:
    from cryptography.fernet import InvalidToken

    if not key:
        raise StoreError(
            f"backup {name} is encrypted; expected the key it was made with; fix: set "
            "REUNITE_BACKUP_KEY to that key"
        )
    fernet = _fernet(key)
    index = 0
    while True:
        size = source.read(4)
        if len(size) < 4:
            raise StoreError(f"backup {name}: the file is cut short after chunk {index} (its last chunk "
                             "is missing); expected the whole file; fix: restore an intact copy of the backup")
        expected = struct.unpack(">I", size)[0]
        token = source.read(expected)
        if len(token) < expected:
            raise StoreError(f"backup {name}: the file is cut short: chunk {index} has {len(token)} of its "
                             f"{expected} bytes; expected the whole file; fix: restore an intact copy of the backup")
        try:
            plain = fernet.decrypt(token)
        except InvalidToken:
            raise StoreError(
                f"backup {name}: chunk {index} does not decrypt: wrong key, or the file was cut or altered; "
                "expected the file written by scripts/flow backup and its key; fix: set REUNITE_BACKUP_KEY to "
                "the key the backup was made with, or restore an intact copy of the backup"
            ) from None
        last, n = struct.unpack(">?Q", plain[:9])
        if n != index:
            raise StoreError(f"backup {name}: chunk {n} found where chunk {index} was expected; the file "
                             "was reordered or spliced; fix: restore an intact copy of the backup")
        yield plain[9:]
        if last:
            return
        index += 1


def _kind(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(len(ENCRYPTED_MAGIC))
    if head.startswith(ENCRYPTED_MAGIC):
        return "encrypted"
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(_PGDUMP_MAGIC):
        return "pg_dump"
    raise StoreError(f"{path} is not a store backup; expected a SQLite file, a pg_dump archive or an "
                     "encrypted Reunite backup; fix: give the file written by `scripts/flow backup`")


# --------------------------------------------------------------------------------------------
# Backup


def backup_store(target: str | Path, dest: str | Path, *, schema: str | None = None, key: str | None = None) -> dict:
    """Write a consistent backup of the store ``target`` to the file ``dest``.

    Parameters
    ----------
    target : str or Path
        A SQLite file path or a PostgreSQL SQLAlchemy URL (as for :class:`kinship.store.Store`).
    dest : str or Path
        The backup file; replaced if it exists. Its folder is created ``0700`` if missing.
    schema : str, optional
        PostgreSQL schema of the store (default ``public``).
    key : str, optional
        A Fernet key (:func:`new_backup_key`): encrypt the backup. ``None``: a plain backup.

    Returns
    -------
    dict
        ``{"backend": "sqlite" | "postgresql", "path": str, "encrypted": bool, "n_bytes": int,
        "has_secret": bool}``: ``has_secret`` is ``encrypted`` (a plain backup leaves out the
        pseudonym secret, see the module).

    Raises
    ------
    StoreError
        The store is missing or damaged, ``pg_dump`` is missing or failed (its message, which
        names no stored value), or the key is not a Fernet key.
    """
    dest = Path(dest).expanduser().resolve()
    if key is not None:
        _fernet(key)  # refuse a bad key before any work
    backend = "postgresql" if _is_url(str(target)) else "sqlite"
    with _private_workdir(dest.parent) as work:
        plain = work / "plain"
        if backend == "sqlite":
            _sqlite_backup(Path(target).expanduser().resolve(), plain, keep_secret=key is not None)
        else:
            _pg_dump(str(target), schema, plain, keep_secret=key is not None)
        final = work / "final"
        if key is not None:
            with open(plain, "rb") as src, _private_file(final) as out:
                _encrypt(src, out, key)
            plain.unlink()
        else:
            os.replace(plain, final)
        os.chmod(final, 0o600)
        os.replace(final, dest)
    return {"backend": backend, "path": str(dest), "encrypted": key is not None, "n_bytes": dest.stat().st_size,
            "has_secret": key is not None}


def _sqlite_backup(path: Path, plain: Path, *, keep_secret: bool) -> None:
    if not path.is_file():
        raise StoreError(f"store file {path} does not exist; expected a SQLite store; fix: give the "
                         "path of the store to back up (--store)")
    check_sqlite_file(path)
    os.close(os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(path, timeout=30)
    copy = sqlite3.connect(plain)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        if not keep_secret and copy.execute(
                "select 1 from sqlite_master where type = 'table' and name = 'store_secrets'").fetchone():
            copy.execute("PRAGMA secure_delete=ON")  # the deleted row's bytes are zeroed, not left in free pages
            with copy:
                copy.execute("delete from store_secrets")
    finally:
        copy.close()
        source.close()
    check_sqlite_file(plain)


def _pg_command(tool: str, url: str) -> tuple[list[str], dict]:
    exe = shutil.which(tool)
    if exe is None:
        raise StoreError(
            f"{tool} was not found on PATH; it is needed to back up or restore a PostgreSQL store; "
            "fix: install the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client), "
            "the same major version as the server or newer"
        )
    u = sa.engine.make_url(url)
    conninfo = sa.engine.URL.create("postgresql", username=u.username, host=u.host, port=u.port,
                                    database=u.database, query=u.query).render_as_string(hide_password=False)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return [exe, "--dbname", conninfo], env


def _run(command: list[str], env: dict, what: str, **kwargs) -> None:
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise StoreError(f"{what} failed (exit {done.returncode}): {' / '.join(message[:5])}; fix: check "
                         "the store URL, that the server answers and that the user may read the schema")


def _pg_dump(url: str, schema: str | None, plain: Path, *, keep_secret: bool) -> None:
    command, env = _pg_command("pg_dump", url)
    command += ["--format=custom", "--no-owner", "--no-privileges", "--schema", schema or "public",
                "--file", str(plain)]
    if not keep_secret:
        quoted = '"' + (schema or "public").replace('"', '""') + '"'
        command.append(f"--exclude-table-data={quoted}.store_secrets")
    _run(command, env, "pg_dump")


# --------------------------------------------------------------------------------------------
# Restore


def restore_store(source: str | Path, target: str | Path, *, schema: str | None = None,
                  key: str | None = None, replace: bool = False) -> dict:
    """Restore the backup ``source`` into the store ``target`` (all or nothing).

    Parameters
    ----------
    source : str or Path
        A file written by :func:`backup_store`.
    target : str or Path
        A SQLite file path or a PostgreSQL SQLAlchemy URL. Stop every flow that uses it first.
    schema : str, optional
        PostgreSQL: the schema the backup was made of (default ``public``); it is re-created.
    key : str, optional
        The key the backup was encrypted with.
    replace : bool, default False
        Replace an existing store (a SQLite file that exists; PostgreSQL: always, since the
        dump's objects are dropped and re-created). Without it an existing SQLite file is refused.

    Returns
    -------
    dict
        ``{"backend", "path" (SQLite) or "schema" (PostgreSQL), "encrypted", "has_secret"}``:
        ``has_secret`` is ``False`` when the backup held no pseudonym secret (a plain backup): the
        store makes a new one on first use, and pseudonyms made after the restore differ from
        the earlier ones.

    Raises
    ------
    StoreError
        Not a backup, encrypted without a (right) key, altered or cut short, of the other
        backend, a SQLite target that exists without ``replace``, or ``pg_restore`` failed.
    """
    source = Path(source).expanduser().resolve()
    kind = _kind(source)
    backend = "postgresql" if _is_url(str(target)) else "sqlite"
    if backend == "sqlite":
        path = Path(target).expanduser().resolve()
        if path.exists() and not replace:
            raise StoreError(f"store file {path} exists; expected a new path, or --replace to overwrite "
                             "it; fix: stop the flows, then restore with --replace (or to a new path)")
        parent = path.parent
    else:
        parent = Path(tempfile.gettempdir())
    with _private_workdir(parent) as work:
        plain = work / "plain"
        with _private_file(plain) as out:
            if kind == "encrypted":
                with open(source, "rb") as f:
                    f.read(len(ENCRYPTED_MAGIC))
                    for chunk in _decrypt(f, key, str(source)):
                        out.write(chunk)
            else:
                with open(source, "rb") as f:
                    shutil.copyfileobj(f, out, _CHUNK)
        inner = _kind(plain)
        expected = "sqlite" if backend == "sqlite" else "pg_dump"
        if inner != expected:
            raise StoreError(f"backup {source} is a {inner} backup; the target {target} is a {backend} store; "
                             "fix: restore a backup of the same backend")
        if backend == "sqlite":
            check_sqlite_file(plain)
            has_secret = _sqlite_has_secret(plain)
            for suffix in ("-wal", "-shm", "-journal"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            os.chmod(plain, 0o600)
            os.replace(plain, path)
            return {"backend": backend, "path": str(path), "encrypted": kind == "encrypted", "has_secret": has_secret}
        command, env = _pg_command("pg_restore", str(target))
        command += ["--clean", "--if-exists", "--single-transaction", "--no-owner", "--no-privileges",
                    "--exit-on-error", str(plain)]
        _run(command, env, "pg_restore")
    return {"backend": backend, "schema": schema or "public", "encrypted": kind == "encrypted",
            "has_secret": _pg_has_secret(str(target), schema or "public")}


def _sqlite_has_secret(path: Path) -> bool:
    """Whether the SQLite store file holds a pseudonym secret."""
    conn = sqlite3.connect(path)
    try:
        if not conn.execute("select 1 from sqlite_master where type = 'table' and name = 'store_secrets'").fetchone():
            return False
        return conn.execute("select count(*) from store_secrets").fetchone()[0] > 0
    finally:
        conn.close()


def _pg_has_secret(url: str, schema: str) -> bool:
    """Whether the PostgreSQL store schema holds a pseudonym secret."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            if not sa.inspect(c).has_table("store_secrets", schema=schema):
                return False
            table = sa.table("store_secrets", schema=schema)
            return c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() > 0
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# Private temporary files


class _private_workdir:
    """A ``0700`` temporary folder in ``parent`` (created ``0700`` if missing), removed on exit."""

    def __init__(self, parent: Path):
        self.parent = parent

    def __enter__(self) -> Path:
        missing, probe = [], self.parent
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for folder in reversed(missing):
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        self.path = Path(tempfile.mkdtemp(prefix=".reunite-backup.", suffix=".partial", dir=self.parent))
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _private_file(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
