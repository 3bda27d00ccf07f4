"""Job status, and the one way routes queue a job for a pool."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...service.jobs import JobRunner
from ...service.workspace import Workspace
from ..deps import GuardDep, JobsDep
from ..schemas import JobPublic

router = APIRouter(tags=["jobs"])


def submit_pool_job(ws: Workspace, jobs: JobRunner, kind: str, pool: str, params: dict[str, Any]) -> dict[str, Any]:
    """Queue a ``kind`` job over ``pool`` (`NotFoundError` for an unknown pool, before anything is queued)."""
    pool_id, _model = ws.pools.ref(pool)
    return jobs.submit(kind, {"pool": pool, **params}, pool_id=pool_id)


@router.get("/jobs/{job_id}", response_model=JobPublic, summary="A job's status and progress")
def get_job(job_id: str, jobs: JobsDep, guard: GuardDep) -> dict[str, Any]:
    """200 with the job (status pending, running, succeeded or failed; progress; result or error);
    403 when the key may not access a pool the job works on; 404 for an unknown id."""
    job = jobs.get(job_id)
    guard.check_job(job)
    return job
