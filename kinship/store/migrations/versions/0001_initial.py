"""Store layout version 1 (the tables of the first ingestion and match-run code).

Revision ID: 0001
Revises:
Create Date: 2026-03-01

A store created before Alembic (by ``metadata.create_all``, ``store_meta.schema_version`` 1)
has exactly these tables; :class:`kinship.store.Store` stamps it at this revision and upgrades.
The layout is frozen here (no import of ``kinship.store``), so later code changes never alter
what an old revision means.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.String(64)
_TS = sa.DateTime(timezone=True)
_F64 = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "ingested_files",
        sa.Column("file_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("export_sha256", sa.String(64), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("export_name", sa.Text, nullable=False),
        sa.Column("manifest_name", sa.Text, nullable=False),
        sa.Column("fmt", sa.String(32), nullable=False),
        sa.Column("lab", _ID, nullable=False),
        sa.Column("kit", sa.String(64), nullable=True),
        sa.Column("received_at", _TS, nullable=False),
        *(sa.Column(c, sa.Integer, nullable=False) for c in (
            "n_rows", "n_landed", "n_untyped", "n_quarantined", "n_warnings", "n_samples_landed",
            "n_genotypes_added")),
        sa.Column("code_version", sa.String(32), nullable=False),
    )
    op.create_table(
        "samples",
        sa.Column("sample_id", _ID, primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("lab", _ID, nullable=False),
        sa.Column("kit", sa.String(64), nullable=True),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
    )
    op.create_table(
        "family_members",
        sa.Column("lab", _ID, primary_key=True),
        sa.Column("family_id", _ID, primary_key=True),
        sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
        sa.Column("relationship", sa.String(32), nullable=False),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
    )
    op.create_table(
        "genotypes",
        sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
        sa.Column("locus", sa.String(32), primary_key=True),
        sa.Column("allele_1", sa.String(16), nullable=False),
        sa.Column("allele_2", sa.String(16), nullable=False),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
    )
    for name, last in (("quarantine", ("reason", "fix")), ("warnings", ("message",))):
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
            sa.Column("source", sa.String(16), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("line", sa.Integer, nullable=True),
            sa.Column("sample_id", sa.Text, nullable=False),
            sa.Column("locus", sa.Text, nullable=False),
            sa.Column("value", sa.Text, nullable=False),
            *(sa.Column(c, sa.Text, nullable=False) for c in last),
        )
    op.create_table(
        "match_runs",
        sa.Column("run_id", sa.String(128), primary_key=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("freq_table_name", sa.Text, nullable=False),
        sa.Column("freq_table_hash", sa.String(64), nullable=False),
        sa.Column("code_version", sa.String(32), nullable=False),
        sa.Column("n_families", sa.Integer, nullable=True),
        sa.Column("n_candidates", sa.Integer, nullable=True),
        sa.Column("n_pairs", sa.Integer, nullable=True),
        sa.Column("provenance", sa.Text, nullable=True),
    )
    op.create_table(
        "matches",
        sa.Column("run_id", sa.String(128), sa.ForeignKey("match_runs.run_id"), primary_key=True),
        sa.Column("lab", _ID, primary_key=True),
        sa.Column("family_id", _ID, primary_key=True),
        sa.Column("candidate_id", _ID, primary_key=True),
        sa.Column("family_kind", sa.String(32), nullable=True),
        sa.Column("log10_lr", _F64, nullable=False),
        sa.Column("n_loci_compared", sa.Integer, nullable=False),
        sa.Column("n_inconsistent", sa.Integer, nullable=False),
        sa.Column("rank_for_candidate", sa.Integer, nullable=False),
        sa.Column("rank_for_family", sa.Integer, nullable=False),
        sa.Column("posterior", _F64, nullable=True),
        sa.Column("conclusion", sa.String(32), nullable=False),
        sa.Column("flag", sa.Boolean, nullable=False),
    )
    op.bulk_insert(
        sa.table("store_meta", sa.column("key", sa.String), sa.column("value", sa.Text)),
        [{"key": "schema_version", "value": "1"}],
    )


def downgrade() -> None:
    for name in ("matches", "match_runs", "warnings", "quarantine", "genotypes", "family_members",
                 "samples", "ingested_files", "store_meta"):
        op.drop_table(name)
