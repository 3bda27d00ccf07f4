"""Slow plain-loop references: the access pattern of the research code, written for comparison.

Used by the benchmarks and by ``tests/annotate`` (which put this folder on ``sys.path``).
Nothing here is part of the library.

* :func:`research_fast_votek` follows ``fast_votek`` of the vote-k / IDEAL research code
  (one full similarity pass per item, ``argsort(...)[-k-1:-1]``, a dict of voter lists, and a
  greedy that rescans every candidate's voters with list lookups), including its habit of
  re-picking a selected item when no candidate is left.
* :func:`reference_two_stage_votek` is stage 2 of vote-k as SPEC section 2 fixes it (the
  research code forgets to update ``t(v)`` in stage 2), plain loops, for the tests.
* :func:`research_infmax` follows IDEAL's ``infmax``: a k=10 directed graph, influence
  estimated by 10 Monte-Carlo cascades that count a node reached by two parents in the same
  step twice, a greedy that evaluates every node at every step, start at the first node of
  maximal out-degree (node 0).
* :func:`mc_influence` is a plain, duplicate-free Monte-Carlo influence estimate.

Inputs are the *prepared* matrix (``fewshot.annotate.prepare_vectors``: centred, unit rows,
float32). The research code computes cosines in float32 through BLAS, whose rounding depends on
the BLAS build and kernel; here the cosine of two unit rows is their float64 inner product summed
in NumPy's fixed pairwise order (exact products of float32 numbers), and ``argsort`` is stable, so
the reference is deterministic, also for duplicate rows.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict

import numpy as np

__all__ = [
    "research_fast_votek",
    "reference_two_stage_votek",
    "research_infmax",
    "research_ic_diffusion",
    "mc_influence",
    "cosine_row",
]


def cosine_row(E64: np.ndarray, i: int) -> np.ndarray:
    """Cosines of item i with every item (rows of E64 are float64 casts of unit float32 rows)."""
    return (E64 * E64[i]).sum(axis=1)


def _vote_stat(embeddings: np.ndarray, k: int) -> dict[int, list[int]]:
    E64 = np.asarray(embeddings, dtype=np.float64)
    n = len(E64)
    vote_stat: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        cur_scores = cosine_row(E64, i)
        sorted_indices = np.argsort(cur_scores, kind="stable").tolist()[-k - 1 : -1]
        for idx in sorted_indices:
            if idx != i:
                vote_stat[idx].append(i)
    return vote_stat


def research_fast_votek(
    embeddings: np.ndarray, select_num: int, k: int = 150, timings: dict | None = None
) -> list[int]:
    """vote-k exactly as the research loop does it (slow: O(n^2 d) + O(B * n * k) Python).

    ``timings``, if given, receives the seconds spent on the vote lists and on the greedy.
    """
    start = time.perf_counter()
    vote_stat = _vote_stat(embeddings, k)
    graph_done = time.perf_counter()
    votes = sorted(vote_stat.items(), key=lambda x: len(x[1]), reverse=True)
    selected_indices: list[int] = []
    selected_times: dict[int, int] = defaultdict(int)
    while len(selected_indices) < select_num:
        cur_scores: dict[int, float] = defaultdict(int)
        for idx, candidates in votes:
            if idx in selected_indices:
                cur_scores[idx] = -100
                continue
            for one_support in candidates:
                if one_support not in selected_indices:
                    cur_scores[idx] += 10 ** (-selected_times[one_support])
        cur_selected_idx = max(cur_scores.items(), key=lambda x: x[1])[0]
        selected_indices.append(int(cur_selected_idx))
        for idx_support in vote_stat[cur_selected_idx]:
            selected_times[idx_support] += 1
    if timings is not None:
        timings["graph"] = graph_done - start
        timings["greedy"] = time.perf_counter() - graph_done
    return selected_indices


def reference_two_stage_votek(
    embeddings: np.ndarray,
    select_num: int,
    confidence,
    k: int = 150,
    stage1_size: int = 10,
    fraction: float = 0.9,
    rho: float = 10,
) -> list[int]:
    """Two-stage vote-k with stage 2 as SPEC section 2 states it (``t(v)`` updated)."""
    vote_stat = _vote_stat(embeddings, k)
    n = len(embeddings)
    votes = sorted(vote_stat.items(), key=lambda x: len(x[1]), reverse=True)
    selected: list[int] = []
    times: dict[int, int] = defaultdict(int)

    def score(idx: int):
        total = 0
        alive = False
        for one_support in vote_stat.get(idx, []):
            if one_support not in selected:
                total += rho ** (-times[one_support])
                alive = True
        return total, alive

    while len(selected) < min(stage1_size, select_num):
        cur = {}
        for idx, _ in votes:
            if idx in selected:
                continue
            s, alive = score(idx)
            if alive:
                cur[idx] = s
        best = max(cur.items(), key=lambda x: x[1])[0]
        selected.append(best)
        for v in vote_stat[best]:
            times[v] += 1
    m2 = select_num - len(selected)
    if m2 <= 0:
        return selected
    candidates = np.array([i for i in range(n) if i not in selected], dtype=np.int64)
    conf = np.asarray(confidence(np.array(selected, dtype=np.int64), candidates))
    order = sorted(range(len(candidates)), key=lambda j: conf[j])
    ranked = [int(candidates[j]) for j in order]
    width = max(1, int(fraction * len(ranked) / m2))
    for b in range(m2):
        bucket = ranked[b * width : (b + 1) * width]
        best, best_score = None, None
        for idx in bucket:
            s, alive = score(idx)
            if idx in vote_stat and not alive:
                continue
            if best is None or s > best_score:
                best, best_score = idx, s
        if best is None:
            best = bucket[0]
        selected.append(best)
        for v in vote_stat.get(best, []):
            times[v] += 1
    return selected


# -- IDEAL ----------------------------------------------------------------------------------


class _DiGraph:
    """The bits of networkx.DiGraph the research code touches (insertion-ordered)."""

    def __init__(self) -> None:
        self.succ: dict[int, dict[int, float]] = {}

    def add_edge(self, u: int, v: int, weight: float) -> None:
        self.succ.setdefault(u, {})
        self.succ.setdefault(v, {})
        self.succ[u][v] = weight

    def nodes(self):
        return list(self.succ)

    def out_degree(self):
        return [(u, len(s)) for u, s in self.succ.items()]


def research_ic_diffusion(G: _DiGraph, seed: list[int], iters: int, rng: random.Random) -> float:
    """IDEAL's ``ic_diffusion_model``: a node reached twice in one step is counted twice."""
    count = 0
    for _ in range(iters):
        used_nodes = list(seed)
        activated = list(seed)
        temp_seed = list(seed)
        current = []
        while temp_seed:
            for v in temp_seed:
                for w, weight in G.succ[v].items():
                    if w not in activated:
                        if rng.random() < weight:
                            current.append(w)
                        used_nodes.append(w)
            temp_seed = current
            activated.extend(current)
            current = []
        count += len(activated)
    return count / iters


def research_graph(embeddings: np.ndarray, k: int = 10) -> _DiGraph:
    E64 = np.asarray(embeddings, dtype=np.float64)
    graph = _DiGraph()
    for i in range(len(E64)):
        cur_scores = cosine_row(E64, i)
        sorted_indices = np.argsort(cur_scores, kind="stable").tolist()[-k - 1 : -1]
        sum_weight = cur_scores[sorted_indices].sum()
        for idx in sorted_indices:
            if idx != i:
                graph.add_edge(i, idx, weight=cur_scores[idx] / sum_weight)
    return graph


def research_infmax(
    embeddings: np.ndarray, select_num: int, k: int = 10, rand_iter: int = 10, seed: int = 0
) -> list[int]:
    """IDEAL's greedy influence maximisation (slow: B * n * rand_iter cascades)."""
    rng = random.Random(seed)
    graph = research_graph(embeddings, k)
    selected_node: list[int] = []
    initial_point = max(graph.out_degree(), key=lambda x: x[1])[0]
    selected_node.append(initial_point)
    influence = 0.0
    for _ in range(select_num - 1):
        max_influence = 0.0
        best_node = None
        for node in graph.nodes():
            if len(selected_node) == 1 and node in selected_node:
                influence = 0.0
            if node not in selected_node:
                selected_node.append(node)
                influence = research_ic_diffusion(graph, selected_node, rand_iter, rng)
                selected_node.remove(node)
            if influence > max_influence:
                max_influence = influence
                best_node = node
        if best_node is not None:
            selected_node.append(best_node)
    return selected_node


def mc_influence(neighbors: np.ndarray, probs: np.ndarray, seeds, runs: int, seed: int = 0) -> float:
    """Duplicate-free independent-cascade spread, plain loops (for small checks)."""
    rng = np.random.default_rng(seed)
    total = 0
    for _ in range(runs):
        active = set(int(s) for s in seeds)
        frontier = list(active)
        while frontier:
            nxt = []
            for v in frontier:
                for u, p in zip(neighbors[v].tolist(), probs[v].tolist()):
                    if u >= 0 and u not in active and rng.random() < p:
                        active.add(u)
                        nxt.append(u)
            frontier = nxt
        total += len(active)
    return total / runs
