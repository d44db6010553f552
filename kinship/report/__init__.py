"""Outputs of a match run: the tables (Parquet, CSV), the provenance record, the HTML report
for case managers, and markdown summaries for Prefect artifacts.

The numbers written here were computed by :mod:`kinship.app.match_run`; this layer only lays
them out.

* :mod:`kinship.report.tables` - ``matches`` and ``pair_loci`` as Parquet and CSV, checked
  against their schemas, and ``provenance.json``;
* :mod:`kinship.report.html` - ``report.html``, a self-contained page;
* :mod:`kinship.report.markdown` - summaries for Prefect artifacts;
* :mod:`kinship.report.folders` - run folders written atomically, owner-only;
* :mod:`kinship.report.formatting` - number formatting shared by the two;
* :mod:`kinship.report.spreadsheet` - spreadsheet-safe text cells for every CSV written.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kinship.report.folders import atomic_folder
from kinship.report.formatting import format_cpi, format_pi, format_posterior, format_power_of_ten
from kinship.report.html import render_html, report_locale, write_report
from kinship.report.markdown import (
    family_power_markdown,
    ingestion_summary_markdown,
    ingestion_summary_text,
    summary_markdown,
    top_candidates_table,
    reported_pairs_table,
    REPORTED_PAIRS_CAP,
)
from kinship.report.tables import TABLE_SCHEMAS, arrow_schema, check_table, write_tables

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
    "reported_pairs_table",
    "REPORTED_PAIRS_CAP",
    "ingestion_summary_markdown",
    "ingestion_summary_text",
    "family_power_markdown",
    "write_all",
]


def write_all(
    out_dir,
    matches: pd.DataFrame,
    pair_loci: pd.DataFrame,
    provenance: dict,
    *,
    samples: pd.DataFrame | None = None,
    call_quality: pd.DataFrame | None = None,
    power: list[dict] | None = None,
    locale: str | None = None,
    relatives: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write every output of a run into ``out_dir/<run_id>/``: tables, provenance and report, atomically.

    The files are written into a private temporary folder beside the run folder and renamed
    into place at the end (:func:`kinship.report.folders.atomic_folder`): the run folder appears
    complete or not at all, and a failure (full disk, crash, bad table) leaves neither a run
    folder nor a temporary one. Folders are created ``0700``, files ``0600``.

    ``power``: families' power results (:meth:`kinship.app.power.FamilyPower.as_dict`) for the
    report's section "Power and the next relative" (:func:`render_html`); None: no section.

    ``relatives``: the typed relatives' own genotypes for the detail cards
    (:func:`kinship.app.match_run.relative_genotypes` of the detail pairs); None: names only.

    ``locale``: the report's language, ``"en"`` or ``"zh_CN"``; None: the environment variable
    ``REUNITE_LOCALE`` (a deployment setting), else English (:func:`kinship.report.html.report_locale`).
    (The provenance schema is closed: the locale is not recorded there; the page's ``lang`` says it.)

    Returns
    -------
    dict of str to Path
        Keys ``matches_parquet``, ``matches_csv``, ``pair_loci_parquet``, ``pair_loci_csv``,
        ``provenance_json`` and ``report_html``, paths inside ``out_dir/<run_id>/``.

    Raises
    ------
    ReuniteInputError
        A table or provenance record that can not be written (nothing is left on disk).
    OSError
        The file system refused a write (nothing is left on disk).
    """
    locale = report_locale(locale)  # refused before anything is written
    run_dir = Path(out_dir) / provenance["run_id"]
    with atomic_folder(run_dir) as tmp:
        names = {name.replace(".", "_"): path.name for name, path in write_tables(tmp, matches, pair_loci, provenance).items()}
        names["report_html"] = write_report(tmp, matches, pair_loci, provenance, samples=samples,
                                           call_quality=call_quality, power=power, locale=locale,
                                           relatives=relatives).name
    return {key: run_dir / name for key, name in names.items()}
