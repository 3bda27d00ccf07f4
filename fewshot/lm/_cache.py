"""`LMCache`: language-model answers in a persistent SQLite table, keyed by content.

A key is the sha256 of the canonical JSON of ``(model name, kind, prompt text, settings)``
(`LMCache.key`): ``kind`` says what was asked (``"options"``: the scores of verbalised options,
``"generate"``: a greedy answer) and ``settings`` how (the options, or the generation settings).
The same question to the same model is therefore answered once, whichever run asks it: the
evaluation harness (``<out>/cache/lm.sqlite``) and two-stage vote-k's LM confidence
(`fewshot.feedback.LMConfidence`) both keep their answers here.

Counts of what was reused and what was computed go to a ``stats`` object with ``lm_cached`` and
``lm_computed`` integer attributes (`LMCacheStats`, or the evaluation's ``CacheStats``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["LMCache", "LMCacheStats", "LMCacheCounts"]


class LMCacheCounts(Protocol):
    """What `LMCache` counts into: answers found (``lm_cached``) and answers stored (``lm_computed``)."""

    lm_computed: int
    lm_cached: int


@dataclass
class LMCacheStats:
    """Answers an `LMCache` found (``lm_cached``) and stored (``lm_computed``)."""

    lm_computed: int = 0
    lm_cached: int = 0


def _key(*parts: Any) -> str:
    """sha256 hex of the canonical JSON of ``parts`` (the evaluation harness's ``content_hash``)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LMCache:
    """A SQLite table ``key -> JSON value`` of language-model answers.

    Use as a context manager; puts are buffered in memory and written in one short transaction
    every ``commit_every`` puts and on close, so an interrupted run keeps what it scored. Several
    processes may share one file (WAL journal): the write lock is held only while a buffer is
    written, never while the model computes the next answer (holding it across 32 answers made a
    second run sharing the cache fail with "database is locked" after waiting ``busy_timeout``).

    Parameters
    ----------
    path : path
        The SQLite file (created with its folder).
    stats : object with int attributes ``lm_computed`` and ``lm_cached``, optional
        Where hits and stores are counted (default: a fresh `LMCacheStats`).
    commit_every : int
        Puts between writes.
    busy_timeout : float
        Seconds to wait for another process's write to finish.
    """

    def __init__(
        self,
        path: Path | str,
        stats: LMCacheCounts | None = None,
        *,
        commit_every: int = 32,
        busy_timeout: float = 60.0,
    ) -> None:
        self.path = Path(path)
        self.stats: LMCacheCounts = LMCacheStats() if stats is None else stats
        self.commit_every = commit_every
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._pending: dict[str, tuple[str, str]] = {}

    def __enter__(self) -> LMCache:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=self.busy_timeout)  # runs may share one cache
        self._conn.execute("PRAGMA journal_mode=WAL")
        with self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, model TEXT, value TEXT NOT NULL)"
            )
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._conn is not None:
            try:
                self.flush()
            finally:
                self._conn.close()
                self._conn = None

    def flush(self) -> None:
        """Write the buffered puts in one transaction (a no-op when none is buffered)."""
        assert self._conn is not None, "LMCache used outside its `with` block"
        if not self._pending:
            return
        rows = [(key, model, value) for key, (model, value) in self._pending.items()]
        with self._conn:  # commits, or rolls back and raises
            self._conn.executemany("INSERT OR REPLACE INTO answers (key, model, value) VALUES (?, ?, ?)", rows)
        self._pending.clear()

    @staticmethod
    def key(model: str, kind: str, prompt: str, settings: Any) -> str:
        """The cache key of asking ``model`` ``kind`` about ``prompt`` with ``settings``."""
        return _key(model, kind, prompt, settings)

    def get(self, key: str) -> Any | None:
        """The stored value (counted in ``stats.lm_cached``), or None."""
        assert self._conn is not None, "LMCache used outside its `with` block"
        if key in self._pending:
            text = self._pending[key][1]
        else:
            row = self._conn.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            text = row[0]
        self.stats.lm_cached += 1
        return json.loads(text)

    def put(self, key: str, model: str, value: Any) -> None:
        """Store ``value`` (JSON-ready) under ``key`` (counted in ``stats.lm_computed``)."""
        assert self._conn is not None, "LMCache used outside its `with` block"
        self._pending[key] = (model, json.dumps(value))
        self.stats.lm_computed += 1
        if len(self._pending) >= self.commit_every:
            self.flush()
