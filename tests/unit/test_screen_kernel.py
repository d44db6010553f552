"""The float32-screened scoring kernel keeps exactly what the float64 kernel and the full matrix keep.

Every test compares :func:`kinship.matching.streaming.score_shard` (screen on, the default with
numba) bit for bit with the plain float64 kernel (``screen=False``) and with a brute-force
selection from :func:`kinship.matching.reference.score_all_pairs`: each candidate's best ``k``
families and each family's best ``k`` candidates (descending log10 LR, ties to the lower index)
and every pair at or above the threshold.
"""

from __future__ import annotations

import numpy as np
import pytest

from kinship.genetics.encoding import n_alleles_of_rows, n_table_rows, table_row
from kinship.matching.reference import FamilyTables, score_all_pairs
from kinship.matching.streaming import HAVE_NUMBA, SCREEN_TILE, SCREEN_WIDTH, score_shard, screen_error_bound

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="the screen is compiled with numba")


def _tables(values):
    """FamilyTables from a list of (n_rows, n_families) float64 arrays (last row = untyped)."""
    n_fam = values[0].shape[1]
    return FamilyTables(tuple(f"L{i}" for i in range(len(values))), tuple(values),
                        tuple(np.zeros(v.shape, np.int8) for v in values), np.ones((len(values), n_fam), bool))


def _random_tables(rng, n_fam, sizes, *, p_excluded=0.05, decimals=None):
    values = []
    for n in sizes:
        v = rng.normal(-0.2, 0.8, (n, n_fam))
        if decimals is not None:
            v = np.round(v, decimals)  # many exact ties
        v[rng.random(v.shape) < p_excluded] = -np.inf
        v[-1] = 0.0  # untyped candidate: the zero row
        values.append(v)
    return values


def _rows(n_alleles):
    """Table rows of loci with these allele counts (genotype encoding v2)."""
    return [n_table_rows(n) for n in n_alleles]


def _random_candidates(rng, n_cand, sizes, partial=True):
    """Genotype codes: complete genotypes, partial genotypes ``i/?`` (-2 - i) and untyped (-1).
    ``sizes`` are table rows; without ``partial`` any table size works (a linked super-locus)."""
    cols = []
    for n in sizes:
        n_al = n_alleles_of_rows(n) if partial else 0
        n_complete = n_al * (n_al + 1) // 2 if partial else n - 1
        code = rng.integers(0, n_complete, n_cand)
        u = rng.random(n_cand)
        code[u < 0.1] = -1
        if partial:
            part = (u >= 0.1) & (u < 0.2)
            code[part] = -2 - rng.integers(0, n_al, part.sum())
        cols.append(code)
    return np.stack(cols, axis=1).astype(np.int32)


def _sorted(e):
    order = np.lexsort((e.family, e.candidate))
    return e.candidate[order], e.family[order], e.score[order]


def _brute_force(S, k, threshold):
    n_cand, n_fam = S.shape
    fam = np.arange(n_fam)
    cand = np.arange(n_cand)
    cb = [(c, f) for c in range(n_cand) for f in np.lexsort((fam, -S[c]))[:k]]
    fb = [(c, f) for f in range(n_fam) for c in np.lexsort((cand, -S[:, f]))[:k]]
    hits = np.argwhere(S >= threshold)
    return cb, fb, [tuple(h) for h in hits]


def _assert_exact(tables, candidates, k, threshold):
    stats = {}
    got = score_shard(tables, candidates, k=k, threshold=threshold, stats=stats)
    plain = score_shard(tables, candidates, k=k, threshold=threshold, screen=False)
    S = score_all_pairs(tables, candidates).log10_lr
    expected = _brute_force(S, k, threshold)
    for part, exp in zip(("candidate_best", "family_best", "hits"), expected):
        c, f, s = _sorted(getattr(got, part))
        c0, f0, s0 = _sorted(getattr(plain, part))
        assert np.array_equal(c, c0) and np.array_equal(f, f0) and s.tobytes() == s0.tobytes(), part
        assert sorted(exp) == list(zip(c.tolist(), f.tolist())), part
        assert s.tobytes() == S[c, f].tobytes(), part  # bit-identical to the full matrix
    return stats


@pytest.mark.parametrize("k, threshold", [(1, 1.0), (3, -2.0), (10, 4.0), (4, -np.inf), (2, 1e30), (2, -1e30)])
def test_random_tables_with_exclusions_partials_and_untyped(k, threshold):
    rng = np.random.default_rng(11)
    sizes = _rows([2, 4, 3, 7, 5, 6])
    n_fam = 3 * SCREEN_WIDTH + 17  # padding in the last block
    tables = _tables(_random_tables(rng, n_fam, sizes))
    candidates = _random_candidates(rng, 150, sizes)  # 2 tiles + a partial one
    stats = _assert_exact(tables, candidates, k, threshold)
    assert stats["pairs"] == 150 * n_fam
    if threshold > 0 and k <= 3:
        assert stats["rescored"] < stats["pairs"]  # the screen does skip pairs


@pytest.mark.parametrize("k", [1, 2, 5])
def test_exact_ties_at_the_kth_place_go_to_the_lower_index(k):
    rng = np.random.default_rng(5)
    sizes = _rows([3, 3, 3])
    values = _random_tables(rng, 130, sizes, p_excluded=0.1, decimals=0)  # integers (and -0.0): ties everywhere
    tables = _tables(values)
    candidates = _random_candidates(rng, 90, sizes)
    S = score_all_pairs(tables, candidates).log10_lr
    # the threshold sits exactly on attained scores: equality is a hit
    for threshold in (float(np.max(S[np.isfinite(S)])), 0.0, 1.0):
        _assert_exact(tables, candidates, k, threshold)


def test_all_excluded_and_mostly_excluded_pairs():
    rng = np.random.default_rng(2)
    sizes = _rows([3, 3, 3, 3])
    values = _random_tables(rng, 70, sizes, p_excluded=0.6)
    values[0][:, :5] = -np.inf  # families excluded for every typed candidate at a locus
    tables = _tables(values)
    candidates = _random_candidates(rng, 80, sizes)
    for k, threshold in ((3, -np.inf), (3, 0.0), (10, -50.0)):
        _assert_exact(tables, candidates, k, threshold)


def test_differences_below_the_float32_resolution():
    """Scores that float32 cannot tell apart (differences ~1e-12, far below eps) are ranked and
    thresholded by their exact float64 values."""
    rng = np.random.default_rng(9)
    n_fam, sizes = 150, _rows([2, 2, 2, 2, 2])
    values = []
    for n in sizes:
        base = np.full((n, n_fam), 0.7)
        base += rng.integers(-3, 4, (n, n_fam)) * 1e-12
        base[-1] = 0.0
        values.append(base)
    tables = _tables(values)
    candidates = rng.integers(0, 4, (100, len(sizes))).astype(np.int32)
    S = score_all_pairs(tables, candidates).log10_lr
    assert np.unique(S.astype(np.float32)).size < np.unique(S).size  # the screen sees ties
    eps = screen_error_bound(tables)
    mid = float(np.median(S))
    for k in (1, 3):
        for threshold in (mid, np.nextafter(mid, np.inf), np.nextafter(mid, -np.inf), mid - eps, mid + eps):
            _assert_exact(tables, candidates, k, threshold)


def test_the_error_bound_holds():
    """|float32 sum of float32 entries - float64 sum| <= eps for every finite pair."""
    rng = np.random.default_rng(4)
    sizes = _rows([5] * 20)
    values = _random_tables(rng, 64, sizes, p_excluded=0.01)
    values[3] *= 40.0  # one locus of large magnitude
    tables = _tables(values)
    candidates = _random_candidates(rng, 400, sizes)
    S = score_all_pairs(tables, candidates).log10_lr
    screen = np.zeros(S.shape, np.float32)
    for l, v in enumerate(values):
        screen += v.astype(np.float32)[table_row(candidates[:, l], v.shape[0])]
    finite = np.isfinite(S)
    assert np.array_equal(finite, np.isfinite(screen))  # exclusions are exact
    err = np.abs(screen[finite].astype(np.float64) - S[finite]).max()
    eps = screen_error_bound(tables)
    assert 0 < err <= eps / 2  # eps is twice the proven bound
    M = sum(np.abs(v[np.isfinite(v)]).max() for v in values)
    assert eps < 1e-4 * M  # and it is small


def test_a_large_super_locus_table():
    """Linked loci give one locus of many joint rows: any table size works."""
    rng = np.random.default_rng(8)
    sizes = [1201, 9, 13]
    tables = _tables(_random_tables(rng, 100, sizes))
    candidates = _random_candidates(rng, 70, sizes, partial=False)
    _assert_exact(tables, candidates, 3, 1.0)


def test_nan_in_a_table_is_refused():
    T = np.array([[0.5, np.nan], [0.0, 0.0]])
    with pytest.raises(ValueError, match="nan or \\+inf"):
        score_shard(_tables([T]), np.array([[0]], np.int32), k=1)


def test_all_pairs_tied_overflow_the_candidate_buffer(monkeypatch):
    """Every pair ties: every pair is buffered on the candidate side, the buffer is flushed many
    times, and the lowest indices still win."""
    import kinship.matching.streaming as streaming

    monkeypatch.setattr(streaming, "_BUFFER", 0)  # the smallest buffer: two tiles of pairs
    n_fam, sizes = 4 * SCREEN_WIDTH + 3, _rows([2, 2, 2])
    tables = _tables([np.where(np.arange(n)[:, None] < n - 1, 0.25, 0.0) * np.ones((1, n_fam)) for n in sizes])
    rng = np.random.default_rng(1)
    candidates = rng.integers(0, 3, (300, 3)).astype(np.int32)
    stats = _assert_exact(tables, candidates, 3, 0.75)
    assert stats["rescored"] > 2 * 2 * SCREEN_TILE * SCREEN_WIDTH
    got = score_shard(tables, candidates, k=3, threshold=0.75)
    assert sorted(set(got.candidate_best.family.tolist())) == [0, 1, 2]
    assert sorted(set(got.family_best.candidate.tolist())) == [0, 1, 2]
