"""Match every family against every candidate in the store, rank, and report."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.settings import out_location, store_location
from kinship import match_run, report
from kinship.io.frequencies import DEFAULT_TABLE, load_bundled_table
from kinship.matching import score_all_pairs
from kinship.mutation import MutationModel
from kinship.store import Store

COMPUTE = dict(cache_policy=NO_CACHE)
IO = dict(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)


@task(**IO)
def load_genotypes(store: str):
    return Store(store).load_genotypes()


@task(**IO)
def load_family_members(store: str):
    return Store(store).load_family_members()


@task(**COMPUTE)
def assemble(genotypes, members):
    return match_run.assemble_inputs(genotypes, members)


@task(**IO)
def load_table(table_id: str):
    return load_bundled_table(table_id)


@task(**COMPUTE)
def effective_frequencies(inputs, table, floor: float):
    return match_run.effective_frequencies(inputs, table, floor=floor)


@task(**COMPUTE)
def compile_families(inputs, table, model: MutationModel):
    return match_run.compile_run(inputs, table, model)


@task(**COMPUTE)
def score(compiled):
    return score_all_pairs(compiled.family_tables, compiled.candidate_index)


@task(**COMPUTE)
def rank(compiled, scores, prior: float):
    return match_run.rank_matches(compiled, scores, prior=prior)


@task(**COMPUTE)
def select_pairs(matches):
    return match_run.reported_pairs(matches)


@task(**COMPUTE)
def detail(compiled, pairs):
    return match_run.pair_loci(compiled, pairs)


@task(**COMPUTE)
def describe(compiled, params, substitutions, started_at, table_id: str):
    run_id = match_run.new_run_id(compiled.inputs, started_at)
    return match_run.provenance(compiled, params, substitutions, run_id=run_id,
                                started_at=started_at, chosen_table=table_id)


@task(**IO)
def save_matches(store: str, provenance: dict, matches) -> int:
    return Store(store).save_match_run(provenance, matches)


@task(**IO)
def write_outputs(out_dir: str, matches, pairs, provenance: dict, members):
    return report.write_all(out_dir, matches, pairs, provenance, samples=members)


@task(**COMPUTE)
def publish(matches, provenance: dict) -> None:
    create_table_artifact(report.top_candidates_table(matches), key="top-candidates",
                          description="Best family per candidate, strongest first")
    create_markdown_artifact(report.summary_markdown(matches, provenance), key="match-summary",
                             description="Match run summary")


@flow(name="match", log_prints=True)
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
) -> dict:
    """Match all families against all candidates; returns the run's provenance and outputs."""
    store = store_location(store)
    model = MutationModel(mutation_model, rate_male, rate_female, mutation_range, rate2)
    params = match_run.MatchParameters(table_id, model, prior, frequency_floor)
    started_at = match_run.utc_now()
    members = load_family_members(store)
    inputs = assemble(load_genotypes(store), members)
    table, substitutions = effective_frequencies(inputs, load_table(table_id), frequency_floor)
    compiled = compile_families(inputs, table, model)
    matches = rank(compiled, score(compiled), prior)
    pairs = detail(compiled, select_pairs(matches))
    provenance = describe(compiled, params, substitutions, started_at, table_id)
    paths = write_outputs(out_location(out_dir), matches, pairs, provenance, members)
    save_matches(store, provenance, matches)
    publish(matches, provenance)
    return {"provenance": provenance, "paths": {k: str(v) for k, v in paths.items()}}


if __name__ == "__main__":
    print(match())
