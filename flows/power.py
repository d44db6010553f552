"""``scripts/flow power LAB/FAMILY``: how likely a family is to find its child, and which relative to type next.

No Prefect (an on-demand question about one family, like the store administration of
:mod:`flows.catalogue`): one call of :func:`kinship.app.power.store_family_power` (cached in
the store by the family's content and the parameters) and one of
:func:`kinship.report.markdown.family_power_markdown` for what is printed::

    scripts/flow power BJ-PSB/F-0001 [--store PATH_OR_URL] [--no-cache] [--theta 0 ...]

The match parameters are the match command's options (``scripts/flow match --help``); the
power is computed at theta = 0 only. A refused request prints one ``error: ...`` line and exits
with status 2.
"""

from __future__ import annotations

import argparse

from flows.console import parsed_with_parameters, refusals_in_one_line
from flows.settings import store_location
from kinship.app.parameters import add_arguments
from kinship.app.power import store_family_power
from kinship.report.markdown import family_power_markdown
from kinship.store import Store


def command_line() -> argparse.ArgumentParser:
    """The ``scripts/flow power`` parser."""
    parser = argparse.ArgumentParser(prog="scripts/flow power", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("family", help="LAB/FAMILY, e.g. BJ-PSB/F-0001")
    parser.add_argument("--store", help="SQLite path or SQLAlchemy URL (default $REUNITE_STORE, else var/reunite.sqlite)")
    parser.add_argument("--no-cache", action="store_true", help="recompute even when the store holds a result")
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> str:
    """Compute (or read) one family's power; return the text printed."""
    args, parameters = parsed_with_parameters(command_line(), argv)
    with refusals_in_one_line(), Store(store_location(args.store)) as store:
        result, cached = store_family_power(store, args.family, parameters, use_cache=not args.no_cache)
    text = family_power_markdown([result.as_dict()])
    return text + ("\n(from the store's cache)" if cached else "")


if __name__ == "__main__":
    # `python -m flows.power` is `reunite power` (flows/cli.py): one command line, one output
    import sys

    from flows.cli import main as reunite

    reunite(["power", *sys.argv[1:]])
