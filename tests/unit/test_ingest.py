"""Normalisation, validation and atomic, idempotent landing of a batch."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from kinship.errors import ExportFormatError
from kinship.app.ingest import IngestSummary, batch_identity, batch_sha256, ingest_batch
from kinship.report import ingestion_summary_markdown
from kinship.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
HEADER = "sample_id,locus,allele_1,allele_2\n"
MANIFEST_HEADER = "sample_id,role,family_id,relationship,sex\n"

# A small clean profile (TH01 heterozygote with a microvariant, one homozygote, Amelogenin).
C1 = {"AMEL": ("X", "Y"), "TH01": ("6", "9.3"), "D3S1358": ("15", "16"), "vWA": ("17", "17"), "FGA": ("22", "25")}


# The ``store`` fixture (tests/unit/conftest.py) runs every test on SQLite and on PostgreSQL.


def tidy(tmp_path, name: str, rows: list[tuple[str, str, str, str]]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(",".join(r) + "\n" for r in rows))
    return path


def manifest(tmp_path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(MANIFEST_HEADER + "".join(r + "\n" for r in rows))
    return path


def profile_rows(sample: str, genotypes: dict) -> list[tuple[str, str, str, str]]:
    return [(sample, locus, a1, a2) for locus, (a1, a2) in genotypes.items()]


def ingest_small(store, export, manifest_path, **kwargs) -> IngestSummary:
    """Ingest a hand-written batch whose profiles are shorter than the 12-locus minimum."""
    kwargs.setdefault("min_autosomal_loci", 1)
    return ingest_batch(store, export, manifest_path, **kwargs)


def assert_adds_up(summary: IngestSummary) -> None:
    assert summary.n_landed + summary.n_untyped + summary.n_quarantined == summary.n_rows
    assert len(summary.quarantine) == summary.n_quarantined
    assert len(summary.warnings) == summary.n_warnings


def count(store: Store, table: str) -> int:
    with store.engine.connect() as c:
        return c.execute(sa.text(f"select count(*) from {table}")).scalar_one()


# -- real data -----------------------------------------------------------------------------------


def test_set3_lands_manifest_samples_and_quarantines_ladders_controls_and_mixtures(store):
    s = ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS", kit="ESX17")
    # Counted by hand from set3.txt (680 data rows, 38 sample names, 17 loci each; the two
    # controls 01-Pos.ktr.__ and 02-Neg.ktr.__ appear twice, 34 rows each):
    # * the manifest lists 7 samples of the export (7 x 17 = 119 rows) and 99-NOT-TYPED, which
    #   is not in it -> 680 - 119 = 561 rows of 31 other names (3 ladders, 3 control names,
    #   25 dilution-series samples) quarantined "not in the manifest";
    # * 03-A2.1 has more than two alleles at 16 loci (all but AMEL X/Y): 16 three-allele rows +
    #   1 row (AMEL) of a probable mixture = 17 quarantined;
    # * 05-BC4 has more than two alleles at 9 loci (D3S1358, D21S11, D18S51, D10S1248, D1S1656,
    #   D22S1045, D2S441, D19S433, SE33) -> probable mixture, all 17 rows quarantined;
    #   quarantined = 561 + 17 + 17 = 595;
    # * 15-A2.13: 17 landed; 18-A2.14: 16 landed + D12S391 no call; 35-F2.6: 16 landed +
    #   D1S1656 'OL'; 38-F2.9: 5 landed (D3S1358, TH01, D16S539, vWA, D8S1179) + 11 no calls +
    #   D1S1656 'OL'; 08-BC7: 13 landed + 4 no calls (D18S51, D10S1248, D16S539, D22S1045)
    #   -> landed = 17 + 16 + 16 + 5 + 13 = 67, untyped = 1 + 1 + 12 + 4 = 18;
    # * warnings: one per untyped row (18) + 99-NOT-TYPED without genotypes = 19.
    # Then the 12-autosomal-locus minimum: 38-F2.9 has 5 typed loci -> its 5 landed rows are
    # quarantined (too_few_loci): landed 62, quarantined 600; 08-BC7 (13 loci incl. AMEL = 12
    # autosomal) just passes. 08-BC7 is declared a father but its AMEL is X/X: one sex_check
    # flag (20 warnings).
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined) == (680, 62, 18, 600)
    assert (s.n_warnings, s.n_samples_landed, s.n_genotypes_added, s.n_flagged) == (20, 4, 62, 1)
    assert not s.already_ingested and s.manifest_errors == []
    assert_adds_up(s)

    by_sample = Counter(q.sample_id for q in s.quarantine)
    assert by_sample["16-Ladder__"] == 17 and by_sample["01-Pos.ktr.__"] == 34 and by_sample["02-Neg.ktr.__"] == 34
    assert by_sample["03-A2.1"] == 17 and by_sample["05-BC4"] == 17
    ladder = next(q for q in s.quarantine if q.sample_id == "48-Ladder__")
    assert "is in the export but not in manifest set3_manifest.csv" in ladder.reason
    assert "ladders and positive/negative controls need no action" in ladder.fix
    a21 = {q.locus: q for q in s.quarantine if q.sample_id == "03-A2.1"}
    assert a21["D3S1358"].reason.startswith("three-allele pattern: 5 distinct alleles called (13, 14, 15, 16, 17)")
    assert "probable mixture: sample '03-A2.1' (set3.txt) has three or more alleles at 16 loci" in a21["AMEL"].reason
    assert a21["D3S1358"].line == 37

    geno = store.load_genotypes()
    assert geno.groupby("sample_id").size().to_dict() == {"08-BC7": 13, "15-A2.13": 17, "18-A2.14": 16, "35-F2.6": 16}
    f29 = [q for q in s.quarantine if q.sample_id == "38-F2.9"]
    assert len(f29) == 5 and {q.kind for q in f29} == {"too_few_loci"}
    assert "has 5 typed autosomal loci (0 already stored); expected at least 12" in f29[0].reason
    assert "OL" not in set(geno["allele_1"]) | set(geno["allele_2"])
    th01 = geno[(geno.sample_id == "35-F2.6") & (geno.locus == "TH01")].iloc[0]
    assert (th01.allele_1, th01.allele_2) == ("8", "9.3")
    # The father of FAM-A (03-A2.1) was quarantined; only the mother is a stored member.
    assert store.load_family_members()[["family_id", "sample_id", "relationship"]].values.tolist() == [
        ["FAM-A", "15-A2.13", "mother"], ["FAM-B", "08-BC7", "father"]]
    assert count(store, "quarantine") == 600 and count(store, "warnings") == 20
    kinds = Counter(q.kind for q in s.quarantine)
    assert kinds == {"not_in_manifest": 561, "three_allele": 25, "mixture": 9, "too_few_loci": 5}
    assert Counter(w.kind for w in s.warnings) == {"no_call": 16, "off_ladder": 2, "missing_from_export": 1,
                                                   "sex_check": 1}
    sex = next(w for w in s.warnings if w.kind == "sex_check")
    assert sex.sample_id == "08-BC7" and "AMEL X/X disagrees with declared relationship 'father'" in sex.reason
    report = ingestion_summary_markdown(s)
    assert "| 680 | 62 | 18 | 600 | 1 | 20 | 4 | 62 | 0 |" in report
    assert "| 05-BC4 | three_allele | 9 | 564 |" in report and "| 05-BC4 | mixture | 8 | 563 |" in report
    assert "9.3" not in report  # no genotypes in artifacts
    files = store.load_ingested_files()
    assert files[["n_rows", "n_landed", "n_untyped", "n_quarantined", "n_warnings", "n_flagged"]].values.tolist() == [
        [680, 62, 18, 600, 20, 1]]


def test_ref3_lands_three_full_profiles(store):
    s = ingest_batch(store, DATA / "ref3.txt", DATA / "ref3_manifest.csv", lab="OUS")
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined, s.n_samples_landed) == (51, 51, 0, 0, 3)
    geno = store.load_genotypes(role="reference")
    assert sorted(set(geno["sample_id"])) == ["A2", "F2"] and len(geno) == 34
    assert store.load_genotypes(role="candidate")["sample_id"].unique().tolist() == ["bc"]


def test_reingesting_the_same_batch_adds_nothing(store):
    first = ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS")
    before = {t: count(store, t) for t in ("genotypes", "samples", "quarantine", "warnings", "ingested_files")}
    again = ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS")
    assert again.already_ingested and again.n_genotypes_added == 0
    assert again.file_sha256 == first.file_sha256 == batch_sha256(
        (DATA / "set3.txt").read_bytes(), (DATA / "set3_manifest.csv").read_bytes(),
        batch_identity(lab="OUS", fmt="genemapper", kit=None, reader_options=None, min_autosomal_loci=12,
                       mixture_min_loci=2, duplicate_min_loci=10))
    assert (again.n_rows, again.n_landed, again.n_quarantined, again.n_warnings, again.n_flagged) == (680, 62, 600, 20, 1)
    assert [str(q) for q in again.quarantine] == [str(q) for q in first.quarantine]
    assert {t: count(store, t) for t in before} == before


# -- row rules -----------------------------------------------------------------------------------


def test_off_ladder_call_leaves_the_locus_untyped_with_a_warning(store, tmp_path):
    # OL alone (beside one called allele it is a partial genotype: tests/unit/test_partial_genotypes.py)
    rows = profile_rows("C1", C1) + [("C1", "D18S51", "OL", "OL")]
    s = ingest_small(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,male"]),
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_untyped, s.n_quarantined, s.n_warnings) == (5, 1, 0, 1)
    assert s.warnings[0].line == 7 and s.warnings[0].value == "OL,OL"
    assert "off-ladder call (calls OL,OL) at D18S51" in s.warnings[0].reason
    assert "D18S51" not in set(store.load_genotypes()["locus"])
    assert store.warning_records()["message"].str.contains("off-ladder").tolist() == [True]


def test_one_three_allele_locus_is_quarantined_and_the_rest_lands(store, tmp_path):
    rows = profile_rows("C1", C1) + [("C1", "D18S51", "13", "15")]
    path = tmp_path / "e.txt"  # GeneMapper layout, so a third allele column exists
    path.write_text("Sample Name\tMarker\tAllele 1\tAllele 2\tAllele 3\n"
                    + "".join(f"{s}\t{l}\t{a}\t{b}\t\n" for s, l, a, b in rows[:-1])
                    + "C1\tD18S51\t13\t15\t16\n")
    s = ingest_small(store, path, manifest(tmp_path, "m.csv", ["C1,candidate,,,"]), lab="L")
    assert (s.n_landed, s.n_quarantined, s.n_flagged) == (5, 1, 1)
    assert [w.kind for w in s.warnings] == ["three_allele_locus"]
    q = s.quarantine[0]
    assert (q.line, q.locus, q.value) == (7, "D18S51", "13,15,16")
    assert q.reason.startswith("three-allele pattern: 3 distinct alleles called (13, 15, 16) at D18S51")
    assert "mixture" not in q.reason


def test_two_three_allele_loci_make_the_profile_a_probable_mixture(store, tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("Sample Name\tMarker\tAllele 1\tAllele 2\tAllele 3\n"
                    "M1\tTH01\t6\t7\t9.3\nM1\tFGA\t20\t22\t23\nM1\tvWA\t17\t18\t\n"
                    + "".join(f"C1\t{l}\t{a}\t{b}\t\n" for l, (a, b) in C1.items()))
    s = ingest_small(store, path, manifest(tmp_path, "m.csv", ["M1,candidate,,,", "C1,candidate,,,"]), lab="L")
    assert (s.n_landed, s.n_quarantined, s.n_samples_landed) == (5, 3, 1)
    vwa = next(q for q in s.quarantine if q.locus == "vWA")
    assert "probable mixture: sample 'M1' (e.txt) has three or more alleles at 2 loci (TH01, FGA)" in vwa.reason
    assert "M1" not in set(store.load_samples()["sample_id"])


def test_unknown_locus_is_quarantined_with_a_suggestion_and_good_rows_land(store, tmp_path):
    rows = [r for r in profile_rows("C1", C1) if r[1] != "TH01"] + [("C1", "THO1", "6", "9.3")]
    s = ingest_small(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined) == (4, 1)
    q = s.quarantine[0]
    assert (q.line, q.locus, q.value) == (6, "THO1", "THO1")
    assert "unknown locus 'THO1' (e.csv line 6, sample 'C1', locus 'THO1'); did you mean TH01?" in q.reason
    assert count(store, "genotypes") == 4


def test_invalid_allele_is_quarantined(store, tmp_path):
    rows = profile_rows("C1", C1) + [("C1", "D18S51", "13.45", "15")]
    s = ingest_small(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                     lab="L", fmt="tidy")
    q = s.quarantine[0]
    assert (q.locus, q.value) == ("D18S51", "13.45")
    assert "allele '13.45' (e.csv line 7, sample 'C1', locus 'D18S51') is not ISFG nomenclature" in q.reason


def test_aliases_and_locus_spellings_are_canonicalised(store, tmp_path):
    rows = [("C1", "VWA", "18", "17"), ("C1", "Amelogenin", "Y", "X"), ("C1", "th01", "9.3", "6")]
    ingest_small(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                 lab="L", fmt="tidy")
    geno = store.load_genotypes()
    assert geno[["locus", "allele_1", "allele_2"]].values.tolist() == [
        ["AMEL", "X", "Y"], ["TH01", "6", "9.3"], ["vWA", "17", "18"]]


def test_sex_check_warns_without_blocking(store, tmp_path):
    rows = profile_rows("R1", C1)  # AMEL X,Y
    s = ingest_small(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["R1,reference,F1,mother,female"]),
                     lab="L", fmt="tidy")
    assert s.n_landed == 5 and s.n_warnings == 1
    assert "AMEL X/Y disagrees with manifest sex 'female'" in s.warnings[0].reason


def test_sample_without_any_autosomal_locus_is_not_stored(store, tmp_path):
    rows = [("C1", "AMEL", "X", "X"), ("C1", "TH01", "OL", "")]
    s = ingest_small(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_untyped, s.n_quarantined) == (0, 1, 1)
    assert "has 0 typed autosomal loci (0 already stored); expected at least 1" in s.quarantine[0].reason
    assert s.quarantine[0].kind == "too_few_loci"
    assert store.load_samples().empty


# -- sample and batch rules ----------------------------------------------------------------------


def test_bad_manifest_row_quarantines_its_sample_and_others_land(store, tmp_path):
    rows = profile_rows("C1", C1) + profile_rows("R1", C1)
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,", "R1,reference,,father,male"])
    s = ingest_small(store, tidy(tmp_path, "e.csv", rows), m, lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined, s.n_samples_landed) == (5, 5, 1)
    assert len(s.manifest_errors) == 1 and s.manifest_errors[0].line == 3
    assert "sample 'R1' has an invalid manifest row: manifest m.csv line 3 (sample 'R1'): column 'family_id'" in s.quarantine[0].reason
    stored = store.quarantine_records()
    assert Counter(stored["source"]) == {"export": 5, "manifest": 1}


def test_manifest_sample_missing_from_the_export_is_reported(store, tmp_path):
    s = ingest_small(store, tidy(tmp_path, "e.csv", profile_rows("C1", C1)),
                     manifest(tmp_path, "m.csv", ["C1,candidate,,,", "C2,candidate,,,"]), lab="L", fmt="tidy")
    assert s.n_warnings == 1 and s.warnings[0].source == "manifest" and s.warnings[0].line == 3
    assert "sample 'C2' is in manifest m.csv but has no rows in export e.csv" in s.warnings[0].reason


def test_identical_resubmission_in_another_file_adds_nothing(store, tmp_path):
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,"])
    ingest_small(store, tidy(tmp_path, "e1.csv", profile_rows("C1", C1)), m, lab="L", fmt="tidy")
    reordered = list(reversed(profile_rows("C1", C1)))
    s = ingest_small(store, tidy(tmp_path, "e2.csv", reordered), m, lab="L", fmt="tidy")
    assert not s.already_ingested
    assert (s.n_landed, s.n_quarantined, s.n_genotypes_added) == (5, 0, 0)
    assert count(store, "genotypes") == 5 and count(store, "samples") == 1 and count(store, "ingested_files") == 2


def test_resubmission_may_add_new_loci(store, tmp_path):
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,"])
    ingest_small(store, tidy(tmp_path, "e1.csv", profile_rows("C1", C1)), m, lab="L", fmt="tidy")
    s = ingest_small(store, tidy(tmp_path, "e2.csv", [("C1", "D18S51", "12", "14")]), m, lab="L", fmt="tidy")
    assert s.n_genotypes_added == 1 and count(store, "genotypes") == 6


def test_conflicting_resubmission_is_quarantined_with_a_locus_diff(store, tmp_path):
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,"])
    first = ingest_small(store, tidy(tmp_path, "e1.csv", profile_rows("C1", C1)), m, lab="L", fmt="tidy")
    changed = {**C1, "TH01": ("7", "9.3"), "FGA": ("22", "24")}
    s = ingest_small(store, tidy(tmp_path, "e2.csv", profile_rows("C1", changed)), m, lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined, s.n_genotypes_added) == (0, 5, 0)
    reason = s.quarantine[0].reason
    assert f"TH01 stored 6/9.3 (file_id {first.file_id}) != new 7/9.3 (line 3)" in reason
    assert f"FGA stored 22/25 (file_id {first.file_id}) != new 22/24 (line 6)" in reason
    assert "conflicts with its stored profile at 2 of 5 loci" in reason
    th01 = store.load_genotypes().set_index("locus").loc["TH01"]
    assert (th01.allele_1, th01.allele_2) == ("6", "9.3")  # never overwritten


def test_conflicting_duplicate_rows_in_one_file_quarantine_the_sample(store, tmp_path):
    rows = profile_rows("C1", C1) + [("C1", "TH01", "7", "9.3")]
    s = ingest_small(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                     lab="L", fmt="tidy")
    assert s.n_quarantined == 6
    assert "different genotypes for one locus within e.csv: TH01: line 3 6/9.3, line 7 7/9.3" in s.quarantine[0].reason


def test_role_change_and_second_father_across_batches_are_quarantined(store, tmp_path):
    ingest_small(store, tidy(tmp_path, "e1.csv", profile_rows("R1", C1)),
                 manifest(tmp_path, "m1.csv", ["R1,reference,F1,father,male"]), lab="L", fmt="tidy")
    s = ingest_small(store, tidy(tmp_path, "e2.csv", profile_rows("R1", C1) + profile_rows("R2", C1)),
                     manifest(tmp_path, "m2.csv", ["R1,candidate,,,", "R2,reference,F1,father,male"]),
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined) == (0, 10)
    reasons = {q.sample_id: q.reason for q in s.quarantine}
    assert "stored as role 'reference' (file_id 1) but the manifest says 'candidate'" in reasons["R1"]
    assert "family L/F1 already has father 'R1' (file_id 1)" in reasons["R2"]
    assert store.load_family_members()["sample_id"].tolist() == ["R1"]


def test_a_reference_joins_a_second_family_in_a_later_batch(store, tmp_path):
    ingest_small(store, tidy(tmp_path, "e1.csv", profile_rows("R1", C1)),
                 manifest(tmp_path, "m1.csv", ["R1,reference,F1,father,male"]), lab="L", fmt="tidy")
    ingest_small(store, tidy(tmp_path, "e2.csv", profile_rows("R1", C1)),
                 manifest(tmp_path, "m2.csv", ["R1,reference,F2,father,male"]), lab="L", fmt="tidy")
    assert store.load_family_members()[["family_id", "sample_id"]].values.tolist() == [["F1", "R1"], ["F2", "R1"]]


def test_a_batch_lands_atomically(store, tmp_path, monkeypatch):
    original = Store.write_batch

    def write_then_fail(self, conn, **kwargs):
        original(self, conn, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "write_batch", write_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS")
    for table in ("ingested_files", "samples", "genotypes", "quarantine", "warnings", "family_members"):
        assert count(store, table) == 0, table
    monkeypatch.undo()
    s = ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS")
    assert not s.already_ingested and s.n_landed == 62


def test_wrong_format_stores_nothing(store):
    with pytest.raises(ExportFormatError, match="is not a readable CSV|missing column"):
        ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS", fmt="tidy")
    assert count(store, "ingested_files") == 0


# -- issue 4: minimum loci, out-of-ladder alleles, re-tests, duplicates, sex vs role -------------

# 13 autosomal loci + Amelogenin: above the 12-locus default minimum.
FULL = {"AMEL": ("X", "Y"), "TH01": ("6", "9.3"), "D3S1358": ("15", "16"), "vWA": ("17", "17"),
        "FGA": ("22", "25"), "D8S1179": ("12", "14"), "D21S11": ("29", "30.2"), "D18S51": ("13", "16"),
        "D5S818": ("11", "12"), "D13S317": ("8", "11"), "D7S820": ("10", "11"), "D16S539": ("9", "12"),
        "CSF1PO": ("10", "12"), "TPOX": ("8", "11")}


def test_too_few_autosomal_loci_is_quarantined_and_a_retest_completes_the_profile(store, tmp_path):
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,male"])
    first = dict(list(FULL.items())[:8])  # AMEL + 7 autosomal loci
    s = ingest_batch(store, tidy(tmp_path, "e1.csv", profile_rows("C1", first)), m, lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined) == (0, 8) and {q.kind for q in s.quarantine} == {"too_few_loci"}
    assert "has 7 typed autosomal loci (0 already stored); expected at least 12" in s.quarantine[0].reason
    full = ingest_batch(store, tidy(tmp_path, "e2.csv", profile_rows("C1", FULL)), m, lab="L", fmt="tidy")
    assert (full.n_landed, full.n_genotypes_added, full.n_flagged) == (14, 14, 0)


def test_a_retest_that_only_adds_loci_extends_the_profile_and_is_recorded(store, tmp_path):
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,male"])
    ingest_batch(store, tidy(tmp_path, "e1.csv", profile_rows("C1", FULL)), m, lab="L", fmt="tidy")
    extra = [("C1", "D2S1338", "19", "23"), ("C1", "D19S433", "13", "14.2")]
    s = ingest_batch(store, tidy(tmp_path, "e2.csv", profile_rows("C1", FULL) + extra), m, lab="L", fmt="tidy")
    assert (s.n_landed, s.n_genotypes_added, s.n_flagged) == (16, 2, 1)
    w = next(w for w in s.warnings if w.kind == "profile_extended")
    assert w.value == "D19S433,D2S1338" and "extends its profile by 2 locus/loci" in w.reason
    assert "the 14 stored loci agree and are kept" in w.reason
    assert store.warning_records()["kind"].tolist() == ["profile_extended"]
    assert count(store, "genotypes") == 16


def test_same_profile_under_two_ids_is_flagged_as_a_possible_duplicate(store, tmp_path):
    m1 = manifest(tmp_path, "m1.csv", ["R1,reference,F1,father,male"])
    ingest_batch(store, tidy(tmp_path, "e1.csv", profile_rows("R1", FULL)), m1, lab="L", fmt="tidy")
    other = {**FULL, "TH01": ("7", "8")}  # differs at one locus: not a duplicate
    m2 = manifest(tmp_path, "m2.csv", ["C9,candidate,,,male", "C8,candidate,,,male"])
    s = ingest_batch(store, tidy(tmp_path, "e2.csv", profile_rows("C9", FULL) + profile_rows("C8", other)), m2,
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_flagged) == (28, 1)
    dup = next(w for w in s.warnings if w.kind == "possible_duplicate")
    assert (dup.sample_id, dup.value) == ("C9", "R1")
    assert "same genotype as sample 'R1' (already stored) at all 13 shared autosomal loci" in dup.reason
    assert set(store.load_samples()["sample_id"]) == {"R1", "C8", "C9"}  # flagged, not blocked


def test_out_of_ladder_alleles_are_quarantined_explicitly(store, tmp_path):
    rows = profile_rows("C1", FULL) + [("C1", "D2S1338", ">27", "19"), ("C1", "D19S433", "<9", "")]
    s = ingest_batch(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,male"]),
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined) == (14, 2)
    q = {x.locus: x for x in s.quarantine}
    assert q["D2S1338"].kind == "out_of_range" and q["D2S1338"].value == ">27"
    assert "is above the largest ladder allele (27): its repeat number is unknown" in q["D2S1338"].reason
    assert "below the smallest ladder allele (9)" in q["D19S433"].reason
    assert "size the allele exactly" in q["D19S433"].fix


def test_amelogenin_is_checked_against_the_declared_relationship(store, tmp_path):
    mother = {**FULL, "AMEL": ("X", "Y")}
    s = ingest_batch(store, tidy(tmp_path, "e.csv", profile_rows("R1", mother)),
                     manifest(tmp_path, "m.csv", ["R1,reference,F1,mother,"]), lab="L", fmt="tidy")
    assert (s.n_landed, s.n_flagged) == (14, 1)
    assert "AMEL X/Y disagrees with declared relationship 'mother' (sex 'female')" in s.warnings[0].reason
