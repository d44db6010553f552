"""Partial genotypes (``12/-``) and silent alleles in every likelihood, against brute force.

Each value is checked against an independent computation: the issue's closed forms, brute-force
enumeration over every allele of every member (:mod:`tests.brute_force`) with mutation and θ,
and the other code path (parentage fast path vs peeling, κ vs peeling, the streamed kernel vs
the reference gather).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kinship.errors import FrequencyTableError, ReuniteInputError
from kinship.genetics.encoding import UNKNOWN, genotype_alleles, genotype_index, n_table_rows, table_row
from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.mutation import MutationModel, is_stationary, mutation_matrix
from kinship.likelihood.calibration import tail_probability
from kinship.likelihood.kappa import kappa_locus_tables
from kinship.likelihood.parentage import family_locus_tables, transmission
from kinship.likelihood.pedigree import pedigree_from_relationships, pedigree_from_table
from kinship.likelihood.peeling import pedigree_likelihood, pedigree_locus_tables, unrelated_pedigree
from kinship.likelihood.phenotypes import unrelated_rows
from kinship.matching.compiler import Family, candidate_genotype_index, compile_families, encode_profiles
from kinship.matching.reference import score_all_pairs
from kinship.matching.streaming import score_shard
from tests.brute_force import allows, brute_force

I2 = np.eye(2)


def _rows(n):
    """Every observation of a child in table order: complete genotypes, then partial i/?."""
    i, j = genotype_alleles(n)
    return [(int(a), int(b)) for a, b in zip(i, j)] + [(a, UNKNOWN) for a in range(n)]


# ------------------------------------------------------------------------------------------
# the issue's symptoms, each with its value
# ------------------------------------------------------------------------------------------


def test_a_lone_person_typed_2_dash_is_2p_minus_p_squared_not_the_last_allele():
    """Frequencies 1: 0.8, 2: 0.2, a person typed "2/-": 0.36 (it was read as 2/2: 0.04)."""
    ped = pedigree_from_table([{"id": "x", "sex": "male", "is_missing": True}])
    p = np.array([0.8, 0.2])
    assert pedigree_likelihood(ped, np.array([[[1, UNKNOWN]]]), p, I2, I2)[0] == pytest.approx(0.36, rel=1e-14)
    # the genotype-array API no longer reads a lone -1 as "the last allele"
    with pytest.raises(ReuniteInputError, match=r"\(1, -2\)"):
        pedigree_likelihood(ped, np.array([[[1, -1]]]), p, I2, I2)
    with pytest.raises(ReuniteInputError, match="one allele untyped"):
        family_locus_tables(np.array([[1, -1]]), np.array([[-1, -1]]), p, I2, I2)


def test_the_profile_api_takes_a_partial_genotype():
    t = FrequencyTable.from_mapping("t", {"D1": {"1": 0.8, "2": 0.2}})
    enc = encode_profiles({"A": {"D1": ("2", "?")}}, ["A"], t, ["D1"])
    assert enc.tolist() == [[[1, UNKNOWN]]]
    assert candidate_genotype_index(enc).tolist() == [[-3]]
    with pytest.raises(FrequencyTableError, match="second allele"):
        encode_profiles({"A": {"D1": ("?", "2")}}, ["A"], t, ["D1"])


SILENT_FREQ = {"p": 0.3, "q": 0.1, "r": 0.2, "t": 0.39, "silent": 0.01}


def _trio():
    """Alleged father AF, mother M, child C: H1 AF is the father, H2 an unrelated man is."""
    h1 = pedigree_from_table([
        {"id": "AF", "sex": "male"}, {"id": "M", "sex": "female"},
        {"id": "C", "father": "AF", "mother": "M", "sex": "male", "is_missing": True},
    ])  # fmt: skip
    h2 = pedigree_from_table([
        {"id": "AF", "sex": "male"}, {"id": "U", "sex": "male"}, {"id": "M", "sex": "female"},
        {"id": "C", "father": "U", "mother": "M", "sex": "male", "is_missing": True},
    ])  # fmt: skip
    return h1, h2


def test_silent_allele_turns_an_apparent_double_exclusion_into_the_closed_form_pi():
    """Mother p/q, child apparently q/q, alleged father apparently r/r, silent allele o:
    PI = o / ((q + o)(r + 2o)) = 0.4132 for p=0.3, q=0.1, r=0.2, o=0.01; 0 without it."""
    p = np.array(list(SILENT_FREQ.values()))
    P, Q, R, S = 0, 1, 2, 4
    I5 = np.eye(5)
    h1, h2 = _trio()
    g1 = np.array([[[R, R], [P, Q], [Q, Q]]])  # AF, M, C in h1's member order
    g2 = np.array([[[R, R], [-1, -1], [P, Q], [Q, Q]]])
    assert [h1.ids[k] for k in range(3)] == ["AF", "M", "C"] and list(h2.ids) == ["AF", "U", "M", "C"]
    pi = pedigree_likelihood(h1, g1, p, I5, I5, silent=S)[0] / pedigree_likelihood(h2, g2, p, I5, I5, silent=S)[0]
    assert pi == pytest.approx(0.01 / (0.11 * 0.22), rel=1e-13)
    assert round(pi, 4) == 0.4132
    assert pedigree_likelihood(h1, g1, p, I5, I5)[0] == 0.0  # without the silent allele: excluded

    # the matcher's table of the couple (H2: the candidate unrelated to both):
    # P(q/q or q/s | AF, M) / P(q/q or q/s) = (o / (2 (r + 2o))) / (q^2 + 2 q o)
    T, inc = family_locus_tables(np.array([[R, R]]), np.array([[P, Q]]), p, I5, I5, silent=S)
    row = int(genotype_index(np.array([Q, Q])))
    assert 10 ** T[row, 0] == pytest.approx((0.01 / (2 * 0.22)) / (0.1 ** 2 + 2 * 0.1 * 0.01), rel=1e-13)
    assert inc[row, 0] == 0  # consistent once the silent allele is allowed
    T0, inc0 = family_locus_tables(np.array([[R, R]]), np.array([[P, Q]]), p, I5, I5)
    assert T0[row, 0] == -np.inf and inc0[row, 0] == 1


def test_compiled_families_use_the_silent_allele_of_the_table():
    alleles = {"10": 0.3, "11": 0.1, "12": 0.2, "13": 0.39, "silent": 0.01}
    table = FrequencyTable.from_mapping("t", {"D1": alleles})
    assert table["D1"].alleles[-1] == "silent"
    profiles = {"AF": {"D1": ("12", "12")}, "M": {"D1": ("10", "11")}, "C": {"D1": ("11", "11")}}
    refs = encode_profiles(profiles, ["AF", "M"], table, ["D1"])
    cands = candidate_genotype_index(encode_profiles(profiles, ["C"], table, ["D1"]))
    model = MutationModel(model="none")
    ft = compile_families([Family("L", "F", "AF", "M")], refs, ["AF", "M"], table, ["D1"], model)
    lr = score_all_pairs(ft, cands).log10_lr[0, 0]
    assert 10 ** lr == pytest.approx((0.01 / (2 * 0.22)) / (0.1 ** 2 + 2 * 0.1 * 0.01), rel=1e-13)


def test_silent_allele_mutation_follows_familias():
    p = np.array([0.5, 0.3, 0.2])
    for model in ("equal", "proportional", "stepwise"):
        M = mutation_matrix(["9", "10", "silent"], p, model=model, rate=0.01, range=0.5)
        assert M[2].tolist() == [0.0, 0.0, 1.0] and M[:, 2].tolist() == [0.0, 0.0, 1.0]
        sub = mutation_matrix(["9", "10"], p[:2] / p[:2].sum(), model=model, rate=0.01, range=0.5)
        assert np.array_equal(M[:2, :2], sub)
        assert np.allclose(M.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    # proportional stays stationary with the silent allele in the table
    assert is_stationary(mutation_matrix(["9", "10", "silent"], p, model="proportional", rate=0.01), p)


# ------------------------------------------------------------------------------------------
# brute-force enumeration: every row of a family table, with mutation and theta
# ------------------------------------------------------------------------------------------


def _child_joint_by_enumeration(ped, genotypes, p, Mm, Mf, theta, silent):
    """J[x, y] = P(missing child's ordered alleles (x, y), references) by brute force."""
    n = p.size
    J = np.zeros((n, n))
    for x, y in itertools.product(range(n), repeat=2):
        J[x, y] = brute_force(ped, genotypes, p, Mm, Mf, theta, silent, child=(ped.missing, (x, y)))
    return J


def _row_values(J, n, silent):
    """P(child observed as each row's observation) from J, via :func:`tests.brute_force.allows`."""
    return np.array([
        sum(J[x, y] for x, y in itertools.product(range(n), repeat=2) if allows(obs, (x, y), silent))
        for obs in _rows(n)
    ])  # fmt: skip


def _as_table_ped(ped):
    return pedigree_from_table(
        [{"id": ped.ids[k], "father": ped.ids[ped.father[k]] if ped.father[k] >= 0 else "",
          "mother": ped.ids[ped.mother[k]] if ped.mother[k] >= 0 else "", "sex": ped.sex[k],
          "is_missing": k == ped.missing} for k in range(ped.n_members)]
    )  # fmt: skip


CASES = [
    # (relationships, typed observations, alleles, silent allele index)
    ([("S", "full_sibling")], {"full_sibling_1": (0, UNKNOWN)}, ["9", "10", "11"], None),
    ([("S", "full_sibling")], {"full_sibling_1": (1, 1)}, ["9", "10", "silent"], 2),
    ([("F", "father"), ("M", "mother")], {"father": (0, UNKNOWN), "mother": (1, 1)}, ["9", "10", "silent"], 2),
    ([("F", "father")], {"father": (2, UNKNOWN)}, ["9", "10", "11"], None),
    ([("H", "paternal_half_sibling")], {"paternal_half_sibling_1": (0, 0)}, ["9", "10", "silent"], 2),
    ([("G", "maternal_grandmother")], {"maternal_grandmother": (1, UNKNOWN)}, ["9", "10"], None),
]  # fmt: skip


@pytest.mark.parametrize("theta", [0.0, 0.05])
@pytest.mark.parametrize("relationships,typed,labels,silent", CASES)
def test_every_row_equals_brute_force_with_mutation_and_theta(relationships, typed, labels, silent, theta):
    ped = _as_table_ped(pedigree_from_relationships(relationships))
    n = len(labels)
    p = np.array([0.5, 0.3, 0.2])[:n] if n == 3 else np.array([0.35, 0.65])
    Mm = mutation_matrix(labels, p, model="stepwise", rate=0.05, rate2=0.0, range=0.5)
    Mf = mutation_matrix(labels, p, model="equal", rate=0.02)
    g = np.full((ped.n_members, 2), -1)
    for member, obs in typed.items():
        g[ped.index(member)] = obs
    T, inc, ok = pedigree_locus_tables(ped, g[None], p, Mm, Mf, theta=theta, silent=silent)
    assert ok.all() and T.shape == (n_table_rows(n), 1) and T[-1, 0] == 0.0

    h1 = _row_values(_child_joint_by_enumeration(ped, g, p, Mm, Mf, theta, silent), n, silent)
    h2ped = unrelated_pedigree(ped)
    h2 = _row_values(_child_joint_by_enumeration(h2ped, g, p, Mm, Mf, theta, silent), n, silent)
    expected = np.log10(h1) - np.log10(h2)
    assert np.allclose(T[:-1, 0], expected, rtol=0, atol=1e-12)

    # without mutation, exactly the rows that brute force makes impossible are inconsistent
    T0, inc0, _ = pedigree_locus_tables(ped, g[None], p, np.eye(n), np.eye(n), silent=silent)
    zero = _row_values(_child_joint_by_enumeration(ped, g, p, np.eye(n), np.eye(n), 0.0, silent), n, silent) == 0
    assert inc[:-1, 0].astype(bool).tolist() == zero.tolist() == (T0[:-1, 0] == -np.inf).tolist()


def test_parentage_fast_path_equals_peeling_for_partial_and_silent_parents():
    rng = np.random.default_rng(7)
    labels = [str(a) for a in range(8, 14)] + ["silent"]
    n = len(labels)
    p = rng.dirichlet(np.ones(n))
    Mm = mutation_matrix(labels, p, model="stepwise", rate=0.003, rate2=1e-5, range=0.1)
    Mf = mutation_matrix(labels, p, model="stepwise", rate=0.001, rate2=1e-5, range=0.1)
    B = 60

    def people():
        g = np.sort(rng.integers(0, n - 1, size=(B, 2)), axis=1)  # never the silent allele (last)
        g[::4, 1] = UNKNOWN
        g[1::4, 1] = g[1::4, 0]  # homozygotes (may carry the silent allele)
        g[2::7] = -1
        return g

    father, mother = people(), people()
    ped = pedigree_from_relationships([("F", "father"), ("M", "mother")])
    gp = np.full((B, ped.n_members, 2), -1)
    gp[:, ped.index("father")] = father
    gp[:, ped.index("mother")] = mother
    for silent in (None, n - 1):
        T_fast, I_fast = family_locus_tables(father, mother, p, Mm, Mf, silent=silent)
        T, I, ok = pedigree_locus_tables(ped, gp, p, Mm, Mf, silent=silent)
        assert ok.all()
        assert np.allclose(T, T_fast, rtol=1e-12, atol=1e-12)
        assert np.array_equal(I, I_fast)


def test_a_partial_parent_transmits_the_hardy_weinberg_average():
    """Parent 1/? over frequencies (p1, p2): allele 1 with probability 1 / (1 + p2)."""
    p = np.array([0.25, 0.75])
    t = transmission(np.array([[0, UNKNOWN]]), I2, p)[0]
    assert t[0] == pytest.approx(1 / 1.75, rel=1e-14) and t.sum() == pytest.approx(1.0, rel=1e-15)


def test_kappa_with_partial_genotypes_equals_peeling():
    p = np.array([0.2, 0.3, 0.5])
    for relationships, member, kappa in [([("X", "full_sibling")], "full_sibling_1", "full_sibling"),
                                         ([("X", "father")], "father", "parent_child")]:
        ped = pedigree_from_relationships(relationships)
        x = np.array(_rows(3))
        g = np.full((x.shape[0], ped.n_members, 2), -1)
        g[:, ped.index(member)] = x
        T, _, _ = pedigree_locus_tables(ped, g, p, np.eye(3), np.eye(3))
        assert np.allclose(T, kappa_locus_tables(x, p, kappa), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------------
# the kernel and the calibration
# ------------------------------------------------------------------------------------------


def test_streamed_kernel_equals_the_reference_gather_for_partial_candidates():
    rng = np.random.default_rng(11)
    labels = [str(a) for a in range(6, 14)]
    alleles = {f"L{k}": dict(zip(labels, rng.dirichlet(np.ones(len(labels))).tolist())) for k in range(4)}
    table = FrequencyTable.from_mapping("t", alleles)
    loci = sorted(alleles)

    def profile(partial):
        out = {}
        for locus in loci:
            a, b = sorted(rng.choice(labels, 2).tolist(), key=float)
            out[locus] = (a, "?") if partial and rng.random() < 0.5 else (a, b)
        return out

    profiles = {f"R{k}": profile(True) for k in range(20)} | {f"C{k}": profile(True) for k in range(30)}
    refs = [f"R{k}" for k in range(20)]
    cands = [f"C{k}" for k in range(30)]
    families = [Family("L", f"F{k}", refs[2 * k], refs[2 * k + 1]) for k in range(10)]
    ft = compile_families(families, encode_profiles(profiles, refs, table, loci), refs, table, loci, MutationModel())
    g = candidate_genotype_index(encode_profiles(profiles, cands, table, loci))
    assert (g <= -2).any()
    ref = score_all_pairs(ft, g)
    for use_numba in (True, False):
        streamed = score_shard(ft, g, k=10, threshold=-1e300, use_numba=use_numba)
        got = np.full_like(ref.log10_lr, np.nan)
        e = streamed.hits
        got[e.candidate, e.family] = e.score
        assert np.array_equal(got, ref.log10_lr)


def test_calibration_rows_of_partial_and_silent_candidates():
    p = np.array([0.5, 0.4, 0.1])
    rows, probs = unrelated_rows(p, silent=2, partial=True)
    assert rows.tolist() == [6, 7] and probs.tolist() == pytest.approx([5 / 9, 4 / 9], rel=1e-15)
    rows, probs = unrelated_rows(p, partial=True)
    assert rows.tolist() == [6, 7, 8] and probs.tolist() == p.tolist()
    # one partial locus: P(LR >= x | unrelated, typed partially) = sum of p_i over rows reaching x
    T, _ = family_locus_tables(np.array([[0, 0]]), np.array([[-1, -1]]), p, np.eye(3), np.eye(3))
    rows, probs = unrelated_rows(p, partial=True)
    values = T[rows, 0]
    x = float(values[0])
    assert tail_probability([values], [probs], x) == pytest.approx(probs[values >= x - 1e-12].sum(), rel=1e-12)
    # complete genotypes with a silent allele: the observable ones, renormalised by 1 - o^2
    rows, probs = unrelated_rows(p, silent=2)
    assert probs.sum() == pytest.approx(1.0, rel=1e-15)
    assert probs[0] == pytest.approx((0.25 + 2 * 0.5 * 0.1) / (1 - 0.01), rel=1e-14)


def test_table_rows_of_the_encoding():
    n = 3
    assert table_row(np.array([-2, -3, -4, -1, 5]), n_table_rows(n)).tolist() == [6, 7, 8, 9, 5]
    assert genotype_index(np.array([UNKNOWN, 2])) == -4  # (?, i) is read as (i, ?)
    with pytest.raises(ReuniteInputError, match="both alleles unknown"):
        genotype_index(np.array([UNKNOWN, UNKNOWN]))
