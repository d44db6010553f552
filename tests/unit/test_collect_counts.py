"""The per-pair counts carried from the shards (issue 12 item 4): collect_matches compiles nothing.

``match_run.score_shard`` counts every entry it returns (loci compared, inconsistent loci, the
independent-loci log10 LR) from the tables it scored with; ``collect_matches`` then only merges.
The reference is the path before the change, kept here verbatim (:func:`_collect_reference`:
a dict over the pairs and :func:`kinship.app.match_run._pair_counts`, which compiles the reported
families again); every frame must equal it exactly (values, dtypes, row order), on a run with
independent (parent) and linked (sibling, grandparent, uncle) families, exclusions, untyped and
partial loci, and ties (identical candidates, identical families, ``k`` = 2), with the mutation
model on and off (off: exclusions at -inf).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from kinship.app import checkpoints
from kinship.app import match_run as mr
from kinship.app.parameters import MatchParameters
from kinship.io.frequencies import load_bundled_table
from kinship.matching import streaming
from kinship.matching.compiler import Family
from kinship.matching.ranking import conclude
from kinship.matching.streaming import Entries, ShardResult, merge_results
from tests.simulated import child_of, draw_profile

LOCI = ("CSF1PO", "D12S391", "D13S317", "D16S539", "D18S51", "D21S11", "D3S1358", "D5S818", "D7S820",
        "D8S1179", "FGA", "TH01", "TPOX", "vWA")


def _collect_reference(run, results, *, k, new_candidates=None, new_families=None) -> pd.DataFrame:
    """``collect_matches`` as it was before the counts were carried (commit 3e4e001)."""
    cand, cand_rank, fam, fam_rank, hits = merge_results(results, k=k)
    table: dict[tuple[int, int], list] = {}
    for c, f, v in zip(hits.candidate.tolist(), hits.family.tolist(), hits.score.tolist()):
        table[(c, f)] = [v, None, None]
    for c, f, v, r in zip(cand.candidate.tolist(), cand.family.tolist(), cand.score.tolist(), cand_rank.tolist()):
        table.setdefault((c, f), [v, None, None])[1] = r
    for c, f, v, r in zip(fam.candidate.tolist(), fam.family.tolist(), fam.score.tolist(), fam_rank.tolist()):
        table.setdefault((c, f), [v, None, None])[2] = r
    keys = sorted(table)
    c_idx = np.array([c for c, _ in keys], dtype=np.int64)
    f_idx = np.array([f for _, f in keys], dtype=np.int64)
    log10_lr = np.array([table[key][0] for key in keys], dtype=np.float64)
    n_compared, n_inconsistent, unlinked = mr._pair_counts(run, c_idx, f_idx)
    unlinked = np.where(run.linked_families[f_idx], unlinked, log10_lr) if len(keys) else unlinked
    conclusion, flagged = conclude(log10_lr, n_inconsistent)
    families = run.inputs.families
    new_c = np.ones(len(run.inputs.candidate_ids), bool) if new_candidates is None else new_candidates
    new_f = np.ones(len(families), bool) if new_families is None else new_families
    df = pd.DataFrame(
        {
            "candidate_id": pd.array([run.inputs.candidate_ids[c] for c in c_idx], dtype=str),
            "lab": pd.array([families[f].lab for f in f_idx], dtype=str),
            "family_id": pd.array([families[f].family_id for f in f_idx], dtype=str),
            "family_kind": pd.array([families[f].kind for f in f_idx], dtype=str),
            "log10_lr": log10_lr,
            "log10_lr_unlinked": unlinked,
            "n_loci_compared": n_compared.astype(np.int16),
            "n_inconsistent": n_inconsistent.astype(np.int16),
            "rank_for_candidate": pd.array([table[key][1] for key in keys], dtype="Int32"),
            "rank_for_family": pd.array([table[key][2] for key in keys], dtype="Int32"),
            "conclusion": pd.array(conclusion, dtype=str),
            "flagged": flagged,
            "is_new": new_c[c_idx] | new_f[f_idx] if len(keys) else np.zeros(0, bool),
        }
    )
    order = np.lexsort((df["family_id"].to_numpy(), df["lab"].to_numpy(), -df["log10_lr"].to_numpy(),
                        df["candidate_id"].to_numpy()))
    return df.iloc[order].reset_index(drop=True)


def _collect(run, results, **kwargs) -> pd.DataFrame:
    """``collect_matches`` without the hits' carried tails (``p_unrelated``, tested on their own)."""
    got = mr.collect_matches(run, results, **kwargs)
    assert got.columns[-1] == "p_unrelated"
    return got.drop(columns="p_unrelated")


def _strip(result: ShardResult) -> ShardResult:
    """The result without its counts (as a checkpoint or a search's held tables may give it)."""
    return ShardResult(*(Entries(e.candidate, e.family, e.score) for e in
                         (result.candidate_best, result.family_best, result.hits)))


@pytest.fixture(scope="module", params=["stepwise", "no_mutation"])
def scored(request):
    """A run of couples and single parents (independent loci) and siblings, grandparents and
    uncles (linked pairs joint), with the true children, unrelated children, two identical
    children and two families with identical references (ties), a child untyped at a linked and
    at an unlinked locus, a partial genotype, a reference untyped at a locus; scored shard by
    shard (``k`` = 2, shards of 3 families)."""
    rng = np.random.default_rng(20261204)
    table = load_bundled_table()
    profiles, families, candidates = {}, [], []
    for i in range(16):
        f, m = draw_profile(rng, table, LOCI), draw_profile(rng, table, LOCI)
        fid = f"F-{i:02d}"
        kind = i % 5
        if kind == 0:
            profiles[f"{fid}-f"], profiles[f"{fid}-m"] = f, m
            families.append(Family("LAB-A", fid, father=f"{fid}-f", mother=f"{fid}-m"))
        elif kind == 1:
            profiles[f"{fid}-m"] = m
            families.append(Family("LAB-B", fid, mother=f"{fid}-m"))
        elif kind == 2:
            profiles[f"{fid}-s"] = child_of(rng, f, m)
            families.append(Family("LAB-A", fid, others=((f"{fid}-s", "full_sibling"),)))
        elif kind == 3:
            gf = draw_profile(rng, table, LOCI)
            father = {l: tuple(sorted((gf[l][rng.integers(2)], f[l][0]))) for l in LOCI}
            profiles[f"{fid}-gf"], profiles[f"{fid}-m"] = gf, m
            families.append(Family("LAB-B", fid, mother=f"{fid}-m", others=((f"{fid}-gf", "paternal_grandfather"),)))
            f = father
        else:
            profiles[f"{fid}-u"] = child_of(rng, draw_profile(rng, table, LOCI), draw_profile(rng, table, LOCI))
            profiles[f"{fid}-u"] = {**profiles[f"{fid}-u"], **{l: f[l] for l in LOCI[:7]}}
            families.append(Family("LAB-A", fid, others=((f"{fid}-u", "paternal_aunt_uncle"),)))
        profiles[f"C-{i:02d}"] = child_of(rng, f, m)
        candidates.append(f"C-{i:02d}")
    # identical references in two more families (a couple and a sibling): ties on the families' side
    for twin, of, fam_kwargs in (("F-90", "F-00", lambda p: dict(father=f"{p}-f", mother=f"{p}-m")),
                                 ("F-91", "F-02", lambda p: dict(others=((f"{p}-s", "full_sibling"),)))):
        for suffix in ("f", "m", "s"):
            if f"{of}-{suffix}" in profiles:
                profiles[f"{twin}-{suffix}"] = profiles[f"{of}-{suffix}"]
        families.append(Family("LAB-A", twin, **fam_kwargs(twin)))
    for i in range(24):
        profiles[f"U-{i:02d}"] = draw_profile(rng, table, LOCI)
        candidates.append(f"U-{i:02d}")
    profiles["U-98"] = profiles["U-99"] = profiles["C-03"]  # identical children: ties on the children's side
    candidates += ["U-98", "U-99"]
    profiles["U-00"] = {l: g for l, g in profiles["U-00"].items() if l not in ("vWA", "TPOX")}
    profiles["C-02"] = {l: g for l, g in profiles["C-02"].items() if l != "D12S391"}
    profiles["C-01"] = {**profiles["C-01"], "TH01": (profiles["C-01"]["TH01"][0], "?")}
    profiles["F-05-f"] = {l: g for l, g in profiles["F-05-f"].items() if l != "FGA"}
    refs = sorted(s for s in profiles if s not in candidates)
    families.sort(key=lambda f: (f.lab, f.family_id))
    inputs = mr.MatchInputs(profiles, tuple(refs), tuple(sorted(candidates)), tuple(families))
    mutation = {} if request.param == "stepwise" else {"rate_male": 0.0, "rate_female": 0.0}
    params = MatchParameters(k=2, shard_size=3, threshold=2.0, mutation=mutation)
    eff, _ = mr.effective_frequencies(inputs, table, floor=params.frequency_floor)
    run = mr.encode_run(inputs, eff, params.mutation_model, theta=params.theta, linkage=params.linkage)
    plan = mr.plan_run(run, params)
    results = []
    for families_, candidates_ in plan.shards:  # the candidate floor of the shards so far, as the flow
        kept = streaming.combine_results(results, k=params.k).candidate_best if results else None
        results.append(mr.score_shard(run, families_, candidates_, k=params.k, threshold=params.threshold, kept=kept))
    return run, params, plan, results


def test_the_run_has_what_the_test_is_about(scored):
    run, params, plan, results = scored
    ref = _collect_reference(run, results, k=params.k)
    linked = run.linked_families[[{(f.lab, f.family_id): i for i, f in enumerate(run.inputs.families)}[key]
                                  for key in zip(ref["lab"], ref["family_id"])]]
    assert linked.any() and (~linked).any()
    assert (ref["n_inconsistent"] >= 3).any() and (ref["n_loci_compared"] < len(run.loci)).any()
    assert (ref["log10_lr_unlinked"] != ref["log10_lr"]).any()  # linkage moves some pairs
    assert ref["rank_for_candidate"].isna().any() and ref["rank_for_family"].isna().any()
    assert ref.duplicated(["candidate_id", "log10_lr"]).any()  # ties
    if params.mutation.rate_male == 0.0:
        assert np.isneginf(ref["log10_lr"]).any()


def test_every_entry_a_shard_returns_carries_pair_counts_bits(scored):
    run, _, _, results = scored
    for result in results:
        for side in (result.candidate_best, result.family_best, result.hits):
            if not len(side):
                continue
            assert side.counted.all()
            assert side.n_compared.dtype == side.n_inconsistent.dtype == np.int16
            n_compared, n_inconsistent, unlinked = mr._pair_counts(run, side.candidate, side.family)
            assert np.array_equal(side.n_compared, n_compared)
            assert np.array_equal(side.n_inconsistent, n_inconsistent)
            # the independent-loci sum, bit for bit: the per-locus tables' for linked families,
            # the kernel's own sum (the same tables, the same order) for the others
            assert np.array_equal(side.unlinked, unlinked)
            assert side.unlinked.tobytes() == unlinked.tobytes()
            plain = ~run.linked_families[side.family]
            assert np.array_equal(side.unlinked[plain], side.score[plain])


def test_collect_matches_equals_the_path_that_compiled_again(scored):
    run, params, plan, results = scored
    ref = _collect_reference(run, results, k=params.k, new_candidates=plan.new_candidates, new_families=plan.new_families)
    for given in (results, [_strip(r) for r in results], [r if i % 2 else _strip(r) for i, r in enumerate(results)],
                  [streaming.combine_results(results, k=params.k)]):
        got = _collect(run, given, k=params.k, new_candidates=plan.new_candidates,
                                 new_families=plan.new_families)
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
    # not every child and family new (an incremental run's flags)
    new_c, new_f = np.arange(len(run.inputs.candidate_ids)) % 3 == 0, np.arange(len(run.inputs.families)) % 2 == 0
    pd.testing.assert_frame_equal(_collect(run, results, k=params.k, new_candidates=new_c, new_families=new_f),
                                  _collect_reference(run, results, k=params.k, new_candidates=new_c, new_families=new_f),
                                  check_exact=True)


def test_collect_matches_compiles_nothing_when_the_counts_are_carried(scored, monkeypatch):
    run, params, _, results = scored
    ref = _collect_reference(run, results, k=params.k)

    def refuse(*args, **kwargs):
        raise AssertionError("collect_matches compiled families")

    monkeypatch.setattr(mr.EncodedRun, "family_tables", refuse)
    pd.testing.assert_frame_equal(_collect(run, results, k=params.k), ref, check_exact=True)
    with pytest.raises(AssertionError, match="compiled families"):  # and would, without them
        _collect(run, [_strip(results[0]), *results[1:]], k=params.k)


def test_a_linked_shard_compiles_its_families_once(scored, monkeypatch):
    run, params, plan, _ = scored
    families, candidates = next(s for s in plan.shards if run.linked_families[s[0][0]])
    real, calls = mr.EncodedRun.family_tables, []

    def counting(self, *args, **kwargs):
        calls.append(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(mr.EncodedRun, "family_tables", counting)
    result = mr.score_shard(run, families, candidates, k=params.k, threshold=params.threshold)
    assert calls == [{"linked": True, "per_locus": True}] and result.family_best.counted.all()
    tables = real(run, families.tolist(), linked=True, per_locus=True)
    plain = real(run, families.tolist())
    for a, b in zip(tables.per_locus.log10_lr + tables.per_locus.inconsistent, plain.log10_lr + plain.inconsistent):
        assert a.tobytes() == b.tobytes()
    assert np.array_equal(tables.per_locus.typed, plain.typed) and tables.per_locus.loci == run.loci


def test_the_previous_runs_matches_give_back_the_counts(scored):
    run, params, _, results = scored
    matches = _collect(run, results, k=params.k)
    kept = mr._previous_entries(run, matches, threshold=params.threshold)
    assert kept.hits.counted.all() and kept.candidate_best.counted.all()
    pd.testing.assert_frame_equal(_collect(run, [kept], k=params.k), matches, check_exact=True)
    older = matches.assign(log10_lr_unlinked=np.where(np.arange(len(matches)) % 2, np.nan, matches["log10_lr_unlinked"]))
    kept = mr._previous_entries(run, older, threshold=params.threshold)  # a run stored before the column
    assert kept.hits.counted.any() and not kept.hits.counted.all()
    pd.testing.assert_frame_equal(_collect(run, [kept], k=params.k), matches, check_exact=True)


def test_a_checkpoint_keeps_the_counts_and_an_older_one_reads_without(scored, tmp_path):
    run, params, _, results = scored
    result = results[-1]
    checkpoints.save(tmp_path, "abc", 0, result)
    back = checkpoints.load(tmp_path, "abc", 0)
    for side in ("candidate_best", "family_best", "hits"):
        for field in ("candidate", "family", "score", "n_compared", "n_inconsistent", "unlinked", "tail"):
            a, b = getattr(getattr(back, side), field), getattr(getattr(result, side), field)
            if side != "hits" and field == "tail":  # only the hits carry tails
                assert a is None and b is None
                continue
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), (side, field)
    checkpoints.save(tmp_path, "abc", 1, _strip(result))
    old = checkpoints.load(tmp_path, "abc", 1)
    assert not old.hits.has_counts and not old.candidate_best.has_counts and old.hits.tail is None
    pd.testing.assert_frame_equal(_collect(run, [*results[:-1], old], k=params.k),
                                  _collect(run, results, k=params.k), check_exact=True)


def test_merging_keeps_each_entry_with_its_counts():
    e = Entries(np.array([0, 0, 1, 1]), np.array([3, 4, 3, 4]), np.array([1.0, 2.0, 2.0, 2.0]),
                np.array([10, 11, 12, 13], np.int16), np.array([0, 1, 2, 3], np.int16), np.array([1.5, 2.5, 3.5, 4.5]))
    kept, rank = streaming.best_k(e, by="family", k=1)
    assert kept.family.tolist() == [3, 4] and kept.candidate.tolist() == [1, 0] and rank.tolist() == [1, 1]
    assert kept.n_compared.tolist() == [12, 11] and kept.n_inconsistent.tolist() == [2, 1]
    assert kept.unlinked.tolist() == [3.5, 2.5]
    both = Entries.concat([e, Entries(np.array([5]), np.array([6]), np.array([0.0]))])
    assert both.n_compared.tolist() == [10, 11, 12, 13, -1] and np.isnan(both.unlinked[-1])
    _, _, _, _, hits = streaming.merge_results([ShardResult(Entries.empty(), Entries.empty(), both),
                                                ShardResult(Entries.empty(), Entries.empty(), e)], k=2)
    assert hits.n_compared.tolist() == [10, 11, 12, 13, -1]
    assert not Entries.concat([Entries.empty(), Entries(np.array([1]), np.array([2]), np.array([0.5]))]).has_counts
    assert dataclasses.fields(Entries)[3].default is None


def test_no_pairs_give_the_same_empty_frame(scored):
    run, params, _, _ = scored
    empty = ShardResult(Entries.empty(), Entries.empty(), Entries.empty())
    got = _collect(run, [empty], k=params.k)
    assert len(got) == 0
    pd.testing.assert_frame_equal(got, _collect_reference(run, [empty], k=params.k), check_exact=True)


def test_the_shards_tails_are_what_calibrate_computes_bit_for_bit(scored, monkeypatch):
    """Every hit of a shard carries the calibration tail on its autosomal LR (match_run.with_tails,
    from the tables the shard scored with); calibrate keeps them and compiles nothing, and its
    frame equals the numpy reference's, which computes every hit from freshly compiled tables."""
    run, params, _, results = scored
    for result in results:
        assert result.hits.tail is not None and result.hits.tail.size == len(result.hits)
        assert result.candidate_best.tail is None and result.family_best.tail is None
    matches = mr.collect_matches(run, results, k=params.k)
    hit = matches["log10_lr"].to_numpy() >= params.threshold
    tail = matches["p_unrelated"].to_numpy()
    linked = run.linked_families[[{(f.lab, f.family_id): i for i, f in enumerate(run.inputs.families)}[key]
                                  for key in zip(matches["lab"], matches["family_id"])]]
    assert (hit & linked).any() and (hit & ~linked).any() and (~hit).any()
    assert np.isfinite(tail[hit]).all() and np.isnan(tail[~hit]).all() and (tail[hit] > 0).all()
    ref = mr.calibrate(run, matches, threshold=params.threshold, max_expected_unrelated=1.0, kernel="numpy")
    monkeypatch.setattr(mr.EncodedRun, "family_tables", lambda *a, **k: pytest.fail("calibrate compiled families"))
    got = mr.calibrate(run, matches, threshold=params.threshold, max_expected_unrelated=1.0)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert list(got.columns[-2:]) == ["p_unrelated", "expected_unrelated"]
    np.testing.assert_array_equal(got["p_unrelated"].to_numpy(), tail)
    # the tails of a previous run's stored hits come back with its entries (an incremental run)
    kept = mr._previous_entries(run, got, threshold=params.threshold)
    assert kept.hits.tail.tobytes() == mr.collect_matches(run, results, k=params.k)["p_unrelated"].to_numpy()[
        hit].tobytes()
    # without tails (a checkpoint written before them), calibrate computes them: the same frame
    monkeypatch.undo()
    bare = mr.collect_matches(run, [_strip(r) for r in results], k=params.k)
    assert bare["p_unrelated"].isna().all()
    pd.testing.assert_frame_equal(mr.calibrate(run, bare, threshold=params.threshold, max_expected_unrelated=1.0),
                                  ref, check_exact=True)
