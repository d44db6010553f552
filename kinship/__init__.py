"""Reunite's kinship library, in layers; each imports only from the layers above it in this list
(``tests/unit/test_layers.py`` checks it):

1. :mod:`kinship.genetics` - the data model: loci, alleles, genotype encoding, frequency tables,
   mutation models, relationships;
2. :mod:`kinship.likelihood` - the math: parent tables, pedigrees and peeling, θ, κ, calibration;
3. :mod:`kinship.matching` - the engine: family compiler, reference and streaming kernels, ranking;
4. :mod:`kinship.io` (readers of lab formats), :mod:`kinship.store` (SQLite / PostgreSQL, with its
   Alembic migrations) and :mod:`kinship.report` (tables, HTML report, summaries);
5. :mod:`kinship.app` - the application: ingestion rules and one match run.

:mod:`kinship.errors` holds every error class, for all layers. The library never imports
prefect; orchestration lives in ``flows/``.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

__version__ = "0.1.0"

__all__ = ["__version__", "code_version"]


@lru_cache(maxsize=1)
def code_version() -> str:
    """The code version recorded in provenance: ``__version__`` plus the git commit of the
    checkout it runs from (``+g<commit>``, ``.dirty`` with uncommitted changes), or plain
    ``__version__`` for an installed package outside a git checkout.

    A match run whose previous run has another code version is a full re-match.
    """
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "kinship", "schemas"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}" + (".dirty" if dirty else "")
