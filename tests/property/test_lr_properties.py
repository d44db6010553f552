"""Algebraic invariants of the family tables and the kernel (hypothesis).

Each invariance test transforms its input and compares: allele order, locus order, parent
labels; plus sum_g P(g | H1) = 1, i.e. E[LR | unrelated] = 1, and exclusion => LR 0 without
mutation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinship.genetics.frequencies import FrequencyTable
from kinship.likelihood.parentage import family_locus_tables, hwe_genotype_probs
from kinship.matching.reference import score_all_pairs
from kinship.genetics.mutation import MutationModel, mutation_matrix
from kinship.matching.compiler import Family, candidate_genotype_index, compile_families, encode_profiles

ALLELES = ["8", "9", "9.3", "10", "11", "12", "13.2", "14"]
MODELS = st.sampled_from(["none", "equal", "proportional", "stepwise"])


@st.composite
def afreqs(draw, n=len(ALLELES)):
    w = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n)))
    return w / w.sum()


genotype = st.one_of(
    st.just([-1, -1]),
    st.tuples(st.integers(0, len(ALLELES) - 1), st.integers(0, len(ALLELES) - 1)).map(sorted),
    st.tuples(st.integers(0, len(ALLELES) - 1), st.just(-2)).map(list),  # partial: i/?
)


@settings(max_examples=60, deadline=None)
@given(p=afreqs(), father=genotype, mother=genotype, model=MODELS, rate=st.floats(0.0, 0.05))
def test_expected_lr_under_unrelated_is_one(p, father, mother, model, rate):
    M = mutation_matrix(ALLELES, p, model=model, rate=rate, rate2=rate / 10, range=0.3)
    T, _ = family_locus_tables(np.array([father]), np.array([mother]), p, M, M)
    h2 = hwe_genotype_probs(p)
    with np.errstate(over="ignore"):
        expected_lr = float(np.sum(h2 * 10.0 ** T[: h2.size, 0]))  # = sum_g P(g | H1)
    assert expected_lr == pytest.approx(1.0, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(p=afreqs(), father=genotype, mother=genotype)
def test_exclusion_means_lr_zero_without_mutation(p, father, mother):
    I = np.eye(len(ALLELES))
    T, inc = family_locus_tables(np.array([father]), np.array([mother]), p, I, I)
    assert np.array_equal(T[:, 0] == -np.inf, inc[:, 0] == 1)


def _lr(profiles, loci, father, mother, model, p_by_locus):
    table = FrequencyTable.from_mapping("t", {l: dict(zip(ALLELES, p_by_locus[l])) for l in loci})
    refs = [r for r in (father, mother) if r]
    tables = compile_families([Family("lab", "f", father, mother)], encode_profiles(profiles, refs, table, loci), refs, table, loci, model)
    cand = candidate_genotype_index(encode_profiles(profiles, ["C"], table, loci))
    return score_all_pairs(tables, cand).log10_lr[0, 0]


LOCI = ["TH01", "TPOX", "vWA", "FGA"]


@st.composite
def cases(draw):
    p = {l: draw(afreqs()) for l in LOCI}
    pick = st.sampled_from(ALLELES)
    profiles = {
        who: {l: (draw(pick), draw(pick)) for l in LOCI if draw(st.booleans()) or who != "C"}
        for who in ("F", "M", "C")
    }
    model = MutationModel(model=draw(MODELS), rate_male=0.004, rate_female=0.004, range=0.5, rate2=1e-4)
    return p, profiles, model


@settings(max_examples=40, deadline=None)
@given(case=cases(), seed=st.integers(0, 2**32 - 1))
def test_invariant_under_allele_order_locus_order_and_parent_labels(case, seed):
    p, profiles, model = case
    base = _lr(profiles, LOCI, "F", "M", model, p)
    rng = np.random.default_rng(seed)
    swapped = {who: {l: pair[::-1] for l, pair in prof.items()} for who, prof in profiles.items()}
    assert _lr(swapped, LOCI, "F", "M", model, p) == pytest.approx(base, rel=1e-12, abs=1e-12)
    shuffled = list(rng.permutation(LOCI))
    assert _lr(profiles, shuffled, "F", "M", model, p) == pytest.approx(base, rel=1e-12, abs=1e-12)
    # Same rates for both sexes: relabelling father and mother changes nothing.
    relabelled = {"F": profiles["M"], "M": profiles["F"], "C": profiles["C"]}
    assert _lr(relabelled, LOCI, "F", "M", model, p) == pytest.approx(base, rel=1e-12, abs=1e-12)
