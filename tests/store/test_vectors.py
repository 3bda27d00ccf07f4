"""Vector shards: lookup by hash, atomic writes, resume after a crash, compaction."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.exceptions import ConflictError
from fewshot.hashing import content_hash
from fewshot.store.vectors import VectorStore


def _data(n, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    hashes = [content_hash(f"text {seed}-{i}") for i in range(n)]
    return hashes, rng.standard_normal((n, dim)).astype(np.float32)


def test_get_returns_rows_in_requested_order_across_shards(tmp_path):
    store = VectorStore(tmp_path, pool_id=1, model="m")
    h1, v1 = _data(50, seed=1)
    h2, v2 = _data(30, seed=2)
    store.add(h1, v1)
    store.add(h2, v2)
    order = [h2[3], h1[10], h1[0], h2[29]]
    np.testing.assert_array_equal(store.get(order), np.stack([v2[3], v1[10], v1[0], v2[29]]))
    assert store.contains([h1[0], content_hash("absent")]).tolist() == [True, False]
    reopened = VectorStore(tmp_path, pool_id=1, model="m")
    assert len(reopened) == 80 and reopened.dim == 8


def test_missing_vectors_and_dim_mismatch(tmp_path):
    store = VectorStore(tmp_path, pool_id=1, model="m")
    h, v = _data(3)
    store.add(h, v)
    with pytest.raises(ConflictError, match="1 of 2 texts have no vector"):
        store.get([h[0], content_hash("nope")])
    with pytest.raises(ConflictError, match="dim 8"):
        store.add([content_hash("x")], np.zeros((1, 4), np.float32))


def test_crash_between_matrix_and_keys_leaves_no_partial_shard(tmp_path):
    store = VectorStore(tmp_path, pool_id=1, model="m")
    h, v = _data(10)
    store.add(h[:5], v[:5])
    # a crash after the matrix file but before its keys file: the orphan matrix is ignored
    np.save(store.path / "shard-000002.npy", v[5:])
    reopened = VectorStore(tmp_path, pool_id=1, model="m")
    assert len(reopened) == 5 and not reopened.contains(h[5:]).any()
    reopened.add(h[5:], v[5:])  # the resumed run overwrites the orphan
    np.testing.assert_array_equal(VectorStore(tmp_path, pool_id=1, model="m").get(h), v)


def test_compact_merges_shards(tmp_path):
    store = VectorStore(tmp_path, pool_id=1, model="m")
    h, v = _data(20)
    for i in range(0, 20, 5):
        store.add(h[i : i + 5], v[i : i + 5])
    store.compact()
    assert len(list(store.path.glob("shard-*.keys.npy"))) == 1
    np.testing.assert_array_equal(store.get(h[::-1]), v[::-1])


def test_models_do_not_share_vectors(tmp_path):
    a = VectorStore(tmp_path, pool_id=1, model="model-a")
    b = VectorStore(tmp_path, pool_id=1, model="model-b")
    h, v = _data(2)
    a.add(h, v)
    assert not b.contains(h).any()
