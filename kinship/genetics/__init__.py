"""The genetics data model: what a locus, an allele, a genotype, a frequency table, a mutation
model and a relative *are*. Nothing here computes a likelihood.

* :mod:`~kinship.genetics.loci` - the locus catalogue (a data table: names, aliases, kinds);
* :mod:`~kinship.genetics.alleles` - ISFG allele labels (strings, ``"9.3"``), parsing and order;
* :mod:`~kinship.genetics.encoding` - genotypes as int16 allele-index pairs and the kernel's
  genotype index, partial genotypes included (``schemas/genotype_encoding.v2.json``);
* :mod:`~kinship.genetics.frequencies` - frequency tables and a run's effective table;
* :mod:`~kinship.genetics.profiles` - every profile of a run as integer columns
  (:class:`~kinship.genetics.profiles.ProfileTable`, a read-only mapping of sample id to profile);
* :mod:`~kinship.genetics.mutation` - mutation models and matrices (Familias / pedmut);
* :mod:`~kinship.genetics.relationships` - relationship kinds and family kinds, defined once.

Layer 1 of ``kinship`` (README, *Layout*): imports only :mod:`kinship.errors`.
"""
