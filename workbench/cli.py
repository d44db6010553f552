"""``scripts/serve``: start the workbench, or create its first supervisor.

    scripts/serve [--store PATH_OR_URL] [--host 127.0.0.1] [--port 8000]
    scripts/serve create-supervisor LOGIN [--store PATH_OR_URL] [--locale zh_CN]   # asks for the password

The password is read twice without echo (or once from ``REUNITE_WORKBENCH_PASSWORD``, for scripted
set-ups); it is never printed or logged. Both commands refuse a store that does not exist (``reunite
init`` creates one), so a mistyped ``--store`` never serves or fills a new, empty store.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from kinship.i18n import LOCALES

__all__ = ["main"]


def _create_supervisor(args) -> int:
    from kinship.errors import StoreError
    from kinship.store import Store
    from workbench import auth

    from flows.cli import existing_store
    from kinship.errors import ReuniteInputError

    try:
        location = existing_store(args.store)  # a mistyped --store is refused: reunite init makes a store
        auth.validate_login(args.login)
        password = os.environ.get("REUNITE_WORKBENCH_PASSWORD")
        if not password:
            password = getpass.getpass("password (12 or more characters): ")
            if getpass.getpass("the same password again: ") != password:
                raise ValueError("the two passwords differ; nothing was created; fix: run the command again")
        auth.validate_password(password)
        with Store(location) as store:
            store.create_user(args.login, role="supervisor", password_hash=auth.hash_password(password),
                              created_by="cli", locale=args.locale)
    except (ValueError, StoreError, ReuniteInputError) as exc:
        print(f"scripts/serve create-supervisor: {exc}", file=sys.stderr)
        return 2
    print(f"supervisor {args.login} created; sign in at the workbench and add the other users on its Users page")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["create-supervisor"]:
        p = argparse.ArgumentParser(prog="scripts/serve create-supervisor", description="Create a supervisor.")
        p.add_argument("login", help="pseudonymous ASCII login (2-64 letters, digits, . _ -)")
        p.add_argument("--store", help="SQLite path or SQLAlchemy URL (default $REUNITE_STORE, else var/reunite.sqlite)")
        p.add_argument("--locale", default="zh_CN", choices=LOCALES, help="language of the user's pages")
        return _create_supervisor(p.parse_args(argv[1:]))
    p = argparse.ArgumentParser(prog="scripts/serve", description="Start the case managers' workbench.")
    p.add_argument("--store", help="SQLite path or SQLAlchemy URL (default $REUNITE_STORE, else var/reunite.sqlite)")
    p.add_argument("--host", help="address to bind (default $REUNITE_WORKBENCH_HOST, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default $REUNITE_WORKBENCH_PORT, else 8000)")
    args = p.parse_args(argv)
    import uvicorn

    from workbench.app import create_app
    from workbench.settings import Settings

    from flows.cli import existing_store
    from kinship.errors import ReuniteInputError

    try:  # the store must exist: a mistyped --store would otherwise serve a new, empty store
        store = existing_store(args.store)
    except ReuniteInputError as exc:
        print(f"scripts/serve: {exc}", file=sys.stderr)
        return 2
    settings = Settings()
    overrides = {k: v for k, v in (("store", store), ("host", args.host), ("port", args.port)) if v}
    settings = Settings(**{**settings.__dict__, **overrides})
    # proxy_headers: behind the TLS reverse proxy on this machine, the client's address and scheme
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, proxy_headers=True,
                forwarded_allow_ips="127.0.0.1", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
