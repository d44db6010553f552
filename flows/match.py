"""Match every family against every candidate in the store, rank, calibrate and report.

A run is *incremental* (new candidates x all families, old candidates x new families, merged
with the previous run's kept pairs) when nothing it depends on changed since the previous run,
and *full* otherwise (or when ``full=True``, as the nightly deployment asks). Family shards are
Prefect tasks: they run on threads, or on an existing Dask cluster when ``dask_address`` (or
``REUNITE_DASK_ADDRESS``) names its scheduler.
"""

from __future__ import annotations

import os

from prefect import flow, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.settings import out_location, store_location
from kinship import report
from kinship.app import match_run
from kinship.matching import streaming
from kinship.io.frequencies import DEFAULT_TABLE, load_frequency_table
from kinship.genetics.mutation import MutationModel
from kinship.store import Store

COMPUTE = dict(cache_policy=NO_CACHE)
IO = dict(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)


@task(**IO)
def load_genotypes(store: str):
    return Store(store).load_genotypes()


@task(**IO)
def load_family_members(store: str):
    return Store(store).load_family_members()


@task(**IO)
def load_pedigrees(store: str):
    return Store(store).load_pedigrees()


@task(**IO)
def load_previous_run(store: str):
    return Store(store).latest_match_run()


@task(**IO)
def load_previous_inputs(store: str, previous: dict | None):
    return Store(store).load_run_inputs(previous["run_id"]) if previous else None


@task(**IO)
def load_previous_matches(store: str, previous: dict | None):
    return Store(store).load_matches(previous["run_id"]) if previous else None


@task(**COMPUTE)
def assemble(genotypes, members, pedigrees):
    return match_run.assemble_inputs(genotypes, members, pedigrees)


@task(**IO)
def load_table(table_id: str):
    return load_frequency_table(table_id)


@task(**COMPUTE)
def effective_frequencies(inputs, table, floor: float):
    return match_run.effective_frequencies(inputs, table, floor=floor)


@task(**COMPUTE)
def encode(inputs, table, model: MutationModel, theta: float):
    return match_run.encode_run(inputs, table, model, theta=theta)


@task(**COMPUTE)
def plan(run, params, previous, previous_inputs, previous_matches, shard_size: int, full: bool):
    return match_run.plan_run(run, params, previous=previous, previous_inputs=previous_inputs,
                              previous_matches=previous_matches, shard_size=shard_size, force_full=full)


@task(**COMPUTE)
def score_shard(run, shard, k: int, threshold: float):
    return match_run.score_shard(run, shard[0], shard[1], k=k, threshold=threshold)


@task(**COMPUTE)
def combine(results, k: int):
    return streaming.combine_results(results, k=k)


@task(**COMPUTE)
def collect(run, results, run_plan, k: int, prior: float):
    return match_run.collect_matches(run, results, k=k, prior=prior,
                                     new_candidates=run_plan.new_candidates, new_families=run_plan.new_families)


@task(**COMPUTE)
def calibrate(run, matches, threshold: float, max_expected_unrelated: float):
    return match_run.calibrate(run, matches, threshold=threshold, max_expected_unrelated=max_expected_unrelated)


@task(**COMPUTE)
def select_pairs(matches):
    return match_run.reported_pairs(matches)


@task(**COMPUTE)
def detail(run, pairs):
    return match_run.pair_loci(run, pairs)


@task(**COMPUTE)
def describe(run, params, substitutions, started_at, table_id: str, run_plan, previous, matches):
    return match_run.provenance(run, params, substitutions, started_at=started_at,
                                chosen_table=table_id, plan=run_plan, previous=previous, matches=matches)


@task(**IO)
def save_matches(store: str, provenance: dict, matches, run) -> int:
    return Store(store).save_match_run(provenance, matches, run_inputs=match_run.entity_hashes(run.inputs))


@task(**IO)
def write_outputs(out_dir: str, matches, pairs, provenance: dict, members):
    return report.write_all(out_dir, matches, pairs, provenance, samples=members)


@task(**COMPUTE)
def publish(matches, provenance: dict) -> None:
    create_table_artifact(report.top_candidates_table(matches), key="top-candidates",
                          description="Best family per candidate, strongest first")
    create_markdown_artifact(report.summary_markdown(matches, provenance), key="match-summary",
                             description="Match run summary")


@flow(name="match", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=2))
def match(
    store: str | None = None,
    out_dir: str | None = None,
    table_id: str = DEFAULT_TABLE,
    mutation_model: str = "stepwise",
    rate_male: float = 0.002,
    rate_female: float = 0.001,
    mutation_range: float = 0.1,
    rate2: float = 1e-6,
    prior: float = 0.5,
    frequency_floor: float = 0.001,
    k: int = 10,
    threshold: float = 4.0,
    shard_size: int = 4096,
    full: bool = False,
    theta: float = 0.0,
    max_expected_unrelated: float = 0.01,
) -> dict:
    """Match all families against all candidates (incrementally when possible); returns the
    run's provenance and output paths."""
    store = store_location(store)
    model = MutationModel(mutation_model, rate_male, rate_female, mutation_range, rate2)
    params = match_run.MatchParameters(table_id, model, prior, frequency_floor, k, threshold, theta,
                                       max_expected_unrelated)
    started_at = match_run.utc_now()
    members = load_family_members(store)
    inputs = assemble(load_genotypes(store), members, load_pedigrees(store))
    table, substitutions = effective_frequencies(inputs, load_table(table_id), frequency_floor)
    run = encode(inputs, table, model, theta)
    previous = load_previous_run(store)
    run_plan = plan(run, params, previous, load_previous_inputs(store, previous),
                    load_previous_matches(store, previous), shard_size, full)
    futures = score_shard.map(unmapped(run), run_plan.shards, unmapped(k), unmapped(threshold))
    kept = run_plan.previous
    for future in futures:  # reduce as shards finish: memory O((candidates + families) * k)
        kept = combine([kept, future.result()], k)
    results = [kept] if kept else []
    matches = calibrate(run, collect(run, results, run_plan, k, prior), threshold, max_expected_unrelated)
    pairs = detail(run, select_pairs(matches))
    provenance = describe(run, params, substitutions, started_at, table_id, run_plan, previous, matches)
    save_matches(store, provenance, matches, run)
    paths = write_outputs(out_location(out_dir), matches, pairs, provenance, members)
    publish(matches, provenance)
    return {"provenance": provenance, "paths": {k: str(v) for k, v in paths.items()}}


def run_match(dask_address: str | None = None, **parameters) -> dict:
    """Run :func:`match` on threads, or on the Dask cluster at ``dask_address`` (default
    ``$REUNITE_DASK_ADDRESS``), e.g. ``tcp://scheduler:8786``."""
    address = dask_address or os.environ.get("REUNITE_DASK_ADDRESS")
    if not address:
        return match(**parameters)
    from prefect_dask import DaskTaskRunner

    return match.with_options(task_runner=DaskTaskRunner(address=address))(**parameters)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=match.__doc__)
    parser.add_argument("--store")
    parser.add_argument("--out-dir")
    parser.add_argument("--table-id", default=DEFAULT_TABLE)
    parser.add_argument("--full", action="store_true", help="re-match everything")
    parser.add_argument("--theta", type=float, default=0.0, help="Balding-Nichols theta (default 0)")
    parser.add_argument("--dask-address", help="Dask scheduler address (default $REUNITE_DASK_ADDRESS)")
    args = parser.parse_args()
    print(run_match(args.dask_address, store=args.store, out_dir=args.out_dir, table_id=args.table_id, full=args.full, theta=args.theta)["paths"])
