"""Ingest: stream records into a pool in one transaction, idempotently.

Every record is mapped (:class:`fewshot.io.FieldMapping`), then:

* an id already in the pool with the same text and label is *unchanged* (re-ingesting a file
  adds nothing);
* an id already in the pool with other content is a conflict: an error naming the line
  (``on_conflict="error"``, the default), skipped (``"skip"``) or overwritten (``"update"``);
* a text already in the pool (or earlier in the file) under another id is a *duplicate*: skipped
  and reported, unless ``keep_duplicates=True``.

The whole file is one transaction: a bad line rolls everything back, so nothing is half-written,
and a crash leaves the pool as it was (re-running the command does the job).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fewshot.exceptions import IngestError, InvalidInputError
from fewshot.hashing import content_hash
from fewshot.io import FieldMapping, MappedRecord, iter_records
from fewshot.progress import Progress
from fewshot.store import examples as example_rows
from fewshot.store.models import ExampleStatus, Pool

__all__ = ["IngestReport", "ingest_records", "ingest_file", "ON_CONFLICT"]

logger = logging.getLogger(__name__)

ON_CONFLICT = ("error", "skip", "update")
BATCH = 1000


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
    """Ingest a JSONL/CSV/Parquet file into ``pool`` (caller commits)."""
    path = Path(path)
    total = path.stat().st_size if path.exists() else 0

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        yield from iter_records(path, fmt)

    return _ingest(
        session,
        pool,
        records(),
        mapping=mapping,
        source=str(path),
        on_conflict=on_conflict,
        keep_duplicates=keep_duplicates,
        progress=progress,
        total=total,
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
    return _ingest(
        session,
        pool,
        numbered,
        mapping=mapping,
        source=source,
        on_conflict=on_conflict,
        keep_duplicates=keep_duplicates,
        progress=progress,
        total=0,
    )


def _ingest(
    session: Session,
    pool: Pool,
    numbered: Iterator[tuple[int, Any]],
    *,
    mapping: FieldMapping,
    source: str,
    on_conflict: str,
    keep_duplicates: bool,
    progress: Progress | None,
    total: int,
) -> IngestReport:
    if on_conflict not in ON_CONFLICT:
        raise InvalidInputError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}, got {on_conflict!r}")
    report = IngestReport(pool=pool.name, source=source)
    seen_ids: dict[str, tuple[bytes, int]] = {}  # external id -> (hash digest prefix, line), this file
    seen_texts: dict[bytes, str] = {}  # hash digest prefix -> first external id, this file
    batch: list[tuple[int, MappedRecord, str]] = []
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
        if len(batch) >= BATCH:
            _flush(session, pool, batch, report, seen_texts, on_conflict, keep_duplicates)
            batch = []
            if progress is not None:
                progress(report.read, total)
    if batch:
        _flush(session, pool, batch, report, seen_texts, on_conflict, keep_duplicates)
    if report.read == 0:
        raise IngestError("no records to ingest", path=source)
    if progress is not None:
        progress(report.read, report.read)
    logger.info("ingested %s into %s: %s", source, pool.name, report.to_dict())
    return report


def _flush(
    session: Session,
    pool: Pool,
    batch: list[tuple[int, MappedRecord, str]],
    report: IngestReport,
    seen_texts: dict[bytes, str],
    on_conflict: str,
    keep_duplicates: bool,
) -> None:
    existing = example_rows.by_external_ids(session, pool_id=pool.id, ids=[m.external_id for _, m, _ in batch])
    text_owner = example_rows.hash_owners(session, pool_id=pool.id, hashes=list({h for _, _, h in batch}))
    new_rows: list[dict[str, Any]] = []
    for line, m, h in batch:
        old = existing.get(m.external_id)
        if old is not None:
            same = (
                old.content_hash == h
                and (m.label is None or m.label == old.label)
                and (not m.skills or list(m.skills) == list(old.skills or []))
            )
            if same:
                report.unchanged += 1
                seen_texts.setdefault(bytes.fromhex(h[:32]), m.external_id)
                continue
            if on_conflict == "error":
                what = "text" if old.content_hash != h else "label or skills"
                raise IngestError(
                    f"id {m.external_id!r} is already in pool {pool.name!r} with a different {what}; "
                    f"use on_conflict='update' (--on-conflict update) to overwrite or 'skip'",
                    path=report.source,
                    line=line,
                )
            if on_conflict == "skip":
                report.conflicts_skipped += 1
                continue
            labeled = m.label is not None or old.label is not None
            status = ExampleStatus.LABELED.value if labeled else old.status
            example_rows.update_example(
                session,
                example_id=old.id,
                text=m.text,
                content_hash=h,
                fields=m.fields,
                label=m.label if m.label is not None else old.label,
                skills=m.skills or old.skills,
                status=status,
            )
            report.updated += 1
            continue
        key = bytes.fromhex(h[:32])
        owner = text_owner.get(h) or seen_texts.get(key)
        if owner is not None and not keep_duplicates:
            report.duplicate_count += 1
            if len(report.duplicates) < 20:
                report.duplicates.append((line, m.external_id, owner))
            continue
        seen_texts.setdefault(key, m.external_id)
        new_rows.append(
            {
                "pool_id": pool.id,
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
    if new_rows:
        example_rows.insert_examples(session, new_rows)
        report.added += len(new_rows)
