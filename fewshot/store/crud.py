"""Small queries shared by the service layer (keyword-only, one session in, no commits)."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..exceptions import InvalidInputError, NotFoundError
from .models import Example, ExampleStatus, Pool

__all__ = ["get_pool", "status_counts", "examples_query", "STATUSES"]

STATUSES = tuple(s.value for s in ExampleStatus)


def get_pool(session: Session, *, name: str) -> Pool:
    pool = session.scalar(select(Pool).where(Pool.name == name))
    if pool is None:
        names = session.scalars(select(Pool.name).order_by(Pool.name).limit(20)).all()
        known = f"; known pools: {', '.join(names)}" if names else "; no pools exist yet"
        raise NotFoundError(f"pool {name!r} does not exist{known}")
    return pool


def status_counts(session: Session, *, pool_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Example.status, func.count()).where(Example.pool_id == pool_id).group_by(Example.status)
    ).all()
    counts = {s: 0 for s in STATUSES}
    counts.update({status: int(n) for status, n in rows})
    return counts


def check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise InvalidInputError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")


def examples_query(*, pool_id: int, status: str | Sequence[str] | None = None, label: str | None = None):
    """A SELECT of a pool's examples in id order, optionally filtered."""
    stmt = select(Example).where(Example.pool_id == pool_id)
    if isinstance(status, str):
        check_status(status)
        stmt = stmt.where(Example.status == status)
    elif status is not None:
        for s in status:
            check_status(s)
        stmt = stmt.where(Example.status.in_(list(status)))
    if label is not None:
        stmt = stmt.where(Example.label == label)
    return stmt.order_by(Example.id)
