"""The prompt-log writer: batched off the request path, bounded (drops counted), write errors
counted and never raised, flushed on read and on close."""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager

from sqlalchemy import func, select

from fewshot.store.models import PromptLog
from fewshot.store.prompt_logs import PromptLogWriter


def _log(pool_id: int) -> dict:
    return dict(
        id=uuid.uuid4().hex,
        pool_id=pool_id,
        query_hash="h",
        query="q",
        retriever="dense",
        template="t",
        demo_ids=[1],
        scores=[0.5],
        n_tokens=3,
        params={},
    )


def _count(ws) -> int:
    with ws.session() as s:
        return int(s.scalar(select(func.count()).select_from(PromptLog)))


def test_rows_are_written_in_batches_in_the_background(ws):
    pool_id = ws.create_pool("p").id
    writer = PromptLogWriter(ws.ctx.session, batch=50, interval=0.05)
    rows = [_log(pool_id) for _ in range(120)]
    assert all(writer.submit(r) for r in rows)
    deadline = time.monotonic() + 10
    # the rows are committed before the writer counts them: wait for both
    while (_count(ws) < 120 or writer.stats()["written"] < 120) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _count(ws) == 120 and writer.stats() == {"queued": 0, "written": 120, "dropped": 0, "failed": 0}
    writer.close()


def test_single_rows_are_written_within_the_interval(ws):
    pool_id = ws.create_pool("p").id
    writer = PromptLogWriter(ws.ctx.session, batch=200, interval=0.05)
    for expected in (1, 2, 3):  # the thread goes idle between rows and must wake for each
        writer.submit(_log(pool_id))
        deadline = time.monotonic() + 5
        while _count(ws) < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _count(ws) == expected
    writer.close()


def test_a_full_queue_drops_and_counts(ws):
    pool_id = ws.create_pool("p").id
    gate = threading.Event()

    @contextmanager
    def slow_sessions():
        gate.wait(10)
        with ws.ctx.session() as s:
            yield s

    writer = PromptLogWriter(slow_sessions, max_queue=5, batch=100, interval=0.01)
    results = [writer.submit(_log(pool_id)) for _ in range(20)]  # the writer is stuck: the queue fills
    assert results.count(False) >= 10 and writer.dropped == results.count(False)
    gate.set()
    writer.close()
    assert writer.stats()["queued"] == 0 and _count(ws) == results.count(True)


def test_write_errors_are_counted_not_raised(ws):
    pool_id = ws.create_pool("p").id
    writer = PromptLogWriter(ws.ctx.session, batch=10, interval=0.01)
    good, bad = _log(pool_id), _log(pool_id + 1000)  # no such pool: a foreign-key error
    assert writer.submit(good) and writer.submit(bad)
    writer.flush()
    assert writer.failed == 1 and writer.written == 1 and _count(ws) == 1
    writer.close()


def test_a_log_is_readable_right_after_its_prompt_and_close_flushes(ws, tmp_path, database_url):
    pool_id = ws.create_pool("p").id
    slow = PromptLogWriter(ws.ctx.session, batch=10_000, interval=60)  # would wait a minute
    ws.ctx._log_writer = slow  # noqa: SLF001 - the context's writer, made lazy on purpose
    row = _log(pool_id)
    slow.submit(row)
    assert slow.pending(row["id"]) and ws.prompt_log(row["id"])["pool"] == "p"  # flushed on read
    last = _log(pool_id)
    slow.submit(last)
    ws.close()  # a clean shutdown flushes
    from fewshot import Workspace

    again = Workspace.open(tmp_path / "home2", database_url=database_url)
    try:
        assert again.prompt_log(last["id"])["id"] == last["id"]
    finally:
        again.close()


def test_the_drop_counter_is_a_prometheus_counter():
    from fewshot.api._metrics import Metrics

    body = Metrics().render({"fewshot_prompt_logs_dropped_total": 3, "fewshot_jobs_queued": 1})
    assert "# TYPE fewshot_prompt_logs_dropped_total counter\nfewshot_prompt_logs_dropped_total 3" in body
    assert "# TYPE fewshot_jobs_queued gauge" in body


def test_sqlite_busy_timeout_is_explicit_and_configurable(tmp_path, monkeypatch):
    import pytest

    from fewshot.exceptions import InvalidInputError
    from fewshot.store.db import create_db_engine

    monkeypatch.setenv("FEWSHOT_SQLITE_BUSY_TIMEOUT", "2.5")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
    monkeypatch.setenv("FEWSHOT_SQLITE_BUSY_TIMEOUT", "soon")
    with pytest.raises(InvalidInputError, match="FEWSHOT_SQLITE_BUSY_TIMEOUT"):
        create_db_engine(f"sqlite:///{tmp_path / 'b.db'}")
