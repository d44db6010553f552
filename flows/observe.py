"""What the flows tell Prefect about themselves: run names, timed log lines, artifact keys.

Log lines carry counts, shard numbers, timings, run ids, lab codes and batch file ids only:
never a genotype, a name or a sample id (the store's ids are pseudonymous, but a log is read by
more people than a report). Run names are built from the run's lab, batch and store (ingest)
or store, kind and run id (match), not Prefect's random ``adjective-animal``.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import PurePath

from prefect import get_run_logger
from prefect.context import FlowRunContext
from prefect.runtime import flow_run

from flows.settings import artifact_namespace, store_location, store_name

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def run_name_part(text: str, limit: int = 60) -> str:
    """A name part of ASCII letters, digits, ``.``, ``_`` and ``-`` (anything else becomes ``-``)."""
    return _NAME_UNSAFE.sub("-", str(text)).strip("-")[:limit] or "-"


def ingest_run_name() -> str:
    """``ingest <lab> <export file stem> -> <store>``: the flow-run name of an ingest run.

    Called by Prefect when the run is created (``flow_run_name``), from the run's parameters.
    """
    parameters = flow_run.parameters
    export = PurePath(str(parameters.get("export") or "export")).stem
    store = store_name(store_location(parameters.get("store")))
    return f"ingest {run_name_part(parameters.get('lab', '-'))} {run_name_part(export)} -> {run_name_part(store)}"


def pedigree_run_name() -> str:
    """``ingest-pedigrees <lab> <file stem> -> <store>``: the flow-run name of a pedigree ingest."""
    parameters = flow_run.parameters
    path = PurePath(str(parameters.get("pedigrees") or "pedigrees")).stem
    store = store_name(store_location(parameters.get("store")))
    return f"ingest-pedigrees {run_name_part(parameters.get('lab', '-'))} {run_name_part(path)} -> {run_name_part(store)}"


def match_run_name() -> str:
    """``match <store>`` (``match full <store>`` when asked for a full run): the name a match run
    starts with; :func:`rename_run` adds the run's kind and id once the run has them."""
    parameters = flow_run.parameters
    store = store_name(store_location(parameters.get("store")))
    return f"match {'full ' if parameters.get('full') else ''}{run_name_part(store)}"


def pipeline_run_name() -> str:
    """``pipeline <n> batches -> <store>``: the flow-run name of an ingest-and-match pipeline run."""
    parameters = flow_run.parameters
    store = store_name(store_location(parameters.get("store")))
    return f"pipeline {len(parameters.get('batches') or [])} batches -> {run_name_part(store)}"


def rename_run(name: str) -> None:
    """Rename the current flow run in Prefect's API (e.g. once the match run id exists); an API
    that refuses is logged as a warning, not raised."""
    from prefect.client.orchestration import get_client

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(context.flow_run.id, name=name)
    except Exception as exc:  # a name is not worth failing a run for: say so and go on
        get_run_logger().warning("could not rename the flow run to %r (%s)", name, type(exc).__name__)


def artifact_key(kind: str, store: str) -> str:
    """``<kind>-<store namespace>``, e.g. ``top-candidates-demo-1a2b3c``: a Prefect artifact key
    (lowercase letters, digits, dashes) that keeps each store's artifacts apart."""
    return f"{kind}-{artifact_namespace(store)}"


@contextmanager
def timed(message: str, *args):
    """Log ``message % args`` with the elapsed seconds appended, at INFO, on the run's logger.

    The block may add to the message by setting ``note["text"]`` (counts known only at the end).
    """
    logger = get_run_logger()
    note = {"text": ""}
    started = time.perf_counter()
    yield note
    logger.info(message + "%s in %.2f s", *args, note["text"], time.perf_counter() - started)
