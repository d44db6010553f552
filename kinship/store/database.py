"""The profile store: samples, genotypes, ingested files, quarantine, match runs and matches.

One SQLAlchemy 2 Core schema (``schemas/store.v9.json`` documents it) on SQLite (the default:
give a file path) or PostgreSQL (give a URL such as
``postgresql+psycopg://user@host:5432/db``, driver ``psycopg`` v3). Tables are created and
upgraded by Alembic migrations shipped inside the package (``kinship/store/migrations``): opening a
:class:`Store` runs ``alembic upgrade head`` programmatically (under a lock, so two processes
opening a fresh store at once migrate it once). A store of the pre-Alembic layout (version 1,
created by ``create_all``) is stamped and upgraded; a store written by newer code (an unknown
revision or a higher ``store_meta.schema_version``) is refused rather than misread. The
:data:`kinship.store.tables.metadata` mirrors the head revision; a test checks that the migrated
database and the metadata agree.

:class:`Store` is composed of one part per table group:

* :class:`kinship.store.engine.StoreBase` - the engine, migrations and transactions;
* :class:`kinship.store.profiles.ProfileTables` - batches, samples, genotypes, families,
  quarantine and warnings (ingestion lands a batch through a
  :class:`~kinship.store.profiles.BatchTransaction`);
* :class:`kinship.store.pedigrees.PedigreeTables` - families filed as a pedigree table;
* :class:`kinship.store.match_runs.MatchRunTables` - match runs, their pairs and inputs;
* :class:`kinship.store.catalogue.CatalogueTables` - registered labs and kits, the pseudonym secret;
* :class:`kinship.store.batches.BatchTables` - listing and retracting batches, erasing samples;
* :class:`kinship.store.power.PowerTables` - the cache of families' power (``family_power``);
* :class:`kinship.store.workbench.WorkbenchTables` - the workbench's users, sessions, decisions
  and audited reads.

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

from kinship.store.batches import BatchTables
from kinship.store.catalogue import CatalogueTables
from kinship.store.match_runs import MatchRunTables
from kinship.store.pedigrees import PedigreeTables
from kinship.store.power import PowerTables
from kinship.store.profiles import ProfileTables
from kinship.store.workbench import WorkbenchTables

__all__ = ["Store"]


class Store(ProfileTables, PedigreeTables, MatchRunTables, CatalogueTables, BatchTables, PowerTables,
            WorkbenchTables):
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
