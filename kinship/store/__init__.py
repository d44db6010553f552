"""The store: profiles, families, quarantine and match runs in SQLite (default) or PostgreSQL.

Through SQLAlchemy; the schema is created and upgraded by the Alembic migrations in
:mod:`kinship.store.migrations` when a store is opened (``schemas/store.v3.json`` describes it).
"""

from __future__ import annotations

from kinship.store.database import (
    MATCH_COLUMNS,
    MATCH_RUN_COLUMNS,
    PEDIGREE_COLUMNS,
    RUN_INPUT_COLUMNS,
    STORE_SCHEMA_VERSION,
    Store,
    alembic_config,
    metadata,
)

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
