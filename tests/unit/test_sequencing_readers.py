"""ForenSeq UAS reports and STRait Razor output (kinship.io.forenseq, kinship.io.straitrazor), and
the control-DNA sample rule on real files of every format.

Fixtures: tests/data/sequencing (PROVENANCE in tests/data/PROVENANCE.md). The UAS reports, A001,
A003 and A005 are the positive-control DNA 2800M typed on ForenSeq (lusSTR's test data).
"""

from __future__ import annotations

import io
import shutil
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from kinship.app.ingest import ingest_batch
from kinship.errors import ExportFormatError
from kinship.genetics.controls import control_profiles, matching_control
from kinship.io import read_export
from kinship.io.straitrazor import amplicons, call_locus
from kinship.io.tidy import split_problem

DATA = Path(__file__).resolve().parents[1] / "data" / "sequencing"
INGEST = Path(__file__).resolve().parents[1] / "data" / "ingest"
SAMPLE_REPORT = DATA / "UAS_Sample_Report_2026_02_24.xlsx"
DETAILS_REPORT = DATA / "UAS_Sample_Details_Report_2315.xlsx"

#: 2800M at some loci as both UAS reports and A001 type it (and Promega publishes it).
EXPECTED_2800M = {"TH01": ("6", "9.3"), "D21S11": ("29", "31.2"), "D9S1122": ("12", ""), "Penta E": ("7", "14"),
                  "D1S1656": ("12", "13"), "D22S1045": ("16", "")}


def _calls(records) -> dict[str, tuple[str, str]]:
    from kinship.genetics.loci import default_catalogue
    cat = default_catalogue()
    out = {}
    for locus, a1, a2 in records[["locus", "allele_1", "allele_2"]].values.tolist():
        pair = tuple(sorted({a1, a2} - {""}, key=lambda a: (len(a.split(".")[0]), a)))
        out[cat.canonical(locus)] = pair if len(pair) == 2 else (pair[0], "") if pair else ("", "")
    return out


@pytest.mark.parametrize("path", [SAMPLE_REPORT, DETAILS_REPORT], ids=["sample_report", "sample_details_report"])
def test_uas_reports_read_the_typed_genotype_summary(path):
    recs = read_export(path, fmt="forenseq")
    assert len(recs) == 28 and set(recs["problem"]) == {""}  # 27 autosomal STRs + Amelogenin
    calls = _calls(recs)
    for locus, pair in EXPECTED_2800M.items():
        assert calls[locus] == pair
    assert calls["AMEL"] == ("X", "Y")
    [note] = recs.attrs["notes"]
    assert note["kind"] == "sequence_collapsed" and "isoalleles collapsed to length alleles" in note["message"]
    assert note["message"].endswith("at D9S1122")  # two typed 12 sequences (TAGA / TCGA) at D9S1122


def test_uas_sample_name_and_rows_are_the_sheets():
    recs = read_export(DETAILS_REPORT, fmt="forenseq")
    assert set(recs["sample_id"]) == {"Positive Control"}
    assert recs.loc[recs["locus"] == "TH01", "source_line"].tolist() == ["31"]
    recs = read_export(SAMPLE_REPORT, fmt="forenseq")
    assert set(recs["sample_id"]) == {"2800M-2"}


def _edited_report(tmp_path: Path, edits: dict[tuple[int, int], str]) -> Path:
    book = openpyxl.load_workbook(DETAILS_REPORT)
    sheet = book["Autosomal STRs"]
    for (row, col), value in edits.items():
        sheet.cell(row=row, column=col, value=value)
    out = tmp_path / "edited_report.xlsx"
    book.save(out)
    return out


def test_a_report_that_contradicts_itself_is_quarantined_at_that_locus(tmp_path):
    # Sheet row 28 is D8S1179 14,15; its table rows 103-104 mark 14 and 15 typed. Summary -> 13,15.
    path = _edited_report(tmp_path, {(28, 2): "13,15"})
    recs = read_export(path, fmt="forenseq")
    kind, reason, fix = split_problem(recs.loc[recs["locus"] == "D8S1179", "problem"].item())
    assert kind == "typed_calls_disagree"
    assert "says 13,15 but the alleles marked 'Typed Allele? = Yes' are 14,15" in reason
    assert (recs["problem"] != "").sum() == 1


def test_a_non_control_forenseq_profile_lands_with_the_labs_calls(store, tmp_path):
    # The real report with TH01 typed 7,9.3 (summary row 31, table row 114 allele 6 -> 7): no longer 2800M.
    path = _edited_report(tmp_path, {(31, 2): "7,9.3", (114, 2): 7})
    manifest = tmp_path / "m.csv"
    manifest.write_text("sample_id,role,family_id,relationship,sex,export_name\nR-1,reference,F-1,father,male,"
                        "Positive Control\n")
    s = ingest_batch(store, path, manifest, lab="SEQ", fmt="forenseq")
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined) == (28, 28, 0, 0)
    assert [w.kind for w in s.warnings] == ["sequence_collapsed"]
    stored = {(r["locus"], r["allele_1"], r["allele_2"]) for r in store.load_genotypes().to_dict("records")}
    assert {("TH01", "7", "9.3"), ("D21S11", "29", "31.2"), ("D9S1122", "12", "12"), ("AMEL", "X", "Y")} <= stored


def test_forenseq_refuses_what_is_not_a_uas_report(tmp_path):
    with pytest.raises(ExportFormatError, match="is not an xlsx workbook"):
        read_export(DATA / "A001.txt", fmt="forenseq")
    book = openpyxl.Workbook()
    book.active.title = "Identity SNPs"
    path = tmp_path / "snps.xlsx"
    book.save(path)
    with pytest.raises(ExportFormatError, match="has no sheet 'Autosomal STRs'"):
        read_export(path, fmt="forenseq")


# -- STRait Razor ---------------------------------------------------------------------------------


def test_straitrazor_a001_is_called_like_uas():
    recs = read_export(DATA / "A001.txt", fmt="straitrazor")
    assert len(recs) == 29 and set(recs["sample_id"]) == {"A001"}
    calls = _calls(recs[recs["problem"] == ""])
    assert len(calls) == 28
    assert calls == _calls(read_export(DETAILS_REPORT, fmt="forenseq"))  # every locus as UAS typed it
    kind, reason, _ = split_problem(recs.loc[recs["locus"] == "SE33", "problem"].item())
    assert kind == "unconvertible_allele" and "no verified ForenSeq amplicon definition" in reason
    kinds = [n["kind"] for n in recs.attrs["notes"]]
    assert kinds == ["sequence_collapsed", "not_read"]
    assert "128 loci that are not autosomal STRs" in recs.attrs["notes"][1]["message"]


def test_straitrazor_a005_quarantines_the_ambiguous_and_the_inexact():
    recs = read_export(DATA / "A005.txt", fmt="straitrazor")
    problems = {locus: split_problem(p) for locus, p in zip(recs["locus"], recs["problem"]) if p}
    assert sorted(problems) == ["D12S391", "Penta D", "SE33"]
    assert problems["D12S391"][0] == "ambiguous_reads"
    assert "allele 23 has 644 reads, 0.496 of allele 18 (1299)" in problems["D12S391"][1]
    assert problems["Penta D"][0] == "unconvertible_allele" and "13.1 (not an allele known" in problems["Penta D"][1]
    assert _calls(recs[recs["problem"] == ""])["TH01"] == ("6", "9.3")


def test_calling_rule_threshold_stutter_and_balance():
    d10 = amplicons()["D10S1248"]  # stutter filter 0.40, balance 0.5
    assert call_locus({"13": 590, "15": 520, "14": 81, "12": 47, "11": 2}, d10) == (["13", "15"], "")
    assert call_locus({"13": 1000, "12": 401}, d10)[1].startswith("allele 12 has 401 reads")  # not stutter
    assert call_locus({"13": 1000, "12": 400}, d10) == (["13"], "")  # 0.40 of its parent: stutter
    assert call_locus({"13": 19}, d10) == ([], "")  # below 20 reads: no call
    assert call_locus({"13": 40}, d10) == (["13"], "")  # a partner of 20 reads would have been seen
    assert "a homozygote can not be told from a drop-out" in call_locus({"13": 39, "14": 19}, d10)[1]
    assert call_locus({"13": 5000, "14": 60, "16": 70}, d10) == (["13"], "")  # below 1.7 % of 5130


def test_label_and_length_must_agree(tmp_path):
    th01 = "A" * 32 + "AATG" * 6 + "A" * 12
    path = tmp_path / "S9.txt"
    path.write_text(f"TH01:7\t{len(th01)} bases\t{th01}\t400\t400\nTH01:9.3\t56 bases\t{'C' * 83}\t0\t700\n")
    recs = read_export(path, fmt="straitrazor")
    kind, reason, _ = split_problem(recs["problem"].item())
    assert kind == "unconvertible_allele"
    assert "7 (its 68-base sequence is allele 6 by the ForenSeq amplicon definition" in reason


def test_a_mislabelled_sequence_is_refused_before_the_balance_rule_names_its_label(tmp_path):
    """A relabelled TH01:8 (its sequence is allele 6) beside a weak allele 7 (QA): the locus is
    unconvertible, naming the sequence's real allele, not 'ambiguous reads of allele 8'."""
    th01_6 = "A" * 32 + "AATG" * 6 + "A" * 12
    th01_7 = "A" * 32 + "AATG" * 7 + "A" * 12
    path = tmp_path / "S8.txt"
    path.write_text(f"TH01:8\t{len(th01_6)} bases\t{th01_6}\t300\t254\nTH01:7\t{len(th01_7)} bases\t{th01_7}\t15\t10\n")
    recs = read_export(path, fmt="straitrazor")
    kind, reason, _ = split_problem(recs["problem"].item())
    assert kind == "unconvertible_allele"
    assert "8 (its 68-base sequence is allele 6" in reason and "ambiguous" not in reason


# -- control DNA ----------------------------------------------------------------------------------


@pytest.mark.parametrize("export, manifest, fmt, n_rows, n_loci", [
    (SAMPLE_REPORT, "uas_manifest.csv", "forenseq", 28, 27),
    (DETAILS_REPORT, "sdr_manifest.csv", "forenseq", 28, 27),
    (DATA / "A001.txt", "sr_manifest.csv", "straitrazor", 29, 27),
    (DATA / "strvalidator_ref1.csv", "ref1_manifest.csv", "genemapper", 17, 16),
], ids=["uas_sample_report", "uas_sample_details_report", "straitrazor_a001", "genemapper_ref1_pc"])
def test_real_2800m_files_are_refused_as_control_dna_in_every_format(store, export, manifest, fmt, n_rows, n_loci):
    s = ingest_batch(store, export, DATA / manifest, lab="SEQ", fmt=fmt)
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined) == (n_rows, 0, 0, n_rows)
    assert Counter(q.kind for q in s.quarantine) == {"control_dna": n_rows}
    q = s.quarantine[0]
    assert f"is the control DNA 2800M: its genotypes equal the published 2800M profile at all {n_loci} shared" in q.reason
    assert q.fix == "controls are not casework; remove it from the manifest"
    assert len(store.load_genotypes()) == 0


def test_real_non_control_profiles_still_land(store):
    s = ingest_batch(store, INGEST / "ref3.txt", INGEST / "ref3_manifest.csv", lab="OUS")
    assert s.n_landed == 51 and not [q for q in s.quarantine if q.kind == "control_dna"]


def test_a_control_needs_eight_shared_loci_all_equal():
    c = control_profiles()["2800M"]
    seven = {locus: c[locus] for locus in list(c)[:7]}
    assert matching_control(seven) is None
    assert matching_control({**seven, "TPOX": ("11", "11")}) == ("2800M", 8)
    assert matching_control({**seven, "TPOX": ("11", "?")}) is None  # a partial genotype is not shared
    nine_a = control_profiles()["9947A"]
    assert matching_control(dict(nine_a)) == ("9947A", len(nine_a))


@pytest.mark.parametrize("path, fmt", [(DATA / "A005.txt", "straitrazor"), (DETAILS_REPORT, "forenseq")])
def test_reader_problem_rows_are_decided_once_like_one_by_one(path, fmt):
    from kinship.app.ingest.row_rules import decide_rows, decide_rows_one_by_one
    from kinship.genetics.loci import default_catalogue
    recs = read_export(path, fmt=fmt)
    rows = decide_rows(recs, file=path.name, catalogue=default_catalogue())
    assert rows == decide_rows_one_by_one(recs, file=path.name, catalogue=default_catalogue())
    if fmt == "straitrazor":
        by_locus = {r["raw_locus"]: r for r in rows}
        assert by_locus["D12S391"]["kind"] == "ambiguous_reads"
        assert "(A005.txt line " in by_locus["D12S391"]["reason"]
        assert by_locus["Penta D"]["kind"] == "unconvertible_allele" and by_locus["Penta D"]["value"] == "13,12,13.1"


def test_a_non_control_straitrazor_profile_lands(store, tmp_path):
    # A001 without its TH01 9.3 sequences and their stutter 8.3: TH01 is called 6 alone, so the
    # profile is no longer 2800M (without the 8.3 lines, 8.3 is an allele out of balance: ambiguous,
    # and the other 26 loci would still be 2800M's).
    lines = (DATA / "A001.txt").read_text().splitlines(keepends=True)
    path = tmp_path / "A001.txt"
    path.write_text("".join(line for line in lines if not line.startswith(("TH01:9.3\t", "TH01:8.3\t"))))
    s = ingest_batch(store, path, DATA / "sr_manifest.csv", lab="SEQ", fmt="straitrazor")
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined) == (29, 28, 0, 1)
    assert [q.kind for q in s.quarantine] == ["unconvertible_allele"]  # SE33
    assert [w.kind for w in s.warnings] == ["sequence_collapsed", "not_read"]
    stored = {(r["locus"], r["allele_1"], r["allele_2"]) for r in store.load_genotypes().to_dict("records")}
    assert {("TH01", "6", "6"), ("D21S11", "29", "31.2"), ("Penta E", "7", "14"), ("AMEL", "X", "Y")} <= stored


def test_straitrazor_threshold_is_a_per_run_option_and_checked():
    # At 700 reads a D10S1248 allele needs 700 reads (fraction 0 keeps the static count alone).
    recs = read_export(DATA / "A001.txt", fmt="straitrazor", analytical_reads=700, analytical_fraction=0.0)
    assert _calls(recs[recs["locus"] == "D10S1248"])["D10S1248"] == ("", "")  # 590 and 520 reads: no call
    assert _calls(recs[recs["locus"] == "TH01"])["TH01"] == ("6", "9.3")  # 2739 and 2920 reads
    with pytest.raises(ExportFormatError, match="analytical threshold 0 reads / 0.017 .* is out of range"):
        read_export(DATA / "A001.txt", fmt="straitrazor", analytical_reads=0)
