"""Y-STR lineages: ingestion of Y haplotypes, the lineage LR (closed forms, brute force, properties),
who gets a Y comparison, and the match-run step on a small store frame."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from kinship.app.ingest import plan_batch
from kinship.app.ingest.plan import normalise_records
from kinship.app.lineage import Y_COLUMNS, male_samples, paternal_line_reference, y_lineage_columns
from kinship.app.match_run import MatchInputs
from kinship.errors import MutationModelError
from kinship.genetics.loci import default_catalogue
from kinship.genetics.ystr import ABSENT, NULL, compare_slots, read_ystr_rates, slot_codes
from kinship.io.manifest import parse_manifest
from kinship.io.tidy import parse_tidy
from kinship.likelihood.lineage import (
    count_haplotype_matches,
    haplotype_frequency,
    log10_transmission,
    paternal_line_meioses,
    stepwise_distribution,
    log10_lr_bound,
)
from kinship.likelihood.pedigree import pedigree_from_relationships
from kinship.matching.compiler import Family

CAT = default_catalogue()
AUTOSOMAL = {"CSF1PO": ("10", "11"), "D3S1358": ("15", "16"), "D5S818": ("11", "12"), "D7S820": ("10", "11"),
             "D8S1179": ("13", "14"), "D13S317": ("11", "12"), "D16S539": ("11", "12"), "D18S51": ("14", "15"),
             "D21S11": ("29", "30"), "FGA": ("22", "23"), "TH01": ("6", "9.3"), "TPOX": ("8", "11")}


# -- ingestion -------------------------------------------------------------------------------------


def _decide(lines: str) -> pd.DataFrame:
    csv = ("sample_id,locus,allele_1,allele_2,allele_3\n" + lines).encode()
    return normalise_records(parse_tidy(csv, file="y.csv"), file="y.csv", catalogue=CAT)


@pytest.mark.parametrize("calls, expected", [
    ("DYS19,14,,", ("DYS19", "14", "14", "landed", "ok")),              # one copy
    ("DYS19,14,15,", ("DYS19", "14", "15", "landed", "ok")),            # a duplication, not a mixture
    ("DYS385,14,11,", ("DYS385", "11", "14", "landed", "ok")),          # the two copies, sorted
    ("DYS385a/b,11,11,", ("DYS385", "11", "11", "landed", "ok")),       # the kits' name of the locus
    ("DYF387S1a/b,35,37,", ("DYF387S1", "35", "37", "landed", "ok")),
    ("DYS389II,29,,", ("DYS389II", "29", "29", "landed", "ok")),        # as typed (includes DYS389I)
    ("DYS448,0,,", ("DYS448", "0", "0", "landed", "ok")),               # null allele
    ("DYS448,NULL,,", ("DYS448", "0", "0", "landed", "ok")),
    ("DYS19,14,15,16", ("DYS19", "", "", "quarantined", "y_copy_number")),   # triplication
    ("DYS385,11,11,14", ("DYS385", "", "", "quarantined", "y_copy_number")),
    ("TH01,0,,", ("TH01", "", "", "quarantined", "implausible_allele")),     # "0" stays refused at an autosomal locus
    ("TH01,null,,", ("TH01", "", "", "quarantined", "bad_allele")),
    ("D18S51,13,15,16", ("D18S51", "", "", "quarantined", "three_allele")),
])
def test_y_rows_land_as_sent_or_are_quarantined_with_a_reason(calls, expected):
    out = _decide(f"S1,{calls}\n")
    assert tuple(out[["locus", "allele_1", "allele_2", "outcome", "kind"]].iloc[0]) == expected


def test_a_triplication_reason_names_the_copies_and_the_two_column_limit():
    out = _decide("S1,DYS385,11,11,14\n")
    assert out["reason"].iloc[0].startswith("3 copies (11, 11, 14) at the Y-STR locus DYS385 (y.csv line 2")
    assert "at most two copies per locus" in out["reason"].iloc[0]


def test_multi_copy_y_loci_and_triplications_never_make_a_mixture():
    lines = [f"C1,{locus},{a},{b}," for locus, (a, b) in AUTOSOMAL.items()]
    lines += ["C1,DYS385,11,14,", "C1,DYF387S1,35,37,", "C1,DYS19,14,15,", "C1,DYS19,14,15,16",
              "C1,DYS448,18,19,20", "C1,DYS576,17,18,19"]
    csv = ("sample_id,locus,allele_1,allele_2,allele_3\n" + "\n".join(lines) + "\n").encode()
    manifest = parse_manifest(b"sample_id,role,family_id,relationship,sex\nC1,candidate,,,male\n", file="m.csv", lab="L")
    plan = plan_batch(parse_tidy(csv, file="y.csv"), manifest, file="y.csv", catalogue=CAT)
    kinds = plan.rows.groupby(["outcome", "kind"]).size().to_dict()
    assert kinds == {("landed", "ok"): 15, ("quarantined", "y_copy_number"): 3}
    assert not any(w.kind == "three_allele_locus" for w in plan.warnings)


# -- the rate table ----------------------------------------------------------------------------------


def test_the_bundled_rates_cover_the_catalogue_y_strs_with_their_source_counts():
    rates = read_ystr_rates()
    y_loci = {l.name for l in CAT if l.kind == "y"}
    assert set(rates.names) == y_loci - {"Yindel"}
    r = {x.locus: x for x in rates.loci}
    assert r["DYS19"].rate == pytest.approx(36 / 16090, rel=1e-5)
    assert r["DYS385"].rate == pytest.approx(32 / 26171, rel=1e-5) and r["DYS385"].copies == 2
    assert all(x.source.startswith("YHRD via R package malan") for x in rates.loci)
    assert len(rates.sha256) == 64


def test_a_bad_rate_row_or_override_is_refused(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("locus,copies,includes,mutations,meioses,rate,source\nDYS19,3,,,,0.002,x\n")
    with pytest.raises(MutationModelError, match=r"row 2: .*expected locus, copies \(1 or 2\)"):
        read_ystr_rates(bad)
    with pytest.raises(MutationModelError, match="override 'DYS999'"):
        read_ystr_rates(overrides={"DYS999": 0.002})


# -- the math ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_stepwise_distribution_equals_the_enumeration_of_every_mutation_path(m):
    mu = 0.07
    brute = np.zeros(2 * m + 1)
    for path in itertools.product((-1, 0, 1), repeat=m):
        brute[sum(path) + m] += math.prod(1 - mu if s == 0 else mu / 2 for s in path)
    np.testing.assert_allclose(stepwise_distribution(mu, m), brute, rtol=1e-12)


def test_transmission_closed_forms_father_brother_uncle():
    mu = np.array([0.002, 0.004, 0.01])
    match = np.zeros((1, 3), dtype=np.int16)
    # father (1 meiosis), all loci match: prod (1 - mu)
    assert log10_transmission(match, mu, np.array([1]))[0] == pytest.approx(np.log10(np.prod(1 - mu)), rel=1e-12)
    # one step at the second locus, father: (1 - mu1)(mu2 / 2)(1 - mu3)
    one = np.array([[0, 1, 0]])
    assert log10_transmission(one, mu, np.array([1]))[0] == pytest.approx(
        np.log10((1 - mu[0]) * mu[1] / 2 * (1 - mu[2])), rel=1e-12)
    # brothers (2 meioses), one step: mu (1 - mu) at that locus, (1 - mu)^2 + mu^2 / 2 elsewhere
    want = ((1 - mu[0]) ** 2 + mu[0] ** 2 / 2) * mu[1] * (1 - mu[1]) * ((1 - mu[2]) ** 2 + mu[2] ** 2 / 2)
    assert log10_transmission(one, mu, np.array([2]))[0] == pytest.approx(np.log10(want), rel=1e-12)
    # two steps from a father: impossible under the single-step model; not-compared slots count 0
    assert log10_transmission(np.array([[0, 2, 0]]), mu, np.array([1]))[0] == -np.inf
    assert log10_transmission(np.array([[-1, -1, -1]]), mu, np.array([1]))[0] == 0.0


@pytest.mark.parametrize("m", [1, 2, 3])
def test_multi_step_distribution_equals_the_enumeration_of_every_mutation_path(m):
    mu, rho, S = 0.07, 0.3, 4
    sizes = [(1 - rho) * rho ** (s - 1) for s in range(1, S + 1)]
    sizes[-1] += 1 - sum(sizes)  # the tail beyond S on the largest step, as the code documents
    step_p = {0: 1 - mu, **{s: mu / 2 * sizes[s - 1] for s in range(1, S + 1)},
              **{-s: mu / 2 * sizes[s - 1] for s in range(1, S + 1)}}
    brute = np.zeros(2 * m * S + 1)
    for path in itertools.product(step_p, repeat=m):
        brute[sum(path) + m * S] += math.prod(step_p[s] for s in path)
    got = stepwise_distribution(mu, m, rho, max_step=S)
    np.testing.assert_allclose(got, brute, rtol=1e-12, atol=1e-300)
    assert got.sum() == pytest.approx(1.0, rel=1e-14)


def test_with_multi_step_mutation_no_difference_excludes():
    mu = np.array([0.002, 0.004])
    two = log10_transmission(np.array([[2, 0], [5, 0]]), mu, np.array([1, 1]), 0.1)
    assert np.isfinite(two).all()
    assert two[0] == pytest.approx(np.log10(0.001 * 0.9 * 0.1 * 0.996), rel=1e-9)
    assert two[1] == pytest.approx(np.log10(0.001 * 0.9 * 0.1**4 * 0.996), rel=1e-9)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_transmission_sums_to_one_over_a_closed_haplotype_space(m):
    mu = np.array([0.05, 0.2])
    ref = np.array([14, 11])
    cands = np.array(list(itertools.product(range(ref[0] - m - 1, ref[0] + m + 2),
                                            range(ref[1] - m - 1, ref[1] + m + 2))))
    steps = np.abs(cands - ref).astype(np.int16)
    total = np.sum(10.0 ** log10_transmission(steps, mu, np.full(len(cands), m)))
    assert total == pytest.approx(1.0, rel=1e-12)


def test_paternal_line_meioses_on_the_relationship_template():
    expected = {"father": 1, "full_sibling": 2, "paternal_half_sibling": 2, "paternal_grandfather": 2,
                "paternal_aunt_uncle": 3, "mother": None, "maternal_half_sibling": None,
                "maternal_grandfather": None, "maternal_aunt_uncle": None, "paternal_grandmother": None}
    for kind, m in expected.items():
        ped = pedigree_from_relationships([("R1", kind)])
        k = ped.sample_ids.index("R1")
        assert paternal_line_meioses(ped.father, ped.missing, k) == m, kind


def test_count_haplotype_matches_equals_a_loop_over_the_database():
    rng = np.random.default_rng(7)
    db = rng.integers(-2, 3, size=(300, 6)).astype(np.int32)  # -1 untyped, -2 a value (absent copy)
    q = rng.integers(0, 3, size=(40, 6)).astype(np.int32)
    compared = rng.random((40, 6)) < 0.6
    eq, er = rng.integers(0, 40, 30), rng.integers(0, 300, 30)
    eq, er = zip(*sorted(set(zip(eq.tolist(), er.tolist()))))
    x, n = count_haplotype_matches(db, q, compared, exclude_query=np.array(eq), exclude_row=np.array(er))
    left_out = set(zip(eq, er))
    for i in range(40):
        s = compared[i]
        rows = [r for r in range(300) if (i, r) not in left_out and (db[r, s] != -1).all()]
        assert n[i] == len(rows)
        assert x[i] == sum((db[r, s] == q[i, s]).all() for r in rows)


def test_haplotype_frequency_counting_and_the_clopper_pearson_bound():
    point, upper = haplotype_frequency(np.array([0, 4, 9]), np.array([999, 99, 9]))
    np.testing.assert_allclose(point, [1 / 1000, 5 / 100, 1.0])
    # upper bound p_u of k = x + 1 in N + 1: P(X <= k | N + 1, p_u) = 1 - confidence
    assert binom.cdf(1, 1000, upper[0]) == pytest.approx(0.05, rel=1e-9)
    assert binom.cdf(5, 100, upper[1]) == pytest.approx(0.05, rel=1e-9)
    assert upper[2] == 1.0 and (upper >= point).all()


def test_slot_codes_and_comparison_of_copy_patterns():
    codes = slot_codes(np.array(["14", "11", "0", "14"]), np.array(["15", "11", "0", "14"]), np.array([1, 2, 1, 1]))
    assert codes.tolist() == [[140, 150], [110, 110], [NULL, ABSENT], [140, ABSENT]]
    # a null against a value, and a microvariant change, are not compared (not a mismatch)
    ref = np.array([[NULL, ABSENT, 172, ABSENT]]); cand = np.array([[140, ABSENT, 170, ABSENT]])
    ok, steps = compare_slots(ref, cand, 2)
    assert ok.tolist() == [[False, False]] and steps.tolist() == [[-1, -1, -1, -1]]


# -- who gets a Y comparison, and the match-run step -------------------------------------------------

Y_LOCI = ["DYS19", "DYS390", "DYS391", "DYS389I", "DYS389II", "DYS385"]


def _y_rows(sample, values):
    rows = []
    for locus, v in zip(Y_LOCI, values):
        a, b = (v, v) if not isinstance(v, tuple) else v
        rows.append({"sample_id": sample, "role": "x", "locus": locus, "allele_1": a, "allele_2": b})
    return rows


HAP = ["14", "22", "10", "13", "29", ("11", "14")]


def _store(n_unrelated=20):
    rows = []
    rows += _y_rows("F1", HAP)                                   # father of family A
    rows += _y_rows("B1", ["14", "22", "10", "13", "29", ("11", "14")])   # brother in family B
    rows += _y_rows("U1", ["15", "22", "10", "13", "29", ("11", "14")])   # uncle in family B (one step at DYS19)
    rows += _y_rows("M1", HAP)                                   # mother? typed Y by error: never used
    rows += _y_rows("C1", HAP)                                   # male candidate, father's haplotype
    rows += _y_rows("C2", ["15", "22", "10", "13", "30", ("11", "14")])   # male candidate, DYS19 +1, DYS389II +1
    rows += _y_rows("C3", HAP)                                   # female candidate
    rows += _y_rows("C4", HAP)                                   # candidate of unknown sex
    for i in range(n_unrelated):                                 # unrelated men, one of them sharing HAP
        rows += _y_rows(f"X{i:02d}", HAP if i == 0 else [str(12 + i % 5), "23", "11", "12", "28", ("12", "13")])
    genotypes = pd.DataFrame(rows)
    sex = pd.DataFrame({"sample_id": ["F1", "B1", "U1", "M1", "C1", "C2", "C3", "C4", *[f"X{i:02d}" for i in range(n_unrelated)]],
                        "sex": ["unknown", "male", "male", "female", "male", "male", "female", "unknown",
                                *["male"] * n_unrelated]})
    families = (Family("L", "A", father="F1"),
                Family("L", "B", others=(("B1", "full_sibling"), ("U1", "paternal_aunt_uncle"))),
                Family("L", "C", mother="M1"))
    inputs = MatchInputs({}, ("B1", "F1", "M1", "U1"), ("C1", "C2", "C3", "C4"), families)
    return genotypes, sex, inputs


def test_only_male_candidates_and_paternal_line_references_get_a_y_comparison():
    genotypes, sex, inputs = _store()
    male = male_samples(sex, inputs.families)
    assert {"F1", "B1", "U1", "C1", "C2"} <= male and not {"M1", "C3", "C4"} & male   # F1 male as a father
    n_typed = {s: 6 for s in ("F1", "B1", "U1", "M1")}
    fam = {f.family_id: f for f in inputs.families}
    assert paternal_line_reference(fam["A"], male, n_typed) == ("F1", 1)
    assert paternal_line_reference(fam["B"], male, n_typed) == ("B1", 2)            # the brother before the uncle
    assert paternal_line_reference(fam["B"], male, {"U1": 6}) == ("U1", 3)
    assert paternal_line_reference(fam["C"], male, n_typed) is None                  # a mother never


def test_y_lineage_columns_on_a_small_store_frame():
    genotypes, sex, inputs = _store()
    matches = pd.DataFrame({"candidate_id": ["C1", "C1", "C2", "C3", "C4", "C1"],
                            "lab": ["L"] * 6, "family_id": ["A", "B", "A", "A", "A", "C"]})
    out, prov, y_max = y_lineage_columns(genotypes, sex, inputs, matches, step_ratio=0.0)
    # the bound on any pair's Y LR: a haplotype seen nowhere among the 25 men; C1, C2 male, C3, C4 not
    assert y_max.tolist() == [log10_lr_bound(25)] * 2 + [0.0, 0.0]
    assert out["log10_lr_y"].max() <= log10_lr_bound(25)
    assert list(out.columns) == list(Y_COLUMNS) and [str(t) for t in out.dtypes] == list(Y_COLUMNS.values())
    assert out.iloc[3:].isna().all().all()          # female, unknown sex, mother-only family
    rates = {r.locus: r.rate for r in read_ystr_rates().loci}
    # database: F1, B1, U1, C1, C2 and the 20 unrelated men (M1 female, C3/C4 not male);
    # pair C1-A leaves out C1 and F1: N = 23, x = 2 (B1 and X00 share HAP)
    assert prov["n_male_haplotypes"] == 25
    mu = [rates[l] for l in Y_LOCI]
    # loci: DYS389II compared as DYS389II - DYS389I; DYS385's two copies each at the locus rate
    num = sum(np.log10(1 - m) for m in mu[:5]) + 2 * np.log10(1 - mu[5])
    upper = haplotype_frequency(np.array([2]), np.array([23]))[1][0]
    assert out["log10_lr_y"].iloc[0] == pytest.approx(num - np.log10(upper), rel=1e-12)
    assert (out["n_y_loci_compared"].iloc[0], out["n_y_mismatches"].iloc[0], out["y_steps"].iloc[0]) == (6, 0, 0)
    # C1 against family B: brother B1 (2 meioses); the family's lineage (B1, U1) and C1 left out: N = 22, x = 2
    br = sum(np.log10((1 - m) ** 2 + m * m / 2) for m in mu[:5]) + 2 * np.log10((1 - mu[5]) ** 2 + mu[5] ** 2 / 2)
    upper_b = haplotype_frequency(np.array([2]), np.array([22]))[1][0]
    assert out["log10_lr_y"].iloc[1] == pytest.approx(br - np.log10(upper_b), rel=1e-12)
    # C2 against the father: DYS19 one step; DYS389II - DYS389I one step (16 -> 17): 2 mismatches, 2 steps
    assert (out["n_y_mismatches"].iloc[2], out["y_steps"].iloc[2]) == (2, 2)
    want = (np.log10(mu[0] / 2) + np.log10(1 - mu[1]) + np.log10(1 - mu[2]) + np.log10(1 - mu[3])
            + np.log10(mu[4] / 2) + np.log10(1 - mu[5]) * 2)
    upper_c2 = haplotype_frequency(np.array([0]), np.array([23]))[1][0]
    assert out["log10_lr_y"].iloc[2] == pytest.approx(want - np.log10(upper_c2), rel=1e-12)
    assert prov["n_pairs_compared"] == 3 and prov["frequency"]["confidence"] == 0.95
    assert prov["mutation_rates"]["sha256"] == read_ystr_rates().sha256


def test_y_lineage_columns_with_no_y_data_are_all_null():
    genotypes = pd.DataFrame({"sample_id": ["C1"], "role": ["candidate"], "locus": ["TH01"], "allele_1": ["6"],
                              "allele_2": ["9.3"]})
    sex = pd.DataFrame({"sample_id": ["C1", "F1"], "sex": ["male", "male"]})
    inputs = MatchInputs({}, ("F1",), ("C1",), (Family("L", "A", father="F1"),))
    matches = pd.DataFrame({"candidate_id": ["C1"], "lab": ["L"], "family_id": ["A"]})
    out, prov, y_max = y_lineage_columns(genotypes, sex, inputs, matches)
    assert out.isna().all().all() and prov["n_male_haplotypes"] == 0 and y_max.tolist() == [0.0]


def test_a_genemapper_export_gives_the_same_y_outcomes_as_the_tidy_one():
    from kinship.io.genemapper import parse_genemapper

    text = (b"Sample Name\tMarker\tAllele 1\tAllele 2\tAllele 3\r\n"
            b"S1\tDYS385a/b\t11\t14\t\r\nS1\tDYS19\t14\t15\t16\r\nS1\tDYS448\tnull\t\t\r\n")
    out = normalise_records(parse_genemapper(text, file="gm.txt"), file="gm.txt", catalogue=CAT)
    assert out[["locus", "allele_1", "allele_2", "kind"]].values.tolist() == [
        ["DYS385", "11", "14", "ok"], ["DYS19", "", "", "y_copy_number"], ["DYS448", "0", "0", "ok"]]


def test_the_store_wide_haplotypes_built_once_give_the_same_columns_for_any_part_of_the_families():
    """A search builds the male haplotypes once (MaleHaplotypes) and passes only its pairs'
    families: the columns are those of the whole run's families, bit for bit."""
    from dataclasses import replace

    from kinship.app.lineage import MaleHaplotypes

    genotypes, sex, inputs = _store()
    matches = pd.DataFrame({"candidate_id": ["C1", "C2", "C1"], "lab": ["L"] * 3, "family_id": ["B", "B", "C"]})
    want, prov, y_max = y_lineage_columns(genotypes, sex, inputs, matches)
    haplotypes = MaleHaplotypes.of(genotypes, sex, inputs.families)
    part = replace(inputs, families=tuple(f for f in inputs.families if f.family_id in {"B", "C"}))
    got, prov_got, y_max_got = y_lineage_columns(genotypes, sex, part, matches, haplotypes=haplotypes)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert prov_got == prov and y_max_got.tolist() == y_max.tolist()
    assert got["log10_lr_y"].notna().sum() == 2
    # without them, the part's families alone miss F1 (male only as family A's father) from the
    # database: another count, other numbers
    alone, prov_alone, _ = y_lineage_columns(genotypes, sex, part, matches)
    assert prov_alone["n_male_haplotypes"] == prov["n_male_haplotypes"] - 1
    assert not alone["log10_lr_y"].equals(want["log10_lr_y"])
