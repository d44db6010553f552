"""Match-run tables of the store: runs and their provenance, scored pairs, scored inputs.

:class:`MatchRunTables` is the part of :class:`kinship.store.Store` that records match runs
(``match_runs``), stores their pairs (``matches``, ``schemas/matches.v3.json``; the v3 columns
are optional, :data:`MATCH_V3_COLUMNS`, so a frame of the v2 columns still writes) and the
profile hashes each run scored (``match_run_inputs``, for incremental matching).
``log10_lr`` is a float64 column; ``-inf`` (an exclusion) round-trips on SQLite and
PostgreSQL, NaN is refused when writing.

A run's pairs and inputs are written in their primary key's order, past SQLAlchemy's per-row
work (:func:`kinship.store.engine.insert_tuples`: the driver's ``executemany`` of tuples on
SQLite, ``COPY`` on PostgreSQL), in the run's transaction: 10^6 pairs with their inputs in
~6.5 s on SQLite (``benchmarks/bench_store_save.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from itertools import repeat

import numpy as np

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kinship.errors import StoreError
from kinship.store.engine import StoreBase, insert_tuples
from kinship.store.tables import match_run_inputs, match_runs, matches

__all__ = ["MATCH_COLUMNS", "MATCH_V3_COLUMNS", "MATCH_RUN_COLUMNS", "RUN_INPUT_COLUMNS", "MatchRunTables"]

#: Columns of :meth:`Store.record_run_inputs` / :meth:`Store.load_run_inputs`.
RUN_INPUT_COLUMNS = ["entity", "lab", "entity_id", "sha256"]
_RUN_INPUT_ENTITIES = ("candidate", "family")
_SHA256 = re.compile("[0-9a-f]{64}")
#: Rows of a run's pairs or inputs built and inserted at a time (one ``executemany`` on SQLite,
#: one ``COPY`` on PostgreSQL): a chunk's column lists are ~40 MB of Python objects.
_ROW_CHUNK = 50_000
#: SQLite: the value bound for a NULL. SQLite stores a bound NaN as NULL (``sqlite3_bind_double``
#: -> ``sqlite3VdbeMemSetDouble``, which leaves a NaN a NULL; a test checks ``typeof``), and the
#: sqlite3 module binds a float directly, where ``None`` (and a ``bool``) first go through its
#: adaptation look-up: ~0.3 us a value, and a pair has ~9 nulls (its Y, joint and rank columns).
_SQLITE_NULL = float("nan")

#: Columns :meth:`Store.write_matches` requires, in the order :meth:`Store.load_matches` returns.
MATCH_COLUMNS = [
    "lab",
    "family_id",
    "candidate_id",
    "log10_lr",
    "n_loci_compared",
    "n_inconsistent",
    "rank_for_candidate",
    "rank_for_family",
    "posterior",
    "conclusion",
    "flag",
]
#: Columns of ``schemas/matches.v3.json`` that :meth:`Store.write_matches` stores when the frame has
#: them (null where it has not, or where a value is null) and :meth:`Store.load_matches` returns,
#: with their pandas dtypes: float64 (NULL as NaN), nullable Int16 / Int32 and boolean (NULL as <NA>).
MATCH_V3_COLUMNS = {
    "log10_lr_y": "float64",
    "n_y_loci_compared": "Int16",
    "n_y_mismatches": "Int16",
    "y_steps": "Int16",
    "log10_lr_total": "float64",
    "posterior_lower": "float64",
    "family_posterior": "float64",
    "family_posterior_lower": "float64",
    "joint_posterior": "float64",
    "joint_group": "Int32",
    "joint_exact": "boolean",
    "conflict": "boolean",
    "log10_lr_unlinked": "float64",
}
_LOADED_MATCH_COLUMNS = [*MATCH_COLUMNS, "family_kind", *MATCH_V3_COLUMNS]
#: May be null: posterior (NaN), ranks (not among the best k; ``schemas/matches.v2.json``).
_NULLABLE_MATCH_COLUMNS = ("posterior", "rank_for_candidate", "rank_for_family")
_MATCH_DTYPES = {
    "lab": "str",
    "family_id": "str",
    "candidate_id": "str",
    "log10_lr": "float64",
    "n_loci_compared": "int16",
    "n_inconsistent": "int16",
    "rank_for_candidate": "Int32",
    "rank_for_family": "Int32",
    "posterior": "float64",
    "conclusion": "str",
    "flag": "bool",
}

#: Columns of :meth:`Store.list_match_runs`; ``record_match_run`` accepts these keys.
MATCH_RUN_COLUMNS = [c.name for c in match_runs.columns]
_RUN_REQUIRED = ["run_id", "started_at", "kind", "parameters", "freq_table_name", "freq_table_hash", "code_version"]
#: How each stored column of :data:`MATCH_COLUMNS` is written (after ``flagged`` is read as ``flag``).
_MATCH_CASTS = {"lab": str, "family_id": str, "candidate_id": str, "log10_lr": float, "n_loci_compared": int,
                "n_inconsistent": int, "rank_for_candidate": int, "rank_for_family": int, "posterior": float,
                "conclusion": str, "flag": bool}


#: pandas' masked dtypes whose values ``to_numpy`` gives exactly, per cast (UInt64 may not fit int64).
_MASKED = {float: (pd.Float32Dtype, pd.Float64Dtype), bool: (pd.BooleanDtype,),
           int: (pd.Int8Dtype, pd.Int16Dtype, pd.Int32Dtype, pd.Int64Dtype, pd.UInt8Dtype, pd.UInt16Dtype, pd.UInt32Dtype)}


class _StoredColumn:
    """A column of a validated frame as the database driver takes its values, some rows at a time.

    Each value is stored as ``cast(v)``, a null (``isna``: NaN, None, ``<NA>``) as ``null``
    (``-inf`` is a value): the values ``[null if missing else cast(v) for v in column]``, built
    from the column's arrays rather than one Python call per value. Text is factorised once
    (each distinct id becomes one ``str``, shared by its rows; the codes order the rows by key);
    numpy and pandas' masked numbers are converted a slice at a time by ``tolist`` (the same
    ``float``, ``int`` and ``bool`` values); any other dtype (an ``object`` column of numbers, a
    float column of counts) casts value by value.

    Parameters
    ----------
    column : pandas.Series
        One column, nulls only where the store allows them.
    cast : {str, float, int, bool}
        What a value is stored as.
    null : None or float
        What a null is bound as: ``None``, or :data:`_SQLITE_NULL` (NaN) on SQLite.
    sqlite : bool
        A ``bool`` is bound as the ``int`` 0 or 1 (what the sqlite3 module stores for a
        ``bool``, bound without its adaptation look-up).
    """

    def __init__(self, column: pd.Series, cast, *, null, sqlite: bool):
        self.null, self.sqlite, self.cast = null, sqlite, cast
        dtype = column.dtype
        self.kind = "values"
        if cast is str:
            self.kind = "text"
            if not (isinstance(dtype, pd.StringDtype) or (
                    dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "string")):
                missing = column.isna().to_numpy()
                column = pd.Series(np.array([None if m else str(v) for v, m in
                                             zip(column.astype(object).tolist(), missing.tolist())], dtype=object))
            codes, uniques = pd.factorize(column, sort=True)  # sorted: a code's order is its text's
            self.codes = codes.astype(np.int32) if len(uniques) < 2**31 else codes
            self.labels = np.empty(len(uniques) + 1, dtype=object)  # code -1 (null) reads the last
            self.labels[:-1] = [str(u) for u in uniques]
            self.labels[-1] = null
        elif isinstance(dtype, np.dtype) and (
                (cast is float and dtype.kind == "f") or (cast is int and dtype.kind in "iu")
                or (cast is bool and dtype.kind == "b")):
            self.kind, self.array = "numpy", column.to_numpy()
        elif isinstance(dtype, _MASKED[cast]):
            self.kind, self.array = "masked", column.array
        if self.kind == "values":
            self.array, self.missing = column.astype(object).to_numpy(), column.isna().to_numpy()

    def take(self, positions: np.ndarray) -> list:
        """The stored values of the rows at ``positions`` (int64, shape (n,)), in that order."""
        if self.kind == "text":
            return self.labels[self.codes[positions]].tolist()
        if self.kind == "values":
            cast = (lambda v: int(bool(v))) if self.sqlite and self.cast is bool else self.cast
            null = self.null
            return [null if m else cast(v) for v, m in zip(self.array[positions].tolist(),
                                                          self.missing[positions].tolist())]
        if self.kind == "numpy":
            values = self.array[positions]
            missing = np.isnan(values) if values.dtype.kind == "f" else None
        else:
            part = self.array.take(positions)
            missing = part.isna()
            values = part.to_numpy(dtype={float: np.float64, int: np.int64, bool: bool}[self.cast],
                                   na_value={float: np.nan, int: 0, bool: False}[self.cast])
        if values.dtype.kind == "f":
            values = values.astype(np.float64, copy=False)
        elif values.dtype.kind == "b" and self.sqlite:
            values = values.view(np.uint8)
        if missing is None or not missing.any() or (values.dtype.kind == "f" and self.null is _SQLITE_NULL):
            return values.tolist()  # a float null is already NaN, SQLite's null
        out = values.astype(object)
        out[missing] = self.null
        return out.tolist()


def _key_order(keys: list[_StoredColumn]) -> np.ndarray:
    """Positions of the rows sorted by ``keys`` (text columns, the first the most significant):
    the primary key's order, so that each row lands next to the last one in the key's B-tree
    index instead of at a random leaf."""
    return np.lexsort([k.codes for k in reversed(keys)])


class MatchRunTables(StoreBase):
    """Recording match runs and their pairs: the match-run tables of :class:`kinship.store.Store`."""

    def record_match_run(self, run: dict) -> None:
        """Record the start of a match run (its provenance).

        Parameters
        ----------
        run : dict
            Keys ``run_id`` (str), ``started_at`` (datetime or ISO-8601 str; naive = UTC),
            ``kind`` (str, e.g. ``"incremental"`` / ``"full"``), ``parameters`` (dict, stored
            as canonical JSON, or a JSON str), ``freq_table_name``, ``freq_table_hash``,
            ``code_version`` (str); optional ``finished_at``, ``n_families``,
            ``n_candidates``, ``n_pairs``.

        Raises
        ------
        StoreError
            If a key is missing or unknown, or the run id is already recorded.
        """
        row = self._run_row(run, required=_RUN_REQUIRED)
        try:
            with self.write_transaction() as c:
                c.execute(match_runs.insert().values(**row))
        except sa.exc.IntegrityError:
            raise StoreError(self._known_run(row["run_id"])) from None

    def finish_match_run(self, run_id: str, **fields) -> None:
        """Complete a recorded run: set ``finished_at`` (default now, UTC) and counts.

        Parameters
        ----------
        run_id : str
            A recorded run.
        **fields
            Any of ``finished_at``, ``n_families``, ``n_candidates``, ``n_pairs``,
            ``parameters``, ``freq_table_name``, ``freq_table_hash``, ``code_version``,
            ``kind``.

        Raises
        ------
        StoreError
            If the run is not recorded or a field is unknown.
        """
        fields.setdefault("finished_at", datetime.now(timezone.utc))
        row = self._run_row({"run_id": run_id, **fields}, required=["run_id"])
        row.pop("run_id")
        with self.write_transaction() as c:
            n = c.execute(match_runs.update().where(match_runs.c.run_id == run_id).values(**row)).rowcount
        if n != 1:
            raise StoreError(self._unknown_run(run_id))

    def _run_row(self, run: dict, *, required: list[str]) -> dict:
        unknown = sorted(set(run) - set(MATCH_RUN_COLUMNS))
        missing = [k for k in required if run.get(k) is None]
        if unknown or missing:
            raise StoreError(
                f"match run {run.get('run_id')!r}: unknown field(s) {unknown}, missing field(s) "
                f"{missing}; expected fields {MATCH_RUN_COLUMNS} (required {_RUN_REQUIRED}); "
                "fix: pass the run's provenance record with these keys"
            )
        row = dict(run)
        for key in ("parameters", "provenance"):
            if row.get(key) is not None and not isinstance(row[key], str):
                row[key] = json.dumps(row[key], sort_keys=True, separators=(",", ":"), default=str)
        for key in ("n_families", "n_candidates", "n_pairs"):
            if row.get(key) is not None:
                row[key] = int(row[key])
        return row

    def _known_run(self, run_id: str) -> str:
        return (
            f"match run {run_id!r} is already recorded in store {self.describe()}; expected a new "
            "run id; fix: derive the run id from the run's inputs and start time"
        )

    def _unknown_run(self, run_id: str) -> str:
        return (
            f"match run {run_id!r} is not recorded in store {self.describe()}; expected a run "
            "id from list_match_runs(); fix: call record_match_run first"
        )

    def write_matches(self, run_id: str, matches_frame: pd.DataFrame) -> int:
        """Store the scored pairs of a recorded run.

        Parameters
        ----------
        run_id : str
            A run recorded with :meth:`record_match_run`.
        matches_frame : pandas.DataFrame
            One row per (family, candidate) pair, columns :data:`MATCH_COLUMNS`:
            ``log10_lr`` float64 (``-inf`` allowed, NaN not), counts ints, ranks ints or null
            (a pair outside the best k), ``posterior`` float64 (NaN stored as NULL), ``conclusion`` str, ``flag`` bool (a
            column ``flagged``, the name in ``schemas/matches.v2.json``, is accepted for it);
            optional ``family_kind`` str and the ``schemas/matches.v3.json`` columns of
            :data:`MATCH_V3_COLUMNS` (each null when absent; NaN / ``<NA>`` stored as NULL; a
            float64 ``-inf`` kept). Other columns are ignored.

        Returns
        -------
        int
            Number of rows written.

        Raises
        ------
        StoreError
            If the run is not recorded, a column is missing, a value is null or NaN where
            not allowed, or a pair is already stored for the run.
        """
        n, rows = self._match_rows(run_id, matches_frame)
        with self.write_transaction() as c:
            self._insert_matches(c, run_id, rows)
        return n

    def save_match_run(
        self, provenance: dict, matches_frame: pd.DataFrame, run_inputs: pd.DataFrame | None = None,
        *, complete: bool = True,
    ) -> int:
        """Record a run from its provenance record and store its pairs, atomically.

        With ``complete=False`` the run is recorded without ``finished_at``: it is not yet a
        finished run (:meth:`latest_match_run` and incremental matching ignore it) until
        :meth:`finish_match_run` marks it, which the match flow does only once the run's outputs
        are written.

        Parameters
        ----------
        provenance : dict
            The run's provenance record (``schemas/provenance.v4.json``): ``run_id``,
            ``started_at``, ``code_version``, ``parameters``, ``frequency_table`` (``source``
            or ``name``, ``sha256``), ``inputs`` (``n_families``, ``n_candidates``); optional
            ``kind`` (default ``"full"``) and ``finished_at`` (default now; none when
            ``complete=False``). The whole record is kept as JSON in ``match_runs.provenance``.
        matches_frame : pandas.DataFrame
            The run's pairs, as for :meth:`write_matches`.
        run_inputs : pandas.DataFrame, optional
            The profile hashes the run scored, as for :meth:`record_run_inputs`; written in the
            same transaction (all three land or none).
        complete : bool, default True
            Record the run as finished now; ``False`` leaves ``finished_at`` empty.

        Returns
        -------
        int
            Number of pairs written.

        Raises
        ------
        StoreError
            If the record lacks a field, the run id is already recorded, or a pair is invalid.
        """
        try:
            table = provenance["frequency_table"]
            inputs = provenance.get("inputs", {})
            run = {
                "run_id": provenance["run_id"],
                "started_at": provenance["started_at"],
                "finished_at": (provenance.get("finished_at") or datetime.now(timezone.utc)) if complete else None,
                "kind": provenance.get("kind", "full"),
                "parameters": provenance["parameters"],
                "freq_table_name": table.get("source") or table["name"],
                "freq_table_hash": table["sha256"],
                "code_version": provenance["code_version"],
                "n_families": inputs.get("n_families"),
                "n_candidates": inputs.get("n_candidates"),
                "n_pairs": len(matches_frame),
                "provenance": provenance,
            }
        except KeyError as exc:
            raise StoreError(
                f"provenance record of run {provenance.get('run_id')!r} lacks field {exc.args[0]!r}; "
                "expected a record of schemas/provenance.v4.json; fix: build it with "
                "kinship.app.match_run.provenance"
            ) from None
        row = self._run_row(run, required=_RUN_REQUIRED)
        n, rows = self._match_rows(row["run_id"], matches_frame)
        input_rows = None if run_inputs is None else self._run_input_rows(row["run_id"], run_inputs)[1]
        with self.write_transaction() as c:
            try:
                with c.begin_nested():
                    c.execute(match_runs.insert().values(**row))
            except sa.exc.IntegrityError:
                raise StoreError(self._known_run(row["run_id"])) from None
            self._insert_matches(c, row["run_id"], rows)
            if input_rows is not None:
                self._insert_run_inputs(c, row["run_id"], input_rows)
        return n

    def _match_rows(self, run_id: str, matches_frame: pd.DataFrame) -> tuple[int, Iterator[tuple[list[str], Iterator[tuple]]]]:
        """``(number of rows, their chunks)``: the whole frame validated and its columns prepared
        now (:class:`_StoredColumn`, before the write lock is taken), its rows built as tuples
        :data:`_ROW_CHUNK` at a time as they are inserted (10^7 pairs of a national run never
        exist as Python rows at once), in the order of the primary key ``(lab, family_id,
        candidate_id)``. A frame comes sorted by candidate: inserted in that order, every row
        went to a random leaf of the key's index (10^7 pairs: a 0.6 GB index against SQLite's
        2 MB page cache). The stored values do not depend on the order; the rows' ``rowid``
        (SQLite) and heap order (PostgreSQL) do, and no query reads them (:meth:`load_matches`
        orders by the columns)."""
        frame = matches_frame
        if "flag" not in frame.columns and "flagged" in frame.columns:
            frame = frame.rename(columns={"flagged": "flag"})
        missing = [c for c in MATCH_COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(
                f"matches of run {run_id!r}: missing column(s) {missing}; expected columns "
                f"{MATCH_COLUMNS}; fix: write the ranked table of kinship.app.match_run.collect_matches"
            )
        for column in MATCH_COLUMNS:
            if column in _NULLABLE_MATCH_COLUMNS:
                continue
            bad = frame[column].isna()
            if bad.any():
                first = frame[bad].iloc[0]
                raise StoreError(
                    f"matches of run {run_id!r}: {int(bad.sum())} null/NaN value(s) in column "
                    f"{column!r} (first: family {first['lab']}/{first['family_id']}, candidate "
                    f"{first['candidate_id']}); expected a value in every row (log10_lr may be "
                    "-inf); fix: flag 0/0 likelihoods upstream instead of writing NaN"
                )
        for column, dtype in MATCH_V3_COLUMNS.items():  # whole numbers where the schema says so
            if column not in frame.columns or dtype not in ("Int16", "Int32"):
                continue
            if pd.api.types.is_integer_dtype(frame[column].dtype):
                continue  # whole by its type (as object: ~0.5 s a column per 10^6 pairs)
            values = pd.to_numeric(frame[column].astype(object), errors="coerce").to_numpy(dtype=np.float64,
                                                                                         na_value=np.nan)
            bad = ~np.isnan(values) & (~np.isfinite(values) | (values != np.floor(values)))
            if bad.any():
                raise StoreError(
                    f"matches of run {run_id!r}: column {column!r} has value {float(values[bad][0])!r}; expected a whole "
                    f"number or null ({dtype}, schemas/matches.v3.json); fix: write the counts as integers")
        sqlite = self.engine.dialect.name == "sqlite"
        null = _SQLITE_NULL if sqlite else None
        columns = {name: _StoredColumn(frame[name], cast, null=null, sqlite=sqlite) for name, cast in _MATCH_CASTS.items()}
        columns["family_kind"] = _StoredColumn(frame["family_kind"], str, null=null, sqlite=sqlite) \
            if "family_kind" in frame.columns else None
        for column, dtype in MATCH_V3_COLUMNS.items():
            cast = float if dtype == "float64" else (bool if dtype == "boolean" else int)
            columns[column] = _StoredColumn(frame[column], cast, null=null, sqlite=sqlite) if column in frame.columns \
                else None
        order = _key_order([columns["lab"], columns["family_id"], columns["candidate_id"]])
        return len(frame), self._chunks(run_id, columns, order, null)

    @staticmethod
    def _chunks(run_id: str, columns: dict[str, _StoredColumn | None], order: np.ndarray,
                null) -> Iterator[tuple[list[str], Iterator[tuple]]]:
        """``(column names, rows)`` of :data:`_ROW_CHUNK` rows at a time, the rows at ``order``
        (``run_id`` first; a column given as None, absent from the frame, is null in every row);
        each chunk's tuples are made as the driver binds them."""
        names = ["run_id", *columns]
        for start in range(0, len(order), _ROW_CHUNK):
            positions = order[start:start + _ROW_CHUNK]
            values = [c.take(positions) if c is not None else repeat(null) for c in columns.values()]
            yield names, zip(repeat(run_id, len(positions)), *values)

    def _insert_matches(self, conn: Connection, run_id: str, rows: Iterable[tuple[list[str], Iterable[tuple]]]) -> None:
        self._insert_run_rows(
            conn, run_id, matches, rows,
            repeated=lambda orig: (
                f"matches of run {run_id!r}: a (lab, family_id, candidate_id) pair is repeated "
                f"or already stored ({orig}); expected each pair once per run; fix: write "
                "a run's matches once, de-duplicated"))

    def _insert_run_rows(self, conn: Connection, run_id: str, table: sa.Table,
                         rows: Iterable[tuple[list[str], Iterable[tuple]]], *, repeated) -> None:
        """Insert rows of a stored run into ``table``, given in chunks ``(columns, tuples)``, as one
        savepoint; ``repeated(orig)`` is the message when a key is repeated or already stored."""
        known = conn.execute(sa.select(match_runs.c.run_id).where(match_runs.c.run_id == run_id)).first()
        if known is None:
            raise StoreError(self._unknown_run(run_id))
        try:
            with conn.begin_nested():
                for names, chunk in rows:
                    insert_tuples(conn, table, names, chunk)
        except sa.exc.IntegrityError as exc:
            raise StoreError(repeated(exc.orig)) from None

    def load_matches(self, run_id: str) -> pd.DataFrame:
        """The stored pairs of one run.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`MATCH_COLUMNS`, ``family_kind`` (``""`` if not given), then
            :data:`MATCH_V3_COLUMNS` in their dtypes (null in the pairs of a run written without them);
            ``log10_lr``/``posterior`` float64 (``-inf`` kept, NULL posterior as NaN), counts
            int16, ranks nullable ``Int32`` (``<NA>`` outside the best k), ``flag`` bool, the rest ``str``; sorted by ``candidate_id,
            rank_for_candidate, lab, family_id``.

        Raises
        ------
        StoreError
            If the run is not recorded.
        """
        with self.engine.connect() as c:
            if c.execute(sa.select(match_runs.c.run_id).where(match_runs.c.run_id == run_id)).first() is None:
                raise StoreError(self._unknown_run(run_id))
        q = (
            sa.select(*(matches.c[c] for c in _LOADED_MATCH_COLUMNS))
            .where(matches.c.run_id == run_id)
            .order_by(matches.c.candidate_id, matches.c.rank_for_candidate.asc().nulls_last(), matches.c.lab,
                      matches.c.family_id)
        )
        if self._arrow_reads():  # 10^7 pairs of a national run: no Python object per value
            dtypes = {**_MATCH_DTYPES, "family_kind": "str", **MATCH_V3_COLUMNS}
            return self._sqlite_arrow_typed_frame(q, {c: dtypes[c] for c in _LOADED_MATCH_COLUMNS})
        frame = self._frame(q, _LOADED_MATCH_COLUMNS,
                            text=["lab", "family_id", "candidate_id", "conclusion", "family_kind"])
        frame["posterior"] = frame["posterior"].astype("float64")  # NULL -> NaN
        for column, dtype in MATCH_V3_COLUMNS.items():  # NULL -> NaN (float64) or <NA> (Int16, Int32, boolean)
            frame[column] = pd.array([None if pd.isna(v) else v for v in frame[column]], dtype=dtype) \
                if dtype != "float64" else frame[column].astype("float64")
        return frame.astype({k: v for k, v in _MATCH_DTYPES.items() if v != "str"})

    def list_match_runs(self) -> pd.DataFrame:
        """Every recorded run, sorted by ``started_at, run_id``.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`MATCH_RUN_COLUMNS`; times ``datetime64[ns, UTC]`` (``NaT`` while
            unfinished), counts nullable ``Int64``, ``parameters`` and ``provenance`` (the full
            record, ``""`` if none was given) JSON text.
        """
        q = sa.select(match_runs).order_by(match_runs.c.started_at, match_runs.c.run_id)
        text = ["run_id", "kind", "parameters", "freq_table_name", "freq_table_hash", "code_version", "provenance"]
        frame = self._frame(q, MATCH_RUN_COLUMNS, text=text)
        for column in ("started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        for column in ("n_families", "n_candidates", "n_pairs"):
            frame[column] = frame[column].astype("Int64")
        return frame

    # -- inputs of a match run (incremental matching) --------------------------------------------
    def record_run_inputs(self, run_id: str, frame: pd.DataFrame, *, conn: Connection | None = None) -> int:
        """Store the profile hashes a recorded run scored (one row per candidate and family).

        Parameters
        ----------
        run_id : str
            A run recorded with :meth:`record_match_run` or :meth:`save_match_run`.
        frame : pandas.DataFrame
            Columns :data:`RUN_INPUT_COLUMNS`: ``entity`` (``"candidate"`` or ``"family"``),
            ``lab`` (the family's lab; ``""`` for candidates), ``entity_id`` (candidate
            sample id or family id), ``sha256`` (64 hex characters: the hash of that entity's
            profile(s) as the run encoded them). Other columns are ignored.
        conn : Connection, optional
            Write on the caller's transaction (as :meth:`save_match_run` does).

        Returns
        -------
        int
            Number of rows written.

        Raises
        ------
        StoreError
            If the run is not recorded, a column is missing, a value is null or invalid, or an
            ``(entity, lab, entity_id)`` key is repeated or already stored for the run.
        """
        n, rows = self._run_input_rows(run_id, frame)
        if conn is not None:
            self._insert_run_inputs(conn, run_id, rows)
        else:
            with self.write_transaction() as c:
                self._insert_run_inputs(c, run_id, rows)
        return n

    def _run_input_rows(self, run_id: str, frame: pd.DataFrame) -> tuple[int, Iterator[tuple[list[str], Iterator[tuple]]]]:
        """``(number of rows, their chunks)``, validated whole first, the rows in the primary key's
        order ``(entity, lab, entity_id)`` (as :meth:`_match_rows`)."""
        missing = [c for c in RUN_INPUT_COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(
                f"inputs of run {run_id!r}: missing column(s) {missing}; expected columns "
                f"{RUN_INPUT_COLUMNS}; fix: one row per candidate and per family scored"
            )
        entity = frame["entity"].astype(object).to_numpy()
        lab = np.array(["" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                        for v in frame["lab"].astype(object).tolist()], dtype=object)
        entity_id = frame["entity_id"].astype(object).to_numpy()
        sha = frame["sha256"].astype(object).to_numpy()
        is_str = np.frompyfunc(lambda v: isinstance(v, str), 1, 1)
        sha_ok = np.array([isinstance(v, str) and _SHA256.fullmatch(v) is not None for v in sha.tolist()], dtype=bool)
        problems = (
            (~np.isin(entity, _RUN_INPUT_ENTITIES),
             lambda i: f"entity {entity[i]!r} (expected one of {list(_RUN_INPUT_ENTITIES)})"),
            ((entity == "candidate") & (lab != ""),
             lambda i: f"lab {lab[i]!r} for a candidate (expected '': candidates are global)"),
            ((entity == "family") & (lab == ""), lambda i: "empty lab for a family (family ids are scoped by lab)"),
            (~is_str(entity_id).astype(bool) | (entity_id == ""),
             lambda i: f"entity_id {entity_id[i]!r} (expected a non-empty id)"),
            (~sha_ok, lambda i: f"sha256 {sha[i]!r} (expected 64 lower-case hex characters)"),
        )
        bad = [(int(np.flatnonzero(mask)[0]), text) for mask, text in problems if mask.any()]
        if bad:
            i, text = min(bad, key=lambda t: t[0])  # the first bad row, its first problem in the order above
            raise StoreError(
                f"inputs of run {run_id!r}, row {i}: invalid {text(i)}; fix: write one row per "
                "scored candidate (lab '') and family (its lab) with the hash of its profile(s)"
            )
        sqlite = self.engine.dialect.name == "sqlite"
        columns = {name: _StoredColumn(pd.Series(values, dtype=object), str, null=None, sqlite=sqlite)
                   for name, values in (("entity", entity), ("lab", lab), ("entity_id", entity_id), ("sha256", sha))}
        order = _key_order([columns["entity"], columns["lab"], columns["entity_id"]])
        return len(frame), self._chunks(run_id, columns, order, None)

    def _insert_run_inputs(self, conn: Connection, run_id: str, rows: Iterable[tuple[list[str], Iterable[tuple]]]) -> None:
        self._insert_run_rows(
            conn, run_id, match_run_inputs, rows,
            repeated=lambda orig: (
                f"inputs of run {run_id!r}: an (entity, lab, entity_id) key is repeated or already "
                f"stored ({orig}); expected each candidate and family once per run; fix: "
                "de-duplicate the inputs table"))

    def load_run_inputs(self, run_id: str) -> pd.DataFrame:
        """The profile hashes a run scored.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`RUN_INPUT_COLUMNS` (all ``str``), sorted by ``entity, lab,
            entity_id``; empty if the run recorded none.

        Raises
        ------
        StoreError
            If the run is not recorded.
        """
        with self.engine.connect() as c:
            if c.execute(sa.select(match_runs.c.run_id).where(match_runs.c.run_id == run_id)).first() is None:
                raise StoreError(self._unknown_run(run_id))
        t = match_run_inputs
        q = (
            sa.select(*(t.c[c] for c in RUN_INPUT_COLUMNS))
            .where(t.c.run_id == run_id)
            .order_by(t.c.entity, t.c.lab, t.c.entity_id)
        )
        return self._frame(q, RUN_INPUT_COLUMNS)

    def prune_match_runs(self, *, keep_full: int = 7) -> dict:
        """Apply the retention policy to old runs' kept pairs; the runs' records stay.

        Policy (the README's "Retention"): the kept pairs (``matches``) and compared-entity hashes
        (``match_run_inputs``) are kept for the ``keep_full`` most recent finished *full* runs
        and every run started after the oldest of them (its incremental runs), and always for the
        latest finished run (the base of the next incremental run) and for unfinished runs
        (possibly still being written). Older runs keep their ``match_runs`` row - parameters,
        code version, frequency table hash and the full provenance record - so what was run and
        how stays auditable; their pairs can be recomputed from that record and the store's
        profiles as they then were (batches are never edited, only retracted, which is recorded).
        A nightly full re-match keeps ~10^7 pairs at national scale: a week of them is ~7 x 10^7
        rows.

        Parameters
        ----------
        keep_full : int
            Full runs whose pairs are kept, >= 1.

        Returns
        -------
        dict
            ``{"runs_pruned": [run ids whose rows were deleted now], "n_matches_deleted": int,
            "n_inputs_deleted": int}``; a second call with the same policy deletes nothing.

        Raises
        ------
        StoreError
            ``keep_full < 1``.
        """
        if keep_full < 1:
            raise StoreError(f"keep_full = {keep_full}; expected at least 1 full run kept (the next incremental run's base)")
        runs = self.list_match_runs()
        finished = runs[runs["finished_at"].notna()]
        full = finished[finished["kind"] == "full"].sort_values(["finished_at", "started_at", "run_id"])
        keep = set(runs.loc[runs["finished_at"].isna(), "run_id"])
        latest = self.latest_match_run()
        if latest is not None:
            keep.add(latest["run_id"])
        if len(full):
            oldest_kept = full.iloc[-keep_full:] if len(full) >= keep_full else full
            since = oldest_kept["started_at"].min()
            keep |= set(runs.loc[runs["started_at"] >= since, "run_id"])
        prune = sorted(set(finished["run_id"]) - keep)
        n_matches = n_inputs = 0
        pruned = []
        with self.engine.begin() as conn:
            for run_id in prune:
                a = conn.execute(sa.delete(matches).where(matches.c.run_id == run_id)).rowcount
                b = conn.execute(sa.delete(match_run_inputs).where(match_run_inputs.c.run_id == run_id)).rowcount
                if a or b:
                    pruned.append(run_id)
                n_matches, n_inputs = n_matches + a, n_inputs + b
        return {"runs_pruned": pruned, "n_matches_deleted": int(n_matches), "n_inputs_deleted": int(n_inputs)}

    def latest_match_run(self, kind: str | None = None) -> dict | None:
        """The most recent finished run (optionally of one ``kind``), or ``None``.

        "Most recent" is the latest ``finished_at`` (ties: later ``started_at``, then the
        larger ``run_id``); unfinished runs are ignored.

        Returns
        -------
        dict or None
            The ``match_runs`` row (keys :data:`MATCH_RUN_COLUMNS`): times as UTC-aware
            ``datetime``, counts ``int`` or ``None``, ``parameters`` and ``provenance`` parsed
            from JSON (``provenance`` ``None`` if none was stored).
        """
        q = sa.select(match_runs).where(match_runs.c.finished_at.is_not(None))
        if kind is not None:
            q = q.where(match_runs.c.kind == kind)
        q = q.order_by(match_runs.c.finished_at.desc(), match_runs.c.started_at.desc(),
                       match_runs.c.run_id.desc()).limit(1)
        with self.engine.connect() as c:
            row = c.execute(q).mappings().first()
        if row is None:
            return None
        out = dict(row)
        out["parameters"] = json.loads(out["parameters"])
        out["provenance"] = json.loads(out["provenance"]) if out.get("provenance") else None
        return out

