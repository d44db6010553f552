"""The matching engine: families compiled into tables, candidates scored against them, pairs
ranked and concluded.

* :mod:`~kinship.matching.compiler` - profiles as allele-index arrays; each family compiled,
  per locus, into log10 P(g | family) - log10 P(g) over the missing child's genotypes ``g``;
* :mod:`~kinship.matching.reference` - :func:`~kinship.matching.reference.score_all_pairs`, the
  full-matrix gather-and-sum: the reference every faster kernel is tested against;
* :mod:`~kinship.matching.streaming` - the streamed top-k kernel (numba, exact float64, bounded
  memory) that match runs use;
* :mod:`~kinship.matching.ranking` - ranks, conclusions (GB/T 37223-2018) and posteriors.

Layer 3 (README, *Layout*): imports only the likelihood math and the genetics data model.
"""
