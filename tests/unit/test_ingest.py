"""Normalisation, validation and atomic, idempotent landing of a batch."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from kinship.errors import ExportFormatError
from kinship.ingest import IngestSummary, batch_sha256, ingest_batch, summary_markdown
from kinship.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
HEADER = "sample_id,locus,allele_1,allele_2\n"
MANIFEST_HEADER = "sample_id,role,family_id,relationship,sex\n"

# A small clean profile (TH01 heterozygote with a microvariant, one homozygote, Amelogenin).
C1 = {"AMEL": ("X", "Y"), "TH01": ("6", "9.3"), "D3S1358": ("15", "16"), "vWA": ("17", "17"), "FGA": ("22", "25")}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store" / "reunite.db")
    yield s
    s.close()


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
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined) == (680, 67, 18, 595)
    assert (s.n_warnings, s.n_samples_landed, s.n_genotypes_added) == (19, 5, 67)
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
    assert geno.groupby("sample_id").size().to_dict() == {"08-BC7": 13, "15-A2.13": 17, "18-A2.14": 16, "35-F2.6": 16, "38-F2.9": 5}
    assert "OL" not in set(geno["allele_1"]) | set(geno["allele_2"])
    th01 = geno[(geno.sample_id == "35-F2.6") & (geno.locus == "TH01")].iloc[0]
    assert (th01.allele_1, th01.allele_2) == ("8", "9.3")
    # The father of FAM-A (03-A2.1) was quarantined; only the mother is a stored member.
    assert store.load_family_members()[["family_id", "sample_id", "relationship"]].values.tolist() == [
        ["FAM-A", "15-A2.13", "mother"], ["FAM-B", "08-BC7", "father"]]
    assert count(store, "quarantine") == 595 and count(store, "warnings") == 19
    kinds = Counter(q.kind for q in s.quarantine)
    assert kinds == {"not_in_manifest": 561, "three_allele": 25, "mixture": 9}
    assert Counter(w.kind for w in s.warnings) == {"no_call": 16, "off_ladder": 2, "missing_from_export": 1}
    report = summary_markdown(s)
    assert "| 680 | 67 | 18 | 595 | 19 | 5 | 67 |" in report
    assert "| 05-BC4 | three_allele | 9 | 564 |" in report and "| 05-BC4 | mixture | 8 | 563 |" in report
    assert "9.3" not in report  # no genotypes in artifacts
    files = store.load_ingested_files()
    assert files[["n_rows", "n_landed", "n_untyped", "n_quarantined", "n_warnings"]].values.tolist() == [[680, 67, 18, 595, 19]]


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
        (DATA / "set3.txt").read_bytes(), (DATA / "set3_manifest.csv").read_bytes())
    assert (again.n_rows, again.n_landed, again.n_quarantined, again.n_warnings) == (680, 67, 595, 19)
    assert [str(q) for q in again.quarantine] == [str(q) for q in first.quarantine]
    assert {t: count(store, t) for t in before} == before


# -- row rules -----------------------------------------------------------------------------------


def test_off_ladder_call_leaves_the_locus_untyped_with_a_warning(store, tmp_path):
    rows = profile_rows("C1", C1) + [("C1", "D18S51", "OL", "15")]
    s = ingest_batch(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,male"]),
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_untyped, s.n_quarantined, s.n_warnings) == (5, 1, 0, 1)
    assert s.warnings[0].line == 7 and s.warnings[0].value == "OL,15"
    assert "off-ladder call (calls OL,15) at D18S51" in s.warnings[0].message
    assert "D18S51" not in set(store.load_genotypes()["locus"])
    assert store.warning_records()["message"].str.contains("off-ladder").tolist() == [True]


def test_one_three_allele_locus_is_quarantined_and_the_rest_lands(store, tmp_path):
    rows = profile_rows("C1", C1) + [("C1", "D18S51", "13", "15")]
    path = tmp_path / "e.txt"  # GeneMapper layout, so a third allele column exists
    path.write_text("Sample Name\tMarker\tAllele 1\tAllele 2\tAllele 3\n"
                    + "".join(f"{s}\t{l}\t{a}\t{b}\t\n" for s, l, a, b in rows[:-1])
                    + "C1\tD18S51\t13\t15\t16\n")
    s = ingest_batch(store, path, manifest(tmp_path, "m.csv", ["C1,candidate,,,"]), lab="L")
    assert (s.n_landed, s.n_quarantined) == (5, 1)
    q = s.quarantine[0]
    assert (q.line, q.locus, q.value) == (7, "D18S51", "13,15,16")
    assert q.reason.startswith("three-allele pattern: 3 distinct alleles called (13, 15, 16) at D18S51")
    assert "mixture" not in q.reason


def test_two_three_allele_loci_make_the_profile_a_probable_mixture(store, tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("Sample Name\tMarker\tAllele 1\tAllele 2\tAllele 3\n"
                    "M1\tTH01\t6\t7\t9.3\nM1\tFGA\t20\t22\t23\nM1\tvWA\t17\t18\t\n"
                    + "".join(f"C1\t{l}\t{a}\t{b}\t\n" for l, (a, b) in C1.items()))
    s = ingest_batch(store, path, manifest(tmp_path, "m.csv", ["M1,candidate,,,", "C1,candidate,,,"]), lab="L")
    assert (s.n_landed, s.n_quarantined, s.n_samples_landed) == (5, 3, 1)
    vwa = next(q for q in s.quarantine if q.locus == "vWA")
    assert "probable mixture: sample 'M1' (e.txt) has three or more alleles at 2 loci (TH01, FGA)" in vwa.reason
    assert "M1" not in set(store.load_samples()["sample_id"])


def test_unknown_locus_is_quarantined_with_a_suggestion_and_good_rows_land(store, tmp_path):
    rows = [r for r in profile_rows("C1", C1) if r[1] != "TH01"] + [("C1", "THO1", "6", "9.3")]
    s = ingest_batch(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined) == (4, 1)
    q = s.quarantine[0]
    assert (q.line, q.locus, q.value) == (6, "THO1", "THO1")
    assert "unknown locus 'THO1' (e.csv line 6, sample 'C1', locus 'THO1'); did you mean TH01?" in q.reason
    assert count(store, "genotypes") == 4


def test_invalid_allele_is_quarantined(store, tmp_path):
    rows = profile_rows("C1", C1) + [("C1", "D18S51", "13.45", "15")]
    s = ingest_batch(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                     lab="L", fmt="tidy")
    q = s.quarantine[0]
    assert (q.locus, q.value) == ("D18S51", "13.45")
    assert "allele '13.45' (e.csv line 7, sample 'C1', locus 'D18S51') is not ISFG nomenclature" in q.reason


def test_aliases_and_locus_spellings_are_canonicalised(store, tmp_path):
    rows = [("C1", "VWA", "18", "17"), ("C1", "Amelogenin", "Y", "X"), ("C1", "th01", "9.3", "6")]
    ingest_batch(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                 lab="L", fmt="tidy")
    geno = store.load_genotypes()
    assert geno[["locus", "allele_1", "allele_2"]].values.tolist() == [
        ["AMEL", "X", "Y"], ["TH01", "6", "9.3"], ["vWA", "17", "18"]]


def test_sex_check_warns_without_blocking(store, tmp_path):
    rows = profile_rows("R1", C1)  # AMEL X,Y
    s = ingest_batch(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["R1,reference,F1,mother,female"]),
                     lab="L", fmt="tidy")
    assert s.n_landed == 5 and s.n_warnings == 1
    assert "AMEL X/Y disagrees with manifest sex 'female'" in s.warnings[0].message


def test_sample_without_any_autosomal_locus_is_not_stored(store, tmp_path):
    rows = [("C1", "AMEL", "X", "X"), ("C1", "TH01", "OL", "")]
    s = ingest_batch(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_untyped, s.n_quarantined) == (0, 1, 1)
    assert "has no typed autosomal locus" in s.quarantine[0].reason
    assert store.load_samples().empty


# -- sample and batch rules ----------------------------------------------------------------------


def test_bad_manifest_row_quarantines_its_sample_and_others_land(store, tmp_path):
    rows = profile_rows("C1", C1) + profile_rows("R1", C1)
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,", "R1,reference,,father,male"])
    s = ingest_batch(store, tidy(tmp_path, "e.csv", rows), m, lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined, s.n_samples_landed) == (5, 5, 1)
    assert len(s.manifest_errors) == 1 and s.manifest_errors[0].line == 3
    assert "sample 'R1' has an invalid manifest row: manifest m.csv line 3 (sample 'R1'): column 'family_id'" in s.quarantine[0].reason
    stored = store.quarantine_records()
    assert Counter(stored["source"]) == {"export": 5, "manifest": 1}


def test_manifest_sample_missing_from_the_export_is_reported(store, tmp_path):
    s = ingest_batch(store, tidy(tmp_path, "e.csv", profile_rows("C1", C1)),
                     manifest(tmp_path, "m.csv", ["C1,candidate,,,", "C2,candidate,,,"]), lab="L", fmt="tidy")
    assert s.n_warnings == 1 and s.warnings[0].source == "manifest" and s.warnings[0].line == 3
    assert "sample 'C2' is in manifest m.csv but has no rows in export e.csv" in s.warnings[0].message


def test_identical_resubmission_in_another_file_adds_nothing(store, tmp_path):
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,"])
    ingest_batch(store, tidy(tmp_path, "e1.csv", profile_rows("C1", C1)), m, lab="L", fmt="tidy")
    reordered = list(reversed(profile_rows("C1", C1)))
    s = ingest_batch(store, tidy(tmp_path, "e2.csv", reordered), m, lab="L", fmt="tidy")
    assert not s.already_ingested
    assert (s.n_landed, s.n_quarantined, s.n_genotypes_added) == (5, 0, 0)
    assert count(store, "genotypes") == 5 and count(store, "samples") == 1 and count(store, "ingested_files") == 2


def test_resubmission_may_add_new_loci(store, tmp_path):
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,"])
    ingest_batch(store, tidy(tmp_path, "e1.csv", profile_rows("C1", C1)), m, lab="L", fmt="tidy")
    s = ingest_batch(store, tidy(tmp_path, "e2.csv", [("C1", "D18S51", "12", "14")]), m, lab="L", fmt="tidy")
    assert s.n_genotypes_added == 1 and count(store, "genotypes") == 6


def test_conflicting_resubmission_is_quarantined_with_a_locus_diff(store, tmp_path):
    m = manifest(tmp_path, "m.csv", ["C1,candidate,,,"])
    first = ingest_batch(store, tidy(tmp_path, "e1.csv", profile_rows("C1", C1)), m, lab="L", fmt="tidy")
    changed = {**C1, "TH01": ("7", "9.3"), "FGA": ("22", "24")}
    s = ingest_batch(store, tidy(tmp_path, "e2.csv", profile_rows("C1", changed)), m, lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined, s.n_genotypes_added) == (0, 5, 0)
    reason = s.quarantine[0].reason
    assert f"TH01 stored 6/9.3 (file_id {first.file_id}) != new 7/9.3 (line 3)" in reason
    assert f"FGA stored 22/25 (file_id {first.file_id}) != new 22/24 (line 6)" in reason
    assert "conflicts with its stored profile at 2 of 5 loci" in reason
    th01 = store.load_genotypes().set_index("locus").loc["TH01"]
    assert (th01.allele_1, th01.allele_2) == ("6", "9.3")  # never overwritten


def test_conflicting_duplicate_rows_in_one_file_quarantine_the_sample(store, tmp_path):
    rows = profile_rows("C1", C1) + [("C1", "TH01", "7", "9.3")]
    s = ingest_batch(store, tidy(tmp_path, "e.csv", rows), manifest(tmp_path, "m.csv", ["C1,candidate,,,"]),
                     lab="L", fmt="tidy")
    assert s.n_quarantined == 6
    assert "different genotypes for one locus within e.csv: TH01: line 3 6/9.3, line 7 7/9.3" in s.quarantine[0].reason


def test_role_change_and_second_father_across_batches_are_quarantined(store, tmp_path):
    ingest_batch(store, tidy(tmp_path, "e1.csv", profile_rows("R1", C1)),
                 manifest(tmp_path, "m1.csv", ["R1,reference,F1,father,male"]), lab="L", fmt="tidy")
    s = ingest_batch(store, tidy(tmp_path, "e2.csv", profile_rows("R1", C1) + profile_rows("R2", C1)),
                     manifest(tmp_path, "m2.csv", ["R1,candidate,,,", "R2,reference,F1,father,male"]),
                     lab="L", fmt="tidy")
    assert (s.n_landed, s.n_quarantined) == (0, 10)
    reasons = {q.sample_id: q.reason for q in s.quarantine}
    assert "stored as role 'reference' (file_id 1) but the manifest says 'candidate'" in reasons["R1"]
    assert "family L/F1 already has father 'R1' (file_id 1)" in reasons["R2"]
    assert store.load_family_members()["sample_id"].tolist() == ["R1"]


def test_a_reference_joins_a_second_family_in_a_later_batch(store, tmp_path):
    ingest_batch(store, tidy(tmp_path, "e1.csv", profile_rows("R1", C1)),
                 manifest(tmp_path, "m1.csv", ["R1,reference,F1,father,male"]), lab="L", fmt="tidy")
    ingest_batch(store, tidy(tmp_path, "e2.csv", profile_rows("R1", C1)),
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
    assert not s.already_ingested and s.n_landed == 67


def test_wrong_format_stores_nothing(store):
    with pytest.raises(ExportFormatError, match="is not a readable CSV|missing column"):
        ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS", fmt="tidy")
    assert count(store, "ingested_files") == 0
