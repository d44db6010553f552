"""Alembic environment of the Reunite store.

Used two ways: programmatically by :class:`kinship.store.Store` (which passes its open
connection in ``config.attributes["connection"]``, inside its own write transaction), and from
the command line with the repository's ``alembic.ini`` (the database is ``-x store=URL_OR_PATH``
or the ``REUNITE_STORE`` environment variable, else ``var/reunite.sqlite``).
"""

from __future__ import annotations

import os

from alembic import context

from kinship.store import metadata

target_metadata = metadata
try:
    config = context.config
except AttributeError:  # imported outside an Alembic command (e.g. by pytest's doctest collection)
    config = None


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection") if config is not None else None
if config is None:
    pass
elif connection is not None:
    _run(connection)
elif context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: open the store with kinship.store.Store")
else:
    import sqlalchemy as sa

    target = context.get_x_argument(as_dictionary=True).get("store") or os.environ.get(
        "REUNITE_STORE", "var/reunite.sqlite"
    )
    url = target if "://" in target else f"sqlite:///{os.path.abspath(target)}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
