"""The ingestion rules one at a time: each row rule and each sample rule on a hand-made row or sample."""

from __future__ import annotations

import pytest

from kinship.app.ingest import FLAG_KINDS, plan_batch
from kinship.app.ingest.row_rules import (
    ROW_RULES,
    RowCheck,
    allele_labels,
    canonical_locus,
    genotype_pair,
    missing_sample_name,
    out_of_range_allele,
    plausible_alleles,
    three_allele_pattern,
    unreadable_line,
    untyped_call,
)
from kinship.app.ingest.sample_rules import (
    SAMPLE_RULES,
    BatchContext,
    SampleCheck,
    conflicting_batch_genotypes,
    conflicting_store_identity,
    conflicting_stored_genotypes,
    listed_in_manifest,
    nothing_landed,
    probable_mixture,
    refused_by_reader,
    too_few_autosomal_loci,
)
from kinship.genetics.loci import default_catalogue
from kinship.io.manifest import parse_manifest
from kinship.io.tidy import parse_tidy

CAT = default_catalogue()
MANIFEST_HEADER = b"sample_id,role,family_id,relationship,sex\n"


def row(sample="S1", locus="TH01", *calls, line=3, problem="") -> RowCheck:
    calls = list(calls) + [""] * (2 - len(calls))
    rec = {"source_line": line, "sample_id": sample, "locus": locus, "allele_1": calls[0], "allele_2": calls[1],
           "extra_calls": ",".join(calls[2:]), "problem": problem}
    return RowCheck.from_record(rec, file="e.txt")


def decided_by(check: RowCheck):
    for rule in ROW_RULES:
        if rule(check, CAT):
            return rule
    raise AssertionError("no row rule decided")


def manifest(*lines: str):
    return parse_manifest(MANIFEST_HEADER + "".join(f"{x}\n" for x in lines).encode(), file="m.csv", lab="L")


def landed(locus, a1, a2, line=3) -> dict:
    return {"source_line": line, "sample_id": "S1", "raw_locus": locus, "locus": locus, "allele_1": a1,
            "allele_2": a2, "outcome": "landed", "kind": "ok", "value": "", "reason": "", "fix": ""}


def sample_of(sid, rows, m):
    return SampleCheck(sid, rows, [e for e in m.entries.to_dict("records") if e["sample_id"] == sid])


# -- row rules ------------------------------------------------------------------------------------


def test_the_row_rules_decide_in_their_documented_order():
    cases = [
        (row("S1", "TH01", "6", problem="5 fields but the header has 4"), unreadable_line),
        (row("", "TH01", "6"), missing_sample_name),
        (row("S1", "THO1", "6"), canonical_locus),
        (row("S1", "D2S1338", ">27", "13.45"), out_of_range_allele),
        (row("S1", "D18S51", "13.45"), allele_labels),
        (row("S1", "FGA", "19", "2"), plausible_alleles),
        (row("S1", "D18S51", "13", "15", "16", "OL"), three_allele_pattern),
        (row("S1", "D18S51", "OL", "13", "15"), untyped_call),
        (row("S1", "D18S51", "OL"), untyped_call),
        (row("S1", "D18S51"), untyped_call),
        (row("S1", "D18S51", "OL", "15"), genotype_pair),  # the partial genotype 15/?
        (row("S1", "TH01", "9.3", "6"), genotype_pair),
    ]
    assert [decided_by(check) for check, _ in cases] == [rule for _, rule in cases]


def test_unreadable_line_quarantines_with_the_readers_note():
    check = row(problem="5 fields but the header has 4")
    assert unreadable_line(check, CAT) is True
    assert (check.row["kind"], check.row["value"], check.row["outcome"]) == ("malformed_line", "", "quarantined")
    assert check.row["reason"] == "unreadable line (e.txt line 3): 5 fields but the header has 4"
    assert unreadable_line(row("S1", "TH01", "6"), CAT) is False


def test_missing_sample_name_quarantines_a_row_without_sample():
    check = row("", "TH01", "6")
    assert missing_sample_name(check, CAT) is True
    assert check.row["kind"] == "no_sample"
    assert check.row["reason"] == "row without a sample name (e.txt line 3, sample '', locus 'TH01')"
    assert check.row["fix"] == "fill the sample-name cell or delete the row"


def test_canonical_locus_renames_a_known_alias_and_quarantines_an_unknown_name():
    known = row("S1", "VWA", "17")
    assert canonical_locus(known, CAT) is False and known.row["locus"] == "vWA"
    unknown = row("S1", "THO1", "6")
    assert canonical_locus(unknown, CAT) is True
    assert (unknown.row["kind"], unknown.row["value"], unknown.row["locus"]) == ("unknown_locus", "THO1", "")
    assert "unknown locus 'THO1' (e.txt line 3, sample 'S1', locus 'THO1'); did you mean TH01?" in unknown.row["reason"]


def test_out_of_range_allele_names_the_ladder_end():
    check = row("S1", "D2S1338", "16", ">27")
    check.row["locus"] = "D2S1338"
    assert out_of_range_allele(check, CAT) is True
    assert (check.row["kind"], check.row["value"]) == ("out_of_range", ">27")
    assert check.row["reason"].startswith("allele '>27' at D2S1338 (e.txt line 3, sample 'S1', locus 'D2S1338') "
                                          "is above the largest ladder allele (27): its repeat number is unknown")
    below = row("S1", "D19S433", "<9")
    below.row["locus"] = "D19S433"
    assert out_of_range_allele(below, CAT) is True and "below the smallest ladder allele (9)" in below.row["reason"]


def test_allele_labels_parses_calls_and_quarantines_bad_labels():
    good = row("S1", "D18S51", "OL", "17")
    good.row["locus"] = "D18S51"
    assert allele_labels(good, CAT) is False
    assert (good.labels, good.alleles) == ([None, "17"], ["17"])
    bad = row("S1", "D18S51", "15", "13.45")
    bad.row["locus"] = "D18S51"
    assert allele_labels(bad, CAT) is True
    assert (bad.row["kind"], bad.row["value"]) == ("bad_allele", "13.45")
    assert "allele '13.45' (e.txt line 3, sample 'S1', locus 'D18S51') is not ISFG nomenclature" in bad.row["reason"]
    sex = row("S1", "TH01", "X", "9")
    sex.row["locus"] = "TH01"
    assert allele_labels(sex, CAT) is True and sex.row["value"] == "X"
    assert "is an Amelogenin label; expected a repeat number such as '12' or '9.3' at an STR locus" in sex.row["reason"]


def test_three_allele_pattern_counts_distinct_alleles_only():
    check = row("S1", "D18S51", "13", "15", "15")
    check.row["locus"], check.alleles = "D18S51", ["13", "15"]
    assert three_allele_pattern(check, CAT) is False
    check.alleles = ["13", "15", "16"]
    assert three_allele_pattern(check, CAT) is True
    assert check.row["reason"].startswith("three-allele pattern: 3 distinct alleles called (13, 15, 16) at D18S51")


def test_untyped_call_on_off_ladder_and_on_no_call():
    ol = row("S1", "D18S51", "OL", "13", "15")
    ol.row["locus"], ol.labels, ol.alleles = "D18S51", [None, "13", "15"], ["13", "15"]
    assert untyped_call(ol, CAT) is True
    assert (ol.row["outcome"], ol.row["kind"]) == ("untyped", "off_ladder")
    assert ol.row["reason"] == ("off-ladder call (calls OL,13,15) at D18S51: the locus is left untyped for this "
                                "person")
    alone = row("S1", "D18S51", "OL")
    alone.row["locus"], alone.labels, alone.alleles = "D18S51", [None], []
    assert untyped_call(alone, CAT) is True and alone.row["kind"] == "off_ladder"
    beside_one = row("S1", "D18S51", "OL", "15")  # a partial genotype: rule 7 lands it
    beside_one.row["locus"], beside_one.labels, beside_one.alleles = "D18S51", [None, "15"], ["15"]
    assert untyped_call(beside_one, CAT) is False
    none = row("S1", "D18S51")
    none.row["locus"] = "D18S51"
    assert untyped_call(none, CAT) is True
    assert (none.row["kind"], none.row["reason"]) == ("no_call", "no allele called at D18S51: the locus is left untyped")


def test_genotype_pair_sorts_a_heterozygote_canonically():
    check = row("S1", "TH01", "9.3", "6")
    check.alleles = ["6", "9.3"]
    assert genotype_pair(check, CAT) is True
    assert (check.row["allele_1"], check.row["allele_2"], check.row["kind"]) == ("6", "9.3", "ok")


# -- sample rules ---------------------------------------------------------------------------------


def test_sample_rules_are_listed_in_their_documented_order():
    assert [rule.__name__ for rule in SAMPLE_RULES] == [
        "refused_by_reader", "listed_in_manifest", "probable_mixture", "nothing_landed", "control_dna",
        "conflicting_batch_genotypes", "conflicting_store_identity", "conflicting_stored_genotypes",
        "too_few_autosomal_loci",
    ]


def test_refused_by_reader_quarantines_every_row_with_the_readers_reason():
    m = manifest("S1,candidate,,,")
    rows = [landed("TH01", "6", "9.3"), {**landed("vWA", "", ""), "outcome": "quarantined", "kind": "bad_allele"}]
    batch = BatchContext("e.txt", m, CAT, refused={"S1": ("not_reference_material", "forensic", "none")})
    assert refused_by_reader(sample_of("S1", rows, m), batch) is True
    assert {(r["outcome"], r["kind"], r["reason"], r["value"]) for r in rows} == {
        ("quarantined", "not_reference_material", "forensic", "S1")}
    assert refused_by_reader(sample_of("S1", rows, m), BatchContext("e.txt", m, CAT)) is False


def test_listed_in_manifest_quarantines_unlisted_and_badly_listed_samples():
    m = manifest("S1,candidate,,,", "R1,reference,,father,male")
    ladder = [landed("TH01", "6", "9.3")]
    assert listed_in_manifest(sample_of("Ladder", ladder, m), BatchContext("e.txt", m, CAT)) is True
    assert ladder[0]["kind"] == "not_in_manifest"
    assert ladder[0]["reason"] == ("sample 'Ladder' (e.txt) is in the export but not in manifest m.csv (an allelic "
                                   "ladder, a positive or negative control, or an unlisted sample)")
    bad = [landed("TH01", "6", "9.3")]
    assert listed_in_manifest(sample_of("R1", bad, m), BatchContext("e.txt", m, CAT)) is True
    assert bad[0]["kind"] == "manifest_error"
    assert bad[0]["reason"].startswith("sample 'R1' has an invalid manifest row: manifest m.csv line 3 (sample 'R1')")
    assert listed_in_manifest(sample_of("S1", [landed("TH01", "6", "9.3")], m), BatchContext("e.txt", m, CAT)) is False


def test_probable_mixture_quarantines_the_sample_and_keeps_the_three_allele_reasons():
    m = manifest("M1,candidate,,,")
    three = [{**landed(locus, "", ""), "outcome": "quarantined", "kind": "three_allele", "reason": "three"}
             for locus in ("TH01", "FGA")]
    rows = [*three, landed("vWA", "17", "18")]
    assert probable_mixture(sample_of("M1", rows, m), BatchContext("e.txt", m, CAT)) is True
    reason = ("probable mixture: sample 'M1' (e.txt) has three or more alleles at 2 loci (TH01, FGA); expected at "
              "most 1 for a single-source profile")
    assert [(r["kind"], r["reason"]) for r in rows] == [
        ("three_allele", f"three; {reason}"), ("three_allele", f"three; {reason}"), ("mixture", reason)]
    one = [{**landed("TH01", "", ""), "outcome": "quarantined", "kind": "three_allele"}, landed("vWA", "17", "18")]
    assert probable_mixture(sample_of("M1", one, m), BatchContext("e.txt", m, CAT)) is False


def test_nothing_landed_stops_at_a_sample_without_landed_rows():
    m = manifest("S1,candidate,,,")
    untyped = [{**landed("TH01", "", ""), "outcome": "untyped", "kind": "no_call"}]
    assert nothing_landed(sample_of("S1", untyped, m), BatchContext("e.txt", m, CAT)) is True
    assert untyped[0]["outcome"] == "untyped"
    assert nothing_landed(sample_of("S1", [landed("TH01", "6", "9.3")], m), BatchContext("e.txt", m, CAT)) is False


def test_conflicting_batch_genotypes_lists_each_line():
    m = manifest("C1,candidate,,,")
    rows = [landed("TH01", "6", "9.3", line=3), landed("TH01", "7", "9.3", line=7), landed("vWA", "17", "17", 4)]
    assert conflicting_batch_genotypes(sample_of("C1", rows, m), BatchContext("e.csv", m, CAT)) is True
    assert {r["kind"] for r in rows} == {"conflict"}
    assert rows[2]["reason"] == ("sample 'C1' has different genotypes for one locus within e.csv: TH01: line 3 "
                                 "6/9.3, line 7 7/9.3")
    same = [landed("TH01", "6", "9.3", line=3), landed("TH01", "6", "9.3", line=7)]
    assert conflicting_batch_genotypes(sample_of("C1", same, m), BatchContext("e.csv", m, CAT)) is False


def test_conflicting_store_identity_names_the_stored_role_and_the_taken_family_slot():
    m = manifest("R1,reference,F1,father,male")
    stored = {"R1": {"role": "candidate", "lab": "L", "file_id": 1}}
    members = {("L", "F1"): [{"sample_id": "R0", "relationship": "father", "file_id": 2}]}
    rows = [landed("TH01", "6", "9.3")]
    batch = BatchContext("e.txt", m, CAT, stored_samples=stored, stored_members=members)
    assert conflicting_store_identity(sample_of("R1", rows, m), batch) is True
    assert rows[0]["kind"] == "conflict"
    assert rows[0]["reason"] == ("sample 'R1' conflicts with the store: stored as role 'candidate' (file_id 1) but "
                                 "the manifest says 'reference'; family L/F1 already has father 'R0' (file_id 2)")
    assert conflicting_store_identity(sample_of("R1", [landed("TH01", "6", "9.3")], m),
                                      BatchContext("e.txt", m, CAT)) is False


def test_conflicting_stored_genotypes_diffs_locus_by_locus():
    m = manifest("C1,candidate,,,")
    rows = [landed("TH01", "6", "9.3"), landed("vWA", "17", "17", line=4)]
    batch = BatchContext("e.txt", m, CAT, stored_profiles={"C1": {"TH01": ("7", "9.3", 4), "vWA": ("17", "17", 4)}})
    assert conflicting_stored_genotypes(sample_of("C1", rows, m), batch) is True
    assert rows[0]["reason"] == ("sample 'C1' (e.txt) conflicts with its stored profile at 1 of 2 loci: TH01 "
                                 "stored 7/9.3 (file_id 4) != new 6/9.3 (line 3)")
    extension = BatchContext("e.txt", m, CAT, stored_profiles={"C1": {"FGA": ("22", "25", 4)}})
    assert conflicting_stored_genotypes(sample_of("C1", [landed("TH01", "6", "9.3")], m), extension) is False


@pytest.mark.parametrize("n_stored, expected", [(10, True), (11, False)])
def test_too_few_autosomal_loci_counts_the_batch_and_the_store_together(n_stored, expected):
    m = manifest("C1,candidate,,,")
    autosomal = [x.name for x in CAT if x.is_autosomal]
    stored = {"C1": {locus: ("10", "11", 1) for locus in autosomal[1:1 + n_stored]}}
    rows = [landed(autosomal[0], "6", "9.3"), landed("AMEL", "X", "Y", line=4),
            {**landed(autosomal[-1], "", ""), "outcome": "untyped", "kind": "no_call"}]
    batch = BatchContext("e.txt", m, CAT, stored_profiles=stored)
    assert too_few_autosomal_loci(sample_of("C1", rows, m), batch) is expected
    if expected:
        assert [r["outcome"] for r in rows] == ["quarantined", "quarantined", "untyped"]
        assert rows[0]["value"] == "11" and rows[0]["kind"] == "too_few_loci"
        assert "has 11 typed autosomal loci (10 already stored); expected at least 12" in rows[0]["reason"]


@pytest.mark.parametrize("locus,calls,value", [
    ("TH01", ("0", "9.3"), "0"),
    ("FGA", ("999", "22"), "999"),
    ("vWA", ("1234567890123456", "16"), "1234567890123456"),  # 17 digits and more: rule 3 (label length)
    ("FGA", ("19", "2"), "2"),  # "19<TAB>22" cut one byte short
    ("TH01", ("9.4", "6"), "9.4"),
])
def test_an_implausible_call_is_quarantined_naming_the_range(locus, calls, value):
    check = row("S1", locus, *calls)
    assert decided_by(check) is plausible_alleles
    assert (check.row["outcome"], check.row["kind"], check.row["value"]) == ("quarantined", "implausible_allele", value)
    assert f"allele {value!r} at {locus}" in check.row["reason"] and "e.txt line" in check.row["reason"]


def test_an_off_ladder_but_plausible_call_lands_and_flags_the_sample():
    records = parse_tidy(b"sample_id,locus,allele_1,allele_2\n" + b"".join(
        f"S1,{locus},{a},{b}\n".encode() for locus, a, b in [
            ("D18S51", "45", "13"), ("TH01", "6", "9.3"), ("vWA", "14", "16"), ("FGA", "22", "24"),
            ("D3S1358", "15", "16"), ("D8S1179", "13", "14"), ("D21S11", "29", "30"), ("D7S820", "10", "11"),
            ("CSF1PO", "11", "12"), ("D5S818", "11", "12"), ("D13S317", "8", "11"), ("D16S539", "9", "11")]))
    plan = plan_batch(records, manifest("S1,candidate,,,"), file="t.csv")
    assert (plan.rows["outcome"] == "landed").all()
    flags = [w for w in plan.warnings if w.kind == "off_ladder_allele"]
    assert [(f.sample_id, f.value) for f in flags] == [("S1", "D18S51:45")]
    assert "outside every bundled kit's ladder" in flags[0].reason
    assert "off_ladder_allele" in FLAG_KINDS
