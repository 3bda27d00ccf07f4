"""Random selection: the baseline every method is measured against."""

from __future__ import annotations

import numpy as np

from fewshot.annotate._base import Selection, SelectionStrategy, json_params

__all__ = ["RandomSelection"]


class RandomSelection(SelectionStrategy):
    """Uniformly random items, without replacement, never from ``labeled``.

    The order is that of ``np.random.default_rng(seed).permutation`` of the unlabeled rows;
    scores are 0.

    Examples
    --------
    >>> import numpy as np
    >>> sel = RandomSelection().select(np.eye(5), 2, labeled=[0], seed=3)
    >>> sorted(set(sel.indices.tolist()) & {0})
    []
    """

    name = "random"

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        n = Z.shape[0]
        free = np.ones(n, dtype=bool)
        free[labeled] = False
        candidates = np.flatnonzero(free)
        rng = np.random.default_rng(seed)
        picks = candidates[rng.permutation(candidates.shape[0])[:budget]].astype(np.int64)
        if progress is not None:
            progress(budget, budget)
        return Selection(picks, np.zeros(budget, dtype=np.float64), self.name, json_params(params))

    def _select_cost(self, Z, cb, labeled, seed, progress, params) -> Selection:
        """The same permutation, taking each row that still fits, until none does (equal costs:
        its first ``floor(budget_cost / c)`` rows, the count-based selection)."""
        free = cb.free
        candidates = np.flatnonzero(free)
        rng = np.random.default_rng(seed)
        order = candidates[rng.permutation(candidates.shape[0])]
        costs = cb.costs[order]
        cheapest = float(costs.min())
        picks: list[int] = []
        spent = 0.0
        for u, c in zip(order.tolist(), costs.tolist()):
            if spent + c <= cb.limit:
                picks.append(u)
                spent += c
                if spent + cheapest > cb.limit:
                    break
        if progress is not None:
            progress(len(picks), len(picks))
        out = np.asarray(picks, dtype=np.int64)
        return Selection(out, np.zeros(out.shape[0], dtype=np.float64), self.name, json_params(params))
