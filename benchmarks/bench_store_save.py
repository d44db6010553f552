"""Saving a match run's kept pairs and inputs into the store: :meth:`kinship.store.Store.save_match_run`.

The frame is drawn with the columns, dtypes and column order that the match flow's
``save_matches`` task passes (the output of :func:`kinship.app.match_run.assess`, as captured
from a 10^4 x 10^4 ``bench_national.py`` run): ``str`` (Arrow) ids and labels, float64 scores,
int16 counts, nullable ``Int16`` / ``Int32`` / ``Float64`` / ``boolean`` columns. It has the
national run's shape, 10^7 pairs of 10^6 families and 10^5 children scaled to ``--pairs``:
100 pairs per candidate, a family in 10 pairs on average, 100 labs (``NAT-000``..``NAT-099``),
ids of 9 characters (``C-0000001``, ``F-0000001``). Rows are sorted by candidate, then
descending log10 LR, as :func:`~kinship.app.match_run.collect_matches` gives them; each
candidate's first 10 pairs have ``rank_for_candidate``, 90 % of the pairs ``rank_for_family``;
the Y-STR columns are null (a run without Y profiles), the joint columns null but for 0.1 % of
the pairs. The run inputs (``--inputs``, default 0.18 per pair: 1.8 x 10^6 for 10^7 pairs) are
one row per candidate and per family with a 64-hex hash.

``--check`` reads the run back (:meth:`~kinship.store.Store.load_matches`,
:meth:`~kinship.store.Store.load_run_inputs`) and compares it with the frame exactly (floats
bit for bit, nulls, text), and times the read.

"Before" is the code at the base of the branch, run with the same script::

    git worktree add /tmp/save-base 18d10de && cp benchmarks/bench_store_save.py /tmp/save-base/benchmarks/
    .venv/bin/python /tmp/save-base/benchmarks/bench_store_save.py --pairs 1000000 --check
    .venv/bin/python benchmarks/bench_store_save.py --pairs 1000000 --check
    .venv/bin/python benchmarks/bench_store_save.py --pairs 1000000 --check \\
        --store postgresql+psycopg://root@127.0.0.1:5432/test

A SQLite store is a fresh file under ``--work`` (default: a temporary folder, removed); a
PostgreSQL URL gets a fresh schema, dropped afterwards. Prints one line per repeat: pairs,
inputs, wall and CPU seconds of ``save_match_run``, pairs per second (of the wall time).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kinship.store import MATCH_COLUMNS, MATCH_V3_COLUMNS, Store  # noqa: E402

KINDS = np.array(["siblings", "couple", "father only", "mother only", "parent + relatives"], dtype=object)
CONCLUSIONS = np.array(["inconclusive", "excluded", "support"], dtype=object)


def matches_frame(n_pairs: int, seed: int = 1) -> pd.DataFrame:
    """The drawn pairs (module docstring): ``n_pairs`` rows, the columns of ``assess``'s output."""
    rng = np.random.default_rng(seed)
    n_cand = max(1, n_pairs // 100)
    n_fam = max(10, n_pairs // 10)
    keys = np.sort(rng.choice(n_cand * n_fam, size=n_pairs, replace=False))  # distinct (candidate, family)
    cand, fam = keys // n_fam, keys % n_fam
    log10_lr = np.round(rng.normal(-9.6, 12.2, n_pairs), 6) + rng.random(n_pairs) * 1e-6  # all 53 bits used
    log10_lr[rng.random(n_pairs) < 0.001] = -np.inf
    order = np.lexsort((-log10_lr, cand))  # candidate, then descending log10 LR
    cand, fam, log10_lr = cand[order], fam[order], log10_lr[order]
    first = np.r_[0, np.flatnonzero(np.diff(cand)) + 1]
    rank = np.arange(n_pairs) - np.repeat(first, np.diff(np.r_[first, n_pairs])) + 1
    joint = rng.random(n_pairs) < 0.001

    def masked(values, present, dtype):  # a nullable column, <NA> where not present
        out = pd.Series(np.where(present, values, 0)).astype(dtype)
        out[~present] = pd.NA
        return out.array

    cand_ids = np.array([f"C-{k:07d}" for k in range(n_cand)], dtype=object)
    fam_ids = np.array([f"F-{k:07d}" for k in range(n_fam)], dtype=object)
    lab_ids = np.array([f"NAT-{k:03d}" for k in range(100)], dtype=object)
    none = np.zeros(n_pairs, dtype=bool)
    posterior = rng.random(n_pairs) ** 8
    return pd.DataFrame({
        "candidate_id": pd.array(cand_ids[cand], dtype="str"),
        "lab": pd.array(lab_ids[fam % 100], dtype="str"),
        "family_id": pd.array(fam_ids[fam], dtype="str"),
        "family_kind": pd.array(KINDS[fam % len(KINDS)], dtype="str"),
        "log10_lr": log10_lr,
        "log10_lr_unlinked": log10_lr - rng.random(n_pairs) * (rng.random(n_pairs) < 0.5),
        "log10_lr_y": masked(np.zeros(n_pairs), none, "Float64"),
        "n_y_loci_compared": masked(np.zeros(n_pairs), none, "Int16"),
        "n_y_mismatches": masked(np.zeros(n_pairs), none, "Int16"),
        "y_steps": masked(np.zeros(n_pairs), none, "Int16"),
        "log10_lr_total": log10_lr,
        "n_loci_compared": np.full(n_pairs, 20, dtype=np.int16),
        "n_inconsistent": rng.integers(0, 12, n_pairs).astype(np.int16),
        "rank_for_candidate": masked(rank, rank <= 10, "Int32"),
        "rank_for_family": masked(rng.integers(1, 11, n_pairs), rng.random(n_pairs) < 0.9, "Int32"),
        "posterior": posterior,
        "posterior_lower": posterior * 0.9,
        "family_posterior": posterior * 0.5,
        "family_posterior_lower": posterior * 0.1,
        "joint_group": masked(np.cumsum(joint), joint, "Int32"),
        "joint_posterior": masked(rng.random(n_pairs), joint, "Float64"),
        "joint_exact": masked(rng.random(n_pairs) < 0.5, joint, "boolean"),
        "conflict": rng.random(n_pairs) < 1e-5,
        "conclusion": pd.array(CONCLUSIONS[np.select([log10_lr >= 4, log10_lr < -5], [2, 1], 0)], dtype="str"),
        "flagged": np.zeros(n_pairs, dtype=bool),
        "p_unrelated": np.where(joint, rng.random(n_pairs), np.nan),
        "expected_unrelated": np.where(joint, rng.random(n_pairs), np.nan),
        "is_new": np.ones(n_pairs, dtype=bool),
    })


def run_inputs(n_inputs: int, seed: int = 2) -> pd.DataFrame:
    """One row per candidate (a tenth) and per family (the rest), as ``match_run.entity_hashes`` gives."""
    rng = np.random.default_rng(seed)
    n_cand = max(1, n_inputs // 10)
    n_fam = n_inputs - n_cand
    digits = np.array(list("0123456789abcdef"))
    sha = ["".join(row) for row in digits[rng.integers(0, 16, (n_inputs, 64))]]
    return pd.DataFrame({
        "entity": pd.array(["candidate"] * n_cand + ["family"] * n_fam, dtype="str"),
        "lab": pd.array([""] * n_cand + [f"NAT-{k % 100:03d}" for k in range(n_fam)], dtype="str"),
        "entity_id": pd.array([f"C-{k:07d}" for k in range(n_cand)] + [f"F-{k:07d}" for k in range(n_fam)], dtype="str"),
        "sha256": pd.array(sha, dtype="str"),
    })


def provenance(run_id: str, n_families: int, n_candidates: int) -> dict:
    """A provenance record with the fields :meth:`~kinship.store.Store.save_match_run` reads."""
    return {"schema": "reunite/provenance/4", "run_id": run_id, "kind": "full", "code_version": "bench",
            "started_at": "2026-12-03T12:00:00+00:00", "parameters": {"k": 10},
            "frequency_table": {"name": "effective", "source": "norstr-2023/East Asia", "sha256": "ab" * 32},
            "inputs": {"n_families": n_families, "n_candidates": n_candidates}, "outputs": {}}


def check(store: Store, run_id: str, frame: pd.DataFrame, inputs: pd.DataFrame) -> float:
    """Read the run back and compare it with what was written, exactly; the read's seconds."""
    t = time.perf_counter()
    got = store.load_matches(run_id)
    got_inputs = store.load_run_inputs(run_id)
    seconds = time.perf_counter() - t
    want = frame.rename(columns={"flagged": "flag"})
    want = want.assign(_rank=want["rank_for_candidate"].fillna(2**31 - 1)).sort_values(
        ["candidate_id", "_rank", "lab", "family_id"], kind="stable").reset_index(drop=True)
    dtypes = {"lab": "str", "family_id": "str", "candidate_id": "str", "log10_lr": "float64", "n_loci_compared": "int16",
              "n_inconsistent": "int16", "rank_for_candidate": "Int32", "rank_for_family": "Int32",
              "posterior": "float64", "conclusion": "str", "flag": "bool", "family_kind": "str", **MATCH_V3_COLUMNS}
    columns = [*MATCH_COLUMNS, "family_kind", *MATCH_V3_COLUMNS]
    want = pd.DataFrame({c: want[c].astype(dtypes[c]) if dtypes[c] != "float64" else
                         want[c].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan) for c in columns})
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for c in columns:
        if got[c].dtype == np.float64:
            a, b = got[c].to_numpy(), want[c].to_numpy()
            assert np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(
                a[~np.isnan(a)].view(np.int64), b[~np.isnan(b)].view(np.int64)), c
    want_inputs = inputs.sort_values(["entity", "lab", "entity_id"]).reset_index(drop=True).astype("str")
    pd.testing.assert_frame_equal(got_inputs.astype("str"), want_inputs, check_exact=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--inputs", type=int, help="run-input rows (default: 0.18 per pair)")
    parser.add_argument("--store", help="a SQLAlchemy URL (PostgreSQL: a fresh schema); default a SQLite file")
    parser.add_argument("--work", type=Path, help="folder of the SQLite file (default: a temporary folder)")
    parser.add_argument("--repeat", type=int, default=1, help="runs, each into a fresh store")
    parser.add_argument("--check", action="store_true", help="read the run back and compare it exactly")
    args = parser.parse_args()
    n_inputs = args.inputs if args.inputs is not None else int(0.18 * args.pairs)
    t = time.perf_counter()
    frame, inputs = matches_frame(args.pairs), run_inputs(n_inputs)
    import kinship

    print(f"drawn {len(frame)} pairs, {len(inputs)} inputs in {time.perf_counter() - t:.1f} s; "
          f"code {Path(kinship.__file__).parents[1]}", flush=True)
    for k in range(args.repeat):
        run_id = f"run-20261203T120000000000Z-{k:08x}"
        record = provenance(run_id, int((inputs["entity"] == "family").sum()), int((inputs["entity"] == "candidate").sum()))
        folder = schema = None
        if args.store:
            schema = f"bench_save_{uuid.uuid4().hex[:12]}"
            store = Store(args.store, schema=schema)
        else:
            folder = Path(tempfile.mkdtemp(prefix="bench-save-", dir=args.work))
            store = Store(folder / "store.sqlite")
        try:
            t, c = time.perf_counter(), time.process_time()
            store.save_match_run(record, frame, run_inputs=inputs, complete=False)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            line = (f"{store.engine.dialect.name}: {len(frame)} pairs + {len(inputs)} inputs saved in {wall:.2f} s "
                    f"(CPU {cpu:.2f} s), {len(frame) / wall:,.0f} pairs/s")
            if args.check:
                line += f"; read back identical in {check(store, run_id, frame, inputs):.2f} s"
            print(line, flush=True)
        finally:
            if schema is not None:
                import sqlalchemy as sa

                with store.engine.begin() as conn:
                    conn.execute(sa.text(f'drop schema "{schema}" cascade'))
            store.close()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
