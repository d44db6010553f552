"""National re-match through the real pipeline (issue 12, items 1-2): files -> store -> match flow -> outputs.

Stages, each in a process of its own (so that each has its own wall time and peak RSS):

``generate``
    :func:`reunite_demo.national.national_batch` and :func:`~reunite_demo.national.write_national_batch`:
    tidy Parquet exports and manifests, one batch per lab (100 labs), plus one extra batch of
    children for the incremental run, and the truth files. Not part of the pipeline.
``ingest``
    A fresh SQLite store; the labs registered (:meth:`kinship.store.Store.register_lab`, as the
    pipeline flow's ``labs=`` does); every batch through :func:`kinship.app.ingest.ingest_batch`
    (the function the ingest flow's task runs), ``fmt="parquet"``. Every row must land.
``match_full``
    The match flow itself (:func:`flows.match.match`, ``full=True``) in Prefect's ephemeral mode
    (``PREFECT_HOME`` a fresh folder under the work folder, analytics off, logging WARNING):
    store -> outputs (matches, pair_loci, provenance, report) under ``WORK/out``.
``ingest_extra``
    The extra batch (1,000 children by default) into the same store.
``match_incremental``
    The match flow again, ``full=False``: the run must plan as incremental.

Inside a match stage the library steps the flow's tasks call are timed by wrapping them in this
process (``time.perf_counter``; no product code is changed): ``kinship.app.match_run``'s
functions, the kernel (``kinship.matching.streaming.score_shard``), the family compiler
(``EncodedRun.family_tables``, attributed to the step that called it), ``lineage.y_evidence``,
``report.write_all`` and the store's loads and saves. ``score_shard`` runs on the flow's two
threads: its "sum" is thread time, its "span" first start to last end.

After the flow has returned and the stage's peak RSS is recorded, the same process measures,
outside the timed run:

* the quality against the truth file: :func:`reunite_demo.evaluation.score_against_truth` (per
  family kind of the run) and, per kind of the generator, true children whose family ranks first,
  at CPI >= 10,000, and concluded ``support``;
* the false hits (unrelated pairs at CPI >= 10,000) against their prediction. The prediction
  is ``sum over families f of n_unrelated(f) * P_f(LR >= 10,000 | unrelated)``, each tail from
  the run's own calibration (:func:`kinship.app.match_run.calibrate` on a pair at log10 LR = 4
  exactly, for a fully typed candidate), over every family or a random sample of each kind
  (``--prediction-sample``) scaled to the kind's count. This is the expected number of false
  hits. The sum of ``expected_unrelated`` over the hits the run found is a different number
  (each term is a tail at that hit's own, higher, LR, and only families with a hit contribute;
  for a family with few expected hits it is about half the square of the expectation); it is
  printed too;
* the compile time per family by kind (the scoring layout: linked for families with relatives
  other than parents), on a sample of each kind.

Usage::

    .venv/bin/python benchmarks/bench_national.py --families 10000 --children 10000 --work /tmp/nat-1e4
    .venv/bin/python benchmarks/bench_national.py --families 100000 --children 10000 --work /tmp/nat-1e5

Prints one line per stage and the quality tables, and writes ``WORK/bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("generate", "ingest", "match_full", "ingest_extra", "match_incremental")


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# ---------------------------------------------------------------- step timers (match stages)

class Timers:
    """Wall time of wrapped calls: per name, calls, summed seconds, first start and last end."""

    def __init__(self, partial: Path | None = None) -> None:
        self.lock = threading.Lock()
        self.rows: dict[str, list[float]] = {}
        self.local = threading.local()
        self.partial = partial
        self.origin = time.perf_counter()
        self.active: dict[str, int] = {}  # outer steps running now (on any thread)
        self.rss_max: dict[str, float] = {}  # per step, the largest RSS (GB) the sampler saw while it ran
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        """Every 0.2 s, charge the process's current RSS to every step running now."""
        page = os.sysconf("SC_PAGE_SIZE")
        while True:
            with open("/proc/self/statm") as fh:
                rss = int(fh.read().split()[1]) * page / 2**30
            with self.lock:
                for name in [n for n, c in self.active.items() if c > 0] or ["-"]:
                    self.rss_max[name] = max(self.rss_max.get(name, 0.0), rss)
            time.sleep(0.2)

    def add(self, name: str, start: float, end: float) -> None:
        with self.lock:
            row = self.rows.setdefault(name, [0, 0.0, start, end])
            row[0] += 1
            row[1] += end - start
            row[2] = min(row[2], start)
            row[3] = max(row[3], end)
            if self.partial is not None:  # what a stage stopped before its end had done
                self.partial.write_text(json.dumps(self.summary(), indent=1))

    def summary(self) -> dict:
        return {k: {"calls": v[0], "sum_s": v[1], "span_s": v[3] - v[2], "first_start_s": v[2] - self.origin,
                    "last_end_s": v[3] - self.origin, "rss_max_gb": self.rss_max.get(k)}
                for k, v in sorted(self.rows.items())}

    def wrap(self, owner, attr: str, name: str | None = None, *, inner: bool = False):
        """Replace ``owner.attr`` by a timed call. An outer step sets the thread's current step;
        an ``inner`` one (the compiler, the kernel) is recorded as ``<current step>/<name>``."""
        fn = getattr(owner, attr)
        name = name or attr
        timers = self

        def timed(*args, **kwargs):
            stack = timers.local.__dict__.setdefault("stack", [])
            label = f"{stack[-1] if stack else '-'}/{name}" if inner else name
            if not inner:
                stack.append(name)
                with timers.lock:
                    timers.active[name] = timers.active.get(name, 0) + 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timers.add(label, start, time.perf_counter())
                if not inner:
                    stack.pop()
                    with timers.lock:
                        timers.active[name] -= 1

        timed.__wrapped__ = fn
        setattr(owner, attr, timed)
        return fn


def _instrument(timers: Timers, captured: dict) -> None:
    from kinship import report
    from kinship.app import lineage, match_run
    from kinship.matching import streaming
    from kinship.store import Store

    for name in ("assemble_inputs", "effective_frequencies", "plan_run", "score_shard", "collect_matches",
                 "calibrate", "assess", "reported_pairs", "pair_loci", "provenance"):
        timers.wrap(match_run, name)
    encode = timers.wrap(match_run, "encode_run")
    timed_encode = match_run.encode_run

    def encode_and_keep(*args, **kwargs):  # keep the run's EncodedRun for the measurements after the flow
        captured["run"] = timed_encode(*args, **kwargs)
        return captured["run"]

    encode_and_keep.__wrapped__ = encode
    match_run.encode_run = encode_and_keep
    timers.wrap(streaming, "fold_candidate_best", "combine")
    timers.wrap(streaming, "score_shard", "kernel", inner=True)
    timers.wrap(match_run.EncodedRun, "family_tables", "compile", inner=True)
    from kinship.app import table_cache  # the compiled-table cache (issue 12): reads, writes, digests

    timers.wrap(table_cache.TableCache, "get", "cache_get", inner=True)
    timers.wrap(table_cache.TableCache, "put", "cache_put", inner=True)
    timers.wrap(table_cache, "family_digests")
    timers.wrap(lineage, "y_evidence")
    timers.wrap(report, "write_all")
    for name in ("load_genotypes", "load_family_members", "load_samples", "load_pedigrees", "load_families",
                 "latest_match_run", "load_run_inputs", "load_matches", "save_match_run", "finish_match_run",
                 "warning_counts_by_locus"):
        timers.wrap(Store, name, f"store.{name}")


# ---------------------------------------------------------------- stages

def stage_generate(work: Path, args) -> dict:
    from reunite_demo.national import national_batch, write_national_batch

    t = time.perf_counter()
    batch = national_batch(args.families, args.children, seed=args.seed, n_labs=args.labs,
                           n_extra_children=args.extra)
    t_draw = time.perf_counter() - t
    index = write_national_batch(batch, work / "files")
    return {"draw_s": t_draw, "write_s": time.perf_counter() - t - t_draw, "n_references": index["n_references"],
            "n_batches": len(index["batches"]), "n_children": index["n_children"],
            "n_extra_children": index["n_extra_children"]}


def _index(work: Path) -> dict:
    index = json.loads((work / "files" / "index.json").read_text())
    for part in ("batches", "extra"):
        for entry in index[part]:
            entry["export"] = str(work / "files" / entry["export"])
            entry["manifest"] = str(work / "files" / entry["manifest"])
    return index


def _ingest(work: Path, part: str) -> dict:
    from kinship.app.ingest import ingest_batch
    from kinship.store import Store

    index = _index(work)
    store = Store(str(work / "store.sqlite"))
    for code, name in index["labs"].items():
        store.register_lab(code, name)
    seconds, landed, quarantined, profiles = [], 0, 0, 0
    for entry in index[part]:
        t = time.perf_counter()
        s = ingest_batch(store, entry["export"], entry["manifest"], lab=entry["lab"], fmt=entry["fmt"])
        seconds.append(time.perf_counter() - t)
        landed += s.n_landed
        quarantined += s.n_quarantined
        profiles += s.n_samples_landed
    if quarantined:
        raise SystemExit(f"{quarantined} rows quarantined in {part}: the generated files must ingest cleanly")
    return {"n_batches": len(seconds), "batch_s_min": min(seconds), "batch_s_max": max(seconds),
            "batch_s_sum": sum(seconds), "samples_landed": profiles, "rows_landed": landed, "rows_quarantined": quarantined}


def stage_ingest(work: Path, args) -> dict:
    if (work / "store.sqlite").exists():
        (work / "store.sqlite").unlink()
    return _ingest(work, "batches")


def stage_ingest_extra(work: Path, args) -> dict:
    return _ingest(work, "extra")


def _match(work: Path, args, *, full: bool) -> dict:
    timers, captured = Timers(work / f"steps_{'full' if full else 'incremental'}.partial.json"), {}
    _instrument(timers, captured)
    from flows.match import match

    t = time.perf_counter()
    result = match(store=str(work / "store.sqlite"), out_dir=str(work / "out"), full=full)
    flow_s = time.perf_counter() - t
    out = {"flow_s": flow_s, "peak_rss_gb_run": _peak_rss_gb(),
           "steps": timers.summary(),
           "comparison": result["provenance"].get("comparison"), "paths": result["paths"]}
    out["peak_rss_gb"] = out["peak_rss_gb_run"]  # the stage's peak is the run's, not the measurements' after it
    if not full and out["comparison"]["kind"] != "incremental":  # recorded (the timings are kept), then refused
        out["not_incremental"] = (f"the second run planned as {out['comparison']['kind']!r} "
                                  f"({out['comparison']['reason']}); run every stage on one commit")
    # an incremental run has the full run's families and table: their tails are the full run's
    tails = None if full else {k: v["p_tail_mean"] for k, v in json.loads(
        (work / "stage_match_full.json").read_text())["quality"]["false_hits"].items()}
    out["quality"] = _quality(work, captured["run"], result["paths"]["matches_parquet"], args, tails=tails)
    if full:
        out["compile_by_kind"] = _compile_by_kind(captured["run"], args)
    out["peak_rss_gb_with_measurements"] = _peak_rss_gb()
    return out


def stage_match_full(work: Path, args) -> dict:
    return _match(work, args, full=True)


def stage_match_incremental(work: Path, args) -> dict:
    return _match(work, args, full=False)


# ---------------------------------------------------------------- measurements after the flow

def _run_kind(f) -> str:
    """The generator's kind of a run family (one and two siblings told apart)."""
    if f.kind == "siblings":
        return "one sibling" if len(f.relationships) == 1 else "two siblings"
    if f.kind == "parent + relatives":
        return "parent + grandparent"
    return f.kind


def _quality(work: Path, run, matches_path: str, args, *, tails: dict | None = None) -> dict:
    import numpy as np
    import pandas as pd

    from kinship.app import match_run
    from kinship.app.parameters import MatchParameters
    from kinship.matching.ranking import SUPPORT_LOG10_CPI
    from reunite_demo.evaluation import score_against_truth
    from reunite_demo.national import KINDS

    matches = pd.read_parquet(matches_path)
    truth = pd.read_csv(work / "files" / "truth.csv", dtype=str, keep_default_na=False)
    truth = truth[truth["candidate_id"].isin(set(run.inputs.candidate_ids))]
    score = score_against_truth(matches, truth)
    score.pop("adds", None)

    # per generator kind: the true children
    kids = truth[truth["truth"] == "child_of_family"]
    pair = kids.merge(matches, how="left", on=["candidate_id", "lab", "family_id"], suffixes=("", "_run"))
    by_kind = {}
    for kind in KINDS:
        p = pair[pair["family_kind"] == kind]
        lr = p["log10_lr"].to_numpy(dtype=float, na_value=np.nan)
        by_kind[kind] = {
            "true_children": int(len(p)),
            "ranked_first": int(p["rank_for_candidate"].eq(1).fillna(False).astype(bool).sum()),
            "cpi_supports": int((lr >= SUPPORT_LOG10_CPI).sum()),
            "decided_support": int((p["conclusion"] == "support").sum()),
            "not_reported": int(np.isnan(lr).sum()),
        }

    # false hits vs prediction, per generator kind
    params = MatchParameters()
    families = run.inputs.families
    fam_kind = np.array([_run_kind(f) for f in families], dtype=object)
    fam_col = {(f.lab, f.family_id): k for k, f in enumerate(families)}
    has_child = np.zeros(len(families), dtype=bool)
    for lab, fid in zip(kids["lab"], kids["family_id"]):
        has_child[fam_col[(lab, fid)]] = True
    n_cand = len(run.inputs.candidate_ids)
    unrelated_ids = truth.loc[truth["truth"] == "unrelated", "candidate_id"]
    probe = unrelated_ids.iloc[0]  # fully typed at every locus, like every candidate here
    is_true = matches.merge(kids[["candidate_id", "lab", "family_id"]].assign(t=True), how="left",
                            on=["candidate_id", "lab", "family_id"])["t"].eq(True).to_numpy()
    m_kind = np.array([fam_kind[fam_col[(a, b)]] for a, b in zip(matches["lab"], matches["family_id"])], dtype=object)
    hit = (matches["log10_lr"].to_numpy() >= SUPPORT_LOG10_CPI) & ~is_true
    eu = matches["expected_unrelated"].to_numpy(dtype=float, na_value=np.nan)
    rng = np.random.default_rng(args.seed)
    false_hits = {}
    t = time.perf_counter()
    for kind in KINDS:
        members = np.flatnonzero(fam_kind == kind)
        if members.size == 0:
            continue
        if tails is not None:  # the full run's mean tail of the kind, at this run's number of candidates
            sample = np.zeros(0, dtype=np.int64)
            p = np.array([tails[kind]])
            predicted = float(tails[kind] * (members.size * n_cand - has_child[members].sum()))
        else:
            sample = members if members.size <= args.prediction_sample else np.sort(
                rng.choice(members, size=args.prediction_sample, replace=False))
            rows = pd.DataFrame({"candidate_id": probe, "lab": [families[f].lab for f in sample],
                                 "family_id": [families[f].family_id for f in sample],
                                 "family_kind": [families[f].kind for f in sample],
                                 "log10_lr": SUPPORT_LOG10_CPI, "n_inconsistent": np.zeros(sample.size, np.int16)})
            p = match_run.calibrate(run, rows, threshold=params.threshold, max_expected_unrelated=None)["p_unrelated"]
            p = p.to_numpy(dtype=float)
            n_unrel = n_cand - has_child[sample].astype(int)
            predicted = float((p * n_unrel).sum() * members.size / sample.size)
        sel = hit & (m_kind == kind)
        false_hits[kind] = {
            "families": int(members.size), "sampled": int(sample.size),
            "observed": int(sel.sum()), "predicted": predicted,
            "p_tail_mean": float(p.mean()),
            "sum_expected_unrelated_of_hits": float(np.nansum(eu[sel])),
            "turing_bound": float(members.size * n_cand * 10.0 ** -SUPPORT_LOG10_CPI),
        }
    return {"score": score, "true_by_kind": by_kind, "false_hits": false_hits,
            "prediction_s": time.perf_counter() - t, "n_pairs": int(len(families) * n_cand),
            "n_reported": int(len(matches))}


def _compile_by_kind(run, args) -> dict:
    import numpy as np

    fam_kind = np.array([_run_kind(f) for f in run.inputs.families], dtype=object)
    rng = np.random.default_rng(args.seed + 1)
    out = {}
    for kind in sorted(set(fam_kind)):
        members = np.flatnonzero(fam_kind == kind)
        sample = members if members.size <= 200 else np.sort(rng.choice(members, size=200, replace=False))
        t = time.perf_counter()
        run.scoring_tables(sample)
        out[kind] = {"ms_per_family": 1000 * (time.perf_counter() - t) / sample.size, "sampled": int(sample.size),
                     "families": int(members.size)}
    return out


# ---------------------------------------------------------------- report

#: Steps of a match stage in the flow's order (``store.*`` loads and saves folded into "store").
_STEP_ORDER = ("assemble_inputs", "effective_frequencies", "encode_run", "plan_run", "family_digests", "score_shard",
               "score_shard/compile", "score_shard/kernel", "score_shard/cache_get", "score_shard/cache_put",
               "combine", "collect_matches", "collect_matches/compile", "y_evidence", "calibrate",
               "calibrate/compile", "-/compile", "assess", "reported_pairs", "pair_loci", "pair_loci/compile",
               "provenance", "write_all")


def format_report(summary: dict) -> str:
    """Markdown tables of a ``bench.json``: stages, match steps, quality, false hits, compile by kind."""
    st = summary["stages"]
    size = f"{summary['families']:,} families x {summary['children']:,} children (+{summary['extra']:,})"
    lines = [f"**{size}**", "", "| stage | wall s | peak RSS GB | load (1 min) start/end | what |", "|---|---|---|---|---|"]
    for name in STAGES:
        if name not in st:
            continue
        r = st[name]
        what = {"generate": f"draw {r.get('draw_s', 0):.1f} s, write {r.get('write_s', 0):.1f} s, "
                            f"{r.get('n_references', 0):,} references, {r.get('n_batches', 0)} batches",
                "ingest": f"{r.get('n_batches', 0)} batches, {r.get('samples_landed', 0):,} profiles, "
                          f"{r.get('batch_s_min', 0):.2f}-{r.get('batch_s_max', 0):.2f} s per batch, sum {r.get('batch_s_sum', 0):.1f} s",
                "ingest_extra": f"{r.get('samples_landed', 0):,} profiles in {r.get('batch_s_sum', 0):.1f} s"}.get(name)
        if what is None:
            c = r.get("comparison") or {}
            what = (f"flow call {r['flow_s']:.1f} s; {c.get('kind')} run, {c.get('n_pairs_scored_now', 0):,} pairs scored, "
                    f"{c.get('n_reported_pairs', 0):,} reported")
        load = r.get("loadavg_1min")
        load = f"{load[0]:.1f} / {load[1]:.1f}" if load else "-"
        lines.append(f"| {name} | {r['wall_s']:.1f} | {r['peak_rss_gb']:.2f} | {load} | {what} |")
    runs = [n for n in ("match_full", "match_incremental") if n in st]
    if runs:
        lines += ["", "| step (inside the flow) | " + " | ".join(f"{n} s (calls) | RSS GB" for n in runs) + " |",
                  "|---|" + "---|---|" * len(runs)]
        for step in _STEP_ORDER + ("store",):
            cells = []
            for n in runs:
                steps = st[n]["steps"]
                if step == "store":
                    v = sum(x["sum_s"] for k, x in steps.items() if k.startswith("store."))
                    rss = max((x.get("rss_max_gb") or 0.0 for k, x in steps.items() if k.startswith("store.")), default=0.0)
                    cells.append(f"{v:.1f} | {rss:.2f}" if rss else f"{v:.1f} | -")
                elif step in steps:
                    x = steps[step]
                    span = f", span {x['span_s']:.1f}" if x["calls"] > 1 and abs(x["span_s"] - x["sum_s"]) > 0.05 else ""
                    rss = x.get("rss_max_gb")
                    cells.append(f"{x['sum_s']:.1f} ({x['calls']}{span}) | " + (f"{rss:.2f}" if rss else "-"))
                else:
                    cells.append("- | -")
            lines.append(f"| {step} | " + " | ".join(cells) + " |")
        for n in runs:
            q = st[n]["quality"]
            lines += ["", f"{n}: true children by the generator's family kind "
                          f"({q['n_pairs']:,} pairs, {q['n_reported']:,} reported)", "",
                      "| kind | true children | family ranks first | CPI >= 10,000 | concluded support | not reported |",
                      "|---|---|---|---|---|---|"]
            for kind, v in q["true_by_kind"].items():
                lines.append(f"| {kind} | {v['true_children']} | {v['ranked_first']} | {v['cpi_supports']} | "
                             f"{v['decided_support']} | {v['not_reported']} |")
            lines += ["", f"{n}: false hits (unrelated pairs at CPI >= 10,000) against the prediction", "",
                      "| kind | families | tail sampled | observed | predicted (sum of n x P(LR >= 1e4)) | "
                      "sum of expected_unrelated of the hits | bound n x F / 1e4 |", "|---|---|---|---|---|---|---|"]
            tot = [0, 0.0, 0.0]
            for kind, v in q["false_hits"].items():
                tot[0] += v["observed"]
                tot[1] += v["predicted"]
                tot[2] += v["sum_expected_unrelated_of_hits"]
                lines.append(f"| {kind} | {v['families']:,} | {v['sampled']:,} | {v['observed']} | {v['predicted']:.1f} | "
                             f"{v['sum_expected_unrelated_of_hits']:.2f} | {v['turing_bound']:,.0f} |")
            lines.append(f"| all | | | {tot[0]} | {tot[1]:.1f} | {tot[2]:.2f} | |")
        c = st[runs[0]].get("compile_by_kind", {})
        lines += ["", "compile (scoring layout), ms per family: " + ", ".join(
            f"{k} {v['ms_per_family']:.1f} ({v['families']:,} families)" for k, v in c.items())]
    return "\n".join(lines)


# ---------------------------------------------------------------- driver

def _child(stage: str, work: Path, args) -> None:
    load_start = os.getloadavg()  # the machine is shared: the 1-minute load beside the timings
    result = globals()[f"stage_{stage}"](work, args)
    result.setdefault("peak_rss_gb", _peak_rss_gb())
    result["loadavg_1min"] = [load_start[0], os.getloadavg()[0]]
    (work / f"stage_{stage}.json").write_text(json.dumps(result, indent=1, default=str))


def _environment(work: Path) -> dict:
    env = dict(os.environ)
    env.update(PREFECT_HOME=str(work / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90",
               PYTHONPATH=str(ROOT))
    env.pop("PREFECT_API_URL", None)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--extra", type=int, default=1_000, help="children of the batch before the incremental run")
    parser.add_argument("--labs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, required=True, help="work folder (files, store, outputs, timings)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    parser.add_argument("--prediction-sample", type=int, default=400,
                        help="families per kind whose tail P(LR >= 10^4 | unrelated) is computed (all when fewer)")
    parser.add_argument("--report", action="store_true", help="print the markdown tables of WORK/bench.json and stop")
    parser.add_argument("--stage", help=argparse.SUPPRESS)  # internal: run one stage in this process
    args = parser.parse_args()
    work = args.work.resolve()
    if args.report:
        print(format_report(json.loads((work / "bench.json").read_text())))
        return
    if args.stage:
        _child(args.stage, work, args)
        return
    work.mkdir(parents=True, exist_ok=True)
    (work / "prefect").mkdir(exist_ok=True)
    summary = {"families": args.families, "children": args.children, "extra": args.extra, "stages": {}}
    bench = work / "bench.json"
    if bench.exists():
        summary["stages"] = json.loads(bench.read_text()).get("stages", {})
    for stage in args.stages.split(","):
        t = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--stage", stage], env=_environment(work))
        wall = time.perf_counter() - t
        if done.returncode != 0:
            raise SystemExit(f"stage {stage} failed (exit {done.returncode})")
        result = json.loads((work / f"stage_{stage}.json").read_text())
        result["wall_s"] = wall
        summary["stages"][stage] = result
        bench.write_text(json.dumps(summary, indent=1, default=str))
        print(f"{stage}: wall {wall:.1f} s, peak RSS {result['peak_rss_gb']:.2f} GB", flush=True)
        if "not_incremental" in result:
            raise SystemExit(result["not_incremental"])
    print(format_report(summary))


if __name__ == "__main__":
    main()
