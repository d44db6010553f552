"""Exact peeling against brute-force enumeration, closed forms and the parentage fast path."""

from __future__ import annotations

import numpy as np
import pytest

from kinship.genetics.encoding import genotype_alleles, genotype_index
from kinship.errors import PedigreeError, ReuniteInputError
from kinship.likelihood.kappa import KAPPA, kappa_locus_tables
from kinship.likelihood.parentage import family_locus_tables
from kinship.genetics.mutation import mutation_matrix
from kinship.genetics.relationships import RELATIONSHIPS
from kinship.likelihood.pedigree import pedigree_from_relationships, pedigree_from_table
from tests.brute_force import brute_force
from kinship.likelihood.peeling import (
    partition_weight,
    pedigree_likelihood,
    pedigree_locus_tables,
    set_partitions,
    unrelated_pedigree,
)

P3 = np.array([0.2, 0.3, 0.5])


def _geno(ped, assignment):
    g = np.full((ped.n_members, 2), -1)
    for member, pair in assignment.items():
        g[ped.index(member)] = sorted(pair)
    return g


SLOW = pytest.mark.slow


@pytest.mark.parametrize("theta", [0.0, 0.05])
@pytest.mark.parametrize(
    "relationships,typed,n_alleles",
    [
        ([("S", "full_sibling")], {"full_sibling_1": (0, 1), "missing": (1, 2)}, 3),
        ([("G", "paternal_grandfather"), ("M", "mother")], {"paternal_grandfather": (0, 1), "mother": (1, 1), "missing": (0, 1)}, 2),
        ([("H", "maternal_half_sibling")], {"maternal_half_sibling_1": (1, 1), "missing": (0, 1)}, 2),
        pytest.param([("G", "paternal_grandfather"), ("M", "mother")],
                     {"paternal_grandfather": (0, 2), "mother": (1, 1), "missing": (1, 2)}, 3, marks=SLOW),
        pytest.param([("H", "maternal_half_sibling")], {"maternal_half_sibling_1": (2, 2), "missing": (0, 2)}, 3,
                     marks=SLOW),
    ],
)  # fmt: skip
def test_peeling_equals_brute_force_enumeration(relationships, typed, n_alleles, theta):
    ped = pedigree_from_relationships(relationships)
    ped = pedigree_from_table(
        [{"id": ped.ids[k], "father": ped.ids[ped.father[k]] if ped.father[k] >= 0 else "",
          "mother": ped.ids[ped.mother[k]] if ped.mother[k] >= 0 else "", "sex": ped.sex[k],
          "is_missing": k == ped.missing} for k in range(ped.n_members)]
    )  # fmt: skip
    g = _geno(ped, typed)
    p = P3 if n_alleles == 3 else np.array([0.3, 0.7])
    labels = ["9", "10", "11"][:n_alleles]
    Mm = mutation_matrix(labels, p, model="stepwise", rate=0.05, rate2=0.0, range=0.5)
    Mf = mutation_matrix(labels, p, model="equal", rate=0.02)
    ours = pedigree_likelihood(ped, g[None], p, Mm, Mf, theta=theta)[0]
    assert ours == pytest.approx(brute_force(ped, g, p, Mm, Mf, theta), rel=1e-12)


def test_partition_weights_sum_to_one_and_match_the_urn():
    for n in range(1, 7):
        assert sum(partition_weight(lab, 0.03) for lab in set_partitions(n)) == pytest.approx(1.0, rel=1e-13)
    assert sum(1 for _ in set_partitions(6)) == 203  # Bell(6)


def test_theta_zero_is_the_hwe_path_exactly():
    ped = pedigree_from_relationships([("S", "full_sibling")])
    g = np.full((1, ped.n_members, 2), -1)
    g[0, 3] = (0, 1)
    I = np.eye(3)
    T0, _, _ = pedigree_locus_tables(ped, g, P3, I, I, theta=0.0)
    Tsmall, _, _ = pedigree_locus_tables(ped, g, P3, I, I, theta=1e-12)
    assert np.allclose(T0, Tsmall, atol=1e-9)
    # the one-founder closed form under theta: P(a/a) = p_a (theta + (1 - theta) p_a)
    one = pedigree_from_table([{"id": "x", "sex": "male", "is_missing": True}])
    lik = pedigree_likelihood(one, np.array([[[0, 0]]]), P3, I, I, theta=0.1)[0]
    assert lik == pytest.approx(0.2 * (0.1 + 0.9 * 0.2), rel=1e-14)


@pytest.mark.parametrize("gs,gc,expected", [
    ((0, 0), (0, 0), lambda a, b: (1 + a) ** 2 / (4 * a * a)),
    ((0, 1), (0, 1), lambda a, b: (1 + a + b + 2 * a * b) / (8 * a * b)),
    ((0, 1), (0, 0), lambda a, b: (1 + a) / (4 * a)),
    ((0, 0), (0, 1), lambda a, b: (1 + a) / (4 * a)),
    ((0, 1), (0, 2), lambda a, b: (1 + 2 * a) / (8 * a)),
    ((0, 1), (2, 2), lambda a, b: 0.25),
])  # fmt: skip
def test_full_sibling_closed_forms(gs, gc, expected):
    """Weir, Anderson & Hepler (2006) Nat Rev Genet 7:771, table 2 (no mutation, theta 0)."""
    ped = pedigree_from_relationships([("S", "full_sibling")])
    g = np.full((1, ped.n_members, 2), -1)
    g[0, ped.index("full_sibling_1")] = gs
    T, inc, ok = pedigree_locus_tables(ped, g, P3, np.eye(3), np.eye(3))
    lr = 10 ** T[int(genotype_index(np.array(gc))), 0]
    assert lr == pytest.approx(expected(P3[0], P3[1]), rel=1e-12)
    assert ok.all() and not inc.any()  # a full sibling excludes nothing


def test_parent_families_equal_the_duo_trio_fast_path():
    rng = np.random.default_rng(3)
    alleles = [str(a) for a in range(8, 16)]
    p = rng.dirichlet(np.ones(8))
    Mm = mutation_matrix(alleles, p, model="stepwise", rate=0.003, rate2=1e-5, range=0.1)
    Mf = mutation_matrix(alleles, p, model="stepwise", rate=0.001, rate2=1e-5, range=0.1)
    B = 40
    father = np.sort(rng.integers(0, 8, size=(B, 2)), axis=1)
    mother = np.sort(rng.integers(0, 8, size=(B, 2)), axis=1)
    mother[::3] = -1
    father[1::5] = -1
    T_fast, I_fast = family_locus_tables(father, mother, p, Mm, Mf)
    ped = pedigree_from_relationships([("F", "father"), ("M", "mother")])
    g = np.full((B, ped.n_members, 2), -1)
    g[:, ped.index("father")] = father
    g[:, ped.index("mother")] = mother
    T, I, ok = pedigree_locus_tables(ped, g, p, Mm, Mf)
    assert ok.all()
    assert np.allclose(T, T_fast, rtol=1e-12, atol=1e-12)
    assert np.array_equal(I, I_fast)


@pytest.mark.parametrize("relationships,member,kappa", [
    ([("X", "full_sibling")], "full_sibling_1", "full_sibling"),
    ([("X", "paternal_half_sibling")], "paternal_half_sibling_1", "half_sibling"),
    ([("X", "maternal_grandmother")], "maternal_grandmother", "grandparent_grandchild"),
    ([("X", "paternal_aunt_uncle")], "paternal_aunt_uncle_1", "avuncular"),
    ([("X", "father")], "father", "parent_child"),
])  # fmt: skip
def test_kappa_index_equals_peeling_without_mutation(relationships, member, kappa):
    ped = pedigree_from_relationships(relationships)
    n = P3.size
    i, j = genotype_alleles(n)
    x = np.stack([i, j], axis=1)
    g = np.full((x.shape[0], ped.n_members, 2), -1)
    g[:, ped.index(member)] = x
    T, _, _ = pedigree_locus_tables(ped, g, P3, np.eye(n), np.eye(n))
    assert np.allclose(T, kappa_locus_tables(x, P3, kappa), rtol=1e-12, atol=1e-12)


def test_first_cousins_from_a_ped_table_equal_kappa():
    rows = [
        {"id": "gf", "sex": "male"}, {"id": "gm", "sex": "female"},
        {"id": "p1", "father": "gf", "mother": "gm", "sex": "male"},
        {"id": "p2", "father": "gf", "mother": "gm", "sex": "female"},
        {"id": "s1", "sex": "female"}, {"id": "s2", "sex": "male"},
        {"id": "x", "father": "p1", "mother": "s1", "sex": "male", "sample_id": "X"},
        {"id": "c", "father": "s2", "mother": "p2", "sex": "male", "is_missing": True},
    ]  # fmt: skip
    ped = pedigree_from_table(rows)
    i, j = genotype_alleles(3)
    x = np.stack([i, j], axis=1)
    g = np.full((x.shape[0], ped.n_members, 2), -1)
    g[:, ped.index("x")] = x
    T, _, _ = pedigree_locus_tables(ped, g, P3, np.eye(3), np.eye(3))
    assert np.allclose(T, kappa_locus_tables(x, P3, KAPPA["first_cousin"]), rtol=1e-12, atol=1e-12)


def test_every_relationship_kind_builds_a_valid_template():
    for kind in RELATIONSHIPS:
        ped = pedigree_from_relationships([("R", kind)])
        assert ped.references == ("R",) and ped.missing == 0
        assert unrelated_pedigree(ped).father[ped.missing] == -1


def test_error_messages_name_the_problem():
    with pytest.raises(PedigreeError, match="relationship 'cousin' of R1 is unknown"):
        pedigree_from_relationships([("R1", "cousin")])
    with pytest.raises(PedigreeError, match="2 references of kind 'father'"):
        pedigree_from_relationships([("R1", "father"), ("R2", "father")])
    with pytest.raises(PedigreeError, match="has only one parent"):
        pedigree_from_table([{"id": "a", "sex": "male"}, {"id": "c", "father": "a", "sex": "male", "is_missing": 1}])
    with pytest.raises(PedigreeError, match="cycle"):
        pedigree_from_table([{"id": "a", "father": "b", "mother": "c", "sex": "male", "is_missing": 1},
                             {"id": "b", "father": "a", "mother": "c", "sex": "male"}, {"id": "c", "sex": "female"}])
    with pytest.raises(PedigreeError, match="0 members are marked is_missing"):
        pedigree_from_table([{"id": "a", "sex": "male"}])
    with pytest.raises(PedigreeError, match="is the father of .* but has sex 'female'"):
        pedigree_from_table([{"id": "a", "sex": "female"}, {"id": "b", "sex": "female"},
                             {"id": "c", "father": "a", "mother": "b", "sex": "male", "is_missing": 1}])
    with pytest.raises(ReuniteInputError, match="kappa"):
        kappa_locus_tables(np.array([[0, 0]]), P3, (0.5, 0.6, 0.0))
    big = pedigree_from_table([{"id": f"f{k}", "sex": "male"} for k in range(6)] + [{"id": "c", "sex": "male", "is_missing": 1}])
    g = np.zeros((1, 7, 2), dtype=int)
    with pytest.raises(PedigreeError, match="at most 10 founder alleles"):
        pedigree_likelihood(big, g, P3, np.eye(3), np.eye(3), theta=0.01)
