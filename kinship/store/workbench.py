"""The workbench's tables (migration 0009): :class:`WorkbenchTables`, part of :class:`kinship.store.Store`.

``users`` (logins, roles, argon2 hashes, lockout), ``workbench_sessions`` (the hash of each
signed-in session's token, its CSRF token, last seen), ``decisions`` (append-only: rows are
inserted, never updated or deleted) and ``evidence_reads`` (who read which pair's evidence).
No password and no session token is stored in clear; no genotype is held here.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import sqlalchemy as sa

from kinship.errors import StoreError
from kinship.store.engine import StoreBase
from kinship.store.tables import decisions, evidence_reads, users, workbench_sessions

__all__ = ["ROLES", "DECISION_ACTIONS", "WorkbenchTables"]

#: The workbench's roles (``users.role``).
ROLES = ("lab_staff", "case_manager", "supervisor", "auditor")
#: The actions of a decision row (``decisions.action``).
DECISION_ACTIONS = ("propose_confirm", "confirm", "reject", "retest", "reopen")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class WorkbenchTables(StoreBase):
    """Users, sessions, the decisions audit and the audit of reads of :class:`kinship.store.Store`.

    Examples
    --------
    >>> from kinship.store import Store
    >>> with Store("sqlite://") as s:
    ...     s.create_user("sup1", role="supervisor", password_hash="$argon2id$x", created_by="cli")
    ...     s.user("sup1")["role"]
    'supervisor'
    """

    # -- users ---------------------------------------------------------------------------------
    def create_user(self, login: str, *, role: str, password_hash: str, created_by: str,
                    lab: str | None = None, locale: str = "en") -> None:
        """Add a user.

        Raises
        ------
        StoreError
            The role is not one of :data:`ROLES`, lab staff without a lab, or the login exists.
        """
        if role not in ROLES:
            raise StoreError(f"user {login!r}: role {role!r} is not one of {', '.join(ROLES)}; fix: pick one of them")
        if role == "lab_staff" and not lab:
            raise StoreError(f"user {login!r}: lab staff need a lab; fix: give the lab code (scripts/flow labs list)")
        try:
            with self.write_transaction() as c:
                c.execute(users.insert().values(
                    login=login, role=role, lab=lab if role == "lab_staff" else None, password_hash=password_hash,
                    locale=locale, active=True, failed_logins=0, locked_until=None, created_at=_now(),
                    created_by=created_by))
        except sa.exc.IntegrityError:
            raise StoreError(f"user {login!r} already exists in store {self.describe()}; fix: choose another login") from None

    def user(self, login: str) -> dict | None:
        """The user's row as a dict, or None."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(users).where(users.c.login == login)).mappings().first()
        return dict(row) if row else None

    def list_users(self) -> pd.DataFrame:
        """Every user (no password hashes), by login."""
        cols = [c for c in users.c if c.name != "password_hash"]
        with self.engine.connect() as c:
            rows = c.execute(sa.select(*cols).order_by(users.c.login)).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in cols])

    def update_user(self, login: str, **fields) -> None:
        """Set ``fields`` (columns of ``users`` other than ``login``) of a user.

        Raises
        ------
        StoreError
            The user does not exist or a field is unknown.
        """
        unknown = set(fields) - {c.name for c in users.c} | ({"login"} & set(fields))
        if unknown:
            raise StoreError(f"user {login!r}: unknown field(s) {sorted(unknown)}")
        with self.write_transaction() as c:
            n = c.execute(users.update().where(users.c.login == login).values(**fields)).rowcount
        if n != 1:
            raise StoreError(f"user {login!r} does not exist in store {self.describe()}")

    # -- sessions ------------------------------------------------------------------------------
    def create_session(self, token_sha256: str, login: str, csrf_token: str) -> None:
        """Record a signed-in session by its token's hash."""
        now = _now()
        with self.write_transaction() as c:
            c.execute(workbench_sessions.insert().values(
                token_sha256=token_sha256, login=login, csrf_token=csrf_token, created_at=now, last_seen=now))

    def session(self, token_sha256: str) -> dict | None:
        """The session row of a token hash, or None."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(workbench_sessions).where(
                workbench_sessions.c.token_sha256 == token_sha256)).mappings().first()
        return dict(row) if row else None

    def touch_session(self, token_sha256: str) -> None:
        """Set the session's ``last_seen`` to now."""
        with self.write_transaction() as c:
            c.execute(workbench_sessions.update().where(workbench_sessions.c.token_sha256 == token_sha256)
                      .values(last_seen=_now()))

    def delete_sessions(self, *, token_sha256: str | None = None, login: str | None = None,
                        idle_before: datetime | None = None) -> int:
        """Delete one session, every session of a user, or every session idle since before a time."""
        q = workbench_sessions.delete()
        if token_sha256 is not None:
            q = q.where(workbench_sessions.c.token_sha256 == token_sha256)
        elif login is not None:
            q = q.where(workbench_sessions.c.login == login)
        elif idle_before is not None:
            q = q.where(workbench_sessions.c.last_seen < idle_before)
        else:
            raise StoreError("delete_sessions: give a token hash, a login or a time")
        with self.write_transaction() as c:
            return c.execute(q).rowcount

    # -- decisions (append-only) ---------------------------------------------------------------
    def record_decision(self, *, lab: str, family_id: str, candidate_id: str, action: str, reason: str,
                        run_id: str, evidence: str, decided_by: str, retest: str = "",
                        decided_at: datetime | None = None) -> int:
        """Append one decision row; returns its ``decision_id``.

        Raises
        ------
        StoreError
            The action is not one of :data:`DECISION_ACTIONS`.
        """
        if action not in DECISION_ACTIONS:
            raise StoreError(f"decision on {lab}/{family_id} x {candidate_id}: action {action!r} is not one of "
                             f"{', '.join(DECISION_ACTIONS)}")
        with self.write_transaction() as c:
            result = c.execute(decisions.insert().values(
                lab=lab, family_id=family_id, candidate_id=candidate_id, action=action, reason=reason,
                retest=retest, run_id=run_id, evidence=evidence, decided_by=decided_by,
                decided_at=decided_at or _now()))
            return int(result.inserted_primary_key[0])

    def list_decisions(self, *, lab: str | None = None, family_id: str | None = None,
                       candidate_id: str | None = None) -> pd.DataFrame:
        """Decision rows (of a pair, family or candidate when given), oldest first."""
        q = sa.select(decisions).order_by(decisions.c.decision_id)
        for col, value in (("lab", lab), ("family_id", family_id), ("candidate_id", candidate_id)):
            if value is not None:
                q = q.where(decisions.c[col] == value)
        with self.engine.connect() as c:
            rows = c.execute(q).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in decisions.c])

    # -- the audit of reads --------------------------------------------------------------------
    def record_read(self, *, login: str, page: str, lab: str, family_id: str, candidate_id: str) -> None:
        """Append who read which pair's page."""
        with self.write_transaction() as c:
            c.execute(evidence_reads.insert().values(login=login, page=page, lab=lab, family_id=family_id,
                                                     candidate_id=candidate_id, read_at=_now()))

    def list_reads(self) -> pd.DataFrame:
        """Every audited read, oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(evidence_reads).order_by(evidence_reads.c.read_id)).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in evidence_reads.c])
