"""Inputs that used to crash a reader get a clear ExportFormatError / AlleleError or are read
right (issue 9, symptoms 10 and 11): plain-gzip and truncated VCF, a CMF file declaring GB18030,
an allele of 5,000 digits; a VCF parse leaves no copy of the export on disk."""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import pytest

from kinship.errors import AlleleError, ExportFormatError
from kinship.genetics.alleles import MAX_LABEL_CHARS, parse_allele
from kinship.io.cmf import parse_cmf
from kinship.io.vcf import parse_vcf

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"


def test_a_plain_gzip_vcf_reads_exactly_as_the_plain_file():
    raw = (DATA / "hipstr_forensic.vcf").read_bytes()
    plain = parse_vcf(raw, file="x.vcf")
    zipped = parse_vcf(gzip.compress(raw), file="x.vcf.gz")
    assert len(plain) > 0
    assert zipped.equals(plain)


@pytest.mark.parametrize("name", ["hipstr_forensic.vcf", "gangstr_ceu_chr21.vcf.gz"])
def test_a_compressed_vcf_cut_short_is_a_clear_error(name):
    raw = (DATA / name).read_bytes()
    raw = raw if raw[:2] == b"\x1f\x8b" else gzip.compress(raw)
    with pytest.raises(ExportFormatError, match=r"^export cut\.vcf\.gz: not a readable VCF \("):
        parse_vcf(raw[: len(raw) - 30], file="cut.vcf.gz")


def test_a_vcf_parse_writes_no_copy_of_the_export_to_the_temp_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    parse_vcf((DATA / "hipstr_forensic.vcf").read_bytes(), file="x.vcf")
    assert list(tmp_path.iterdir()) == []
    if hasattr(os, "memfd_create"):  # Linux: the bytes live in an anonymous in-memory file only
        from kinship.io.vcf import _scratch_path

        with _scratch_path(b"##fileformat=VCFv4.2\n") as path:
            assert str(path).startswith("/proc/self/fd/") and path.read_bytes() == b"##fileformat=VCFv4.2\n"
            assert list(tmp_path.iterdir()) == []


def _cmf(encoding: str, case_id: str) -> str:
    text = (DATA / "cmf_references.xml").read_bytes().decode("utf-8-sig")
    return text.replace('encoding="utf-8"', f'encoding="{encoding}"').replace("CASE-7", case_id)


def test_a_cmf_file_declaring_gb18030_is_read_character_for_character():
    utf8 = parse_cmf((DATA / "cmf_references.xml").read_bytes(), file="u.xml")
    gb = parse_cmf(_cmf("GB18030", "案件-7").encode("gb18030"), file="gb.xml")
    assert gb.equals(utf8)
    assert set(gb.attrs["specimens"]["case_id"]) >= {"案件-7"}


@pytest.mark.parametrize("raw,message", [
    (b"\xef\xbb\xbf" + _cmf("GB18030", "C").encode("gb18030"), "byte-order mark but declares encoding 'GB18030'"),
    (_cmf("klingon", "C").encode("utf-8"), "declares encoding 'klingon', which is not a known text encoding"),
    (_cmf("GB18030", "C").encode("gb18030") + b"\x80\xff", "is not GB18030 text although the file declares it"),
])
def test_a_cmf_file_with_a_wrong_encoding_is_a_clear_error(raw, message):
    with pytest.raises(ExportFormatError, match=message):
        parse_cmf(raw, file="bad.xml")


def test_an_allele_of_5000_digits_is_an_allele_error_not_a_crash():
    with pytest.raises(AlleleError, match=r"allele of 5,000 characters \('999999999999'\.\.\.\) \(f line 2\) is not an allele name"):
        parse_allele("9" * 5000, context="f line 2")
    assert parse_allele("1" * MAX_LABEL_CHARS) == "1" * MAX_LABEL_CHARS
