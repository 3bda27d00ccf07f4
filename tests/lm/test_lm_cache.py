"""`LMCache`: answers survive a reopen, buffered answers are readable at once, and two runs
sharing one file do not lock each other out while they compute."""

from __future__ import annotations

import sqlite3

import pytest

from fewshot.lm._cache import LMCache, LMCacheStats


def _stored(path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT key, value FROM answers").fetchall())


def test_answers_are_stored_and_read_back(tmp_path):
    path = tmp_path / "lm.sqlite"
    key = LMCache.key("m", "options", "prompt", {"options": ["a", "b"]})
    with LMCache(path, commit_every=4) as cache:
        assert cache.get(key) is None
        cache.put(key, "m", {"mean_nll": [1.5, 0.5]})
        assert cache.get(key) == {"mean_nll": [1.5, 0.5]}  # buffered, readable before the write
        assert _stored(path) == {}  # nothing written yet: fewer than commit_every puts
    assert set(_stored(path)) == {key}  # written on close
    stats = LMCacheStats()
    with LMCache(path, stats) as again:
        assert again.get(key) == {"mean_nll": [1.5, 0.5]}
    assert (stats.lm_cached, stats.lm_computed) == (1, 0)


def test_a_full_buffer_is_written_without_closing(tmp_path):
    path = tmp_path / "lm.sqlite"
    with LMCache(path, commit_every=3) as cache:
        for i in range(7):
            cache.put(f"k{i}", "m", i)
        assert set(_stored(path)) == {f"k{i}" for i in range(6)}
        assert cache.get("k6") == 6
    assert len(_stored(path)) == 7


def test_two_runs_sharing_a_file_do_not_block_each_other(tmp_path):
    """Two caches on one file interleave puts; neither holds the write lock between its
    writes (the old cache held it from its first put to its 32nd, so the other run's write waited
    out its busy timeout and failed with "database is locked")."""
    path = tmp_path / "lm.sqlite"
    with LMCache(path, commit_every=4, busy_timeout=0.5) as a, LMCache(path, commit_every=4, busy_timeout=0.5) as b:
        for i in range(10):
            a.put(f"a{i}", "m", i)  # a has buffered answers when b writes, and the other way round
            b.put(f"b{i}", "m", i)
        assert b.get("a3") == 3  # a's first buffer is on disk and visible to b
    stored = _stored(path)
    assert len(stored) == 20 and stored["a9"] == "9" and stored["b9"] == "9"


def test_a_failed_write_keeps_the_buffer(tmp_path):
    path = tmp_path / "lm.sqlite"
    blocker = sqlite3.connect(path, timeout=0.1)
    with LMCache(path, commit_every=100, busy_timeout=0.1) as cache:
        cache.put("k", "m", 1)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            cache.flush()
        blocker.rollback()
        assert cache.get("k") == 1
    blocker.close()
    assert _stored(path) == {"k": "1"}
