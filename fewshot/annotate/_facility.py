"""Facility location on the sparse kNN graph (a coverage baseline).

Maximise ``F(S) = sum_i max(w(i, s) for s in S)`` (0 for an empty ``S``) where ``w(i, s)`` is the
cosine of ``i`` and ``s`` clipped at 0 when ``s`` is among ``i``'s ``k`` nearest neighbours,
``w(i, i) = 1`` (the item covers itself), and 0 otherwise. Restricting the similarities to the
kNN graph keeps memory at ``O(n k)`` instead of the dense ``n x n`` matrix of the textbook
version; an item far from everything chosen simply contributes 0. ``F`` is monotone and
submodular, so the greedy is within ``1 - 1/e`` of optimal.

The greedy keeps every candidate's marginal gain exact: after a pick only the items it covers
better change, and only the candidates that cover those items are re-evaluated (the same
saving as lazy greedy, without stale upper bounds). Ties go to the smallest row number.
Labeled items start in ``S``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fewshot.annotate._base import (
    Selection,
    SelectionStrategy,
    check_bool,
    check_int,
    check_optional_int,
    json_params,
)
from fewshot.annotate._graph import build_knn_graph, reverse_edges
from fewshot.annotate._ragged import gather_ranges

__all__ = ["FacilityLocation"]


class FacilityLocation(SelectionStrategy):
    """Greedy facility location over the kNN graph.

    Parameters
    ----------
    k : int, default 20
        Neighbours per item whose similarity counts.
    exact, n_threads, center, device
        As for :class:`VoteK`.
    """

    name = "facility"

    def __init__(
        self,
        *,
        k: int = 20,
        exact: bool | None = None,
        n_threads: int | None = None,
        device: str | None = None,
        center: bool = True,
    ) -> None:
        super().__init__(center=center)
        self.k = k
        self.exact = exact
        self.n_threads = n_threads
        self.device = device

    def _check_params(self, n: int) -> dict[str, Any]:
        params = super()._check_params(n)
        params["k"] = check_int(self.k, "k", low=1)
        params["exact"] = None if self.exact is None else check_bool(self.exact, "exact")
        params["n_threads"] = check_optional_int(self.n_threads, "n_threads")
        params["device"] = self.device
        return params

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        n = Z.shape[0]
        graph = build_knn_graph(
            Z,
            params["k"],
            exact=params["exact"],
            n_threads=params["n_threads"],
            device=params["device"],
            progress=progress,
        )
        params.update(k_used=graph.k, exact_graph=graph.exact)
        # w(i, s): item i is covered by s. Add the self pair as column 0.
        nbrs = np.concatenate([np.arange(n, dtype=np.int64)[:, None], graph.neighbors.astype(np.int64)], axis=1)
        w = np.concatenate([np.ones((n, 1)), np.maximum(graph.similarities, 0.0)], axis=1)
        w[nbrs < 0] = 0.0
        # covers(s): the items i with s in nbrs[i], and the weight w(i, s) of each
        indptr, items, edge_ids = reverse_edges(nbrs, with_edge_ids=True)
        items = items.astype(np.int64)
        weights = w.reshape(-1)[edge_ids]
        cover = np.zeros(n, dtype=np.float64)
        chosen = np.zeros(n, dtype=bool)

        def gains_of(cands: np.ndarray) -> np.ndarray:
            pos, lengths = gather_ranges(indptr, cands)
            g = np.maximum(weights[pos] - cover[items[pos]], 0.0)
            return np.bincount(np.repeat(np.arange(cands.shape[0]), lengths), weights=g, minlength=cands.shape[0])

        gain = gains_of(np.arange(n, dtype=np.int64))

        def take(s: int) -> None:
            pos = np.arange(indptr[s], indptr[s + 1])
            better = weights[pos] > cover[items[pos]]
            touched = items[pos[better]]
            np.maximum.at(cover, touched, weights[pos[better]])
            chosen[s] = True
            if touched.shape[0]:
                affected = np.unique(nbrs[touched].reshape(-1))
                affected = affected[affected >= 0]
                gain[affected] = gains_of(affected)
            gain[chosen] = -1.0

        for s in labeled.tolist():
            take(s)
        gain[chosen] = -1.0
        picks = np.empty(budget, dtype=np.int64)
        scores = np.empty(budget, dtype=np.float64)
        for i in range(budget):
            s = int(np.argmax(gain))
            picks[i], scores[i] = s, gain[s]
            take(s)
            if progress is not None:
                progress(i + 1, budget)
        return Selection(picks, scores, self.name, json_params(params))
