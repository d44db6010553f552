"""The workbench's tables (store v9, migration 0009) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from kinship.errors import StoreError


def test_users_sessions_decisions_and_reads_round_trip(store):
    store.create_user("sup1", role="supervisor", password_hash="$argon2id$v=19$x", created_by="cli", locale="zh_CN")
    store.create_user("lab1", role="lab_staff", lab="LAB-A", password_hash="$argon2id$v=19$y", created_by="sup1")
    assert store.user("sup1")["locale"] == "zh_CN" and store.user("sup1")["active"] is True
    assert store.user("lab1")["lab"] == "LAB-A" and store.user("nobody") is None
    assert store.list_users()["login"].tolist() == ["lab1", "sup1"]
    until = datetime(2027, 1, 1, 12, 0, tzinfo=timezone.utc)
    store.update_user("lab1", failed_logins=5, locked_until=until)
    assert store.user("lab1")["locked_until"] == until
    with pytest.raises(StoreError, match="does not exist"):
        store.update_user("nobody", failed_logins=1)
    store.create_session("a" * 64, "sup1", "csrf-token")
    assert store.session("a" * 64)["csrf_token"] == "csrf-token"
    assert store.delete_sessions(idle_before=datetime.now(timezone.utc) - timedelta(hours=1)) == 0
    assert store.delete_sessions(login="sup1") == 1 and store.session("a" * 64) is None
    ids = [store.record_decision(lab="LAB-A", family_id="F-1", candidate_id="C-1", action=a, reason="r", run_id="run-1",
                                 evidence="c:1 f:2 n:18", decided_by=who, retest=t)
           for a, who, t in (("retest", "sup1", "D2S441"), ("propose_confirm", "lab1", ""))]
    assert ids == sorted(ids)
    d = store.list_decisions(candidate_id="C-1")
    assert d["action"].tolist() == ["retest", "propose_confirm"] and d["retest"].tolist() == ["D2S441", ""]
    assert str(d["decided_at"].dt.tz) == "UTC"
    store.record_read(login="sup1", page="evidence", lab="LAB-A", family_id="F-1", candidate_id="C-1")
    assert store.list_reads()[["login", "page"]].values.tolist() == [["sup1", "evidence"]]


def test_a_decision_needs_a_known_user(store):
    with pytest.raises(sa.exc.IntegrityError):
        store.record_decision(lab="L", family_id="F", candidate_id="C", action="reject", reason="r", run_id="x",
                              evidence="e", decided_by="ghost")
