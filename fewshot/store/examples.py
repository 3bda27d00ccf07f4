"""Repository of a pool's examples: listing and paging, the labeled set, statuses, content
hashes, and the writes behind ingest, labels and skill edits. Large id lists are read in bounded
``IN`` chunks (SQLite's bound-parameter limit)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from fewshot.exceptions import InvalidInputError
from fewshot.store.models import Example, ExampleStatus
from fewshot.store.pools import STATUSES

__all__ = [
    "examples_query",
    "check_status",
    "page",
    "labeled",
    "statuses",
    "hashes_and_texts",
    "id_hash_rows",
    "by_external_ids",
    "hash_owners",
    "insert_examples",
    "update_example",
    "set_labels",
    "item_skills",
    "set_skills",
    "IN_CHUNK",
]

IN_CHUNK = 500  # ids per SQL IN list


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    n = IN_CHUNK  # read at call time (tests lower it)
    for i in range(0, len(values), n):
        yield values[i : i + n]


def check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise InvalidInputError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")


def examples_query(*, pool_id: int, status: str | Sequence[str] | None = None, label: str | None = None) -> Select[Any]:
    """A SELECT of a pool's examples in id order, optionally filtered by status and label."""
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


def page(
    session: Session,
    *,
    pool_id: int,
    status: str | Sequence[str] | None = None,
    label: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after_id: int | None = None,
) -> list[Example]:
    """Matching examples in id order: ``limit`` of them from ``offset``, or after id ``after_id``."""
    stmt = examples_query(pool_id=pool_id, status=status, label=label)
    if after_id is not None:
        stmt = stmt.where(Example.id > after_id)
    stmt = stmt.offset(offset) if offset else stmt
    return list(session.scalars(stmt.limit(limit) if limit is not None else stmt))


def labeled(session: Session, *, pool_id: int) -> list[Example]:
    """The pool's labeled examples in id order (what indexes and UDR tasks are built from)."""
    return list(
        session.scalars(
            select(Example)
            .where(Example.pool_id == pool_id, Example.status == ExampleStatus.LABELED.value)
            .order_by(Example.id)
        )
    )


def statuses(session: Session, *, pool_id: int) -> list[str]:
    """Every example's status, in id order."""
    return list(session.scalars(select(Example.status).where(Example.pool_id == pool_id).order_by(Example.id)))


def hashes_and_texts(session: Session, *, pool_id: int) -> list[tuple[str, str]]:
    """``(content_hash, text)`` of every example, in id order."""
    return [
        (h, t)
        for h, t in session.execute(
            select(Example.content_hash, Example.text).where(Example.pool_id == pool_id).order_by(Example.id)
        )
    ]


def id_hash_rows(session: Session, *, pool_id: int, status: str | Sequence[str] | None = None) -> list[tuple[int, str]]:
    """``(id, content_hash)`` of the matching examples, in id order."""
    stmt = examples_query(pool_id=pool_id, status=status).with_only_columns(Example.id, Example.content_hash)
    return [(int(i), h) for i, h in session.execute(stmt)]


def by_external_ids(session: Session, *, pool_id: int, ids: Sequence[str]) -> dict[str, Example]:
    """The pool's examples with these external ids (absent ids are missing from the result)."""
    out: dict[str, Example] = {}
    for part in _chunks(sorted(set(ids))):
        out.update(
            (r.external_id, r)
            for r in session.scalars(
                select(Example).where(Example.pool_id == pool_id, Example.external_id.in_(list(part)))
            )
        )
    return out


def hash_owners(session: Session, *, pool_id: int, hashes: Sequence[str]) -> dict[str, str]:
    """``content_hash -> external_id`` for texts already in the pool."""
    out: dict[str, str] = {}
    for part in _chunks(list(hashes)):
        out.update(
            (row.content_hash, row.external_id)
            for row in session.execute(
                select(Example.content_hash, Example.external_id).where(
                    Example.pool_id == pool_id, Example.content_hash.in_(list(part))
                )
            )
        )
    return out


def insert_examples(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Bulk insert of example rows (dicts of column values)."""
    if rows:
        session.execute(insert(Example), list(rows))


def update_example(session: Session, *, example_id: int, **values: Any) -> None:
    session.execute(update(Example).where(Example.id == example_id).values(**values))


def set_labels(session: Session, labels: Mapping[int, str]) -> None:
    """Label examples by database id (their status becomes ``labeled``)."""
    for example_id, label in labels.items():
        session.execute(
            update(Example).where(Example.id == example_id).values(label=label, status=ExampleStatus.LABELED.value)
        )


def item_skills(session: Session, *, pool_id: int) -> list[list[str]]:
    """Every example's skills (``[]`` when none)."""
    return [list(v or ()) for v in session.scalars(select(Example.skills).where(Example.pool_id == pool_id))]


def set_skills(example: Example, skills: list[str]) -> None:
    example.skills = skills
    flag_modified(example, "skills")
