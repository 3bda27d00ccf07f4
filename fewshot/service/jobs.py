"""Background jobs whose state lives in the store, so that they survive a restart and can be run
by any of several worker processes.

A job row is created ``pending`` with everything needed to run it in ``params``. Every
`JobRunner` (one per API process; several replicas may share one database) polls the store and
claims the oldest pending job atomically (`fewshot.store.jobs.claim_next`: ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, a conditional update everywhere), so each job runs on exactly one worker,
whichever replica received the request. While a job runs, its worker refreshes the row's
heartbeat; a job whose heartbeat is older than the lease (its worker died) is set ``pending``
again by the next runner that sweeps, and runs again (every job kind is deterministic and
idempotent to re-run: selection with a seed, embedding by content hash, mining by content-keyed
scores).

Job kinds come from a `Registry` of callables ``run(params, progress) -> result dict``; the
workspace registers each sub-service's kinds (``select``, ``embed``, ``udr_mine``, ``udr_train``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
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
    """One worker thread claiming and executing stored jobs, oldest first.

    Parameters
    ----------
    ctx : ServiceContext
    kinds : Registry of JobKind
    poll_interval : float
        Seconds between looks at the store when idle (a `submit` in this process wakes the
        worker at once; jobs submitted by other processes are seen within this delay).
    lease : float
        Seconds without a heartbeat after which a running job counts as abandoned. Heartbeats
        are written every ``lease / 4`` seconds.
    """

    def __init__(
        self, ctx: ServiceContext, kinds: Registry[JobKind], *, poll_interval: float = 1.0, lease: float = 60.0
    ) -> None:
        self.ctx, self.kinds = ctx, kinds
        self.poll_interval = max(0.01, float(poll_interval))
        self.lease = max(0.05, float(lease))
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.executed = 0  # jobs this runner ran to an end (succeeded or failed)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def queued(self) -> int:
        """Jobs waiting (pending) in the store, for every worker together."""
        with self.ctx.session() as s:
            return job_rows.count_pending(s)

    def start(self) -> None:
        """Start the worker; it first returns abandoned jobs (stale heartbeat) to the queue."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._requeue_stale()
        self._thread = threading.Thread(target=self._loop, name="fewshot-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker after the job it is running (waits up to ``timeout`` seconds)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def submit(self, kind: str, params: dict[str, Any], *, pool_id: int | None = None) -> dict[str, Any]:
        """Store a job of a registered ``kind`` for some worker to run; returns the job as a dict."""
        self.kinds.get(kind)
        with self.ctx.session() as s:
            out = job_rows.create_job(s, job_id=uuid.uuid4().hex, kind=kind, pool_id=pool_id, params=params)
        self._wake.set()
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

    # -- worker ---------------------------------------------------------------------------

    def _loop(self) -> None:
        next_sweep = time.monotonic() + self.lease / 2
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    self._requeue_stale()
                    next_sweep = time.monotonic() + self.lease / 2
                if self._run_next():
                    continue
            except Exception:  # noqa: BLE001 - a broken job or a store hiccup must not kill the worker
                logger.exception("job worker %s: unexpected error", self.worker_id)
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def _requeue_stale(self) -> None:
        with self.ctx.session() as s:
            stale = job_rows.requeue_stale(s, older_than=dt.timedelta(seconds=self.lease))
        for job_id in stale:
            logger.warning("job %s lost its worker (no heartbeat for %.0f s); queued again", job_id, self.lease)

    def _run_next(self) -> bool:
        """Claim one pending job and run it; False when none was pending."""
        with self.ctx.session() as s:
            claimed = job_rows.claim_next(s)
        if claimed is None:
            return False
        job_id, kind, params = claimed
        logger.debug("worker %s runs job %s (%s)", self.worker_id, job_id, kind)
        beating = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(job_id, beating), daemon=True)
        heart.start()

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
        finally:
            beating.set()
            heart.join()
        with self.ctx.session() as s:
            job_rows.finish_job(s, job_id, result=result, error=error)
        self.executed += 1
        return True

    def _heartbeat(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(self.lease / 4):
            try:
                with self.ctx.session() as s:
                    job_rows.touch_job(s, job_id)
            except Exception:  # noqa: BLE001 - the next beat retries
                logger.warning("job %s: heartbeat failed", job_id, exc_info=True)
