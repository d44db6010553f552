"""Output tables of a match run: Parquet and CSV files checked against their versioned schemas.

Every table is checked against its schema (``schemas/matches.v3.json``,
``schemas/pair_loci.v2.json``) before it is written, because pyarrow does not enforce non-null
fields. Same inputs give byte-identical files: nothing is stamped on them beyond what the
provenance record already holds (the Parquet ``created_by`` field names the pyarrow version,
which the project pins). In the CSV files floats are written with ``repr`` (the shortest text
that reads back to the same float64), ``-inf`` as ``-inf`` (read back as ``-inf`` by pandas,
numpy and Python's ``float``) and booleans as ``True`` / ``False``. A text cell (id, lab,
kit, genotype) that a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is written with a ``'`` in front (OWASP's rule,
:mod:`kinship.report.spreadsheet`); numeric columns and the Parquet files keep the values as
they are. Cells are quoted as Python's csv module quotes them (``DataFrame.to_csv``'s dialect).

At 10^7 pairs (a national run) the CSV text is built without a Python object per cell: with
numba the floats' ``repr`` and the lines are compiled (:mod:`kinship.report.csv_text`), each text
column's distinct values are made safe once; without it the csv module writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kinship.errors import ReuniteInputError
from kinship.report import csv_text
from kinship.report.folders import make_private_dirs
from kinship.report.spreadsheet import spreadsheet_safe_column
from schemas import load_schema

__all__ = ["TABLE_SCHEMAS", "arrow_schema", "check_table", "write_tables"]

#: Output tables and the schema each one follows.
TABLE_SCHEMAS = {"matches": "matches.v3", "pair_loci": "pair_loci.v2"}
#: The schema of the provenance record written beside them (``provenance.json``).
PROVENANCE_SCHEMA = "provenance.v4"

_ARROW_TYPES = {
    "string": pa.string(),
    "float64": pa.float64(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "bool": pa.bool_(),
}

# --------------------------------------------------------------------------------------------
# Tables


def arrow_schema(name: str) -> pa.Schema:
    """Arrow schema of the table described by ``schemas/<name>.json``.

    Parameters
    ----------
    name : str
        Schema file name without ``.json``, e.g. ``"matches.v1"``.

    Returns
    -------
    pyarrow.Schema
        One field per entry of the schema's ``fields``, in order, with its type
        (``string``, ``float64``, ``int16``, ``int32``, ``bool``) and ``nullable`` flag; the
        schema metadata is ``{"schema_id": <the schema's $id>}``.

    Raises
    ------
    ReuniteInputError
        A field type this module does not map to Arrow.

    Examples
    --------
    >>> s = arrow_schema("matches.v1")
    >>> s.field("log10_lr").type, s.field("log10_lr").nullable, s.metadata[b"schema_id"]
    (DataType(double), False, b'reunite/matches/1')
    """
    spec = load_schema(name)
    fields = []
    for f in spec["fields"]:
        if f["type"] not in _ARROW_TYPES:
            raise ReuniteInputError(
                f"schema {name!r}: field {f['name']!r} has type {f['type']!r}; expected one of "
                f"{sorted(_ARROW_TYPES)}; add the type to kinship.report._ARROW_TYPES"
            )
        fields.append(pa.field(f["name"], _ARROW_TYPES[f["type"]], nullable=f.get("nullable", True)))
    return pa.schema(fields, metadata={"schema_id": spec["$id"]})


def check_table(df: pd.DataFrame, name: str) -> None:
    """Check a DataFrame against ``schemas/<name>.json`` before it is written.

    Checks the column set (no missing and no unexpected columns: nothing is dropped
    silently), non-null fields (NaN counts as null) and ``enum`` values. Types are checked
    when the table is converted to Arrow.

    Parameters
    ----------
    df : DataFrame
    name : str
        Schema file name without ``.json``.

    Raises
    ------
    ReuniteInputError
        Naming the table, the column and the number of offending rows.

    Examples
    --------
    >>> df = pd.DataFrame({"candidate_id": ["C1", None]})
    >>> check_table(df, "matches.v1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kinship.errors.ReuniteInputError: table 'matches.v1' lacks columns ['lab', ...
    """
    spec = load_schema(name)
    expected = [f["name"] for f in spec["fields"]]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise ReuniteInputError(
            f"table {name!r} lacks columns {missing}; expected the columns {expected} "
            f"(schemas/{name}.json)"
        )
    extra = [str(c) for c in df.columns if c not in expected]
    if extra:
        raise ReuniteInputError(
            f"table {name!r} has columns {extra} that schemas/{name}.json does not define; "
            "drop them before writing or add them to a new schema version"
        )
    for f in spec["fields"]:
        column = df[f["name"]]
        if not f.get("nullable", True):
            n_null = int(column.isna().sum())
            if n_null:
                raise ReuniteInputError(
                    f"table {name!r}: column {f['name']!r} is non-nullable but has {n_null} null "
                    f"value(s) in {len(df)} rows; fill or remove those rows before writing"
                )
        if "enum" in f:
            bad = sorted({str(v) for v in column.dropna().unique()} - set(f["enum"]))
            if bad:
                n_bad = int((~column.isna() & ~column.isin(f["enum"])).sum())
                raise ReuniteInputError(
                    f"table {name!r}: column {f['name']!r} has {n_bad} row(s) with values {bad}; "
                    f"expected one of {f['enum']}"
                )


def _arrow_array(values: pd.Series, field: pa.Field) -> pa.Array:
    """One column as one Arrow array of ``field.type``, NA, None and NaN as nulls.

    A pandas string column (``str``) for a text field is taken from its own storage, and a
    nullable ``boolean`` column for a bool field from its values and mask: no Python object per
    cell (10^7 of them per column at national scale). Any other column goes through NumPy
    (``object`` for a text field), as before. The values are the same either way, and the array
    is one contiguous chunk, as the NumPy path gives (the Parquet file depends on the chunks)."""
    if field.type == pa.string() and isinstance(values.dtype, pd.StringDtype):
        array = pa.array(values.array, type=field.type)
    elif field.type == pa.bool_() and isinstance(values.dtype, pd.BooleanDtype):
        array = pa.array(values.array, type=field.type)
    else:
        if field.type == pa.string():
            values = values.astype(object)
        array = pa.array(values.to_numpy(), type=field.type, from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _arrow_table(df: pd.DataFrame, name: str, provenance: dict) -> pa.Table:
    schema = arrow_schema(name)
    arrays = []
    for field in schema:
        values = df[field.name]
        try:
            arrays.append(_arrow_array(values, field))
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as exc:
            raise ReuniteInputError(
                f"table {name!r}: column {field.name!r} (dtype {values.dtype}) can not be "
                f"stored as {field.type}: {exc}"
            ) from exc
    metadata = {
        "schema_id": schema.metadata[b"schema_id"].decode(),
        "provenance": _provenance_json(provenance),
    }
    return pa.Table.from_arrays(arrays, schema=schema.with_metadata(metadata))


#: Rows of a CSV file built and written at a time (:func:`_write_csv`).
CSV_CHUNK_ROWS = 200_000


def _provenance_json(provenance: dict) -> str:
    return json.dumps(provenance, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


#: A character that may make Python's csv writer quote a cell (``,``, ``"``, the line ends; Python
#: 3.11 quotes for the first three, later versions also for ``\r``): a cell holding none of them
#: is written as it is, one holding any is written by the csv module itself (:func:`_csv_fields`).
_MAY_NEED_QUOTES = re.compile(r'[,"\r\n]').search


def _csv_fields(cells: list[str]) -> list[str]:
    """Each text exactly as :func:`csv.writer` (``QUOTE_MINIMAL``, delimiter ``,``, quote ``"``
    doubled, line terminator ``\\n``; the dialect of ``DataFrame.to_csv``) writes it as a field of
    a row of more than one field.

    Examples
    --------
    >>> _csv_fields(["C-1", 'x"y', "a,b", ""])
    ['C-1', '"x""y"', '"a,b"', '']
    """
    out = list(cells)
    buffer, writer = None, None
    for i, text in enumerate(out):
        if _MAY_NEED_QUOTES(text):
            if writer is None:
                buffer = io.StringIO()
                writer = csv.writer(buffer, lineterminator="\n")
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([text, ""])  # "<field>,\n"
            out[i] = buffer.getvalue()[:-2]
    return out


def _coded_cells(column: pd.Series, kind: str) -> tuple[np.ndarray, list[str]]:
    """A text, integer or boolean column as codes (one per row; int8, int16 or int32, the
    smallest that holds them: 10^7 rows per column) into its distinct CSV
    fields, the cells of :func:`_csv_frame` as the csv module writes them (:func:`_csv_fields`):
    for a boolean column ``False``, ``True`` and the empty cell of a null; for any other column
    ``str`` of each distinct value, spreadsheet-safe
    (:func:`kinship.report.spreadsheet.spreadsheet_safe`), then the empty cell of a null, last.
    Each distinct value is made safe once, for the whole column.

    Examples
    --------
    >>> codes, cells = _coded_cells(pd.Series(["F-1", "=1+1", None, "F-1", "a,b"]), "string")
    >>> codes.tolist(), cells
    ([0, 1, 3, 0, 2], ['F-1', "'=1+1", '"a,b"', ''])
    """
    if kind == "bool":
        missing = column.isna().to_numpy()
        truth = column.fillna(False).to_numpy(dtype=bool) if missing.any() else column.to_numpy(dtype=bool)
        codes = truth.astype(np.int8)
        codes[missing] = 2
        return codes, ["False", "True", ""]
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    cells = _csv_fields(spreadsheet_safe_column(str(u) for u in uniques)) + [""]
    codes = codes.astype(np.int8 if len(cells) < 2**7 else np.int16 if len(cells) < 2**15 else np.int32)
    codes[codes < 0] = len(cells) - 1  # null: the last cell, empty
    return codes, cells


def _csv_frame(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Columns in schema order, floats as ``repr`` text (``-inf`` stays ``-inf``), nulls of
    nullable columns as empty cells, text cells spreadsheet-safe
    (:func:`kinship.report.spreadsheet.spreadsheet_safe`; numbers are never touched).

    Column at a time (10^7 pairs of a national run): ``repr`` mapped over the present floats only,
    no per-cell null test, and a text column made safe once per distinct value."""
    out = {}
    for f in load_schema(name)["fields"]:
        column = df[f["name"]]
        if f["type"] == "float64":
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            present = ~np.isnan(values)
            text = np.full(values.size, "", dtype=object)
            text[present] = list(map(repr, values[present].tolist()))  # Python floats: repr itself
            out[f["name"]] = text
        elif f["type"] == "bool":
            missing = column.isna().to_numpy()
            truth = column.fillna(False).to_numpy(dtype=bool) if missing.any() else column.to_numpy(dtype=bool)
            text = np.where(truth, "True", "False").astype(object)
            text[missing] = ""
            out[f["name"]] = text
        else:
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            safe = np.array(spreadsheet_safe_column(str(u) for u in uniques) + [""], dtype=object)
            out[f["name"]] = safe[codes]  # code -1 (null): the last cell, empty
    return pd.DataFrame(out, columns=list(out))



def _write_csv(path: Path, df: pd.DataFrame, name: str) -> None:
    """Write a table as CSV: the header, then :data:`CSV_CHUNK_ROWS` rows at a time.

    The bytes are those of ``DataFrame.to_csv(index=False, lineterminator="\\n")`` of the
    cells of :func:`_csv_frame`, whichever way they are written. With numba
    (:data:`kinship.report.csv_text.HAVE_NUMBA`) a float column's cells are written by
    :func:`kinship.report.csv_text.csv_rows` (Python's ``repr``, compiled) and every other
    column's are taken from its distinct cells (:func:`_coded_cells`), each slice's lines built
    in one compiled pass and written to the file by a second thread while the next is built.
    Without numba each slice is a :func:`_csv_frame` written by ``to_csv``.
    """
    fields = load_schema(name)["fields"]
    if not csv_text.HAVE_NUMBA:  # pragma: no cover - exercised only without numba (tests force it)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            for start in range(0, max(len(df), 1), CSV_CHUNK_ROWS):
                _csv_frame(df.iloc[start:start + CSV_CHUNK_ROWS], name).to_csv(
                    fh, index=False, header=start == 0, lineterminator="\n")
        return
    columns, widths, first, cells = [], [], [], []
    for f in fields:
        column = df[f["name"]]
        if f["type"] == "float64":
            columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
            widths.append(0)
            first.append(0)
        else:
            codes, distinct = _coded_cells(column, f["type"])
            columns.append(codes)
            widths.append(max(len(c.encode("utf-8")) for c in distinct))
            first.append(len(cells))  # the column's cells, in the cells of every column
            cells += distinct
    table = csv_text.encode_cells(cells)
    header = ",".join(_csv_fields([f["name"] for f in fields])) + "\n"
    with open(path, "wb") as fh, ThreadPoolExecutor(1) as writer:
        pending = deque([writer.submit(fh.write, header.encode("utf-8"))])
        for start in range(0, len(df), CSV_CHUNK_ROWS):
            text = csv_text.csv_rows([c[start:start + CSV_CHUNK_ROWS] for c in columns], widths, first, table)
            pending.append(writer.submit(fh.write, text))
            while len(pending) > 2:  # at most two slices' text held beyond the one being built
                pending.popleft().result()
        for done in pending:
            done.result()


def _write_parquet(arrow: dict[str, pa.Table], key: str, path: Path) -> None:
    """Write ``arrow[key]`` to ``path`` (zstd) and take it out of ``arrow``."""
    pq.write_table(arrow.pop(key), path, compression="zstd")


def write_tables(out_dir, matches: pd.DataFrame, pair_loci: pd.DataFrame, provenance: dict) -> dict[str, Path]:
    """Write a run's tables as Parquet and CSV, and its provenance record as JSON.

    Parameters
    ----------
    out_dir : str or Path
        Created if absent; existing files of the same names are replaced.
    matches : DataFrame
        Schema ``matches.v3`` (:func:`kinship.app.match_run.calibrate`).
    pair_loci : DataFrame
        Schema ``pair_loci.v2`` (:func:`kinship.app.match_run.pair_loci`).
    provenance : dict
        Schema ``provenance.v4`` (:func:`kinship.app.match_run.provenance`). Not modified: the
        record written is a copy whose ``outputs`` also lists each file written here with its
        schema id and row count.

    Returns
    -------
    dict of str to Path
        ``matches.parquet``, ``matches.csv``, ``pair_loci.parquet``, ``pair_loci.csv`` and
        ``provenance.json``, keyed by file name.

    Raises
    ------
    ReuniteInputError
        A table that does not follow its schema (missing or unexpected column, null in a
        non-nullable column, value outside an enum, value not storable in the column's type),
        or a provenance record that is not valid JSON (e.g. holds NaN or infinity).

    Notes
    -----
    Parquet files carry the Arrow schema of :func:`arrow_schema` with the file metadata
    ``schema_id`` and ``provenance`` (the same JSON text as ``provenance.json``). Rows are
    written in the given order. Same inputs give byte-identical files. The Parquet files are
    written on a second thread while the CSV files are built (:func:`_write_csv`); a failure of
    either is raised once both have stopped.
    """
    out_dir = Path(out_dir)
    tables = {"matches": matches, "pair_loci": pair_loci}
    for key, df in tables.items():
        check_table(df, TABLE_SCHEMAS[key])
    record = dict(provenance)
    outputs = dict(record.get("outputs") or {})
    for key, df in tables.items():
        schema_id = load_schema(TABLE_SCHEMAS[key])["$id"]
        for ext in ("parquet", "csv"):
            outputs[f"{key}.{ext}"] = {"schema": schema_id, "n_rows": len(df)}
    outputs["provenance.json"] = {"schema": record.get("schema", load_schema(PROVENANCE_SCHEMA)["$id"])}
    record["outputs"] = outputs
    try:
        text = _provenance_json(record)
    except (TypeError, ValueError) as exc:
        raise ReuniteInputError(
            f"provenance record of run {record.get('run_id')!r} can not be written as JSON: {exc}; "
            "keep it to strings, finite numbers, lists and dicts"
        ) from exc
    arrow = {key: _arrow_table(df, TABLE_SCHEMAS[key], record) for key, df in tables.items()}

    make_private_dirs(out_dir)  # 0700 for the folders it creates
    paths: dict[str, Path] = {}
    for key in tables:
        paths[f"{key}.parquet"] = out_dir / f"{key}.parquet"
        paths[f"{key}.csv"] = out_dir / f"{key}.csv"
    # the Parquet files on a second thread (pyarrow releases the GIL) while the CSV files are
    # built; each Arrow table is let go once written (10^7 rows: ~1 GB)
    with ThreadPoolExecutor(1) as pool:
        parquet = [pool.submit(_write_parquet, arrow, key, paths[f"{key}.parquet"]) for key in tables]
        for key, df in tables.items():
            _write_csv(paths[f"{key}.csv"], df, TABLE_SCHEMAS[key])
        for done in parquet:
            done.result()
    path = out_dir / "provenance.json"
    path.write_text(text, encoding="utf-8")
    paths[path.name] = path
    return paths

