"""Passwords, sessions, CSRF tokens, roles and the failed-login lockout.

* Passwords are hashed with argon2id (``argon2-cffi``'s :class:`~argon2.PasswordHasher`, its
  default parameters, RFC 9106); the store keeps only the hash.
* A session is a random 256-bit token; the cookie carries it signed (``itsdangerous``, key in
  the store's secrets), ``HttpOnly; SameSite=Strict`` (``Secure`` behind TLS); the store keeps its
  SHA-256 and the session's CSRF token. A session idle longer than the expiry is refused.
* Every form carries the session's CSRF token in a hidden field, checked on every POST (the
  login form, before there is a session, carries a signed token of its own).
* Five failed sign-ins in a row lock the account for 15 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, Signer, SignatureExpired, TimestampSigner

from kinship.store import Store
from kinship.store.tables import store_secrets
from kinship.store.workbench import ROLES
from workbench.settings import LOCKOUT_MINUTES, MAX_FAILED_LOGINS

__all__ = [
    "LOGIN_PATTERN", "PERMISSIONS", "hash_password", "check_login", "allowed", "signing_key",
    "new_session", "session_user", "sign", "unsign", "login_form_token", "check_login_form_token",
    "validate_password", "validate_login",
]

#: A login: pseudonymous ASCII, as the store's other ids.
LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
#: What each role may do.
PERMISSIONS = {
    "review": {"case_manager", "supervisor", "auditor"},  # queue, evidence, family, candidate pages
    "decide": {"case_manager", "supervisor"},  # propose a confirmation, reject, ask for a re-test
    "confirm": {"supervisor"},  # the second person of a confirmation
    "users": {"supervisor"},
    "upload": {"lab_staff", "supervisor"},
    "quarantine": {"lab_staff", "supervisor", "auditor", "case_manager"},
    "audit": {"supervisor", "auditor"},
    "any": set(ROLES),
}
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
_SECRET = "workbench_session_key"


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; the text to store)."""
    return _HASHER.hash(password)


def validate_login(login: str) -> str:
    """``login`` if it is a pseudonymous ASCII login, else ValueError naming the rule."""
    if not LOGIN_PATTERN.match(login or ""):
        raise ValueError("a login is 2-64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit")
    return login


def validate_password(password: str) -> str:
    """``password`` if it has at least 12 characters, else ValueError."""
    if len(password or "") < 12:
        raise ValueError("a password needs at least 12 characters")
    return password


def allowed(user: dict | None, permission: str) -> bool:
    """Whether ``user`` (a ``users`` row) has ``permission`` (a key of :data:`PERMISSIONS`)."""
    return bool(user) and user["role"] in PERMISSIONS[permission]


def check_login(store: Store, login: str, password: str, *, now: datetime | None = None) -> tuple[dict | None, str]:
    """Verify a sign-in; returns ``(user, "")`` or ``(None, why)`` with why one of ``"invalid"``,
    ``"locked"``. A wrong password counts towards the lockout; a success resets the count."""
    now = now or datetime.now(timezone.utc)
    user = store.user(login) if LOGIN_PATTERN.match(login or "") else None
    if user is None or not user["active"]:
        try:  # the same work as for a real user: the answer's timing does not tell who exists
            _HASHER.verify(_DUMMY_HASH, password or "")
        except VerificationError:
            pass
        return None, "invalid"
    if user["locked_until"] is not None and user["locked_until"] > now:
        return None, "locked"
    try:
        _HASHER.verify(user["password_hash"], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        failed = int(user["failed_logins"]) + 1
        if failed >= MAX_FAILED_LOGINS:
            store.update_user(login, failed_logins=0, locked_until=now + timedelta(minutes=LOCKOUT_MINUTES))
            return None, "locked"
        store.update_user(login, failed_logins=failed)
        return None, "invalid"
    fields = {"failed_logins": 0, "locked_until": None}
    if _HASHER.check_needs_rehash(user["password_hash"]):
        fields["password_hash"] = _HASHER.hash(password)
    store.update_user(login, **fields)
    return store.user(login), ""


def signing_key(store: Store) -> bytes:
    """The store's key for signing session cookies (created, 256 random bits, on first use)."""
    query = sa.select(store_secrets.c.value).where(store_secrets.c.secret == _SECRET)
    with store.engine.connect() as c:
        value = c.execute(query).scalar()
    if value is None:
        with store.write_transaction() as conn:
            value = conn.execute(query).scalar()
            if value is None:
                value = secrets.token_hex(32)
                conn.execute(store_secrets.insert().values(secret=_SECRET, value=value))
    return bytes.fromhex(value)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def sign(key: bytes, token: str) -> str:
    """The cookie value of a session token."""
    return Signer(key, salt="session").sign(token).decode("ascii")


def unsign(key: bytes, value: str) -> str | None:
    """The session token in a cookie value, or None when the signature is wrong."""
    try:
        return Signer(key, salt="session").unsign(value).decode("ascii")
    except (BadSignature, UnicodeError):
        return None


def new_session(store: Store, login: str) -> tuple[str, str]:
    """Start a session: ``(token, csrf_token)``; the store keeps the token's hash."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    store.create_session(_sha(token), login, csrf)
    return token, csrf


def session_user(store: Store, token: str, *, idle_hours: float,
                 now: datetime | None = None) -> tuple[dict | None, dict | None]:
    """``(user, session)`` of a live session token, or ``(None, None)``; an expired session is deleted."""
    now = now or datetime.now(timezone.utc)
    session = store.session(_sha(token))
    if session is None:
        return None, None
    if session["last_seen"] < now - timedelta(hours=idle_hours):
        store.delete_sessions(token_sha256=_sha(token))
        return None, None
    user = store.user(session["login"])
    if user is None or not user["active"]:
        return None, None
    if (now - session["last_seen"]).total_seconds() > 60:  # at most one write a minute per session
        store.touch_session(_sha(token))
    return user, session


def end_session(store: Store, token: str) -> None:
    """Sign out: delete the session."""
    store.delete_sessions(token_sha256=_sha(token))


def login_form_token(key: bytes) -> str:
    """A signed, time-stamped CSRF token for the login form (valid one hour)."""
    return TimestampSigner(key, salt="login-form").sign(secrets.token_urlsafe(16)).decode("ascii")


def check_login_form_token(key: bytes, token: str) -> bool:
    """Whether ``token`` is a login-form token of :func:`login_form_token`, younger than an hour."""
    try:
        TimestampSigner(key, salt="login-form").unsign(token or "", max_age=3600)
        return True
    except (BadSignature, SignatureExpired):
        return False


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


assert set(r for roles in PERMISSIONS.values() for r in roles) <= set(ROLES)
