"""Duo and trio parentage indices against Brenner's closed forms (no mutation).

Brenner CH (1993) A note on paternity computation in cases lacking a mother. Transfusion
33:51-54 (duo); Evett & Weir (1998) Interpreting DNA Evidence, table 7.1 / Buckleton et al.
(2016) Forensic DNA Evidence Interpretation, 2nd ed., table 10.1 (trio).
"""

from __future__ import annotations

import numpy as np
import pytest

from kinship.genetics.encoding import genotype_index
from kinship.likelihood.parentage import family_locus_tables

P = np.array([0.1, 0.2, 0.3, 0.4])  # alleles a, b, c, d
a, b, c, d = range(4)
I = np.eye(4)
NONE = [-1, -1]


def lr(child, father=NONE, mother=NONE):
    T, inc = family_locus_tables(np.array([father]), np.array([mother]), P, I, I)
    g = genotype_index(np.array(child))
    return 10 ** T[g, 0], bool(inc[g, 0])


pa, pb, pc, pd_ = P

DUO = [
    ([a, a], [a, a], 1 / pa),
    ([a, a], [a, b], 1 / (2 * pa)),
    ([a, b], [a, a], 1 / (2 * pa)),
    ([a, b], [a, b], (pa + pb) / (4 * pa * pb)),
    ([a, b], [a, c], 1 / (4 * pa)),
    ([a, b], [b, c], 1 / (4 * pb)),
    ([a, b], [b, b], 1 / (2 * pb)),
    ([a, a], [b, c], 0.0),
    ([a, b], [c, d], 0.0),
]


@pytest.mark.parametrize("child,parent,expected", DUO)
@pytest.mark.parametrize("side", ["father", "mother"])
def test_duo_brenner(child, parent, expected, side):
    value, inconsistent = lr(child, **{side: parent})
    assert value == pytest.approx(expected, rel=1e-12, abs=0)
    assert inconsistent == (expected == 0)


TRIO = [
    # child, mother, father, LR = P(child | parents) / P(child)
    ([a, a], [a, a], [a, a], 1 / pa**2),
    ([a, b], [a, a], [b, b], 1 / (2 * pa * pb)),
    ([a, b], [a, b], [a, b], 1 / (4 * pa * pb)),
    ([a, a], [a, b], [a, c], 1 / (4 * pa**2)),
    ([a, b], [a, c], [b, d], 1 / (8 * pa * pb)),
    ([a, b], [a, b], [b, c], 1 / (8 * pa * pb)),
    ([a, b], [a, a], [c, d], 0.0),
    ([a, a], [a, b], [b, c], 0.0),
]


def test_trio_row_with_shared_allele_by_hand():
    # C=a/b, M=a/b, F=b/c: P = t_M(a) t_F(b) + t_M(b) t_F(a) = 1/2 * 1/2 + 1/2 * 0 = 1/4.
    value, _ = lr([a, b], father=[b, c], mother=[a, b])
    assert value == pytest.approx(0.25 / (2 * pa * pb), rel=1e-12)


@pytest.mark.parametrize("child,mother,father,expected", TRIO)
def test_trio_closed_forms(child, mother, father, expected):
    value, inconsistent = lr(child, father=father, mother=mother)
    assert value == pytest.approx(expected, rel=1e-12, abs=0)
    assert inconsistent == (expected == 0)


def test_untyped_candidate_contributes_zero():
    T, inc = family_locus_tables(np.array([[a, b]]), np.array([NONE]), P, I, I)
    assert T[-1, 0] == 0.0 and inc[-1, 0] == 0


def test_mutation_turns_an_exclusion_into_a_small_lr():
    from kinship.genetics.mutation import mutation_matrix

    alleles = ["9", "10", "11", "12"]
    M = mutation_matrix(alleles, P, model="stepwise", rate=0.002, range=0.1)
    T, inc = family_locus_tables(np.array([[a, a]]), np.array([NONE]), P, M, M)
    g = genotype_index(np.array([b, c]))  # 10/11 against a 9/9 father: one step from 9 -> 10
    assert inc[g, 0] == 1
    # By hand: t_F(10) = M[9, 10], t_F(11) = M[9, 11]; the untyped mother passes p M.
    tm = P @ M
    expected = (M[a, b] * tm[c] + M[a, c] * tm[b]) / (2 * pb * pc)
    assert 10 ** T[g, 0] == pytest.approx(expected, rel=1e-12)
    assert 0 < expected < 0.01
