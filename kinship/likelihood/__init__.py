"""The likelihood math: pure functions over numpy arrays, exact in float64.

* :mod:`~kinship.likelihood.parentage` - the missing child's genotype table given typed parents
  (trio and duo indices, mutation by sex);
* :mod:`~kinship.likelihood.pedigree` - pedigrees: relationship templates and PED-style tables;
* :mod:`~kinship.likelihood.peeling` - exact pedigree likelihoods of any typed relatives
  (untyped members summed out; Balding-Nichols θ);
* :mod:`~kinship.likelihood.kappa` - pairwise κ (IBD) index;
* :mod:`~kinship.likelihood.calibration` - P(LR ≥ x | unrelated) by exact convolution;
* :mod:`~kinship.likelihood.simulate` - seeded Mendelian simulation with mutation.

Layer 2 (README, *Layout*): imports only the genetics data model and :mod:`kinship.errors`;
no pandas, no paths, no I/O.
"""
