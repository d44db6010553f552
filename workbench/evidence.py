"""A pair's evidence: every typed relative's genotypes beside the candidate's, the per-locus LR
the run summed with the allele frequencies it used, the pedigree, the hypotheses in words.

The per-locus values come from :func:`kinship.app.match_run.pair_loci` on the run rebuilt from
the store with the run's own parameters (:func:`kinship.app.match_run.assemble_inputs`,
:func:`~kinship.app.match_run.effective_frequencies`, :func:`~kinship.app.match_run.encode_run`),
so they are the entries the run's kernel summed, as long as the store holds what it held then:
the effective table's hash and the pair's content hashes (``match_run_inputs``) are compared
with the run's and a difference is shown. The rebuilt run
is cached per run and store state (one at a time).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kinship.app import match_run
from kinship.app.parameters import MatchParameters
from kinship.genetics.frequencies import table_hash
from kinship.genetics.relationships import PARENT_KINDS
from kinship.io.frequencies import load_frequency_table
from kinship.likelihood.pedigree import pedigree_from_relationships
from kinship.store import Store

__all__ = ["run_parameters", "RunCache", "pair_evidence", "pedigree_drawing", "HYPOTHESES"]

#: The two hypotheses in words, by kind of family (msgids); non-parent families are weighed by a
#: kinship index (KI), parent families by a paternity / maternity index (PI, CPI).
HYPOTHESES = {
    "parents": ("H1: the candidate is the biological child of the tested parent(s) of this family.",
                "H2: the candidate is unrelated to the tested parent(s) of this family."),
    "relatives": ("H1: the candidate is the missing child of this family, related to each typed relative "
                  "as the pedigree shows.",
                  "H2: the candidate is unrelated to this family's typed relatives."),
}


def run_parameters(run: dict) -> MatchParameters:
    """The :class:`~kinship.app.parameters.MatchParameters` of a stored run (its provenance's
    parameters, less the derived ``thresholds`` and the mutation model's derived fields)."""
    p = run["parameters"]
    p = dict(json.loads(p) if isinstance(p, str) else p)
    p.pop("thresholds", None)
    mutation_fields = MatchParameters.model_fields["mutation"].annotation.model_fields
    if isinstance(p.get("mutation"), dict):
        p["mutation"] = {k: v for k, v in p["mutation"].items() if k in mutation_fields}
    return MatchParameters.of(p)


class RunCache:
    """The latest run rebuilt (encoded) from the store, one at a time, per run id and store state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key = None
        self._value = None

    def get(self, store: Store, run: dict):
        batches = store.list_batches()
        state = (run["run_id"], len(batches), int((batches["status"] != "active").sum()) if len(batches) else 0)
        with self._lock:
            if self._key != state:
                params = run_parameters(run)
                inputs = match_run.assemble_inputs(store.load_genotypes(), store.load_family_members(),
                                                   store.load_pedigrees(), families=store.load_families())
                table, _ = match_run.effective_frequencies(inputs, load_frequency_table(params.table_id),
                                                           floor=params.frequency_floor,
                                                           silent_alleles=params.silent_alleles)
                encoded = match_run.encode_run(inputs, table, params.mutation_model, theta=params.theta,
                                               linkage=params.linkage)
                hashes = match_run.entity_hashes(inputs)
                now = dict(zip(zip(hashes["entity"], hashes["lab"], hashes["entity_id"]), hashes["sha256"]))
                then_rows = store.load_run_inputs(run["run_id"])
                then = dict(zip(zip(then_rows["entity"], then_rows["lab"], then_rows["entity_id"]), then_rows["sha256"]))
                self._value = (encoded, params, table_hash(table) == run["freq_table_hash"], now, then)
                self._key = state
            return self._value


@dataclass(frozen=True)
class Person:
    """One member of a drawn pedigree."""

    pid: str
    sex: str
    sample_id: str | None
    missing: bool
    x: float
    y: float


def pedigree_drawing(pedigree) -> dict:
    """Coordinates of a pedigree's members and lines for an SVG (generations top to bottom).

    Returns
    -------
    dict
        ``people`` (list of :class:`Person`), ``lines`` (``(x1, y1, x2, y2)``), ``width``, ``height``.
    """
    n = len(pedigree.ids)
    depth = [0] * n
    for _ in range(n):  # a pedigree is acyclic: n passes settle every depth
        for i in range(n):
            parents = [p for p in (pedigree.father[i], pedigree.mother[i]) if p >= 0]
            if parents:
                depth[i] = max(depth[p] for p in parents) + 1
    rows: dict[int, list[int]] = {}
    for i in range(n):
        rows.setdefault(depth[i], []).append(i)
    width = max(160 * max(len(r) for r in rows.values()), 320)
    pos = {}
    for d, members in rows.items():
        step = width / len(members)
        for k, i in enumerate(members):
            pos[i] = (step * (k + 0.5), 50 + 110 * d)
    people = [Person(pedigree.ids[i], pedigree.sex[i], pedigree.sample_ids[i], i == pedigree.missing, *pos[i])
              for i in range(n)]
    lines = []
    for i in range(n):
        f, m = pedigree.father[i], pedigree.mother[i]
        if f >= 0 and m >= 0:
            (fx, fy), (mx, my), (cx, cy) = pos[f], pos[m], pos[i]
            lines.append((fx, fy, mx, my))
            lines.append(((fx + mx) / 2, fy, cx, cy - 22))
    return {"people": people, "lines": lines, "width": width, "height": 110 * (max(rows) + 1)}


def _not_from(candidate: str, parent: str) -> list[str]:
    """The candidate's alleles the parent does not carry (text genotypes ``a/b``)."""
    if not candidate or not parent:
        return []
    carried = set(parent.split("/"))
    return sorted({a for a in candidate.split("/") if a not in carried})


def pair_evidence(store: Store, cache: RunCache, run: dict, lab: str, family_id: str, candidate_id: str) -> dict | None:
    """Everything the evidence page shows of a pair of ``run`` (None: no such family or candidate)."""
    encoded, params, same_table, now, then = cache.get(store, run)
    family = next((f for f in encoded.inputs.families if f.lab == lab and f.family_id == family_id), None)
    if family is None or candidate_id not in encoded.inputs.candidate_ids:
        return None
    pairs = pd.DataFrame({"lab": [lab], "family_id": [family_id], "candidate_id": [candidate_id]})
    loci = match_run.pair_loci(encoded, pairs)
    pedigree = family.pedigree
    if pedigree is None:
        refs = [(s, r) for s, r in (("father", family.father), ("mother", family.mother))]
        pedigree = pedigree_from_relationships([(sid, rel) for rel, sid in refs if sid])
    relatives = [(sid, rel) for sid, rel in zip(pedigree.sample_ids, pedigree.ids) if sid]
    profiles = store.stored_profiles([candidate_id, *(sid for sid, _ in relatives)])

    def genotype(sid: str, locus: str) -> str:
        g = profiles.get(sid, {}).get(locus)
        return f"{g[0]}/{g[1]}" if g else ""

    rows = []
    for r in loci.itertuples(index=False):
        linked = "~" in r.locus
        freqs = []
        if not linked and r.locus in encoded.table and r.candidate_genotype:
            lf = encoded.table[r.locus]
            index = {a: k for k, a in enumerate(lf.alleles)}
            for allele in dict.fromkeys(r.candidate_genotype.split("/")):
                if allele in index:
                    freqs.append((allele, float(lf.afreq[index[allele]])))
        not_from = []
        if r.inconsistent and family.kind in PARENT_KINDS:
            alleles = sorted(set(r.candidate_genotype.split("/"))) if r.candidate_genotype else []
            tested = [(who, g) for who, g in (("father", r.father_genotype), ("mother", r.mother_genotype)) if g]
            for who, g in tested:  # a tested parent carrying none of the candidate's alleles
                if alleles and len(_not_from(r.candidate_genotype, g)) == len(alleles):
                    not_from.append((who, alleles, g))
            if len(tested) == 2:
                neither = [a for a in alleles if all(a not in g.split("/") for _, g in tested)]
                if neither and not not_from:
                    not_from.append(("neither", neither, ""))
            if not not_from and alleles:  # each allele is carried, but not one by each parent
                not_from.append(("both", alleles, ""))
        rows.append({
            "locus": r.locus, "linked": linked, "candidate": r.candidate_genotype,
            "relatives": [genotype(sid, r.locus) if not linked else "" for sid, _ in relatives],
            "log10_pi": float(r.log10_pi), "pi": float(10.0 ** r.log10_pi) if np.isfinite(r.log10_pi) else 0.0,
            "compared": bool(r.compared), "inconsistent": bool(r.inconsistent), "freqs": freqs, "not_from": not_from,
        })
    parents = family.kind in PARENT_KINDS
    return {
        "family": family, "kind": family.kind, "parents": parents, "relatives": relatives, "rows": rows,
        "sum_log10": float(loci["log10_pi"].sum()), "hypotheses": HYPOTHESES["parents" if parents else "relatives"],
        "drawing": pedigree_drawing(pedigree), "params": params, "same_table": same_table,
        # the candidate's profile and the family's references as the run compared them
        "same_inputs": all(now.get(k) is not None and now.get(k) == then.get(k)
                           for k in (("candidate", "", candidate_id), ("family", lab, family_id))),
    }
