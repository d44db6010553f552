"""Reader of sequencing STR genotype VCFs (GangSTR, ExpansionHunter, HipSTR) through pysam.

Each VCF record is placed on a catalogue locus by its name (``ID``, or ExpansionHunter's
``INFO/REPID``/``VARID``, matched like any locus name) or else by overlap of the record
(``POS``..``INFO/END``) with the GRCh38 core-repeat coordinates of the per-locus table
``kinship/data/str_reference_alleles.csv`` (``chr`` prefixes ignored). A record placed on no
locus of that table is **skipped**: counted and listed in ``records.attrs["skipped"]``, never
an error (a genome-wide STR call set holds hundreds of thousands of non-forensic loci).

Forensic (CE) allele names come only from that table: with ``ref_ce`` the CE allele of the
GRCh38 reference and ``period`` the repeat length, an allele of ``Δ`` base pairs relative to
the reference is ``ref_ce_bp + Δ`` base pairs, written ``n.r`` with ``n`` whole repeats and a
remainder of ``r`` bases (e.g. TH01, ref 7, period 4: Δ = +11 → 9.3; Δ = −2 → 6.2).

- **HipSTR**: ``FORMAT/GB`` = base-pair difference of each allele from the reference.
- **GangSTR**: ``FORMAT/REPCN`` = copy numbers; ``Δ = (REPCN − INFO/REF) × period``, with
  ``INFO/REF`` the reference copy number of the caller's region.
- **ExpansionHunter**: ``FORMAT/REPCN`` = ``"a/b"`` copy numbers; ``INFO/REF`` as above.
- ``ce_field="CE"``: a FORMAT field that already holds CE alleles (some converters write
  them as ``Type=Float``).

pysam returns ``Type=Float`` values as float32, so ``9.3`` arrives as
``9.300000190734863``: every float is written back as the shortest decimal that round-trips
through float32 (``"9.3"``) before any arithmetic, which is done in exact decimals. A missing
genotype (``./.``) is a row with no call (untyped, with a warning). The caller is detected from
the header (``##source``/``##command``, else the FORMAT fields) unless ``caller`` is given.
Lines: ``source_line`` is the record's line in the (decompressed) text.
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
from kinship.io.tidy import records_from_calls

__all__ = ["read_vcf", "parse_vcf", "reference_alleles", "ce_allele_from_bp", "float32_text", "CALLERS"]

#: Callers the reader understands.
CALLERS = ("gangstr", "expansionhunter", "hipstr")


@lru_cache(maxsize=1)
def reference_alleles() -> pd.DataFrame:
    """The per-locus table ``locus, chrom, start, end, period, ref_ce_allele, source`` (str)."""
    text = resources.files("kinship").joinpath("data/str_reference_alleles.csv").read_text(encoding="utf-8")
    return pd.DataFrame(list(csv.DictReader(text.splitlines())), dtype=str)


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
             ce_field: str | None = None) -> pd.DataFrame:
    """Read a GangSTR, ExpansionHunter or HipSTR VCF (plain or bgzipped) into the record table.

    Parameters
    ----------
    path : str or pathlib.Path
        The VCF file.
    data : bytes, optional
        The file's bytes if already read (then parsed from a temporary copy of them).
    caller : {"gangstr", "expansionhunter", "hipstr"}, optional
        Detected from the header when not given.
    ce_field : str, optional
        A FORMAT field holding CE alleles directly (overrides the caller's conversion).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`kinship.io.RECORD_COLUMNS`, one row per (sample, placed record), with
        ``attrs["skipped"]`` (list of ``{"line", "record", "reason"}``) and ``attrs["caller"]``.

    Raises
    ------
    ExportFormatError
        If pysam can not read the file as VCF, or the caller can not be determined.
    """
    path = Path(path)
    if data is None:
        return _parse_path(path, file=path.name, caller=caller, ce_field=ce_field)
    return parse_vcf(data, file=path.name, caller=caller, ce_field=ce_field)


def parse_vcf(raw: bytes, *, file: str = "<export>", caller: str | None = None,
              ce_field: str | None = None) -> pd.DataFrame:
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
        return _parse_path(path, file=file, caller=caller, ce_field=ce_field)


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


def _parse_path(path: Path, *, file: str, caller: str | None, ce_field: str | None) -> pd.DataFrame:
    import pysam

    from kinship.genetics.loci import default_catalogue

    if caller is not None and caller not in CALLERS:
        raise ExportFormatError(
            f"export {file}: caller {caller!r} is not supported; expected one of {list(CALLERS)}; "
            "fix: pass caller= one of those, or leave it out to detect it from the header"
        )
    head = path.read_bytes()[:2]
    if head != b"\x1f\x8b" and not path.read_bytes()[:16].startswith(b"##fileformat=VCF"):
        raise _format_error(file, "the first line is not '##fileformat=VCF...'")
    save = pysam.set_verbosity(0)
    try:
        try:
            vf = pysam.VariantFile(str(path))
        except (ValueError, OSError) as exc:
            raise _format_error(file, str(exc)) from None
        with vf:
            header = vf.header
            header_text = str(header)
            n_header_lines = _count_header_lines(path)
            caller = caller or _detect_caller(header_text, header)
            if caller is None and ce_field is None:
                raise ExportFormatError(
                    f"export {file}: can not tell which caller wrote it (no GangSTR/HipSTR/"
                    "ExpansionHunter in ##source/##command, no FORMAT/GB or FORMAT/REPCN); expected a "
                    "VCF of one of those callers; fix: pass caller=..., or ce_field= for a FORMAT "
                    "field of CE alleles"
                )
            if ce_field is not None and ce_field not in header.formats:
                raise ExportFormatError(
                    f"export {file}: FORMAT field {ce_field!r} is not declared in the header; found "
                    f"{list(header.formats)}; fix: pass the name of the FORMAT field holding CE alleles"
                )
            table = reference_alleles()
            catalogue = default_catalogue()
            sample_names = list(header.samples)
            samples, loci, calls, lines = [], [], [], []
            skipped: list[dict] = []
            try:
                for i, rec in enumerate(vf):
                    line = n_header_lines + i + 1
                    ref = _place(rec, table, catalogue)
                    name = rec.id or f"{rec.chrom}:{rec.pos}"
                    if ref is None:
                        skipped.append({"line": line, "record": name,
                                        "reason": "matches no locus of kinship/data/str_reference_alleles.csv"})
                        continue
                    for sample in sample_names:
                        samples.append(sample)
                        loci.append(ref["locus"])
                        calls.append(_sample_calls(rec, rec.samples[sample], ref, caller, ce_field))
                        lines.append(line)
            except (ValueError, OSError, KeyError, TypeError) as exc:
                raise _format_error(file, f"record after line {n_header_lines + len(lines)}: {exc}") from None
    finally:
        pysam.set_verbosity(save)
    records = records_from_calls(samples, loci, calls, lines)
    records.attrs["skipped"] = skipped
    records.attrs["caller"] = caller or "ce_field"
    return records


def _count_header_lines(path: Path) -> int:
    """Lines starting with ``#`` at the top of the (decompressed) file: record i is line n + i + 1."""
    import gzip

    raw = path.read_bytes()
    opener = gzip.open if raw[:2] == b"\x1f\x8b" else open
    n = 0
    with opener(path, "rb") as handle:
        for line in handle:
            if not line.startswith(b"#"):
                break
            n += 1
    return n


def _detect_caller(text: str, header) -> str | None:
    meta = "\n".join(line for line in text.splitlines() if line.startswith(("##source", "##command")))
    for name, key in (("gangstr", "gangstr"), ("hipstr", "hipstr"), ("expansionhunter", "expansionhunter")):
        if key in meta.lower():
            return name
    if "GB" in header.formats:
        return "hipstr"
    if "REPCN" in header.formats:
        return "expansionhunter" if "REPID" in header.info or "VARID" in header.info else "gangstr"
    return None


def _place(rec, table: pd.DataFrame, catalogue) -> dict | None:
    names = [rec.id] if rec.id else []
    for key in ("REPID", "VARID"):
        if key in rec.header.info and key in rec.info:
            value = rec.info[key]
            names.extend(value if isinstance(value, tuple) else [value])
    for name in names:
        if not isinstance(name, str) or not name:
            continue
        try:
            canonical = catalogue.canonical(name)
        except UnknownLocusError:
            continue
        hit = table[table["locus"] == canonical]
        if len(hit):
            return hit.iloc[0].to_dict()
    chrom = str(rec.chrom).removeprefix("chr")
    start = rec.pos
    end = rec.info["END"] if "END" in rec.header.info and "END" in rec.info else rec.stop
    hit = table[(table["chrom"] == chrom) & (table["start"].astype(int) <= int(end)) & (table["end"].astype(int) >= int(start))]
    return hit.iloc[0].to_dict() if len(hit) else None


def _values(value) -> list:
    if value is None:
        return []
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        return [v for v in re.split(r"[|/,]", value)]
    return [value]


def _sample_calls(rec, call, ref: dict, caller: str | None, ce_field: str | None) -> list[str]:
    gt = call.get("GT") if "GT" in rec.header.formats else None
    if gt is not None and (len(gt) == 0 or any(a is None for a in gt)):
        return []  # ./. : no call
    period, ref_ce = int(ref["period"]), ref["ref_ce_allele"]
    if ce_field is not None:
        raw = _values(call.get(ce_field))
        return [float32_text(v) if isinstance(v, float) else str(v) for v in raw if v not in (None, ".", "")]
    if caller == "hipstr":
        raw = _values(call.get("GB")) if "GB" in rec.header.formats else []
        deltas = [_decimal(v) for v in raw]
    else:
        raw = _values(call.get("REPCN")) if "REPCN" in rec.header.formats else []
        ref_copies = _decimal(rec.info.get("REF")) if "REF" in rec.header.info else None
        if ref_copies is None:
            ref_copies = Decimal(int(ref["end"]) - int(ref["start"]) + 1) / period
        deltas = [None if _decimal(v) is None else (_decimal(v) - ref_copies) * period for v in raw]
    out = []
    for v, delta in zip(raw, deltas):
        if v in (None, ".", ""):
            continue
        label = ce_allele_from_bp(ref_ce, period, delta) if delta is not None else None
        # Not convertible (a fractional length): keep the raw value, marked so that it can never
        # pass for a CE allele; the ingest step quarantines it as an invalid allele.
        raw_text = float32_text(v) if isinstance(v, float) else str(v)
        out.append(label if label is not None else f"{caller}:{raw_text}")
    return out
