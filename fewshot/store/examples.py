"""Repository of a pool's examples: listing and paging, the labeled set, statuses, content
hashes, and the writes behind ingest, labels and skill edits. Large id lists are read in bounded
``IN`` chunks (SQLite's bound-parameter limit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import DateTime, Integer, Select, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from fewshot.exceptions import ConflictError, InvalidInputError
from fewshot.store.models import Example, ExampleStatus, StagedExample, StagedImport
from fewshot.store.pools import STATUSES

__all__ = [
    "count",
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
    "begin_import",
    "stage_rows",
    "staged_count",
    "touch_import",
    "publish_import",
    "discard_import",
    "delete_staged_rows",
    "drop_import",
    "cleanup_stale_imports",
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


def count(
    session: Session, *, pool_id: int, status: str | Sequence[str] | None = None, label: str | None = None
) -> int:
    """How many examples `page` would list without ``limit`` and ``offset``."""
    stmt = examples_query(pool_id=pool_id, status=status, label=label).order_by(None)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


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


# ---------------------------------------------------------------------- staged imports
# A file import stages its rows in ``staged_examples`` (one short transaction per batch, which
# nothing but the import reads) and publishes them into ``examples`` in one short transaction.


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def begin_import(session: Session, *, import_id: str, pool_name: str, source: str) -> None:
    """Register an import (its heartbeat starts now)."""
    now = _utcnow()
    session.add(StagedImport(id=import_id, pool_name=pool_name, source=source, created_at=now, heartbeat_at=now))


def stage_rows(session: Session, *, import_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Stage rows (``external_id``, ``fields``, ``text``, ``content_hash``, ``label``, ``skills``,
    ``status`` and, for an update of a stored example, ``example_id``) and move the heartbeat on."""
    if rows:
        session.execute(insert(StagedExample), [{"example_id": None, **r, "import_id": import_id} for r in rows])
    session.execute(update(StagedImport).where(StagedImport.id == import_id).values(heartbeat_at=_utcnow()))


def touch_import(session: Session, *, import_id: str) -> bool:
    """Move the import's heartbeat on; False when the import is gone (cleaned up as stale)."""
    result = session.execute(update(StagedImport).where(StagedImport.id == import_id).values(heartbeat_at=_utcnow()))
    return bool(getattr(result, "rowcount", 0))


def staged_count(session: Session, *, import_id: str) -> int:
    return int(
        session.scalar(select(func.count()).select_from(StagedExample).where(StagedExample.import_id == import_id)) or 0
    )


def publish_import(session: Session, *, import_id: str, pool_id: int, expected: int) -> tuple[int, int]:
    """Move the import's staged rows into the pool (inserts in file order, then updates) and
    remove the import (its staged rows are left to `delete_staged_rows`, in batches, and to
    `cleanup_stale_imports` after a crash); returns ``(inserted, updated)``. `ConflictError` when the import was removed
    meanwhile (its heartbeat went stale) or lost rows: nothing is published then."""
    if session.get(StagedImport, import_id) is None or staged_count(session, import_id=import_id) != expected:
        raise ConflictError(f"import {import_id} was interrupted or cleaned up before it finished; run it again")
    now = _utcnow()
    s = StagedExample
    new = select(
        literal(pool_id, Integer),
        s.external_id,
        s.fields,
        s.text,
        s.content_hash,
        s.label,
        s.skills,
        s.status,
        literal(now, DateTime(timezone=True)),
        literal(now, DateTime(timezone=True)),
    ).where(s.import_id == import_id, s.example_id.is_(None))
    cols = ["pool_id", "external_id", "fields", "text", "content_hash", "label", "skills", "status"]
    inserted = session.execute(insert(Example).from_select([*cols, "created_at", "updated_at"], new.order_by(s.id)))

    def staged(column: Any) -> Any:
        return select(column).where(s.import_id == import_id, s.example_id == Example.id).scalar_subquery()

    targets = select(s.example_id).where(s.import_id == import_id, s.example_id.is_not(None))
    updated = session.execute(
        update(Example)
        .where(Example.pool_id == pool_id, Example.id.in_(targets))
        .values(
            text=staged(s.text),
            content_hash=staged(s.content_hash),
            fields=staged(s.fields),
            label=staged(s.label),
            skills=staged(s.skills),
            status=staged(s.status),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    # the import is done: its staged rows are now orphans, removed in batches after this
    # transaction (`delete_staged_rows`) so the publishing transaction stays short
    drop_import(session, import_id=import_id)
    return _rowcount(inserted), _rowcount(updated)


def drop_import(session: Session, *, import_id: str) -> None:
    """Remove an import's row only (its staged rows become orphans for `delete_staged_rows`)."""
    session.execute(delete(StagedImport).where(StagedImport.id == import_id))


def delete_staged_rows(session: Session, *, import_id: str, limit: int) -> int:
    """Delete up to ``limit`` staged rows of an import; returns how many went."""
    ids = select(StagedExample.id).where(StagedExample.import_id == import_id).limit(limit)
    return _rowcount(session.execute(delete(StagedExample).where(StagedExample.id.in_(ids))))


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def discard_import(session: Session, *, import_id: str) -> None:
    """Remove an import and its staged rows."""
    session.execute(delete(StagedExample).where(StagedExample.import_id == import_id))
    session.execute(delete(StagedImport).where(StagedImport.id == import_id))


def cleanup_stale_imports(session: Session, *, older_than: dt.timedelta) -> int:
    """Remove imports whose heartbeat is older than ``older_than`` (their process died) and any
    staged rows without an import; returns how many imports were removed."""
    cutoff = _utcnow() - older_than
    stale = list(session.scalars(select(StagedImport.id).where(StagedImport.heartbeat_at < cutoff)))
    orphans = StagedExample.import_id.not_in(select(StagedImport.id))
    if not stale and session.scalar(select(StagedExample.id).where(orphans).limit(1)) is None:
        return 0  # the usual case: a read only, no write lock taken
    for import_id in stale:
        discard_import(session, import_id=import_id)
    session.execute(delete(StagedExample).where(orphans))
    return len(stale)
