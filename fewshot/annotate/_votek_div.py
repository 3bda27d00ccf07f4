"""``votek-div``: vote-k with a diversity constraint (opt-in variant of ``votek``).

vote-k's greedy (`fewshot.annotate._votek`, SPEC section 2) discounts the votes of items that
already support a selected item, but two near-duplicates with many voters can still both be
picked. The evaluation (issue #15) shows vote-k's gain over random vanishing at B=100 and turning
into a loss with some models; coverage-style objectives did best. This variant adds a hard
facility-location-style rule to the same greedy:

    a candidate whose cosine to an already selected item (a pick or a ``labeled`` row) is
    greater than ``tau`` is skipped.

Among the candidates that are not skipped, the pick is exactly vote-k's (same scores, same tie
order). ``tau`` defaults to the median, over the pool, of each item's cosine to its 10th nearest
neighbour (the rule of `budget_curve`'s default coverage threshold): a pick then blocks roughly
its own 10-neighbourhood. ``tau >= 1`` disables the rule and gives exactly ``votek``'s selection.

When every remaining candidate is blocked (small pools, large budgets), the rule is dropped for
the rest of the selection (``params["relaxed_at"]`` records after how many picks) and the plain
vote-k greedy continues; when vote-k itself runs out of candidates, the remaining items are
appended in visiting order with score 0, as in ``votek``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fewshot.annotate._base import Selection, check_float, json_params
from fewshot.annotate._graph import KnnGraph, build_knn_graph
from fewshot.annotate._votek import VoteK, _VoteGreedy

__all__ = ["VoteKDiv", "median_tenth_neighbor_cosine"]


def median_tenth_neighbor_cosine(
    Z: np.ndarray, graph: KnnGraph | None = None, *, n_threads: int | None = None
) -> float:
    """The median over rows of the cosine to the 10th nearest neighbour (0 without neighbours).

    ``graph`` (by decreasing similarity) is used when it has at least 10 columns; otherwise a
    k=10 graph of ``Z`` (unit rows, float32, shape (n, dim)) is built.
    """
    if graph is None or graph.k < 10:
        graph = build_knn_graph(Z, 10, n_threads=n_threads)
    col = min(9, graph.k - 1)
    if col < 0:
        return 0.0
    tenth = graph.similarities[:, col][graph.neighbors[:, col] >= 0]
    return float(np.median(tenth)) if tenth.size else 0.0


class _Blocker:
    """Rows within cosine ``tau`` of a selected row (``blocked``); inactive when ``tau >= 1``."""

    def __init__(self, Z: np.ndarray, tau: float) -> None:
        self.Z = Z
        self.tau = np.float32(tau)
        self.active = tau < 1.0
        self.blocked = np.zeros(Z.shape[0], dtype=bool)

    def block_near(self, u: int) -> None:
        if self.active:
            self.blocked |= (self.Z @ self.Z[u]) > self.tau


class VoteKDiv(VoteK):
    """vote-k whose greedy skips candidates within cosine ``tau`` of a selected item.

    Parameters
    ----------
    tau : float, optional
        Cosine above which a candidate is too close to a selected item, in ``[-1, 1]``
        (default: the pool's median 10th-neighbour cosine; ``1`` switches the rule off).
    k, rho, exact, n_threads, center, device
        As for :class:`VoteK`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 8))
    >>> VoteKDiv(k=5).select(X, 3).indices.shape
    (3,)
    """

    name = "votek-div"

    def __init__(
        self,
        *,
        tau: float | None = None,
        k: int = 150,
        rho: float = 10,
        exact: bool | None = None,
        n_threads: int | None = None,
        center: bool = True,
        device: str | None = None,
    ) -> None:
        super().__init__(k=k, rho=rho, exact=exact, n_threads=n_threads, center=center, device=device)
        self.tau = tau

    def _check_params(self, n: int) -> dict[str, Any]:
        params = super()._check_params(n)
        params["tau"] = None if self.tau is None else check_float(self.tau, "tau", low=-1.0, high=1.0)
        return params

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        graph = self._graph(Z, params, progress)
        tau = params["tau"]
        if tau is None:
            tau = median_tenth_neighbor_cosine(Z, graph, n_threads=params["n_threads"])
        params["tau_used"] = float(tau)
        greedy = _VoteGreedy(graph, params["rho"], Z)
        blocker = _Blocker(Z, tau)
        for u in labeled.tolist():
            greedy.add(u)
            blocker.block_near(u)
        picks: list[int] = []
        scores: list[float] = []
        relaxed_at: int | None = None
        while len(picks) < budget:
            if blocker.active:
                greedy.approx[blocker.blocked] = -np.inf
            nxt = greedy.best()
            if nxt is None and blocker.active:
                relaxed_at = len(picks)
                blocker.active = False
                _unblock(greedy, blocker.blocked)
                nxt = greedy.best()
            if nxt is None:
                rest = greedy.remaining_in_visit_order()[: budget - len(picks)]
                for u in rest.tolist():
                    greedy.add(u)
                    picks.append(u)
                    scores.append(0.0)
                break
            u, score = nxt
            greedy.add(u)
            blocker.block_near(u)
            picks.append(u)
            scores.append(score)
            if progress is not None:
                progress(len(picks), budget)
        if progress is not None:
            progress(len(picks), budget)
        params["relaxed_at"] = relaxed_at
        params["n_blocked"] = int(blocker.blocked.sum())
        return Selection(
            np.asarray(picks, dtype=np.int64), np.asarray(scores, dtype=np.float64), self.name, json_params(params)
        )


def _unblock(greedy: _VoteGreedy, blocked: np.ndarray) -> None:
    """Give the blocked candidates that vote-k could still pick their exact scores back."""
    back = np.flatnonzero(blocked & ~greedy.in_L & (greedy.n_unselected_voters > 0))
    if back.shape[0]:
        greedy.approx[back] = greedy.exact_scores(back)
