"""Repository of background jobs (``jobs``): create, claim, progress, heartbeat, finish, requeue.

Several worker processes (API replicas on one or more hosts) may share one database. A job is
claimed by exactly one of them: `claim_next` takes the oldest pending row with ``SELECT ... FOR
UPDATE SKIP LOCKED`` on PostgreSQL (concurrent claimers skip each other's locked rows instead of
waiting) and, on every backend, moves it to ``running`` with a conditional ``UPDATE ... WHERE
status = 'pending'`` whose row count says whether this claimer won (SQLite, which has no row
locks, relies on that alone: its writers are serialised). A running job's ``updated_at`` is its
heartbeat (`touch_job`, progress writes); `requeue_stale` returns to ``pending`` only running jobs
whose heartbeat is older than a lease, so a starting replica never steals a job another live
replica is running. Heartbeats use each process's UTC clock: replica clocks must agree to well
within the lease.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fewshot.exceptions import NotFoundError
from fewshot.store.models import Job, JobStatus

__all__ = [
    "create_job",
    "get_job",
    "claim_job",
    "claim_next",
    "count_pending",
    "set_progress",
    "touch_job",
    "finish_job",
    "requeue_stale",
    "requeue_unfinished",
    "job_to_dict",
]

#: Pending rows looked at per `claim_next` call on backends without row locks.
_CANDIDATES = 8


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress_done": job.progress_done,
        "progress_total": job.progress_total,
        "params": job.params,
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


def create_job(
    session: Session, *, job_id: str, kind: str, pool_id: int | None, params: dict[str, Any]
) -> dict[str, Any]:
    job = Job(id=job_id, kind=kind, pool_id=pool_id, status=JobStatus.PENDING.value, params=params)
    session.add(job)
    session.flush()
    return job_to_dict(job)


def get_job(session: Session, job_id: str) -> dict[str, Any]:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id!r} does not exist")
    return job_to_dict(job)


def claim_job(session: Session, job_id: str) -> tuple[str, dict[str, Any]] | None:
    """Mark a pending job running, atomically; ``(kind, params)``, or None when another worker
    claimed it or it is not pending."""
    result: Any = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.PENDING.value)
        .values(status=JobStatus.RUNNING.value)
    )
    claimed = result.rowcount
    if claimed != 1:
        return None
    job = session.get(Job, job_id)
    assert job is not None
    return job.kind, dict(job.params or {})


def claim_next(session: Session) -> tuple[str, str, dict[str, Any]] | None:
    """Claim the oldest pending job for this worker: ``(job_id, kind, params)``, or None when no
    job is pending (or every pending one was claimed by another worker meanwhile).

    The caller commits the session; until then, on PostgreSQL, the claimed row stays locked and
    other claimers skip it.
    """
    row_locks = session.get_bind().dialect.name == "postgresql"  # the lock decides: one row is enough
    candidates = session.scalars(
        select(Job.id)
        .where(Job.status == JobStatus.PENDING.value)
        .order_by(Job.created_at, Job.id)
        .limit(1 if row_locks else _CANDIDATES)
        .with_for_update(skip_locked=True)
    ).all()
    for job_id in candidates:
        claimed = claim_job(session, job_id)
        if claimed is not None:
            return job_id, claimed[0], claimed[1]
    return None


def count_pending(session: Session) -> int:
    """Jobs waiting for a worker."""
    return int(session.scalar(select(func.count()).select_from(Job).where(Job.status == JobStatus.PENDING.value)) or 0)


def set_progress(session: Session, job_id: str, done: int, total: int) -> None:
    """Record progress (also a heartbeat: ``updated_at`` moves)."""
    session.execute(update(Job).where(Job.id == job_id).values(progress_done=int(done), progress_total=int(total)))


def touch_job(session: Session, job_id: str) -> None:
    """Heartbeat of a running job: ``updated_at`` set to now."""
    session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING.value).values(updated_at=_utcnow())
    )


def finish_job(session: Session, job_id: str, *, result: dict[str, Any] | None, error: str | None) -> None:
    job = session.get(Job, job_id)
    if job is None:
        return
    job.status = JobStatus.FAILED.value if error else JobStatus.SUCCEEDED.value
    job.result, job.error = result, error
    if not error and job.progress_total == 0:
        job.progress_done = job.progress_total = 1


def requeue_stale(session: Session, *, older_than: dt.timedelta) -> list[str]:
    """Running jobs whose heartbeat is older than ``older_than`` (their worker died), set pending
    again; their ids, oldest first. Jobs of live workers are left alone."""
    cutoff = _utcnow() - older_than
    stale = session.scalars(
        select(Job.id)
        .where(Job.status == JobStatus.RUNNING.value, Job.updated_at < cutoff)
        .order_by(Job.created_at)
        .with_for_update(skip_locked=True)
    ).all()
    ids = []
    for job_id in stale:
        result: Any = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING.value, Job.updated_at < cutoff)
            .values(status=JobStatus.PENDING.value)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            ids.append(job_id)
    return ids


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def requeue_unfinished(session: Session) -> list[str]:
    """Jobs left pending or running, all set pending again; their ids, oldest first. Only for a
    single worker process that knows no other one is running (replicas use `requeue_stale`)."""
    stale = session.scalars(
        select(Job).where(Job.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value])).order_by(Job.created_at)
    ).all()
    for job in stale:
        job.status = JobStatus.PENDING.value
    return [j.id for j in stale]
