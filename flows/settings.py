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
