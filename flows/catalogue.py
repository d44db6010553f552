"""Store administration from the command line: labs, kits, batches, samples (no flow, no Prefect).

Through ``scripts/flow``::

    scripts/flow labs register CODE --name "北京市公安局物证鉴定中心"
    scripts/flow labs list
    scripts/flow kits register "Goldeneye 20A" --loci D3S1358,vWA,FGA,...
    scripts/flow kits list
    scripts/flow batches list
    scripts/flow batches retract FILE_ID --by OPERATOR_ID --why mistyped_lab [--ref TICKET]
    scripts/flow samples erase SAMPLE_ID --by OPERATOR_ID --why consent_withdrawn [--ref TICKET] [--out-dir DIR]

Every command takes ``--store`` (else ``$REUNITE_STORE``, else ``var/reunite.sqlite``). Each one
is one call of :class:`kinship.store.Store`; a refused request prints its one-line reason and
exits with status 2. ``reunite labs|kits|batches|samples`` (:mod:`flows.cli`) runs the same
:func:`outcome`; this argparse front end stays for ``python -m flows.catalogue``.

``--why`` is a reason code (:data:`kinship.store.batches.REASON_CODES`: consent_withdrawn,
mistyped_lab, wrong_file, duplicate_submission, lab_request, court_order, other), never free
text; ``--ref`` an optional ticket or case id (ASCII, the id pattern). ``samples erase`` also
deletes the sample's stored match results, and prints the folders of earlier match runs under
``--out-dir`` (else ``$REUNITE_OUT``, else ``out/``) that still show its genotypes: delete them.
Backups are not rewritten: a backup made before the erasure holds the sample until the
operator's backup retention policy deletes it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flows.settings import out_location, store_location
from kinship.errors import ReuniteInputError
from kinship.store import Store
from kinship.store.batches import REASON_CODES


def _loci(values: list[str]) -> list[str]:
    return [locus for value in values for locus in value.replace(",", " ").split()]


def run(args: argparse.Namespace) -> str:
    """Do one command on the store; return what to print."""
    return outcome(args)[1]


def _records(frame) -> list[dict]:
    """A frame's rows as JSON-ready records (timestamps as ISO text, missing values as None)."""
    return [{k: (None if v is None or v != v else v.isoformat() if hasattr(v, "isoformat") else
                 v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")]


def outcome(args: argparse.Namespace) -> tuple[object, str]:
    """Do one command on the store; return ``(data, text)``: what ``--json`` prints (rows or the
    store's answer, JSON-ready) and the short text a person reads."""
    with Store(store_location(args.store)) as store:
        if args.group == "labs" and args.command == "register":
            row = store.register_lab(args.code, args.name)
            return row, f"lab {row['code']} registered ({row['name']})"
        if args.group == "labs":
            labs = store.labs()[["code", "name"]]
            return _records(labs), labs.to_string(index=False) if len(labs) else "no lab registered yet"
        if args.group == "kits" and args.command == "register":
            row = store.register_kit(args.name, _loci(args.loci))
            return row, f"kit {row['name']} registered ({len(row['loci'].split(','))} loci: {row['loci']})"
        if args.group == "kits":
            kits = store.kits()[["name", "source", "n_loci"]]
            return _records(kits), kits.to_string(index=False)
        if args.group == "batches" and args.command == "retract":
            row = store.retract_batch(args.file_id, by=args.by, why=args.why, ref=args.ref)
            return row, (f"batch {row['file_id']} retracted: {row['n_genotypes_removed']} genotypes and "
                         f"{row['n_samples_removed']} samples left the store; the next match run is a full re-match")
        if args.group == "batches":
            cols = ["file_id", "received_at", "lab", "kit", "fmt", "n_samples_landed", "n_quarantined", "status"]
            batches = store.list_batches()[cols]
            return _records(batches), batches.to_string(index=False) if len(batches) else "no batch ingested yet"
        out_dir = out_location(args.out_dir)
        row = store.erase_sample(args.sample_id, by=args.by, why=args.why, ref=args.ref, out_dir=out_dir)
        lines = [(f"sample erased: {row['n_genotypes_removed']} genotypes, {row['n_records_removed']} "
                  f"quarantine/warning records and {row['n_matches_removed']} match results deleted; the audit "
                  "keeps the id, time, operator and reason code")]
        if row["run_folders"]:
            lines.append(f"{len(row['run_folders'])} earlier run folders still show the sample; delete them:")
            lines += [f"  {folder}" for folder in row["run_folders"]]
        missing = sorted(set(row["run_ids"]) - {Path(folder).name for folder in row["run_folders"]})
        if missing:
            lines.append(f"runs that compared the sample, with no folder under {out_dir} (look where their "
                         f"outputs were written and delete them): {', '.join(missing)}")
        lines.append("backups are not rewritten: a backup made before now holds the sample until your backup "
                     "retention policy deletes it")
        return row, "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    top = argparse.ArgumentParser(prog="scripts/flow", description=__doc__.split("\n")[0])
    groups = top.add_subparsers(dest="group", required=True)

    def command(group, name, help_):
        p = group.add_parser(name, help=help_)
        p.add_argument("--store", help="SQLite path or SQLAlchemy URL (default $REUNITE_STORE, var/reunite.sqlite)")
        return p

    labs = groups.add_parser("labs", help="the registered labs").add_subparsers(dest="command", required=True)
    p = command(labs, "register", "register a lab: an ASCII code and a display name (may be Chinese)")
    p.add_argument("code", help="lab code, ASCII (letters, digits, ._:/+-), e.g. BJ-PSB")
    p.add_argument("--name", required=True, help="display name, e.g. 北京市公安局物证鉴定中心")
    command(labs, "list", "list the registered labs")

    kits = groups.add_parser("kits", help="the kit catalogue").add_subparsers(dest="command", required=True)
    p = command(kits, "register", "register a kit by name and loci")
    p.add_argument("name", help="kit name, e.g. 'Goldeneye 20A'")
    p.add_argument("--loci", nargs="+", required=True, help="the loci it types (comma- or space-separated)")
    command(kits, "list", "list the bundled and registered kits")

    batches = groups.add_parser("batches", help="ingested batches").add_subparsers(dest="command", required=True)
    command(batches, "list", "list the batches with their status")
    p = command(batches, "retract", "retract a batch: its samples leave the store and matching")
    p.add_argument("file_id", type=int, help="the batch's file_id (batches list)")
    _reason_options(p)

    samples = groups.add_parser("samples", help="stored samples").add_subparsers(dest="command", required=True)
    p = command(samples, "erase", "erase a sample's genotypes on withdrawn consent (PIPL); an audit row stays")
    p.add_argument("sample_id")
    _reason_options(p)
    p.add_argument("--out-dir", help="the match runs' output folder, searched for run folders that show the "
                                     "sample (default $REUNITE_OUT, else out/)")
    return top


def _reason_code(value: str) -> str:
    """``value`` if it is a reason code; else an argparse error that does not repeat it (it may be a name)."""
    if value not in REASON_CODES:
        raise argparse.ArgumentTypeError(
            f"the reason (a value of {len(value)} characters) is not a reason code; expected one of "
            f"{', '.join(sorted(REASON_CODES))}; fix: give the code, and a case or ticket id with --ref")
    return value


def _reason_options(p: argparse.ArgumentParser) -> None:
    """``--by``, ``--why CODE`` and ``--ref`` of a retraction or an erasure."""
    p.add_argument("--by", required=True, help="operator id")
    p.add_argument("--why", required=True, choices=sorted(REASON_CODES), metavar="CODE", type=_reason_code,
                   help="reason code: " + "; ".join(f"{k}: {v}" for k, v in REASON_CODES.items()))
    p.add_argument("--ref", help="ticket or case id, ASCII (letters, digits, ._:/+-), e.g. REQ-2026-118; "
                                 "never names or contact details")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the command, print its result; 2 on a refused request."""
    args = parser().parse_args(argv)
    try:
        print(run(args))
    except ReuniteInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    # `python -m flows.catalogue` is `reunite labs|kits|batches|samples` (flows/cli.py): one command line, one output
    from flows.cli import main as reunite

    reunite(sys.argv[1:])
