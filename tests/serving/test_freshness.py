"""What the serving path keeps in memory, and how fast it sees changes (SQLite and PostgreSQL).

Two workspaces on one database stand for two processes (two API workers, or a server and a CLI):
a change made through a workspace is seen by it at once; one made by the other within the bound
its settings state (``key_cache_seconds``, ``index_refresh_seconds``).
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from fewshot import Workspace
from fewshot.exceptions import ConflictError
from fewshot.retrieve import DenseIndex


@pytest.fixture
def pool(ws, data_slice):
    ws.ingest("sst5", data_slice("sst5", "train", 120), label_field="label_text")
    ws.build_index("sst5")
    return "sst5"


def other(ws, **settings):
    """A second workspace on the same home and database (another process), with ``settings``."""
    opened = Workspace.open(ws.settings.home, database_url=ws.settings.database_url, **settings)
    opened.use_embedder(ws.ctx.embedder(ws.settings.embedding_model))
    return opened


def test_a_key_revoked_elsewhere_stops_working_within_the_cache_bound(ws):
    secret, info = ws.keys.create("team")
    lazy, strict = other(ws, key_cache_seconds=60), other(ws, key_cache_seconds=0.3)
    try:
        assert lazy.keys.verify(secret).id == strict.keys.verify(secret).id == info.id
        ws.keys.revoke(info.id)
        assert ws.keys.verify(secret) is None  # the revoking process: at once
        assert lazy.keys.verify(secret).id == info.id  # another process: trusted until its bound
        time.sleep(0.35)
        assert strict.keys.verify(secret) is None  # past key_cache_seconds
        assert lazy.keys.verify("fsk_" + "0" * 40) is None  # unknown keys are never cached as valid
    finally:
        lazy.close()
        strict.close()


def test_a_new_key_works_at_once_everywhere(ws):
    peer = other(ws, key_cache_seconds=60)
    try:
        assert peer.keys.verify("fsk_not-a-real-key-000000000000") is None
        secret, info = ws.keys.create("late")
        assert peer.keys.verify(secret).id == info.id  # failures are not remembered
    finally:
        peer.close()


def test_a_new_index_version_is_served_at_once_here_and_within_the_refresh_bound_elsewhere(ws, pool, data_slice):
    server = other(ws, index_refresh_seconds=0.3)
    try:
        _, first = server.build_prompt(pool, "a gripping, funny film", k=4)
        server.ctx.flush_prompt_logs()
        assert server.prompt_log(first)["params"]["index_version"] == 1
        ws.ingest(pool, data_slice("sst5", "train", 160), label_field="label_text")  # 40 more labeled items
        assert ws.build_index(pool).version == 2
        assert ws.build_prompt(pool, "a gripping, funny film", k=4)[0] is not None
        time.sleep(0.35)
        _, later = server.build_prompt(pool, "a gripping, funny film", k=4)
        server.ctx.flush_prompt_logs()
        assert server.prompt_log(later)["params"]["index_version"] == 2
    finally:
        server.close()


def test_a_template_set_here_is_used_by_the_next_prompt(ws, pool):
    before, _ = ws.build_prompt(pool, "dull and slow", k=2)
    ws.pools.set_prompt_template(pool, {"input": "Review: {text}", "output": " Verdict: {label}"})
    after, _ = ws.build_prompt(pool, "dull and slow", k=2)
    assert "Verdict:" not in before.text and "Review: dull and slow" in after.text


def test_concurrent_prompts_are_searched_together_and_get_their_own_demonstrations(ws, pool, data_dir):
    queries = [json.loads(line)["text"] for line in open(data_dir / "sst5" / "test.jsonl")][:24]
    expected = {q: [(d.id, round(d.score, 5)) for d in ws.retrieve(pool, [q, q], k=5)[0]] for q in queries}
    got: dict[str, list] = {}

    def ask(q: str) -> None:
        prompt, _ = ws.build_prompt(pool, q, k=5, max_tokens=4096)
        got[q] = [(d.id, round(d.score, 5)) for d in prompt.demos]

    threads = [threading.Thread(target=ask, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert {q: sorted(v) for q, v in got.items()} == {q: sorted(v) for q, v in expected.items()}
    (batcher,) = ws.retrieval._batchers.values()
    assert batcher.items == len(queries)  # every single-query search went through the batcher


def test_a_served_flat_index_is_mapped_read_only(ws, pool):
    loaded = ws.indexes.loaded_dense(pool)
    assert loaded.retriever.index.kind == "flat"
    served = DenseIndex.load(_index_dir(ws, pool), mmap=True)
    assert served.read_only and len(served) == 120
    with pytest.raises(ConflictError, match="read-only"):
        served.add(np.array([10**9]), np.ones((1, served.dim), dtype=np.float32))
    with pytest.raises(ConflictError, match="read-only"):
        served.remove(served.ids[:1])
    queries = np.random.default_rng(0).standard_normal((3, served.dim)).astype(np.float32)
    plain = DenseIndex.load(_index_dir(ws, pool))
    assert np.array_equal(served.search(queries, 5).ids, plain.search(queries, 5).ids)


def _index_dir(ws, pool):
    return ws.indexes.latest_version(pool)[2] + "/index"


def test_the_float16_copy_is_kept_only_for_indexes_worth_it(ws, pool):
    """A served exact index below ``half_scan_min_rows`` is searched in float32 only (the two-step
    search is slower there); at or above it, through the float16 copy; the answers are the same."""
    small = ws.retrieval.retriever(pool, "dense")[2]
    assert len(small.index) == 120 and small.index._backend.half is None
    forced = other(ws, half_scan_min_rows=100)
    try:
        served = forced.retrieval.retriever(pool, "dense")[2]
        assert served.index._backend.half is not None
        query = "a gripping , beautifully shot film"
        want = [d.example.id for d in ws.retrieve(pool, query, k=5)[0]]
        assert [d.example.id for d in forced.retrieve(pool, query, k=5)[0]] == want
    finally:
        forced.close()
