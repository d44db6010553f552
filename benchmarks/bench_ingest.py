"""Benchmark of ingestion: the production path (:func:`kinship.app.ingest.ingest_batch`) on tidy CSV.

Batches are generated, seeded, as a lab would send them: a tidy CSV export
(``sample_id,locus,allele_1,allele_2``) at the 20 CODIS core loci, genotypes drawn from the
bundled norSTR 2023 East Asia table (HWE), and its manifest: 90 % references (families of a
father and a mother) and 10 % candidates. Timed: the library call on each batch (read, validate,
plan, duplicate screen, write), or ``scripts/flow ingest`` (Prefect start included) with
``--via flow``. Not timed: writing the generated files.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py --profiles 8000                 # one batch, fresh SQLite
    .venv/bin/python benchmarks/bench_ingest.py --profiles 8000 --via flow
    .venv/bin/python benchmarks/bench_ingest.py --profiles 1000 --fill 1000,10000,100000
    .venv/bin/python benchmarks/bench_ingest.py --profiles 18000 --batches 20   # national-load style
    .venv/bin/python benchmarks/bench_ingest.py --profiles 18000 --batches 100 --workers 2  # two labs at once
    .venv/bin/python benchmarks/bench_ingest.py ... --store postgresql+psycopg://postgres@127.0.0.1:5432/test

``--fill`` first loads the store to each size with batches of ``--fill-batch`` profiles, then
times one batch of ``--profiles`` at that size (time per profile flat = linear). Prints one
markdown row per timed batch: stored profiles before, profiles in the batch, seconds, ms per
profile, and the peak resident memory of this process (``--via library``).

``--workers N`` ingests the ``--batches`` with N processes at once, as N labs sending batches at
the same time would (each plans its batch outside the write lock and holds the lock only for its
short write, :func:`kinship.app.ingest.ingest_batch`); each row is one batch, "stored before" is
the store's sample count when that batch started, and the last line is the wall time of the
whole load. Batch ``k`` is generated from the seed ``(seed, k)``, so the batches are the same
whatever the number of workers.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kinship.app.ingest import ingest_batch  # noqa: E402
from kinship.io.frequencies import load_bundled_table  # noqa: E402
from kinship.store import Store  # noqa: E402

CODIS20 = ["CSF1PO", "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317", "D16S539", "D18S51",
           "D21S11", "FGA", "TH01", "TPOX", "vWA", "D1S1656", "D2S441", "D2S1338", "D10S1248",
           "D12S391", "D19S433", "D22S1045"]


def write_batch(folder: Path, tag: str, n: int, rng: np.random.Generator, table) -> tuple[Path, Path]:
    """Write one tidy-CSV export of ``n`` profiles and its manifest; return their paths."""
    loci = [locus for locus in CODIS20 if locus in table]
    ids = [f"{tag}-{i:07d}" for i in range(n)]
    columns = []
    for locus in loci:
        lf = table[locus]
        pairs = rng.choice(lf.afreq.size, size=(n, 2), p=lf.afreq / lf.afreq.sum())
        labels = np.asarray(lf.alleles, dtype=object)
        columns.append((locus, labels[pairs[:, 0]], labels[pairs[:, 1]]))
    export = folder / f"{tag}.csv"
    with export.open("w") as fh:
        fh.write("sample_id,locus,allele_1,allele_2\n")
        for i, sid in enumerate(ids):
            fh.write("".join(f"{sid},{locus},{a1[i]},{a2[i]}\n" for locus, a1, a2 in columns))
    manifest = folder / f"{tag}-manifest.csv"
    with manifest.open("w") as fh:
        fh.write("sample_id,role,family_id,relationship,sex\n")
        n_ref = (int(n * 0.9) // 2) * 2
        for i, sid in enumerate(ids):
            if i < n_ref:
                father = i % 2 == 0
                fh.write(f"{sid},reference,{tag}-F{i // 2:07d},{'father' if father else 'mother'},"
                         f"{'male' if father else 'female'}\n")
            else:
                fh.write(f"{sid},candidate,,,{'male' if i % 2 else 'female'}\n")
    return export, manifest


def batch_rng(seed: int, k: int) -> np.random.Generator:
    """The generator of batch ``k``: the same batches whatever the order or number of workers."""
    return np.random.default_rng([seed, k])


_WORKER: dict = {}


def _worker_init(target: str, schema: str | None, folder: str, seed: int, n: int) -> None:
    _WORKER.update(store=Store(target, schema=schema), folder=Path(folder), seed=seed, n=n,
                   table=load_bundled_table("norstr-2023/East Asia"))


def _worker_batch(k: int) -> tuple[int, int, float, float, float]:
    """Generate and ingest batch ``k`` in a worker: (k, stored before, start, seconds, peak RSS GB)."""
    import sqlalchemy as sa

    w = _WORKER
    export, manifest = write_batch(w["folder"], f"B{k:04d}", w["n"], batch_rng(w["seed"], k), w["table"])
    with w["store"].engine.connect() as c:
        before = c.execute(sa.text("select count(*) from samples")).scalar_one()
    start = time.perf_counter()
    seconds, summary = timed_library(w["store"], export, manifest)
    assert summary.n_landed == w["n"] * len(CODIS20), summary.n_landed
    export.unlink()
    return k, before, start, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def parallel_load(target: str, schema: str | None, folder: Path, args, backend: str) -> None:
    """Ingest ``args.batches`` batches with ``args.workers`` processes; print a row per batch and the total."""
    context = multiprocessing.get_context("spawn")  # each worker opens its own store connection
    begin = time.perf_counter()
    rows = []
    with context.Pool(args.workers, _worker_init, (target, schema, str(folder), args.seed, args.profiles)) as pool:
        for k, before, start, seconds, rss in pool.imap_unordered(_worker_batch, range(args.batches)):
            rows.append((start, seconds))
            print(f"| {backend} | library, {args.workers} workers | {before:,} | {args.profiles:,} | {seconds:.2f} | "
                  f"{1000 * seconds / args.profiles:.3f} | {rss:.2f} |", flush=True)
    first = min(start for start, _ in rows)
    last = max(start + seconds for start, seconds in rows)
    total = args.batches * args.profiles
    print(f"\n{total:,} profiles in {args.batches} batches, {args.workers} workers: {last - first:.1f} s from the "
          f"first batch's start to the last one's end ({(last - first) / 60:.1f} min; "
          f"{1000 * (last - first) / total:.3f} ms/profile); {time.perf_counter() - begin:.1f} s with the "
          "workers' start and the generation of the files")


def timed_library(store: Store, export: Path, manifest: Path) -> tuple[float, object]:
    start = time.perf_counter()
    summary = ingest_batch(store, export, manifest, lab="BENCH", fmt="tidy")
    return time.perf_counter() - start, summary


def timed_flow(target: str, export: Path, manifest: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(ROOT / "scripts" / "flow"), "ingest", str(export), str(manifest), "--lab", "BENCH",
                           "--fmt", "tidy", "--store", target], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=8000, help="profiles in each timed batch")
    parser.add_argument("--batches", type=int, default=1, help="timed batches, one after another")
    parser.add_argument("--fill", default="", help="comma-separated store sizes to time a batch at")
    parser.add_argument("--fill-batch", type=int, default=18000, help="profiles per untimed fill batch")
    parser.add_argument("--via", choices=["library", "flow"], default="library")
    parser.add_argument("--store", help="SQLAlchemy URL (a fresh schema is used on PostgreSQL); "
                                        "a fresh SQLite file by default")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="processes ingesting the --batches at once "
                                                                "(library only, no --fill)")
    args = parser.parse_args()
    if args.workers > 1 and (args.fill or args.via != "library"):
        raise SystemExit("--workers runs the library call on --batches only (no --fill, no --via flow)")

    table = load_bundled_table("norstr-2023/East Asia")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        schema = None
        if args.store:
            target = args.store
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            store = Store(target, schema=schema)
            if args.via == "flow":
                raise SystemExit("--via flow benchmarks SQLite only (the flow takes no schema)")
        else:
            target = str(folder / "store.db")
            store = Store(target)
        store.register_lab("BENCH", "benchmark")  # ingestion accepts registered labs only (repeat-safe)
        print("| backend | via | stored before | batch profiles | s | ms/profile | peak RSS GB |")
        print("|---|---|---|---|---|---|---|")
        backend = store.engine.dialect.name
        try:
            if args.workers > 1:
                parallel_load(target, schema, folder, args, backend)
            else:
                sequential_load(store, target, folder, args, backend, table)
        finally:
            if schema is not None:
                import sqlalchemy as sa

                with store.engine.begin() as conn:
                    conn.execute(sa.text(f'drop schema "{schema}" cascade'))
            store.close()


def sequential_load(store: Store, target: str, folder: Path, args, backend: str, table) -> None:
    """Fill the store to each ``--fill`` size, then time ``--batches`` one after another; a row per batch."""
    n_stored, k = 0, 0
    for size in [int(x) for x in args.fill.split(",") if x] or [None]:
        while size is not None and n_stored < size:
            n = min(args.fill_batch, size - n_stored)
            export, manifest = write_batch(folder, f"B{k:04d}", n, batch_rng(args.seed, k), table)
            ingest_batch(store, export, manifest, lab="BENCH", fmt="tidy")
            n_stored, k = n_stored + n, k + 1
            export.unlink()
        for _ in range(args.batches):
            export, manifest = write_batch(folder, f"B{k:04d}", args.profiles, batch_rng(args.seed, k), table)
            if args.via == "library":
                seconds, summary = timed_library(store, export, manifest)
                assert summary.n_landed == args.profiles * len(CODIS20), summary.n_landed
            else:
                store.close()
                seconds = timed_flow(target, export, manifest)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            print(f"| {backend} | {args.via} | {n_stored:,} | {args.profiles:,} | {seconds:.2f} | "
                  f"{1000 * seconds / args.profiles:.3f} | {rss:.2f} |", flush=True)
            n_stored, k = n_stored + args.profiles, k + 1
            export.unlink()


if __name__ == "__main__":
    main()
