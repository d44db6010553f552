"""Workbench test data: the demo batch run through the real pipeline once per session (a
temporary Prefect harness, as the flow tests), copied into each test's own store; users of
every role; a signed-in test client.

The demo lab is registered with a Chinese display name (a lab catalogue name may be Chinese).
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from pathlib import Path

import pytest

# as tests/flows/conftest.py: set before anything imports prefect
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="reunite-prefect-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"
PASSWORD = "correct horse battery staple"
#: Users of the tests: login -> (role, lab, locale).
USERS = {
    "cm1": ("case_manager", None, "zh_CN"),
    "cm2": ("case_manager", None, "en"),
    "sup1": ("supervisor", None, "en"),
    "sup2": ("supervisor", None, "zh_CN"),
    "aud1": ("auditor", None, "en"),
    "lab1": ("lab_staff", "DEMO-LAB", "zh_CN"),
}
LAB_NAME = "演示实验室（合成批次）"


@pytest.fixture(scope="session")
def prefect_api():
    """A temporary Prefect API for the flows these tests run (heartbeats and the task-run recorder off)."""
    from prefect.settings import (PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
                                  PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED, temporary_settings)
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                             PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED: False}):
        with prefect_test_harness(server_startup_timeout=90):
            yield


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory, prefect_api) -> Path:
    """A store holding the demo batch and one full match run, with the test users."""
    from flows.pipeline import pipeline
    from kinship.store import Store
    from workbench import auth

    tmp = tmp_path_factory.mktemp("workbench-demo")
    batches = [{"export": str(DEMO / f"{name}.txt"), "manifest": str(DEMO / f"{name}_manifest.csv"), "lab": "DEMO-LAB"}
               for name in ("references", "candidates")]
    store = tmp / "demo.sqlite"
    pipeline(batches=batches, store=str(store), out_dir=str(tmp / "out"), labs={"DEMO-LAB": LAB_NAME})
    hashed = auth.hash_password(PASSWORD)
    with Store(store) as s:
        for login, (role, lab, locale) in USERS.items():
            s.create_user(login, role=role, lab=lab, password_hash=hashed, created_by="cli", locale=locale)
    return store


@pytest.fixture
def demo_store(demo_master, tmp_path) -> str:
    """This test's own copy of the demo store."""
    target = tmp_path / "store.sqlite"
    source, copy = sqlite3.connect(demo_master), sqlite3.connect(target)  # the WAL's pages too
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    return str(target)


@pytest.fixture
def app(demo_store, tmp_path):
    from workbench.app import create_app
    from workbench.settings import Settings

    return create_app(Settings(store=demo_store, uploads=tmp_path / "uploads"))


def sign_in(app, login: str):
    """A TestClient signed in as ``login``; its ``csrf`` attribute is the session's CSRF token."""
    from fastapi.testclient import TestClient

    client = TestClient(app)
    page = client.get("/login")
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"login": login, "password": PASSWORD, "form_token": token, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    home = client.get("/queue" if USERS[login][0] != "lab_staff" else "/upload")
    client.csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
    return client
