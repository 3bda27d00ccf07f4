"""Indexes, retrieval, prompts and the prompt log."""

from __future__ import annotations

from fastapi import APIRouter

from ...exceptions import InvalidInputError
from ...retrieve import Filter
from ..deps import KeyDep, WorkspaceDep, check_pool_access
from ..schemas import (
    FilterIn,
    IndexBuild,
    IndexPublic,
    PromptLogPublic,
    PromptRequest,
    PromptResponse,
    RetrieveRequest,
    RetrieveResponse,
)

router = APIRouter(tags=["retrieval"])


def _filter(f: FilterIn | None) -> Filter | None:
    if f is None:
        return None
    return Filter(labels=f.labels, skills=f.skills, fields=f.fields, exclude_ids=f.exclude_ids or ())


@router.post("/pools/{pool}/index", response_model=IndexPublic,
             summary="Build or refresh the index over the labeled items (incremental, versioned)")
def build_index(pool: str, ws: WorkspaceDep, key: KeyDep, body: IndexBuild | None = None) -> dict:
    check_pool_access(key, pool)
    return ws.build_index(pool, kind=(body or IndexBuild()).kind).to_dict()


@router.get("/pools/{pool}/index", response_model=IndexPublic, summary="The latest index version")
def get_index(pool: str, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    return ws.index_info(pool).to_dict()


@router.post("/pools/{pool}/retrieve", response_model=RetrieveResponse,
             summary="Demonstrations for a batch of queries")
def retrieve(pool: str, body: RetrieveRequest, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    version, results = ws.retrieval.retrieve_versioned(pool, body.queries, k=body.k, retriever=body.retriever,
                                                     filter=_filter(body.filter))
    return {"index_version": version, "results": [
        [{"id": str(d.id), "score": float(d.score), "rank": d.rank, "text": d.text,
          "label": None if d.label is None else str(d.label), "skills": list(d.example.skills)} for d in demos]
        for demos in results]}


@router.post("/prompts", response_model=PromptResponse, summary="Build a prompt for a query (logged)")
def build_prompt(body: PromptRequest, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, body.pool)
    options = dict(retriever=body.retriever, template=body.template, instruction=body.instruction,
                   max_tokens=body.max_tokens, reserve_tokens=body.reserve_tokens, max_demo_tokens=body.max_demo_tokens,
                   tokenizer=body.tokenizer, order=body.order, filter=_filter(body.filter),
                   output_field=body.output_field)
    adaptive: dict = {}
    if body.feedback is None:
        prompt, prompt_id = ws.build_prompt(body.pool, body.query, k=body.k, **options)
    else:
        if body.k < 1:
            raise InvalidInputError("adaptive prompts need k >= 1")
        built = ws.adaptive_prompt(body.pool, body.query, feedback=body.feedback.model_dump(exclude_none=True),
                                   k=body.k, predictor=body.predictor, n_skills=body.n_skills,
                                   thresholds=body.thresholds, **options)
        prompt, prompt_id, d = built.prompt, built.prompt_id, built.decision
        adaptive = {"branch": d.branch, "reason": d.reason, "skills": list(d.skills), "skill_source": d.skill_source,
                    "judgement": None if d.judgement is None else d.judgement.to_dict()}
    return {"id": prompt_id, "text": prompt.text, "messages": prompt.messages, "n_tokens": prompt.n_tokens,
            "template": body.template, "retriever": body.retriever,
            "demos": [{"id": str(d.id), "score": d.score, "rank": d.rank, "truncated": d.truncated}
                      for d in prompt.demos], **adaptive}


@router.get("/prompts/{prompt_id}", response_model=PromptLogPublic, summary="Provenance of a built prompt")
def prompt_log(prompt_id: str, ws: WorkspaceDep, key: KeyDep) -> dict:
    log = ws.prompt_log(prompt_id)
    if log["pool"] is not None:
        check_pool_access(key, log["pool"])
    return log
