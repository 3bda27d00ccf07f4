"""Selections (jobs), rounds, and the labels annotators send back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from .._allowlist import resolve_lm
from ..deps import JobsDep, PoolAccess, WorkspaceDep
from ..schemas import JobPublic, LabelImportPublic, LabelsSubmit, RoundPublic, RoundsPublic, SelectionCreate
from ..schemas.common import MAX_INT
from .jobs import submit_pool_job

router = APIRouter(prefix="/pools/{pool}", tags=["selections"])


@router.post(
    "/selections",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a selection round (a job); poll /v1/jobs/{id}",
)
def start_selection(pool: PoolAccess, body: SelectionCreate, ws: WorkspaceDep, jobs: JobsDep) -> dict[str, Any]:
    """202 with the queued job; 403; 404 for an unknown pool; 422 for a bad budget, both or neither
    of ``budget`` and ``budget_cost``, a malformed ``cost`` spec or an unknown method (any
    registered selection method is accepted). Selection errors (no vectors yet, budget over the
    unlabeled items, ``budget_cost`` without a cost spec given or stored on the pool, an item
    whose cost is missing or not positive) end the job as failed with the message in ``error``;
    a cost-aware round's result holds ``total_cost`` and ``budget_cost``. ``lm`` (votek2 only, else
    422) names an allow-listed LM (422 otherwise); its scoring reports progress into the job, and a
    pool without labeled items fails the job (label a first round, then run votek2). ``partitions``
    runs a partitioned selection (``oversample``, ``final``; ``ray``: its partitions on the
    operator's Ray cluster, 422 when none is configured, 501 without the ray extra)."""
    params = body.model_dump(exclude_none=True)
    params.pop("ray", None)
    if body.ray:  # the operator's cluster (a request never names an address)
        params.update(ws.embeddings.ray_job_params())
    if body.lm is not None:
        params["lm"] = resolve_lm(ws.settings, body.lm)
    return submit_pool_job(ws, jobs, "select", pool, params)


@router.get("/selections", response_model=RoundsPublic, summary="List selection rounds")
def list_rounds(pool: PoolAccess, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the pool's rounds, oldest first, without their items; 403; 404 for an unknown pool."""
    data = [r.to_dict(with_items=False) for r in ws.rounds(pool)]
    return {"data": data, "count": len(data)}


@router.get("/selections/{number}", response_model=RoundPublic, summary="A round with its ordered items")
def get_round(pool: PoolAccess, number: Annotated[int, Path(ge=0, le=MAX_INT)], ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the round and its items in selection order; 403; 404 for an unknown pool or round."""
    return ws.get_round(pool, number).to_dict()


@router.post(
    "/annotations",
    response_model=LabelImportPublic,
    summary="Submit labels in bulk; all or nothing unless skip_invalid",
)
def submit_labels(pool: PoolAccess, body: LabelsSubmit, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the import report; 403; 404 for an unknown pool; 422 with ``problems`` (one per
    item: unknown_id, empty_label, conflicting_labels, conflicts_stored) when any label cannot be
    applied and ``skip_invalid`` is false (then nothing is applied)."""
    return ws.apply_labels(pool, body.pairs(), overwrite=body.overwrite, skip_invalid=body.skip_invalid).to_dict()
