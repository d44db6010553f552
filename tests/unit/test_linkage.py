"""Linked loci: the genetic map, linked pairs, and the exact two-locus table against brute force,
closed forms (r = 1/2 independence, r = 0 haplotype locus) and LR properties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinship.errors import PedigreeError, ReuniteInputError
from kinship.genetics.encoding import genotype_alleles, n_genotypes, n_table_rows
from kinship.genetics.ladders import bundled_kits
from kinship.genetics.linkage import (
    DEFAULT_MAX_CM,
    haldane,
    kosambi,
    linkage_map,
    linked_pairs,
)
from kinship.genetics.loci import default_catalogue
from kinship.likelihood.linkage import MAX_MEIOSES, linked_locus_tables
from kinship.likelihood.pedigree import Pedigree, pedigree_from_relationships
from kinship.likelihood.peeling import missing_child_joint, pedigree_locus_tables, unrelated_pedigree
from tests import linkage_brute_force as bf

RNG_SEED = 20261202


def _stochastic(n: int, rate: float, rng) -> np.ndarray:
    """A non-identity mutation matrix: 1 - rate on the diagonal, the rest at random."""
    off = rng.random((n, n))
    np.fill_diagonal(off, 0.0)
    off = rate * off / off.sum(axis=1, keepdims=True)
    return off + np.diag(np.full(n, 1.0 - rate))


def _genotypes(ped, assignment: dict, n_families: int = 1) -> np.ndarray:
    g = np.full((n_families, ped.n_members, 2), -1)
    for member, pair in assignment.items():
        g[:, ped.index(member)] = pair
    return g


# --------------------------------------------------------------------------------------------
# the map and the pairs
# --------------------------------------------------------------------------------------------


def test_map_names_are_canonical_and_chromosomes_agree():
    cat = default_catalogue()
    gmap = linkage_map()
    assert len(gmap) == 50
    for name, pos in gmap.items():
        assert cat.canonical(name) == name
        assert cat.get(name).chrom == pos.chromosome


def test_haldane_kosambi_by_hand():
    # d = 0.5 M: Haldane (1 - e^-1) / 2, Kosambi tanh(1) / 2
    assert haldane(50.0) == pytest.approx((1 - math.exp(-1)) / 2, abs=1e-15)
    assert kosambi(50.0) == pytest.approx(math.tanh(1.0) / 2, abs=1e-15)
    assert haldane(0.0) == 0.0 and kosambi(0.0) == 0.0
    assert haldane(1e4) == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(haldane([0.0, 50.0]), [0.0, (1 - math.exp(-1)) / 2], atol=1e-15)
    # Kosambi >= Haldane for d > 0 (interference makes close double crossovers rarer)
    assert kosambi(20.0) > haldane(20.0)
    with pytest.raises(ReuniteInputError, match="expected a finite distance"):
        haldane(-1.0)


def test_globalfiler_pairs():
    loci = bundled_kits()["GlobalFiler"].loci
    pairs = linked_pairs(loci)
    assert {frozenset((p.first, p.second)) for p in pairs} == {
        frozenset(("vWA", "D12S391")),
        frozenset(("D5S818", "CSF1PO")),
    }
    by = {p.name: p for p in pairs}
    # first/second in the order of the kit's loci (CSF1PO before D5S818 there)
    assert set(by) == {"vWA~D12S391", "CSF1PO~D5S818"}
    vwa = by["vWA~D12S391"]
    assert vwa.chromosome == "12"
    assert vwa.distance_cM == pytest.approx(27.57129 - 15.63031, abs=1e-9)
    # by hand: d = 0.1194098 M, r = (1 - exp(-0.2388196)) / 2 = 0.1062215...
    assert vwa.recombination_fraction == pytest.approx(0.10622152758444, abs=1e-12)
    csf = by["CSF1PO~D5S818"]
    assert csf.distance_cM == pytest.approx(154.43395 - 126.67284, abs=1e-9)
    assert csf.recombination_fraction == pytest.approx(0.21302764174463, abs=1e-12)
    # in the D5S818-first order the names follow
    order = ["D5S818", "CSF1PO", "VWA", "D12S391"]
    assert [p.name for p in linked_pairs(order)] == ["D5S818~CSF1PO", "vWA~D12S391"]
    k = linked_pairs(order, map_function="kosambi")
    assert k[1].recombination_fraction == pytest.approx(math.tanh(2 * 0.1194098) / 2, abs=1e-12)


def test_pairs_threshold_disjoint_greedy_and_errors():
    assert DEFAULT_MAX_CM == 30.0
    assert linked_pairs(["vWA", "D12S391"], max_cM=11.0) == ()
    # chr 21: D21S11 14.6, D21S2055 49.5, Penta D 59.4: D21S2055-Penta D (9.9) is closest,
    # D21S11 is left independent (no three-locus super-locus)
    pairs = linked_pairs(["Penta D", "D21S11", "D21S2055"], max_cM=50)
    assert [p.name for p in pairs] == ["Penta D~D21S2055"]
    # not on the map / not in the catalogue: never paired
    assert linked_pairs(["AMEL", "DYS391", "vWA", "NOT_A_LOCUS"]) == ()
    with pytest.raises(ReuniteInputError, match="given twice"):
        linked_pairs(["vWA", "VWA"])
    with pytest.raises(ReuniteInputError, match="map function"):
        linked_pairs(["vWA"], map_function="morgan")
    with pytest.raises(ReuniteInputError, match="max_cM"):
        linked_pairs(["vWA"], max_cM=-1)


# --------------------------------------------------------------------------------------------
# brute force
# --------------------------------------------------------------------------------------------

CASES = {
    "one_sibling": ([("S1", "full_sibling")], {"full_sibling_1": ((0, 1), (0, 0))}),
    "two_siblings": (
        [("S1", "full_sibling"), ("S2", "full_sibling")],
        {"full_sibling_1": ((0, 1), (0, 1)), "full_sibling_2": ((0, 0), (1, -2))},
    ),
    "half_sibling": ([("H", "paternal_half_sibling")], {"paternal_half_sibling_1": ((0, 1), (1, 1))}),
    "paternal_grandfather": ([("G", "paternal_grandfather")], {"paternal_grandfather": ((0, 0), (0, 1))}),
    "uncle": ([("U", "paternal_aunt_uncle")], {"paternal_aunt_uncle_1": ((0, 1), (0, 1))}),
    "mother_and_paternal_grandmother": (
        [("M", "mother"), ("G", "paternal_grandmother")],
        {"mother": ((0, 1), (1, 1)), "paternal_grandmother": ((1, 1), (0, 1))},
    ),
}


def _brute(ped, g1, g2, p1, p2, M1, M2, r):
    """log10 LR table (R1, R2) by brute force, the untyped convention of linked_locus_tables."""
    h2 = unrelated_pedigree(ped)
    c = ped.missing
    P1 = bf.two_locus(ped.father, ped.mother, c, g1, g2, p1, p2, M1, M2, r)
    P2 = bf.two_locus(h2.father, h2.mother, c, g1, g2, p1, p2, M1, M2, r)
    lr = np.log10(P1 / P2)
    s1 = np.log10(bf.single_locus(ped.father, ped.mother, c, g1, p1, M1) / bf.single_locus(h2.father, h2.mother, c, g1, p1, M1))
    s2 = np.log10(bf.single_locus(ped.father, ped.mother, c, g2, p2, M2) / bf.single_locus(h2.father, h2.mother, c, g2, p2, M2))
    lr[:, -1] = s1
    lr[-1, :] = s2
    lr[-1, -1] = 0.0
    return lr, P1, P2


@pytest.mark.parametrize("r", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("case", list(CASES))
def test_brute_force(case, r):
    rng = np.random.default_rng(RNG_SEED + len(case))
    rels, typed = CASES[case]
    ped = pedigree_from_relationships(rels)
    big = ped.n_members >= 6
    n1, n2 = (2, 2) if big else (2, 3)
    p1, p2 = rng.dirichlet(np.ones(n1) * 2), rng.dirichlet(np.ones(n2) * 2)
    M1 = (_stochastic(n1, 0.05, rng), _stochastic(n1, 0.02, rng))
    M2 = (_stochastic(n2, 0.04, rng), _stochastic(n2, 0.01, rng))
    g1 = [(-1, -1)] * ped.n_members
    g2 = [(-1, -1)] * ped.n_members
    for member, (a, b) in typed.items():
        g1[ped.index(member)] = a
        g2[ped.index(member)] = b
    expected, _, _ = _brute(ped, g1, g2, p1, p2, M1, M2, r)
    G1, G2 = np.array([g1]), np.array([g2])
    T, inc, ok = linked_locus_tables(ped, G1, G2, p1, p2, *M1, *M2, r)
    assert T.shape == (n_table_rows(n1) * n_table_rows(n2), 1)
    assert ok.tolist() == [True]
    np.testing.assert_allclose(T[:, 0], expected.reshape(-1), rtol=0, atol=1e-12)


def test_brute_force_rows_of_one_untyped_locus_leave_that_locus_out():
    """With two typed siblings the exact two-locus value with the candidate untyped at locus 2
    differs from the single-locus LR (the siblings' locus-2 genotypes inform the inheritance at
    locus 1); the table keeps the single-locus LR, as ``pedigree_locus_tables`` leaves a locus
    out where the candidate is untyped."""
    rng = np.random.default_rng(RNG_SEED)
    rels, typed = CASES["two_siblings"]
    ped = pedigree_from_relationships(rels)
    p1, p2 = np.array([0.3, 0.7]), np.array([0.2, 0.3, 0.5])
    I1, I2 = (np.eye(2),) * 2, (np.eye(3),) * 2
    g1 = [(-1, -1)] * ped.n_members
    g2 = [(-1, -1)] * ped.n_members
    for member, (a, b) in typed.items():
        g1[ped.index(member)] = a
        g2[ped.index(member)] = b
    _, P1, P2 = _brute(ped, g1, g2, p1, p2, I1, I2, 0.1)
    exact = np.log10(P1[:-1, -1] / P2[:-1, -1])
    T, _, _ = linked_locus_tables(ped, np.array([g1]), np.array([g2]), p1, p2, *I1, *I2, 0.1)
    T1, _, _ = pedigree_locus_tables(ped, np.array([g1]), p1, *I1)
    R2 = n_table_rows(3)
    got = T[:, 0].reshape(-1, R2)[:-1, -1]
    np.testing.assert_allclose(got, T1[:-1, 0], atol=1e-12)
    assert np.max(np.abs(exact - got)) > 1e-3


# --------------------------------------------------------------------------------------------
# r = 1/2: independence, with everything the single-locus tables support
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("theta", [0.0, 0.03])
@pytest.mark.parametrize(
    "rels",
    [
        [("S1", "full_sibling"), ("S2", "full_sibling")],
        [("H", "maternal_half_sibling"), ("F", "father")],
        [("G", "maternal_grandmother"), ("U", "maternal_aunt_uncle")],
        [("F", "father"), ("M", "mother")],
    ],
)
def test_half_is_independent(rels, theta):
    rng = np.random.default_rng(RNG_SEED + 7)
    ped = pedigree_from_relationships(rels)
    n1, n2, B = 3, 4, 6
    p1, p2 = rng.dirichlet(np.ones(n1)), rng.dirichlet(np.ones(n2))
    silent_2 = n2 - 1  # a silent allele at locus 2
    M1 = (_stochastic(n1, 0.01, rng), _stochastic(n1, 0.004, rng))
    M2 = (np.eye(n2), np.eye(n2))
    g1 = np.full((B, ped.n_members, 2), -1)
    g2 = np.full((B, ped.n_members, 2), -1)
    for k in ped.typed_members:
        g1[:, k] = np.sort(rng.integers(0, n1, (B, 2)), axis=1)
        g2[:, k] = np.sort(rng.integers(0, n2 - 1, (B, 2)), axis=1)
    first = ped.typed_members[0]
    g1[0, first] = (1, -2)  # partial
    g2[1, first] = (-1, -1)  # a reference untyped at locus 2
    g2[2, first] = (0, -2)
    T1, I1, ok1 = pedigree_locus_tables(ped, g1, p1, *M1, theta=theta)
    T2, I2, ok2 = pedigree_locus_tables(ped, g2, p2, *M2, theta=theta, silent=silent_2)
    T, inc, ok = linked_locus_tables(ped, g1, g2, p1, p2, *M1, *M2, 0.5, theta=theta, silent_2=silent_2)
    expected = (T1[:, None, :] + T2[None, :, :]).reshape(-1, B)
    keep = ok1 & ok2
    assert ok.tolist() == keep.tolist()
    assert np.array_equal(np.isneginf(T[:, keep]), np.isneginf(expected[:, keep]))
    finite = np.isfinite(expected[:, keep])
    np.testing.assert_allclose(T[:, keep][finite], expected[:, keep][finite], rtol=0, atol=1e-12)
    assert np.array_equal(inc, (I1[:, None, :] + I2[None, :, :]).reshape(-1, B))
    assert np.all(T[-1] == 0.0)


@pytest.mark.parametrize("r", [0.0, 0.05, 0.3])
@pytest.mark.parametrize("rels", [[("F", "father"), ("M", "mother")], [("M", "mother")], [("F", "father")]])
def test_parents_only_joint_is_product(rels, r):
    """Trio and duo: linkage changes nothing (the parent's phase is unknown), at any r."""
    rng = np.random.default_rng(RNG_SEED + 3)
    ped = pedigree_from_relationships(rels)
    n1, n2, B = 3, 3, 5
    p1, p2 = rng.dirichlet(np.ones(n1)), rng.dirichlet(np.ones(n2))
    M1 = (_stochastic(n1, 0.02, rng), _stochastic(n1, 0.005, rng))
    M2 = (_stochastic(n2, 0.03, rng), _stochastic(n2, 0.01, rng))
    g1 = np.full((B, ped.n_members, 2), -1)
    g2 = np.full((B, ped.n_members, 2), -1)
    for k in ped.typed_members:
        g1[:, k] = np.sort(rng.integers(0, n1, (B, 2)), axis=1)
        g2[:, k] = np.sort(rng.integers(0, n2, (B, 2)), axis=1)
    T1, _, _ = pedigree_locus_tables(ped, g1, p1, *M1)
    T2, _, _ = pedigree_locus_tables(ped, g2, p2, *M2)
    T, _, ok = linked_locus_tables(ped, g1, g2, p1, p2, *M1, *M2, r)
    assert ok.all()
    np.testing.assert_allclose(T, (T1[:, None, :] + T2[None, :, :]).reshape(-1, B), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------------
# r = 0: one locus of haplotype alleles
# --------------------------------------------------------------------------------------------


def test_fully_linked_siblings_are_one_haplotype_locus():
    """At r = 0 the two loci are one locus whose alleles are the haplotypes (a, b), frequency
    p_a q_b, mutating at both loci independently (M1 (x) M2). The siblings are homozygous at
    one locus each so that their haplotypes are known; the candidate's two phases are summed."""
    rng = np.random.default_rng(RNG_SEED + 11)
    ped = pedigree_from_relationships([("S1", "full_sibling"), ("S2", "full_sibling")])
    n1, n2 = 2, 3
    p1, p2 = rng.dirichlet(np.ones(n1) * 2), rng.dirichlet(np.ones(n2) * 2)
    M1 = (_stochastic(n1, 0.03, rng), _stochastic(n1, 0.01, rng))
    M2 = (_stochastic(n2, 0.02, rng), _stochastic(n2, 0.015, rng))
    s1, s2 = ped.index("full_sibling_1"), ped.index("full_sibling_2")
    g1 = _genotypes(ped, {"full_sibling_1": (0, 0), "full_sibling_2": (0, 1)})
    g2 = _genotypes(ped, {"full_sibling_1": (1, 2), "full_sibling_2": (0, 0)})
    T, _, _ = linked_locus_tables(ped, g1, g2, p1, p2, *M1, *M2, 0.0)

    h = lambda a, b: a * n2 + b  # noqa: E731  haplotype allele index
    ph = np.kron(p1, p2)
    Mh = (np.kron(M1[0], M2[0]), np.kron(M1[1], M2[1]))
    gh = np.full((1, ped.n_members, 2), -1)
    gh[0, s1] = sorted((h(0, 1), h(0, 2)))
    gh[0, s2] = sorted((h(0, 0), h(1, 0)))
    H1 = missing_child_joint(ped, gh, ph, *Mh)[0]
    H2 = missing_child_joint(unrelated_pedigree(ped), gh, ph, *Mh)[0]
    nh = n1 * n2
    hi, hj = genotype_alleles(nh)
    row_of = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(hi, hj))}
    R2 = n_table_rows(n2)
    i1, j1 = genotype_alleles(n1)
    i2, j2 = genotype_alleles(n2)
    for r1 in range(n_genotypes(n1)):
        for r2 in range(n_genotypes(n2)):
            a, b = int(i1[r1]), int(j1[r1])
            c, d = int(i2[r2]), int(j2[r2])
            phases = {tuple(sorted((h(a, c), h(b, d)))), tuple(sorted((h(a, d), h(b, c))))}
            num = sum(H1[row_of[x]] for x in phases)
            den = sum(H2[row_of[x]] for x in phases)
            assert T[r1 * R2 + r2, 0] == pytest.approx(math.log10(num / den), abs=1e-12)


# --------------------------------------------------------------------------------------------
# LR properties
# --------------------------------------------------------------------------------------------


def _hwe_complete(p):
    i, j = genotype_alleles(len(p))
    return np.where(i == j, 1.0, 2.0) * p[i] * p[j]


@pytest.mark.parametrize("r", [0.0, 0.1, 0.5])
@pytest.mark.parametrize(
    "rels",
    [
        [("S1", "full_sibling"), ("S2", "full_sibling")],
        [("H", "paternal_half_sibling")],
        [("U", "maternal_aunt_uncle"), ("M", "mother")],
    ],
)
def test_expected_lr_under_unrelated_is_one(rels, r):
    """theta = 0, no mutation: sum_g LR(g) P(g | H2) = 1 over complete joint genotypes, i.e.
    LR(g) P(g | H2) = P(g | references, H1) is a distribution over the child's genotypes."""
    rng = np.random.default_rng(RNG_SEED + 5)
    ped = pedigree_from_relationships(rels)
    n1, n2, B = 3, 4, 4
    p1, p2 = rng.dirichlet(np.ones(n1)), rng.dirichlet(np.ones(n2))
    g1 = np.full((B, ped.n_members, 2), -1)
    g2 = np.full((B, ped.n_members, 2), -1)
    for k in ped.typed_members:
        g1[:, k] = np.sort(rng.choice(n1, (B, 2), p=p1), axis=1)
        g2[:, k] = np.sort(rng.choice(n2, (B, 2), p=p2), axis=1)
    I1, I2 = np.eye(n1), np.eye(n2)
    T, _, ok = linked_locus_tables(ped, g1, g2, p1, p2, I1, I1, I2, I2, r)
    R2 = n_table_rows(n2)
    G1, G2 = n_genotypes(n1), n_genotypes(n2)
    lr = (10.0 ** T).reshape(n_table_rows(n1), R2, B)[:G1, :G2]
    w = np.outer(_hwe_complete(p1), _hwe_complete(p2))
    assert ok.all()
    np.testing.assert_allclose(np.einsum("ijb,ij->b", lr, w), 1.0, rtol=0, atol=1e-12)


def test_expected_lr_with_mutation_is_the_references_ratio():
    """With a non-stationary mutation model sum_g LR(g) P(g | H2) = P(refs | H1) / P(refs | H2)
    (two-locus), here from the brute force."""
    rng = np.random.default_rng(RNG_SEED + 9)
    rels, typed = CASES["half_sibling"]
    ped = pedigree_from_relationships(rels)
    n1, n2 = 2, 3
    p1, p2 = np.array([0.3, 0.7]), np.array([0.1, 0.3, 0.6])
    M1 = (_stochastic(n1, 0.05, rng), _stochastic(n1, 0.02, rng))
    M2 = (_stochastic(n2, 0.04, rng), _stochastic(n2, 0.01, rng))
    g1 = [(-1, -1)] * ped.n_members
    g2 = [(-1, -1)] * ped.n_members
    for member, (a, b) in typed.items():
        g1[ped.index(member)] = a
        g2[ped.index(member)] = b
    _, P1, P2 = _brute(ped, g1, g2, p1, p2, M1, M2, 0.1)
    T, _, _ = linked_locus_tables(ped, np.array([g1]), np.array([g2]), p1, p2, *M1, *M2, 0.1)
    G1, G2 = n_genotypes(n1), n_genotypes(n2)
    lr = (10.0 ** T[:, 0]).reshape(n_table_rows(n1), n_table_rows(n2))[:G1, :G2]
    total = float((lr * np.outer(_hwe_complete(p1), _hwe_complete(p2))).sum())
    ratio = P1[-1, -1] / P2[-1, -1]
    assert abs(ratio - 1.0) > 1e-4  # the property is not the trivial 1 here
    assert total == pytest.approx(ratio, abs=1e-12)


# --------------------------------------------------------------------------------------------
# flags and errors
# --------------------------------------------------------------------------------------------


def test_impossible_references_are_not_informative():
    ped = pedigree_from_relationships([("G", "paternal_grandfather"), ("U", "paternal_aunt_uncle")])
    I = np.eye(2)
    p = np.array([0.4, 0.6])
    g1 = _genotypes(ped, {"paternal_grandfather": (0, 0), "paternal_aunt_uncle_1": (1, 1)}, 2)
    g1[1] = _genotypes(ped, {"paternal_grandfather": (0, 0), "paternal_aunt_uncle_1": (0, 1)})[0]
    g2 = _genotypes(ped, {"paternal_grandfather": (0, 1), "paternal_aunt_uncle_1": (0, 1)}, 2)
    T, inc, ok = linked_locus_tables(ped, g1, g2, p, p, I, I, I, I, 0.1)
    assert ok.tolist() == [False, True]
    assert np.all(T[:, 0] == 0.0)
    assert np.any(T[:, 1] != 0.0)


def test_inconsistent_rows():
    """Inconsistency is I1[row1] + I2[row2], with mutation in the model (so the LR stays finite)."""
    ped = pedigree_from_relationships([("F", "father"), ("M", "mother")])
    p = np.array([0.4, 0.6])
    rng = np.random.default_rng(1)
    M = (_stochastic(2, 0.01, rng), _stochastic(2, 0.01, rng))
    g1 = _genotypes(ped, {"father": (0, 0), "mother": (0, 0)})
    g2 = _genotypes(ped, {"father": (1, 1), "mother": (0, 1)})
    T, inc, ok = linked_locus_tables(ped, g1, g2, p, p, *M, *M, 0.2)
    R = n_table_rows(2)
    inc = inc[:, 0].reshape(R, R)
    # locus 1: a/b, b/b and b/? impossible; locus 2: a/a impossible
    I1 = np.array([0, 1, 1, 0, 1, 0])
    I2 = np.array([1, 0, 0, 0, 0, 0])
    assert np.array_equal(inc, I1[:, None] + I2[None, :])
    assert inc.max() == 2 and np.isfinite(T[:, 0]).all()


def test_errors():
    ped = pedigree_from_relationships([("S1", "full_sibling")])
    p = np.array([0.5, 0.5])
    I = np.eye(2)
    g = _genotypes(ped, {"full_sibling_1": (0, 1)})
    with pytest.raises(PedigreeError, match="recombination fraction"):
        linked_locus_tables(ped, g, g, p, p, I, I, I, I, 0.6)
    with pytest.raises(PedigreeError, match="same families"):
        linked_locus_tables(ped, g, np.concatenate([g, g]), p, p, I, I, I, I, 0.1)
    no_missing = Pedigree(("x",), (-1,), (-1,), ("male",), ("S",))
    with pytest.raises(PedigreeError, match="no missing child"):
        linked_locus_tables(no_missing, np.zeros((1, 1, 2), int), np.zeros((1, 1, 2), int), p, p, I, I, I, I, 0.1)
    many = pedigree_from_relationships([(f"S{k}", "full_sibling") for k in range(6)])
    gm = np.full((1, many.n_members, 2), -1)
    gm[0, list(many.typed_members)] = (0, 1)
    with pytest.raises(PedigreeError, match=f"at most {MAX_MEIOSES}"):
        linked_locus_tables(many, gm, gm, p, p, I, I, I, I, 0.1)


def test_template_families_fit():
    """Every templated kind (and five siblings) stays within the meiosis cap."""
    p = np.array([0.5, 0.5])
    I = np.eye(2)
    for rels in (
        [(f"S{k}", "full_sibling") for k in range(5)],
        [("H1", "paternal_half_sibling"), ("H2", "maternal_half_sibling"), ("F", "father")],
        [("A", "paternal_grandfather"), ("B", "maternal_grandmother"), ("U", "paternal_aunt_uncle"), ("M", "mother")],
        [("U1", "paternal_aunt_uncle"), ("U2", "maternal_aunt_uncle")],
    ):
        ped = pedigree_from_relationships(rels)
        g = np.full((1, ped.n_members, 2), -1)
        g[0, list(ped.typed_members)] = (0, 1)
        T, _, ok = linked_locus_tables(ped, g, g, p, p, I, I, I, I, 0.1)
        assert ok.all() and T[-1, 0] == 0.0
