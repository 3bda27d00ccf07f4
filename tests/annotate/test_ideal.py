"""IDEAL: cascade estimators on hand-worked graphs, RR-set greedy, and the research baseline."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fewshot.annotate import Ideal, KnnGraph, build_knn_graph, prepare_vectors, select
from fewshot.annotate._diffusion import (
    cascade_model,
    greedy_max_coverage,
    sample_rr_sets,
    simulate_spread,
)


def two_chains() -> KnnGraph:
    # k = 1, so every edge fires with probability 1:
    #   0 -> 1 -> 2 -> 1          influence of {0} = 3
    #   3 -> 4 -> 5 -> 6 -> 5     influence of {3} = 4
    nbrs = np.array([[1], [2], [1], [4], [5], [6], [5]], dtype=np.int32)
    return KnnGraph(nbrs, np.full((7, 1), 0.5, np.float32))


def test_deterministic_cascades():
    model = cascade_model(two_chains())
    rng = np.random.default_rng(0)
    assert simulate_spread(model, np.array([3]), 5, rng).tolist() == [4] * 5
    assert simulate_spread(model, np.array([0, 3, 4]), 3, rng).tolist() == [7] * 3
    assert simulate_spread(model, np.array([], dtype=np.int64), 3, rng).tolist() == [0] * 3


def test_rr_greedy_on_two_chains():
    model = cascade_model(two_chains())
    rr = sample_rr_sets(model, 20_000, np.random.default_rng(1))
    picks, gains, covered = greedy_max_coverage(rr, 7, 2, np.zeros(0, np.int64))
    assert picks.tolist() == [3, 0]
    assert covered == rr.count  # {0, 3} reaches every node
    assert abs(7 * gains[0] / rr.count - 4) < 0.1 and abs(7 * gains[1] / rr.count - 3) < 0.1
    # labeled seeds count as selected: the gain is marginal over them
    picks, _, _ = greedy_max_coverage(rr, 7, 1, np.array([3]))
    assert picks.tolist() == [0]


def exact_spread(nbrs: np.ndarray, probs: np.ndarray, seeds: list[int]) -> float:
    """Expected spread by enumerating every live-edge world (tiny graphs only)."""
    edges = [(v, int(u), p) for v in range(len(nbrs)) for u, p in zip(nbrs[v], probs[v]) if u >= 0]
    total = 0.0
    for world in itertools.product([0, 1], repeat=len(edges)):
        weight = 1.0
        live: dict[int, list[int]] = {}
        for on, (v, u, p) in zip(world, edges):
            weight *= p if on else 1 - p
            if on:
                live.setdefault(v, []).append(u)
        reached, stack = set(seeds), list(seeds)
        while stack:
            for u in live.get(stack.pop(), []):
                if u not in reached:
                    reached.add(u)
                    stack.append(u)
        total += weight * len(reached)
    return total


def test_estimators_match_enumeration_without_double_counting():
    # 0 -> {1, 2}, 1 -> {2, 3}, 2 -> {3, 1}, 3 -> {0, 2}: node 2 is often reached twice in one
    # step, which the research estimator would count twice.
    nbrs = np.array([[1, 2], [2, 3], [3, 1], [0, 2]], dtype=np.int32)
    sims = np.array([[0.6, 0.4], [0.5, 0.5], [0.9, 0.1], [0.3, 0.7]], dtype=np.float32)
    model = cascade_model(KnnGraph(nbrs, sims))
    np.testing.assert_allclose(model.out_probs.sum(axis=1), 1.0)
    for seeds in ([0], [1], [0, 3]):
        exact = exact_spread(nbrs, model.out_probs, seeds)
        mc = simulate_spread(model, np.array(seeds), 40_000, np.random.default_rng(2)).mean()
        assert abs(mc - exact) < 0.03, (seeds, mc, exact)
        rr = sample_rr_sets(model, 40_000, np.random.default_rng(3))
        covered = np.zeros(rr.count, dtype=bool)
        for s in seeds:
            covered[rr.node_sets[rr.node_indptr[s] : rr.node_indptr[s + 1]]] = True
        assert abs(4 * covered.mean() - exact) < 0.05, (seeds, covered.mean() * 4, exact)


def test_plain_loop_estimator_agrees(ref):
    X = np.random.default_rng(0).normal(size=(150, 8))
    graph = build_knn_graph(prepare_vectors(X), 10)
    model = cascade_model(graph)
    seeds = [3, 17, 40]
    fast = simulate_spread(model, np.array(seeds), 3000, np.random.default_rng(4)).mean()
    slow = ref.mc_influence(model.out_neighbors, model.out_probs, seeds, 3000, seed=5)
    assert abs(fast - slow) < 0.05 * slow


def test_negative_cosines_are_clipped():
    nbrs = np.array([[1, 2], [0, 2], [0, 1]], dtype=np.int32)
    sims = np.array([[0.5, -0.2], [0.1, 0.1], [-0.3, -0.4]], dtype=np.float32)
    model = cascade_model(KnnGraph(nbrs, sims), min_similarity=1e-6)
    assert np.all(model.out_probs >= 0)
    np.testing.assert_allclose(model.out_probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(model.out_probs[2], [0.5, 0.5])


def test_bigger_cluster_first(make_clustered):
    rng = np.random.default_rng(0)
    big = rng.normal(size=(1, 16)) + 0.3 * rng.normal(size=(150, 16))
    small = -rng.normal(size=(1, 16)) * 3 + 0.3 * rng.normal(size=(30, 16))
    X = np.concatenate([small, big])
    sel = select(X, 2, "ideal", seed=1)
    assert sel.indices[0] >= 30
    assert sel.influence is not None and sel.influence >= 2
    assert sel.params["rr_sets"] > 0 and np.all(np.diff(sel.scores) <= 1e-9)


def test_fixed_number_of_rr_sets_and_seed(make_clustered):
    X = make_clustered(300, 16, 5, 0.5, 2)
    a = Ideal(n_rr_sets=3000, n_mc=100).select(X, 8, seed=4)
    b = Ideal(n_rr_sets=3000, n_mc=100).select(X, 8, seed=4)
    assert a.indices.tolist() == b.indices.tolist() and a.influence == b.influence
    assert a.params["rr_sets"] == 3000
    c = Ideal(n_rr_sets=3000, n_mc=0).select(X, 8, seed=4)
    assert c.influence is None


def test_influence_at_least_research(ref, sst5_vectors):
    """Our set's influence is at least the research greedy's (same duplicate-free estimator,
    common random numbers)."""
    X = sst5_vectors[:400]
    Z = prepare_vectors(X)
    theirs = list(dict.fromkeys(ref.research_infmax(Z, 5)))
    ours = select(X, 5, "ideal", seed=0)
    model = cascade_model(build_knn_graph(Z, 10))
    inf_theirs = simulate_spread(model, np.array(theirs), 3000, np.random.default_rng(9))
    inf_ours = simulate_spread(model, ours.indices, 3000, np.random.default_rng(9))
    assert inf_ours.mean() >= inf_theirs.mean(), (inf_ours.mean(), inf_theirs.mean())


@pytest.mark.parametrize("bad", [{"epsilon": 0}, {"epsilon": 1.5}, {"n_rr_sets": 0}, {"n_mc": -1}, {"k": 0}])
def test_bad_parameters(bad):
    from fewshot.exceptions import InvalidInputError

    with pytest.raises(InvalidInputError):
        select(np.random.default_rng(0).normal(size=(30, 4)), 3, "ideal", **bad)
