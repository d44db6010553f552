"""Synthetic weak families at scale: fathers only with Y-STRs and their sons, full siblings with
the linked vWA-D12S391 pair.

For the national-scale benchmark (``benchmarks/bench_weak_families.py``): the tables a store
would hand a match run (:meth:`kinship.store.Store.load_genotypes`, ``load_samples``,
``load_family_members``), built in memory, plus the truth the pipeline never reads.

Model (every draw from one ``numpy.random.default_rng(seed)``, in the order below):

* **Founders** (parents, unrelated candidates): autosomal genotypes drawn from the frequency
  table's allele frequencies at its loci among :data:`LOCI` (Hardy-Weinberg, loci
  independent); men get a Y haplotype from the founder model of :mod:`reunite_demo.yhaplotypes`
  (simulated, not a real population sample).
* **Father-only families** (``n_families - n_sibling_families``): a typed father and an
  untyped mother; the missing child is a **son**, simulated with
  :func:`kinship.likelihood.simulate.simulate_child` under the default stepwise mutation
  model, his Y passed from the father with single-step mutation
  (:func:`reunite_demo.yhaplotypes.transmit`).
* **Full-sibling families** (``n_sibling_families``): both parents untyped; one typed full
  sibling and the missing child, each simulated from the parents with mutation, then re-drawn
  at vWA and D12S391 **with linkage**
  (:func:`kinship.likelihood.simulate.simulate_linked_child`, Haldane r from the KLINK map
  positions in the bundled map, :func:`reunite_demo.batch.linked_pair_recombination_fraction`; each parent's phase a fair coin).
  Sexes are fair coins; a male sibling or child inherits the father's Y.
* **Candidates**: every missing child (all rescued) and unrelated founders (half men) to make
  ``n_candidates``, in a random order; ids ``C-0000001``..., references ``R-0000001``...,
  families ``F-000001``... in the lab ``SYN-LAB``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.mutation import MutationModel
from kinship.likelihood.simulate import simulate_child, simulate_linked_child
from reunite_demo.batch import LINKED_PAIR, linked_pair_recombination_fraction
from reunite_demo.yhaplotypes import YUnits, draw_founder, transmit, y_calls, y_units

__all__ = ["LOCI", "SYN_LAB", "WeakFamilies", "draw_founders", "weak_families"]

#: The 20 CODIS core loci (those of the table are used).
LOCI = ("CSF1PO", "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317", "D16S539", "D18S51",
        "D21S11", "FGA", "TH01", "TPOX", "vWA", "D1S1656", "D2S441", "D2S1338", "D10S1248",
        "D12S391", "D19S433", "D22S1045")  # fmt: skip
SYN_LAB = "SYN-LAB"


@dataclass(frozen=True)
class WeakFamilies:
    """The store tables of a synthetic batch and its truth.

    Attributes
    ----------
    genotypes : DataFrame
        ``sample_id, role, locus, allele_1, allele_2`` (str; autosomal and Y loci).
    samples : DataFrame
        ``sample_id, role, sex, lab, kit``.
    members : DataFrame
        ``lab, family_id, sample_id, relationship`` (``father`` / ``full_sibling``).
    truth : DataFrame
        ``candidate_id, truth (child_of_family | unrelated), lab, family_id, family_kind``.
    loci : tuple of str
        Autosomal loci typed.
    """

    genotypes: pd.DataFrame
    samples: pd.DataFrame
    members: pd.DataFrame
    truth: pd.DataFrame
    loci: tuple[str, ...]


def draw_founders(rng: np.random.Generator, table: FrequencyTable, loci: tuple[str, ...], n: int) -> np.ndarray:
    """Draw ``n`` unrelated founders: per locus, two alleles from the table's ``afreq``.

    Hardy-Weinberg and independent loci; one ``rng.choice`` per locus, in ``loci`` order.

    Parameters
    ----------
    rng : numpy.random.Generator
    table : FrequencyTable
    loci : tuple of str
        Loci of ``table``, in the order of the output's second axis.
    n : int
        Founders to draw.

    Returns
    -------
    ndarray of int16, shape (n, n_loci, 2)
        Allele indices into ``table[locus].alleles``, sorted within a pair.

    Examples
    --------
    >>> from kinship.io.frequencies import load_bundled_table
    >>> f = draw_founders(np.random.default_rng(1), load_bundled_table("norstr-2023/East Asia"), ("TH01", "vWA"), 3)
    >>> f.shape, f.dtype.name, bool((f[..., 0] <= f[..., 1]).all())
    ((3, 2, 2), 'int16', True)
    """
    out = np.empty((n, len(loci), 2), dtype=np.int16)
    for li, locus in enumerate(loci):
        p = table[locus].afreq
        out[:, li] = np.sort(rng.choice(p.size, size=(n, 2), p=p), axis=1)
    return out


def weak_families(
    n_families: int,
    n_candidates: int,
    table: FrequencyTable,
    *,
    n_sibling_families: int | None = None,
    seed: int = 1,
    model: MutationModel | None = None,
    units: YUnits | None = None,
) -> WeakFamilies:
    """Draw a synthetic batch of weak families and candidates (module docstring).

    Parameters
    ----------
    n_families : int
        Families in all; ``n_sibling_families`` of them full-sibling families (default half),
        the rest father-only families.
    n_candidates : int
        Candidates, >= ``n_families`` (every missing child is one).
    table : FrequencyTable
        Allele frequencies of the founders and of the mutation matrices.
    seed : int
    model : MutationModel, optional
        Default ``MutationModel()``.
    units : YUnits, optional
        Default :func:`reunite_demo.yhaplotypes.y_units`.

    Returns
    -------
    WeakFamilies

    Raises
    ------
    ValueError
        If ``n_candidates < n_families`` or ``n_sibling_families`` is not in [0, n_families].

    Examples
    --------
    >>> from kinship.io.frequencies import load_bundled_table
    >>> b = weak_families(4, 10, load_bundled_table("norstr-2023/East Asia"), seed=2)
    >>> b.truth["truth"].value_counts().to_dict()
    {'unrelated': 6, 'child_of_family': 4}
    >>> sorted(b.members["relationship"].unique().tolist())
    ['father', 'full_sibling']
    >>> b.truth[b.truth.family_kind == "father only"].shape[0], len(b.loci)
    (2, 20)
    """
    n_sib = n_families // 2 if n_sibling_families is None else n_sibling_families
    if not 0 <= n_sib <= n_families:
        raise ValueError(f"n_sibling_families {n_sibling_families!r}; expected 0..{n_families}")
    if n_candidates < n_families:
        raise ValueError(f"n_candidates {n_candidates} < n_families {n_families}: every missing child is a candidate")
    rng = np.random.default_rng(seed)
    model = model or MutationModel()
    units = units or y_units()
    loci = tuple(l for l in LOCI if l in table)
    m_male = [model.matrix(table[l].alleles, table[l].afreq, "male") for l in loci]
    m_female = [model.matrix(table[l].alleles, table[l].afreq, "female") for l in loci]
    pair_idx = [loci.index(l) for l in LINKED_PAIR if l in loci]
    linked = len(pair_idx) == 2
    r = linked_pair_recombination_fraction()

    n_fo = n_families - n_sib
    fathers = draw_founders(rng, table, loci, n_families)
    mothers = draw_founders(rng, table, loci, n_families)
    father_y = draw_founder(units, rng, n_families)
    people: list[tuple[str, str, str, np.ndarray, np.ndarray | None]] = []  # id, role, sex, alleles, y
    members, truth, children = [], [], []
    n_ref = 0
    for k in range(n_families):
        fid = f"F-{k + 1:06d}"
        if k < n_fo:
            n_ref += 1
            ref_id = f"R-{n_ref:07d}"
            people.append((ref_id, "reference", "male", fathers[k], father_y[k]))
            members.append((SYN_LAB, fid, ref_id, "father"))
            child, _ = simulate_child(fathers[k], mothers[k], rng, M_male=m_male, M_female=m_female)
            child_y, _ = transmit(father_y[k], units, rng)
            children.append((fid, "father only", "male", child, child_y))
            continue
        phase = []
        for parent in (fathers[k], mothers[k]):
            pair = np.array(parent[pair_idx], dtype=np.int16)
            if linked and rng.random() < 0.5:
                pair[1] = pair[1, ::-1]
            phase.append(pair)
        kids = []
        for _ in range(2):  # the typed sibling, then the missing child
            sex = "male" if rng.random() < 0.5 else "female"
            kid, _ = simulate_child(fathers[k], mothers[k], rng, M_male=m_male, M_female=m_female)
            if linked:
                c, _ = simulate_linked_child(phase[0], phase[1], rng, r=r,
                                             M_male=[m_male[i] for i in pair_idx],
                                             M_female=[m_female[i] for i in pair_idx])
                kid[pair_idx] = np.sort(c, axis=1)
            y = transmit(father_y[k], units, rng)[0] if sex == "male" else None
            kids.append((sex, kid, y))
        n_ref += 1
        ref_id = f"R-{n_ref:07d}"
        people.append((ref_id, "reference", kids[0][0], kids[0][1], kids[0][2]))
        members.append((SYN_LAB, fid, ref_id, "full_sibling"))
        children.append((fid, "siblings", *kids[1]))

    n_unrelated = n_candidates - n_families
    unrelated = draw_founders(rng, table, loci, n_unrelated)
    unrelated_male = rng.random(n_unrelated) < 0.5
    unrelated_y = draw_founder(units, rng, n_unrelated)
    entries = [(fid, kind, sex, alleles, y) for fid, kind, sex, alleles, y in children]
    entries += [(None, None, "male" if unrelated_male[i] else "female", unrelated[i],
                 unrelated_y[i] if unrelated_male[i] else None) for i in range(n_unrelated)]
    order = rng.permutation(len(entries))
    for i, j in enumerate(order.tolist()):
        fid, kind, sex, alleles, y = entries[j]
        cid = f"C-{i + 1:07d}"
        people.append((cid, "candidate", sex, alleles, y))
        truth.append((cid, "child_of_family" if fid else "unrelated", SYN_LAB, fid or "", kind or ""))

    # Store tables: allele labels, autosomal then Y rows per person.
    labels = [np.array(table[l].alleles, dtype=object) for l in loci]
    ids = np.array([p[0] for p in people], dtype=object)
    roles = np.array([p[1] for p in people], dtype=object)
    alleles = np.stack([p[3] for p in people])  # (n_people, n_loci, 2)
    frames = [
        pd.DataFrame({"sample_id": ids, "role": roles, "locus": locus,
                      "allele_1": labels[li][alleles[:, li, 0]], "allele_2": labels[li][alleles[:, li, 1]]})
        for li, locus in enumerate(loci)
    ]
    y_rows = []
    for sample_id, role, _, _, y in people:
        if y is not None:
            for locus, calls in y_calls(y, units):
                y_rows.append((sample_id, role, locus, calls[0], calls[-1]))
    frames.append(pd.DataFrame(y_rows, columns=["sample_id", "role", "locus", "allele_1", "allele_2"]))
    genotypes = pd.concat(frames, ignore_index=True).astype(str)
    samples = pd.DataFrame({"sample_id": ids, "role": roles, "sex": [p[2] for p in people],
                            "lab": SYN_LAB, "kit": ""}).astype(str)
    return WeakFamilies(
        genotypes=genotypes,
        samples=samples,
        members=pd.DataFrame(members, columns=["lab", "family_id", "sample_id", "relationship"]),
        truth=pd.DataFrame(truth, columns=["candidate_id", "truth", "lab", "family_id", "family_kind"]),
        loci=loci,
    )
