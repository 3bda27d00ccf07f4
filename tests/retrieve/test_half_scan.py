"""`HalfScan` / `DenseIndex.enable_half_scan`: float16 candidates, float32 answers, same top-k as
the exact float32 scan (proven per query, with a fallback when the proof fails)."""

from __future__ import annotations

import threading

import faiss
import numpy as np
import pytest

from fewshot.retrieve import DenseIndex
from fewshot.retrieve._half_scan import BLAS_MIN_QUERIES, blas_window


def _unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def _clustered(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, d))
    return _unit(centers[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, d)))


def _pair(X: np.ndarray) -> tuple[DenseIndex, DenseIndex]:
    ids = np.arange(1000, 1000 + len(X))
    exact, half = DenseIndex(X.shape[1], kind="flat"), DenseIndex(X.shape[1], kind="flat")
    exact.add(ids, X)
    half.add(ids, X)
    assert half.enable_half_scan()
    return exact, half


def _same_top_k(a, b) -> None:
    """Same ids in the same order, except that rows with equal float32 scores may swap."""
    np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=2e-6)
    for ra, rb, sa in zip(a.ids, b.ids, a.scores, strict=True):
        if not np.array_equal(ra, rb):  # only a permutation among (near-)equal scores is allowed
            assert set(ra.tolist()) == set(rb.tolist()) or np.ptp(sa) < 2e-6


@pytest.mark.parametrize("m", [1, 3, BLAS_MIN_QUERIES, 40])
def test_same_results_as_the_float32_scan(m: int) -> None:
    X = _clustered(5000, 64)
    Q = _unit(X[:m] + 0.05 * np.random.default_rng(1).normal(size=(m, 64)))
    exact, half = _pair(X)
    for k in (1, 8, 50):
        _same_top_k(exact.search(Q, k), half.search(Q, k))
    backend = half._backend
    assert backend.half is not None and backend.half.checked + (m >= BLAS_MIN_QUERIES) > 0


def test_near_ties_at_the_cut_fall_back_and_stay_exact() -> None:
    """Rows within float16 rounding of each other around the k-th place cannot be ordered by the
    float16 scores: the proof fails and the float32 scan answers."""
    rng = np.random.default_rng(3)
    base = _unit(rng.normal(size=(1, 32)))
    X = _unit(np.repeat(base, 400, axis=0) + 1e-5 * rng.normal(size=(400, 32)))
    X = np.vstack([X, _clustered(600, 32, seed=4)])
    exact, half = _pair(X)
    got, want = half.search(base, 8), exact.search(base, 8)
    assert half._backend.half.fell_back == 1
    np.testing.assert_array_equal(got.ids, want.ids)


def test_filtered_search_and_writes_use_the_exact_path() -> None:
    X = _clustered(2000, 32)
    exact, half = _pair(X)
    allowed = np.arange(1000, 1000 + 2000, 3)
    _same_top_k(exact.search(X[:2], 5, allowed_ids=allowed), half.search(X[:2], 5, allowed_ids=allowed))
    half.add([9_999_999], X[:1])
    assert half._backend.half is None  # a write drops the float16 copy (its view of FAISS's storage)
    assert half.search(X[:1], 2).ids[0].tolist()[:2] in ([1000, 9_999_999], [9_999_999, 1000])


def test_mapped_index(tmp_path) -> None:
    X = _clustered(3000, 48)
    exact, _ = _pair(X)
    exact.save(tmp_path / "ix")
    mapped = DenseIndex.load(tmp_path / "ix", mmap=True)
    assert mapped.enable_half_scan()
    Q = X[10:13]
    _same_top_k(exact.search(Q, 8), mapped.search(Q, 8))


def test_a_mapped_batch_is_searched_by_faiss_with_blas(tmp_path) -> None:
    """The rows of a memory-mapped FAISS index are not 4-byte aligned (numpy would multiply them
    without BLAS, 15x slower): a batch goes to FAISS with its matrix-product path forced, and the
    threshold is restored afterwards."""
    X = _clustered(3000, 48)
    exact, _ = _pair(X)
    exact.save(tmp_path / "ix")
    mapped = DenseIndex.load(tmp_path / "ix", mmap=True)
    assert mapped.enable_half_scan()
    backend = mapped._backend
    assert not backend._storage().flags.aligned  # what makes numpy unfit here
    before = faiss.cvar.distance_compute_blas_threshold
    seen: list[int] = []
    fallback = backend.half.fallback

    def spy(queries, k):
        seen.append(int(faiss.cvar.distance_compute_blas_threshold))
        return fallback(queries, k)

    backend.half.fallback = spy
    Q = _unit(X[:BLAS_MIN_QUERIES] + 0.05)
    _same_top_k(exact.search(Q, 8), mapped.search(Q, 8))
    assert seen == [min(before, BLAS_MIN_QUERIES)]
    assert faiss.cvar.distance_compute_blas_threshold == before


def test_blas_window_restores_the_threshold_after_overlapping_users() -> None:
    before = faiss.cvar.distance_compute_blas_threshold
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with blas_window(5):
            inside.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    inside.wait(10)
    with blas_window(5):
        assert faiss.cvar.distance_compute_blas_threshold == min(before, 5)
    assert faiss.cvar.distance_compute_blas_threshold == min(before, 5)  # the other user is still inside
    release.set()
    t.join(10)
    assert faiss.cvar.distance_compute_blas_threshold == before


def test_hnsw_and_empty_indexes_do_not_apply() -> None:
    assert not DenseIndex(8, kind="flat").enable_half_scan()
    hnsw = DenseIndex(8, kind="hnsw")
    hnsw.add([1, 2], _unit(np.random.default_rng(0).normal(size=(2, 8))))
    assert not hnsw.enable_half_scan()
