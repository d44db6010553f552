"""``child_rows`` against its definition, element by element (it is the compile step's inner loop)."""

from __future__ import annotations

import numpy as np
import pytest

from kinship.genetics.encoding import genotype_alleles
from kinship.likelihood.phenotypes import child_rows


def _by_definition(t_father, t_mother, silent):
    """Each cell in Python floats, in the docstring's order of operations."""
    B, n = t_father.shape
    i, j = genotype_alleles(n)
    s_f, s_m = t_father.sum(axis=1), t_mother.sum(axis=1)
    out = np.zeros((i.size + n, B))
    for b in range(B):
        f, m = t_father[b].tolist(), t_mother[b].tolist()
        for k, (a, c) in enumerate(zip(i.tolist(), j.tolist())):
            v = m[a] * f[c] + m[c] * f[a]
            if a == c:
                v *= 0.5
                if silent is not None and a != silent:
                    v += m[a] * f[silent] + m[silent] * f[a]
            out[k, b] = v
        for a in range(n):
            out[i.size + a, b] = m[a] * float(s_f[b]) + float(s_m[b]) * f[a] - m[a] * f[a]
    return out


@pytest.mark.parametrize("n, B, silent", [(1, 1, None), (2, 3, None), (6, 5, 5), (9, 4, 0), (24, 7, None), (24, 7, 23)])
def test_child_rows_is_its_definition_to_the_bit(n, B, silent):
    rng = np.random.default_rng(n * 100 + B)
    t_father, t_mother = rng.random((B, n)), rng.random((B, n))
    t_father[0, 0] = 0.0  # a parent who can not transmit allele 0
    got = child_rows(t_father, t_mother, silent)
    assert got.shape == (n * (n + 1) // 2 + n, B) and got.flags.c_contiguous
    assert np.array_equal(got, _by_definition(t_father, t_mother, silent))


def test_an_unrelated_child_sums_to_one_over_the_complete_genotypes():
    p = np.random.default_rng(3).dirichlet(np.ones(15))[None]
    rows = child_rows(p, p)
    assert rows[:120].sum() == pytest.approx(1.0, abs=1e-15)
    assert rows[120:, 0] == pytest.approx(2 * p[0] - p[0] ** 2, abs=1e-15)  # P(i/?) = 2 p_i - p_i^2
