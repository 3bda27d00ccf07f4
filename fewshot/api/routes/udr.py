"""UDR over HTTP: mining and training as background jobs (poll ``GET /v1/jobs/{id}``), and the
trained models. Retrieval and prompts take ``"retriever": "udr:<model>"`` on their usual routes."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from ..deps import JobsDep, KeyDep, WorkspaceDep, check_pool_access
from ..schemas import JobPublic

router = APIRouter(tags=["udr"])

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$"


class UDRMineRequest(BaseModel):
    pools: list[str] = Field(min_length=1, max_length=100, description="Pools whose labeled items are mined.")
    lm: str = Field("smollm2", min_length=1, description="LM backend spec: smollm2, gemma3-270m, hf:<dir>, "
                                                          "openai:<base_url>#<model>.")
    n_candidates: int = Field(50, ge=1, le=1000, description="BM25 candidates per training item (self excluded).")
    template: str = Field("default", description="Feedback prompt format: default or a prompt preset.")
    max_queries: int | None = Field(None, ge=1, description="Training items per pool (seeded sample) [all].")
    seed: int = 0

    model_config = ConfigDict(extra="forbid")


class UDRTrainRequest(UDRMineRequest):
    name: str = Field(pattern=_NAME, description="Model name; each training saves the next version.")
    rounds: int = Field(1, ge=1, le=10, description="Mining rounds (2+: re-mine with the trained model; paper 3).")
    instructions: dict[str, str] | None = Field(None, description="Encoder instruction per pool "
                                                "[default: the pool's description or name].")
    base_model: str | None = Field(None, description="sentence-transformers model to start from [bundled MiniLM].")
    epochs: int = Field(3, ge=1, le=100)
    batch_size: int = Field(8, ge=1, le=512)
    lr: float = Field(3e-5, gt=0, le=1)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "mix", "pools": ["sst5", "trec"], "lm": "smollm2", "n_candidates": 30, "max_queries": 64}]})


class ModelPublic(BaseModel):
    name: str
    version: int
    spec: str = Field(description="Retriever name selecting this version, e.g. udr:mix:v2.")
    kind: Literal["udr"]
    base_model: str
    path: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    created_at: str


def _check_pools(key: Any, pools: list[str], ws: Any) -> None:
    for pool in pools:
        check_pool_access(key, pool)
        ws.get_pool(pool)  # 404 naming the pool before a job is queued


@router.post("/udr/mine", response_model=JobPublic, status_code=status.HTTP_202_ACCEPTED,
             summary="Score BM25 candidates with an LM (a job; stored, resumable); poll /v1/jobs/{id}")
def udr_mine(body: UDRMineRequest, ws: WorkspaceDep, jobs: JobsDep, key: KeyDep) -> dict:
    _check_pools(key, body.pools, ws)
    return jobs.submit("udr_mine", body.model_dump())


@router.post("/udr/train", response_model=JobPublic, status_code=status.HTTP_202_ACCEPTED,
             summary="Train a UDR retriever on LM feedback (a job); poll /v1/jobs/{id}")
def udr_train(body: UDRTrainRequest, ws: WorkspaceDep, jobs: JobsDep, key: KeyDep) -> dict:
    _check_pools(key, body.pools, ws)
    return jobs.submit("udr_train", body.model_dump())


@router.get("/models", response_model=list[ModelPublic], summary="Trained models, every version")
def list_models(ws: WorkspaceDep, key: KeyDep, name: str | None = None) -> list[dict]:
    return [m.to_dict() for m in ws.list_models(name)]


@router.get("/models/{name}", response_model=ModelPublic, summary="A trained model (latest version, or ?version=N)")
def get_model(name: str, ws: WorkspaceDep, key: KeyDep, version: int | None = None) -> dict:
    return ws.get_model(name, version).to_dict()
