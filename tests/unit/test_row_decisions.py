"""Deciding each distinct row once (:func:`decide_rows`) equals applying the row rules row by row.

The row rules decide a row from its raw locus, calls, problem note and whether it names a sample;
only their texts quote the place (file, line, sample). The memoised path must give byte-identical
rows (outcome, kind, value, reason, fix, landed genotype) to :func:`decide_rows_one_by_one` on the
malformed-input corpus, on the real fixtures, and on a batch mixing every rule's outcome with
samples whose names hold quotes, backslashes and the stand-ins' marker character.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kinship.app.ingest import row_rules
from kinship.app.ingest.row_rules import decide_rows, decide_rows_one_by_one
from kinship.errors import ReuniteInputError
from kinship.genetics.loci import default_catalogue
from kinship.io import READERS, read_export
from kinship.io.tidy import records_from_calls
from tests.property.test_malformed_corpus import CASES

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
CATALOGUE = default_catalogue()


def _same(records, file: str) -> None:
    memo = decide_rows(records, file=file, catalogue=CATALOGUE)
    each = decide_rows_one_by_one(records, file=file, catalogue=CATALOGUE)
    assert len(memo) == len(each) == len(records)
    for got, want in zip(memo, each):
        assert list(got) == list(want)  # same keys, same order
        assert got == want
        assert all(type(got[k]) is type(want[k]) for k in want)


@pytest.mark.parametrize("case", [c for c in CASES if c.error is None], ids=repr)
def test_corpus_rows_decided_once_equal_rows_decided_one_by_one(case):
    _same(read_export(f"{case.name}.txt", fmt=case.fmt, data=case.data), "corpus.txt")


FIXTURES = sorted(p for p in DATA.iterdir() if p.is_file() and not p.name.endswith("manifest.csv"))
#: Reader options a fixture needs: ExpansionHunter writes no genome build into its VCF.
FIXTURE_OPTIONS = {"expansionhunter_forensic.vcf": {"build": "GRCh38"}}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_rows_decided_once_equal_rows_decided_one_by_one(path):
    n_read = 0
    for fmt in READERS:
        try:
            records = read_export(path, fmt=fmt, **(FIXTURE_OPTIONS.get(path.name, {}) if fmt == "vcf" else {}))
        except (ReuniteInputError, ValueError):
            continue
        n_read += 1
        _same(records, path.name)
    assert n_read >= 1, f"no reader reads {path.name}"


def test_every_rule_outcome_and_hostile_names_decided_once_equal_one_by_one():
    calls = [["9.3", "6"], ["6", "9.3"], ["8"], ["8", "8"], ["OL", "17"], [], [">27", "12"], ["<6", "7"],
             ["X", "Y"], ["abc", "7"], ["0", "7"], ["999", "7"], ["9.4", "7"], ["13", "15", "16"],
             ["13", "15", "OL"], ["12345678901234567", "8"], [" 9 ", "8"]]
    loci = ["TH01", "THO1", "D18S51", "Amelogenin", "AMEL", "FGA", "NOPE", "vWA"]
    samples = ["S1", "O'Brien", 'say "hi"', "back\\slash", "", "mark\x1ein name", "\x1ewhere\x1e"]
    rows = [(s, locus, c) for s in samples for locus in loci for c in calls]
    recs = records_from_calls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                              list(range(2, 2 + len(rows))))
    recs["problem"] = ["" if i % 5 else "line has 7 fields; expected 4" for i in range(len(recs))]
    _same(recs, "hostile.txt")
    _same(recs, "file'with\"quotes.txt")
    _same(recs, "file\x1emark.txt")


def test_a_rule_quoting_the_place_otherwise_than_verbatim_is_decided_row_by_row(monkeypatch):
    """A rule that wrote ``{where!r}`` would break the stand-in substitution: caught, decided per row."""
    def quoting_rule(check, catalogue):
        if check.row["raw_locus"] != "NOPE":
            return False
        return check.quarantine(kind="unknown_locus", value="", reason=f"at {check.where!r}", fix="")

    monkeypatch.setattr(row_rules, "ROW_RULES", (quoting_rule, *row_rules.ROW_RULES))
    recs = records_from_calls(["S1", "O'Brien", "S3"], ["NOPE", "NOPE", "TH01"], [["8"], ["8"], ["8"]], [2, 3, 4])
    _same(recs, "e.txt")
    assert decide_rows(recs, file="e.txt", catalogue=CATALOGUE)[1]["reason"] == \
        "at " + repr("e.txt line 3, sample \"O'Brien\", locus 'NOPE'")
