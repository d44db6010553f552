"""On-demand search (kinship.app.search) gives the full run's numbers for the searched entity.

The full run here is the match run's own library steps (plan_run, score_shard per shard,
collect_matches, y_evidence, calibrate); the search must return, for one child, exactly the
pairs the full run keeps on that child's side (its best k families and every pair at or above
the threshold) with bit-identical values, and likewise for one family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kinship.app import lineage
from kinship.app import match_run as mr
from kinship.app.parameters import MatchParameters
from kinship.app.search import SEARCH_COLUMNS, SearchTarget, search
from kinship.errors import ReuniteInputError
from kinship.io.frequencies import load_bundled_table
from kinship.matching.compiler import Family
from tests.simulated import child_of, draw_profile

LOCI = ("CSF1PO", "D12S391", "D13S317", "D16S539", "D18S51", "D21S11", "D3S1358", "D5S818", "D7S820",
        "D8S1179", "FGA", "TH01", "TPOX", "vWA")


def _profile(rng, table):
    return draw_profile(rng, table, LOCI)


_child = child_of



def _encoded(inputs, table, params, profiles, candidates):
    """The run of ``inputs`` encoded as the flow encodes it, with its genotypes and samples frames."""
    eff, _ = mr.effective_frequencies(inputs, table, floor=params.frequency_floor)
    run = mr.encode_run(inputs, eff, params.mutation_model, theta=params.theta, linkage=params.linkage)
    genotypes = pd.DataFrame(
        [(s, "candidate" if s in candidates else "reference", l, a, b) for s, p in profiles.items() for l, (a, b) in p.items()],
        columns=["sample_id", "role", "locus", "allele_1", "allele_2"])
    samples = pd.DataFrame({"sample_id": list(profiles), "sex": "U"})
    return run, genotypes, samples

@pytest.fixture(scope="module")
def store_like():
    """Couples, single parents, sibling and grandparent families (linked loci in the run) with
    their true children, unrelated children, one child untyped at a locus and one partial."""
    rng = np.random.default_rng(20261203)
    table = load_bundled_table()
    profiles, families, candidates = {}, [], []
    for i in range(12):
        f, m = _profile(rng, table), _profile(rng, table)
        kind = i % 4
        fid = f"F-{i:02d}"
        if kind == 0:
            profiles[f"{fid}-f"], profiles[f"{fid}-m"] = f, m
            families.append(Family("LAB-A", fid, father=f"{fid}-f", mother=f"{fid}-m"))
        elif kind == 1:
            profiles[f"{fid}-m"] = m
            families.append(Family("LAB-B", fid, mother=f"{fid}-m"))
        elif kind == 2:
            profiles[f"{fid}-s"] = _child(rng, f, m)
            families.append(Family("LAB-A", fid, others=((f"{fid}-s", "full_sibling"),)))
        else:
            gf = _profile(rng, table)
            father = {l: tuple(sorted((gf[l][rng.integers(2)], f[l][0]))) for l in LOCI}
            profiles[f"{fid}-gf"] = gf
            profiles[f"{fid}-m"] = m
            families.append(Family("LAB-B", fid, mother=f"{fid}-m", others=((f"{fid}-gf", "paternal_grandfather"),)))
            f = father
        child = f"C-{i:02d}"
        profiles[child] = _child(rng, f, m)
        candidates.append(child)
    for i in range(30):
        profiles[f"U-{i:02d}"] = _profile(rng, table)
        candidates.append(f"U-{i:02d}")
    profiles["U-00"] = {l: g for l, g in profiles["U-00"].items() if l != "vWA"}
    profiles["C-01"] = {**profiles["C-01"], "TH01": (profiles["C-01"]["TH01"][0], "?")}
    refs = sorted(s for s in profiles if s not in candidates)
    families.sort(key=lambda f: (f.lab, f.family_id))
    inputs = mr.MatchInputs(profiles, tuple(refs), tuple(sorted(candidates)), tuple(families))
    params = MatchParameters(k=3, shard_size=4)
    run, genotypes, samples = _encoded(inputs, table, params, profiles, candidates)
    plan = mr.plan_run(run, params)
    results = [mr.score_shard(run, f, c, k=params.k, threshold=params.threshold) for f, c in plan.shards]
    full = mr.collect_matches(run, results, k=params.k)
    full, _, y_max = lineage.y_evidence(genotypes, samples, inputs, full, params.y_str)
    full = mr.calibrate(run, full, threshold=params.threshold, max_expected_unrelated=params.max_expected_unrelated,
                        y_max=y_max)
    return run, params, genotypes, samples, full


def _compare(got: pd.DataFrame, want: pd.DataFrame, *, other_rank: str) -> None:
    key = ["candidate_id", "lab", "family_id"]
    assert sorted(map(tuple, got[key].to_numpy())) == sorted(map(tuple, want[key].to_numpy()))
    merged = got.merge(want, on=key, suffixes=("", "_full"))
    for column in ("log10_lr", "log10_lr_unlinked", "n_loci_compared", "n_inconsistent", "conclusion", "flagged",
                   "p_unrelated", "expected_unrelated", "family_kind"):
        a, b = merged[column].to_numpy(), merged[f"{column}_full"].to_numpy()
        if a.dtype.kind == "f":
            assert np.array_equal(a, b, equal_nan=True), column  # bit for bit, NaN where no hit
        else:
            assert (a == b).all(), column
    assert merged[other_rank].isna().all()


def test_a_child_search_is_the_full_runs_side_of_that_child(store_like):
    run, params, genotypes, samples, full = store_like
    assert run.linked_families.any() and not run.linked_families.all()  # both kinds of shard
    assert (full["log10_lr"] >= params.threshold).sum() >= 6  # hits beyond the best k are in play
    checked = 0
    for cid in ("C-00", "C-01", "C-02", "C-03", "U-00", "U-07"):
        got = search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples)
        assert list(got.columns) == list(SEARCH_COLUMNS)
        mine = full[(full["candidate_id"] == cid)
                    & (full["rank_for_candidate"].notna() | (full["log10_lr"] >= params.threshold))]
        _compare(got, mine, other_rank="rank_for_family")
        assert got["rank_for_candidate"].dropna().astype(int).tolist() == sorted(
            mine["rank_for_candidate"].dropna().astype(int).tolist())
        merged = got.merge(mine, on=["candidate_id", "lab", "family_id"], suffixes=("", "_full"))
        assert (merged["rank_for_candidate"].fillna(-1) == merged["rank_for_candidate_full"].fillna(-1)).all()
        total = got["log10_lr_total"].to_numpy()
        assert (np.diff(total) <= 0).all()  # strongest first
        checked += len(got)
    assert checked >= 6 * params.k


def test_the_true_child_finds_its_couple_first_and_supported(store_like):
    run, params, genotypes, samples, _ = store_like
    got = search(run, SearchTarget(candidate_id="C-00"), params, genotypes=genotypes, samples=samples)
    assert (got.at[0, "lab"], got.at[0, "family_id"]) == ("LAB-A", "F-00")
    assert got.at[0, "conclusion"] == "support" and got.at[0, "log10_lr"] > 8


def test_a_family_search_is_the_full_runs_side_of_that_family(store_like):
    run, params, genotypes, samples, full = store_like
    for lab, fid in (("LAB-A", "F-00"), ("LAB-B", "F-01"), ("LAB-A", "F-02"), ("LAB-B", "F-03")):
        got = search(run, SearchTarget(lab=lab, family_id=fid), params, genotypes=genotypes, samples=samples)
        mine = full[(full["lab"] == lab) & (full["family_id"] == fid)
                    & (full["rank_for_family"].notna() | (full["log10_lr"] >= params.threshold))]
        _compare(got, mine, other_rank="rank_for_candidate")
        merged = got.merge(mine, on=["candidate_id", "lab", "family_id"], suffixes=("", "_full"))
        assert (merged["rank_for_family"].fillna(-1) == merged["rank_for_family_full"].fillna(-1)).all()


def test_an_unknown_target_is_refused_with_its_fix(store_like):
    run, params, genotypes, samples, _ = store_like
    with pytest.raises(ReuniteInputError, match="no candidate of that sample id.*fix: check the id"):
        search(run, SearchTarget(candidate_id="C-99"), params, genotypes=genotypes, samples=samples)
    with pytest.raises(ReuniteInputError, match="family LAB-A/F-01: no such family"):
        search(run, SearchTarget(lab="LAB-A", family_id="F-01"), params, genotypes=genotypes, samples=samples)
    with pytest.raises(ReuniteInputError, match="expected either one candidate"):
        SearchTarget(candidate_id="C-00", lab="LAB-A", family_id="F-00")
    with pytest.raises(ReuniteInputError, match="expected either one candidate"):
        SearchTarget(lab="LAB-A")
    with pytest.raises(ReuniteInputError, match="expected LAB/FAMILY"):
        SearchTarget.of(family="F-00")
    assert SearchTarget.of(family="LAB-A/F-00") == SearchTarget(lab="LAB-A", family_id="F-00")


def test_a_search_index_gives_the_same_bits_without_compiling(store_like, monkeypatch):
    from kinship.app.search import SearchIndex

    run, params, genotypes, samples, _ = store_like
    index = SearchIndex(run, shard_size=params.shard_size)
    assert index.nbytes > 0 and len(index.shards) >= 3
    plain = {cid: search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples)
             for cid in ("C-00", "C-02", "U-03")}
    real, compiled = type(run).scoring_tables, []

    def counted(self, families):
        compiled.append(len(families))
        return real(self, families)

    monkeypatch.setattr(type(run), "scoring_tables", counted)
    for cid, want in plain.items():
        compiled.clear()
        got = search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples, index=index)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        # only the reported pairs' families, for their counts and calibration: not every family
        assert sum(compiled) <= 2 * len(got) < len(run.inputs.families) * 2



def test_a_search_with_an_index_reads_its_pairs_families_only(store_like, monkeypatch):
    """Past the row sums, a search with an index costs what its pairs do: only the reported
    families' kinds are read (collect_matches), and the store's male haplotypes are built at the
    first search, not at each."""
    from kinship.app.search import SearchIndex

    run, params, genotypes, samples, _ = store_like
    index = SearchIndex(run, shard_size=params.shard_size)
    want = {cid: search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples)
            for cid in ("U-07", "C-03")}
    read, built = [], []
    real_kind, real_male = Family.kind, lineage.male_samples
    monkeypatch.setattr(Family, "kind", property(lambda f: read.append((f.lab, f.family_id)) or real_kind.fget(f)))
    monkeypatch.setattr(lineage, "male_samples", lambda *a: built.append(1) or real_male(*a))
    for cid, expected in want.items():
        read.clear()
        got = search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples, index=index)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert set(read) == set(zip(got["lab"], got["family_id"])) and len(read) == len(set(read))
        assert len(set(read)) < len(run.inputs.families)
        assert len(built) == 1  # the first search's, kept by the index

# -- what a search reads from the table cache ---------------------------------------------------------

def _resident_pages(path) -> set[int]:
    """Pages of the file at ``path`` in the page cache (``mincore`` of a fresh mapping, which
    reads nothing)."""
    import ctypes
    import mmap
    import os

    size = os.path.getsize(path)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
    try:
        view = np.frombuffer(mm, dtype=np.uint8)
        vec = np.zeros(-(-size // mmap.PAGESIZE), dtype=np.uint8)
        if libc.mincore(view.ctypes.data, size, vec.ctypes.data) != 0:
            pytest.skip(f"mincore failed (errno {ctypes.get_errno()})")
        del view
    finally:
        mm.close()
    return set(np.flatnonzero(vec & 1).tolist())


def _evict(paths) -> None:
    """Drop the files' pages from the page cache (written back first); skip where that can't be done."""
    import os

    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    if any(_resident_pages(p) for p in paths):
        pytest.skip("this file system keeps the files' pages in memory (tmpfs?): nothing to measure")


@pytest.fixture(scope="module")
def wide_store(tmp_path_factory):
    """2,048 couples in shards of 1,024 (rows of 8 KB, two pages) and their table cache, with
    three true children and two unrelated ones."""
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("page-cache residency (mincore, posix_fadvise) is read on Linux")
    from kinship.app.table_cache import TableCache, family_digests
    from kinship.app.search import _family_shards

    rng = np.random.default_rng(20261204)
    table = load_bundled_table()
    profiles, families, candidates = {}, [], []
    for i in range(2048):
        fid = f"F-{i:04d}"
        profiles[f"{fid}-f"], profiles[f"{fid}-m"] = _profile(rng, table), _profile(rng, table)
        families.append(Family("LAB-A", fid, father=f"{fid}-f", mother=f"{fid}-m"))
        if i in (5, 1500, 2040):
            profiles[f"C-{i:04d}"] = _child(rng, profiles[f"{fid}-f"], profiles[f"{fid}-m"])
            candidates.append(f"C-{i:04d}")
    for i in range(2):
        profiles[f"U-{i}"] = _profile(rng, table)
        candidates.append(f"U-{i}")
    refs = sorted(s for s in profiles if s not in candidates)
    inputs = mr.MatchInputs(profiles, tuple(refs), tuple(sorted(candidates)), tuple(families))
    params = MatchParameters(k=3, shard_size=1024)
    run, genotypes, samples = _encoded(inputs, table, params, profiles, candidates)
    folder = tmp_path_factory.mktemp("wide") / "tables"
    digests = family_digests(inputs)
    writer = TableCache(folder)
    for shard in _family_shards(run, params.shard_size):  # what the match run writes
        writer.scoring_tables(run, shard, digests=digests[shard])
    assert writer.stats["written"] == 2
    return run, params, genotypes, samples, folder, digests


def _needed_pages(run, folder, candidate: int) -> dict:
    """``{log10_lr.npy path: pages holding the candidate's row of each unit}`` of each entry."""
    import json
    import mmap

    from kinship.genetics.encoding import table_row

    out = {}
    for manifest_path in folder.glob("*/*/manifest.json"):
        manifest = json.loads(manifest_path.read_text())
        path = manifest_path.parent / "log10_lr.npy"
        header = np.load(path, mmap_mode="r").offset
        n, row_bytes = manifest["n_families"], 8 * manifest["n_families"]
        starts = np.concatenate([[0], np.cumsum(manifest["rows"])])
        pages = set()
        for u, rows in enumerate(manifest["rows"]):
            at = header + (int(starts[u]) + int(table_row(run.candidate_genotypes[candidate, u], rows))) * row_bytes
            pages |= set(range(at // mmap.PAGESIZE, (at + row_bytes - 1) // mmap.PAGESIZE + 1))
        assert n == 1024 and len(pages) <= 3 * len(manifest["rows"])
        out[path] = pages
    return out


@pytest.mark.parametrize("through", ["index", "cache"])
def test_a_child_search_reads_only_its_rows_of_the_cached_tables(wide_store, through):
    """Cold page cache: beyond opening the entries (headers, digests), a search reads the one row
    per unit of each shard's log10_lr that the child's genotypes select, no page around them (the
    kernel's read-ahead of a page fault read most of each entry), and nothing of the inconsistent
    and typed arrays; the bits are those of a search that compiles every family."""
    from kinship.app.search import SearchIndex
    from kinship.app.table_cache import TableCache

    run, params, genotypes, samples, folder, digests = wide_store
    files = sorted(p for p in folder.glob("*/*/*.npy"))
    for cid in ("C-0005", "U-1"):
        want = search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples)
        candidate = run.inputs.candidate_ids.index(cid)
        needed = _needed_pages(run, folder, candidate)
        _evict(files)
        # opening the entries reads their headers and digests (either way): not the search's reads
        index = SearchIndex(run, shard_size=params.shard_size, cache=TableCache(folder, read_only=True),
                            digests=digests)
        before = {p: _resident_pages(p) for p in files}
        if through == "cache":
            index = None  # each shard's entry opened again, one at a time, as the search flow does
        got = search(run, SearchTarget(candidate_id=cid), params, genotypes=genotypes, samples=samples, index=index,
                     cache=None if index is not None else TableCache(folder, read_only=True))
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert len(got) >= params.k
        for path in files:
            read = _resident_pages(path) - before[path]
            if path.name == "log10_lr.npy":
                assert read == needed[path] - before[path], (
                    f"{path.name}: {len(read)} pages read, {len(needed[path] - before[path])} needed")
            else:
                assert not read, f"{path.name}: {len(read)} pages read, none needed"
        del index
