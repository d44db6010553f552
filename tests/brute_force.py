"""Brute-force pedigree likelihoods: the sum over every allele of every member, for the tests.

The independent check of :mod:`kinship.likelihood.peeling` and of the parentage fast path: every
founder allele sequence is drawn from the Balding-Nichols urn, every meiosis picks one of the
parent's two alleles (1/2 each) and mutates it, and a typed member's observation keeps the
assignment when it allows the member's (ordered) allele pair: a complete genotype ``{x, y}``, a
partial genotype ``(x, -2)`` (``x`` and any allele), or, with a silent allele ``s``, an
apparent homozygote ``(x, x)`` that may be ``x/x`` or ``x/s``.
"""

from __future__ import annotations

import itertools

import numpy as np


def allows(observation, pair, silent=None) -> bool:
    """Whether an observed allele-index pair allows the true ordered ``pair``."""
    a, b = int(observation[0]), int(observation[1])
    if a < 0:
        return True
    if b == -2:
        return a in pair
    if a == b and silent is not None:
        return sorted(pair) in ([a, a], sorted([a, silent]))
    return sorted(pair) == sorted([a, b])


def brute_force(ped, genotypes, p, M_male, M_female, theta=0.0, silent=None, child=None):
    """``P(observations)`` of one family by enumeration; ``child`` = (member, ordered pair)
    fixes a member's true alleles (for the missing child's joint)."""
    n = p.size
    founders = [k for k in ped.order if ped.father[k] < 0]
    others = [k for k in ped.order if ped.father[k] >= 0]
    total = 0.0
    for alleles in itertools.product(range(n), repeat=2 * len(founders)):
        w, counts = 1.0, np.zeros(n)
        for m, a in enumerate(alleles):
            w *= (counts[a] * theta + (1 - theta) * p[a]) / (1 + (m - 1) * theta)
            counts[a] += 1
        if w == 0:
            continue
        state = {k: (alleles[2 * i], alleles[2 * i + 1]) for i, k in enumerate(founders)}

        def keep(state):
            if child is not None and tuple(state[child[0]]) != tuple(child[1]):
                return False
            return all(allows(g, state[k], silent) for k, g in enumerate(genotypes))

        def rec(idx, prob, state):
            if idx == len(others):
                return prob if keep(state) else 0.0
            k = others[idx]
            out = 0.0
            for pick_f, pick_m in itertools.product((0, 1), repeat=2):
                fa = state[ped.father[k]][pick_f]
                mo = state[ped.mother[k]][pick_m]
                for a, b in itertools.product(range(n), repeat=2):
                    q = 0.25 * M_male[fa, a] * M_female[mo, b]
                    if q:
                        out += rec(idx + 1, prob * q, {**state, k: (a, b)})
            return out

        total += w * rec(0, 1.0, state)
    return total


def observation_probability(ped, genotypes, member, observation, p, M_male, M_female, theta=0.0, silent=None):
    """``P(member observed as observation, the others' observations)`` by enumeration."""
    g = np.array(genotypes, dtype=np.int64).copy()
    g[member] = observation
    return brute_force(ped, g, p, M_male, M_female, theta, silent)
