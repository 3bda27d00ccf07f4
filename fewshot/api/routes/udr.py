"""UDR over HTTP: mining and training as background jobs (poll ``GET /v1/jobs/{id}``), and the
trained models. Retrieval and prompts take ``"retriever": "udr:<model>"`` on their usual routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from ...exceptions import ConflictError
from ...service.workspace import Workspace
from .._allowlist import resolve_embedding_model, resolve_lm
from ..deps import GuardDep, JobsDep, PoolGuard, WorkspaceDep
from ..schemas import JobPublic, ModelPublic, UDRMineRequest, UDRTrainRequest
from ..schemas.common import MAX_INT

router = APIRouter(tags=["udr"])


def _job_params(ws: Workspace, body: UDRMineRequest) -> dict[str, Any]:
    """The job's params, with ``lm`` (and ``base_model``) resolved through the server's allow-lists."""
    params = body.model_dump()
    params["lm"] = resolve_lm(ws.settings, body.lm)
    if "base_model" in params:
        params["base_model"] = resolve_embedding_model(ws.settings, params["base_model"], loc=("body", "base_model"))
    return params


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
    return jobs.submit("udr_mine", _job_params(ws, body))


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
    _check_model_name(ws, guard, body.name)
    return jobs.submit("udr_train", _job_params(ws, body))


def _check_model_name(ws: Workspace, guard: PoolGuard, name: str) -> None:
    """409 when a key limited to some pools would add a version to a model that has versions it
    may not see (trained on other pools): the next version would shadow them for other callers.
    The message only echoes the caller's own name."""
    if guard.limited and len(ws.models.versions(name, readable=guard.readable)) != len(ws.models.versions(name)):
        raise ConflictError(f"model name {name!r} is taken; choose another name")


@router.get("/models", response_model=list[ModelPublic], summary="Trained models, every version")
def list_models(ws: WorkspaceDep, guard: GuardDep, name: str | None = None) -> list[dict[str, Any]]:
    """200 with every version of every trained model (or of ``name``), by name then version: of
    those trained on pools the key may all access (every model for a key without a pool limit)."""
    return [m.to_dict(with_path=False) for m in ws.models.versions(name, readable=guard.readable)]


@router.get("/models/{name}", response_model=ModelPublic, summary="A trained model (latest version, or ?version=N)")
def get_model(
    name: str, ws: WorkspaceDep, guard: GuardDep, version: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None
) -> dict[str, Any]:
    """200 with the model version; 404 for an unknown name or version, or one trained on a pool the
    key may not access (the same answer: it does not exist for that key)."""
    return ws.models.get(name, version, readable=guard.readable).to_dict(with_path=False)
