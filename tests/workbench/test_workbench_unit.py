"""The workbench without a match run: store tables, passwords, lockout, sessions, CSRF, roles,
the catalogues and the decision rules."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kinship.errors import StoreError
from kinship.i18n import translations
from kinship.store import Store
from workbench import auth
from workbench.app import COOKIE, create_app
from workbench.decisions import PairState, check_action, pair_state
from workbench.review import verbal_scale
from workbench.settings import Settings
from workbench.text import msgids, python_msgids, template_msgids

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "wb.sqlite"
    with Store(path) as s:
        s.register_lab("LAB-A", "北京市公安局物证鉴定中心")
        for login, role, lab in (("cm1", "case_manager", None), ("sup1", "supervisor", None), ("lab1", "lab_staff", "LAB-A"),
                                 ("aud1", "auditor", None)):
            s.create_user(login, role=role, lab=lab, password_hash=auth.hash_password(PASSWORD), created_by="cli")
    return str(path)


def _login(client: TestClient, login: str, password: str = PASSWORD, **extra):
    token = re.search(r'name="form_token" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data={"login": login, "password": password, "form_token": token, "next": "/", **extra},
                       follow_redirects=False)


def test_passwords_are_stored_as_argon2_hashes_only(store_path):
    with Store(store_path) as s:
        row = s.user("cm1")
        assert row["password_hash"].startswith("$argon2id$") and PASSWORD not in row["password_hash"]
        assert "password_hash" not in s.list_users().columns
        with pytest.raises(StoreError, match="already exists"):
            s.create_user("cm1", role="auditor", password_hash="x", created_by="cli")
        with pytest.raises(StoreError, match="lab staff need a lab"):
            s.create_user("lab9", role="lab_staff", password_hash="x", created_by="cli")
        with pytest.raises(StoreError, match="role 'boss'"):
            s.create_user("x9", role="boss", password_hash="x", created_by="cli")


def test_five_failed_sign_ins_lock_the_account_for_fifteen_minutes(store_path):
    with Store(store_path) as s:
        for _ in range(4):
            assert auth.check_login(s, "cm1", "wrong password!!") == (None, "invalid")
        assert auth.check_login(s, "cm1", "wrong password!!") == (None, "locked")
        assert auth.check_login(s, "cm1", PASSWORD) == (None, "locked")  # even the right password
        later = datetime.now(timezone.utc) + timedelta(minutes=16)
        user, why = auth.check_login(s, "cm1", PASSWORD, now=later)
        assert user["login"] == "cm1" and why == ""
        assert s.user("cm1")["failed_logins"] == 0
        assert auth.check_login(s, "nobody", PASSWORD) == (None, "invalid")


def test_every_page_needs_a_sign_in_and_the_cookie_is_httponly_strict(store_path, tmp_path):
    app = create_app(Settings(store=store_path, uploads=tmp_path / "up", secure_cookies=True))
    client = TestClient(app, base_url="https://testserver")
    for path in ("/queue", "/pair/LAB-A/F-1/C-1", "/family/LAB-A/F-1", "/candidate/C-1", "/quarantine", "/upload",
                 "/users", "/audit", "/picklist.csv", "/quarantine.csv"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    r = _login(client, "cm1")
    cookie = r.headers["set-cookie"]
    assert COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    assert client.get("/queue").status_code == 200
    # a forged cookie is refused
    forged = TestClient(app, base_url="https://testserver", cookies={COOKIE: "abc.def"})
    assert forged.get("/queue", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_refused_and_the_login_form_needs_its_token(store_path, tmp_path):
    client = TestClient(create_app(Settings(store=store_path, uploads=tmp_path / "up")))
    assert _login(client, "cm1", "not the password").status_code == 401
    r = client.post("/login", data={"login": "cm1", "password": PASSWORD, "form_token": "forged", "next": "/"})
    assert r.status_code == 403


def test_sessions_expire_when_idle_and_end_on_sign_out(store_path, tmp_path):
    app = create_app(Settings(store=store_path, uploads=tmp_path / "up", idle_hours=8))
    client = TestClient(app)
    _login(client, "cm1")
    page = client.get("/queue")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    with Store(store_path) as s, s.engine.begin() as c:
        c.execute(sa.text("update workbench_sessions set last_seen = :t"),
                  {"t": (datetime.now(timezone.utc) - timedelta(hours=9)).replace(tzinfo=None)})
    assert client.get("/queue", follow_redirects=False).status_code == 303
    _login(client, "cm1")
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/queue").text).group(1)
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_every_post_checks_the_csrf_token(store_path, tmp_path):
    client = TestClient(create_app(Settings(store=store_path, uploads=tmp_path / "up")))
    _login(client, "sup1")
    r = client.post("/users", data={"csrf": "forged", "login": "new1", "password": "x" * 12, "role": "auditor"})
    assert r.status_code == 403
    r = client.post("/pair/LAB-A/F-1/C-1/decide", data={"action": "reject", "reason": "x"})
    assert r.status_code == 403
    r = client.post("/locale", data={"csrf": "forged", "locale": "zh_CN"})
    assert r.status_code == 403
    with Store(store_path) as s:
        assert s.user("new1") is None and s.list_decisions().empty


def test_roles_limit_the_pages(store_path, tmp_path):
    app = create_app(Settings(store=store_path, uploads=tmp_path / "up"))
    lab = TestClient(app)
    _login(lab, "lab1")
    assert lab.get("/queue").status_code == 403 and lab.get("/upload").status_code == 200
    assert lab.get("/users").status_code == 403
    aud = TestClient(app)
    _login(aud, "aud1")
    assert aud.get("/queue").status_code == 200 and aud.get("/audit").status_code == 200
    assert aud.get("/upload").status_code == 403 and aud.get("/users").status_code == 403
    sup = TestClient(app)
    _login(sup, "sup1")
    csrf = re.search(r'name="csrf" value="([^"]+)"', sup.get("/users").text).group(1)
    sup.post("/users", data={"csrf": csrf, "login": "cm7", "password": "p" * 12, "role": "case_manager", "locale": "zh_CN"})
    with Store(store_path) as s:
        assert s.user("cm7")["role"] == "case_manager" and s.user("cm7")["created_by"] == "sup1"


def test_the_login_page_follows_the_browser_language_and_a_user_their_choice(store_path, tmp_path):
    client = TestClient(create_app(Settings(store=store_path, uploads=tmp_path / "up")))
    assert "登录" in client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-GB"}).text
    assert "登录" in client.get("/login?lang=zh_CN").text
    _login(client, "cm1")
    page = client.get("/queue")
    assert "Review queue" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/locale", data={"csrf": csrf, "locale": "zh_CN", "back": "/queue"})
    assert "待复核列表" in client.get("/queue").text
    with Store(store_path) as s:
        assert s.user("cm1")["locale"] == "zh_CN"


def test_decisions_are_append_only_rows(store_path):
    with Store(store_path) as s:
        first = s.record_decision(lab="LAB-A", family_id="F-1", candidate_id="C-1", action="reject", reason="r",
                                  run_id="run-1", evidence="c:1 f:2 n:15", decided_by="cm1")
        second = s.record_decision(lab="LAB-A", family_id="F-1", candidate_id="C-1", action="reopen", reason="r2",
                                   run_id="run-1", evidence="c:1 f:2 n:15", decided_by="sup1")
        assert second > first
        assert s.list_decisions(lab="LAB-A", family_id="F-1", candidate_id="C-1")["action"].tolist() == ["reject", "reopen"]
        with pytest.raises(StoreError, match="action 'delete'"):
            s.record_decision(lab="L", family_id="F", candidate_id="C", action="delete", reason="r", run_id="x",
                              evidence="e", decided_by="cm1")


def test_a_confirmation_needs_two_people():
    cm, sup, sup2 = ({"login": n, "role": r} for n, r in (("cm1", "case_manager"), ("sup1", "supervisor"), ("sup2", "supervisor")))
    open_ = PairState()
    assert check_action(cm, "confirm", open_, reason="x", retest="") == "Only a supervisor may confirm a pair."
    assert check_action(sup, "confirm", open_, reason="x", retest="") == "A confirmation must first be proposed by a case manager."
    proposed = pair_state([{"action": "propose_confirm", "evidence": "e", "decided_by": "sup1"}], "e")
    assert check_action(sup, "confirm", proposed, reason="x", retest="").startswith("A confirmation needs two people")
    assert check_action(sup2, "confirm", proposed, reason="x", retest="") is None
    assert check_action(cm, "reject", open_, reason=" ", retest="") == "Give a reason for the decision."
    assert check_action(cm, "retest", open_, reason="weak", retest="") == "Name the loci or relatives to type for the re-test."
    confirmed = pair_state([{"action": "propose_confirm", "evidence": "e", "decided_by": "cm1"},
                            {"action": "confirm", "evidence": "e", "decided_by": "sup1"}], "e")
    assert confirmed.status == "confirmed"
    assert check_action(cm, "reject", confirmed, reason="x", retest="").startswith("This pair is confirmed")


def test_a_rejection_stands_until_the_evidence_changes():
    rows = [{"action": "reject", "evidence": "c:aa f:bb n:15", "decided_by": "cm1"}]
    assert pair_state(rows, "c:aa f:bb n:15").status == "rejected"
    changed = pair_state(rows, "c:aa f:cc n:18")
    assert changed.status == "reopened"
    assert [m for m, _ in changed.reopened_because] == [
        "the family's references changed (relatives or loci typed since)", "more loci compared (%(then)s then, %(now)s now)"]
    assert pair_state(rows, None).status == "rejected"  # the pair was not kept: nothing to compare


def test_verbal_scale_bands_are_enfsi_2015():
    assert [verbal_scale(x) for x in (0.0, 0.5, 1.5, 2.5, 3.5, 5.0, 6.5, -1.0)] == [
        "no support either way", "weak support", "moderate support", "moderately strong support", "strong support",
        "very strong support", "extremely strong support", "supports unrelated"]


def test_both_catalogues_translate_every_workbench_msgid():
    # independent of workbench.text's own reading: every _("...") literal in the templates
    pattern = re.compile(r"""_\(\s*"([^"]+)"|_\(\s*'([^']+)'""")
    literal = set()
    for path in (ROOT / "workbench" / "templates").glob("*.html"):
        literal |= {a or b for a, b in pattern.findall(path.read_text(encoding="utf-8"))}
    assert literal and literal <= template_msgids()
    wanted = literal | python_msgids()
    assert len(wanted) > 200
    for locale in ("en", "zh_CN"):
        catalogue = translations("workbench", locale)
        untranslated = sorted(m for m in wanted if m not in catalogue._catalog or not catalogue._catalog[m])
        assert not untranslated, (locale, untranslated[:10])
    zh = translations("workbench", "zh_CN")
    assert zh.gettext("Review queue") == "待复核列表" and zh.gettext("retest") == "要求补充检测"
    # placeholders survive translation
    for m in wanted:
        assert set(re.findall(r"%\((\w+)\)s", m)) == set(re.findall(r"%\((\w+)\)s", zh.gettext(m))), m


def test_the_catalogue_files_are_generated_from_their_source(tmp_path, monkeypatch):
    from babel.messages.pofile import read_po

    from workbench.catalogue_source import ZH

    with (ROOT / "kinship/locale/zh_CN/LC_MESSAGES/workbench.po").open("rb") as f:
        po = read_po(f)
    assert {m.id: m.string for m in po if m.id} == {m: ZH[m] for m in msgids()}


def test_sign_in_never_redirects_off_the_site(store_path, tmp_path):
    client = TestClient(create_app(Settings(store=store_path, uploads=tmp_path / "up")))
    for target in ("//evil.example", "/\\evil.example", "https://evil.example/"):
        token = re.search(r'name="form_token" value="([^"]+)"', client.get("/login").text).group(1)
        r = client.post("/login", data={"login": "cm1", "password": PASSWORD, "form_token": token, "next": target},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/queue", target


def test_the_cli_creates_the_first_supervisor(tmp_path, monkeypatch, capsys):
    from workbench.cli import main

    store = str(tmp_path / "cli.sqlite")
    monkeypatch.setenv("REUNITE_WORKBENCH_PASSWORD", PASSWORD)
    assert main(["create-supervisor", "sup1", "--store", store]) == 2  # no such store: made by reunite init only
    assert main(["--store", store]) == 2  # nor served
    assert not Path(store).exists()
    Store(store).close()  # what reunite init does
    assert main(["create-supervisor", "sup1", "--store", store]) == 0
    assert PASSWORD not in capsys.readouterr().out
    with Store(store) as s:
        user = s.user("sup1")
        assert user["role"] == "supervisor" and user["locale"] == "zh_CN" and user["created_by"] == "cli"
        assert auth.check_login(s, "sup1", PASSWORD)[0] is not None
    assert main(["create-supervisor", "sup1", "--store", store]) == 2  # exists
    assert main(["create-supervisor", "张伟", "--store", store]) == 2  # not a pseudonymous ASCII login
    monkeypatch.setenv("REUNITE_WORKBENCH_PASSWORD", "short")
    assert main(["create-supervisor", "sup2", "--store", store]) == 2
    monkeypatch.delenv("REUNITE_WORKBENCH_PASSWORD")  # asked twice at the terminal: they must agree
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["create-supervisor", "sup3", "--store", store]) == 2
    with Store(store) as s:
        assert s.user("sup3") is None
