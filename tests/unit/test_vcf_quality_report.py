"""The match run's report lists the loci whose calls were dropped for call quality at ingestion,
read from the store's warnings (issue 10, deliverable 3)."""

from __future__ import annotations

import re

from kinship.app.ingest import ingest_batch
from kinship.report import render_html
from kinship.store import Store
from tests.labs import register_test_labs
from tests.unit.test_report import run  # noqa: F401  (the module's small real run)
from tests.unit.test_vcf_builds_callers import DATA, gangstr_th01, gangstr_vcf


def test_the_report_lists_per_locus_the_calls_dropped_for_call_quality(tmp_path, run):  # noqa: F811
    export = tmp_path / "g.vcf"
    export.write_bytes(gangstr_vcf("GRCh38", [gangstr_th01("GRCh38", "1/2:40:0.39:6,9:6-6,9-9:20,10,0,0",
                                                           "0/0:6:1.0:7,7:7-7,7-7:20,10,0,0")]))
    store = Store(tmp_path / "s.sqlite")
    register_test_labs(store)
    ingest_batch(store, export, DATA / "vcf_manifest.csv", lab="SEQ", fmt="vcf", min_autosomal_loci=1)
    drops = store.warning_counts_by_locus("low_quality")
    # a retracted batch's dropped calls are no longer counted (its genotypes are gone)
    store.retract_batch(int(store.list_batches()["file_id"].iloc[0]), by="QA", why="wrong_file")
    assert store.warning_counts_by_locus("low_quality").empty
    store.close()
    assert drops.values.tolist() == [["TH01", 2, 2, 1]]  # Q 0.39 (GS-1) and DP 6 (GS-2)
    matches, loci, prov, _ = run
    html = render_html(matches, loci, prov, call_quality=drops)
    section = re.search(r'<section id="call-quality">(.*?)</section>', html, re.S).group(1)
    assert "<tr><td>TH01</td><td class=\"num\">2</td><td class=\"num\">2</td><td class=\"num\">1</td></tr>" in section
    assert "GS-1" not in section  # counts only
    empty = render_html(matches, loci, prov, call_quality=drops.iloc[:0])
    assert "None: no call was dropped for call quality." in empty
    assert 'id="call-quality"' not in render_html(matches, loci, prov)


def test_dropped_calls_are_counted_in_the_database_on_both_backends(store, tmp_path):
    """``Store.warning_counts_by_locus`` is one GROUP BY on SQLite and PostgreSQL; a retracted
    batch's warnings are not counted."""
    export = tmp_path / "g.vcf"
    export.write_bytes(gangstr_vcf("GRCh38", [gangstr_th01("GRCh38", "1/2:40:0.39:6,9:6-6,9-9:20,10,0,0",
                                                           "0/0:6:1.0:7,7:7-7,7-7:20,10,0,0")]))
    ingest_batch(store, export, DATA / "vcf_manifest.csv", lab="SEQ", fmt="vcf", min_autosomal_loci=1)
    assert store.warning_counts_by_locus("low_quality").values.tolist() == [["TH01", 2, 2, 1]]
    assert store.warning_counts_by_locus("no_such_kind").empty
    store.retract_batch(int(store.list_batches()["file_id"].iloc[0]), by="QA", why="wrong_file")
    assert store.warning_counts_by_locus("low_quality").empty
