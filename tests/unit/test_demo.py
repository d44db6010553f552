"""The committed demo batch (data/demo): reproducible, composed as specified, genetically sound."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from kinship.genetics.ystr import read_ystr_rates
from kinship.genetics.linkage import haldane
from kinship.likelihood.simulate import simulate_linked_child
from reunite_demo.batch import (
    LINKED_PAIR,
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
from reunite_demo.yhaplotypes import YSTR_KIT_LOCI, draw_founder, transmit, y_calls, y_units

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"
MANIFEST_COLUMNS = ["sample_id", "role", "family_id", "relationship", "sex", "lab", "kit"]


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((DEMO / name).read_text(encoding="utf-8"))))


def _export(name: str, *, y: bool = False) -> dict[str, dict[str, tuple[str, ...]]]:
    """{sample_id: {locus: (allele 1, allele 2)}} of a demo GeneMapper export, as strings: the
    autosomal rows (AMEL first), or with ``y`` the Y-STR rows (one call at a single-copy locus)."""
    lines = (DEMO / name).read_text(encoding="utf-8").split("\n")
    assert lines[0] == "Sample Name\tMarker\tAllele 1\tAllele 2"
    assert lines[-1] == ""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for line in lines[1:-1]:
        sample_id, locus, a1, a2 = line.split("\t")
        is_y = locus in YSTR_KIT_LOCI
        if is_y:
            assert a1 and (a2 or locus not in ("DYS385", "DYF387S1")), f"{sample_id} {locus}"
        else:
            assert (a1, a2) != ("", "") and a1 and a2, f"{sample_id} {locus}: homozygote must be written twice"
        if is_y == y:
            out.setdefault(sample_id, {})[locus] = (a1, a2) if a2 else (a1,)
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
        "truth_y": _rows("truth_y.csv"),
        "refs_y": _export("references.txt", y=True),
        "cands_y": _export("candidates.txt", y=True),
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


# --- issue 11: Y haplotypes and the linked pair ----------------------------------------------

#: SHA-256 of the exports' rows as committed before issue 11 (commit 22d1844), leaving out the
#: rows of the sibling families' simulated people at vWA and D12S391 (re-simulated with linkage).
BEFORE_Y_SHA256 = {
    "references.txt": "c51076a9215f0904521525a8e86243133c472b88ffe37714d1c0436bde70dfa8",
    "candidates.txt": "afd38efaabf31ec1ee4ee42fa9dc7bc9411dc4006778c0447deec9e477480ebe",
}


def _sibling_family_people(demo) -> set[str]:
    ids = set()
    for f in demo["families"]:
        if f["family_kind"] == "siblings":
            ids.add(f["child_candidate_id"])
            ids.update(e.split(":")[0] for e in f["relatives"].split(";"))
    return ids


def test_autosomal_rows_are_those_before_the_y_haplotypes_except_the_siblings_linked_pair(demo):
    linked_people = _sibling_family_people(demo)
    assert len(linked_people) == 6 + 3 * 1 + 3 * 2
    for name, sha in BEFORE_Y_SHA256.items():
        lines = (DEMO / name).read_text(encoding="utf-8").split("\n")
        keep = [l for l in lines if len(l.split("\t")) < 2 or (
            l.split("\t")[1] not in YSTR_KIT_LOCI
            and not (l.split("\t")[0] in linked_people and l.split("\t")[1] in LINKED_PAIR))]
        assert hashlib.sha256("\n".join(keep).encode()).hexdigest() == sha, name


def test_every_man_and_only_men_carry_a_y_haplotype_of_the_kit(demo):
    for export, manifest in (("refs_y", "ref_manifest"), ("cands_y", "cand_manifest")):
        for row in demo[manifest]:
            y = demo[export].get(row["sample_id"])
            if row["sex"] == "male":
                assert list(y) == list(YSTR_KIT_LOCI)
                assert len(y["DYS385"]) == len(y["DYF387S1"]) == 2 and len(y["DYS19"]) == 1
                assert int(y["DYS389II"][0]) - int(y["DYS389I"][0]) in range(13, 20)
            else:
                assert y is None, row["sample_id"]


def _units(calls: dict[str, tuple[str, ...]]) -> list[int]:
    """A haplotype's unit values back from its calls (DYS389II as the segment it adds)."""
    out = []
    for locus in YSTR_KIT_LOCI:
        values = [int(v) for v in calls[locus]]
        if locus == "DYS389II":
            values = [values[0] - int(calls["DYS389I"][0])]
        out += sorted(values)
    return out


def test_male_children_carry_their_paternal_line_with_the_recorded_mutations(demo):
    rows = demo["truth_y"]
    rescued = [r for r in rows if r["child_candidate_id"]]
    kinds = Counter(r["family_kind"] for r in rescued)
    # the Y-STR comparison has cases of each weak kind: sons of father-only families (3),
    # a son with a typed brother, sons of a mother + paternal grandparents family
    assert kinds == {"couple": 20, "father_only": 3, "siblings": 1, "parent_grandparents": 2}
    n_differ = 0
    for r in rescued:
        ref = _units(demo["refs_y"][r["y_reference_id"]])
        child = _units(demo["cands_y"][r["child_candidate_id"]])
        steps = [abs(a - b) for a, b in zip(ref, child)]
        assert sum(s != 0 for s in steps) == int(r["n_y_differing_units"]), r["family_id"]
        assert max(steps) <= int(r["y_meioses"])  # single-step: at most one step per meiosis
        assert int(r["n_y_differing_units"]) <= int(r["n_y_mutations"])
        n_differ += int(r["n_y_differing_units"])
    assert n_differ >= 1  # the batch exercises the Y mutation model
    # unrelated men differ at many loci from every father on file
    fathers = [_units(demo["refs_y"][r["sample_id"]]) for r in demo["ref_manifest"] if r["relationship"] == "father"]
    for t in demo["truth"]:
        if t["truth"] == "unrelated" and t["candidate_id"] in demo["cands_y"]:
            u = _units(demo["cands_y"][t["candidate_id"]])
            assert min(sum(a != b for a, b in zip(u, f)) for f in fathers) >= 5


def test_y_transmission_mutates_each_copy_at_its_rate_by_one_step():
    units = y_units()
    rates = {r.locus: r.rate for r in read_ystr_rates().loci}
    assert units.rates.tolist() == [rates[l] for l in units.locus]
    rng = np.random.default_rng(7)
    n = 40_000
    father = draw_founder(units, rng)
    counts = np.zeros(units.rates.size)
    n_mut = np.zeros(n, dtype=int)
    for k in range(n):
        son, n_mut[k] = transmit(father, units, rng)
        d = son - father
        assert set(np.unique(d).tolist()) <= {-1, 0, 1}
        counts += d != 0
    # total: Poisson-binomial mean and variance; P(no mutation) = prod(1 - r)
    mean, var = n * units.rates.sum(), n * (units.rates * (1 - units.rates)).sum()
    assert abs(counts.sum() - mean) < 4 * np.sqrt(var)
    p0 = np.prod(1 - units.rates)
    assert abs((n_mut == 0).mean() - p0) < 4 * np.sqrt(p0 * (1 - p0) / n)
    # the fastest locus alone (DYS518, 0.018 per generation)
    k = int(np.argmax(units.rates))
    assert units.locus[k] == "DYS518"
    assert abs(counts[k] - n * units.rates[k]) < 4 * np.sqrt(n * units.rates[k] * (1 - units.rates[k]))


def test_y_calls_of_a_haplotype_read_back_to_its_units():
    units = y_units()
    h = draw_founder(units, np.random.default_rng(3))
    calls = dict(y_calls(h, units))
    order = np.argsort(np.array([YSTR_KIT_LOCI.index(l) for l in units.locus]), kind="stable")
    assert _units(calls) == [int(v) for v in np.concatenate([np.sort(h[order][[i for i, l in enumerate(units.locus) if l == locus]]) for locus in YSTR_KIT_LOCI])]


def test_linked_transmission_recombines_at_the_haldane_fraction():
    r = haldane(27.57129 - 15.63031)
    assert r == pytest.approx((1 - np.exp(-2 * 0.1194098)) / 2, rel=1e-12)
    rng = np.random.default_rng(11)
    father = np.array([[0, 1], [2, 3]])  # haplotypes (0, 2) and (1, 3)
    mother = np.array([[4, 4], [5, 5]])
    n = 20_000
    recombinant = 0
    for _ in range(n):
        child, mutated = simulate_linked_child(father, mother, rng, r=r)
        assert not mutated.any() and child[:, 1].tolist() == [4, 5]
        recombinant += (int(child[0, 0]), int(child[1, 0])) in {(0, 3), (1, 2)}
    assert abs(recombinant / n - r) < 4 * np.sqrt(r * (1 - r) / n)
    # r = 1/2: the second locus's origin is independent of the first
    hits = sum((int(c[0, 0]), int(c[1, 0])) in {(0, 3), (1, 2)}
               for c, _ in (simulate_linked_child(father, mother, rng, r=0.5) for _ in range(n)))
    assert abs(hits / n - 0.5) < 4 * np.sqrt(0.25 / n)
    with pytest.raises(ValueError, match="recombination fraction 0.6"):
        simulate_linked_child(father, mother, rng, r=0.6)


def test_sibling_families_are_mendelian_at_the_linked_pair(demo):
    people = read_kgp_genotypes()
    for f in demo["families"]:
        if f["family_kind"] != "siblings":
            continue
        father = people[f["father_source"].split("/")[0]].profile
        mother = people[f["mother_source"].split("/")[0]].profile
        kids = [demo["cands"][f["child_candidate_id"]]]
        kids += [demo["refs"][e.split(":")[0]] for e in f["relatives"].split(";")]
        for kid in kids:  # (no mutation came out at the pair; other loci may carry a sibling's)
            bad = _inconsistent_loci(kid, father, mother)
            assert not set(bad) & set(LINKED_PAIR), (f["family_id"], bad)


# --- the evaluation's "what each adds" -------------------------------------------------------

def _hand_made_run(with_unlinked: bool):
    import pandas as pd

    # F1 father only: its son C1 is 10^3.2 autosomal, 10^3.2 * 10^2.5 with Y (decided); the
    # unrelated man C2 reaches 10^4.1 autosomal but 10^-3.9 with a Y mismatch; the girl C3 has
    # no Y comparison. F2 siblings: its child C4 at 10^3.6 linked, 10^4.3 unlinked; C5 unrelated
    # at 10^4.0 linked (a false hit), 10^3.1 unlinked.
    m = pd.DataFrame({
        "candidate_id": ["C1", "C2", "C3", "C4", "C5"],
        "lab": "L",
        "family_id": ["F1", "F1", "F1", "F2", "F2"],
        "family_kind": ["father only"] * 3 + ["siblings"] * 2,
        "log10_lr": [3.2, 4.1, 1.0, 3.6, 4.0],
        "log10_lr_y": pd.array([2.5, -8.0, None, None, None], dtype="Float64"),
        "log10_lr_total": [5.7, -3.9, 1.0, 3.6, 4.0],
        "conclusion": ["support", "inconclusive", "inconclusive", "inconclusive", "inconclusive"],
        "posterior": [0.9995, 0.0001, 0.002, 0.7, 0.2],
        "rank_for_candidate": [1, 1, 1, 1, 1],
    })
    if with_unlinked:
        m["log10_lr_unlinked"] = [3.2, 4.1, 1.0, 4.3, 3.1]
    t = pd.DataFrame({"candidate_id": ["C1", "C2", "C3", "C4", "C5"],
                      "truth": ["child_of_family", "unrelated", "unrelated", "child_of_family", "unrelated"],
                      "lab": "L", "family_id": ["F1", "", "", "F2", ""]})
    return m, t


def test_what_each_adds_counts_y_and_linkage_on_a_hand_made_run():
    from reunite_demo.evaluation import format_summary, score_against_truth, what_each_adds

    m, t = _hand_made_run(with_unlinked=True)
    a = what_each_adds(m, t)
    assert a["linkage_applied"] is True and a["true_not_reported"] == 0
    assert what_each_adds(m.iloc[1:], t)["true_not_reported"] == 1  # C1's pair left out
    f = a["father only"]
    assert (f["true_children"], f["true_with_y"], f["y_log10_median"]) == (1, 1, 2.5)
    assert (f["supported_autosomal"], f["supported_with_y"], f["decided"]) == (0, 1, 1)
    assert (f["false_hits_autosomal"], f["false_hits_with_y"], f["false_hits_decided"]) == (1, 0, 0)
    assert f["posterior_median"] == f["posterior_min"] == 0.9995 and f["posterior_at_least_0_99"] == 1
    s = a["siblings"]
    assert (s["supported_autosomal"], s["supported_unlinked"], s["false_hits_autosomal"], s["false_hits_unlinked"]) == (0, 1, 1, 0)
    assert s["posterior_median"] == 0.7 and s["posterior_at_least_0_99"] == 0
    assert a["couple"]["true_children"] == 0 and np.isnan(a["couple"]["posterior_median"])
    text = format_summary(score_against_truth(m, t))
    adds_rows = [line.split() for line in text.splitlines() if "/" in line and line.startswith(("father", "siblings"))]
    assert adds_rows == [
        ["father", "only", "1", "1", "2.50", "0/1", "1/0", "0/1", "1/0", "0.9995", "0.9995", "1"],
        ["siblings", "1", "0", "-", "0/1", "0/1", "1/0", "0/0", "0.7000", "0.7000", "0"],
    ]
    assert text.splitlines()[-1].startswith("linkage: applied")


def test_what_each_adds_says_linkage_is_not_applied_without_the_unlinked_column():
    from reunite_demo.evaluation import format_what_each_adds, what_each_adds

    m, t = _hand_made_run(with_unlinked=False)
    a = what_each_adds(m, t)
    assert a["linkage_applied"] is False
    assert a["siblings"]["supported_unlinked"] is None and a["siblings"]["false_hits_unlinked"] is None
    assert a["siblings"]["false_hits_autosomal"] == 1
    text = format_what_each_adds(a)
    assert "-/-" in text
    assert text.splitlines()[-1] == "linkage: not applied in this run (no log10_lr_unlinked column)"


def test_synthetic_weak_families_carry_the_paternal_line_and_full_siblings():
    from kinship.io.frequencies import load_bundled_table
    from reunite_demo.synthetic import weak_families

    b = weak_families(30, 60, load_bundled_table("norstr-2023/East Asia"), n_sibling_families=10, seed=5)
    assert Counter(b.truth["family_kind"]) == {"father only": 20, "siblings": 10, "": 30}
    g = b.genotypes
    y_loci = set(YSTR_KIT_LOCI)
    sex = dict(zip(b.samples["sample_id"], b.samples["sex"]))
    men_with_y = set(g[g["locus"].isin(y_loci)]["sample_id"])
    assert men_with_y == {s for s, x in sex.items() if x == "male"}
    calls = {(s, l): (a1, a2) for s, l, a1, a2 in zip(g["sample_id"], g["locus"], g["allele_1"], g["allele_2"]) if l in y_loci}
    ref_of = {f: s for f, s, r in zip(b.members["family_id"], b.members["sample_id"], b.members["relationship"])}
    for cid, fid, kind in zip(b.truth["candidate_id"], b.truth["family_id"], b.truth["family_kind"]):
        if kind == "father only":  # a son, one meiosis from the typed father: at most one step per unit
            assert sex[cid] == "male"
            for locus in YSTR_KIT_LOCI:
                if locus == "DYS389II":
                    continue  # DYS389II as typed moves with DYS389I as well
                a, f = calls[(cid, locus)], calls[(ref_of[fid], locus)]
                assert all(abs(int(x) - int(y)) <= 1 for x, y in zip(a, f)), (cid, locus)
        elif kind == "siblings":  # the family files one typed full sibling and nothing else
            assert {r for f, r in zip(b.members["family_id"], b.members["relationship"]) if f == fid} == {"full_sibling"}
    auto = g[~g["locus"].isin(y_loci)]
    assert auto.groupby("sample_id").size().eq(20).all() and len(set(auto["sample_id"])) == 30 + 60
