"""vote-k selective annotation (Su et al., 2022, "Selective Annotation Makes Language Models
Better Few-Shot Learners"): the vote-k greedy and the one-stage method.

The two-stage method (vote-k first, then model confidence) is in
`fewshot.annotate._votek_two_stage`; it reuses this module's greedy.

The one-stage method reproduces the research code's ``fast_votek`` ordered selection exactly on
the same vectors (see ``benchmarks/_research_reference.py`` and the tests), at a fraction of the
cost: an exact kNN graph from FAISS replaces the ``n`` full similarity passes and a vectorised
greedy replaces the Python scans. Steps, numbered as in SPEC section 2:

1. Neighbour lists ``N(v)``: the ``k`` items after the most similar entry of ``v``'s ranking
   (:func:`build_knn_graph`); ``v`` is skipped if it still shows up (exact duplicates).
2. Votes: ``v`` votes for every ``u`` in ``N(v)``; ``voters(u)`` are stored ascending (CSR).
3. Greedy: ``score(u) = sum(rho ** -t(v) for v in voters(u) if v not in L)``, summed in
   increasing voter order from 0 exactly as the research code does (``np.bincount`` adds its
   weights sequentially in input order, so the floating-point sums are bit-identical); the best
   ``u`` joins ``L`` and ``t(v) += 1`` for its voters. A running approximation of every score,
   updated incrementally, only serves to find the few candidates that can be the maximum; those
   are re-summed exactly. The running scores carry a rigorous bound on their rounding error
   (and on the research sums' own), so no candidate that could win is ever pruned.
4. Ties: candidates are visited by decreasing number of voters, stably with respect to the
   order in which they first received a vote (``v = 0..n-1``, and inside ``N(v)`` by increasing
   similarity); the first maximum wins. Items without a vote, or whose voters are all selected,
   are never picked by the greedy.

Departure from the research code: when no candidate with a vote from an unselected item is left
(tiny pools, budget close to ``n``), the research loop would pick an already selected item again;
here the remaining items are appended in visiting order, then by row number, with score 0.

Caveat: for exact duplicate vectors the research code's unstable ``argsort`` orders the tied
entries arbitrarily; this module (and the reference) break such ties by the larger row number
first, i.e. ``argsort(kind="stable")``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from fewshot.annotate._base import (
    ProgressCallback,
    Selection,
    SelectionStrategy,
    check_int,
    json_params,
)
from fewshot.annotate._graph import KnnGraph, check_graph_params, graph_from_params, reverse_edges
from fewshot.annotate._graph_exact import canonical_ip
from fewshot.annotate._knapsack import Affordable, CostBudget
from fewshot.annotate._ragged import gather_ranges
from fewshot.exceptions import InvalidInputError

__all__ = ["VoteK"]

logger = logging.getLogger(__name__)

_RESYNC_TOL = 1e-6  # re-sum every running score once their error bound grows past this


class _VoteGreedy:
    """State of the vote-k greedy over a fixed graph: ``L``, ``t(v)`` and the scores.

    Parameters
    ----------
    graph : KnnGraph
        ``graph.neighbors[v]`` is ``N(v)`` (by decreasing similarity, -1 for no edge).
    rho : int or float
        Discount base.
    X : ndarray, optional
        The unit rows the graph was built from; needed for an exact graph, to resolve float32
        near-ties that decide the first-vote order (step 4).
    """

    def __init__(self, graph: KnnGraph, rho: float, X: np.ndarray | None = None) -> None:
        self.out = graph.neighbors
        n = graph.n
        self.n = n
        self.rho = rho
        self.indptr, self.voters = reverse_edges(graph.neighbors)
        self.count = np.diff(self.indptr)
        self.t = np.zeros(n, dtype=np.int64)
        self.in_L = np.zeros(n, dtype=bool)
        self.n_unselected_voters = self.count.copy()
        self.approx = self.count.astype(np.float64)
        self.approx[self.count == 0] = -np.inf
        # Every score lies in [0, c_max]; one rounding there costs at most ulp(c_max).
        c_max = float(max(int(self.count.max(initial=0)), 1))
        self._ulp = float(np.spacing(c_max))
        self._sum_error = c_max * self._ulp  # error of a research sum of <= c_max terms
        self._drift = 0.0  # bound on |approx - exact mathematical score|
        self._table = np.zeros(0, dtype=np.float64)
        self._grow_table(8)
        self.visit_rank = self._visit_rank(graph, X)

    # -- setup ------------------------------------------------------------------------------
    def _grow_table(self, size: int) -> None:
        if size <= self._table.shape[0]:
            return
        size = max(size, 2 * self._table.shape[0])
        rho = self.rho
        # Python's own ``rho ** (-t)``: the research code's weights, bit for bit.
        self._table = np.array([float(rho ** (-t)) for t in range(size)], dtype=np.float64)

    def _visit_rank(self, graph: KnnGraph, X: np.ndarray | None) -> np.ndarray:
        """Rank of each item in the research code's ``votes`` list (-1: never voted for)."""
        n, k = graph.neighbors.shape
        voted = np.flatnonzero(self.count > 0)
        first_voter = self.voters[self.indptr[voted]].astype(np.int64)
        col = np.empty(voted.shape[0], dtype=np.int64)
        step = max(1, (1 << 22) // max(k, 1))
        for s in range(0, voted.shape[0], step):
            rows = graph.neighbors[first_voter[s : s + step]]
            col[s : s + step] = np.argmax(rows == voted[s : s + step, None], axis=1)
        if X is not None and graph.sim_error is not None:
            col = _refine_first_vote_order(X, graph, voted, first_voter, col)
        # inside N(v) votes are cast by increasing similarity: column k-1 first
        first_key = first_voter * k + (k - 1 - col)
        order = np.lexsort((first_key, -self.count[voted]))
        rank = np.full(n, -1, dtype=np.int64)
        rank[voted[order]] = np.arange(voted.shape[0])
        return rank

    # -- scores -----------------------------------------------------------------------------
    def exact_scores(self, cand: np.ndarray) -> np.ndarray:
        """The research code's floating-point score of each candidate (voters ascending)."""
        edges, lengths = gather_ranges(self.indptr, cand)
        if edges.shape[0] == 0:
            return np.zeros(cand.shape[0], dtype=np.float64)
        v = self.voters[edges]
        in_L = self.in_L[v]
        # a voter in L keeps counting its neighbours' picks, so its t may pass the weight table
        # (grown for live voters only); its weight is zero anyway
        weights = self._table[np.where(in_L, 0, self.t[v])]
        weights[in_L] = 0.0  # x + 0.0 == x: skipping and adding zero agree exactly
        local = np.repeat(np.arange(cand.shape[0]), lengths)
        return np.bincount(local, weights=weights, minlength=cand.shape[0])

    def _scatter_add(self, idx: np.ndarray, values: np.ndarray) -> None:
        if idx.shape[0] * 8 > self.n:
            self.approx += np.bincount(idx, weights=values, minlength=self.n)
        else:
            np.add.at(self.approx, idx, values)

    # -- moves ------------------------------------------------------------------------------
    def add(self, u: int) -> None:
        """Put ``u`` into ``L`` (a pick or a labeled item) and update ``t`` and the scores."""
        V = self.voters[self.indptr[u] : self.indptr[u + 1]]
        if V.shape[0]:
            live = V[~self.in_L[V]]
            if live.shape[0]:
                tv = self.t[live]
                self._grow_table(int(tv.max()) + 2)
                delta = self._table[tv + 1] - self._table[tv]
                targets = self.out[live]
                mask = targets >= 0
                self._scatter_add(targets[mask].astype(np.int64), np.repeat(delta, mask.sum(axis=1)))
                # each candidate gets at most one delta per live voter, plus the final add
                self._drift += (live.shape[0] + 3) * self._ulp
            self.t[V] += 1
        # u stops being a candidate and its own votes stop counting
        outs = self.out[u]
        outs = outs[outs >= 0].astype(np.int64)
        if outs.shape[0] and not self.in_L[u]:
            self.approx[outs] -= self._table[self.t[u]]
            self._drift += self._ulp
            self.n_unselected_voters[outs] -= 1
            dead = outs[self.n_unselected_voters[outs] == 0]
            self.approx[dead] = -np.inf
        self.in_L[u] = True
        self.approx[u] = -np.inf

    def best(self) -> tuple[int, float] | None:
        """The research code's next pick and its score; None when no candidate is left."""
        if self._drift > _RESYNC_TOL:
            self._resync()
        m = float(self.approx.max())
        if m == -np.inf:
            return None
        # research(w) <= approx(w) + drift + sum_error and research(w*) >= m - drift - sum_error
        # for the argmax w* of approx, so nothing below m - tol can win.
        tol = 2.0 * (self._drift + self._sum_error) + 4.0 * float(np.spacing(abs(m)))
        cand = np.flatnonzero(self.approx >= m - tol)
        exact = self.exact_scores(cand)
        top = exact.max()
        tied = cand[exact == top]
        u = int(tied[np.argmin(self.visit_rank[tied])])
        return u, float(top)

    def _resync(self) -> None:
        """Replace the running scores by exact sums (resets the drift bound)."""
        live = np.flatnonzero(self.approx > -np.inf)
        for s in range(0, live.shape[0], 65_536):
            part = live[s : s + 65_536]
            self.approx[part] = self.exact_scores(part)
        self._drift = 0.0

    def remaining_in_visit_order(self) -> np.ndarray:
        """Unselected items: voted ones in visiting order, then the others by row number."""
        free = np.flatnonzero(~self.in_L)
        rank = self.visit_rank[free]
        voted = free[rank >= 0]
        voted = voted[np.argsort(rank[rank >= 0], kind="stable")]
        return np.concatenate([voted, free[rank < 0]])

    def run(
        self, budget: int, progress: ProgressCallback | None = None, total: int | None = None, done: int = 0
    ) -> tuple[list[int], list[float]]:
        picks: list[int] = []
        scores: list[float] = []
        total = budget if total is None else total
        for i in range(budget):
            nxt = self.best()
            if nxt is None:
                rest = self.remaining_in_visit_order()[: budget - i]
                logger.info(
                    "vote-k: no candidate with an unselected voter after %d picks; "
                    "%d item(s) appended in visiting order with score 0",
                    i,
                    len(rest),
                )
                for u in rest.tolist():
                    self.add(u)
                    picks.append(u)
                    scores.append(0.0)
                break
            u, score = nxt
            self.add(u)
            picks.append(u)
            scores.append(score)
            if progress is not None:
                progress(done + i + 1, total)
        if progress is not None:
            progress(done + len(picks), total)
        return picks, scores

    # -- under a cost budget ------------------------------------------------------------------
    def best_per_cost(self, costs: np.ndarray) -> tuple[int, float] | None:
        """The candidate of largest ``score / cost`` and its score; None when none is left.

        ``costs`` are normalised (the cheapest candidate costs 1.0), so a score's error bound is
        also a bound on its ratio's: the candidates within ``tol`` of the best approximate ratio
        are re-summed exactly, as in `best`, and ties go to the visiting order. With every cost
        1.0 the ratios are the scores bit for bit and this is `best`.
        """
        if self._drift > _RESYNC_TOL:
            self._resync()
        ratio = self.approx / costs
        m = float(ratio.max())
        if m == -np.inf:
            return None
        tol = 2.0 * (self._drift + self._sum_error) + 4.0 * float(np.spacing(abs(m)))
        cand = np.flatnonzero(ratio >= m - tol)
        exact = self.exact_scores(cand)
        per_cost = exact / costs[cand]
        top = per_cost.max()
        tied = np.flatnonzero(per_cost == top)
        j = int(tied[np.argmin(self.visit_rank[cand[tied]])])
        return int(cand[j]), float(exact[j])

    def run_cost(self, cb: CostBudget, progress: ProgressCallback | None = None) -> tuple[list[int], list[float]]:
        """The cost-benefit greedy: the affordable candidate of largest score per unit cost,
        until no item fits. Items that no longer fit leave the candidates for good (the room
        only shrinks). When no candidate with an unselected voter is left, the remaining items
        are taken in visiting order, each if it fits (as `run` appends them)."""
        aff = Affordable(cb)
        costs = cb.costs
        total = cb.max_items()
        picks: list[int] = []
        scores: list[float] = []
        while True:
            self.approx[aff.newly_unaffordable()] = -np.inf
            nxt = self.best_per_cost(costs)
            if nxt is None:
                for u in self.remaining_in_visit_order().tolist():
                    if aff.fits(u):
                        self.add(u)
                        aff.pay(u)
                        picks.append(u)
                        scores.append(0.0)
                break
            u, score = nxt
            self.add(u)
            aff.pay(u)
            picks.append(u)
            scores.append(score)
            if progress is not None:
                progress(len(picks), max(total, len(picks)))
        if progress is not None:
            progress(len(picks), len(picks))
        return picks, scores


def _refine_first_vote_order(X, graph: KnnGraph, voted, first_voter, col) -> np.ndarray:
    """Fix the order, inside each row, of the items that get their first vote from that row
    wherever float32 similarities are too close to be trusted (float64 re-ranking)."""
    assert graph.sim_error is not None
    tol = 2.0 * float(graph.sim_error)
    order = np.lexsort((col, first_voter))
    fv, c = first_voter[order], col[order]
    s = graph.similarities[fv, c].astype(np.float64)
    close = (fv[1:] == fv[:-1]) & (np.abs(s[:-1] - s[1:]) <= tol)
    if not close.any():
        return col
    col = col.copy()
    # runs of consecutive close pairs
    starts = np.flatnonzero(close & ~np.concatenate([[False], close[:-1]]))
    for a in starts.tolist():
        b = a + 1
        while b < close.shape[0] and close[b]:
            b += 1
        pos = order[a : b + 1]
        items = voted[pos].astype(np.int64)
        v = int(fv[a])
        exact = canonical_ip(X, np.full(items.shape[0], v), items)
        cols = np.sort(col[pos])
        new = np.lexsort((-items, -exact))  # decreasing similarity, then larger row first
        col[pos[new]] = cols
    return col


class VoteK(SelectionStrategy):
    """One-stage vote-k: graph-based, unsupervised, deterministic.

    Parameters
    ----------
    k : int, default 150
        Neighbours per item (votes cast by each item).
    rho : float, default 10
        Discount: a voter that already supports ``t`` selected items adds ``rho ** -t``.
    exact : bool, optional
        Graph search (see :func:`build_knn_graph`): exact up to 200,000 items by default.
        Only the exact graph gives the research code's selection.
    n_threads : int, optional
        FAISS threads.
    device : str, optional
        Where the exact graph search runs: ``"cpu"`` (FAISS), ``"cuda"`` (torch); default: a
        CUDA GPU when torch sees one and the pool is large (see :func:`build_knn_graph`).
    center : bool, default True
        Subtract the pool mean before cosine similarity.
    approx : {"ivf", "hnsw"}, optional
        The approximate graph search, used when the graph is not exact (``exact=False``, or
        above the exact threshold); default IVF (see :func:`build_knn_graph`).
    nlist, nprobe : int, optional
        IVF lists and lists scanned per item (defaults: planned from the pool size and ``k``);
        raise ``nprobe`` for better recall.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 8))
    >>> VoteK(k=5).select(X, 3).indices.shape
    (3,)
    """

    name = "votek"
    #: Scores are the marginal gains the greedy saw (partitioned selection merges by them).
    scores_are_gains = True

    def __init__(
        self,
        *,
        k: int = 150,
        rho: float = 10,
        exact: bool | None = None,
        n_threads: int | None = None,
        center: bool = True,
        device: str | None = None,
        approx: str | None = None,
        nlist: int | None = None,
        nprobe: int | None = None,
    ) -> None:
        super().__init__(center=center)
        self.k = k
        self.rho = rho
        self.exact = exact
        self.n_threads = n_threads
        self.device = device
        self.approx = approx
        self.nlist = nlist
        self.nprobe = nprobe

    def _check_params(self, n: int) -> dict[str, Any]:
        params = super()._check_params(n)
        params["k"] = check_int(self.k, "k", low=1)
        params["rho"] = _check_rho(self.rho)
        params.update(check_graph_params(self))
        return params

    def _graph(self, Z: np.ndarray, params: dict[str, Any], progress: ProgressCallback | None) -> KnnGraph:
        graph = graph_from_params(Z, params["k"], params, progress)
        params["k_used"] = graph.k
        params["exact_graph"] = graph.exact
        return graph

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        graph = self._graph(Z, params, progress)
        greedy = _VoteGreedy(graph, params["rho"], Z)
        for u in labeled.tolist():
            greedy.add(u)
        picks, scores = greedy.run(budget, progress)
        return Selection(
            np.asarray(picks, dtype=np.int64), np.asarray(scores, dtype=np.float64), self.name, json_params(params)
        )

    def _select_cost(self, Z, cb, labeled, seed, progress, params) -> Selection:
        """The cost-benefit rule over vote-k's discounted scores: the affordable item of largest
        score per unit cost, until no item fits (SPEC section 7). Scores are the vote-k scores."""
        graph = self._graph(Z, params, progress)
        greedy = _VoteGreedy(graph, params["rho"], Z)
        for u in labeled.tolist():
            greedy.add(u)
        picks, scores = greedy.run_cost(cb, progress)
        params["cost_rule"] = "cost-benefit"
        return Selection(
            np.asarray(picks, dtype=np.int64), np.asarray(scores, dtype=np.float64), self.name, json_params(params)
        )


def _check_rho(rho: Any) -> float | int:
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"rho must be a number > 1; got {rho!r}")
    if not rho > 1 or not np.isfinite(rho):
        raise InvalidInputError(f"rho must be a finite number > 1; got {rho!r}")
    return int(rho) if float(rho).is_integer() else float(rho)
