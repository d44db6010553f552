"""Ingest one lab batch: an export file plus its manifest."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.console import refusals_in_one_line
from flows.observe import artifact_key, ingest_run_name, timed
from flows.retries import IO_RETRIES
from flows.settings import store_label, store_location
from kinship.app.ingest import ingest_batch
from kinship.app.ingest.labels import KIT_NAME_PATTERN, LAB_CODE_PATTERN, MAX_LABEL_LENGTH, check_batch_labels
from kinship.errors import ReuniteInputError
from kinship.io import READERS
from kinship.report import ingestion_summary_markdown, ingestion_summary_text
from kinship.store import Store


@task(**IO_RETRIES, cache_policy=NO_CACHE)
def land_batch(store: str, export: str, manifest: str | None, lab: str, kit: str | None, fmt: str,
               reader_options: dict | None, min_autosomal_loci: int):
    with timed("lab %s: %s batch %s read, planned and written", lab, fmt, Path(export).name) as note:
        summary = ingest_batch(Store(store), export, manifest, lab=lab, kit=kit, fmt=fmt,
                               reader_options=reader_options, min_autosomal_loci=min_autosomal_loci,
                               progress=_progress_artifact(store))
        note["text"] = (f" (file_id {summary.file_id}): {summary.n_rows} rows, {summary.n_landed} landed, "
                        f"{summary.n_untyped} untyped, {summary.n_quarantined} quarantined, "
                        f"{summary.n_warnings} warnings, {summary.n_samples_landed} samples, "
                        f"{summary.n_genotypes_added} genotypes added"
                        + ("; already ingested, nothing added" if summary.already_ingested else ""))
    return summary


#: The command line's progress bar while ``main`` runs (``None`` otherwise): a second listener
#: of ``ingest_batch``'s steps, beside the Prefect artifact. Not a flow parameter (a callable is
#: not a value Prefect can record).
_cli_progress: Callable[[str, int, int], None] | None = None


def _progress_artifact(store: str):
    """A progress callback for ingest_batch that moves a Prefect progress artifact (0-100 %),
    logs each step with its time, and moves the command line's progress bar when
    ``scripts/flow ingest`` draws one."""
    artifact_id = create_progress_artifact(0.0, key=artifact_key("ingestion-progress", store),
                                           description="Ingestion: read, plan, write")
    cli = _cli_progress
    logger = get_run_logger()
    started = time.perf_counter()

    def progress(stage: str, n_done: int, n_stages: int) -> None:
        update_progress_artifact(artifact_id, 100.0 * n_done / n_stages)
        logger.info("step %d of %d (%s), %.2f s since start", n_done, n_stages, stage, time.perf_counter() - started)
        if cli is not None:
            cli(stage, n_done, n_stages)

    return progress


@contextmanager
def _progress_bar(stream=None):
    """Draw ``ingest_batch``'s steps (read, plan, write, done) as a ``rich`` progress bar on
    ``stream`` (stderr by default), only when it is a terminal: piped or redirected output, and
    stdout's summary, stay as they are."""
    global _cli_progress
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("ingest: {task.description:<5}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn(), console=Console(file=stream), transient=False)
    task_id = bar.add_task("start", total=None)

    def update(stage: str, n_done: int, n_stages: int) -> None:
        bar.update(task_id, description=stage, completed=n_done, total=n_stages)

    with bar:
        _cli_progress = update
        try:
            yield
        finally:
            _cli_progress = None


@task(cache_policy=NO_CACHE)
def publish_summary(summary, store: str) -> None:
    create_markdown_artifact(ingestion_summary_markdown(summary), key=artifact_key("ingestion-summary", store),
                             description="Ingestion summary: rows in, landed, quarantined")


#: The flow's ``lab`` and ``kit``: ASCII codes, so that a deployment's enforced parameter schema
#: refuses a name or a phone number before the run (and its recorded parameters) exists.
LabCode = Annotated[str, Field(pattern=LAB_CODE_PATTERN, max_length=MAX_LABEL_LENGTH)]
KitName = Annotated[str, Field(pattern=KIT_NAME_PATTERN, max_length=MAX_LABEL_LENGTH)]


#: The export formats the ingest flow reads (:data:`kinship.io.READERS`), a choice on the form.
ExportFormat = Literal[tuple(sorted(READERS))]


@flow(name="ingest", log_prints=True, flow_run_name=ingest_run_name)
def ingest(
    export: str,
    lab: LabCode,
    manifest: str | None = None,
    kit: KitName | None = None,
    fmt: ExportFormat = "genemapper",
    store: str | None = None,
    reader_options: dict | None = None,
    min_autosomal_loci: int = 12,
) -> dict:
    """Ingest one lab batch, an export file with its manifest, into the store.

    Returns the ingestion summary (rows in, landed, untyped, quarantined, the batch's file id).
    A batch that lands no sample is recorded with its quarantine; ``nothing_landed_reason`` then
    says why (counts and rules only), and the command line exits non-zero on it.
    The paths are read by the process that runs the flow: on a deployment, the worker's machine,
    so an upload from a browser is not possible here (copy the files to the worker first).

    Args:
        export: Path of the lab's export file on the machine that runs the flow (the worker's
            file system, e.g. /srv/reunite/incoming/run7.txt), in the format `fmt`.
        lab: Registered lab code of the batch, ASCII, e.g. DEMO-LAB (scripts/flow labs list);
            a manifest lab column must name the same lab.
        manifest: Path of the manifest CSV on the worker's machine (schemas/manifest.v5.json);
            optional for CODIS CMF, whose specimen categories give role and relationship.
        kit: Typing kit of the batch, a catalogue name (scripts/flow kits list); fills the
            manifest's empty kit cells. Empty: the manifest's own kit column.
        fmt: Format of the export: genemapper (GeneMapper text), tidy (CSV), parquet, cmf
            (CODIS CMF XML), vcf (HipSTR, GangSTR, ExpansionHunter), forenseq (UAS report xlsx)
            or straitrazor.
        store: SQLite path or SQLAlchemy URL of the store, as the worker sees it; empty:
            $REUNITE_STORE, else var/reunite.sqlite under the working directory.
        reader_options: Options for the reader, JSON; e.g. {"category_map": {...}} for cmf;
            for vcf {"caller": "hipstr", "build": "GRCh37", "quality": {"min_q": 0.9,
            "min_depth": 10, "max_ci_width": 1}}; {"analytical_reads": 20} for straitrazor.
            Empty: the reader's defaults.
        min_autosomal_loci: Fewest typed autosomal loci a profile needs to land; a profile with
            fewer is quarantined (default 12).
    """
    store = store_location(store)
    summary = land_batch(store, export, manifest, lab, kit, fmt, reader_options, min_autosomal_loci)
    publish_summary(summary, store)
    return {**asdict(summary), "nothing_landed_reason": summary.nothing_landed_reason()}


def main(argv: list[str] | None = None) -> str:
    """The argparse front end of ``reunite ingest`` (:mod:`flows.cli` is the command line; this
    one is kept for callers in Python): run the flow and return the short summary (counts, the
    batch id, where the quarantine list is; never a genotype or a quarantine reason).

    A ``--lab`` or ``--kit`` that is not an ASCII code is refused with one line on stderr and
    exit status 2 before the flow is called, so that it is never recorded as a run parameter.
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="scripts/flow ingest",
        description="Ingest one lab batch (an export file and its manifest) into the store and print "
                    "a short summary: rows in, landed, untyped, quarantined, the batch id, where the "
                    "quarantine list is.")
    parser.add_argument("export", help="the lab's export file (GeneMapper text, tidy CSV, Parquet, CODIS CMF, VCF, "
                                           "ForenSeq UAS report xlsx or STRait Razor output)")
    parser.add_argument("manifest", nargs="?", help="manifest CSV (optional for --fmt cmf)")
    parser.add_argument("--lab", required=True,
                        help="registered lab code of the batch, ASCII (scripts/flow labs list); a manifest "
                             "lab column must name the same lab")
    parser.add_argument("--kit", help="typing kit of the batch, a catalogue name (scripts/flow kits list); "
                                      "fills the manifest's empty kit cells")
    parser.add_argument("--fmt", default="genemapper", choices=sorted(READERS),
                        help="format of the export (default: genemapper)")
    parser.add_argument("--store", help="SQLite path or SQLAlchemy URL of the store (default: $REUNITE_STORE, "
                                        "else var/reunite.sqlite)")
    vcf = parser.add_argument_group("VCF options (--fmt vcf; see the README's Input formats)")
    vcf.add_argument("--caller", choices=["hipstr", "gangstr", "expansionhunter"],
                     help="the caller that wrote the VCF (default: detected from its fields and ##source/##command "
                          "lines; must agree with the fields)")
    vcf.add_argument("--build", choices=["GRCh37", "GRCh38"],
                     help="genome build of the calls (default: from ##reference and ##contig lengths; must agree "
                          "with them; ExpansionHunter VCFs need it)")
    vcf.add_argument("--min-q", type=float, metavar="P",
                     help="least posterior probability Q of a call (HipSTR, GangSTR; default 0.9)")
    vcf.add_argument("--min-depth", type=float, metavar="N",
                     help="least read depth of a call (DP; ExpansionHunter LC; default 10)")
    vcf.add_argument("--max-ci-width", type=float, metavar="N",
                     help="widest REPCI confidence interval, in repeat units (GangSTR, ExpansionHunter; default 1)")
    args = parser.parse_args(argv)
    options = vars(args)
    reader_options = {key: options.pop(key) for key in ("caller", "build") if options[key] is not None}
    quality = {key: options.pop(flag) for key, flag in
               (("min_q", "min_q"), ("min_depth", "min_depth"), ("max_ci_width", "max_ci_width"))}
    quality = {key: value for key, value in quality.items() if value is not None}
    options.pop("caller", None), options.pop("build", None)
    if quality:
        reader_options["quality"] = quality
    if reader_options and args.fmt != "vcf":
        print(f"error: --caller, --build and the quality options are for --fmt vcf, not --fmt {args.fmt}",
              file=sys.stderr)
        raise SystemExit(2)
    try:
        check_batch_labels(args.lab, args.kit)
    except ReuniteInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for what, path in (("export", args.export), ("manifest", args.manifest)):
        if path is not None and not Path(path).is_file():
            print(f"error: {what} {path}: no such file; fix: give the path of the lab's {what} file", file=sys.stderr)
            raise SystemExit(2)
    with refusals_in_one_line(), _progress_bar():  # a refused export or manifest: one line, no traceback
        summary = ingest(**options, reader_options=reader_options or None)
    return ingestion_summary_text(summary, store=store_label(store_location(args.store)))


if __name__ == "__main__":
    # `python -m flows.ingest` is `reunite ingest` (flows/cli.py): one command line, one output
    from flows.cli import main as reunite

    reunite(["ingest", *sys.argv[1:]])
