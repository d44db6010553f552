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
they are.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kinship.errors import ReuniteInputError
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


def _arrow_table(df: pd.DataFrame, name: str, provenance: dict) -> pa.Table:
    schema = arrow_schema(name)
    arrays = []
    for field in schema:
        values = df[field.name]
        if field.type == pa.string():
            values = values.astype(object)
        try:
            arrays.append(pa.array(values.to_numpy(), type=field.type, from_pandas=True))
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


#: Rows of a CSV file built and written at a time (:func:`write_tables`).
CSV_CHUNK_ROWS = 200_000


def _provenance_json(provenance: dict) -> str:
    return json.dumps(provenance, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


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
    written in the given order. Same inputs give byte-identical files.
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
    for key, df in tables.items():
        path = out_dir / f"{key}.parquet"
        pq.write_table(arrow[key], path, compression="zstd")
        paths[path.name] = path
        path = out_dir / f"{key}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:  # a slice of rows at a time: the
            # text cells of 10^7 pairs at once were ~10 GB (the same bytes as one to_csv call)
            for start in range(0, max(len(df), 1), CSV_CHUNK_ROWS):
                _csv_frame(df.iloc[start:start + CSV_CHUNK_ROWS], TABLE_SCHEMAS[key]).to_csv(
                    fh, index=False, header=start == 0, lineterminator="\n")
        paths[path.name] = path
    path = out_dir / "provenance.json"
    path.write_text(text, encoding="utf-8")
    paths[path.name] = path
    return paths

