"""Retries of the flows' I/O tasks: only failures that may pass (a locked store, a lost connection).

A validation error, an integrity or data error, a corrupt store or a bug fails the same way on
every try, and each try writes the failure to the logs once more; those are never retried.
:func:`kinship.store.dberrors.is_transient` draws the line.
"""

from __future__ import annotations

from kinship.store.dberrors import is_transient

__all__ = ["IO_RETRIES", "transient_failure"]


def transient_failure(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the failure is transient."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the failure of the task run, classified below
        return is_transient(exc)
    return False


#: Task options of an I/O task: two retries, 2 s apart, of transient failures only.
IO_RETRIES = dict(retries=2, retry_delay_seconds=2, retry_condition_fn=transient_failure)
