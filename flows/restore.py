"""Restore the store from a backup written by ``scripts/flow backup`` (stop every flow first).
Command line::

    scripts/flow restore --from FILE [--store PATH_OR_URL] [--replace]

An encrypted backup needs ``REUNITE_BACKUP_KEY`` set to the key it was made with.
"""

from __future__ import annotations

import argparse

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.settings import backup_key, store_location
from kinship.store.backup import restore_store


@task(cache_policy=NO_CACHE)  # never retried: a restore that failed is looked at, not repeated
def restore_from(source: str, store: str, replace: bool) -> dict:
    return restore_store(source, store, key=backup_key(), replace=replace)


@flow(name="restore", log_prints=True)
def restore(source: str, store: str | None = None, replace: bool = False) -> dict:
    """Restore the backup file ``source`` into the store, all or nothing; an existing SQLite
    store is replaced only with ``replace``. Returns {"backend", "path" or "schema", "encrypted"}."""
    return restore_from(source, store_location(store), replace)


def main(argv: list[str] | None = None) -> str:
    """The argparse front end of ``reunite restore`` (kept for callers in Python): the line it prints."""
    parser = argparse.ArgumentParser(prog="scripts/flow restore", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--from", dest="source", required=True, help="backup file")
    parser.add_argument("--store", help="SQLite path or SQLAlchemy URL (default $REUNITE_STORE, else var/reunite.sqlite)")
    parser.add_argument("--replace", action="store_true", help="replace an existing SQLite store")
    args = parser.parse_args(argv)
    return restore_text(args.source, restore(args.source, args.store, args.replace))


def restore_text(source: str, info: dict) -> str:
    """The line a restore prints: from where, and what a backup without the pseudonym secret means."""
    secret = ("" if info.get("has_secret", True) else
              "; the backup held no pseudonym secret (a plain backup): a new one is made on first use, so pseudonyms "
              "(h:...) made after the restore differ from earlier ones")
    return (f"store restored from {source} ({info['backend']}){secret}; next: re-ingest later batches, "
            "then scripts/flow match --full\n")


if __name__ == "__main__":
    # `python -m flows.restore` is `reunite restore` (flows/cli.py): one command line, one output
    import sys

    from flows.cli import main as reunite

    reunite(["restore", *sys.argv[1:]])
