"""Match every family against every candidate in the store, rank, calibrate and report.

A run is *incremental* (new candidates x all families, old candidates x new families, merged
with the previous run's kept pairs) when nothing it depends on changed since the previous run,
and *full* otherwise (or when ``full=True``, as the nightly deployment asks). Family shards are
Prefect tasks: they run on threads, or on an existing Dask cluster when ``dask_address`` (or
``REUNITE_DASK_ADDRESS``) names its scheduler.

Every number of the run comes from one :class:`kinship.app.parameters.MatchParameters`, given as
the flow's ``parameters`` (an object, or a mapping of its fields from a deployment run or the
Prefect form) and validated before anything is loaded. Command line::

    scripts/flow match [--store PATH_OR_URL] [--out-dir DIR] [--full] [--theta 0.01] ...
    scripts/flow match --help          # every parameter, with its unit, range and default
"""

from __future__ import annotations

import argparse
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.context import FlowRunContext
from prefect.utilities.annotations import quote
from prefect.artifacts import (create_link_artifact, create_markdown_artifact, create_progress_artifact,
                               create_table_artifact, update_progress_artifact)
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.console import parsed_with_parameters, refusals_in_one_line
from flows.retries import IO_RETRIES
from flows.observe import artifact_key, match_run_name, rename_run, run_name_part, timed
from flows.settings import (out_location, store_location, store_name, table_cache_location, table_cache_max_bytes,
                            workbench_queue_url)
from kinship import report
from kinship.app import checkpoints, lineage, match_run, table_cache
from kinship.app.parameters import MatchParameters, add_arguments
from kinship.io.frequencies import load_frequency_table
from kinship.matching import streaming
from kinship.store import Store

COMPUTE = dict(cache_policy=NO_CACHE)
IO = dict(cache_policy=NO_CACHE, **IO_RETRIES)  # transient failures only (flows/retries.py)


@task(**IO)
def load_genotypes(store: str):
    with timed("genotypes loaded") as note:
        genotypes = Store(store).load_genotypes()
        note["text"] = f": {len(genotypes)} rows"
    return genotypes


@task(**IO)
def load_family_members(store: str):
    with timed("family members loaded") as note:
        members = Store(store).load_family_members()
        note["text"] = f": {len(members)} rows"
    return members


@task(**IO)
def load_samples(store: str):
    return Store(store).load_samples()


@task(**IO)
def load_pedigrees(store: str):
    return Store(store).load_pedigrees()


@task(**IO)
def load_families(store: str):
    return Store(store).load_families()


@task(**IO)
def load_call_quality_drops(store: str):
    return Store(store).warning_counts_by_locus("low_quality")


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
def assemble(genotypes, members, pedigrees, families):
    with timed("inputs assembled") as note:
        inputs = match_run.assemble_inputs(genotypes, members, pedigrees, families=families)
        note["text"] = (f": {len(inputs.candidate_ids)} candidates, {len(inputs.reference_ids)} references, "
                        f"{len(inputs.families)} families")
    if not inputs.candidate_ids or not inputs.families:
        get_run_logger().warning("nothing to match: %d candidates and %d families in the store; ingest the "
                                 "candidates' and the references' batches first",
                                 len(inputs.candidate_ids), len(inputs.families))
    return inputs


@task(**IO)
def load_table(table_id: str):
    return load_frequency_table(table_id)


@task(**COMPUTE)
def effective_frequencies(inputs, table, params: MatchParameters):
    return match_run.effective_frequencies(inputs, table, floor=params.frequency_floor,
                                           silent_alleles=params.silent_alleles)


@task(**COMPUTE)
def encode(inputs, table, params: MatchParameters):
    with timed("profiles encoded") as note:
        run = match_run.encode_run(inputs, table, params.mutation_model, theta=params.theta, linkage=params.linkage)
        note["text"] = f": {len(run.loci)} loci used, {len(run.loci_left_out)} left out"
    return run


@task(**COMPUTE)
def plan(run, params: MatchParameters, previous, previous_inputs, previous_matches, full: bool):
    with timed("run planned") as note:
        run_plan = match_run.plan_run(run, params, previous=previous, previous_inputs=previous_inputs,
                                      previous_matches=previous_matches, force_full=full)
        note["text"] = (f": {run_plan.kind} ({run_plan.reason}), {len(run_plan.shards)} family shards, "
                        f"{int(run_plan.new_candidates.sum())} new candidates, {int(run_plan.new_families.sum())} new families")
    return run_plan


@task(**COMPUTE)
def score_shard(work, shard, params: MatchParameters, kept=None, checkpoint=None, tables=None):
    # work: match_run.shard_work of the shard (its families, their references' arrays, the
    # candidates' arrays): what travels to a Dask worker, never the profiles; kept: the
    # candidates' kept entries so far (a floor for the screen), or None; checkpoint: (folder,
    # run fingerprint, shard number): a shard an earlier attempt of the run finished is read back;
    # tables: (TableCache, the shard's families' digests): the compiled tables read from the
    # cache when an earlier run wrote them, else compiled and written (or None: compiled)
    families, candidates = shard
    folder, fingerprint, index = checkpoint or (None, "", 0)
    cache, digests = tables or (None, None)
    return checkpoints.load_or_score(folder, fingerprint, index, lambda: match_run.score_shard_work(
        work, families, candidates, k=params.k, threshold=params.threshold, kept=kept, cache=cache,
        digests=digests))


def open_table_cache(store: str, *, read_only: bool = False) -> table_cache.TableCache | None:
    """The store's compiled-table cache (flows/settings.py: ``REUNITE_TABLE_CACHE``, default a
    folder beside a SQLite store, none for a URL), or None; ``read_only`` for a search (match
    runs write it and apply its retention)."""
    folder = table_cache_location(store)
    return None if folder is None else table_cache.TableCache(folder, max_bytes=table_cache_max_bytes(),
                                                             read_only=read_only)


@task(**COMPUTE)
def family_digests(run):
    with timed("family digests for the table cache") as note:
        digests = table_cache.family_digests(run.inputs)
        note["text"] = f": {len(digests)} families"
    return digests


@task(**IO)
def retain_tables(cache, run, run_plan, digests) -> dict:
    with timed("table cache retention") as note:
        try:
            left = cache.retain_run(run, run_plan.shards, digests)
        except OSError as e:  # housekeeping: the run is finished and stays so
            get_run_logger().warning("table cache %s: retention not applied (%s); the next run applies it",
                                     cache.folder, e)
            return {"removed": 0, "kept": 0, "bytes": 0}
        s = cache.stats  # this process's shards (a Dask cluster's are counted on its workers)
        note["text"] = (f": {s['hits']} shards read, {s['misses']} compiled ({s['reused']} families reused, "
                        f"{s['compiled']} compiled, {s['corrupt']} damaged entries replaced); {left['kept']} entries, "
                        f"{left['bytes'] / 1e9:.2f} GB kept, {left['removed']} removed")
    return left


@task(**COMPUTE)
def fingerprint(run, params: MatchParameters, run_plan):
    return checkpoints.run_fingerprint(run, params, run_plan.shards)


@task(**IO)
def clear_checkpoints(folder: str, key: str) -> None:
    checkpoints.clear(folder, key)


@task(**COMPUTE)
def combine(kept, new, params: MatchParameters):
    """The candidates' kept entries with a finished shard's folded in (the families' lists and
    the hits are only gathered, then reduced once by ``merge_results``)."""
    return streaming.fold_candidate_best(kept, new, k=params.k)


@task(**COMPUTE)
def collect(run, results, run_plan, params: MatchParameters):
    return match_run.collect_matches(run, results, k=params.k, new_candidates=run_plan.new_candidates, new_families=run_plan.new_families)


@task(**COMPUTE)
def y_rows(genotypes, params: MatchParameters):
    return lineage.y_genotypes(genotypes, params.y_str)


@task(**COMPUTE)
def y_evidence(genotypes, samples, run, matches, params: MatchParameters):
    return lineage.y_evidence(genotypes, samples, run.inputs, matches, params.y_str)


@task(**COMPUTE)
def calibrate(run, matches, y_max, params: MatchParameters):
    with timed("pairs calibrated") as note:
        calibrated = match_run.calibrate(run, matches, threshold=params.threshold,
                                         max_expected_unrelated=params.max_expected_unrelated, y_max=y_max)
        note["text"] = f": {len(calibrated)} kept pairs"
    return calibrated


@task(**COMPUTE)
def assess(run, matches, y_max, params: MatchParameters):
    with timed("posteriors and joint assignment") as note:
        assessed = match_run.assess(run, matches, prior=params.prior, k=params.k, threshold=params.threshold,
                                    y_max=y_max)
        counts = assessed["conclusion"].value_counts()
        note["text"] = (f": {int(counts.get('support', 0))} supported, {int(assessed['flagged'].sum())} flagged, "
                        f"{int(counts.get('excluded', 0))} excluded of {len(assessed)} kept pairs")
    return assessed


@task(**COMPUTE)
def select_pairs(matches):
    return match_run.detail_pairs(matches)


@task(**COMPUTE)
def detail(run, pairs):
    return match_run.pair_loci(run, pairs)


@task(**COMPUTE)
def describe(run, params: MatchParameters, substitutions, started_at, run_plan, previous, matches, y_str):
    return match_run.provenance(run, params, substitutions, started_at=started_at, plan=run_plan,
                                previous=previous, matches=matches, y_str=y_str)


@task(**IO)
def save_matches(store: str, provenance: dict, matches, run) -> int:
    with timed("run %s saved in the store", provenance["run_id"]) as note:
        saved = Store(store).save_match_run(provenance, matches, run_inputs=match_run.entity_hashes(run.inputs),
                                            complete=False)
        note["text"] = f": {len(matches)} pairs"
    return saved


@task(**COMPUTE)
def relatives(run, pairs):
    return match_run.relative_genotypes(run, pairs)


@task(**IO)
def write_outputs(out_dir: str, matches, pairs, provenance: dict, members, call_quality=None, relatives=None):
    with timed("run %s outputs written", provenance["run_id"]) as note:
        paths = report.write_all(out_dir, matches, pairs, provenance, samples=members, call_quality=call_quality,
                                 relatives=relatives)
        note["text"] = f": {len(paths)} files"
    return paths


@task(**IO)
def finish_run(store: str, provenance: dict) -> None:
    Store(store).finish_match_run(provenance["run_id"])
    get_run_logger().info("run %s marked finished", provenance["run_id"])


@task(**IO)
def prune_runs(store: str, keep_full_runs: int) -> dict:
    with timed("retention applied (keep %d full runs)", keep_full_runs):
        return Store(store).prune_match_runs(keep_full=keep_full_runs)


@task(**COMPUTE)
def publish(matches, provenance: dict, store: str, report_html: str) -> None:
    rows, n_reported = report.reported_pairs_table(matches)
    shown = (f"all {n_reported}" if len(rows) == n_reported
             else f"the strongest {len(rows)} of {n_reported} (capped at {report.REPORTED_PAIRS_CAP}; every pair is "
                  "in matches.parquet)")
    run_id = provenance["run_id"]
    create_table_artifact(rows, key=artifact_key("top-candidates", store),
                          description=f"Run {run_id}: {shown} supported or flagged pairs, strongest first, with "
                                      "posteriors after database size and calibration (p_unrelated, expected_unrelated)")
    create_markdown_artifact(report.summary_markdown(matches, provenance), key=artifact_key("match-summary", store),
                             description=f"Match run {run_id} summary")
    create_link_artifact(Path(report_html).resolve().as_uri(), link_text=f"report of run {run_id}",
                         key=artifact_key("match-report", store),
                         description="The run's HTML report, on the machine that ran the flow")
    workbench = workbench_queue_url()
    if workbench:
        create_link_artifact(workbench, link_text=f"review run {run_id} in the workbench",
                             key=artifact_key("match-workbench", store),
                             description="The workbench's review queue (it shows the store's latest finished run)")
    get_run_logger().info("run %s published: %d supported or flagged pairs (%d in the table)%s",
                          run_id, n_reported, len(rows), ", workbench link" if workbench else "")


#: The command line's progress bar over the family shards while ``reunite match`` runs (``None``
#: otherwise): called with ``(shards done, shards in all)`` beside the Prefect progress artifact.
#: Not a flow parameter (a callable is not a value Prefect can record); set by flows/cli.py only.
#: Threads of the match flow's default task runner, and shards in flight at once on it.
SHARD_THREADS = 2

_cli_progress: Callable[[int, int], None] | None = None


@flow(name="match", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=SHARD_THREADS), validate_parameters=False,
      flow_run_name=match_run_name)
def match(
    parameters: MatchParameters = MatchParameters(),
    store: str | None = None,
    out_dir: str | None = None,
    full: bool = False,
    keep_full_runs: int | None = None,
) -> dict:
    """Match all families against all candidates (incrementally when possible), rank, calibrate
    and report; returns the run's provenance and the paths of its outputs.

    Steps (one task each, see kinship.app.match_run): load the stored profiles and families,
    assemble_inputs, effective_frequencies, encode_run, plan_run, score_shard per family shard,
    combine as shards finish, collect_matches, y_evidence (Y-STR lineages), calibrate, assess (posteriors after database size,
    joint assignment), detail_pairs, pair_loci, provenance;
    then the run is saved in the store (not yet finished), its outputs are written to
    out_dir/<run id>/ (a temporary folder renamed into place: whole or nothing, owner-only), and
    only then is the run marked finished. A run that failed in between stays unfinished: the next
    run ignores it.

    Each shard's compiled family tables are read from the store's table cache when an earlier
    run wrote them (searches only read it), else compiled and written (kinship.app.table_cache; same numbers, bit
    for bit). Where: $REUNITE_TABLE_CACHE (a folder, or "off"), else a folder beside a SQLite
    store (var/reunite.tables), none for a URL; after a finished run the cache keeps that run's
    tables (and at most $REUNITE_TABLE_CACHE_MAX_GB).

    Args:
        parameters: Everything the run's numbers depend on (frequency table, mutation model,
            prior, frequency floor, k, reporting threshold, theta, max_expected_unrelated,
            silent_alleles) and the shard size; each field's unit, range and default are in its
            own description. Omitted fields take their defaults. Validated before the store is
            opened: a bad value fails the run with one line naming the field, the value and the
            allowed range.
        store: SQLite path or SQLAlchemy URL of the store; empty: $REUNITE_STORE, else
            var/reunite.sqlite under the working directory.
        out_dir: Folder for the run's outputs (a subfolder per run id); empty: $REUNITE_OUT, else
            out/ under the working directory.
        full: Re-match every candidate against every family even when an incremental run would
            give the same result (the nightly deployment sets it).
        keep_full_runs: After the run, apply the retention policy (Store.prune_match_runs): keep
            the kept pairs of this many recent full runs and their incremental runs, drop older
            runs' pairs (their records stay); empty: keep everything. The nightly deployment
            keeps 7.

    Returns:
        {"provenance": the run's provenance record (schemas/provenance.v4.json), "paths": output
        file paths by name (matches_parquet, matches_csv, pair_loci_parquet, pair_loci_csv,
        provenance_json, report_html)}.

    Raises:
        ReuniteInputError: A bad parameter (before any work), or bad stored data; a
            FrequencyTableError when the table breaks the sum rule (a locus summing outside
            1 ± 0.01) or gives frequencies for none of the typed loci.
    """
    params = MatchParameters.of(parameters)  # Prefect's own validation is off: this is the one check
    store = store_location(store)
    logger = get_run_logger()
    started_at = match_run.utc_now()
    clock = time.perf_counter()
    members = load_family_members(store)
    genotypes = load_genotypes(store)
    inputs = assemble(genotypes, members, load_pedigrees(store), load_families(store))
    genotypes = y_rows(genotypes, params)  # the Y-STR step reads these alone: the rest is not held through the run
    # quote(): Prefect would walk every profile of the inputs (millions of tuples at national
    # scale) looking for futures at each task call; these are values, not futures. On threads
    # only: a Dask runner ships the arguments to other processes, where a quote does not survive
    # distributed's serialisation (it arrives as a plain tuple)
    on_threads = isinstance(FlowRunContext.get().task_runner, ThreadPoolTaskRunner)
    value = quote if on_threads else (lambda x: x)
    table, substitutions = effective_frequencies(value(inputs), load_table(params.table_id), params)
    run = encode(value(inputs), table, params)
    q_run = value(run)
    previous = load_previous_run(store)
    run_plan = plan(q_run, params, previous, load_previous_inputs(store, previous),
                    load_previous_matches(store, previous), full)
    # each shard gets only what it scores (match_run.shard_work: slices of the run's arrays, no
    # profiles), so a Dask worker receives arrays, not the national inputs
    works = [value(match_run.shard_work(run, families)) for families, _ in run_plan.shards]
    # each finished shard is kept on disk until the run is finished: a run that stopped half-way
    # resumes from them when it is started again on the same store (kinship.app.checkpoints)
    shard_folder, key = str(Path(out_location(out_dir)) / ".shards"), fingerprint(q_run, params, run_plan)
    marks = [(shard_folder, key, i) for i in range(len(works))]
    # the compiled tables of each shard from the store's table cache (kinship.app.table_cache),
    # keyed by what the tables depend on and the shard's families' digests
    cache = open_table_cache(store)
    digests = family_digests(q_run) if cache is not None and run_plan.shards else None
    tables = [None if digests is None else (cache, digests[families]) for families, _ in run_plan.shards]
    carried = run_plan.previous  # the previous run's kept entries (an incremental run), or None
    # candidates' side folded as shards finish (memory O(candidates * k)); the families' lists and
    # the hits gathered and joined once at the end (joining them at every shard was quadratic)
    kept = None if carried is None else combine(None, carried.candidate_best, params)
    family_parts = [] if carried is None else [carried.family_best]
    hit_parts = [] if carried is None else [carried.hits]
    if on_threads:
        # a few shards in flight, each submitted with the candidates' kept entries so far: the
        # screen skips what can no longer enter a candidate's list (same result, less rescoring)
        futures = deque(score_shard.submit(works[i], run_plan.shards[i], params,
                                           None if kept is None else quote(kept), marks[i], tables[i])
                        for i in range(min(SHARD_THREADS, len(works))))
        submitted = len(futures)
    else:  # a cluster: every shard at once (its workers are many; no floor)
        futures = deque(score_shard.map(works, run_plan.shards, unmapped(params), unmapped(None), marks, tables))
        submitted = len(works)
    resumed = 0
    progress = create_progress_artifact(0.0, key=artifact_key("match-progress", store),
                                        description=f"Family shards scored (of {len(run_plan.shards)})")
    every = max(1, len(run_plan.shards) // 20)  # about 20 progress lines in the log, whatever the size
    for done in range(1, len(works) + 1):  # reduce as shards finish: memory O((candidates + families) * k)
        result, was_kept = futures.popleft().result()
        works[done - 1] = None  # scored (shards finish in the order they were submitted)
        resumed += was_kept
        kept = combine(kept, result.candidate_best, params)
        family_parts.append(result.family_best)
        hit_parts.append(result.hits)
        if submitted < len(works):
            futures.append(score_shard.submit(works[submitted], run_plan.shards[submitted], params,
                                              quote(kept), marks[submitted], tables[submitted]))
            submitted += 1
        update_progress_artifact(progress, 100.0 * done / len(run_plan.shards))
        if _cli_progress is not None:  # the command line's progress bar (flows/cli.py); None in Prefect runs
            _cli_progress(done, len(run_plan.shards))
        if done % every == 0 or done == len(run_plan.shards):
            logger.info("shard %d of %d scored, %.1f s since start", done, len(run_plan.shards), time.perf_counter() - clock)
    if not run_plan.shards:
        update_progress_artifact(progress, 100.0)
    results = [] if kept is None else [streaming.ShardResult(kept, streaming.Entries.concat(family_parts),
                                                             streaming.Entries.concat(hit_parts))]
    # each intermediate is let go once the next is built (at 10^7 kept pairs, ~1 GB each)
    del family_parts, hit_parts, kept, futures, works
    collected = collect(q_run, results, run_plan, params)
    del results
    with_y, y_str, y_max = y_evidence(genotypes, load_samples(store), q_run, collected, params)
    del collected, genotypes
    calibrated = calibrate(q_run, with_y, y_max, params)
    del with_y
    matches = assess(q_run, calibrated, y_max, params)
    del calibrated
    pairs = detail(q_run, select_pairs(matches))
    provenance = describe(q_run, params, substitutions, started_at, run_plan, previous, matches, y_str)
    rename_run(f"match {provenance['kind']} {run_name_part(store_name(store))} {provenance['run_id']}")
    save_matches(store, provenance, matches, q_run)  # recorded, not yet finished
    drops = load_call_quality_drops(store)
    paths = write_outputs(out_location(out_dir), matches, pairs, provenance, members, drops,
                          relatives(q_run, pairs))  # whole or nothing
    finish_run(store, provenance)  # finished only once its outputs exist
    clear_checkpoints(shard_folder, key)
    if digests is not None:  # the cache keeps what the next run and the searches read
        retain_tables(cache, q_run, run_plan, digests)
    if resumed:
        logger.info("%d of %d shards were read back from an earlier attempt of this run", resumed, len(run_plan.shards))
    if keep_full_runs is not None:
        prune_runs(store, keep_full_runs)
    publish(matches, provenance, store, paths["report_html"])
    logger.info("run %s finished in %.1f s", provenance["run_id"], time.perf_counter() - clock)
    return {"provenance": provenance, "paths": {k: str(v) for k, v in paths.items()}}


def run_match(dask_address: str | None = None, **arguments) -> dict:
    """Run :func:`match` (with ``arguments``: parameters, store, out_dir, full) on threads, or on
    the Dask cluster at ``dask_address`` (default ``$REUNITE_DASK_ADDRESS``), e.g.
    ``tcp://scheduler:8786``."""
    address = dask_address or os.environ.get("REUNITE_DASK_ADDRESS")
    if not address:
        return match(**arguments)
    from prefect_dask import DaskTaskRunner

    return match.with_options(task_runner=DaskTaskRunner(address=address))(**arguments)


def command_line() -> argparse.ArgumentParser:
    """The ``scripts/flow match`` parser: store, outputs, full, Dask, and one option per
    MatchParameters field (generated from the model: descriptions and defaults written once)."""
    parser = argparse.ArgumentParser(prog="scripts/flow match", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--store", help="SQLite path or SQLAlchemy URL (default $REUNITE_STORE, else var/reunite.sqlite)")
    parser.add_argument("--out-dir", help="folder for the outputs (default $REUNITE_OUT, else out/)")
    parser.add_argument("--full", action="store_true", help="re-match everything")
    parser.add_argument("--dask-address", help="Dask scheduler address (default $REUNITE_DASK_ADDRESS)")
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> dict:
    """Run the match flow from command-line arguments; a bad parameter exits with its one line."""
    args, parameters = parsed_with_parameters(command_line(), argv)
    with refusals_in_one_line():  # a refused frequency table or store: one line, no traceback
        return run_match(args.dask_address, parameters=parameters, store=args.store, out_dir=args.out_dir,
                         full=args.full)


if __name__ == "__main__":
    # `python -m flows.match` is `reunite match` (flows/cli.py): one command line, one output
    import sys

    from flows.cli import main as reunite

    reunite(["match", *sys.argv[1:]])
