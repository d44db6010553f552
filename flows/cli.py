"""``reunite``: the one command line of the project (Typer), over the flows and the store.

Installed as the ``reunite`` console script (``pyproject.toml``); ``scripts/flow`` is a thin
wrapper that runs it in the project's environment (``scripts/flow match`` = ``reunite match``).
``reunite --help`` lists the commands, ``reunite COMMAND --help`` each one's options::

    reunite init [--store PATH]                               # create a new store (only this creates one)
    reunite labs register CODE --name NAME | labs list
    reunite kits register NAME --loci L1,L2,... | kits list
    reunite ingest EXPORT [MANIFEST] --lab LAB [--kit KIT] [--fmt genemapper]
    reunite ingest-pedigrees PED.csv --lab LAB
    reunite match [--full] [--theta 0.01] [--mutation-rate-male 0.003] [--prior-family-not-on-file 0.3] ...
    reunite quarantine list FILE_ID | quarantine export FILE_ID --out FILE.csv
    reunite batches list | batches retract FILE_ID --by OPERATOR --why CODE
    reunite samples erase SAMPLE_ID --by OPERATOR --why CODE
    reunite power LAB/FAMILY
    reunite backup --to FILE | backup --new-key | restore --from FILE [--replace]

Every command that reads or writes a store takes ``--store`` (else ``$REUNITE_STORE``, else
``var/reunite.sqlite``) and refuses a SQLite path that does not exist (a mistyped ``--store``
would otherwise make a new, empty store and an empty report): ``reunite init`` creates one, and
``restore`` writes one. Output is a short summary for a person; ``--json`` prints one JSON
document on stdout instead (counts, ids and paths; never a genotype). Errors are one
``error: ...`` line on stderr (what, where, the fix): exit status 2 for a refused input or
request (a bad option, file, lab, parameter or store, a match with nothing to compare), 1 for
an unexpected failure; ``--debug`` shows the traceback instead. Match parameters are generated
from :class:`kinship.app.parameters.MatchParameters` (one option per field, its description and
default as help), as the argparse front ends are.
"""

from __future__ import annotations

import csv
import inspect
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal, Optional

import typer
# Typer 0.29 carries its own copy of Click (typer._click): its usage errors are these classes, not click's.
from typer._click import exceptions as click_errors

from flows.console import refusals_in_one_line
from flows.settings import DEFAULT_STORE, store_label, store_location
from kinship.errors import ReuniteInputError

__all__ = ["app", "main"]

#: Exit status of a refused input or request (the usage errors' status too) and of a failure.
EXIT_REFUSED, EXIT_FAILED = 2, 1

app = typer.Typer(name="reunite", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Reunite: kinship matching of STR profiles. Ingest lab batches, match every family "
                       "against every candidate, search one child or family against the store, read the quarantine, administer labs, kits, batches and samples.")
_SUB = dict(no_args_is_help=True, rich_markup_mode=None)
labs_app = typer.Typer(**_SUB, help="The registered labs (register, list).")
kits_app = typer.Typer(**_SUB, help="The kit catalogue (register, list).")
batches_app = typer.Typer(**_SUB, help="Ingested batches (list, retract).")
samples_app = typer.Typer(**_SUB, help="Stored samples (erase on withdrawn consent).")
quarantine_app = typer.Typer(**_SUB, help="A batch's quarantined rows (list, export as CSV).")
for _sub, _name in ((labs_app, "labs"), (kits_app, "kits"), (batches_app, "batches"), (samples_app, "samples"),
                    (quarantine_app, "quarantine")):
    app.add_typer(_sub, name=_name)

_STORE_HELP = f"SQLite path or SQLAlchemy URL of the store (default: $REUNITE_STORE, else {DEFAULT_STORE})"
StoreOpt = Annotated[Optional[str], typer.Option("--store", help=_STORE_HELP, show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout instead of the summary")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="on an error, show the Python traceback")]

#: ``--debug`` / ``--json`` given before the command (``reunite --debug match``); a command's own flags add to them.
_global = SimpleNamespace(debug=False, json=False)


@app.callback()
def _top(debug: DebugOpt = False, json_out: JsonOpt = False) -> None:
    _global.debug, _global.json = debug, json_out


# -- errors and output -----------------------------------------------------------------------

def _say_error(message: str) -> None:
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)


@contextmanager
def _errors(debug: bool) -> Iterator[None]:
    """One ``error:`` line and a non-zero exit for every failure inside, the traceback with ``debug``.

    A refused input (:class:`~kinship.errors.ReuniteInputError`) or a missing or unreadable file
    exits with :data:`EXIT_REFUSED`; anything else with :data:`EXIT_FAILED`, naming its class.
    The failed flow run's records still reach Prefect's API log (:func:`flows.console.refusals_in_one_line`).
    """
    debug = debug or _global.debug
    try:
        with refusals_in_one_line(raise_refusals=True):
            yield
    except (typer.Exit, typer.Abort, click_errors.ClickException, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - every failure of a command is said here, once
        if debug:
            traceback.print_exc()
        if isinstance(exc, ReuniteInputError):
            _say_error(str(exc))
            raise typer.Exit(EXIT_REFUSED) from None
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            _say_error(f"{exc.filename or ''}: {exc.strerror or exc}; fix: check the path and its permissions")
            raise typer.Exit(EXIT_REFUSED) from None
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        _say_error(f"{type(exc).__name__}: {first}" + ("" if debug else " (run again with --debug for the traceback)"))
        raise typer.Exit(EXIT_FAILED) from None


def _refuse(message: str) -> None:
    """Stop a command with a refusal (inside :func:`_errors`)."""
    raise ReuniteInputError(message)


def _emit(data: Any, text: str, json_out: bool) -> None:
    """Print ``text`` for a person, or ``data`` as JSON with ``--json``."""
    if json_out or _global.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text.rstrip("\n"))


def existing_store(store: str | None) -> str:
    """The store location of ``--store`` (:func:`flows.settings.store_location`), refused when it is a
    SQLite path that does not exist: only ``reunite init`` (and ``restore``) create a store.

    A SQLAlchemy URL is not checked here (its database is the server's; a missing one fails to
    connect with the driver's message).
    """
    location = store_location(store)
    if "://" not in location and not Path(location).expanduser().is_file():
        _refuse(f"store {location} does not exist; fix: check --store and $REUNITE_STORE, or create a new store "
                f"with: reunite init --store {location}")
    return location


def _existing_file(what: str, path: str | None) -> None:
    if path is not None and not Path(path).is_file():
        _refuse(f"{what} {path}: no such file; fix: give the path of the {what} file")


@contextmanager
def _bar(label: str, hook_owner: Any, attribute: str) -> Iterator[None]:
    """A ``rich`` progress bar on stderr, moved by ``hook_owner.<attribute>`` (a flow module's
    ``_cli_progress`` hook, called with ``(done, total)``) while the block runs; nothing when
    stderr is not a terminal (piped output and ``--json`` stay as they are)."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(f"{label}: {{task.description}}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn(), console=Console(file=sys.stderr))
    task_id = bar.add_task("family shards", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task_id, completed=done, total=total)

    with bar:
        setattr(hook_owner, attribute, update)
        try:
            yield
        finally:
            setattr(hook_owner, attribute, None)


# -- init ------------------------------------------------------------------------------------

@app.command()
def init(store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Create a new store (SQLite file, or the schema of a PostgreSQL URL); an existing one is upgraded."""
    from kinship.store import STORE_SCHEMA_VERSION, Store

    with _errors(debug):
        location = store_location(store)
        existed = "://" in location or Path(location).expanduser().exists()
        with Store(location):
            pass
    label = store_label(location)
    _emit({"store": label, "created": not existed, "schema_version": STORE_SCHEMA_VERSION},
          f"store {label} {'is ready' if existed else 'created'} (schema v{STORE_SCHEMA_VERSION}); next: "
          "reunite labs register CODE --name NAME", json_out)


# -- ingest ----------------------------------------------------------------------------------

def _reader_names() -> list[str]:
    from kinship.io import READERS

    return sorted(READERS)


@app.command()
def ingest(
    export: Annotated[str, typer.Argument(help="the lab's export file (GeneMapper text, tidy CSV, Parquet, CODIS CMF, "
                                               "VCF, ForenSeq UAS report xlsx or STRait Razor output)")],
    manifest: Annotated[Optional[str], typer.Argument(help="manifest CSV (optional for --fmt cmf)")] = None,
    lab: Annotated[str, typer.Option(help="registered lab code of the batch, ASCII (reunite labs list)")] = ...,
    kit: Annotated[Optional[str], typer.Option(help="typing kit, a catalogue name (reunite kits list); fills the "
                                                    "manifest's empty kit cells")] = None,
    fmt: Annotated[Literal[tuple(_reader_names())], typer.Option(help="format of the export")] = "genemapper",
    min_autosomal_loci: Annotated[int, typer.Option(help="least typed autosomal loci of a profile that lands")] = 12,
    caller: Annotated[Optional[Literal["hipstr", "gangstr", "expansionhunter"]],
                      typer.Option(help="VCF only: the caller (default: detected)")] = None,
    build: Annotated[Optional[Literal["GRCh37", "GRCh38"]],
                     typer.Option(help="VCF only: genome build (default: from the header)")] = None,
    min_q: Annotated[Optional[float], typer.Option(help="VCF only: least posterior Q of a call (default 0.9)")] = None,
    min_depth: Annotated[Optional[float], typer.Option(help="VCF only: least read depth (default 10)")] = None,
    max_ci_width: Annotated[Optional[float], typer.Option(help="VCF only: widest REPCI, repeat units (default 1)")] = None,
    store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False,
) -> None:
    """Ingest one lab batch (an export and its manifest) and print the counts, the batch id and where the
    quarantine list is (reunite quarantine list FILE_ID)."""
    import flows.ingest
    from kinship.app.ingest.labels import check_batch_labels
    from kinship.report import ingestion_summary_text

    with _errors(debug):
        reader_options: dict = {k: v for k, v in (("caller", caller), ("build", build)) if v is not None}
        quality = {k: v for k, v in (("min_q", min_q), ("min_depth", min_depth), ("max_ci_width", max_ci_width))
                   if v is not None}
        if quality:
            reader_options["quality"] = quality
        if reader_options and fmt != "vcf":
            _refuse(f"--caller, --build and the quality options are for --fmt vcf, not --fmt {fmt}; fix: drop them "
                    "or give --fmt vcf")
        check_batch_labels(lab, kit)  # before the flow: a name never becomes a recorded run parameter
        _existing_file("export", export)
        _existing_file("manifest", manifest)
        location = existing_store(store)
        with flows.ingest._progress_bar():
            summary = flows.ingest.ingest(export=export, lab=lab, manifest=manifest, kit=kit, fmt=fmt, store=location,
                                          reader_options=reader_options or None, min_autosomal_loci=min_autosomal_loci)
    counts = {k: v for k, v in summary.items() if not isinstance(v, (list, dict))}  # no record, no raw value
    text = ingestion_summary_text(summary, store=store_label(location))
    if summary.get("n_quarantined"):
        text += (f"see them: reunite quarantine list {summary['file_id']}" + (f" --store {store}" if store else "")
                 + " (export with their values: quarantine export ... --out FILE.csv)\n")
    _emit({**counts, "store": store_label(location)}, text, json_out)
    if summary.get("nothing_landed_reason"):  # recorded with its quarantine, but nothing to match: not a success
        _say_error(f"{summary['nothing_landed_reason']} (reunite quarantine list {summary['file_id']})")
        raise typer.Exit(EXIT_REFUSED)


@app.command("ingest-pedigrees")
def ingest_pedigrees(
    pedigrees: Annotated[str, typer.Argument(help="PED-style CSV: family_id, id, father, mother, sex, sample_id, "
                                                  "is_missing")],
    lab: Annotated[str, typer.Option(help="registered lab code of the families, ASCII")] = ...,
    store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False,
) -> None:
    """Store the families of a PED-style pedigree table; every typed member must be a stored reference."""
    import flows.ingest_pedigrees
    from kinship.app.ingest.labels import check_batch_labels

    with _errors(debug):
        check_batch_labels(lab)
        _existing_file("pedigree", pedigrees)
        location = existing_store(store)
        summary = flows.ingest_pedigrees.ingest_pedigrees(pedigrees=pedigrees, lab=lab, store=location)
    text = ", ".join(f"{k.removeprefix('n_').replace('_', ' ')} {v}" for k, v in summary.items())
    _emit(summary, f"pedigrees of {Path(pedigrees).name} stored: {text}", json_out)


# -- match -----------------------------------------------------------------------------------

def _parameter_options() -> list[inspect.Parameter]:
    """One keyword parameter per :class:`MatchParameters` leaf field, as a Typer option (its name
    the field's path joined by ``_``; default ``None``: not given, the model's default applies)."""
    from kinship.app.parameters import option_fields

    out = []
    for option, path, info in option_fields():
        help_text = f"{info.description} Default: {info.default}."
        kind: Any = info.annotation
        if kind is bool:
            flag = option.removeprefix("--")
            spec = typer.Option(f"--{flag}/--no-{flag}", help=help_text, show_default=False,
                                rich_help_panel="Match parameters")
            annotation = Annotated[Optional[bool], spec]
        elif kind in (int, float):
            annotation = Annotated[Optional[kind], typer.Option(option, help=help_text, show_default=False,
                                                                rich_help_panel="Match parameters")]
        else:
            choices = getattr(kind, "__args__", None)  # a Literal: its values are the choices
            annotation = Annotated[Optional[kind if choices else str],
                                   typer.Option(option, help=help_text, show_default=False,
                                                rich_help_panel="Match parameters")]
        out.append(inspect.Parameter("_".join(path), inspect.Parameter.KEYWORD_ONLY, default=None,
                                     annotation=annotation))
    return out


def _with_parameter_options(command: Callable[..., None], own: list[inspect.Parameter], doc: str):
    """``command`` with the signature Typer reads: its ``own`` options, then one option per
    MatchParameters field (:func:`_parameter_options`), and ``doc`` as its help."""
    parameters = own + _parameter_options()
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = doc
    return command


def match_parameters(given: dict[str, Any]):
    """The :class:`MatchParameters` of the generated options given (``None``: not given).

    Raises
    ------
    ReuniteInputError
        A value out of range, as the model's constructor (one line: field, value, allowed range).
    """
    import argparse

    from kinship.app.parameters import from_arguments

    return from_arguments(argparse.Namespace(**{k: v for k, v in given.items() if v is not None}))


def _store_counts(location: str) -> tuple[int, int]:
    """``(candidates, families)`` of the store: what a match run would compare."""
    from kinship.store import Store

    with Store(location) as opened:
        samples = opened.load_samples()
        return int((samples["role"] == "candidate").sum()), len(opened.load_families())


def _match(store: str | None, out_dir: str | None, full: bool, dask_address: str | None,
           keep_full_runs: int | None, json_out: bool, debug: bool, **given) -> None:
    import flows.match

    with _errors(debug):
        parameters = match_parameters(given)  # before the store is opened: a bad value is its one line
        location = existing_store(store)
        n_candidates, n_families = _store_counts(location)
        if not n_candidates or not n_families:
            _refuse(f"store {store_label(location)} holds {n_candidates} candidates and {n_families} families: "
                    "nothing to match; fix: ingest the candidates' and the families' batches first (reunite ingest), "
                    "or check --store")
        with _bar("match", flows.match, "_cli_progress"):
            result = flows.match.run_match(dask_address, parameters=parameters, store=location, out_dir=out_dir,
                                           full=full, keep_full_runs=keep_full_runs)
    provenance, paths = result["provenance"], result["paths"]
    data = {"run_id": provenance["run_id"], "kind": provenance.get("kind"), "n_candidates": n_candidates,
            "n_families": n_families, "store": store_label(location), "paths": paths}
    text = (f"match run {provenance['run_id']}: {n_candidates} candidates x {n_families} families"
            + (f" ({provenance['kind']})" if provenance.get("kind") else "") + "\n"
            f"open this report: {paths['report_html']}\n"
            f"ranked pairs: {paths['matches_csv']} (and .parquet); outputs in {Path(paths['report_html']).parent}")
    _emit(data, text, json_out)


def _match_command() -> Callable[..., None]:
    def match(**arguments) -> None:
        _match(**arguments)

    own = [
        inspect.Parameter("store", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=StoreOpt),
        inspect.Parameter("out_dir", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Optional[str], typer.Option(help="folder for the run's outputs (default: $REUNITE_OUT, else out/)")]),
        inspect.Parameter("full", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option(help="re-match everything, even when an incremental run would do")]),
        inspect.Parameter("dask_address", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Optional[str], typer.Option(help="Dask scheduler, e.g. tcp://host:8786 (default: $REUNITE_DASK_ADDRESS)")]),
        inspect.Parameter("keep_full_runs", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Optional[int], typer.Option(help="after the run keep the pairs of this many recent full runs (default: all)")]),
        inspect.Parameter("json_out", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOpt),
        inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DebugOpt),
    ]
    return _with_parameter_options(match, own, (
        "Match every family against every candidate (incrementally when possible), rank, calibrate "
        "and write the report; every match parameter is an option (unit, range, default in its help)."))


app.command("match")(_match_command())


# -- quarantine ------------------------------------------------------------------------------

#: What ``quarantine list`` shows on a terminal: where and which rule, never the rejected raw value
#: (it may be a name or a genotype); ``quarantine export`` writes every column to an owner-only file.
QUARANTINE_SCREEN = ["line", "source", "kind", "sample_id", "locus", "fix"]
QUARANTINE_EXPORT = ["id", "file_id", "export_name", "source", "kind", "line", "sample_id", "locus", "value",
                     "reason", "fix"]

FileIdArg = Annotated[int, typer.Argument(help="the batch's file_id (reunite batches list)")]


def _quarantine(location: str, file_id: int):
    from kinship.store import Store

    with Store(location) as opened:
        if file_id not in set(opened.list_batches()["file_id"].tolist()):
            _refuse(f"no batch with file_id {file_id} in store {store_label(location)}; fix: see reunite batches list")
        return opened.quarantine_records(file_id=file_id)


@quarantine_app.command("list")
def quarantine_list(file_id: FileIdArg, store: StoreOpt = None, json_out: JsonOpt = False,
                    debug: DebugOpt = False) -> None:
    """List a batch's quarantined rows: line, source, rule, sample, locus and the fix (not the raw values:
    reunite quarantine export writes them to a file)."""
    from flows.catalogue import _records

    with _errors(debug):
        rows = _quarantine(existing_store(store), file_id)[QUARANTINE_SCREEN]
    text = (rows.to_string(index=False) + f"\n{len(rows)} quarantined rows in batch {file_id}; their values and "
            f"reasons: reunite quarantine export {file_id} --out FILE.csv") if len(rows) else \
        f"batch {file_id} has no quarantined row"
    _emit(_records(rows), text, json_out)


@quarantine_app.command("export")
def quarantine_export(
    file_id: FileIdArg,
    out: Annotated[str, typer.Option("--out", help="CSV file to write (owner-only, 0600; replaced if it exists)")] = ...,
    store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False,
) -> None:
    """Write a batch's quarantined rows, with their values, reasons and fixes, to a CSV file (cells a
    spreadsheet would read as a formula are escaped)."""
    from kinship.report.spreadsheet import spreadsheet_safe

    with _errors(debug):
        rows = _quarantine(existing_store(store), file_id)
        target = Path(out)
        if target.parent and not target.parent.is_dir():
            _refuse(f"--out {out}: folder {target.parent} does not exist; fix: create it or give another path")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.chmod(target, 0o600)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(QUARANTINE_EXPORT)
            for row in rows[QUARANTINE_EXPORT].itertuples(index=False):
                writer.writerow(["" if v is None or v != v else spreadsheet_safe(v) if isinstance(v, str) else v
                                 for v in row])
    _emit({"file_id": file_id, "n_rows": len(rows), "path": str(target)},
          f"{len(rows)} quarantined rows of batch {file_id} written to {target}", json_out)


# -- store administration (flows.catalogue) --------------------------------------------------

def _catalogue(json_out: bool, debug: bool, store: str | None, **args) -> None:
    from flows.catalogue import outcome

    with _errors(debug):
        existing_store(store)
        data, text = outcome(SimpleNamespace(store=store, **args))
    _emit(data, text, json_out)


def _reason(value: str) -> str:
    from kinship.store.batches import REASON_CODES

    if value not in REASON_CODES:  # the value is not repeated: it may be a name
        raise typer.BadParameter(f"the reason (a value of {len(value)} characters) is not a reason code; expected one "
                                 f"of {', '.join(sorted(REASON_CODES))}; fix: give the code, and a case or ticket id "
                                 "with --ref")
    return value


By = Annotated[str, typer.Option("--by", help="operator id")]
Why = Annotated[str, typer.Option("--why", metavar="CODE", callback=_reason,
                                  help="reason code: consent_withdrawn, mistyped_lab, wrong_file, duplicate_submission, "
                                       "lab_request, court_order, other")]
Ref = Annotated[Optional[str], typer.Option("--ref", help="ticket or case id, ASCII, e.g. REQ-2026-118; never a name")]


@labs_app.command("register")
def labs_register(code: Annotated[str, typer.Argument(help="lab code, ASCII (letters, digits, ._:/+-), e.g. BJ-PSB")],
                  name: Annotated[str, typer.Option("--name", help="display name, e.g. 北京市公安局物证鉴定中心")] = ...,
                  store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Register a lab: an ASCII code and a display name (may be Chinese)."""
    _catalogue(json_out, debug, store, group="labs", command="register", code=code, name=name)


@labs_app.command("list")
def labs_list(store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """List the registered labs."""
    _catalogue(json_out, debug, store, group="labs", command="list")


@kits_app.command("register")
def kits_register(name: Annotated[str, typer.Argument(help="kit name, e.g. 'Goldeneye 20A'")],
                  loci: Annotated[list[str], typer.Option("--loci", help="the loci it types, comma-separated "
                                                                         "(repeat the option for more)")] = ...,
                  store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Register a kit by name and loci."""
    _catalogue(json_out, debug, store, group="kits", command="register", name=name, loci=loci)


@kits_app.command("list")
def kits_list(store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """List the bundled and registered kits."""
    _catalogue(json_out, debug, store, group="kits", command="list")


@batches_app.command("list")
def batches_list(store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """List the ingested batches with their status."""
    _catalogue(json_out, debug, store, group="batches", command="list")


@batches_app.command("retract")
def batches_retract(file_id: FileIdArg, by: By = ..., why: Why = ..., ref: Ref = None, store: StoreOpt = None,
                    json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Retract a batch: its samples leave the store and matching (the next match is a full re-match)."""
    _catalogue(json_out, debug, store, group="batches", command="retract", file_id=file_id, by=by, why=why, ref=ref)


@samples_app.command("erase")
def samples_erase(sample_id: Annotated[str, typer.Argument(help="the sample's id")], by: By = ..., why: Why = ...,
                  ref: Ref = None,
                  out_dir: Annotated[Optional[str], typer.Option(help="the match runs' output folder, searched for run "
                                                                      "folders that show the sample (default: "
                                                                      "$REUNITE_OUT, else out/)")] = None,
                  store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Erase a sample's genotypes on withdrawn consent (PIPL); an audit row stays."""
    _catalogue(json_out, debug, store, group="samples", command="erase", sample_id=sample_id, by=by, why=why, ref=ref,
               out_dir=out_dir)


# -- power, backup, restore ------------------------------------------------------------------

def _power_command() -> Callable[..., None]:
    def power(family: str, store: str | None = None, no_cache: bool = False, json_out: bool = False,
              debug: bool = False, **given) -> None:
        from kinship.app.power import store_family_power
        from kinship.report.markdown import family_power_markdown
        from kinship.store import Store

        with _errors(debug):
            parameters = match_parameters(given)
            with Store(existing_store(store)) as opened:
                result, cached = store_family_power(opened, family, parameters, use_cache=not no_cache)
        text = family_power_markdown([result.as_dict()]) + ("\n(from the store's cache)" if cached else "")
        _emit({**result.as_dict(), "from_cache": cached}, text, json_out)

    own = [
        inspect.Parameter("family", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[
            str, typer.Argument(help="LAB/FAMILY, e.g. BJ-PSB/F-0001")]),
        inspect.Parameter("store", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=StoreOpt),
        inspect.Parameter("no_cache", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option("--no-cache", help="recompute even when the store holds a result")]),
        inspect.Parameter("json_out", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOpt),
        inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DebugOpt),
    ]
    return _with_parameter_options(power, own, (
        "How likely a family is to find its child (P(support | true child), false hits at the store's "
        "size) and which relative to type next; exact, at theta = 0, cached in the store."))


app.command("power")(_power_command())


def search_text(found: dict, top: int) -> str:
    """What ``reunite search`` prints: the target, where the parameters came from, and the
    strongest ``top`` pairs (partner, kind, log10 LR, CPI, conclusion, unrelated hits expected)."""
    rows = found["matches"]
    child = found["target"].startswith("candidate")
    lines = [f"search of {found['target']}: {len(rows)} reported pair{'' if len(rows) == 1 else 's'} "
             f"(parameters: {found['parameters_from']})"]
    if not rows:
        return lines[0]
    from kinship.report.formatting import format_cpi

    head = f"{'rank':>4}  {'family' if child else 'candidate':<24}  {'kind':<20}  {'log10 LR':>8}  {'CPI':>14}  " \
           f"{'conclusion':<12}  {'unrelated hits expected':>23}"
    lines += ["", head]
    for i, row in enumerate(rows[:top], 1):
        partner = f"{row['lab']}/{row['family_id']}" if child else row["candidate_id"]
        total = row["log10_lr_total"]
        cpi = format_cpi(total)
        expected = row["expected_unrelated"]
        lines.append(f"{i:>4}  {partner:<24}  {row['family_kind']:<20}  {total:>8.2f}  {cpi:>14}  "
                     f"{row['conclusion']:<12}  {'' if expected is None else f'{expected:.3g}':>23}")
    if len(rows) > top:
        lines.append(f"({len(rows) - top} more; --top N or --json for all)")
    lines.append("log10 LR and CPI: the combined evidence (autosomal, with Y-STRs where compared); the other side's "
                 "rank and the posteriors need the whole match run (its report)")
    return "\n".join(lines)


@app.command()
def search(
    candidate: Annotated[Optional[str], typer.Option("--candidate", help="a child's sample id (role candidate)")] = None,
    family: Annotated[Optional[str], typer.Option("--family", help="a family as LAB/FAMILY, e.g. BJ-PSB/F-0001")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="reported pairs shown (--json gives every reported "
                                                              "pair)")] = 20,
    store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False,
) -> None:
    """One child against every family of the store, or one family against every child, now:
    the match run's own scores (with the last finished run's parameters, else the defaults).
    Reported, as in a match run: the searched child's (family's) best k partners and every pair
    at or above the reporting threshold."""
    import flows.search  # before the refusals are quieted: Prefect sets its console handlers up on import
    from kinship.app.search import SearchTarget

    with _errors(debug):
        SearchTarget.of(candidate, family)  # neither or both: refused before Prefect starts
        location = existing_store(store)
        found = flows.search.search(candidate_id=candidate, family=family, store=location)
    _emit(found, search_text(found, top), json_out)


@app.command()
def backup(to: Annotated[Optional[str], typer.Option("--to", help="backup file to write (0600; replaced)")] = None,
           new_key: Annotated[bool, typer.Option("--new-key", help="print a new key for REUNITE_BACKUP_KEY and exit")] = False,
           store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Back up the store to one file, encrypted when REUNITE_BACKUP_KEY is set."""
    import flows.backup
    from kinship.store.backup import new_backup_key

    if new_key:
        print(new_backup_key())
        return
    with _errors(debug):
        if not to:
            _refuse("no backup file given; fix: reunite backup --to FILE")
        info = flows.backup.backup(to, existing_store(store))
    _emit(info, flows.backup.backup_text(info), json_out)


@app.command()
def restore(source: Annotated[str, typer.Option("--from", help="backup file (reunite backup)")],
            replace: Annotated[bool, typer.Option(help="replace an existing SQLite store")] = False,
            store: StoreOpt = None, json_out: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Restore the store from a backup (stop every flow first); creates the store if it does not exist."""
    import flows.restore

    with _errors(debug):
        _existing_file("backup", source)
        info = flows.restore.restore(source, store, replace)
    _emit(info, flows.restore.restore_text(source, info), json_out)


def main(argv: list[str] | None = None) -> None:
    """The ``reunite`` console script: run one command line (``argv``, default ``sys.argv[1:]``) and
    exit with its status.

    A usage mistake (an unknown command or option, a missing argument, a value of the wrong type
    or outside its choices) is one ``error: ...`` line naming the ``--help`` to read, exit status 2.

    Raises
    ------
    SystemExit
        Always: 0 on success, 2 on a refused input or usage, 1 on an unexpected failure.
    """
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="reunite", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:  # "reunite", "reunite labs": the help, as asked
        print(exc.ctx.get_help() if exc.ctx else exc.format_message())
        raise SystemExit(EXIT_REFUSED) from None
    except click_errors.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "reunite"
        message = exc.format_message().replace("Value error, ", "").rstrip(".")
        _say_error(message if "fix:" in message else f"{message}; fix: see {where} --help")
        raise SystemExit(EXIT_REFUSED) from None
    except typer.Abort:
        _say_error("aborted")
        raise SystemExit(EXIT_FAILED) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
