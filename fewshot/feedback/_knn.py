"""Demonstrations for LM feedback: each query row's most cosine-similar rows among a given set."""

from __future__ import annotations

import numpy as np

__all__ = ["unit_rows", "nearest_rows"]

#: Query rows per matrix product (bounds the ``(block, len(among))`` similarity block in memory).
_BLOCK = 1024


def unit_rows(X: np.ndarray) -> np.ndarray:
    """``X`` as C-contiguous float32 rows of unit L2 norm (zero rows stay zero); shape kept."""
    Z = np.array(X, dtype=np.float32, order="C", copy=True)
    Z /= np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
    return Z


def nearest_rows(U: np.ndarray, queries: np.ndarray, among: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row in ``queries``, the ``k`` rows of ``among`` most cosine-similar to it.

    Parameters
    ----------
    U : ndarray of shape (n, dim), float32
        Unit-norm rows (`unit_rows`), so a dot product is the cosine.
    queries : ndarray of shape (m,), int
        Row numbers of ``U`` to find neighbours for.
    among : ndarray of shape (s,), int
        Row numbers of ``U`` the neighbours are drawn from (s >= 1).
    k : int
        Neighbours per query (at most ``s`` are returned).

    Returns
    -------
    (rows, sims) : ndarrays of shape (m, min(k, s)), int64 and float32
        Row numbers of ``U`` and their cosines, most similar first; ties go to the row listed
        first in ``among``.

    >>> U = unit_rows(np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]))
    >>> nearest_rows(U, np.array([0, 2]), np.array([1, 3]), 1)[0].tolist()
    [[1], [3]]
    """
    among = np.asarray(among, dtype=np.int64)
    queries = np.asarray(queries, dtype=np.int64)
    kk = min(int(k), among.shape[0])
    rows = np.empty((queries.shape[0], kk), dtype=np.int64)
    sims = np.empty((queries.shape[0], kk), dtype=np.float32)
    A = U[among]
    for start in range(0, queries.shape[0], _BLOCK):
        block = U[queries[start : start + _BLOCK]] @ A.T
        top = np.argsort(-block, axis=1, kind="stable")[:, :kk]
        rows[start : start + _BLOCK] = among[top]
        sims[start : start + _BLOCK] = np.take_along_axis(block, top, axis=1)
    return rows, sims
