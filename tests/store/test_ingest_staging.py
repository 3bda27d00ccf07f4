"""File imports go through a staging table: committed in short batches, invisible until one short
publishing transaction, all-or-nothing, crash leftovers cleaned; and prompt requests built while a
long import runs do not fail (every test here runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from sqlalchemy import func, select

from fewshot import Workspace
from fewshot.exceptions import IngestError
from fewshot.service import ingest as ingest_mod
from fewshot.store import examples as example_rows
from fewshot.store.models import StagedExample, StagedImport


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(n, start=0, prefix="t"):
    return [
        {"id": f"r{i}", "text": f"{prefix} number {i}", "label": "pos" if i % 2 else "neg"} for i in range(start, n)
    ]


def _staged(ws):
    with ws.session() as s:
        return (
            s.scalar(select(func.count()).select_from(StagedImport)),
            s.scalar(select(func.count()).select_from(StagedExample)),
        )


def test_rows_are_invisible_until_the_import_publishes(ws, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_mod, "STAGE_BATCH", 10)
    ws.ingest("p", _write(tmp_path / "a.jsonl", _rows(5)), label_field="label")
    seen = []

    def progress(done, total):
        if done < 55:
            seen.append((ws.get_pool("p").size, _staged(ws)[1]))

    report = ws.ingest("p", _write(tmp_path / "b.jsonl", _rows(55)), label_field="label", progress=progress)
    assert report.added == 50 and report.unchanged == 5
    assert seen and all(size == 5 for size, _ in seen)  # readers see the pool as it was
    assert [n for _, n in seen] == sorted(n for _, n in seen) and seen[-1][1] >= 40  # staged in batches
    assert ws.get_pool("p").size == 55 and _staged(ws) == (0, 0)
    ids = [e.external_id for e in ws.list_examples("p", limit=100)]
    assert ids == [f"r{i}" for i in range(55)]  # file order kept


def test_a_failed_import_stores_nothing_and_removes_its_staged_rows(ws, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_mod, "STAGE_BATCH", 10)
    rows = _rows(40)
    rows[33] = {"id": "r33", "label": "pos"}  # no text: fails after 3 staged batches
    with pytest.raises(IngestError, match="line 34"):
        ws.ingest("fresh", _write(tmp_path / "bad.jsonl", rows), label_field="label")
    assert "fresh" not in [p.name for p in ws.list_pools()]  # not even the new pool
    assert _staged(ws) == (0, 0)
    ws.ingest("kept", _write(tmp_path / "ok.jsonl", _rows(3)), label_field="label")
    conflicting = _rows(30)
    conflicting[25]["text"] = "another text"
    conflicting[2]["text"] = "changed"
    with pytest.raises(IngestError, match="already in pool 'kept'"):
        ws.ingest("kept", _write(tmp_path / "conflict.jsonl", conflicting), label_field="label")
    assert ws.get_pool("kept").size == 3 and _staged(ws) == (0, 0)


def test_updates_and_duplicates_through_staging(ws, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_mod, "STAGE_BATCH", 2)
    ws.ingest("u", _write(tmp_path / "a.jsonl", [{"id": "a", "text": "old a"}, {"id": "b", "text": "bee"}]))
    rows = [
        {"id": "a", "text": "new a"},  # update
        {"id": "c", "text": "x"},
        {"id": "d", "text": "old a"},  # the old text of a is free again: added
        {"id": "e", "text": "new a"},  # duplicate of the updated a
        {"id": "f", "text": "bee"},  # duplicate of stored b
    ]
    report = ws.ingest("u", _write(tmp_path / "b.jsonl", rows), on_conflict="update")
    assert (report.updated, report.added, report.duplicate_count) == (1, 2, 2)
    assert [d[1:] for d in report.duplicates] == [("e", "a"), ("f", "b")]
    texts = {e.external_id: e.text for e in ws.list_examples("u")}
    assert texts == {"a": "new a", "b": "bee", "c": "x", "d": "old a"}


def test_crash_leftovers_are_removed_by_the_next_import_and_at_start(ws, tmp_path, database_url):
    old = dt.datetime.now(dt.timezone.utc) - ingest_mod.STALE_IMPORT - dt.timedelta(minutes=1)
    row = {"external_id": "x", "fields": {}, "text": "x", "content_hash": "0" * 64, "label": None, "skills": []}

    def crash(import_id, heartbeat):
        with ws.session() as s:
            example_rows.begin_import(s, import_id=import_id, pool_name="p", source="dead.jsonl")
            example_rows.stage_rows(s, import_id=import_id, rows=[{**row, "status": "unlabeled"}] * 3)
            s.execute(
                StagedImport.__table__.update().where(StagedImport.id == import_id).values(heartbeat_at=heartbeat)
            )

    crash("dead1", old)
    crash("alive", dt.datetime.now(dt.timezone.utc))  # another process still importing: kept
    ws.ingest("p", _write(tmp_path / "a.jsonl", _rows(4)))
    assert _staged(ws) == (1, 3)
    assert ws.get_pool("p").size == 4  # the dead import's rows never reached the pool
    crash("dead2", old)
    other = Workspace.open(tmp_path / "home2", database_url=database_url)  # a restart
    try:
        assert _staged(other) == (1, 3)
    finally:
        other.close()


def test_prompt_builds_do_not_fail_during_a_long_import(database_url, tmp_path, embedder, data_slice, monkeypatch):
    """8 threads build (and log) prompts while 20k rows are imported into another pool, with a
    short busy timeout: no request fails and every prompt log is written."""
    monkeypatch.setenv("FEWSHOT_SQLITE_BUSY_TIMEOUT", "1")
    monkeypatch.setattr(ingest_mod, "STAGE_BATCH", 2000)
    ws = Workspace.open(tmp_path / "home", database_url=database_url)
    try:
        ws.use_embedder(embedder)
        ws.ingest("served", data_slice("sst5", "train", 40), label_field="label_text")
        ws.build_index("served")
        big = _write(tmp_path / "big.jsonl", _rows(20_000, prefix="bulk"))
        errors: list[BaseException] = []
        ids: list[str] = []
        done = threading.Event()

        def client(n: int) -> None:
            while not done.is_set():
                try:
                    ids.append(ws.build_prompt("served", f"query {n} {len(ids)}", k=4)[1])
                except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(exc)
                time.sleep(0.005)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        try:
            report = ws.ingest("bulk", big, label_field="label")
        finally:
            done.set()
            for t in threads:
                t.join()
        assert report.added == 20_000 and ws.get_pool("bulk").size == 20_000
        assert errors == [] and len(ids) > 8
        assert ws.prompt_log(ids[-1])["pool"] == "served"  # readable right after the build
        ws.ctx.flush_prompt_logs()
        stats = ws.ctx.prompt_log_stats()
        assert stats["dropped"] == 0 and stats["failed"] == 0 and stats["written"] == len(ids)
    finally:
        ws.close()
