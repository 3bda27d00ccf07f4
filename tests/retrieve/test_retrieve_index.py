"""DenseIndex on real MiniLM embeddings of SST-5 sentences."""

from __future__ import annotations

import json
import os

import faiss
import numpy as np
import pytest

from fewshot.exceptions import InvalidInputError, NotFoundError
from fewshot.retrieve import DenseIndex, Hits

KINDS = ["flat", "hnsw"]


def make_index(vectors: np.ndarray, kind: str = "flat", **kw) -> tuple[DenseIndex, np.ndarray]:
    ids = np.arange(vectors.shape[0], dtype=np.int64) * 10 + 3  # ids unrelated to positions
    index = DenseIndex(vectors.shape[1], kind=kind, embedding_model="all-MiniLM-L6-v2", **kw)
    index.add(ids, vectors)
    return index, ids


@pytest.mark.parametrize("kind", KINDS)
def test_own_vector_is_found_first(sst5_vectors, kind):
    index, ids = make_index(sst5_vectors, kind)
    hits = index.search(sst5_vectors[:50], 5)
    assert isinstance(hits, Hits) and hits.ids.shape == (50, 5)
    assert hits.ids.dtype == np.int64 and hits.scores.dtype == np.float32
    np.testing.assert_array_equal(hits.ids[:, 0], ids[:50])
    np.testing.assert_allclose(hits.scores[:, 0], 1.0, atol=1e-5)
    assert (np.diff(hits.scores, axis=1) <= 1e-6).all()


@pytest.mark.parametrize(
    "kind,strategy", [("flat", "selector"), ("flat", "subset"), ("hnsw", "selector"), ("hnsw", "subset")]
)
def test_allowed_ids_filter_inside_search_returns_k(sst5_vectors, kind, strategy):
    # exact_below=0 makes the HNSW selector path walk the graph with a FAISS selector
    index, ids = make_index(sst5_vectors, kind, exact_below=0, filter_strategy=strategy)
    rng = np.random.default_rng(0)
    allowed = rng.choice(ids, size=12, replace=False)  # 12 of 500: rare
    k = 10
    hits = index.search(sst5_vectors[:40], k, allowed_ids=allowed)
    assert np.isin(hits.ids, allowed).all()  # every slot is filled and allowed
    # the point of in-search filtering: post-filtering the plain top-k would come up short
    plain = index.search(sst5_vectors[:40], k)
    assert np.isin(plain.ids, allowed).sum(axis=1).max() < k
    # and the filtered result is the exact best k among the allowed vectors (the HNSW
    # graph walk is approximate: it fills all k slots but may miss a better allowed item)
    if (kind, strategy) != ("hnsw", "selector"):
        sims = sst5_vectors[:40] @ sst5_vectors[(allowed - 3) // 10].T
        best = np.sort(sims, axis=1)[:, ::-1][:, :k]
        np.testing.assert_allclose(hits.scores, best, atol=1e-5)


def test_filter_strategies_agree(sst5_vectors):
    index, ids = make_index(sst5_vectors)
    rng = np.random.default_rng(2)
    for size in (3, 60, 240):
        allowed = rng.choice(ids, size=size, replace=False)
        results = []
        for strategy in ("selector", "subset", "auto"):
            index.filter_strategy = strategy
            for queries in (sst5_vectors[:1], sst5_vectors[:30]):
                results.append((strategy, index.search(queries, 7, allowed_ids=allowed)))
        for _strategy, hits in results[2:]:
            ref = results[0][1] if hits.m == 1 else results[1][1]
            np.testing.assert_array_equal(hits.ids, ref.ids)
            np.testing.assert_allclose(hits.scores, ref.scores, atol=1e-5)


def test_allowed_fewer_than_k_pads(sst5_vectors):
    index, ids = make_index(sst5_vectors)
    hits = index.search(sst5_vectors[:3], 8, allowed_ids=ids[[5, 9, 11]])
    assert (hits.counts() == 3).all()
    assert (hits.ids[:, 3:] == -1).all() and np.isneginf(hits.scores[:, 3:]).all()
    assert [len(q) for q in hits] == [3, 3, 3]
    empty = index.search(sst5_vectors[:2], 4, allowed_ids=[])
    assert (empty.ids == -1).all()
    assert index.search(sst5_vectors[:2], 600).counts().tolist() == [500, 500]


@pytest.mark.parametrize("kind", KINDS)
def test_add_remove_replace(sst5_vectors, kind):
    index, ids = make_index(sst5_vectors[:300], kind)
    assert len(index) == 300
    # incremental add
    index.add(np.array([9001, 9002]), sst5_vectors[300:302])
    assert len(index) == 302
    assert index.search(sst5_vectors[301], 1).ids[0, 0] == 9002
    # remove
    assert index.remove([ids[0], 9001]) == 2
    assert len(index) == 300 and ids[0] not in index
    assert ids[0] not in index.search(sst5_vectors[0], 5).ids
    with pytest.raises(NotFoundError):
        index.remove([123456789])
    assert index.remove([123456789], missing_ok=True) == 0
    # replace: re-adding an existing id swaps its vector and keeps the count
    index.add([ids[1]], sst5_vectors[400:401])
    assert len(index) == 300
    top = index.search(sst5_vectors[400], 1)
    assert top.ids[0, 0] == ids[1] and top.scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert index.search(sst5_vectors[1], 1).ids[0, 0] != ids[1]
    np.testing.assert_allclose(index.reconstruct([ids[1]])[0], sst5_vectors[400], atol=1e-5)


def test_hnsw_compacts_after_many_removals(sst5_vectors):
    rng = np.random.default_rng(1)
    x = np.repeat(sst5_vectors, 5, axis=0) + rng.normal(0, 0.01, (2500, 384)).astype(np.float32)
    index, ids = make_index(x, "hnsw")
    index.remove(ids[:1200])  # > 25% dead and >= 1000: the graph is rebuilt
    assert index._backend.n_dead == 0 and len(index) == 1300
    hits = index.search(x[1200:1210], 1)
    np.testing.assert_array_equal(hits.ids[:, 0], ids[1200:1210])


def test_auto_switches_to_hnsw_above_threshold(sst5_vectors):
    index = DenseIndex(384, kind="auto", auto_threshold=200)
    index.add(np.arange(150), sst5_vectors[:150])
    assert index.kind == "flat"
    index.add(np.arange(150, 400), sst5_vectors[150:400])
    assert index.kind == "hnsw" and len(index) == 400
    np.testing.assert_array_equal(index.search(sst5_vectors[:20], 1).ids[:, 0], np.arange(20))


def test_metric_ip_keeps_raw_inner_products(sst5_vectors):
    index = DenseIndex(384, metric="ip")
    index.add([0, 1], sst5_vectors[:2] * 2.0)
    hits = index.search(sst5_vectors[0], 1)
    assert hits.scores[0, 0] == pytest.approx(2.0, rel=1e-4)


def test_invalid_inputs(sst5_vectors):
    index = DenseIndex(384)
    with pytest.raises(InvalidInputError):
        index.add([1, 2], sst5_vectors[:3])
    with pytest.raises(InvalidInputError):
        index.add([1, 1], sst5_vectors[:2])
    with pytest.raises(InvalidInputError):
        index.add([-1], sst5_vectors[:1])
    with pytest.raises(InvalidInputError):
        index.add([1], sst5_vectors[:1, :100])
    bad = sst5_vectors[:1].copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidInputError):
        index.add([1], bad)
    with pytest.raises(InvalidInputError):
        index.search(sst5_vectors[:1], 0)
    with pytest.raises(InvalidInputError):
        DenseIndex(384, kind="ivfpq")


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(sst5_vectors, tmp_path, kind):
    index, ids = make_index(sst5_vectors, kind)
    index.remove(ids[:3])
    target = index.save(tmp_path / "idx")
    assert sorted(os.listdir(target)) == ["ids.npy", "index.faiss", "manifest.json"]
    manifest = json.loads((target / "manifest.json").read_text())
    for key in ("format_version", "kind", "metric", "dim", "embedding_model", "count", "created"):
        assert key in manifest
    assert manifest["kind"] == kind and manifest["count"] == 497 and manifest["dim"] == 384
    loaded = DenseIndex.load(target, dim=384, embedding_model="all-MiniLM-L6-v2")
    assert loaded.kind == kind and len(loaded) == 497
    a = index.search(sst5_vectors[:30], 7, allowed_ids=ids[::3])
    b = loaded.search(sst5_vectors[:30], 7, allowed_ids=ids[::3])
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_allclose(a.scores, b.scores)
    # the loaded index keeps working incrementally
    loaded.add([ids[0]], sst5_vectors[:1])
    assert loaded.search(sst5_vectors[0], 1).ids[0, 0] == ids[0]


def test_failed_save_leaves_old_index_intact(sst5_vectors, tmp_path, monkeypatch):
    index, ids = make_index(sst5_vectors[:100])
    target = index.save(tmp_path / "idx")
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    bigger, _ = make_index(sst5_vectors)

    def broken_write(*args, **kwargs):  # fault injection: the disk fails mid-save
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", broken_write)
    with pytest.raises(OSError, match="disk full"):
        bigger.save(target)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]  # no temp dirs left
    assert len(DenseIndex.load(target)) == 100
    # a successful save replaces it
    bigger.save(target)
    assert len(DenseIndex.load(target)) == 500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_manifest_mismatch_errors(sst5_vectors, tmp_path):
    index, _ = make_index(sst5_vectors[:50])
    target = index.save(tmp_path / "idx")
    with pytest.raises(InvalidInputError, match="dim"):
        DenseIndex.load(target, dim=768)
    with pytest.raises(InvalidInputError, match="embedding model"):
        DenseIndex.load(target, embedding_model="other-model")
    manifest = json.loads((target / "manifest.json").read_text())
    (target / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(InvalidInputError, match="format_version"):
        DenseIndex.load(target)
    (target / "manifest.json").write_text(json.dumps({**manifest, "dim": 128}))
    with pytest.raises(InvalidInputError, match="dim"):
        DenseIndex.load(target)
    (target / "manifest.json").write_text(json.dumps({**manifest, "count": 7}))
    with pytest.raises(InvalidInputError, match="count"):
        DenseIndex.load(target)
    (target / "manifest.json").write_text(json.dumps(manifest))
    np.save(target / "ids.npy", np.arange(50) + 1000)
    with pytest.raises(InvalidInputError, match="ids"):
        DenseIndex.load(target)
    with pytest.raises(NotFoundError):
        DenseIndex.load(tmp_path / "nowhere")


def test_n_threads_is_scoped(sst5_vectors):
    before = faiss.omp_get_max_threads()
    index, _ = make_index(sst5_vectors[:100], n_threads=1)
    index.search(sst5_vectors[:5], 3)
    assert faiss.omp_get_max_threads() == before
