"""Profiles of the commercial control DNAs, and the test that a profile is one of them.

A positive control (Promega 2800M, the NIST/Coriell cell line 9947A, Applied Biosystems 007) is
typed in every run to show the kit worked. Sent under a manifest id, it would enter the store
as a person and could match or block real families: it is not casework. The published profiles
are the data table ``kinship/data/control_profiles.csv`` (``control, locus, allele_1,
allele_2, source``; sources in ``kinship/data/PROVENANCE.md``).

A profile **is** a control when its genotype equals the control's at every autosomal locus both
are typed at, and they share at least :data:`CONTROL_MIN_LOCI` (8) such loci. A person who is not
the control has its genotypes at eight loci with a probability of order 1e-8 at the worst
(2800M's eight commonest genotypes, TPOX 11/11, CSF1PO 12/12, D4S2408 9/9 ..., each 0.06-0.16),
and far less at the 15-27 loci real kits type; a control typed with a small kit (the 13 CODIS
loci) still shares enough loci with its published profile. A partial genotype (one allele ``?``) is not
counted as shared.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

from kinship.genetics.alleles import UNKNOWN_ALLELE, allele_sort_key
from kinship.genetics.loci import LocusCatalogue, default_catalogue

__all__ = ["CONTROL_MIN_LOCI", "control_profiles", "matching_control"]

#: Fewest shared autosomal loci, all equal, that make a profile a control DNA.
CONTROL_MIN_LOCI = 8


@lru_cache(maxsize=1)
def control_profiles() -> dict[str, dict[str, tuple[str, str]]]:
    """The bundled control profiles ``{control: {locus: (allele_1, allele_2)}}``, alleles sorted.

    Examples
    --------
    >>> control_profiles()["2800M"]["TH01"]
    ('6', '9.3')
    >>> sorted(control_profiles())
    ['007', '2800M', '9947A']
    """
    catalogue = default_catalogue()
    text = resources.files("kinship").joinpath("data/control_profiles.csv").read_text(encoding="utf-8")
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for row in csv.DictReader(text.splitlines()):
        a1, a2 = sorted((row["allele_1"], row["allele_2"]), key=allele_sort_key)
        out.setdefault(row["control"], {})[catalogue.canonical(row["locus"])] = (a1, a2)
    return out


def matching_control(genotypes: dict[str, tuple[str, str]], *, catalogue: LocusCatalogue | None = None,
                     min_loci: int = CONTROL_MIN_LOCI) -> tuple[str, int] | None:
    """The control DNA a profile is, with the number of loci compared; ``None`` if none.

    Parameters
    ----------
    genotypes : dict
        ``{canonical locus: (allele_1, allele_2)}``, alleles in canonical order (as ingestion
        lands them); non-autosomal loci and partial genotypes are ignored.
    catalogue : LocusCatalogue, optional
        The bundled catalogue by default.
    min_loci : int, default 8
        Fewest shared autosomal loci.

    Returns
    -------
    (str, int) or None
        The control's name and the shared loci (all equal), or ``None``.

    Examples
    --------
    >>> c = control_profiles()["2800M"]
    >>> matching_control({locus: c[locus] for locus in ["CSF1PO", "D3S1358", "D5S818", "D7S820",
    ...                   "D8S1179", "D13S317", "D16S539", "D18S51"]})
    ('2800M', 8)
    >>> matching_control({**{locus: c[locus] for locus in list(c)[:12]}, "TH01": ("7", "9.3")}) is None
    True
    """
    catalogue = catalogue or default_catalogue()
    typed = {locus: g for locus, g in genotypes.items()
             if UNKNOWN_ALLELE not in g and catalogue.is_autosomal(locus)}
    for name, profile in sorted(control_profiles().items()):
        shared = [locus for locus in typed if locus in profile]
        if len(shared) >= min_loci and all(tuple(typed[locus]) == profile[locus] for locus in shared):
            return name, len(shared)
    return None
