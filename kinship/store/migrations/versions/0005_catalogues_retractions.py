"""Store layout version 5: lab and kit catalogues, the pseudonym secret, retractions and erasures.

Revision ID: 0005
Revises: 0004
Create Date: 2026-03-16

- ``labs`` (``code`` ASCII id, display ``name`` in any script) and ``kits`` (registered kits:
  ``name``, canonical ``loci`` joined by ``","``; the bundled kits are not rows): ingestion
  accepts only registered labs and catalogue kits (:mod:`kinship.store.catalogue`).
- ``store_secrets``: the random 256-bit salt of the id pseudonyms (``h:`` + 16 hex of
  HMAC-SHA256), created here, so every store has its own.
- ``batch_retractions`` and ``sample_erasures`` (:mod:`kinship.store.batches`).
- Existing data: every lab code found in ``ingested_files``, ``samples``, ``family_members``,
  ``family_pedigrees`` and ``matches`` is registered (display name = the code). A lab value that
  is not an ASCII code (a ``--lab`` typed as a name) is replaced everywhere by its pseudonym and
  that is registered. Kit values that are not bundled kits are registered with the loci their
  samples were typed at, if they are kit-name shaped, else set to null (unknown kit). In
  ``quarantine`` and ``warnings``, a sample id that fails the id pattern is replaced by its
  pseudonym (in ``sample_id``, ``value`` and quoted in the reason, fix or message).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from kinship.store.catalogue import KIT_NAME_PATTERN, is_pseudonymous_id

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.String(64)
_TS = sa.DateTime(timezone=True)
_LAB_TABLES = ("ingested_files", "samples", "family_members", "family_pedigrees", "matches")


def upgrade() -> None:
    op.create_table(
        "labs",
        sa.Column("code", _ID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("registered_at", _TS, nullable=False),
    )
    op.create_table(
        "kits",
        sa.Column("kit", sa.String(64), primary_key=True),
        sa.Column("loci", sa.Text, nullable=False),
        sa.Column("registered_at", _TS, nullable=False),
    )
    op.create_table(
        "store_secrets",
        sa.Column("secret", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    op.create_table(
        "batch_retractions",
        sa.Column("file_id", sa.Integer, sa.ForeignKey("ingested_files.file_id"), primary_key=True),
        sa.Column("retracted_at", _TS, nullable=False),
        sa.Column("operator", _ID, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("n_genotypes_removed", sa.Integer, nullable=False),
        sa.Column("n_samples_removed", sa.Integer, nullable=False),
    )
    op.create_table(
        "sample_erasures",
        sa.Column("sample_id", _ID, primary_key=True),
        sa.Column("erased_at", _TS, nullable=False),
        sa.Column("operator", _ID, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    conn = op.get_bind()
    key = secrets.token_bytes(32)
    conn.execute(sa.text("insert into store_secrets (secret, value) values ('id_pseudonym_salt', :v)"), {"v": key.hex()})
    now = datetime.now(timezone.utc)
    if conn.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    _labs(conn, key, now)
    _kits(conn, now)
    _records(conn, key)
    op.execute(sa.text("update store_meta set value = '5' where key = 'schema_version'"))


def _pseudonym(key: bytes, text: str) -> str:
    import hashlib
    import hmac

    return "h:" + hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]


def _labs(conn, key: bytes, now) -> None:
    found: set[str] = set()
    for table in _LAB_TABLES:
        found |= {v for v in conn.execute(sa.text(f"select distinct lab from {table}")).scalars() if v is not None}
    codes = set()
    for lab in sorted(found):
        if is_pseudonymous_id(lab):
            codes.add(lab)
            continue
        code = _pseudonym(key, lab)
        for table in _LAB_TABLES:
            conn.execute(sa.text(f"update {table} set lab = :code where lab = :lab"), {"code": code, "lab": lab})
        codes.add(code)
    for code in sorted(codes):
        conn.execute(sa.text("insert into labs (code, name, registered_at) values (:c, :n, :t)"),
                     {"c": code, "n": code, "t": now})


def _kits(conn, now) -> None:
    from kinship.genetics.ladders import bundled_kits

    bundled = {k.casefold() for k in bundled_kits()}
    found: set[str] = set()
    for table in ("ingested_files", "samples"):
        found |= {v for v in conn.execute(sa.text(f"select distinct kit from {table}")).scalars() if v}
    for kit in sorted(found):
        if kit.casefold() in bundled:
            continue
        if not KIT_NAME_PATTERN.match(kit):
            for table in ("ingested_files", "samples"):
                conn.execute(sa.text(f"update {table} set kit = null where kit = :k"), {"k": kit})
            continue
        loci = list(conn.execute(sa.text(
            "select distinct g.locus from genotypes g join samples s on s.sample_id = g.sample_id "
            "where s.kit = :k order by g.locus"), {"k": kit}).scalars())
        conn.execute(sa.text("insert into kits (kit, loci, registered_at) values (:n, :l, :t)"),
                     {"n": kit, "l": ",".join(loci), "t": now})


def _records(conn, key: bytes) -> None:
    for table, text_columns in (("quarantine", ("reason", "fix")), ("warnings", ("message",))):
        cols = ", ".join(("id", "sample_id", "value", *text_columns))
        rows = [r for r in conn.execute(sa.text(f"select {cols} from {table}")).mappings()
                if r["sample_id"] and not is_pseudonymous_id(r["sample_id"])]
        for r in rows:
            raw, token = r["sample_id"], _pseudonym(key, r["sample_id"])
            values = {"id": r["id"], "sample_id": token, "value": token if r["value"] == raw else r["value"]}
            for column in text_columns:
                text = (r[column] or "").replace(repr(raw), repr(token))
                values[column] = text.replace(raw, token) if len(raw) >= 4 or not raw.isascii() else text
            sets = ", ".join(f"{c} = :{c}" for c in values if c != "id")
            conn.execute(sa.text(f"update {table} set {sets} where id = :id"), values)


def downgrade() -> None:
    op.execute(sa.text("update store_meta set value = '4' where key = 'schema_version'"))
    for table in ("sample_erasures", "batch_retractions", "store_secrets", "kits", "labs"):
        op.drop_table(table)
