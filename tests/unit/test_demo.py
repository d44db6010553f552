"""The committed demo batch (data/demo): reproducible, composed as specified, genetically sound."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest

from reunite_demo.batch import (
    DEMO_FILES,
    DEMO_KIT,
    DEMO_LAB,
    DEMO_SEED,
    KIT_LOCUS_ORDER,
    SEX_LOCUS,
    build_demo_batch,
    read_kgp_genotypes,
    render_demo_files,
    write_demo_batch,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"
MANIFEST_COLUMNS = ["sample_id", "role", "family_id", "relationship", "sex", "lab", "kit"]


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((DEMO / name).read_text(encoding="utf-8"))))


def _export(name: str) -> dict[str, dict[str, tuple[str, str]]]:
    """{sample_id: {locus: (allele 1, allele 2)}} of a demo GeneMapper export, as strings."""
    lines = (DEMO / name).read_text(encoding="utf-8").split("\n")
    assert lines[0] == "Sample Name\tMarker\tAllele 1\tAllele 2"
    assert lines[-1] == ""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for line in lines[1:-1]:
        sample_id, locus, a1, a2 = line.split("\t")
        assert (a1, a2) != ("", "") and a1 and a2, f"{sample_id} {locus}: homozygote must be written twice"
        out.setdefault(sample_id, {})[locus] = (a1, a2)
    return out


@pytest.fixture(scope="module")
def demo():
    return {
        "refs": _export("references.txt"),
        "cands": _export("candidates.txt"),
        "ref_manifest": _rows("references_manifest.csv"),
        "cand_manifest": _rows("candidates_manifest.csv"),
        "truth": _rows("truth.csv"),
        "families": _rows("truth_families.csv"),
    }


def test_regenerating_with_the_committed_seed_gives_byte_identical_files(tmp_path):
    paths = write_demo_batch(tmp_path, seed=DEMO_SEED)
    assert [p.name for p in paths] == list(DEMO_FILES)
    for name in DEMO_FILES:
        committed = (DEMO / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, f"data/demo/{name} differs; run scripts/make_demo.py"
        assert b"\r" not in committed
        committed.decode("utf-8")


def test_another_seed_gives_another_batch():
    a = render_demo_files(build_demo_batch(read_kgp_genotypes(), seed=DEMO_SEED))
    b = render_demo_files(build_demo_batch(read_kgp_genotypes(), seed=DEMO_SEED + 1))
    assert a["truth.csv"] != b["truth.csv"] and a["references.txt"] != b["references.txt"]


def test_exports_and_manifests_have_the_kit_layout_and_pseudonymous_ids(demo):
    for export, manifest, prefix in (("refs", "ref_manifest", "R"), ("cands", "cand_manifest", "C")):
        ids = list(demo[export])
        assert ids == sorted(ids) == [r["sample_id"] for r in demo[manifest]]
        assert all(re.fullmatch(rf"{prefix}-\d{{4}}", s) for s in ids)
        assert all(list(p) == [SEX_LOCUS, *KIT_LOCUS_ORDER] for p in demo[export].values())
        assert list(demo[manifest][0]) == MANIFEST_COLUMNS
        assert {(r["lab"], r["kit"]) for r in demo[manifest]} == {(DEMO_LAB, DEMO_KIT)}
    assert {r["role"] for r in demo["ref_manifest"]} == {"reference"}
    assert {r["role"] for r in demo["cand_manifest"]} == {"candidate"}
    assert {(r["family_id"], r["relationship"]) for r in demo["cand_manifest"]} == {("", "")}
    assert all(re.fullmatch(r"F-\d{3}", f["family_id"]) for f in demo["families"])


def test_composition(demo):
    kinds = Counter(f["family_kind"] for f in demo["families"])
    assert kinds == {"couple": 50, "father_only": 10, "mother_only": 10, "siblings": 6, "parent_grandparents": 6}
    assert len(demo["cands"]) == len(demo["truth"]) == 200
    assert [t["candidate_id"] for t in demo["truth"]] == list(demo["cands"])
    children = [t for t in demo["truth"] if t["truth"] == "child_of_family"]
    assert len(children) == 72
    assert Counter(t["family_kind"] for t in children) == {
        "couple": 45, "father_only": 6, "mother_only": 9, "siblings": 6, "parent_grandparents": 6}
    assert len({t["family_id"] for t in children}) == 72
    rescued = {f["family_id"]: f["child_candidate_id"] for f in demo["families"] if f["child_rescued"] == "true"}
    assert rescued == {t["family_id"]: t["candidate_id"] for t in children}
    assert all(f["child_candidate_id"] == "" for f in demo["families"] if f["child_rescued"] == "false")
    unrelated = Counter(t["source"].split("/")[1] for t in demo["truth"] if t["truth"] == "unrelated")
    # every Han person not in a family: 140 parents of the parentage families, 30 founders of the others
    assert unrelated["CHB"] + unrelated["CHS"] == 208 - 170
    assert unrelated["JPT"] == unrelated["KHV"] == unrelated["CDX"] == 30


def test_every_reference_is_in_exactly_one_family_with_the_right_slot(demo):
    by_ref = {r["sample_id"]: r for r in demo["ref_manifest"]}
    slots = Counter()
    relatives = {}
    for f in demo["families"]:
        typed = {rel: f[f"{rel}_reference_id"] for rel in ("father", "mother") if f[f"{rel}_reference_id"]}
        expected = {"couple": [{"father", "mother"}], "father_only": [{"father"}], "mother_only": [{"mother"}],
                    "siblings": [set()], "parent_grandparents": [{"father"}, {"mother"}]}
        assert set(typed) in expected[f["family_kind"]]
        for entry in filter(None, f["relatives"].split(";")):
            ref_id, rel, _ = entry.split(":")
            assert (by_ref[ref_id]["family_id"], by_ref[ref_id]["relationship"]) == (f["family_id"], rel)
            relatives[ref_id] = rel
            slots[ref_id] += 1
        if f["family_kind"] == "siblings":
            assert {relatives[e.split(":")[0]] for e in f["relatives"].split(";")} == {"full_sibling"}
        if f["family_kind"] == "parent_grandparents":
            side = "paternal" if "mother" in typed else "maternal"
            assert sorted(e.split(":")[1] for e in f["relatives"].split(";")) == [f"{side}_grandfather", f"{side}_grandmother"]
        for rel, ref_id in typed.items():
            assert (by_ref[ref_id]["family_id"], by_ref[ref_id]["relationship"]) == (f["family_id"], rel)
            assert not f[f"{rel}_source"].endswith(" untyped")
            slots[ref_id] += 1
        for rel in {"father", "mother"} - set(typed):
            assert f[f"{rel}_source"].endswith(" untyped")
    assert slots.keys() == by_ref.keys() and set(slots.values()) == {1}
    assert len(by_ref) == 120 + 3 + 6 + 6 * 3
    sizes = Counter(r["family_id"] for r in demo["ref_manifest"])
    kind = {f["family_id"]: f["family_kind"] for f in demo["families"]}
    n_refs = {"couple": [2], "father_only": [1], "mother_only": [1], "siblings": [1, 2], "parent_grandparents": [3]}
    assert all(n in n_refs[kind[fid]] for fid, n in sizes.items())


def test_no_1000g_person_is_used_twice_and_parents_have_their_sex(demo):
    people = read_kgp_genotypes()
    used = []
    for f in demo["families"]:
        for rel, sex in (("father", "male"), ("mother", "female")):
            sample_id, population = f[f"{rel}_source"].removesuffix(" untyped").split("/")
            if sample_id == "simulated":  # the untyped parent between grandparents and child
                assert f["family_kind"] == "parent_grandparents" and f[f"{rel}_reference_id"] == ""
                continue
            assert population in ("CHB", "CHS") and people[sample_id].population == population
            assert people[sample_id].sex == sex
            used.append(sample_id)
        for entry in filter(None, f["relatives"].split(";")):
            _, rel, source = entry.split(":")
            if "grand" in rel:
                sample_id, population = source.split("/")
                assert population in ("CHB", "CHS")
                assert people[sample_id].sex == ("male" if rel.endswith("father") else "female")
                used.append(sample_id)
    unrelated = [t["source"].split("/")[0] for t in demo["truth"] if t["truth"] == "unrelated"]
    assert len(set(used)) == len(used) == 170
    assert not set(unrelated) & set(used)
    assert len(set(unrelated)) == len(unrelated) == 200 - 72


def test_references_and_unrelated_candidates_carry_their_real_genotypes(demo):
    people = read_kgp_genotypes()
    by_ref_id = {}
    for f in demo["families"]:
        for rel in ("father", "mother"):
            if f[f"{rel}_reference_id"]:
                by_ref_id[f[f"{rel}_reference_id"]] = f[f"{rel}_source"].split("/")[0]
    for ref_id, sample_id in by_ref_id.items():
        assert {l: demo["refs"][ref_id][l] for l in KIT_LOCUS_ORDER} == people[sample_id].profile
    for t in demo["truth"]:
        if t["truth"] == "unrelated":
            sample_id = t["source"].split("/")[0]
            assert {l: demo["cands"][t["candidate_id"]][l] for l in KIT_LOCUS_ORDER} == people[sample_id].profile


def _inconsistent_loci(child, father, mother) -> list[str]:
    """Loci where the child's alleles can not come one from each typed parent (None = untyped)."""
    bad = []
    for locus in KIT_LOCUS_ORDER:
        c1, c2 = child[locus]
        if father is not None and mother is not None:
            ok = (c1 in father[locus] and c2 in mother[locus]) or (c2 in father[locus] and c1 in mother[locus])
        else:
            ok = c1 in (father or mother)[locus] or c2 in (father or mother)[locus]
        if not ok:
            bad.append(locus)
    return bad


def test_inconsistent_loci_helper_on_hand_made_trio():
    base = {locus: ("10", "11") for locus in KIT_LOCUS_ORDER}
    child = dict(base, TH01=("9.3", "10"), FGA=("12", "12"))
    assert _inconsistent_loci(child, base, base) == ["TH01", "FGA"]
    assert _inconsistent_loci(child, base, None) == ["FGA"]


def test_true_children_are_mendelian_except_at_recorded_mutations(demo):
    refs = demo["refs"]
    family = {f["family_id"]: f for f in demo["families"]}
    n_mutated_children = 0
    for t in demo["truth"]:
        if t["truth"] != "child_of_family":
            assert t["family_id"] == t["family_kind"] == t["n_mutations"] == t["mutated_loci"] == ""
            continue
        f = family[t["family_id"]]
        if f["family_kind"] in ("siblings", "parent_grandparents"):
            assert int(t["n_mutations"]) == int(f["child_n_mutations"])
            continue
        father = refs[f["father_reference_id"]] if f["father_reference_id"] else None
        mother = refs[f["mother_reference_id"]] if f["mother_reference_id"] else None
        bad = _inconsistent_loci(demo["cands"][t["candidate_id"]], father, mother)
        mutated = t["mutated_loci"].split(";") if t["mutated_loci"] else []
        assert int(t["n_mutations"]) == len(mutated) == int(f["child_n_mutations"])
        assert len(bad) <= int(t["n_mutations"]) and set(bad) <= set(mutated), (t["candidate_id"], bad, mutated)
        n_mutated_children += bool(mutated)
    assert n_mutated_children >= 1  # the batch exercises the mutation model


def test_amelogenin_matches_the_declared_sex(demo):
    expected = {"male": ("X", "Y"), "female": ("X", "X")}
    for export, manifest in (("refs", "ref_manifest"), ("cands", "cand_manifest")):
        for row in demo[manifest]:
            assert demo[export][row["sample_id"]][SEX_LOCUS] == expected[row["sex"]]
    implied = {"father": "male", "mother": "female", "paternal_grandfather": "male", "maternal_grandfather": "male",
               "paternal_grandmother": "female", "maternal_grandmother": "female"}
    for row in demo["ref_manifest"]:
        assert row["sex"] == implied.get(row["relationship"], row["sex"])
    child_sex = {f["child_candidate_id"]: f["child_sex"] for f in demo["families"] if f["child_candidate_id"]}
    sex = {r["sample_id"]: r["sex"] for r in demo["cand_manifest"]}
    assert all(sex[cid] == s for cid, s in child_sex.items())
