"""Profiles drawn for tests: a founder from a frequency table (Hardy-Weinberg, loci independent)
and a child of two profiles (one allele of each parent, no mutation)."""

from __future__ import annotations

import numpy as np


def draw_profile(rng: np.random.Generator, table, loci) -> dict:
    """``{locus: (allele, allele)}``, the two alleles drawn from ``table[locus]``, sorted by index."""
    out = {}
    for locus in loci:
        lf = table[locus]
        a, b = sorted(rng.choice(len(lf.alleles), size=2, p=lf.afreq))
        out[locus] = (lf.alleles[a], lf.alleles[b])
    return out


def child_of(rng: np.random.Generator, father: dict, mother: dict) -> dict:
    """A child of ``father`` and ``mother`` at their loci: one allele of each, by a fair coin."""
    return {l: tuple(sorted((father[l][rng.integers(2)], mother[l][rng.integers(2)]))) for l in father}
