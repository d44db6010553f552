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

With numba the shard is scored by a float32 *screen* (:func:`score_shard`, Notes): per block of
:data:`SCREEN_WIDTH` families, a tile of :data:`SCREEN_TILE` candidates is summed locus by locus
in float32, and every pair that could be kept — within :func:`screen_error_bound` of a kept
list's last score or of the threshold — is rescored in float64. The kept scores are float64
sums that add the loci in the same order as the reference kernel, so the kept set and every
reported log10 LR are bit-identical to :func:`~kinship.matching.reference.score_all_pairs` and to
the plain float64 kernel (``screen=False``; tested, ``tests/unit/test_screen_kernel.py``).

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
    """(candidate, family, log10 LR) triples with global candidate and family indices."""

    candidate: np.ndarray  # int64
    family: np.ndarray  # int64
    score: np.ndarray  # float64

    @staticmethod
    def empty() -> "Entries":
        return Entries(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))

    @staticmethod
    def concat(parts) -> "Entries":
        parts = list(parts)
        if not parts:
            return Entries.empty()
        return Entries(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("candidate", "family", "score")))

    def __len__(self) -> int:
        return self.candidate.size


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


def _kernel(rows, cand_rows, n_families, k, threshold, n_chunks,
            cand_val, cand_idx, cand_cnt, fam_val, fam_idx, fam_cnt, fam_worst,
            hit_pairs, hit_scores, hit_cnt):  # pragma: no cover - compiled by numba
    n_blocks = rows.shape[0]
    n_cand, n_loci = cand_rows.shape
    max_hits = hit_scores.shape[1]
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
                        h = hit_cnt[t]
                        if h < max_hits:
                            hit_pairs[t, h, 0] = c
                            hit_pairs[t, h, 1] = f
                            hit_scores[t, h] = v
                        hit_cnt[t] = h + 1
                cand_cnt[t, c] = count
                if not full:
                    full = True
                    for w in range(n_w):
                        full = full and fam_cnt[base + w] == k
                    if full:  # from now on worst_f tracks each list's k-th best as it changes
                        for w in range(BLOCK_WIDTH):
                            worst_f[w] = fam_val[base + w, k - 1] if w < n_w else np.inf

#: Families per block of the float32 screen (and of its float64 rescoring layout): 64 float32
#: scores = eight AVX2 registers.
SCREEN_WIDTH = 64
#: Candidates per tile of the screen: one locus's rows of a block (``(G_l + 1) * 64 * 4`` bytes,
#: ~25 KB at 96 genotypes) and the tile's accumulators (``64 * 64 * 4`` = 16 KB) stay in L1/L2.
SCREEN_TILE = 64

#: Buffered candidate-side pairs per thread before a flush (20 bytes each).
_BUFFER = 1 << 20

_U32 = 2.0 ** -24  # unit roundoff of float32 (round to nearest)
_U64 = 2.0 ** -53  # unit roundoff of float64


def screen_error_bound(tables: FamilyTables) -> float:
    """Bound ``eps`` on ``|screen - exact|`` of the float32 screen, for every finite pair.

    The exact score is the float64 sum ``S = fl64(x_1 + ... + x_n)`` of the pair's ``n = n_loci``
    table entries, added in locus order (what :func:`~kinship.matching.reference.score_all_pairs`
    computes). The screen is ``S~ = fl32(y_1 + ... + y_n)`` with ``y_l = fl32(x_l)``, added in
    float32 in the same order. With ``u32 = 2**-24``, ``u64 = 2**-53`` (unit roundoffs) and
    ``gamma_m(u) = m u / (1 - m u)`` (Higham 2002, *Accuracy and Stability of Numerical
    Algorithms*, 2nd ed., Lemma 3.1 and eq. 4.4: recursive summation of ``n`` terms errs by at
    most ``gamma_{n-1} sum |terms|``):

    * rounding each entry: ``|y_l - x_l| <= u32 |x_l| + 2**-150`` (the second term for
      subnormals), so ``|sum y - sum x| <= u32 A + n 2**-150`` with ``A = sum_l |x_l|``;
    * float32 summation: ``|S~ - sum y| <= gamma_{n-1}(u32) sum |y_l| <= gamma_{n-1}(u32)(1 + u32) A
      + n 2**-150``;
    * float64 summation: ``|S - sum x| <= gamma_{n-1}(u64) A``;

    hence ``|S~ - S| <= (u32 + (1 + u32) gamma_{n-1}(u32) + gamma_{n-1}(u64)) A + 2 n 2**-150``.
    ``A`` is bounded for every pair by ``M = sum_l max |T_l|`` (the largest finite absolute entry
    of each locus's table over the shard's families). The returned value is twice that bound
    plus ``2**-40 (M + 1)``, so that the float64 arithmetic of the comparisons (one rounding of
    a number of size ``<= 2 M + 2``, at most ``2**-53 (2 M + 3)``) is covered too.

    Excluded entries (``-inf``) are exact in float32 and absorb any sum (tables hold no
    ``+inf`` or ``nan``): ``S~ = -inf`` exactly when ``S = -inf``, so exclusions need no bound.

    Parameters
    ----------
    tables : FamilyTables

    Returns
    -------
    float
        ``eps`` in log10 LR units: ``|S~ - S| <= eps`` for every (candidate, family) pair of the
        shard whose exact score is finite.

    Examples
    --------
    Two loci whose largest finite entries are 2.5 and 1.0 (``M = 3.5``): the bound is a few
    float32 roundoffs of 3.5.

    >>> T0 = np.array([[2.5, -1.0], [-np.inf, 0.5], [0.0, 0.0]])
    >>> T1 = np.array([[1.0, -0.25], [0.0, 0.0]])
    >>> zeros = (np.zeros(T0.shape, np.int8), np.zeros(T1.shape, np.int8))
    >>> ft = FamilyTables(("A", "B"), (T0, T1), zeros, np.ones((2, 2), bool))
    >>> eps = screen_error_bound(ft)
    >>> bool(3.5 * 2 ** -24 < eps < 3.5 * 2 ** -20)
    True
    """
    return _screen_bound(tables)[0]


def _screen_bound(tables: FamilyTables) -> tuple[float, float]:
    """``(eps, M)`` of :func:`screen_error_bound`; raises ValueError on ``nan`` / ``+inf`` entries."""
    n = len(tables.log10_lr)
    M = 0.0
    for li, T in enumerate(tables.log10_lr):
        if np.isnan(T).any() or np.isposinf(T).any():
            raise ValueError(
                f"family table of locus {tables.loci[li]!r} holds nan or +inf; a compiled log10 LR "
                "table must be finite or -inf (exclusion): recompile the shard"
            )
        finite = np.abs(T[np.isfinite(T)])
        M += float(finite.max()) if finite.size else 0.0
    return _screen_eps(M, n), M


def _screen_prepare(rows, offsets, rows32, magnitude, bad):  # pragma: no cover - compiled by numba
    """One pass over the blocked float64 rows: their float32 copy, each block's largest finite
    ``|entry|`` per locus (``magnitude[b, l]``) and a count of ``nan`` / ``+inf`` entries."""
    n_blocks, n_rows, width = rows.shape
    n_loci = offsets.size
    for b in numba.prange(n_blocks):
        n_bad = 0
        for li in range(n_loci):
            end = offsets[li + 1] if li + 1 < n_loci else n_rows
            m = 0.0
            for r in range(offsets[li], end):
                for w in range(width):
                    x = rows[b, r, w]
                    rows32[b, r, w] = np.float32(x)
                    if x != x or x == np.inf:
                        n_bad += 1
                    elif x != -np.inf:
                        m = max(m, abs(x))
            magnitude[b, li] = m
        bad[b] = n_bad


def _screen_eps(magnitude: float, n_loci: int) -> float:
    """:func:`screen_error_bound` from ``M`` and ``n_loci``."""
    m = max(n_loci - 1, 0)
    g32 = m * _U32 / (1 - m * _U32)
    g64 = m * _U64 / (1 - m * _U64)
    bound = (_U32 + (1 + _U32) * g32 + g64) * magnitude + 2 * n_loci * 2.0 ** -150
    return 2.0 * bound + 2.0 ** -40 * (magnitude + 1.0)


def _lower32(x):  # pragma: no cover - compiled by numba
    """The largest float32 that is <= the float64 ``x`` (``-inf`` stays ``-inf``)."""
    y = np.float32(x)
    if np.float64(y) > x:
        y = np.nextafter(y, np.float32(-np.inf))
    return y


def _gate32(worst, eps):  # pragma: no cover - compiled by numba
    """float32 gate of a full kept list whose k-th score is ``worst``: a pair can enter only if
    its screen value is ``>=`` the gate. Entering needs ``S > worst``; for ``worst = -inf`` that
    is ``S`` finite, i.e. ``s > -inf`` (exclusions are exact), so the gate is the lowest finite
    float32."""
    if worst == -np.inf:
        return np.float32(-3.4028234663852886e38)
    return _lower32(worst - eps)


def _screen_insert(vals, count, s, k):  # pragma: no cover - compiled by numba
    """Insert the float32 ``s`` into the descending multiset ``vals[:count]`` capped at ``k``."""
    if count < k:
        pos = count
        count += 1
    elif s > vals[k - 1]:
        pos = k - 1
    else:
        return count
    while pos > 0 and vals[pos - 1] < s:
        vals[pos] = vals[pos - 1]
        pos -= 1
    vals[pos] = s
    return count


def _flush(t, n_buf, buf_c, buf_f, buf_s, rows64, cand_rows, k, eps,
           scr_val, scr_cnt, cand_val, cand_idx, cand_cnt):  # pragma: no cover - compiled by numba
    """Rescore the buffered candidate-side pairs that still pass the candidate's gate and insert
    them, in buffer (= ascending family) order, into the candidate's exact list."""
    W = SCREEN_WIDTH
    n_loci = cand_rows.shape[1]
    done = 0
    for i in range(n_buf):
        c = buf_c[i]
        s = buf_s[i]
        if scr_cnt[t, c] == k and scr_val[t, c, k - 1] != -np.inf:
            if s < _lower32(np.float64(scr_val[t, c, k - 1]) - 2.0 * eps):
                continue
        f = buf_f[i]
        b = f // W
        w = f - b * W
        v = 0.0 + rows64[b, cand_rows[c, 0], w]
        for l in range(1, n_loci):
            v += rows64[b, cand_rows[c, l], w]
        done += 1
        count = cand_cnt[t, c]
        if count < k or v > cand_val[t, c, k - 1]:
            cand_cnt[t, c] = _insert(cand_val[t, c], cand_idx[t, c], count, v, f, k)
    return done


def _screen_kernel(rows32, rows64, cand_rows, n_families, k, threshold, hit32, eps, n_chunks,
                   cand_val, cand_idx, cand_cnt, scr_val, scr_cnt, fam_val, fam_idx, fam_cnt,
                   hit_pairs, hit_scores, hit_cnt, buf_c, buf_f, buf_s, n_rescored):  # pragma: no cover - compiled by numba
    """Candidate-tiled float32 screen with exact float64 rescoring (see :func:`score_shard`).

    Family lists and hits: a pair is rescored (its float64 entries summed in locus order) unless
    its screen value ``s`` is below ``_gate32(worst, eps)`` of the family's full list and below
    ``hit32`` = ``_lower32(threshold - eps)``; ``s < _lower32(W - eps)`` implies
    ``S <= s + eps < W`` (:func:`screen_error_bound`), so a skipped pair could neither enter the
    list (insertion needs ``S > worst``; ties go to the earlier, lower index) nor reach the
    threshold, and the lists, updated with exact scores in the float64 kernel's order, are the
    float64 kernel's.

    Candidate lists: each candidate keeps the ``k`` largest screen values ``sigma`` seen so far;
    a pair is buffered when ``s >= _lower32(sigma_k - 2 eps)`` and the buffer is rescored, in
    order, against the final ``sigma_k``. A pair of the final exact top ``k`` has
    ``s >= S - eps >= T - eps >= sigma_k - 2 eps`` (``T`` the exact k-th best: the ``k`` pairs
    with screen ``>= sigma_k`` have ``S >= sigma_k - eps``), for the final ``sigma_k`` and so for
    every earlier, smaller one: the rescored pairs contain the exact top ``k``, inserted in
    ascending family order, which gives the float64 kernel's list. (With fewer than ``k``
    finite screen values, ``sigma_k = -inf``: every buffered pair is rescored; only finite
    ones are buffered once ``k`` are held, since a later ``-inf`` loses every tie.)
    """
    n_blocks = rows32.shape[0]
    n_cand, n_loci = cand_rows.shape
    max_hits = hit_scores.shape[1]
    cap = buf_c.shape[1]
    per_chunk = (n_blocks + n_chunks - 1) // n_chunks
    W = SCREEN_WIDTH
    TC = SCREEN_TILE
    neg_inf32 = np.float32(-np.inf)
    lowest32 = np.float32(-3.4028234663852886e38)
    for t in numba.prange(n_chunks):
        acc = np.empty((TC, W), dtype=np.float32)
        gate = np.empty(W, dtype=np.float32)  # family-side float32 threshold of each column
        cgate = np.full(n_cand, neg_inf32)  # candidate-side buffering threshold
        rescored = 0
        n_buf = 0
        for b in range(t * per_chunk, min(n_blocks, (t + 1) * per_chunk)):
            blk = rows32[b]
            blk64 = rows64[b]
            base = b * W
            n_w = min(W, n_families - base)
            for w in range(W):
                if w >= n_w:
                    gate[w] = np.float32(np.inf)  # padding: never rescored
                elif fam_cnt[base + w] == k:
                    gate[w] = min(_gate32(fam_val[base + w, k - 1], eps), hit32)
                else:
                    gate[w] = neg_inf32  # list not full: every pair enters
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
                if n_buf + nc * W > cap:  # room for a whole tile
                    rescored += _flush(t, n_buf, buf_c[t], buf_f[t], buf_s[t], rows64, cand_rows, k, eps,
                                       scr_val, scr_cnt, cand_val, cand_idx, cand_cnt)
                    n_buf = 0
                for ci in range(nc):
                    c = c0 + ci
                    cg = cgate[c]
                    touch = 0
                    for w in range(W):
                        touch += acc[ci, w] >= min(gate[w], cg)
                    if touch == 0:
                        continue
                    a = acc[ci]
                    for w in range(n_w):
                        s = a[w]
                        if s < cg and s < gate[w]:
                            continue
                        f = base + w
                        if s >= cg:
                            buf_c[t, n_buf] = c
                            buf_f[t, n_buf] = f
                            buf_s[t, n_buf] = s
                            n_buf += 1
                            cnt = _screen_insert(scr_val[t, c], scr_cnt[t, c], s, k)
                            scr_cnt[t, c] = cnt
                            if cnt == k:
                                sk = scr_val[t, c, k - 1]
                                cg = lowest32 if sk == neg_inf32 else _lower32(np.float64(sk) - 2.0 * eps)
                        if s < gate[w]:
                            continue
                        rescored += 1
                        v = 0.0 + blk64[cand_rows[c, 0], w]  # as the reference: -0.0 -> +0.0
                        for l in range(1, n_loci):
                            v += blk64[cand_rows[c, l], w]
                        if fam_cnt[f] < k or v > fam_val[f, k - 1]:
                            fam_cnt[f] = _insert(fam_val[f], fam_idx[f], fam_cnt[f], v, c, k)
                            if fam_cnt[f] == k:
                                gate[w] = min(_gate32(fam_val[f, k - 1], eps), hit32)
                        if v >= threshold:
                            h = hit_cnt[t]
                            if h < max_hits:
                                hit_pairs[t, h, 0] = c
                                hit_pairs[t, h, 1] = f
                                hit_scores[t, h] = v
                            hit_cnt[t] = h + 1
                    cgate[c] = cg
        rescored += _flush(t, n_buf, buf_c[t], buf_f[t], buf_s[t], rows64, cand_rows, k, eps,
                           scr_val, scr_cnt, cand_val, cand_idx, cand_cnt)
        n_rescored[t] = rescored


if HAVE_NUMBA:
    _insert = numba.njit(cache=True, inline="always")(_insert)
    _kernel = numba.njit(cache=True, parallel=True, fastmath=False)(_kernel)
    _lower32 = numba.njit(cache=True, inline="always")(_lower32)
    _gate32 = numba.njit(cache=True, inline="always")(_gate32)
    _screen_prepare = numba.njit(cache=True, parallel=True)(_screen_prepare)
    _screen_insert = numba.njit(cache=True, inline="always")(_screen_insert)
    _flush = numba.njit(cache=True)(_flush)
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
        With numba: score with the candidate-tiled float32 screen and rescore exactly in float64
        every pair that could be kept (default), or with the plain float64 kernel (``False``).
        Both give the same result, bit for bit (see below).
    stats : dict, optional
        Filled with ``"pairs"``, ``"rescored"`` (pairs whose float64 score was computed by the
        screen kernel), ``"eps"`` (:func:`screen_error_bound`) and ``"kernel_s"`` (seconds in
        the screen kernel, rescoring included) when the screen runs.

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
    :data:`SCREEN_TILE` candidates, float32 sums locus by locus; a pair is rescored in float64
    (its entries added in locus order from 0.0, as
    :func:`~kinship.matching.reference.score_all_pairs`) when its float32 sum ``s`` could place it
    in a kept set, with ``eps`` = :func:`screen_error_bound` (``|s - S| <= eps``):

    * family list (last kept score ``W``) or threshold ``W``: rescored unless
      ``s < _lower32(W - eps)``, which implies ``S < W`` (entering a full list needs ``S > W``,
      ties go to the earlier, lower index);
    * candidate list: rescored, after the scan, when ``s >= _lower32(sigma_k - 2 eps)``, with
      ``sigma_k`` the candidate's ``k``-th best screen value; every pair of the exact top ``k``
      passes (:func:`_screen_kernel`).

    Lists are updated only with exact scores, each in ascending partner order, so the kept set,
    its order and every score are the float64 kernel's (tested against :func:`score_all_pairs`).
    """
    n_cand = candidates.shape[0]
    n_fam = tables.n_families
    family_index = np.arange(n_fam, dtype=np.int64) if family_index is None else np.asarray(family_index, np.int64)
    candidate_index = np.arange(n_cand, dtype=np.int64) if candidate_index is None else np.asarray(candidate_index, np.int64)
    if n_cand == 0 or n_fam == 0:
        return ShardResult(Entries.empty(), Entries.empty(), Entries.empty())
    if use_numba is None:
        use_numba = HAVE_NUMBA
    screen = bool(screen and use_numba and len(tables.log10_lr) > 0)
    blocked = block_tables(tables, SCREEN_WIDTH if screen else BLOCK_WIDTH)
    rows_idx = candidate_rows(candidates, blocked)
    if use_numba:
        if screen:
            rows32 = np.empty(blocked.rows.shape, dtype=np.float32)
            per_block = np.zeros((blocked.rows.shape[0], len(tables.log10_lr)))
            bad = np.zeros(blocked.rows.shape[0], dtype=np.int64)
            _screen_prepare(blocked.rows, blocked.offsets, rows32, per_block, bad)
            if bad.any():
                raise ValueError(
                    f"{int(bad.sum())} family table entries are nan or +inf; a compiled log10 LR "
                    "table must be finite or -inf (exclusion): recompile the shard"
                )
            magnitude = float(per_block.max(axis=0).sum())
            eps = _screen_eps(magnitude, len(tables.log10_lr))
            # No finite score exceeds M (1 + 1e-15): a threshold above 2 M + 2 admits nothing.
            hit32 = np.float32(np.inf) if threshold > 2 * magnitude + 2 else np.float32(_lower32(threshold - eps))
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
        if screen:
            scr_val = np.full((n_chunks, n_cand, k), -np.inf, dtype=np.float32)
            scr_cnt = np.zeros((n_chunks, n_cand), dtype=np.int64)
            cap = max(_BUFFER, 2 * SCREEN_TILE * SCREEN_WIDTH)
            buf_c = np.empty((n_chunks, cap), dtype=np.int64)
            buf_f = np.empty((n_chunks, cap), dtype=np.int64)
            buf_s = np.empty((n_chunks, cap), dtype=np.float32)
            n_rescored = np.zeros(n_chunks, dtype=np.int64)
            start = time.perf_counter()
            _screen_kernel(rows32, blocked.rows, rows_idx, n_fam, k, float(threshold), hit32, eps, n_chunks,
                           cand_val, cand_idx, cand_cnt, scr_val, scr_cnt, fam_val, fam_idx, fam_cnt,
                           hit_pairs, hit_scores, hit_cnt, buf_c, buf_f, buf_s, n_rescored)
            if stats is not None:
                stats.update(pairs=n_cand * n_fam, rescored=int(n_rescored.sum()), eps=eps,
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
        vals = cand_val.transpose(1, 0, 2).reshape(n_cand, -1)
        idxs = cand_idx.transpose(1, 0, 2).reshape(n_cand, -1)
        candidate_best = _merge_top_k(vals, idxs, k)
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
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))  # hits by (candidate, family): no thread order
    pairs, pair_scores = pairs[order], pair_scores[order]
    return ShardResult(
        _entries_from_top_k(candidate_best, candidate_index, family_index, True),
        _entries_from_top_k(family_best, family_index, candidate_index, False),
        Entries(candidate_index[pairs[:, 0]], family_index[pairs[:, 1]], pair_scores),
    )


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
    return Entries(entries.candidate[kept], entries.family[kept], entries.score[kept]), rank[keep].astype(np.int32)


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
        Hits are deduplicated and sorted by (candidate, family).
    """
    results = list(results)
    cand, cand_rank = best_k(Entries.concat(r.candidate_best for r in results), by="candidate", k=k)
    fam, fam_rank = best_k(Entries.concat(r.family_best for r in results), by="family", k=k)
    hits = Entries.concat(r.hits for r in results)
    _, first = np.unique(np.stack([hits.candidate, hits.family], axis=1), axis=0, return_index=True) if len(hits) else (None, np.zeros(0, np.int64))
    hits = Entries(hits.candidate[first], hits.family[first], hits.score[first])
    return cand, cand_rank, fam, fam_rank, hits
