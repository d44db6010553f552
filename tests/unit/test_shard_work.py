"""A shard's work (match_run.shard_work) scores what the whole run scores, and carries no profiles."""

from __future__ import annotations

import pickle

import numpy as np

from kinship.app import match_run as mr
from tests.unit.test_search import store_like  # noqa: F401 - the fixture: couples, single parents, siblings, grandparents


def test_a_shards_work_gives_the_same_bits_and_travels_light(store_like):  # noqa: F811
    run, params, _, _, _ = store_like
    plan = mr.plan_run(run, params)
    assert len(plan.shards) >= 3 and run.linked_families.any()
    for families, candidates in plan.shards:
        whole = mr.score_shard(run, families, candidates, k=params.k, threshold=params.threshold)
        work = mr.shard_work(run, families)
        assert work.inputs.profiles == {} and len(work.inputs.families) == len(families)
        part = mr.score_shard_work(work, families, candidates, k=params.k, threshold=params.threshold)
        for side in ("candidate_best", "family_best", "hits"):
            a, b = getattr(whole, side), getattr(part, side)
            assert a.has_counts and b.has_counts and a.counted.all()
            for field in ("candidate", "family", "score", "n_compared", "n_inconsistent", "unlinked"):
                assert np.array_equal(getattr(a, field), getattr(b, field)), (side, field)
        # what travels: no profile, only the shard's families and their references' columns
        saved = len(pickle.dumps(run)) - len(pickle.dumps(work))
        assert saved > 0.9 * len(pickle.dumps(dict(run.inputs.profiles)))
        assert work.references.shape[1] == len({s for f in work.inputs.families for s in f.references})
