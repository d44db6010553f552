"""Defaults shared by the flows: where the store and the outputs live.

``REUNITE_STORE`` (a SQLite path or a SQLAlchemy URL) and ``REUNITE_OUT`` (a folder) override
the embedded defaults ``var/reunite.sqlite`` and ``out/`` under the current directory;
``REUNITE_TABLE_CACHE`` (a folder, or ``off``) and ``REUNITE_TABLE_CACHE_MAX_GB`` place and cap
the compiled-table cache of the match and search flows (:func:`table_cache_location`);
``REUNITE_WORKBENCH_URL`` (the web workbench's address) makes the match flow publish a link to
the workbench's review queue. Names derived from a store (run names, artifact keys) are here too.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path, PurePath

from kinship.errors import ReuniteInputError

DEFAULT_STORE = "var/reunite.sqlite"
DEFAULT_OUT = "out"


def store_location(store: str | None) -> str:
    return store or os.environ.get("REUNITE_STORE") or DEFAULT_STORE


def out_location(out_dir: str | None) -> str:
    return out_dir or os.environ.get("REUNITE_OUT") or DEFAULT_OUT


#: Values of ``REUNITE_TABLE_CACHE`` that turn the compiled-table cache off.
TABLE_CACHE_OFF = ("off", "none", "no", "false", "0")


def table_cache_location(store: str) -> str | None:
    """Folder of the compiled-table cache (:class:`kinship.app.table_cache.TableCache`) of a
    store, or ``None`` (no cache): ``$REUNITE_TABLE_CACHE`` when set (``off``: none), else,
    for a SQLite path, a folder beside the store named after it (``var/reunite.sqlite`` ->
    ``var/reunite.tables``), and none for a URL (a PostgreSQL store's runs may run on hosts
    without a shared disk: set the variable to a folder they share).

    >>> import os
    >>> os.environ.pop("REUNITE_TABLE_CACHE", None)
    >>> table_cache_location("var/demo.sqlite"), table_cache_location("postgresql+psycopg://db.lab/reunite") is None
    ('var/demo.tables', True)
    >>> os.environ["REUNITE_TABLE_CACHE"] = "off"; table_cache_location("var/demo.sqlite") is None
    True
    >>> del os.environ["REUNITE_TABLE_CACHE"]
    """
    chosen = os.environ.get("REUNITE_TABLE_CACHE", "").strip()
    if chosen:
        return None if chosen.lower() in TABLE_CACHE_OFF else chosen
    if "://" in store:
        return None
    return str(PurePath(store).with_suffix(".tables"))


def table_cache_max_bytes() -> int | None:
    """The cache's size cap, ``$REUNITE_TABLE_CACHE_MAX_GB`` (GB, 10^9 bytes), or ``None``: no cap
    (the cache holds the latest run's tables)."""
    chosen = os.environ.get("REUNITE_TABLE_CACHE_MAX_GB", "").strip()
    if not chosen:
        return None
    try:
        gb = float(chosen)
    except ValueError:
        gb = float("nan")
    if not gb > 0 or gb == float("inf"):
        raise ReuniteInputError(
            f"REUNITE_TABLE_CACHE_MAX_GB={chosen!r}; expected a size in GB above 0 (e.g. 50); fix: set it "
            "to the disk the cache may use, or unset it for no cap")
    return int(gb * 1e9)


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


#: Prefect artifact keys: lowercase letters, digits and dashes only.
_KEY_UNSAFE = re.compile(r"[^a-z0-9]+")


def store_name(store: str) -> str:
    """A store's short name for run names and artifact keys: the file's stem for a SQLite path
    (``var/demo.sqlite`` -> ``demo``), the database name for a URL (never its user or password).

    >>> store_name("var/demo.sqlite"), store_name("postgresql+psycopg://reunite:pw@db.lab/reunite_prod")
    ('demo', 'reunite_prod')
    """
    if "://" in store:
        path = store.split("://", 1)[1].partition("/")[2]
        return path.split("?", 1)[0].rsplit("/", 1)[-1] or "store"
    return PurePath(store).stem or "store"


def artifact_namespace(store: str) -> str:
    """The part of a flow's artifact keys that tells its store apart: the store's short name,
    sanitised, and 6 hex digits of a hash of where it is (its absolute path, or its URL without
    the password), so that the demo store's and production's artifacts never share a key.

    >>> import re
    >>> ns = artifact_namespace("var/demo.sqlite")
    >>> bool(re.fullmatch(r"demo-[0-9a-f]{6}", ns)), ns == artifact_namespace("var/other.sqlite")
    (True, False)
    """
    where = store_label(store) if "://" in store else str(Path(store).resolve())
    slug = _KEY_UNSAFE.sub("-", store_name(store).lower()).strip("-")[:40] or "store"
    return f"{slug}-{hashlib.sha256(where.encode()).hexdigest()[:6]}"


def workbench_queue_url() -> str | None:
    """The workbench's review queue, ``$REUNITE_WORKBENCH_URL/queue`` (it shows the store's latest
    finished match run, so the run just finished), or ``None`` when ``REUNITE_WORKBENCH_URL`` is
    not set (no link is published then).

    >>> import os
    >>> os.environ["REUNITE_WORKBENCH_URL"] = "https://reunite.lab.example/"
    >>> workbench_queue_url()
    'https://reunite.lab.example/queue'
    >>> del os.environ["REUNITE_WORKBENCH_URL"]; workbench_queue_url() is None
    True
    """
    base = os.environ.get("REUNITE_WORKBENCH_URL", "").strip()
    return f"{base.rstrip('/')}/queue" if base else None
