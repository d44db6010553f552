"""The compiled-table cache (kinship.app.table_cache) gives the tables compiling gives, bit for bit.

A run scored with a cold cache (every shard compiled and written), then with a warm one (every
shard read back, nothing compiled), gives the same matches as a run without a cache, byte for
byte; a damaged entry is detected and compiled again; a changed parameter or family misses; a
shard whose families moved is assembled from the entries that hold them.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from kinship.app import match_run as mr
from kinship.app.search import SearchIndex, SearchTarget, search
from kinship.app.table_cache import TableCache, family_digests, tables_fingerprint
from kinship.matching.reference import FamilyTables
from kinship.genetics.mutation import MutationModel
from tests.unit.test_search import store_like  # noqa: F401 - the fixture: couples, single parents, siblings, grandparents


def _bits(tables):
    """Every array of a FamilyTables as bytes (float64 compared by their bits, not by value)."""
    return ([np.ascontiguousarray(T).view(np.int64).tobytes() for T in tables.log10_lr]
            + [np.ascontiguousarray(I).tobytes() for I in tables.inconsistent] + [tables.typed.tobytes()],
            tables.loci, [T.shape for T in tables.log10_lr])


def _matches_bytes(run, params, cache=None, digests=None) -> tuple[bytes, list]:
    plan = mr.plan_run(run, params)
    results = [mr.score_shard(run, f, c, k=params.k, threshold=params.threshold, cache=cache,
                              digests=None if digests is None else digests[f]) for f, c in plan.shards]
    matches = mr.collect_matches(run, results, k=params.k)
    buf = io.BytesIO()
    matches.to_parquet(buf, index=False)
    return buf.getvalue(), results


def _entries(folder):
    return sorted(p for p in folder.glob("*/*") if p.is_dir())


def test_cold_then_warm_cache_gives_the_same_matches_bytes(store_like, tmp_path):  # noqa: F811
    run, params, *_ = store_like
    digests = family_digests(run.inputs)
    plain, plain_results = _matches_bytes(run, params)
    n_shards = len(mr.plan_run(run, params).shards)
    assert n_shards >= 3 and run.linked_families.any() and not run.linked_families.all()

    cold = TableCache(tmp_path / "tables")
    got, _ = _matches_bytes(run, params, cold, digests)
    assert got == plain
    assert cold.stats == {"hits": 0, "misses": n_shards, "reused": 0, "compiled": len(run.inputs.families),
                          "corrupt": 0, "written": n_shards}
    assert len(_entries(tmp_path / "tables")) == n_shards

    warm = TableCache(tmp_path / "tables")  # a new process: nothing in memory
    got, warm_results = _matches_bytes(run, params, warm, digests)
    assert got == plain
    assert warm.stats["hits"] == n_shards and warm.stats["compiled"] == 0 and warm.stats["written"] == 0
    for a, b in zip(plain_results, warm_results):  # the shards' kept entries, bit for bit
        for side in ("candidate_best", "family_best", "hits"):
            for field in ("candidate", "family", "score"):
                assert getattr(getattr(a, side), field).tobytes() == getattr(getattr(b, side), field).tobytes()
    # the tables read back are the compiled ones and memory-mapped, read-only
    for families, _ in mr.plan_run(run, params).shards:
        linked = bool(run.linked_families[families[0]])
        read = warm.shard_tables(run, families, digests=digests[families])
        assert _bits(read) == _bits(run.family_tables(families.tolist(), linked=linked))
        assert isinstance(read.log10_lr[0].base, np.memmap) or isinstance(read.log10_lr[0], np.memmap)
        assert not read.log10_lr[0].flags.writeable


def test_a_shards_work_reads_the_cache_with_the_families_digests(store_like, tmp_path):  # noqa: F811
    run, params, *_ = store_like
    digests = family_digests(run.inputs)
    cache = TableCache(tmp_path / "t")
    for families, candidates in mr.plan_run(run, params).shards:
        whole = mr.score_shard(run, families, candidates, k=params.k, threshold=params.threshold)
        work = mr.shard_work(run, families)
        travelled = pickle.loads(pickle.dumps(cache))  # as to a Dask worker
        for _ in range(2):  # cold, then warm
            part = mr.score_shard_work(work, families, candidates, k=params.k, threshold=params.threshold,
                                       cache=travelled, digests=digests[families])
            for side in ("candidate_best", "family_best", "hits"):
                assert getattr(part, side).score.tobytes() == getattr(whole, side).score.tobytes()
                assert getattr(part, side).family.tolist() == getattr(whole, side).family.tolist()
        assert travelled.stats["hits"] == 1 and travelled.stats["misses"] == 1
        with pytest.raises(ValueError, match="digests"):
            mr.score_shard_work(work, families, candidates, k=params.k, threshold=params.threshold, cache=cache)


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "manifest", "wrong families"])
def test_a_damaged_entry_is_detected_removed_and_compiled_again(store_like, tmp_path, damage):  # noqa: F811
    run, params, *_ = store_like
    digests = family_digests(run.inputs)
    families = np.flatnonzero(~run.linked_families)[:4]
    cache = TableCache(tmp_path / "t")
    want = _bits(run.family_tables(families.tolist()))
    cache.shard_tables(run, families, digests=digests[families])
    [entry] = _entries(tmp_path / "t")
    path = entry / "log10_lr.npy"
    assert _bits(TableCache(tmp_path / "t").get(tables_fingerprint(run, linked=False), digests[families])) == want
    before = path.stat()  # verified once in this process: the next read of the same file is not hashed again
    if damage == "flip a byte":
        raw = bytearray(path.read_bytes())
        raw[-3] ^= 0x01  # one bit of one float64 of the data
        path.write_bytes(bytes(raw))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size and mtime: the ctime tells
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:-8])
    elif damage == "manifest":
        (entry / "manifest.json").write_text("{not json")
    else:  # the families array of another shard under this name
        np.save(entry / "families.npy", np.zeros((4, 32), dtype=np.uint8))
    fresh = TableCache(tmp_path / "t")
    fingerprint = tables_fingerprint(run, linked=False)
    assert fresh.get(fingerprint, digests[families]) is None
    assert fresh.stats["corrupt"] == 1 and not entry.exists()  # removed, never used
    got = fresh.shard_tables(run, families, digests=digests[families])
    assert _bits(got) == want and fresh.stats["compiled"] == 4
    assert _bits(TableCache(tmp_path / "t").get(fingerprint, digests[families])) == want  # written again


def test_a_changed_parameter_or_family_misses(store_like, tmp_path):  # noqa: F811
    run, params, *_ = store_like
    digests = family_digests(run.inputs)
    families = np.flatnonzero(run.linked_families)[:3]
    cache = TableCache(tmp_path / "t")
    cache.shard_tables(run, families, digests=digests[families])
    assert cache.stats["misses"] == 1
    fp = tables_fingerprint(run, linked=True)
    others = {
        "theta": replace(run, theta=0.01),
        "mutation model": replace(run, model=MutationModel(rate_male=0.003)),
        "loci": replace(run, loci=run.loci[:-1]),
        "layout": None,
    }
    for what, changed in others.items():
        other = tables_fingerprint(run, linked=False) if changed is None else tables_fingerprint(changed, linked=True)
        assert other != fp, what
    assert tables_fingerprint(replace(run), linked=True) == fp  # the same run: the same key
    # a family's reference re-typed: its digest, and so the shard's entry, changes
    f = run.inputs.families[int(families[0])]
    ref = f.references[0]
    profiles = dict(run.inputs.profiles)
    locus = next(iter(profiles[ref]))
    a, b = profiles[ref][locus]
    profiles[ref] = {**profiles[ref], locus: (b, a) if a != b else (a, "?")}
    changed = family_digests(replace(run.inputs, profiles=profiles))
    assert (changed[families[0]] != digests[families[0]]).any()
    assert (changed[families[1:]] == digests[families[1:]]).all()
    assert cache.get(fp, changed[families]) is None
    assert cache.get(fp, digests[families]) is not None


def test_a_shard_whose_families_moved_is_assembled_from_the_entries(store_like, tmp_path):  # noqa: F811
    run, params, *_ = store_like
    digests = family_digests(run.inputs)
    for linked in (False, True):
        chosen = np.flatnonzero(run.linked_families == linked)
        first, second = chosen[:2], chosen[2:]
        cache = TableCache(tmp_path / f"t{linked}")
        cache.shard_tables(run, first, digests=digests[first])  # two entries: families 0-1 and 2-
        cache.shard_tables(run, second, digests=digests[second])
        moved = np.concatenate([chosen[1:3], chosen[:1], chosen[3:]])[::-1]  # another cut, another order
        fresh = TableCache(tmp_path / f"t{linked}")
        got = fresh.shard_tables(run, moved, digests=digests[moved])
        assert _bits(got) == _bits(run.family_tables(moved.tolist(), linked=linked))
        assert fresh.stats == {"hits": 0, "misses": 1, "reused": moved.size, "compiled": 0, "corrupt": 0,
                               "written": 1}
        # one family never seen: compiled, the others taken
        part = np.concatenate([chosen[:1], chosen[3:]])
        fake = digests[part].copy()
        fake[0] ^= 0xFF
        again = TableCache(tmp_path / f"t{linked}")
        got = again.shard_tables(run, part, digests=fake)
        assert _bits(got) == _bits(run.family_tables(part.tolist(), linked=linked))
        assert again.stats["reused"] == part.size - 1 and again.stats["compiled"] == 1


def test_retention_keeps_the_last_runs_entries_and_the_size_cap(store_like, tmp_path):  # noqa: F811
    run, params, *_ = store_like
    digests = family_digests(run.inputs)
    plan = mr.plan_run(run, params)
    cache = TableCache(tmp_path / "t")
    old = np.flatnonzero(~run.linked_families)[1:4]  # a shard no run of this plan cuts
    cache.shard_tables(run, old, digests=digests[old])
    for families, _ in plan.shards:
        cache.shard_tables(run, families, digests=digests[families])
    (tmp_path / "t" / tables_fingerprint(run, linked=False) / ".partial-crashed").mkdir()
    keep = cache.entry_names(run, plan.shards, digests)
    assert len(keep) == len(plan.shards)
    left = cache.retain(keep)
    assert left["removed"] == 2 and left["kept"] == len(plan.shards)  # the old shard and the crashed write
    assert {f"{e.parent.name}/{e.name}" for e in _entries(tmp_path / "t")} == keep
    assert left["bytes"] == cache.size_bytes() > 0
    sizes = {f"{e.parent.name}/{e.name}": sum(f.stat().st_size for f in e.iterdir()) for e in _entries(tmp_path / "t")}
    # owner-only, as the checkpoints
    for e in _entries(tmp_path / "t"):
        assert stat.S_IMODE(e.stat().st_mode) == 0o700 and stat.S_IMODE(e.parent.stat().st_mode) == 0o700
        assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in e.iterdir())
    assert stat.S_IMODE((tmp_path / "t").stat().st_mode) == 0o700
    # the size cap: least recently used first
    names = sorted(keep)
    for i, name in enumerate(names):
        os.utime(tmp_path / "t" / name / "manifest.json", (1000 + i, 1000 + i))
    capped = TableCache(tmp_path / "t", max_bytes=sum(sizes[n] for n in names[-2:]))
    left = capped.retain(keep)
    assert left["kept"] == 2 and {f"{e.parent.name}/{e.name}" for e in _entries(tmp_path / "t")} == set(names[-2:])
    assert TableCache(tmp_path / "t").retain(set()) == {"removed": 2, "kept": 0, "bytes": 0}
    assert not any((tmp_path / "t").iterdir())  # empty fingerprint folders removed too


def test_a_child_search_reads_the_runs_shards_from_the_cache(store_like, tmp_path):  # noqa: F811
    run, params, genotypes, samples, _ = store_like
    digests = family_digests(run.inputs)
    cache = TableCache(tmp_path / "t")
    _matches_bytes(run, params, cache, digests)  # the run writes its shards
    warm = TableCache(tmp_path / "t")
    index = SearchIndex(run, shard_size=params.shard_size, cache=warm, digests=digests)
    assert warm.stats["hits"] == len(index.shards) and warm.stats["compiled"] == 0
    for cid in ("C-00", "C-01", "U-07"):
        want = search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples)
        got = search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples,
                     cache=TableCache(tmp_path / "t"))
        pd.testing.assert_frame_equal(got, want)
        got = search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples, index=index)
        pd.testing.assert_frame_equal(got, want)


def test_an_unwritable_folder_only_loses_the_cache(store_like, tmp_path):  # noqa: F811
    run, params, *_ = store_like
    digests = family_digests(run.inputs)
    (tmp_path / "file").write_text("not a folder")
    cache = TableCache(tmp_path / "file" / "tables")
    families = np.flatnonzero(~run.linked_families)[:4]
    got = cache.shard_tables(run, families, digests=digests[families])
    assert _bits(got) == _bits(run.family_tables(families.tolist()))
    assert cache.stats["written"] == 0 and cache.stats["misses"] == 1


def test_retention_keeps_entries_holding_families_no_kept_entry_holds(store_like, tmp_path):  # noqa: F811
    run, params, *_ = store_like
    digests = family_digests(run.inputs)
    plan = mr.plan_run(run, params)
    cache = TableCache(tmp_path / "t")
    for families, _ in plan.shards:  # the full run's shards
        cache.shard_tables(run, families, digests=digests[families])
    plain = np.flatnonzero(~run.linked_families)
    new = plain[-2:]  # a run that scored only two (new) families
    stale = plain[:3]  # an older cut: every family of it is in a full-run shard too
    cache.shard_tables(run, new, digests=digests[new])
    cache.shard_tables(run, stale, digests=digests[stale])
    keep = cache.entry_names(run, [(new, None)], digests)
    full = cache.entry_names(run, plan.shards, digests)
    assert {e.parent.name for e in _entries(tmp_path / "t")} == {tables_fingerprint(run, linked=x) for x in (0, 1)}
    left = TableCache(tmp_path / "t").retain_run(run, [(new, None)], digests)
    names = {f"{e.parent.name}/{e.name}" for e in _entries(tmp_path / "t")}
    assert names == keep | full  # the stale cut went: its families are all held by the full run's shards
    assert left["removed"] == 1 and left["kept"] == len(names)
    # families no longer in the run are no reason to keep an entry
    assert TableCache(tmp_path / "t").retain(keep, current=digests[new])["kept"] == 1


@pytest.mark.parametrize("model", ["stepwise", "none"])
@pytest.mark.parametrize("k, threshold", [(3, 4.0), (50, -30.0)])
def test_a_child_search_gathers_the_kernels_bits_for_every_candidate(store_like, tmp_path, model, k, threshold):  # noqa: F811
    """One candidate's row gather (search) against the run's shards through the kernel: the same
    best k (ties among equal and excluded scores by family index) and hits, bit for bit."""
    from kinship.app.search import search_pairs
    from kinship.matching.streaming import merge_results

    run, params, *_ = store_like
    if model == "none":  # exclusions (-inf) everywhere: ties at -inf, the float64 kernel
        run = replace(run, model=MutationModel(model="none"))
    plan = mr.plan_run(run, params)
    results = [mr.score_shard(run, f, c, k=k, threshold=threshold) for f, c in plan.shards]
    cand, _, _, _, hits = merge_results(results, k=k)
    if model == "none" and k > len(run.inputs.families):
        assert np.isneginf(cand.score).sum() > len(run.inputs.candidate_ids)  # ties at -inf are in play
    index = SearchIndex(run, shard_size=params.shard_size, cache=TableCache(tmp_path / "t"))
    for c, cid in enumerate(run.inputs.candidate_ids):
        got = search_pairs(run, SearchTarget(candidate_id=cid), k=k, threshold=threshold,
                           shard_size=params.shard_size, index=index)
        mine = cand.candidate == c
        assert got.candidate_best.family.tolist() == cand.family[mine].tolist()
        assert got.candidate_best.score.tobytes() == cand.score[mine].tobytes()
        mine = hits.candidate == c
        assert got.hits.family.tolist() == hits.family[mine].tolist()
        assert got.hits.score.tobytes() == hits.score[mine].tobytes()


# -- review findings (2026-12-03): θ > 0, a folder shared with other files, searches ----------------
@pytest.mark.parametrize("theta", [0.0, 0.01])
def test_a_shard_with_one_new_family_gives_the_compiled_bits_at_any_theta(store_like, tmp_path, theta):  # noqa: F811
    """The usual incremental case: the last run's shard plus one new family. At θ > 0 the
    peeling's sums depend on the batch (last bits), so the shard is compiled whole, not assembled."""
    from dataclasses import replace
    run = replace(store_like[0], theta=theta)
    digests = family_digests(run.inputs)
    chosen = np.flatnonzero(run.linked_families)
    for new in range(chosen.size):
        old = np.delete(chosen, new)
        cache = TableCache(tmp_path / f"t{new}")
        cache.shard_tables(run, old, digests=digests[old])
        again = TableCache(tmp_path / f"t{new}")
        got = again.shard_tables(run, chosen, digests=digests[chosen])
        assert _bits(got) == _bits(run.family_tables(chosen.tolist(), linked=True)), run.inputs.families[chosen[new]]
        assert again.stats["reused"] == (chosen.size - 1 if theta == 0.0 else 0)


def test_retention_touches_only_the_caches_own_folders(tmp_path):
    # REUNITE_TABLE_CACHE pointed at an existing folder that holds other things
    (tmp_path / "backups" / "2026-12-01").mkdir(parents=True)
    (tmp_path / "backups" / "2026-12-01" / "reunite.sqlite").write_bytes(b"precious")
    (tmp_path / "notes" / ".git").mkdir(parents=True)
    (tmp_path / ("a" * 64) / "b").mkdir(parents=True)  # a 64-hex folder holding a non-entry name
    t = FamilyTables(("L",), (np.zeros((2, 1)),), (np.zeros((2, 1), np.int8),), np.ones((1, 1), bool))
    cache = TableCache(tmp_path)
    written = cache.put("f" * 64, np.zeros((1, 32), np.uint8), t)
    assert written is not None and written.is_dir()
    cache.retain(set())
    assert (tmp_path / "backups" / "2026-12-01" / "reunite.sqlite").read_bytes() == b"precious"
    assert (tmp_path / "notes" / ".git").is_dir() and (tmp_path / ("a" * 64) / "b").is_dir()
    assert not written.exists()  # the cache's own entry did go


def test_an_existing_folder_keeps_its_mode_and_a_read_only_cache_writes_nothing(tmp_path):
    import os
    import stat
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o775)
    os.chmod(shared, 0o775)
    t = FamilyTables(("L",), (np.zeros((2, 1)),), (np.zeros((2, 1), np.int8),), np.ones((1, 1), bool))
    assert TableCache(shared, read_only=True).put("f" * 64, np.zeros((1, 32), np.uint8), t) is None
    assert list(shared.iterdir()) == []
    TableCache(shared).put("f" * 64, np.zeros((1, 32), np.uint8), t)
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o775
    assert stat.S_IMODE(os.stat(shared / ("f" * 64)).st_mode) == 0o700  # what the cache creates is owner-only
    assert TableCache("relative/folder").folder.is_absolute()


@pytest.mark.parametrize("value, expected", [("", None), ("50", 50_000_000_000), ("0.5", 500_000_000),
                                             ("0", "error"), ("-1", "error"), ("lots", "error"), ("inf", "error")])
def test_the_cache_size_cap_must_be_a_positive_size(monkeypatch, value, expected):
    from flows.settings import table_cache_max_bytes
    from kinship.errors import ReuniteInputError
    monkeypatch.setenv("REUNITE_TABLE_CACHE_MAX_GB", value)
    if expected == "error":  # a cap of 0 would delete the run's own entries after every run
        with pytest.raises(ReuniteInputError, match=r"REUNITE_TABLE_CACHE_MAX_GB=.*expected a size in GB above 0"):
            table_cache_max_bytes()
    else:
        assert table_cache_max_bytes() == expected
