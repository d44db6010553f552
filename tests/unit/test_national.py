"""The national-scale generator (reunite_demo.national): composition, determinism, truth, and
files that ingest cleanly through the product's ingest path."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kinship.app.ingest import ingest_batch
from kinship.store import Store
from reunite_demo.national import KINDS, family_counts, national_batch, write_national_batch

#: References each kind of family has on file, by relationship kind.
REFS = {"couple": ["father", "mother"], "father only": ["father"], "mother only": ["mother"],
        "one sibling": ["full_sibling"], "two siblings": ["full_sibling", "full_sibling"]}


@pytest.fixture(scope="module")
def batch():
    # true_fraction 0.9: most families have their child among the candidates, every kind has some
    return national_batch(400, 360, seed=5, n_labs=7, n_extra_children=30, true_fraction=0.9)


def test_family_counts_are_the_issue_mix():
    assert family_counts(10_000) == {"couple": 6000, "father only": 1500, "mother only": 1500,
                                     "parent + grandparent": 700, "one sibling": 150, "two siblings": 150}
    for n in (1, 2, 7, 33, 999, 12_345):
        counts = family_counts(n)
        assert sum(counts.values()) == n and min(counts.values()) >= 0
        assert counts["couple"] == round(0.6 * n)
        assert counts["two siblings"] == (counts["one sibling"] + counts["two siblings"]) // 2
    with pytest.raises(ValueError, match="n_families 0; expected at least 1"):
        family_counts(0)


def test_composition_and_references(batch):
    kinds = batch.families["family_kind"].value_counts().to_dict()
    assert kinds == {k: v for k, v in family_counts(400).items() if v}
    refs = batch.references.merge(batch.families, on=["lab", "family_id"])
    assert len(refs) == len(batch.references)  # every reference belongs to a family of its lab
    for (lab, fid), group in refs.groupby(["lab", "family_id"]):
        kind = group["family_kind"].iat[0]
        rel = sorted(group["relationship"])
        if kind == "parent + grandparent":
            parent = [r for r in rel if r in ("father", "mother")]
            grand = [r for r in rel if r.endswith("grandfather") or r.endswith("grandmother")]
            assert len(rel) == 2 and len(parent) == 1 and len(grand) == 1
            # the grandparent is on the other side: a mother with the father's parent and vice versa
            assert grand[0].startswith("paternal" if parent[0] == "mother" else "maternal")
        else:
            assert rel == REFS[kind]
    sexes = dict(zip(batch.references["relationship"], batch.references["sex"]))
    assert sexes["father"] == "male" and sexes["mother"] == "female"
    assert batch.reference_alleles.shape == (len(batch.references), 20, 2)
    assert batch.reference_alleles.dtype == np.int16 and (np.diff(batch.reference_alleles, axis=2) >= 0).all()
    # one true child per drawn family; round(0.9 * n) of each batch's children
    t = batch.truth
    assert (t.groupby("batch")["truth"].apply(lambda s: int((s == "child_of_family").sum())).to_dict()
            == {"extra": 27, "main": 324})
    true = t[t["truth"] == "child_of_family"]
    assert not true.duplicated(["lab", "family_id"]).any()
    assert set(true["family_kind"]) == set(KINDS)
    assert (t.loc[t["truth"] == "unrelated", ["lab", "family_id", "family_kind"]] == "").all().all()
    assert (batch.children.loc[batch.children["batch"] == "extra", "lab"] == "NAT-001").all()


def test_ids_are_pseudonymous_and_unique(batch):
    ids = pd.concat([batch.references["sample_id"], batch.children["sample_id"]])
    assert ids.is_unique
    assert batch.references["sample_id"].str.fullmatch(r"R-\d{7}").all()
    assert batch.children["sample_id"].str.fullmatch(r"C-\d{7}").all()
    # a child's id order says nothing of its truth: true children are spread over the id range
    few = national_batch(200, 400, seed=9, true_fraction=0.1).truth
    true_pos = np.flatnonzero(few["truth"].to_numpy() == "child_of_family")
    assert true_pos.size == 40 and true_pos.min() < 100 and true_pos.max() > 300


def test_same_seed_same_batch_other_seed_other_batch(batch):
    again = national_batch(400, 360, seed=5, n_labs=7, n_extra_children=30, true_fraction=0.9)
    for name in ("families", "references", "children", "truth"):
        pd.testing.assert_frame_equal(getattr(batch, name), getattr(again, name))
    assert np.array_equal(batch.reference_alleles, again.reference_alleles)
    assert np.array_equal(batch.child_alleles, again.child_alleles)
    other = national_batch(400, 360, seed=6, n_labs=7, n_extra_children=30, true_fraction=0.9)
    assert not np.array_equal(batch.child_alleles, other.child_alleles)


def _inconsistent_loci(child: np.ndarray, parents: list[np.ndarray]) -> int:
    """Loci where ``child`` (n_loci, 2) can not have one allele from each parent (two parents)
    or shares no allele with the one parent."""
    n = 0
    for li in range(child.shape[0]):
        a, b = child[li]
        if len(parents) == 2:
            f, m = parents
            ok = (a in f[li] and b in m[li]) or (b in f[li] and a in m[li])
        else:
            ok = a in parents[0][li] or b in parents[0][li]
        n += not ok
    return n


def test_each_true_child_is_simulated_from_its_family(batch):
    refs = batch.references.reset_index(drop=True)
    by_family = {key: list(g.index) for key, g in refs.groupby(["lab", "family_id"])}
    child_row = {c: k for k, c in enumerate(batch.children["sample_id"])}
    true = batch.truth[batch.truth["truth"] == "child_of_family"]
    kinds = dict(zip(zip(batch.families["lab"], batch.families["family_id"]), batch.families["family_kind"]))
    family_keys = sorted(by_family)
    checked, wrong_family_inconsistent, n_mutations = 0, 0, 0
    for row in true.itertuples(index=False):
        child = batch.child_alleles[child_row[row.candidate_id]]
        members = by_family[(row.lab, row.family_id)]
        rel = refs["relationship"].to_numpy()
        if row.family_kind in ("one sibling", "two siblings"):
            continue  # parents untyped: nothing transmitted from a typed person to check
        parents = [refs.index[i] for i in members if rel[i] in ("father", "mother")]
        arrays = [batch.reference_alleles[i] for i in parents]
        # with no mutation every locus is Mendelian; a mutated allele may break at most one locus
        assert _inconsistent_loci(child, arrays) <= row.n_mutations, (row.candidate_id, row.family_kind)
        n_mutations += row.n_mutations
        checked += 1
        # the check can fail: the same child against another family of the same kind is inconsistent
        other = next(k for k in family_keys[::-1] if kinds[k] == row.family_kind and k != (row.lab, row.family_id))
        other_parents = [batch.reference_alleles[i] for i in by_family[other] if rel[i] in ("father", "mother")]
        wrong_family_inconsistent += _inconsistent_loci(child, other_parents) > 0
    assert checked > 200
    assert wrong_family_inconsistent >= 0.95 * checked
    # mutations happen at the model's rates: 20 loci x ~0.0015 per allele x 2 alleles -> ~0.06 per child
    assert n_mutations <= 0.25 * checked
    # siblings: a sibling and the missing child share at least one allele at most loci (IBS > 0)
    sib = true[true["family_kind"].isin(["one sibling", "two siblings"])]
    for row in sib.itertuples(index=False):
        child = batch.child_alleles[child_row[row.candidate_id]]
        for i in by_family[(row.lab, row.family_id)]:
            shared = sum(bool(set(child[li]) & set(batch.reference_alleles[i][li])) for li in range(20))
            assert shared >= 12


def test_errors_name_the_value():
    with pytest.raises(ValueError, match="true_fraction 1.5; expected a share in"):
        national_batch(10, 10, true_fraction=1.5)
    with pytest.raises(ValueError, match="20 true children but only 10 families"):
        national_batch(10, 20, true_fraction=1.0)
    with pytest.raises(ValueError, match="n_children -1"):
        national_batch(10, -1)


def test_files_ingest_cleanly_and_counts_add_up(tmp_path):
    b = national_batch(40, 50, seed=2, n_labs=3, n_extra_children=10, true_fraction=0.1)
    index = write_national_batch(b, tmp_path / "files")
    assert json.loads((tmp_path / "files" / "index.json").read_text())["n_references"] == len(b.references)
    assert len(index["batches"]) == 3 and len(index["extra"]) == 1
    manifest = pd.read_csv(index["batches"][0]["manifest"], dtype=str, keep_default_na=False)
    assert list(manifest.columns) == ["sample_id", "role", "family_id", "relationship", "sex", "lab", "kit"]
    store = Store(str(tmp_path / "store.sqlite"))
    for code, name in index["labs"].items():
        store.register_lab(code, name)
    samples = rows = 0
    for entry in index["batches"] + index["extra"]:
        s = ingest_batch(store, entry["export"], entry["manifest"], lab=entry["lab"], fmt=entry["fmt"])
        assert s.n_quarantined == 0 and s.n_untyped == 0
        samples += s.n_samples_landed
        rows += s.n_landed
    n = len(b.references) + len(b.children)
    assert samples == n and rows == 20 * n
    members = store.load_family_members()
    assert len(members) == len(b.references)
    stored = members.merge(b.references, on=["lab", "family_id", "sample_id", "relationship"])
    assert len(stored) == len(b.references)
    genotypes = store.load_genotypes()
    assert genotypes["sample_id"].nunique() == n
    # a stored genotype is the drawn one: the first child at the first locus
    first = b.children["sample_id"].iat[0]
    g = genotypes[(genotypes["sample_id"] == first) & (genotypes["locus"] == b.loci[0])].iloc[0]
    labels = b.table[b.loci[0]].alleles
    drawn = sorted(labels[i] for i in b.child_alleles[0, 0])
    assert sorted([g["allele_1"], g["allele_2"]]) == drawn
