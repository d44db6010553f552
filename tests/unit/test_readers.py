"""Every reader on its real example files (and fixtures made from them), landed on both stores.

Counts are asserted exactly; each number is explained next to its assertion.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kinship.errors import ExportFormatError, ManifestError
from kinship.app.ingest import ingest_batch
from kinship.io import read_export
from kinship.io.cmf import read_cmf
from kinship.io.vcf import ce_allele_from_bp, float32_text, read_vcf, reference_alleles

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
WIDE = ["smartrank_GeneMapperExample.txt", "smartrank_GeneMapperExampleWithHeights.txt",
        "smartrank_GeneMapperExampleWithHeightsAndOL.txt", "lrmixstudio_genemapperSample.txt"]


# -- GeneMapper ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, n_rows, n_samples, n_over_two", [
    # 4 samples x 16 locus columns; the NFI mixtures have 3-5 alleles in 30 of those cells
    ("smartrank_GeneMapperExample.txt", 64, 4, 30),
    # the same layout with a Height column after every locus (ignored)
    ("smartrank_GeneMapperExampleWithHeights.txt", 64, 4, 5),
    # one sample; 'OL' calls kept as written (the ingest step makes them untyped)
    ("smartrank_GeneMapperExampleWithHeightsAndOL.txt", 16, 1, 14),
    ("lrmixstudio_genemapperSample.txt", 16, 1, 14),
])
def test_real_wide_exports_give_one_row_per_sample_and_locus(name, n_rows, n_samples, n_over_two):
    recs = read_export(DATA / name)
    assert (len(recs), recs["sample_id"].nunique()) == (n_rows, n_samples)
    assert (recs["n_alleles_called"].astype(int) > 2).sum() == n_over_two
    assert set(recs["locus"]) >= {"D10S1248", "vWA", "AMEL", "D22S1045"} and "Height" not in set(recs["locus"])
    assert (recs["source_line"].astype(int) >= 2).all()


def test_wide_ol_cell_is_passed_on_as_written():
    recs = read_export(DATA / "smartrank_GeneMapperExampleWithHeightsAndOL.txt")
    vwa = recs[recs["locus"] == "vWA"].iloc[0]
    assert (vwa.allele_1, vwa.allele_2, vwa.n_alleles_called) == ("OL", "17", "2")


def test_quoted_comma_bom_crlf_fixture_reads_like_the_real_tab_file():
    quoted = read_export(DATA / "ref3_quoted_bom_crlf.csv")
    real = read_export(DATA / "ref3.txt")
    assert len(quoted) == 51
    assert quoted.drop(columns="source_line").equals(real.drop(columns="source_line"))
    assert quoted["source_line"].tolist() == real["source_line"].tolist()  # one row per line, CRLF or not


def test_wide_single_source_fixture_lands(store):
    # 4 samples x 16 loci, first two calls of each cell kept. The genotypes are dummies: each
    # sample's D21S11 call "10" is no D21S11 allele (kits' ladders 23.2-46, plausible from 11.75)
    # and is quarantined (implausible_allele); 60 rows land (14 autosomal loci each). Sample 2 is
    # declared a mother but typed X,Y at AMEL: one sex_check flag; each sample has alleles
    # outside every kit's ladder but plausible (e.g. FGA 10): four off_ladder_allele flags.
    s = ingest_batch(store, DATA / "smartrank_GeneMapperExample_single_source.txt",
                     DATA / "smartrank_single_source_manifest.csv", lab="NFI")
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined, s.n_flagged, s.n_samples_landed) == (64, 60, 0, 4, 5, 4)
    assert {q.kind for q in s.quarantine} == {"implausible_allele"}
    assert [w.kind for w in s.warnings] == ["sex_check"] + ["off_ladder_allele"] * 4
    assert len(store.load_genotypes()) == 60


def test_real_wide_mixture_export_is_quarantined_whole(store):
    # The real NFI ids contain '#', which no manifest may hold: every row is quarantined as
    # "not in the manifest", nothing is lost.
    s = ingest_batch(store, DATA / "smartrank_GeneMapperExample.txt", DATA / "smartrank_single_source_manifest.csv",
                     lab="NFI")
    assert (s.n_rows, s.n_landed, s.n_quarantined) == (64, 0, 64)
    assert Counter(q.kind for q in s.quarantine) == {"not_in_manifest": 64}


# -- tidy CSV and Parquet --------------------------------------------------------------------------


def _parquet(tmp_path, **columns) -> Path:
    path = tmp_path / "batch.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_reads_text_and_integer_columns_and_refuses_floats(tmp_path):
    path = _parquet(tmp_path, sample_id=["C1", "C1"], locus=["TH01", "FGA"], allele_1=["9.3", "22"],
                    allele_2=[None, "25"])
    recs = read_export(path, fmt="parquet")
    assert recs[["locus", "allele_1", "allele_2", "source_line"]].values.tolist() == [
        ["TH01", "9.3", "", "1"], ["FGA", "22", "25", "2"]]
    ints = _parquet(tmp_path, sample_id=["C1"], locus=["FGA"], allele_1=pa.array([22], pa.int16()),
                    allele_2=pa.array([25], pa.int64()))
    assert read_export(ints, fmt="parquet")[["allele_1", "allele_2"]].values.tolist() == [["22", "25"]]
    floats = _parquet(tmp_path, sample_id=["C1"], locus=["TH01"], allele_1=pa.array([9.3], pa.float32()),
                      allele_2=["6"])
    with pytest.raises(ExportFormatError, match=r"column 'allele_1' has type float; expected strings"):
        read_export(floats, fmt="parquet")
    with pytest.raises(ExportFormatError, match=r"is not a readable Parquet file"):
        read_export(DATA / "ref3.txt", fmt="parquet")


def test_parquet_batch_lands_like_the_same_tidy_csv(store, tmp_path):
    tidy = read_export(DATA / "ref3.txt")
    path = _parquet(tmp_path, sample_id=tidy["sample_id"].tolist(), locus=tidy["locus"].tolist(),
                    allele_1=tidy["allele_1"].tolist(), allele_2=tidy["allele_2"].tolist())
    s = ingest_batch(store, path, DATA / "ref3_manifest.csv", lab="OUS", fmt="parquet")
    assert (s.n_rows, s.n_landed, s.n_quarantined, s.n_samples_landed) == (51, 51, 0, 3)


# -- CODIS CMF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, category, n_calls", [
    ("smartrank_Codis-Single-Profile.xml", "Forensic, Unknown", {"2": 13, "1": 3}),
    ("smartrank_Codis-Mix-Profile-With-BOM-Header.xml", "Forensic Mixture", {"3": 9, "2": 4, "4": 3}),  # BOM
])
def test_real_cmf_files_are_read_and_refused_as_not_reference_material(store, name, category, n_calls):
    recs = read_cmf(DATA / name)
    assert len(recs) == 16 and dict(Counter(recs["n_alleles_called"])) == n_calls
    assert recs.attrs["specimens"]["category"].tolist() == [category]
    s = ingest_batch(store, DATA / name, lab="NFI", fmt="cmf")
    assert (s.n_rows, s.n_landed, s.n_quarantined) == (16, 0, 16)
    assert {q.kind for q in s.quarantine} == {"not_reference_material"}
    assert f"has category {category!r}: forensic/offender material" in s.quarantine[0].reason
    assert store.load_samples().empty


def test_cmf_category_map_gives_roles_relationships_and_families(store):
    # cmf_references.xml: the single-profile specimen four times (BOM kept): as Biological Mother
    # and Biological Father of CASEID CASE-7, as the original forensic specimen, and as a
    # "Biological Sibling" the default map does not list. 4 x 16 = 64 rows: 16 not_reference_material,
    # 16 unknown_category, and the dummy D21S11 call "10" of mother and father is no D21S11 allele
    # (implausible_allele): 30 land. Flags: the mother is typed X,Y (sex_check), mother and father
    # share one profile (possible_duplicate), and each has off-ladder but plausible alleles.
    s = ingest_batch(store, DATA / "cmf_references.xml", lab="NFI", fmt="cmf")
    assert (s.n_rows, s.n_landed, s.n_quarantined, s.n_flagged, s.n_samples_landed) == (64, 30, 34, 4, 2)
    assert Counter(q.kind for q in s.quarantine) == {"not_reference_material": 16, "unknown_category": 16, "implausible_allele": 2}
    assert Counter(w.kind for w in s.warnings) == {"sex_check": 1, "possible_duplicate": 1, "off_ladder_allele": 2}
    members = store.load_family_members()
    assert members[["lab", "family_id", "sample_id", "relationship"]].values.tolist() == [
        ["NFI", "CASE-7", "CMF-F1", "father"], ["NFI", "CASE-7", "CMF-M1", "mother"]]
    # A lab's own map: the sibling becomes a candidate, the batch key changes with the map.
    again = ingest_batch(store, DATA / "cmf_references.xml", lab="NFI", fmt="cmf",
                         reader_options={"category_map": {"Biological Sibling": "candidate",
                                                          "Biological Mother": ("reference", "mother"),
                                                          "Biological Father": ("reference", "father"),
                                                          "Forensic, Unknown": "refuse"}})
    assert not again.already_ingested and again.file_sha256 != s.file_sha256
    assert "CMF-S1" in set(store.load_genotypes(role="candidate")["sample_id"])


def test_cmf_refuses_doctype_and_non_codis_xml(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><CODISImportFile/>')
    with pytest.raises(ExportFormatError, match=r"declares a DOCTYPE or entities"):
        read_cmf(bomb)
    other = tmp_path / "other.xml"
    other.write_text("<root/>")
    with pytest.raises(ExportFormatError, match=r"root element 'root'; expected 'CODISImportFile'"):
        read_cmf(other)
    broken = tmp_path / "broken.xml"
    broken.write_text("<CODISImportFile><SPECIMEN>")
    with pytest.raises(ExportFormatError, match=r"line 1: not well-formed XML"):
        read_cmf(broken)


def test_a_manifest_is_required_except_for_cmf(store):
    with pytest.raises(ManifestError, match=r"no manifest given"):
        ingest_batch(store, DATA / "ref3.txt", None, lab="OUS")


# -- VCF -------------------------------------------------------------------------------------------


def test_float32_values_are_written_back_as_their_shortest_decimal():
    assert float(np.float32(9.3)) == 9.300000190734863
    assert float32_text(float(np.float32(9.3))) == "9.3"
    assert ce_allele_from_bp("7", 4, 11) == "9.3" and ce_allele_from_bp("7", 4, -2) == "6.2"
    assert ce_allele_from_bp("17", 3, -6) == "15" and ce_allele_from_bp("7", 4, 1.5) is None


def test_reference_allele_table_uses_17_for_d22s1045():
    table = reference_alleles().set_index("locus")
    assert table.loc["D22S1045", "ref_ce_allele"] == "17" and table.loc["TH01", "ref_ce_allele"] == "7"
    assert len(table) == 29


def test_real_gangstr_vcf_has_no_forensic_locus_and_every_record_is_counted(store):
    # trtools 1000 Genomes CEU chr21: 385 records x 98 samples, none on a forensic locus.
    recs = read_vcf(DATA / "gangstr_ceu_chr21.vcf.gz")
    assert recs.empty and len(recs.attrs["skipped"]) == 385 and recs.attrs["caller"] == "gangstr"
    s = ingest_batch(store, DATA / "gangstr_ceu_chr21.vcf.gz", DATA / "vcf_manifest.csv", lab="1KG", fmt="vcf")
    assert (s.n_rows, s.n_records_skipped, s.n_landed) == (0, 385, 0)
    skipped = next(w for w in s.warnings if w.kind == "not_in_catalogue")
    assert skipped.value == "385 records" and "chr21:34349071" in skipped.reason
    assert store.load_ingested_files()["n_records_skipped"].tolist() == [385]


def test_hipstr_gb_is_converted_with_the_reference_ce_allele():
    recs = read_vcf(DATA / "hipstr_forensic.vcf")
    # 3 records: chr1 (not forensic, skipped), TH01 and D22S1045 x 3 samples = 6 rows.
    assert recs.attrs["caller"] == "hipstr" and len(recs.attrs["skipped"]) == 1
    got = recs[["sample_id", "locus", "allele_1", "allele_2", "n_alleles_called", "source_line"]].values.tolist()
    assert got == [["HS-1", "TH01", "9.3", "6", "2", "20"], ["HS-2", "TH01", "7", "7", "2", "20"],
                   ["HS-3", "TH01", "", "", "0", "20"], ["HS-1", "D22S1045", "15", "16", "2", "21"],
                   ["HS-2", "D22S1045", "17", "15", "2", "21"], ["HS-3", "D22S1045", "", "", "0", "21"]]


def test_expansionhunter_repcn_is_placed_by_repid():
    recs = read_vcf(DATA / "expansionhunter_forensic.vcf", build="GRCh38")  # EH writes no build
    assert recs.attrs["caller"] == "expansionhunter" and recs.attrs["skipped"][0]["line"] == 25  # HTT
    assert recs[["locus", "allele_1", "allele_2"]].values.tolist() == [["TH01", "6", "9"], ["vWA", "17", "16"]]


def test_gangstr_repcn_and_a_float_ce_field_keep_microvariants():
    recs = read_vcf(DATA / "gangstr_forensic.vcf")
    assert recs[["sample_id", "locus", "allele_1", "allele_2"]].values.tolist() == [
        ["GS-1", "TH01", "6", "9"], ["GS-2", "TH01", "7", "7"], ["GS-1", "D22S1045", "17", "15"],
        ["GS-2", "D22S1045", "", ""]]
    ce = read_vcf(DATA / "gangstr_forensic.vcf", ce_field="CE")  # Type=Float: pysam gives float32
    assert ce["allele_2"].iloc[0] == "9.3" and "9.300000190734863" not in set(ce["allele_2"])


def test_vcf_batches_land_with_their_counts(store):
    s = ingest_batch(store, DATA / "hipstr_forensic.vcf", DATA / "vcf_manifest.csv", lab="SEQ", fmt="vcf",
                     min_autosomal_loci=2)
    # 6 rows: HS-1 and HS-2 land 2 loci each (4), HS-3 has no call at both (2 untyped); 1 skipped.
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined, s.n_records_skipped) == (6, 4, 2, 0, 1)
    geno = store.load_genotypes()
    assert geno[geno.sample_id == "HS-1"][["locus", "allele_1", "allele_2"]].values.tolist() == [
        ["D22S1045", "15", "16"], ["TH01", "6", "9.3"]]
    # The default minimum (12 autosomal loci) quarantines a 2-locus sequencing profile.
    s = ingest_batch(store, DATA / "expansionhunter_forensic.vcf", DATA / "vcf_manifest.csv", lab="SEQ", fmt="vcf",
                     reader_options={"build": "GRCh38"})
    assert (s.n_rows, s.n_landed, s.n_quarantined) == (2, 0, 2) and {q.kind for q in s.quarantine} == {"too_few_loci"}


def test_unreadable_vcf_is_a_format_error(tmp_path):
    bad = tmp_path / "bad.vcf"
    bad.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\nnot a record\n")
    with pytest.raises(ExportFormatError, match=r"not a readable VCF"):
        read_vcf(bad)
    with pytest.raises(ExportFormatError, match=r"first line is not '##fileformat=VCF"):
        read_vcf(DATA / "ref3.txt")
    with pytest.raises(ExportFormatError, match=r"caller 'strait' is not supported"):
        read_vcf(DATA / "hipstr_forensic.vcf", caller="strait")


def test_io_module_example_round_trip():
    buf = io.BytesIO()
    pq.write_table(pa.table({"sample_id": ["C1"], "locus": ["THO1"], "allele_1": ["9.3"], "allele_2": ["6"]}), buf)
    assert read_export("x.parquet", fmt="parquet", data=buf.getvalue())["locus"].tolist() == ["THO1"]


def test_tidy_third_allele_column_is_a_three_allele_pattern_not_dropped(tmp_path):
    from kinship.io.tidy import parse_tidy

    recs = parse_tidy(b"sample_id,locus,allele_1,allele_2,allele_3\nK-1,D21S11,28,29,30\nK-1,FGA,22,23,\n")
    assert recs["n_alleles_called"].tolist() == ["3", "2"] or recs["n_alleles_called"].astype(int).tolist() == [3, 2]


def test_amelogenin_label_at_an_autosomal_locus_is_quarantined():
    import pandas as pd

    from kinship.app.ingest import normalise_records
    from kinship.io.tidy import parse_tidy

    rows = normalise_records(parse_tidy(b"sample_id,locus,allele_1,allele_2\nK-1,TH01,X,9\nK-1,AMEL,X,Y\n"), file="t.csv")
    assert isinstance(rows, pd.DataFrame)
    th01 = rows[rows["locus"] == "TH01"].iloc[0]
    assert (th01["outcome"], th01["kind"], th01["value"]) == ("quarantined", "bad_allele", "X")
    assert "is an Amelogenin label" in th01["reason"]
    assert rows[rows["locus"] == "AMEL"].iloc[0]["outcome"] == "landed"


def test_tidy_with_quoted_cells_as_r_writes_them():
    from kinship.io.tidy import parse_tidy

    recs = parse_tidy(b'"sample_id","locus","allele_1","allele_2"\n"C1","TH01","9.3","6"\n')
    assert recs[["sample_id", "locus", "allele_1", "allele_2"]].values.tolist() == [["C1", "TH01", "9.3", "6"]]


@pytest.mark.parametrize(
    "fmt,text",
    [
        ("tidy", "sample_id,locus,allele_1,allele_2\nC1,TH01,9.3,6\nC1,vWA,14,16,junk\nC1,FGA,22,24\n"),
        ("genemapper", "Sample Name\tMarker\tAllele 1\tAllele 2\nC1\tTH01\t9.3\t6\nC1\tvWA\t14\t16\tjunk\nC1\tFGA\t22\t24\n"),
    ],
)
def test_a_line_with_too_many_fields_is_quarantined_and_the_rest_lands(fmt, text):
    from kinship.app.ingest import normalise_records
    from kinship.io import read_export

    rows = normalise_records(read_export("x.txt", fmt=fmt, data=text.encode()), file="x.txt")
    assert rows["outcome"].tolist() == ["landed", "quarantined", "landed"]
    bad = rows.iloc[1]
    assert bad["kind"] == "malformed_line"
    assert "unreadable line (x.txt line 3): 5 fields but the header has 4" in bad["reason"]
