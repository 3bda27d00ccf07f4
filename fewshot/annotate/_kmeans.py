"""Diversity baseline: k-means with ``budget`` centroids, one item per centroid."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fewshot.annotate._base import (
    Selection,
    SelectionStrategy,
    check_int,
    check_optional_int,
    json_params,
)
from fewshot.annotate._graph import faiss_threads

__all__ = ["KMeansSelection", "spherical_kmeans"]


class KMeansSelection(SelectionStrategy):
    """Spherical k-means (FAISS) with ``budget`` centroids; for each centroid, the nearest item
    that is neither labeled nor already taken.

    Centroids are visited by decreasing cluster size (ties by centroid number) and each takes
    the most similar free item, so the order runs from the densest region to the sparsest;
    the score of a pick is the size of its cluster. Labeled items take part in the clustering
    but are never picked.

    Parameters
    ----------
    n_iter : int, default 25
        Lloyd iterations.
    n_init : int, default 4
        Random restarts; the clustering with the best objective is kept.
    max_points_per_centroid : int, default 256
        FAISS subsamples the pool to this many points per centroid for training.
    n_threads : int, optional
    center : bool, default True
    """

    name = "kmeans"

    def __init__(
        self,
        *,
        n_iter: int = 25,
        n_init: int = 4,
        max_points_per_centroid: int = 256,
        n_threads: int | None = None,
        center: bool = True,
    ) -> None:
        super().__init__(center=center)
        self.n_iter = n_iter
        self.n_init = n_init
        self.max_points_per_centroid = max_points_per_centroid
        self.n_threads = n_threads

    def _check_params(self, n: int) -> dict[str, Any]:
        params = super()._check_params(n)
        params["n_iter"] = check_int(self.n_iter, "n_iter", low=1)
        params["n_init"] = check_int(self.n_init, "n_init", low=1)
        params["max_points_per_centroid"] = check_int(self.max_points_per_centroid, "max_points_per_centroid", low=1)
        params["n_threads"] = check_optional_int(self.n_threads, "n_threads")
        return params

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        n = Z.shape[0]
        with faiss_threads(params["n_threads"]):
            centroids, sizes, order, index = _clusters(Z, budget, seed, params)
            taken = np.zeros(n, dtype=bool)
            taken[labeled] = True
            picks = np.empty(budget, dtype=np.int64)
            depth = min(n, 16)
            _, near = index.search(centroids[order], depth)
            for i, c in enumerate(order.tolist()):
                row = near[i]
                free = row[(row >= 0) & ~taken[np.maximum(row, 0)]]
                while free.shape[0] == 0:  # all nearby items taken: look further
                    depth = min(n, depth * 4)
                    _, row2 = index.search(centroids[c : c + 1], depth)
                    row = row2[0]
                    free = row[(row >= 0) & ~taken[np.maximum(row, 0)]]
                picks[i] = free[0]
                taken[free[0]] = True
                if progress is not None:
                    progress(i + 1, budget)
        return Selection(picks, sizes[order].astype(np.float64), self.name, json_params(params))

    def _select_cost(self, Z, cb, labeled, seed, progress, params) -> Selection:
        """k-means with as many centroids as the budget buys at the mean cost of the free items;
        centroids are visited as in `_select`, and each takes, among its nearest free items
        that still fit, the one of largest ``(1 + cosine) / cost`` (ties: the nearer, then
        FAISS's order). Budget left after one pass over the centroids buys further passes,
        until no item fits. With equal costs: the count-based selection."""
        n = Z.shape[0]
        free_costs = cb.costs[cb.free]
        n_clusters = int(min(free_costs.shape[0], max(1, math.floor(cb.limit / float(free_costs.mean())))))
        params["n_clusters"] = n_clusters
        costs = cb.costs
        with faiss_threads(params["n_threads"]):
            centroids, sizes, order, index = _clusters(Z, n_clusters, seed, params)
            taken = ~cb.free.copy()
            spent = 0.0
            cheapest = float(free_costs.min())
            picks: list[int] = []
            scores: list[float] = []
            depth = min(n, 16)
            sims, near = index.search(centroids[order], depth)
            while spent + cheapest <= cb.limit:
                before = len(picks)
                for i, c in enumerate(order.tolist()):
                    room = cb.limit - spent
                    sim, row = sims[i], near[i]
                    ok = (row >= 0) & ~taken[np.maximum(row, 0)] & (costs[np.maximum(row, 0)] <= room)
                    look = depth
                    while not ok.any() and look < n:  # nothing near fits: look further
                        look = min(n, look * 4)
                        s2, r2 = index.search(centroids[c : c + 1], look)
                        sim, row = s2[0], r2[0]
                        ok = (row >= 0) & ~taken[np.maximum(row, 0)] & (costs[np.maximum(row, 0)] <= room)
                    if not ok.any():
                        continue
                    pos = np.flatnonzero(ok)
                    s64 = sim[pos].astype(np.float64)
                    ratio = (1.0 + s64) / costs[row[pos]]
                    best = int(pos[np.lexsort((pos, -s64, -ratio))[0]])
                    u = int(row[best])
                    picks.append(u)
                    scores.append(float(sizes[c]))
                    taken[u] = True
                    spent += float(costs[u])
                    if progress is not None:
                        progress(len(picks), max(n_clusters, len(picks)))
                    if spent + cheapest > cb.limit:
                        break
                if len(picks) == before:
                    break
        return Selection(
            np.asarray(picks, dtype=np.int64), np.asarray(scores, dtype=np.float64), self.name, json_params(params)
        )


def _clusters(
    Z: np.ndarray, n_clusters: int, seed: int, params: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Spherical k-means of ``Z`` into ``n_clusters``: ``(centroids, sizes, order, index)`` with
    ``order`` the clusters by decreasing size (stable) and ``index`` an exact inner-product index
    of ``Z`` (for the items nearest each centroid). Call inside `faiss_threads`."""
    import faiss

    centroids, assign = spherical_kmeans(
        Z,
        n_clusters,
        seed,
        n_iter=params["n_iter"],
        n_init=params["n_init"],
        max_points_per_centroid=params["max_points_per_centroid"],
    )
    sizes = np.bincount(assign, minlength=n_clusters)
    order = np.argsort(-sizes, kind="stable")
    index = faiss.IndexFlatIP(Z.shape[1])
    index.add(Z)
    return centroids, sizes, order, index


def spherical_kmeans(
    Z: np.ndarray, n_clusters: int, seed: int, *, n_iter: int, n_init: int, max_points_per_centroid: int
) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (FAISS) of the unit rows ``Z`` (float32, shape (n, dim)).

    Returns ``(centroids, assign)``: float32 centroids of shape (n_clusters, dim) and, for each
    row, the number of its nearest centroid (int64, shape (n,)). Deterministic given ``seed``.
    Call inside `faiss_threads`.
    """
    import faiss

    km = faiss.Kmeans(
        Z.shape[1],
        n_clusters,
        niter=n_iter,
        seed=seed,
        spherical=True,
        nredo=n_init,
        verbose=False,
        min_points_per_centroid=1,
        max_points_per_centroid=max_points_per_centroid,
    )
    km.train(Z)
    centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
    _, assign = km.index.search(Z, 1)
    return centroids, assign[:, 0].astype(np.int64)
