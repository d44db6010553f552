"""The case managers' web workbench: the review queue, a pair's evidence, decisions that last.

A FastAPI application (:func:`workbench.app.create_app`) with Jinja2 templates and gettext
catalogues (domain ``workbench``, :mod:`kinship.i18n`). It reads the store
(:class:`kinship.store.Store`), calls :mod:`kinship` for everything computed (per-locus detail,
conclusion wording) and starts the ingest in the background; it does no kinship math itself.

Modules: :mod:`~workbench.settings` (configuration from the environment),
:mod:`~workbench.auth` (passwords, sessions, CSRF, roles, lockout),
:mod:`~workbench.review` (the queue, conflict flags and the verbal scale),
:mod:`~workbench.decisions` (a pair's state from the append-only audit),
:mod:`~workbench.evidence` (a pair's evidence page), :mod:`~workbench.jobs` (uploads),
:mod:`~workbench.app` (routes) and :mod:`~workbench.cli` (``scripts/serve``, the first supervisor).
"""
