"""Store layout version 9: the workbench's users, sessions, decisions and audited reads.

Revision ID: 0009
Revises: 0008
Create Date: 2027-02-01

- ``users``: login (a pseudonymous ASCII user id), role (lab_staff, case_manager, supervisor,
  auditor), lab of lab staff, argon2 password hash, language, active flag, failed-login count
  and lockout time, who created the user and when.
- ``workbench_sessions``: the SHA-256 of each signed-in session's token, its user, CSRF token,
  creation and last-seen time (idle sessions expire).
- ``decisions``: the append-only audit of decisions on (lab, family, candidate) pairs: action
  (propose_confirm, confirm, reject, retest), reason, loci or relatives to type, the run and the
  evidence fingerprint the decision was taken on, who and when.
- ``evidence_reads``: who read which pair's evidence page or case report, when.
- Existing data: none to fill (the tables start empty).

Downgrade drops the four tables (users, decisions and the audit are lost: back up first).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.String(64)
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("login", _ID, primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("lab", _ID, nullable=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("locale", sa.String(16), nullable=False, server_default="en"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", _ID, nullable=False),
    )
    op.create_table(
        "workbench_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("login", _ID, sa.ForeignKey("users.login"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lab", _ID, nullable=False),
        sa.Column("family_id", _ID, nullable=False),
        sa.Column("candidate_id", _ID, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("retest", sa.Text, nullable=False, server_default=""),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("evidence", sa.String(64), nullable=False),
        sa.Column("decided_by", _ID, sa.ForeignKey("users.login"), nullable=False),
        sa.Column("decided_at", _TS, nullable=False),
    )
    op.create_index("ix_decisions_pair", "decisions", ["lab", "family_id", "candidate_id"])
    op.create_table(
        "evidence_reads",
        sa.Column("read_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("login", _ID, nullable=False),
        sa.Column("page", sa.String(32), nullable=False),
        sa.Column("lab", _ID, nullable=False),
        sa.Column("family_id", _ID, nullable=False),
        sa.Column("candidate_id", _ID, nullable=False),
        sa.Column("read_at", _TS, nullable=False),
    )
    op.execute(sa.text("update store_meta set value = '9' where key = 'schema_version'"))


def downgrade() -> None:
    op.execute(sa.text("update store_meta set value = '8' where key = 'schema_version'"))
    op.drop_table("evidence_reads")
    op.drop_index("ix_decisions_pair", table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("workbench_sessions")
    op.drop_table("users")
