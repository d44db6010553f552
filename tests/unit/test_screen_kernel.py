"""The int16-screened scoring kernel keeps exactly what the float64 kernel and the full matrix keep.

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
import kinship.matching.streaming as streaming
from kinship.matching.streaming import (
    HAVE_NUMBA,
    SCREEN_TILE,
    SCREEN_WIDTH,
    block_tables,
    candidate_floor,
    candidate_rows,
    merge_results,
    quantise_screen,
    score_shard,
    screen_error_bound,
)

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


def test_all_excluded_and_mostly_excluded_pairs(monkeypatch):
    monkeypatch.setattr(streaming, "SCREEN_MAX_EXCLUDED", 1.0)  # the screen, not the fallback
    rng = np.random.default_rng(2)
    sizes = _rows([3, 3, 3, 3])
    values = _random_tables(rng, 70, sizes, p_excluded=0.6)
    values[0][:, :5] = -np.inf  # families excluded for every typed candidate at a locus
    tables = _tables(values)
    candidates = _random_candidates(rng, 80, sizes)
    for k, threshold in ((3, -np.inf), (3, 0.0), (10, -50.0)):
        _assert_exact(tables, candidates, k, threshold)


def test_differences_below_the_screen_resolution():
    """Scores that the int16 screen cannot tell apart (differences ~1e-12, far below eps) are
    ranked and thresholded by their exact float64 values."""
    rng = np.random.default_rng(9)
    n_fam, sizes = 150, _rows([2, 2, 2, 2, 2])
    values = []
    for n in sizes:
        base = np.full((n, n_fam), 0.7)
        base += rng.integers(-3, 4, (n, n_fam)) * 1e-12
        base[-1] = 0.0
        values.append(base)
    values[0][0, :3] = -5.0  # a span the step must cover: 1e-12 differences fall within a step
    tables = _tables(values)
    candidates = rng.integers(0, 4, (100, len(sizes))).astype(np.int32)
    S = score_all_pairs(tables, candidates).log10_lr
    eps = screen_error_bound(tables)
    assert eps > 1e-6  # the screen sees ties
    mid = float(np.median(S))
    for k in (1, 3):
        for threshold in (mid, np.nextafter(mid, np.inf), np.nextafter(mid, -np.inf), mid - eps, mid + eps):
            _assert_exact(tables, candidates, k, threshold)


def _screen_sums(tables, candidates):
    """The int16 screen sum ``Q`` of every pair, from the quantised blocked rows, as int64."""
    blocked = block_tables(tables, SCREEN_WIDTH)
    sc = quantise_screen(blocked)
    rows = candidate_rows(candidates, blocked)
    f = np.arange(tables.n_families)
    Q = np.zeros((candidates.shape[0], tables.n_families), np.int64)
    for l in range(rows.shape[1]):
        Q += sc.rows[f // SCREEN_WIDTH, rows[:, l][:, None], f % SCREEN_WIDTH]
    return sc, Q


@pytest.mark.parametrize("scale", [1.0, 40.0, 1e-9, 1e25])
def test_the_error_bound_holds(scale):
    """Every pair: S <= C + h Q + E (what the gates use); every finite pair without clamped
    entries: |C + h (Q - n/2) - S| <= eps = n h / 2 + E (screen_error_bound)."""
    rng = np.random.default_rng(4)
    sizes = _rows([5] * 20)
    values = _random_tables(rng, 64 * 3 + 5, sizes, p_excluded=0.01)
    values = [v * scale for v in values]
    values[3] *= 40.0  # one locus of large magnitude
    tables = _tables(values)
    candidates = _random_candidates(rng, 400, sizes)
    S = score_all_pairs(tables, candidates).log10_lr
    sc, Q = _screen_sums(tables, candidates)
    n = len(values)
    assert sc.rows.dtype == np.int16 and Q.min() >= -32768 and Q.max() <= 0  # no int16 overflow
    assert np.all(S <= sc.base + sc.step * Q + sc.slack)
    finite = np.isfinite(S)
    assert finite.mean() > 0.5
    err = np.abs(sc.base + sc.step * (Q[finite] - n / 2) - S[finite]).max()
    eps = screen_error_bound(tables)
    assert eps == n * sc.step / 2 + sc.slack
    assert 0 < err <= eps
    assert err > eps / 10  # the bound is not vacuous: half a step per locus is the size of it
    M = sum(np.abs(v[np.isfinite(v)]).max() for v in values)
    spans = sum(np.ptp(v[np.isfinite(v)]) for v in values)
    assert sc.step <= 2 * spans / 32768 and eps < 2e-3 * M  # a fine step


def test_excluded_entries_and_padding_sit_on_the_floor():
    rng = np.random.default_rng(3)
    sizes = _rows([3, 4])
    values = _random_tables(rng, SCREEN_WIDTH + 9, sizes, p_excluded=0.2)
    blocked = block_tables(_tables(values), SCREEN_WIDTH)
    sc = quantise_screen(blocked)
    assert sc.floor.sum() <= 32768
    for l, (o, n) in enumerate(zip(blocked.offsets, blocked.n_genotypes + 1)):
        q, x = sc.rows[:, o:o + n], blocked.rows[:, o:o + n]
        excluded = np.isneginf(x)  # exclusions and padding (block 1, columns 9..)
        assert excluded[1, :, 9:].all() and excluded.any() and (~excluded).any()
        assert np.all(q[excluded] == -sc.floor[l])
        assert np.all(q[~excluded] >= -sc.floor[l]) and q[~excluded].max() == 0


def test_clamped_entries_keep_the_result_exact(monkeypatch):
    """With a coarse cover, entries far below a locus's maximum are clamped: more pairs are
    rescored, the result stays exact."""
    monkeypatch.setattr(streaming, "SCREEN_COVER", 0.2)
    rng = np.random.default_rng(12)
    sizes = _rows([4, 5, 6, 3, 4])
    values = _random_tables(rng, 2 * SCREEN_WIDTH + 3, sizes, p_excluded=0.05)
    tables = _tables(values)
    candidates = _random_candidates(rng, 130, sizes)
    sc, Q = _screen_sums(tables, candidates)
    S = score_all_pairs(tables, candidates).log10_lr
    assert np.all(S <= sc.base + sc.step * Q + sc.slack)
    for k, threshold in ((1, 0.5), (4, -1.0)):
        _assert_exact(tables, candidates, k, threshold)


def test_many_loci_share_the_int16_range():
    """60 loci: the per-locus floors still sum to at most 32,768."""
    rng = np.random.default_rng(13)
    sizes = _rows([3] * 60)
    tables = _tables(_random_tables(rng, 70, sizes, p_excluded=0.02))
    candidates = _random_candidates(rng, 66, sizes)
    sc, Q = _screen_sums(tables, candidates)
    assert Q.min() >= -32768
    _assert_exact(tables, candidates, 2, 0.0)


def test_mostly_excluded_tables_fall_back_to_the_float64_kernel(monkeypatch):
    rng = np.random.default_rng(18)
    sizes = _rows([3, 4, 3])
    tables = _tables(_random_tables(rng, 70, sizes, p_excluded=0.5))
    candidates = _random_candidates(rng, 40, sizes)
    stats = {}
    score_shard(tables, candidates, k=2, threshold=0.0, stats=stats)
    assert stats == {}  # the plain kernel ran
    monkeypatch.setattr(streaming, "SCREEN_MAX_EXCLUDED", 1.0)  # force the screen: still exact
    stats = _assert_exact(tables, candidates, 2, 0.0)
    assert stats["pairs"] == 40 * 70


def test_huge_magnitudes_fall_back_to_the_float64_kernel():
    rng = np.random.default_rng(14)
    sizes = _rows([3, 3])
    values = _random_tables(rng, 70, sizes)
    values[0][0] = 1e301
    tables = _tables(values)
    assert quantise_screen(block_tables(tables, SCREEN_WIDTH)) is None
    assert np.isnan(screen_error_bound(tables))
    stats = {}
    got = score_shard(tables, _random_candidates(rng, 20, sizes), k=2, threshold=0.0, stats=stats)
    assert stats == {} and len(got.candidate_best) == 40  # the plain kernel ran, no screen stats


@pytest.mark.parametrize("k", [1, 4])
def test_a_floor_from_earlier_shards_keeps_the_merged_result_exact(k):
    """Shards scored one after the other, each with the floor of the shards before it: the
    merged lists and hits equal the full matrix's; the floor cuts rescoring."""
    rng = np.random.default_rng(15)
    sizes = _rows([4, 5, 6, 4, 5, 3])
    n_fam = 4 * SCREEN_WIDTH + 11
    values = _random_tables(rng, n_fam, sizes, p_excluded=0.03, decimals=1)  # ties across shards
    tables = _tables(values)
    candidates = _random_candidates(rng, 140, sizes)
    S = score_all_pairs(tables, candidates).log10_lr
    threshold = 1.0
    bounds = [0, 130, 131, 2 * SCREEN_WIDTH + 60, n_fam]
    results, rescored = [], []
    for screen, use_numba in ((True, True), (False, True), (False, False)):  # screen, float64, numpy
        results = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            sub = _tables([v[:, a:b] for v in values])
            floor = candidate_floor(merge_results(results, k=k)[0], np.arange(140), k) if results else None
            stats = {}
            results.append(score_shard(sub, candidates, family_index=np.arange(a, b), k=k, threshold=threshold,
                                       candidate_floor=floor, screen=screen, use_numba=use_numba, stats=stats))
            rescored.append(stats.get("rescored"))
        cb, _, fb, _, hits = merge_results(results, k=k)
        exp_cb, exp_fb, exp_hits = _brute_force(S, k, threshold)
        for got, exp in ((cb, exp_cb), (fb, exp_fb), (hits, exp_hits)):
            c, f, s = _sorted(got)
            assert list(zip(c.tolist(), f.tolist())) == sorted(exp)
            assert s.tobytes() == S[c, f].tobytes()
    # the last shard (a floor from 3 shards before it) rescored fewer pairs than a floorless one
    last = _tables([v[:, bounds[-2]:] for v in values])
    stats = {}
    score_shard(last, candidates, k=k, threshold=threshold, stats=stats)
    assert rescored[3] < stats["rescored"]


def test_a_floor_of_the_wrong_shape_is_refused():
    T = np.array([[0.5, 0.25], [0.0, 0.0]])
    with pytest.raises(ValueError, match="candidate_floor"):
        score_shard(_tables([T]), np.array([[0], [1]], np.int32), k=1, candidate_floor=np.zeros(3))


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


def test_all_pairs_tied_keep_the_lowest_indices():
    """Every pair ties: every pair passes every gate, and the lowest indices still win."""
    n_fam, sizes = 4 * SCREEN_WIDTH + 3, _rows([2, 2, 2])
    tables = _tables([np.where(np.arange(n)[:, None] < n - 1, 0.25, 0.0) * np.ones((1, n_fam)) for n in sizes])
    rng = np.random.default_rng(1)
    candidates = rng.integers(0, 3, (300, 3)).astype(np.int32)
    stats = _assert_exact(tables, candidates, 3, 0.75)
    assert stats["rescored"] > 2 * SCREEN_TILE * SCREEN_WIDTH
    got = score_shard(tables, candidates, k=3, threshold=0.75)
    assert sorted(set(got.candidate_best.family.tolist())) == [0, 1, 2]
    assert sorted(set(got.family_best.candidate.tolist())) == [0, 1, 2]


def test_untyped_loci_and_a_locus_without_finite_entries():
    """A locus every candidate leaves untyped, and a locus whose typed rows are all excluded."""
    rng = np.random.default_rng(16)
    sizes = _rows([3, 4, 3])
    values = _random_tables(rng, SCREEN_WIDTH + 30, sizes)
    values[2][:-1] = -np.inf
    tables = _tables(values)
    candidates = _random_candidates(rng, 90, sizes)
    candidates[:, 1] = -1
    candidates[::3, 2] = -1  # a third of the candidates escape the excluded locus
    for k, threshold in ((2, 0.0), (5, -np.inf)):
        _assert_exact(tables, candidates, k, threshold)


@pytest.mark.parametrize("scale", [1e-9, 1e25])
def test_tiny_and_huge_magnitudes_stay_exact(scale):
    """The step follows the tables' spans (a power of two from ~1e-13 to ~1e22 here)."""
    rng = np.random.default_rng(17)
    sizes = _rows([3, 5, 4, 6])
    values = [v * scale for v in _random_tables(rng, 2 * SCREEN_WIDTH + 7, sizes, p_excluded=0.05)]
    tables = _tables(values)
    candidates = _random_candidates(rng, 100, sizes)
    for k, threshold in ((1, 0.5 * scale), (3, -1.0 * scale)):
        stats = _assert_exact(tables, candidates, k, threshold)
        assert stats["rescored"] < stats["pairs"]
