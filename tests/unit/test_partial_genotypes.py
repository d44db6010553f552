"""Partial genotypes at ingestion: one allele known, the other unknown, landed as ``(allele, "?")``.

Issue 10, deliverable 4 (the ingestion side): a declared unknown second allele (``?`` or ``-``,
``12/-`` in one cell) from any reader, one allele beside an ``OL`` peak (with a warning), the
store round trip on SQLite and PostgreSQL, conflicts, the duplicate screen and the 12-locus rule.
Every case asserts the genotype rows that land.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kinship.app.ingest import duplicate_warnings, ingest_batch, plan_batch
from kinship.app.ingest.row_rules import UNKNOWN_CALLS, decide_rows, decide_rows_one_by_one
from kinship.genetics.alleles import UNKNOWN_ALLELE
from kinship.genetics.loci import default_catalogue
from kinship.genetics.profile_keys import keys_agree, profile_keys
from kinship.io import read_export
from kinship.io.manifest import parse_manifest
from kinship.io.tidy import records_from_calls

CAT = default_catalogue()

#: Twelve autosomal loci of one person: the CODIS 13 but vWA (block codis13_a complete).
BASE = {"D3S1358": ("15", "16"), "D5S818": ("11", "12"), "D7S820": ("10", "11"), "D8S1179": ("13", "14"),
        "D13S317": ("8", "11"), "CSF1PO": ("11", "12"), "D16S539": ("9", "11"), "D18S51": ("14", "17"),
        "D21S11": ("29", "30"), "FGA": ("22", "24"), "TH01": ("6", "9.3"), "TPOX": ("8", "11")}


def decide(locus: str, *calls: str) -> dict:
    recs = records_from_calls(["S1"], [locus], [list(calls)], [2])
    rows = decide_rows(recs, file="e.csv", catalogue=CAT)
    assert rows == decide_rows_one_by_one(recs, file="e.csv", catalogue=CAT)
    return rows[0]


def outcome(row: dict) -> tuple[str, str, str, str]:
    return row["outcome"], row["kind"], row["allele_1"], row["allele_2"]


# -- the row rules -----------------------------------------------------------------------------


def test_the_reserved_labels_are_the_ones_the_row_rules_read():
    assert UNKNOWN_ALLELE == "?" and UNKNOWN_CALLS == frozenset({"?", "-"})


@pytest.mark.parametrize("calls,expected", [
    (("12", "?"), ("landed", "ok", "12", "?")),
    (("12", "-"), ("landed", "ok", "12", "?")),
    (("?", "12"), ("landed", "ok", "12", "?")),  # "?" first: the same partial, known allele first
    (("-", "9.3"), ("landed", "ok", "9.3", "?")),
    ((" 12 ", " - "), ("landed", "ok", "12", "?")),
    (("12/-",), ("landed", "ok", "12", "?")),  # one cell
    (("12/?",), ("landed", "ok", "12", "?")),
    (("? / 9.3",), ("landed", "ok", "9.3", "?")),
    (("012", "?"), ("landed", "ok", "12", "?")),  # canonical label, as for full genotypes
    (("12", ""), ("landed", "ok", "12", "12")),  # a blank second allele: a homozygote
    (("12",), ("landed", "ok", "12", "12")),
    (("12", "14"), ("landed", "ok", "12", "14")),
    (("?", "?"), ("untyped", "no_call", "", "")),
    (("-", "-"), ("untyped", "no_call", "", "")),
    (("?/?",), ("untyped", "no_call", "", "")),
    (("-/-",), ("untyped", "no_call", "", "")),
    (("?",), ("untyped", "no_call", "", "")),
    (("-",), ("untyped", "no_call", "", "")),
    (("OL", "12"), ("landed", "partial_off_ladder", "12", "?")),
    (("12", "OL"), ("landed", "partial_off_ladder", "12", "?")),
    (("OL",), ("untyped", "off_ladder", "", "")),
    (("OL", "OL"), ("untyped", "off_ladder", "", "")),
    (("OL", "?"), ("untyped", "off_ladder", "", "")),
    (("12", "14", "OL"), ("untyped", "off_ladder", "", "")),  # a third peak
    (("OL", "OL", "12"), ("untyped", "off_ladder", "", "")),  # 12 may not be an allele
    (("12", "OL", "?"), ("untyped", "off_ladder", "", "")),
    (("12", "14", "?"), ("quarantined", "bad_allele", "", "")),
    (("12", "12", "?"), ("quarantined", "bad_allele", "", "")),
    (("12", "?", "?"), ("quarantined", "bad_allele", "", "")),
    (("12", "14", "15", "?"), ("quarantined", "three_allele", "", "")),
    (("12/14",), ("quarantined", "bad_allele", "", "")),  # two alleles take two cells
    (("999", "?"), ("quarantined", "implausible_allele", "", "")),  # the known allele is still judged
    (("9.4", "-"), ("quarantined", "implausible_allele", "", "")),
    ((">27", "-"), ("quarantined", "out_of_range", "", "")),
    (("X", "?"), ("quarantined", "bad_allele", "", "")),  # X at an STR locus
])
def test_partial_calls_at_an_autosomal_locus(calls, expected):
    assert outcome(decide("D21S11" if calls[0] == ">27" else "TH01", *calls)) == expected


def test_the_landed_partial_keeps_the_raw_calls_and_the_unknown_value():
    row = decide("TH01", "12/-")
    assert (row["calls"], row["value"], row["reason"]) == ("12,-", "12,-", "")
    bad = decide("TH01", "12", "14", "-")
    assert bad["value"] == "-"
    assert bad["reason"] == ("unknown allele '-' beside the calls 12,14,- at TH01 (e.csv line 2, sample 'S1', "
                             "locus 'TH01'): a partial genotype is one called allele and one unknown, a full "
                             "genotype two called alleles; these calls are neither")
    assert bad["fix"].startswith("write a partial genotype as one allele and '?' (or '-')")


def test_one_allele_beside_an_off_ladder_peak_lands_partial_with_its_reason():
    row = decide("vWA", "OL", "17")
    assert outcome(row) == ("landed", "partial_off_ladder", "17", "?")
    assert row["reason"] == ("off-ladder call beside allele 17 (calls OL,17) at vWA: stored as the partial "
                             "genotype 17/? (the other allele unknown)")


@pytest.mark.parametrize("locus,calls,kind", [
    ("AMEL", ("X", "?"), "partial_not_autosomal"),
    ("Amelogenin", ("Y", "-"), "partial_not_autosomal"),
    ("AMEL", ("X/-",), "partial_not_autosomal"),
    ("AMEL", ("OL", "X"), "off_ladder"),
    ("AMEL", ("?", "?"), "no_call"),
    ("DYS19", ("14", "?"), "partial_not_autosomal"),
    ("DYS19", ("OL", "14"), "off_ladder"),
])
def test_a_partial_call_at_a_locus_that_is_not_autosomal_is_untyped(locus, calls, kind):
    row = decide(locus, *calls)
    assert outcome(row) == ("untyped", kind, "", "")
    if locus == "AMEL" and calls == ("X", "?"):
        assert row["reason"] == ("a partial genotype (X/?) at the sex marker AMEL is not a sex call (X/? may be "
                                 "X,X or X,Y) (calls X,?): the locus is left untyped")
    if locus == "DYS19" and kind == "partial_not_autosomal":
        assert row["reason"] == ("a partial genotype (14/?) at DYS19, a y locus, is not kept (partial genotypes are "
                                 "kept at autosomal loci only) (calls 14,?): the locus is left untyped")


def test_the_fast_path_decides_partials_as_one_by_one_with_hostile_places():
    calls = [["12", "?"], ["?", "12"], ["12/-"], ["-/12"], ["OL", "12"], ["12", "OL"], ["?", "?"], ["12", "14", "?"],
             ["OL", "OL", "12"], ["X", "?"], ["999", "-"], ["12", ""]]
    loci = ["TH01", "AMEL", "DYS19", "NOPE"]
    samples = ["S1", "O'Brien", "back\\slash", "", "mark\x1ein name"]
    rows = [(s, locus, c) for s in samples for locus in loci for c in calls]
    recs = records_from_calls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                              list(range(2, 2 + len(rows))))
    fast = decide_rows(recs, file="q'\".csv", catalogue=CAT)
    assert fast == decide_rows_one_by_one(recs, file="q'\".csv", catalogue=CAT)
    assert sum(r["allele_2"] == "?" for r in fast) == 6 * 4  # six partial call sets, at TH01, of 4 named samples


# -- readers -----------------------------------------------------------------------------------


def landed_pairs(records) -> list[tuple]:
    return [(r["locus"], r["outcome"], r["kind"], r["allele_1"], r["allele_2"])
            for r in decide_rows(records, file="x", catalogue=CAT)]


def test_tidy_partial_forms_and_the_blank_homozygote():
    raw = (b"sample_id,locus,allele_1,allele_2\n"
           b"S1,TH01,12,-\nS1,vWA,?,17\nS1,FGA,22/-,\nS1,D18S51,13,\nS1,D21S11,?,?\nS1,TPOX,OL,8\nS1,CSF1PO,10,NA\n")
    assert landed_pairs(read_export("e.csv", fmt="tidy", data=raw)) == [
        ("TH01", "landed", "ok", "12", "?"), ("vWA", "landed", "ok", "17", "?"), ("FGA", "landed", "ok", "22", "?"),
        ("D18S51", "landed", "ok", "13", "13"), ("D21S11", "untyped", "no_call", "", ""),
        ("TPOX", "landed", "partial_off_ladder", "8", "?"),
        ("CSF1PO", "landed", "ok", "10", "10"),  # NA is no call: a homozygote, as a blank (documented)
    ]


def test_parquet_partial_and_null_second_allele():
    buf = io.BytesIO()
    pq.write_table(pa.table({"sample_id": ["S1", "S1", "S1"], "locus": ["TH01", "vWA", "FGA"],
                             "allele_1": ["12", "-", "22"], "allele_2": ["?", "17", None]}), buf)
    assert landed_pairs(read_export("e.parquet", fmt="parquet", data=buf.getvalue())) == [
        ("TH01", "landed", "ok", "12", "?"), ("vWA", "landed", "ok", "17", "?"), ("FGA", "landed", "ok", "22", "22")]


def test_genemapper_long_partial_off_ladder_and_blank_homozygote():
    raw = (b"Sample Name\tMarker\tAllele 1\tAllele 2\tAllele 3\n"
           b"S1\tTH01\t12\t-\t\nS1\tvWA\tOL\t17\t\nS1\tFGA\t22\t\t\nS1\tD18S51\t?\t?\t\nS1\tD21S11\tOL\t29\t30\n")
    assert landed_pairs(read_export("e.txt", fmt="genemapper", data=raw)) == [
        ("TH01", "landed", "ok", "12", "?"), ("vWA", "landed", "partial_off_ladder", "17", "?"),
        ("FGA", "landed", "ok", "22", "22"), ("D18S51", "untyped", "no_call", "", ""),
        ("D21S11", "untyped", "off_ladder", "", "")]


def test_genemapper_wide_partial_cells():
    raw = (b'"Sample Name","TH01","vWA","FGA","D18S51"\n'
           b'"S1","12, -, ","17,?","22, , ","?, ?"\n')
    recs = read_export("e.csv", fmt="genemapper", data=raw)
    assert recs["problem"].tolist() == ["", "", "", ""]  # "17,?" is no decimal comma
    assert landed_pairs(recs) == [("TH01", "landed", "ok", "12", "?"), ("vWA", "landed", "ok", "17", "?"),
                                  ("FGA", "landed", "ok", "22", "22"), ("D18S51", "untyped", "no_call", "", "")]


def test_cmf_partial_allele_values():
    def locus(name, *values):
        return (f"<LOCUS><LOCUSNAME>{name}</LOCUSNAME>"
                + "".join(f"<ALLELE><ALLELEVALUE>{v}</ALLELEVALUE></ALLELE>" for v in values) + "</LOCUS>")
    raw = ('<?xml version="1.0" encoding="utf-8"?><CODISImportFile><SPECIMEN CASEID="F-7">'
           "<SPECIMENID>R-1</SPECIMENID><SPECIMENCATEGORY>Biological Mother</SPECIMENCATEGORY>"
           + locus("TH01", "9.3", "?") + locus("vWA", "-", "17") + locus("FGA", "22")
           + "</SPECIMEN></CODISImportFile>").encode()
    assert landed_pairs(read_export("e.xml", fmt="cmf", data=raw)) == [
        ("TH01", "landed", "ok", "9.3", "?"), ("vWA", "landed", "ok", "17", "?"), ("FGA", "landed", "ok", "22", "22")]


# -- a batch through the store (SQLite and PostgreSQL) -------------------------------------------


def write_tidy(tmp_path, name: str, rows) -> object:
    path = tmp_path / name
    path.write_text("sample_id,locus,allele_1,allele_2\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def write_manifest(tmp_path, name: str, *lines: str) -> object:
    path = tmp_path / name
    path.write_text("sample_id,role,family_id,relationship,sex\n" + "".join(f"{x}\n" for x in lines))
    return path


def profile(sample: str, genotypes: dict) -> list[tuple[str, str, str, str]]:
    return [(sample, locus, a1, a2) for locus, (a1, a2) in genotypes.items()]


def test_a_partial_batch_lands_round_trips_and_counts_add_up(store, tmp_path):
    rows = (profile("C1", {k: v for k, v in BASE.items() if k not in ("TH01", "FGA")})
            + [("C1", "TH01", "12", "-"), ("C1", "FGA", "OL", "22"), ("C1", "vWA", "?", "?"),
               ("C1", "AMEL", "X", "?"), ("C1", "D2S1338", "?", "19"), ("C1", "D19S433", "13", "")])
    s = ingest_batch(store, write_tidy(tmp_path, "e.csv", rows), write_manifest(tmp_path, "m.csv", "C1,candidate,,,"),
                     lab="L", fmt="tidy")
    # 10 full + TH01 12/? + FGA 22/? (OL) + D2S1338 19/? + D19S433 13/13 = 14 landed; vWA, AMEL untyped
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined) == (16, 14, 2, 0)
    assert s.n_landed + s.n_untyped + s.n_quarantined == s.n_rows
    assert [(w.kind, w.locus, w.value) for w in s.warnings] == [
        ("partial_off_ladder", "FGA", "OL,22"), ("no_call", "vWA", "?,?"), ("partial_not_autosomal", "AMEL", "X,?")]
    assert (s.n_genotypes_added, s.n_flagged, s.n_warnings) == (14, 0, 3)
    geno = store.load_genotypes()
    got = {r.locus: (r.allele_1, r.allele_2) for r in geno.itertuples()}
    assert got == {**{k: v for k, v in BASE.items() if k not in ("TH01", "FGA")}, "TH01": ("12", "?"),
                   "FGA": ("22", "?"), "D2S1338": ("19", "?"), "D19S433": ("13", "13")}
    stored = store.stored_profiles(["C1"])["C1"]
    assert stored["TH01"][:2] == ("12", "?") and stored["FGA"][:2] == ("22", "?")
    assert "?" not in store.observed_alleles()["TH01"] and store.observed_alleles()["TH01"] == {"12"}
    warnings = store.warning_records()
    assert warnings["kind"].tolist() == ["partial_off_ladder", "no_call", "partial_not_autosomal"]
    # the same batch again adds nothing
    again = ingest_batch(store, tmp_path / "e.csv", tmp_path / "m.csv", lab="L", fmt="tidy")
    assert again.already_ingested and len(store.load_genotypes()) == 14


def test_a_full_retest_of_a_stored_partial_conflicts_and_says_so(store, tmp_path):
    first = profile("C1", {**BASE, "TH01": ("12", "?")})
    ingest_batch(store, write_tidy(tmp_path, "a.csv", [r if r[1] != "TH01" else ("C1", "TH01", "12", "?")
                                                       for r in first]),
                 write_manifest(tmp_path, "m.csv", "C1,candidate,,,"), lab="L", fmt="tidy")
    full = profile("C1", {**BASE, "TH01": ("12", "14")})
    s = ingest_batch(store, write_tidy(tmp_path, "b.csv", full), tmp_path / "m.csv", lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined) == (0, 12)
    q = s.quarantine[0]
    assert q.kind == "conflict"
    assert q.reason == ("sample 'C1' (b.csv) conflicts with its stored profile at 1 of 12 loci: TH01 stored 12/? "
                        "(file_id 1) != new 12/14 (line 12); a partial genotype (a/?: one allele unknown) and a "
                        "full one (a/b) are different typings, never merged")
    assert q.fix.startswith("if the new typing sizes the allele a stored partial genotype lacks")
    assert {r.locus: (r.allele_1, r.allele_2) for r in store.load_genotypes().itertuples()}["TH01"] == ("12", "?")
    # and the other way round: a partial re-test of a full stored genotype
    ingest_batch(store, write_tidy(tmp_path, "c.csv", profile("C2", BASE)),
                 write_manifest(tmp_path, "m2.csv", "C2,candidate,,,"), lab="L", fmt="tidy")
    partial = [r if r[1] != "FGA" else ("C2", "FGA", "22", "-") for r in profile("C2", BASE)]
    s2 = ingest_batch(store, write_tidy(tmp_path, "d.csv", partial), tmp_path / "m2.csv", lab="L", fmt="tidy")
    assert s2.n_quarantined == 12 and "FGA stored 22/24 (file_id 3) != new 22/? (line 11)" in s2.quarantine[0].reason
    assert "never merged" in s2.quarantine[0].reason


def test_a_partial_and_a_full_genotype_in_one_file_conflict():
    rows = profile("C1", BASE) + [("C1", "TH01", "6", "?")]
    recs = read_export("e.csv", fmt="tidy", data=("sample_id,locus,allele_1,allele_2\n" + "".join(
        ",".join(r) + "\n" for r in rows)).encode())
    m = parse_manifest(b"sample_id,role,family_id,relationship,sex\nC1,candidate,,,\n", file="m.csv", lab="L")
    plan = plan_batch(recs, m, file="e.csv")
    assert set(plan.rows["outcome"]) == {"quarantined"}
    reason = plan.rows["reason"].iloc[0]
    assert reason == ("sample 'C1' has different genotypes for one locus within e.csv: TH01: line 12 6/9.3, "
                      "line 14 6/?; a partial genotype (a/?: one allele unknown) and a full one (a/b) are "
                      "different typings, never merged")
    assert plan.rows["fix"].iloc[0].startswith("keep one typing per sample and locus in the export: the full genotype")


def test_the_same_partial_twice_in_one_file_is_a_repeated_row():
    rows = profile("C1", {**BASE, "TH01": ("12", "?")}) + [("C1", "TH01", "?", "12")]
    recs = read_export("e.csv", fmt="tidy", data=("sample_id,locus,allele_1,allele_2\n" + "".join(
        ",".join(r) + "\n" for r in rows)).encode())
    m = parse_manifest(b"sample_id,role,family_id,relationship,sex\nC1,candidate,,,\n", file="m.csv", lab="L")
    plan = plan_batch(recs, m, file="e.csv")
    assert (plan.rows["outcome"] == "landed").all()
    assert [(w.kind, w.line) for w in plan.warnings] == [("repeated_row", 14)]
    assert plan.rows["is_new"].sum() == 12


@pytest.mark.parametrize("th01,n_loci,lands", [(("12", "?"), 12, True), (("?", "?"), 11, False)])
def test_a_partial_locus_counts_as_typed_for_the_12_locus_minimum(th01, n_loci, lands):
    rows = profile("C1", {**BASE, "TH01": th01})
    recs = read_export("e.csv", fmt="tidy", data=("sample_id,locus,allele_1,allele_2\n" + "".join(
        ",".join(r) + "\n" for r in rows)).encode())
    m = parse_manifest(b"sample_id,role,family_id,relationship,sex\nC1,candidate,,,\n", file="m.csv", lab="L")
    out = plan_batch(recs, m, file="e.csv").rows
    if lands:
        assert (out["outcome"] == "landed").sum() == 12
        assert out.loc[out["locus"] == "TH01", ["allele_1", "allele_2"]].values.tolist() == [["12", "?"]]
    else:
        assert out["outcome"].value_counts().to_dict() == {"quarantined": 11, "untyped": 1}
        assert "has 11 typed autosomal loci" in out.loc[out["outcome"] == "quarantined", "reason"].iloc[0]
    assert n_loci == (out["outcome"] != "untyped").sum()


# -- the duplicate screen ------------------------------------------------------------------------


def test_profile_keys_tell_a_partial_from_the_full_genotype():
    full = {**BASE, "vWA": ("17", "18")}  # the 13 CODIS loci
    partial = {**full, "TH01": ("6", "?")}
    assert profile_keys(full).keys() == profile_keys(partial).keys() == {"codis13_a", "codis13_b", "ess12_b"}
    assert profile_keys(full)["codis13_a"] == profile_keys(partial)["codis13_a"]  # TH01 is not in it
    assert profile_keys(full)["codis13_b"] != profile_keys(partial)["codis13_b"]
    assert profile_keys(full)["ess12_b"] != profile_keys(partial)["ess12_b"]
    assert not keys_agree(profile_keys(full), profile_keys(partial))
    assert keys_agree(profile_keys(partial), profile_keys(dict(partial)))


@pytest.mark.parametrize("c2_th01,duplicate", [(("6", "?"), True), (("6", "9.3"), False)])
def test_a_partial_profile_is_not_a_duplicate_of_the_complete_one(c2_th01, duplicate):
    rows = profile("C1", {**BASE, "TH01": ("6", "?")}) + profile("C2", {**BASE, "TH01": c2_th01})
    # C1's TH01 is partial; C2 is either the same partial (a true duplicate) or complete
    recs = read_export("e.csv", fmt="tidy", data=("sample_id,locus,allele_1,allele_2\n" + "".join(
        ",".join(r) + "\n" for r in rows)).encode())
    m = parse_manifest(b"sample_id,role,family_id,relationship,sex\nC1,candidate,,,\nC2,candidate,,,\n",
                       file="m.csv", lab="L")
    plan = plan_batch(recs, m, file="e.csv")
    assert (plan.rows["outcome"] == "landed").sum() == 24
    dups = duplicate_warnings(plan.rows, file="e.csv", stored_profiles={})
    # they share the codis13_a key (TH01 is not in it), so they are compared locus by locus: the
    # same partial twice is a duplicate, the partial against the complete genotype is not
    assert [(w.sample_id, w.value) for w in dups] == ([("C1", "C2")] if duplicate else [])
    if duplicate:
        assert "at all 12 shared autosomal loci" in dups[0].reason


def test_a_stored_complete_profile_is_not_flagged_against_a_partial_batch(store, tmp_path):
    ingest_batch(store, write_tidy(tmp_path, "a.csv", profile("C1", BASE)),
                 write_manifest(tmp_path, "m.csv", "C1,candidate,,,"), lab="L", fmt="tidy")
    s = ingest_batch(store, write_tidy(tmp_path, "b.csv", profile("C2", {**BASE, "TH01": ("6", "?")})),
                     write_manifest(tmp_path, "m2.csv", "C2,candidate,,,"), lab="L", fmt="tidy")
    assert s.n_landed == 12 and [w.kind for w in s.warnings] == []
    s3 = ingest_batch(store, write_tidy(tmp_path, "c.csv", profile("C3", BASE)),
                      write_manifest(tmp_path, "m3.csv", "C3,candidate,,,"), lab="L", fmt="tidy")
    assert [(w.kind, w.value) for w in s3.warnings] == [("possible_duplicate", "C1")]  # the full one only
