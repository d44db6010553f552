"""Store layout version 4: the duplicate-screen index of profile keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-03-16

- ``profile_keys``: one row per (sample, block of core loci) at every locus of which the
  sample is typed: the 64-bit hash of its genotypes there
  (:func:`kinship.genetics.profile_keys.profile_keys`, blocks
  :data:`kinship.genetics.profile_keys.KEY_BLOCKS`). Key ``(sample_id, block)``; index
  ``ix_profile_keys_key`` on ``key``: the duplicate-profile screen of ingestion looks a batch's
  keys up there instead of comparing every stored profile.
- Back-filled here from the stored genotypes (streamed in sample order, inserted in chunks).
- ``ix_genotypes_locus_alleles`` is kept (the look-up it served is gone, but dropping it is left
  to a later revision so that a store can go back to 0003 cheaply).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kinship.genetics.profile_keys import KEY_LOCI, profile_key_rows

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.String(64)
_CHUNK = 5000


def upgrade() -> None:
    op.create_table(
        "profile_keys",
        sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
        sa.Column("block", sa.String(16), primary_key=True),
        sa.Column("key", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_profile_keys_key", "profile_keys", ["key"])
    _backfill(op.get_bind())
    op.execute(sa.text("update store_meta set value = '4' where key = 'schema_version'"))


def _backfill(conn) -> None:
    """Keys of every stored profile, from ``genotypes`` (only the loci a block uses are read)."""
    genotypes = sa.table("genotypes", sa.column("sample_id"), sa.column("locus"), sa.column("allele_1"),
                         sa.column("allele_2"))
    keys = sa.table("profile_keys", sa.column("sample_id"), sa.column("block"), sa.column("key"))
    q = (sa.select(genotypes.c.sample_id, genotypes.c.locus, genotypes.c.allele_1, genotypes.c.allele_2)
         .where(genotypes.c.locus.in_(sorted(KEY_LOCI)))
         .order_by(genotypes.c.sample_id))

    def profiles():
        current, profile = None, {}
        for sid, locus, a1, a2 in conn.execute(q):
            if sid != current:
                if current is not None:
                    yield current, profile
                current, profile = sid, {}
            profile[locus] = (a1, a2)
        if current is not None:
            yield current, profile

    rows = list(profile_key_rows(profiles()))  # read fully first: one cursor open at a time
    for start in range(0, len(rows), _CHUNK):
        conn.execute(keys.insert(), rows[start:start + _CHUNK])


def downgrade() -> None:
    op.execute(sa.text("update store_meta set value = '3' where key = 'schema_version'"))
    op.drop_index("ix_profile_keys_key", table_name="profile_keys")
    op.drop_table("profile_keys")
