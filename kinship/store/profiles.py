"""Ingestion tables of the store: batches, samples, genotypes, family members, families, quarantine, warnings.

:class:`ProfileTables` is the part of :class:`kinship.store.Store` that lands and reads
profiles. An ingestion (:func:`kinship.app.ingest.ingest_batch`) works through a
:class:`BatchTransaction`: it reads what the store holds for the batch's samples and families
and inserts the whole batch on one serialised write transaction, so a batch lands whole or not
at all, and two processes landing the same file land it once. A stored genotype is never
overwritten: the ingestion quarantines a conflicting re-submission instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kinship.genetics.alleles import UNKNOWN_ALLELE
from kinship.store.engine import LOOKUP_CHUNK, StoreBase, chunks, insert_tuples
from kinship.store.tables import (
    batch_retractions,
    families,
    family_declarations,
    family_members,
    family_pedigrees,
    genotypes,
    ingested_files,
    profile_keys,
    quarantine,
    samples,
    warnings_table,
)

__all__ = ["INSERT_CHUNK", "BatchTransaction", "ProfileTables"]

#: Most rows of one executemany insert.
INSERT_CHUNK = 20_000


class BatchTransaction:
    """The store as one batch's ingestion sees it: reads and inserts on one write transaction.

    Obtained from :meth:`ProfileTables.batch_transaction` and valid inside its ``with`` block
    only; every read sees the state the batch will be written against, and every write commits
    or rolls back with the batch.

    Attributes
    ----------
    sha256 : str
        The batch key (``ingested_files.sha256``).
    stored_batch : dict or None
        The ``ingested_files`` row of the batch when it is stored already (a concurrent
        ingestion landed it first): write nothing then.
    file_id : int or None
        ``ingested_files.file_id`` of the batch once :meth:`write_batch` wrote it and the
        transaction committed; ``None`` otherwise.
    """

    def __init__(self, store: ProfileTables, sha256: str):
        self.store = store
        self.sha256 = sha256
        self.stored_batch: dict | None = None
        self.file_id: int | None = None
        #: Rows written per table (after :meth:`write_batch`), for the statistics refresh.
        self.written: dict[str, int] = {}
        self._conn: Connection | None = None

    def stored_samples(self, sample_ids: Iterable[str]) -> dict[str, dict]:
        """As :meth:`ProfileTables.stored_samples`, on this transaction."""
        return self.store.stored_samples(sample_ids, conn=self._conn)

    def stored_profiles(self, sample_ids: Iterable[str]) -> dict[str, dict[str, tuple[str, str, int]]]:
        """As :meth:`ProfileTables.stored_profiles`, on this transaction."""
        return self.store.stored_profiles(sample_ids, conn=self._conn)

    def keys_of_samples_sharing(self, keys: Iterable[int]) -> dict[str, dict[str, int]]:
        """As :meth:`ProfileTables.keys_of_samples_sharing`, on this transaction."""
        return self.store.keys_of_samples_sharing(keys, conn=self._conn)

    def stored_family_members(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[dict]]:
        """As :meth:`ProfileTables.stored_family_members`, on this transaction."""
        return self.store.stored_family_members(keys, conn=self._conn)

    def stored_families(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """As :meth:`ProfileTables.stored_families`, on this transaction."""
        return self.store.stored_families(keys, conn=self._conn)

    def write_batch(self, **rows: list[dict] | dict) -> int:
        """Insert the batch (keyword arguments of :meth:`ProfileTables.write_batch`); return its file_id."""
        self.file_id = self.store.write_batch(self._conn, **rows)
        self.written = {"samples": len(rows.get("sample_rows", ())), "family_members": len(rows.get("member_rows", ())),
                        "genotypes": len(rows.get("genotype_rows", ())), "profile_keys": len(rows.get("key_rows", ())),
                        "ingested_files": 1}
        return self.file_id


class ProfileTables(StoreBase):
    """Landing and reading profiles: the ingestion tables of :class:`kinship.store.Store`."""

    @contextmanager
    def batch_transaction(self, sha256: str) -> Iterator[BatchTransaction]:
        """One write transaction to land the batch keyed ``sha256``, serialised with every writer.

        The transaction is :meth:`~kinship.store.engine.StoreBase.write_transaction`: two
        ingestions never plan against the same stale state. If the batch key turns out to be
        stored already when the batch is written (a concurrent writer landed the same batch
        between our check and our write), the unique-key failure is absorbed: the block's
        writes roll back, ``stored_batch`` is set to the stored row and ``file_id`` stays
        ``None``.

        Parameters
        ----------
        sha256 : str
            The batch key (``ingested_files.sha256``).

        Yields
        ------
        BatchTransaction
            With ``stored_batch`` set if the batch is stored already when the transaction starts.

        Raises
        ------
        sqlalchemy.exc.IntegrityError
            A constraint failure that is not the batch being stored already.
        """
        tx = BatchTransaction(self, sha256)
        try:
            with self.write_transaction() as conn:
                tx._conn = conn
                tx.stored_batch = self.find_ingested_file(sha256, conn=conn)
                yield tx
            if tx.file_id is not None:  # committed: keep the planner's statistics up with the store
                self.refresh_statistics(tx.written)
        except sa.exc.IntegrityError:
            stored = self.find_ingested_file(sha256)
            if stored is None:
                raise
            tx.stored_batch, tx.file_id = stored, None
        finally:
            tx._conn = None

    # -- ingestion support (used by kinship.app.ingest.batch) ---------------------------------
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
            for chunk in chunks(ids, LOOKUP_CHUNK):
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
            for chunk in chunks(ids, LOOKUP_CHUNK):
                q = sa.select(genotypes).where(genotypes.c.sample_id.in_(chunk))
                for r in c.execute(q):
                    out.setdefault(r.sample_id, {})[r.locus] = (r.allele_1, r.allele_2, r.file_id)
        return out

    def keys_of_samples_sharing(
        self, keys: Iterable[int], *, conn: Connection | None = None
    ) -> dict[str, dict[str, int]]:
        """Every profile key of the stored samples that have any of the given keys.

        Indexed look-ups of the keys (``ix_profile_keys_key``), then of the samples found on the
        primary key ``(sample_id, block)`` for their other keys, so the duplicate screen can tell
        strangers apart without reading their genotypes
        (:func:`kinship.genetics.profile_keys.keys_agree`).

        Parameters
        ----------
        keys : iterable of int
            Profile keys (:func:`kinship.genetics.profile_keys.profile_keys`).
        conn : sqlalchemy.engine.Connection, optional
            Read on this connection (a write transaction) instead of a fresh one.

        Returns
        -------
        dict of str to dict of str to int
            ``{sample_id: {block: key}}``: all keys of every stored sample sharing one of ``keys``.
        """
        wanted = sorted(set(keys))
        out: dict[str, dict[str, int]] = {}
        found: set[str] = set()
        with self._conn(conn) as c:
            # Two plain look-ups, not one self-join: PostgreSQL planned the join as a hash join
            # over a scan of the whole table, a cost that grew with the store.
            for chunk in chunks(wanted, LOOKUP_CHUNK):
                found.update(c.execute(sa.select(profile_keys.c.sample_id).where(profile_keys.c.key.in_(chunk))).scalars())
            for chunk in chunks(sorted(found), LOOKUP_CHUNK):
                q = sa.select(profile_keys.c.sample_id, profile_keys.c.block, profile_keys.c.key).where(
                    profile_keys.c.sample_id.in_(chunk))
                for sample_id, block, key in c.execute(q):
                    out.setdefault(sample_id, {})[block] = int(key)
        return out

    def stored_family_members(
        self, keys: Iterable[tuple[str, str]], *, conn: Connection | None = None
    ) -> dict[tuple[str, str], list[dict]]:
        """Stored members of the given ``(lab, family_id)`` families, keyed by family.

        Queried per lab (``lab = ? AND family_id IN (...)``): a search of the primary key on
        both backends, where SQLite answers a row-value ``(lab, family_id) IN (...)`` by scanning
        the whole table (a cost that grew with the store).
        """
        out: dict[tuple[str, str], list[dict]] = {}
        for row in self._rows_of_families(family_members, keys, conn):
            out.setdefault((row["lab"], row["family_id"]), []).append(row)
        return out

    def stored_families(
        self, keys: Iterable[tuple[str, str]], *, conn: Connection | None = None
    ) -> dict[tuple[str, str], dict]:
        """The ``families`` rows of the given ``(lab, family_id)`` families that are stored.

        Returns
        -------
        dict
            ``{(lab, family_id): {"lab", "family_id", "n_missing", "file_id"}}``; queried per lab, as
            :meth:`stored_family_members`.
        """
        return {(row["lab"], row["family_id"]): row for row in self._rows_of_families(families, keys, conn)}

    def _rows_of_families(self, table: sa.Table, keys: Iterable[tuple[str, str]], conn: Connection | None) -> list[dict]:
        """Rows of ``table`` (keyed by lab, family_id) of the given families, queried per lab
        (``lab = ? AND family_id IN (...)``, in chunks): a primary-key search on both backends."""
        by_lab: dict[str, list[str]] = {}
        for lab, family_id in sorted(set(keys)):
            by_lab.setdefault(lab, []).append(family_id)
        rows: list[dict] = []
        with self._conn(conn) as c:
            for lab, family_ids in by_lab.items():
                for chunk in chunks(family_ids, LOOKUP_CHUNK):
                    cond = sa.and_(table.c.lab == lab, table.c.family_id.in_(chunk))
                    rows += [dict(r) for r in c.execute(sa.select(table).where(cond)).mappings()]
        return rows

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
        key_rows: list[dict] = (),
        rekeyed_samples: Iterable[str] = (),
        family_rows: list[dict] = (),
        family_updates: list[dict] = (),
        declaration_rows: list[dict] = (),
    ) -> int:
        """Insert one ingested batch on ``conn`` (the caller's transaction); return its file_id.

        Rows are dicts keyed by column name, without ``file_id`` (filled in here). Inserts are
        executemany statements of at most :data:`INSERT_CHUNK` rows (bounded memory and
        statement size on both backends); the genotype and profile-key rows go through
        :func:`_bulk_insert` (the driver's executemany on SQLite, ``COPY`` on PostgreSQL). ``key_rows`` are ``profile_keys`` rows; the stored
        keys of ``rekeyed_samples`` (stored samples whose profile the batch extends) are
        deleted first. ``family_rows`` are new ``families`` rows, ``family_updates`` stored
        families whose ``n_missing`` the batch replaces (both ``lab, family_id, n_missing``; the
        batch becomes their ``file_id``), ``declaration_rows`` the ``family_declarations`` rows
        (:func:`kinship.app.ingest.plan.family_rows`).
        """
        file_id = conn.execute(ingested_files.insert().values(**file_row)).inserted_primary_key[0]
        for chunk in chunks(sorted(set(rekeyed_samples)), 900):
            conn.execute(profile_keys.delete().where(profile_keys.c.sample_id.in_(chunk)))
        for table, rows, with_file_id in (
            (samples, sample_rows, True),
            (family_members, member_rows, True),
            (families, family_rows, True),
            (family_declarations, declaration_rows, True),
            (genotypes, genotype_rows, True),
            (profile_keys, key_rows, False),
            (quarantine, quarantine_rows, True),
            (warnings_table, warning_rows, True),
        ):
            if table is genotypes or table is profile_keys:  # the big ones: per batch, rows x loci
                _bulk_insert(conn, table, rows, file_id if with_file_id else None)
                continue
            for chunk in chunks(list(rows), INSERT_CHUNK):
                conn.execute(table.insert(), [{**r, "file_id": file_id} for r in chunk] if with_file_id else chunk)
        for r in family_updates:
            conn.execute(families.update().where(families.c.lab == r["lab"], families.c.family_id == r["family_id"])
                         .values(n_missing=int(r["n_missing"]), file_id=file_id))
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
            Columns ``sample_id, role, locus, allele_1, allele_2`` (categorical of ``str``,
            categories sorted: integer codes, each distinct value once, read a chunk of rows at
            a time, so every genotype of a national store fits in a few hundred MB; canonical
            locus names and allele labels, ``allele_1 <= allele_2`` in canonical order, except
            a partial genotype: ``allele_1`` the known allele, ``allele_2`` ``"?"``,
            :data:`kinship.genetics.alleles.UNKNOWN_ALLELE`, as landed), one row per typed locus, sorted by ``sample_id, locus``. Loci of every catalogue kind
            (Amelogenin, Y, quality sensors) are included; filter by the catalogue's kind.
        """
        q = (
            sa.select(genotypes.c.sample_id, samples.c.role, genotypes.c.locus, genotypes.c.allele_1, genotypes.c.allele_2)
            .join(samples, samples.c.sample_id == genotypes.c.sample_id)
            .order_by(genotypes.c.sample_id, genotypes.c.locus)
        )
        if role is not None:
            q = q.where(samples.c.role == role)
        return self._category_frame(q, ["sample_id", "role", "locus", "allele_1", "allele_2"])

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

    def load_families(self) -> pd.DataFrame:
        """Every family and its declared number of missing children.

        A family is a ``(lab, family_id)`` with members (``family_members``) or a pedigree
        (``family_pedigrees``); its ``n_missing`` is the ``families`` row's (set from the manifest
        v5 column ``n_missing`` by the batch that filed or changed it), 1 where there is none.

        Returns
        -------
        pandas.DataFrame
            Columns ``lab, family_id`` (``str``) and ``n_missing`` (``int64``, >= 1), sorted by
            ``lab, family_id``.

        Examples
        --------
        >>> from kinship.store import Store
        >>> with Store("sqlite://") as s:
        ...     s.load_families().dtypes.astype(str).tolist()
        ['str', 'str', 'int64']
        """
        keys = sa.union(sa.select(family_members.c.lab, family_members.c.family_id),
                        sa.select(family_pedigrees.c.lab, family_pedigrees.c.family_id)).subquery()
        q = (
            sa.select(keys.c.lab, keys.c.family_id, families.c.n_missing)
            .outerjoin(families, sa.and_(families.c.lab == keys.c.lab, families.c.family_id == keys.c.family_id))
            .order_by(keys.c.lab, keys.c.family_id)
        )
        frame = self._frame(q, ["lab", "family_id", "n_missing"], text=["lab", "family_id"])
        frame["n_missing"] = frame["n_missing"].fillna(1).astype("int64")
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
            ``{locus: {allele, ...}}`` over every stored sample (both alleles of each pair; the
            unknown allele ``"?"`` of a partial genotype is not an allele and is left out).
        """
        out: dict[str, set[str]] = {}
        q = sa.union(
            sa.select(genotypes.c.locus, genotypes.c.allele_1.label("allele")),
            sa.select(genotypes.c.locus, genotypes.c.allele_2.label("allele")),
        )
        with self.engine.connect() as c:
            for locus, allele in c.execute(q):
                if allele != UNKNOWN_ALLELE:
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

    def warning_counts_by_locus(self, kind: str) -> pd.DataFrame:
        """Per locus, how many warnings of ``kind`` the store holds, counted in the database.

        For the match report's "calls dropped for call quality" (``kind="low_quality"``,
        :mod:`kinship.io.vcf`): counts only, no sample id and no call leave the store, and the
        work is one ``GROUP BY`` however many warnings a national store holds. Warnings of a
        retracted batch are not counted (its genotypes are gone; the batch's record stays).

        Returns
        -------
        pandas.DataFrame
            Columns ``locus`` (str), ``n_calls``, ``n_samples``, ``n_batches`` (int64): the
            warnings, the distinct samples and the distinct batches per locus, sorted by locus.
        """
        w = warnings_table
        q = (
            sa.select(w.c.locus, sa.func.count().label("n_calls"),
                      sa.func.count(sa.distinct(w.c.sample_id)).label("n_samples"),
                      sa.func.count(sa.distinct(w.c.file_id)).label("n_batches"))
            .where(w.c.kind == kind, w.c.file_id.not_in(sa.select(batch_retractions.c.file_id)))
            .group_by(w.c.locus)
            .order_by(w.c.locus)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=["locus", "n_calls", "n_samples", "n_batches"])
        return frame.astype({"locus": str, "n_calls": "int64", "n_samples": "int64", "n_batches": "int64"})

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



def _bulk_insert(conn: Connection, table: sa.Table, rows: Iterable[dict], file_id: int | None) -> None:
    """Insert plain rows (no defaults to fill) into ``table`` past SQLAlchemy's per-row work.

    On SQLite, one prepared ``INSERT`` run by the driver's ``executemany`` over tuples, in
    chunks of :data:`INSERT_CHUNK`; on PostgreSQL, ``COPY ... FROM STDIN`` through psycopg's
    ``cursor.copy`` (the fastest bulk path, in the caller's transaction). A driver error is
    raised as SQLAlchemy's (``IntegrityError`` for a constraint), as ``conn.execute`` would,
    and scrubbed of the rows' values as the engine's hook scrubs every other
    (:func:`kinship.store.dberrors.describe_db_error`: no genotype reaches a log). The
    statements are :func:`kinship.store.engine.insert_tuples`'.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's write transaction.
    table : sqlalchemy.Table
        ``genotypes`` or ``profile_keys``.
    rows : iterable of dict
        Rows keyed by column name (every row the same keys), without ``file_id``.
    file_id : int or None
        Filled into each row's ``file_id`` column; ``None`` when the table has none.
    """
    rows = list(rows)
    if not rows:
        return
    columns = [c.name for c in table.columns if c.name in rows[0]]
    if file_id is not None:
        columns.append("file_id")
    get = [c for c in columns if c != "file_id"]
    values = [tuple(r[c] for c in get) + ((file_id,) if file_id is not None else ()) for r in rows]
    insert_tuples(conn, table, columns, values, chunk_rows=INSERT_CHUNK)
