"""Random, k-means and facility location."""

from __future__ import annotations

import numpy as np

from fewshot.annotate import FacilityLocation, KMeansSelection, select


def blobs(sizes, d=8, seed=0):
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for c, size in enumerate(sizes):
        center = np.zeros(d)
        center[c % d] = 10.0 * (1 + c // d)
        parts.append(center + 0.3 * rng.normal(size=(size, d)))
        labels += [c] * size
    return np.concatenate(parts), np.array(labels)


def test_random_is_a_seeded_permutation():
    X = np.random.default_rng(0).normal(size=(20, 3))
    sel = select(X, 20, "random", seed=5)
    free = np.arange(20)
    assert sel.indices.tolist() == free[np.random.default_rng(5).permutation(20)].tolist()
    assert np.all(sel.scores == 0)


def test_kmeans_one_item_per_blob_largest_first():
    X, labels = blobs([40, 25, 10, 5], seed=1)
    sel = KMeansSelection(center=False).select(X, 4, seed=0, labeled=None)
    assert sorted(labels[sel.indices].tolist()) == [0, 1, 2, 3]
    assert sel.scores.tolist() == [40.0, 25.0, 10.0, 5.0]
    assert labels[sel.indices].tolist() == [0, 1, 2, 3]


def test_kmeans_skips_labeled_items():
    X, labels = blobs([5, 5], seed=2)
    sel = select(X, 8, "kmeans", labeled=[0, 5])
    assert not {0, 5} & set(sel.indices.tolist())


def test_facility_location_covers_blobs_and_continues():
    X, labels = blobs([30, 20, 10], seed=3)
    sel = select(X, 3, "facility", k=15, center=False)
    assert sorted(labels[sel.indices].tolist()) == [0, 1, 2]
    assert np.all(np.diff(sel.scores) <= 1e-12)  # submodular: gains shrink
    full = FacilityLocation(k=15).select(X, 12)
    first = FacilityLocation(k=15).select(X, 5)
    second = FacilityLocation(k=15).select(X, 7, labeled=first.indices)
    assert first.indices.tolist() == full.indices[:5].tolist()
    assert second.indices.tolist() == full.indices[5:].tolist()


def test_facility_location_gains_are_exact():
    X = np.random.default_rng(4).normal(size=(80, 6))
    sel = select(X, 10, "facility", k=8)
    from fewshot.annotate import build_knn_graph, prepare_vectors

    g = build_knn_graph(prepare_vectors(X), 8)
    W = np.zeros((80, 80))
    for i in range(80):
        W[i, i] = 1.0
        for u, s in zip(g.neighbors[i], g.similarities[i]):
            if u >= 0:
                W[i, u] = max(float(s), 0.0)
    cover = np.zeros(80)
    for s, gain in zip(sel.indices, sel.scores):
        gains = np.maximum(W - cover[:, None], 0).sum(axis=0)
        assert abs(gains[s] - gain) < 1e-9
        assert gains[s] >= gains.max() - 1e-9
        cover = np.maximum(cover, W[:, s])
