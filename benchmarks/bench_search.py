"""On-demand search in a warm process: one child against every family of a store.

The store is read, assembled and encoded once (what a long-running service holds); then
``kinship.app.search.search`` is timed for ``--children`` children drawn from the store, first
compiling every family each time, then with a ``SearchIndex`` (every family's tables compiled once
and held in memory)::

    .venv/bin/python benchmarks/bench_search.py --store /tmp/nat-1e4/store.sqlite --children 3

With ``--cache FOLDER`` (a compiled-table cache a match run on the store wrote:
``kinship.app.table_cache``, by default ``<store stem>.tables`` beside a SQLite store), the
searches are also timed reading the shards from it, each with a new ``TableCache`` (what a new
process pays: nothing compiled in memory before), and with a ``SearchIndex`` built from it;
``--skip-compile`` leaves out the searches that compile every family.

Each search with the cache also prints the bytes this process read from the disk meanwhile
(``read_bytes`` of ``/proc/self/io``) and its major page faults. ``--drop-caches`` (Linux, as
root) empties the page cache before each of those searches (``sync; echo 3 >
/proc/sys/vm/drop_caches``; it slows every other process of the machine a moment): a cold
search, as on a store whose tables do not fit in memory. The index is then reopened after each
drop (its mapped pages would stay in memory otherwise; reopening reads the entries' headers and
digests, its checksums are not hashed again in the process), and its searches are of children
not searched before::

    .venv/bin/python benchmarks/bench_search.py --store /tmp/nat-1e5/store.sqlite \
        --cache /tmp/nat-1e5/store.tables --skip-compile --drop-caches
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import time

import numpy as np

from kinship.app import match_run
from kinship.app.parameters import MatchParameters
from kinship.app.search import SearchIndex, SearchTarget, search
from kinship.io.frequencies import load_frequency_table
from kinship.store import Store


def read_bytes() -> int:
    """Bytes this process has had read from storage (``/proc/self/io``; 0 where there is none)."""
    try:
        with open("/proc/self/io") as f:
            return int(next(line for line in f if line.startswith("read_bytes:")).split()[1])
    except (OSError, StopIteration):
        return 0


def major_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_majflt


def drop_caches() -> None:
    """Empty the page cache (Linux, root)."""
    subprocess.run("sync; echo 3 > /proc/sys/vm/drop_caches", shell=True, check=True)


def io_note(b0: int, f0: int) -> str:
    return f"read {(read_bytes() - b0) / 1e6:,.1f} MB, {major_faults() - f0} major faults"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--children", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", help="a compiled-table cache folder a match run on the store wrote")
    parser.add_argument("--skip-compile", action="store_true", help="no search compiling every family, no index")
    parser.add_argument("--drop-caches", action="store_true",
                        help="empty the page cache before each search with the cache (Linux, root): cold searches")
    args = parser.parse_args()
    params = MatchParameters()
    t = time.perf_counter()
    with Store(args.store) as store:
        genotypes, samples = store.load_genotypes(), store.load_samples()
        inputs = match_run.assemble_inputs(genotypes, store.load_family_members(), store.load_pedigrees(),
                                           families=store.load_families())
    table, _ = match_run.effective_frequencies(inputs, load_frequency_table(params.table_id),
                                               floor=params.frequency_floor, silent_alleles=params.silent_alleles)
    run = match_run.encode_run(inputs, table, params.mutation_model, theta=params.theta, linkage=params.linkage)
    warm = time.perf_counter() - t
    print(f"warm-up (load, assemble, encode): {warm:.1f} s; {len(inputs.families):,} families, "
          f"{len(inputs.candidate_ids):,} children")
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(np.array(inputs.candidate_ids), size=args.children, replace=False)
    if args.cache:
        from kinship.app.table_cache import TableCache, family_digests

        cold = " (page cache dropped)" if args.drop_caches else ""
        for cid in chosen:  # what the search flow does once the store is encoded
            cache = TableCache(args.cache)
            if args.drop_caches:
                drop_caches()
            b0, f0, t = read_bytes(), major_faults(), time.perf_counter()
            found = search(run, SearchTarget(candidate_id=str(cid)), params, genotypes=genotypes, samples=samples,
                           cache=cache)
            print(f"search of one child reading the cache{cold} (family digests included): "
                  f"{time.perf_counter() - t:.2f} s, {len(found)} pairs, {io_note(b0, f0)}; cache {cache.stats}")
        t = time.perf_counter()
        digests = family_digests(inputs)
        print(f"family digests: {time.perf_counter() - t:.2f} s (once a process)")
        b0, t = read_bytes(), time.perf_counter()
        cached = SearchIndex(run, shard_size=params.shard_size, cache=TableCache(args.cache), digests=digests)
        print(f"index from the cache: {time.perf_counter() - t:.2f} s, {cached.nbytes / 1e9:.2f} GB mapped, "
              f"{(read_bytes() - b0) / 1e9:.2f} GB read")
        others = [c for c in rng.permutation(np.array(inputs.candidate_ids)) if c not in set(chosen)]
        for i, cid in enumerate(chosen):
            if args.drop_caches:  # its mapped pages stay in memory while it is held
                cid = others[i]
                cached = None
                gc.collect()
                drop_caches()
                b0, t = read_bytes(), time.perf_counter()
                cached = SearchIndex(run, shard_size=params.shard_size, cache=TableCache(args.cache), digests=digests)
                print(f"index reopened{cold}: {time.perf_counter() - t:.2f} s, {(read_bytes() - b0) / 1e6:,.1f} MB read")
            for label in ("", ", again") if args.drop_caches else ("",):
                b0, f0, t = read_bytes(), major_faults(), time.perf_counter()
                found = search(run, SearchTarget(candidate_id=str(cid)), params, genotypes=genotypes, samples=samples,
                               index=cached)
                print(f"search of one child with the index from the cache{cold if not label else ''}{label}: "
                      f"{time.perf_counter() - t:.2f} s, {len(found)} pairs, {io_note(b0, f0)}")
    if args.skip_compile:
        return
    for cid in chosen:
        t = time.perf_counter()
        found = search(run, SearchTarget(candidate_id=str(cid)), params, genotypes=genotypes, samples=samples)
        print(f"search of one child, compiling every family: {time.perf_counter() - t:.2f} s, {len(found)} pairs")
    t = time.perf_counter()
    index = SearchIndex(run, shard_size=params.shard_size)
    print(f"index (every family compiled once): {time.perf_counter() - t:.1f} s, {index.nbytes / 1e9:.2f} GB")
    for cid in chosen:
        t = time.perf_counter()
        found = search(run, SearchTarget(candidate_id=str(cid)), params, genotypes=genotypes, samples=samples,
                       index=index)
        print(f"search of one child with the index: {time.perf_counter() - t:.2f} s, {len(found)} pairs")


if __name__ == "__main__":
    main()
