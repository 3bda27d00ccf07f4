"""`MMRRetriever`: maximal marginal relevance over a dense candidate set."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.retrieve._base import BaseRetriever
from fewshot.retrieve._dense import DenseRetriever
from fewshot.retrieve._hits import Hits

__all__ = ["MMRRetriever", "mmr_select"]

_QUERY_CHUNK = 256


def mmr_select(relevance: np.ndarray, pairwise: np.ndarray, valid: np.ndarray, k: int, lambda_: float) -> np.ndarray:
    """Greedy MMR order over candidate sets, vectorised across queries.

    Parameters
    ----------
    relevance : ndarray of shape (m, F) -- similarity of each candidate to its query.
    pairwise : ndarray of shape (m, F, F) -- similarity between the candidates of a query.
    valid : bool ndarray of shape (m, F) -- False for padding.
    k : int -- picks per query.
    lambda_ : float in [0, 1] -- weight of relevance against redundancy.

    Returns
    -------
    ndarray of shape (m, k), int64: candidate positions in pick order, -1 when exhausted.

    Step t picks ``argmax lambda * rel(c) - (1 - lambda) * max_{s picked} sim(c, s)`` over
    unpicked candidates (the first pick is the most relevant one); ties go to the earlier
    candidate, so ``lambda_ = 1`` reproduces the candidates' own order.
    """
    m, f = relevance.shape
    picks = np.full((m, k), -1, dtype=np.int64)
    available = valid.copy()
    redundancy = np.zeros((m, f), dtype=np.float32)
    rows = np.arange(m)
    for step in range(min(k, f)):
        score = relevance if step == 0 else lambda_ * relevance - (1.0 - lambda_) * redundancy
        score = np.where(available, score, -np.inf)
        best = np.argmax(score, axis=1)
        ok = available[rows, best]
        if not ok.any():
            break
        picks[ok, step] = best[ok]
        available[rows[ok], best[ok]] = False
        sims = pairwise[rows, best, :]
        redundancy = np.where(ok[:, None], sims if step == 0 else np.maximum(redundancy, sims), redundancy)
    return picks


class MMRRetriever(BaseRetriever):
    """Diverse demonstrations: MMR re-ranking of a dense retriever's top candidates.

    Parameters
    ----------
    dense : DenseRetriever
        Supplies the corpus, the query embeddings and the candidate search.
    lambda_ : float in [0, 1]
        1.0 = pure relevance (the dense order), 0.0 = pure diversity.
    fetch_k : int, optional
        Candidates per query; default ``fetch_factor * k``.
    fetch_factor : int
        Multiplier used when ``fetch_k`` is None.

    Filters apply to the candidate search (inside FAISS), so every candidate is allowed.
    ``Demo.score`` is the candidate's similarity to the query; ``rank`` is the MMR order.
    """

    name: ClassVar[str] = "mmr"
    needs_dense: ClassVar[bool] = True
    accepts_vectors: ClassVar[bool] = True

    def __init__(
        self, dense: DenseRetriever, *, lambda_: float = 0.5, fetch_k: int | None = None, fetch_factor: int = 4
    ) -> None:
        if not isinstance(dense, DenseRetriever):
            raise InvalidInputError("MMRRetriever wraps a DenseRetriever")
        super().__init__(dense.corpus)
        self.dense = dense
        self.lambda_ = lambda_
        self.fetch_k = fetch_k
        self.fetch_factor = fetch_factor

    def sync(self) -> None:
        self.dense.sync()

    def _prepare(self, batch: list[str] | np.ndarray) -> np.ndarray:
        if not 0.0 <= self.lambda_ <= 1.0:
            raise InvalidInputError(f"lambda_ must be in [0, 1], got {self.lambda_}")
        return self.dense.encode_queries(batch)

    def _search(self, prepared: np.ndarray, k: int, allowed: np.ndarray | None) -> Hits:
        fetch = max(k, self.fetch_k if self.fetch_k is not None else self.fetch_factor * k)
        cand = self.dense.index.search(prepared, fetch, allowed_ids=allowed)
        out = Hits.empty(cand.m, k)
        for start in range(0, cand.m, _QUERY_CHUNK):
            stop = min(start + _QUERY_CHUNK, cand.m)
            ids, rel = cand.ids[start:stop], cand.scores[start:stop]
            valid = ids >= 0
            uniq, inverse = np.unique(ids[valid], return_inverse=True)
            vecs = np.zeros(ids.shape + (self.dense.index.dim,), dtype=np.float32)
            if uniq.size:
                vecs[valid] = self.dense.index.reconstruct(uniq)[inverse]
            pairwise = np.einsum("mfd,mgd->mfg", vecs, vecs)
            picks = mmr_select(rel, pairwise, valid, k, float(self.lambda_))
            got = picks >= 0
            safe = np.maximum(picks, 0)
            out.ids[start:stop] = np.where(got, np.take_along_axis(ids, safe, axis=1), -1)
            out.scores[start:stop] = np.where(got, np.take_along_axis(rel, safe, axis=1), -np.inf)
        return out
