"""Repository of background jobs (``jobs``): create, claim, progress, finish, requeue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fewshot.exceptions import NotFoundError
from fewshot.store.models import Job, JobStatus

__all__ = ["create_job", "get_job", "claim_job", "set_progress", "finish_job", "requeue_unfinished", "job_to_dict"]


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


def set_progress(session: Session, job_id: str, done: int, total: int) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(progress_done=int(done), progress_total=int(total)))


def finish_job(session: Session, job_id: str, *, result: dict[str, Any] | None, error: str | None) -> None:
    job = session.get(Job, job_id)
    if job is None:
        return
    job.status = JobStatus.FAILED.value if error else JobStatus.SUCCEEDED.value
    job.result, job.error = result, error
    if not error and job.progress_total == 0:
        job.progress_done = job.progress_total = 1


def requeue_unfinished(session: Session) -> list[str]:
    """Jobs left pending or running by a previous process, set pending again; their ids, oldest first."""
    stale = session.scalars(
        select(Job).where(Job.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value])).order_by(Job.created_at)
    ).all()
    for job in stale:
        job.status = JobStatus.PENDING.value
    return [j.id for j in stale]
