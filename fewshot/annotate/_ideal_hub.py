"""``ideal-hub``: IDEAL on a kNN graph whose edge weights discount hubs (opt-in variant).

IDEAL (`fewshot.annotate._ideal`) maximises influence under an independent cascade on the
directed k=10 graph with ``p(v, u)`` proportional to ``cos(v, u)``. In a kNN graph of sentence
embeddings a few *hubs* sit in many neighbour lists (high in-degree); cascades funnel through
them, so influence rewards dense regions rather than coverage, and the chosen sets are the most
label-skewed of all methods in the evaluation (issue #15).

This variant divides each edge's weight by its target's in-degree to the power ``alpha``::

    w(v, u) = max(cos(v, u), min_similarity) / indeg(u) ** alpha
    p(v, u) = w(v, u) / sum(w(v, x) for x in N(v))        (renormalised per source node)

where ``indeg(u)`` is the number of nodes with ``u`` in their neighbour list (at least 1 for any
edge target). With ``alpha = 1`` the expected number of activation attempts that reach a node,
``sum_v p(v, u)``, no longer grows with its popularity. Everything else (IMM's RR-set count,
the exact-gain greedy, ``labeled`` as seeds, the cost-budget path) is IDEAL's own code;
``alpha = 0`` gives exactly ``ideal``'s selection for the same parameters and seed.

``Selection.influence`` is ``None`` by default (``n_mc = 0``): the cascade differs from IDEAL's,
so its influence is not IDEAL's objective; pass ``n_mc > 0`` to estimate it on this graph.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fewshot.annotate._base import check_float
from fewshot.annotate._diffusion import CascadeModel, cascade_model
from fewshot.annotate._graph import KnnGraph
from fewshot.annotate._ideal import Ideal

__all__ = ["IdealHub", "hub_discounted"]


def hub_discounted(graph: KnnGraph, alpha: float, *, min_similarity: float = 1e-6) -> KnnGraph:
    """``graph`` with each edge ``v -> u`` weighted ``max(cos, min_similarity) / indeg(u) ** alpha``.

    Parameters
    ----------
    graph : KnnGraph
        Directed kNN graph, ``-1`` for no edge.
    alpha : float
        Hub discount exponent (0: the clipped cosines unchanged).
    min_similarity : float
        Floor of the cosines, as in `cascade_model`.

    Returns
    -------
    KnnGraph
        Same neighbours; ``similarities`` (float64, shape (n, k)) are the discounted weights,
        0 where there is no edge. `cascade_model` then normalises them per source node.
    """
    nbrs = graph.neighbors
    valid = nbrs >= 0
    indeg = np.bincount(nbrs[valid].astype(np.int64), minlength=graph.n).astype(np.float64)
    w = np.maximum(graph.similarities.astype(np.float64), min_similarity)
    if alpha != 0.0:
        w = w / indeg[np.where(valid, nbrs, 0)] ** alpha
    return replace(graph, similarities=np.where(valid, w, 0.0))


class IdealHub(Ideal):
    """IDEAL with hub-discounted edge probabilities (see the module docstring for the rule).

    Parameters
    ----------
    alpha : float, default 1.0
        Exponent of the in-degree discount, ``>= 0``; 0 is plain IDEAL.
    n_mc : int, default 0
        Monte-Carlo runs for ``Selection.influence`` on the discounted graph (0: ``None``).
    k, epsilon, n_rr_sets, max_rr_sets, min_similarity, exact, exact_threshold, n_threads,
    center, device
        As for :class:`Ideal`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> IdealHub(n_rr_sets=2000).select(X, 5, seed=1).indices.shape
    (5,)
    """

    name = "ideal-hub"

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        k: int = 10,
        epsilon: float = 0.2,
        n_rr_sets: int | None = None,
        max_rr_sets: int = 2_000_000,
        n_mc: int = 0,
        min_similarity: float = 1e-6,
        exact: bool | None = None,
        exact_threshold: int = 50_000,
        n_threads: int | None = None,
        center: bool = True,
        device: str | None = None,
    ) -> None:
        super().__init__(
            k=k,
            epsilon=epsilon,
            n_rr_sets=n_rr_sets,
            max_rr_sets=max_rr_sets,
            n_mc=n_mc,
            min_similarity=min_similarity,
            exact=exact,
            exact_threshold=exact_threshold,
            n_threads=n_threads,
            center=center,
            device=device,
        )
        self.alpha = alpha

    def _check_params(self, n: int) -> dict[str, Any]:
        params = super()._check_params(n)
        params["alpha"] = check_float(self.alpha, "alpha", low=0.0, high=8.0)
        return params

    def _cascade(self, graph: KnnGraph, params: dict[str, Any]) -> CascadeModel:
        weighted = hub_discounted(graph, params["alpha"], min_similarity=params["min_similarity"])
        indeg = np.bincount(graph.neighbors[graph.neighbors >= 0].astype(np.int64), minlength=graph.n)
        params["indegree_max"] = int(indeg.max(initial=0))
        return cascade_model(weighted, min_similarity=params["min_similarity"])
