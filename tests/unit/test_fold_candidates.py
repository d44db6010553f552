"""Folding shards' candidate lists one by one gives :func:`best_k` of all of them at once."""

from __future__ import annotations

import numpy as np
import pytest

from kinship.matching import streaming
from kinship.matching.streaming import Entries, best_k, fold_candidate_best


def _shard(rng, n_cand, families, k, counts):
    """A shard's candidate entries: up to k per candidate, scores with many ties and -inf."""
    rows = []
    for c in rng.permutation(n_cand):  # not in candidate order, as a shard may return them
        m = int(rng.integers(0, k + 1))
        fam = rng.choice(families, size=min(m, families.size), replace=False)
        score = rng.choice([-np.inf, -1.0, 0.0, 0.5, 2.0, 4.0], size=fam.size)
        rows += [(c, f, v) for f, v in zip(fam, score)]
    c, f, v = (np.array(x) for x in zip(*rows)) if rows else (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
    e = Entries(c.astype(np.int64), f.astype(np.int64), v.astype(np.float64))
    if counts:
        n = len(e)
        e = Entries(e.candidate, e.family, e.score, rng.integers(0, 21, n).astype(np.int16),
                    rng.integers(0, 3, n).astype(np.int16), rng.standard_normal(n))
    return e


@pytest.mark.parametrize("use_numba", [True, False])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_folding_shards_equals_best_k_of_all(k, use_numba, monkeypatch):
    if not use_numba:
        monkeypatch.setattr(streaming, "numba", None)
    rng = np.random.default_rng(k)
    n_cand = 40
    shards = [_shard(rng, n_cand, np.arange(s * 50, s * 50 + 50), k, counts=s % 2 == 0) for s in range(7)]
    kept = None
    for e in shards:
        kept = fold_candidate_best(kept, e, k=k)
    want, _ = best_k(Entries.concat(shards), by="candidate", k=k)
    for field in ("candidate", "family", "score", "n_compared", "n_inconsistent", "unlinked"):
        np.testing.assert_array_equal(getattr(kept, field), getattr(want, field), err_msg=field)
    assert len(kept) > 0 and np.bincount(kept.candidate).max() <= k


def test_a_tie_of_score_and_family_keeps_the_earlier_entry_first():
    # the same pair in the kept list and the new one (an incremental run's previous entries):
    # best_k's stable sort keeps the kept one first, and so does the merge
    a = Entries(np.array([0]), np.array([3]), np.array([1.0]), np.array([20], np.int16), np.array([0], np.int16),
                np.array([1.0]))
    b = Entries(np.array([0]), np.array([3]), np.array([1.0]), np.array([19], np.int16), np.array([1], np.int16),
                np.array([2.0]))
    folded = fold_candidate_best(fold_candidate_best(None, a, k=1), b, k=1)
    assert folded.n_compared.tolist() == [20]
    assert best_k(Entries.concat([a, b]), by="candidate", k=1)[0].n_compared.tolist() == [20]
