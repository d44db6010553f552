"""A national-scale synthetic batch written as real ingest files (issue 12, item 1).

What a national programme's labs would send for a nightly re-match, seeded: tidy Parquet
exports (``sample_id, locus, allele_1, allele_2``, :func:`kinship.io.tidy.read_parquet`) and
their manifests (``schemas/manifest.v5.json``), one export and one manifest per lab batch, plus
a truth file the pipeline never reads. :func:`write_national_batch` writes them;
``benchmarks/bench_national.py`` ingests them through :func:`kinship.app.ingest.ingest_batch`
and runs the match flow on the store.

Model (every draw from one ``numpy.random.default_rng(seed)``, in the order below):

* **Families** (:data:`COMPOSITION`, exact counts by :func:`family_counts`): 60 % couples
  (father and mother typed), 30 % one parent (half fathers only, half mothers only; the partner
  untyped), 7 % one parent plus a grandparent on the other side (the parent between the
  grandparent and the missing child simulated and untyped; which of the four grandparents is a
  fair draw), 3 % siblings only (both parents untyped; half of them two typed full siblings, the
  rest one). The kinds are assigned to the family positions by one random permutation.
* **Founders** (parents, grandparents, unrelated children): genotypes drawn from the norSTR 2023
  East Asia table at the 20 CODIS core loci (:data:`reunite_demo.synthetic.LOCI`;
  :func:`reunite_demo.synthetic.draw_founders`: Hardy-Weinberg, loci independent); every family
  gets a father and a mother, and a parent + grandparent family the two grandparents of its
  simulated parent.
* **Simulated people** (siblings, a grandparent family's middle parent, the missing children):
  :func:`kinship.likelihood.simulate.simulate_child` with the per-locus matrices of
  :class:`kinship.genetics.mutation.MutationModel` (default: stepwise, male 0.002, female
  0.001, range 0.1) over the table; every locus is transmitted independently (the run scores
  vWA-D12S391 jointly for siblings and grandparents; the data here are drawn unlinked). Only
  the missing children that are rescued are simulated (the others are never observed).
* **Children**: ``round(true_fraction * n_children)`` of them are the missing children of
  distinct families drawn uniformly at random; the rest are unrelated founders. Then the extra
  batch (``n_extra_children``, same true fraction, families not drawn before) for an
  incremental run. Sexes: fair coins for children and siblings; parents and grandparents by
  their relationship.
* **Ids and labs**: families ``F-0000001`` ... in position order (kinds are already in random
  order), references ``R-0000001`` ... and children ``C-0000001`` ... in a random order, so no
  id reveals a family, a kind or a truth. Family ``k`` belongs to lab ``k % n_labs``
  (``NAT-001`` ...); each child is sent by a lab drawn uniformly. One batch per lab holds its
  references and its children; the extra children come as one more batch of ``NAT-001``.

Determinism: the same seed and sizes give the same people, ids and truth; the written Parquet
files hold text only.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.mutation import MutationModel
from kinship.io.frequencies import load_bundled_table
from kinship.likelihood.simulate import simulate_child
from reunite_demo.synthetic import LOCI, draw_founders

__all__ = ["NATIONAL_TABLE", "COMPOSITION", "TRUE_FRACTION", "KINDS", "NationalBatch", "family_counts",
           "national_batch", "write_national_batch", "lab_code"]

#: Frequency table of the founders and of the mutation matrices.
NATIONAL_TABLE = "norstr-2023/East Asia"
#: Share of each family kind (a mix like the Chinese setting, issue 12).
COMPOSITION = {"couple": 0.60, "one parent": 0.30, "parent + grandparent": 0.07, "siblings": 0.03}
#: Share of the children who are the missing child of some family.
TRUE_FRACTION = 0.01
#: Family kinds of the truth file, in this order.
KINDS = ("couple", "father only", "mother only", "parent + grandparent", "one sibling", "two siblings")
#: (typed parent, typed grandparent, the untyped middle parent's sex) of a parent + grandparent family.
_GRANDPARENT_VARIANTS = (
    ("mother", "paternal_grandfather"), ("mother", "paternal_grandmother"),
    ("father", "maternal_grandfather"), ("father", "maternal_grandmother"),
)  # fmt: skip
_SEX = {"father": "male", "mother": "female", "paternal_grandfather": "male", "maternal_grandfather": "male",
        "paternal_grandmother": "female", "maternal_grandmother": "female"}
_MANIFEST_COLUMNS = ("sample_id", "role", "family_id", "relationship", "sex", "lab", "kit")


def lab_code(k: int) -> str:
    """Code of lab ``k`` (0-based).

    Examples
    --------
    >>> lab_code(0), lab_code(99)
    ('NAT-001', 'NAT-100')
    """
    return f"NAT-{k + 1:03d}"


def family_counts(n_families: int) -> dict[str, int]:
    """Exact number of families of each kind of :data:`KINDS` for ``n_families``.

    Couples, one-parent and parent + grandparent families are ``round(share * n)`` of
    :data:`COMPOSITION`; siblings-only families are the rest. One-parent families are split
    fathers ``n // 2``, mothers the rest; siblings-only families two siblings ``n // 2``, one
    sibling the rest.

    Raises
    ------
    ValueError
        If ``n_families < 1``.

    Examples
    --------
    >>> family_counts(10_000)
    {'couple': 6000, 'father only': 1500, 'mother only': 1500, 'parent + grandparent': 700, 'one sibling': 150, 'two siblings': 150}
    >>> sum(family_counts(7).values())
    7
    """
    if n_families < 1:
        raise ValueError(f"n_families {n_families}; expected at least 1")
    n_couple = round(COMPOSITION["couple"] * n_families)
    n_one = round(COMPOSITION["one parent"] * n_families)
    n_pg = round(COMPOSITION["parent + grandparent"] * n_families)
    n_sib = max(n_families - n_couple - n_one - n_pg, 0)
    n_one = n_families - n_couple - n_pg - n_sib
    return {"couple": n_couple, "father only": n_one // 2, "mother only": n_one - n_one // 2,
            "parent + grandparent": n_pg, "one sibling": n_sib - n_sib // 2, "two siblings": n_sib // 2}


@dataclass(frozen=True)
class NationalBatch:
    """A national batch before it is written.

    Attributes
    ----------
    loci : tuple of str
        The loci typed, in the order of the allele arrays' second axis.
    table : FrequencyTable
        Table the founders were drawn from; allele labels of the arrays.
    families : DataFrame
        One row per family: ``lab, family_id, family_kind`` (:data:`KINDS`).
    references : DataFrame
        ``sample_id, lab, family_id, relationship, sex`` (str), by reference id.
    reference_alleles : ndarray of int16, shape (n_references, n_loci, 2)
        Allele indices of ``references``' rows.
    children : DataFrame
        ``sample_id, lab, sex, batch`` (``main`` / ``extra``), by child id.
    child_alleles : ndarray of int16, shape (n_children, n_loci, 2)
    truth : DataFrame
        One row per child: ``candidate_id, truth`` (``child_of_family`` / ``unrelated``),
        ``lab, family_id, family_kind`` (of the true family; empty for an unrelated child),
        ``n_mutations`` (mutated alleles in the transmissions to the child), ``batch``.
    seed : int
    """

    loci: tuple[str, ...]
    table: FrequencyTable
    families: pd.DataFrame
    references: pd.DataFrame
    reference_alleles: np.ndarray
    children: pd.DataFrame
    child_alleles: np.ndarray
    truth: pd.DataFrame
    seed: int


def national_batch(
    n_families: int,
    n_children: int,
    *,
    seed: int = 1,
    n_labs: int = 100,
    n_extra_children: int = 0,
    true_fraction: float = TRUE_FRACTION,
    table: FrequencyTable | None = None,
    model: MutationModel | None = None,
) -> NationalBatch:
    """Draw a national batch (module docstring).

    Parameters
    ----------
    n_families : int
        Families, >= 1.
    n_children : int
        Children of the main batch (rescued children's profiles), >= 0.
    seed : int
        Seed of ``numpy.random.default_rng``.
    n_labs : int
        Labs the families are spread over (``min(n_labs, n_families)`` are used).
    n_extra_children : int
        Children of one more batch (``batch == "extra"``), for an incremental run.
    true_fraction : float
        Share of each batch's children who are a family's missing child, in [0, 1].
    table : FrequencyTable, optional
        Default :data:`NATIONAL_TABLE`.
    model : MutationModel, optional
        Default ``MutationModel()``.

    Returns
    -------
    NationalBatch

    Raises
    ------
    ValueError
        If a size is negative, ``true_fraction`` is outside [0, 1], or there are more true
        children than families.

    Examples
    --------
    >>> b = national_batch(200, 300, seed=3, n_labs=4, n_extra_children=100)
    >>> b.families["family_kind"].value_counts().to_dict()["couple"], len(b.loci)
    (120, 20)
    >>> b.truth.groupby("batch")["truth"].value_counts().to_dict()
    {('extra', 'unrelated'): 99, ('extra', 'child_of_family'): 1, ('main', 'unrelated'): 297, ('main', 'child_of_family'): 3}
    """
    if n_children < 0 or n_extra_children < 0 or n_labs < 1:
        raise ValueError(f"n_children {n_children}, n_extra_children {n_extra_children}, n_labs {n_labs}; "
                         "expected n_children >= 0, n_extra_children >= 0, n_labs >= 1")
    if not 0.0 <= true_fraction <= 1.0:
        raise ValueError(f"true_fraction {true_fraction}; expected a share in [0, 1]")
    counts = family_counts(n_families)
    n_true = round(true_fraction * n_children)
    n_true_extra = round(true_fraction * n_extra_children)
    if n_true + n_true_extra > n_families:
        raise ValueError(f"{n_true + n_true_extra} true children but only {n_families} families; "
                         "expected at most one rescued child per family: lower true_fraction or add families")
    table = table or load_bundled_table(NATIONAL_TABLE)
    model = model or MutationModel()
    loci = tuple(locus for locus in LOCI if locus in table)
    m_male = [model.matrix(table[locus].alleles, table[locus].afreq, "male") for locus in loci]
    m_female = [model.matrix(table[locus].alleles, table[locus].afreq, "female") for locus in loci]
    rng = np.random.default_rng(seed)
    n_labs = min(n_labs, n_families)

    kinds = np.array([k for k in KINDS for _ in range(counts[k])], dtype=object)[rng.permutation(n_families)]
    fathers = draw_founders(rng, table, loci, n_families)
    mothers = draw_founders(rng, table, loci, n_families)
    pg = np.flatnonzero(kinds == "parent + grandparent")
    variant = rng.integers(0, len(_GRANDPARENT_VARIANTS), size=pg.size)
    grandparents = draw_founders(rng, table, loci, 2 * pg.size).reshape(pg.size, 2, len(loci), 2)
    true_families = rng.choice(n_families, size=n_true + n_true_extra, replace=False)

    def child_of(father: np.ndarray, mother: np.ndarray) -> tuple[np.ndarray, int]:
        child, mutated = simulate_child(father, mother, rng, M_male=m_male, M_female=m_female)
        return child, int(mutated.sum())

    # Typed references, family by family: (family, relationship, sex, alleles).
    refs: list[tuple[int, str, str, np.ndarray]] = []
    middle: dict[int, np.ndarray] = {}  # simulated middle parent of a parent + grandparent family
    pg_pos = {int(f): j for j, f in enumerate(pg)}
    for f in range(n_families):
        kind = kinds[f]
        if kind == "couple":
            refs += [(f, "father", "male", fathers[f]), (f, "mother", "female", mothers[f])]
        elif kind == "father only":
            refs.append((f, "father", "male", fathers[f]))
        elif kind == "mother only":
            refs.append((f, "mother", "female", mothers[f]))
        elif kind == "parent + grandparent":
            j = pg_pos[f]
            parent, grandparent = _GRANDPARENT_VARIANTS[variant[j]]
            typed_parent = fathers[f] if parent == "father" else mothers[f]
            gf, gm = grandparents[j]  # the middle parent's father and mother
            middle[f], _ = child_of(gf, gm)
            refs += [(f, parent, _SEX[parent], typed_parent),
                     (f, grandparent, _SEX[grandparent], gf if _SEX[grandparent] == "male" else gm)]
        else:
            for _ in range(1 if kind == "one sibling" else 2):
                sex = "male" if rng.random() < 0.5 else "female"
                refs.append((f, "full_sibling", sex, child_of(fathers[f], mothers[f])[0]))

    def missing_child(f: int) -> tuple[np.ndarray, int]:
        father, mother = fathers[f], mothers[f]
        if kinds[f] == "parent + grandparent":
            parent, _ = _GRANDPARENT_VARIANTS[variant[pg_pos[f]]]
            father, mother = (father, middle[f]) if parent == "father" else (middle[f], mother)
        return child_of(father, mother)

    entries: list[tuple[int, np.ndarray, int, str]] = []  # (family or -1, alleles, n_mutations, batch)
    for batch, n, chosen in (("main", n_children, true_families[:n_true]),
                             ("extra", n_extra_children, true_families[n_true:])):
        kids = [(int(f), *missing_child(int(f)), batch) for f in np.sort(chosen)]
        unrelated = draw_founders(rng, table, loci, n - len(kids))
        kids += [(-1, unrelated[i], 0, batch) for i in range(n - len(kids))]
        entries += [kids[j] for j in rng.permutation(len(kids))]
    child_sex = np.where(rng.random(len(entries)) < 0.5, "male", "female")
    child_lab = rng.integers(0, n_labs, size=len(entries))
    child_lab[[e[3] == "extra" for e in entries]] = 0  # the extra batch: one more batch of the first lab
    ref_order = rng.permutation(len(refs))
    cand_order = rng.permutation(len(entries))

    family_id = np.array([f"F-{f + 1:07d}" for f in range(n_families)], dtype=object)
    family_lab = np.array([lab_code(f % n_labs) for f in range(n_families)], dtype=object)
    ref_id = np.empty(len(refs), dtype=object)
    ref_id[ref_order] = [f"R-{i + 1:07d}" for i in range(len(refs))]
    cand_id = np.empty(len(entries), dtype=object)
    cand_id[cand_order] = [f"C-{i + 1:07d}" for i in range(len(entries))]

    ref_fam = np.array([r[0] for r in refs], dtype=np.int64)
    references = pd.DataFrame({"sample_id": ref_id, "lab": family_lab[ref_fam], "family_id": family_id[ref_fam],
                               "relationship": [r[1] for r in refs], "sex": [r[2] for r in refs]})
    ref_alleles = np.stack([r[3] for r in refs]) if refs else np.empty((0, len(loci), 2), np.int16)
    by_id = np.argsort(ref_id.astype(str), kind="stable")
    references = references.iloc[by_id].reset_index(drop=True)
    ref_alleles = ref_alleles[by_id]

    fam = np.array([e[0] for e in entries], dtype=np.int64)
    is_true = fam >= 0
    children = pd.DataFrame({"sample_id": cand_id,
                             "lab": [lab_code(int(k)) for k in child_lab],
                             "sex": child_sex, "batch": [e[3] for e in entries]})
    child_alleles = np.stack([e[1] for e in entries]) if entries else np.empty((0, len(loci), 2), np.int16)
    truth = pd.DataFrame({
        "candidate_id": cand_id,
        "truth": np.where(is_true, "child_of_family", "unrelated"),
        "lab": np.where(is_true, family_lab[np.maximum(fam, 0)], ""),
        "family_id": np.where(is_true, family_id[np.maximum(fam, 0)], ""),
        "family_kind": np.where(is_true, kinds[np.maximum(fam, 0)], ""),
        "n_mutations": [e[2] for e in entries],
        "batch": children["batch"].to_numpy(),
    })
    by_id = np.argsort(cand_id.astype(str), kind="stable")
    children = children.iloc[by_id].reset_index(drop=True)
    child_alleles = child_alleles[by_id]
    truth = truth.iloc[by_id].reset_index(drop=True).astype({c: str for c in truth.columns if c != "n_mutations"})
    families = pd.DataFrame({"lab": family_lab, "family_id": family_id, "family_kind": kinds.astype(str)})
    return NationalBatch(loci=loci, table=table, families=families, references=references.astype(str),
                         reference_alleles=ref_alleles, children=children.astype(str), child_alleles=child_alleles,
                         truth=truth, seed=seed)


def _export_table(sample_ids: np.ndarray, alleles: np.ndarray, batch: NationalBatch):
    """A tidy long pyarrow table: one row per (sample, locus), samples in the given order, loci
    in :attr:`NationalBatch.loci` order; a homozygote's ``allele_2`` written out."""
    import pyarrow as pa

    n, n_loci = len(sample_ids), len(batch.loci)
    a1, a2 = [], []
    for li, locus in enumerate(batch.loci):
        labels = np.asarray(batch.table[locus].alleles, dtype=object)
        a1.append(labels[alleles[:, li, 0]])
        a2.append(labels[alleles[:, li, 1]])
    # sample-major rows: row s * n_loci + l
    return pa.table({
        "sample_id": pa.array(np.repeat(np.asarray(sample_ids, dtype=object), n_loci), pa.string()),
        "locus": pa.array(np.tile(np.asarray(batch.loci, dtype=object), n), pa.string()),
        "allele_1": pa.array(np.stack(a1, axis=1).ravel() if n else [], pa.string()),
        "allele_2": pa.array(np.stack(a2, axis=1).ravel() if n else [], pa.string()),
    })


def _write_manifest(path: Path, rows: pd.DataFrame) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(_MANIFEST_COLUMNS)
        writer.writerows(rows[list(_MANIFEST_COLUMNS)].itertuples(index=False, name=None))


def write_national_batch(batch: NationalBatch, out_dir: str | Path) -> dict:
    """Write the batch's ingest files, truth files and an index; return the index.

    Files (under ``out_dir``, created if needed):

    ``batches/NAT-001.parquet``, ``batches/NAT-001.manifest.csv`` ...
        One tidy Parquet export and its manifest (``sample_id, role, family_id, relationship,
        sex, lab, kit``; kit left empty) per lab: the lab's references, then its children of
        the main batch.
    ``extra/NAT-001.parquet``, ``extra/NAT-001.manifest.csv``
        The extra children (only when there are some).
    ``truth.csv``, ``truth_families.csv``
        :attr:`NationalBatch.truth` and :attr:`NationalBatch.families` (never read by the pipeline).
    ``index.json``
        ``{"labs": {code: name}, "batches": [{"export", "manifest", "lab", "fmt"}], "extra": [...],
        "n_families", "n_references", "n_children", "n_extra_children", "loci", "seed"}`` (paths
        relative to ``out_dir``).

    Returns
    -------
    dict
        The index, with paths made absolute.

    Examples
    --------
    >>> import tempfile
    >>> index = write_national_batch(national_batch(50, 40, seed=1, n_labs=3, n_extra_children=10),
    ...                              tempfile.mkdtemp())
    >>> len(index["batches"]), len(index["extra"]), sorted(index["labs"])
    (3, 1, ['NAT-001', 'NAT-002', 'NAT-003'])
    """
    import pyarrow.parquet as pq

    out = Path(out_dir)
    (out / "batches").mkdir(parents=True, exist_ok=True)
    refs = batch.references.assign(role="reference", kit="")
    kids = batch.children.assign(role="candidate", family_id="", relationship="", kit="")
    index: dict = {"labs": {}, "batches": [], "extra": []}
    labs = sorted(set(batch.families["lab"]))
    for lab in labs:
        index["labs"][lab] = f"Synthetic national lab {lab}"
    for part, names in (("batches", labs), ("extra", [labs[0]] if (kids["batch"] == "extra").any() else [])):
        for lab in names:
            if part == "batches":
                r = np.flatnonzero(refs["lab"].to_numpy() == lab)
                c = np.flatnonzero((kids["lab"].to_numpy() == lab) & (kids["batch"].to_numpy() == "main"))
            else:
                r = np.zeros(0, dtype=np.int64)
                c = np.flatnonzero(kids["batch"].to_numpy() == "extra")
            ids = np.concatenate([refs["sample_id"].to_numpy()[r], kids["sample_id"].to_numpy()[c]])
            alleles = np.concatenate([batch.reference_alleles[r], batch.child_alleles[c]])
            rows = pd.concat([refs.iloc[r], kids.iloc[c]], ignore_index=True)
            (out / part).mkdir(exist_ok=True)
            export, manifest = out / part / f"{lab}.parquet", out / part / f"{lab}.manifest.csv"
            pq.write_table(_export_table(ids, alleles, batch), export)
            _write_manifest(manifest, rows)
            index[part].append({"export": f"{part}/{export.name}", "manifest": f"{part}/{manifest.name}",
                                "lab": lab, "fmt": "parquet"})
    batch.truth.to_csv(out / "truth.csv", index=False, lineterminator="\n")
    batch.families.to_csv(out / "truth_families.csv", index=False, lineterminator="\n")
    index.update(n_families=len(batch.families), n_references=len(batch.references),
                 n_children=int((batch.children["batch"] == "main").sum()),
                 n_extra_children=int((batch.children["batch"] == "extra").sum()),
                 loci=list(batch.loci), seed=batch.seed)
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    for part in ("batches", "extra"):
        for entry in index[part]:
            entry["export"] = str(out / entry["export"])
            entry["manifest"] = str(out / entry["manifest"])
    return index
