"""Repository of prompt logs: which demonstrations went into each built prompt."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fewshot.exceptions import NotFoundError
from fewshot.store.models import Pool, PromptLog

__all__ = ["add_log", "get_log", "recent_ids"]


def add_log(session: Session, **values: Any) -> None:
    """Insert a log row (``id``, ``pool_id``, ``query_hash``, ``query``, ``retriever``, ``template``,
    ``demo_ids``, ``scores``, ``n_tokens``, ``params``)."""
    session.add(PromptLog(**values))


def get_log(session: Session, prompt_id: str) -> dict[str, Any]:
    """The log as a JSON-ready dict with the pool's name; `NotFoundError` for an unknown id."""
    row = session.get(PromptLog, prompt_id)
    if row is None:
        raise NotFoundError(f"no prompt with id {prompt_id!r}")
    pool = session.scalar(select(Pool.name).where(Pool.id == row.pool_id))
    return {
        "id": row.id,
        "pool_id": row.pool_id,
        "pool": pool,
        "query": row.query,
        "query_hash": row.query_hash,
        "retriever": row.retriever,
        "template": row.template,
        "demo_ids": list(row.demo_ids),
        "scores": list(row.scores),
        "n_tokens": row.n_tokens,
        "params": dict(row.params or {}),
        "created_at": row.created_at.isoformat(),
    }


def recent_ids(session: Session, *, pool_id: int, limit: int) -> list[str]:
    """Ids of the pool's newest ``limit`` logs, newest first."""
    return list(
        session.scalars(
            select(PromptLog.id).where(PromptLog.pool_id == pool_id).order_by(PromptLog.created_at.desc()).limit(limit)
        )
    )
