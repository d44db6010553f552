from __future__ import annotations

import numpy as np
import pytest

from kinship.likelihood.parentage import family_locus_tables
from kinship.matching.reference import FamilyTables, score_all_pairs
from kinship.genetics.mutation import mutation_matrix
from kinship.matching.ranking import conclude, rank_descending


def test_conclusion_rules_gb_t_37223():
    log10 = np.array([4.0, 3.99, -4.0, -4.01, 9.0, 9.0, -np.inf])
    n_inc = np.array([0, 0, 0, 0, 2, 3, 1])
    conclusion, flagged = conclude(log10, n_inc)
    assert conclusion.tolist() == ["support", "inconclusive", "inconclusive", "excluded", "support", "excluded", "excluded"]
    assert flagged.tolist() == [False, False, False, False, False, True, False]


def test_ranks_are_deterministic_ties_by_position():
    s = np.array([[2.0, 5.0, 5.0], [-np.inf, -np.inf, 0.0]])
    assert rank_descending(s, axis=1).tolist() == [[3, 1, 2], [2, 3, 1]]
    assert rank_descending(s, axis=0).tolist() == [[1, 1, 1], [2, 2, 2]]


def test_kernel_equals_the_per_pair_sum_of_locus_tables():
    rng = np.random.default_rng(7)
    n_loci, n_alleles, n_fam, n_cand = 5, 7, 9, 11
    p = rng.dirichlet(np.ones(n_alleles))
    alleles = [str(k + 8) for k in range(n_alleles)]
    M = mutation_matrix(alleles, p, model="stepwise", rate=0.003, range=0.1)
    tables, incs, typed = [], [], []
    fathers = np.sort(rng.integers(0, n_alleles, (n_loci, n_fam, 2)), axis=2)
    mothers = np.sort(rng.integers(0, n_alleles, (n_loci, n_fam, 2)), axis=2)
    mothers[:, ::3] = -1  # a third of the families are fathers only
    for l in range(n_loci):
        T, I = family_locus_tables(fathers[l], mothers[l], p, M, M)
        tables.append(T), incs.append(I), typed.append(np.ones(n_fam, bool))
    ft = FamilyTables(tuple(map(str, range(n_loci))), tuple(tables), tuple(incs), np.array(typed))
    cand = rng.integers(-1, n_alleles * (n_alleles + 1) // 2, (n_cand, n_loci)).astype(np.int32)
    s = score_all_pairs(ft, cand)
    for c in range(n_cand):
        for f in range(n_fam):
            expected = sum(tables[l][cand[c, l], f] for l in range(n_loci))
            assert s.log10_lr[c, f] == pytest.approx(expected, rel=1e-12, abs=1e-12)
            assert s.n_loci_compared[c, f] == np.sum(cand[c] >= 0)
            assert s.n_inconsistent[c, f] == sum(incs[l][cand[c, l], f] for l in range(n_loci))
