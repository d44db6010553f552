"""Fuzzing every reader with generated malformed input (hypothesis).

Invariant for each reader: it either raises a documented input error
(:class:`kinship.errors.ReuniteInputError`: ``ExportFormatError``) or returns the common
record table, and then every record ends up landed, untyped or quarantined — the counts add
up (``IngestSummary`` checks ``n_landed + n_untyped + n_quarantined == n_rows`` itself) and
no record is lost or invented. Planning runs without a store (:func:`kinship.app.ingest.plan_batch`
is pure), so the examples are fast.
"""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinship.errors import ReuniteInputError
from kinship.app.ingest import LANDED, QUARANTINED, UNTYPED, plan_batch
from kinship.app.ingest.batch import _summary
from kinship.io import RECORD_COLUMNS
from kinship.io.cmf import parse_cmf
from kinship.io.genemapper import parse_genemapper
from kinship.io.manifest import parse_manifest
from kinship.io.tidy import parse_tidy, read_parquet
from kinship.io.vcf import parse_vcf

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SAMPLES = st.sampled_from(["S1", "S2", "R-01", "", " ", "Ladder", "a#1", "S1 ", "x" * 70, "名前"])
LOCI = st.sampled_from(["TH01", "THO1", "vWA", "VWA", "Penta D", "AMEL", "D22S1045", "DYS391", "FOO", "", "D8S1179"])
ALLELES = st.sampled_from(["9.3", "9", "10", "OL", "", "NA", ">27", "<6", "X", "Y", "9.30", "abc", "1e5", "-1",
                           "12.0", '"', "9,3", "\t", "31.2", "  15 ", "?", "-", "12/-", "?/9.3"])


def _check(records) -> None:
    assert list(records.columns) == RECORD_COLUMNS
    ids = sorted({s for s in records["sample_id"] if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/+-]*", s)
                  and len(s) <= 64})
    lines = "".join(f"{s},candidate,,,\n" for s in ids) or "Z,candidate,,,\n"
    manifest = parse_manifest(("sample_id,role,family_id,relationship,sex\n" + lines).encode(), file="m.csv", lab="L")
    plan = plan_batch(records, manifest, file="fuzz", min_autosomal_loci=1)
    summary = _summary(plan, sha="0" * 64, file="fuzz", manifest_name="m.csv")  # checks the counts add up
    assert summary.n_rows == len(records) == len(plan.rows)
    assert set(plan.rows["outcome"]) <= {LANDED, UNTYPED, QUARANTINED}
    assert plan.rows["source_line"].tolist() == records["source_line"].astype(int).tolist()
    landed = plan.rows[plan.rows["outcome"] == LANDED]
    assert (landed["allele_1"] != "").all() and (landed["allele_2"] != "").all()
    assert (landed["allele_1"] != "?").all()  # a partial genotype's unknown allele is always second


def _call(fn, raw: bytes, **kw):
    try:
        records = fn(raw, file="fuzz", **kw)
    except ReuniteInputError:
        return None
    _check(records)
    return records


@st.composite
def delimited(draw, layout: str):
    sep = draw(st.sampled_from(["\t", ","]))
    quote = draw(st.booleans())
    if layout == "long":
        header = draw(st.sampled_from([["Sample Name", "Marker", "Allele 1", "Allele 2", "Allele 3", "Height 1"],
                                       ["Sample.Name", "Marker", "Allele.1", "Allele.2"],
                                       ["sample_id", "locus", "allele_1", "allele_2"], ["junk"]]))
    else:
        header = ["Sample File", "Sample Name"] + draw(st.lists(LOCI, min_size=1, max_size=4)) + ["Height"]
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        n = draw(st.integers(0, len(header) + 1))
        row = [draw(SAMPLES) if i < 2 else (", ".join(draw(st.lists(ALLELES, max_size=4))) if layout == "wide" and
               draw(st.booleans()) else draw(st.one_of(LOCI, ALLELES))) for i in range(n)]
        rows.append(row)

    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if quote else v

    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join(sep.join(cell(c) for c in r) for r in [header, *rows]) + draw(st.sampled_from(["", eol]))
    bom = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    return bom + text.encode("utf-8")


@SETTINGS
@given(st.one_of(delimited("long"), delimited("wide"), st.binary(max_size=200)))
def test_fuzz_genemapper(raw):
    _call(parse_genemapper, raw)


@SETTINGS
@given(st.one_of(delimited("long"), st.binary(max_size=200)))
def test_fuzz_tidy(raw):
    _call(parse_tidy, raw)


@st.composite
def parquet_bytes(draw):
    n = draw(st.integers(0, 6))
    columns = {}
    for name in draw(st.lists(st.sampled_from(["sample_id", "locus", "allele_1", "allele_2", "extra"]),
                              min_size=1, max_size=5, unique=True)):
        kind = draw(st.sampled_from(["str", "int", "float", "null"]))
        if kind == "str":
            columns[name] = pa.array(draw(st.lists(st.one_of(st.none(), SAMPLES, LOCI, ALLELES), min_size=n, max_size=n)),
                                     pa.string())
        elif kind == "int":
            columns[name] = pa.array(draw(st.lists(st.one_of(st.none(), st.integers(-5, 60)), min_size=n, max_size=n)),
                                     pa.int32())
        elif kind == "float":
            columns[name] = pa.array(draw(st.lists(st.floats(0, 40, width=32), min_size=n, max_size=n)), pa.float32())
        else:
            columns[name] = pa.nulls(n)
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    raw = buf.getvalue()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut]
    return raw


@SETTINGS
@given(parquet_bytes())
def test_fuzz_parquet(raw):
    try:
        records = read_parquet("fuzz.parquet", data=raw)
    except ReuniteInputError:
        return
    _check(records)


@st.composite
def cmf_bytes(draw):
    specimens = []
    for _ in range(draw(st.integers(0, 3))):
        loci = "".join(
            "<LOCUS><LOCUSNAME>{}</LOCUSNAME>{}</LOCUS>".format(
                draw(LOCI), "".join(f"<ALLELE><ALLELEVALUE>{draw(ALLELES).replace('<', '&lt;').replace('>', '&gt;')}"
                                    "</ALLELEVALUE></ALLELE>" for _ in range(draw(st.integers(0, 4)))))
            for _ in range(draw(st.integers(0, 4))))
        category = draw(st.sampled_from(["Biological Mother", "Biological Father", "Forensic, Unknown",
                                         "Unidentified Person", "Pet", ""]))
        sid = draw(SAMPLES).replace("<", "").replace("&", "")
        specimens.append(f'<SPECIMEN CASEID="{draw(st.sampled_from(["C-1", "", "a b"]))}"><SPECIMENID>{sid}</SPECIMENID>'
                         f"<SPECIMENCATEGORY>{category}</SPECIMENCATEGORY>{loci}</SPECIMEN>")
    root = draw(st.sampled_from(["CODISImportFile", "Other"]))
    text = (f'<?xml version="1.0" encoding="utf-8"?>\n<{root} xmlns="urn:CODISImportFile-schema">\n'
            + "\n".join(specimens) + f"\n</{root}>\n")
    raw = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode()
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


@SETTINGS
@given(st.one_of(cmf_bytes(), st.binary(max_size=100)))
def test_fuzz_cmf(raw):
    records = _call(parse_cmf, raw)
    if records is not None:
        specimens = records.attrs["specimens"]
        assert set(records["sample_id"]) <= set(specimens["sample_id"])


_VCF_HEADER = """##fileformat=VCFv4.1
##command=HipSTR-v0.6.2
##INFO=<ID=START,Number=1,Type=Integer,Description="start">
##INFO=<ID=END,Number=1,Type=Integer,Description="end">
##INFO=<ID=PERIOD,Number=1,Type=Integer,Description="period">
##INFO=<ID=REF,Number=1,Type=Float,Description="Reference copy number">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=GB,Number=1,Type=String,Description="Base pair differences of genotype from reference">
##FORMAT=<ID=REPCN,Number=2,Type=Integer,Description="copies">
##FORMAT=<ID=CE,Number=2,Type=Float,Description="CE alleles">
##contig=<ID=chr11,length=135086622>
##contig=<ID=chr22,length=50818468>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB
"""


@st.composite
def vcf_bytes(draw):
    records = []
    for _ in range(draw(st.integers(0, 5))):
        chrom, pos = draw(st.sampled_from([("chr11", 2171088), ("chr22", 37140287), ("chr11", 5), ("chr22", 37140300)]))
        ident = draw(st.sampled_from([".", "TH01", "vWA", "FOO"]))
        calls = []
        for _ in range(2):
            gt = draw(st.sampled_from(["0|0", "0|1", "1|1", "./.", ".", "0", "1/2"]))
            gb = draw(st.sampled_from(["0|0", "11|-4", "3|x", ".", "2|1", "-100|0", "0"]))
            rep = draw(st.sampled_from(["7,9", ".", "6", "7,x"]))
            ce = draw(st.sampled_from(["9.3,6", ".", "7.7,8", "1e3,2"]))
            calls.append(f"{gt}:{gb}:{rep}:{ce}")
        info = draw(st.sampled_from(["END=2171115;PERIOD=4;REF=7.0", "END=37140337;REF=16.7", ".", "REF=abc"]))
        records.append("\t".join([chrom, str(pos), ident, "AATG", "AATGAATG", ".", "PASS", info, "GT:GB:REPCN:CE",
                                  *calls]))
    text = _VCF_HEADER + "\n".join(records) + ("\n" if records else "")
    raw = text.encode()
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


@SETTINGS
@given(st.one_of(vcf_bytes(), st.binary(max_size=100)), st.sampled_from([None, "CE"]))
def test_fuzz_vcf(raw, ce_field):
    records = _call(parse_vcf, raw, ce_field=ce_field)
    if records is not None:
        n_records = sum(1 for line in raw.decode(errors="replace").splitlines() if line and not line.startswith("#"))
        # Each record is placed (one row per sample) or skipped: nothing lost, nothing invented.
        assert len(records) // 2 + len(records.attrs["skipped"]) <= n_records
