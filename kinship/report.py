"""Output of a match run: Parquet and CSV tables, the provenance record and a case-manager report.

This is an I/O module (pandas, pyarrow, jinja2); the numbers it writes were computed by
:mod:`kinship.match_run`. Every table is checked against its versioned schema
(``schemas/matches.v1.json``, ``schemas/pair_loci.v1.json``) before it is written, because
pyarrow does not enforce non-null fields.

Files written by :func:`write_tables` and :func:`write_report`:

* ``matches.parquet`` / ``matches.csv`` - every compared (family, candidate) pair;
* ``pair_loci.parquet`` / ``pair_loci.csv`` - per-locus detail of the reported pairs;
* ``provenance.json`` - the run's provenance record, with ``outputs`` listing these files;
* ``report.html`` - a self-contained page (inline CSS, no scripts, no external assets).

Same inputs give byte-identical files: nothing is stamped on them beyond what the provenance
record already holds (the Parquet ``created_by`` field names the pyarrow version, which the
project pins). In the CSV files floats are written with ``repr`` (the shortest text that reads
back to the same float64), ``-inf`` as ``-inf`` (read back as ``-inf`` by pandas, numpy and
Python's ``float``) and booleans as ``True`` / ``False``.

The HTML report and the Prefect artifact helpers (:func:`summary_markdown`,
:func:`top_candidates_table`) show sample ids only: the genotypes appear only in the report's
per-pair detail cards, and no names are ever read.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from markupsafe import Markup

from kinship.errors import ReuniteInputError
from kinship.ranking import (
    CONCLUSION_TEXT,
    EXCLUSION_LOG10_CPI,
    EXCLUSION_N_INCONSISTENT,
    SUPPORT_LOG10_CPI,
)
from schemas import load_schema

__all__ = [
    "TABLE_SCHEMAS",
    "arrow_schema",
    "check_table",
    "write_tables",
    "format_power_of_ten",
    "format_cpi",
    "format_pi",
    "format_posterior",
    "render_html",
    "write_report",
    "summary_markdown",
    "top_candidates_table",
]

#: Output tables and the schema each one follows.
TABLE_SCHEMAS = {"matches": "matches.v2", "pair_loci": "pair_loci.v1"}

_ARROW_TYPES = {
    "string": pa.string(),
    "float64": pa.float64(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "bool": pa.bool_(),
}

_KINDS = ("couple", "father only", "mother only")
_PAIR_KEY = ["candidate_id", "lab", "family_id"]


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


def _provenance_json(provenance: dict) -> str:
    return json.dumps(provenance, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _csv_frame(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Columns in schema order, floats as ``repr`` text (``-inf`` stays ``-inf``), nulls of
    nullable columns as empty cells."""
    out = {}
    for f in load_schema(name)["fields"]:
        column = df[f["name"]]
        if f["type"] == "float64":
            out[f["name"]] = ["" if np.isnan(x) else repr(float(x)) for x in column.to_numpy(dtype=np.float64)]
        elif f["type"] == "bool":
            out[f["name"]] = ["True" if bool(x) else "False" for x in column]
        else:
            out[f["name"]] = ["" if pd.isna(x) else str(x) for x in column]
    return pd.DataFrame(out, columns=list(out))


def write_tables(out_dir, matches: pd.DataFrame, pair_loci: pd.DataFrame, provenance: dict) -> dict[str, Path]:
    """Write a run's tables as Parquet and CSV, and its provenance record as JSON.

    Parameters
    ----------
    out_dir : str or Path
        Created if absent; existing files of the same names are replaced.
    matches : DataFrame
        Schema ``matches.v1`` (:func:`kinship.match_run.rank_matches`).
    pair_loci : DataFrame
        Schema ``pair_loci.v1`` (:func:`kinship.match_run.pair_loci`).
    provenance : dict
        Schema ``provenance.v1`` (:func:`kinship.match_run.provenance`). Not modified: the
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
    outputs["provenance.json"] = {"schema": record.get("schema", "reunite/provenance/1")}
    record["outputs"] = outputs
    try:
        text = _provenance_json(record)
    except (TypeError, ValueError) as exc:
        raise ReuniteInputError(
            f"provenance record of run {record.get('run_id')!r} can not be written as JSON: {exc}; "
            "keep it to strings, finite numbers, lists and dicts"
        ) from exc
    arrow = {key: _arrow_table(df, TABLE_SCHEMAS[key], record) for key, df in tables.items()}

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for key, df in tables.items():
        path = out_dir / f"{key}.parquet"
        pq.write_table(arrow[key], path, compression="zstd")
        paths[path.name] = path
        path = out_dir / f"{key}.csv"
        _csv_frame(df, TABLE_SCHEMAS[key]).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        paths[path.name] = path
    path = out_dir / "provenance.json"
    path.write_text(text, encoding="utf-8")
    paths[path.name] = path
    return paths


# --------------------------------------------------------------------------------------------
# Number formatting


def format_power_of_ten(log10_value: float, digits: int = 2, *, html: bool = False) -> str:
    """``10**log10_value`` in scientific notation, ``m × 10^e``, with ``digits`` significant digits.

    Works from the log10 so that values beyond float64 range print correctly.

    Parameters
    ----------
    log10_value : float
        ``-inf`` prints ``0``; NaN prints ``not computed``.
    digits : int
        Significant digits of the mantissa.
    html : bool
        Write the exponent as ``<sup>``; the result is then :class:`markupsafe.Markup`.

    Examples
    --------
    >>> format_power_of_ten(7.5051499783)
    '3.2 × 10^7'
    >>> format_power_of_ten(-4.5, 4)
    '3.162 × 10^-5'
    >>> format_power_of_ten(3.99999)
    '1.0 × 10^4'
    >>> format_power_of_ten(512.0, html=True)
    Markup('1.0 × 10<sup>512</sup>')
    """
    if math.isnan(log10_value):
        return "not computed"
    if log10_value == -math.inf:
        return "0"
    if log10_value == math.inf:
        return "infinite"
    exponent = math.floor(log10_value)
    mantissa = round(10.0 ** (log10_value - exponent), digits - 1)
    if mantissa >= 10.0:
        mantissa, exponent = mantissa / 10.0, exponent + 1
    m = f"{mantissa:.{digits - 1}f}"
    if html:
        return Markup(f"{m} × 10<sup>{exponent}</sup>")
    return f"{m} × 10^{exponent}"


def format_cpi(log10_lr: float, *, html: bool = False) -> str:
    """Combined LR (CPI) for a reader: ``3.2 × 10^7``, or ``0 (exclusion)`` for LR 0.

    Examples
    --------
    >>> format_cpi(7.5051499783), format_cpi(-float("inf"))
    ('3.2 × 10^7', '0 (exclusion)')
    """
    if log10_lr == -math.inf:
        return "0 (exclusion)"
    return format_power_of_ten(log10_lr, 2, html=html)


def format_pi(log10_pi: float, *, html: bool = False) -> str:
    """Per-locus PI, ``10**log10_pi``, to 4 significant digits.

    Plain decimals between 0.001 and 10,000, scientific notation outside; ``0 (exclusion)``
    for PI 0.

    Examples
    --------
    >>> format_pi(0.0), format_pi(0.117916), format_pi(-2.5), format_pi(-4.5)
    ('1.000', '1.312', '0.003162', '3.162 × 10^-5')
    >>> format_pi(-float("inf"))
    '0 (exclusion)'
    """
    if log10_pi == -math.inf:
        return "0 (exclusion)"
    if math.isnan(log10_pi) or not -4.0 < log10_pi < 5.0:
        return format_power_of_ten(log10_pi, 4, html=html)
    rounded = float(f"{10.0 ** log10_pi:.3e}")
    exponent = math.floor(math.log10(rounded))
    if not -3 <= exponent <= 3:
        return format_power_of_ten(log10_pi, 4, html=html)
    return f"{rounded:.{3 - exponent}f}"


def format_posterior(posterior: float) -> str:
    """Posterior probability of H1 as a percentage, with the ends capped.

    Examples
    --------
    >>> format_posterior(0.5), format_posterior(0.99999), format_posterior(1e-30), format_posterior(0.0)
    ('50.00%', '> 99.99%', '< 0.01%', '0%')
    """
    if math.isnan(posterior):
        return "not computed"
    if posterior == 0.0:
        return "0%"
    if posterior > 0.9999:
        return "> 99.99%"
    if posterior < 0.0001:
        return "< 0.01%"
    return f"{100.0 * posterior:.2f}%"


def _format_log10(x: float) -> str:
    if x == -math.inf:
        return "−∞"
    return f"{x:.2f}"


def _format_threshold(x: float) -> str:
    return f"{x:,.0f}" if x >= 1 else f"{x:g}"


# --------------------------------------------------------------------------------------------
# HTML report


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("kinship", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _rules(provenance: dict) -> dict:
    t = provenance.get("parameters", {}).get("thresholds", {})
    return {
        "support_cpi": _format_threshold(t.get("support_cpi", 10.0**SUPPORT_LOG10_CPI)),
        "exclusion_cpi": _format_threshold(t.get("exclusion_cpi", 10.0**EXCLUSION_LOG10_CPI)),
        "exclusion_n_inconsistent": t.get("exclusion_n_inconsistent", EXCLUSION_N_INCONSISTENT),
        "source": t.get("rules", "GB/T 37223-2018 / SF/Z JD0105001-2016"),
    }


def _sorted_by_lr(df: pd.DataFrame, *extra: str) -> pd.DataFrame:
    return df.sort_values(
        ["log10_lr", *extra, "candidate_id", "lab", "family_id"],
        ascending=[False, *([True] * len(extra)), True, True, True],
        kind="stable",
    )


def _match_row(row, conclusions: dict) -> dict:
    conclusion = str(row.conclusion)
    return {
        "candidate_id": str(row.candidate_id),
        "family": f"{row.lab}/{row.family_id}",
        "family_kind": str(row.family_kind),
        "cpi": format_cpi(float(row.log10_lr), html=True),
        "log10": _format_log10(float(row.log10_lr)),
        "n_loci_compared": int(row.n_loci_compared),
        "n_inconsistent": int(row.n_inconsistent),
        "posterior": format_posterior(float(row.posterior)),
        "posterior_exact": repr(float(row.posterior)),
        "rank_for_family": None if pd.isna(row.rank_for_family) else int(row.rank_for_family),
        "rank_for_candidate": None if pd.isna(row.rank_for_candidate) else int(row.rank_for_candidate),
        "p_unrelated": _format_probability(getattr(row, "p_unrelated", float("nan"))),
        "expected_unrelated": _format_probability(getattr(row, "expected_unrelated", float("nan"))),
        "is_new": bool(getattr(row, "is_new", False)),
        "conclusion": conclusion,
        "conclusion_text": conclusions.get(conclusion, conclusion),
        "flagged": bool(row.flagged),
        "css": "flagged" if bool(row.flagged) else conclusion,
    }


def _format_probability(p: float) -> str:
    """Probability (or expected count) in 3 significant digits; "—" when not computed."""
    if p is None or pd.isna(p):
        return "—"
    if p == 0:
        return "0"
    return f"{p:.3g}"


def _summary(matches: pd.DataFrame, provenance: dict) -> dict:
    inputs = provenance.get("inputs", {})
    families = matches.drop_duplicates(["lab", "family_id"])
    kinds = inputs.get("family_kinds") or {k: int((families["family_kind"] == k).sum()) for k in _KINDS}
    counts = matches["conclusion"].value_counts()
    support = matches[matches["conclusion"] == "support"]
    return {
        "n_families": int(inputs.get("n_families", len(families))),
        "family_kinds": {k: int(kinds.get(k, 0)) for k in (*_KINDS, *sorted(set(kinds) - set(_KINDS)))},
        "n_references": inputs.get("n_references"),
        "n_candidates": int(inputs.get("n_candidates", matches["candidate_id"].nunique())),
        "n_pairs": int(provenance.get("comparison", {}).get("n_pairs", len(matches))),
        "n_reported": len(matches),
        "n_support": int(counts.get("support", 0)),
        "n_inconclusive": int(counts.get("inconclusive", 0)),
        "n_excluded": int(counts.get("excluded", 0)),
        "n_flagged": int(matches["flagged"].sum()),
        "n_candidates_supported": int(support["candidate_id"].nunique()),
        "n_families_supported": len(support.drop_duplicates(["lab", "family_id"])),
    }


def _parents(samples: pd.DataFrame | None) -> dict:
    """(lab, family_id) -> {"father": id, "mother": id} from a members table."""
    if samples is None:
        return {}
    needed = ["lab", "family_id", "sample_id", "relationship"]
    missing = [c for c in needed if c not in samples.columns]
    if missing:
        raise ReuniteInputError(
            f"samples table lacks columns {missing}; expected the family members table with "
            f"columns {needed} (the one given to kinship.match_run.assemble_inputs)"
        )
    out: dict = {}
    for row in samples[needed].itertuples(index=False):
        family = out.setdefault((str(row.lab), str(row.family_id)), {})
        if str(row.relationship) in ("father", "mother"):
            family[str(row.relationship)] = str(row.sample_id)
        else:
            family.setdefault("relatives", []).append(f"{row.sample_id} ({str(row.relationship).replace('_', ' ')})")
    return out


def _cards(matches: pd.DataFrame, pair_loci: pd.DataFrame, parents: dict, conclusions: dict, max_pairs: int):
    keys = pair_loci[_PAIR_KEY].drop_duplicates()
    pairs = matches.merge(keys, on=_PAIR_KEY, how="inner")
    if len(pairs) != len(keys):
        unknown = keys.merge(matches[_PAIR_KEY], on=_PAIR_KEY, how="left", indicator=True)
        unknown = unknown[unknown["_merge"] == "left_only"]
        first = unknown.iloc[0]
        raise ReuniteInputError(
            f"pair_loci holds {len(unknown)} pair(s) absent from matches, e.g. candidate "
            f"{first.candidate_id!r} with family {first.lab}/{first.family_id}; pass the "
            "matches and pair_loci of the same run"
        )
    pairs = _sorted_by_lr(pairs)
    n_reported = len(pairs)
    by_pair = {key: df for key, df in pair_loci.groupby(_PAIR_KEY, sort=False)}
    cards = []
    for row in pairs.head(max_pairs).itertuples(index=False):
        loci = by_pair[(row.candidate_id, row.lab, row.family_id)]
        family_parents = parents.get((str(row.lab), str(row.family_id)), {})
        card = _match_row(row, conclusions)
        card["father_id"] = family_parents.get("father")
        card["mother_id"] = family_parents.get("mother")
        card["relatives"] = ", ".join(sorted(family_parents.get("relatives", [])))
        card["anchor"] = f"pair-{len(cards) + 1}"
        card["loci"] = [
            {
                "locus": str(l.locus),
                "candidate": str(l.candidate_genotype),
                "father": str(l.father_genotype),
                "mother": str(l.mother_genotype),
                "pi": format_pi(float(l.log10_pi), html=True) if (bool(l.compared) or float(l.log10_pi) != 0.0) else "",
                "log10_pi": repr(float(l.log10_pi)),
                "compared": bool(l.compared),
                "inconsistent": bool(l.inconsistent),
            }
            for l in loci.itertuples(index=False)
        ]
        cards.append(card)
    return cards, n_reported


def render_html(
    matches: pd.DataFrame,
    pair_loci: pd.DataFrame,
    provenance: dict,
    *,
    samples: pd.DataFrame | None = None,
    max_pairs: int = 200,
    max_rows: int = 1000,
) -> str:
    """A self-contained HTML report of a match run for case managers.

    The page states the hypotheses, the relatives used, the mutation model, θ, the prior,
    the GB/T 37223-2018 thresholds and rules, the frequency table (name, sha256, substituted
    alleles, loci left out) and summary counts; then ranked tables (pairs that support
    parentage, flagged pairs, each candidate's best family, each family's best 3 candidates)
    and a detail card per reported pair with the genotypes and PI locus by locus.

    Parameters
    ----------
    matches : DataFrame
        Schema ``matches.v1``.
    pair_loci : DataFrame
        Schema ``pair_loci.v1``; its pairs get detail cards.
    provenance : dict
        Schema ``provenance.v1``.
    samples : DataFrame, optional
        The family members table (columns ``lab, family_id, sample_id, relationship``, the
        one given to :func:`kinship.match_run.assemble_inputs`), to show the parents' sample
        ids on the detail cards. Other columns are ignored: the report shows ids only.
    max_pairs : int
        At most this many detail cards, by descending LR; the page says how many were left out.
    max_rows : int
        At most this many rows in the "best family per candidate" table and families in the
        "best candidates per family" table (strongest first); the page says how many are only in
        ``matches.csv``, so the report stays readable at national scale.

    Returns
    -------
    str
        HTML5 text; inline CSS only, no scripts, print-friendly. Every value taken from the
        inputs is HTML-escaped.

    Raises
    ------
    ReuniteInputError
        A table that does not follow its schema, pairs in ``pair_loci`` absent from
        ``matches``, a ``samples`` table without the member columns, or ``max_pairs < 0``.
    """
    if max_pairs < 0:
        raise ReuniteInputError(f"max_pairs = {max_pairs}; expected 0 or more detail cards")
    check_table(matches, TABLE_SCHEMAS["matches"])
    check_table(pair_loci, TABLE_SCHEMAS["pair_loci"])
    conclusions = {**CONCLUSION_TEXT, **provenance.get("conclusions", {})}
    inputs = provenance.get("inputs", {})
    table = provenance.get("frequency_table", {})
    parameters = provenance.get("parameters", {})

    supported = _sorted_by_lr(matches[matches["conclusion"] == "support"])
    flagged = _sorted_by_lr(matches[matches["flagged"]])
    best_family = _sorted_by_lr(matches[matches["rank_for_candidate"].eq(1).fillna(False).astype(bool)])
    top = matches[matches["rank_for_family"].le(3).fillna(False).astype(bool)]
    family_best = top[top["rank_for_family"].eq(1).fillna(False).astype(bool)].set_index(["lab", "family_id"])["log10_lr"]
    top = top.assign(_best=[family_best.get((l, f), -math.inf) for l, f in zip(top["lab"], top["family_id"])])
    top = top.sort_values(
        ["_best", "lab", "family_id", "rank_for_family"], ascending=[False, True, True, True], kind="stable"
    )
    n_best_family, n_family_groups = len(best_family), top[["lab", "family_id"]].drop_duplicates().shape[0]
    best_family = best_family.head(max_rows)
    family_groups = []
    for (lab, family_id), group in top.groupby(["lab", "family_id"], sort=False):
        if len(family_groups) == max_rows:
            break
        rows = [_match_row(r, conclusions) for r in group.itertuples(index=False)]
        family_groups.append({"family": f"{lab}/{family_id}", "family_kind": rows[0]["family_kind"], "rows": rows})

    cards, n_reported = _cards(matches, pair_loci, _parents(samples), conclusions, max_pairs)
    started = str(provenance.get("started_at", ""))
    context = {
        "comparison": provenance.get("comparison", {}),
        "parameters": parameters,
        "run_id": str(provenance.get("run_id", "")),
        "kind": provenance.get("kind", "full"),
        "started_at": started,
        "date": started[:10],
        "code_version": provenance.get("code_version", ""),
        "inputs_sha256": inputs.get("sha256", ""),
        "hypotheses": provenance.get("hypotheses", {}),
        "mutation_model": provenance.get("mutation_model", ""),
        "theta": parameters.get("theta", 0.0),
        "prior": parameters.get("prior", 0.5),
        "rules": _rules(provenance),
        "conclusions": conclusions,
        "table": {
            "name": table.get("name", ""),
            "source": table.get("source", ""),
            "sha256": table.get("sha256", ""),
            "substitutions": table.get("substitutions", []),
        },
        "loci": inputs.get("loci", []),
        "loci_left_out": inputs.get("loci_left_out", {}),
        "summary": _summary(matches, provenance),
        "supported": [_match_row(r, conclusions) for r in supported.itertuples(index=False)],
        "flagged": [_match_row(r, conclusions) for r in flagged.itertuples(index=False)],
        "best_family": [_match_row(r, conclusions) for r in best_family.itertuples(index=False)],
        "family_groups": family_groups,
        "n_best_family": n_best_family,
        "n_family_groups": n_family_groups,
        "cards": cards,
        "n_reported": n_reported,
        "max_pairs": max_pairs,
    }
    return _environment().get_template("report.html.j2").render(**context)


def write_report(out_dir, matches: pd.DataFrame, pair_loci: pd.DataFrame, provenance: dict, **kw) -> Path:
    """Write :func:`render_html`'s page to ``<out_dir>/report.html`` (UTF-8).

    Parameters
    ----------
    out_dir : str or Path
        Created if absent.
    matches, pair_loci, provenance
        As for :func:`render_html`.
    **kw
        Keyword options of :func:`render_html` (``samples``, ``max_pairs``).

    Returns
    -------
    Path
        The file written.
    """
    out_dir = Path(out_dir)
    text = render_html(matches, pair_loci, provenance, **kw)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Prefect artifacts (plain data; this module never imports prefect)

_MD_SPECIAL = set("\\`*_[]<>|")


def _md(text: str) -> str:
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))


def summary_markdown(matches: pd.DataFrame, provenance: dict) -> str:
    """Short markdown summary of a run, for a Prefect markdown artifact.

    Counts (families by kind, candidates, pairs, conclusions, flagged), up to 10 supported
    pairs by id, the frequency table with its sha256, the mutation model, θ and the prior.
    Ids are markdown-escaped.

    Parameters
    ----------
    matches : DataFrame
        Schema ``matches.v1``.
    provenance : dict
        Schema ``provenance.v1``.

    Returns
    -------
    str
    """
    s = _summary(matches, provenance)
    rules = _rules(provenance)
    table = provenance.get("frequency_table", {})
    parameters = provenance.get("parameters", {})
    left_out = provenance.get("inputs", {}).get("loci_left_out", {})
    kinds = ", ".join(f"{k} {n}" for k, n in s["family_kinds"].items())
    lines = [
        f"### Match run {_md(provenance.get('run_id', ''))}",
        "",
        f"Started {_md(provenance.get('started_at', ''))}, code {_md(provenance.get('code_version', ''))}.",
        "",
        "| | |",
        "|---|---:|",
        f"| families | {s['n_families']:,} ({kinds}) |",
        f"| candidates | {s['n_candidates']:,} |",
        f"| pairs compared | {s['n_pairs']:,} |",
        f"| support (CPI ≥ {rules['support_cpi']}) | {s['n_support']:,} |",
        f"| flagged for review | {s['n_flagged']:,} |",
        f"| inconclusive | {s['n_inconclusive']:,} |",
        f"| excluded | {s['n_excluded']:,} |",
        "",
    ]
    supported = _sorted_by_lr(matches[matches["conclusion"] == "support"])
    if len(supported):
        lines.append("**Supported pairs** (send for lab confirmation):")
        lines.append("")
        for row in supported.head(10).itertuples(index=False):
            lines.append(
                f"- candidate {_md(row.candidate_id)} with family {_md(row.lab)}/{_md(row.family_id)}: "
                f"CPI {format_cpi(float(row.log10_lr))}, {int(row.n_inconsistent)} inconsistent loci"
            )
        if len(supported) > 10:
            lines.append(f"- … and {len(supported) - 10:,} more (see report.html)")
        lines.append("")
    if s["n_flagged"]:
        lines.append(
            f"**{s['n_flagged']:,} flagged pair(s)**: ≥ {rules['exclusion_n_inconsistent']} inconsistent loci "
            f"although CPI ≥ {rules['support_cpi']}; review."
        )
        lines.append("")
    n_subs = len(table.get("substitutions", []))
    lines += [
        f"Frequency table: {_md(table.get('name', ''))} (sha256 `{table.get('sha256', '')}`), "
        f"{n_subs} allele(s) added at the minimum frequency; loci left out: "
        f"{_md(', '.join(left_out)) if left_out else 'none'}.",
        "",
        f"Mutation model: {_md(provenance.get('mutation_model', ''))}; θ = {parameters.get('theta', 0.0):g}; "
        f"prior P(H1) = {parameters.get('prior', 0.5):g}; rules {_md(rules['source'])}.",
        "",
    ]
    return "\n".join(lines)


def top_candidates_table(matches: pd.DataFrame, n: int = 25) -> list[dict]:
    """Each candidate's best family, best pairs first, as JSON-safe rows (Prefect table artifact).

    Parameters
    ----------
    matches : DataFrame
        Schema ``matches.v1``.
    n : int
        At most this many rows.

    Returns
    -------
    list of dict
        Keys ``candidate_id``, ``family`` (``"lab/family_id"``), ``family_kind``, ``cpi``
        (text, e.g. ``"3.2 × 10^7"`` or ``"0 (exclusion)"``), ``log10_lr`` (float rounded to 4
        decimals, ``None`` for LR 0 so that the value stays valid JSON), ``n_loci_compared``,
        ``n_inconsistent``, ``posterior`` (float), ``conclusion``, ``flagged``. Sorted by
        descending LR, ties by candidate id.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "candidate_id": ["C2", "C1"], "lab": ["L", "L"], "family_id": ["F1", "F1"],
    ...     "family_kind": ["couple"] * 2, "log10_lr": [-np.inf, 7.51234],
    ...     "n_loci_compared": [18, 18], "n_inconsistent": [4, 0],
    ...     "rank_for_candidate": [1, 1], "rank_for_family": [2, 1],
    ...     "posterior": [0.0, 1.0], "conclusion": ["excluded", "support"], "flagged": [False, False]})
    >>> [(r["candidate_id"], r["log10_lr"], r["cpi"]) for r in top_candidates_table(df)]
    [('C1', 7.5123, '3.3 × 10^7'), ('C2', None, '0 (exclusion)')]
    """
    best = _sorted_by_lr(matches[matches["rank_for_candidate"].eq(1).fillna(False).astype(bool)]).head(n)
    rows = []
    for row in best.itertuples(index=False):
        log10_lr = float(row.log10_lr)
        rows.append(
            {
                "candidate_id": str(row.candidate_id),
                "family": f"{row.lab}/{row.family_id}",
                "family_kind": str(row.family_kind),
                "cpi": format_cpi(log10_lr),
                "log10_lr": round(log10_lr, 4) if math.isfinite(log10_lr) else None,
                "n_loci_compared": int(row.n_loci_compared),
                "n_inconsistent": int(row.n_inconsistent),
                "posterior": float(row.posterior),
                "conclusion": str(row.conclusion),
                "flagged": bool(row.flagged),
            }
        )
    return rows


def write_all(
    out_dir,
    matches: pd.DataFrame,
    pair_loci: pd.DataFrame,
    provenance: dict,
    *,
    samples: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write every output of a run into ``out_dir/<run_id>/``: tables, provenance and report.

    Returns
    -------
    dict of str to Path
        Keys ``matches_parquet``, ``matches_csv``, ``pair_loci_parquet``, ``pair_loci_csv``,
        ``provenance_json`` and ``report_html``.
    """
    run_dir = Path(out_dir) / provenance["run_id"]
    paths = {name.replace(".", "_"): path for name, path in write_tables(run_dir, matches, pair_loci, provenance).items()}
    paths["report_html"] = write_report(run_dir, matches, pair_loci, provenance, samples=samples)
    return paths
