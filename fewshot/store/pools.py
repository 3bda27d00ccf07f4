"""Repository of pools: lookup by name, creation, deletion, item counts, pool settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from fewshot.exceptions import ConflictError, NotFoundError
from fewshot.store.errors import is_unique_violation
from fewshot.store.models import Example, ExampleStatus, Pool

__all__ = [
    "get_pool",
    "find_pool",
    "pool_ref",
    "create_pool",
    "list_pools",
    "delete_pool",
    "status_counts",
    "update_setting",
    "STATUSES",
]

STATUSES = tuple(s.value for s in ExampleStatus)


def not_found(session: Session, name: str) -> NotFoundError:
    """The error for an unknown pool. Up to 20 known pools go in its ``hint`` (shown by the CLI,
    never by the API: they may be other tenants' names), not in its message."""
    names = session.scalars(select(Pool.name).order_by(Pool.name).limit(20)).all()
    hint = f"known pools: {', '.join(names)}" if names else "no pools exist yet"
    return NotFoundError(f"pool {name!r} does not exist", hint=hint)


def find_pool(session: Session, *, name: str) -> Pool | None:
    """The pool called ``name``, else None. A name holding a NUL character names no pool (none can
    be stored: PostgreSQL refuses NUL in text), so it is not sent to the database."""
    if "\x00" in name:
        return None
    return session.scalar(select(Pool).where(Pool.name == name))


def get_pool(session: Session, *, name: str) -> Pool:
    """The pool called ``name``; `NotFoundError` otherwise."""
    pool = find_pool(session, name=name)
    if pool is None:
        raise not_found(session, name)
    return pool


def pool_ref(session: Session, *, name: str) -> tuple[int, str]:
    """``(id, embedding_model)`` of a pool with one light query (no counts)."""
    if "\x00" in name:  # names no pool (see `find_pool`)
        raise not_found(session, name)
    row = session.execute(select(Pool.id, Pool.embedding_model).where(Pool.name == name)).first()
    if row is None:
        raise not_found(session, name)
    return int(row.id), str(row.embedding_model)


def create_pool(session: Session, **fields: Any) -> Pool:
    """Insert a pool (``name``, ``embedding_model``, optional ``template``, ``text_field``,
    ``description``); `ConflictError` when the name is taken, also by a concurrent writer."""
    pool = Pool(**fields)
    session.add(pool)
    try:
        session.flush()
    except IntegrityError as exc:  # the session is unusable now: the caller's transaction rolls back
        if is_unique_violation(exc):
            raise ConflictError(f"pool {fields.get('name')!r} already exists") from None
        raise
    return pool


def list_pools(session: Session) -> list[Pool]:
    return list(session.scalars(select(Pool).order_by(Pool.name)))


def delete_pool(session: Session, *, pool_id: int) -> None:
    session.execute(delete(Pool).where(Pool.id == pool_id))


def status_counts(session: Session, *, pool_id: int) -> dict[str, int]:
    """Items per status, every status present (0 when none)."""
    rows = session.execute(
        select(Example.status, func.count()).where(Example.pool_id == pool_id).group_by(Example.status)
    ).all()
    counts = {s: 0 for s in STATUSES}
    counts.update({status: int(n) for status, n in rows})
    return counts


def update_setting(session: Session, *, name: str, key: str, value: Any) -> None:
    """Set (or, with ``value=None``, remove) one key of the pool's JSON settings."""
    pool = get_pool(session, name=name)
    settings = dict(pool.settings or {})
    if value is None:
        settings.pop(key, None)
    else:
        settings[key] = value
    pool.settings = settings or None
    flag_modified(pool, "settings")
