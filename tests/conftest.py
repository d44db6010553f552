"""Test-suite options: tests marked ``slow`` run only when asked for (``-m slow``)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow validation: run with `scripts/test -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
