"""Versioned schemas of every table that crosses a boundary (data files read by ``kinship``)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

__all__ = ["load_schema"]


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """Return the parsed JSON schema file ``schemas/<name>.json``."""
    return json.loads(resources.files("schemas").joinpath(f"{name}.json").read_text(encoding="utf-8"))
