"""Row-wise top-k selection over dense score matrices."""

from __future__ import annotations

import numpy as np

__all__ = ["topk_rows"]


def topk_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest entries of each row, best first.

    Parameters
    ----------
    scores : ndarray of shape (m, n), float
        ``-inf`` marks entries that must not be returned.
    k : int
        Slots per row; may exceed ``n``.

    Returns
    -------
    idx : ndarray of shape (m, k), int64
        Column indices; ``-1`` where a row has fewer than ``k`` finite entries.
    vals : ndarray of shape (m, k), float32
        The scores; ``-inf`` in padded slots. Ties are broken by lower column index.
    """
    m, n = scores.shape
    idx = np.full((m, k), -1, dtype=np.int64)
    vals = np.full((m, k), -np.inf, dtype=np.float32)
    if n == 0 or m == 0:
        return idx, vals
    kk = min(k, n)
    if kk < n:
        # kth largest value per row, then everything above it plus the earliest ties
        thresh = -np.partition(-scores, kk - 1, axis=1)[:, kk - 1 : kk]
        above = scores > thresh
        ties = scores == thresh
        need = kk - above.sum(axis=1, keepdims=True)
        chosen = above | (ties & (np.cumsum(ties, axis=1) <= need))
        part = np.nonzero(chosen)[1].reshape(m, kk)
    else:
        part = np.broadcast_to(np.arange(n), (m, n))
    part_scores = np.take_along_axis(scores, part, axis=1)
    # sort by descending score, then ascending column for ties
    order = np.lexsort((part, -part_scores), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    top_scores = np.take_along_axis(part_scores, order, axis=1)
    finite = np.isfinite(top_scores)
    idx[:, :kk] = np.where(finite, top, -1)
    vals[:, :kk] = np.where(finite, top_scores, -np.inf)
    return idx, vals
