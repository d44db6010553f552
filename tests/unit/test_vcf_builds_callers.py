"""Sequencing VCFs read right or refused clearly (issue 10): genome builds, callers, call quality,
half-calls and undeclared ALT indices. The synthetic files are written from the callers' own VCF
header definitions (HipSTR src/genotyper.cpp, GangSTR src/vcf_writer.cpp at v1.4 and v2.4,
ExpansionHunter ehunter/io/VcfHeader.cpp)."""

from __future__ import annotations

from pathlib import Path

import pytest

import flows.ingest
from kinship.app.ingest import ingest_batch
from kinship.errors import ExportFormatError
from kinship.io.tidy import split_problem
from kinship.io.vcf import detect_build, locus_table, quality_thresholds
from kinship.io.vcf import parse_vcf as _parse_vcf


def parse_vcf(raw, **options):
    """The reader's records, each reader verdict written out as "<kind>: <reason>; fix: <fix>"."""
    recs = _parse_vcf(raw, **options)
    notes = []
    for problem in recs["problem"]:
        kind, reason, fix = split_problem(problem)
        notes.append(f"{kind}: {reason}; fix: {fix}" if kind else reason)
    recs["problem"] = notes
    return recs
from kinship.store import Store
from tests.labs import register_test_labs

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"

CONTIGS = {
    "GRCh37": {"chr11": 135006516, "chr12": 133851895, "chr8": 146364022, "chr21": 48129895, "chr1": 249250621},
    "GRCh38": {"chr11": 135086622, "chr12": 133275309, "chr8": 145138636, "chr21": 46709983, "chr1": 248956422},
}

HIPSTR_HEADER = """##fileformat=VCFv4.1
##command={command}
##reference={reference}
{contigs}##INFO=<ID=BPDIFFS,Number=A,Type=Integer,Description="Base pair difference of each alternate allele from the reference allele">
##INFO=<ID=START,Number=1,Type=Integer,Description="Inclusive start coodinate for the repetitive portion of the reference allele">
##INFO=<ID=END,Number=1,Type=Integer,Description="Inclusive end coordinate for the repetitive portion of the reference allele">
##INFO=<ID=PERIOD,Number=1,Type=Integer,Description="Length of STR motif">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=GB,Number=1,Type=String,Description="Base pair differences of genotype from reference">
##FORMAT=<ID=Q,Number=1,Type=Float,Description="Posterior probability of unphased genotype">
##FORMAT=<ID=PQ,Number=1,Type=Float,Description="Posterior probability of phased genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Number of valid reads used for sample's genotype">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	HS-1	HS-2
"""

TH01_REF = "AATG" * 7
TH01_ALTS = "AATG" * 9 + "ATG" + "," + "AATG" * 6  # +11 bp (9.3), -4 bp (6)


def _contigs(build: str | None) -> str:
    return "".join(f"##contig=<ID={c},length={n}>\n" for c, n in CONTIGS[build].items()) if build else ""


def hipstr_vcf(build: str | None, records: list[str], *, reference: str = "ref.fa",
               command: str = "HipSTR --bams s.bam --fasta ref.fa --regions str.bed --str-vcf out.vcf.gz") -> bytes:
    return (HIPSTR_HEADER.format(command=command, reference=reference, contigs=_contigs(build))
            + "\n".join(records) + "\n").encode()


def th01_hipstr(build: str, pos: int | None = None, *, gt=("1|2", "0|0"), gb=("11|-4", "0|0"), q=("0.99", "0.97")) -> str:
    start = {"GRCh37": 2192318, "GRCh38": 2171088}[build] if pos is None else pos
    return "\t".join(["chr11", str(start), ".", TH01_REF, TH01_ALTS, ".", "PASS",
                      f"BPDIFFS=11,-4;START={start};END={start + 27};PERIOD=4", "GT:GB:Q:PQ:DP",
                      f"{gt[0]}:{gb[0]}:{q[0]}:{q[0]}:41", f"{gt[1]}:{gb[1]}:{q[1]}:{q[1]}:35"])


GANGSTR_HEADER = """##fileformat=VCFv4.1
{command}{contigs}##INFO=<ID=END,Number=1,Type=Integer,Description="End position of variant">
##INFO=<ID=RU,Number=1,Type=String,Description="Repeat motif">
##INFO=<ID=PERIOD,Number=1,Type=Integer,Description="Repeat period (length of motif)">
##INFO=<ID=REF,Number=1,Type=Float,Description="Reference copy number">
##INFO=<ID=STUTTERUP,Number=1,Type=Float,Description="Stutter model - up prob">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read Depth">
##FORMAT=<ID=Q,Number=1,Type=Float,Description="Quality Score (posterior probability)">
##FORMAT=<ID=REPCN,Number=2,Type=Integer,Description="Genotype given in number of copies of the repeat motif">
##FORMAT=<ID=REPCI,Number=1,Type=String,Description="Confidence intervals">
##FORMAT=<ID=RC,Number=1,Type=String,Description="Number of reads in each class (enclosing, spanning, FRR, bounding)">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	GS-1	GS-2
"""


def gangstr_vcf(build: str | None, records: list[str], *, command: bool = True) -> bytes:
    line = "##command=GangSTR-2.4.2.8 --bam s.cram --ref ref.fa --regions codis.bed --out x\n" if command else ""
    return (GANGSTR_HEADER.format(command=line, contigs=_contigs(build)) + "\n".join(records) + "\n").encode()


def gangstr_th01(build: str, sample_1: str, sample_2: str = "0/0:35:1.0:7,7:7-7,7-7:20,10,0,0") -> str:
    pos = {"GRCh37": 2192318, "GRCh38": 2171088}[build]
    return "\t".join(["chr11", str(pos), ".", TH01_REF, "AATG" * 6 + "," + "AATG" * 9, ".", "PASS",
                      f"END={pos + 27};RU=aatg;PERIOD=4;REF=7.0;STUTTERUP=0.05", "GT:DP:Q:REPCN:REPCI:RC",
                      sample_1, sample_2])


def _calls(recs) -> list[list[str]]:
    return recs[["sample_id", "locus", "allele_1", "allele_2", "problem"]].values.tolist()


# -- genome builds ---------------------------------------------------------------------------------


def test_the_build_is_read_from_contig_lengths_and_the_reference_line():
    assert detect_build(["##contig=<ID=chr1,length=249250621>"]) == "GRCh37"
    assert detect_build(["##contig=<ID=1,length=248956422>"]) == "GRCh38"
    assert detect_build(["##reference=file:///data/hs37d5.fa"]) == "GRCh37"
    assert detect_build(["##reference=hg38.fa", "##contig=<ID=chrM,length=16569>"]) == "GRCh38"


@pytest.mark.parametrize("lines, declared, message", [
    (["##contig=<ID=chr1,length=249250621>"], "GRCh38",
     r"genome builds disagree \(##contig chr1 length 249,250,621 says GRCh37; declared build says GRCh38\)"),
    (["##reference=hg19.fa", "##contig=<ID=chr1,length=248956422>"], None,
     r"genome builds disagree \(##reference=hg19.fa says GRCh37; ##contig chr1 length 248,956,422 says GRCh38\)"),
    (["##contig=<ID=chr1,length=249250621>", "##contig=<ID=chr2,length=242193529>"], None,
     r"the ##contig lengths mix genome builds"),
    (["##contig=<ID=chr1,length=247249719>"], None,
     r"##contig chr1 has length 247,249,719, the length of that chromosome on neither GRCh37 nor GRCh38"),
    (["##reference=file:///ref/NCBI36.fa"], None, r"##reference='file:///ref/NCBI36.fa' names a genome build"),
    ([], None, r"unknown genome build .*fix: declare it with --build GRCh37\|GRCh38"),
    ([], "hg19", r"build 'hg19' is not supported; expected one of \['GRCh37', 'GRCh38'\]"),
])
def test_a_mismatched_or_unknown_build_is_a_clear_error(lines, declared, message):
    with pytest.raises(ExportFormatError, match=message):
        detect_build(lines, declared=declared, file="x.vcf")


def test_the_grch37_table_holds_intervals_points_and_the_reference_alleles():
    t = locus_table("GRCh37").set_index("locus")
    assert len(t) == 21 and t.loc["vWA", ["start", "point", "ref_ce_allele"]].tolist() == ["", "6093135", "17"]
    assert t.loc["Penta E", ["start", "end", "point"]].tolist() == ["97374245", "97374269", ""]
    assert t.loc["D8S1179", ["start", "end", "point"]].tolist() == ["125907115", "125907158", "125907107"]
    assert {"D21S11", "D6S1043", "D3S3045"}.isdisjoint(t.index)
    g38 = locus_table("GRCh38").set_index("locus")
    assert (t["ref_ce_allele"] == g38.loc[t.index, "ref_ce_allele"]).all()


def test_the_same_record_on_grch37_and_grch38_gives_the_same_alleles():
    got = {b: _calls(parse_vcf(hipstr_vcf(b, [th01_hipstr(b)]), file=f"{b}.vcf")) for b in ("GRCh37", "GRCh38")}
    assert got["GRCh37"] == got["GRCh38"] == [["HS-1", "TH01", "9.3", "6", ""], ["HS-2", "TH01", "7", "7", ""]]
    # GangSTR copy numbers, on the GRCh37 interval of GangSTR's own hg19 CODIS BED: the same 6/9.
    got = {b: _calls(parse_vcf(gangstr_vcf(b, [gangstr_th01(b, "1/2:40:1.0:6,9:6-6,9-9:20,10,0,0")])))
           for b in ("GRCh37", "GRCh38")}
    assert got["GRCh37"] == got["GRCh38"] == [["GS-1", "TH01", "6", "9", ""], ["GS-2", "TH01", "7", "7", ""]]


def _vwa_hipstr(pos: int, end: int) -> str:
    ref = "TAGA" * 17
    return "\t".join(["chr12", str(pos), ".", ref, "TAGA" * 18, ".", "PASS",
                      f"BPDIFFS=4;START={pos};END={end};PERIOD=4", "GT:GB:Q:PQ:DP", "0|1:0|4:0.99:0.99:30",
                      "0|0:0|0:0.99:0.99:30"])


def test_a_grch37_point_locus_is_placed_only_by_a_record_that_holds_the_point():
    point = 6093135  # vWA: no GRCh37 interval in any source, the 1000 Genomes HipSTR region start
    for pos, end, placed in ((point, point + 67, True), (point - 3, point + 64, True), (point - 67, point, True),
                             (point + 1, point + 68, False), (point - 68, point - 1, False)):
        recs = parse_vcf(hipstr_vcf("GRCh37", [_vwa_hipstr(pos, end)]), file="v.vcf")
        assert (not recs.empty) is placed, (pos, end)
        if placed:
            assert _calls(recs)[0] == ["HS-1", "vWA", "17", "18", ""]
        else:
            assert "build GRCh37" in recs.attrs["skipped"][0]["reason"]


def test_a_locus_without_grch37_coordinates_is_refused_by_name(tmp_path):
    d21 = "\t".join(["chr21", "20554291", "D21S11", "TCTA" * 29, ".", ".", "PASS",
                     "BPDIFFS=0;START=20554291;END=20554406;PERIOD=4", "GT:GB:Q:PQ:DP",
                     "0|0:0|0:0.99:0.99:30", "0|0:0|0:0.99:0.99:30"])
    off = "\t".join(["chr1", "1000000", ".", "ACACACAC", ".", ".", "PASS",
                     "BPDIFFS=0;START=1000000;END=1000007;PERIOD=2", "GT:GB:Q:PQ:DP",
                     "0|0:0|0:0.99:0.99:30", "0|0:0|0:0.99:0.99:30"])
    raw = hipstr_vcf("GRCh37", [d21, th01_hipstr("GRCh37"), off])
    recs = parse_vcf(raw, file="b37.vcf")
    d21_rows = recs[recs["locus"] == "D21S11"]
    assert len(d21_rows) == 2 and d21_rows["problem"].str.startswith(
        "locus_not_on_build: D21S11 has no GRCh37 coordinates").all()
    skipped = recs.attrs["skipped"]
    assert [s["record"] for s in skipped] == ["chr1:1000000"] and recs.attrs["build"] == "GRCh37"
    assert "these loci have no coordinates and can not be read: D10S1435, D15S659, D19S253, D21S11" in skipped[0]["reason"]
    export = tmp_path / "b37.vcf"
    export.write_bytes(raw)
    store = Store(tmp_path / "s.sqlite")
    register_test_labs(store)
    s = ingest_batch(store, export, DATA / "vcf_manifest.csv", lab="SEQ", fmt="vcf", min_autosomal_loci=1)
    assert (s.n_rows, s.n_landed, s.n_quarantined, s.n_records_skipped) == (4, 2, 2, 1)
    assert {q.kind for q in s.quarantine} == {"locus_not_on_build"}
    note = next(w for w in s.warnings if w.kind == "not_in_catalogue")
    assert "build GRCh37" in note.reason and "D21S11" in note.reason
    store.close()


# -- callers ---------------------------------------------------------------------------------------


def test_a_hipstr_file_whose_command_names_a_gangstr_bed_is_read_as_hipstr():
    cmd = "HipSTR --bams s.bam --fasta hg19.fa --regions /refs/GangSTR_hg19_codis.bed --str-vcf out.vcf.gz"
    recs = parse_vcf(hipstr_vcf("GRCh37", [th01_hipstr("GRCh37")], command=cmd), file="h.vcf")
    assert recs.attrs["caller"] == "hipstr" and _calls(recs)[0] == ["HS-1", "TH01", "9.3", "6", ""]


LEGACY_GANGSTR = """##fileformat=VCFv4.1
##contig=<ID=chr11,length=135086622>
##INFO=<ID=END,Number=1,Type=Integer,Description="End position of variant">
##INFO=<ID=RU,Number=1,Type=String,Description="Repeat motif">
##INFO=<ID=REF,Number=1,Type=Float,Description="Reference copy number">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read Depth">
##FORMAT=<ID=GB,Number=1,Type=String,Description="Genotype given in bp difference from reference">
##FORMAT=<ID=CI,Number=1,Type=String,Description="Confidence intervals">
##FORMAT=<ID=RC,Number=1,Type=String,Description="Number of reads in each class (enclosing, spanning, FRR, bounding">
##FORMAT=<ID=Q,Number=1,Type=Float,Description="Min. negative likelihood">
##FORMAT=<ID=INS,Number=1,Type=String,Description="Insert size mean and stddev">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	GS-1
chr11	2171088	.	AATGAATGAATGAATGAATGAATGAATG	AATGAATGAATGAATGAATGAATGAATGAATGAATG	.	.	END=2171115;RU=aatg;REF=7	GT:DP:GB:CI:RC:Q:INS	1/1:79:9,9:9-9,9-9:63,13,0,3:4.89157:344.217,96.4342
"""


def test_a_gangstr_1x_vcf_without_a_command_line_reads_gb_as_copy_numbers():
    # GangSTR < 2.3 wrote copy numbers in FORMAT/GB (gymreklab/GangSTR issue 60); read as HipSTR
    # base pairs, 9/9 at TH01 would have become 9.1/9.1, silently.
    recs = parse_vcf(LEGACY_GANGSTR.encode(), file="old.vcf")
    assert recs.attrs["caller"] == "gangstr" and _calls(recs) == [["GS-1", "TH01", "9", "9", ""]]
    # Its Q is a negative log-likelihood, not a posterior: min_q is not applied to it.
    assert recs.attrs["quality"]["min_q"] == 0.9


def test_callers_are_detected_from_their_fields_and_readings_that_disagree_are_refused():
    assert parse_vcf((DATA / "expansionhunter_forensic.vcf").read_bytes(), build="GRCh38").attrs["caller"] == \
        "expansionhunter"  # no ##source line: REPID, VARID, SVTYPE, ADSP, <STRn>
    lying = hipstr_vcf("GRCh38", [th01_hipstr("GRCh38")], command="GangSTR-2.4 --bam s.bam")
    with pytest.raises(ExportFormatError, match=r"##command=GangSTR-2.4 names gangstr but the header's fields are "
                                                 r"hipstr's \(hipstr: BPDIFFS, PQ, START\)"):
        parse_vcf(lying, file="x.vcf")
    # The lab's word overrides the source line, never the fields.
    assert parse_vcf(lying, caller="hipstr").attrs["caller"] == "hipstr"
    with pytest.raises(ExportFormatError, match=r"caller 'gangstr' was given but the header's fields are hipstr's"):
        parse_vcf(hipstr_vcf("GRCh38", [th01_hipstr("GRCh38")]), file="x.vcf", caller="gangstr")
    bare = b"##fileformat=VCFv4.1\n##contig=<ID=chr11,length=135086622>\n" \
           b'##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n' \
           b'##FORMAT=<ID=GB,Number=1,Type=String,Description="bp">\n' \
           b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\n"
    with pytest.raises(ExportFormatError, match=r"can not tell which caller wrote it"):
        parse_vcf(bare, file="bare.vcf")


# -- call quality ----------------------------------------------------------------------------------


def test_a_gangstr_call_of_q_0_39_does_not_land(tmp_path):
    raw = gangstr_vcf("GRCh38", [gangstr_th01("GRCh38", "1/2:40:0.39:6,9:6-6,9-9:20,10,0,0")])
    recs = parse_vcf(raw, file="g.vcf")
    assert recs["problem"].iloc[0] == (
        "low_quality: call below the gangstr quality thresholds (Q 0.39 < 0.9): the locus is left untyped; fix: "
        "re-sequence or re-call the sample, or set this run's quality thresholds (reader option quality={...} / "
        "--min-q, --min-depth, --max-ci-width) if the lab accepts the call")
    export = tmp_path / "g.vcf"
    export.write_bytes(raw)
    store = Store(tmp_path / "s.sqlite")
    register_test_labs(store)
    s = ingest_batch(store, export, DATA / "vcf_manifest.csv", lab="SEQ", fmt="vcf", min_autosomal_loci=1)
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_low_quality) == (2, 1, 1, 1)
    low = next(w for w in s.warnings if w.kind == "low_quality")
    assert (low.sample_id, low.locus) == ("GS-1", "TH01")
    assert store.load_genotypes()[["sample_id", "locus"]].values.tolist() == [["GS-2", "TH01"]]
    # A per-run override lets the lab accept it (a new batch identity: the options are in its key).
    s = ingest_batch(store, export, DATA / "vcf_manifest.csv", lab="SEQ", fmt="vcf", min_autosomal_loci=1,
                     reader_options={"quality": {"min_q": 0.3}})
    assert (s.n_landed, s.n_low_quality) == (2, 0)
    store.close()


@pytest.mark.parametrize("call, why", [
    ("1/2:8:1.0:6,9:6-6,9-9:20,10,0,0", "DP 8 < 10"),
    ("1/2:40:1.0:6,9:6-6,8-10:20,10,0,0", "REPCI width 2 > 1 repeat units"),
    ("1/2:40:1.0:6,9:6-6,7-8:20,10,0,0", "call 9 outside its REPCI 7-8"),
])
def test_depth_and_confidence_intervals_are_thresholds_too(call, why):
    recs = parse_vcf(gangstr_vcf("GRCh38", [gangstr_th01("GRCh38", call)]), file="g.vcf")
    assert f"({why})" in recs["problem"].iloc[0] and recs["problem"].iloc[1] == ""


def test_quality_options_are_checked():
    assert quality_thresholds("expansionhunter") == {"min_q": None, "min_depth": 10, "max_ci_width": 1,
                                                     "honour_filters": True}
    with pytest.raises(ExportFormatError, match=r"quality option 'min_qual' is unknown; expected one of"):
        quality_thresholds("hipstr", {"min_qual": 0.5})
    with pytest.raises(ExportFormatError, match=r"quality option min_q=1.5 is invalid; expected a probability"):
        quality_thresholds("hipstr", {"min_q": 1.5})


# -- half-calls and undeclared ALT indices ---------------------------------------------------------


def test_a_half_call_gives_the_known_allele_and_the_unknown_label():
    recs = parse_vcf(hipstr_vcf("GRCh38", [th01_hipstr("GRCh38", gt=("1/.", "0|."), gb=("11|.", "0|."))]))
    assert _calls(recs) == [["HS-1", "TH01", "9.3", "?", ""], ["HS-2", "TH01", "7", "?", ""]]


def test_a_gt_naming_an_undeclared_alt_is_an_invalid_record(tmp_path):
    raw = hipstr_vcf("GRCh38", [th01_hipstr("GRCh38", gt=("3/1", "0|0"), gb=("0|11", "0|0"))])
    recs = parse_vcf(raw)
    assert recs["problem"].iloc[0].startswith(
        "invalid_record: GT '3/1' names allele '3', but the record declares 2 ALT allele(s)")
    # A GB that disagrees with the allele its GT index names is never read either.
    recs = parse_vcf(hipstr_vcf("GRCh38", [th01_hipstr("GRCh38", gb=("11|-8", "0|0"))]))
    assert recs["problem"].iloc[0].startswith("invalid_record: GT '1|2' names allele 2 of -4 bp from REF, but "
                                              "FORMAT/GB says -8")
    export = tmp_path / "bad.vcf"
    export.write_bytes(raw)
    store = Store(tmp_path / "s.sqlite")
    register_test_labs(store)
    s = ingest_batch(store, export, DATA / "vcf_manifest.csv", lab="SEQ", fmt="vcf", min_autosomal_loci=1)
    assert (s.n_landed, s.n_quarantined) == (1, 1) and s.quarantine[0].kind == "invalid_record"
    assert "no allele called" not in s.quarantine[0].reason
    store.close()


# -- the command line ------------------------------------------------------------------------------


def test_the_ingest_command_passes_caller_build_and_quality_to_the_reader(monkeypatch, capsys, tmp_path):
    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        raise ExportFormatError("export x.vcf: genome builds disagree (a says GRCh37;\n b says GRCh38); fix: ...")

    monkeypatch.setattr(flows.ingest, "ingest", fake)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.vcf").write_text("")
    (tmp_path / "m.csv").write_text("")
    with pytest.raises(SystemExit) as info:
        flows.ingest.main(["x.vcf", "m.csv", "--lab", "SEQ", "--fmt", "vcf", "--caller", "hipstr", "--build", "GRCh37",
                           "--min-q", "0.8", "--max-ci-width", "2"])
    assert info.value.code == 2
    assert seen["reader_options"] == {"caller": "hipstr", "build": "GRCh37",
                                      "quality": {"min_q": 0.8, "max_ci_width": 2.0}}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: export x.vcf: genome builds disagree")
    with pytest.raises(SystemExit):
        flows.ingest.main(["x.txt", "m.csv", "--lab", "SEQ", "--build", "GRCh37"])
    assert "are for --fmt vcf, not --fmt genemapper" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # a missing file: one line, no traceback
        flows.ingest.main(["nope.vcf", "m.csv", "--lab", "SEQ", "--fmt", "vcf"])
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: export nope.vcf: no such file; fix: give the path of the lab's export file\n"


# -- the real public file --------------------------------------------------------------------------


def test_the_real_1000_genomes_gangstr_file_reads_as_grch38_gangstr_with_no_forensic_locus():
    recs = parse_vcf((DATA / "gangstr_ceu_chr21.vcf.gz").read_bytes(), file="ceu_ex.vcf.gz")
    assert (recs.attrs["caller"], recs.attrs["build"], len(recs), len(recs.attrs["skipped"])) == \
        ("gangstr", "GRCh38", 0, 385)
    assert "build GRCh38" in recs.attrs["skipped"][0]["reason"]
    with pytest.raises(ExportFormatError, match=r"declared build says GRCh37"):
        parse_vcf((DATA / "gangstr_ceu_chr21.vcf.gz").read_bytes(), file="ceu_ex.vcf.gz", build="GRCh37")


def test_a_vcf_half_call_lands_as_a_partial_genotype(tmp_path):
    export = tmp_path / "half.vcf"
    export.write_bytes(hipstr_vcf("GRCh38", [th01_hipstr("GRCh38", gt=("1/.", "./."), gb=("11|.", ".|."))]))
    store = Store(tmp_path / "s.sqlite")
    register_test_labs(store)
    s = ingest_batch(store, export, DATA / "vcf_manifest.csv", lab="SEQ", fmt="vcf", min_autosomal_loci=1)
    assert (s.n_rows, s.n_landed, s.n_untyped) == (2, 1, 1)
    assert store.load_genotypes()[["sample_id", "locus", "allele_1", "allele_2"]].values.tolist() == [
        ["HS-1", "TH01", "9.3", "?"]]
    store.close()


def test_a_record_cut_short_is_an_invalid_record_not_a_crash():
    """Found by the reader fuzz: a record line that ends after INFO (no FORMAT, no sample columns)
    made pysam raise a bare IndexError; its rows are quarantined and the other records still read."""
    th01 = th01_hipstr("GRCh38")
    cut = "\t".join(th01.split("\t")[:8])
    recs = parse_vcf(hipstr_vcf("GRCh38", [th01, cut]), file="cut.vcf")
    assert recs["problem"].iloc[:2].tolist() == ["", ""]  # the whole record reads
    assert recs["problem"].iloc[2:].str.startswith(
        "invalid_record: the record has 8 of the 11 fields the header declares").all()
    assert len(recs) == 4
