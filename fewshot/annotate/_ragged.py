"""Index helpers for ragged (CSR-like) arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["ragged_arange", "gather_ranges"]


def ragged_arange(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s + l)`` for each pair, in order, without a Python loop.

    >>> ragged_arange(np.array([5, 0, 9]), np.array([2, 0, 3])).tolist()
    [5, 6, 9, 10, 11]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    out = np.ones(total, dtype=np.int64)
    out[0] = starts[0]
    ends = np.cumsum(lengths)
    # at each segment start, jump from the previous segment's last value to the new start
    out[ends[:-1]] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(out)


def gather_ranges(indptr: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the CSR entries of ``items`` and their segment lengths."""
    starts = indptr[items]
    lengths = indptr[items + 1] - starts
    return ragged_arange(starts, lengths), lengths
