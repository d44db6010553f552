"""Streaming top-k matching at national scale: bounded memory, exact float64, all pairs.

:func:`kinship.matching.reference.score_all_pairs` materialises the full candidates x families matrix;
it is the reference. At national scale (10^5 children x 10^6 families) the matrix (800 GB) and
the family tables (tens of GB) can not be held, so this module streams:

* families are compiled in *shards* (a few thousand at a time) and each shard's tables are laid
  out in *blocks* of ``W`` families: ``rows[block, r, w]`` with ``r = offset[locus] + g`` (the
  trailing row of each locus is 0 for an untyped candidate). One block of tables (about
  ``W * 8 * sum_l (G_l + 1)`` bytes, ~1-2 MB) stays in a core's L2 cache while every candidate is
  scored against its ``W`` families: per candidate and locus, one contiguous row of ``W``
  float64 values is added to an accumulator held in registers;
* while scoring, each candidate keeps its best ``k`` families and each family its best ``k``
  candidates (sorted insertion into arrays of length ``k``; ties go to the lower index, i.e. the
  lower id, because ids are sorted), and every pair at or above the reporting threshold is
  recorded.

With numba the shard is scored by an int16 *screen* (:func:`score_shard`, Notes): each shard's
tables are quantised to int16 (:func:`quantise_screen`, a per-shard power-of-two step, 20
loci's sums can not overflow); per block of :data:`SCREEN_WIDTH` families, a tile of
:data:`SCREEN_TILE` candidates is summed locus by locus in int16, and every pair whose screen
sum's upper bound (:func:`screen_error_bound`) reaches a kept list's last score or the
threshold is rescored in float64. The kept scores are float64 sums that add the loci in the
same order as the reference kernel, so the kept set and every reported log10 LR are
bit-identical to :func:`~kinship.matching.reference.score_all_pairs` and to the plain float64
kernel (``screen=False``; tested, ``tests/unit/test_screen_kernel.py``).

The inner kernel is compiled with numba when it is installed; otherwise a numpy
implementation of the same blocked algorithm runs (slower, same results).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from kinship.genetics.encoding import table_row
from kinship.matching.reference import FamilyTables

__all__ = [
    "BLOCK_WIDTH",
    "BlockedTables",
    "Entries",
    "ShardResult",
    "TopK",
    "block_tables",
    "candidate_rows",
    "score_shard",
    "screen_error_bound",
    "SCREEN_TILE",
    "SCREEN_WIDTH",
    "best_k",
    "fold_candidate_best",
    "candidate_floor",
    "quantise_screen",
    "ScreenTables",
    "combine_results",
    "merge_results",
    "HAVE_NUMBA",
]

#: Families per block: 32 float64 scores = four AVX-512 registers.
BLOCK_WIDTH = 32

try:  # numba is optional: the numpy path gives the same numbers
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None
    HAVE_NUMBA = False


@dataclass(frozen=True)
class BlockedTables:
    """A shard's family tables in cache-sized blocks of ``W`` families.

    Attributes
    ----------
    rows : ndarray of float64, shape (n_blocks, n_rows, W)
        ``rows[b, offset[l] + g, w]`` = log10 LR of genotype ``g`` at locus ``l`` for family
        ``b * W + w`` of the shard; padding families (past the shard's end) are ``-inf``.
    offsets : ndarray of int64, shape (n_loci,)
        First row of each locus.
    n_genotypes : ndarray of int64, shape (n_loci,)
        ``n_table_rows_l - 1``; row ``offset[l] + n_genotypes[l]`` is the zero row selected by
        an untyped candidate (the table's last row; partial genotypes' rows come before it:
        ``schemas/genotype_encoding.v2.json``).
    n_families : int
    """

    rows: np.ndarray
    offsets: np.ndarray
    n_genotypes: np.ndarray
    n_families: int


def block_tables(tables: FamilyTables, width: int = BLOCK_WIDTH) -> BlockedTables:
    """Lay out a shard's tables in blocks of ``width`` families (see :class:`BlockedTables`)."""
    n_fam = tables.n_families
    sizes = np.array([T.shape[0] for T in tables.log10_lr], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    n_blocks = -(-n_fam // width)
    rows = np.empty((n_blocks, int(sizes.sum()), width))
    full = n_fam // width  # blocks without padding
    for T, off, n in zip(tables.log10_lr, offsets, sizes):
        dst = rows[:, off:off + n, :]
        dst[:full] = T[:, : full * width].reshape(n, full, width).transpose(1, 0, 2)
        if full < n_blocks:
            dst[full] = -np.inf
            dst[full, :, : n_fam - full * width] = T[:, full * width:]
    return BlockedTables(rows, offsets, sizes - 1, n_fam)


def candidate_rows(candidates: np.ndarray, blocked: BlockedTables) -> np.ndarray:
    """Row of each candidate's genotype in the blocked layout, shape (n_candidates, n_loci), int64.

    ``candidates`` are genotype indices (n_candidates, n_loci), ``-1`` = untyped, ``-2 - i``
    the partial genotype ``i/?`` (:func:`kinship.genetics.encoding.table_row`).
    """
    g = np.empty(candidates.shape, dtype=np.int64)
    for li in range(candidates.shape[1]):
        g[:, li] = table_row(candidates[:, li], int(blocked.n_genotypes[li]) + 1)
    return (g + blocked.offsets[None, :]).astype(np.int64)


@dataclass(frozen=True)
class TopK:
    """Best ``k`` partners, sorted by descending score then ascending index.

    ``index`` is -1 where fewer than ``k`` partners exist; ``score`` is then ``nan``.
    """

    score: np.ndarray  # (n, k) float64
    index: np.ndarray  # (n, k) int64


@dataclass(frozen=True)
class Entries:
    """(candidate, family, log10 LR) triples with global candidate and family indices, and
    optionally each pair's counts.

    Attributes
    ----------
    candidate, family : ndarray of int64, shape (n,)
    score : ndarray of float64, shape (n,)
        The pair's log10 LR (the kernel's float64 sum).
    n_compared, n_inconsistent : ndarray of int16, shape (n,), optional
        Loci compared and Mendelian-inconsistent loci of the pair
        (:func:`kinship.app.match_run.score_shard` fills them from the tables it scored with);
        ``-1`` for an entry whose counts are not known (entries without counts concatenated
        with entries that have them). None: no entry has them.
    unlinked : ndarray of float64, shape (n,), optional
        The pair's log10 LR with every locus independent (``nan`` where not known), with the
        counts.
    tail : ndarray of float64, shape (n,), optional
        The pair's calibration tail on its autosomal LR alone (``p_unrelated`` of
        :func:`kinship.app.match_run.calibrate` for a pair without a Y-STR LR), which
        :func:`kinship.app.match_run.score_shard` computes for its hits from the tables it
        scored with; ``nan`` where not computed. None: no entry has one.
    """

    candidate: np.ndarray  # int64
    family: np.ndarray  # int64
    score: np.ndarray  # float64
    n_compared: np.ndarray | None = None  # int16, -1 = not counted
    n_inconsistent: np.ndarray | None = None  # int16, -1 = not counted
    unlinked: np.ndarray | None = None  # float64, nan = not counted
    tail: np.ndarray | None = None  # float64, nan = not computed

    @staticmethod
    def empty() -> "Entries":
        return Entries(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))

    @property
    def has_counts(self) -> bool:
        """Whether the entries carry counts (some may still be ``-1``: :attr:`counted`)."""
        return self.n_compared is not None

    @property
    def counted(self) -> np.ndarray:
        """Which entries carry their counts, bool (n,).

        Examples
        --------
        >>> e = Entries.concat([Entries(np.array([0]), np.array([1]), np.array([2.0])),
        ...                     Entries(np.array([3]), np.array([4]), np.array([5.0]),
        ...                             np.array([13], np.int16), np.array([0], np.int16), np.array([5.0]))])
        >>> e.counted.tolist(), e.n_compared.tolist(), e.unlinked.tolist()
        ([False, True], [-1, 13], [nan, 5.0])
        """
        if self.n_compared is None:
            return np.zeros(len(self), dtype=bool)
        return self.n_compared >= 0

    def take(self, index: np.ndarray) -> "Entries":
        """The entries at ``index`` (positions or a bool mask), their counts with them."""
        return Entries(*(None if a is None else a[index] for a in (getattr(self, f) for f in _ENTRY_FIELDS)))

    @staticmethod
    def concat(parts) -> "Entries":
        """The entries of ``parts`` one after the other; where some parts carry counts (tails)
        and others not, the others get ``-1`` / ``nan`` (``nan``).

        Examples
        --------
        >>> a = Entries(np.array([0]), np.array([1]), np.array([4.5]), tail=np.array([1e-6]))
        >>> b = Entries(np.array([2]), np.array([3]), np.array([5.0]))
        >>> Entries.concat([a, b]).tail.tolist(), Entries.concat([b, b]).tail is None
        ([1e-06, nan], True)
        """
        parts = list(parts)
        if not parts:
            return Entries.empty()
        columns = {a: np.concatenate([getattr(p, a) for p in parts]) for a in ("candidate", "family", "score")}
        if any(p.has_counts and len(p) for p in parts):  # entries without counts get -1 / nan
            for a, fill, dtype in (("n_compared", -1, np.int16), ("n_inconsistent", -1, np.int16),
                                   ("unlinked", np.nan, np.float64)):
                columns[a] = np.concatenate([getattr(p, a) if p.has_counts else np.full(len(p), fill, dtype)
                                             for p in parts]).astype(dtype, copy=False)
        if any(p.tail is not None and len(p) for p in parts):
            columns["tail"] = np.concatenate([p.tail if p.tail is not None else np.full(len(p), np.nan)
                                              for p in parts]).astype(np.float64, copy=False)
        return Entries(**columns)

    def __len__(self) -> int:
        return self.candidate.size


_ENTRY_FIELDS = ("candidate", "family", "score", "n_compared", "n_inconsistent", "unlinked", "tail")


@dataclass(frozen=True)
class ShardResult:
    """What scoring some candidates against some families keeps (global indices).

    Attributes
    ----------
    candidate_best : Entries
        Each scored candidate's best ``k`` families among the scored ones.
    family_best : Entries
        Each scored family's best ``k`` candidates among the scored ones.
    hits : Entries
        Every scored pair with log10 LR >= the threshold.
    """

    candidate_best: Entries
    family_best: Entries
    hits: Entries


def _insert(vals, idxs, count, v, i, k):  # pragma: no cover - compiled by numba
    """Sorted insertion of (v, i) into the first ``count`` slots (descending v, ties by order)."""
    if count < k:
        pos = count
        count += 1
    elif v > vals[k - 1]:
        pos = k - 1
    else:
        return count
    while pos > 0 and vals[pos - 1] < v:
        vals[pos] = vals[pos - 1]
        idxs[pos] = idxs[pos - 1]
        pos -= 1
    vals[pos] = v
    idxs[pos] = i
    return count


def _record_hit(hit_pairs, hit_scores, hit_cnt, t, c, f, v):  # pragma: no cover - compiled by numba
    """Record the pair (c, f, v) in thread ``t``'s hit list; past its capacity only count it
    (the caller raises when any count exceeds the capacity)."""
    h = hit_cnt[t]
    if h < hit_scores.shape[1]:
        hit_pairs[t, h, 0] = c
        hit_pairs[t, h, 1] = f
        hit_scores[t, h] = v
    hit_cnt[t] = h + 1


def _kernel(rows, cand_rows, n_families, k, threshold, n_chunks,
            cand_val, cand_idx, cand_cnt, fam_val, fam_idx, fam_cnt, fam_worst,
            hit_pairs, hit_scores, hit_cnt):  # pragma: no cover - compiled by numba
    n_blocks = rows.shape[0]
    n_cand, n_loci = cand_rows.shape
    per_chunk = (n_blocks + n_chunks - 1) // n_chunks
    neg_inf = -np.inf
    for t in numba.prange(n_chunks):
        worst_f = np.empty(BLOCK_WIDTH)
        for b in range(t * per_chunk, min(n_blocks, (t + 1) * per_chunk)):
            block = rows[b]
            base = b * BLOCK_WIDTH
            n_w = min(BLOCK_WIDTH, n_families - base)
            # Families' current k-th best; +inf for padding, so the fast test never fires.
            full = False
            for c in range(n_cand):
                # A fresh accumulator per candidate: LLVM then knows it aliases nothing and
                # vectorises the row additions (a reused buffer measured 1.8x slower).
                # 0.0 + row, as the reference (np.zeros + T[0]): -0.0 entries sum to +0.0 there.
                acc = block[cand_rows[c, 0]] + 0.0
                for l in range(1, n_loci):
                    acc += block[cand_rows[c, l]]
                count = cand_cnt[t, c]
                worst_c = cand_val[t, c, k - 1] if count == k else neg_inf
                best = neg_inf
                fam_better = False
                for w in range(BLOCK_WIDTH):
                    best = max(best, acc[w])
                    fam_better |= acc[w] > worst_f[w]
                # Fast path: no family list, no candidate list and no threshold touched.
                if full and count == k and not fam_better and best <= worst_c and best < threshold:
                    continue
                for w in range(n_w):
                    v = acc[w]
                    f = base + w
                    if count < k or v > worst_c:
                        count = _insert(cand_val[t, c], cand_idx[t, c], count, v, f, k)
                        if count == k:
                            worst_c = cand_val[t, c, k - 1]
                    if fam_cnt[f] < k or v > fam_val[f, k - 1]:
                        fam_cnt[f] = _insert(fam_val[f], fam_idx[f], fam_cnt[f], v, c, k)
                        if full:
                            worst_f[w] = fam_val[f, k - 1]
                    if v >= threshold:
                        _record_hit(hit_pairs, hit_scores, hit_cnt, t, c, f, v)
                cand_cnt[t, c] = count
                if not full:
                    full = True
                    for w in range(n_w):
                        full = full and fam_cnt[base + w] == k
                    if full:  # from now on worst_f tracks each list's k-th best as it changes
                        for w in range(BLOCK_WIDTH):
                            worst_f[w] = fam_val[base + w, k - 1] if w < n_w else np.inf

#: Families per block of the int16 screen (and of its float64 rescoring layout): 64 int16
#: scores = two AVX-512 registers.
SCREEN_WIDTH = 64
#: Candidates per tile of the screen: one locus's rows of a block (``(G_l + 1) * 64 * 2`` bytes,
#: ~12 KB at 96 genotypes) and the tile's accumulators (``64 * 64 * 2`` = 8 KB) stay in L1.
SCREEN_TILE = 64

_U64 = 2.0 ** -53  # unit roundoff of float64 (round to nearest)
_Q_MIN = -32768  # the int16 range: no screen sum leaves [_Q_MIN, 0]
_Q_MAX = 32767


@dataclass(frozen=True)
class ScreenTables:
    """A shard's int16 screen: its blocked tables quantised, and the constants of the bound.

    For locus ``l`` let ``m_l`` be the largest finite entry of its table over the shard's
    families (0 if none). Entry ``x`` is stored as ``q = max(-F_l, ceil(fl(x - m_l) / step))``,
    ``-inf`` (exclusion) and padding as ``-F_l``; every ``q`` lies in ``[-F_l, 0]`` with
    ``sum_l F_l <= 32768``, so a pair's screen sum ``Q = sum_l q_l`` lies in ``[-32768, 0]``:
    int16 additions never overflow and need no saturation.

    Attributes
    ----------
    rows : ndarray of int16, shape (n_blocks, n_rows, SCREEN_WIDTH)
        The quantised :attr:`BlockedTables.rows`.
    step : float
        Quantisation step ``h``, a power of two: the smallest with ``sum_l ceil(SCREEN_COVER *
        span_l / h) <= 32768``, ``span_l = m_l - min finite entry`` (:func:`_screen_step`).
    base : float
        ``C = fl(sum_l m_l)``, the score of ``Q = 0``.
    slack : float
        ``E`` of :func:`screen_error_bound`: ``S <= C + h Q + E`` for every pair.
    floor : ndarray of int64, shape (n_loci,)
        ``F_l = ceil(SCREEN_COVER * span_l / h)``: with ``SCREEN_COVER = 1`` only exclusions and
        padding sit on the floor.
    n_loci : int
    """

    rows: np.ndarray
    step: float
    base: float
    slack: float
    floor: np.ndarray
    n_loci: int


def _screen_stats(rows, offsets, n_families, lo, hi, mag, bad, excluded):  # pragma: no cover - compiled by numba
    """Per block and locus: smallest, largest and largest absolute finite entry; per block the
    count of ``nan`` / ``+inf`` entries and of ``-inf`` entries of real (not padding) families."""
    n_blocks, n_rows, width = rows.shape
    n_loci = offsets.size
    for b in numba.prange(n_blocks):
        n_bad = 0
        n_ex = 0
        n_w = min(width, n_families - b * width)
        for li in range(n_loci):
            end = offsets[li + 1] if li + 1 < n_loci else n_rows
            a = np.inf
            z = -np.inf
            for r in range(offsets[li], end):
                for w in range(width):
                    x = rows[b, r, w]
                    if x != x or x == np.inf:
                        n_bad += 1
                    elif x != -np.inf:
                        a = min(a, x)
                        z = max(z, x)
                    elif w < n_w:
                        n_ex += 1
            lo[b, li] = a
            hi[b, li] = z
            mag[b, li] = max(abs(a), abs(z)) if z >= a else 0.0
        bad[b] = n_bad
        excluded[b] = n_ex


def _quantise(rows, offsets, top, step, floor, out):  # pragma: no cover - compiled by numba
    """``out = max(-floor[locus], ceil((rows - top[locus]) / step))``, ``-inf`` -> ``-floor``."""
    n_blocks, n_rows, width = rows.shape
    n_loci = offsets.size
    for b in numba.prange(n_blocks):
        for li in range(n_loci):
            end = offsets[li + 1] if li + 1 < n_loci else n_rows
            m = top[li]
            f = np.float64(floor[li])
            for r in range(offsets[li], end):
                for w in range(width):
                    y = np.ceil((rows[b, r, w] - m) / step)  # -inf stays -inf
                    out[b, r, w] = np.int16(max(y, -f))


def quantise_screen(blocked: BlockedTables) -> ScreenTables | None:
    """The int16 screen of a shard's blocked tables (:class:`ScreenTables`; numba only).

    Parameters
    ----------
    blocked : BlockedTables
        Laid out with ``width = SCREEN_WIDTH``.

    Returns
    -------
    ScreenTables or None
        ``None`` when the finite entries are too large for a safe quantisation (``sum_l max
        |T_l| > 1e300``), or when more than :data:`SCREEN_MAX_EXCLUDED` of the table entries
        are exclusions (``-inf``; tables compiled without a mutation model): the caller then
        scores with the float64 kernel.

    Raises
    ------
    ValueError
        If a table entry is ``nan`` or ``+inf``.
    """
    n_blocks, _, width = blocked.rows.shape
    n_loci = blocked.offsets.size
    lo = np.empty((n_blocks, n_loci))
    hi = np.empty((n_blocks, n_loci))
    mag = np.empty((n_blocks, n_loci))
    bad = np.zeros(n_blocks, dtype=np.int64)
    excluded = np.zeros(n_blocks, dtype=np.int64)
    _screen_stats(blocked.rows, blocked.offsets, blocked.n_families, lo, hi, mag, bad, excluded)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} family table entries are nan or +inf; a compiled log10 LR "
            "table must be finite or -inf (exclusion): recompile the shard"
        )
    lo_l, hi_l = lo.min(axis=0), hi.max(axis=0)
    typed = hi_l >= lo_l  # loci with a finite entry
    top = np.where(typed, hi_l, 0.0)
    M = float(mag.max(axis=0).sum())
    if not M <= 1e300 or excluded.sum() > SCREEN_MAX_EXCLUDED * blocked.n_families * blocked.rows.shape[1]:
        return None
    spans = np.where(typed, hi_l - lo_l, 0.0)
    step, floor = _screen_step(spans)
    out = np.empty(blocked.rows.shape, dtype=np.int16)
    _quantise(blocked.rows, blocked.offsets, top, step, floor, out)
    base = 0.0
    for m in top:  # in locus order, as the bound's fl(sum m_l)
        base += float(m)
    return ScreenTables(out, step, base, _screen_slack(M, n_loci), floor, n_loci)


#: Largest share of excluded (``-inf``) table entries for which the screen is used. Without a
#: mutation model most entries are exclusions and most lists end in ``-inf``, which admits every
#: finite pair; the int16 screen can not tell an excluded pair from a finite one (exclusions sit
#: on the floor), so it would rescore nearly every pair: the float64 kernel is faster there.
SCREEN_MAX_EXCLUDED = 0.25

#: Share of each locus's span (largest minus smallest finite entry) the int16 range must cover.
#: Entries further below the locus's maximum are clamped: the bound stays valid (clamping only
#: raises a screen sum), such pairs are merely rescored more often; a finer step halves the
#: margin of every gate.
SCREEN_COVER = 1.0


def _screen_step(spans: np.ndarray) -> tuple[float, np.ndarray]:
    """Step ``h`` and per-locus floors ``F_l`` (int64) of the int16 screen.

    ``h`` is the smallest power of two whose floors ``F_l = ceil(SCREEN_COVER * span_l / h)``
    sum to at most 32,768, so no screen sum (``Q in [-sum F_l, 0]``) leaves the int16 range.
    """
    total = float(spans.sum()) * SCREEN_COVER
    if not total > 0:
        return 1.0, np.zeros(spans.size, dtype=np.int64)
    step = 2.0 ** int(np.floor(np.log2(total / -_Q_MIN)))
    while True:
        floor = np.ceil(SCREEN_COVER * spans / step).astype(np.int64)
        if floor.sum() <= -_Q_MIN:
            return step, floor
        step *= 2.0


def _screen_slack(M: float, n_loci: int) -> float:
    """``E`` of :func:`screen_error_bound` from ``M = sum_l max |T_l|``."""
    m = max(n_loci - 1, 0)
    gamma = m * _U64 / (1 - m * _U64)
    return 2.0 * (2 * _U64 + 2 * gamma) * M + 2.0 ** -40 * (M + 1.0)


def screen_error_bound(tables: FamilyTables) -> float:
    """Bound ``eps`` on ``|s - S|`` of the int16 screen for every finite pair without a clamped entry.

    Notation (:class:`ScreenTables`): ``S = fl64(x_1 + ... + x_n)`` is the exact score, the
    pair's ``n = n_loci`` float64 entries added in locus order from 0.0 (what
    :func:`~kinship.matching.reference.score_all_pairs` computes); ``q_l = max(-F,
    ceil(fl(x_l - m_l) / h))``; ``Q = sum_l q_l`` (exact in int16, ``Q in [-32768, 0]``);
    ``C = fl(sum_l m_l)``; ``u = 2**-53``; ``gamma = (n - 1) u / (1 - (n - 1) u)``;
    ``M = sum_l max |T_l|`` (largest finite absolute entry per locus over the shard).

    * ``h`` is a power of two, so ``fl(x - m) / h`` is exact and ``h q_l >= fl(x_l - m_l) >=
      x_l - m_l - u |x_l - m_l|``: ``x_l <= m_l + h q_l + 2 u M_l``. Clamping at ``-F`` only
      raises ``q_l``, and ``-inf`` satisfies any upper bound, so this holds for every entry.
    * Recursive summation (Higham 2002, *Accuracy and Stability of Numerical Algorithms*, 2nd
      ed., Lemma 3.1 / eq. 4.4): ``S <= sum_l x_l + gamma M`` and ``C >= sum_l m_l - gamma M``.

    Hence, for **every** pair, ``S <= C + h Q + E`` with ``E = 2 (2 u + 2 gamma) M +
    2**-40 (M + 1)`` (twice the proven ``(2 u + 2 gamma) M``, plus room for the gate's own
    float64 arithmetic): this one-sided bound is all the gates use (:func:`score_shard`, Notes).
    For an entry that is not clamped, ``ceil`` also gives ``h q_l < fl(x_l - m_l) + h``, so
    ``S >= C + h (Q - n) - E``; with the centred screen value ``s = C + h (Q - n / 2)``:
    ``|s - S| <= n h / 2 + E`` — half a step per locus plus float64 rounding. That is the value
    returned. ``h`` is the smallest power of two whose floors ``F_l = ceil(span_l / h)`` sum to
    at most 32,768 (:func:`_screen_step`, ``SCREEN_COVER = 1``), so only exclusions and padding
    are clamped; the 20 loci of the benchmark (spans 14-33 log10 units) get ``h = 2**-6``,
    ``eps ~ 0.16``.

    Parameters
    ----------
    tables : FamilyTables

    Returns
    -------
    float
        ``eps = n h / 2 + E`` in log10 LR units; ``nan`` when the screen does not apply
        (entries above 1e300 in magnitude).

    Raises
    ------
    ValueError
        If a table entry is ``nan`` or ``+inf``.

    Examples
    --------
    Two loci whose finite entries span 3.5 and 1.25: ``h = 2**-12`` (floors 14,336 and 5,120),
    so ``eps`` is one step plus rounding.

    >>> T0 = np.array([[2.5, -1.0], [-np.inf, 0.5], [0.0, 0.0]])
    >>> T1 = np.array([[1.0, -0.25], [0.0, 0.0]])
    >>> zeros = (np.zeros(T0.shape, np.int8), np.zeros(T1.shape, np.int8))
    >>> ft = FamilyTables(("A", "B"), (T0, T1), zeros, np.ones((2, 2), bool))
    >>> eps = screen_error_bound(ft)
    >>> bool(2 ** -12 < eps < 2 ** -12 + 1e-11)
    True
    """
    sc = quantise_screen(block_tables(tables, SCREEN_WIDTH))
    if sc is None:
        return float("nan")
    return sc.n_loci * sc.step / 2 + sc.slack


def _gate16(G, base, slack, step):  # pragma: no cover - compiled by numba
    """int16 gate of the exact bar ``G``: a screen sum ``Q < gate`` implies ``S < G``.

    ``gate = floor(y)`` with ``y`` a float64 lower estimate of ``(G - C - E) / h`` (the term
    ``2**-48 (|G| + |C| + E)`` covers the four roundings): ``Q < gate <= (G - C - E) / h``
    gives ``S <= C + h Q + E < G``. Clamped to ``[-32768, 1]``: ``1`` skips everything (``Q <=
    0``), ``-32768`` nothing.
    """
    if G == np.inf:
        return np.int16(1)
    y = (G - base - slack - 2.0 ** -48 * (abs(G) + abs(base) + slack)) / step
    if y >= 1.0:
        return np.int16(1)
    if not y > -32768.0:  # also -inf (G = -inf: every pair may enter)
        return np.int16(_Q_MIN)
    return np.int16(np.floor(y))


def _insert_lex(vals, idxs, count, v, i, k):  # pragma: no cover - compiled by numba
    """Insert (v, i) into the first ``count`` slots ordered by descending v, then ascending i
    (so the result does not depend on the order of insertion); capped at ``k``."""
    if count < k:
        pos = count
        count += 1
    elif v > vals[k - 1] or (v == vals[k - 1] and i < idxs[k - 1]):
        pos = k - 1
    else:
        return count
    while pos > 0 and (vals[pos - 1] < v or (vals[pos - 1] == v and idxs[pos - 1] > i)):
        vals[pos] = vals[pos - 1]
        idxs[pos] = idxs[pos - 1]
        pos -= 1
    vals[pos] = v
    idxs[pos] = i
    return count


def _screen_kernel(rows16, rows64, cand_rows, cand_floor, n_families, k, threshold, hit16, base, slack, step,
                   n_chunks, cand_val, cand_idx, cand_cnt, cgate, fam_val, fam_idx, fam_cnt,
                   hit_pairs, hit_scores, hit_cnt, n_rescored):  # pragma: no cover - compiled by numba
    """Candidate-tiled int16 screen with exact float64 rescoring (see :func:`score_shard`).

    Per block of ``W`` families and tile of ``TC`` candidates the int16 sums are accumulated
    locus by locus. Each family column has a gate ``min(gate16(its k-th score), hit16)`` and
    each candidate a gate ``gate16(its k-th score)`` (``-32768`` while a list is not full); a
    pair whose sum is below both is skipped (:func:`_gate16`: then ``S`` is below the family's
    and the candidate's k-th score and below the threshold: it can enter no list, since entry
    needs ``S >`` the k-th, or ``=`` with a lower index). Every other pair is rescored in
    float64 and offered to both lists (:func:`_insert_lex`) and to the hits.

    A candidate whose list is not full (its first block) first rescores the row's pairs with
    the largest screen sums (as many as its list lacks), which fills the list with good scores,
    then the rest of the row against the gate.
    """
    n_blocks = rows16.shape[0]
    n_cand, n_loci = cand_rows.shape
    per_chunk = (n_blocks + n_chunks - 1) // n_chunks
    W = SCREEN_WIDTH
    TC = SCREEN_TILE
    qmin = np.int16(_Q_MIN)
    qmax = np.int16(_Q_MAX)
    for t in numba.prange(n_chunks):
        acc = np.empty((TC, W), dtype=np.int16)
        fgate = np.empty(W, dtype=np.int16)
        top = np.empty(k, dtype=np.int16)
        done = np.zeros(W, dtype=np.bool_)
        passed = np.zeros(W, dtype=np.uint8)
        rescored = 0
        for c in range(n_cand):  # a floor from earlier shards: pairs below it can not be kept
            cgate[t, c] = _gate16(cand_floor[c], base, slack, step)
        for b in range(t * per_chunk, min(n_blocks, (t + 1) * per_chunk)):
            blk = rows16[b]
            blk64 = rows64[b]
            f0 = b * W
            n_w = min(W, n_families - f0)
            for w in range(W):
                if w >= n_w:
                    fgate[w] = qmax  # padding: never rescored through the family side
                elif fam_cnt[f0 + w] == k:
                    fgate[w] = min(_gate16(fam_val[f0 + w, k - 1], base, slack, step), hit16)
                else:
                    fgate[w] = qmin  # list not full: every pair enters
            for c0 in range(0, n_cand, TC):
                nc = min(TC, n_cand - c0)
                # Locus by locus over the tile: one locus's rows and the accumulators stay in L1.
                for ci in range(nc):
                    r = cand_rows[c0 + ci, 0]
                    for w in range(W):
                        acc[ci, w] = blk[r, w]
                for l in range(1, n_loci):
                    for ci in range(nc):
                        r = cand_rows[c0 + ci, l]
                        for w in range(W):
                            acc[ci, w] += blk[r, w]
                for ci in range(nc):
                    c = c0 + ci
                    cg = cgate[t, c]
                    # Vectorised: which columns pass the gates (gates only rise while the row is
                    # scanned, so a column that fails now fails later too).
                    n_hit = 0
                    for w in range(W):
                        ok = acc[ci, w] >= min(fgate[w], cg)
                        passed[w] = ok
                        n_hit += ok
                    if n_hit == 0:
                        continue
                    cnt = cand_cnt[t, c]
                    n_pass = 1
                    if cnt < k and cand_floor[c] == -np.inf:  # not full: the row's best screen sums first
                        n_pass = 2
                        need = k - cnt
                        qsel = qmin
                        if n_w > need:
                            nt = 0
                            for w in range(n_w):
                                a = acc[ci, w]
                                if nt < need:
                                    pos = nt
                                    nt += 1
                                elif a > top[need - 1]:
                                    pos = need - 1
                                else:
                                    continue
                                while pos > 0 and top[pos - 1] < a:
                                    top[pos] = top[pos - 1]
                                    pos -= 1
                                top[pos] = a
                            qsel = top[need - 1]
                    for p in range(n_pass):
                        for w in range(n_w):
                            s = acc[ci, w]
                            if not passed[w]:
                                continue
                            if n_pass == 2 and p == 1 and done[w]:
                                done[w] = False
                                continue
                            if s < fgate[w] and s < cg:
                                continue
                            if n_pass == 2 and p == 0:
                                if s < qsel:
                                    continue
                                done[w] = True
                            f = f0 + w
                            rescored += 1
                            v = 0.0 + blk64[cand_rows[c, 0], w]  # as the reference: -0.0 -> +0.0
                            for l in range(1, n_loci):
                                v += blk64[cand_rows[c, l], w]
                            if v >= cand_floor[c]:
                                cnt = _insert_lex(cand_val[t, c], cand_idx[t, c], cnt, v, f, k)
                            if cnt == k:
                                cg = _gate16(cand_val[t, c, k - 1], base, slack, step)
                            fc = _insert_lex(fam_val[f], fam_idx[f], fam_cnt[f], v, c, k)
                            fam_cnt[f] = fc
                            if fc == k:
                                fgate[w] = min(_gate16(fam_val[f, k - 1], base, slack, step), hit16)
                            if v >= threshold:
                                _record_hit(hit_pairs, hit_scores, hit_cnt, t, c, f, v)
                    cand_cnt[t, c] = cnt
                    cgate[t, c] = cg
        n_rescored[t] = rescored


def _merge_threads(vals, idxs, cnt, out_val, out_idx):  # pragma: no cover - compiled by numba
    """Merge each candidate's per-thread lists (each sorted by descending score, then ascending
    index, ``cnt[t, c]`` entries) into its best ``k``, in the same order, as
    :func:`_merge_top_k` does."""
    n_chunks, n_cand, k = vals.shape
    for c in numba.prange(n_cand):
        head = np.zeros(n_chunks, dtype=np.int64)
        for j in range(k):
            best = -1
            for t in range(n_chunks):
                h = head[t]
                if h < cnt[t, c]:
                    if best < 0:
                        best = t
                    else:
                        v, bv = vals[t, c, h], vals[best, c, head[best]]
                        if v > bv or (v == bv and idxs[t, c, h] < idxs[best, c, head[best]]):
                            best = t
            if best < 0:
                break
            out_val[c, j] = vals[best, c, head[best]]
            out_idx[c, j] = idxs[best, c, head[best]]
            head[best] += 1


if HAVE_NUMBA:
    _merge_threads = numba.njit(cache=True, parallel=True)(_merge_threads)
    _insert = numba.njit(cache=True, inline="always")(_insert)
    _record_hit = numba.njit(cache=True, inline="always")(_record_hit)
    _kernel = numba.njit(cache=True, parallel=True, fastmath=False)(_kernel)
    _screen_stats = numba.njit(cache=True, parallel=True)(_screen_stats)
    _quantise = numba.njit(cache=True, parallel=True)(_quantise)
    _gate16 = numba.njit(cache=True, inline="always")(_gate16)
    _insert_lex = numba.njit(cache=True, inline="always")(_insert_lex)
    _screen_kernel = numba.njit(cache=True, parallel=True, fastmath=False)(_screen_kernel)


def _kernel_numpy(rows, cand_rows, n_families):
    """The same blocked algorithm in numpy: per block, a (n_cand, W) gather-and-sum."""
    n_blocks, _, width = rows.shape
    n_cand = cand_rows.shape[0]
    scores = np.empty((n_cand, n_blocks * width))
    for b in range(n_blocks):
        acc = np.zeros((n_cand, width))
        for l in range(cand_rows.shape[1]):
            acc += rows[b][cand_rows[:, l]]
        scores[:, b * width:(b + 1) * width] = acc
    return scores[:, :n_families]


def _top_k_rows(scores: np.ndarray, k: int) -> TopK:
    """Best ``k`` per row of a dense score matrix, ties by column index."""
    n, m = scores.shape
    kk = min(k, m)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :kk]
    score = np.full((n, k), np.nan)
    index = np.full((n, k), -1, dtype=np.int64)
    score[:, :kk] = np.take_along_axis(scores, order, axis=1)
    index[:, :kk] = order
    return TopK(score, index)


def _entries_from_top_k(top: TopK, owner: np.ndarray, partner: np.ndarray, owner_is_candidate: bool) -> Entries:
    keep = top.index >= 0
    rows, cols = np.nonzero(keep)
    own = owner[rows]
    part = partner[top.index[rows, cols]]
    score = top.score[rows, cols]
    return Entries(own, part, score) if owner_is_candidate else Entries(part, own, score)


def score_shard(
    tables: FamilyTables,
    candidates: np.ndarray,
    *,
    family_index: np.ndarray | None = None,
    candidate_index: np.ndarray | None = None,
    k: int = 10,
    threshold: float = 4.0,
    max_hits: int = 1_000_000,
    use_numba: bool | None = None,
    screen: bool = True,
    stats: dict | None = None,
    candidate_floor: np.ndarray | None = None,
) -> ShardResult:
    """Score candidates against one shard of families, keeping only what is reported.

    Parameters
    ----------
    tables : FamilyTables
        The shard's compiled families.
    candidates : ndarray of int32, shape (n_candidates, n_loci)
        Genotype indices at ``tables.loci``; -1 = untyped.
    family_index, candidate_index : ndarray of int64, optional
        Global indices of the shard's families and of the candidates (default 0..n-1).
    k : int
        Partners kept per candidate and per family.
    threshold : float
        log10 LR at or above which every pair is kept (default 4: CPI 10,000).
    max_hits : int
        Bound on kept threshold pairs per worker thread; exceeding it raises.
    use_numba : bool, optional
        Force the numba (True) or numpy (False) kernel; default numba when installed.
    screen : bool
        With numba: score with the candidate-tiled int16 screen and rescore exactly in float64
        every pair that could be kept (default), or with the plain float64 kernel (``False``).
        Both give the same result, bit for bit (see below).
    stats : dict, optional
        Filled with ``"pairs"``, ``"rescored"`` (pairs whose float64 score was computed by the
        screen kernel), ``"eps"`` (:func:`screen_error_bound`), ``"step"`` (the quantisation
        step) and ``"kernel_s"`` (seconds in the screen kernel, rescoring included) when the
        screen runs.
    candidate_floor : ndarray of float64, shape (n_candidates,), optional
        A lower bound on each candidate's final ``k``-th best log10 LR, from the shards already
        scored (:func:`candidate_floor`; ``-inf`` where fewer than ``k`` are known). Pairs
        scoring below it can not be in the candidate's final list: they are left out of
        ``candidate_best`` (ties with it are kept), which the screen uses to skip them. The
        family lists and hits are unchanged, and so is what :func:`merge_results` /
        :func:`combine_results` make of the shards.

    Returns
    -------
    ShardResult

    Raises
    ------
    ValueError
        If more than ``max_hits`` pairs reach ``threshold`` (raise the threshold), or a table
        holds ``nan`` / ``+inf`` (screen).

    Notes
    -----
    The screen (:func:`_screen_kernel`): per block of :data:`SCREEN_WIDTH` families and tile of
    :data:`SCREEN_TILE` candidates, int16 sums ``Q`` locus by locus (:class:`ScreenTables`).
    For every pair ``S <= C + h Q + E`` (:func:`screen_error_bound`), so with the int16 gate
    ``g(G)`` of an exact bar ``G`` (:func:`_gate16`), ``Q < g(G)`` implies ``S < G``. A pair is
    skipped when ``Q`` is below the gate of its family's list (``G`` = its ``k``-th score, or
    every pair while it holds fewer than ``k``), of the threshold, and of its candidate's list
    (``G`` = its ``k``-th score, at least ``candidate_floor``): then it can enter no list
    (entering a full list needs ``S`` above the ``k``-th score, or equal with a lower index) and
    is no hit. Every other pair is rescored in float64 (its entries added in locus order from
    0.0, as :func:`~kinship.matching.reference.score_all_pairs`) and offered to both lists, which
    are ordered by (descending score, ascending index) whatever the order of insertion. So the
    kept set, its order and every score are the float64 kernel's (tested against
    :func:`score_all_pairs`). Gates only rise, so a skipped pair stays skippable.

    Shards that :func:`quantise_screen` declines (mostly exclusions, or entries above 1e300)
    are scored by the plain float64 kernel; ``stats`` is then left empty.

    Cost: the bare int16 tile (nothing rescored) ran at 0.8-1e9 pairs/s on 2 lightly loaded
    AVX-512 cores; rescoring is dominated by lists that really change (a shard restarts each
    family's and, without ``candidate_floor``, each candidate's list), not by the bound's
    margin (``benchmarks/README.md``).
    """
    n_cand = candidates.shape[0]
    n_fam = tables.n_families
    family_index = np.arange(n_fam, dtype=np.int64) if family_index is None else np.asarray(family_index, np.int64)
    candidate_index = np.arange(n_cand, dtype=np.int64) if candidate_index is None else np.asarray(candidate_index, np.int64)
    if n_cand == 0 or n_fam == 0:
        return ShardResult(Entries.empty(), Entries.empty(), Entries.empty())
    if use_numba is None:
        use_numba = HAVE_NUMBA
    if candidate_floor is None:
        floor = np.full(n_cand, -np.inf)
    else:
        floor = np.asarray(candidate_floor, dtype=np.float64)
        if floor.shape != (n_cand,) or np.isnan(floor).any():
            raise ValueError(
                f"candidate_floor has shape {floor.shape} or holds nan; expected one float64 "
                f"log10 LR per candidate, shape ({n_cand},), -inf where fewer than k are known: "
                "build it with candidate_floor(previous result, ...)"
            )
    screen = bool(screen and use_numba and len(tables.log10_lr) > 0)
    sc = None
    if screen:
        blocked = block_tables(tables, SCREEN_WIDTH)
        sc = quantise_screen(blocked)  # raises on nan / +inf entries
    if sc is None:
        blocked = block_tables(tables, BLOCK_WIDTH)
    rows_idx = candidate_rows(candidates, blocked)
    if use_numba:
        n_chunks = max(1, min(numba.get_num_threads(), blocked.rows.shape[0]))
        cand_val = np.full((n_chunks, n_cand, k), np.nan)
        cand_idx = np.full((n_chunks, n_cand, k), -1, dtype=np.int64)
        cand_cnt = np.zeros((n_chunks, n_cand), dtype=np.int64)
        fam_val = np.full((n_fam, k), np.nan)
        fam_idx = np.full((n_fam, k), -1, dtype=np.int64)
        fam_cnt = np.zeros(n_fam, dtype=np.int64)
        hit_pairs = np.empty((n_chunks, max_hits, 2), dtype=np.int64)
        hit_scores = np.empty((n_chunks, max_hits))
        hit_cnt = np.zeros(n_chunks, dtype=np.int64)
        if sc is not None:
            hit16 = _gate16(float(threshold), sc.base, sc.slack, sc.step)
            cgate = np.full((n_chunks, n_cand), _Q_MIN, dtype=np.int16)
            n_rescored = np.zeros(n_chunks, dtype=np.int64)
            start = time.perf_counter()
            _screen_kernel(sc.rows, blocked.rows, rows_idx, floor, n_fam, k, float(threshold), hit16,
                           sc.base, sc.slack, sc.step, n_chunks, cand_val, cand_idx, cand_cnt, cgate,
                           fam_val, fam_idx, fam_cnt, hit_pairs, hit_scores, hit_cnt, n_rescored)
            if stats is not None:
                stats.update(pairs=n_cand * n_fam, rescored=int(n_rescored.sum()),
                             eps=sc.n_loci * sc.step / 2 + sc.slack, step=sc.step,
                             kernel_s=time.perf_counter() - start)
        else:
            fam_worst = np.full(n_fam, np.nan)
            _kernel(blocked.rows, rows_idx, n_fam, k, threshold, n_chunks,
                    cand_val, cand_idx, cand_cnt, fam_val, fam_idx, fam_cnt, fam_worst,
                    hit_pairs, hit_scores, hit_cnt)
        if hit_cnt.max(initial=0) > max_hits:
            raise ValueError(
                f"{int(hit_cnt.sum())} pairs reach log10 LR {threshold}; more than max_hits="
                f"{max_hits} per thread: raise the reporting threshold or max_hits"
            )
        out_val = np.full((n_cand, k), np.nan)
        out_idx = np.full((n_cand, k), -1, dtype=np.int64)
        _merge_threads(cand_val, cand_idx, cand_cnt, out_val, out_idx)
        candidate_best = TopK(out_val, out_idx)
        family_best = TopK(fam_val, fam_idx)
        pairs = np.concatenate([hit_pairs[t, : hit_cnt[t]] for t in range(n_chunks)]).reshape(-1, 2)
        pair_scores = np.concatenate([hit_scores[t, : hit_cnt[t]] for t in range(n_chunks)])
    else:
        scores = _kernel_numpy(blocked.rows, rows_idx, n_fam)
        candidate_best = _top_k_rows(scores, k)
        family_best = _top_k_rows(scores.T, k)
        c, f = np.nonzero(scores >= threshold)
        if c.size > max_hits:
            raise ValueError(
                f"{c.size} pairs reach log10 LR {threshold}; more than max_hits={max_hits}: "
                "raise the reporting threshold or max_hits"
            )
        pairs = np.stack([c, f], axis=1).astype(np.int64)
        pair_scores = scores[c, f]
    if candidate_floor is not None:  # (a no-op for the screen, which never keeps them)
        below = candidate_best.score < floor[:, None]
        candidate_best = TopK(np.where(below, np.nan, candidate_best.score), np.where(below, -1, candidate_best.index))
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))  # hits by (candidate, family): no thread order
    pairs, pair_scores = pairs[order], pair_scores[order]
    return ShardResult(
        _entries_from_top_k(candidate_best, candidate_index, family_index, True),
        _entries_from_top_k(family_best, family_index, candidate_index, False),
        Entries(candidate_index[pairs[:, 0]], family_index[pairs[:, 1]], pair_scores),
    )


def candidate_floor(candidate_best: Entries, candidate_index: np.ndarray, k: int) -> np.ndarray:
    """Each candidate's ``k``-th best log10 LR so far, for :func:`score_shard`'s ``candidate_floor``.

    Parameters
    ----------
    candidate_best : Entries
        Kept candidate-side entries of the shards scored so far (e.g. the ``candidate_best``
        of :func:`combine_results`), global indices.
    candidate_index : ndarray of int64, shape (n_candidates,)
        Global indices of the candidates the next shard scores.
    k : int

    Returns
    -------
    ndarray of float64, shape (n_candidates,)
        The ``k``-th best score of each candidate, ``-inf`` where fewer than ``k`` are known.

    Examples
    --------
    >>> e = Entries(np.array([0, 0, 1]), np.array([5, 6, 5]), np.array([2.0, -1.0, 3.0]))
    >>> candidate_floor(e, np.array([0, 1, 2]), k=2).tolist()
    [-1.0, -inf, -inf]
    """
    candidate_index = np.asarray(candidate_index, dtype=np.int64)
    n = candidate_index.size
    floor = np.full(n, -np.inf)
    if len(candidate_best) == 0 or n == 0:
        return floor
    order = np.argsort(candidate_index, kind="stable")
    sorted_index = candidate_index[order]
    pos = np.minimum(np.searchsorted(sorted_index, candidate_best.candidate), n - 1)
    found = sorted_index[pos] == candidate_best.candidate
    pos, score = order[pos[found]], candidate_best.score[found]
    count = np.bincount(pos, minlength=n)
    if count.max() <= k:  # lists already cut to k (shard and combined results): the k-th is the min
        low = np.full(n, np.inf)
        np.minimum.at(low, pos, score)
        floor[count == k] = low[count == k]
        return floor
    kept, rank = best_k(Entries(pos, np.zeros(pos.size, np.int64), score), by="candidate", k=k)
    floor[kept.candidate[rank == k]] = kept.score[rank == k]
    return floor


def _merge_top_k(vals: np.ndarray, idxs: np.ndarray, k: int) -> TopK:
    """Best ``k`` of each row's (score, index) entries: descending score, ascending index;
    empty slots (index -1) last."""
    key_score = np.where(idxs < 0, np.inf, -vals)  # empty slots sort last
    key_index = np.where(idxs < 0, np.iinfo(np.int64).max, idxs)
    order = np.lexsort((key_index, key_score), axis=1)[:, :k]
    return TopK(np.take_along_axis(vals, order, axis=1), np.take_along_axis(idxs, order, axis=1))


def best_k(entries: Entries, *, by: str, k: int) -> tuple[Entries, np.ndarray]:
    """Each owner's best ``k`` entries (owner = ``"candidate"`` or ``"family"``), with ranks.

    Order within an owner: descending score, then ascending partner index (the lower id wins a
    tie), so the result does not depend on how the entries were split into shards.
    Each kept entry keeps its counts (:class:`Entries`), when they carry them.

    Returns
    -------
    entries : Entries
        Sorted by owner, then rank.
    rank : ndarray of int32
        1-based rank of each kept entry within its owner.
    """
    owner = entries.candidate if by == "candidate" else entries.family
    partner = entries.family if by == "candidate" else entries.candidate
    order = np.lexsort((partner, -entries.score, owner))
    owner_sorted = owner[order]
    start = np.r_[0, np.flatnonzero(np.diff(owner_sorted)) + 1]
    counts = np.diff(np.r_[start, owner_sorted.size])
    rank = np.arange(owner_sorted.size) - np.repeat(start, counts) + 1
    keep = rank <= k
    kept = order[keep]
    return entries.take(kept), rank[keep].astype(np.int32)


def _merge_best(owner_a, score_a, partner_a, owner_b, score_b, partner_b, k):  # pragma: no cover - compiled by numba
    """Positions (into ``a`` then ``b``) of each owner's best ``k`` of two lists, each sorted
    by owner, descending score, ascending partner: :func:`best_k`'s order, and on a tie of all
    three the entry of ``a`` first (``np.lexsort`` is stable)."""
    na, nb = owner_a.size, owner_b.size
    out = np.empty(na + nb, dtype=np.int64)
    n = 0
    i = 0
    j = 0
    while i < na or j < nb:
        if j >= nb or (i < na and owner_a[i] <= owner_b[j]):
            o = owner_a[i]
        else:
            o = owner_b[j]
        taken = 0
        while True:
            in_a = i < na and owner_a[i] == o
            in_b = j < nb and owner_b[j] == o
            if not in_a and not in_b:
                break
            if in_a and (not in_b or score_a[i] > score_b[j]
                         or (score_a[i] == score_b[j] and partner_a[i] <= partner_b[j])):
                if taken < k:
                    out[n] = i
                    n += 1
                    taken += 1
                i += 1
            else:
                if taken < k:
                    out[n] = na + j
                    n += 1
                    taken += 1
                j += 1
    return out[:n]


if numba is not None:
    _merge_best = numba.njit(cache=True)(_merge_best)


def fold_candidate_best(kept: Entries | None, new: Entries, *, k: int) -> Entries:
    """Each candidate's best ``k`` of the entries kept so far and a finished shard's: what
    :func:`combine_results` keeps on the candidates' side, in its order.

    ``kept`` must be :func:`best_k` output (sorted by candidate, then rank), as every result of
    this function is; ``new`` is sorted here, then the two are merged in one linear pass
    (numba; :func:`best_k` of both otherwise). A national run folds ~250 shards into 10^6
    entries: one sort of the whole kept list per shard was ~0.5 s each.

    Examples
    --------
    >>> a = Entries(np.array([0, 0, 1]), np.array([5, 7, 5]), np.array([3.0, 1.0, 2.0]))
    >>> b = Entries(np.array([0, 1]), np.array([9, 8]), np.array([2.0, 2.0]))
    >>> f = fold_candidate_best(a, b, k=2)
    >>> f.candidate.tolist(), f.family.tolist(), f.score.tolist()
    ([0, 0, 1, 1], [5, 9, 5, 8], [3.0, 2.0, 2.0, 2.0])
    """
    new, _ = best_k(new, by="candidate", k=k)
    if kept is None or len(kept) == 0:
        return new
    if numba is None:
        return best_k(Entries.concat([kept, new]), by="candidate", k=k)[0]
    index = _merge_best(kept.candidate, kept.score, kept.family, new.candidate, new.score, new.family, k)
    return Entries.concat([kept, new]).take(index)


def combine_results(results, *, k: int) -> ShardResult:
    """Reduce shard results to one, keeping only what a final merge could still use: each
    candidate's best ``k`` families, the families' lists and all hits. ``None`` entries (no
    previous run) are skipped.

    Applying it as shards finish keeps memory at O((n_candidates + n_families) * k) instead of
    O(n_shards * n_candidates * k); the final :func:`merge_results` is unchanged by it.
    """
    results = [r for r in results if r is not None]
    cand, _ = best_k(Entries.concat(r.candidate_best for r in results), by="candidate", k=k)
    # A family's list comes whole from the one shard that scored it (or from the previous run
    # plus shards of new candidates): it is reduced once, in merge_results.
    return ShardResult(cand, Entries.concat(r.family_best for r in results), Entries.concat(r.hits for r in results))


def merge_results(results, *, k: int) -> tuple[Entries, np.ndarray, Entries, np.ndarray, Entries]:
    """Combine shard results (and a previous run's kept entries) into global lists.

    Returns
    -------
    candidate_best, candidate_rank, family_best, family_rank, hits
        Hits are deduplicated and sorted by (candidate, family). Entries keep their counts
        (:class:`Entries`).
    """
    results = list(results)
    cand, cand_rank = best_k(Entries.concat(r.candidate_best for r in results), by="candidate", k=k)
    fam, fam_rank = best_k(Entries.concat(r.family_best for r in results), by="family", k=k)
    hits = Entries.concat(r.hits for r in results)
    _, first = np.unique(np.stack([hits.candidate, hits.family], axis=1), axis=0, return_index=True) if len(hits) else (None, np.zeros(0, np.int64))
    hits = hits.take(first)
    return cand, cand_rank, fam, fam_rank, hits
