"""Store layout version 8: a cache of each family's power and next-relative ranking; matches'
independent-loci LR.

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-20

- ``family_power``: one row per ``(lab, family_id, content_hash, parameters_hash)`` holding the
  JSON of :class:`kinship.app.power.FamilyPower` (probabilities, quantiles, ranked relatives;
  no genotypes), the code version that computed it and when. ``content_hash`` is the family's
  entity hash of a match run (its references' profiles and relationships), ``parameters_hash``
  everything else the numbers depend on (:func:`kinship.app.power.power_parameters_hash`): a
  family whose references or the run's parameters change simply misses the cache.
- ``matches.log10_lr_unlinked`` (nullable, ``schemas/matches.v3.json``): the pair's autosomal
  log10 LR with every locus independent, beside ``log10_lr`` with the linked pairs of loci as
  joint super-loci (equal for parent-only families); null for the pairs of earlier runs.
- Existing data: none to fill (the cache starts empty; earlier pairs keep the new column null).

Downgrade drops the table and the column (the cached results are lost; they are recomputed on
demand).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.String(64)
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "family_power",
        sa.Column("lab", _ID, primary_key=True),
        sa.Column("family_id", _ID, primary_key=True),
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("parameters_hash", sa.String(64), primary_key=True),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("code_version", _ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("log10_lr_unlinked", sa.Float(precision=53), nullable=True))
    op.execute(sa.text("update store_meta set value = '8' where key = 'schema_version'"))


def downgrade() -> None:
    op.execute(sa.text("update store_meta set value = '7' where key = 'schema_version'"))
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("log10_lr_unlinked")
    op.drop_table("family_power")
