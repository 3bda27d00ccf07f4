"""Repository of index versions (``index_versions``): one row per built retrieval index of a pool,
``kind`` ``dense`` or ``udr:<name>:v<N>[#<instruction hash>]``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fewshot.store.models import IndexVersion, Pool
from fewshot.store.pools import not_found

__all__ = ["latest", "latest_fingerprint", "add_version", "latest_by_pool_name"]


def latest(session: Session, *, pool_id: int, kind: str) -> IndexVersion | None:
    """The newest version of the pool's index of ``kind`` (None: never built)."""
    return session.scalar(
        select(IndexVersion)
        .where(IndexVersion.pool_id == pool_id, IndexVersion.kind == kind)
        .order_by(IndexVersion.version.desc())
        .limit(1)
    )


def latest_fingerprint(session: Session, *, pool_id: int, kind: str = "dense") -> str | None:
    """The labeled-set fingerprint of the newest index of ``kind`` (None: never built)."""
    return session.scalar(
        select(IndexVersion.labeled_fingerprint)
        .where(IndexVersion.pool_id == pool_id, IndexVersion.kind == kind)
        .order_by(IndexVersion.version.desc())
        .limit(1)
    )


def latest_by_pool_name(session: Session, *, name: str, kind: str = "dense") -> Any:
    """``(id, embedding_model, version, path, index_id, created_at)`` of a pool and its newest index
    of ``kind`` in one query; the index columns are None when no index was built. `NotFoundError` for an unknown pool."""
    row = session.execute(
        select(
            Pool.id,
            Pool.embedding_model,
            IndexVersion.version,
            IndexVersion.path,
            IndexVersion.id.label("index_id"),
            IndexVersion.created_at,
        )
        .outerjoin(IndexVersion, (IndexVersion.pool_id == Pool.id) & (IndexVersion.kind == kind))
        .where(Pool.name == name)
        .order_by(IndexVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise not_found(session, name)
    return row


def add_version(
    session: Session,
    *,
    pool_id: int,
    kind: str,
    version: int,
    embedding_model: str,
    path: str,
    count: int,
    fingerprint: str,
) -> IndexVersion:
    row = IndexVersion(
        pool_id=pool_id,
        kind=kind,
        version=version,
        embedding_model=embedding_model,
        path=path,
        count=count,
        labeled_fingerprint=fingerprint,
    )
    session.add(row)
    session.flush()
    return row
