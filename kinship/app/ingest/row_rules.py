"""The row rules of ingestion: one function per rule, deciding one export row from the row alone.

A row is one sample at one locus. Each rule takes the row's :class:`RowCheck` and the locus
catalogue and returns ``True`` when it decided the row (no later rule runs), ``False`` to pass
it on; :func:`kinship.app.ingest.normalise_records` applies :data:`ROW_RULES` in order. Before
rule 1, a line the reader could not split (:func:`unreadable_line`) and a row without a sample
name (:func:`missing_sample_name`) are quarantined. Then:

1. :func:`canonical_locus` - locus name -> canonical name via the locus catalogue; an unknown
   name is quarantined with the catalogue's "did you mean" suggestion;
2. :func:`out_of_range_allele` - an allele outside the kit's ladder written as ``">27"`` or
   ``"<6"`` is quarantined: its repeat number is unknown;
3. :func:`allele_labels` - each call via :func:`kinship.genetics.alleles.parse_allele`, a
   declared unknown allele (``?`` or ``-``) as :data:`~kinship.genetics.alleles.UNKNOWN_ALLELE`;
   an invalid label (or an Amelogenin label at an STR locus, or an unknown allele beside two
   called ones) is quarantined;
4. :func:`plausible_alleles` - a call outside the locus's plausible range, or with a
   microvariant digit its repeat period does not allow (:mod:`kinship.genetics.ladders`), is
   quarantined: it is a typo, a damaged file or a wrong column, never what a lab meant;
5. :func:`three_allele_pattern` - more than two distinct alleles called (``OL`` peaks not
   counted): the row is quarantined, the locus left out of the profile;
6. :func:`untyped_call` - no allele called (``OL`` alone, ``?/?``, nothing), ``OL`` beside two
   called alleles, or a partial genotype at a locus that is not autosomal: the locus is left
   untyped;
7. :func:`genotype_pair` - one allele is a homozygote, two are sorted in canonical order, one
   allele beside a declared unknown one (``12, ?``, ``12, -``, ``?, 12``, ``12/-`` in one cell)
   or beside an ``OL`` peak is the *partial* genotype ``(12, "?")`` (``?`` always second; with
   ``OL``, a ``partial_off_ladder`` warning).

Partial genotypes, in detail: :data:`UNKNOWN_CALLS` (``?``, ``-``) are the declared unknown
allele, from any reader (a VCF half-call arrives as ``["12", "?"]``). A blank cell is not one:
a blank second allele is a homozygote (the GeneMapper convention). The partial genotype is
exactly two calls, one called allele and one unknown (or ``OL``); an unknown beside two
called alleles (``12, 14, ?``) or two unknowns beside one (``12, ?, ?``) contradict each other
and are quarantined (``bad_allele``). An off-ladder peak beside one called allele means the
other allele is unknown (its size is not an allele name), so the row lands as ``(12, "?")``
with a ``partial_off_ladder`` warning; beside two called alleles it is a third peak, and two
off-ladder peaks beside one allele (``OL, OL, 17``) are three peaks of which 17 may not be an
allele, so the locus stays untyped (``off_ladder``), as does ``OL`` alone. Only autosomal loci take a partial
genotype: ``X, ?`` at Amelogenin tells no sex (X,X or X,Y) and a Y-STR or quality locus
enters no likelihood ratio, so there the locus is left untyped (``partial_not_autosomal``).

The sample rules that follow are :mod:`kinship.app.ingest.sample_rules`.

A rule decides a row from the row alone: its raw locus, its calls, the reader's problem note
and whether it names a sample; only the reason texts quote where the row is (file, line,
sample). :func:`decide_rows` therefore applies :data:`ROW_RULES` once per distinct
combination in a batch (a national batch of 360,000 rows has a few thousand) and fills each
row's own place into the decided texts; :func:`decide_rows_one_by_one` applies them to every
row, and the two agree byte for byte (``tests/unit/test_row_decisions.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from kinship.app.ingest.records import LANDED, QUARANTINED, UNTYPED
from kinship.errors import AlleleError, UnknownLocusError
from kinship.genetics.alleles import UNKNOWN_ALLELE, allele_sort_key, parse_allele
from kinship.genetics.ladders import allele_plausibility
from kinship.genetics.loci import LocusCatalogue
from kinship.genetics.ystr import NULL_ALLELE, NULL_CALLS
from kinship.io.tidy import split_problem

__all__ = [
    "UNKNOWN_CALLS",
    "RowCheck",
    "unreadable_line",
    "missing_sample_name",
    "canonical_locus",
    "out_of_range_allele",
    "allele_labels",
    "plausible_alleles",
    "three_allele_pattern",
    "untyped_call",
    "genotype_pair",
    "ROW_RULES",
    "row_where",
    "apply_row_rules",
    "decide_rows",
    "decide_rows_one_by_one",
]

_OUT_OF_RANGE = re.compile(r"^([<>])\s*(\d+(?:\.\d)?)$")

#: Calls that declare the second allele of a partial genotype unknown (read as
#: :data:`~kinship.genetics.alleles.UNKNOWN_ALLELE`). A blank cell is not one (a homozygote).
UNKNOWN_CALLS = frozenset({UNKNOWN_ALLELE, "-"})
#: One cell holding a partial genotype, ``12/-``, ``12/?``, ``-/12`` (no format has a column
#: layout for it, but a LIMS writes it so): read as its two calls. ``12/14`` in one cell is not
#: read this way (two alleles take two cells in every format) and stays an invalid allele.
_PARTIAL_CELL = re.compile(r"^\s*([^/\s]+)\s*/\s*([-?])\s*$|^\s*([-?])\s*/\s*([^/\s]+)\s*$")

_FIX = {
    "malformed": "re-export the file from the instrument software without editing it in a "
    "spreadsheet (a cell with a stray separator shifts the line's columns)",
    "locus": "correct the locus name in the export, or add it (with aliases) to kinship/data/loci.csv",
    "allele": "correct the call in the export, or re-analyse the sample",
    "three": "re-analyse the locus (stutter or artefact peaks?) and re-submit the sample; a true "
    "tri-allelic pattern can not be matched by the current model",
    "implausible": "check the call in the export (a typo, a file cut short or a shifted column?) and "
    "re-submit the locus; an allele sized exactly beyond this range is re-submitted with the lab's note",
    "range": "size the allele exactly (an extended ladder, or sequencing) and re-submit the locus",
    "copies": "no action for matching (the rest of the haplotype and the profile land); keep the lab's "
    "call of this locus on file for a manual Y-STR comparison",
    "partial": "write a partial genotype as one allele and '?' (or '-'), e.g. 12 and ?; a full genotype as "
    "its two alleles",
}


@dataclass
class RowCheck:
    """One export row while the row rules decide it.

    Attributes
    ----------
    file : str
        Export file name, quoted in reasons.
    row : dict
        The decided row, keys of :func:`kinship.app.ingest.normalise_records`; its
        ``outcome`` is ``"quarantined"`` until a rule lands it or leaves it untyped.
    calls : list of str
        The raw calls (empty cells dropped; ``extra_calls`` of a reader after the two alleles;
        a one-cell partial genotype ``12/-`` as its two calls ``12``, ``-``).
    problem : str
        The reader's note on a line it could not split (``""`` if none).
    where : str
        ``"<file> line <n>, sample <id>, locus <name>"``, quoted in reasons.
    labels : list of (str or None)
        Canonical allele labels of ``calls`` (``None`` = ``OL``, ``"?"`` = a declared unknown
        allele, :data:`UNKNOWN_CALLS`); set by :func:`allele_labels`.
    alleles : list of str
        Distinct called labels of ``labels`` (no ``OL``, no ``"?"``) in canonical order; set by
        :func:`allele_labels`.

    Examples
    --------
    >>> check = RowCheck.from_record({"source_line": 3, "sample_id": "S1", "locus": "TH01",
    ...                               "allele_1": "9.3", "allele_2": "6"}, file="run7.txt")
    >>> check.calls, check.where, check.row["outcome"]
    (['9.3', '6'], "run7.txt line 3, sample 'S1', locus 'TH01'", 'quarantined')
    """

    file: str
    row: dict
    calls: list[str]
    problem: str = ""
    where: str = ""
    labels: list[str | None] = field(default_factory=list)
    alleles: list[str] = field(default_factory=list)

    @classmethod
    def from_record(cls, rec: dict, *, file: str) -> RowCheck:
        """Start the check of one reader record (a row of :data:`kinship.io.RECORD_COLUMNS`).

        Parameters
        ----------
        rec : dict
            The record: ``source_line``, ``sample_id``, ``locus``, ``allele_1``,
            ``allele_2`` and, if the reader gives them, ``extra_calls`` (calls joined by
            ``","``) and ``problem``.
        file : str
            Export file name.

        Returns
        -------
        RowCheck
        """
        line = int(rec["source_line"])
        sample, raw_locus = rec["sample_id"], rec["locus"]
        calls = _calls(rec["allele_1"], rec["allele_2"], rec.get("extra_calls"))
        return cls._start(file, line, sample, raw_locus, calls, rec.get("problem") or "",
                          row_where(file, line, sample, raw_locus))

    @classmethod
    def _start(cls, file: str, line, sample: str, raw_locus: str, calls: list[str], problem: str,
               where: str) -> RowCheck:
        row = {
            "source_line": line, "sample_id": sample, "raw_locus": raw_locus, "locus": "",
            "allele_1": "", "allele_2": "", "calls": ",".join(calls), "outcome": QUARANTINED,
            "kind": "", "value": ",".join(calls), "reason": "", "fix": "",
        }
        return cls(file=file, row=row, calls=calls, problem=problem, where=where)

    def quarantine(self, *, kind: str, value: str, reason: str, fix: str) -> bool:
        """Quarantine the row with this reason and fix; return ``True`` (the row is decided)."""
        self.row.update(kind=kind, value=value, reason=reason, fix=fix)
        return True


def _calls(allele_1: str, allele_2: str, extra_calls: str | None) -> list[str]:
    """The raw calls of a record: its two allele cells and its ``extra_calls``, empty cells dropped;
    a lone cell holding a partial genotype (``12/-``) is its two calls.

    Examples
    --------
    >>> _calls("12/-", "", None), _calls("? / 9.3", "", None), _calls("12/-", "14", None)
    (['12', '-'], ['?', '9.3'], ['12/-', '14'])
    """
    extra = [c for c in extra_calls.split(",") if c] if extra_calls else []
    calls = [c for c in (allele_1, allele_2, *extra) if c]
    if len(calls) == 1 and "/" in calls[0]:
        m = _PARTIAL_CELL.match(calls[0])
        if m:
            return [m.group(1), m.group(2)] if m.group(1) is not None else [m.group(3), m.group(4)]
    return calls


def row_where(file: str, line: int, sample: str, raw_locus: str) -> str:
    """Where a row is, as its reasons quote it: ``"<file> line <n>, sample <id>, locus <name>"``.

    Examples
    --------
    >>> row_where("run7.txt", 3, "S1", "TH01")
    "run7.txt line 3, sample 'S1', locus 'TH01'"
    """
    return f"{file} line {line}, sample {sample!r}, locus {raw_locus!r}"


#: Outcome of a reader's verdict on a row (a :func:`kinship.io.tidy.reader_problem` note) by its
#: kind: a call below its caller's quality thresholds is left untyped (``low_quality``); every
#: other kind is quarantined (a record that is not valid VCF for its caller, ``invalid_record``;
#: a locus the file's genome build has no coordinates for, ``locus_not_on_build``; a ForenSeq
#: report that contradicts itself, ``typed_calls_disagree``; a STRait Razor sequence with no
#: exact CE allele, ``unconvertible_allele``; reads that do not decide a genotype,
#: ``ambiguous_reads``).
READER_VERDICTS = {"low_quality": UNTYPED}


def unreadable_line(check: RowCheck, catalogue: LocusCatalogue) -> bool:
    """Quarantine a line the reader could not split into the header's fields (``malformed_line``),
    or apply a reader's verdict on a row it read but could not give exactly, with the reader's
    own kind, reason and fix (:func:`kinship.io.tidy.reader_problem`; outcome by kind:
    :data:`READER_VERDICTS`).

    Parameters
    ----------
    check : RowCheck
        The row.
    catalogue : LocusCatalogue
        Locus catalogue (not used by this rule).

    Returns
    -------
    bool
        ``True`` if the row was quarantined.
    """
    if not check.problem:
        return False
    kind, reason, fix = split_problem(check.problem)
    if kind:  # a reader's verdict on the row (kinship.io.vcf, forenseq, straitrazor)
        reason = f"{reason} ({check.where})"
        if READER_VERDICTS.get(kind, QUARANTINED) == UNTYPED:
            check.row.update(outcome=UNTYPED, kind=kind, reason=reason, fix=fix)
            return True
        return check.quarantine(kind=kind, value=",".join(check.calls), reason=reason, fix=fix)
    return check.quarantine(kind="malformed_line", value="",
                            reason=f"unreadable line ({check.file} line {check.row['source_line']}): {check.problem}",
                            fix=_FIX["malformed"])


def missing_sample_name(check: RowCheck, catalogue: LocusCatalogue) -> bool:
    """Quarantine a row whose sample-name cell is empty (``no_sample``).

    Parameters
    ----------
    check : RowCheck
        The row.
    catalogue : LocusCatalogue
        Locus catalogue (not used by this rule).

    Returns
    -------
    bool
        ``True`` if the row was quarantined.
    """
    if check.row["sample_id"]:
        return False
    return check.quarantine(kind="no_sample", value="", reason=f"row without a sample name ({check.where})",
                            fix="fill the sample-name cell or delete the row")


def canonical_locus(check: RowCheck, catalogue: LocusCatalogue) -> bool:
    """Row rule 1: set the canonical locus name, or quarantine an unknown one (``unknown_locus``).

    The reason is the catalogue's :class:`~kinship.errors.UnknownLocusError` message, with its
    "did you mean" suggestion.

    Parameters
    ----------
    check : RowCheck
        The row; ``row["locus"]`` is set to the canonical name.
    catalogue : LocusCatalogue
        Locus catalogue.

    Returns
    -------
    bool
        ``True`` if the row was quarantined.
    """
    raw_locus = check.row["raw_locus"]
    try:
        check.row["locus"] = catalogue.canonical(raw_locus, context=check.where)
    except UnknownLocusError as exc:
        return check.quarantine(kind="unknown_locus", value=raw_locus, reason=str(exc), fix=_FIX["locus"])
    return False


def out_of_range_allele(check: RowCheck, catalogue: LocusCatalogue) -> bool:
    """Row rule 2: quarantine a call outside the kit's ladder, ``">27"`` or ``"<6"`` (``out_of_range``).

    Its repeat number is unknown, so it can be neither matched nor given a frequency, and
    guessing 27 or 28 could create a false exclusion; the rest of the profile lands.

    Parameters
    ----------
    check : RowCheck
        The row (after rule 1).
    catalogue : LocusCatalogue
        Locus catalogue (not used by this rule).

    Returns
    -------
    bool
        ``True`` if the row was quarantined.
    """
    ranged = next((c for c in check.calls if _OUT_OF_RANGE.match(c.strip())), None)
    if ranged is None:
        return False
    m = _OUT_OF_RANGE.match(ranged.strip())
    side = "above the largest" if m.group(1) == ">" else "below the smallest"
    return check.quarantine(
        kind="out_of_range", value=ranged,
        reason=(f"allele {ranged!r} at {check.row['locus']} ({check.where}) is {side} ladder allele "
                f"({m.group(2)}): its repeat number is unknown, so it can be neither matched "
                "nor given a frequency; the locus is left out of the profile"),
        fix=_FIX["range"],
    )


def allele_labels(check: RowCheck, catalogue: LocusCatalogue) -> bool:
    """Row rule 3: parse every call to its canonical label; quarantine an invalid one (``bad_allele``).

    Labels follow :func:`kinship.genetics.alleles.parse_allele` (``OL`` parses to ``None``);
    a declared unknown allele (:data:`UNKNOWN_CALLS`: ``?``, ``-``) is
    :data:`~kinship.genetics.alleles.UNKNOWN_ALLELE`. An Amelogenin label (``X``, ``Y``) at a
    locus that is not of kind ``sex`` is invalid too, and so is an unknown allele that
    contradicts the other calls: beside two called alleles (``12, 14, ?``), or a second unknown
    beside a called allele (``12, ?, ?``) - a genotype has two alleles. (Beside three or more
    called alleles it is left to rule 5, the three-allele pattern.) At a Y-STR locus (kind
    ``y``) a null allele, ``0`` or ``null`` (:data:`kinship.genetics.ystr.NULL_CALLS`: the locus
    deleted or not amplified), is the label :data:`kinship.genetics.ystr.NULL_ALLELE` (``"0"``).

    Parameters
    ----------
    check : RowCheck
        The row (after rule 2); ``labels`` and ``alleles`` are set when it passes.
    catalogue : LocusCatalogue
        Locus catalogue (gives the locus kind).

    Returns
    -------
    bool
        ``True`` if the row was quarantined.
    """
    is_y = catalogue.get(check.row["locus"]).kind == "y"
    try:
        labels = [UNKNOWN_ALLELE if c.strip() in UNKNOWN_CALLS else
                  NULL_ALLELE if is_y and c.strip().lower() in NULL_CALLS else parse_allele(c, context=check.where)
                  for c in check.calls]
    except AlleleError as exc:
        bad = next(c for c in check.calls if _is_bad(c) and not (is_y and c.strip().lower() in NULL_CALLS))
        return check.quarantine(kind="bad_allele", value=bad, reason=str(exc), fix=_FIX["allele"])
    sex_label = next((c for c, a in zip(check.calls, labels) if a in ("X", "Y")), None)
    if sex_label is not None and catalogue.get(check.row["locus"]).kind != "sex":
        return check.quarantine(
            kind="bad_allele", value=sex_label,
            reason=(f"allele {sex_label!r} at {check.row['locus']} ({check.where}) is an Amelogenin "
                    "label; expected a repeat number such as '12' or '9.3' at an STR locus"),
            fix=_FIX["allele"],
        )
    called = [a for a in labels if a is not None and a != UNKNOWN_ALLELE]
    n_unknown = labels.count(UNKNOWN_ALLELE)
    if n_unknown and len(set(called)) <= 2 and (len(called) >= 2 or (called and n_unknown >= 2)):
        unknown = next(c for c, a in zip(check.calls, labels) if a == UNKNOWN_ALLELE)
        return check.quarantine(
            kind="bad_allele", value=unknown,
            reason=(f"unknown allele {unknown!r} beside the calls {check.row['calls']} at {check.row['locus']} "
                    f"({check.where}): a partial genotype is one called allele and one unknown, a full "
                    "genotype two called alleles; these calls are neither"),
            fix=_FIX["partial"],
        )
    check.labels = labels
    check.alleles = sorted(set(called), key=allele_sort_key)
    return False


def _is_bad(call: str) -> bool:
    if call.strip() in UNKNOWN_CALLS:
        return False
    try:
        parse_allele(call)
    except AlleleError:
        return True
    return False


def plausible_alleles(check: RowCheck, catalogue: LocusCatalogue) -> bool:
    """Row rule 4: quarantine a call that cannot be an allele of the locus (``implausible_allele``).

    A call beyond the locus's plausible range (half the smallest to 1.5 times the largest
    ladder allele of the bundled kits; 1 to 99 repeats at a locus no kit types), or with a
    microvariant digit the repeat period does not allow (``9.4`` at a tetranucleotide), is
    quarantined (:func:`kinship.genetics.ladders.allele_plausibility`): ``0``, ``999``, a
    17-digit number, or ``2`` where a file cut short turned ``22`` into ``2``. A call outside
    the ladders but inside the plausible range lands, and the sample is flagged
    (``off_ladder_allele``) by :func:`kinship.app.ingest.plan.plan_batch`. ``OL`` and a
    declared unknown allele (``?``) are not judged.

    Parameters
    ----------
    check : RowCheck
        The row (after rule 3: ``labels`` set).
    catalogue : LocusCatalogue
        Locus catalogue (gives the repeat period).

    Returns
    -------
    bool
        ``True`` if the row was quarantined.

    Examples
    --------
    >>> from kinship.genetics.loci import default_catalogue
    >>> check = RowCheck.from_record({"source_line": 4, "sample_id": "S1", "locus": "FGA",
    ...                               "allele_1": "19", "allele_2": "2"}, file="cut.txt")
    >>> check.row["locus"], check.labels = "FGA", ["19", "2"]
    >>> plausible_alleles(check, default_catalogue()), check.row["kind"], check.row["value"]
    (True, 'implausible_allele', '2')
    """
    locus = check.row["locus"]
    for call, label in zip(check.calls, check.labels):
        if label is None or label == UNKNOWN_ALLELE or catalogue.get(locus).kind == "sex":
            continue
        if label == NULL_ALLELE and catalogue.get(locus).kind == "y":
            continue  # a null allele at a Y-STR (rule 3), not a repeat number
        verdict, reason = allele_plausibility(locus, label, catalogue=catalogue)
        if verdict == "implausible":
            return check.quarantine(kind="implausible_allele", value=call, reason=f"{reason} ({check.where})",
                                    fix=_FIX["implausible"])
    return False


def three_allele_pattern(check: RowCheck, catalogue: LocusCatalogue) -> bool:
    """Row rule 5: quarantine more than two distinct alleles at a locus (``three_allele``).

    ``OL`` calls and declared unknown alleles (``?``) are not counted. At a Y-STR locus two
    values are a duplication or the two copies of a multi-copy locus (DYS385a/b, DYF387S1a/b)
    and land; three or more called values (``11, 11, 14`` too) are a triplication, quarantined as ``y_copy_number`` (the store's
    two allele columns cannot hold it), which never counts towards a mixture. The locus is left out
    of the profile; the sample rules
    flag the sample (:func:`kinship.app.ingest.sample_rules.probable_mixture` quarantines it
    whole at ``mixture_min_loci`` such loci).

    Parameters
    ----------
    check : RowCheck
        The row (after rule 4).
    catalogue : LocusCatalogue
        Locus catalogue (not used by this rule).

    Returns
    -------
    bool
        ``True`` if the row was quarantined.

    Examples
    --------
    >>> from kinship.genetics.loci import default_catalogue
    >>> check = RowCheck.from_record({"source_line": 5, "sample_id": "S1", "locus": "D18S51",
    ...                               "allele_1": "13", "allele_2": "15", "extra_calls": "16"},
    ...                              file="e.txt")
    >>> check.row["locus"] = "D18S51"
    >>> check.alleles = ["13", "15", "16"]
    >>> three_allele_pattern(check, default_catalogue()), check.row["kind"], check.row["value"]
    (True, 'three_allele', '13,15,16')
    """
    copies = [a for a in check.labels if a is not None and a != UNKNOWN_ALLELE]
    if catalogue.get(check.row["locus"]).kind == "y" and len(copies) > 2:
        return check.quarantine(
            kind="y_copy_number", value=check.row["value"],
            reason=(f"{len(copies)} copies ({', '.join(copies)}) at the Y-STR locus "
                    f"{check.row['locus']} ({check.where}): a triplication (three or more copies) of the "
                    "locus; the store holds at most two copies per locus, so the locus is left out "
                    "of the haplotype rather than stored as a different one (not a mixture sign)"),
            fix=_FIX["copies"],
        )
    if len(check.alleles) <= 2:
        return False
    return check.quarantine(
        kind="three_allele", value=check.row["value"],
        reason=(f"three-allele pattern: {len(check.alleles)} distinct alleles called "
                f"({', '.join(check.alleles)}) at {check.row['locus']} ({check.where}); expected at most 2 "
                "for a single-source profile"),
        fix=_FIX["three"],
    )


def _is_partial(labels: list[str | None]) -> bool:
    """Whether the labels are a partial genotype: exactly two calls, one allele and one ``OL`` or ``?``."""
    return len(labels) == 2 and sum(a is None or a == UNKNOWN_ALLELE for a in labels) == 1


def untyped_call(check: RowCheck, catalogue: LocusCatalogue) -> bool:
    """Row rule 6: leave the locus untyped where no genotype, full or partial, was called.

    * ``off_ladder``: an ``OL`` call and no called allele, or ``OL`` beside two called alleles
      (a third peak: which two are the genotype?), or more than one ``OL`` or unknown beside
      a called allele (``OL, OL, 17``: if both off-ladder peaks are alleles, 17 is not);
    * ``no_call``: no allele called, ``?/?`` and ``-/-`` included;
    * ``partial_not_autosomal``: one allele and an unknown one (``X, ?``) at a locus that is not
      autosomal: at Amelogenin ``X, ?`` may be X,X or X,Y and tells no sex (``Y, ?`` too, for
      the sex check reads full calls only), and a Y-STR or quality-sensor locus carries no
      weight in a likelihood ratio (an ``OL`` beside the allele stays ``off_ladder``).

    Exactly one called allele beside exactly one ``OL`` (and no other call) at an autosomal
    locus is not untyped: it is the partial genotype ``(allele, "?")`` (rule 7). The row's outcome becomes ``"untyped"``; the batch
    reports it as a warning.

    Parameters
    ----------
    check : RowCheck
        The row (after rule 5).
    catalogue : LocusCatalogue
        Locus catalogue (not used by this rule).

    Returns
    -------
    bool
        ``True`` if the row was left untyped.
    """
    off_ladder = any(a is None for a in check.labels)
    partial = _is_partial(check.labels)
    autosomal = partial and catalogue.get(check.row["locus"]).is_autosomal
    if off_ladder and not autosomal:
        check.row.update(outcome=UNTYPED, kind="off_ladder",
                         reason=(f"off-ladder call (calls {check.row['calls']}) at {check.row['locus']}: the locus "
                                 "is left untyped for this person"),
                         fix="re-analyse the locus if it is needed")
        return True
    if not check.alleles:
        check.row.update(outcome=UNTYPED, kind="no_call",
                         reason=f"no allele called at {check.row['locus']}: the locus is left untyped",
                         fix="re-type the locus if it is needed")
        return True
    if partial and not autosomal:
        locus = check.row["locus"]
        why = (f"a partial genotype ({check.alleles[0]}/?) at the sex marker {locus} is not a sex call "
               "(X/? may be X,X or X,Y)" if catalogue.get(locus).kind == "sex" else
               f"a partial genotype ({check.alleles[0]}/?) at {locus}, a {catalogue.get(locus).kind} locus, "
               "is not kept (partial genotypes are kept at autosomal loci only)")
        check.row.update(outcome=UNTYPED, kind="partial_not_autosomal",
                         reason=f"{why} (calls {check.row['calls']}): the locus is left untyped",
                         fix="re-type the locus if it is needed")
        return True
    return False


def genotype_pair(check: RowCheck, catalogue: LocusCatalogue) -> bool:
    """Row rule 7: land the genotype; one allele is a homozygote, two are in canonical order.

    ``12`` and ``12, 12`` agree; the pair is sorted by
    :func:`kinship.genetics.alleles.allele_sort_key`. One called allele beside a declared
    unknown one (``12, ?``, ``? , 12``, ``12, -``) is the partial genotype ``("12", "?")``: the
    unknown allele always second, never sorted in. One called allele beside an ``OL`` peak is
    the same partial genotype, with kind ``partial_off_ladder`` and a reason that the batch
    reports as a warning (the off-ladder peak is the other allele, of unknown size).

    Parameters
    ----------
    check : RowCheck
        The row (after rule 6: one or two alleles, no ``OL``).
    catalogue : LocusCatalogue
        Locus catalogue (not used by this rule).

    Returns
    -------
    bool
        ``True``: the row is landed (outcome ``"landed"``, kind ``"ok"``).

    Examples
    --------
    >>> from kinship.genetics.loci import default_catalogue
    >>> check = RowCheck.from_record({"source_line": 2, "sample_id": "S1", "locus": "vWA",
    ...                               "allele_1": "17", "allele_2": ""}, file="e.txt")
    >>> check.alleles = ["17"]
    >>> genotype_pair(check, default_catalogue())
    True
    >>> check.row["allele_1"], check.row["allele_2"], check.row["outcome"]
    ('17', '17', 'landed')
    >>> check.labels, check.alleles = [None, "17"], ["17"]
    >>> genotype_pair(check, default_catalogue())
    True
    >>> check.row["allele_1"], check.row["allele_2"], check.row["kind"]
    ('17', '?', 'partial_off_ladder')
    """
    if _is_partial(check.labels):
        known = check.alleles[0]
        if None in check.labels:
            check.row.update(
                outcome=LANDED, kind="partial_off_ladder", allele_1=known, allele_2=UNKNOWN_ALLELE,
                reason=(f"off-ladder call beside allele {known} (calls {check.row['calls']}) at "
                        f"{check.row['locus']}: stored as the partial genotype {known}/? (the other allele "
                        "unknown)"),
                fix="re-analyse the locus to size the off-ladder peak, if a full genotype is needed")
            return True
        check.row.update(outcome=LANDED, kind="ok", allele_1=known, allele_2=UNKNOWN_ALLELE)
        return True
    pair = check.alleles if len(check.alleles) == 2 else check.alleles * 2
    check.row.update(outcome=LANDED, kind="ok", allele_1=pair[0], allele_2=pair[1])
    return True


#: The row rules in the order :func:`kinship.app.ingest.normalise_records` applies them.
ROW_RULES: tuple[Callable[[RowCheck, LocusCatalogue], bool], ...] = (
    unreadable_line,
    missing_sample_name,
    canonical_locus,  # 1
    out_of_range_allele,  # 2
    allele_labels,  # 3
    plausible_alleles,  # 4
    three_allele_pattern,  # 5
    untyped_call,  # 6
    genotype_pair,  # 7
)


def apply_row_rules(check: RowCheck, catalogue: LocusCatalogue) -> dict:
    """Apply :data:`ROW_RULES` in order to one row until a rule decides it; return the decided row.

    Parameters
    ----------
    check : RowCheck
        The row (:meth:`RowCheck.from_record`).
    catalogue : LocusCatalogue
        Locus catalogue.

    Returns
    -------
    dict
        ``check.row``, decided (keys of :func:`kinship.app.ingest.normalise_records`).
    """
    for rule in ROW_RULES:
        if rule(check, catalogue):
            break
    return check.row


def _columns(records: pd.DataFrame) -> zip:
    """``(source_line, sample_id, locus, allele_1, allele_2, extra_calls, problem)`` per record."""
    n = len(records)

    def column(name: str) -> list:
        return records[name].tolist() if name in records.columns else [None] * n

    return zip(*(column(c) for c in ("source_line", "sample_id", "locus", "allele_1", "allele_2",
                                     "extra_calls", "problem")))


def decide_rows_one_by_one(records: pd.DataFrame, *, file: str, catalogue: LocusCatalogue) -> list[dict]:
    """Apply :data:`ROW_RULES` to every record, one row at a time (the reference of :func:`decide_rows`).

    Parameters
    ----------
    records : pandas.DataFrame
        A reader's record table (:data:`kinship.io.RECORD_COLUMNS`).
    file : str
        Export file name, quoted in reasons.
    catalogue : LocusCatalogue
        Locus catalogue.

    Returns
    -------
    list of dict
        The decided rows, in input order.
    """
    return [apply_row_rules(RowCheck.from_record(
        {"source_line": line, "sample_id": sample, "locus": raw_locus, "allele_1": a1, "allele_2": a2,
         "extra_calls": extra, "problem": problem}, file=file), catalogue)
        for line, sample, raw_locus, a1, a2, extra, problem in _columns(records)]


#: Two sets of stand-ins (where, line, sample) for deciding a distinct row once: the second holds
#: quotes and a backslash, so a rule that quoted the place other than verbatim (``!r``, escaped,
#: cut) would decide the two differently and its rows are decided one by one.
_STAND_INS = (("\x1ewhere\x1e", "\x1eline\x1e", "\x1esample\x1e"),
              ("\x1ewhere'\"\\\x1e", "\x1eline'\"\\\x1e", "\x1esample'\"\\\x1e"))
_MARK = "\x1e"
_PLACE_FIELDS = ("source_line", "sample_id")


def _stand_in_row(file: str, raw_locus: str, calls: list[str], problem: str, has_sample: bool,
                  stand_in: tuple[str, str, str], catalogue: LocusCatalogue) -> dict:
    where, line, sample = stand_in
    check = RowCheck._start(file, line, sample if has_sample else "", raw_locus, calls, problem, where)
    return apply_row_rules(check, catalogue)


def _substitute(text, stand_in: tuple[str, str, str], place: tuple[str, str, str]):
    if not isinstance(text, str) or _MARK not in text:
        return text
    for token, value in zip(stand_in, place):
        text = text.replace(token, value)
    return text


def _decision(file: str, raw_locus: str, calls: list[str], problem: str, has_sample: bool,
              catalogue: LocusCatalogue) -> tuple[dict, list[str]] | None:
    """The decided row of a distinct (raw locus, calls, problem, has a sample name), its place
    left as the first stand-ins, and the fields that quote the place; ``None`` if it must be
    decided row by row."""
    if any(_MARK in str(v) for v in (raw_locus, problem, *calls)):
        return None
    first, second = (_stand_in_row(file, raw_locus, calls, problem, has_sample, s, catalogue) for s in _STAND_INS)
    for key, value in first.items():
        if key not in _PLACE_FIELDS and _substitute(value, _STAND_INS[0], _STAND_INS[1]) != second[key]:
            return None
    placed = [k for k, v in first.items() if k not in _PLACE_FIELDS and isinstance(v, str) and _MARK in v]
    return first, placed


def decide_rows(records: pd.DataFrame, *, file: str, catalogue: LocusCatalogue) -> list[dict]:
    """Apply :data:`ROW_RULES` to every record, deciding each distinct row once.

    A rule decides a row from its raw locus, its calls, the reader's problem note and whether
    it names a sample; its place (file, line, sample) enters only the texts. Each distinct
    combination is decided once with stand-ins for the place, and every row sharing it gets a
    copy with its own place filled in: the rows are byte-identical to
    :func:`decide_rows_one_by_one`. A combination whose texts do not quote the place verbatim
    (checked by deciding it with two different stand-ins), or whose values hold the stand-ins'
    marker character, is decided row by row.

    Parameters
    ----------
    records : pandas.DataFrame
        A reader's record table (:data:`kinship.io.RECORD_COLUMNS`).
    file : str
        Export file name, quoted in reasons.
    catalogue : LocusCatalogue
        Locus catalogue.

    Returns
    -------
    list of dict
        The decided rows, in input order (each its own dict).

    Examples
    --------
    >>> from kinship.genetics.loci import default_catalogue
    >>> from kinship.io.tidy import records_from_calls
    >>> recs = records_from_calls(["S1", "S2", "S3"], ["THO1", "THO1", "TH01"],
    ...                           [["9.3", "6"], ["9.3", "6"], ["9.3", "6"]], [2, 3, 4])
    >>> rows = decide_rows(recs, file="e.txt", catalogue=default_catalogue())
    >>> [r["outcome"] for r in rows], "e.txt line 3, sample 'S2'" in rows[1]["reason"]
    (['quarantined', 'quarantined', 'landed'], True)
    >>> rows == decide_rows_one_by_one(recs, file="e.txt", catalogue=default_catalogue())
    True
    """
    if _MARK in file:
        return decide_rows_one_by_one(records, file=file, catalogue=catalogue)
    decisions: dict[tuple, tuple[dict, list[str]] | None] = {}
    stand_in = _STAND_INS[0]
    rows = []
    for line, sample, raw_locus, a1, a2, extra, problem in _columns(records):
        calls = _calls(a1, a2, extra)
        problem = problem or ""
        key = (raw_locus, tuple(calls), problem, bool(sample))
        try:
            decided = decisions[key]
        except KeyError:
            decided = decisions[key] = _decision(file, raw_locus, calls, problem, bool(sample), catalogue)
        line = int(line)
        if decided is None or (sample and _MARK in sample):
            rows.append(apply_row_rules(RowCheck._start(file, line, sample, raw_locus, calls, problem,
                                                        row_where(file, line, sample, raw_locus)), catalogue))
            continue
        template, placed = decided
        row = dict(template)
        row["source_line"], row["sample_id"] = line, sample
        if placed:
            place = (row_where(file, line, sample, raw_locus), str(line), sample)
            for k in placed:
                row[k] = _substitute(row[k], stand_in, place)
        rows.append(row)
    return rows
