"""The malformed-export corpus through the store, on SQLite and PostgreSQL (issue 9, symptoms 9
and deliverable 7): the same batch gives the same landed genotypes, quarantine and counts on both
back-ends as the pure planning step predicts, and a NUL byte or a 200 KB field never fails the
batch on PostgreSQL."""

from __future__ import annotations

import pytest

from kinship.app.ingest import ingest_batch
from kinship.errors import ReuniteInputError
from tests.property.test_malformed_corpus import CASES, CLEAN, PROFILES

MANIFEST_CSV = b"sample_id,role,family_id,relationship,sex\n" + b"".join(
    f"{s},candidate,,,\n".encode() for s in PROFILES)

#: One case of each recipe and layout (the first line of each), plus every refusal.
SAMPLE = [c for c in CASES if not c.name.rsplit(" line ", 1)[-1].isdigit() or c.name.endswith(" line 2")]


@pytest.mark.parametrize("case", SAMPLE, ids=repr)
def test_the_store_lands_exactly_what_the_plan_predicts_on_both_backends(store, tmp_path, case):
    export = tmp_path / "export.txt"
    export.write_bytes(case.data)
    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes(MANIFEST_CSV)
    if case.error is not None:
        with pytest.raises(ReuniteInputError, match=case.error):
            ingest_batch(store, export, manifest, lab="L", fmt=case.fmt, min_autosomal_loci=1)
        assert store.load_genotypes().empty
        return
    summary = ingest_batch(store, export, manifest, lab="L", fmt=case.fmt, min_autosomal_loci=1)
    stored = store.load_genotypes()
    got = {(r.sample_id, r.locus): (r.allele_1, r.allele_2) for r in stored.itertuples()}
    assert got == {k: v for k, v in CLEAN.items() if k not in case.damaged}
    assert summary.n_quarantined == case.n_quarantined
    assert summary.n_landed == len(got) and summary.n_untyped == 0
    assert sorted(store.quarantine_records()["kind"]) == sorted(
        set(case.damaged.values()) if case.n_quarantined == 1 else [])


# -- the other readers: CODIS CMF, VCF, Parquet, and the manifest ----------------------------------

import gzip  # noqa: E402
import io  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pysam  # noqa: E402

from kinship.store import Store  # noqa: E402
from tests.labs import register_test_labs  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
CMF = (DATA / "cmf_references.xml").read_bytes()
CMF_TEXT = CMF.decode("utf-8-sig")
VCF = (DATA / "hipstr_forensic.vcf").read_bytes()
VCF_MANIFEST = (DATA / "vcf_manifest.csv").read_bytes()
def _in_th01_of_m1(old: str, new: str) -> bytes:
    """The CMF file with ``old`` replaced by ``new`` in the TH01 locus of specimen CMF-M1 (its first)."""
    i = CMF_TEXT.index("<LOCUSNAME>TH01")
    assert CMF_TEXT.rfind("<SPECIMENID>", 0, i) == CMF_TEXT.index("<SPECIMENID>CMF-M1")
    j = CMF_TEXT.index(old, i)
    return (CMF_TEXT[:j] + new + CMF_TEXT[j + len(old):]).encode()


TIDY = "sample_id,locus,allele_1,allele_2\n" + "".join(f"{s},{l},{a},{b}\n" for (s, l), (a, b) in CLEAN.items())


def _bgzip(raw: bytes, tmp: Path) -> bytes:
    plain, packed = tmp / "x.vcf", tmp / "x.vcf.gz"
    plain.write_bytes(raw)
    pysam.tabix_compress(str(plain), str(packed), force=True)
    return packed.read_bytes()


def _parquet(columns: dict) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _tidy_columns(alleles=str):
    keys = list(CLEAN)
    return {"sample_id": [s for s, _ in keys], "locus": [l for _, l in keys],
            "allele_1": [alleles(CLEAN[k][0]) for k in keys], "allele_2": [alleles(CLEAN[k][1]) for k in keys]}


#: (name, fmt, clean bytes, manifest bytes or None, damaged bytes (or a function of tmp_path),
#:  expected: "same" (lands exactly as the clean file), a regex of the refusal, or
#:  ("minus", {(sample, locus): kind}) (the clean landing less these rows, quarantined so))
OTHER = [
    ("cmf/gb18030 declared", "cmf", CMF, None,
     CMF_TEXT.replace('encoding="utf-8"', 'encoding="GB18030"').encode("gb18030"), "same"),
    ("cmf/gbk declared", "cmf", CMF, None, CMF_TEXT.replace('encoding="utf-8"', 'encoding="GBK"').encode("gbk"), "same"),
    ("cmf/bom and gb18030", "cmf", CMF, None,
     b"\xef\xbb\xbf" + CMF_TEXT.replace('encoding="utf-8"', 'encoding="GB18030"').encode("gb18030"), "byte-order mark"),
    ("cmf/unknown encoding", "cmf", CMF, None, CMF_TEXT.replace('encoding="utf-8"', 'encoding="x-none"').encode(),
     "not a known text encoding"),
    ("cmf/cut in half", "cmf", CMF, None, CMF[: len(CMF) // 2], "not well-formed XML"),
    ("cmf/cut 10 bytes", "cmf", CMF, None, CMF[:-10], "not well-formed XML"),
    ("cmf/entity", "cmf", CMF, None, CMF_TEXT.replace("<CODISImportFile", '<!DOCTYPE x [<!ENTITY a "b">]><CODISImportFile', 1).encode(),
     "declares a DOCTYPE or entities"),
    ("cmf/empty", "cmf", CMF, None, b"", "not well-formed XML|empty"),
    ("cmf/garbage", "cmf", CMF, None, bytes(range(256)) * 8, "not well-formed XML|not UTF-8|encoding"),
    ("cmf/5000-digit allele", "cmf", CMF, None,
     _in_th01_of_m1("<ALLELEVALUE>10</ALLELEVALUE>", "<ALLELEVALUE>" + "9" * 5000 + "</ALLELEVALUE>"),
     ("minus", {("CMF-M1", "TH01"): "bad_allele"})),
    ("cmf/implausible allele", "cmf", CMF, None, _in_th01_of_m1("<ALLELEVALUE>10</ALLELEVALUE>", "<ALLELEVALUE>999</ALLELEVALUE>"),
     ("minus", {("CMF-M1", "TH01"): "implausible_allele"})),
    ("vcf/plain gzip", "vcf", VCF, VCF_MANIFEST, gzip.compress(VCF), "same"),
    ("vcf/bgzip", "vcf", VCF, VCF_MANIFEST, lambda tmp: _bgzip(VCF, tmp), "same"),
    ("vcf/cut mid-record", "vcf", VCF, VCF_MANIFEST, VCF[:-40], "not a readable VCF"),
    ("vcf/gzip cut", "vcf", VCF, VCF_MANIFEST, gzip.compress(VCF)[:-30], "not a readable VCF"),
    ("vcf/empty", "vcf", VCF, VCF_MANIFEST, b"", "not a readable VCF"),
    ("vcf/garbage", "vcf", VCF, VCF_MANIFEST, bytes(range(256)) * 8, "not a readable VCF"),
    ("parquet/as tidy", "parquet", TIDY.encode(), MANIFEST_CSV, _parquet(_tidy_columns()), "same-as-tidy"),
    ("parquet/float alleles", "parquet", TIDY.encode(), MANIFEST_CSV, _parquet(_tidy_columns(float)),
     "expected strings"),
    ("parquet/cut", "parquet", TIDY.encode(), MANIFEST_CSV, _parquet(_tidy_columns())[:-100], "not a readable Parquet"),
    ("parquet/missing column", "parquet", TIDY.encode(), MANIFEST_CSV,
     _parquet({k: v for k, v in _tidy_columns().items() if k != "locus"}), "missing column"),
]


def _landed(store) -> dict:
    return {(r.sample_id, r.locus): (r.allele_1, r.allele_2) for r in store.load_genotypes().itertuples()}


def _ingest(store, tmp: Path, name: str, data: bytes, manifest: bytes | None, fmt: str):
    export = tmp / f"{name}.dat"
    export.write_bytes(data)
    path = None
    if manifest is not None:
        path = tmp / f"{name}_manifest.csv"
        path.write_bytes(manifest)
    return ingest_batch(store, export, path, lab="L", fmt=fmt, min_autosomal_loci=1)


@pytest.mark.parametrize("name,fmt,clean,manifest,damaged,expected", OTHER, ids=[o[0] for o in OTHER])
def test_every_other_reader_refuses_clearly_or_lands_exactly(store, tmp_path, name, fmt, clean, manifest, damaged,
                                                              expected):
    data = damaged(tmp_path) if callable(damaged) else damaged
    if isinstance(expected, str) and not expected.startswith("same"):
        with pytest.raises(ReuniteInputError, match=expected) as info:
            _ingest(store, tmp_path, "damaged", data, manifest, fmt)
        assert "\n" not in str(info.value)
        assert store.load_genotypes().empty
        return
    reference = Store(tmp_path / "reference.sqlite")
    register_test_labs(reference)
    if expected == "same-as-tidy":
        _ingest(reference, tmp_path, "clean", clean, manifest, "tidy")
    else:
        _ingest(reference, tmp_path, "clean", clean, manifest, fmt)
    want = _landed(reference)
    reference.close()
    summary = _ingest(store, tmp_path, "damaged", data, manifest, fmt)
    got = _landed(store)
    if isinstance(expected, tuple):
        _, rows = expected
        assert got == {k: v for k, v in want.items() if k not in rows}
        quarantine = store.quarantine_records()
        for (sample, locus), kind in rows.items():
            assert set(quarantine[(quarantine["sample_id"] == sample) & (quarantine["locus"] == locus)]["kind"]) == {kind}
    else:
        assert got == want and len(got) > 0
    assert summary.n_landed + summary.n_untyped + summary.n_quarantined == summary.n_rows
