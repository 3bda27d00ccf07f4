"""`HalfScan`: exact inner-product top-k over float32 vectors that reads half the bytes.

A flat index is memory-bound: an unfiltered query streams all ``n x d`` float32 values (154 MB at
100k x 384), one query at a time even in a batch (FAISS scans per query below its BLAS
threshold). `HalfScan` keeps a float16 copy (``IndexScalarQuantizer(QT_fp16)``, half the bytes)
and answers a query in two steps:

1. **Candidates**: the ``K = max(4k, k + 16)`` best rows by the float16 scores.
2. **Exact re-scoring**: those rows' float32 vectors (read from the flat index, which may be
   memory-mapped) score the query exactly; the best ``k`` are returned.

The result is *proven* exact, not just likely: rounding a vector to float16 moves each component
by at most ``2**-11`` of its size (plus ``2**-25`` absolute below float16's normal range), so a
row's float16 score is within ``delta = 2**-11 * |q| * max|x| + 2**-25 * |q|_1 + eps`` of its true
score (Cauchy-Schwarz). A row outside the candidates has a float16 score at most the lowest
candidate's, so its true score is at most that plus ``delta``; when the k-th exact score of the
candidates is strictly above that bound, no row outside can enter the top-k. Queries that fail
the check (near-duplicates straddling the cut) fall back to the full float32 scan. Scores are
computed by numpy instead of FAISS, so they can differ from a flat search's in the last bits.

Batches of ``BLAS_MIN_QUERIES`` or more skip the float16 copy: the float32 search (``fallback``)
runs with FAISS's matrix-product path forced (`blas_window`; FAISS 1.15 takes it only from 128,000
queries and otherwise scans once per query), which reads the rows once for the whole batch. It is
not done with numpy: a memory-mapped FAISS index's rows sit at an offset that is not a multiple of
4 bytes, and numpy multiplies unaligned arrays without BLAS (15x slower: 721 ms against 48 ms for
16 queries over 100k x 384).

Shapes: ``vectors`` (n, d) float32 C-contiguous (a view is fine; it must outlive this object);
queries (m, d) float32. Results: row positions (m, k) int64 (-1 padding) and scores (m, k)
float32 (-inf padding), best first, ties by lower row.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import faiss
import numpy as np

__all__ = ["HalfScan", "BLAS_MIN_QUERIES", "blas_window"]

#: From this batch size on, one float32 matrix product beats per-query scans (measured on one core
#: at 100k x 384, memory-mapped: 5.6 ms per query at 8, 2.7 at 16, 1.7 at 32, against 8-11 ms for
#: the float16 scan and 13-14 ms for FAISS's per-query scan).
BLAS_MIN_QUERIES = 8
_ADD_CHUNK = 65_536

_window_lock = threading.Lock()
_window_users = 0
_window_saved: int | None = None


@contextlib.contextmanager
def blas_window(min_queries: int = BLAS_MIN_QUERIES) -> Iterator[None]:
    """While the block runs, FAISS computes the inner products of any search of ``min_queries`` or
    more queries by matrix product (``faiss.cvar.distance_compute_blas_threshold`` lowered; the
    previous value is restored when the last concurrent user leaves). Only the speed of searches
    running meanwhile in other threads changes, not their results beyond float rounding."""
    global _window_users, _window_saved
    with _window_lock:
        if _window_users == 0:
            _window_saved = int(faiss.cvar.distance_compute_blas_threshold)
            faiss.cvar.distance_compute_blas_threshold = min(_window_saved, int(min_queries))
        _window_users += 1
    try:
        yield
    finally:
        with _window_lock:
            _window_users -= 1
            if _window_users == 0 and _window_saved is not None:
                faiss.cvar.distance_compute_blas_threshold = _window_saved
                _window_saved = None


#: ``fallback(queries, k) -> (rows, scores)``: the float32 scan for queries that fail the check.
Fallback = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


class HalfScan:
    """Float16 candidates, float32 answers (see the module docstring).

    Parameters
    ----------
    vectors : ndarray of shape (n, d), float32
        The rows searched (typically the flat index's own storage).
    fallback : callable
        ``fallback(queries, k) -> (rows (m, k) int64, scores (m, k) float32)``: the full float32
        search, used for the rare query whose candidates cannot be proven to hold the top-k.
    """

    def __init__(self, vectors: np.ndarray, fallback: Fallback) -> None:
        if vectors.ndim != 2 or vectors.dtype != np.float32:
            raise ValueError("vectors must be a 2-d float32 array")
        self.vectors = vectors
        self.fallback = fallback
        n, d = vectors.shape
        self._half = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        for start in range(0, n, _ADD_CHUNK):
            self._half.add(np.ascontiguousarray(vectors[start : start + _ADD_CHUNK]))
        norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors)) if n else np.zeros(0, dtype=np.float32)
        self._max_norm = float(norms.max()) if n else 0.0
        #: Queries answered by the float16 path / sent to the fallback (for tests and metrics).
        self.checked = 0
        self.fell_back = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the float16 copy."""
        return int(self.vectors.shape[0] * self.vectors.shape[1] * 2)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` rows of ``queries`` (m, d) by inner product; see the class docstring."""
        m, n = queries.shape[0], self.vectors.shape[0]
        if m >= BLAS_MIN_QUERIES:
            return self._blas(queries, k)
        kk = min(k, n)
        wide = min(n, max(4 * k, k + 16))
        half_scores, cand = self._half.search(queries, wide)
        rows = np.full((m, k), -1, dtype=np.int64)
        scores = np.full((m, k), -np.inf, dtype=np.float32)
        redo: list[int] = []
        for i in range(m):
            c = cand[i]
            c = c[c >= 0]
            exact = self.vectors[c] @ queries[i]
            order = np.lexsort((c, -exact))[:kk]
            if wide < n:
                q = queries[i]
                delta = (
                    2.0**-11 * float(np.linalg.norm(q)) * self._max_norm
                    + 2.0**-25 * float(np.abs(q).sum())
                    + 1e-6 * float(np.linalg.norm(q)) * self._max_norm
                )
                if c.size < wide or not float(exact[order[-1]]) > float(half_scores[i, wide - 1]) + delta:
                    redo.append(i)
                    continue
            rows[i, :kk] = c[order]
            scores[i, :kk] = exact[order]
        self.checked += m
        if redo:
            self.fell_back += len(redo)
            r, s = self.fallback(np.ascontiguousarray(queries[redo]), k)
            rows[redo], scores[redo] = r, s
        return rows, scores

    def _blas(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k of a batch: the float32 search by matrix product (see `blas_window`)."""
        with blas_window():
            return self.fallback(np.ascontiguousarray(queries), k)
