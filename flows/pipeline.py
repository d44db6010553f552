"""The main job: ingest lab batches, then match every family against every candidate."""

from __future__ import annotations

from prefect import flow

from flows.ingest import ingest
from flows.match import match
from kinship.io.frequencies import DEFAULT_TABLE


@flow(name="pipeline", log_prints=True)
def pipeline(
    batches: list[dict],
    store: str | None = None,
    out_dir: str | None = None,
    table_id: str = DEFAULT_TABLE,
    prior: float = 0.5,
) -> dict:
    """Ingest each batch (``{"export", "manifest", "lab", "kit"?}``) and run a full match.

    Returns the ingestion summaries and the match run's provenance and output paths.
    """
    summaries = [ingest(store=store, **batch) for batch in batches]
    result = match(store=store, out_dir=out_dir, table_id=table_id, prior=prior)
    return {"ingestion": summaries, **result}
