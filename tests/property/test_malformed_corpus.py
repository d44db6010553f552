"""A corpus of malformed lab exports, as a careless or hostile lab would send them (issue 9).

Each case is a clean export of known profiles, damaged by one recipe: a duplicate header, a file
cut short, an unclosed quote, a NUL byte, a 200 KB field, an extra field, a decimal comma, an
implausible call, a wrong encoding, garbage. For every case the outcome is asserted exactly:

* a clear :class:`kinship.errors.ReuniteInputError` (the file is refused whole), or
* every damaged row quarantined with the expected kind, and **every other row landed with
  exactly the genotype that was sent** (never a shifted, truncated or merged one); the counts
  add up.

The cases run through the readers and the pure planning step (:func:`kinship.app.ingest.plan_batch`);
a sample of them also runs through the store on SQLite and PostgreSQL, which must agree.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

import pytest

from kinship.app.ingest import LANDED, QUARANTINED, UNTYPED, plan_batch
from kinship.errors import ReuniteInputError
from kinship.io import read_export
from kinship.io.lines import MAX_FIELD_CHARS
from kinship.io.manifest import parse_manifest

LOCI = ["D3S1358", "vWA", "D16S539", "CSF1PO", "TPOX", "D8S1179", "D21S11", "D18S51", "D2S441", "D19S433",
        "TH01", "FGA", "D22S1045", "D5S818", "D13S317"]
#: Three people, real-looking genotypes (every allele on the kits' ladders).
PROFILES = {
    "S-1": ["15/16", "14/17", "9/11", "10/12", "8/11", "13/14", "29/30", "13/15", "10/11.3", "13/14",
            "6/9.3", "22/24", "11/16", "11/12", "8/11"],
    "S-2": ["16/16", "17/18", "12/12", "11/12", "8/8", "10/13", "30/31.2", "14/17", "10/14", "12.2/15",
            "9/9", "21/23", "15/16", "10/13", "9/12"],
    "S-3": ["14/17", "16/19", "10/13", "12/13", "9/11", "14/15", "28/32.2", "12/19", "11/11", "14/15.2",
            "7/9.3", "20/25", "16/17", "12/12", "11/13"],
}
MANIFEST = parse_manifest(b"sample_id,role,family_id,relationship,sex\n"
                          + b"".join(f"{s},candidate,,,\n".encode() for s in PROFILES), file="m.csv", lab="L")


def _pairs():
    return [(s, locus, *g.split("/")) for s, gs in PROFILES.items() for locus, g in zip(LOCI, gs)]


@dataclass
class Export:
    """A clean export: its text and, per data line, the (sample, locus) rows it carries."""

    fmt: str
    header: str
    lines: list[str]
    rows: list[list[tuple[str, str]]]
    sep: str

    def text(self) -> str:
        return "\n".join([self.header, *self.lines]) + "\n"


def tidy() -> Export:
    p = _pairs()
    return Export("tidy", "sample_id,locus,allele_1,allele_2", [",".join(r) for r in p],
                  [[(s, locus)] for s, locus, *_ in p], ",")


def long_genemapper() -> Export:
    p = _pairs()
    return Export("genemapper", "Sample Name\tMarker\tAllele 1\tAllele 2\tHeight 1",
                  ["\t".join([*r, "1200"]) for r in p], [[(s, locus)] for s, locus, *_ in p], "\t")


def wide_genemapper() -> Export:
    lines, rows = [], []
    for s, gs in PROFILES.items():
        lines.append("\t".join([f"{s}.fsa", s, *(g.replace("/", ", ") + ", " for g in gs)]))
        rows.append([(s, locus) for locus in LOCI])
    return Export("genemapper", "\t".join(["Sample File", "Sample Name", *LOCI]), lines, rows, "\t")


EXPORTS = {"tidy": tidy, "genemapper-long": long_genemapper, "genemapper-wide": wide_genemapper}
CLEAN = {(s, locus): tuple(sorted((a, b), key=lambda x: float(x))) for s, locus, a, b in _pairs()}


@dataclass
class Case:
    name: str
    fmt: str
    data: bytes
    error: str | None = None  # regex of the refusal
    #: rows (sample, locus) that must not land, and the quarantine kind each must carry
    damaged: dict[tuple[str, str], str] = field(default_factory=dict)
    #: quarantined records expected (a damaged wide line is one record for its 15 loci)
    n_quarantined: int = 0
    #: a damaged line the reader could not split: its sample is unknown, only its count is checked
    unnamed: bool = False

    def __repr__(self) -> str:
        return self.name


def _line_damage(name: str, export: Export, i: int, new_line: str, kind: str, *, named: bool) -> Case:
    lines = list(export.lines)
    lines[i] = new_line
    ex = Export(export.fmt, export.header, lines, export.rows, export.sep)
    return Case(name, export.fmt, ex.text().encode(), damaged={row: kind for row in export.rows[i]},
                n_quarantined=1, unnamed=not named)


def _cases() -> list[Case]:
    cases = []
    for label, make in EXPORTS.items():
        ex = make()
        raw = ex.text().encode()
        sep = ex.sep
        # positive controls: line ends, BOM, gzip is not a text export
        cases.append(Case(f"{label}/clean", ex.fmt, raw))
        cases.append(Case(f"{label}/crlf+bom", ex.fmt, b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")))
        cases.append(Case(f"{label}/blank lines", ex.fmt, raw.replace(b"\n", b"\n\n", 3)))
        # refused whole
        first = ex.header.split(sep)[1 if label == "genemapper-wide" else 2]
        cases.append(Case(f"{label}/duplicate header", ex.fmt, (ex.header + sep + first + "\n" + "\n".join(
            line + sep + "x" for line in ex.lines) + "\n").encode(), error="are the same column"))
        cases.append(Case(f"{label}/empty", ex.fmt, b"", error="empty|missing column|not a GeneMapper"))
        cases.append(Case(f"{label}/utf-16", ex.fmt, ex.text().encode("utf-16"), error="not UTF-8|NUL byte"))
        cases.append(Case(f"{label}/latin-1 name", ex.fmt, raw.replace(b"S-1", b"S-\xe91", 1),
                          error="not UTF-8"))
        cases.append(Case(f"{label}/binary garbage", ex.fmt, bytes(range(256)) * 4, error="not UTF-8|NUL byte"))
        cases.append(Case(f"{label}/gzip", ex.fmt, gzip.compress(raw), error="not UTF-8|NUL byte"))
        # the last line cut short, 1 to 4 bytes (after the line end, inside the last call, after the delimiter)
        for cut in range(1, 5):
            cases.append(Case(f"{label}/cut {cut} bytes", ex.fmt, raw[:-cut],
                              damaged={row: "malformed_line" for row in ex.rows[-1]}, n_quarantined=1))
        # one damaged line, at every position
        for i, line in enumerate(ex.lines):
            fields = line.split(sep)
            first_call = 2 if label != "genemapper-wide" else 2
            quoted = sep.join([*fields[:first_call], '"' + fields[first_call], *fields[first_call + 1:]])
            cases.append(_line_damage(f"{label}/unclosed quote line {i + 2}", ex, i, quoted, "malformed_line",
                                      named=False))
            cases.append(_line_damage(f"{label}/NUL line {i + 2}", ex, i, line.replace(sep, sep + "\x00", 1),
                                      "malformed_line", named=False))
            cases.append(_line_damage(f"{label}/200 KB field line {i + 2}", ex, i,
                                      line + sep + "9" * (MAX_FIELD_CHARS * 200), "malformed_line", named=False))
            cases.append(_line_damage(f"{label}/extra field line {i + 2}", ex, i, line + sep * 4 + "junk",
                                      "malformed_line", named=True))
            if label != "genemapper-wide":
                s, locus, a, b = fields[:4]
                cases.append(_line_damage(f"{label}/allele 0 line {i + 2}", ex, i,
                                          sep.join([s, locus, "0", b, *fields[4:]]), "implausible_allele", named=True))
                cases.append(_line_damage(f"{label}/allele 999 line {i + 2}", ex, i,
                                          sep.join([s, locus, a, "999", *fields[4:]]), "implausible_allele", named=True))
        if label == "genemapper-wide":
            for i, line in enumerate(ex.lines):
                fields = line.split(sep)
                th01 = 2 + LOCI.index("TH01")
                fields[th01] = fields[th01].replace(", ", ",", 1)  # "6,9.3": a decimal comma?
                lines = list(ex.lines)
                lines[i] = sep.join(fields)
                text = "\n".join([ex.header, *lines]) + "\n"
                sample = ex.rows[i][0][0]
                cases.append(Case(f"{label}/decimal comma line {i + 2}", ex.fmt, text.encode(),
                                  damaged={(sample, "TH01"): "malformed_line"}, n_quarantined=1))
    return cases


CASES = _cases()


def test_the_corpus_has_at_least_300_cases_over_every_delimited_layout():
    assert len(CASES) >= 300
    assert {c.name.split("/")[0] for c in CASES} == set(EXPORTS)


def _outcome(case: Case):
    try:
        records = read_export(f"{case.name}.txt", fmt=case.fmt, data=case.data)
    except ReuniteInputError as exc:
        return exc, None
    return None, plan_batch(records, MANIFEST, file="corpus.txt", min_autosomal_loci=1).rows


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_a_damaged_export_lands_only_what_was_sent(case):
    error, rows = _outcome(case)
    if case.error is not None:
        assert error is not None, f"{case.name}: expected a refusal"
        assert __import__("re").search(case.error, str(error)), str(error)
        assert "\n" not in str(error)
        return
    assert error is None, f"{case.name}: refused: {error}"
    # the counts add up: every record ends landed, untyped or quarantined
    assert set(rows["outcome"]) <= {LANDED, UNTYPED, QUARANTINED}
    landed = rows[rows["outcome"] == LANDED]
    got = {(r.sample_id, r.locus): (r.allele_1, r.allele_2) for r in landed.itertuples()}
    assert len(got) == len(landed), "one row per sample and locus"
    # every landed genotype is exactly the one sent
    for key, pair in got.items():
        assert pair == CLEAN[key], f"{case.name}: {key} landed as {pair}, sent {CLEAN[key]}"
    quarantined = rows[rows["outcome"] == QUARANTINED]
    assert len(quarantined) == case.n_quarantined, f"{case.name}: {quarantined[['sample_id', 'locus', 'kind']]}"
    assert len(rows[rows["outcome"] == UNTYPED]) == 0
    # everything else landed, exactly
    assert set(got) == set(CLEAN) - set(case.damaged), f"{case.name}: {sorted(set(CLEAN) - set(case.damaged) - set(got))}"
    kinds = set(quarantined["kind"])
    assert kinds == set(case.damaged.values()), kinds
    if not case.unnamed:  # each quarantined record names the sample (and the locus, but for a whole wide line)
        for r in quarantined.itertuples():
            assert any(r.sample_id == s and r.raw_locus in (locus, "") for s, locus in case.damaged), r
