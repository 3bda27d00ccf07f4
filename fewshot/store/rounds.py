"""Selection rounds: persisting a :class:`fewshot.annotate.Selection` against a pool."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fewshot.exceptions import NotFoundError
from fewshot.store.models import Example, ExampleStatus, Pool, SelectionItem, SelectionRound

__all__ = ["RoundInfo", "RoundItem", "save_round", "get_round", "list_rounds"]


@dataclass(frozen=True)
class RoundItem:
    position: int
    example_id: int
    external_id: str
    text: str
    score: float
    status: str
    label: str | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class RoundInfo:
    pool: str
    number: int
    method: str
    budget: int
    seed: int
    params: dict[str, Any]
    influence: float | None
    created_at: dt.datetime
    items: list[RoundItem]

    def to_dict(self, *, with_items: bool = True) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "items"}
        d["created_at"] = self.created_at.isoformat()
        if with_items:
            d["items"] = [dict(i.__dict__) for i in self.items]
        return d


def save_round(
    session: Session,
    pool: Pool,
    *,
    method: str,
    params: dict[str, Any],
    seed: int,
    example_ids: np.ndarray,
    scores: np.ndarray,
    influence: float | None,
) -> int:
    """Store a round (next number for the pool) and mark its unlabeled items selected."""
    number = (session.scalar(select(func.max(SelectionRound.number)).where(SelectionRound.pool_id == pool.id)) or 0) + 1
    rnd = SelectionRound(
        pool_id=pool.id,
        number=number,
        method=method,
        params=params,
        budget=len(example_ids),
        seed=seed,
        influence=influence,
    )
    session.add(rnd)
    session.flush()
    session.add_all(
        SelectionItem(round_id=rnd.id, position=i, example_id=int(e), score=float(s))
        for i, (e, s) in enumerate(zip(example_ids, scores))
    )
    ids = [int(e) for e in example_ids]
    for i in range(0, len(ids), 1000):
        session.execute(
            update(Example)
            .where(Example.id.in_(ids[i : i + 1000]), Example.status == ExampleStatus.UNLABELED.value)
            .values(status=ExampleStatus.SELECTED.value)
        )
    return number


def get_round(session: Session, pool: Pool, number: int | None = None) -> RoundInfo:
    """Round ``number`` of the pool, or the latest one."""
    stmt = select(SelectionRound).where(SelectionRound.pool_id == pool.id)
    stmt = (
        stmt.where(SelectionRound.number == number)
        if number is not None
        else stmt.order_by(SelectionRound.number.desc()).limit(1)
    )
    rnd = session.scalar(stmt)
    if rnd is None:
        what = f"round {number}" if number is not None else "any selection round"
        raise NotFoundError(f"pool {pool.name!r} has no {what}; run `fewshot select` first")
    rows = session.execute(
        select(SelectionItem, Example)
        .join(Example, SelectionItem.example_id == Example.id)
        .where(SelectionItem.round_id == rnd.id)
        .order_by(SelectionItem.position)
    ).all()
    items = [
        RoundItem(
            position=si.position,
            example_id=ex.id,
            external_id=ex.external_id,
            text=ex.text,
            score=si.score,
            status=ex.status,
            label=ex.label,
            fields=dict(ex.fields or {}),
        )
        for si, ex in rows
    ]
    return RoundInfo(
        pool=pool.name,
        number=rnd.number,
        method=rnd.method,
        budget=rnd.budget,
        seed=rnd.seed,
        params=dict(rnd.params or {}),
        influence=rnd.influence,
        created_at=rnd.created_at,
        items=items,
    )


def list_rounds(session: Session, pool: Pool) -> list[RoundInfo]:
    numbers = session.scalars(
        select(SelectionRound.number).where(SelectionRound.pool_id == pool.id).order_by(SelectionRound.number)
    ).all()
    return [get_round(session, pool, n) for n in numbers]
