"""Store layout version 2: inputs of each match run, flag and skipped-record counts per batch.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-02

- ``match_run_inputs``: the sha256 of every candidate's and family's profile(s) a run scored,
  so an incremental run can tell what changed since the last one.
- ``ingested_files.n_flagged``: records of a batch that landed but carry a flag (sex check,
  possible duplicate, re-test extension, three-allele locus left out).
- ``ingested_files.n_records_skipped``: input records that match no catalogue locus (e.g. the
  non-forensic loci of a sequencing VCF); counted and reported, never errors.
- ``genotypes (locus, allele_1, allele_2)`` index, for the duplicate-profile look-up.
- ``matches.rank_for_candidate`` / ``rank_for_family`` nullable (``schemas/matches.v2.json``:
  null when the pair is not among the candidate's / family's best k).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "match_run_inputs",
        sa.Column("run_id", sa.String(128), sa.ForeignKey("match_runs.run_id"), primary_key=True),
        sa.Column("entity", sa.String(16), primary_key=True),
        sa.Column("lab", _ID, primary_key=True),
        sa.Column("entity_id", _ID, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    with op.batch_alter_table("ingested_files") as batch:
        batch.add_column(sa.Column("n_flagged", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("n_records_skipped", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_genotypes_locus_alleles", "genotypes", ["locus", "allele_1", "allele_2"])
    with op.batch_alter_table("matches") as batch:
        batch.alter_column("rank_for_candidate", existing_type=sa.Integer, nullable=True)
        batch.alter_column("rank_for_family", existing_type=sa.Integer, nullable=True)
    op.execute(sa.text("update store_meta set value = '2' where key = 'schema_version'"))


def downgrade() -> None:
    op.execute(sa.text("update store_meta set value = '1' where key = 'schema_version'"))
    with op.batch_alter_table("matches") as batch:
        batch.alter_column("rank_for_candidate", existing_type=sa.Integer, nullable=False)
        batch.alter_column("rank_for_family", existing_type=sa.Integer, nullable=False)
    op.drop_index("ix_genotypes_locus_alleles", table_name="genotypes")
    with op.batch_alter_table("ingested_files") as batch:
        batch.drop_column("n_records_skipped")
        batch.drop_column("n_flagged")
    op.drop_table("match_run_inputs")
