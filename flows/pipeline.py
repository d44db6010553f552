"""The main job: ingest lab batches, then match every family against every candidate."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.ingest import ingest
from flows.match import match
from flows.observe import pipeline_run_name
from flows.settings import store_location
from kinship.app.ingest.labels import check_batch_labels
from kinship.app.parameters import MatchParameters
from kinship.store import Store


@task(cache_policy=NO_CACHE)
def register_labs(store: str, labs: dict[str, str]) -> None:
    with Store(store) as opened:
        for code, name in labs.items():
            opened.register_lab(code, name)


@flow(name="pipeline", log_prints=True, validate_parameters=False, flow_run_name=pipeline_run_name)
def pipeline(
    batches: list[dict],
    parameters: MatchParameters = MatchParameters(),
    store: str | None = None,
    out_dir: str | None = None,
    labs: dict[str, str] | None = None,
) -> dict:
    """Ingest each batch, then run the match flow; returns the ingestion summaries and the match
    run's provenance and output paths.

    Args:
        batches: Lab batches in order, each {"export": path, "manifest": path, "lab": lab id,
            "kit": kit name (optional)}, as for the ingest flow.
        parameters: The match run's parameters (see the match flow); validated before the first
            batch is ingested, so a bad value fails the pipeline with its one line before any work;
            so are the batches' lab and kit (ASCII codes), before any ingest run records them.
        store: SQLite path or SQLAlchemy URL of the store; empty: $REUNITE_STORE, else
            var/reunite.sqlite under the working directory.
        out_dir: Folder for the match run's outputs; empty: $REUNITE_OUT, else out/.
        labs: Labs to register first, {code: display name} (idempotent: a registered lab with the
            same name is a no-op), e.g. the demo's {"DEMO-LAB": ...}; every batch's lab must be
            registered, here or before (scripts/flow labs register).

    Returns:
        {"ingestion": one summary per batch, "provenance": ..., "paths": ...}.
    """
    params = MatchParameters.of(parameters)  # Prefect's own validation is off: this is the one check
    for batch in batches:  # before any ingest run records a lab or kit that is not an ASCII code
        check_batch_labels(batch.get("lab"), batch.get("kit"))
    if labs:
        register_labs(store_location(store), labs)
    summaries = [ingest(store=store, **batch) for batch in batches]
    result = match(parameters=params, store=store, out_dir=out_dir)
    return {"ingestion": summaries, **result}
