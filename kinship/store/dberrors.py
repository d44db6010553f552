"""Database errors without data: what a store error may say in a log, and which errors are transient.

A database driver's error text carries the data of the row it refused: PostgreSQL adds
``DETAIL:  Key (sample_id, locus)=(C-0042, TH01) already exists.`` or ``Failing row contains
(C-0042, TH01, 9.3, 10)``, and SQLAlchemy appends the statement's parameters. Raised from a
Prefect task, that text reaches stderr and Prefect's database (once per retry). So every store
engine is created with ``hide_parameters=True`` and :func:`scrub_error` is its ``handle_error``
hook: before the error leaves SQLAlchemy, the driver's message and SQLAlchemy's are replaced by
one line naming the error class, the SQLSTATE, the table, the constraint and the column, never a
value. The exception keeps its type (``sqlalchemy.exc.IntegrityError`` stays one, so the store's
own handling of a unique-key race still works).

:func:`is_transient` tells the flows which failures are worth a retry: a locked or busy database,
a lost connection, a lock or statement timeout (``sqlalchemy.exc.OperationalError``), a timeout
or connection error of the operating system. Bad input, integrity and data errors, a corrupt
store and programming errors are not retried: the same call would fail the same way.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

__all__ = ["describe_db_error", "is_transient", "scrub_error"]

_TABLE_OF_STATEMENT = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|COPY|SELECT\b.*?\bFROM)\s+\"?([A-Za-z_][\w.]*)",
    re.IGNORECASE | re.DOTALL,
)


def describe_db_error(error: BaseException, statement: str | None = None) -> str:
    """One line about a database error that holds no value of the refused row.

    Parameters
    ----------
    error : BaseException
        The driver's exception (``psycopg.Error``, ``sqlite3.Error``) or any other exception
        raised while a statement ran (e.g. by a bind processor).
    statement : str, optional
        The SQL statement (with placeholders, never values); its target table is named when the
        driver does not report one.

    Returns
    -------
    str
        ``"<driver class>: <what>; table '<t>', constraint '<c>', column '<col>', SQLSTATE
        <code>; values not shown"``, with the parts the driver reports. ``<what>`` is SQLite's
        message (which names constraints and columns, never values), PostgreSQL's primary
        message for connection, lock and timeout failures, and otherwise only the class.

    Examples
    --------
    >>> import sqlite3
    >>> describe_db_error(sqlite3.IntegrityError("UNIQUE constraint failed: genotypes.sample_id"),
    ...                   "INSERT INTO genotypes (sample_id) VALUES (?)")
    "sqlite3.IntegrityError: UNIQUE constraint failed: genotypes.sample_id; table 'genotypes'; values not shown"
    >>> describe_db_error(ValueError("could not convert string to float: '9.3x'"))
    'builtins.ValueError; values not shown'
    """
    cls = type(error)
    name = f"{cls.__module__}.{cls.__name__}"
    parts = []
    what = None
    diag = getattr(error, "diag", None)
    sqlstate = getattr(error, "sqlstate", None)
    if cls.__module__ == "sqlite3" and error.args:
        what = str(error.args[0]).splitlines()[0]
    elif _is_operational(error):
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        what = primary or (str(error).splitlines()[0] if str(error) else None)
    table = getattr(diag, "table_name", None) if diag is not None else None
    if table is None and statement:
        found = _TABLE_OF_STATEMENT.match(statement)
        table = found.group(1) if found else None
    if table:
        parts.append(f"table {table!r}")
    for label, attr in (("constraint", "constraint_name"), ("column", "column_name")):
        value = getattr(diag, attr, None) if diag is not None else None
        if value:
            parts.append(f"{label} {value!r}")
    if sqlstate:
        parts.append(f"SQLSTATE {sqlstate}")
    parts.append("values not shown")
    head = f"{name}: {what}" if what else name
    return "; ".join([head, *parts])


def _is_operational(error: BaseException) -> bool:
    return any(k.__name__ == "OperationalError" for k in type(error).__mro__)


def scrub_error(context) -> None:
    """SQLAlchemy ``handle_error`` hook: strip every value from the error before it is raised.

    Replaces the message of the driver's exception and of SQLAlchemy's wrapper by
    :func:`describe_db_error` (the statement, with placeholders only, stays in SQLAlchemy's text;
    its parameters are hidden by ``hide_parameters=True``). The exception types are unchanged.

    Parameters
    ----------
    context : sqlalchemy.engine.ExceptionContext
        Given by SQLAlchemy.
    """
    original = context.original_exception
    safe = describe_db_error(original, context.statement)
    original.args = (safe,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        wrapped.args = (safe,)
        wrapped.params = None


def is_transient(error: BaseException) -> bool:
    """Whether a failed store or file operation may succeed if tried again.

    Parameters
    ----------
    error : BaseException

    Returns
    -------
    bool
        ``True`` for ``sqlalchemy.exc.OperationalError`` (locked or busy database, lost
        connection, lock or statement timeout), :class:`TimeoutError` and
        :class:`ConnectionError`; ``False`` for everything else, including every
        :class:`kinship.errors.ReuniteInputError`, integrity and data errors and a corrupt store.

    Examples
    --------
    >>> import sqlite3
    >>> is_transient(sa.exc.OperationalError("BEGIN", None, sqlite3.OperationalError("database is locked")))
    True
    >>> is_transient(sa.exc.IntegrityError("INSERT", None, sqlite3.IntegrityError("UNIQUE constraint failed")))
    False
    >>> from kinship.errors import StoreError
    >>> is_transient(StoreError("store x is corrupt"))
    False
    """
    return isinstance(error, (sa.exc.OperationalError, TimeoutError, ConnectionError))
