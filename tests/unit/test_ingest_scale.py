"""Issue 9, deliverables 0 and 6: the duplicate screen's index is exact for its rule, stores
migrate to it, and ingestion writes in one short transaction (WAL, timeouts, concurrent labs)."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from kinship.app.ingest import duplicate_warnings, ingest_batch
from kinship.genetics.profile_keys import KEY_BLOCKS, profile_keys
from kinship.store import Store

LOCI = ["CSF1PO", "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317", "D16S539", "D18S51", "D21S11", "FGA",
        "TH01", "TPOX", "vWA", "D1S1656", "D2S441", "D2S1338", "D10S1248", "D12S391", "D19S433", "D22S1045"]


def _old_rule(a: dict, b: dict, min_loci: int = 10) -> bool:
    shared = [locus for locus in a if locus in b]
    return len(shared) >= min_loci and all(a[locus] == b[locus] for locus in shared)


def _block_rule(a: dict, b: dict) -> bool:
    return any(all(locus in a and locus in b for locus in loci) for _, loci in KEY_BLOCKS)


def _generated_profiles(n: int, seed: int) -> dict[str, dict[str, tuple[str, str]]]:
    """``n`` profiles over few alleles (so that many share genotypes), a third of them copies of
    another with loci dropped at random (partial duplicates, some losing a whole block)."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        if i > 10 and rng.random() < 0.35:
            src = out[f"S{rng.integers(0, i):04d}"]
            keep = [locus for locus in src if rng.random() > 0.25]
            out[f"S{i:04d}"] = {locus: src[locus] for locus in keep}
        else:
            out[f"S{i:04d}"] = {locus: tuple(sorted(map(str, rng.integers(10, 13, 2)))) for locus in LOCI}
    return out


def _rows(profiles: dict) -> pd.DataFrame:
    rows = [(i + 2, sid, locus, locus, a1, a2, "landed")
            for i, (sid, locus, (a1, a2)) in enumerate((s, l, g) for s, p in profiles.items() for l, g in p.items())]
    return pd.DataFrame(rows, columns=["source_line", "sample_id", "raw_locus", "locus", "allele_1", "allele_2",
                                       "outcome"])


def test_the_key_index_finds_exactly_the_pairs_of_its_rule():
    profiles = _generated_profiles(300, seed=9)
    batch = dict(itertools.islice(profiles.items(), 150))
    stored = {sid: p for sid, p in profiles.items() if sid not in batch}
    found = {frozenset((w.sample_id, w.value)) for w in
             duplicate_warnings(_rows(batch), file="e.csv", stored_profiles=stored)}
    brute = {frozenset((a, b)) for a in batch for b in profiles
             if a != b and _old_rule(profiles[a], profiles[b]) and _block_rule(profiles[a], profiles[b])}
    assert found == brute and len(brute) > 20
    # What the block condition gives up, stated in duplicate_warnings' docstring: pairs where
    # every block misses a locus in one of the two profiles. The generator makes some.
    lost = {frozenset((a, b)) for a in batch for b in profiles
            if a != b and _old_rule(profiles[a], profiles[b])} - brute
    assert lost and all(not _block_rule(*(profiles[s] for s in pair)) for pair in lost)


def test_profile_keys_ignore_loci_outside_the_blocks_and_allele_order_is_canonical():
    base = {locus: ("11", "12") for locus in LOCI}
    assert profile_keys(base) == profile_keys({**base, "Penta E": ("5", "7")})
    assert len(profile_keys(base)) == len(KEY_BLOCKS)
    assert profile_keys({k: v for k, v in base.items() if k != "TPOX"}).keys() == {"codis13_a", "ess12_a", "ess12_b"}


def _common_genotypes() -> dict[str, tuple[str, str]]:
    from kinship.io.frequencies import load_bundled_table

    table = load_bundled_table("norstr-2023/East Asia")
    out = {}
    for locus in LOCI:
        lf = table[locus]
        top = [lf.alleles[i] for i in np.argsort(-lf.afreq)[:2]]
        out[locus] = tuple(sorted(top, key=lambda a: float(a)))
    return out


FULL = _common_genotypes()


def _batch(tmp_path: Path, tag: str, samples: dict[str, dict], role: str = "candidate") -> tuple[Path, Path]:
    export = tmp_path / f"{tag}.csv"
    export.write_text("sample_id,locus,allele_1,allele_2\n" + "".join(
        f"{sid},{locus},{a1},{a2}\n" for sid, prof in samples.items() for locus, (a1, a2) in prof.items()))
    manifest = tmp_path / f"{tag}-m.csv"
    manifest.write_text("sample_id,role,family_id,relationship,sex\n" + "".join(
        f"{sid},{role},,,male\n" for sid in samples))
    return export, manifest


def _keys(store: Store) -> list[tuple]:
    with store.engine.connect() as c:
        return sorted(tuple(r) for r in c.execute(sa.text("select sample_id, block, key from profile_keys")))


def test_keys_are_written_with_the_batch_and_back_filled_by_migration_0004(store, backend, tmp_path):
    from alembic import command

    from kinship.store.engine import alembic_config

    profiles = {"C1": FULL, "C2": {**FULL, "TH01": ("6", "9")}}
    s = ingest_batch(store, *_batch(tmp_path, "b1", profiles), lab="L", fmt="tidy")
    assert s.n_landed == 40
    written = _keys(store)
    assert len(written) == 2 * len(KEY_BLOCKS)
    config = alembic_config()
    with store.write_transaction() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    store.close()
    target, schema = backend
    with Store(target, schema=schema) as again:  # upgraded to head: profile_keys back-filled
        assert _keys(again) == written


def test_a_duplicate_of_a_stored_profile_is_found_through_the_index(store, tmp_path):
    ingest_batch(store, *_batch(tmp_path, "b1", {"C1": FULL}), lab="L", fmt="tidy")
    s = ingest_batch(store, *_batch(tmp_path, "b2", {"C7": FULL}), lab="L", fmt="tidy")
    dup = [w for w in s.warnings if w.kind == "possible_duplicate"]
    assert [(w.sample_id, w.value) for w in dup] == [("C7", "C1")]


def test_strangers_sharing_one_block_are_told_apart_by_their_keys_without_reading_them(store, tmp_path):
    # C2 shares codis13_a and ess12_a with C9 but differs at TH01 (blocks codis13_b, ess12_b):
    # keys_agree rules it out, so its genotypes are never read. C3 is C9 with both TH01 blocks
    # untyped: its keys agree, it is read and compared, and it is a possible duplicate.
    no_th01_blocks = {locus: g for locus, g in FULL.items()
                      if not any(locus in loci for name, loci in KEY_BLOCKS if name in ("codis13_b", "ess12_b"))}
    stored = {"C1": FULL, "C2": {**FULL, "TH01": ("6", "6") if FULL["TH01"] != ("6", "6") else ("7", "7")},
              "C3": no_th01_blocks}
    assert len(no_th01_blocks) >= 10
    ingest_batch(store, *_batch(tmp_path, "b1", stored), lab="L", fmt="tidy")
    asked: list[str] = []
    real = store.stored_profiles

    def spy(sample_ids, **kwargs):
        ids = sorted(set(sample_ids))
        asked.extend(ids)
        return real(ids, **kwargs)

    store.stored_profiles = spy
    s = ingest_batch(store, *_batch(tmp_path, "b2", {"C9": FULL}), lab="L", fmt="tidy")
    dup = sorted((w.sample_id, w.value) for w in s.warnings if w.kind == "possible_duplicate")
    assert dup == [("C9", "C1"), ("C9", "C3")]
    assert "C2" not in asked and {"C1", "C3"} <= set(asked)


def test_sqlite_store_is_in_wal_mode(tmp_path):
    with Store(tmp_path / "s.db") as store, store.engine.connect() as c:
        assert c.exec_driver_sql("pragma journal_mode").scalar_one() == "wal"
        assert c.exec_driver_sql("pragma busy_timeout").scalar_one() == 30000


@pytest.mark.postgres
def test_postgresql_connections_have_lock_and_statement_timeouts(pg_url, monkeypatch):
    monkeypatch.setenv("REUNITE_PG_LOCK_TIMEOUT_MS", "1500")
    engine_store = Store(pg_url, schema="reunite_test_timeouts")
    try:
        with engine_store.engine.connect() as c:
            assert c.exec_driver_sql("show lock_timeout").scalar_one() == "1500ms"
            assert c.exec_driver_sql("show statement_timeout").scalar_one() == "10min"
            assert c.exec_driver_sql("show random_page_cost").scalar_one() == "1.1"
    finally:
        with engine_store.engine.begin() as c:
            c.exec_driver_sql('drop schema "reunite_test_timeouts" cascade')
        engine_store.close()


def test_two_labs_and_a_match_run_write_at_the_same_time(store, backend, tmp_path):
    from tests.unit.test_store import matches_frame, run_record

    target, schema = backend
    batches = {lab: _batch(tmp_path, lab, {f"{lab}-C{i}": {**FULL, "TH01": (str(6 + i % 4), "10"),
                                                       "FGA": (str(18 + i % 8), "25")} for i in range(30)})
               for lab in ("L", "L1")}
    planned = threading.Barrier(3, timeout=60)
    errors: list[BaseException] = []
    summaries = {}

    def lab_run(lab: str) -> None:
        try:
            with Store(target, schema=schema) as own:
                def progress(stage, _done, _total):
                    if stage == "write":  # both planned: write at the same time
                        planned.wait()
                summaries[lab] = ingest_batch(own, *batches[lab], lab=lab, fmt="tidy", progress=progress)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def match_run() -> None:
        try:
            with Store(target, schema=schema) as own:
                planned.wait()
                own.record_match_run(run_record())
                own.write_matches("run-1", matches_frame())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=lab_run, args=(lab,)) for lab in batches] + [threading.Thread(target=match_run)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert {lab: s.n_samples_landed for lab, s in summaries.items()} == {"L": 30, "L1": 30}
    assert len(store.load_samples()) == 60 and len(store.load_matches("run-1")) == 3


@pytest.mark.postgres
def test_postgresql_tables_are_analysed_as_batches_land(pg_url, tmp_path):
    # Without statistics the planner scans whole tables for the batch look-ups (a cost that
    # grows with the store); each committed batch analyses the tables it changed by > 10 %.
    schema = "reunite_test_analyse"
    store = Store(pg_url, schema=schema)
    try:
        store.register_lab("L", "lab")

        def estimated_vs_stored() -> list[tuple[str, float, int]]:
            # pg_class.reltuples is what the planner believes; ANALYZE sets it at once (the
            # pg_stat counters are themselves flushed late). Tables this small are read whole.
            with store.engine.connect() as c:
                return [(t, c.execute(sa.text("select reltuples from pg_class where oid = cast(:t as regclass)"),
                                      {"t": f"{schema}.{t}"}).scalar_one(),
                         c.execute(sa.text(f'select count(*) from "{schema}"."{t}"')).scalar_one())
                        for t in ("genotypes", "profile_keys", "samples")]

        # Small batches in quick succession: PostgreSQL may not have counted a batch's rows yet
        # when the next statement asks (it flushes a backend's counts at most once a second), so
        # the batch's own counts decide. Each batch here at least doubles the tables.
        for k in range(3):
            samples = {f"C{k}{i:04d}": {**FULL, "FGA": (str(18 + i % 9), str(20 + i % 7))} for i in range(150 * 2 ** k)}
            ingest_batch(store, *_batch(tmp_path, f"b{k}", samples), lab="L", fmt="tidy")
            assert all(estimate == stored > 0 for _, estimate, stored in estimated_vs_stored()), estimated_vs_stored()
    finally:
        with store.engine.begin() as c:
            c.exec_driver_sql(f'drop schema "{schema}" cascade')
        store.close()
