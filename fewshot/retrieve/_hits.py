"""`Hits`: the result of a batched nearest-neighbour search, as arrays."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fewshot.exceptions import InvalidInputError

__all__ = ["Hits", "QueryHits", "PAD_ID"]

#: The id that marks an empty result slot (FAISS uses the same convention).
PAD_ID: int = -1


@dataclass(frozen=True)
class QueryHits:
    """The results of one query, padding removed.

    ids : ndarray of shape (n,), int64 -- best first, ``n <= k``.
    scores : ndarray of shape (n,), float32 -- similarity, non-increasing for exact searches.
    """

    ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __iter__(self) -> Iterator[tuple[int, float]]:
        return iter(zip(self.ids.tolist(), self.scores.tolist()))


@dataclass(frozen=True)
class Hits:
    """Results of ``m`` queries with ``k`` slots each.

    ids : ndarray of shape (m, k), int64
        Row ``i`` holds the ids found for query ``i``, best first. Slots without a result
        (fewer than ``k`` candidates, or fewer allowed by a filter) hold ``PAD_ID`` (-1).
    scores : ndarray of shape (m, k), float32
        The matching similarities; padded slots hold ``-inf``.

    Padding is always at the end of a row. Iterating yields one `QueryHits` per query with
    the padding removed.
    """

    ids: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        ids = np.ascontiguousarray(self.ids, dtype=np.int64)
        scores = np.ascontiguousarray(self.scores, dtype=np.float32)
        if ids.ndim != 2 or ids.shape != scores.shape:
            raise InvalidInputError(f"ids {ids.shape} and scores {scores.shape} must be equal 2-D shapes")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "scores", scores)

    @classmethod
    def empty(cls, m: int, k: int) -> Hits:
        """All-padding results of shape (m, k)."""
        return cls(np.full((m, k), PAD_ID, dtype=np.int64), np.full((m, k), -np.inf, dtype=np.float32))

    @classmethod
    def concat_rows(cls, parts: list[tuple[np.ndarray, Hits]], m: int, k: int) -> Hits:
        """Assemble ``m`` rows from parts, each ``(row_indices, hits_for_those_rows)``."""
        out = cls.empty(m, k)
        for rows, part in parts:
            width = min(k, part.k)
            out.ids[rows, :width] = part.ids[:, :width]
            out.scores[rows, :width] = part.scores[:, :width]
        return out

    @property
    def m(self) -> int:
        """Number of queries."""
        return int(self.ids.shape[0])

    @property
    def k(self) -> int:
        """Slots per query."""
        return int(self.ids.shape[1])

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of shape (m, k): True where a slot holds a result."""
        return self.ids != PAD_ID

    def counts(self) -> np.ndarray:
        """Number of real results per query, shape (m,)."""
        return self.valid.sum(axis=1)

    def __len__(self) -> int:
        return self.m

    def __getitem__(self, i: int) -> QueryHits:
        n = int((self.ids[i] != PAD_ID).sum())
        return QueryHits(self.ids[i, :n], self.scores[i, :n])

    def __iter__(self) -> Iterator[QueryHits]:
        for i in range(self.m):
            yield self[i]

    def to_lists(self) -> list[list[int]]:
        """The ids per query as Python lists, padding removed."""
        return [q.ids.tolist() for q in self]
