"""Selections (jobs), rounds, annotations and job status."""

from __future__ import annotations

from fastapi import APIRouter, status

from ...io import LabelRecord
from ..deps import JobsDep, KeyDep, WorkspaceDep, check_pool_access
from ..schemas import JobPublic, LabelImportPublic, LabelsSubmit, RoundPublic, RoundsPublic, SelectionCreate

router = APIRouter(tags=["selections"])


@router.post("/pools/{pool}/selections", response_model=JobPublic, status_code=status.HTTP_202_ACCEPTED,
             summary="Start a selection round (a job); poll /v1/jobs/{id}")
def start_selection(pool: str, body: SelectionCreate, ws: WorkspaceDep, jobs: JobsDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    info = ws.get_pool(pool)
    params = body.model_dump(exclude_none=True)
    if body.method == "votek2":
        params["confidence"] = "similarity"
    return jobs.submit("select", {"pool": pool, **params}, pool_id=info.id)


@router.get("/pools/{pool}/selections", response_model=RoundsPublic, summary="List selection rounds")
def list_rounds(pool: str, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    data = [r.to_dict(with_items=False) for r in ws.rounds(pool)]
    return {"data": data, "count": len(data)}


@router.get("/pools/{pool}/selections/{number}", response_model=RoundPublic, summary="A round with its ordered items")
def get_round(pool: str, number: int, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    return ws.get_round(pool, number).to_dict()


@router.post("/pools/{pool}/annotations", response_model=LabelImportPublic,
             summary="Submit labels in bulk; all or nothing unless skip_invalid")
def submit_labels(pool: str, body: LabelsSubmit, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    records = [LabelRecord(line=i, external_id=item.id,
                           labels=(item.label.strip(),) if item.label and item.label.strip() else ())
               for i, item in enumerate(body.labels, start=1)]
    return ws.apply_labels(pool, records, overwrite=body.overwrite, skip_invalid=body.skip_invalid).to_dict()


@router.get("/jobs/{job_id}", response_model=JobPublic, summary="A job's status and progress")
def get_job(job_id: str, jobs: JobsDep, ws: WorkspaceDep, key: KeyDep) -> dict:
    job = jobs.get(job_id)
    pool = job["params"].get("pool")
    if pool is not None:
        check_pool_access(key, pool)
    return job
