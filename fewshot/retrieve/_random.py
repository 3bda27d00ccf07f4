"""`RandomRetriever`: uniformly random demonstrations (the usual baseline)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from fewshot.retrieve._base import BaseRetriever
from fewshot.retrieve._corpus import Corpus
from fewshot.retrieve._hits import Hits

__all__ = ["RandomRetriever"]


class RandomRetriever(BaseRetriever):
    """Draws ``k`` distinct allowed items per query, uniformly, ignoring the query text.

    Parameters
    ----------
    corpus : Corpus
    seed : int, optional
        Seeds a `numpy.random.default_rng` created once, so a retriever built with the
        same seed over the same corpus returns the same sequence of results, and a batch
        sharing one filter equals the same queries asked one at a time, in order.

    Scores are 0.0; ranks are the draw order.
    """

    name: ClassVar[str] = "random"
    accepts_vectors: ClassVar[bool] = True

    def __init__(self, corpus: Corpus, *, seed: int | None = None) -> None:
        super().__init__(corpus)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def _prepare(self, batch: list[str] | np.ndarray) -> np.ndarray:
        return np.arange(len(batch))

    def _search(self, prepared: np.ndarray, k: int, allowed: np.ndarray | None) -> Hits:
        pool = self.corpus.keys() if allowed is None else allowed
        m = int(prepared.shape[0])
        hits = Hits.empty(m, k)
        take = min(k, int(pool.size))
        for i in range(m):
            hits.ids[i, :take] = pool[self._rng.choice(pool.size, size=take, replace=False)]
            hits.scores[i, :take] = 0.0
        return hits
