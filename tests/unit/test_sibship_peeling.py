"""The sibship path of the peeling (a couple and their children, theta = 0) against the general
variable elimination, on random families: complete, partial and untyped genotypes, typed and
untyped parents, a silent allele, mutation and none, one to four typed children."""

from __future__ import annotations

import numpy as np
import pytest

from kinship.genetics.encoding import UNKNOWN, UNTYPED
from kinship.genetics.mutation import MutationModel
from kinship.likelihood import peeling
from kinship.likelihood.pedigree import pedigree_from_relationships


def _genotypes(rng, B, n, p, *, partial=0.15, untyped=0.15):
    g = np.sort(rng.choice(n, size=(B, 2), p=p), axis=1)
    u = rng.random(B)
    g[u < untyped] = UNTYPED
    part = (u >= untyped) & (u < untyped + partial)
    g[part, 1] = UNKNOWN
    return g


def _family(rng, relationships, n_typed_parents, B, n, p):
    ped = pedigree_from_relationships(relationships)
    g = np.full((B, ped.n_members, 2), UNTYPED)
    for k, member in enumerate(ped.ids):
        if member.startswith("full_sibling") or (member in ("father", "mother")[:n_typed_parents]):
            g[:, k] = _genotypes(rng, B, n, p)
    return ped, g


def _both(monkeypatch, fn):
    fast = fn()
    with monkeypatch.context() as m:
        m.setattr(peeling, "MAX_SIBSHIP_CHILDREN", -1)  # the general elimination
        general = fn()
    return fast, general


@pytest.mark.parametrize("n_sibs", [1, 2, 3, 4])
@pytest.mark.parametrize("model", ["stepwise", "none"])
@pytest.mark.parametrize("n_typed_parents", [0, 1, 2])
def test_the_sibship_joint_is_the_general_elimination(monkeypatch, n_sibs, model, n_typed_parents):
    rng = np.random.default_rng(1000 * n_sibs + 10 * n_typed_parents + (model == "none"))
    n = 7
    alleles = ["8", "9", "9.3", "10", "11", "12", "13"]
    p = rng.dirichlet(np.ones(n))
    mm = MutationModel(model=model)
    Mm, Mf = mm.matrix(alleles, p, "male"), mm.matrix(alleles, p, "female")
    rels = [(f"S{i}", "full_sibling") for i in range(n_sibs)]
    ped, g = _family(rng, rels, n_typed_parents, 60, n, p)
    fast, general = _both(monkeypatch, lambda: peeling._child_joint(ped, g, p, Mm, Mf, 0.0, None))
    assert fast.shape == general.shape == (60, n, n)
    np.testing.assert_allclose(fast, general, rtol=1e-12, atol=0.0)
    assert np.array_equal(fast == 0.0, general == 0.0)  # exact zeros where impossible
    fast, general = _both(monkeypatch, lambda: peeling.pedigree_likelihood(ped, g, p, Mm, Mf))
    np.testing.assert_allclose(fast, general, rtol=1e-12, atol=0.0)


def test_with_a_silent_allele_and_the_tables_of_the_compiler(monkeypatch):
    rng = np.random.default_rng(7)
    n = 6
    p = rng.dirichlet(np.ones(n))
    silent = n - 1
    mm = MutationModel()
    alleles = ["6", "7", "8", "9", "9.3", "10"]
    Mm, Mf = mm.matrix(alleles, p, "male"), mm.matrix(alleles, p, "female")
    ped, g = _family(rng, [("S1", "full_sibling"), ("S2", "full_sibling")], 1, 80, n - 1, p[:-1] / p[:-1].sum())
    g[::7, 3] = g[::7, 3, :1]  # apparent homozygotes: a/a or a/silent
    fast, general = _both(monkeypatch, lambda: peeling.pedigree_locus_tables(ped, g, p, Mm, Mf, silent=silent))
    for a, b in zip(fast, general):
        assert np.array_equal(np.isneginf(a), np.isneginf(b)) if a.dtype.kind == "f" else np.array_equal(a, b)
    finite = np.isfinite(general[0])
    np.testing.assert_allclose(fast[0][finite], general[0][finite], rtol=1e-11, atol=1e-13)


def test_two_siblings_compile_a_hundred_times_faster(monkeypatch):
    """FGA-sized locus (24 alleles), 100 two-sibling families: the sibship path is at least 20x
    faster than the general elimination (measured ~120x; a loose bound for a shared machine)."""
    import time

    rng = np.random.default_rng(3)
    n = 24
    p = rng.dirichlet(np.ones(n) * 2)
    alleles = [str(a) for a in range(10, 10 + n)]
    mm = MutationModel()
    Mm, Mf = mm.matrix(alleles, p, "male"), mm.matrix(alleles, p, "female")
    ped, g = _family(rng, [("S1", "full_sibling"), ("S2", "full_sibling")], 0, 100, n, p)
    times = []
    for limit in (peeling.MAX_SIBSHIP_CHILDREN, -1):
        monkeypatch.setattr(peeling, "MAX_SIBSHIP_CHILDREN", limit)
        t0 = time.perf_counter()
        peeling.pedigree_locus_tables(ped, g, p, Mm, Mf)
        times.append(time.perf_counter() - t0)
    assert times[1] > 20 * times[0], times


def test_a_familys_joint_does_not_depend_on_the_other_families_of_its_batch():
    """The match run compiles families in shards and chunks of any size: a family's numbers
    must be the same bits alone or in any batch (a child typed in another family of the batch
    must not change this family's rounding)."""
    rng = np.random.default_rng(11)
    n = 9
    p = rng.dirichlet(np.ones(n))
    mm = MutationModel()
    alleles = [str(a) for a in range(5, 5 + n)]
    Mm, Mf = mm.matrix(alleles, p, "male"), mm.matrix(alleles, p, "female")
    ped, g = _family(rng, [("S1", "full_sibling"), ("S2", "full_sibling")], 1, 40, n, p)
    whole = peeling._child_joint(ped, g, p, Mm, Mf, 0.0, None)
    for b in range(0, 40, 3):
        alone = peeling._child_joint(ped, g[b:b + 1], p, Mm, Mf, 0.0, None)
        assert np.array_equal(alone[0], whole[b])
