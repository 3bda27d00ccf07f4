"""UDR over HTTP: mining and training as background jobs (poll ``GET /v1/jobs/{id}``), and the
trained models. Retrieval and prompts take ``"retriever": "udr:<model>"`` on their usual routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from ...service.workspace import Workspace
from ..deps import GuardDep, JobsDep, PoolGuard, WorkspaceDep
from ..schemas import JobPublic, ModelPublic, UDRMineRequest, UDRTrainRequest

router = APIRouter(tags=["udr"])


def _check_pools(ws: Workspace, guard: PoolGuard, pools: list[str]) -> None:
    """403 for a pool the key may not access, then 404 for an unknown one, before a job is queued."""
    guard.check(*pools)
    for pool in pools:
        ws.pools.ref(pool)


@router.post(
    "/udr/mine",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Score BM25 candidates with an LM (a job; stored, resumable); poll /v1/jobs/{id}",
)
def udr_mine(body: UDRMineRequest, ws: WorkspaceDep, jobs: JobsDep, guard: GuardDep) -> dict[str, Any]:
    """202 with the queued job; 403 for a pool the key may not access; 404 for an unknown pool; 422
    for a bad option or an unknown template. LM errors end the job as failed."""
    _check_pools(ws, guard, body.pools)
    return jobs.submit("udr_mine", body.model_dump())


@router.post(
    "/udr/train",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Train a UDR retriever on LM feedback (a job); poll /v1/jobs/{id}",
)
def udr_train(body: UDRTrainRequest, ws: WorkspaceDep, jobs: JobsDep, guard: GuardDep) -> dict[str, Any]:
    """202 with the queued job (its result names the new version, e.g. ``udr:mix:v2``); 403; 404 for
    an unknown pool; 422 for a bad model name or option."""
    _check_pools(ws, guard, body.pools)
    return jobs.submit("udr_train", body.model_dump())


@router.get("/models", response_model=list[ModelPublic], summary="Trained models, every version")
def list_models(ws: WorkspaceDep, name: str | None = None) -> list[dict[str, Any]]:
    """200 with every version of every trained model (or of ``name``), by name then version."""
    return [m.to_dict() for m in ws.list_models(name)]


@router.get("/models/{name}", response_model=ModelPublic, summary="A trained model (latest version, or ?version=N)")
def get_model(name: str, ws: WorkspaceDep, version: int | None = None) -> dict[str, Any]:
    """200 with the model version; 404 for an unknown name or version."""
    return ws.get_model(name, version).to_dict()
