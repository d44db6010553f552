"""The workbench on the demo batch run through the real pipeline: the queue, a pair's evidence,
decisions that survive re-matching, conflict flags, an upload with a bad row, escaping."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest

from kinship.store import Store
from tests.workbench.conftest import LAB_NAME, sign_in
from workbench.review import QueueFilter, filter_queue, load_run_view


def _pairs_on_page(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="/pair/DEMO-LAB/([^/"]+)/([^/"]+)">', html)


def _decide(client, family: str, candidate: str, action: str, reason: str, retest: str = ""):
    return client.post(f"/pair/DEMO-LAB/{family}/{candidate}/decide",
                       data={"csrf": client.csrf, "action": action, "reason": reason, "retest": retest},
                       follow_redirects=False)


def _rematch(store: str, tmp_path, full: bool = True) -> None:
    from flows.match import match

    match(store=store, out_dir=str(tmp_path / "out"), full=full)


def test_the_queue_lists_supported_pairs_strongest_first_paged_and_filterable(app, demo_store):
    client = sign_in(app, "cm2")
    page = client.get("/queue")
    assert page.status_code == 200 and "70 pairs" in page.text and "page 1 of 3" in page.text
    with Store(demo_store) as s:
        expected = filter_queue(load_run_view(s), QueueFilter())
    on_page = _pairs_on_page(page.text)
    assert on_page == list(zip(expected["family_id"], expected["candidate_id"]))[:25]
    posterior = expected["posterior"].round(6).tolist()
    assert posterior == sorted(posterior, reverse=True)
    assert LAB_NAME in page.text  # the lab's Chinese display name
    assert "ENFSI" in page.text and "GB/T 37223-2018" in page.text
    assert len(_pairs_on_page(client.get("/queue?page=3").text)) == 70 - 50
    siblings = client.get("/queue?kind=siblings")
    kinds = expected.set_index(["family_id", "candidate_id"])["family_kind"]
    assert _pairs_on_page(siblings.text) and all(kinds[p] == "siblings" for p in _pairs_on_page(siblings.text))
    assert _pairs_on_page(client.get("/queue?q=f-075").text) == [("F-075", "C-0050")]
    assert _pairs_on_page(client.get("/queue?new=1").text) == on_page  # the first run: every pair is new


def test_the_evidence_page_shows_every_relative_and_the_per_locus_lr(app, demo_store):
    client = sign_in(app, "cm2")
    page = client.get("/pair/DEMO-LAB/F-075/C-0050")  # a siblings-only family
    assert page.status_code == 200
    html = page.text
    assert "R-0038 (full sibling 1)" in html and "R-0085 (full sibling 2)" in html
    assert "kinship index (KI)" in html and "not a paternity index" in html
    assert "<svg" in html and "missing child" in html
    with Store(demo_store) as s:
        view = load_run_view(s)
        m = view.matches.set_index(["family_id", "candidate_id"]).loc[("F-075", "C-0050")]
        profile = s.stored_profiles(["R-0038"])["R-0038"]
        reads = s.list_reads()
    a, b, _ = profile["CSF1PO"]
    assert f"<td>{a}/{b}</td>" in html  # the sibling's genotype beside the candidate's
    total = float(re.search(r"<th>Total</th><td[^>]*></td><td class=\"num\">(-?[0-9.]+)</td>", html).group(1))
    assert total == pytest.approx(m["log10_lr"], abs=5e-4)  # the per-locus rows add up to the run's LR
    assert "norstr-2023/East Asia" in html and "stepwise" in html
    assert reads["page"].tolist() == ["evidence"] and reads["login"].tolist() == ["cm2"]
    # a parent family with inconsistent loci: which allele cannot come from which parent
    couple = view.matches[(view.matches["family_kind"] == "couple") & (view.matches["n_inconsistent"] > 0)].iloc[0]
    html = client.get(f"/pair/DEMO-LAB/{couple['family_id']}/{couple['candidate_id']}").text
    assert "combined paternity index (CPI)" in html
    assert re.search(r"can come from neither parent|cannot come one from each parent|can come from the (father|mother)", html)


def test_decisions_survive_a_full_rematch_and_a_confirmation_takes_two_people(app, demo_store, tmp_path):
    cm, sup = sign_in(app, "cm1"), sign_in(app, "sup1")
    assert _decide(sup, "F-001", "C-0003", "confirm", "lab agrees").status_code == 303
    assert "确认须先由案件管理员提出" in cm.get(_decide(sup, "F-001", "C-0003", "confirm", "x").headers["location"]).text
    _decide(cm, "F-001", "C-0003", "propose_confirm", "CPI 10^17, 18 loci")
    _decide(cm, "F-075", "C-0050", "reject", "the siblings are half siblings <b>per interview</b>")
    _decide(cm, "F-073", "C-0082", "retest", "weak", retest="D2S441, the mother")
    refused = _decide(cm, "F-001", "C-0003", "confirm", "me too")  # a case manager may not confirm
    assert "只有审核人可以确认比对对" in cm.get(refused.headers["location"]).text
    _decide(sup, "F-001", "C-0003", "confirm", "lab agrees")
    sup2 = sign_in(app, "sup2")
    _decide(sup2, "F-005", "C-0005", "propose_confirm", "strong")
    page = sup2.get(_decide(sup2, "F-005", "C-0005", "confirm", "self").headers["location"]).text
    assert "确认须由两人完成" in page  # the proposer cannot confirm
    _rematch(demo_store, tmp_path, full=True)
    with Store(demo_store) as s:
        view = load_run_view(s)
        assert view.previous is not None  # a second run
        assert view.states[("DEMO-LAB", "F-001", "C-0003")].status == "confirmed"
        assert view.states[("DEMO-LAB", "F-075", "C-0050")].status == "rejected"  # same evidence: stays rejected
        assert view.states[("DEMO-LAB", "F-073", "C-0082")].status == "retest"
        assert view.states[("DEMO-LAB", "F-005", "C-0005")].status == "proposed"
        assert s.list_decisions()["decided_by"].tolist() == ["cm1", "cm1", "cm1", "sup1", "sup2"]
    queue = cm.get("/queue").text
    assert ("F-001", "C-0003") not in _pairs_on_page(queue) and ("F-075", "C-0050") not in _pairs_on_page(queue)
    assert "共 68 对" in queue
    assert ("F-001", "C-0003") in _pairs_on_page(cm.get("/queue?status=confirmed").text)
    history = cm.get("/pair/DEMO-LAB/F-075/C-0050").text
    assert "&lt;b&gt;per interview&lt;/b&gt;" in history and "已否定" in history
    # the case report, in Chinese, with the GB/T wording, the RCP and signature lines
    report = cm.get("/pair/DEMO-LAB/F-001/C-0003/report").text
    assert "依据现有资料和DNA分析结果，支持被检父母是孩子的生物学父母。" in report
    assert "父权相对机会（RCP）" in report and "≥ 0.999999" in report and "复核实验室" in report
    assert "R-0121" in report and "R-0059" in report and LAB_NAME in report
    # the pick-list, with the reference sample ids
    rows = list(csv.DictReader(io.StringIO(cm.get("/picklist.csv?status=all").content.decode("utf-8-sig"))))
    first = next(r for r in rows if r["family_id"] == "F-001")
    assert first["reference_sample_ids"] == "R-0059 R-0121" and first["status"] == "已确认"
    assert first["conclusion"].startswith("依据现有资料") and float(first["rcp_prior_0.5"]) == pytest.approx(1.0)


def test_new_relatives_reopen_a_rejection_and_conflicts_are_flagged(app, demo_store, tmp_path):
    from kinship.app.ingest import ingest_batch

    cm, sup = sign_in(app, "cm1"), sign_in(app, "sup1")
    _decide(cm, "F-075", "C-0050", "reject", "not this family")
    _decide(cm, "F-001", "C-0003", "propose_confirm", "strong")
    _decide(sup, "F-001", "C-0003", "confirm", "lab agrees")
    with Store(demo_store) as s:  # a second typed sibling of F-075, and a second sample of child C-0003
        sib, child = s.stored_profiles(["R-0038"])["R-0038"], s.stored_profiles(["C-0003"])["C-0003"]
    export = tmp_path / "more.csv"
    lines = ["sample_id,locus,allele_1,allele_2"]
    lines += [f"R-9001,{locus},{a},{b}" for locus, (a, b, _) in sorted(sib.items())]
    lines += [f"C-9001,{locus},{a},{b}" for locus, (a, b, _) in sorted(child.items())]
    export.write_text("\n".join(lines) + "\n")
    manifest = tmp_path / "more_manifest.csv"
    manifest.write_text("sample_id,role,family_id,relationship,sex\nR-9001,reference,F-075,full_sibling,unknown\n"
                        "C-9001,candidate,,,unknown\n")
    with Store(demo_store) as s:
        summary = ingest_batch(s, export, manifest, lab="DEMO-LAB", fmt="tidy")
    assert summary.n_landed == len(lines) - 1
    _rematch(demo_store, tmp_path, full=False)
    with Store(demo_store) as s:
        view = load_run_view(s)
    state = view.states[("DEMO-LAB", "F-075", "C-0050")]
    assert state.status == "reopened"
    assert [m for m, _ in state.reopened_because][0] == "the family's references changed (relatives or loci typed since)"
    flags = view.matches.set_index(["family_id", "candidate_id"])["conflicts"]
    assert "family already reunited" in flags[("F-001", "C-9001")]
    assert "child already confirmed elsewhere" not in flags[("F-001", "C-0003")]
    page = cm.get("/queue?flagged=1").text
    assert ("F-001", "C-9001") in _pairs_on_page(page) and "该家庭已团聚" in page
    assert ("F-075", "C-0050") in _pairs_on_page(cm.get("/queue?q=F-075").text)  # back in the open queue
    assert "已重新开启" in cm.get("/pair/DEMO-LAB/F-075/C-0050").text


def test_a_retracted_batch_leaves_its_decisions_in_the_audit_marked_retracted(app, demo_store):
    cm, aud = sign_in(app, "cm1"), sign_in(app, "aud1")
    _decide(cm, "F-001", "C-0003", "reject", "test")
    with Store(demo_store) as s:
        batch = s.list_batches()
        s.retract_batch(int(batch.loc[batch["export_name"] == "candidates.txt", "file_id"].iloc[0]), by="sup1",
                        why="wrong_file")
        view = load_run_view(s)
        assert view.states[("DEMO-LAB", "F-001", "C-0003")].status == "retracted"
        assert len(s.list_decisions()) == 1
    assert "retracted" in aud.get("/audit").text


def test_an_upload_with_a_bad_row_is_ingested_in_the_background_and_quarantined(app, demo_store):
    lab = sign_in(app, "lab1")
    export = "sample_id,locus,allele_1,allele_2\nC-7001,D8S1179,12,13\nC-7001,TH01,6,9.3\nC-7001,FGA,21,banana\n"
    manifest = "sample_id,role,family_id,relationship,sex\nC-7001,candidate,,,male\n"
    r = lab.post("/upload", data={"csrf": lab.csrf, "fmt": "tidy", "lab": "ELSEWHERE"},
                 files={"export": ("plate.csv", export.encode()), "manifest": ("plate_manifest.csv", manifest.encode())},
                 follow_redirects=False)
    assert r.status_code == 303
    job_url = r.headers["location"]
    for _ in range(100):
        page = lab.get(job_url).text
        if "已完成" in page or "失败" in page:
            break
        time.sleep(0.2)
    assert "已完成" in page, page
    assert re.search(r"拦截行数</th><td class=\"num\">[1-9]", page)
    quarantine = lab.get(re.search(r'href="(/quarantine\?batch=\d+)"', page).group(1)).text
    assert "banana" in quarantine and "plate.csv" in quarantine
    exported = lab.get("/quarantine.csv").content.decode("utf-8-sig")
    assert "banana" in exported
    with Store(demo_store) as s:
        assert s.list_batches()["lab"].iloc[-1] == "DEMO-LAB"  # lab staff upload for their own lab only


def test_a_hostile_sample_id_renders_as_text(app):
    client = sign_in(app, "cm2")
    script, img = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"
    html = client.get("/queue", params={"q": script}).text
    assert script not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for url in (f"/candidate/{img}", f"/family/DEMO-LAB/{img}"):  # a path segment cannot hold a "/"
        html = client.get(url).text
        assert img not in html and "&lt;img src=x onerror=alert(1)&gt;" in html, url
    page = client.get("/queue")
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_the_evidence_page_says_when_the_pair_changed_since_the_run(app, demo_store, tmp_path):
    from kinship.app.ingest import ingest_batch

    client = sign_in(app, "cm2")
    assert "profiles changed since the run" not in client.get("/pair/DEMO-LAB/F-075/C-0050").text
    with Store(demo_store) as s:
        sib = s.stored_profiles(["R-0038"])["R-0038"]
    export = tmp_path / "sib.csv"
    export.write_text("sample_id,locus,allele_1,allele_2\n" + "".join(
        f"R-9002,{locus},{a},{b}\n" for locus, (a, b, _) in sorted(sib.items())))
    manifest = tmp_path / "sib_manifest.csv"
    manifest.write_text("sample_id,role,family_id,relationship,sex\nR-9002,reference,F-075,full_sibling,unknown\n")
    with Store(demo_store) as s:
        ingest_batch(s, export, manifest, lab="DEMO-LAB", fmt="tidy")
    html = client.get("/pair/DEMO-LAB/F-075/C-0050").text
    assert "profiles changed since the run" in html and "R-9002" in html
