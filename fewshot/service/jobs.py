"""Background jobs whose state lives in the store, so that they survive a restart.

A job row is created ``pending`` with everything needed to run it in ``params``; a runner thread
executes it and records progress. When a server starts, jobs left ``pending`` or ``running`` by a
previous process are queued again (every job kind is deterministic and idempotent to re-run:
selection with a seed, embedding by content hash, mining by content-keyed scores).

Job kinds come from a `Registry` of callables ``run(params, progress) -> result dict``; the
workspace registers each sub-service's kinds (``select``, ``embed``, ``udr_mine``, ``udr_train``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from fewshot.exceptions import FewshotError
from fewshot.progress import Progress
from fewshot.registry import Registry
from fewshot.service.context import ServiceContext
from fewshot.store import jobs as job_rows
from fewshot.store.models import JobStatus

__all__ = ["JobRunner", "JobKind", "job_kinds"]

logger = logging.getLogger(__name__)

#: ``run(params, progress) -> result`` (JSON-ready dicts)
JobKind = Callable[[dict[str, Any], Progress], dict[str, Any]]


def job_kinds() -> Registry[JobKind]:
    """An empty registry of job kinds (each workspace fills its own)."""
    return Registry("job kind")


class JobRunner:
    """One worker thread executing stored jobs in order."""

    def __init__(self, ctx: ServiceContext, kinds: Registry[JobKind]) -> None:
        self.ctx, self.kinds = ctx, kinds
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    @property
    def queued(self) -> int:
        """Jobs waiting in this process's queue."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start the worker and queue again the jobs a previous process left unfinished."""
        if self._thread is not None:
            return
        with self.ctx.session() as s:
            stale_ids = job_rows.requeue_unfinished(s)
        self._thread = threading.Thread(target=self._loop, name="fewshot-jobs", daemon=True)
        self._thread.start()
        for job_id in stale_ids:
            logger.info("resuming job %s left by a previous process", job_id)
            self._queue.put(job_id)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker after the job it is running (waits up to ``timeout`` seconds)."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def submit(self, kind: str, params: dict[str, Any], *, pool_id: int | None = None) -> dict[str, Any]:
        """Store a job of a registered ``kind`` and queue it; returns the job as a dict."""
        self.kinds.get(kind)
        with self.ctx.session() as s:
            out = job_rows.create_job(s, job_id=uuid.uuid4().hex, kind=kind, pool_id=pool_id, params=params)
        self._queue.put(out["id"])
        return out

    def get(self, job_id: str) -> dict[str, Any]:
        """The job as a dict; `NotFoundError` for an unknown id."""
        with self.ctx.session() as s:
            return job_rows.get_job(s, job_id)

    def wait(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Block until the job ends or ``timeout`` seconds pass (tests, scripts)."""
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
        with self.ctx.session() as s:  # claim atomically: another worker may hold the same queue entry
            claimed = job_rows.claim_job(s, job_id)
        if claimed is None:
            return
        kind, params = claimed

        def progress(done: int, total: int) -> None:
            with self.ctx.session() as s2:
                job_rows.set_progress(s2, job_id, done, total)

        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            result = self.kinds.get(kind)(params, progress)
        except FewshotError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001
            logger.exception("job %s failed", job_id)
            error = f"internal error ({type(exc).__name__})"
        with self.ctx.session() as s:
            job_rows.finish_job(s, job_id, result=result, error=error)
