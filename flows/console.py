"""What ``scripts/flow`` commands print on a terminal: one line per refusal, plain warnings.

A refused input (:class:`kinship.errors.ReuniteInputError`: a bad export, manifest, frequency
table or parameter) is said in one ``error: ...`` line with exit code 2, not a traceback;
Python warnings (a renormalised frequency table, a family left out at a locus) are one
``warning: ...`` line each, without the source file and line. Only the terminal is quieted: a
flow or task run's records still reach Prefect's API log (the UI, ``prefect flow-run logs``).
"""

from __future__ import annotations

import logging
import sys
import warnings
from contextlib import contextmanager

from kinship.errors import ReuniteInputError

__all__ = ["refusals_in_one_line"]


class _NoRunErrors(logging.Filter):
    """Drop a flow or task run's error record from the console handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith(("prefect.flow_runs", "prefect.task_runs")) and record.levelno >= logging.ERROR)


def _plain_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {' '.join(str(message).split())}", file=file or sys.stderr)


@contextmanager
def refusals_in_one_line(*, raise_refusals: bool = False):
    """Run a command's flow with refusals and warnings said in one line each.

    A :class:`~kinship.errors.ReuniteInputError` raised inside becomes ``error: <message>`` on
    stderr and ``SystemExit(2)`` (with ``raise_refusals``, it propagates as it is: the caller,
    :mod:`flows.cli`, says it); any other error keeps Python's own traceback. The console
    handlers of the root and ``prefect`` loggers drop the failed run's error records (with their
    tracebacks) while the block runs; Prefect's API handler keeps them.
    """
    console = [h for name in ("", "prefect") for h in logging.getLogger(name).handlers
               if isinstance(h, logging.StreamHandler)]
    quiet = _NoRunErrors()
    for handler in console:
        handler.addFilter(quiet)
    shown = warnings.showwarning
    warnings.showwarning = _plain_warning
    try:
        yield
    except ReuniteInputError as exc:
        if raise_refusals:
            raise
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        warnings.showwarning = shown
        for handler in console:
            handler.removeFilter(quiet)


def parsed_with_parameters(parser, argv: list[str] | None = None):
    """``(namespace, MatchParameters)`` of a command line whose parser has the match parameter
    options (:func:`kinship.app.parameters.add_arguments`); a bad value exits with its one line
    (``parser.error``, status 2)."""
    from kinship.app.parameters import from_arguments

    args = parser.parse_args(argv)
    try:
        return args, from_arguments(args)
    except ReuniteInputError as exc:
        parser.error(str(exc))
