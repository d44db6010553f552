"""Store layout version 7: each family's number of missing children; matches v3 columns.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-10

- ``families``: one row per family ``(lab, family_id)`` with ``n_missing``, the number of
  missing (abducted) children the family declares (manifest v5 column ``n_missing``; default 1),
  and ``file_id``, the batch that set it. The joint one-to-one assignment lets a family take at
  most that many candidates (:mod:`kinship.matching.assignment`).
- ``family_declarations``: every value a batch's manifest gave a family, keyed
  ``(lab, family_id, file_id)``: when a batch is retracted, ``families`` goes back to the latest
  declaration that remains (1 if none), so a retraction leaves no stale count.
- Existing data: one ``families`` row per ``(lab, family_id)`` of ``family_members`` (``file_id``
  the family's first batch) and of ``family_pedigrees`` not among them (``file_id`` null), all
  with ``n_missing`` 1, which is what every run so far assumed. No declarations (none was made).
- ``matches``: the nullable columns of ``schemas/matches.v3.json`` (``log10_lr_y``,
  ``n_y_loci_compared``, ``n_y_mismatches``, ``y_steps``, ``log10_lr_total``,
  ``posterior_lower``, ``family_posterior``, ``family_posterior_lower``, ``joint_posterior``,
  ``joint_group``, ``joint_exact``, ``conflict``); the pairs of earlier runs keep them null.

Downgrade drops the two tables and the columns (the declared counts are lost).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.String(64)
_F64 = sa.Float(precision=53)

#: The matches v3 columns, in table order.
_MATCH_COLUMNS = (
    ("log10_lr_y", _F64),
    ("n_y_loci_compared", sa.Integer),
    ("n_y_mismatches", sa.Integer),
    ("y_steps", sa.Integer),
    ("log10_lr_total", _F64),
    ("posterior_lower", _F64),
    ("family_posterior", _F64),
    ("family_posterior_lower", _F64),
    ("joint_posterior", _F64),
    ("joint_group", sa.Integer),
    ("joint_exact", sa.Boolean),
    ("conflict", sa.Boolean),
)


def upgrade() -> None:
    op.create_table(
        "families",
        sa.Column("lab", _ID, primary_key=True),
        sa.Column("family_id", _ID, primary_key=True),
        sa.Column("n_missing", sa.Integer, nullable=False, server_default="1"),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=True),
    )
    op.create_table(
        "family_declarations",
        sa.Column("lab", _ID, primary_key=True),
        sa.Column("family_id", _ID, primary_key=True),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), primary_key=True),
        sa.Column("n_missing", sa.Integer, nullable=False),
    )
    op.execute(sa.text(
        "insert into families (lab, family_id, n_missing, file_id) "
        "select lab, family_id, 1, min(file_id) from family_members group by lab, family_id"))
    op.execute(sa.text(
        "insert into families (lab, family_id, n_missing, file_id) "
        "select distinct p.lab, p.family_id, 1, cast(null as integer) from family_pedigrees p where not exists "
        "(select 1 from families f where f.lab = p.lab and f.family_id = p.family_id)"))
    with op.batch_alter_table("matches") as batch:
        for name, type_ in _MATCH_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.execute(sa.text("update store_meta set value = '7' where key = 'schema_version'"))


def downgrade() -> None:
    op.execute(sa.text("update store_meta set value = '6' where key = 'schema_version'"))
    with op.batch_alter_table("matches") as batch:
        for name, _ in reversed(_MATCH_COLUMNS):
            batch.drop_column(name)
    op.drop_table("family_declarations")
    op.drop_table("families")
