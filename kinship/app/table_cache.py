"""Compiled family tables kept on disk, so that a run (or a search) reads them instead of compiling.

Compiling a family into its per-locus tables (:meth:`kinship.app.match_run.EncodedRun.family_tables`)
costs 0.3-10 ms (1.3 ms on average in the national mix); at 10^6 families that is more than ten
minutes in every run, although an incremental run of a thousand new children compares them with
families whose tables have not changed since the last run. A :class:`TableCache` keeps each
shard's compiled :class:`~kinship.matching.reference.FamilyTables` in a folder, and a later run
or search with the same tables to compile reads them back, memory-mapped.

Key
    An entry is one shard's tables: ``<folder>/<fingerprint>/<entry>/``. The *fingerprint*
    (:func:`tables_fingerprint`) is the sha256 of everything a family's tables depend on besides
    the family: the effective frequency table (:func:`~kinship.genetics.frequencies.table_hash`),
    the loci, the mutation model (every field), θ, the layout (independent loci, or the linked
    pairs as joint units with their recombination fractions), the cache format, and the
    compiler's code: the sha256 of the source files of ``kinship/genetics``,
    ``kinship/likelihood`` and ``kinship/matching`` with ``kinship.__version__`` and the numpy
    and numba versions (:func:`compiler_version`; a change anywhere in them is another
    fingerprint, a change elsewhere, e.g. in the report, is not). The *entry* name is the
    sha256 of the fingerprint and the shard's ordered family digests: each family's sha256 of
    :func:`~kinship.app.match_run.entity_hashes` (its relationships or pedigree, its references'
    profiles and its declared ``n_missing``; :func:`family_digests`). A changed parameter, table or
    family is another key: a miss, never a stale table.

Reuse across shards
    A shard that is not on disk as a whole (a new family shifts the shards after it) takes the
    families it shares with any entry of the same fingerprint from that entry (a column copy)
    and compiles only the others (:meth:`TableCache.shard_tables`). At θ = 0 a family's tables
    do not depend on the other families compiled with it (tested bit for bit,
    ``tests/unit/test_table_cache.py``), so the assembled tables are the ones compiling the
    shard gives. At θ > 0 the peeling's sums depend on the batch in their last bits, so a shard
    is then only ever read whole or compiled whole.

Files
    Each entry holds ``log10_lr.npy`` (float64, ``(sum of the units' table rows, n_families)``:
    the units' tables stacked), ``inconsistent.npy`` (int8, same shape), ``typed.npy`` (bool,
    ``(n_units, n_families)``), ``families.npy`` (uint8 ``(n_families, 32)``, the digests) and
    ``manifest.json`` (the key, the units and their row counts, and each array's dtype, shape and
    sha256). An entry is written in a temporary folder renamed into place, owner-only (0600
    files in 0700 folders, as :mod:`kinship.app.checkpoints`): a crash leaves no partial entry.
    It is read with ``np.load(mmap_mode="r")`` after its manifest is checked: shapes, dtypes
    and the sha256 of every array's bytes (hashed once a process per version of a file: a file
    whose inode, size, mtime and ctime are those it had when this process verified or wrote it
    is not hashed again; any write changes its ctime); an entry that fails (truncated, altered,
    unreadable) is removed and the shard compiled again, never used.

Size
    ``9 * R + n_units`` bytes per family (``R`` the family's table rows over the run's units:
    8 bytes a row of ``log10_lr``, 1 of ``inconsistent``, 1 per unit of ``typed``) plus 32 of
    digest; ~27 KB at the 20 CODIS loci of the national mix (``benchmarks/README.md``). The
    blocked float64 and int16 screen arrays of :func:`kinship.matching.streaming.score_shard`
    are not cached: they depend on the shard's composition (the screen's step and offsets are
    per shard), and rebuilding them costs a few microseconds a family against a millisecond to
    compile (measured in ``benchmarks/README.md``).

Retention
    After a run has finished, :meth:`TableCache.retain` removes every entry that run did not use
    (:meth:`TableCache.entry_names` of its shards) unless it holds a family of the run that no
    entry kept holds, so the folder holds the latest run's tables about once (what the next
    incremental run and every search on the store read); then, if ``max_bytes`` is set, the
    least recently used entries until the folder is within it. Only the cache's own names are
    ever removed (64-hex fingerprint and entry folders, its ``.partial-*`` writes), so a folder
    shared with other files loses none of them. A search opens the cache read-only
    (``read_only=True``): it reads entries and never writes one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

import kinship
from kinship.genetics.frequencies import table_hash
from kinship.matching.reference import FamilyTables

__all__ = ["CACHE_FORMAT", "TableCache", "compiler_version", "family_digests", "tables_fingerprint"]

#: Version of the entries' layout; part of every fingerprint.
CACHE_FORMAT = 1

#: Packages of ``kinship`` whose source makes the compiled tables (hashed into the fingerprint).
COMPILER_PACKAGES = ("genetics", "likelihood", "matching")
#: Application-layer modules that decide what is compiled and how (encoding, the families'
#: layouts, the shards' references, this cache's own assembly): hashed with the packages.
COMPILER_MODULES = ("app/match_run.py", "app/table_cache.py")

_ARRAYS = ("log10_lr", "inconsistent", "typed", "families")
_HEX64 = re.compile("[0-9a-f]{64}")
_DTYPES = {"log10_lr": np.dtype("<f8"), "inconsistent": np.dtype("i1"), "typed": np.dtype("?"),
           "families": np.dtype("u1")}


@functools.lru_cache(maxsize=1)
def compiler_version() -> str:
    """sha256 of the compiler's code: ``kinship.__version__``, numpy's and numba's versions, and
    every source file of :data:`COMPILER_PACKAGES` and :data:`COMPILER_MODULES` (path and bytes,
    in path order)."""
    try:
        import numba
        numba_version = numba.__version__
    except ImportError:  # pragma: no cover - numba is optional
        numba_version = "none"
    h = hashlib.sha256(f"kinship {kinship.__version__}\nnumpy {np.__version__}\nnumba {numba_version}\n".encode())
    root = Path(kinship.__file__).resolve().parent
    paths = [p for package in COMPILER_PACKAGES for p in (root / package).rglob("*.py")]
    for path in sorted(paths + [root / m for m in COMPILER_MODULES]):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def tables_fingerprint(run, *, linked: bool) -> str:
    """sha256 of what a family's compiled tables depend on besides the family (module docstring).

    Parameters
    ----------
    run : kinship.app.match_run.EncodedRun
    linked : bool
        The layout: the linked pairs as joint units (:attr:`EncodedRun.units`) or every locus
        independent.
    """
    key = {
        "format": CACHE_FORMAT,
        "compiler": compiler_version(),
        "table": table_hash(run.table),
        "loci": list(run.loci),
        "model": asdict(run.model),
        "theta": float(run.theta).hex(),
        "linked": [[p.name, p.first, p.second, float(p.recombination_fraction).hex()] for p in run.linked]
        if linked else [],
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def family_digests(inputs) -> np.ndarray:
    """Each family's sha256 of :func:`kinship.app.match_run.entity_hashes`, uint8 ``(n_families,
    32)``, in the order of ``inputs.families`` (the inputs must hold the profiles: not a
    :func:`~kinship.app.match_run.shard_work`'s)."""
    from kinship.app.match_run import entity_hashes  # match_run imports this module

    hashes = entity_hashes(inputs)
    hexes = hashes.loc[hashes["entity"] == "family", "sha256"].tolist()
    if len(hexes) != len(inputs.families):  # pragma: no cover - entity_hashes gives one row a family
        raise ValueError(f"{len(hexes)} family hashes for {len(inputs.families)} families")
    return np.frombuffer(b"".join(bytes.fromhex(x) for x in hexes), dtype=np.uint8).reshape(-1, 32).copy()


def _entry_name(fingerprint: str, digests: np.ndarray) -> str:
    h = hashlib.sha256(fingerprint.encode() + b"|")
    h.update(np.ascontiguousarray(digests, dtype=np.uint8).tobytes())
    return h.hexdigest()


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(memoryview(np.ascontiguousarray(array)).cast("B")).hexdigest()


def _save_stacked(path: Path, parts: Sequence[np.ndarray], dtype) -> dict:
    """Write ``parts`` (C-ordered arrays of one trailing shape) stacked along their first axis as
    one ``.npy`` file, the bytes ``np.save(np.concatenate(parts))`` writes, without building
    the stacked array; its manifest entry ``{"dtype", "shape", "sha256"}`` (the sha256 of the
    stacked array's bytes, as :func:`_sha256` of it)."""
    dtype = np.dtype(dtype)
    parts = [np.ascontiguousarray(p, dtype=dtype) for p in parts]
    shape = (sum(p.shape[0] for p in parts), *parts[0].shape[1:])
    h = hashlib.sha256()
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                                                 "shape": shape})
        for p in parts:
            data = memoryview(p.reshape(-1)).cast("B")
            h.update(data)
            f.write(data)
    return {"dtype": dtype.str, "shape": list(shape), "sha256": h.hexdigest()}


#: Files whose checksum this process verified: path -> (inode, size, mtime_ns, ctime_ns, sha256).
#: A file written to since (any write changes its ctime, which no utime call can set back) is
#: hashed again; an unchanged one is not, so a warm process reads an entry at the cost of a stat.
_VERIFIED: dict[str, tuple] = {}


def _verified(path: Path, sha256: str, array: np.ndarray) -> bool:
    """Whether ``array`` (read from ``path``) has the manifest's ``sha256``: hashed once a
    process per version of the file (:data:`_VERIFIED`)."""
    st = os.stat(path)
    key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, sha256)
    if _VERIFIED.get(str(path)) == key:
        return True
    if _sha256(array) != sha256:
        _VERIFIED.pop(str(path), None)
        return False
    _VERIFIED[str(path)] = key
    return True


class CorruptEntry(Exception):
    """An entry on disk that does not match its manifest."""


class TableCache:
    """A folder of compiled shard tables (module docstring: key, files, size, retention).

    Parameters
    ----------
    folder : str or Path
        Created on the first write (0700).
    max_bytes : int, optional
        Size cap applied by :meth:`retain` (least recently used entries removed first); None:
        no cap (the folder holds one run's tables).
    read_only : bool, default False
        Read entries, never write one (a search: a miss is compiled in memory only, so searches
        with other parameters do not fill the disk; match runs write and retain).

    The folder is made absolute (a Dask worker in another working directory writes the same
    one). Retention only ever removes what looks like the cache's own: fingerprint and entry
    folders named by 64 hex digits, and its own ``.partial-*`` writes.

    Attributes
    ----------
    stats : dict of str to int
        Counts since creation in this process: ``hits`` (shards read whole), ``misses``,
        ``reused`` (families of missed shards taken from other entries), ``compiled``
        (families compiled), ``corrupt`` (entries found damaged and removed), ``written``.

    Examples
    --------
    >>> cache = TableCache("/nonexistent/cache")
    >>> cache.size_bytes(), sorted(cache.stats)
    (0, ['compiled', 'corrupt', 'hits', 'misses', 'reused', 'written'])
    """

    def __init__(self, folder: str | Path, *, max_bytes: int | None = None, read_only: bool = False):
        self.folder = Path(folder).absolute()
        self.max_bytes = max_bytes
        self.read_only = read_only
        self._lock = threading.Lock()
        self._index: dict[str, dict[bytes, tuple[str, int]]] = {}
        self.stats = dict.fromkeys(("hits", "misses", "reused", "compiled", "corrupt", "written"), 0)

    def __getstate__(self):  # travels to a Dask worker: the folder and the cap, not the memo
        return {"folder": self.folder, "max_bytes": self.max_bytes, "read_only": self.read_only}

    def __setstate__(self, state):
        self.__init__(state["folder"], max_bytes=state["max_bytes"], read_only=state.get("read_only", False))

    def __repr__(self) -> str:
        return f"TableCache({str(self.folder)!r}, max_bytes={self.max_bytes})"

    # ------------------------------------------------------------------ keys

    def entry_name(self, run, families: Sequence[int], digests: np.ndarray, *, linked: bool | None = None) -> str:
        """The entry of a shard: ``families`` (indices in ``run.inputs.families``, one layout)
        with their ``digests`` (uint8 ``(len(families), 32)``)."""
        families = np.asarray(families, dtype=np.int64)
        if linked is None:
            linked = bool(run.linked_families[families[0]]) if families.size else False
        return f"{tables_fingerprint(run, linked=linked)}/{_entry_name(tables_fingerprint(run, linked=linked), digests)}"

    def entry_names(self, run, shards: Iterable, digests: np.ndarray) -> set[str]:
        """The entries of a run's shards (``RunPlan.shards``; ``digests`` of every family of the
        run, :func:`family_digests`): what :meth:`retain` keeps."""
        out = set()
        for families, _ in shards:
            families = np.asarray(families, dtype=np.int64)
            out.add(self.entry_name(run, families, digests[families]))
        return out

    # ------------------------------------------------------------------ reading

    def _read(self, path: Path, fingerprint: str, digests: np.ndarray | None = None) -> tuple[dict, dict]:
        """Manifest and memory-mapped arrays of the entry at ``path``, checked (CorruptEntry)."""
        try:
            manifest = json.loads((path / "manifest.json").read_text())
            if manifest.get("format") != CACHE_FORMAT or manifest.get("fingerprint") != fingerprint \
                    or manifest.get("name") != path.name:
                raise CorruptEntry(f"{path}: manifest of another entry")
            arrays = {}
            for name in _ARRAYS:
                meta = manifest["arrays"][name]
                a = np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                if a.dtype != _DTYPES[name] or list(a.shape) != meta["shape"]:
                    raise CorruptEntry(f"{path}/{name}.npy: {a.dtype} {a.shape}, manifest {meta['shape']}")
                if not _verified(path / f"{name}.npy", meta["sha256"], a):
                    raise CorruptEntry(f"{path}/{name}.npy: checksum differs from the manifest")
                arrays[name] = a
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError) as e:
            raise CorruptEntry(f"{path}: {e}") from e
        n = manifest["n_families"]
        if arrays["log10_lr"].shape != (sum(manifest["rows"]), n) or arrays["typed"].shape != (len(manifest["rows"]), n) \
                or arrays["inconsistent"].shape != arrays["log10_lr"].shape or arrays["families"].shape != (n, 32):
            raise CorruptEntry(f"{path}: array shapes disagree")
        if digests is not None and not np.array_equal(arrays["families"], digests):
            raise CorruptEntry(f"{path}: families differ from the entry's name")
        return manifest, arrays

    def _load(self, path: Path, fingerprint: str, digests: np.ndarray | None = None) -> tuple[dict, dict] | None:
        """:meth:`_read`, or None (and the entry removed) when it is damaged or gone."""
        if not (path / "manifest.json").is_file():
            return None
        try:
            found = self._read(path, fingerprint, digests)
        except CorruptEntry:
            with self._lock:
                self.stats["corrupt"] += 1
            shutil.rmtree(path, ignore_errors=True)
            return None
        try:
            os.utime(path / "manifest.json")  # last use, for the size cap
        except OSError:
            pass
        return found

    @staticmethod
    def _tables(manifest: dict, arrays: dict) -> FamilyTables:
        bounds = np.concatenate([[0], np.cumsum(manifest["rows"])]).astype(int)
        T, inc = arrays["log10_lr"], arrays["inconsistent"]
        return FamilyTables(tuple(manifest["loci"]), tuple(T[a:b] for a, b in zip(bounds[:-1], bounds[1:])),
                            tuple(inc[a:b] for a, b in zip(bounds[:-1], bounds[1:])), arrays["typed"])

    def get(self, fingerprint: str, digests: np.ndarray) -> FamilyTables | None:
        """The tables of the shard ``digests`` (its families' digests, in order) under
        ``fingerprint``, memory-mapped, or None."""
        path = self.folder / fingerprint / _entry_name(fingerprint, digests)
        found = self._load(path, fingerprint, digests)
        return None if found is None else self._tables(*found)

    # ------------------------------------------------------------------ writing

    def put(self, fingerprint: str, digests: np.ndarray, tables: FamilyTables) -> Path | None:
        """Write a shard's tables as an entry (whole, owner-only); its path, or None when the
        folder can not be written (the run goes on without caching)."""
        if self.read_only:
            return None
        name = _entry_name(fingerprint, digests)
        parent = self.folder / fingerprint
        final = parent / name
        if (final / "manifest.json").is_file():
            return final
        # each array is the units' parts one after the other (rows stacked), written part by part:
        # the shard's tables are not copied into one array first (80-430 MB a shard)
        parts = {
            "log10_lr": (tables.log10_lr, np.float64),
            "inconsistent": (tables.inconsistent, np.int8),
            "typed": ((tables.typed,), np.bool_),
            "families": ((digests,), np.uint8),
        }
        manifest = {
            "format": CACHE_FORMAT, "fingerprint": fingerprint, "name": name, "n_families": int(tables.n_families),
            "loci": list(tables.loci), "rows": [int(T.shape[0]) for T in tables.log10_lr], "arrays": {},
        }
        tmp = None
        try:
            for folder in (self.folder, parent):
                if not folder.is_dir():  # created here owner-only; an existing folder is left as it is
                    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                    os.chmod(folder, 0o700)
            tmp = Path(tempfile.mkdtemp(dir=parent, prefix=".partial-"))  # 0700
            for k, (arrays, dtype) in parts.items():
                manifest["arrays"][k] = _save_stacked(tmp / f"{k}.npy", arrays, dtype)
                os.chmod(tmp / f"{k}.npy", 0o600)
            (tmp / "manifest.json").write_text(json.dumps(manifest))
            os.chmod(tmp / "manifest.json", 0o600)
            os.rename(tmp, final)  # fails if another process wrote it meanwhile: theirs is the same
            tmp = None
        except OSError:
            return final if (final / "manifest.json").is_file() else None
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        for k, meta in manifest["arrays"].items():  # written by this process: verified as such
            try:
                st = os.stat(final / f"{k}.npy")
                _VERIFIED[str(final / f"{k}.npy")] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                                      meta["sha256"])
            except OSError:
                pass
        with self._lock:
            self.stats["written"] += 1
            if fingerprint in self._index:
                for j, d in enumerate(np.asarray(digests, dtype=np.uint8)):
                    self._index[fingerprint].setdefault(d.tobytes(), (name, j))
        return final

    # ------------------------------------------------------------------ the tables of a shard

    def _family_index(self, fingerprint: str) -> dict[bytes, tuple[str, int]]:
        """``{digest: (entry, column)}`` of every entry under ``fingerprint`` (read once a process)."""
        with self._lock:
            if fingerprint in self._index:
                return self._index[fingerprint]
        index: dict[bytes, tuple[str, int]] = {}
        parent = self.folder / fingerprint
        for path in sorted(parent.iterdir()) if parent.is_dir() else ():
            if path.name.startswith(".") or not (path / "families.npy").is_file():
                continue
            try:
                fams = np.load(path / "families.npy", mmap_mode="r", allow_pickle=False)
                if fams.ndim != 2 or fams.shape[1] != 32 or fams.dtype != np.uint8:
                    continue
                for j, d in enumerate(np.asarray(fams)):
                    index.setdefault(d.tobytes(), (path.name, j))
            except (OSError, ValueError):
                continue  # checked in full when used
        with self._lock:
            return self._index.setdefault(fingerprint, index)

    def shard_tables(self, run, families: Sequence[int], *, digests: np.ndarray, linked: bool | None = None
                     ) -> FamilyTables:
        """The tables of ``families`` (indices in ``run.inputs.families``, one layout) that
        :meth:`EncodedRun.family_tables` compiles: read whole when the shard is on disk, else
        assembled from the entries holding some of its families plus the others compiled, and
        written as an entry.

        Parameters
        ----------
        run : kinship.app.match_run.EncodedRun
            A whole run or a :func:`~kinship.app.match_run.shard_work`.
        families : sequence of int, length n
        digests : ndarray of uint8, shape (n, 32)
            The families' digests (:func:`family_digests` of the whole run's inputs, taken at
            ``families``).
        linked : bool, optional
            The layout; default that of ``run.linked_families`` at the first family.
        """
        families = np.asarray(families, dtype=np.int64)
        digests = np.ascontiguousarray(digests, dtype=np.uint8)
        if digests.shape != (families.size, 32):
            raise ValueError(f"digests of shape {digests.shape} for {families.size} families; expected "
                             f"({families.size}, 32): family_digests(inputs)[families]")
        if linked is None:
            linked = bool(run.linked_families[families[0]]) if families.size else False
        fingerprint = tables_fingerprint(run, linked=linked)
        found = self.get(fingerprint, digests)
        if found is not None:
            with self._lock:
                self.stats["hits"] += 1
            return found
        tables, n_reused = self._assemble(run, families, digests, fingerprint, linked)
        with self._lock:
            self.stats["misses"] += 1
            self.stats["reused"] += n_reused
            self.stats["compiled"] += families.size - n_reused
        self.put(fingerprint, digests, tables)
        return tables

    def _assemble(self, run, families: np.ndarray, digests: np.ndarray, fingerprint: str, linked: bool
                  ) -> tuple[FamilyTables, int]:
        """A missed shard's tables: columns of other entries where they hold its families, the rest
        compiled. Not with θ > 0: the peeling's sums then depend on which families share a batch
        (last bits), so such a shard is compiled whole, as a run without the cache compiles it."""
        index = self._family_index(fingerprint) if families.size and run.theta == 0.0 else {}
        where: dict[str, list[tuple[int, int]]] = {}
        for q, d in enumerate(digests):
            hit = index.get(d.tobytes())
            if hit is not None:
                where.setdefault(hit[0], []).append((q, hit[1]))
        sources = []
        for name, pairs in where.items():
            found = self._load(self.folder / fingerprint / name, fingerprint)
            if found is not None and (not sources or (found[0]["rows"], found[0]["loci"])
                                      == (sources[0][0][0]["rows"], sources[0][0][0]["loci"])):
                sources.append((found, pairs))  # one fingerprint: one layout of rows
        taken = np.zeros(families.size, dtype=bool)
        for _, pairs in sources:
            taken[[q for q, _ in pairs]] = True
        todo = np.flatnonzero(~taken)
        if not sources:  # compiled whole: a linked shard keeps its per-locus tables for the counts (not cached)
            return run.family_tables(families.tolist(), linked=linked, per_locus=linked), 0
        compiled = run.family_tables(families[todo].tolist(), linked=linked) if todo.size else None
        rows = sources[0][0][0]["rows"]
        n = families.size
        T = np.empty((sum(rows), n), dtype=np.float64)
        inc = np.empty((sum(rows), n), dtype=np.int8)
        typed = np.empty((len(rows), n), dtype=bool)
        for (manifest, arrays), pairs in sources:
            q = np.array([a for a, _ in pairs], dtype=np.int64)
            j = np.array([b for _, b in pairs], dtype=np.int64)
            T[:, q] = arrays["log10_lr"][:, j]
            inc[:, q] = arrays["inconsistent"][:, j]
            typed[:, q] = arrays["typed"][:, j]
        if compiled is not None:
            T[:, todo] = np.concatenate(compiled.log10_lr, axis=0)
            inc[:, todo] = np.concatenate(compiled.inconsistent, axis=0)
            typed[:, todo] = compiled.typed
        loci = tuple(sources[0][0][0]["loci"])
        bounds = np.concatenate([[0], np.cumsum(rows)]).astype(int)
        return FamilyTables(loci, tuple(T[a:b] for a, b in zip(bounds[:-1], bounds[1:])),
                            tuple(inc[a:b] for a, b in zip(bounds[:-1], bounds[1:])), typed), int(taken.sum())

    def scoring_tables(self, run, families: Sequence[int], *, digests: np.ndarray
                       ) -> list[tuple[np.ndarray, FamilyTables, np.ndarray]]:
        """:meth:`EncodedRun.scoring_tables` with each layout's tables from :meth:`shard_tables`."""
        families = np.asarray(families, dtype=np.int64)
        out = []
        for linked in (False, True):
            pos = np.flatnonzero(run.linked_families[families] == linked)
            if pos.size:
                out.append((pos, self.shard_tables(run, families[pos], digests=digests[pos], linked=linked),
                            run.linked_genotypes if linked else run.candidate_genotypes))
        return out

    # ------------------------------------------------------------------ retention

    def _entries(self) -> list[Path]:
        out = []
        try:
            fingerprints = [fp for fp in self.folder.iterdir() if fp.is_dir()] if self.folder.is_dir() else []
        except OSError:
            return []
        for fp in fingerprints:
            if not _HEX64.fullmatch(fp.name):  # not the cache's: never touched
                continue
            try:
                out += [e for e in fp.iterdir() if e.is_dir() and (_HEX64.fullmatch(e.name) or e.name.startswith(".partial-"))]
            except OSError:  # removed meanwhile (another process's retention)
                continue
        return out

    @staticmethod
    def _bytes(entry: Path) -> int:
        total = 0
        try:
            for f in entry.iterdir():
                try:
                    total += f.stat().st_size if f.is_file() else 0
                except OSError:
                    continue
        except OSError:
            return 0
        return total

    def size_bytes(self) -> int:
        """Bytes of the entries on disk."""
        return sum(self._bytes(e) for e in self._entries())

    def retain_run(self, run, shards: Iterable, digests: np.ndarray) -> dict:
        """:meth:`retain` after ``run`` (its ``RunPlan.shards``, every family's ``digests``):
        its entries kept, and those of its fingerprints holding its other families."""
        return self.retain(self.entry_names(run, shards, digests), current=digests,
                           fingerprints={tables_fingerprint(run, linked=linked) for linked in (False, True)})

    def retain(self, keep: Iterable[str], *, current: np.ndarray | None = None,
               fingerprints: Iterable[str] = ()) -> dict:
        """Remove every entry not in ``keep`` (names ``<fingerprint>/<entry>``,
        :meth:`entry_names` of the run just finished) and left-over partial writes, then the
        least recently used entries until within ``max_bytes``; empty fingerprint folders go too.

        ``current`` (the run's :func:`family_digests`): an entry not in ``keep`` but of a kept
        fingerprint (or one of ``fingerprints``) stays when it holds a current family that no
        entry kept holds, the entries holding most such families first (e.g. a run
        that scored only new families keeps the shards of the run before, which a search and the
        next run read, or assemble their shards from).

        Returns
        -------
        dict
            ``{"removed": entries removed, "kept": entries kept, "bytes": bytes left}``.
        """
        keep = set(keep)
        removed = 0
        left, others = [], []
        for entry in self._entries():
            name = f"{entry.parent.name}/{entry.name}"
            if entry.name.startswith(".partial-"):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
            else:
                (left if name in keep else others).append(entry)
        if current is not None:
            wanted = {d.tobytes() for d in np.asarray(current, dtype=np.uint8)}
            fingerprints = {e.parent.name for e in left} | set(fingerprints)

            def families_of(entry: Path) -> set[bytes]:
                try:
                    return {d.tobytes() for d in np.load(entry / "families.npy", allow_pickle=False)}
                except (OSError, ValueError):
                    return set()
            covered = set().union(*(families_of(e) for e in left))
            held = {e: families_of(e) & wanted if e.parent.name in fingerprints else set() for e in others}
            while held:  # greedy cover: the entry holding most current families not held yet first
                best = max(held, key=lambda e: (len(held[e] - covered), e.name))
                if not held[best] - covered:
                    break
                covered |= held.pop(best)
                left.append(best)
            others = list(held)
        for entry in others:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
        sizes = {e: self._bytes(e) for e in left}
        total = sum(sizes.values())
        if self.max_bytes is not None and total > self.max_bytes:
            def last_use(e: Path) -> float:
                try:
                    return (e / "manifest.json").stat().st_mtime
                except OSError:
                    return 0.0
            for entry in sorted(left, key=last_use):
                if total <= self.max_bytes:
                    break
                shutil.rmtree(entry, ignore_errors=True)
                total -= sizes.pop(entry)
                removed += 1
        for fp in list(self.folder.iterdir()) if self.folder.is_dir() else ():
            if fp.is_dir() and _HEX64.fullmatch(fp.name):
                try:
                    fp.rmdir()  # only when empty
                except OSError:
                    pass
        with self._lock:
            self._index.clear()
        return {"removed": removed, "kept": len(sizes), "bytes": int(total)}
