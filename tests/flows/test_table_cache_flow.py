"""The match flow reads its shards' compiled tables from the store's table cache, with the same bytes out."""

from __future__ import annotations

import stat
from pathlib import Path

from flows.match import run_match
from kinship.app import table_cache
from tests.flows.test_resume import _store


def _bytes(result) -> tuple[bytes, bytes]:
    return tuple(Path(result["paths"][k]).read_bytes() for k in ("matches_csv", "pair_loci_csv"))


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*/*") if p.is_dir())


def test_a_warm_cache_gives_the_same_matches_without_compiling_a_shard(tmp_path, monkeypatch):
    # the same runs on two stores of the same data: without a cache, and with one
    monkeypatch.setenv("REUNITE_TABLE_CACHE", "off")
    plain_store = _store(tmp_path, "plain")
    plain = [run_match(store=plain_store, out_dir=str(tmp_path / "plain"), parameters={"shard_size": 1}, full=full)
             for full in (False, True, True)]
    assert not (tmp_path / "plain.tables").exists()
    monkeypatch.delenv("REUNITE_TABLE_CACHE")
    store, out = _store(tmp_path, "cached"), str(tmp_path / "out")
    cold = run_match(store=store, out_dir=out, parameters={"shard_size": 1})
    folder = tmp_path / "cached.tables"  # beside the SQLite store
    entries = _entries(folder)
    assert len(entries) == cold["provenance"]["inputs"]["n_families"] == 3  # one a shard
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    real = table_cache.TableCache._assemble

    def never(*args, **kwargs):
        raise AssertionError("a warm cache compiled a shard")

    monkeypatch.setattr(table_cache.TableCache, "_assemble", never)
    warm = run_match(store=store, out_dir=out, parameters={"shard_size": 1}, full=True)
    monkeypatch.setattr(table_cache.TableCache, "_assemble", real)
    # a damaged entry is compiled again, never used
    raw = bytearray((entries[0] / "log10_lr.npy").read_bytes())
    raw[-1] ^= 0x40
    (entries[0] / "log10_lr.npy").write_bytes(bytes(raw))
    again = run_match(store=store, out_dir=out, parameters={"shard_size": 1}, full=True)
    for got, want in zip((cold, warm, again), plain):
        assert _bytes(got) == _bytes(want)
    assert _entries(folder) == entries  # rewritten in place
    # another shard size cuts other shards; the run's retention drops the old ones
    run_match(store=store, out_dir=out, parameters={"shard_size": 2}, full=True)
    assert len(_entries(folder)) == 2
