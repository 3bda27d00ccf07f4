"""Skills of a pool: vocabulary, bulk edits, difficulty thresholds, skill prediction (AdaptMI)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .._allowlist import resolve_lm
from ..deps import PoolAccess, WorkspaceDep
from ..schemas import (
    PredictIn,
    PredictPublic,
    SkillEditReportPublic,
    SkillEditsIn,
    ThresholdsIn,
    ThresholdsPublic,
    VocabularyIn,
    VocabularyPublic,
)

router = APIRouter(prefix="/pools/{pool}", tags=["skills"])


@router.get("/skills", response_model=VocabularyPublic, summary="The pool's skill vocabulary with item counts")
def get_vocabulary(pool: PoolAccess, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the stored vocabulary (else the skills the items carry) and item counts; 403; 404."""
    return ws.skill_vocabulary(pool)


@router.put("/skills", response_model=VocabularyPublic, summary="Store the skill vocabulary (null: derive it)")
def put_vocabulary(pool: PoolAccess, body: VocabularyIn, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the new vocabulary; 403; 404; 422 when items carry skills outside it."""
    return ws.set_skill_vocabulary(pool, body.skills)


@router.post(
    "/skills/edit",
    response_model=SkillEditReportPublic,
    summary="Bulk skill edits (set/add/remove for many ids, or per item); all or nothing",
)
def edit_skills(pool: PoolAccess, body: SkillEditsIn, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the edit report (an indexed pool's index is refreshed: ``index_version``); 403; 404;
    422 naming the line and id of the first bad edit (unknown id or skill; nothing is changed) or
    when both forms are given."""
    return ws.edit_skills(
        pool, body.ids, set=body.set, add=body.add, remove=body.remove, edits=body.per_item()
    ).to_dict()


@router.get("/difficulty", response_model=ThresholdsPublic, summary="The pool's difficulty thresholds")
def get_thresholds(pool: PoolAccess, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the thresholds the adaptive policy judges first answers by; 403; 404."""
    return ws.difficulty_thresholds(pool).to_dict()


@router.put("/difficulty", response_model=ThresholdsPublic, summary="Change some difficulty thresholds")
def put_thresholds(pool: PoolAccess, body: ThresholdsIn, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the thresholds after the change (``reset``: the defaults); 403; 404; 422 for an
    unknown field or a bad value."""
    update = body.model_dump(exclude_none=True, exclude={"reset"})
    return ws.difficulty_thresholds(pool, update, reset=body.reset).to_dict()


@router.post("/skills/predict", response_model=PredictPublic, summary="Predict the skills of queries")
def predict(pool: PoolAccess, body: PredictIn, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with up to ``top`` skills per query, most likely first; 403; 404 for an unknown pool or
    no index; 422 for an unknown predictor (any registered one), a pool without skills, or an
    LM-backed predictor without ``lm``; 502 when that LM fails."""
    skills = ws.predict_skills(
        pool, body.queries, method=body.method, top=body.top, lm=resolve_lm(ws.settings, body.lm)
    )
    return {"method": body.method, "skills": skills}
