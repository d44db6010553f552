"""Loading profiles into a match run (issue 12, item 4): the store's genotypes frame ->
``assemble_inputs`` -> ``effective_frequencies`` -> ``encode_run`` -> the input hashes.

One configuration per process (its peak RSS is the process's ``ru_maxrss``). The genotypes
frame is drawn directly (no store): ``--profiles`` samples at the 20 CODIS core loci of
:data:`reunite_demo.synthetic.LOCI`, alleles from the norSTR 2023 East Asia table
(:func:`reunite_demo.synthetic.draw_founders`), plus an Amelogenin row per sample (not
autosomal: left out as in a run); 2 % of the (sample, locus) untyped, 1 % of the genotypes
partial (``allele_2 = "?"``); one sample in ten a candidate, the references paired into couple
families. Rows sorted by ``sample_id, locus``, as :meth:`kinship.store.Store.load_genotypes`
gives them, with the column dtype of that version's store (``--frame``: ``str`` as the store
gave before, ``category`` as it gives now).

"Before" is the code at the base of the branch, run with the same script::

    git archive main | tar -x -C /tmp/arrays-base          # the code before ProfileTable
    PYTHONPATH=/tmp/arrays-base .venv/bin/python benchmarks/bench_load_profiles.py --profiles 100000 --frame str
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_load_profiles.py --profiles 100000 --frame category

``--store PATH`` also times :meth:`kinship.store.Store.load_genotypes` on a SQLite store of the
same profiles (written first, with SQL inserts, when PATH does not exist) and runs the match
steps on the frame it returns.

Prints one Markdown table row: profiles, rows, frame dtype, seconds per step, peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kinship.app import match_run as mr
from kinship.genetics.mutation import MutationModel
from kinship.io.frequencies import load_bundled_table
from reunite_demo.synthetic import LOCI, draw_founders

TABLE = "norstr-2023/East Asia"


def genotypes_frame(n: int, seed: int, table) -> pd.DataFrame:
    """The drawn store frame (module docstring), columns of Python ``str`` (object)."""
    rng = np.random.default_rng(seed)
    loci = tuple(l for l in LOCI if l in table)
    alleles = draw_founders(rng, table, loci, n)  # (n, n_loci, 2)
    n_cand = n // 10
    ids = np.array([f"R-{k:07d}" for k in range(n - n_cand)] + [f"C-{k:07d}" for k in range(n_cand)], dtype=object)
    roles = np.array(["reference"] * (n - n_cand) + ["candidate"] * n_cand, dtype=object)
    a1, a2 = [], []
    for li, locus in enumerate(loci):
        labels = np.asarray(table[locus].alleles, dtype=object)
        a1.append(labels[alleles[:, li, 0]])
        a2.append(labels[alleles[:, li, 1]])
    a1, a2 = np.stack(a1, axis=1), np.stack(a2, axis=1)  # (n, n_loci)
    a2 = np.where(rng.random(a2.shape) < 0.01, "?", a2)
    typed = rng.random(a1.shape) >= 0.02
    all_loci = np.array(sorted(loci + ("AMEL",)), dtype=object)
    amel = np.where(rng.random(n) < 0.5, "Y", "X")
    # (n, n_loci + 1) in sorted locus order
    col = {l: k for k, l in enumerate(loci)}
    A1 = np.empty((n, all_loci.size), dtype=object)
    A2 = np.empty((n, all_loci.size), dtype=object)
    T = np.ones((n, all_loci.size), dtype=bool)
    for j, l in enumerate(all_loci):
        if l == "AMEL":
            A1[:, j], A2[:, j] = "X", amel
        else:
            A1[:, j], A2[:, j], T[:, j] = a1[:, col[l]], a2[:, col[l]], typed[:, col[l]]
    order = np.argsort(ids, kind="stable")
    ids, roles, A1, A2, T = ids[order], roles[order], A1[order], A2[order], T[order]
    mask = T.ravel()
    return pd.DataFrame({
        "sample_id": np.repeat(ids, all_loci.size)[mask],
        "role": np.repeat(roles, all_loci.size)[mask],
        "locus": np.tile(all_loci, n)[mask],
        "allele_1": A1.ravel()[mask],
        "allele_2": A2.ravel()[mask],
    })


def couples(genotypes: pd.DataFrame) -> pd.DataFrame:
    refs = np.array(sorted(set(genotypes.loc[genotypes["role"] == "reference", "sample_id"].tolist())), dtype=object)
    n = refs.size // 2
    fam = np.repeat(np.array([f"F-{k:07d}" for k in range(n)], dtype=object), 2)
    return pd.DataFrame({"lab": "L", "family_id": fam, "sample_id": refs[:2 * n],
                         "relationship": np.tile(np.array(["father", "mother"], dtype=object), n)})


def write_store(path: Path, genotypes: pd.DataFrame) -> None:
    """A SQLite store of the frame's samples and genotypes, with SQL inserts (no ingest)."""
    import sqlalchemy as sa
    from datetime import datetime, timezone

    from kinship.store import Store
    from kinship.store.tables import genotypes as g_table, ingested_files, samples

    store = Store(str(path))
    store.register_lab("BENCH", "bench lab")
    now = datetime.now(timezone.utc)
    file_cols = {c.name for c in ingested_files.columns}
    with store.begin() as conn:
        row = {c.name: None for c in ingested_files.columns if c.name != "file_id"}
        fill = {"sha256": "0" * 64, "path": "bench", "file_name": "bench", "lab": "BENCH", "fmt": "bench",
                "ingested_at": now, "received_at": now, "n_rows": 0, "kit": "", "status": "landed"}
        row.update({k: v for k, v in fill.items() if k in file_cols})
        for c in ingested_files.columns:
            if row.get(c.name) is None and not c.nullable and c.name != "file_id":
                row[c.name] = 0 if isinstance(c.type, sa.Integer) else ""
        file_id = conn.execute(ingested_files.insert().values(**row)).inserted_primary_key[0]
        per_sample = genotypes.drop_duplicates("sample_id")
        conn.execute(samples.insert(), [
            {"sample_id": s, "role": r, "sex": "unknown", "lab": "BENCH", "kit": None, "received_at": now, "file_id": file_id}
            for s, r in zip(per_sample["sample_id"], per_sample["role"])])
        chunk = 200_000
        for a in range(0, len(genotypes), chunk):
            part = genotypes.iloc[a:a + chunk]
            conn.execute(g_table.insert(), [
                {"sample_id": s, "locus": l, "allele_1": x, "allele_2": y, "file_id": file_id}
                for s, l, x, y in zip(part["sample_id"], part["locus"], part["allele_1"], part["allele_2"])])
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", type=int, default=100_000)
    ap.add_argument("--frame", choices=["str", "category"], default="category")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", type=Path, default=None)
    args = ap.parse_args()
    table = load_bundled_table(TABLE)
    genotypes = genotypes_frame(args.profiles, args.seed, table)
    members = couples(genotypes)
    seconds: dict[str, float] = {}
    if args.store is not None:
        from kinship.store import Store

        if not args.store.exists():
            write_store(args.store, genotypes)
        del genotypes
        t = time.perf_counter()
        with Store(str(args.store)) as store:
            genotypes = store.load_genotypes()
        seconds["load_genotypes"] = time.perf_counter() - t
        frame = str(genotypes["allele_1"].dtype)
    else:
        genotypes = genotypes.astype(args.frame)
        frame = args.frame
    rss_frame = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t = time.perf_counter()
    inputs = mr.assemble_inputs(genotypes, members)
    seconds["assemble_inputs"] = time.perf_counter() - t
    t = time.perf_counter()
    eff, _ = mr.effective_frequencies(inputs, table, floor=0.001)
    seconds["effective_frequencies"] = time.perf_counter() - t
    t = time.perf_counter()
    run = mr.encode_run(inputs, eff, MutationModel(), theta=0.0)
    seconds["encode_run"] = time.perf_counter() - t
    t = time.perf_counter()
    hashes = mr.entity_hashes(inputs)
    seconds["entity_hashes"] = time.perf_counter() - t
    t = time.perf_counter()
    digest = inputs.sha256()
    seconds["sha256"] = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    steps = " | ".join(f"{seconds.get(k, float('nan')):.2f}" for k in
                       ("load_genotypes", "assemble_inputs", "effective_frequencies", "encode_run", "entity_hashes", "sha256"))
    print(f"| {args.profiles:,} | {len(genotypes):,} | {frame} | {steps} | {rss_frame:.2f} | {rss:.2f} | "
          f"{digest[:12]} | {hashes['sha256'].iloc[-1][:12]} | {run.candidates.shape} |", flush=True)


if __name__ == "__main__":
    main()
