"""The store: profiles, families, quarantine and match runs in SQLite (default) or PostgreSQL.

Through SQLAlchemy; the schema is created and upgraded by the Alembic migrations in
:mod:`kinship.store.migrations` when a store is opened (``schemas/store.v9.json`` describes it).

Modules: :mod:`~kinship.store.tables` (the schema), :mod:`~kinship.store.engine` (engine,
migrations, transactions), one per table group (:mod:`~kinship.store.profiles`,
:mod:`~kinship.store.pedigrees`, :mod:`~kinship.store.match_runs`) and
:mod:`~kinship.store.database`, whose :class:`Store` composes them.
"""

from __future__ import annotations

from kinship.store.database import Store
from kinship.store.engine import alembic_config
from kinship.store.match_runs import MATCH_COLUMNS, MATCH_RUN_COLUMNS, MATCH_V3_COLUMNS, RUN_INPUT_COLUMNS
from kinship.store.pedigrees import PEDIGREE_COLUMNS
from kinship.store.tables import STORE_SCHEMA_VERSION, metadata

__all__ = [
    "STORE_SCHEMA_VERSION",
    "Store",
    "metadata",
    "MATCH_COLUMNS",
    "MATCH_V3_COLUMNS",
    "MATCH_RUN_COLUMNS",
    "RUN_INPUT_COLUMNS",
    "PEDIGREE_COLUMNS",
    "alembic_config",
]
