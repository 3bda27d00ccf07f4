"""Background jobs whose state lives in the store, so that they survive a restart.

A job row is created ``pending`` with everything needed to run it in ``params``; a runner
thread executes it and records progress. When a server starts, jobs left ``pending`` or
``running`` by a previous process are queued again (every job kind here is deterministic and
idempotent to re-run: selection with a seed, embedding by content hash).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import select, update

from ._udr_service import run_mine_job, run_train_job
from .exceptions import FewshotError, InvalidInputError, NotFoundError
from .store.models import Job, JobStatus

if TYPE_CHECKING:
    from .workspace import Workspace

__all__ = ["JobRunner", "JOB_KINDS", "job_to_dict"]

logger = logging.getLogger(__name__)


def _run_select(ws: "Workspace", params: dict[str, Any], progress: Callable[[int, int], None]) -> dict[str, Any]:
    p = dict(params)
    pool, budget, method = p.pop("pool"), p.pop("budget"), p.pop("method", "votek")
    seed, center = p.pop("seed", 0), p.pop("center", True)
    rnd = ws.select(pool, budget=budget, method=method, seed=seed, center=center, progress=progress, **p)
    return {"pool": pool, "round": rnd.number, "budget": rnd.budget, "influence": rnd.influence}


def _run_embed(ws: "Workspace", params: dict[str, Any], progress: Callable[[int, int], None]) -> dict[str, Any]:
    return ws.embed(params["pool"], progress=progress).to_dict()


JOB_KINDS: dict[str, Callable[["Workspace", dict[str, Any], Callable[[int, int], None]], dict[str, Any]]] = {
    "select": _run_select,
    "embed": _run_embed,
    "udr_mine": run_mine_job,
    "udr_train": run_train_job,
}


def job_to_dict(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "status": job.status, "progress_done": job.progress_done,
            "progress_total": job.progress_total, "params": job.params, "result": job.result, "error": job.error,
            "created_at": job.created_at.isoformat(), "updated_at": job.updated_at.isoformat()}


class JobRunner:
    """One worker thread executing stored jobs in order."""

    def __init__(self, workspace: "Workspace") -> None:
        self.ws = workspace
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        with self.ws.session() as s:
            stale = s.scalars(select(Job).where(Job.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value]))
                              .order_by(Job.created_at)).all()
            for job in stale:
                job.status = JobStatus.PENDING.value
            stale_ids = [j.id for j in stale]
        self._thread = threading.Thread(target=self._loop, name="fewshot-jobs", daemon=True)
        self._thread.start()
        for job_id in stale_ids:
            logger.info("resuming job %s left by a previous process", job_id)
            self._queue.put(job_id)

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def submit(self, kind: str, params: dict[str, Any], *, pool_id: int | None = None) -> dict[str, Any]:
        if kind not in JOB_KINDS:
            raise InvalidInputError(f"unknown job kind {kind!r}; expected one of {', '.join(JOB_KINDS)}")
        job_id = uuid.uuid4().hex
        with self.ws.session() as s:
            job = Job(id=job_id, kind=kind, pool_id=pool_id, status=JobStatus.PENDING.value, params=params)
            s.add(job)
            s.flush()
            out = job_to_dict(job)
        self._queue.put(job_id)
        return out

    def get(self, job_id: str) -> dict[str, Any]:
        with self.ws.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFoundError(f"job {job_id!r} does not exist")
            return job_to_dict(job)

    def wait(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Block until the job ends (tests, scripts)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["status"] in (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value) or time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self._execute(job_id)
            except Exception:  # noqa: BLE001 - a broken job must not kill the worker
                logger.exception("job %s crashed", job_id)

    def _execute(self, job_id: str) -> None:
        with self.ws.session() as s:  # claim atomically: another worker may hold the same queue entry
            claimed = s.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.PENDING.value)
                                .values(status=JobStatus.RUNNING.value)).rowcount
            if claimed != 1:
                return
            job = s.get(Job, job_id)
            kind, params = job.kind, dict(job.params or {})

        def progress(done: int, total: int) -> None:
            with self.ws.session() as s2:
                row = s2.get(Job, job_id)
                row.progress_done, row.progress_total = int(done), int(total)

        try:
            result = JOB_KINDS[kind](self.ws, params, progress)
        except FewshotError as exc:
            self._finish(job_id, error=str(exc))
        except Exception as exc:  # noqa: BLE001
            logger.exception("job %s failed", job_id)
            self._finish(job_id, error=f"internal error ({type(exc).__name__})")
        else:
            self._finish(job_id, result=result)

    def _finish(self, job_id: str, *, result: dict[str, Any] | None = None, error: str | None = None) -> None:
        with self.ws.session() as s:
            job = s.get(Job, job_id)
            job.status = JobStatus.FAILED.value if error else JobStatus.SUCCEEDED.value
            job.result, job.error = result, error
            if not error and job.progress_total == 0:
                job.progress_done = job.progress_total = 1
