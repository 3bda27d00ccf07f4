"""Prompt provenance (search the prompt log; one prompt's account) and the Playground (a query
against one or two retrievers, side by side; nothing is logged)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi import Path as PathParam

from ...exceptions import FewshotError
from ...prompt import TEMPLATES
from ...service.provenance import MAX_PAGE
from ...service.retrieval import demo_to_dict, retriever_names
from ..deps import WorkspaceDep
from .auth import ConsoleSession, SessionDep
from .render import ConsoleRoute, render

router = APIRouter(route_class=ConsoleRoute)

#: Logs per page of the provenance search.
PAGE = 25
#: Largest k and token budget the playground offers.
MAX_K, MAX_TOKENS = 50, 32_768


def _when(value: str | None, field: str) -> dt.datetime | None:
    """A ``datetime-local`` form value (``2026-01-31T12:00``, read as UTC) or an ISO time."""
    if not value or not value.strip():
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(422, f"{field} must be a date and time like 2026-01-31T12:00, got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


@router.get("/prompts")
def prompts_page(
    request: Request,
    ws: WorkspaceDep,
    session: SessionDep,
    id: Annotated[str, Query(max_length=64)] = "",
    pool: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE,
) -> Response:
    """Search the prompt log by id (or prefix), pool and time range, newest first."""
    if pool:
        session.guard.check(pool)
    page = ws.provenance.search(
        pool=pool or None,
        prompt_id=id or None,
        since=_when(since, "since"),
        until=_when(until, "until"),
        limit=limit,
        offset=offset,
        readable=session.guard.readable,
    )
    pools = [p.name for p in ws.pools.all() if session.guard.allows(p.name)]
    form = {"id": id, "pool": pool, "since": since, "until": until, "limit": limit}
    return render(
        request,
        "prompts.html",
        session=session,
        csrf=session.csrf,
        page=page,
        form=form,
        pools=pools,
        active="prompts",
        pool=pool or None,
    )


@router.get("/prompts/{prompt_id}")
def prompt_page(
    prompt_id: Annotated[str, PathParam(max_length=64)],
    request: Request,
    ws: WorkspaceDep,
    session: SessionDep,
) -> Response:
    """One prompt: its demonstrations with scores, retriever, index version, adaptive branch, text."""
    log = ws.prompts.log(prompt_id)
    session.guard.check(log["pool"])
    account = ws.provenance.detail(prompt_id)
    return render(
        request,
        "prompt.html",
        session=session,
        csrf=session.csrf,
        pool=log["pool"],
        p=account,
        active="prompts",
    )


def _side(
    ws: Any,
    session: ConsoleSession,
    pool: str,
    query: str,
    *,
    retriever: str,
    k: int,
    template: str | None,
    max_tokens: int,
) -> dict[str, Any]:
    """One column of the playground: the retrieved demonstrations and the prompt built from them."""
    try:
        name = session.guard.retriever(ws, retriever)
        version, results = ws.retrieval.retrieve_versioned(pool, [query], k=k, retriever=name)
        demos = results[0]
        prompt, _ = ws.prompts.build(
            pool, query, k=k, retriever=name, template=template, max_tokens=max_tokens, demos=demos, log=False
        )
    except FewshotError as exc:
        return {"retriever": retriever, "error": str(exc)}
    return {
        "retriever": retriever,
        "index_version": version,
        "demos": [demo_to_dict(d) for d in demos],
        "prompt": prompt,
        "error": None,
    }


@router.get("/pools/{pool}/playground")
def playground(
    pool: str,
    request: Request,
    ws: WorkspaceDep,
    session: SessionDep,
    query: Annotated[str, Query(max_length=10_000)] = "",
    retriever: Annotated[str, Query(max_length=200)] = "dense",
    retriever2: Annotated[str, Query(max_length=200)] = "",
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 4,
    template: Annotated[str, Query(max_length=100)] = "",
    max_tokens: Annotated[int, Query(ge=16, le=MAX_TOKENS)] = 1024,
) -> Response:
    """Type a query, pick retrievers / k / template: the demonstrations and the built prompt."""
    session.guard.check(pool)
    ws.pools.ref(pool)
    if template and template not in TEMPLATES:
        raise HTTPException(422, f"template must be one of {', '.join(TEMPLATES.names())}, got {template!r}")
    sides = []
    if query.strip():
        for name in [retriever, retriever2] if retriever2 else [retriever]:
            sides.append(
                _side(ws, session, pool, query, retriever=name, k=k, template=template or None, max_tokens=max_tokens)
            )
    form = {
        "query": query,
        "retriever": retriever,
        "retriever2": retriever2,
        "k": k,
        "template": template,
        "max_tokens": max_tokens,
    }
    return render(
        request,
        "playground.html",
        session=session,
        csrf=session.csrf,
        pool=pool,
        form=form,
        sides=sides,
        retrievers=retriever_names(),
        templates=TEMPLATES.names(),
        max_k=MAX_K,
        active="playground",
    )
