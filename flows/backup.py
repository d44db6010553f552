"""Back up the store to one file (SQLite online backup, or pg_dump), encrypted when
``REUNITE_BACKUP_KEY`` is set; a plain (unencrypted) backup leaves out the store's pseudonym
secret (a store restored from it makes new, different pseudonyms). Command line::

    scripts/flow backup --to FILE [--store PATH_OR_URL]
    scripts/flow backup --new-key      # print a new key for REUNITE_BACKUP_KEY
"""

from __future__ import annotations

import argparse

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.retries import IO_RETRIES
from flows.settings import backup_key, store_location
from kinship.store.backup import backup_store, new_backup_key


@task(**IO_RETRIES, cache_policy=NO_CACHE)
def back_up(store: str, to: str) -> dict:
    return backup_store(store, to, key=backup_key())


@flow(name="backup", log_prints=True)
def backup(to: str, store: str | None = None) -> dict:
    """Write a consistent backup of the store to the file ``to`` (0600; replaced if it exists),
    encrypted with ``$REUNITE_BACKUP_KEY`` when it is set (see kinship.store.backup); returns
    {"backend", "path", "encrypted", "n_bytes"}."""
    return back_up(store_location(store), to)


def main(argv: list[str] | None = None) -> str:
    """The argparse front end of ``reunite backup`` (kept for callers in Python): the line it prints."""
    parser = argparse.ArgumentParser(prog="scripts/flow backup", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--to", help="backup file to write")
    parser.add_argument("--store", help="SQLite path or SQLAlchemy URL (default $REUNITE_STORE, else var/reunite.sqlite)")
    parser.add_argument("--new-key", action="store_true", help="print a new backup key and exit")
    args = parser.parse_args(argv)
    if args.new_key:
        return new_backup_key() + "\n"
    if not args.to:
        parser.error("--to FILE is required")
    return backup_text(backup(args.to, args.store))


def backup_text(info: dict) -> str:
    """The line a backup prints: where, how big, encrypted or not (and what a plain one lacks)."""
    state = ("encrypted" if info["encrypted"] else
             "NOT encrypted (set REUNITE_BACKUP_KEY to encrypt); the pseudonym secret is left out: a store restored "
             "from it makes new pseudonyms that differ from earlier ones")
    return f"backup of the {info['backend']} store written to {info['path']} ({info['n_bytes']} bytes, {state})\n"


if __name__ == "__main__":
    # `python -m flows.backup` is `reunite backup` (flows/cli.py): one command line, one output
    import sys

    from flows.cli import main as reunite

    reunite(["backup", *sys.argv[1:]])
