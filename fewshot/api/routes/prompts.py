"""Prompts: retrieve and pack demonstrations for a query (plain or adaptive), and the prompt log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .._allowlist import resolve_tokenizer
from ..deps import GuardDep, WorkspaceDep
from ..schemas import PromptLogPublic, PromptRequest, PromptResponse, TemplateIn, prompt_demo_public, to_filter

router = APIRouter(prefix="/prompts", tags=["prompts"])

#: Request fields passed to the prompt service as they are.
_BUILD_OPTIONS = (
    "retriever",
    "template",
    "instruction",
    "max_tokens",
    "reserve_tokens",
    "max_demo_tokens",
    "tokenizer",
    "order",
    "output_field",
)


@router.post("", response_model=PromptResponse, summary="Build a prompt for a query (logged)")
def build_prompt(body: PromptRequest, ws: WorkspaceDep, guard: GuardDep) -> dict[str, Any]:
    """200 with the prompt (text and chat messages), its demonstrations and its provenance id; with
    ``feedback``, the adaptive branch taken and why. 403 when the key may not access the pool; 404
    for an unknown pool or no index; 422 for a bad option, a query that alone overflows
    ``max_tokens``, unknown skills, or feedback with nothing to judge."""
    guard.check(body.pool)
    options: dict[str, Any] = {name: getattr(body, name) for name in _BUILD_OPTIONS}
    options["tokenizer"] = resolve_tokenizer(ws.settings, body.tokenizer)
    options["retriever"] = guard.retriever(ws, body.retriever)  # udr:<model> the key may see
    options["filter"] = to_filter(body.filter)
    if isinstance(body.template, TemplateIn):
        options["template"] = body.template.model_dump(exclude_none=True)
    decision: dict[str, Any] = {}
    query: str | dict[str, Any] = body.query
    if body.query_fields:
        query = {**body.query_fields, "text": body.query}
    prompt_id: str | None
    if body.feedback is None:
        prompt, prompt_id = ws.build_prompt(body.pool, query, k=body.k, **options)
    else:
        built = ws.adaptive_prompt(
            body.pool,
            body.query,
            feedback=body.feedback.model_dump(exclude_none=True),
            k=body.k,
            predictor=body.predictor,
            n_skills=body.n_skills,
            thresholds=body.thresholds,
            **options,
        )
        prompt, prompt_id, decision = built.prompt, built.prompt_id, built.decision.to_dict()
    return {
        "id": prompt_id,
        "text": prompt.text,
        "messages": prompt.messages,
        "n_tokens": prompt.n_tokens,
        "template": prompt.template_name,
        "retriever": body.retriever,
        "demos": [prompt_demo_public(d) for d in prompt.demos],
        **decision,
    }


@router.get("/{prompt_id}", response_model=PromptLogPublic, summary="Provenance of a built prompt")
def prompt_log(prompt_id: str, ws: WorkspaceDep, guard: GuardDep) -> dict[str, Any]:
    """200 with the log: which demonstrations went in, with their scores, found how; 403 when the
    key may not access the prompt's pool; 404 for an unknown id."""
    log = ws.prompt_log(prompt_id)
    guard.check(log["pool"])
    return log
