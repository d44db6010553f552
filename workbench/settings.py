"""The workbench's configuration, read once from the environment.

``REUNITE_STORE`` (store path or SQLAlchemy URL; default ``var/reunite.sqlite``),
``REUNITE_WORKBENCH_HOST`` (default ``127.0.0.1``: reachable from this machine only; put a TLS
reverse proxy in front to serve others), ``REUNITE_WORKBENCH_PORT`` (8000),
``REUNITE_WORKBENCH_SECURE_COOKIES`` (``true`` behind TLS: cookies get ``Secure``),
``REUNITE_WORKBENCH_IDLE_HOURS`` (session expiry after this much inactivity, default 8),
``REUNITE_WORKBENCH_UPLOADS`` (folder of uploaded batches, default ``var/uploads``),
``REUNITE_WORKBENCH_DEPLOYMENT`` (a Prefect deployment of the ingest flow, ``ingest/NAME``,
used when ``PREFECT_API_URL`` is set; otherwise an upload is ingested by a background thread).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "MAX_FAILED_LOGINS", "LOCKOUT_MINUTES"]

#: Failed sign-ins in a row that lock an account, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT_MINUTES = 15


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Where the store is, how to bind, and the session and cookie policy."""

    store: str = field(default_factory=lambda: os.environ.get("REUNITE_STORE") or "var/reunite.sqlite")
    host: str = field(default_factory=lambda: os.environ.get("REUNITE_WORKBENCH_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("REUNITE_WORKBENCH_PORT", "8000")))
    secure_cookies: bool = field(default_factory=lambda: _flag("REUNITE_WORKBENCH_SECURE_COOKIES"))
    idle_hours: float = field(default_factory=lambda: float(os.environ.get("REUNITE_WORKBENCH_IDLE_HOURS", "8")))
    uploads: Path = field(default_factory=lambda: Path(os.environ.get("REUNITE_WORKBENCH_UPLOADS", "var/uploads")))
    deployment: str | None = field(default_factory=lambda: os.environ.get("REUNITE_WORKBENCH_DEPLOYMENT") or None)
    page_size: int = 25
