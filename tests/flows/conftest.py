"""One Prefect test harness for the whole flow-test session (a temporary ephemeral API).

The environment is set when this file is imported, before any test module imports prefect:
a temporary PREFECT_HOME, no analytics, no PREFECT_API_URL, a generous ephemeral start-up
timeout. Heartbeats and the task-run recorder are off in the harness (each costs 1-2 s per
flow call and neither is under test).
"""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="reunite-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings(
        {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED: False}
    ):
        with prefect_test_harness(server_startup_timeout=90):
            yield
