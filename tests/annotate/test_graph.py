"""kNN graphs: exact graphs are canonical (float64 order, larger row first on ties)."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot.annotate import build_knn_graph, prepare_vectors
from fewshot.annotate._graph import reverse_edges
from fewshot.annotate._graph_exact import canonical_ip
from fewshot.annotate._ragged import ragged_arange
from fewshot.exceptions import InvalidInputError


def brute_force(Z: np.ndarray, k: int) -> list[list[int]]:
    E = Z.astype(np.float64)
    out = []
    for i in range(len(Z)):
        s = (E * E[i]).sum(axis=1)
        row = np.argsort(s, kind="stable").tolist()[-k - 1 : -1][::-1]
        out.append([u if u != i else -1 for u in row])
    return out


def test_exact_graph_is_canonical_with_duplicates_and_near_ties():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 24)).astype(np.float32)
    X[200:230] = X[0:30]
    X[230:260] = X[30:60] + np.float32(1e-7) * rng.normal(size=(30, 24)).astype(np.float32)
    Z = prepare_vectors(X)
    g = build_knn_graph(Z, 12, exact=True, block_size=128)
    got = g.neighbors.tolist()
    want = brute_force(Z, 12)
    # the membership and the order outside float32 near-ties must agree
    for i in range(len(Z)):
        assert sorted(got[i]) == sorted(want[i]), i
    assert g.exact and g.sim_error is not None and g.sim_error < 1e-4
    assert g.neighbors.dtype == np.int32 and g.similarities.dtype == np.float32
    ok = g.neighbors >= 0
    exact = canonical_ip(Z, np.repeat(np.arange(len(Z)), 12)[ok.ravel()], g.neighbors[ok])
    assert np.abs(exact - g.similarities[ok]).max() <= g.sim_error


def test_small_pool_caps_k():
    Z = prepare_vectors(np.random.default_rng(1).normal(size=(5, 3)))
    g = build_knn_graph(Z, 10)
    assert g.k == 4
    for i in range(5):
        assert sorted(g.neighbors[i].tolist()) == sorted(set(range(5)) - {i})


def test_hnsw_graph_has_good_recall():
    Z = prepare_vectors(np.random.default_rng(2).normal(size=(2000, 16)))
    exact = build_knn_graph(Z, 10, exact=True)
    approx = build_knn_graph(Z, 10, exact=False)
    assert not approx.exact and approx.sim_error is None
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact.neighbors.tolist(), approx.neighbors.tolist())])
    assert recall > 0.9


def test_exact_threshold_switches_to_hnsw():
    Z = prepare_vectors(np.random.default_rng(3).normal(size=(300, 8)))
    assert not build_knn_graph(Z, 5, exact_threshold=100).exact
    assert build_knn_graph(Z, 5, exact_threshold=1000).exact


def test_only_inner_product():
    Z = prepare_vectors(np.eye(3))
    with pytest.raises(InvalidInputError, match="metric"):
        build_knn_graph(Z, 1, metric="l2")


def test_reverse_edges_sources_ascending():
    nbrs = np.array([[1, 2], [2, -1], [0, 1]], dtype=np.int32)
    indptr, src, eid = reverse_edges(nbrs, with_edge_ids=True)
    assert indptr.tolist() == [0, 1, 3, 5]
    assert src.tolist() == [2, 0, 2, 0, 1]
    assert eid.tolist() == [4, 0, 5, 1, 2]


def test_progress_callback_reaches_total():
    calls = []
    Z = prepare_vectors(np.random.default_rng(4).normal(size=(1000, 8)))
    build_knn_graph(Z, 5, block_size=256, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (1000, 1000) and len(calls) == 4


def test_ragged_arange():
    assert ragged_arange(np.array([3, 10, 0]), np.array([2, 0, 3])).tolist() == [3, 4, 0, 1, 2]
    assert ragged_arange(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).size == 0


# -- the torch search (the GPU path, run here on the CPU) ------------------------------------


def _torch_graph(Z, k, **kw):
    pytest.importorskip("torch")
    return build_knn_graph(Z, k, exact=True, device="torch:cpu", **kw)


def test_torch_search_gives_the_canonical_graph_with_duplicates_and_near_ties():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 24)).astype(np.float32)
    X[200:230] = X[0:30]
    X[230:260] = X[30:60] + np.float32(1e-7) * rng.normal(size=(30, 24)).astype(np.float32)
    Z = prepare_vectors(X)
    g = _torch_graph(Z, 12, block_size=64)
    f = build_knn_graph(Z, 12, exact=True, device="cpu", block_size=128)
    want = brute_force(Z, 12)
    for i in range(len(Z)):
        assert sorted(g.neighbors[i].tolist()) == sorted(want[i]), i
    assert np.array_equal(np.sort(g.neighbors, axis=1), np.sort(f.neighbors, axis=1))
    assert g.exact and g.sim_error == f.sim_error
    ok = g.neighbors >= 0
    exact = canonical_ip(Z, np.repeat(np.arange(len(Z)), 12)[ok.ravel()], g.neighbors[ok])
    assert np.abs(exact - g.similarities[ok]).max() <= g.sim_error


def test_torch_search_fetches_more_when_a_tie_run_reaches_the_last_candidate():
    # 40 identical rows: every row's tie run spans far more than k + 1 + margin candidates
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 8)).astype(np.float32)
    X[:40] = X[0]
    Z = prepare_vectors(X)
    g = _torch_graph(Z, 5)
    want = brute_force(Z, 5)
    for i in range(len(Z)):
        assert sorted(g.neighbors[i].tolist()) == sorted(want[i]), i
    # the canonical tie-break ranks the 40 duplicates larger row first: 39 takes the dropped
    # first place, 34-38 are kept
    assert sorted(g.neighbors[0].tolist()) == [34, 35, 36, 37, 38]


def test_votek_selection_is_the_same_on_the_torch_path(sst5_vectors):
    from fewshot.annotate import select

    X = sst5_vectors[:1200]

    cpu = select(X, 18, "votek", k=50, device="cpu")
    gpu_path = select(X, 18, "votek", k=50, device="torch:cpu")
    assert cpu.indices.tolist() == gpu_path.indices.tolist()
    assert np.allclose(cpu.scores, gpu_path.scores)
    ideal_cpu = select(X, 10, "ideal", device="cpu", seed=1)
    ideal_torch = select(X, 10, "ideal", device="torch:cpu", seed=1)
    assert ideal_cpu.indices.tolist() == ideal_torch.indices.tolist()


def test_graph_device_errors_name_the_value():
    Z = prepare_vectors(np.random.default_rng(4).normal(size=(30, 4)))
    with pytest.raises(InvalidInputError, match="'tpu'"):
        build_knn_graph(Z, 3, device="tpu")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="no CUDA GPU"):
            build_knn_graph(Z, 3, device="cuda")
    # small pools stay on FAISS by default, whatever the hardware
    from fewshot.annotate._graph import resolve_graph_device

    assert resolve_graph_device(None, 100) is None
    assert resolve_graph_device("torch:cpu", 100) == "cpu"
