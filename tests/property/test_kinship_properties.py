"""Algebraic invariants of the family tables for every relationship kind (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinship.genetics.encoding import UNKNOWN, genotype_alleles, n_genotypes
from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.mutation import MutationModel, mutation_matrix
from kinship.genetics.relationships import RELATIONSHIPS
from kinship.likelihood.pedigree import pedigree_from_relationships
from kinship.likelihood.peeling import pedigree_locus_tables
from kinship.matching.compiler import Family, candidate_genotype_index, compile_families, encode_profiles

KINDS = [k for k in RELATIONSHIPS]
ALLELES = ["9", "9.3", "10", "11", "12"]


def _setup(draw_p, kinds, seed):
    rng = np.random.default_rng(seed)
    refs = [(f"R{k}", kind) for k, kind in enumerate(kinds)]
    ped = pedigree_from_relationships(refs)
    g = np.full((1, ped.n_members, 2), -1)
    for k in ped.typed_members:
        g[0, k] = np.sort(rng.integers(0, len(draw_p), size=2))
        if rng.random() < 0.25:  # a partial genotype: one allele unknown
            g[0, k, 1] = UNKNOWN
    return ped, g


freqs = st.lists(st.floats(0.02, 1.0), min_size=5, max_size=5).map(lambda v: np.array(v) / sum(v))
kinds = st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True)


@settings(max_examples=30, deadline=None)
@given(p=freqs, ks=kinds, seed=st.integers(0, 10**6), model=st.sampled_from(["none", "proportional"]),
       theta=st.sampled_from([0.0, 0.02]))
def test_expected_lr_under_unrelated_is_one(p, ks, seed, model, theta):
    """sum_g P(g | references, H2) LR(g) = 1 (stationary models at theta 0, no mutation under
    theta; otherwise the peers' H2 convention makes it P(refs | H1) / P(refs | H2), see
    kinship.likelihood.peeling.unrelated_pedigree)."""
    if theta > 0.0:
        model = "none"  # mutation breaks the IBD correlation of the urn: P(refs) differs by H
        ks = ks[:1]  # theta costs Bell(founder alleles) eliminations: keep the pedigree small
    ped, g = _setup(p, ks, seed)
    M = mutation_matrix(ALLELES, p, model=model, rate=0.01)
    T, _, ok = pedigree_locus_tables(ped, g, p, M, M, theta=theta)
    if not ok[0]:
        return  # references impossible together without mutation
    if theta == 0.0:
        i, j = genotype_alleles(p.size)
        h2 = np.where(i == j, p[i] ** 2, 2 * p[i] * p[j])
        assert float(np.sum(h2 * 10 ** T[: n_genotypes(p.size), 0])) == pytest.approx(1.0, rel=1e-10)
        return
    # with theta the H2 weights are P(g | references) under H2: compute them from the H1 total
    from kinship.likelihood.peeling import missing_child_joint, unrelated_pedigree
    G = n_genotypes(p.size)
    p2 = missing_child_joint(unrelated_pedigree(ped), g, p, M, M, theta=theta)[0][:G]
    assert float(np.sum(p2 / p2.sum() * 10 ** T[:G, 0])) == pytest.approx(1.0, rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(p=freqs, ks=kinds, seed=st.integers(0, 10**6), perm_seed=st.integers(0, 10**6))
def test_lr_is_invariant_under_allele_order(p, ks, seed, perm_seed):
    ped, g = _setup(p, ks, seed)
    M = mutation_matrix(ALLELES, p, model="equal", rate=0.01)
    T, _, _ = pedigree_locus_tables(ped, g, p, M, M)
    perm = np.random.default_rng(perm_seed).permutation(p.size)  # new index of old allele k is inv[k]
    inv = np.argsort(perm)
    p2 = p[perm]
    M2 = M[np.ix_(perm, perm)]
    g2 = np.where(g >= 0, inv[np.maximum(g, 0)], g)  # untyped and unknown alleles stay
    g2 = np.sort(g2, axis=-1)  # a partial (-2, i) is read as (i, -2)
    T2, _, _ = pedigree_locus_tables(ped, g2, p2, M2, M2)
    i, j = genotype_alleles(p.size)
    a, b = inv[i], inv[j]
    row2 = np.maximum(a, b) * (np.maximum(a, b) + 1) // 2 + np.minimum(a, b)
    G = n_genotypes(p.size)
    assert np.allclose(T[:G, 0], T2[row2, 0], rtol=1e-11, atol=1e-11)
    assert np.allclose(T[G:-1, 0], T2[G + inv, 0], rtol=1e-11, atol=1e-11)  # partial rows i/?


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), ks=kinds)
def test_combined_lr_is_invariant_under_locus_order_and_families_under_grouping(seed, ks):
    rng = np.random.default_rng(seed)
    loci = ["TH01", "FGA", "vWA"]
    afreq = {l: dict(zip(ALLELES, rng.dirichlet(np.ones(len(ALLELES))))) for l in loci}
    table = FrequencyTable.from_mapping("t", afreq, normalise=False)
    refs = [(f"R{k}", kind) for k, kind in enumerate(ks)]
    profiles = {s: {l: tuple(sorted(rng.choice(ALLELES, 2))) for l in loci} for s, _ in refs}
    profiles["C"] = {l: tuple(sorted(rng.choice(ALLELES, 2))) for l in loci}
    ref_ids = [s for s, _ in refs]
    fam = Family("L", "F", others=tuple(refs))
    model = MutationModel("equal", 0.01, 0.005)

    def total(order):
        T = compile_families([fam, Family("L", "G", "R0"), fam], encode_profiles(profiles, ref_ids, table, order),
                             ref_ids, table, order, model)
        c = candidate_genotype_index(encode_profiles(profiles, ["C"], table, order))
        return [sum(Tl[c[0, k], f] for k, Tl in enumerate(T.log10_lr)) for f in (0, 2)]

    a, b = total(loci), total(loci[::-1])
    assert a[0] == pytest.approx(b[0], rel=1e-12, abs=1e-12) and a[0] == a[1]


@settings(max_examples=30, deadline=None)
@given(p=freqs, seed=st.integers(0, 10**6), couple=st.booleans())
def test_exclusion_gives_lr_zero_without_mutation(p, seed, couple):
    rng = np.random.default_rng(seed)
    refs = [("F", "father"), ("M", "mother")] if couple else [("F", "father")]
    ped = pedigree_from_relationships(refs + [("G", "paternal_grandfather")])
    g = np.full((1, ped.n_members, 2), -1)
    for k in ped.typed_members:
        g[0, k] = np.sort(rng.integers(0, p.size, size=2))
    T, inc, ok = pedigree_locus_tables(ped, g, p, np.eye(p.size), np.eye(p.size))
    if not ok[0]:
        return
    assert np.array_equal(T[:-1, 0] == -np.inf, inc[:-1, 0] == 1)  # partial rows i/? included
    father = set(g[0, ped.index("father")].tolist())
    i, j = genotype_alleles(p.size)
    if not couple:
        G = n_genotypes(p.size)
        excluded = [not ({a, b} & father) for a, b in zip(i, j)]
        assert np.array_equal(inc[:G, 0] == 1, np.array(excluded))
        # i/x can take x from the father and i from the untyped mother: with one parent on
        # file a partial candidate is never excluded
        assert not inc[G:-1, 0].any()
