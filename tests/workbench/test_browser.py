"""The workbench in a real browser: Playwright driving the system Chromium (Debian's package,
installed by ``.ci/run``; no browser download). Skipped without /usr/bin/chromium, except under
``CI=true``, where that fails.

One walk through, as a case manager who reads Chinese: sign in, filter the queue, open a pair's
evidence, record decisions (one confirmed by a second person, a supervisor), a lab's upload
with a bad row, a re-match that keeps the decisions and raises a conflict flag, the case report,
the language switch, and a hostile sample id that stays text. With
``REUNITE_UPDATE_SCREENSHOTS=1`` the pages' screenshots are written to docs/screenshots/.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from kinship.store import Store
from tests.workbench.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("REUNITE_CHROMIUM", "/usr/bin/chromium"))
pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but there is no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
        pytest.skip(reason=f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def server(app):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def _shots(tmp_path) -> Path:
    if os.environ.get("REUNITE_UPDATE_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


def _sign_in(page, base: str, login: str) -> None:
    page.goto(f"{base}/queue")  # not signed in: sent to the login page
    assert "/login" in page.url
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def _decide(page, action: str, reason: str, retest: str = "") -> None:
    page.check(f"input[name=action][value={action}]")
    page.fill("input[name=reason]", reason)
    if retest:
        page.fill("input[name=retest]", retest)
    page.click("#record-decision")


def test_a_case_manager_works_the_queue_in_chinese(browser, server, demo_store, tmp_path):
    from flows.match import match

    shots = _shots(tmp_path)
    dialogs = []
    zh = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = zh.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{server}/login")
    assert page.locator("h1").inner_text() == "登录"  # the browser's language on the login page
    page.screenshot(path=str(shots / "login.png"))
    _sign_in(page, server, "cm1")
    assert page.locator("h1").inner_text() == "待复核列表"
    assert "共 70 对" in page.content()
    page.screenshot(path=str(shots / "queue.png"))
    # filter: siblings only
    page.select_option("select[name=kind]", "siblings")
    page.click("#apply-filters")
    kinds = page.locator("#queue tbody tr td:nth-child(4)").all_inner_texts()
    assert kinds and set(kinds) == {"同胞"}
    # the evidence of the first siblings pair
    page.locator("#queue tbody tr").first.locator("a").first.click()
    assert page.locator("h1").inner_text().startswith("证据")
    assert "亲缘关系指数（KI）" in page.content() and page.locator("svg").count() == 1
    assert page.locator("#loci thead th").count() >= 7  # locus, candidate, two siblings, KI, log10, freq, ...
    page.screenshot(path=str(shots / "evidence.png"))
    sibling_pair = page.url
    _decide(page, "reject", "家属称为同父异母 <script>alert('x')</script>")
    assert "否定" in page.locator("#history").inner_text() and "已否定" in page.content()
    assert "<script>alert('x')</script>" in page.locator("#history").inner_text()  # shown as text, not run
    # propose a confirmation; a supervisor confirms
    page.goto(f"{server}/pair/DEMO-LAB/F-001/C-0003")
    _decide(page, "propose_confirm", "CPI 10^17，18 个基因座")
    sup = browser.new_context(locale="en-GB").new_page()
    _sign_in(sup, server, "sup1")
    sup.goto(f"{server}/pair/DEMO-LAB/F-001/C-0003")
    _decide(sup, "confirm", "confirming lab agrees")
    assert "confirmed" in sup.locator("#history").inner_text()
    # lab staff upload a batch: the same child sampled again (C-9001) and a row with a bad allele
    with Store(demo_store) as s:
        child = s.stored_profiles(["C-0003"])["C-0003"]
    export = tmp_path / "plate7.csv"
    rows = [f"C-9001,{locus},{a},{b}" for locus, (a, b, _) in sorted(child.items())] + ["C-9001,Penta E,12,x9"]
    export.write_text("sample_id,locus,allele_1,allele_2\n" + "\n".join(rows) + "\n")
    manifest = tmp_path / "plate7_manifest.csv"
    manifest.write_text("sample_id,role,family_id,relationship,sex\nC-9001,candidate,,,unknown\n")
    lab = browser.new_context(locale="zh-CN").new_page()
    _sign_in(lab, server, "lab1")
    lab.goto(f"{server}/upload")
    lab.select_option("select[name=fmt]", "tidy")
    lab.set_input_files("input[name=export]", str(export))
    lab.set_input_files("input[name=manifest]", str(manifest))
    lab.click("#start-upload")
    lab.wait_for_selector("#summary", timeout=60_000)  # the page polls until the background import is done
    assert "已完成" in lab.locator("#job-status").inner_text()
    lab.click("#see-quarantine")
    assert "x9" in lab.locator("#quarantine").inner_text()
    # the nightly re-match: decisions stay, the second sample of the reunited child is flagged
    match(store=demo_store, out_dir=str(tmp_path / "out"), full=True)
    page.goto(f"{server}/queue?flagged=1&status=all")
    flagged = page.locator("#queue").inner_text()
    assert "C-9001" in flagged and "该家庭已团聚" in flagged
    page.goto(f"{server}/queue?status=confirmed")
    assert "C-0003" in page.locator("#queue").inner_text() and "已确认" in page.locator("#queue").inner_text()
    page.goto(sibling_pair)
    assert "已否定" in page.content()  # same evidence: still rejected after the re-match
    # the case report, printable, in Chinese
    page.goto(f"{server}/pair/DEMO-LAB/F-001/C-0003/report")
    assert page.locator("#gbt-conclusion").inner_text() == "依据现有资料和DNA分析结果，支持被检父母是孩子的生物学父母。"
    page.emulate_media(media="print")
    page.screenshot(path=str(shots / "case_report.png"), full_page=True)
    page.emulate_media(media="screen")
    # a hostile sample id typed into the search stays text
    page.goto(f"{server}/queue")
    page.fill("input[name=q]", "<script>alert(1)</script>")
    page.click("#apply-filters")
    assert page.locator("input[name=q]").input_value() == "<script>alert(1)</script>"
    page.goto(f"{server}/candidate/<img src=x onerror=alert(2)>")
    assert "<img src=x onerror=alert(2)>" in page.locator("h1").inner_text()
    assert dialogs == []
    # the language switch
    page.goto(f"{server}/queue")
    page.select_option("select[name=locale]", "en")
    page.click("#set-language")
    assert page.locator("h1").inner_text() == "Review queue"
    page.goto(sibling_pair)  # the evidence page in English: the prior-0.5 figure says what it is not
    assert page.locator("h1").inner_text().startswith("Evidence")
    assert page.get_by_text("not the chance that this is the child's family").is_visible()
    page.screenshot(path=str(shots / "evidence_en.png"))
    with Store(demo_store) as s:
        assert s.user("cm1")["locale"] == "en"
        assert set(s.list_reads()["page"]) >= {"evidence", "case_report"}
