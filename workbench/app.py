"""The workbench's routes: :func:`create_app`.

Every page needs a signed-in user (:mod:`workbench.auth`); each route checks the role's
permission; every POST checks the session's CSRF token; every output goes through Jinja2's
autoescaping. Reads of a pair's evidence and case report are audited (``evidence_reads``).
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from kinship.genetics.relationships import FAMILY_KINDS, PARENT_KINDS, RELATIONSHIPS
from kinship.i18n import LOCALES, negotiate, translations
from kinship.matching.ranking import conclusion_text, relative_chance
from kinship.store import Store
from kinship.store.workbench import ROLES
from workbench import auth
from workbench.decisions import STATUSES, check_action
from workbench.evidence import RunCache, pair_evidence
from workbench.jobs import FORMATS, Jobs
from workbench.review import QueueFilter, filter_queue, gbt_wording, load_run_view
from workbench.settings import Settings
from workbench.text import ERRORS

__all__ = ["create_app", "COOKIE"]

COOKIE = "reunite_session"
_HERE = Path(__file__).parent
_ACTIONS = ("propose_confirm", "confirm", "reject", "retest", "reopen")


#: The largest upload accepted, per file (a national lab's export is well below it).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def _local(url: str) -> str:
    """``url`` if it is a path of this site, else ``/`` (no open redirect: ``//host``, ``/\\host``)."""
    return url if url.startswith("/") and not url.startswith(("//", "/\\")) and "\\" not in url else "/"


def _environments() -> dict:
    envs = {}
    for locale in LOCALES:
        env = Environment(loader=PackageLoader("workbench", "templates"), autoescape=select_autoescape(default=True),
                          extensions=["jinja2.ext.i18n"])
        env.install_gettext_translations(translations("workbench", locale), newstyle=True)
        env.filters["sci"] = _sci
        env.globals["relname"] = _relname(translations("workbench", locale))
        env.filters["prob"] = _prob
        env.globals.update(LOCALES=LOCALES, FAMILY_KINDS=FAMILY_KINDS, STATUSES=STATUSES, ROLES=ROLES,
                           conclusion_text=conclusion_text, gbt_wording=gbt_wording, relative_chance=relative_chance,
                           allowed=auth.allowed, PARENT_KINDS=PARENT_KINDS)
        envs[locale] = env
    return envs


def _relname(tr):
    def relname(rel: str) -> str:
        """A relative's label: its relationship translated (``full_sibling_2`` -> full sibling 2), a PED id as is."""
        base, _, number = rel.rpartition("_") if rel.rsplit("_", 1)[-1].isdigit() else (rel, "", "")
        if base in RELATIONSHIPS:
            return tr.gettext(base) + (f" {number}" if number else "")
        return rel
    return relname


def _sci(log10: float) -> str:
    """A ratio given as log10, written for reading: 1 234, 3.2 × 10^7, 0 for an exclusion."""
    if log10 is None or (isinstance(log10, float) and math.isnan(log10)):
        return "–"
    if log10 == -math.inf:
        return "0"
    if log10 == math.inf:
        return "∞"
    if -3 <= log10 < 5:
        return f"{10 ** log10:,.4g}"
    exponent = math.floor(log10)
    return f"{10 ** (log10 - exponent):.2f} × 10^{exponent}"


def _prob(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    p = float(p)
    if p >= 0.999999:
        return "≥ 0.999999"
    return f"{p:.6f}"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The workbench application on ``settings.store`` (opened once; migrated to the head revision)."""
    settings = settings or Settings()
    store = Store(settings.store)
    key = auth.signing_key(store)
    envs = _environments()
    cache = RunCache()
    jobs = Jobs(settings.store, settings.uploads, settings.deployment)
    app = FastAPI(title="Reunite workbench", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store, app.state.settings, app.state.jobs = store, settings, jobs
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- helpers -------------------------------------------------------------------------------
    def current(request: Request):
        value = request.cookies.get(COOKIE)
        token = auth.unsign(key, value) if value else None
        if not token:
            return None, None, None
        user, session = auth.session_user(store, token, idle_hours=settings.idle_hours)
        return user, session, token

    def render(request: Request, name: str, user: dict | None, session: dict | None, status: int = 200,
               locale: str | None = None, **context) -> HTMLResponse:
        locale = locale or (user["locale"] if user else negotiate(request.headers.get("accept-language")))
        if locale not in envs:
            locale = "en"
        html = envs[locale].get_template(name).render(
            user=user, csrf=session["csrf_token"] if session else "", locale=locale, request=request, **context)
        return HTMLResponse(html, status_code=status)

    def gettext(user: dict | None, msgid: str, **params) -> str:
        locale = user["locale"] if user and user["locale"] in envs else "en"
        text = translations("workbench", locale).gettext(msgid)
        return text % params if params else text

    def to_login(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)

    def forbidden(request, user, session):
        return render(request, "message.html", user, session, status=403,
                      title="Not allowed", message="Your role does not give access to this page.")

    def guard(request: Request, permission: str):
        """(user, session, None) or (None, None, the response to send)."""
        user, session, _ = current(request)
        if user is None:
            return None, None, to_login(request)
        if not auth.allowed(user, permission):
            return None, None, forbidden(request, user, session)
        return user, session, None

    async def posted(request: Request, permission: str):
        """A POST's (user, session, form, None) or (.., the response): signed in, allowed, CSRF checked."""
        user, session, response = guard(request, permission)
        if response is not None:
            return None, None, None, response
        form = await request.form()
        if not auth.same_token(form.get("csrf"), session["csrf_token"]):
            return None, None, None, render(request, "message.html", user, session, status=403,
                                            title="Form expired", message="The form's security token did not match; reload the page and try again.")
        return user, session, form, None

    def pair_key(view, lab: str, family_id: str, candidate_id: str):
        m = view.matches
        if not len(m):
            return None
        hit = m[(m["lab"] == lab) & (m["family_id"] == family_id) & (m["candidate_id"] == candidate_id)]
        return hit.iloc[0].to_dict() if len(hit) else None

    # -- sign-in -------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/", lang: str = ""):
        locale = lang if lang in LOCALES else None
        return render(request, "login.html", None, None, locale=locale, form_token=auth.login_form_token(key),
                      next=_local(next), error="")

    @app.post("/login")
    async def login(request: Request):
        form = await request.form()
        next_url = _local(str(form.get("next") or "/"))
        lang = str(form.get("lang") or "")
        locale = lang if lang in LOCALES else None
        if not auth.check_login_form_token(key, str(form.get("form_token") or "")):
            return render(request, "login.html", None, None, status=403, locale=locale,
                          form_token=auth.login_form_token(key), next=next_url, error="The form expired; try again.")
        user, why = auth.check_login(store, str(form.get("login") or ""), str(form.get("password") or ""))
        if user is None:
            error = ("Too many failed sign-ins: this account is locked for 15 minutes." if why == "locked"
                     else "Wrong login or password.")
            return render(request, "login.html", None, None, status=401, locale=locale,
                          form_token=auth.login_form_token(key), next=next_url, error=error)
        token, _ = auth.new_session(store, user["login"])
        response = RedirectResponse(next_url if next_url != "/" else _home(user), status_code=303)
        response.set_cookie(COOKIE, auth.sign(key, token), httponly=True, samesite="strict",
                            secure=settings.secure_cookies, max_age=int(settings.idle_hours * 3600), path="/")
        return response

    @app.post("/logout")
    async def logout(request: Request):
        user, session, form, response = await posted(request, "any")
        _, _, token = current(request)
        if token:
            auth.end_session(store, token)
        out = RedirectResponse("/login", status_code=303)
        out.delete_cookie(COOKIE, path="/")
        return response or out

    @app.post("/locale")
    async def set_locale(request: Request):
        user, session, _ = current(request)
        if user is None:
            return to_login(request)
        form = await request.form()
        if not auth.same_token(form.get("csrf"), session["csrf_token"]):
            return PlainTextResponse("CSRF token mismatch", status_code=403)
        locale = str(form.get("locale") or "")
        if locale in LOCALES:
            store.update_user(user["login"], locale=locale)
        back = str(form.get("back") or "/")
        return RedirectResponse(_local(back), status_code=303)

    def _home(user: dict) -> str:
        return "/upload" if user["role"] == "lab_staff" else "/queue"

    @app.get("/")
    def home(request: Request):
        user, _, _ = current(request)
        return to_login(request) if user is None else RedirectResponse(_home(user), status_code=303)

    # -- the review queue ----------------------------------------------------------------------
    def _filters(request: Request) -> QueueFilter:
        q = request.query_params
        return QueueFilter(lab=q.get("lab", ""), kind=q.get("kind", ""), conclusion=q.get("conclusion", ""),
                           new=q.get("new", ""), status=q.get("status", "open"), q=q.get("q", "")[:64],
                           flagged=q.get("flagged", ""))

    @app.get("/queue", response_class=HTMLResponse)
    def queue(request: Request, page: int = 1):
        user, session, response = guard(request, "review")
        if response:
            return response
        view = load_run_view(store)
        f = _filters(request)
        rows = filter_queue(view, f)
        n = len(rows)
        pages = max(1, math.ceil(n / settings.page_size))
        page = min(max(1, page), pages)
        shown = rows.iloc[(page - 1) * settings.page_size: page * settings.page_size] if n else rows
        query = {k: v for k, v in vars(f).items() if v}
        return render(request, "queue.html", user, session, view=view, rows=shown.to_dict("records"), n=n, page=page,
                      pages=pages, f=f, query=urlencode(query), labs=sorted(view.lab_names))

    @app.get("/picklist.csv")
    def picklist(request: Request):
        user, session, response = guard(request, "review")
        if response:
            return response
        view = load_run_view(store)
        rows = filter_queue(view, _filters(request))
        members = store.load_family_members()
        peds = store.load_pedigrees()
        refs: dict = {}
        for lab, fam, sid in zip(members["lab"], members["family_id"], members["sample_id"]):
            refs.setdefault((lab, fam), set()).add(sid)
        for lab, fam, sid in zip(peds["lab"], peds["family_id"], peds["sample_id"]):
            if sid:
                refs.setdefault((lab, fam), set()).add(sid)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["lab", "lab_name", "family_id", "candidate_id", "reference_sample_ids", "family_kind",
                    "n_loci_compared", "n_inconsistent", "cpi", "log10_cpi", "rcp_prior_0.5", "posterior",
                    "conclusion", "verbal_scale_enfsi", "status", "run_id"])
        for r in rows.to_dict("records"):
            w.writerow([r["lab"], view.lab_names.get(r["lab"], ""), r["family_id"], r["candidate_id"],
                        " ".join(sorted(refs.get((r["lab"], r["family_id"]), ()))), r["family_kind"],
                        r["n_loci_compared"], r["n_inconsistent"], f"{10 ** r['log10_lr']:.6g}", f"{r['log10_lr']:.4f}",
                        f"{relative_chance(r['log10_lr']):.10f}", "" if r["posterior"] != r["posterior"] else f"{r['posterior']:.8f}",
                        gettext(user, gbt_wording(r["conclusion"], r["family_kind"])), gettext(user, r["verbal"]),
                        gettext(user, r["status"]), view.run["run_id"]])
            store.record_read(login=user["login"], page="pick_list", lab=r["lab"], family_id=r["family_id"],
                              candidate_id=r["candidate_id"])
        return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="pick-list.csv"'})

    # -- a pair --------------------------------------------------------------------------------
    def _pair_context(lab: str, family_id: str, candidate_id: str):
        view = load_run_view(store)
        if view.run is None:
            return None
        match = pair_key(view, lab, family_id, candidate_id)
        evidence = pair_evidence(store, cache, view.run, lab, family_id, candidate_id)
        if evidence is None:
            return None
        key3 = (lab, family_id, candidate_id)
        history = store.list_decisions(lab=lab, family_id=family_id, candidate_id=candidate_id).to_dict("records")
        from workbench.decisions import PairState
        state = view.states.get(key3, PairState())
        return dict(view=view, match=match, ev=evidence, history=history, state=state, lab=lab, family_id=family_id,
                    candidate_id=candidate_id, lab_name=view.lab_names.get(lab, lab))

    @app.get("/pair/{lab}/{family_id}/{candidate_id}", response_class=HTMLResponse)
    def pair(request: Request, lab: str, family_id: str, candidate_id: str, error: str = ""):
        user, session, response = guard(request, "review")
        if response:
            return response
        context = _pair_context(lab, family_id, candidate_id)
        if context is None:
            return render(request, "message.html", user, session, status=404, title="Not found",
                          message="No such pair in the latest run.")
        store.record_read(login=user["login"], page="evidence", lab=lab, family_id=family_id, candidate_id=candidate_id)
        return render(request, "pair.html", user, session, error=error if error in ERRORS else "", **context)


    @app.post("/pair/{lab}/{family_id}/{candidate_id}/decide")
    async def decide(request: Request, lab: str, family_id: str, candidate_id: str):
        user, session, form, response = await posted(request, "decide")
        if response:
            return response
        view = load_run_view(store)
        match = pair_key(view, lab, family_id, candidate_id) if view.run else None
        back = f"/pair/{quote(lab)}/{quote(family_id)}/{quote(candidate_id)}"
        if match is None:
            return RedirectResponse(back + "?" + urlencode({"error": "The latest run did not keep this pair: decide on a pair of the latest run."}), status_code=303)
        from workbench.decisions import PairState
        state = view.states.get((lab, family_id, candidate_id), PairState())
        action = str(form.get("action") or "")
        reason = str(form.get("reason") or "")[:2000]
        retest = str(form.get("retest") or "")[:500]
        why = check_action(user, action, state, reason=reason, retest=retest) if action in _ACTIONS else "Unknown decision."
        if why:
            return RedirectResponse(back + "?" + urlencode({"error": why}), status_code=303)
        store.record_decision(lab=lab, family_id=family_id, candidate_id=candidate_id, action=action, reason=reason,
                              retest=retest if action == "retest" else "", run_id=view.run["run_id"],
                              evidence=match["fingerprint"], decided_by=user["login"])
        return RedirectResponse(back, status_code=303)

    @app.get("/pair/{lab}/{family_id}/{candidate_id}/report", response_class=HTMLResponse)
    def case_report(request: Request, lab: str, family_id: str, candidate_id: str):
        user, session, response = guard(request, "review")
        if response:
            return response
        context = _pair_context(lab, family_id, candidate_id)
        if context is None or context["match"] is None:
            return render(request, "message.html", user, session, status=404, title="Not found",
                          message="No such pair in the latest run.")
        store.record_read(login=user["login"], page="case_report", lab=lab, family_id=family_id, candidate_id=candidate_id)
        return render(request, "report.html", user, session, now=datetime.now(timezone.utc), **context)

    # -- family and candidate pages ------------------------------------------------------------
    @app.get("/family/{lab}/{family_id}", response_class=HTMLResponse)
    def family(request: Request, lab: str, family_id: str):
        user, session, response = guard(request, "review")
        if response:
            return response
        view = load_run_view(store)
        m = view.matches
        rows = m[(m["lab"] == lab) & (m["family_id"] == family_id)].sort_values("strength", ascending=False) if len(m) else m
        return render(request, "partners.html", user, session, view=view, rows=rows.to_dict("records"),
                      title_kind="family", lab=lab, entity=family_id)

    @app.get("/candidate/{candidate_id}", response_class=HTMLResponse)
    def candidate(request: Request, candidate_id: str):
        user, session, response = guard(request, "review")
        if response:
            return response
        view = load_run_view(store)
        m = view.matches
        rows = m[m["candidate_id"] == candidate_id].sort_values("strength", ascending=False) if len(m) else m
        return render(request, "partners.html", user, session, view=view, rows=rows.to_dict("records"),
                      title_kind="candidate", lab="", entity=candidate_id)

    # -- quarantine ----------------------------------------------------------------------------
    def _quarantine_rows(user: dict, request: Request):
        batches = store.list_batches()
        if user["role"] == "lab_staff":
            batches = batches[batches["lab"] == user["lab"]]
        q = store.quarantine_records()
        q = q[q["file_id"].isin(batches["file_id"])]
        batch = request.query_params.get("batch", "")
        if batch.isdigit():
            q = q[q["file_id"] == int(batch)]
        text = request.query_params.get("q", "").strip().casefold()[:64]
        if text:
            q = q[q["sample_id"].str.casefold().str.contains(text, regex=False)
                  | q["kind"].str.casefold().str.contains(text, regex=False)
                  | q["locus"].str.casefold().str.contains(text, regex=False)]
        return batches, q

    @app.get("/quarantine", response_class=HTMLResponse)
    def quarantine(request: Request):
        user, session, response = guard(request, "quarantine")
        if response:
            return response
        batches, q = _quarantine_rows(user, request)
        return render(request, "quarantine.html", user, session, batches=batches.to_dict("records"),
                      rows=q.head(500).to_dict("records"), n=len(q), query=urlencode(dict(request.query_params)),
                      batch=request.query_params.get("batch", ""), q=request.query_params.get("q", ""))

    @app.get("/quarantine.csv")
    def quarantine_csv(request: Request):
        user, session, response = guard(request, "quarantine")
        if response:
            return response
        _, q = _quarantine_rows(user, request)
        cols = ["file_id", "export_name", "source", "kind", "line", "sample_id", "locus", "value", "reason", "fix"]
        return Response(q[cols].to_csv(index=False).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="quarantine.csv"'})

    # -- upload --------------------------------------------------------------------------------
    @app.get("/upload", response_class=HTMLResponse)
    def upload_page(request: Request):
        user, session, response = guard(request, "upload")
        if response:
            return response
        return render(request, "upload.html", user, session, labs=store.lab_codes(), formats=FORMATS, error="")

    @app.post("/upload")
    async def upload(request: Request, export: UploadFile = File(...), manifest: UploadFile = File(...),
                     fmt: str = Form("genemapper"), lab: str = Form(""), csrf: str = Form("")):
        user, session, response = guard(request, "upload")
        if response:
            return response
        if not auth.same_token(csrf, session["csrf_token"]):
            return render(request, "message.html", user, session, status=403, title="Form expired",
                          message="The form's security token did not match; reload the page and try again.")
        lab = user["lab"] if user["role"] == "lab_staff" else lab
        if lab not in store.lab_codes() or fmt not in FORMATS:
            return render(request, "upload.html", user, session, status=400, labs=store.lab_codes(), formats=FORMATS,
                          error="Choose a registered lab and a format.")
        export_bytes, manifest_bytes = await export.read(MAX_UPLOAD_BYTES + 1), await manifest.read(MAX_UPLOAD_BYTES + 1)
        if len(export_bytes) > MAX_UPLOAD_BYTES or len(manifest_bytes) > MAX_UPLOAD_BYTES:
            return render(request, "upload.html", user, session, status=413, labs=store.lab_codes(), formats=FORMATS,
                          error="A file is larger than 200 MB: split the batch.")
        job = jobs.start(login=user["login"], lab=lab, fmt=fmt, export_name=export.filename or "export",
                         export=export_bytes, manifest_name=manifest.filename or "manifest.csv",
                         manifest=manifest_bytes)
        return RedirectResponse(f"/upload/{job.job_id}", status_code=303)

    @app.get("/upload/{job_id}", response_class=HTMLResponse)
    def upload_status(request: Request, job_id: str):
        user, session, response = guard(request, "upload")
        if response:
            return response
        job = jobs.get(job_id)
        if job is None or (job.login != user["login"] and user["role"] != "supervisor"):
            return render(request, "message.html", user, session, status=404, title="Not found", message="No such upload.")
        return render(request, "job.html", user, session, job=job)

    # -- users and the audit -------------------------------------------------------------------
    @app.get("/users", response_class=HTMLResponse)
    def users_page(request: Request, error: str = ""):
        user, session, response = guard(request, "users")
        if response:
            return response
        return render(request, "users.html", user, session, users=store.list_users().to_dict("records"),
                      labs=store.lab_codes(), error=error)

    @app.post("/users")
    async def add_user(request: Request):
        user, session, form, response = await posted(request, "users")
        if response:
            return response
        login_, role, lab = str(form.get("login") or ""), str(form.get("role") or ""), str(form.get("lab") or "")
        try:
            auth.validate_login(login_)
            auth.validate_password(str(form.get("password") or ""))
            if role not in ROLES or (role == "lab_staff" and lab not in store.lab_codes()):
                raise ValueError("choose a role, and a registered lab for lab staff")
            store.create_user(login_, role=role, lab=lab or None, password_hash=auth.hash_password(str(form.get("password"))),
                              created_by=user["login"], locale=str(form.get("locale") or "en") if form.get("locale") in LOCALES else "en")
        except Exception as exc:
            return RedirectResponse("/users?" + urlencode({"error": str(exc)[:200]}), status_code=303)
        return RedirectResponse("/users", status_code=303)

    @app.get("/audit", response_class=HTMLResponse)
    def audit(request: Request):
        user, session, response = guard(request, "audit")
        if response:
            return response
        view = load_run_view(store)
        decisions = store.list_decisions().sort_values("decision_id", ascending=False).head(500).to_dict("records")
        reads = store.list_reads().sort_values("read_id", ascending=False).head(500).to_dict("records")
        return render(request, "audit.html", user, session, decisions=decisions, reads=reads, states=view.states)

    return app
