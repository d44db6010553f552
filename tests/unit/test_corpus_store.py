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
