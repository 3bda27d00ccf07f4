"""A pool's prompt template: what prompts over the pool use when a request names none."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import PoolAccess, WorkspaceDep
from ..errors import problem_responses
from ..schemas import TemplateIn, TemplatePublic

router = APIRouter(prefix="/pools/{pool}", tags=["pools"])


@router.get(
    "/template",
    response_model=TemplatePublic,
    summary="The pool's prompt template (its own, else the default derived from its fields and labels)",
    responses=problem_responses(403, 404),
)
def get_pool_template(pool: PoolAccess, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the effective template and its ``source`` (``pool`` or ``default``); 403; 404."""
    return ws.pools.template_info(pool)


@router.put(
    "/template",
    response_model=TemplatePublic,
    summary="Set the pool's prompt template (null: back to the derived default)",
    responses=problem_responses(403, 404, 422),
)
def put_pool_template(pool: PoolAccess, ws: WorkspaceDep, body: TemplateIn | None = None) -> dict[str, Any]:
    """200 with the template now in effect; 403; 404; 422 for a bad template or one naming a field
    the pool's items do not have (the message names it). Fields are plain names only: no attribute
    or index access, no code."""
    return ws.set_pool_template(pool, None if body is None else body.model_dump(exclude_none=True))
