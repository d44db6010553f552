"""Store back-ends for the ingestion and store tests: SQLite and PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (database ``test``, trust auth; or
``REUNITE_TEST_PG_URL``). Each test gets a fresh schema, dropped afterwards. Without a server
the PostgreSQL variants skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from kinship.store import Store
from tests.labs import register_test_labs

PG_URLS = [
    os.environ.get("REUNITE_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"),
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A PostgreSQL URL that answers, or skip (fail under CI=true)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if _in_ci():
            pytest.fail("CI=true but the psycopg driver is not installed")
        pytest.skip(reason="psycopg (v3) driver not installed")
    errors = []
    for url in PG_URLS:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as c:
                c.execute(sa.text("select 1"))
            return url
        except sa.exc.OperationalError as exc:
            errors.append(f"{url}: {exc.orig}")
        finally:
            engine.dispose()
    message = "no PostgreSQL server answered: " + "; ".join(errors)
    if _in_ci():
        pytest.fail(message)
    pytest.skip(reason=message)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path):
    """``(url_or_path, schema)`` of a fresh, empty store on each back-end."""
    if request.param == "sqlite":
        yield str(tmp_path / "store" / "reunite.db"), None
        return
    url = request.getfixturevalue("pg_url")
    schema = f"reunite_test_{uuid.uuid4().hex[:12]}"
    yield url, schema
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
    engine.dispose()


@pytest.fixture
def store(backend):
    """A fresh store on each back-end (SQLite file, PostgreSQL schema), the test labs registered."""
    target, schema = backend
    s = Store(target, schema=schema)
    register_test_labs(s)
    yield s
    s.close()
