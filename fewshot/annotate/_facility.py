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
    check_int,
    json_params,
)
from fewshot.annotate._graph import check_graph_params, graph_from_params, reverse_edges
from fewshot.annotate._knapsack import Affordable, CostBudget, GreedyRun, best_of
from fewshot.annotate._ragged import gather_ranges

__all__ = ["FacilityLocation"]


class FacilityLocation(SelectionStrategy):
    """Greedy facility location over the kNN graph.

    Parameters
    ----------
    k : int, default 20
        Neighbours per item whose similarity counts.
    exact, n_threads, center, device, approx, nlist, nprobe
        As for :class:`VoteK`.
    """

    name = "facility"
    #: Scores are the marginal gains the greedy saw (partitioned selection merges by them).
    scores_are_gains = True

    def __init__(
        self,
        *,
        k: int = 20,
        exact: bool | None = None,
        n_threads: int | None = None,
        device: str | None = None,
        center: bool = True,
        approx: str | None = None,
        nlist: int | None = None,
        nprobe: int | None = None,
    ) -> None:
        super().__init__(center=center)
        self.k = k
        self.exact = exact
        self.n_threads = n_threads
        self.device = device
        self.approx = approx
        self.nlist = nlist
        self.nprobe = nprobe

    def _check_params(self, n: int) -> dict[str, Any]:
        params = super()._check_params(n)
        params["k"] = check_int(self.k, "k", low=1)
        params.update(check_graph_params(self))
        return params

    def _state(self, Z: np.ndarray, labeled: np.ndarray, params: dict[str, Any], progress) -> _FacilityGreedy:
        graph = graph_from_params(Z, params["k"], params, progress)
        params.update(k_used=graph.k, exact_graph=graph.exact)
        state = _FacilityGreedy(graph.neighbors, graph.similarities)
        for s in labeled.tolist():
            state.take(s)
        state.gain[state.chosen] = -1.0
        return state

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        state = self._state(Z, labeled, params, progress)
        gain = state.gain
        picks = np.empty(budget, dtype=np.int64)
        scores = np.empty(budget, dtype=np.float64)
        for i in range(budget):
            s = int(np.argmax(gain))
            picks[i], scores[i] = s, gain[s]
            state.take(s)
            if progress is not None:
                progress(i + 1, budget)
        return Selection(picks, scores, self.name, json_params(params))

    def _select_cost(self, Z, cb, labeled, seed, progress, params) -> Selection:
        """Best of the cost-benefit greedy, the unit-cost greedy and the best single affordable
        item (SPEC section 7); ``params["cost_rule"]`` names the run kept."""
        start = self._state(Z, labeled, params, progress)
        runs = [_knapsack_run(start.copy(), cb, rule, progress) for rule in ("cost-benefit", "unit-cost")]
        single = np.where(cb.free & (cb.costs <= cb.limit), start.gain, -1.0)
        s = int(np.argmax(single))
        runs.append(GreedyRun("best-single", np.array([s], dtype=np.int64), single[s : s + 1], float(single[s])))
        best = best_of(runs)
        params["cost_rule"] = best.rule
        return Selection(best.picks, best.gains.astype(np.float64), self.name, json_params(params))


class _FacilityGreedy:
    """Exact marginal gains of facility location over a kNN graph, updated after each pick.

    ``gain[s]`` is the gain of adding ``s`` (``-1`` once chosen); ``take(s)`` adds ``s``.
    """

    def __init__(self, neighbors: np.ndarray, similarities: np.ndarray) -> None:
        n = neighbors.shape[0]
        # w(i, s): item i is covered by s. Add the self pair as column 0.
        nbrs = np.concatenate([np.arange(n, dtype=np.int64)[:, None], neighbors.astype(np.int64)], axis=1)
        w = np.concatenate([np.ones((n, 1)), np.maximum(similarities, 0.0)], axis=1)
        w[nbrs < 0] = 0.0
        # covers(s): the items i with s in nbrs[i], and the weight w(i, s) of each
        indptr, items, edge_ids = reverse_edges(nbrs, with_edge_ids=True)
        self.nbrs = nbrs
        self.indptr = indptr
        self.items = items.astype(np.int64)
        self.weights = w.reshape(-1)[edge_ids]
        self.cover = np.zeros(n, dtype=np.float64)
        self.chosen = np.zeros(n, dtype=bool)
        self.gain = self.gains_of(np.arange(n, dtype=np.int64))

    def copy(self) -> _FacilityGreedy:
        other = object.__new__(_FacilityGreedy)
        other.__dict__.update(self.__dict__)
        other.cover, other.chosen, other.gain = self.cover.copy(), self.chosen.copy(), self.gain.copy()
        return other

    def gains_of(self, cands: np.ndarray) -> np.ndarray:
        pos, lengths = gather_ranges(self.indptr, cands)
        g = np.maximum(self.weights[pos] - self.cover[self.items[pos]], 0.0)
        return np.bincount(np.repeat(np.arange(cands.shape[0]), lengths), weights=g, minlength=cands.shape[0])

    def take(self, s: int) -> None:
        items, weights, cover = self.items, self.weights, self.cover
        pos = np.arange(self.indptr[s], self.indptr[s + 1])
        better = weights[pos] > cover[items[pos]]
        touched = items[pos[better]]
        np.maximum.at(cover, touched, weights[pos[better]])
        self.chosen[s] = True
        if touched.shape[0]:
            affected = np.unique(self.nbrs[touched].reshape(-1))
            affected = affected[affected >= 0]
            self.gain[affected] = self.gains_of(affected)
        self.gain[self.chosen] = -1.0


def _knapsack_run(state: _FacilityGreedy, cb: CostBudget, rule: str, progress) -> GreedyRun:
    """Greedy under the knapsack constraint: the affordable row of largest ``gain / cost``
    (``rule="cost-benefit"``) or largest ``gain`` (``"unit-cost"``), until no row fits.
    Ties go to the smallest row number; equal costs replay the count-based greedy."""
    aff = Affordable(cb)
    gain, costs = state.gain, cb.costs
    out = np.zeros(gain.shape[0], dtype=bool)  # chosen, or no longer fits
    picks: list[int] = []
    gains: list[float] = []
    total = cb.max_items()
    while True:
        out[aff.newly_unaffordable()] = True
        key = gain / costs if rule == "cost-benefit" else gain.copy()
        key[out | state.chosen] = -np.inf
        s = int(np.argmax(key))
        if key[s] == -np.inf:
            break
        picks.append(s)
        gains.append(float(gain[s]))
        state.take(s)
        aff.pay(s)
        if progress is not None:
            progress(len(picks), max(total, len(picks)))
    arr = np.asarray(gains, dtype=np.float64)
    return GreedyRun(rule, np.asarray(picks, dtype=np.int64), arr, float(arr.sum()))
