"""Search flow: one child (or one family) against the whole store, on demand.

Each task calls one ``kinship`` function (the match flow's loading and encoding tasks, then
:func:`kinship.app.search.search`); the numbers are the match run's (see that module).
"""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from flows.match import (assemble, effective_frequencies, encode, load_families, load_family_members,
                         load_genotypes, load_pedigrees, load_previous_run, load_samples, load_table,
                         open_table_cache)
from flows.settings import store_location
from kinship.app import search as searching
from kinship.app.parameters import MatchParameters

__all__ = ["search"]


@task(cache_policy=NO_CACHE)
def run_search(run, target: searching.SearchTarget, params: MatchParameters, genotypes, samples, cache=None):
    return searching.search(run, target, params, genotypes=genotypes, samples=samples, cache=cache)


def search_parameters(parameters, previous: dict | None) -> tuple[MatchParameters, str]:
    """The search's parameters and where they come from: those given, else the last finished
    run's (so that the search reproduces its numbers), else the defaults."""
    if parameters is not None:
        return MatchParameters.of(parameters), "given"
    if previous is not None:
        return MatchParameters.from_record(previous["parameters"]), f"match run {previous['run_id']}"
    return MatchParameters(), "defaults (no finished match run yet)"


@flow(name="search", log_prints=True, validate_parameters=False)
def search(
    candidate_id: str | None = None,
    family: str | None = None,
    store: str | None = None,
    parameters: MatchParameters | dict | None = None,
) -> dict:
    """Score one child against every family of the store, or one family against every child.

    Args:
        candidate_id: The child's sample id (role candidate); give it or ``family``.
        family: The family as ``LAB/FAMILY_ID``; give it or ``candidate_id``.
        store: SQLite path or SQLAlchemy URL of the store; empty: $REUNITE_STORE, else
            var/reunite.sqlite under the working directory.
        parameters: The match parameters; empty: those of the last finished match run, so the
            scores are that run's (on the same store), else the defaults.

    A child search reads the shards' compiled tables from the store's table cache (written by
    the match runs: $REUNITE_TABLE_CACHE, else beside a SQLite store) instead of compiling
    every family; shards it lacks are compiled in memory (a search never writes the cache).

    Returns:
        {"target": what was searched, "parameters_from": where the parameters came from,
        "matches": the reported pairs (kinship.app.search.SEARCH_COLUMNS) as records,
        strongest first}.

    Raises:
        ReuniteInputError: Neither or both targets, an unknown child or family, a bad
            parameter or stored data.
    """
    target = searching.SearchTarget.of(candidate_id, family)
    store = store_location(store)
    params, source = search_parameters(parameters, load_previous_run(store))
    genotypes = load_genotypes(store)
    samples = load_samples(store)
    inputs = assemble(genotypes, load_family_members(store), load_pedigrees(store), load_families(store))
    table, _ = effective_frequencies(quote(inputs), load_table(params.table_id), params)
    run = encode(quote(inputs), table, params)
    # a child search reads the shards' tables the last match run wrote (the store's table cache)
    found = run_search(quote(run), target, params, genotypes, samples, open_table_cache(store, read_only=True))
    shown = found.head(50)
    create_table_artifact(
        [{c: (None if v != v else v) for c, v in row.items()} for row in shown[
            ["candidate_id", "lab", "family_id", "family_kind", "log10_lr_total", "conclusion",
             "expected_unrelated", "rank_for_candidate", "rank_for_family"]].astype(object).to_dict("records")],
        description=f"Search of {target.describe()}: {len(found)} reported pairs"
                    + (" (first 50 shown)" if len(found) > 50 else "") + f"; parameters: {source}")
    return {"target": target.describe(), "parameters_from": source,
            "matches": found.astype(object).where(found.notna(), None).to_dict("records")}
