"""The profile store: samples, genotypes, ingested files, quarantine, match runs and matches.

One SQLAlchemy 2 Core schema (``schemas/store.v3.json`` documents it) on SQLite (the default:
give a file path) or PostgreSQL (give a URL such as
``postgresql+psycopg://user@host:5432/db``, driver ``psycopg`` v3). Tables are created and
upgraded by Alembic migrations shipped inside the package (``kinship/store/migrations``): opening a
:class:`Store` runs ``alembic upgrade head`` programmatically (under a lock, so two processes
opening a fresh store at once migrate it once). A store of the pre-Alembic layout (version 1,
created by ``create_all``) is stamped and upgraded; a store written by newer code (an unknown
revision or a higher ``store_meta.schema_version``) is refused rather than misread. The
:data:`metadata` below mirrors the head revision; a test checks that the migrated database and
the metadata agree.

On SQLite every transaction is opened explicitly (``BEGIN``; ``BEGIN IMMEDIATE`` for the write
transactions of ingestion and migration), so concurrent writers queue on the file lock instead
of failing half-way; on PostgreSQL ingestion takes a transaction-scoped advisory lock.

Only pseudonymous ids are stored: no names, no contact details. Genotypes are canonical
locus names and canonical allele labels as text (``"9.3"``), never floats. A stored genotype
is never overwritten: :func:`kinship.app.ingest.ingest_batch` quarantines a conflicting
re-submission instead. ``log10_lr`` is a float64 column; ``-inf`` (an exclusion) round-trips
on SQLite and PostgreSQL, NaN is refused when writing.

Times are stored in UTC and read back as timezone-aware ``datetime64[ns, UTC]`` columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kinship.errors import StoreError

__all__ = [
    "STORE_SCHEMA_VERSION",
    "Store",
    "metadata",
    "MATCH_COLUMNS",
    "MATCH_RUN_COLUMNS",
    "RUN_INPUT_COLUMNS",
    "PEDIGREE_COLUMNS",
    "alembic_config",
]

#: Version of the table layout (``schemas/store.v3.json``).
STORE_SCHEMA_VERSION = 3


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC; naive datetimes are taken as UTC, results are UTC-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


_ID = sa.String(64)
_F64 = sa.Float(precision=53)

metadata = sa.MetaData()

store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

ingested_files = sa.Table(
    "ingested_files",
    metadata,
    sa.Column("file_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("export_sha256", sa.String(64), nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("export_name", sa.Text, nullable=False),
    sa.Column("manifest_name", sa.Text, nullable=False),
    sa.Column("fmt", sa.String(32), nullable=False),
    sa.Column("lab", _ID, nullable=False),
    sa.Column("kit", sa.String(64), nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("n_landed", sa.Integer, nullable=False),
    sa.Column("n_untyped", sa.Integer, nullable=False),
    sa.Column("n_quarantined", sa.Integer, nullable=False),
    sa.Column("n_warnings", sa.Integer, nullable=False),
    sa.Column("n_samples_landed", sa.Integer, nullable=False),
    sa.Column("n_genotypes_added", sa.Integer, nullable=False),
    sa.Column("code_version", sa.String(32), nullable=False),
    sa.Column("n_flagged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_records_skipped", sa.Integer, nullable=False, server_default="0"),
)

samples = sa.Table(
    "samples",
    metadata,
    sa.Column("sample_id", _ID, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("sex", sa.String(16), nullable=False),
    sa.Column("lab", _ID, nullable=False),
    sa.Column("kit", sa.String(64), nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
)

family_members = sa.Table(
    "family_members",
    metadata,
    sa.Column("lab", _ID, primary_key=True),
    sa.Column("family_id", _ID, primary_key=True),
    sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
    sa.Column("relationship", sa.String(32), nullable=False),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
)

genotypes = sa.Table(
    "genotypes",
    metadata,
    sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
    sa.Column("locus", sa.String(32), primary_key=True),
    sa.Column("allele_1", sa.String(16), nullable=False),
    sa.Column("allele_2", sa.String(16), nullable=False),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
    sa.Index("ix_genotypes_locus_alleles", "locus", "allele_1", "allele_2"),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # export | manifest
    sa.Column("kind", sa.String(32), nullable=False),  # rule that decided (see kinship.app.ingest)
    sa.Column("line", sa.Integer, nullable=True),
    sa.Column("sample_id", sa.Text, nullable=False),  # as written in the file: may be any length
    sa.Column("locus", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("fix", sa.Text, nullable=False),
)

warnings_table = sa.Table(
    "warnings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # export | manifest
    sa.Column("kind", sa.String(32), nullable=False),  # rule that decided (see kinship.app.ingest)
    sa.Column("line", sa.Integer, nullable=True),
    sa.Column("sample_id", sa.Text, nullable=False),  # as written in the file: may be any length
    sa.Column("locus", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

match_runs = sa.Table(
    "match_runs",
    metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("freq_table_name", sa.Text, nullable=False),
    sa.Column("freq_table_hash", sa.String(64), nullable=False),
    sa.Column("code_version", sa.String(32), nullable=False),
    sa.Column("n_families", sa.Integer, nullable=True),
    sa.Column("n_candidates", sa.Integer, nullable=True),
    sa.Column("n_pairs", sa.Integer, nullable=True),
    sa.Column("provenance", sa.Text, nullable=True),
)

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("run_id", sa.String(128), sa.ForeignKey("match_runs.run_id"), primary_key=True),
    sa.Column("lab", _ID, primary_key=True),
    sa.Column("family_id", _ID, primary_key=True),
    sa.Column("candidate_id", _ID, primary_key=True),
    sa.Column("family_kind", sa.String(32), nullable=True),
    sa.Column("log10_lr", _F64, nullable=False),
    sa.Column("n_loci_compared", sa.Integer, nullable=False),
    sa.Column("n_inconsistent", sa.Integer, nullable=False),
    sa.Column("rank_for_candidate", sa.Integer, nullable=True),  # null: not in the candidate's top k
    sa.Column("rank_for_family", sa.Integer, nullable=True),  # null: not in the family's top k
    sa.Column("posterior", _F64, nullable=True),
    sa.Column("conclusion", sa.String(32), nullable=False),
    sa.Column("flag", sa.Boolean, nullable=False),
)

match_run_inputs = sa.Table(
    "match_run_inputs",
    metadata,
    sa.Column("run_id", sa.String(128), sa.ForeignKey("match_runs.run_id"), primary_key=True),
    sa.Column("entity", sa.String(16), primary_key=True),  # candidate | family
    sa.Column("lab", _ID, primary_key=True),  # "" for candidates
    sa.Column("entity_id", _ID, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
)

family_pedigrees = sa.Table(
    "family_pedigrees",
    metadata,
    sa.Column("lab", _ID, primary_key=True),
    sa.Column("family_id", _ID, primary_key=True),
    sa.Column("person_id", _ID, primary_key=True),
    sa.Column("father", _ID, nullable=False),  # "" for a founder
    sa.Column("mother", _ID, nullable=False),  # "" for a founder
    sa.Column("sex", sa.String(16), nullable=False),
    sa.Column("sample_id", _ID, nullable=True),  # null: an untyped member
    sa.Column("is_missing", sa.Boolean, nullable=False),
)

#: Columns of :meth:`Store.save_pedigrees` / :meth:`Store.load_pedigrees`.
PEDIGREE_COLUMNS = ["lab", "family_id", "person_id", "father", "mother", "sex", "sample_id", "is_missing"]

#: Columns of :meth:`Store.record_run_inputs` / :meth:`Store.load_run_inputs`.
RUN_INPUT_COLUMNS = ["entity", "lab", "entity_id", "sha256"]
_RUN_INPUT_ENTITIES = ("candidate", "family")

#: Columns :meth:`Store.write_matches` requires, in the order :meth:`Store.load_matches` returns.
MATCH_COLUMNS = [
    "lab",
    "family_id",
    "candidate_id",
    "log10_lr",
    "n_loci_compared",
    "n_inconsistent",
    "rank_for_candidate",
    "rank_for_family",
    "posterior",
    "conclusion",
    "flag",
]
_LOADED_MATCH_COLUMNS = [*MATCH_COLUMNS, "family_kind"]
#: May be null: posterior (NaN), ranks (not among the best k; ``schemas/matches.v2.json``).
_NULLABLE_MATCH_COLUMNS = ("posterior", "rank_for_candidate", "rank_for_family")
_MATCH_DTYPES = {
    "lab": "str",
    "family_id": "str",
    "candidate_id": "str",
    "log10_lr": "float64",
    "n_loci_compared": "int16",
    "n_inconsistent": "int16",
    "rank_for_candidate": "Int32",
    "rank_for_family": "Int32",
    "posterior": "float64",
    "conclusion": "str",
    "flag": "bool",
}

#: Columns of :meth:`Store.list_match_runs`; ``record_match_run`` accepts these keys.
MATCH_RUN_COLUMNS = [c.name for c in match_runs.columns]
_RUN_REQUIRED = ["run_id", "started_at", "kind", "parameters", "freq_table_name", "freq_table_hash", "code_version"]


def _is_url(target: str) -> bool:
    return "://" in target


class Store:
    """The profile store on SQLite (file path) or any SQLAlchemy URL (PostgreSQL).

    Parameters
    ----------
    url_or_path : str or pathlib.Path
        A filesystem path means a SQLite file (parent folders are created); anything
        containing ``"://"`` is a SQLAlchemy URL, e.g. ``"sqlite://"`` (in memory) or
        ``"postgresql+psycopg://root@127.0.0.1:5432/reunite"``.
    schema : str, optional
        PostgreSQL schema to hold the tables (created if missing); ``None`` is the default
        search path. Not supported on SQLite.
    echo : bool, default False
        Log SQL statements (never use with real data: statements carry genotypes).

    Raises
    ------
    StoreError
        If the database holds tables of another store schema version.

    Examples
    --------
    >>> store = Store("sqlite://")
    >>> store.load_genotypes().columns.tolist()
    ['sample_id', 'role', 'locus', 'allele_1', 'allele_2']
    >>> store.close()
    """

    def __init__(self, url_or_path: str | Path, *, schema: str | None = None, echo: bool = False):
        target = str(url_or_path)
        if _is_url(target):
            url = sa.engine.make_url(target)
        else:
            path = Path(target).expanduser().resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            url = sa.engine.URL.create("sqlite", database=str(path))
        self.url = url
        self.schema = schema
        engine = sa.create_engine(url, echo=echo)
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

    def describe(self) -> str:
        """The store's URL without password (for messages)."""
        text = self.url.render_as_string(hide_password=True)
        return f"{text} (schema {self.schema})" if self.schema else text

    def close(self) -> None:
        """Release all database connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
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

    # -- ingestion support (used by kinship.app.ingest) ---------------------------------------
    def find_ingested_file(self, sha256: str, *, conn: Connection | None = None) -> dict | None:
        """The ``ingested_files`` row of a batch hash, or ``None`` if it was never ingested."""
        with self._conn(conn) as c:
            row = c.execute(sa.select(ingested_files).where(ingested_files.c.sha256 == sha256)).mappings().first()
        return dict(row) if row is not None else None

    def stored_samples(self, sample_ids: Iterable[str], *, conn: Connection | None = None) -> dict[str, dict]:
        """``samples`` rows of the given ids that are stored, keyed by sample id."""
        ids = sorted(set(sample_ids))
        out: dict[str, dict] = {}
        with self._conn(conn) as c:
            for chunk in _chunks(ids):
                for row in c.execute(sa.select(samples).where(samples.c.sample_id.in_(chunk))).mappings():
                    out[row["sample_id"]] = dict(row)
        return out

    def stored_profiles(
        self, sample_ids: Iterable[str], *, conn: Connection | None = None
    ) -> dict[str, dict[str, tuple[str, str, int]]]:
        """Stored genotypes of the given samples: ``{sample_id: {locus: (a1, a2, file_id)}}``."""
        ids = sorted(set(sample_ids))
        out: dict[str, dict[str, tuple[str, str, int]]] = {}
        with self._conn(conn) as c:
            for chunk in _chunks(ids):
                q = sa.select(genotypes).where(genotypes.c.sample_id.in_(chunk))
                for r in c.execute(q):
                    out.setdefault(r.sample_id, {})[r.locus] = (r.allele_1, r.allele_2, r.file_id)
        return out

    def samples_sharing_genotypes(
        self, genotype_keys: Iterable[tuple[str, str, str]], *, conn: Connection | None = None
    ) -> dict[str, dict[str, tuple[str, str]]]:
        """Stored genotypes equal to any of the given ``(locus, allele_1, allele_2)`` keys.

        Returns ``{sample_id: {locus: (allele_1, allele_2)}}`` of the matching rows only (the
        duplicate-profile check narrows candidates with it, then compares whole profiles).
        """
        keys = sorted(set(genotype_keys))
        out: dict[str, dict[str, tuple[str, str]]] = {}
        with self._conn(conn) as c:
            for chunk in _chunks(keys):
                cond = sa.tuple_(genotypes.c.locus, genotypes.c.allele_1, genotypes.c.allele_2).in_(chunk)
                q = sa.select(genotypes.c.sample_id, genotypes.c.locus, genotypes.c.allele_1,
                              genotypes.c.allele_2).where(cond)
                for r in c.execute(q):
                    out.setdefault(r.sample_id, {})[r.locus] = (r.allele_1, r.allele_2)
        return out

    def stored_family_members(
        self, keys: Iterable[tuple[str, str]], *, conn: Connection | None = None
    ) -> dict[tuple[str, str], list[dict]]:
        """Stored members of the given ``(lab, family_id)`` families, keyed by family."""
        out: dict[tuple[str, str], list[dict]] = {}
        wanted = sorted(set(keys))
        with self._conn(conn) as c:
            for chunk in _chunks(wanted):
                cond = sa.tuple_(family_members.c.lab, family_members.c.family_id).in_(chunk)
                for row in c.execute(sa.select(family_members).where(cond)).mappings():
                    out.setdefault((row["lab"], row["family_id"]), []).append(dict(row))
        return out

    def write_batch(
        self,
        conn: Connection,
        *,
        file_row: dict,
        sample_rows: list[dict],
        member_rows: list[dict],
        genotype_rows: list[dict],
        quarantine_rows: list[dict],
        warning_rows: list[dict],
    ) -> int:
        """Insert one ingested batch on ``conn`` (the caller's transaction); return its file_id.

        Rows are dicts keyed by column name, without ``file_id`` (filled in here).
        """
        file_id = conn.execute(ingested_files.insert().values(**file_row)).inserted_primary_key[0]
        for table, rows in (
            (samples, sample_rows),
            (family_members, member_rows),
            (genotypes, genotype_rows),
            (quarantine, quarantine_rows),
            (warnings_table, warning_rows),
        ):
            if rows:
                conn.execute(table.insert(), [{**r, "file_id": file_id} for r in rows])
        return int(file_id)

    # -- reading profiles ------------------------------------------------------------------
    def load_genotypes(self, role: str | None = None) -> pd.DataFrame:
        """All stored genotypes, optionally of one role.

        Parameters
        ----------
        role : {"reference", "candidate"}, optional
            Only samples of this role.

        Returns
        -------
        pandas.DataFrame
            Columns ``sample_id, role, locus, allele_1, allele_2`` (all ``str``, canonical
            locus names and allele labels, ``allele_1 <= allele_2`` in canonical order), one
            row per typed locus, sorted by ``sample_id, locus``. Loci of every catalogue kind
            (Amelogenin, Y, quality sensors) are included; filter by the catalogue's kind.
        """
        q = (
            sa.select(genotypes.c.sample_id, samples.c.role, genotypes.c.locus, genotypes.c.allele_1, genotypes.c.allele_2)
            .join(samples, samples.c.sample_id == genotypes.c.sample_id)
            .order_by(genotypes.c.sample_id, genotypes.c.locus)
        )
        if role is not None:
            q = q.where(samples.c.role == role)
        return self._frame(q, ["sample_id", "role", "locus", "allele_1", "allele_2"])

    def load_family_members(self) -> pd.DataFrame:
        """Members of every family.

        Returns
        -------
        pandas.DataFrame
            Columns ``lab, family_id, sample_id, relationship, sex`` (all ``str``), sorted by
            ``lab, family_id, sample_id``. The family key is ``(lab, family_id)``.
        """
        q = (
            sa.select(family_members.c.lab, family_members.c.family_id, family_members.c.sample_id,
                      family_members.c.relationship, samples.c.sex)
            .join(samples, samples.c.sample_id == family_members.c.sample_id)
            .order_by(family_members.c.lab, family_members.c.family_id, family_members.c.sample_id)
        )
        return self._frame(q, ["lab", "family_id", "sample_id", "relationship", "sex"])

    # -- pedigrees of families given as a PED-style table -----------------------------------
    def save_pedigrees(self, frame: pd.DataFrame, *, lab: str) -> int:
        """Store the pedigrees of some families of ``lab``, atomically.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per pedigree member: ``family_id``, ``person_id`` (or ``id``, the PED
            name), ``father``, ``mother`` (member ids of the same family; empty, ``None`` or
            ``"0"`` for a founder), ``sex`` (``male``/``female``/``unknown``), ``sample_id``
            (the typed reference; empty or null for an untyped member), ``is_missing``
            (bool: the missing child). Other columns are ignored. Rows are validated as a
            pedigree by the caller (:func:`kinship.app.ingest.ingest_pedigrees`).
        lab : str
            The lab that filed the families (family ids are scoped by lab).

        Returns
        -------
        int
            Number of families written; a family stored already with the same pedigree is
            left as it is (not counted).

        Raises
        ------
        StoreError
            A missing column or empty id, or a family already stored with a different pedigree
            (a stored pedigree is never overwritten). Nothing is written then.
        """
        rows = self._pedigree_rows(frame, lab=lab)
        by_family: dict[str, set[tuple]] = {}
        for r in rows:
            by_family.setdefault(r["family_id"], set()).add(_pedigree_key(r))
        with self.write_transaction() as conn:
            stored: dict[str, set[tuple]] = {}
            t = family_pedigrees
            for chunk in _chunks(sorted(by_family)):
                q = sa.select(t).where(t.c.lab == lab, t.c.family_id.in_(chunk))
                for row in conn.execute(q).mappings():
                    stored.setdefault(row["family_id"], set()).add(_pedigree_key(row))
            changed = sorted(f for f in by_family if f in stored and stored[f] != by_family[f])
            if changed:
                raise StoreError(
                    f"pedigree of family {lab}/{changed[0]} differs from the one stored in store "
                    f"{self.describe()} (families {changed}); expected the stored pedigree or a new "
                    "family id; fix: a stored pedigree is never overwritten - file the corrected "
                    "pedigree under a new family id, or remove the family from the table"
                )
            new = [r for r in rows if r["family_id"] not in stored]
            for chunk in _chunks(new, 5000):
                conn.execute(t.insert(), chunk)
        return len({r["family_id"] for r in new})

    def _pedigree_rows(self, frame: pd.DataFrame, *, lab: str) -> list[dict]:
        if "person_id" not in frame.columns and "id" in frame.columns:
            frame = frame.rename(columns={"id": "person_id"})
        required = [c for c in PEDIGREE_COLUMNS if c != "lab"]
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise StoreError(
                f"pedigrees of lab {lab!r}: missing column(s) {missing}; expected columns {required}; "
                "fix: read the table with kinship.io.pedigree.read_pedigree_csv"
            )

        def text(v) -> str:
            return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip()

        rows, seen = [], set()
        for i, r in enumerate(frame[required].itertuples(index=False)):
            row = {"lab": lab, "family_id": text(r.family_id), "person_id": text(r.person_id)}
            if not lab or not row["family_id"] or not row["person_id"]:
                raise StoreError(
                    f"pedigrees of lab {lab!r}, row {i}: empty lab, family_id or person_id; "
                    "fix: give every member its family id and member id"
                )
            key = (row["family_id"], row["person_id"])
            if key in seen:
                raise StoreError(
                    f"pedigrees of lab {lab!r}: member {key[1]!r} of family {key[0]} occurs twice; "
                    "fix: give each member one row"
                )
            seen.add(key)
            for col in ("father", "mother"):
                v = text(getattr(r, col))
                row[col] = "" if v in ("0", "NA") else v
            row["sex"] = text(r.sex) or "unknown"
            row["sample_id"] = text(r.sample_id) or None
            flag = r.is_missing
            if isinstance(flag, str):
                flag = flag.strip().lower() in ("1", "true", "yes", "y")
            row["is_missing"] = bool(False if flag is None or (not isinstance(flag, str) and pd.isna(flag)) else flag)
            rows.append(row)
        return rows

    def load_pedigrees(self) -> pd.DataFrame:
        """Members of every family stored as a pedigree.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`PEDIGREE_COLUMNS`: ``is_missing`` bool, the rest ``str``
            (``father``/``mother`` ``""`` for a founder, ``sample_id`` ``""`` for an untyped
            member); sorted by ``lab, family_id, person_id``. The family key is
            ``(lab, family_id)``.
        """
        t = family_pedigrees
        q = sa.select(*(t.c[c] for c in PEDIGREE_COLUMNS)).order_by(t.c.lab, t.c.family_id, t.c.person_id)
        frame = self._frame(q, PEDIGREE_COLUMNS, text=PEDIGREE_COLUMNS[:-1])
        frame["is_missing"] = frame["is_missing"].astype(bool)
        return frame

    def load_samples(self) -> pd.DataFrame:
        """Every stored sample.

        Returns
        -------
        pandas.DataFrame
            Columns ``sample_id, role, sex, lab, kit`` (``str``; ``kit`` ``""`` if unknown) and
            ``received_at`` (``datetime64[ns, UTC]``), sorted by ``sample_id``.
        """
        cols = ["sample_id", "role", "sex", "lab", "kit", "received_at"]
        q = sa.select(*(samples.c[c] for c in cols)).order_by(samples.c.sample_id)
        frame = self._frame(q, cols, text=cols[:-1])
        frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
        return frame

    def observed_alleles(self) -> dict[str, set[str]]:
        """Alleles present in the stored genotypes, per canonical locus.

        Returns
        -------
        dict of str to set of str
            ``{locus: {allele, ...}}`` over every stored sample (both alleles of each pair).
        """
        out: dict[str, set[str]] = {}
        q = sa.union(
            sa.select(genotypes.c.locus, genotypes.c.allele_1.label("allele")),
            sa.select(genotypes.c.locus, genotypes.c.allele_2.label("allele")),
        )
        with self.engine.connect() as c:
            for locus, allele in c.execute(q):
                out.setdefault(locus, set()).add(allele)
        return out

    def load_ingested_files(self) -> pd.DataFrame:
        """Every ingested batch (one row per export + manifest pair), sorted by ``file_id``."""
        cols = [c.name for c in ingested_files.columns]
        frame = self._frame(sa.select(ingested_files).order_by(ingested_files.c.file_id), cols, text=[])
        frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
        return frame

    def quarantine_records(self, *, file_id: int | None = None) -> pd.DataFrame:
        """Every quarantined record, with the name of the export it came from.

        Parameters
        ----------
        file_id : int, optional
            Only the records of one ingested batch.

        Returns
        -------
        pandas.DataFrame
            Columns ``id, file_id, export_name, source, kind, line, sample_id, locus, value,
            reason, fix``; ``kind`` is the rule that quarantined the record; ``source`` is ``"export"`` (an export row) or ``"manifest"`` (a manifest
            row, ``line`` is then the manifest line); sorted by ``id``.
        """
        return self._records(quarantine, ["source", "kind", "line", "sample_id", "locus", "value", "reason", "fix"], file_id)

    def warning_records(self, *, file_id: int | None = None) -> pd.DataFrame:
        """Every ingestion warning (off-ladder calls, no-calls, sex check...), sorted by ``id``."""
        return self._records(warnings_table, ["source", "kind", "line", "sample_id", "locus", "value", "message"], file_id)

    def _records(self, table: sa.Table, cols: list[str], file_id: int | None) -> pd.DataFrame:
        q = (
            sa.select(table.c.id, table.c.file_id, ingested_files.c.export_name, *(table.c[c] for c in cols))
            .join(ingested_files, ingested_files.c.file_id == table.c.file_id)
            .order_by(table.c.id)
        )
        if file_id is not None:
            q = q.where(table.c.file_id == file_id)
        names = ["id", "file_id", "export_name", *cols]
        frame = self._frame(q, names, text=[c for c in names if c not in ("id", "file_id", "line")])
        frame["line"] = frame["line"].astype("Int64")
        return frame

    # -- match runs --------------------------------------------------------------------------
    def record_match_run(self, run: dict) -> None:
        """Record the start of a match run (its provenance).

        Parameters
        ----------
        run : dict
            Keys ``run_id`` (str), ``started_at`` (datetime or ISO-8601 str; naive = UTC),
            ``kind`` (str, e.g. ``"incremental"`` / ``"full"``), ``parameters`` (dict, stored
            as canonical JSON, or a JSON str), ``freq_table_name``, ``freq_table_hash``,
            ``code_version`` (str); optional ``finished_at``, ``n_families``,
            ``n_candidates``, ``n_pairs``.

        Raises
        ------
        StoreError
            If a key is missing or unknown, or the run id is already recorded.
        """
        row = self._run_row(run, required=_RUN_REQUIRED)
        try:
            with self.engine.begin() as c:
                c.execute(match_runs.insert().values(**row))
        except sa.exc.IntegrityError:
            raise StoreError(self._known_run(row["run_id"])) from None

    def finish_match_run(self, run_id: str, **fields) -> None:
        """Complete a recorded run: set ``finished_at`` (default now, UTC) and counts.

        Parameters
        ----------
        run_id : str
            A recorded run.
        **fields
            Any of ``finished_at``, ``n_families``, ``n_candidates``, ``n_pairs``,
            ``parameters``, ``freq_table_name``, ``freq_table_hash``, ``code_version``,
            ``kind``.

        Raises
        ------
        StoreError
            If the run is not recorded or a field is unknown.
        """
        fields.setdefault("finished_at", datetime.now(timezone.utc))
        row = self._run_row({"run_id": run_id, **fields}, required=["run_id"])
        row.pop("run_id")
        with self.engine.begin() as c:
            n = c.execute(match_runs.update().where(match_runs.c.run_id == run_id).values(**row)).rowcount
        if n != 1:
            raise StoreError(self._unknown_run(run_id))

    def _run_row(self, run: dict, *, required: list[str]) -> dict:
        unknown = sorted(set(run) - set(MATCH_RUN_COLUMNS))
        missing = [k for k in required if run.get(k) is None]
        if unknown or missing:
            raise StoreError(
                f"match run {run.get('run_id')!r}: unknown field(s) {unknown}, missing field(s) "
                f"{missing}; expected fields {MATCH_RUN_COLUMNS} (required {_RUN_REQUIRED}); "
                "fix: pass the run's provenance record with these keys"
            )
        row = dict(run)
        for key in ("parameters", "provenance"):
            if row.get(key) is not None and not isinstance(row[key], str):
                row[key] = json.dumps(row[key], sort_keys=True, separators=(",", ":"), default=str)
        for key in ("n_families", "n_candidates", "n_pairs"):
            if row.get(key) is not None:
                row[key] = int(row[key])
        return row

    def _known_run(self, run_id: str) -> str:
        return (
            f"match run {run_id!r} is already recorded in store {self.describe()}; expected a new "
            "run id; fix: derive the run id from the run's inputs and start time"
        )

    def _unknown_run(self, run_id: str) -> str:
        return (
            f"match run {run_id!r} is not recorded in store {self.describe()}; expected a run "
            "id from list_match_runs(); fix: call record_match_run first"
        )

    def write_matches(self, run_id: str, matches_frame: pd.DataFrame) -> int:
        """Store the scored pairs of a recorded run.

        Parameters
        ----------
        run_id : str
            A run recorded with :meth:`record_match_run`.
        matches_frame : pandas.DataFrame
            One row per (family, candidate) pair, columns :data:`MATCH_COLUMNS`:
            ``log10_lr`` float64 (``-inf`` allowed, NaN not), counts ints, ranks ints or null
            (a pair outside the best k), ``posterior`` float64 (NaN stored as NULL), ``conclusion`` str, ``flag`` bool (a
            column ``flagged``, the name in ``schemas/matches.v1.json``, is accepted for it);
            optional ``family_kind`` str. Other columns are ignored.

        Returns
        -------
        int
            Number of rows written.

        Raises
        ------
        StoreError
            If the run is not recorded, a column is missing, a value is null or NaN where
            not allowed, or a pair is already stored for the run.
        """
        rows = self._match_rows(run_id, matches_frame)
        with self.engine.begin() as c:
            self._insert_matches(c, run_id, rows)
        return len(rows)

    def save_match_run(
        self, provenance: dict, matches_frame: pd.DataFrame, run_inputs: pd.DataFrame | None = None
    ) -> int:
        """Record a finished run from its provenance record and store its pairs, atomically.

        Parameters
        ----------
        provenance : dict
            The run's provenance record (``schemas/provenance.v1.json``): ``run_id``,
            ``started_at``, ``code_version``, ``parameters``, ``frequency_table`` (``source``
            or ``name``, ``sha256``), ``inputs`` (``n_families``, ``n_candidates``); optional
            ``kind`` (default ``"full"``) and ``finished_at`` (default now). The whole record
            is kept as JSON in ``match_runs.provenance``.
        matches_frame : pandas.DataFrame
            The run's pairs, as for :meth:`write_matches`.
        run_inputs : pandas.DataFrame, optional
            The profile hashes the run scored, as for :meth:`record_run_inputs`; written in the
            same transaction (all three land or none).

        Returns
        -------
        int
            Number of pairs written.

        Raises
        ------
        StoreError
            If the record lacks a field, the run id is already recorded, or a pair is invalid.
        """
        try:
            table = provenance["frequency_table"]
            inputs = provenance.get("inputs", {})
            run = {
                "run_id": provenance["run_id"],
                "started_at": provenance["started_at"],
                "finished_at": provenance.get("finished_at") or datetime.now(timezone.utc),
                "kind": provenance.get("kind", "full"),
                "parameters": provenance["parameters"],
                "freq_table_name": table.get("source") or table["name"],
                "freq_table_hash": table["sha256"],
                "code_version": provenance["code_version"],
                "n_families": inputs.get("n_families"),
                "n_candidates": inputs.get("n_candidates"),
                "n_pairs": len(matches_frame),
                "provenance": provenance,
            }
        except KeyError as exc:
            raise StoreError(
                f"provenance record of run {provenance.get('run_id')!r} lacks field {exc.args[0]!r}; "
                "expected a record of schemas/provenance.v1.json; fix: build it with "
                "kinship.app.match_run.provenance"
            ) from None
        row = self._run_row(run, required=_RUN_REQUIRED)
        rows = self._match_rows(row["run_id"], matches_frame)
        input_rows = None if run_inputs is None else self._run_input_rows(row["run_id"], run_inputs)
        with self.engine.begin() as c:
            try:
                with c.begin_nested():
                    c.execute(match_runs.insert().values(**row))
            except sa.exc.IntegrityError:
                raise StoreError(self._known_run(row["run_id"])) from None
            self._insert_matches(c, row["run_id"], rows)
            if input_rows is not None:
                self._insert_run_inputs(c, row["run_id"], input_rows)
        return len(rows)

    def _match_rows(self, run_id: str, matches_frame: pd.DataFrame) -> list[dict]:
        frame = matches_frame
        if "flag" not in frame.columns and "flagged" in frame.columns:
            frame = frame.rename(columns={"flagged": "flag"})
        missing = [c for c in MATCH_COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(
                f"matches of run {run_id!r}: missing column(s) {missing}; expected columns "
                f"{MATCH_COLUMNS}; fix: write the ranked table of kinship.app.match_run.rank_matches"
            )
        for column in MATCH_COLUMNS:
            if column in _NULLABLE_MATCH_COLUMNS:
                continue
            bad = frame[column].isna()
            if bad.any():
                first = frame[bad].iloc[0]
                raise StoreError(
                    f"matches of run {run_id!r}: {int(bad.sum())} null/NaN value(s) in column "
                    f"{column!r} (first: family {first['lab']}/{first['family_id']}, candidate "
                    f"{first['candidate_id']}); expected a value in every row (log10_lr may be "
                    "-inf); fix: flag 0/0 likelihoods upstream instead of writing NaN"
                )
        kinds = frame["family_kind"] if "family_kind" in frame.columns else pd.Series(None, index=frame.index)
        return [
            {
                "run_id": run_id,
                "lab": str(r.lab),
                "family_id": str(r.family_id),
                "candidate_id": str(r.candidate_id),
                "family_kind": None if pd.isna(kind) else str(kind),
                "log10_lr": float(r.log10_lr),
                "n_loci_compared": int(r.n_loci_compared),
                "n_inconsistent": int(r.n_inconsistent),
                "rank_for_candidate": None if pd.isna(r.rank_for_candidate) else int(r.rank_for_candidate),
                "rank_for_family": None if pd.isna(r.rank_for_family) else int(r.rank_for_family),
                "posterior": None if pd.isna(r.posterior) else float(r.posterior),
                "conclusion": str(r.conclusion),
                "flag": bool(r.flag),
            }
            for r, kind in zip(frame[MATCH_COLUMNS].itertuples(index=False), kinds)
        ]

    def _insert_matches(self, conn: Connection, run_id: str, rows: list[dict]) -> None:
        known = conn.execute(sa.select(match_runs.c.run_id).where(match_runs.c.run_id == run_id)).first()
        if known is None:
            raise StoreError(self._unknown_run(run_id))
        try:
            with conn.begin_nested():
                for chunk in _chunks(rows, 5000):
                    conn.execute(matches.insert(), chunk)
        except sa.exc.IntegrityError as exc:
            raise StoreError(
                f"matches of run {run_id!r}: a (lab, family_id, candidate_id) pair is repeated "
                f"or already stored ({exc.orig}); expected each pair once per run; fix: write "
                "a run's matches once, de-duplicated"
            ) from None

    def load_matches(self, run_id: str) -> pd.DataFrame:
        """The stored pairs of one run.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`MATCH_COLUMNS` then ``family_kind`` (``""`` if not given);
            ``log10_lr``/``posterior`` float64 (``-inf`` kept, NULL posterior as NaN), counts
            int16, ranks nullable ``Int32`` (``<NA>`` outside the best k), ``flag`` bool, the rest ``str``; sorted by ``candidate_id,
            rank_for_candidate, lab, family_id``.

        Raises
        ------
        StoreError
            If the run is not recorded.
        """
        with self.engine.connect() as c:
            if c.execute(sa.select(match_runs.c.run_id).where(match_runs.c.run_id == run_id)).first() is None:
                raise StoreError(self._unknown_run(run_id))
        q = (
            sa.select(*(matches.c[c] for c in _LOADED_MATCH_COLUMNS))
            .where(matches.c.run_id == run_id)
            .order_by(matches.c.candidate_id, matches.c.rank_for_candidate.asc().nulls_last(), matches.c.lab,
                      matches.c.family_id)
        )
        frame = self._frame(q, _LOADED_MATCH_COLUMNS,
                            text=["lab", "family_id", "candidate_id", "conclusion", "family_kind"])
        frame["posterior"] = frame["posterior"].astype("float64")  # NULL -> NaN
        return frame.astype({k: v for k, v in _MATCH_DTYPES.items() if v != "str"})

    def list_match_runs(self) -> pd.DataFrame:
        """Every recorded run, sorted by ``started_at, run_id``.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`MATCH_RUN_COLUMNS`; times ``datetime64[ns, UTC]`` (``NaT`` while
            unfinished), counts nullable ``Int64``, ``parameters`` and ``provenance`` (the full
            record, ``""`` if none was given) JSON text.
        """
        q = sa.select(match_runs).order_by(match_runs.c.started_at, match_runs.c.run_id)
        text = ["run_id", "kind", "parameters", "freq_table_name", "freq_table_hash", "code_version", "provenance"]
        frame = self._frame(q, MATCH_RUN_COLUMNS, text=text)
        for column in ("started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        for column in ("n_families", "n_candidates", "n_pairs"):
            frame[column] = frame[column].astype("Int64")
        return frame

    # -- inputs of a match run (incremental matching) --------------------------------------------
    def record_run_inputs(self, run_id: str, frame: pd.DataFrame, *, conn: Connection | None = None) -> int:
        """Store the profile hashes a recorded run scored (one row per candidate and family).

        Parameters
        ----------
        run_id : str
            A run recorded with :meth:`record_match_run` or :meth:`save_match_run`.
        frame : pandas.DataFrame
            Columns :data:`RUN_INPUT_COLUMNS`: ``entity`` (``"candidate"`` or ``"family"``),
            ``lab`` (the family's lab; ``""`` for candidates), ``entity_id`` (candidate
            sample id or family id), ``sha256`` (64 hex characters: the hash of that entity's
            profile(s) as the run encoded them). Other columns are ignored.
        conn : Connection, optional
            Write on the caller's transaction (as :meth:`save_match_run` does).

        Returns
        -------
        int
            Number of rows written.

        Raises
        ------
        StoreError
            If the run is not recorded, a column is missing, a value is null or invalid, or an
            ``(entity, lab, entity_id)`` key is repeated or already stored for the run.
        """
        rows = self._run_input_rows(run_id, frame)
        if conn is not None:
            self._insert_run_inputs(conn, run_id, rows)
        else:
            with self.engine.begin() as c:
                self._insert_run_inputs(c, run_id, rows)
        return len(rows)

    def _run_input_rows(self, run_id: str, frame: pd.DataFrame) -> list[dict]:
        missing = [c for c in RUN_INPUT_COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(
                f"inputs of run {run_id!r}: missing column(s) {missing}; expected columns "
                f"{RUN_INPUT_COLUMNS}; fix: one row per candidate and per family scored"
            )
        rows = []
        for i, r in enumerate(frame[RUN_INPUT_COLUMNS].itertuples(index=False)):
            entity, lab, entity_id, sha = r
            lab = "" if lab is None or (not isinstance(lab, str) and pd.isna(lab)) else str(lab)
            problem = None
            if entity not in _RUN_INPUT_ENTITIES:
                problem = f"entity {entity!r} (expected one of {list(_RUN_INPUT_ENTITIES)})"
            elif entity == "candidate" and lab != "":
                problem = f"lab {lab!r} for a candidate (expected '': candidates are global)"
            elif entity == "family" and lab == "":
                problem = "empty lab for a family (family ids are scoped by lab)"
            elif not isinstance(entity_id, str) or not entity_id:
                problem = f"entity_id {entity_id!r} (expected a non-empty id)"
            elif not isinstance(sha, str) or len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
                problem = f"sha256 {sha!r} (expected 64 lower-case hex characters)"
            if problem:
                raise StoreError(
                    f"inputs of run {run_id!r}, row {i}: invalid {problem}; fix: write one row per "
                    "scored candidate (lab '') and family (its lab) with the hash of its profile(s)"
                )
            rows.append({"run_id": run_id, "entity": entity, "lab": lab, "entity_id": entity_id, "sha256": sha})
        return rows

    def _insert_run_inputs(self, conn: Connection, run_id: str, rows: list[dict]) -> None:
        known = conn.execute(sa.select(match_runs.c.run_id).where(match_runs.c.run_id == run_id)).first()
        if known is None:
            raise StoreError(self._unknown_run(run_id))
        try:
            with conn.begin_nested():
                for chunk in _chunks(rows, 5000):
                    conn.execute(match_run_inputs.insert(), chunk)
        except sa.exc.IntegrityError as exc:
            raise StoreError(
                f"inputs of run {run_id!r}: an (entity, lab, entity_id) key is repeated or already "
                f"stored ({exc.orig}); expected each candidate and family once per run; fix: "
                "de-duplicate the inputs table"
            ) from None

    def load_run_inputs(self, run_id: str) -> pd.DataFrame:
        """The profile hashes a run scored.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`RUN_INPUT_COLUMNS` (all ``str``), sorted by ``entity, lab,
            entity_id``; empty if the run recorded none.

        Raises
        ------
        StoreError
            If the run is not recorded.
        """
        with self.engine.connect() as c:
            if c.execute(sa.select(match_runs.c.run_id).where(match_runs.c.run_id == run_id)).first() is None:
                raise StoreError(self._unknown_run(run_id))
        t = match_run_inputs
        q = (
            sa.select(*(t.c[c] for c in RUN_INPUT_COLUMNS))
            .where(t.c.run_id == run_id)
            .order_by(t.c.entity, t.c.lab, t.c.entity_id)
        )
        return self._frame(q, RUN_INPUT_COLUMNS)

    def latest_match_run(self, kind: str | None = None) -> dict | None:
        """The most recent finished run (optionally of one ``kind``), or ``None``.

        "Most recent" is the latest ``finished_at`` (ties: later ``started_at``, then the
        larger ``run_id``); unfinished runs are ignored.

        Returns
        -------
        dict or None
            The ``match_runs`` row (keys :data:`MATCH_RUN_COLUMNS`): times as UTC-aware
            ``datetime``, counts ``int`` or ``None``, ``parameters`` and ``provenance`` parsed
            from JSON (``provenance`` ``None`` if none was stored).
        """
        q = sa.select(match_runs).where(match_runs.c.finished_at.is_not(None))
        if kind is not None:
            q = q.where(match_runs.c.kind == kind)
        q = q.order_by(match_runs.c.finished_at.desc(), match_runs.c.started_at.desc(),
                       match_runs.c.run_id.desc()).limit(1)
        with self.engine.connect() as c:
            row = c.execute(q).mappings().first()
        if row is None:
            return None
        out = dict(row)
        out["parameters"] = json.loads(out["parameters"])
        out["provenance"] = json.loads(out["provenance"]) if out.get("provenance") else None
        return out

    # -- helpers -------------------------------------------------------------------------------
    def _frame(self, query, columns: list[str], *, text: list[str] | None = None) -> pd.DataFrame:
        with self.engine.connect() as c:
            rows = c.execute(query).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns, dtype=object)
        text = columns if text is None else text
        for column in text:
            frame[column] = frame[column].fillna("").astype("str")
        return frame


def _pedigree_key(row) -> tuple:
    """A stored or new pedigree row as a comparable tuple (``sample_id`` None = untyped)."""
    return (row["person_id"], row["father"], row["mother"], row["sex"], row["sample_id"] or None,
            bool(row["is_missing"]))


#: Key of the PostgreSQL advisory lock taken by :meth:`Store.write_transaction`.
_PG_LOCK_KEY = 0x52454E49  # "RENI"


def alembic_config():
    """An Alembic ``Config`` for the migrations shipped in the package (no ini file needed).

    ``alembic.ini`` at the repository root points at the same scripts for command-line use.
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
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _pg_search_path(schema: str):
    def connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_connection.commit()

    return connect


def _chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]

