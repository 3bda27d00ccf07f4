"""Exact k-nearest-neighbour search with canonical float64 resolution of float32 near-ties.

`search_exact` runs any exhaustive float32 search (FAISS ``IndexFlatIP.search`` or the torch
search of `fewshot.annotate._graph_torch`) block by block and re-ranks, with
:func:`canonical_ip`, the runs of candidates whose float32 similarities are closer than twice
:func:`float32_ip_error` around the two cuts that decide the graph (the dropped first entry and
the k-th kept one). See `fewshot.annotate._graph` for the neighbour rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

__all__ = ["MARGIN", "SearchFn", "canonical_ip", "float32_ip_error", "search_exact"]

logger = logging.getLogger(__name__)

_MARGIN = 8  # extra candidates fetched beyond k + 1 to resolve near-ties at the boundary
MARGIN = _MARGIN

SearchFn = Callable[[np.ndarray, int], "tuple[np.ndarray, np.ndarray]"]


def canonical_ip(X: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Float64 inner products of float32 rows, computed the canonical way.

    Products of two float32 numbers are exact in float64; the row sums use NumPy's
    fixed pairwise order, so the result depends only on the two rows' values (duplicates tie
    exactly). The slow research reference computes its cosines the same way.
    """
    out = np.empty(len(rows), dtype=np.float64)
    step = max(1, (1 << 21) // max(1, X.shape[1]))
    for s in range(0, len(rows), step):
        a = X[rows[s : s + step]].astype(np.float64)
        a *= X[cols[s : s + step]]
        out[s : s + step] = a.sum(axis=1)
    return out


def float32_ip_error(X: np.ndarray) -> float:
    """Bound on |float32 inner product - exact| for rows of X (any summation order)."""
    max_norm2 = 0.0
    for s in range(0, X.shape[0], 65_536):
        blk = X[s : s + 65_536].astype(np.float64)
        max_norm2 = max(max_norm2, float(np.einsum("ij,ij->i", blk, blk).max()))
    return 1.01 * X.shape[1] * 2.0**-24 * max_norm2 + 1e-12


def search_exact(search: SearchFn, X, k_eff, block_size, progress, idx_dtype, first=None):
    """Exhaustive search plus float64 resolution of the near-ties that change the graph.

    ``first(s, q, kf)``, when given, returns the first search of the block starting at row ``s``
    (computed elsewhere, e.g. on a Ray cluster: `fewshot.annotate._graph_ray`); ``search`` then
    only serves the rare wider re-searches of near-tie rows.

    Positions 0..k_eff of each ranking are needed: position 0 is dropped and 1..k_eff kept.
    Two places can be wrong in float32: which entry is first (ties with position 1) and which
    entries make the cut (ties across positions k_eff / k_eff+1). A run of consecutive
    candidates whose float32 gaps are all <= 2 * error is re-ranked by :func:`canonical_ip`.
    """
    n, d = X.shape
    err = float32_ip_error(X)
    tol = 2.0 * err
    K1 = k_eff + 1
    nbrs = np.empty((n, k_eff), dtype=idx_dtype)
    sims = np.empty((n, k_eff), dtype=np.float32)
    n_fixed = 0
    for s in range(0, n, block_size):
        q = X[s : s + block_size]
        Kf = min(K1 + _MARGIN, n)
        D, I = search(q, Kf) if first is None else first(s, q, Kf)
        rows = np.arange(s, s + q.shape[0])
        pending = _ambiguous_rows(D, K1, tol)
        while pending.size:
            # Resolve each ambiguous row; rows whose tie run reaches the last fetched candidate
            # are searched again with twice as many candidates.
            again = []
            for r in pending.tolist():
                if not _resolve_row(X, rows[r], D[r], I[r], K1, tol, more_exist=Kf < n):
                    again.append(r)
                else:
                    n_fixed += 1
            if not again:
                break
            Kf = min(2 * Kf, n)
            sub = np.asarray(again)
            D2, I2 = search(q[sub], Kf)
            D = _widen(D, Kf, np.float32, -np.inf)
            I = _widen(I, Kf, np.int64, -1)
            D[sub], I[sub] = D2, I2
            pending = sub
        nbrs[s : s + q.shape[0]] = I[:, 1:K1]
        sims[s : s + q.shape[0]] = D[:, 1:K1]
        if progress is not None:
            progress(min(s + block_size, n), n)
    logger.debug("exact kNN graph: %d row(s) had float32 near-ties re-ranked in float64", n_fixed)
    return nbrs, sims, err


def _widen(A: np.ndarray, width: int, dtype, fill) -> np.ndarray:
    if A.shape[1] >= width:
        return A
    out = np.full((A.shape[0], width), fill, dtype=dtype)
    out[:, : A.shape[1]] = A
    return out


def _ambiguous_rows(D: np.ndarray, K1: int, tol: float) -> np.ndarray:
    """Rows with a near-tie at the top (positions 0/1) or at the cut (K1-1 / K1)."""
    amb = np.zeros(D.shape[0], dtype=bool)
    if D.shape[1] >= 2 and K1 >= 2:
        amb |= (D[:, 0] - D[:, 1]) <= tol
    if K1 < D.shape[1]:
        amb |= (D[:, K1 - 1] - D[:, K1]) <= tol
    return np.flatnonzero(amb)


def _resolve_row(X, v, D, I, K1, tol, more_exist) -> bool:
    """Re-rank the tie runs around positions 0/1 and K1-1/K1 of one row in place.

    Returns False when a tie run reaches the last fetched candidate while more exist (the
    caller then fetches more).
    """
    Kf = D.shape[0]
    gaps = D[:-1] - D[1:]
    close = gaps <= tol  # close[j]: positions j and j+1 are within the error
    segments = []
    for pos in (0, K1 - 1):
        if pos + 1 >= Kf or not close[pos]:
            continue
        lo = pos
        while lo > 0 and close[lo - 1]:
            lo -= 1
        hi = pos + 1
        while hi < Kf - 1 and close[hi]:
            hi += 1
        if hi == Kf - 1 and more_exist:
            return False
        segments.append((lo, hi))
    if not segments:
        return True
    segments.sort()
    merged = [segments[0]]
    for lo, hi in segments[1:]:
        if lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    for lo, hi in merged:
        cand = I[lo : hi + 1].astype(np.int64)
        valid = cand >= 0
        cand = cand[valid]
        exact = canonical_ip(X, np.full(cand.shape[0], v), cand)
        order = np.lexsort((-cand, -exact))  # decreasing similarity, then decreasing index
        m = cand.shape[0]
        I[lo : lo + m] = cand[order]
        D[lo : lo + m] = exact[order].astype(np.float32)
    return True
