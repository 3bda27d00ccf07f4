"""Skills of a pool: vocabulary, bulk edits, difficulty thresholds, skill prediction (AdaptMI)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...service.skills import SkillEdit
from ...exceptions import InvalidInputError
from ..deps import KeyDep, WorkspaceDep, check_pool_access

router = APIRouter(prefix="/pools/{pool}", tags=["skills"])


class VocabularyPublic(BaseModel):
    pool: str
    skills: list[str]
    stored: bool = Field(description="True when the pool stores a vocabulary; false when it is derived from items.")
    counts: dict[str, int]


class VocabularyIn(BaseModel):
    skills: list[str] | None = Field(description="The vocabulary; null derives it from the items again.")


class SkillEditIn(BaseModel):
    id: str = Field(min_length=1)
    skills: list[str]
    mode: Literal["set", "add", "remove"] = "set"

    model_config = ConfigDict(extra="forbid")


class SkillEditsIn(BaseModel):
    """Either ``ids`` with one of ``set``/``add``/``remove``, or per-item ``edits``; all or nothing."""

    ids: list[str] | None = Field(None, max_length=100_000)
    set: list[str] | None = None
    add: list[str] | None = None
    remove: list[str] | None = None
    edits: list[SkillEditIn] | None = Field(None, max_length=100_000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"ids": ["gsm8k-train-0", "gsm8k-train-1"], "add": ["percentage"]},
        {"edits": [{"id": "gsm8k-train-2", "skills": ["division"], "mode": "set"}]}]})


class SkillEditReportPublic(BaseModel):
    pool: str
    read: int
    changed: int
    unchanged: int
    new_skills: list[str]
    index_version: int | None = None


class ThresholdsIn(BaseModel):
    final: float | None = None
    mean: float | None = None
    step: float | None = None
    confidence: float | None = None
    consistency: float | None = None
    reset: bool = Field(False, description="Back to the defaults (the paper's PRM thresholds).")

    model_config = ConfigDict(extra="forbid")


class ThresholdsPublic(BaseModel):
    final: float
    mean: float
    step: float
    confidence: float
    consistency: float


class PredictIn(BaseModel):
    queries: list[str] = Field(min_length=1, max_length=10_000)
    method: Literal["knn", "logreg", "lm"] = "knn"
    top: int = Field(1, ge=1, le=50)
    lm: str | None = Field(None, description="LM backend spec for method lm (e.g. smollm2).")


class PredictPublic(BaseModel):
    method: str
    skills: list[list[str]]


@router.get("/skills", response_model=VocabularyPublic, summary="The pool's skill vocabulary with item counts")
def get_vocabulary(pool: str, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    return ws.skill_vocabulary(pool)


@router.put("/skills", response_model=VocabularyPublic, summary="Store the skill vocabulary (null: derive it)")
def put_vocabulary(pool: str, body: VocabularyIn, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    return ws.set_skill_vocabulary(pool, body.skills)


@router.post("/skills/edit", response_model=SkillEditReportPublic,
             summary="Bulk skill edits (set/add/remove for many ids, or per item); all or nothing")
def edit_skills(pool: str, body: SkillEditsIn, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    if body.edits is not None:
        if any(v is not None for v in (body.ids, body.set, body.add, body.remove)):
            raise InvalidInputError("give either edits or ids with set/add/remove, not both")
        edits = [SkillEdit(e.id, tuple(e.skills), e.mode, n) for n, e in enumerate(body.edits, start=1)]
        return ws.skills.edit(pool, edits, source="edits").to_dict()
    return ws.edit_skills(pool, body.ids or [], set=body.set, add=body.add, remove=body.remove).to_dict()


@router.get("/difficulty", response_model=ThresholdsPublic, summary="The pool's difficulty thresholds")
def get_thresholds(pool: str, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    return ws.difficulty_thresholds(pool).to_dict()


@router.put("/difficulty", response_model=ThresholdsPublic, summary="Change some difficulty thresholds")
def put_thresholds(pool: str, body: ThresholdsIn, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    update: dict[str, Any] = body.model_dump(exclude_none=True, exclude={"reset"})
    return ws.difficulty_thresholds(pool, update, reset=body.reset).to_dict()


@router.post("/skills/predict", response_model=PredictPublic, summary="Predict the skills of queries")
def predict(pool: str, body: PredictIn, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    return {"method": body.method, "skills": ws.predict_skills(pool, body.queries, method=body.method, top=body.top,
                                                               lm=body.lm)}
