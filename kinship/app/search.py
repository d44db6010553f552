"""On-demand search: one child against every family, or one family against every child.

A case manager who has just received the profile of a rescued child (or a family that has just
filed its references) should not wait for the nightly re-match. :func:`search` scores that one
candidate against every family of the store (or that one family against every candidate) with
the match run's own steps and numbers:

* the same :class:`~kinship.app.match_run.EncodedRun` (the effective frequency table of the
  whole store, the run's loci, mutation model, θ and linked pairs), so a pair's ``log10_lr`` is
  the float64 value a full run on the same store gives, bit for bit;
* the same shards and kernel (:func:`kinship.app.match_run.score_shard`), keeping the searched
  entity's best ``k`` partners and every pair at or above the threshold;
* the same :func:`~kinship.app.match_run.collect_matches` (ranks, loci compared, inconsistent
  loci, GB/T conclusion), Y-STR step (:func:`kinship.app.lineage.y_evidence`) and
  :func:`~kinship.app.match_run.calibrate` (``p_unrelated``, ``expected_unrelated`` at the
  store's size, and the calibrated conclusion).

What a search cannot give is the other side's ranking: ``rank_for_family`` of a child search
(``rank_for_candidate`` of a family search) needs every other child scored against each family,
so it is null, and so are the posteriors after database size and the joint assignment, which
are sums over the whole run's kept pairs (the last run's report has them).

What a child search costs, with the tables held (:class:`SearchIndex`) or read from the table
cache (:mod:`kinship.app.table_cache`): one row of each unit's table per shard, ``8 *
n_families`` bytes a unit (~160 MB at 10^6 families and 20 units), read from disk when not in
memory and nothing else of the entries (:func:`_prefetch_rows`: a page fault's read-ahead read
most of every entry before); then the reported pairs only, in the part of the run that holds
their families (:func:`_pairs_part`: their counts and calibration compiled, their Y-STR
evidence against the store's male haplotypes, built once per index). Measured at 10^5
families with the page cache dropped (``benchmarks/bench_search.py --drop-caches``): 18 MB
read and 0.3 s a search (1.75 GB and 2.1-2.4 s before), 0.07 s warm (0.6 s). The first read of
an entry in a process still hashes it whole (its checksum, :mod:`kinship.app.table_cache`).
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from kinship.app import lineage, match_run
from kinship.app.match_run import EncodedRun, family_shards
from kinship.app.parameters import MatchParameters
from kinship.app.table_cache import TableCache, family_digests
from kinship.errors import ReuniteInputError
from kinship.genetics.encoding import table_row
from kinship.matching import streaming
from kinship.matching.streaming import Entries, ShardResult

__all__ = ["SEARCH_COLUMNS", "SearchIndex", "SearchTarget", "search", "search_pairs"]

#: Columns of a search's result: the ``matches.v3`` columns a search computes exactly (the
#: others need the whole run), in that schema's order.
SEARCH_COLUMNS = tuple(c for c in match_run.MATCHES_COLUMNS if c not in {
    "is_new", "posterior", "posterior_lower", "family_posterior", "family_posterior_lower",
    "joint_group", "joint_posterior", "joint_exact", "conflict"})


@dataclass(frozen=True)
class SearchTarget:
    """What one search compares against the whole store.

    Attributes
    ----------
    candidate_id : str or None
        A child's sample id (role candidate in the store).
    lab, family_id : str or None
        A family's lab code and family id.

    Exactly one of ``candidate_id`` and the family (both ``lab`` and ``family_id``) is given.
    """

    candidate_id: str | None = None
    lab: str | None = None
    family_id: str | None = None

    def __post_init__(self):
        family = self.lab is not None or self.family_id is not None
        if (self.candidate_id is None) == (not family) or (family and (self.lab is None or self.family_id is None)):
            raise ReuniteInputError(
                f"search target candidate_id={self.candidate_id!r}, lab={self.lab!r}, family_id={self.family_id!r}: "
                "expected either one candidate's sample id or one family (its lab and its family id); "
                "fix: give --candidate SAMPLE_ID, or --family LAB/FAMILY_ID")

    @classmethod
    def of(cls, candidate_id: str | None = None, family: str | None = None) -> "SearchTarget":
        """The target of a command line or a flow run: a candidate id, or a family as
        ``LAB/FAMILY`` (split at the first ``/``, as :func:`kinship.app.power.store_family_power`).

        Examples
        --------
        >>> SearchTarget.of(family="BJ-PSB/F-0001")
        SearchTarget(candidate_id=None, lab='BJ-PSB', family_id='F-0001')
        """
        if family is None:
            return cls(candidate_id=candidate_id)
        lab, sep, family_id = family.partition("/")
        if not sep or not lab or not family_id:
            raise ReuniteInputError(f"family {family!r}; expected LAB/FAMILY (e.g. BJ-PSB/F-0001)")
        return cls(candidate_id=candidate_id, lab=lab, family_id=family_id)

    @property
    def is_candidate(self) -> bool:
        return self.candidate_id is not None

    def describe(self) -> str:
        return f"candidate {self.candidate_id}" if self.is_candidate else f"family {self.lab}/{self.family_id}"


def _index(run: EncodedRun, target: SearchTarget) -> int:
    """Position of the target in the run's candidates or families; a clear error if absent."""
    if target.is_candidate:
        ids = run.inputs.candidate_ids
        at = int(np.searchsorted(ids, target.candidate_id))  # candidate ids are sorted
        if at < len(ids) and ids[at] == target.candidate_id:
            return at
        raise ReuniteInputError(
            f"{target.describe()}: no candidate of that sample id with an autosomal profile in the store "
            f"({len(ids)} candidates); expected the sample id of an ingested child (role candidate); "
            "fix: check the id, or ingest the child's export first")
    for i, f in enumerate(run.inputs.families):
        if (f.lab, f.family_id) == (target.lab, target.family_id):
            return i
    raise ReuniteInputError(
        f"{target.describe()}: no such family in the store ({len(run.inputs.families)} families); expected a "
        "lab code and family id as filed in a manifest or pedigree table; fix: check both, or ingest the family")


class SearchIndex:
    """Every family's tables of a run, compiled once, for repeated child searches in one process.

    A search compiles every family (:func:`search_pairs`); a long-running process (the
    workbench, a service) that answers many searches on the same store keeps the tables
    instead, in the shards a full run cuts, and a search is then one row per locus of each
    family's tables, summed (:func:`_candidate_pairs`; from the cache's mapped entries only
    those rows are read from disk), and the reported pairs' counts, Y-STR evidence and
    calibration (the store's male haplotypes built at the first search and kept:
    :meth:`haplotypes`).
    Memory: 8 bytes per table row and family (:attr:`nbytes`; measured 0.25 GB for 10^4 national-style
    families at the 20 CODIS loci, the linked pairs' joint tables included: ``benchmarks/bench_search.py``). The index is of one :class:`EncodedRun`: a store
    that changes needs a new one.

    With a :class:`~kinship.app.table_cache.TableCache` the shards' tables are read from it
    (memory-mapped) where a run on the same store (same tables to compile, same shard size)
    wrote them, and compiled and written otherwise: a search in a new process then reads the
    shards instead of compiling every family.

    Parameters
    ----------
    run : EncodedRun
    shard_size : int
        Families per shard (``MatchParameters.shard_size``).
    cache : TableCache, optional
    digests : ndarray of uint8, shape (n_families, 32), optional
        Every family's digest (:func:`~kinship.app.table_cache.family_digests`; computed when
        not given).
    """

    def __init__(self, run: EncodedRun, *, shard_size: int, cache: TableCache | None = None,
                 digests: np.ndarray | None = None):
        self.run = run
        self.shards = list(_shard_tables(run, shard_size, cache, digests))
        self._haplotypes: dict = {}

    def haplotypes(self, genotypes: pd.DataFrame, samples: pd.DataFrame, params) -> lineage.MaleHaplotypes | None:
        """The store's male Y haplotypes (:func:`kinship.app.lineage.y_haplotypes` of
        ``genotypes``, ``samples``, every family of the run and ``params``, a
        :class:`~kinship.app.parameters.YstrParameters`), built at the first search that asks
        and kept for the next ones given the same frames (the same objects: the index is of one
        store) and the same rate table."""
        key = (id(genotypes), id(samples), params.use, params.rates_file)
        held = self._haplotypes.get(key)
        if held is None or held[0] is not genotypes or held[1] is not samples:
            held = (genotypes, samples, lineage.y_haplotypes(genotypes, samples, self.run.inputs.families, params))
            self._haplotypes = {key: held}  # one store's frames at a time
        return held[2]

    @property
    def nbytes(self) -> int:
        """Bytes of the compiled tables held."""
        return sum(T.nbytes for _, tables, _ in self.shards for T in tables.log10_lr)

    def candidate_pairs(self, candidate: int, *, k: int, threshold: float) -> ShardResult:
        """The candidate's (index in the run) best ``k`` families and every family at or above
        ``threshold``: :func:`search_pairs` without compiling."""
        return _candidate_pairs(self.shards, candidate, k=k, threshold=threshold)


def _shard_tables(run: EncodedRun, shard_size: int, cache: TableCache | None = None,
                  digests: np.ndarray | None = None):
    """``(families, tables, candidates' kernel input)`` of each shard a full run cuts, one at a
    time: compiled, or from ``cache`` (``digests``: every family's, computed when not given)."""
    if cache is not None and digests is None:
        digests = family_digests(run.inputs)
    for families in _family_shards(run, shard_size):
        if cache is None:
            [(_, tables, genotypes)] = run.scoring_tables(families)
        else:
            [(_, tables, genotypes)] = cache.scoring_tables(run, families, digests=digests[families])
        yield families, tables, genotypes


def _candidate_pairs(shards, candidate: int, *, k: int, threshold: float) -> ShardResult:
    """One candidate scored against ``shards`` (an iterable of :func:`_shard_tables`'s triples;
    a generator is consumed a shard at a time, so one shard's tables are held at once).

    One candidate selects one row of each unit's table (``schemas/genotype_encoding.v2.json``),
    so its scores are that row's entries summed over the units, in unit order from 0.0: the sum
    :func:`~kinship.matching.reference.score_all_pairs` and the kernel's exact rescoring make,
    bit for bit (:func:`kinship.matching.streaming.score_shard`), without blocking or
    quantising a shard for one candidate. From memory-mapped tables (a table cache's entries)
    only those rows' pages are read (:func:`_prefetch_rows`): ``8 * n_families`` bytes per unit,
    plus at most a page at each end of a row, whatever the kernel's read-ahead; a sequence of
    shards (a :class:`SearchIndex`) has every row asked for before the first is summed, so the
    reads run together. Kept: the best ``k`` (descending score, then ascending family index, as
    :func:`~kinship.matching.streaming.best_k`) and every family at or above ``threshold``.
    """
    def rows_of(tables, genotypes):
        g = genotypes[candidate]
        return [int(table_row(g[u], T.shape[0])) for u, T in enumerate(tables.log10_lr)]

    if isinstance(shards, Sequence):  # all held: every row asked for first, then summed
        wanted = [rows_of(tables, genotypes) for _, tables, genotypes in shards]
        for (_, tables, _), rows in zip(shards, wanted):
            _prefetch_rows(tables.log10_lr, rows)
    scores, families_all = [], []
    for i, (families, tables, genotypes) in enumerate(shards):
        if isinstance(shards, Sequence):
            rows = wanted[i]
        else:
            rows = rows_of(tables, genotypes)
            _prefetch_rows(tables.log10_lr, rows)
        s = np.zeros(tables.n_families, dtype=np.float64)
        for T, r in zip(tables.log10_lr, rows):
            s += T[r]
        scores.append(s)
        families_all.append(np.asarray(families, dtype=np.int64))
    if not scores:
        return ShardResult(Entries.empty(), Entries.empty(), Entries.empty())
    score, family = np.concatenate(scores), np.concatenate(families_all)
    owner = np.full(family.size, candidate, dtype=np.int64)
    best, _ = streaming.best_k(Entries(owner, family, score), by="candidate", k=k)
    hit = np.flatnonzero(score >= threshold)
    hit = hit[np.argsort(family[hit], kind="stable")]  # by (candidate, family), as a shard's hits
    return ShardResult(best, Entries.empty(), Entries(owner[hit], family[hit], score[hit]))


def _mapping(T: np.ndarray) -> tuple[mmap.mmap, int] | None:
    """The file mapping ``T``'s memory lies in (a :class:`numpy.memmap` or a view of one, as
    :meth:`~kinship.app.table_cache.TableCache.get` gives) and the offset of ``T``'s first byte
    in it; None for a table in memory, or where ``madvise`` is not available."""
    base = T
    while isinstance(base, np.ndarray):
        base = base.base
    if not isinstance(base, mmap.mmap) or not hasattr(base, "madvise") or base.closed:
        return None
    start = np.frombuffer(base, dtype=np.uint8).__array_interface__["data"][0]
    return base, T.__array_interface__["data"][0] - start


def _prefetch_rows(tables: Sequence[np.ndarray], rows: Sequence[int]) -> None:
    """Have the kernel read row ``rows[u]`` of each memory-mapped ``tables[u]`` now, and no
    other page of their files.

    A page fault on a file mapping reads the pages around it too (the device's read-ahead,
    ``/sys/block/*/queue/read_ahead_kb``: 8 MB a fault on the national benchmark's machine), so
    summing one row of each table of a cold cache entry read most of the entry: 1.6 GB of the
    2.8 GB cache at 10^5 families for the 16 MB of rows a child needs. Here each mapping is
    marked random access (``MADV_RANDOM``: a fault reads its page only) and each row's pages
    asked for at once (``MADV_WILLNEED``, which reads that range and no more, without waiting),
    so the reads of many rows are in flight together and the row sums that follow find their
    pages in memory. Tables in memory (compiled, not mapped) are left as they are. Only advice:
    the values read are the file's whatever the kernel does with it.

    Parameters
    ----------
    tables : sequence of ndarray, shape (n_rows_u, n_families)
        C-ordered tables (a shard's ``FamilyTables.log10_lr``).
    rows : sequence of int
        The row wanted of each.
    """
    random = set()
    for T, r in zip(tables, rows):
        found = _mapping(T)
        if found is None or T.ndim != 2 or T.shape[1] == 0 or T.strides[1] != T.itemsize:
            continue
        mm, at = found
        if id(mm) not in random:
            mm.madvise(mmap.MADV_RANDOM)
            random.add(id(mm))
        first = at + r * T.strides[0]
        page = first - first % mmap.PAGESIZE
        mm.madvise(mmap.MADV_WILLNEED, page, first + T.shape[1] * T.itemsize - page)


def _family_shards(run: EncodedRun, shard_size: int) -> list[np.ndarray]:
    """The family shards a full run cuts: independent-loci families, then linked ones."""
    all_f = np.arange(len(run.inputs.families), dtype=np.int64)
    shards = []
    for linked in (False, True):
        chosen = all_f[run.linked_families == linked]
        shards += [chosen[a:b] for a, b in family_shards(chosen.size, shard_size)]
    return shards


def search_pairs(run: EncodedRun, target: SearchTarget, *, k: int, threshold: float, shard_size: int,
                 index: SearchIndex | None = None, cache: TableCache | None = None) -> ShardResult:
    """Score the target against every partner, shard by shard, keeping the target's best ``k``
    partners and every pair at or above ``threshold`` (log10).

    A child is scored against the families in the shards a full run cuts (independent-loci
    families, then the linked ones, ``shard_size`` each: :func:`kinship.app.match_run.plan_run`),
    so a shard's tables are the ones the full run compiles (or taken from ``index``, compiled
    before, or read from ``cache``: :class:`SearchIndex`); a family is compiled once and every
    candidate scored against it.

    Returns
    -------
    ShardResult
        Global indices; only the target's side of the best lists is filled (the other side is
        empty: it would need every other entity scored).

    Raises
    ------
    ReuniteInputError
        The target is not in the run (:class:`SearchTarget`).
    """
    at = _index(run, target)
    if target.is_candidate:
        if index is not None:
            return index.candidate_pairs(at, k=k, threshold=threshold)
        # shard by shard: one shard's tables in memory (or mapped) at a time
        return _candidate_pairs(_shard_tables(run, shard_size, cache), at, k=k, threshold=threshold)
    candidates = np.arange(len(run.inputs.candidate_ids), dtype=np.int64)
    if not candidates.size:
        return ShardResult(Entries.empty(), Entries.empty(), Entries.empty())
    result = match_run.score_shard(run, np.array([at], dtype=np.int64), candidates, k=k, threshold=threshold)
    return ShardResult(Entries.empty(), result.family_best, result.hits)


def _pairs_part(run: EncodedRun, kept: ShardResult) -> tuple[EncodedRun, ShardResult]:
    """The part of ``run`` that holds the families of ``kept``'s pairs
    (:func:`kinship.app.match_run.shard_work`: those families, ascending, with their
    references, and every candidate), and ``kept`` with its family indices in it.

    :func:`~kinship.app.match_run.collect_matches` and
    :func:`~kinship.app.match_run.calibrate` then build their per-family columns (ids, kinds,
    layouts) for these families only, not for every family of the store (0.3 s a search at 10^5
    families, and ten times that at 10^6). The numbers are the same: the families keep their
    order (every ordering and tie-break by family index is unchanged, and so are the chunks
    their tables are compiled in), each is compiled from the same references
    (``tests/unit/test_shard_work.py``), and the candidates are all the run's.
    """
    sides = (kept.candidate_best, kept.family_best, kept.hits)
    families = np.unique(np.concatenate([e.family for e in sides])).astype(np.int64)
    local = [replace(e, family=np.searchsorted(families, e.family).astype(np.int64)) for e in sides]
    part = match_run.shard_work(run, families)
    for name in _CANDIDATE_SIDE:  # the same candidates and units: what the run computed, not again
        if name in run.__dict__:
            part.__dict__[name] = run.__dict__[name]
    return part, ShardResult(*local)


#: :class:`EncodedRun`'s cached properties of the candidates and the units, which do not depend
#: on the families: a search's part of the run takes them from the run.
_CANDIDATE_SIDE = ("candidate_genotypes", "linked_genotypes", "units")


def search(run: EncodedRun, target: SearchTarget, params: MatchParameters, *,
           genotypes: pd.DataFrame, samples: pd.DataFrame, index: SearchIndex | None = None,
           cache: TableCache | None = None) -> pd.DataFrame:
    """The reported pairs of one child (or one family) against the whole store.

    Parameters
    ----------
    run : EncodedRun
        The store's profiles encoded as for a full run (:func:`kinship.app.match_run.encode_run`
        with ``params``' frequency table, mutation model, θ and linkage).
    target : SearchTarget
    params : MatchParameters
        The run's parameters: ``k``, ``threshold``, ``shard_size``, ``y_str``,
        ``max_expected_unrelated`` are used here. Use the last run's to reproduce its scores.
    genotypes, samples : DataFrame
        The stored genotypes (all loci) and samples, for the Y-STR step
        (:func:`kinship.app.lineage.y_evidence`).
    index : SearchIndex, optional
        The run's tables compiled before (a warm process); a child search then compiles only
        the reported pairs' families (their counts and calibration), not every family.
    cache : TableCache, optional
        Without ``index``: a child search reads the shards' tables from it where a run wrote
        them, one shard at a time, compiling only the shards it lacks (and writing them unless
        the cache is read-only).

    Returns
    -------
    DataFrame
        Columns :data:`SEARCH_COLUMNS`: the target's best ``k`` partners and every pair at or
        above the threshold, strongest first (descending combined log10 LR, then ids). Every
        value equals the full run's for that pair on the same store, except the other side's
        rank, which is null (module docstring).

    Examples
    --------
    >>> SearchTarget(candidate_id="C1").describe()
    'candidate C1'
    >>> SearchTarget(lab="L", family_id="F1").is_candidate
    False
    """
    kept = search_pairs(run, target, k=params.k, threshold=params.threshold, shard_size=params.shard_size,
                        index=index, cache=cache)
    haplotypes = (index.haplotypes(genotypes, samples, params.y_str) if index is not None
                  else lineage.y_haplotypes(genotypes, samples, run.inputs.families, params.y_str))
    part, kept = _pairs_part(run, kept)  # the rest costs what the pairs do, not what the store does
    matches = match_run.collect_matches(part, [kept], k=params.k)
    with_y, _, y_max = lineage.y_evidence(genotypes, samples, part.inputs, matches, params.y_str,
                                          haplotypes=haplotypes)
    out = match_run.calibrate(part, with_y, threshold=params.threshold,
                              max_expected_unrelated=params.max_expected_unrelated, y_max=y_max)
    out["log10_lr_total"] = match_run.combined_log10_lr(out)[1]
    order = np.lexsort((out["family_id"].to_numpy(), out["lab"].to_numpy(), out["candidate_id"].to_numpy(),
                        -out["log10_lr_total"].to_numpy()))
    return out.iloc[order][list(SEARCH_COLUMNS)].reset_index(drop=True)
