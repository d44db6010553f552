"""Reader of STRait Razor v3 output (ForenSeq amplicons), one sample per file.

Layout: tab-separated, no header, one line per distinct sequence:
``Locus:allele<TAB>N bases<TAB>sequence<TAB>forward reads<TAB>reverse reads``
(``CSF1PO:12	68 bases	CTTCC...	0	547``). The sample id is the file name without its
extension (``A001.txt`` → ``A001``, as STRait Razor names it; a manifest ``export_name`` maps
it). Only the autosomal STRs and Amelogenin of the amplicon table are read; the file's SNPs and
X and Y STRs are listed in a note (kind ``not_read``) and counted nowhere else.

**From sequences to CE length alleles** (table ``kinship/data/forenseq_amplicons.csv``, the
ForenSeq amplicon definitions of lusSTR, Bioforensics/NBACC). STRait Razor labels each sequence
with a length-based allele. That label is accepted only when it is exact: the sequence, trimmed
of the ``flank_5`` and ``flank_3`` bases outside the UAS repeat region and of
``bases_to_subtract``, is ``period * n + r`` bases long, and the label must equal ``n`` (or
``n.r``), and be an allele known at the locus (``known_alleles``: lusSTR flags other lengths as a
"possible indel or partial sequence", since an insertion or deletion in a flanking region shifts
the length without changing the repeat). A called allele that fails either check quarantines the
locus (``unconvertible_allele``); so does a locus the table lacks (SE33: no verified
definition). An indel in a flank that moves the length to another known allele cannot be seen
from lengths; UAS, which aligns the flanks, has no such blind spot — prefer its report. Amelogenin
is X with no insertion and Y with the 6-base ``AAAGTG`` (labels ``0`` and ``1``). Sequence
isoalleles (same length, different sequence) collapse to their length allele, as the length-based
frequency tables count them; every file carries a ``sequence_collapsed`` note saying so.

**Which sequences are a called allele.** STRait Razor counts every sequence, stutter and noise
included. Per locus, with the reads of a length allele summed over its sequences and strands:

1. analytical threshold: an allele needs at least ``max(20, 0.017 * locus reads)`` reads (the
   defaults of UAS, "Analytical Threshold 1.7 %", and of lusSTR, 20 reads and 1.7 %; per run:
   ``reader_options={"analytical_reads": ..., "analytical_fraction": ...}``);
2. stutter: an allele one repeat shorter than a stronger one with at most ``stutter_back`` of its
   reads (or one repeat longer, ``stutter_forward``) is stutter (UAS's per-locus stutter filter,
   the same values as lusSTR's);
3. what remains is called: one allele a homozygote (when a partner in balance, ``min_balance``
   of its reads, would have passed the threshold: else a drop-out can not be ruled out and the
   locus is ``ambiguous_reads``), two a heterozygote when the weaker has at
   least ``min_balance`` of the stronger's reads (UAS intralocus balance 50 %; lusSTR's per-locus
   minimum heterozygote balance), three or more a three-allele locus (which ingestion quarantines,
   a mixture if at two loci or more). Two alleles out of balance can be a real imbalanced
   heterozygote or an artefact: the locus is quarantined (``ambiguous_reads``), never guessed.

These are reference samples: no locus call is ever made that a lab's UAS run with its default
settings would not also make. No allele above the threshold: no call (untyped).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from kinship.errors import ExportFormatError
from kinship.genetics.loci import default_catalogue
from kinship.io.forenseq import ISOALLELE_NOTE_KIND
from kinship.io.tidy import decode_text, reader_problem, records_from_calls

__all__ = ["read_straitrazor", "parse_straitrazor", "Amplicon", "amplicons", "call_locus",
           "ANALYTICAL_READS", "ANALYTICAL_FRACTION"]

#: Fewest reads of a called allele (UAS and lusSTR default static analytical threshold).
ANALYTICAL_READS = 20
#: Fewest reads of a called allele as a fraction of the locus's reads (UAS and lusSTR: 1.7 %).
ANALYTICAL_FRACTION = 0.017

_FIX_TYPE = ("type the sample with UAS (or lusSTR) and send its report, or send the locus typed by "
             "capillary electrophoresis")


@dataclass(frozen=True)
class Amplicon:
    """One locus of ``kinship/data/forenseq_amplicons.csv``.

    Attributes
    ----------
    locus : str
        Catalogue name.
    period : int
        Repeat length, bases.
    flank_5, flank_3, bases_to_subtract : int
        Bases trimmed from the STRait Razor sequence (5' and 3' flanks outside the UAS region) and
        then from the region's length before dividing by ``period``.
    stutter_back, stutter_forward : float
        Stutter filter: largest fraction of the parent allele's reads a stutter (one repeat
        shorter, longer) has.
    min_balance : float
        Smallest weaker/stronger read ratio of a called heterozygote.
    known_alleles : tuple of str
        Alleles known at the locus (lusSTR); for Amelogenin ``("0=X", "1=Y")``.
    """

    locus: str
    period: int
    flank_5: int
    flank_3: int
    bases_to_subtract: int
    stutter_back: float
    stutter_forward: float
    min_balance: float
    known_alleles: tuple[str, ...]

    def allele_of(self, sequence: str) -> str:
        """The length allele of a STRait Razor sequence (``n`` or ``n.r`` repeats; see the module).

        Examples
        --------
        >>> amplicons()["TH01"].allele_of("A" * (32 + 12) + "AATG" * 9 + "ATG")
        '9.3'
        >>> amplicons()["AMEL"].allele_of("A" * 63 + "AAAGTG")
        'Y'
        """
        n, r = divmod(len(sequence) - self.flank_5 - self.flank_3 - self.bases_to_subtract, self.period)
        label = str(n) if r == 0 else f"{n}.{r}"
        names = dict(a.split("=", 1) for a in self.known_alleles if "=" in a)
        return names.get(label, label) if names else label


@lru_cache(maxsize=1)
def amplicons() -> dict[str, Amplicon]:
    """The bundled amplicon table ``{locus: Amplicon}`` (read on first use).

    Examples
    --------
    >>> a = amplicons()["D21S11"]
    >>> a.period, a.flank_5, a.flank_3, a.bases_to_subtract, a.stutter_back
    (4, 34, 12, 11, 0.2)
    """
    text = resources.files("kinship").joinpath("data/forenseq_amplicons.csv").read_text(encoding="utf-8")
    return {
        r["locus"]: Amplicon(r["locus"], int(r["period"]), int(r["flank_5"]), int(r["flank_3"]),
                             int(r["bases_to_subtract"]), float(r["stutter_back"]), float(r["stutter_forward"]),
                             float(r["min_balance"]), tuple(a for a in r["known_alleles"].split(";") if a))
        for r in csv.DictReader(text.splitlines())
    }


def _length(label: str, period: int) -> int:
    whole, _, part = label.partition(".")
    return int(whole) * period + (int(part) if part else 0)


def call_locus(reads: dict[str, int], amplicon: Amplicon, *, analytical_reads: int = ANALYTICAL_READS,
               analytical_fraction: float = ANALYTICAL_FRACTION) -> tuple[list[str], str]:
    """Call one locus from the reads of its length alleles (the rule of the module docstring).

    Parameters
    ----------
    reads : dict
        ``{label: reads}``, reads summed over the label's sequences and both strands.
    amplicon : Amplicon
        The locus's definition (stutter filters, heterozygote balance).
    analytical_reads : int, default 20
        Fewest reads of a called allele.
    analytical_fraction : float, default 0.017
        Fewest reads of a called allele as a fraction of the locus's reads.

    Returns
    -------
    (list of str, str)
        The called labels, strongest first (empty: no call), and ``""``, or ``[]`` and the reason
        the locus is ambiguous.

    Examples
    --------
    >>> d10 = amplicons()["D10S1248"]
    >>> call_locus({"13": 590, "15": 520, "14": 81, "12": 47, "11": 2}, d10)
    (['13', '15'], '')
    >>> call_locus({"12": 900, "14": 300}, d10)[1]
    'allele 14 has 300 reads, 0.333 of allele 12 (900): below the heterozygote balance 0.5 and not stutter'
    """
    total = sum(reads.values())
    threshold = max(analytical_reads, analytical_fraction * total)
    above = {a: r for a, r in reads.items() if r >= threshold}
    if amplicon.locus == "AMEL" or any(not _is_number(a) for a in above):
        kept = above
    else:
        by_length = {_length(a, amplicon.period): r for a, r in above.items()}
        kept = {}
        for a, r in above.items():
            size = _length(a, amplicon.period)
            parent = by_length.get(size + amplicon.period, 0)
            child = by_length.get(size - amplicon.period, 0)
            if r <= amplicon.stutter_back * parent or r <= amplicon.stutter_forward * child:
                continue
            kept[a] = r
    order = sorted(kept, key=lambda a: (-kept[a], a))
    if len(order) == 1 and amplicon.locus != "AMEL" and kept[order[0]] * amplicon.min_balance < threshold:
        return [], (f"only allele {order[0]} is called, with {kept[order[0]]} reads: a second allele in balance "
                    f"(at least {amplicon.min_balance:g} of it) could lie below the analytical threshold "
                    f"{threshold:g}, so a homozygote can not be told from a drop-out")
    if len(order) == 2 and kept[order[1]] < amplicon.min_balance * kept[order[0]]:
        weak, strong = order[1], order[0]
        return [], (f"allele {weak} has {kept[weak]} reads, {kept[weak] / kept[strong]:.3f} of allele {strong} "
                    f"({kept[strong]}): below the heterozygote balance {amplicon.min_balance:g} and not stutter")
    return order, ""


def _is_number(label: str) -> bool:
    whole, _, part = label.partition(".")
    return whole.isdigit() and (part == "" or part.isdigit())


def read_straitrazor(path: str | Path, *, data: bytes | None = None, analytical_reads: int = ANALYTICAL_READS,
                     analytical_fraction: float = ANALYTICAL_FRACTION) -> pd.DataFrame:
    """Read a STRait Razor v3 output file into the common record table.

    Parameters
    ----------
    path : str or pathlib.Path
        The file (its name without extension is the sample id).
    data : bytes, optional
        The file's bytes if already read.
    analytical_reads : int, default 20
        Analytical threshold, reads (a per-run override: ``reader_options``).
    analytical_fraction : float, default 0.017
        Analytical threshold, fraction of the locus's reads.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`kinship.io.RECORD_COLUMNS`, one row per locus read (``source_line`` = its
        first line); ``attrs["notes"]``: ``sequence_collapsed`` and, if any, ``not_read``.

    Raises
    ------
    ExportFormatError
        If the file is not UTF-8 text or no line has the STRait Razor layout, or a threshold is
        out of range.
    """
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    return parse_straitrazor(raw, file=path.name, analytical_reads=analytical_reads,
                             analytical_fraction=analytical_fraction)


def parse_straitrazor(raw: bytes, *, file: str = "A001.txt", analytical_reads: int = ANALYTICAL_READS,
                      analytical_fraction: float = ANALYTICAL_FRACTION) -> pd.DataFrame:
    """Parse the bytes of a STRait Razor v3 file; see :func:`read_straitrazor`.

    Examples
    --------
    >>> th01 = "A" * 32 + "AATG" * 6 + "A" * 12
    >>> recs = parse_straitrazor(f"TH01:6\\t{len(th01)} bases\\t{th01}\\t0\\t900\\n".encode(), file="S1.txt")
    >>> recs[["sample_id", "locus", "allele_1", "allele_2", "problem"]].values.tolist()
    [['S1', 'TH01', '6', '', '']]
    """
    if (isinstance(analytical_reads, bool) or not isinstance(analytical_reads, int) or analytical_reads < 1
            or isinstance(analytical_fraction, bool) or not isinstance(analytical_fraction, (int, float))
            or not 0 <= analytical_fraction < 1):
        raise ExportFormatError(
            f"export {file}: analytical threshold {analytical_reads!r} reads / {analytical_fraction!r} of the locus's "
            "reads is out of range; expected a whole number of reads >= 1 and a fraction in [0, 1) (defaults 20 "
            "and 0.017); fix: correct reader_options analytical_reads / analytical_fraction"
        )
    text = decode_text(raw, file)
    sample = Path(file).stem
    table = amplicons()
    catalogue = default_catalogue()
    first_line: dict[str, int] = {}
    reads: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    wrong: dict[str, dict[str, str]] = defaultdict(dict)  # locus -> label -> why not exact
    isoalleles: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    bad_lines: list[tuple[int, str, str]] = []
    not_read: set[str] = set()
    n_good = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        name, _, label = fields[0].partition(":")
        if len(fields) != 5 or not label or not fields[3].strip().isdigit() or not fields[4].strip().isdigit():
            bad_lines.append((number, name.strip(), "expected 'Locus:allele<TAB>N bases<TAB>sequence<TAB>forward "
                              f"reads<TAB>reverse reads', found {len(fields)} field(s)"))
            continue
        n_good += 1
        name, label, sequence = name.strip(), label.strip(), fields[2].strip()
        locus = catalogue.canonical(name) if name in catalogue else ""
        if not locus or not (catalogue.get(locus).is_autosomal or locus == "AMEL"):
            not_read.add(name)
            continue
        first_line.setdefault(locus, number)
        amplicon = table.get(locus)
        if amplicon is not None and locus == "AMEL":
            label = dict(a.split("=", 1) for a in amplicon.known_alleles).get(label, label)
        reads[locus][label] += int(fields[3]) + int(fields[4])
        isoalleles[(locus, label)][sequence] += int(fields[3]) + int(fields[4])
        if amplicon is None:
            continue
        exact = amplicon.allele_of(sequence)
        if exact != label:
            wrong[locus][label] = (f"its {len(sequence)}-base sequence is allele {exact} by the ForenSeq amplicon "
                                   "definition, not the label (another STRait Razor configuration, or a flanking indel?)")
        elif amplicon.known_alleles and label not in {a.split("=")[-1] for a in amplicon.known_alleles}:
            wrong[locus][label] = ("not an allele known at the locus: possibly an indel in a flanking region or a "
                                   "partial sequence, whose length allele is not its CE allele")
    if not n_good:
        raise ExportFormatError(
            f"export {file} has no line in the STRait Razor v3 layout ('Locus:allele<TAB>N bases<TAB>sequence"
            "<TAB>forward reads<TAB>reverse reads'); fix: send the sample's STRait Razor output file as written"
        )
    samples, loci, calls, lines, problems = [], [], [], [], []

    def add(locus: str, line: int, called: list[str], problem: str) -> None:
        samples.append(sample)
        loci.append(locus)
        calls.append(called)
        lines.append(line)
        problems.append(problem)

    iso: list[str] = []  # loci where a called length allele is two sequences above the threshold
    for locus in sorted(first_line, key=first_line.get):
        line = first_line[locus]
        amplicon = table.get(locus)
        if amplicon is None:
            add(locus, line, [], reader_problem(
                "unconvertible_allele", f"{locus} has no verified ForenSeq amplicon definition "
                "(kinship/data/forenseq_amplicons.csv), so its STRait Razor labels can not be checked as CE alleles",
                _FIX_TYPE))
            continue
        threshold = max(analytical_reads, analytical_fraction * sum(reads[locus].values()))
        # a label above the analytical threshold that is not the CE allele of its sequence is
        # refused before any calling: the calling rule would otherwise weigh reads under a
        # label the sequence does not have (and name it in its reason)
        above = [a for a, r in reads[locus].items() if r >= threshold]
        inexact = [f"{a} ({wrong[locus][a]})" for a in above if a in wrong[locus]]
        if inexact:
            add(locus, line, above, reader_problem(
                "unconvertible_allele", f"{locus}: allele label(s) without an exact CE allele: " + "; ".join(inexact),
                _FIX_TYPE))
            continue
        called, ambiguous = call_locus(reads[locus], amplicon, analytical_reads=analytical_reads,
                                       analytical_fraction=analytical_fraction)
        if ambiguous:
            add(locus, line, [], reader_problem("ambiguous_reads", f"{locus}: {ambiguous}", _FIX_TYPE))
            continue
        add(locus, line, called, "")
        if any(sum(r >= threshold for r in isoalleles[(locus, a)].values()) > 1 for a in called):
            iso.append(locus)
    for number, name, why in bad_lines:
        add(name, number, [], why)
    records = records_from_calls(samples, loci, calls, lines, problems)
    notes = [{"line": min(first_line.values(), default=1), "kind": ISOALLELE_NOTE_KIND,
              "message": (f"{file} (STRait Razor): sequence isoalleles collapsed to length alleles — the reads of "
                          "every sequence of one length are summed and the call stored as the CE length allele, as "
                          "the length-based frequency tables count it"
                          + (f"; called isoalleles (two sequences of one length above the threshold) at {', '.join(iso)}" if iso else ""))}]
    if not_read:
        notes.append({"line": 1, "kind": "not_read",
                      "message": (f"{file} (STRait Razor): {len(not_read)} loci that are not autosomal STRs (SNPs, X and "
                                  "Y STRs) are not read: " + ", ".join(sorted(not_read)[:10])
                                  + (", ..." if len(not_read) > 10 else ""))})
    records.attrs["notes"] = notes
    return records

