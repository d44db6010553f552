"""Uploads: an export and its manifest, saved owner-only, ingested outside the request.

With a Prefect API configured (``PREFECT_API_URL``) and a deployment named
(``REUNITE_WORKBENCH_DEPLOYMENT``, e.g. ``ingest/ingest``), the upload starts a run of that
deployment (:func:`prefect.deployments.run_deployment`) and waits for it in a background thread;
(the worker must see the workbench's upload folder: same machine or shared storage);
otherwise a background thread calls :func:`kinship.app.ingest.ingest_batch` itself and reports its
stages. The page of the job polls :meth:`Jobs.get`.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kinship.store import Store

__all__ = ["Job", "Jobs", "FORMATS"]

#: Export formats an upload may name (``kinship.app.ingest``'s readers).
FORMATS = ("genemapper", "tidy", "cmf", "forenseq", "straitrazor")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass
class Job:
    """One upload's ingestion: its state, stage and summary."""

    job_id: str
    login: str
    lab: str
    export_name: str
    started_at: datetime
    status: str = "queued"  # queued | running | done | failed
    stage: str = ""
    done: int = 0
    total: int = 1
    summary: dict | None = None
    error: str = ""
    flow_run_id: str = ""


@dataclass
class Jobs:
    """The uploads of this workbench process (kept in memory; the batches themselves are in the store)."""

    store: str
    folder: Path
    deployment: str | None = None
    _jobs: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, *, login: str, lab: str, fmt: str, export_name: str, export: bytes,
              manifest_name: str, manifest: bytes) -> Job:
        """Save the files and start ingesting them in a background thread; returns at once."""
        job_id = secrets.token_hex(8)
        where = self.folder / job_id
        where.mkdir(parents=True, mode=0o700)
        export_path = where / (_SAFE.sub("_", Path(export_name).name) or "export")
        manifest_path = where / (_SAFE.sub("_", Path(manifest_name).name) or "manifest.csv")
        for path, data in ((export_path, export), (manifest_path, manifest)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        job = Job(job_id, login, lab, export_path.name, datetime.now(timezone.utc))
        with self._lock:
            self._jobs[job_id] = job
        threading.Thread(target=self._run, args=(job, export_path, manifest_path, fmt), daemon=True,
                         name=f"ingest-{job_id}").start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job, export: Path, manifest: Path, fmt: str) -> None:
        job.status = "running"
        try:
            if self.deployment and os.environ.get("PREFECT_API_URL"):
                from prefect.deployments import run_deployment

                job.stage = "deployment"
                run = run_deployment(self.deployment, parameters={
                    "export": str(export), "manifest": str(manifest), "lab": job.lab, "fmt": fmt, "store": self.store})
                job.flow_run_id = str(run.id)
                if not run.state or not run.state.is_completed():
                    raise RuntimeError(f"flow run {run.id} ended {run.state.name if run.state else 'without a state'}")
                try:  # the flow's return value, when the deployment persists results
                    job.summary = run.state.result()
                except Exception:  # noqa: BLE001 - not persisted: the run's page in the Prefect UI has the summary
                    job.summary = None
            else:
                from dataclasses import asdict

                from kinship.app.ingest import ingest_batch

                def progress(stage: str, done: int, total: int) -> None:
                    job.stage, job.done, job.total = stage, done, total

                with Store(self.store) as store:
                    summary = ingest_batch(store, export, manifest, lab=job.lab, fmt=fmt, progress=progress)
                job.summary = {k: v for k, v in asdict(summary).items()
                               if k not in ("quarantine", "warnings", "manifest_errors")}
            job.done, job.total, job.status = job.total, job.total, "done"
        except Exception as exc:  # shown to the uploader: the kinship errors name the record and the fix
            job.status = "failed"
            job.error = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
            print(f"workbench: ingest job {job.job_id} failed ({type(exc).__name__})")  # no message: it may name records
