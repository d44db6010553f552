"""The store's connection to its database: opening, migrating, transactions (base of :class:`Store`).

:class:`StoreBase` holds the engine and what every table group needs: the Alembic upgrade run
when a store is opened, the serialised write transaction of ingestion
(:meth:`StoreBase.write_transaction`), plain transactions, and the query-to-DataFrame helper.
The table groups (:mod:`kinship.store.profiles`, :mod:`kinship.store.pedigrees`,
:mod:`kinship.store.match_runs`) add their methods to it; :class:`kinship.store.Store` composes
them.

On SQLite every transaction is opened explicitly (``BEGIN``; ``BEGIN IMMEDIATE`` for the write
transactions of ingestion and migration), so concurrent writers queue on the file lock instead
of failing half-way; on PostgreSQL a write transaction takes a transaction-scoped advisory lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pandas.api.types import union_categoricals
from sqlalchemy.engine import Connection

from kinship.errors import StoreError
from kinship.store.dberrors import describe_db_error, scrub_error
from kinship.store.files import prepare_sqlite_file
from kinship.store.tables import STORE_SCHEMA_VERSION, metadata, store_meta

__all__ = ["StoreBase", "alembic_config", "insert_tuples"]

#: Key of the PostgreSQL advisory lock taken by :meth:`StoreBase.write_transaction`.
_PG_LOCK_KEY = 0x52454E49  # "RENI"

#: SQLite: how long a writer waits for the file's write lock (``PRAGMA busy_timeout``), ms.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: PostgreSQL ``lock_timeout`` (ms): the longest wait for a lock, the writers' advisory lock
#: included; a write transaction of ingestion holds it for the short write only (seconds), so
#: 60 s means "something is stuck". Override with ``REUNITE_PG_LOCK_TIMEOUT_MS``.
PG_LOCK_TIMEOUT_MS = 60_000
#: PostgreSQL ``statement_timeout`` (ms): the longest single statement (a national-scale read of
#: every genotype takes minutes, never ten). Override with ``REUNITE_PG_STATEMENT_TIMEOUT_MS``.
PG_STATEMENT_TIMEOUT_MS = 600_000
#: PostgreSQL ``random_page_cost`` of the store's connections (PostgreSQL's own advice for SSD).
PG_RANDOM_PAGE_COST = 1.1
#: PostgreSQL: after a batch, a store table whose rows changed since its last ``ANALYZE`` by more
#: than this fraction of its size is analysed (:meth:`StoreBase.refresh_statistics`).
PG_ANALYZE_FRACTION = 0.1
#: Rows of a big read (:meth:`StoreBase._category_frame`) fetched and encoded at a time.
LOAD_CHUNK_ROWS = 500_000

#: Read a SQLite file's big categorical loads through ADBC (:meth:`StoreBase._sqlite_arrow_category_frame`);
#: False: through SQLAlchemy's rows, as PostgreSQL and in-memory stores are read (the same frame, tested).
ARROW_SQLITE_READS = True

#: The child process of :meth:`StoreBase._adbc_batches`: argv the file's URI (read-only) and the
#: busy timeout in ms, stdin the query; stdout its rows as an Arrow IPC stream.
_ADBC_CHILD = """
import sys
import adbc_driver_sqlite.dbapi as adbc
import pyarrow as pa
uri, busy = sys.argv[1], int(sys.argv[2])
sql = sys.stdin.read()
try:
    with adbc.connect(uri) as conn:
        cursor = conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy}")
        cursor.fetchall()
        cursor.execute(sql)
        reader = cursor.fetch_record_batch()
        with pa.ipc.new_stream(sys.stdout.buffer, reader.schema) as out:
            for batch in reader:
                out.write_batch(batch)
        cursor.close()
except Exception as e:  # one line, without the query (it may hold literal values)
    lines = [line for line in str(e).splitlines() if line.strip() and not line.startswith("query:")]
    sys.stderr.write(type(e).__name__ + ": " + (lines[0] if lines else "") + "\\n")
    sys.exit(1)
"""


def _is_url(target: str) -> bool:
    return "://" in target


class StoreBase:
    """The engine of a store and its transactions; see :class:`kinship.store.Store` for the parameters."""

    def __init__(self, url_or_path: str | Path, *, schema: str | None = None, echo: bool = False):
        target = str(url_or_path)
        if _is_url(target):
            url = sa.engine.make_url(target)
        else:
            path = Path(target).expanduser().resolve()
            prepare_sqlite_file(path)  # folders 0700, file 0600; an existing file is quick_checked
            url = sa.engine.URL.create("sqlite", database=str(path))
        self.url = url
        self.schema = schema
        # No value of a refused row reaches a log: parameters hidden, driver messages scrubbed.
        engine = sa.create_engine(url, echo=echo, hide_parameters=True)
        sa.event.listen(engine, "handle_error", scrub_error)
        if engine.dialect.name == "postgresql":
            sa.event.listen(engine, "connect", _pg_timeouts)
        if engine.dialect.name == "sqlite":
            if schema is not None:
                raise StoreError(
                    f"store {url.render_as_string(hide_password=True)}: schema={schema!r} given for "
                    "SQLite, which has no schemas; fix: drop the schema argument or use PostgreSQL"
                )
            sa.event.listen(engine, "connect", _sqlite_connect)
            sa.event.listen(engine, "begin", _sqlite_begin)
        elif schema is not None:
            with engine.begin() as conn:
                conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
            engine.dispose()  # pooled connections predate the search_path hook
            sa.event.listen(engine, "connect", _pg_search_path(schema))
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.engine = engine
        self._migrate()

    # -- lifecycle -------------------------------------------------------------------------
    def _migrate(self) -> None:
        """Bring the database to the head Alembic revision (a no-op when it is there already)."""
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from alembic.util.exc import CommandError

        config = alembic_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current != head:
            with self.write_transaction() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                if current != head:
                    config.attributes["connection"] = conn
                    try:
                        if current is None and sa.inspect(conn).has_table("store_meta"):
                            self._check_version(conn, allowed=("1",))  # the pre-Alembic layout
                            command.stamp(config, "0001")
                        command.upgrade(config, "head")
                    except CommandError as exc:
                        raise StoreError(
                            f"store {self.describe()} is at migration revision {current!r}, which this "
                            f"code (head {head!r}) does not know ({exc}); fix: open it with the newer "
                            "code version that wrote it"
                        ) from None
        with self.engine.connect() as conn:
            self._check_version(conn, allowed=(str(STORE_SCHEMA_VERSION),))

    def _check_version(self, conn: Connection, *, allowed: tuple[str, ...]) -> None:
        row = conn.execute(
            sa.select(store_meta.c.value).where(store_meta.c.key == "schema_version")
        ).scalar_one_or_none()
        if row not in allowed:
            raise StoreError(
                f"store {self.describe()} has schema version {row}; this code reads version "
                f"{STORE_SCHEMA_VERSION}; fix: migrate the store or use a matching code version"
            )

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """One write transaction that serialises with every other writer of the store.

        SQLite: ``BEGIN IMMEDIATE`` (the file's write lock is taken at once; other writers wait
        up to the 30 s busy timeout). PostgreSQL: a transaction-scoped advisory lock, so two
        ingestions never plan against the same stale state. Everything done on the yielded
        connection commits or rolls back together.
        """
        if self.engine.dialect.name == "sqlite":
            with self.engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                yield conn

    def refresh_statistics(self, written: Mapping[str, int] | None = None) -> list[str]:
        """PostgreSQL: ``ANALYZE`` the store tables that were never analysed, or have changed by
        more than :data:`PG_ANALYZE_FRACTION` of their size since; SQLite: nothing.

        The planner chooses between an index look-up and a scan of the whole table from these
        statistics. A table that was last analysed when it was small (or never) gets whole-table
        scans for the look-ups of every later batch, which cost more as the store grows.
        Autovacuum analyses tables too, but only when it gets to them, and a national load
        grows the tables faster. Ingestion calls this after each batch commits, outside the
        write lock. ``ANALYZE`` reads a fixed-size sample of each table, so it takes about the
        same time at any store size.

        The changes counted are PostgreSQL's ``n_mod_since_analyze`` plus ``written``. A
        backend can hold its counts back for up to about 10 s after a commit (PostgreSQL 15
        flushes them at most once a second), so a batch that just committed may not be counted
        there yet. Passing its own row counts makes sure it is; counting it twice only brings an
        ``ANALYZE`` forward.

        Parameters
        ----------
        written : mapping of str to int, optional
            Rows the caller just wrote, per table name.

        Returns
        -------
        list of str
            The tables analysed (none if the database refused, e.g. a role without the right to
            analyse: the statistics only steer the planner).
        """
        if self.engine.dialect.name != "postgresql":
            return []
        query = sa.text(
            "select s.relname, s.n_mod_since_analyze, c.reltuples, "
            "coalesce(s.last_analyze, s.last_autoanalyze) is null "
            "from pg_stat_user_tables s join pg_class c on c.oid = s.relid "
            "where s.schemaname = current_schema()"
        )
        written = dict(written or {})
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            stale = sorted(
                name for name, changed, size, never in rows
                if name in metadata.tables and (changed or 0) + written.get(name, 0) > 0
                and (never or (changed or 0) + written.get(name, 0) > PG_ANALYZE_FRACTION * max(size, 1000))
            )
            if stale:
                prep = self.engine.dialect.identifier_preparer
                with self.engine.begin() as conn:
                    for name in stale:
                        conn.exec_driver_sql(f"ANALYZE {prep.quote(name)}")
        except sa.exc.SQLAlchemyError:
            return []  # statistics only steer the planner; the committed batch stands
        return stale

    def describe(self) -> str:
        """The store's URL without password (for messages)."""
        text = self.url.render_as_string(hide_password=True)
        return f"{text} (schema {self.schema})" if self.schema else text

    def close(self) -> None:
        """Release all database connections."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.describe()!r})"

    def drop_all(self) -> None:
        """Drop every store table and the migration record (tests and throw-away stores only)."""
        with self.engine.begin() as conn:
            metadata.drop_all(conn, checkfirst=True)
            conn.execute(sa.text("drop table if exists alembic_version"))

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: everything done on the yielded connection commits or rolls back."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.engine.connect() as own:
                yield own

    # -- helpers -------------------------------------------------------------------------------
    def _frame(self, query, columns: list[str], *, text: list[str] | None = None) -> pd.DataFrame:
        with self.engine.connect() as c:
            rows = c.execute(query).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns, dtype=object)
        text = columns if text is None else text
        for column in text:
            frame[column] = frame[column].fillna("").astype("str")
        return frame

    def _category_frame(self, query, columns: list[str], *, chunk_rows: int | None = None) -> pd.DataFrame:
        """A query's rows as categorical columns of ``str`` (a null read as ``""``), read
        ``chunk_rows`` rows at a time (default :data:`LOAD_CHUNK_ROWS`): only one chunk's
        Python strings are alive at once, the frame holds integer codes and each distinct
        value once. For the big reads (every stored genotype: 5 x 10^7 rows at national
        scale); categories sorted, so sorting and comparing behave as on ``str``."""
        if self._arrow_reads():
            return self._sqlite_arrow_category_frame(query, columns)
        parts: list[list[pd.Categorical]] = [[] for _ in columns]
        with self.engine.connect() as c:
            result = c.execution_options(yield_per=chunk_rows or LOAD_CHUNK_ROWS).execute(query)
            for rows in result.partitions():
                for k, values in enumerate(zip(*rows)):
                    parts[k].append(_categorical(values))
        data = {}
        for name, chunks in zip(columns, parts):
            if chunks:
                merged = union_categoricals(chunks, sort_categories=True)
            else:
                merged = pd.Categorical(pd.Series([], dtype=str))
            data[name] = pd.Series(merged, name=name)
        return pd.DataFrame(data, columns=columns)


    def _sqlite_arrow_category_frame(self, query, columns: list[str]) -> pd.DataFrame:
        """:meth:`_category_frame` of a SQLite file through ADBC (``adbc-driver-sqlite``): the
        rows go from SQLite's C API straight into Arrow record batches, each dictionary-encoded
        as it arrives (no Python object per value). Measured 33.6 s -> 6.0 s for the 3.57 x 10^6
        genotype rows of a 10^5-family store (``benchmarks/README.md``, issue 12). Every column
        is read as text (``CAST(... AS TEXT)``, a null as ``""``), as the SQLAlchemy path reads it;
        the connection is read-only (``mode=ro``) and sees the last committed state."""
        import pyarrow as pa

        text = query.with_only_columns(
            *(sa.func.coalesce(sa.cast(c, sa.Text), "").label(name) for c, name in zip(query.selected_columns, columns)),
            maintain_column_froms=True)
        sql = str(text.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        parts: list[list[pa.Array]] = [[] for _ in columns]
        for batch in self._adbc_batches(sql):
            for k in range(len(columns)):
                parts[k].append(batch.column(k).cast(pa.string()).dictionary_encode())
        data = {}
        for name, chunks in zip(columns, parts):
            if not chunks:
                data[name] = pd.Series(pd.Categorical(pd.Series([], dtype=str)), name=name)
                continue
            merged = pa.chunked_array(chunks).unify_dictionaries().combine_chunks()
            dictionary = merged.dictionary.to_numpy(zero_copy_only=False).astype(object)
            order = np.argsort(dictionary, kind="stable")  # categories sorted, as union_categoricals(sort_categories=True)
            rank = np.empty(order.size, dtype=np.int64)
            rank[order] = np.arange(order.size)
            codes = rank[merged.indices.to_numpy(zero_copy_only=False)]
            categories = pd.Index(dictionary[order], dtype=str)
            data[name] = pd.Series(pd.Categorical.from_codes(codes, categories=categories), name=name)
        return pd.DataFrame(data, columns=columns)


    def _arrow_reads(self) -> bool:
        """Whether big reads go through ADBC (:data:`ARROW_SQLITE_READS` and a SQLite file)."""
        return ARROW_SQLITE_READS and self.engine.dialect.name == "sqlite" and self.url.database not in (
            None, "", ":memory:")

    def _adbc_batches(self, sql: str):
        """The record batches of ``sql`` on a read-only ADBC connection to the store's file, which
        waits for a writer's lock as the SQLAlchemy connections do (``busy_timeout``).

        The ADBC driver links its own copy of SQLite. Two copies of SQLite in one process must not
        open the same file: POSIX locks belong to the process, so the one copy closing its file
        would drop the locks the other holds (SQLite, "How To Corrupt An SQLite Database File",
        2.2.1). So the ADBC connection lives in a child process (:data:`_ADBC_CHILD`), which opens
        nothing else, and sends the batches back as an Arrow IPC stream on a pipe (no file; the
        query goes on its standard input, not its command line)."""
        import subprocess
        import sys

        import pyarrow as pa

        uri = Path(self.url.database).resolve().as_uri() + "?mode=ro"
        child = subprocess.Popen([sys.executable, "-c", _ADBC_CHILD, uri, str(int(SQLITE_BUSY_TIMEOUT_MS))],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            child.stdin.write(sql.encode())
            child.stdin.close()
            try:
                reader = pa.ipc.open_stream(child.stdout)
                yield from reader
            except pa.ArrowInvalid:  # the child stopped before it sent a stream: its error below
                pass
            child.stdout.close()
            error = child.stderr.read().decode(errors="replace").strip().splitlines()
            if child.wait() != 0:
                raise sa.exc.OperationalError("(an ADBC read of the store)", None,
                                              Exception(error[-1] if error else f"exit status {child.returncode}"))
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()

    def _sqlite_arrow_typed_frame(self, query, dtypes: Mapping[str, str]) -> pd.DataFrame:
        """A query's rows through ADBC (:meth:`_sqlite_arrow_category_frame`), each column in its
        final dtype: ``str`` (null read as ``""``), ``float64`` (null as NaN), ``int16`` or
        ``bool`` (never null), or the nullable ``Int16``, ``Int32`` and ``boolean``. The columns
        are cast in SQL (text, REAL or INTEGER), so no value's type is guessed from the first rows."""
        import pyarrow as pa

        names = list(dtypes)
        selected = []
        # No column is ever null in what ADBC reads: the driver takes a column's type from its
        # first batch, and a column null there would be read as INT64 and then refuse a REAL.
        # A nullable column comes as its value with null replaced (0) and a 0/1 null flag.
        for c, name in zip(query.selected_columns, names):
            kind = dtypes[name]
            if kind == "str":
                selected.append(sa.func.coalesce(sa.cast(c, sa.Text), "").label(name))
                continue
            zero = sa.literal_column("0.0") if kind == "float64" else sa.literal_column("0")
            selected.append(sa.func.coalesce(sa.cast(c, sa.Float if kind == "float64" else sa.Integer), zero).label(name))
            selected.append(sa.cast(c.is_(None), sa.Integer).label(f"{name}__null"))
        text = query.with_only_columns(*selected, maintain_column_froms=True)
        sql = str(text.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        types = {"str": pa.string(), "float64": pa.float64()}
        batches = list(self._adbc_batches(sql))
        data = {}
        k = 0
        for name in names:
            kind = dtypes[name]
            column = pa.chunked_array([b.column(k).cast(types.get(kind, pa.int64())) for b in batches],
                                      type=types.get(kind, pa.int64())).combine_chunks()
            k += 1
            if kind == "str":
                data[name] = pd.Series(column.to_numpy(zero_copy_only=False), dtype="str")
                continue
            missing = pa.chunked_array([b.column(k).cast(pa.int64()) for b in batches], type=pa.int64()) \
                .combine_chunks().to_numpy(zero_copy_only=False).astype(bool)
            k += 1
            values = column.to_numpy(zero_copy_only=False)
            if kind == "float64":
                data[name] = pd.Series(np.where(missing, np.nan, values), dtype="float64")
            elif kind in ("int16", "bool"):
                if missing.any():
                    raise StoreError(f"column {name!r} holds a null where the schema allows none; "
                                     "fix: restore the store from a backup")
                data[name] = pd.Series(values.astype(kind))
            elif kind == "boolean":
                data[name] = pd.Series(pd.arrays.BooleanArray(values.astype(bool), missing))
            else:  # Int16, Int32
                data[name] = pd.Series(pd.arrays.IntegerArray(values.astype(kind.lower()), missing))
        return pd.DataFrame(data, columns=names)


def _categorical(values) -> pd.Categorical:
    """A categorical of ``str`` of a column's values (None read as ``""``), through Arrow's
    dictionary encoding (several times faster than hashing the Python objects in pandas)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.fill_null(pa.array(values, pa.string()), "").dictionary_encode()
    categories = pd.Index(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=str)
    return pd.Categorical.from_codes(encoded.indices.to_numpy(zero_copy_only=False), categories=categories)


def alembic_config():
    """An Alembic ``Config`` for the migrations shipped in the package (no ini file needed).

    ``alembic.ini`` at the repository root points at the same scripts for command-line use.

    Returns
    -------
    alembic.config.Config
        With ``script_location`` set to ``kinship.store:migrations``.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "kinship.store:migrations")
    return config


def _sqlite_connect(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling is switched off; SQLAlchemy's "begin" event emits
    # BEGIN itself, so DDL is transactional and write transactions can be IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL: readers (a match run, the planning of another lab's batch) never wait for a writer,
    # and a writer waits only for the other writer's short commit. In-memory databases keep
    # their own journal mode.
    cursor.execute("PRAGMA journal_mode=WAL")
    # synchronous=NORMAL under WAL (SQLite's recommended pairing): a commit no longer waits for
    # an fsync of the WAL, only checkpoints do. The database can not be corrupted by a crash or
    # power loss; a power loss (not a process crash) may roll back the last commits, which a
    # re-run of the same batch lands again (batches are idempotent).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _pg_timeouts(dbapi_connection, _record) -> None:
    """Lock and statement timeouts and the page cost of every PostgreSQL connection (see the module constants)."""
    import os

    lock_ms = int(os.environ.get("REUNITE_PG_LOCK_TIMEOUT_MS", PG_LOCK_TIMEOUT_MS))
    statement_ms = int(os.environ.get("REUNITE_PG_STATEMENT_TIMEOUT_MS", PG_STATEMENT_TIMEOUT_MS))
    cursor = dbapi_connection.cursor()
    cursor.execute(f"SET lock_timeout = {lock_ms}")
    cursor.execute(f"SET statement_timeout = {statement_ms}")
    # The planner's default random_page_cost (4) prices a disk seek; a store's indexes are on
    # SSD or in memory, where a look-up costs little more than a sequential read. At the default,
    # a batch's look-ups of 4,000 ids or keys were planned as scans of the whole table (a cost
    # that grew with the store: 90 scans of profile_keys per batch at 3 x 10^5 profiles).
    cursor.execute(f"SET random_page_cost = {PG_RANDOM_PAGE_COST}")
    cursor.close()
    dbapi_connection.commit()


def _pg_search_path(schema: str):
    def connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_connection.commit()

    return connect


#: Most keys in one ``IN (...)`` look-up of a batch's ids or profile keys: few statements per
#: batch (each costs a compile and a round trip), well under SQLite's 32,766 host parameters
#: (SQLite >= 3.32; Python 3.11's) and PostgreSQL's 65,535.
LOOKUP_CHUNK = 4000


def chunks(items: list, size: int = 500):
    """Consecutive slices of ``items`` of at most ``size`` (bounds the parameters of one statement).

    Parameters
    ----------
    items : list
        Rows or keys, in order.
    size : int, default 500
        Most items per slice.

    Yields
    ------
    list
        The next slice.

    Examples
    --------
    >>> list(chunks([1, 2, 3], 2))
    [[1, 2], [3]]
    """
    for start in range(0, len(items), size):
        yield items[start:start + size]



def insert_tuples(conn: Connection, table: sa.Table, columns: list[str], rows, *, chunk_rows: int | None = None) -> None:
    """Insert rows of plain values into ``table`` past SQLAlchemy's per-row work, in the caller's transaction.

    On SQLite, one prepared ``INSERT`` run by the driver's ``executemany``, ``chunk_rows`` rows
    per call; on PostgreSQL, one ``COPY ... FROM STDIN`` through psycopg's ``cursor.copy`` (the
    fastest bulk path). The values are bound as they are, as SQLAlchemy would bind them for these
    columns (``str``, ``float``, ``int``, ``bool``, ``None``; no type processing, no defaults
    filled). A driver error is raised as SQLAlchemy's (``IntegrityError`` for a constraint), as
    ``conn.execute`` would, and scrubbed of the rows' values as the engine's hook scrubs every
    other (:func:`kinship.store.dberrors.describe_db_error`: no id or genotype reaches a log).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open (write) transaction on a SQLite or PostgreSQL (psycopg 3) store.
    table : sqlalchemy.Table
        The target table (its name resolved on the connection's search path).
    columns : list of str
        The columns each row gives, in order.
    rows : iterable of tuple
        One tuple per row, values in the order of ``columns`` (a list when ``chunk_rows`` is given).
    chunk_rows : int, optional
        SQLite: most rows per ``executemany`` call (default: all at once).

    Raises
    ------
    sqlalchemy.exc.DBAPIError
        The subclass SQLAlchemy raises for the driver's error, e.g. ``IntegrityError`` for a
        repeated key; its message names the table and constraint, never a value.
    """
    prep = conn.dialect.identifier_preparer
    target = f"{prep.format_table(table)} ({', '.join(prep.quote(c) for c in columns)})"
    dbapi = conn.connection.driver_connection
    statement = f"COPY {target} FROM STDIN" if conn.dialect.name == "postgresql" else (
        f"INSERT INTO {target} VALUES ({', '.join('?' * len(columns))})")
    try:
        if conn.dialect.name == "postgresql":
            with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor = dbapi.cursor()
            try:
                for chunk in (chunks(rows, chunk_rows) if chunk_rows else [rows]):
                    cursor.executemany(statement, chunk)
            finally:
                cursor.close()
    except conn.dialect.loaded_dbapi.Error as exc:
        safe = describe_db_error(exc, statement)  # as the engine's scrub_error hook does
        exc.args = (safe,)
        wrapped = sa.exc.DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error,
                                             hide_parameters=True, dialect=conn.dialect)
        wrapped.args = (safe,)
        raise wrapped from None
