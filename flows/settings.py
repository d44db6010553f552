"""Defaults shared by the flows: where the store and the outputs live.

``REUNITE_STORE`` (a SQLite path or a SQLAlchemy URL) and ``REUNITE_OUT`` (a folder) override
the embedded defaults ``var/reunite.sqlite`` and ``out/`` under the current directory.
"""

from __future__ import annotations

import os

DEFAULT_STORE = "var/reunite.sqlite"
DEFAULT_OUT = "out"


def store_location(store: str | None) -> str:
    return store or os.environ.get("REUNITE_STORE") or DEFAULT_STORE


def out_location(out_dir: str | None) -> str:
    return out_dir or os.environ.get("REUNITE_OUT") or DEFAULT_OUT


def store_label(store: str) -> str:
    """The store for messages: a path as given, a URL without its password."""
    if "://" not in store:
        return store
    scheme, rest = store.split("://", 1)
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = user.split(":", 1)[0] + "@" + host
    return f"{scheme}://{netloc}{slash}{path}"


def backup_key() -> str | None:
    """The backup encryption key, ``$REUNITE_BACKUP_KEY`` (a Fernet key), or ``None``: plain backups.

    Read inside the backup and restore tasks, never passed as a flow parameter, so that it is
    not recorded in Prefect's database.
    """
    return os.environ.get("REUNITE_BACKUP_KEY") or None
