"""GB18030/GBK manifests and tidy files (what Chinese Excel and WPS save as "CSV"), Chinese lab
names, non-ASCII ids, and a batch that lands nothing (issue 13, item 4)."""

from __future__ import annotations

import pytest

from kinship.app.ingest import ingest_batch
from kinship.errors import ExportFormatError, ManifestError, NothingLandedError
from kinship.io.manifest import parse_manifest
from kinship.io.tidy import decode_text, parse_tidy

MANIFEST_HEADER = "sample_id,role,family_id,relationship,sex,lab\n"
LAB_NAME = "北京市公安局物证鉴定中心"
# a profile with enough loci for the default minimum is not needed: min_autosomal_loci=1 below
C1 = {"TH01": ("6", "9.3"), "D3S1358": ("15", "16"), "vWA": ("17", "17"), "FGA": ("22", "25")}


def _tidy(sample: str, genotypes: dict = C1) -> str:
    return "sample_id,locus,allele_1,allele_2\n" + "".join(
        f"{sample},{locus},{a1},{a2}\n" for locus, (a1, a2) in genotypes.items())


def test_gb18030_bytes_are_what_chinese_excel_writes_and_are_read_back_exactly():
    raw = f"sample_id,role,family_id,relationship,sex,lab\r\nR1,reference,F1,father,male,{LAB_NAME}\r\n".encode("gb18030")
    assert b"\xb1\xb1\xbe\xa9" in raw  # 北京 in GB2312/GBK/GB18030, not UTF-8
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = decode_text(raw, "m.csv", encoding="detect")
    assert text == f"sample_id,role,family_id,relationship,sex,lab\nR1,reference,F1,father,male,{LAB_NAME}\n"
    assert decode_text(raw, "m.csv", encoding="gbk") == text
    assert decode_text(raw, "m.csv", encoding="GB18030") == text
    # UTF-8 (with BOM) is tried first and strictly
    utf8 = "\ufeff" + text
    assert decode_text(utf8.encode("utf-8"), "m.csv", encoding="detect") == text
    # GB18030 with its own byte-order mark (two of whose bytes are ASCII digits)
    assert decode_text(("\ufeff" + text).encode("gb18030"), "m.csv", encoding="detect") == text
    assert decode_text(("\ufeff" + text).encode("gb18030"), "m.csv", encoding="gb18030") == text


def test_the_default_for_other_exports_stays_utf8_only():
    raw = f"a,{LAB_NAME}\n".encode("gb18030")
    with pytest.raises(ExportFormatError, match=r"is not UTF-8 text \(byte 2"):
        decode_text(raw, "run.txt")


def test_detection_never_lets_a_multibyte_character_eat_an_ascii_byte():
    # 0x81 0x30 0x81 0x30 is one valid four-byte GB18030 character: a stray 0x81 before "0" would
    # swallow the digit of a genotype. Detection refuses; a declared encoding is the lab's word.
    raw = b"sample_id,locus,allele_1,allele_2\nC1,TH01,\x810\x810,9.3\n"
    assert len(raw.decode("gb18030")) == len(raw) - 3
    with pytest.raises(ExportFormatError, match="would absorb an ASCII byte.*encoding='gb18030'"):
        parse_tidy(raw, file="t.csv")
    # a two-byte character whose second byte is ASCII ("A") is refused by detection the same way
    with pytest.raises(ExportFormatError, match="would absorb an ASCII byte"):
        parse_tidy(b"sample_id,locus,allele_1,allele_2\nC1,TH01,6,\xb1A\n", file="t.csv")


@pytest.mark.parametrize("raw, expected", [
    (b"sample_id,locus,allele_1,allele_2\nC1,TH01,\xff,9\n", r"not UTF-8 text .* nor GB18030 \(byte 42"),
    (bytes(range(128, 256)), "not UTF-8 text .* nor GB18030"),
    # UTF-8 text, then a GB18030 character cut short at the end of the file
    ("北京".encode("utf-8") + b",x\n" + "上海".encode("gb18030")[:3], r"not UTF-8 text \(byte 9.* nor GB18030 \(byte 11"),
])
def test_bytes_that_are_neither_encoding_are_refused_with_the_byte(raw, expected):
    with pytest.raises(ExportFormatError, match=expected):
        parse_tidy(raw, file="t.csv")


def test_a_hostile_mix_of_utf8_and_gb18030_keeps_every_ascii_byte():
    # UTF-8 Chinese followed by GB18030 Chinese is not UTF-8 but is valid GB18030 (the UTF-8 part
    # reads as other characters): the non-ASCII text is garbled, but no ASCII byte - no allele,
    # delimiter or id character - changes, and non-ASCII ids are refused by the manifest anyway.
    raw = (b"sample_id,locus,allele_1,allele_2\nC1,TH01,6,9.3\n"
           + "北京".encode("utf-8") + b",FGA,22,25\n" + "上海".encode("gb18030") + b",vWA,17,17\n")
    recs = parse_tidy(raw, file="t.csv")
    assert recs[["locus", "allele_1", "allele_2"]].values.tolist() == [
        ["TH01", "6", "9.3"], ["FGA", "22", "25"], ["vWA", "17", "17"]]
    assert recs["sample_id"].tolist()[2] == "上海" and recs["sample_id"].tolist()[1] != "北京"


def test_a_declared_encoding_is_strict_and_unknown_ones_are_refused():
    with pytest.raises(ManifestError, match="is not GBK text as declared"):
        decode_text(b"a,\x80\n", "m.csv", what="manifest", error=ManifestError, encoding="gbk")
    with pytest.raises(ManifestError, match="encoding 'latin-1' is not offered; expected one of utf-8, gb18030, gbk"):
        decode_text(b"a\n", "m.csv", what="manifest", error=ManifestError, encoding="latin-1")
    # declared UTF-8 refuses GB18030 bytes (it never falls back)
    with pytest.raises(ManifestError, match="is not UTF-8 text"):
        decode_text("北京".encode("gb18030"), "m.csv", what="manifest", error=ManifestError, encoding="utf-8")


def test_a_gb18030_tidy_file_lands_the_same_genotypes_as_its_utf8_copy():
    text = _tidy("C1")
    a = parse_tidy(text.encode("gb18030"), file="t.csv")
    b = parse_tidy(text.encode("utf-8"), file="t.csv")
    assert a.equals(b)
    assert a[["locus", "allele_1", "allele_2"]].values.tolist()[1] == ["D3S1358", "15", "16"]


def test_chinese_lab_name_is_its_registered_code_and_non_ascii_ids_are_row_errors():
    body = (f"R1,reference,F1,father,male,{LAB_NAME}\n"
            f"R2,reference,家庭1,mother,female,\n"
            f"张三,candidate,,,,\n"
            f"C2,candidate,,,,北京市公安局\n")
    raw = (MANIFEST_HEADER + body).encode("gb18030")
    m = parse_manifest(raw, file="m.csv", lab="BJ-PSB", lab_names={LAB_NAME: "BJ-PSB"})
    assert m.entries[["sample_id", "lab"]].values.tolist() == [["R1", "BJ-PSB"]]
    by_sample = {e.sample_id: e for e in m.errors}
    assert set(by_sample) == {"R2", "张三", "C2"}
    assert by_sample["R2"].column == "family_id" and "non-ASCII characters" in by_sample["R2"].expected
    assert "pseudonymous ASCII id" in by_sample["R2"].fix
    assert by_sample["张三"].column == "sample_id" and "never a name" in by_sample["张三"].fix
    assert by_sample["C2"].column == "lab" and "not the lab's name" in by_sample["C2"].expected
    assert "labs register" in by_sample["C2"].fix


def test_a_gb18030_batch_lands_and_its_chinese_ids_are_quarantined_pseudonymously(store, tmp_path):
    store.register_lab("BJ-PSB", LAB_NAME)
    export = tmp_path / "batch.csv"
    export.write_bytes((_tidy("R1") + _tidy("张三").split("\n", 1)[1]).encode("gb18030"))
    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes((MANIFEST_HEADER + f"R1,reference,F1,father,male,{LAB_NAME}\n张三,candidate,,,,\n")
                         .encode("gb18030"))
    s = ingest_batch(store, export, manifest, lab="BJ-PSB", fmt="tidy", min_autosomal_loci=1)
    assert (s.n_rows, s.n_landed, s.n_quarantined, s.n_samples_landed) == (8, 4, 4, 1)
    assert not s.landed_nothing and s.check_landed() is s
    genotypes = store.load_genotypes()
    assert sorted(genotypes["sample_id"].unique()) == ["R1"]
    assert len(s.manifest_errors) == 1
    # the raw Chinese id is never stored nor reported: only the store's pseudonym
    assert all("张三" not in str(r) for r in [*s.quarantine, *s.manifest_errors])
    assert store.labs().set_index("code").loc["BJ-PSB", "name"] == LAB_NAME


def test_a_batch_that_lands_nothing_says_why_and_raises_on_check(store, tmp_path):
    export = tmp_path / "batch.csv"
    export.write_text(_tidy("家1"))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("sample_id,role,family_id,relationship,sex\n家1,candidate,,,\n", encoding="utf-8")
    s = ingest_batch(store, export, manifest, lab="LAB1", fmt="tidy", min_autosomal_loci=1)
    assert s.landed_nothing and s.n_landed == 0 and s.n_quarantined == 4
    reason = s.nothing_landed_reason()
    assert reason.startswith("batch batch.csv + manifest.csv landed no sample: 4 export rows, 4 quarantined")
    assert "1 invalid manifest rows" in reason and "manifest_row (column 'sample_id': expected a pseudonymous id" in reason
    assert "commonest rules: 4 × manifest_error; 1 × manifest_row" in reason
    assert "家1" not in reason
    with pytest.raises(NothingLandedError, match="landed no sample"):
        s.check_landed()
    # the same batch sent again is recognised, and still landed nothing
    again = ingest_batch(store, export, manifest, lab="LAB1", fmt="tidy", min_autosomal_loci=1)
    assert again.already_ingested and again.landed_nothing
