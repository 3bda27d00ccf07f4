"""Searching the prompt log: by id (or id prefix), pool and creation time, newest first, a page at a
time with the total. Read-only; `fewshot.store.prompt_logs` writes the rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from fewshot.store.models import Pool, PromptLog

__all__ = ["search_logs", "all_pool_ids"]


def all_pool_ids(session: Session) -> dict[str, int]:
    """``{name: id}`` of every pool (to narrow a search to the pools a key may read)."""
    return {str(r[0]): int(r[1]) for r in session.execute(select(Pool.name, Pool.id)).all()}


def _as_stored(session: Session, when: dt.datetime | None) -> dt.datetime | None:
    """A bound for ``created_at`` as the backend compares it: UTC, and naive on SQLite (which
    stores the UTC wall time without an offset)."""
    if when is None:
        return None
    utc = when.astimezone(dt.timezone.utc) if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    return utc.replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite" else utc


def _filtered(
    query: Select[Any],
    *,
    pool_ids: Sequence[int] | None,
    id_prefix: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Select[Any]:
    if pool_ids is not None:
        query = query.where(PromptLog.pool_id.in_(list(pool_ids)))
    if id_prefix:
        escaped = id_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(PromptLog.id.like(escaped + "%", escape="\\"))
    if since is not None:
        query = query.where(PromptLog.created_at >= since)
    if until is not None:
        query = query.where(PromptLog.created_at < until)
    return query


def search_logs(
    session: Session,
    *,
    pool_ids: Sequence[int] | None = None,
    id_prefix: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """``(rows, total)``: the matching logs, newest first, ``limit`` of them from ``offset``, and how
    many match in all. ``pool_ids`` None: every pool; ``[]``: none. Each row: ``id``, ``pool``,
    ``query``, ``retriever``, ``template``, ``n_demos``, ``n_tokens``, ``created_at`` (a datetime)."""
    if pool_ids is not None and not pool_ids:
        return [], 0
    lo, hi = _as_stored(session, since), _as_stored(session, until)

    def narrowed(query: Select[Any]) -> Select[Any]:
        return _filtered(query, pool_ids=pool_ids, id_prefix=id_prefix, since=lo, until=hi)

    total = int(session.scalar(narrowed(select(func.count()).select_from(PromptLog))) or 0)
    query = narrowed(
        select(
            PromptLog.id,
            Pool.name,
            PromptLog.query,
            PromptLog.retriever,
            PromptLog.template,
            PromptLog.demo_ids,
            PromptLog.n_tokens,
            PromptLog.created_at,
        ).join(Pool, Pool.id == PromptLog.pool_id)
    )
    rows = session.execute(query.order_by(PromptLog.created_at.desc(), PromptLog.id).limit(limit).offset(offset)).all()
    return [
        {
            "id": r[0],
            "pool": r[1],
            "query": r[2],
            "retriever": r[3],
            "template": r[4],
            "n_demos": len(r[5] or ()),
            "n_tokens": int(r[6] or 0),
            "created_at": r[7],
        }
        for r in rows
    ], total
