"""The store's tables: one SQLAlchemy 2 Core :data:`metadata` (``schemas/store.v9.json``).

The metadata mirrors the head Alembic revision (``kinship/store/migrations``; a test checks that
a migrated database and the metadata agree). Table groups: ingestion (``ingested_files``,
``samples``, ``family_members``, ``genotypes``, ``profile_keys``, ``quarantine``, ``warnings``), families
(``families``, ``family_declarations``: each family's declared number of missing children), pedigrees
(``family_pedigrees``), match runs (``match_runs``, ``matches``, ``match_run_inputs``) and
catalogues and undo (``labs``, ``kits``, ``store_secrets``, ``batch_retractions``,
``sample_erasures``, :mod:`kinship.store.catalogue` and :mod:`kinship.store.batches`) and the
cache of families' power (``family_power``, :mod:`kinship.store.power`) and the workbench's
users, sessions, decisions and audited reads (``users``, ``workbench_sessions``, ``decisions``,
``evidence_reads``, :mod:`kinship.store.workbench`);
the methods that read and write each group are :mod:`kinship.store.profiles`,
:mod:`kinship.store.pedigrees` and :mod:`kinship.store.match_runs`.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import sqlalchemy as sa

__all__ = [
    "STORE_SCHEMA_VERSION",
    "UTCDateTime",
    "metadata",
    "store_meta",
    "ingested_files",
    "samples",
    "family_members",
    "families",
    "family_declarations",
    "genotypes",
    "profile_keys",
    "quarantine",
    "warnings_table",
    "match_runs",
    "matches",
    "match_run_inputs",
    "family_pedigrees",
    "labs",
    "kits",
    "store_secrets",
    "batch_retractions",
    "sample_erasures",
    "family_power",
    "users",
    "workbench_sessions",
    "decisions",
    "evidence_reads",
]

#: Version of the table layout (``schemas/store.v9.json``).
STORE_SCHEMA_VERSION = 9


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC; naive datetimes are taken as UTC, results are UTC-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


_ID = sa.String(64)
_F64 = sa.Float(precision=53)

metadata = sa.MetaData()

store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

ingested_files = sa.Table(
    "ingested_files",
    metadata,
    sa.Column("file_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("export_sha256", sa.String(64), nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("export_name", sa.Text, nullable=False),
    sa.Column("manifest_name", sa.Text, nullable=False),
    sa.Column("fmt", sa.String(32), nullable=False),
    sa.Column("lab", _ID, nullable=False),
    sa.Column("kit", sa.String(64), nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("n_landed", sa.Integer, nullable=False),
    sa.Column("n_untyped", sa.Integer, nullable=False),
    sa.Column("n_quarantined", sa.Integer, nullable=False),
    sa.Column("n_warnings", sa.Integer, nullable=False),
    sa.Column("n_samples_landed", sa.Integer, nullable=False),
    sa.Column("n_genotypes_added", sa.Integer, nullable=False),
    sa.Column("code_version", sa.String(32), nullable=False),
    sa.Column("n_flagged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_records_skipped", sa.Integer, nullable=False, server_default="0"),
)

samples = sa.Table(
    "samples",
    metadata,
    sa.Column("sample_id", _ID, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("sex", sa.String(16), nullable=False),
    sa.Column("lab", _ID, nullable=False),
    sa.Column("kit", sa.String(64), nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
)

family_members = sa.Table(
    "family_members",
    metadata,
    sa.Column("lab", _ID, primary_key=True),
    sa.Column("family_id", _ID, primary_key=True),
    sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
    sa.Column("relationship", sa.String(32), nullable=False),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
)

#: One row per family (with members or a pedigree): its declared number of missing children and
#: the batch that set it (null: filled by migration 0007 for a pedigree-only family). Migration 0007.
families = sa.Table(
    "families",
    metadata,
    sa.Column("lab", _ID, primary_key=True),
    sa.Column("family_id", _ID, primary_key=True),
    sa.Column("n_missing", sa.Integer, nullable=False, server_default="1"),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=True),
)

#: Every value of ``n_missing`` a batch's manifest gave a family (the history ``families`` is
#: recomputed from when a batch is retracted: the latest remaining declaration, else 1). Migration 0007.
family_declarations = sa.Table(
    "family_declarations",
    metadata,
    sa.Column("lab", _ID, primary_key=True),
    sa.Column("family_id", _ID, primary_key=True),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), primary_key=True),
    sa.Column("n_missing", sa.Integer, nullable=False),
)

genotypes = sa.Table(
    "genotypes",
    metadata,
    sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
    sa.Column("locus", sa.String(32), primary_key=True),
    sa.Column("allele_1", sa.String(16), nullable=False),
    sa.Column("allele_2", sa.String(16), nullable=False),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
    sqlite_with_rowid=False,  # clustered on (sample_id, locus): each row stored once (migration 0006)
)

#: Duplicate-screen keys (:mod:`kinship.genetics.profile_keys`; migration 0004).
profile_keys = sa.Table(
    "profile_keys",
    metadata,
    sa.Column("sample_id", _ID, sa.ForeignKey("samples.sample_id"), primary_key=True),
    sa.Column("block", sa.String(16), primary_key=True),
    sa.Column("key", sa.BigInteger, nullable=False),
    sa.Index("ix_profile_keys_key", "key"),
    sqlite_with_rowid=False,
)

def _record_columns() -> list[sa.Column]:
    """The columns ``quarantine`` and ``warnings`` share (fresh objects: a column belongs to one table)."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),  # export | manifest
        sa.Column("kind", sa.String(32), nullable=False),  # rule that decided (see kinship.app.ingest)
        sa.Column("line", sa.Integer, nullable=True),
        sa.Column("sample_id", sa.Text, nullable=False),  # as written in the file: may be any length
        sa.Column("locus", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
    ]


quarantine = sa.Table(
    "quarantine",
    metadata,
    *_record_columns(),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("fix", sa.Text, nullable=False),
)

warnings_table = sa.Table(
    "warnings",
    metadata,
    *_record_columns(),
    sa.Column("message", sa.Text, nullable=False),
)

match_runs = sa.Table(
    "match_runs",
    metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
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

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("run_id", sa.String(128), sa.ForeignKey("match_runs.run_id"), primary_key=True),
    sa.Column("lab", _ID, primary_key=True),
    sa.Column("family_id", _ID, primary_key=True),
    sa.Column("candidate_id", _ID, primary_key=True),
    sa.Column("family_kind", sa.String(32), nullable=True),
    sa.Column("log10_lr", _F64, nullable=False),
    sa.Column("n_loci_compared", sa.Integer, nullable=False),
    sa.Column("n_inconsistent", sa.Integer, nullable=False),
    sa.Column("rank_for_candidate", sa.Integer, nullable=True),  # null: not in the candidate's top k
    sa.Column("rank_for_family", sa.Integer, nullable=True),  # null: not in the family's top k
    sa.Column("posterior", _F64, nullable=True),
    sa.Column("conclusion", sa.String(32), nullable=False),
    sa.Column("flag", sa.Boolean, nullable=False),
    # schemas/matches.v3.json (migration 0007): null where a run of older code wrote the pair
    sa.Column("log10_lr_y", _F64, nullable=True),
    sa.Column("n_y_loci_compared", sa.Integer, nullable=True),
    sa.Column("n_y_mismatches", sa.Integer, nullable=True),
    sa.Column("y_steps", sa.Integer, nullable=True),
    sa.Column("log10_lr_total", _F64, nullable=True),
    sa.Column("posterior_lower", _F64, nullable=True),
    sa.Column("family_posterior", _F64, nullable=True),
    sa.Column("family_posterior_lower", _F64, nullable=True),
    sa.Column("joint_posterior", _F64, nullable=True),
    sa.Column("joint_group", sa.Integer, nullable=True),
    sa.Column("joint_exact", sa.Boolean, nullable=True),
    sa.Column("conflict", sa.Boolean, nullable=True),
    sa.Column("log10_lr_unlinked", _F64, nullable=True),  # migration 0008
)

match_run_inputs = sa.Table(
    "match_run_inputs",
    metadata,
    sa.Column("run_id", sa.String(128), sa.ForeignKey("match_runs.run_id"), primary_key=True),
    sa.Column("entity", sa.String(16), primary_key=True),  # candidate | family
    sa.Column("lab", _ID, primary_key=True),  # "" for candidates
    sa.Column("entity_id", _ID, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
)

family_pedigrees = sa.Table(
    "family_pedigrees",
    metadata,
    sa.Column("lab", _ID, primary_key=True),
    sa.Column("family_id", _ID, primary_key=True),
    sa.Column("person_id", _ID, primary_key=True),
    sa.Column("father", _ID, nullable=False),  # "" for a founder
    sa.Column("mother", _ID, nullable=False),  # "" for a founder
    sa.Column("sex", sa.String(16), nullable=False),
    sa.Column("sample_id", _ID, nullable=True),  # null: an untyped member
    sa.Column("is_missing", sa.Boolean, nullable=False),
)

# -- catalogues, the store's secret, retractions and erasures (migration 0005) ----------------
#: Registered labs: the ASCII code stored everywhere else, the display name (may be Chinese).
labs = sa.Table(
    "labs",
    metadata,
    sa.Column("code", _ID, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("registered_at", UTCDateTime, nullable=False),
)

#: Kits registered by name and loci (the bundled strvalidator kits are not rows: they ship with the code).
kits = sa.Table(
    "kits",
    metadata,
    sa.Column("kit", sa.String(64), primary_key=True),
    sa.Column("loci", sa.Text, nullable=False),  # canonical locus names joined by ","
    sa.Column("registered_at", UTCDateTime, nullable=False),
)

#: Per-store secrets (the salt of the id pseudonyms); never exported, never logged.
store_secrets = sa.Table(
    "store_secrets",
    metadata,
    sa.Column("secret", sa.String(32), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),
)

#: One row per retracted batch: who, when, why, and what left the store.
batch_retractions = sa.Table(
    "batch_retractions",
    metadata,
    sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), primary_key=True),
    sa.Column("retracted_at", UTCDateTime, nullable=False),
    sa.Column("operator", _ID, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("n_genotypes_removed", sa.Integer, nullable=False),
    sa.Column("n_samples_removed", sa.Integer, nullable=False),
)

#: The audit of an erasure on withdrawn consent: the sample id, time, operator and reason only.
sample_erasures = sa.Table(
    "sample_erasures",
    metadata,
    sa.Column("sample_id", _ID, primary_key=True),
    sa.Column("erased_at", UTCDateTime, nullable=False),
    sa.Column("operator", _ID, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

#: Cached power of a family and its next-relative ranking (:class:`kinship.app.power.FamilyPower`
#: as JSON), keyed by the family's content hash and the parameters' hash. Migration 0008.
family_power = sa.Table(
    "family_power",
    metadata,
    sa.Column("lab", _ID, primary_key=True),
    sa.Column("family_id", _ID, primary_key=True),
    sa.Column("content_hash", sa.String(64), primary_key=True),
    sa.Column("parameters_hash", sa.String(64), primary_key=True),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("code_version", _ID, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# -- the workbench: users, sessions, decisions and the audit of reads (migration 0009) --------
#: Workbench users: a pseudonymous login name, a role, the argon2 hash of the password (never the
#: password), the chosen language, the lab of lab staff, and the failed-login lockout state.
users = sa.Table(
    "users",
    metadata,
    sa.Column("login", _ID, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # lab_staff | case_manager | supervisor | auditor
    sa.Column("lab", _ID, nullable=True),  # the lab of lab staff; null for other roles
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("locale", sa.String(16), nullable=False, server_default="en"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", _ID, nullable=False),
)

#: Signed-in sessions: the SHA-256 of the session token (the cookie holds the token, signed), its
#: user, CSRF token, and times; a session idle past the expiry is refused and deleted.
workbench_sessions = sa.Table(
    "workbench_sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("login", _ID, sa.ForeignKey("users.login"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
)

#: The append-only audit of decisions on pairs, keyed by (lab, family, candidate): never updated
#: or deleted (a retracted batch's decision stays, read as retracted); the latest row per pair is
#: the pair's state. ``evidence`` is the fingerprint of what the run compared (the pair's profile
#: hashes and loci compared) when the decision was taken.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("lab", _ID, nullable=False),
    sa.Column("family_id", _ID, nullable=False),
    sa.Column("candidate_id", _ID, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # propose_confirm | confirm | reject | retest | reopen
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("retest", sa.Text, nullable=False, server_default=""),  # loci or relatives to type
    sa.Column("run_id", sa.String(128), nullable=False),
    sa.Column("evidence", sa.String(64), nullable=False),
    sa.Column("decided_by", _ID, sa.ForeignKey("users.login"), nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=False),
    sa.Index("ix_decisions_pair", "lab", "family_id", "candidate_id"),
)

#: Who read which evidence page (or printed which case report) when: the reads are audited too.
evidence_reads = sa.Table(
    "evidence_reads",
    metadata,
    sa.Column("read_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("login", _ID, nullable=False),
    sa.Column("page", sa.String(32), nullable=False),  # evidence | case_report | pick_list
    sa.Column("lab", _ID, nullable=False),
    sa.Column("family_id", _ID, nullable=False),
    sa.Column("candidate_id", _ID, nullable=False),
    sa.Column("read_at", UTCDateTime, nullable=False),
)
