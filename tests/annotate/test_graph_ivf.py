"""The IVF kNN graph: full probing is the exact search, default probing has high recall on
clustered vectors, missing candidates are -1, and selection runs on it."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.annotate import build_knn_graph, prepare_vectors, select
from fewshot.annotate._graph_ivf import assign_lists, ivf_knn, plan_ivf, train_coarse
from fewshot.exceptions import InvalidInputError


def _clusters(n: int, d: int = 24, centers: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, d))
    return prepare_vectors(c[rng.integers(0, centers, n)] + 0.5 * rng.normal(size=(n, d)))


def _recall(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / a.shape[1] for x, y in zip(a.tolist(), b.tolist(), strict=True)]))


def test_probing_every_list_is_the_exact_search():
    Z = _clusters(3000)
    exact = build_knn_graph(Z, 15, exact=True)
    full = build_knn_graph(Z, 15, exact=False, approx="ivf", nlist=30, nprobe=30)
    assert not full.exact and full.sim_error is None
    # same k-th similarity on every row (membership can differ only inside float32 ties)
    assert np.abs(full.similarities - exact.similarities).max() < 1e-5
    assert _recall(full.neighbors, exact.neighbors) > 0.999


def test_default_probing_has_high_recall_and_is_the_default_approximate_graph():
    Z = _clusters(12_000, d=32, centers=80, seed=1)
    exact = build_knn_graph(Z, 20, exact=True)
    plan = plan_ivf(12_000, 20)
    assert plan.nprobe < plan.nlist  # really approximate: some lists are not scanned
    ivf = build_knn_graph(Z, 20, exact=False)
    assert _recall(ivf.neighbors, exact.neighbors) > 0.95
    assert (ivf.neighbors != np.arange(12_000)[:, None]).all()  # no self edges
    assert np.all(np.diff(ivf.similarities, axis=1) <= 0)  # by decreasing similarity
    hnsw = build_knn_graph(Z, 20, exact=False, approx="hnsw")
    assert _recall(hnsw.neighbors, exact.neighbors) > 0.9  # HNSW stays available


def test_rows_with_too_few_candidates_get_minus_one():
    Z = _clusters(400)
    nbrs, sims, plan = ivf_knn(Z, 60, nlist=40, nprobe=1)
    assert plan == plan_ivf(400, 60, nlist=40, nprobe=1)
    short = (nbrs < 0).any(axis=1)
    assert short.any()
    assert np.all(sims[nbrs < 0] == 0.0)
    # each row's candidates are exactly its list (row itself dropped): sizes match
    probes = assign_lists(Z, train_coarse(Z, 40, plan.train_size), 1)
    sizes = np.bincount(probes[:, 0], minlength=40)
    assert np.array_equal((nbrs >= 0).sum(axis=1), np.minimum(sizes[probes[:, 0]] - 1, 60))


def test_the_graph_is_deterministic():
    Z = _clusters(5000)
    a = build_knn_graph(Z, 10, exact=False, n_threads=2)
    b = build_knn_graph(Z, 10, exact=False, n_threads=2)
    assert np.array_equal(a.neighbors, b.neighbors) and np.array_equal(a.similarities, b.similarities)


def test_bad_settings_name_the_value():
    Z = _clusters(200)
    with pytest.raises(InvalidInputError, match="approx must be one of ivf, hnsw; got 'annoy'"):
        build_knn_graph(Z, 5, exact=False, approx="annoy")
    with pytest.raises(InvalidInputError, match="nprobe must be a positive integer; got 0"):
        build_knn_graph(Z, 5, exact=False, nprobe=0)


def test_votek_on_the_ivf_graph_matches_exact_votek_mostly():
    Z = _clusters(6000, d=32, centers=60, seed=3)
    exact = select(Z, 30, "votek", k=20, exact=True)
    approx = select(Z, 30, "votek", k=20, exact=False)
    assert approx.params["exact_graph"] is False
    assert len(set(exact.indices.tolist()) & set(approx.indices.tolist())) >= 24
