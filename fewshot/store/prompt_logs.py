"""Repository of prompt logs: which demonstrations went into each built prompt, and
`PromptLogWriter`, which writes them off the request path."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fewshot.exceptions import NotFoundError
from fewshot.store.models import Pool, PromptLog

__all__ = ["add_log", "add_logs", "get_log", "recent_ids", "count", "PromptLogWriter"]

logger = logging.getLogger(__name__)


def add_log(session: Session, **values: Any) -> None:
    """Insert a log row (``id``, ``pool_id``, ``query_hash``, ``query``, ``retriever``, ``template``,
    ``demo_ids``, ``scores``, ``n_tokens``, ``params``)."""
    session.add(PromptLog(**values))


def add_logs(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert many log rows (each as for `add_log`)."""
    session.add_all([PromptLog(**values) for values in rows])


def get_log(session: Session, prompt_id: str) -> dict[str, Any]:
    """The log as a JSON-ready dict with the pool's name; `NotFoundError` for an unknown id."""
    row = session.get(PromptLog, prompt_id)
    if row is None:
        raise NotFoundError(f"no prompt with id {prompt_id!r}")
    pool = session.scalar(select(Pool.name).where(Pool.id == row.pool_id))
    return {
        "id": row.id,
        "pool_id": row.pool_id,
        "pool": pool,
        "query": row.query,
        "query_hash": row.query_hash,
        "retriever": row.retriever,
        "template": row.template,
        "demo_ids": list(row.demo_ids),
        "scores": list(row.scores),
        "n_tokens": row.n_tokens,
        "params": dict(row.params or {}),
        "created_at": row.created_at.isoformat(),
    }


def count(session: Session, *, pool_id: int) -> int:
    """How many logs the pool has."""
    return int(session.scalar(select(func.count()).select_from(PromptLog).where(PromptLog.pool_id == pool_id)) or 0)


def recent_ids(session: Session, *, pool_id: int, limit: int) -> list[str]:
    """Ids of the pool's newest ``limit`` logs, newest first."""
    return list(
        session.scalars(
            select(PromptLog.id).where(PromptLog.pool_id == pool_id).order_by(PromptLog.created_at.desc()).limit(limit)
        )
    )


class PromptLogWriter:
    """Writes prompt logs from a bounded in-process queue in batches on a background thread, so a
    prompt request never waits for (or fails on) a database write.

    `submit` never blocks and never raises: when ``max_queue`` rows are already waiting the row is
    dropped and counted (`dropped`). The thread writes up to ``batch`` rows per transaction, as
    soon as ``batch`` rows wait or ``interval`` seconds after the first one. A failed batch is
    retried row by row; a row that still fails (e.g. its pool was deleted meanwhile) is logged and
    counted (`failed`), never raised into a request. `flush` writes everything queued now (readers
    call it for an id that is still `pending`, so a log is readable right after its prompt);
    `close` flushes and stops the thread.

    What a crash (kill -9, power loss) can lose: the rows queued but not yet written, i.e. at most
    ``max_queue`` rows and in steady state about the last ``interval`` seconds of prompts. The
    prompts themselves were already answered; only their provenance rows are missing."""

    def __init__(
        self,
        sessions: Callable[[], AbstractContextManager[Session]],
        *,
        max_queue: int = 10_000,
        batch: int = 200,
        interval: float = 0.1,
    ) -> None:
        self._sessions = sessions
        self.max_queue, self.batch, self.interval = max(1, max_queue), max(1, batch), max(0.001, interval)
        self._cond = threading.Condition()
        self._queue: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._inflight: set[str] = set()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.written = 0
        self.dropped = 0
        self.failed = 0

    # ------------------------------------------------------------------ producers
    def submit(self, values: dict[str, Any]) -> bool:
        """Queue a log row (the keyword arguments of `add_log`); False when it was dropped."""
        try:
            with self._cond:
                closed = self._closed
                if not closed and len(self._queue) >= self.max_queue:
                    self.dropped += 1
                    return False
            if closed:  # after `close`: write it now, in the caller's thread
                self._write([values])
                return True
            with self._cond:
                self._queue[str(values["id"])] = values
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="fewshot-prompt-logs", daemon=True)
                    self._thread.start()
                if len(self._queue) == 1 or len(self._queue) >= self.batch:
                    self._cond.notify()  # wake the idle thread; it gathers a batch for `interval`
            return True
        except Exception:  # noqa: BLE001 - a log must never fail its prompt
            logger.exception("could not queue a prompt log")
            self.dropped += 1
            return False

    def pending(self, prompt_id: str) -> bool:
        """Whether ``prompt_id`` is queued or being written (not yet readable from the database)."""
        with self._cond:
            return prompt_id in self._queue or prompt_id in self._inflight

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {"queued": len(self._queue), "written": self.written, "dropped": self.dropped, "failed": self.failed}

    # ------------------------------------------------------------------ writing
    def flush(self) -> None:
        """Write every row queued now (in the caller's thread; waits for a batch being written)."""
        while self._write_one_batch():
            pass

    def close(self) -> None:
        """Flush and stop the thread; later rows are written synchronously (best effort)."""
        with self._cond:
            self._closed = True
            thread, self._thread = self._thread, None
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed and not self._queue:
                    return
                if len(self._queue) < self.batch and not self._closed:
                    self._cond.wait(self.interval)  # gather a batch, at most `interval` late
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - never let the thread die
                logger.exception("prompt-log writer failed")

    def _write_one_batch(self) -> bool:
        with self._write_lock:
            with self._cond:
                if not self._queue:
                    return False
                rows = [self._queue.popitem(last=False)[1] for _ in range(min(self.batch, len(self._queue)))]
                self._inflight = {str(r["id"]) for r in rows}
            try:
                self._write(rows)
            finally:
                with self._cond:
                    self._inflight = set()
            return True

    def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            with self._sessions() as s:
                add_logs(s, rows)
            self.written += len(rows)
            return
        except Exception:  # noqa: BLE001 - retried row by row below
            logger.warning("writing %d prompt logs failed; retrying one by one", len(rows), exc_info=True)
        for row in rows:
            try:
                with self._sessions() as s:
                    add_log(s, **row)
                self.written += 1
            except Exception:  # noqa: BLE001 - logged and counted, never raised into a request
                self.failed += 1
                logger.exception("could not write prompt log %s", row.get("id"))
