"""Store layout version 3: pedigrees of families given as a PED-style table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-03-09

- ``family_pedigrees``: one row per member of a family filed as a pedigree
  (:func:`kinship.app.ingest.ingest_pedigrees`): member id, parents (``""`` for a founder), sex,
  the typed reference's sample id (null for an untyped member) and the missing-child mark.
  Key ``(lab, family_id, person_id)``; a stored pedigree is never overwritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "family_pedigrees",
        sa.Column("lab", _ID, primary_key=True),
        sa.Column("family_id", _ID, primary_key=True),
        sa.Column("person_id", _ID, primary_key=True),
        sa.Column("father", _ID, nullable=False),
        sa.Column("mother", _ID, nullable=False),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("sample_id", _ID, nullable=True),
        sa.Column("is_missing", sa.Boolean, nullable=False),
    )
    op.execute(sa.text("update store_meta set value = '3' where key = 'schema_version'"))


def downgrade() -> None:
    op.execute(sa.text("update store_meta set value = '2' where key = 'schema_version'"))
    op.drop_table("family_pedigrees")
