"""Reunite's kinship library: STR profiles, frequency tables, mutation models, pedigree
likelihood ratios, the all-pairs matching kernel and ranking.

The library never imports prefect; orchestration lives in ``flows/``.
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
