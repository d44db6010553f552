"""Readers: GeneMapper ID-X exports and tidy long CSVs -> the common record table."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinship.errors import ExportFormatError
from kinship.app.ingest import normalise_records
from kinship.io import RECORD_COLUMNS, read_export, read_genemapper, read_tidy

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
REF3 = DATA / "ref3.txt"
SET3 = DATA / "set3.txt"


def test_ref3_has_3_samples_by_17_loci_amel_included():
    recs = read_genemapper(REF3)
    assert list(recs.columns) == RECORD_COLUMNS
    assert len(recs) == 51
    assert recs.groupby("sample_id").size().to_dict() == {"A2": 17, "F2": 17, "bc": 17}
    assert "AMEL" in set(recs["locus"])
    assert recs["source_line"].tolist() == [str(i) for i in range(2, 53)]


def test_every_column_is_text_never_float():
    recs = read_genemapper(REF3)
    assert all(isinstance(v, str) for col in recs.columns for v in recs[col])
    f2_th01 = recs[(recs.sample_id == "F2") & (recs.locus == "TH01")].iloc[0]
    assert (f2_th01.allele_1, f2_th01.allele_2) == ("8", "9.3")


def test_ref3_homozygote_conventions_agree_after_normalisation():
    # A2 writes homozygotes twice (TH01 8 8), F2 once (D10S1248 14 <blank>), bc twice in a
    # lower-case sample name (D16S539 12 12): all three become a sorted pair (a, a).
    out = normalise_records(read_genemapper(REF3), file="ref3.txt")
    assert (out["outcome"] == "landed").all()
    geno = {(r.sample_id, r.locus): (r.allele_1, r.allele_2) for r in out.itertuples()}
    assert geno[("A2", "TH01")] == ("8", "8")
    assert geno[("F2", "D10S1248")] == ("14", "14")
    assert geno[("F2", "D1S1656")] == ("17", "17")
    assert geno[("bc", "D16S539")] == ("12", "12")
    assert geno[("A2", "AMEL")] == ("X", "X") and geno[("F2", "AMEL")] == ("X", "Y")
    assert geno[("bc", "SE33")] == ("28.2", "29.2")
    single = read_genemapper(REF3)
    assert single.loc[(single.sample_id == "F2") & (single.locus == "D10S1248"), "n_alleles_called"].item() == "1"
    # Sorted in canonical order, not text order: 9.3 after 6, 11.3 before 14.
    assert geno[("bc", "TH01")] == ("6", "9.3") and geno[("A2", "D2S441")] == ("11.3", "14")


def test_bom_crlf_and_spaced_headers_read_the_same(tmp_path):
    text = REF3.read_text()
    variant = text.replace("Sample.Name", "Sample Name").replace("Allele.1", "Allele 1").replace("Allele.2", "Allele 2")
    path = tmp_path / "ref3_bom_crlf.txt"
    path.write_bytes(b"\xef\xbb\xbf" + variant.replace("\n", "\r\n").encode())
    assert read_genemapper(path).equals(read_genemapper(REF3))


def test_set3_reads_every_row_with_extra_calls_and_na_as_empty():
    recs = read_export(SET3, fmt="genemapper")
    assert len(recs) == 680
    assert recs["sample_id"].nunique() == 38
    first = recs.iloc[0]  # 01-Pos.ktr.__ AMEL: OL X Y, then NA cells
    assert first.tolist() == ["01-Pos.ktr.__", "AMEL", "OL", "X", "3", "Y", "2", ""]
    neg = recs[recs.sample_id == "02-Neg.ktr.__"]
    assert (neg["n_alleles_called"] == "0").all() and (neg["allele_1"] == "").all()
    ladder = recs[(recs.sample_id == "16-Ladder__") & (recs.locus == "D21S11")].iloc[0]
    assert ladder.n_alleles_called == "20" and (ladder.allele_1, ladder.allele_2) == ("24", "24.2") and ladder.extra_calls.split(",")[:2] == ["25", "25.2"]


def test_missing_columns_is_a_format_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("Sample Name\tLocus Name\tAllele 1\nS1\tTH01\t9\n")
    with pytest.raises(ExportFormatError, match=r"export bad\.txt line 1: header .* is not a GeneMapper genotype table"):
        read_genemapper(path)


def test_comma_separated_file_is_read_and_a_one_column_header_says_so(tmp_path):
    path = tmp_path / "tidy.csv"
    path.write_text("sample_id,locus,allele_1,allele_2\nS1,TH01,9,9.3\n")
    assert read_export(path, fmt="genemapper").equals(read_export(path, fmt="tidy"))
    path.write_text("Sample Name;Marker;Allele 1\nS1;TH01;9\n")
    with pytest.raises(ExportFormatError, match=r"is the file comma-separated\?.*fmt='tidy'"):
        read_export(path, fmt="genemapper")


def test_non_utf8_export_is_refused(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Sample Name\tMarker\tAllele 1\nJosé\tTH01\t9\n".encode("latin-1"))
    with pytest.raises(ExportFormatError, match=r"is not UTF-8 text .* fix: re-export the file as UTF-8"):
        read_genemapper(path)


def test_unknown_format_is_refused():
    with pytest.raises(ExportFormatError, match=r"format 'fam' is not supported; expected one of \['cmf', 'forenseq', 'genemapper', 'parquet', 'straitrazor', 'tidy', 'vcf'\]"):
        read_export(SET3, fmt="fam")


def test_tidy_reader_reads_blank_second_allele_and_crlf(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfsample_id,locus,allele_1,allele_2,note\r\nC1,TH01,9.3,6,x\r\nC1,FGA,22,NA,\r\n")
    recs = read_tidy(path)
    assert recs[["sample_id", "locus", "allele_1", "allele_2", "n_alleles_called", "source_line"]].values.tolist() == [
        ["C1", "TH01", "9.3", "6", "2", "2"],
        ["C1", "FGA", "22", "", "1", "3"],
    ]


def test_tidy_reader_requires_its_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("sample,locus,allele_1,allele_2\nC1,TH01,9,9\n")
    with pytest.raises(ExportFormatError, match=r"missing column\(s\) \['sample_id'\]"):
        read_tidy(path)
