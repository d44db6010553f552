"""Duplicate-screen keys of a profile: a hash of its genotypes at fixed blocks of core loci.

The duplicate-profile screen of ingestion (:func:`kinship.app.ingest.duplicate_warnings`)
compares two samples only when they share a *profile key*: for each block of
:data:`KEY_BLOCKS` at every locus of which a sample is typed, the 64-bit hash of its genotypes
there. Two samples with the same genotype at every shared locus and both typed at every locus
of some block have that block's key in common, so an index on the keys (table
``profile_keys``, ``schemas/store.v8.json``) finds every such pair without comparing a sample
with the whole store; the few samples that collide are then compared exactly.

The blocks split two standard core sets in halves of six or seven loci: the 13 original CODIS
core loci (every kit in use in China types them: Identifiler, PowerPlex 16/21, GlobalFiler,
Goldeneye 20A, AGCU EX22, Huaxia Platinum) and the 12 loci of the European Standard Set (NGM,
ESX/ESI kits). A half block keeps a pair findable when one locus of a core set is missing from
one of the two profiles (dropout, a quarantined call). Six loci are enough for few collisions:
two unrelated people share a six-locus genotype with probability of the order of 1e-7, so at
1.8 million stored profiles a key matches a fraction of one stranger on average.

Sharing one key is necessary for a duplicate, not sufficient: two profiles with the same genotype
at every shared locus also have the same key at every *other* block both are complete at
(:func:`keys_agree`). So the stored samples that share a key with a batch sample but differ from
it at another block both are complete at are strangers, told apart from their keys alone,
without reading their genotypes; at 1.8 million stored that removes nearly all of them (two
unrelated people share one six-locus block with probability ~1e-7, two blocks ~1e-14).

Changing :data:`KEY_BLOCKS` changes every stored key: it needs a migration that rebuilds the
table (as ``0004`` built it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping

__all__ = ["KEY_BLOCKS", "KEY_LOCI", "key_rows", "keys_agree", "profile_key_rows", "profile_keys"]

#: Fixed blocks of core loci: ``(block name, canonical loci)``. Each block is hashed separately.
KEY_BLOCKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("codis13_a", ("CSF1PO", "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317")),
    ("codis13_b", ("D16S539", "D18S51", "D21S11", "FGA", "TH01", "TPOX", "vWA")),
    ("ess12_a", ("D1S1656", "D2S441", "D10S1248", "D12S391", "D22S1045", "D3S1358")),
    ("ess12_b", ("D8S1179", "D18S51", "D21S11", "FGA", "TH01", "vWA")),
)

#: Every locus of some block (the loci a key can depend on).
KEY_LOCI: frozenset[str] = frozenset(locus for _, loci in KEY_BLOCKS for locus in loci)


def _hash(block: str, genotypes: Iterable[tuple[str, str, str]]) -> int:
    text = block + "|" + ";".join(f"{locus}={a1}/{a2}" for locus, a1, a2 in genotypes)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def profile_keys(profile: Mapping[str, tuple]) -> dict[str, int]:
    """The keys of one profile: ``{block: key}`` for every block it is typed at in full.

    Parameters
    ----------
    profile : mapping of str to tuple
        ``{locus: (allele_1, allele_2, ...)}`` with canonical locus names and allele labels,
        ``allele_1 <= allele_2`` in canonical order (as stored), or ``(allele, "?")`` for a
        partial genotype (:data:`kinship.genetics.alleles.UNKNOWN_ALLELE`); extra tuple items are
        ignored. A partial genotype hashes as written, so a block with ``12/?`` has another key
        than the same block with ``12/14``: a partial and a complete typing of a locus are
        different genotypes, and two profiles differing so are never possible duplicates.

    Returns
    -------
    dict of str to int
        Signed 64-bit key (BLAKE2b-64 of the block name and its ``locus=a1/a2`` genotypes, in
        block order) per complete block; empty when no block is complete.

    Examples
    --------
    >>> p = {locus: ("8", "9") for locus in ("CSF1PO", "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317")}
    >>> list(profile_keys(p))
    ['codis13_a']
    >>> profile_keys(p) == profile_keys({**p, "TH01": ("6", "9.3")})
    True
    >>> profile_keys(p) == profile_keys({**p, "CSF1PO": ("8", "10")})
    False
    >>> profile_keys({**p, "CSF1PO": ("8", "?")}) == profile_keys(p)
    False
    """
    out = {}
    for block, loci in KEY_BLOCKS:
        if all(locus in profile for locus in loci):
            out[block] = _hash(block, ((locus, *profile[locus][:2]) for locus in loci))
    return out


def keys_agree(keys: Mapping[str, int], other: Mapping[str, int]) -> bool:
    """Whether two profiles' keys allow them to be duplicates: some block in common, none differing.

    Two profiles with the same genotype at every locus they share have, at every block of
    :data:`KEY_BLOCKS` both are typed at in full, the same key (the key is a function of the
    genotypes at the block's loci alone). So a block complete in both with different keys proves
    a differing genotype at a shared locus; ``False`` here is exact. ``True`` is only a
    candidate pair: the genotypes are then compared (:func:`kinship.app.ingest.duplicate_warnings`);
    a differing 64-bit hash of equal genotypes is impossible, equal hashes of different
    genotypes have probability 2^-64 per pair and are caught by that comparison.

    Parameters
    ----------
    keys, other : mapping of str to int
        ``{block: key}`` of each profile (:func:`profile_keys`).

    Returns
    -------
    bool
        True when the two share at least one block and agree at every block they share.

    Examples
    --------
    >>> keys_agree({"codis13_a": 1, "codis13_b": 2}, {"codis13_a": 1})
    True
    >>> keys_agree({"codis13_a": 1, "codis13_b": 2}, {"codis13_a": 1, "codis13_b": 3})
    False
    >>> keys_agree({"codis13_a": 1}, {"ess12_a": 1})
    False
    """
    shared = [block for block in keys if block in other]
    return bool(shared) and all(keys[block] == other[block] for block in shared)


def key_rows(sample_keys: Iterable[tuple[str, Mapping[str, int]]]) -> Iterator[dict]:
    """``profile_keys`` rows (``sample_id, block, key``) of keys already computed.

    Parameters
    ----------
    sample_keys : iterable of (str, mapping of str to int)
        Sample ids and their ``{block: key}`` (:func:`profile_keys`).

    Yields
    ------
    dict
        One row per block of each sample.
    """
    for sample_id, keys in sample_keys:
        for block, key in keys.items():
            yield {"sample_id": sample_id, "block": block, "key": key}


def profile_key_rows(profiles: Iterable[tuple[str, Mapping[str, tuple]]]) -> Iterator[dict]:
    """``profile_keys`` rows (``sample_id, block, key``) of ``(sample_id, profile)`` pairs.

    Parameters
    ----------
    profiles : iterable of (str, mapping)
        Sample ids and profiles as for :func:`profile_keys`.

    Yields
    ------
    dict
        One row per complete block of each profile.
    """
    return key_rows((sample_id, profile_keys(profile)) for sample_id, profile in profiles)
