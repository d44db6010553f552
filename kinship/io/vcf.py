"""Reader of sequencing STR genotype VCFs (GangSTR, ExpansionHunter, HipSTR) through pysam.

**Genome build.** Coordinates are read on the build of the file, GRCh37 or GRCh38, taken from
the header (:func:`detect_build`): the ``##reference`` line (``GRCh38``/``hg38`` or
``GRCh37``/``hg19``/``b37``/``hs37d5``/``human_g1k_v37`` in its value) and the ``##contig``
lengths of chromosomes 1-22, X and Y (every one differs between the builds, e.g. chr1
249,250,621 on GRCh37 and 248,956,422 on GRCh38; ``kinship/data/chromosome_lengths.csv``), or
declared with ``build=``. Two readings that disagree (a declared build against the header, or
``##reference`` against the contigs), a header naming another build (NCBI36, CHM13), a contig
whose length is of neither build, or no build at all (ExpansionHunter writes no ``##contig``
lines: declare it) are an :class:`~kinship.errors.ExportFormatError` naming what was found.

**Placing a record.** A record is placed on a catalogue locus by its name (``ID``, or
ExpansionHunter's ``INFO/REPID``/``VARID``) or by position (``chr`` prefixes ignored), with
the record's interval ``POS..END`` (1-based inclusive; ``END`` = ``INFO/END``, else the end of
``REF``) against the locus table of its build (:func:`locus_table`):

- an *interval* locus (``start..end``, 1-based inclusive) is hit when the two intervals
  overlap: ``POS <= end and start <= END``;
- a *point* locus (GRCh37 only: the first base of the 1000 Genomes HipSTR region of Saini et
  al. 2018) is hit when ``POS <= point <= END``: a record starting one base after the point
  does not hold it and is not placed (an ExpansionHunter record starts at the padding base
  before the repeat, so ``POS = point - 1`` still holds it).

The GRCh38 table has 29 loci; the GRCh37 table 21 (``str_reference_alleles_grch37.csv``).
A locus with no coordinates on the file's build is refused by name: a record naming it is
quarantined (``locus_not_on_build``), and the message of the records placed on no locus names
the build and the loci that can not be read on it. Records on no forensic locus are skipped:
counted and listed in ``records.attrs["skipped"]``, never an error.

**CE alleles.** With ``ref_ce`` the CE allele of the build's reference sequence at the locus
and ``period`` the repeat length, an allele ``Δ`` base pairs longer than the reference is
``ref_ce_bp + Δ`` base pairs, written ``n.r`` (TH01, ref 7, period 4: Δ = +11 → 9.3). Only
``Δ`` depends on the caller's region, so the same allele reads the same on both builds.

- **HipSTR**: ``FORMAT/GB`` = base-pair difference of each allele from ``REF``.
- **GangSTR** (2.x): ``FORMAT/REPCN`` = copy numbers; ``Δ = (REPCN − INFO/REF) × period``.
- **GangSTR** (1.x, before 2.3 by its maintainers' word, gymreklab/GangSTR issue 60):
  ``FORMAT/GB`` is declared "bp difference from reference" but holds **copy numbers**, with
  ``FORMAT/CI`` and ``FORMAT/RC``; read as copy numbers like ``REPCN``.
- **ExpansionHunter**: ``FORMAT/REPCN`` = ``"a/b"`` copy numbers; ``INFO/REF`` as above.
- ``ce_field="CE"``: a FORMAT field that already holds CE alleles.

Each allele is checked against the allele its GT index names (the ``REF``/``ALT`` sequence
length, or the ``<STRn>`` symbol) when the record gives it: a disagreement, or a GT naming an
ALT the record does not declare, quarantines that sample's row as ``invalid_record``.

**Caller** (:func:`detect_caller`), in this order: (1) the fields the header declares — each
caller writes fields no other one writes (HipSTR ``INFO/BPDIFFS``, ``START``, ``INFRAME_*``,
``FORMAT/PQ``, ``DSTUTTER``, ...; GangSTR ``FORMAT/RC``, ``ENCLREADS``, ``ML``, ``QEXP``,
``INFO/STUTTERUP``, ``EXPTHRESH``, ...; ExpansionHunter ``INFO/VARID``, ``REPID``, ``SVTYPE``,
``RL``, ``FORMAT/SO``, ``ADSP``, ``LC``, ``<STRn>`` ALT symbols); (2) the program named by
the first word of a ``##source``/``##command`` line (a file *path* later on the line, such as
a GangSTR-format region BED given to HipSTR, is not a program). Two readings that disagree,
fields of two callers, or no reading are refused; ``caller=`` overrides the source lines but
must agree with the fields (they say how the alleles are written).

**Call quality** (:data:`DEFAULT_QUALITY`, overridden per run with ``quality={...}``): a call
below a threshold leaves that locus untyped with a ``low_quality`` warning, never lands.

**Partial calls**: a GT with one allele missing (``1/.``, ``0|.``) gives the known allele and
:data:`~kinship.genetics.alleles.UNKNOWN_ALLELE` (``"?"``) second; ``./.`` or ``.`` is no call.

pysam returns ``Type=Float`` values as float32, so ``9.3`` arrives as ``9.300000190734863``:
every float is written back as the shortest decimal that round-trips through float32
before any arithmetic, which is done in exact decimals. ``source_line`` is the record's line
in the (decompressed) text.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import tempfile
import zlib
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from kinship.errors import ExportFormatError, UnknownLocusError
from kinship.genetics.alleles import UNKNOWN_ALLELE
from kinship.io.tidy import reader_problem as _problem, records_from_calls

__all__ = ["read_vcf", "parse_vcf", "reference_alleles", "locus_table", "ce_allele_from_bp", "float32_text",
           "detect_build", "detect_caller", "quality_thresholds", "CALLERS", "BUILDS", "DEFAULT_QUALITY"]

#: Callers the reader understands.
CALLERS = ("gangstr", "expansionhunter", "hipstr")

#: Genome builds the reader places records on.
BUILDS = ("GRCh37", "GRCh38")

#: Default call-quality thresholds per caller (``None``: not applied). A call fails when
#: ``Q < min_q``, depth ``< min_depth``, the widest ``REPCI`` interval is wider than
#: ``max_ci_width`` repeat units, the called copy number lies outside its own ``REPCI``, or a
#: ``FILTER`` (record or call) other than ``PASS`` is set (``honour_filters``).
#:
#: - ``min_q`` 0.9: HipSTR's ``Q`` and GangSTR 2.x's ``Q`` are the posterior probability of
#:   the genotype (their VCF headers); 0.9 is the ``--min-call-qual`` HipSTR's README gives for
#:   its ``filter_vcf.py``. GangSTR 1.x's ``Q`` is a negative log-likelihood, so ``min_q`` is
#:   applied only where the header describes ``Q`` as a posterior probability.
#:   ExpansionHunter writes no quality score.
#: - ``min_depth`` 10 reads (HipSTR/GangSTR ``FORMAT/DP``, ExpansionHunter ``FORMAT/LC``
#:   locus coverage): ExpansionHunter's own ``LowDepth`` filter marks a locus below 10x.
#: - ``max_ci_width`` 1 repeat unit (GangSTR and ExpansionHunter ``REPCI``, 95 % intervals):
#:   a wider interval leaves the call more than one step from its bound, beyond what the
#:   stepwise mutation model would absorb as a one-step difference; a call outside its own
#:   interval is TRTools dumpSTR's ``--gangstr-filter-badCI``.
DEFAULT_QUALITY = {
    "hipstr": {"min_q": 0.9, "min_depth": 10, "max_ci_width": None, "honour_filters": True},
    "gangstr": {"min_q": 0.9, "min_depth": 10, "max_ci_width": 1, "honour_filters": True},
    "expansionhunter": {"min_q": None, "min_depth": 10, "max_ci_width": 1, "honour_filters": True},
}

#: Fields only one caller writes (HipSTR src/genotyper.cpp, GangSTR src/vcf_writer.cpp,
#: ExpansionHunter ehunter/io/VcfHeader.cpp); ``"ALT:STR"`` = ``<STRn>`` ALT symbols.
_SIGNATURES = {
    "hipstr": {"INFO:BPDIFFS", "INFO:START", "INFO:INFRAME_PGEOM", "INFO:INFRAME_UP", "INFO:INFRAME_DOWN",
               "INFO:OUTFRAME_PGEOM", "INFO:OUTFRAME_UP", "INFO:OUTFRAME_DOWN", "INFO:NSKIP", "INFO:NFILT",
               "INFO:DSTUTTER", "INFO:DFLANKINDEL", "FORMAT:PQ", "FORMAT:DSNP", "FORMAT:PSNP", "FORMAT:PDP",
               "FORMAT:GLDIFF", "FORMAT:DSTUTTER", "FORMAT:DFLANKINDEL", "FORMAT:DAB", "FORMAT:ALLREADS",
               "FORMAT:MALLREADS"},
    "gangstr": {"FORMAT:RC", "FORMAT:ENCLREADS", "FORMAT:FLNKREADS", "FORMAT:ML", "FORMAT:INS",
                "FORMAT:STDERR", "FORMAT:QEXP", "FORMAT:GGL", "FORMAT:CI", "INFO:STUTTERUP", "INFO:STUTTERDOWN",
                "INFO:STUTTERP", "INFO:EXPTHRESH", "INFO:GRID"},
    "expansionhunter": {"INFO:VARID", "INFO:REPID", "INFO:SVTYPE", "INFO:RL", "FORMAT:SO", "FORMAT:ADSP",
                        "FORMAT:ADFL", "FORMAT:ADIR", "FORMAT:LC", "ALT:STR"},
}
_PROGRAMS = {"hipstr": "hipstr", "gangstr": "gangstr", "expansionhunter": "expansionhunter"}

_BUILD_NAMES = {
    "GRCh38": re.compile(r"grch38|hg38|assembly38|gca_000001405\.15|hs38", re.I),
    "GRCh37": re.compile(r"grch37|hg19|assembly19|\bb37\b|hs37d5|human_g1k_v37|gca_000001405\.1\b|ncbi37", re.I),
    None: re.compile(r"ncbi36|hg18|\bb36\b|chm13|t2t|hs1\b", re.I),
}


@lru_cache(maxsize=1)
def reference_alleles() -> pd.DataFrame:
    """The GRCh38 per-locus table ``locus, chrom, start, end, period, ref_ce_allele, source`` (str)."""
    return _data_table("data/str_reference_alleles.csv")


def _data_table(name: str) -> pd.DataFrame:
    text = resources.files("kinship").joinpath(name).read_text(encoding="utf-8")
    return pd.DataFrame(list(csv.DictReader(text.splitlines())), dtype=str)


@lru_cache(maxsize=2)
def locus_table(build: str) -> pd.DataFrame:
    """Per-locus coordinates, repeat period and reference CE allele on one genome build.

    Parameters
    ----------
    build : {"GRCh37", "GRCh38"}

    Returns
    -------
    pandas.DataFrame
        Columns ``locus, chrom, start, end, point, period, ref_ce_allele, source`` (str; 1-based
        inclusive ``start..end``, or a 1-based ``point``; ``""`` where the source gives none).

    Examples
    --------
    >>> t = locus_table("GRCh37").set_index("locus")
    >>> t.loc["TH01", ["start", "end", "point", "ref_ce_allele"]].tolist()
    ['2192318', '2192345', '2192318', '7']
    >>> len(locus_table("GRCh38")), len(t), "D21S11" in t.index
    (29, 21, False)
    """
    if build == "GRCh38":
        t = reference_alleles().copy()
        t["point"] = ""
        return t[["locus", "chrom", "start", "end", "point", "period", "ref_ce_allele", "source"]]
    if build == "GRCh37":
        return _data_table("data/str_reference_alleles_grch37.csv")
    raise ValueError(f"build {build!r}: expected one of {list(BUILDS)}")


@lru_cache(maxsize=1)
def _chromosome_lengths() -> dict[tuple[str, int], str]:
    """``(chrom, length) -> build`` for chromosomes 1-22, X, Y of both builds."""
    return {(r["chrom"], int(r["length"])): r["build"] for r in _data_table("data/chromosome_lengths.csv").to_dict("records")}


def detect_build(header_lines: list[str], *, declared: str | None = None, file: str = "<export>") -> str:
    """The genome build of a VCF, from its ``##reference`` and ``##contig`` lines and a declared build.

    Parameters
    ----------
    header_lines : list of str
        The ``##`` lines of the header.
    declared : {"GRCh37", "GRCh38"}, optional
        The build the lab declares (``build=`` / ``--build``).
    file : str
        File name, for messages.

    Returns
    -------
    str
        ``"GRCh37"`` or ``"GRCh38"``.

    Raises
    ------
    ExportFormatError
        On an unknown declared build, readings that disagree, a header naming another build,
        a contig length of neither build, or no build found and none declared.

    Examples
    --------
    >>> detect_build(["##contig=<ID=chr1,length=249250621>"])
    'GRCh37'
    >>> detect_build(["##reference=file:///ref/hg38.fa", "##contig=<ID=1,length=248956422>"])
    'GRCh38'
    >>> detect_build([], declared="GRCh37")
    'GRCh37'
    """
    if declared is not None and declared not in BUILDS:
        raise ExportFormatError(
            f"export {file}: build {declared!r} is not supported; expected one of {list(BUILDS)}; "
            "fix: pass --build GRCh37 or --build GRCh38 (hg19 = GRCh37, hg38 = GRCh38)")
    readings: dict[str, str] = {}
    for line in header_lines:
        if line.startswith("##reference="):
            value = line.split("=", 1)[1].strip()
            for build, pattern in _BUILD_NAMES.items():
                if pattern.search(value):
                    if build is None:
                        raise ExportFormatError(
                            f"export {file}: ##reference={value!r} names a genome build Reunite does not "
                            f"read; expected {' or '.join(BUILDS)}; fix: call the sample on GRCh37 or GRCh38")
                    readings[f"##reference={value}"] = build
                    break
    contig_builds: dict[str, str] = {}
    for line in header_lines:
        m = re.match(r"##contig=<(.*)>\s*$", line)
        if not m:
            continue
        fields = dict(re.findall(r"(\w+)=([^,>]+)", m.group(1)))
        chrom = fields.get("ID", "").removeprefix("chr")
        if chrom not in {*map(str, range(1, 23)), "X", "Y"} or not fields.get("length", "").isdigit():
            continue
        length = int(fields["length"])
        build = _chromosome_lengths().get((chrom, length))
        if build is None:
            raise ExportFormatError(
                f"export {file}: ##contig {fields['ID']} has length {length:,}, the length of that "
                f"chromosome on neither GRCh37 nor GRCh38 (unknown genome build); fix: call the sample on "
                "GRCh37 or GRCh38")
        contig_builds[f"##contig {fields['ID']} length {length:,}"] = build
    if len(set(contig_builds.values())) > 1:
        found = "; ".join(f"{k} ({b})" for k, b in list(contig_builds.items())[:4])
        raise ExportFormatError(f"export {file}: the ##contig lengths mix genome builds ({found}); "
                                "fix: send the caller's VCF unchanged")
    if contig_builds:
        first = next(iter(contig_builds))
        readings[f"{first} (and {len(contig_builds) - 1} more contigs)" if len(contig_builds) > 1 else first] = \
            next(iter(contig_builds.values()))
    if declared is not None:
        readings["declared build"] = declared
    if len(set(readings.values())) > 1:
        found = "; ".join(f"{k} says {b}" for k, b in readings.items())
        raise ExportFormatError(f"export {file}: genome builds disagree ({found}); fix: declare the build the "
                                "calls were made on, or correct the header")
    if not readings:
        raise ExportFormatError(
            f"export {file}: unknown genome build (no ##reference naming GRCh37/GRCh38 and no ##contig "
            "lengths of chromosomes 1-22, X, Y; ExpansionHunter writes neither); fix: declare it with "
            "--build GRCh37|GRCh38 (reader option build=)")
    return next(iter(readings.values()))


def _first_word_program(value: str) -> str | None:
    word = value.strip().strip('"').split()[0] if value.strip().strip('"') else ""
    word = word.rsplit("/", 1)[-1].lower()
    for key, name in _PROGRAMS.items():
        if word.startswith(key):
            return name
    return None


def detect_caller(header, *, caller: str | None = None, file: str = "<export>") -> tuple[str, bool]:
    """Which caller wrote a VCF, from the fields it declares and its source lines.

    Parameters
    ----------
    header : pysam.VariantHeader
        The file's header.
    caller : {"gangstr", "expansionhunter", "hipstr"}, optional
        The lab's word; overrides ``##source``/``##command`` but must agree with the fields.
    file : str
        File name, for messages.

    Returns
    -------
    (str, bool)
        The caller and whether its allele field is GangSTR 1.x's copy-number ``FORMAT/GB``.

    Raises
    ------
    ExportFormatError
        When two readings disagree, the fields are of two callers, the caller's allele field is
        missing, or nothing tells the caller.
    """
    declared = {f"FORMAT:{k}" for k in header.formats} | {f"INFO:{k}" for k in header.info}
    if any(str(k).startswith("STR") for k in header.alts):
        declared.add("ALT:STR")
    by_fields = {name: sorted(s.split(":", 1)[1] for s in declared & sig) for name, sig in _SIGNATURES.items()}
    by_fields = {k: v for k, v in by_fields.items() if v}
    programs = {}
    for rec in header.records:
        if rec.key in ("source", "command") and rec.value:
            name = _first_word_program(rec.value)
            if name:
                programs[name] = f"##{rec.key}={rec.value.split()[0]}"
    fields_text = "; ".join(f"{k}: {', '.join(v[:4])}" for k, v in by_fields.items())
    if len(by_fields) > 1 and caller not in by_fields:
        raise ExportFormatError(
            f"export {file}: the header declares fields of more than one caller ({fields_text}); "
            "fix: pass caller= (--caller) naming the caller that wrote the calls, or send its VCF unchanged")
    if len(programs) > 1:
        if caller is None:
            raise ExportFormatError(
                f"export {file}: the source lines name more than one caller ({', '.join(programs.values())}); "
                "fix: pass caller= (--caller)")
    fields = next(iter(by_fields)) if len(by_fields) == 1 else (caller if caller in by_fields else None)
    source = next(iter(programs)) if len(programs) == 1 else None
    if caller is not None:
        if caller not in CALLERS:
            raise ExportFormatError(
                f"export {file}: caller {caller!r} is not supported; expected one of {list(CALLERS)}; "
                "fix: pass caller= one of those, or leave it out to detect it from the header")
        if fields is not None and fields != caller:
            raise ExportFormatError(
                f"export {file}: caller {caller!r} was given but the header's fields are {fields}'s "
                f"({fields_text}); the alleles would be read wrongly; fix: pass --caller {fields} (caller={fields!r}) or "
                "leave it out")
        chosen = caller
    elif fields is not None and source is not None and fields != source:
        raise ExportFormatError(
            f"export {file}: {programs[source]} names {source} but the header's fields are {fields}'s "
            f"({fields_text}); fix: pass caller= (--caller) naming the caller that wrote the calls")
    else:
        chosen = fields or source
    if chosen is None:
        raise ExportFormatError(
            f"export {file}: can not tell which caller wrote it (no field only HipSTR, GangSTR or "
            "ExpansionHunter writes, and no ##source/##command line naming one); fix: pass caller= "
            "(--caller hipstr|gangstr|expansionhunter), or ce_field= for a FORMAT field of CE alleles")
    legacy = chosen == "gangstr" and "GB" in header.formats and "REPCN" not in header.formats
    allele_field = "GB" if chosen == "hipstr" or legacy else "REPCN"
    if allele_field not in header.formats:
        raise ExportFormatError(
            f"export {file}: read as {chosen}, but FORMAT/{allele_field} (its allele field) is not "
            f"declared; found {list(header.formats)}; fix: send the caller's VCF unchanged, or pass ce_field=")
    return chosen, legacy


def quality_thresholds(caller: str, overrides: dict | None = None, *, file: str = "<export>") -> dict:
    """The call-quality thresholds of a run: :data:`DEFAULT_QUALITY` of ``caller`` with ``overrides``.

    Examples
    --------
    >>> quality_thresholds("gangstr", {"min_q": 0.5})["min_q"], quality_thresholds("hipstr")["min_depth"]
    (0.5, 10)
    """
    out = dict(DEFAULT_QUALITY[caller])
    for key, value in (overrides or {}).items():
        if key not in out:
            raise ExportFormatError(
                f"export {file}: quality option {key!r} is unknown; expected one of {sorted(out)}; fix: "
                "correct the option name")
        ok = (isinstance(value, bool) if key == "honour_filters"
              else value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
                                     and (key != "min_q" or value <= 1)))
        if not ok:
            raise ExportFormatError(
                f"export {file}: quality option {key}={value!r} is invalid; expected "
                + ("true or false" if key == "honour_filters" else
                   "a probability in [0, 1] or null" if key == "min_q" else "a number >= 0 or null")
                + "; fix: correct the value")
        out[key] = value
    return out


def float32_text(value: float) -> str:
    """The shortest decimal text that reads back as the same float32.

    Examples
    --------
    >>> v = float(np.float32(9.3)); v
    9.300000190734863
    >>> float32_text(v), float32_text(12.0), float32_text(-2.0)
    ('9.3', '12', '-2')
    """
    return np.format_float_positional(np.float32(value), unique=True, trim="-")


def _decimal(value) -> Decimal | None:
    if value is None or value == "." or value == "":
        return None
    if isinstance(value, float):
        value = float32_text(value)
    try:
        out = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return out if out.is_finite() else None


def _ce_bp(label: str, period: int) -> Decimal:
    whole, _, frac = label.partition(".")
    return Decimal(int(whole) * period + (int(frac) if frac else 0))


def ce_allele_from_bp(ref_ce: str, period: int, delta_bp) -> str | None:
    """CE allele name of an allele ``delta_bp`` base pairs longer than the reference CE allele.

    Returns ``None`` when the length is not a whole number of bases or not positive (the
    caller writes the raw value instead, and the ingest step quarantines it).

    Examples
    --------
    >>> ce_allele_from_bp("7", 4, 11), ce_allele_from_bp("7", 4, -2), ce_allele_from_bp("17", 3, 3)
    ('9.3', '6.2', '18')
    """
    delta = _decimal(delta_bp)
    if delta is None or delta != delta.to_integral_value():
        return None
    total = _ce_bp(ref_ce, period) + delta
    if total <= 0:
        return None
    n, r = divmod(int(total), period)
    return f"{n}.{r}" if r else str(n)


def read_vcf(path: str | Path, *, data: bytes | None = None, caller: str | None = None,
             ce_field: str | None = None, build: str | None = None, quality: dict | None = None) -> pd.DataFrame:
    """Read a GangSTR, ExpansionHunter or HipSTR VCF (plain or bgzipped) into the record table.

    Parameters
    ----------
    path : str or pathlib.Path
        The VCF file.
    data : bytes, optional
        The file's bytes if already read (then parsed from a temporary copy of them).
    caller : {"gangstr", "expansionhunter", "hipstr"}, optional
        Detected from the header when not given (:func:`detect_caller`).
    ce_field : str, optional
        A FORMAT field holding CE alleles directly (overrides the caller's conversion).
    build : {"GRCh37", "GRCh38"}, optional
        The genome build of the calls; must agree with the header (:func:`detect_build`).
    quality : dict, optional
        Overrides of :data:`DEFAULT_QUALITY` for this run (``min_q``, ``min_depth``,
        ``max_ci_width``, ``honour_filters``; ``None`` switches a threshold off).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`kinship.io.RECORD_COLUMNS`, one row per (sample, placed record), with
        ``attrs["skipped"]`` (list of ``{"line", "record", "reason"}``), ``attrs["caller"]``,
        ``attrs["build"]`` and ``attrs["quality"]`` (the thresholds applied). A row the reader
        decided carries a :func:`kinship.io.tidy.reader_problem` note of kind
        ``low_quality`` (left untyped), ``invalid_record`` or ``locus_not_on_build``
        (quarantined).

    Raises
    ------
    ExportFormatError
        If pysam can not read the file as VCF, or the build or the caller can not be determined.
    """
    path = Path(path)
    options = dict(caller=caller, ce_field=ce_field, build=build, quality=quality)
    if data is None:
        return _parse_path(path, file=path.name, **options)
    return parse_vcf(data, file=path.name, **options)


def parse_vcf(raw: bytes, *, file: str = "<export>", caller: str | None = None,
              ce_field: str | None = None, build: str | None = None, quality: dict | None = None) -> pd.DataFrame:
    """Parse VCF bytes (plain, bgzipped or plain-gzipped); see :func:`read_vcf`.

    pysam reads from a path, so the bytes are handed to it through an anonymous in-memory file
    (Linux ``memfd_create``): no copy of the export is ever written to disk, and none is left
    behind when the process is killed. Elsewhere a private temporary file (owner-only) is used
    and removed on every exit path. A plain gzip file (not BGZF, which pysam needs) is
    decompressed in memory first.
    """
    if raw[:2] == _GZIP_MAGIC and not _is_bgzf(raw):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise _format_error(file, f"a gzip file that does not decompress: {exc}") from None
    with _scratch_path(raw) as path:
        return _parse_path(path, file=file, caller=caller, ce_field=ce_field, build=build, quality=quality)


_GZIP_MAGIC = b"\x1f\x8b"


def _is_bgzf(raw: bytes) -> bool:
    """A BGZF block: gzip with the FEXTRA flag and a ``BC`` subfield (SAM/BAM spec, sec. 4.1)."""
    return len(raw) >= 18 and raw[3] & 4 != 0 and raw[12:14] == b"BC"


@contextmanager
def _scratch_path(raw: bytes):
    """A path holding ``raw`` for as long as the ``with`` block runs."""
    if hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir():
        fd = os.memfd_create("reunite-export", os.MFD_CLOEXEC)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            os.lseek(fd, 0, os.SEEK_SET)
            yield Path(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    folder = tempfile.mkdtemp(prefix="reunite-")  # mode 0700
    path = Path(folder) / "export.vcf"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        yield path
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)


def _format_error(file: str, detail: str) -> ExportFormatError:
    return ExportFormatError(
        f"export {file}: not a readable VCF ({detail}); expected a VCF 4.x file from GangSTR, "
        "ExpansionHunter or HipSTR (plain text or bgzip); fix: pass the caller's VCF unchanged"
    )


def _parse_path(path: Path, *, file: str, caller: str | None, ce_field: str | None, build: str | None,
                quality: dict | None) -> pd.DataFrame:
    import pysam

    from kinship.genetics.loci import default_catalogue

    if caller is not None and caller not in CALLERS:
        raise ExportFormatError(
            f"export {file}: caller {caller!r} is not supported; expected one of {list(CALLERS)}; "
            "fix: pass caller= one of those, or leave it out to detect it from the header"
        )
    head = path.read_bytes()[:16]
    if head[:2] != b"\x1f\x8b" and not head.startswith(b"##fileformat=VCF"):
        raise _format_error(file, "the first line is not '##fileformat=VCF...'")
    save = pysam.set_verbosity(0)
    try:
        try:
            vf = pysam.VariantFile(str(path))
        except (ValueError, OSError) as exc:
            raise _format_error(file, str(exc)) from None
        with vf:
            header = vf.header
            header_lines = str(header).splitlines()
            n_header_lines = _count_header_lines(path)
            the_build = detect_build(header_lines, declared=build, file=file)
            if ce_field is None:
                caller, legacy = detect_caller(header, caller=caller, file=file)
            else:
                legacy = False
                if ce_field not in header.formats:
                    raise ExportFormatError(
                        f"export {file}: FORMAT field {ce_field!r} is not declared in the header; found "
                        f"{list(header.formats)}; fix: pass the name of the FORMAT field holding CE alleles")
            thresholds = quality_thresholds(caller, quality, file=file) if caller else {}
            q_is_posterior = "Q" in header.formats and "posterior" in str(header.formats["Q"].description).lower()
            reader = _RecordReader(caller=caller, legacy=legacy, ce_field=ce_field, thresholds=thresholds,
                                   q_is_posterior=q_is_posterior, build=the_build)
            missing = _loci_off_build(the_build)
            catalogue = default_catalogue()
            sample_names = list(header.samples)
            samples, loci, calls, lines, problems = [], [], [], [], []
            skipped: list[dict] = []
            try:
                for i, rec in enumerate(vf):
                    line = n_header_lines + i + 1
                    ref, named = _place(rec, the_build, catalogue)
                    name = rec.id or f"{rec.chrom}:{rec.pos}"
                    if ref is None and named in missing:
                        for sample in sample_names:
                            samples.append(sample)
                            loci.append(named)
                            calls.append([])
                            lines.append(line)
                            problems.append(_problem(
                                "locus_not_on_build",
                                f"{named} has no {the_build} coordinates or reference allele in Reunite's locus "
                                f"table, so its calls can not be converted to CE alleles on {the_build}",
                                "send the sample called on GRCh38, or add the locus's "
                                f"{the_build} coordinates and reference CE allele (with their source) to kinship/data"))
                        continue
                    if ref is None:
                        skipped.append({"line": line, "record": name, "reason": _skip_reason(the_build, missing)})
                        continue
                    text_fields = str(rec).rstrip("\n").split("\t")
                    keys = text_fields[8].split(":") if len(text_fields) > 8 else []
                    if sample_names and len(text_fields) < 9 + len(sample_names):
                        # a record line cut short (or missing its samples): no call can be read
                        for sample in sample_names:
                            samples.append(sample)
                            loci.append(ref["locus"])
                            calls.append([])
                            lines.append(line)
                            problems.append(_problem(
                                "invalid_record",
                                f"the record has {len(text_fields)} of the {9 + len(sample_names)} fields the header "
                                "declares (FORMAT and one column per sample): it may have been cut short",
                                "send the caller's VCF unchanged"))
                        continue
                    for j, sample in enumerate(sample_names):
                        gt_text = _gt_text(text_fields, keys, j)
                        got, problem = reader.sample(rec, rec.samples[sample], ref, gt_text)
                        samples.append(sample)
                        loci.append(ref["locus"])
                        calls.append(got)
                        lines.append(line)
                        problems.append(problem)
            except (ValueError, OSError, KeyError, TypeError, IndexError) as exc:
                raise _format_error(file, f"record after line {n_header_lines + len(lines)}: {exc}") from None
    finally:
        pysam.set_verbosity(save)
    records = records_from_calls(samples, loci, calls, lines, problems)
    records.attrs["skipped"] = skipped
    records.attrs["caller"] = caller or "ce_field"
    records.attrs["build"] = the_build
    records.attrs["quality"] = thresholds
    return records


@lru_cache(maxsize=2)
def _loci_off_build(build: str) -> frozenset[str]:
    """Loci of the GRCh38 table with no coordinates on ``build``."""
    return frozenset(set(reference_alleles()["locus"]) - set(locus_table(build)["locus"]))


def _skip_reason(build: str, missing: frozenset[str]) -> str:
    text = f"on no forensic locus of Reunite's {build} locus table (build {build})"
    if missing:
        text += f"; on {build} these loci have no coordinates and can not be read: {', '.join(sorted(missing))}"
    return text


def _count_header_lines(path: Path) -> int:
    """Lines starting with ``#`` at the top of the (decompressed) file: record i is line n + i + 1."""
    raw = path.read_bytes()
    opener = gzip.open if raw[:2] == b"\x1f\x8b" else open
    n = 0
    with opener(path, "rb") as handle:
        for line in handle:
            if not line.startswith(b"#"):
                break
            n += 1
    return n


def _gt_text(fields: list[str], keys: list[str], j: int) -> str | None:
    """The sample's GT as written (pysam reads an undeclared ALT index as missing)."""
    if "GT" not in keys or len(fields) <= 9 + j:
        return None
    values = fields[9 + j].split(":")
    k = keys.index("GT")
    return values[k] if k < len(values) else None


@lru_cache(maxsize=2)
def _locus_index(build: str) -> tuple[dict[str, dict], dict[str, tuple[tuple[int, int, int, dict], ...]]]:
    """:func:`locus_table` of ``build`` indexed once for placing records: the row of each locus
    by name, and per chromosome ``(start, end, point, row)`` with 0 where the source gives none.
    The rows are shared: callers read them, never change them."""
    by_locus: dict[str, dict] = {}
    by_chrom: dict[str, list] = {}
    for row in locus_table(build).to_dict("records"):
        by_locus.setdefault(row["locus"], row)
        by_chrom.setdefault(row["chrom"], []).append(
            (int(row["start"] or 0), int(row["end"] or 0), int(row["point"] or 0), row))
    return by_locus, {chrom: tuple(rows) for chrom, rows in by_chrom.items()}


def _place(rec, build: str, catalogue) -> tuple[dict | None, str | None]:
    """The locus row of ``build``'s table the record is on, and the catalogue locus its name gives."""
    by_locus, by_chrom = _locus_index(build)
    names = [rec.id] if rec.id else []
    for key in ("REPID", "VARID"):
        if key in rec.header.info and key in rec.info:
            value = rec.info[key]
            names.extend(value if isinstance(value, tuple) else [value])
    named = None
    for name in names:
        if not isinstance(name, str) or not name:
            continue
        try:
            canonical = catalogue.canonical(name)
        except UnknownLocusError:
            continue
        named = named or canonical
        if canonical in by_locus:
            return by_locus[canonical], canonical
    if named is not None:
        return None, named
    chrom = str(rec.chrom).removeprefix("chr")
    start = int(rec.pos)
    end = int(rec.info["END"]) if "END" in rec.header.info and "END" in rec.info else int(rec.stop)
    for lo, hi, point, row in by_chrom.get(chrom, ()):
        if lo and lo <= end and start <= hi:
            return row, row["locus"]
        if point and start <= point <= end:
            return row, row["locus"]
    return None, None


def _values(value) -> list:
    if value is None:
        return []
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        return [v for v in re.split(r"[|/,]", value)]
    return [value]


def _missing(v) -> bool:
    return v is None or v in (".", "")


class _RecordReader:
    """Turns one sample's call of a placed record into its calls and the reader's verdict."""

    def __init__(self, *, caller, legacy, ce_field, thresholds, q_is_posterior, build):
        self.caller, self.legacy, self.ce_field = caller, legacy, ce_field
        self.t, self.q_is_posterior, self.build = thresholds, q_is_posterior, build
        self.field = "GB" if caller == "hipstr" or legacy else "REPCN"

    def sample(self, rec, call, ref: dict, gt_text: str | None) -> tuple[list[str], str]:
        n_alleles = 1 + len(rec.alts or ())
        if gt_text is not None and gt_text not in (".", ""):
            parts = re.split(r"[/|]", gt_text)
            bad = [p for p in parts if p != "." and not (p.isdigit() and int(p) < n_alleles)]
            if bad:
                return [], _problem(
                    "invalid_record",
                    f"GT {gt_text!r} names allele {bad[0]!r}, but the record declares {n_alleles - 1} ALT allele(s)"
                    f" (indices 0..{n_alleles - 1}): an invalid record, not a missing call",
                    "re-export the VCF from the caller unchanged")
            gt = [None if p == "." else int(p) for p in parts]
        else:
            gt = []
        if not gt or all(g is None for g in gt):
            return [], ""  # ./. or . : no call
        if len(gt) != 2:
            return [], _problem("invalid_record", f"GT {gt_text!r} is not diploid at an autosomal STR locus",
                                "re-export the VCF from the caller unchanged")
        period, ref_ce = int(ref["period"]), ref["ref_ce_allele"]
        if self.ce_field is not None:
            raw = _values(call.get(self.ce_field))
            labels = [float32_text(v) if isinstance(v, float) else str(v) for v in raw]
            out = [lab for lab, g in zip(labels, gt) if g is not None and not _missing(lab)]
            return (out + [UNKNOWN_ALLELE] if len(out) == 1 and None in gt else out), ""
        raw = _values(call.get(self.field)) if self.field in rec.header.formats else []
        if len(raw) != len(gt):
            if all(_missing(v) for v in raw):
                return [], _problem("invalid_record", f"GT {gt_text!r} calls an allele but FORMAT/{self.field} is "
                                    "empty", "re-export the VCF from the caller unchanged")
            return [], _problem("invalid_record", f"FORMAT/{self.field} has {len(raw)} value(s) for the "
                                f"{len(gt)} alleles of GT {gt_text!r}", "re-export the VCF from the caller unchanged")
        ref_copies = None
        if self.field == "REPCN" or self.legacy:
            ref_copies = _decimal(rec.info.get("REF")) if "REF" in rec.header.info else None
            if ref_copies is None:
                return [], _problem("invalid_record", "INFO/REF (the reference copy number) is missing, so the "
                                    "copy numbers can not be placed against the reference allele",
                                    "re-export the VCF from the caller unchanged")
        out: list[str] = []
        for g, v in zip(gt, raw):
            if g is None:
                continue
            value = _decimal(v)
            if value is None:
                return [], _problem("invalid_record", f"GT {gt_text!r} calls allele {g} but FORMAT/{self.field} "
                                    f"gives no number for it", "re-export the VCF from the caller unchanged")
            expected = self._expected(rec, g, ref_copies, period)
            if expected is not None and expected != value:
                return [], _problem(
                    "invalid_record",
                    f"GT {gt_text!r} names allele {g} of {expected} {self._unit()}, but FORMAT/{self.field} says "
                    f"{float32_text(v) if isinstance(v, float) else v}", "re-export the VCF from the caller unchanged")
            delta = value if self.field == "GB" and not self.legacy else (value - ref_copies) * period
            label = ce_allele_from_bp(ref_ce, period, delta)
            # Not convertible (a fractional length): kept raw, marked so that it can never pass for
            # a CE allele; the ingest step quarantines it as an invalid allele.
            out.append(label if label is not None else f"{self.caller}:{float32_text(v) if isinstance(v, float) else v}")
        if None in gt:
            out.append(UNKNOWN_ALLELE)
        return out, self._quality(rec, call, gt)

    def _unit(self) -> str:
        return "bp from REF" if self.field == "GB" and not self.legacy else "repeat copies"

    def _expected(self, rec, g: int, ref_copies, period: int) -> Decimal | None:
        """The allele's length from its GT index, where the record gives it exactly (else ``None``)."""
        alleles = rec.alleles or ()
        if g >= len(alleles):
            return None
        allele = alleles[g]
        if self.field == "GB" and not self.legacy:
            if g == 0:
                return Decimal(0)
            if allele.startswith("<"):
                return None
            return Decimal(len(allele) - len(alleles[0]))
        if g == 0:
            return ref_copies
        m = re.fullmatch(r"<STR(\d+)>", allele)
        if m:
            return Decimal(int(m.group(1)))
        if not allele.startswith("<") and self.caller == "gangstr" and len(allele) % period == 0:
            return Decimal(len(allele) // period)
        return None

    def _quality(self, rec, call, gt) -> str:
        """``""`` if the call passes every threshold, else the ``low_quality`` verdict."""
        t, failed = self.t, []
        fix = ("re-sequence or re-call the sample, or set this run's quality thresholds "
               "(reader option quality={...} / --min-q, --min-depth, --max-ci-width) if the lab accepts the call")
        if t.get("honour_filters"):
            record_filters = [f for f in rec.filter.keys() if f != "PASS"]
            if record_filters:
                failed.append(f"record FILTER {','.join(record_filters)}")
            if "FILTER" in rec.header.formats:
                f = call.get("FILTER")
                f = ",".join(f) if isinstance(f, tuple) else f
                if not _missing(f) and f != "PASS":
                    failed.append(f"call FILTER {f}")
        if t.get("min_q") is not None and self.q_is_posterior:
            q = call.get("Q")
            if q is None:
                failed.append("no Q")
            elif float(q) < t["min_q"]:
                failed.append(f"Q {float32_text(q)} < {t['min_q']}")
        depth_field = "LC" if self.caller == "expansionhunter" else "DP"
        if t.get("min_depth") is not None and depth_field in rec.header.formats:
            d = call.get(depth_field)
            if d is None:
                failed.append(f"no {depth_field}")
            elif float(d) < t["min_depth"]:
                failed.append(f"{depth_field} {float32_text(d) if isinstance(d, float) else d} < {t['min_depth']}")
        ci_field = "CI" if self.legacy else "REPCI"
        if ci_field in rec.header.formats and (t.get("max_ci_width") is not None):
            ci = _values(call.get(ci_field))
            bounds = []
            for part in ci:
                m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*", str(part))
                if m:
                    bounds.append((Decimal(m.group(1)), Decimal(m.group(2))))
            if not bounds:
                failed.append(f"no {ci_field}")
            else:
                width = max(hi - lo for lo, hi in bounds)
                if width > Decimal(str(t["max_ci_width"])):
                    failed.append(f"{ci_field} width {width} > {t['max_ci_width']} repeat units")
                if len(bounds) == len(gt):
                    for (lo, hi), v, g in zip(bounds, _values(call.get(self.field)), gt):
                        d = _decimal(v)
                        if g is not None and d is not None and not (lo <= d <= hi):
                            failed.append(f"call {d} outside its {ci_field} {lo}-{hi}")
        if not failed:
            return ""
        return _problem("low_quality", f"call below the {self.caller} quality thresholds ({'; '.join(failed)}): "
                        "the locus is left untyped", fix)
