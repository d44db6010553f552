"""Store layout version 6: genotypes and profile keys laid out for national-scale ingestion.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

- ``ix_genotypes_locus_alleles`` is dropped. No query has used it since the duplicate screen
  moved to ``profile_keys`` (0004). It was the largest write cost of an ingested batch on a
  national store: each of a batch's 360,000 genotypes went into a random place in a
  36-million-entry index.
- On SQLite, ``genotypes`` and ``profile_keys`` become ``WITHOUT ROWID`` tables, clustered on
  their primary keys (``sample_id, locus`` and ``sample_id, block``). Each row is then stored
  once, where a rowid table stores it twice (the table, and the primary key's index). A
  sample's genotypes are also read from one place. The rows are copied as they are. The
  ``profile_keys`` index ``ix_profile_keys_key`` is created again. PostgreSQL has no rowid, so
  only the index is dropped there.

Downgrade restores the 0005 layout: rowid tables and the locus index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.String(64)


def _genotypes(name: str, *, with_rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
        sa.Column("locus", sa.String(32), primary_key=True),
        sa.Column("allele_1", sa.String(16), nullable=False),
        sa.Column("allele_2", sa.String(16), nullable=False),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
        sqlite_with_rowid=with_rowid,
    )


def _profile_keys(name: str, *, with_rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
        sa.Column("block", sa.String(16), primary_key=True),
        sa.Column("key", sa.BigInteger, nullable=False),
        sqlite_with_rowid=with_rowid,
    )


def _rebuild_sqlite(*, with_rowid: bool) -> None:
    """Copy ``genotypes`` and ``profile_keys`` into tables of the other rowid layout, in place."""
    op.drop_index("ix_profile_keys_key", table_name="profile_keys")
    for table, create, columns, primary_key in (
        ("genotypes", _genotypes, "sample_id, locus, allele_1, allele_2, file_id", "sample_id, locus"),
        ("profile_keys", _profile_keys, "sample_id, block, key", "sample_id, block"),
    ):
        create(f"{table}_0006", with_rowid=with_rowid)
        op.execute(sa.text(f"insert into {table}_0006 ({columns}) select {columns} from {table} "
                           f"order by {primary_key}"))  # primary-key order: a sequential build
        op.drop_table(table)
        op.rename_table(f"{table}_0006", table)
    op.create_index("ix_profile_keys_key", "profile_keys", ["key"])


def upgrade() -> None:
    op.drop_index("ix_genotypes_locus_alleles", table_name="genotypes")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_rowid=False)
    op.execute(sa.text("update store_meta set value = '6' where key = 'schema_version'"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_rowid=True)
    op.create_index("ix_genotypes_locus_alleles", "genotypes", ["locus", "allele_1", "allele_2"])
    op.execute(sa.text("update store_meta set value = '5' where key = 'schema_version'"))
