"""Ingest: stream records into a pool in one transaction, idempotently.

Every record is mapped (:class:`fewshot.io.FieldMapping`), then:

* an id already in the pool with the same text and label is *unchanged* (re-ingesting a file
  adds nothing);
* an id already in the pool with other content is a conflict: an error naming the line
  (``on_conflict="error"``, the default), skipped (``"skip"``) or overwritten (``"update"``);
* a text already in the pool (or earlier in the file) under another id is a *duplicate*: skipped
  and reported, unless ``keep_duplicates=True``.

One import is all-or-nothing: a bad line stores nothing, and a crash leaves the pool as it was
(re-running the command does the job). Two ways to get there:

* `import_file` (files, any size: what `PoolService.ingest` uses) validates in batches of
  `STAGE_BATCH` rows and *stages* each batch in ``staged_examples`` in its own short transaction
  (so a 600k-row file never holds SQLite's write lock for more than a batch, and readers and
  prompt-log writers are not starved); nothing but the import reads staged rows. A last short
  transaction publishes them into ``examples`` (``INSERT ... SELECT`` plus the updates of
  ``on_conflict="update"``, creating the pool when the import creates it, and removing the import's
  ``staged_imports`` row); then the staged rows are deleted in batches of `STAGE_BATCH`. A
  failure before that removes the staged rows; a crash leaves only staged rows, which the next
  import (or the next workspace start) removes once their heartbeat is `STALE_IMPORT` old.
* `ingest_file` / `ingest_records` (in-memory records, e.g. an API JSON body, which the body limit
  keeps small) write into the caller's one transaction directly: staging would only add a copy.

Both run the same validation (`_decide`), so conflicts, duplicates and errors read the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fewshot.exceptions import ConflictError, IngestError, InvalidInputError
from fewshot.hashing import content_hash
from fewshot.io import FieldMapping, MappedRecord, iter_records
from fewshot.progress import Progress
from fewshot.store import examples as example_rows
from fewshot.store.models import ExampleStatus, Pool

__all__ = ["IngestReport", "ingest_records", "ingest_file", "import_file", "ON_CONFLICT", "STAGE_BATCH"]

logger = logging.getLogger(__name__)

ON_CONFLICT = ("error", "skip", "update")
BATCH = 1000  # rows validated per query round in the direct path
STAGE_BATCH = 5000  # rows per staging transaction (read at call time; tests lower it)
STALE_IMPORT = dt.timedelta(minutes=10)  # an import without a heartbeat for this long is dead

Sessions = Callable[[], AbstractContextManager[Session]]


@dataclass
class IngestReport:
    """What an ingest did. ``duplicates`` lists up to 20 ``(line, id, duplicate_of_id)``."""

    pool: str
    source: str
    read: int = 0
    added: int = 0
    labeled: int = 0
    unchanged: int = 0
    updated: int = 0
    conflicts_skipped: int = 0
    duplicate_count: int = 0
    duplicates: list[tuple[int, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def ingest_file(
    session: Session,
    pool: Pool,
    path: str | Path,
    *,
    mapping: FieldMapping,
    fmt: str | None = None,
    on_conflict: str = "error",
    keep_duplicates: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest a JSONL/CSV/Parquet file into ``pool`` in the caller's transaction (caller commits).
    Large files: prefer `import_file`, which does not hold the write lock for the whole file."""
    path = Path(path)
    total = path.stat().st_size if path.exists() else 0
    direct = _Direct(session, pool)
    return _ingest(
        direct.decide_and_write,
        iter_records(path, fmt),
        pool_name=pool.name,
        mapping=mapping,
        source=str(path),
        on_conflict=on_conflict,
        keep_duplicates=keep_duplicates,
        progress=progress,
        total=total,
        batch_size=BATCH,
    )


def ingest_records(
    session: Session,
    pool: Pool,
    records: Iterable[dict[str, Any]],
    *,
    mapping: FieldMapping,
    source: str = "records",
    on_conflict: str = "error",
    keep_duplicates: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest in-memory records (the API's JSON body); "line" in errors is the 1-based position."""
    numbered = ((i, r) for i, r in enumerate(records, start=1))
    direct = _Direct(session, pool)
    return _ingest(
        direct.decide_and_write,
        numbered,
        pool_name=pool.name,
        mapping=mapping,
        source=source,
        on_conflict=on_conflict,
        keep_duplicates=keep_duplicates,
        progress=progress,
        total=0,
        batch_size=BATCH,
    )


def import_file(
    sessions: Sessions,
    *,
    pool_name: str,
    pool_id: int | None,
    create_pool: Callable[[Session], Pool] | None,
    path: str | Path,
    mapping: FieldMapping,
    fmt: str | None = None,
    on_conflict: str = "error",
    keep_duplicates: bool = False,
    progress: Progress | None = None,
    source: str | None = None,
) -> IngestReport:
    """Import a file through the staging table (see the module docstring): all-or-nothing, with
    no transaction longer than one batch of `STAGE_BATCH` rows or the final publish.

    ``sessions()`` opens a committed-on-exit unit of work. ``pool_id`` is None when the pool does
    not exist yet: ``create_pool(session)`` then creates it inside the publishing transaction, so
    a failed import leaves no empty pool behind. ``source`` names the file in reports and errors
    (default: the path)."""
    path = Path(path)
    total = path.stat().st_size if path.exists() else 0
    source = source or str(path)
    if on_conflict not in ON_CONFLICT:
        raise InvalidInputError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}, got {on_conflict!r}")
    try:
        with sessions() as s:
            removed = example_rows.cleanup_stale_imports(s, older_than=STALE_IMPORT)
        if removed:
            logger.warning("removed %d interrupted import(s) left by a crashed process", removed)
    except Exception:  # noqa: BLE001 - leftovers cost space only; the next import retries
        logger.warning("could not clean up interrupted imports", exc_info=True)
    import_id = uuid.uuid4().hex
    with sessions() as s:
        example_rows.begin_import(s, import_id=import_id, pool_name=pool_name, source=source)
    staged = _Staged(sessions, pool_id, import_id)
    try:
        report = _ingest(
            staged.decide_and_stage,
            iter_records(path, fmt),
            pool_name=pool_name,
            mapping=mapping,
            source=source,
            on_conflict=on_conflict,
            keep_duplicates=keep_duplicates,
            progress=progress,
            total=total,
            batch_size=max(1, int(STAGE_BATCH)),
        )
        try:
            with sessions() as s:
                # the first statement writes, so SQLite takes the write lock (waiting out other
                # writers) before this transaction reads anything
                if not example_rows.touch_import(s, import_id=import_id):
                    raise ConflictError(f"import of {source} was cleaned up before it finished; run it again")
                if pool_id is None:
                    if create_pool is None:
                        raise InvalidInputError(f"pool {pool_name!r} does not exist")
                    pool = create_pool(s)
                    s.flush()
                    target = pool.id
                else:
                    target = pool_id
                    if s.get(Pool, target) is None:
                        raise ConflictError(f"pool {pool_name!r} was deleted during the import")
                example_rows.publish_import(s, import_id=import_id, pool_id=target, expected=staged.rows)
        except IntegrityError as exc:
            raise ConflictError(
                f"pool {pool_name!r} changed while {source} was being imported (an id was added by "
                "another writer); nothing was stored, run the import again"
            ) from exc
    except BaseException:
        _remove_staged(sessions, import_id, drop_import=True)
        raise
    _remove_staged(sessions, import_id, drop_import=False)  # the publish dropped the import row
    logger.info("ingested %s into %s: %s", source, pool_name, report.to_dict())
    return report


def _remove_staged(sessions: Sessions, import_id: str, *, drop_import: bool) -> None:
    """Delete an import's staged rows in transactions of `STAGE_BATCH` rows (never raises: rows
    left behind are orphans that `fewshot.store.examples.cleanup_stale_imports` removes)."""
    try:
        if drop_import:
            with sessions() as s:
                example_rows.drop_import(s, import_id=import_id)
        while True:
            with sessions() as s:
                if example_rows.delete_staged_rows(s, import_id=import_id, limit=max(1, int(STAGE_BATCH))) == 0:
                    return
    except Exception:  # noqa: BLE001 - see the docstring
        logger.warning("could not remove the staged rows of import %s", import_id, exc_info=True)


# ---------------------------------------------------------------------- validation
Batch = list[tuple[int, MappedRecord, str]]
Writer = Callable[[Batch, "_State"], None]


@dataclass
class _State:
    report: IngestReport
    on_conflict: str
    keep_duplicates: bool
    seen_texts: dict[bytes, str] = field(default_factory=dict)  # hash prefix -> first external id
    updated_away: set[str] = field(default_factory=set)  # stored ids whose text this import changes


def _ingest(
    write: Writer,
    numbered: Iterator[tuple[int, Any]],
    *,
    pool_name: str,
    mapping: FieldMapping,
    source: str,
    on_conflict: str,
    keep_duplicates: bool,
    progress: Progress | None,
    total: int,
    batch_size: int,
) -> IngestReport:
    if on_conflict not in ON_CONFLICT:
        raise InvalidInputError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}, got {on_conflict!r}")
    report = IngestReport(pool=pool_name, source=source)
    state = _State(report, on_conflict, keep_duplicates)
    seen_ids: dict[str, tuple[bytes, int]] = {}  # external id -> (hash digest prefix, line), this file
    batch: Batch = []
    for line, record in numbered:
        if not isinstance(record, dict):
            raise IngestError(f"expected an object, got {type(record).__name__}", path=source, line=line)
        mapped = mapping.apply(record, path=source, line=line)
        h = content_hash(mapped.text)
        key = bytes.fromhex(h[:32])
        previous = seen_ids.get(mapped.external_id)
        if previous is not None:
            if previous[0] != key:
                raise IngestError(
                    f"id {mapped.external_id!r} appears again with a different text (first on line {previous[1]})",
                    path=source,
                    line=line,
                    field=mapping.id_field or "id",
                )
            report.read += 1
            report.unchanged += 1
            continue
        seen_ids[mapped.external_id] = (key, line)
        batch.append((line, mapped, h))
        report.read += 1
        if len(batch) >= batch_size:
            write(batch, state)
            batch = []
            if progress is not None:
                progress(report.read, total)
    if batch:
        write(batch, state)
    if report.read == 0:
        raise IngestError("no records to ingest", path=source)
    if progress is not None:
        progress(report.read, report.read)
    return report


def _decide(
    session: Session, pool_id: int | None, pool_name: str, batch: Batch, state: _State
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Classify a batch against the stored pool and what this import saw before: returns the new
    rows and the updates (``example_id`` plus the new values); counts the rest in the report."""
    report = state.report
    if pool_id is None:  # the import creates the pool: nothing is stored yet
        existing: dict[str, Any] = {}
        text_owner: dict[str, str] = {}
    else:
        existing = example_rows.by_external_ids(session, pool_id=pool_id, ids=[m.external_id for _, m, _ in batch])
        text_owner = example_rows.hash_owners(session, pool_id=pool_id, hashes=list({h for _, _, h in batch}))
    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for line, m, h in batch:
        key = bytes.fromhex(h[:32])
        old = existing.get(m.external_id)
        if old is not None:
            same = (
                old.content_hash == h
                and (m.label is None or m.label == old.label)
                and (not m.skills or list(m.skills) == list(old.skills or []))
            )
            if same:
                report.unchanged += 1
                state.seen_texts.setdefault(key, m.external_id)
                continue
            if state.on_conflict == "error":
                what = "text" if old.content_hash != h else "label or skills"
                raise IngestError(
                    f"id {m.external_id!r} is already in pool {pool_name!r} with a different {what}; "
                    f"use on_conflict='update' (--on-conflict update) to overwrite or 'skip'",
                    path=report.source,
                    line=line,
                )
            if state.on_conflict == "skip":
                report.conflicts_skipped += 1
                continue
            labeled = m.label is not None or old.label is not None
            updates.append(
                {
                    "example_id": old.id,
                    "external_id": m.external_id,
                    "text": m.text,
                    "content_hash": h,
                    "fields": m.fields,
                    "label": m.label if m.label is not None else old.label,
                    "skills": m.skills or old.skills or [],
                    "status": ExampleStatus.LABELED.value if labeled else old.status,
                }
            )
            if old.content_hash != h:
                state.updated_away.add(m.external_id)
            state.seen_texts.setdefault(key, m.external_id)
            report.updated += 1
            continue
        owner = text_owner.get(h)
        if owner is not None and owner in state.updated_away:
            owner = None  # that stored text is being replaced by this import
        owner = owner or state.seen_texts.get(key)
        if owner is not None and not state.keep_duplicates:
            report.duplicate_count += 1
            if len(report.duplicates) < 20:
                report.duplicates.append((line, m.external_id, owner))
            continue
        state.seen_texts.setdefault(key, m.external_id)
        new_rows.append(
            {
                "external_id": m.external_id,
                "fields": m.fields,
                "text": m.text,
                "content_hash": h,
                "label": m.label,
                "skills": m.skills,
                "status": ExampleStatus.LABELED.value if m.label is not None else ExampleStatus.UNLABELED.value,
            }
        )
        report.labeled += m.label is not None
    report.added += len(new_rows)
    return new_rows, updates


class _Direct:
    """Writes each batch into the caller's transaction."""

    def __init__(self, session: Session, pool: Pool) -> None:
        self.session, self.pool = session, pool

    def decide_and_write(self, batch: Batch, state: _State) -> None:
        new_rows, updates = _decide(self.session, self.pool.id, self.pool.name, batch, state)
        for u in updates:
            values = {k: v for k, v in u.items() if k not in ("example_id", "external_id")}
            example_rows.update_example(self.session, example_id=u["example_id"], **values)
        if new_rows:
            example_rows.insert_examples(self.session, [{"pool_id": self.pool.id, **r} for r in new_rows])


class _Staged:
    """Validates each batch in a read-only transaction, then stages it in a write-only one (on
    SQLite a transaction that reads first and writes later fails at once when another writer
    committed in between; one that writes first waits out the busy timeout)."""

    def __init__(self, sessions: Sessions, pool_id: int | None, import_id: str) -> None:
        self.sessions, self.pool_id, self.import_id = sessions, pool_id, import_id
        self.rows = 0

    def decide_and_stage(self, batch: Batch, state: _State) -> None:
        with self.sessions() as s:
            new_rows, updates = _decide(s, self.pool_id, state.report.pool, batch, state)
        with self.sessions() as s:
            example_rows.stage_rows(s, import_id=self.import_id, rows=[*new_rows, *updates])
        self.rows += len(new_rows) + len(updates)
