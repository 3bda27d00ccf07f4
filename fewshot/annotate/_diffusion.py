"""Independent-cascade diffusion on a kNN graph: the simulation core of IDEAL.

The model (SPEC section 3): edge ``v -> u`` for ``u`` in ``N(v)`` with probability
``p(v, u) = c(v, u) / sum(c(v, w) for w in N(v))`` where ``c = max(cosine, min_similarity)``:
cosines below ``min_similarity`` (rare among the 10 nearest neighbours of centred embeddings)
are clipped to it, so every probability is valid and each node's out-probabilities sum to 1.
A newly active node gets one chance to activate each out-neighbour; every node counts once.

Two estimators, both vectorised over many cascades at once with a per-batch bitmap:

* :func:`simulate_spread`: forward Monte-Carlo cascades from a seed set (the influence).
* :func:`sample_rr_sets`: reverse-reachable sets (Borgs et al. 2014; Tang et al. 2014/2015):
  pick a random node, walk the in-edges backwards flipping each edge's coin. The share of RR
  sets a seed set meets, times ``n``, is an unbiased estimate of its influence, for every
  candidate set at once, which makes greedy selection a max-coverage problem
  (:func:`greedy_max_coverage`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fewshot.annotate._base import ProgressCallback
from fewshot.annotate._graph import KnnGraph, reverse_edges
from fewshot.annotate._ragged import gather_ranges

__all__ = [
    "CascadeModel",
    "RRSets",
    "cascade_model",
    "simulate_spread",
    "sample_rr_sets",
    "greedy_max_coverage",
]

_MAX_CELLS = 1 << 25  # bitmap cells (runs x nodes) per batch: 32 MiB


@dataclass(frozen=True)
class CascadeModel:
    """Independent-cascade model on a directed graph with fixed out-degree.

    Attributes
    ----------
    out_neighbors : ndarray of int64, shape (n, k); -1 for no edge
    out_probs : ndarray of float64, shape (n, k); 0 for no edge
    in_indptr : ndarray of int64, shape (n + 1,)
    in_sources : ndarray of int64, shape (n_edges,)
        ``in_sources[in_indptr[u]:in_indptr[u + 1]]``: the nodes with an edge into ``u``.
    in_probs : ndarray of float64, shape (n_edges,)
    """

    out_neighbors: np.ndarray
    out_probs: np.ndarray
    in_indptr: np.ndarray
    in_sources: np.ndarray
    in_probs: np.ndarray

    @property
    def n(self) -> int:
        return int(self.out_neighbors.shape[0])


@dataclass(frozen=True)
class RRSets:
    """Reverse-reachable sets in CSR form, plus the node -> sets incidence.

    ``nodes[indptr[j]:indptr[j + 1]]`` are the members of set ``j`` (increasing);
    ``node_sets[node_indptr[v]:node_indptr[v + 1]]`` are the sets that contain ``v``.
    """

    indptr: np.ndarray
    nodes: np.ndarray
    node_indptr: np.ndarray
    node_sets: np.ndarray

    @property
    def count(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def total_size(self) -> int:
        return int(self.nodes.shape[0])


def cascade_model(graph: KnnGraph, *, min_similarity: float = 1e-6) -> CascadeModel:
    """Edge probabilities from a kNN graph (cosines normalised per source node)."""
    nbrs = graph.neighbors.astype(np.int64)
    valid = nbrs >= 0
    c = np.where(valid, np.maximum(graph.similarities.astype(np.float64), min_similarity), 0.0)
    total = c.sum(axis=1, keepdims=True)
    total[total == 0.0] = 1.0
    probs = c / total
    in_indptr, in_sources, edge_ids = reverse_edges(nbrs, with_edge_ids=True)
    return CascadeModel(nbrs, probs, in_indptr, in_sources.astype(np.int64), probs.reshape(-1)[edge_ids])


def simulate_spread(model: CascadeModel, seeds: np.ndarray, runs: int, rng: np.random.Generator) -> np.ndarray:
    """Number of active nodes at the end of each of ``runs`` independent cascades.

    Parameters
    ----------
    seeds : ndarray of int
        Initially active nodes (duplicates ignored).
    runs : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int64, shape (runs,)
    """
    n = model.n
    seeds = np.unique(np.asarray(seeds, dtype=np.int64))
    out = np.zeros(runs, dtype=np.int64)
    if seeds.shape[0] == 0 or runs == 0:
        return out
    batch = max(1, min(runs, _MAX_CELLS // n))
    active = np.zeros(batch * n, dtype=bool)
    for start in range(0, runs, batch):
        b = min(batch, runs - start)
        frontier = (np.arange(b, dtype=np.int64)[:, None] * n + seeds[None, :]).reshape(-1)
        active[frontier] = True
        touched = [frontier]
        while frontier.shape[0]:
            run, v = np.divmod(frontier, n)
            targets = model.out_neighbors[v]
            hit = rng.random(targets.shape) < model.out_probs[v]
            new = (run[:, None] * n + targets)[hit]
            new = new[~active[new]]
            if new.shape[0] > 1:
                new = np.unique(new)
            active[new] = True
            touched.append(new)
            frontier = new
        keys = np.concatenate(touched)
        out[start : start + b] = np.bincount(keys // n, minlength=b)
        active[keys] = False
    return out


def sample_rr_sets(
    model: CascadeModel,
    count: int,
    rng: np.random.Generator,
    *,
    extend: RRSets | None = None,
    progress: ProgressCallback | None = None,
) -> RRSets:
    """Sample ``count`` reverse-reachable sets (roots uniform over the nodes), appended to
    ``extend`` when given."""
    n = model.n
    batch = max(1, min(count, _MAX_CELLS // n))
    visited = np.zeros(batch * n, dtype=bool)
    sizes = [] if extend is None else [np.diff(extend.indptr)]
    members = [] if extend is None else [extend.nodes]
    for start in range(0, count, batch):
        b = min(batch, count - start)
        roots = rng.integers(0, n, size=b)
        frontier = np.arange(b, dtype=np.int64) * n + roots
        visited[frontier] = True
        touched = [frontier]
        while frontier.shape[0]:
            rr, u = np.divmod(frontier, n)
            edges, lengths = gather_ranges(model.in_indptr, u)
            live = rng.random(edges.shape[0]) < model.in_probs[edges]
            new = np.repeat(rr, lengths)[live] * n + model.in_sources[edges[live]]
            new = new[~visited[new]]
            if new.shape[0] > 1:
                new = np.unique(new)
            visited[new] = True
            touched.append(new)
            frontier = new
        keys = np.concatenate(touched)
        visited[keys] = False
        keys.sort()  # groups by set, members increasing
        set_id, node = np.divmod(keys, n)
        sizes.append(np.bincount(set_id, minlength=b))
        members.append(node)
        if progress is not None:
            progress(start + b, count)
    return _rr_from_parts(n, np.concatenate(sizes), np.concatenate(members))


def _rr_from_parts(n: int, sizes: np.ndarray, nodes: np.ndarray) -> RRSets:
    import scipy.sparse as sp

    count = sizes.shape[0]
    indptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    idx_dtype = np.int32 if max(n, count, nodes.shape[0]) < 2**31 else np.int64
    nodes = nodes.astype(idx_dtype)
    mat = sp.csr_matrix(
        (np.ones(nodes.shape[0], dtype=np.int8), nodes, indptr.astype(idx_dtype)), shape=(count, n), copy=False
    )
    csc = mat.tocsc(copy=False)
    return RRSets(indptr, nodes, csc.indptr.astype(np.int64), csc.indices)


class _Coverage:
    """Which RR sets the chosen rows cover, and each row's exact gain (sets it would newly
    cover): ``cover(u)`` adds row ``u`` and returns how many sets it newly covered."""

    def __init__(self, rr: RRSets, n: int) -> None:
        self.rr, self.n = rr, n
        self.gain = np.diff(rr.node_indptr).astype(np.int64)
        self.covered = np.zeros(rr.count, dtype=bool)

    def cover(self, u: int) -> int:
        rr, covered, gain, n = self.rr, self.covered, self.gain, self.n
        sets = rr.node_sets[rr.node_indptr[u] : rr.node_indptr[u + 1]]
        new = sets[~covered[sets]]
        if new.shape[0] == 0:
            return 0
        covered[new] = True
        pos, _ = gather_ranges(rr.indptr, new.astype(np.int64))
        m = rr.nodes[pos]
        if m.shape[0] * 8 > n:
            gain[:] -= np.bincount(m, minlength=n)
        else:
            np.subtract.at(gain, m, 1)
        return int(new.shape[0])


def greedy_max_coverage(rr: RRSets, n: int, budget: int, labeled: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Greedy max coverage of RR sets, starting from the sets ``labeled`` already covers.

    Marginal gains of every node are kept exact: covering a set subtracts 1 from the gain of
    each of its members (no stale bounds, so no lazy re-evaluation is needed). Ties go to the
    smallest row number.

    Returns
    -------
    picks : ndarray of int64, shape (budget,)
    gains : ndarray of int64, shape (budget,)
        Newly covered sets for each pick.
    covered : int
        Sets covered by ``labeled`` and the picks together.
    """
    cov = _Coverage(rr, n)
    gain, cover = cov.gain, cov.cover
    n_covered = 0

    for u in labeled.tolist():
        n_covered += cover(u)
        gain[u] = -1
    gain[labeled] = -1
    picks = np.empty(budget, dtype=np.int64)
    gains = np.empty(budget, dtype=np.int64)
    for i in range(budget):
        u = int(np.argmax(gain))
        gains[i] = gain[u]
        picks[i] = u
        n_covered += cover(u)
        gain[u] = -1
    return picks, gains, n_covered


def knapsack_max_coverage(
    rr: RRSets, n: int, costs: np.ndarray, limit: float, labeled: np.ndarray, *, rule: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """`greedy_max_coverage` under a knapsack constraint: repeatedly the row that still fits
    (``spent + costs[u] <= limit``) of largest ``gain / costs[u]`` (``rule="cost-benefit"``) or
    largest ``gain`` (``"unit-cost"``), until none fits. Gains stay exact as in
    `greedy_max_coverage`; ties go to the smallest row number, so with every cost 1.0 and
    ``limit`` in ``[B, B + 1)`` the picks are `greedy_max_coverage`'s for budget ``B``.

    Returns
    -------
    picks, gains, covered
        As for `greedy_max_coverage` (``picks`` as long as the budget allowed).
    """
    cov = _Coverage(rr, n)
    gain, cover = cov.gain, cov.cover
    n_covered = 0

    for u in labeled.tolist():
        n_covered += cover(u)
    out = np.zeros(n, dtype=bool)  # labeled, picked, or no longer fits
    out[labeled] = True
    order = np.argsort(-costs, kind="stable")
    pos = 0
    spent = 0.0
    picks: list[int] = []
    gains: list[int] = []
    while True:
        room = limit - spent
        while pos < n and costs[order[pos]] > room:
            out[order[pos]] = True
            pos += 1
        key = gain / costs if rule == "cost-benefit" else gain.astype(np.float64)
        key[out] = -np.inf
        u = int(np.argmax(key))
        if key[u] == -np.inf:
            break
        picks.append(u)
        gains.append(int(gain[u]))
        n_covered += cover(u)
        out[u] = True
        spent += float(costs[u])
    return np.asarray(picks, dtype=np.int64), np.asarray(gains, dtype=np.int64), n_covered
