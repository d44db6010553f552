"""Reunite's kinship library: STR profiles, frequency tables, mutation models, pedigree
likelihood ratios, the all-pairs matching kernel and ranking.

The library never imports prefect; orchestration lives in ``flows/``.
"""

from __future__ import annotations

__version__ = "0.1.0"
