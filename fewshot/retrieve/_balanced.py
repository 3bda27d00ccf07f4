"""`LabelBalancedRetriever`: similar demonstrations with every label represented."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar

import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.retrieve._base import BaseRetriever
from fewshot.retrieve._dense import DenseRetriever
from fewshot.retrieve._filter import Filter
from fewshot.retrieve._hits import Hits

__all__ = ["LabelBalancedRetriever", "interleave"]


def interleave(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Round-robin merge of per-label rankings.

    Parameters
    ----------
    ids, scores : ndarray of shape (m, L, q)
        For each query and label, that label's best ``q`` items (padding: id -1).
    k : int

    Returns
    -------
    ids, scores of shape (m, k): round r takes the r-th item of every label that still has
    one, the round's items ordered by score; the first k items are kept.
    """
    m, n_labels, q = ids.shape
    flat_ids = ids.reshape(m, n_labels * q)
    flat_scores = scores.reshape(m, n_labels * q)
    rounds = np.broadcast_to(np.tile(np.arange(q), n_labels), flat_ids.shape)
    rounds = np.where(flat_ids >= 0, rounds, q)  # padding after every real item
    order = np.lexsort((-flat_scores, rounds), axis=1)[:, :k]
    out_ids = np.full((m, k), -1, dtype=np.int64)
    out_scores = np.full((m, k), -np.inf, dtype=np.float32)
    width = order.shape[1]
    out_ids[:, :width] = np.take_along_axis(flat_ids, order, axis=1)
    out_scores[:, :width] = np.take_along_axis(flat_scores, order, axis=1)
    pad = out_ids < 0
    out_scores[pad] = -np.inf
    return out_ids, out_scores


class LabelBalancedRetriever(BaseRetriever):
    """The most similar items of each label, interleaved so that labels share the k slots.

    Parameters
    ----------
    dense : DenseRetriever
        Supplies the corpus, query embeddings and the per-label searches.
    labels : sequence, optional
        Labels to balance over (default: every label in the corpus). Items with other labels,
        or none, are never returned.
    per_label : int, optional
        Quota: at most this many items of one label. Default: no cap, so the k slots are
        spread as evenly as the labels allow (k // L each, the remainder to the labels whose
        next item is most similar; a label that runs out leaves its slots to the others).

    Each label is one FAISS search over all queries, restricted (inside FAISS) to that
    label's items that also pass the caller's filter. Output order is round by round:
    every label's best item (by similarity), then every label's second best, and so on.
    """

    name: ClassVar[str] = "label_balanced"
    needs_dense: ClassVar[bool] = True
    accepts_vectors: ClassVar[bool] = True

    def __init__(
        self, dense: DenseRetriever, *, labels: Sequence[Hashable] | None = None, per_label: int | None = None
    ) -> None:
        if not isinstance(dense, DenseRetriever):
            raise InvalidInputError("LabelBalancedRetriever wraps a DenseRetriever")
        super().__init__(dense.corpus)
        self.dense = dense
        self.labels = None if labels is None else list(labels)
        self.per_label = per_label

    def sync(self) -> None:
        self.dense.sync()

    def _prepare(self, batch: list[str] | np.ndarray) -> np.ndarray:
        if self.per_label is not None and self.per_label < 1:
            raise InvalidInputError(f"per_label must be >= 1, got {self.per_label}")
        return self.dense.encode_queries(batch)

    def _search(self, prepared: np.ndarray, k: int, allowed: np.ndarray | None) -> Hits:
        m = prepared.shape[0]
        quota = k if self.per_label is None else min(k, self.per_label)
        labels = self.labels if self.labels is not None else self.corpus.labels()
        ids, scores = [], []
        for label in labels:
            keys = self.corpus.allowed_keys(Filter(labels=[label]))
            if keys is None or keys.size == 0:
                continue
            if allowed is not None:
                keys = np.intersect1d(keys, allowed, assume_unique=True)
                if keys.size == 0:
                    continue
            hits = self.dense.index.search(prepared, quota, allowed_ids=keys)
            ids.append(hits.ids)
            scores.append(hits.scores)
        if not ids:
            return Hits.empty(m, k)
        out_ids, out_scores = interleave(np.stack(ids, axis=1), np.stack(scores, axis=1), k)
        return Hits(out_ids, out_scores)
