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
