"""Selection under a cost budget (SPEC section 7): equal costs replay the count-based selection
exactly for every method; varied costs respect the budget; the knapsack greedy keeps its
guarantee against brute force on small instances."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fewshot.annotate import STRATEGIES, build_knn_graph, cost_budget_curve, prepare_vectors, select
from fewshot.annotate._diffusion import _rr_from_parts, knapsack_max_coverage
from fewshot.annotate._knapsack import GreedyRun, best_of
from fewshot.exceptions import InvalidInputError

COST_METHODS = ["votek", "ideal", "facility", "kmeans", "random"]
FAST = {"votek": {"k": 30}, "ideal": {"n_mc": 20}, "facility": {"k": 20}}
GUARANTEE = (1.0 - 1.0 / math.e) / 2.0


@pytest.fixture(scope="module")
def X(sst5_vectors):
    return sst5_vectors[:500]


@pytest.mark.parametrize("method", COST_METHODS)
@pytest.mark.parametrize("labeled", [(), (3, 41, 200)], ids=["fresh", "round2"])
def test_equal_costs_give_the_count_based_selection(X, method, labeled):
    budget, c = 23, 0.37  # 23 * 0.37 / 0.37 is not exactly 23 in floating point
    count = select(X, budget, method, labeled=labeled, seed=5, **FAST.get(method, {}))
    costs = np.full(X.shape[0], c)
    cost = select(
        X, method=method, labeled=labeled, seed=5, budget_cost=budget * c, costs=costs, **FAST.get(method, {})
    )
    assert cost.indices.tolist() == count.indices.tolist()
    np.testing.assert_array_equal(cost.scores, count.scores)
    assert cost.influence == count.influence
    assert cost.total_cost == pytest.approx(budget * c)
    assert cost.params["budget_cost"] == budget * c and cost.params["total_cost"] == cost.total_cost


@pytest.mark.parametrize("method", COST_METHODS)
def test_varied_costs_stay_within_budget_and_favour_cheap_items(X, method):
    costs = 0.5 + np.random.default_rng(1).gamma(2.0, 1.0, size=X.shape[0])
    sel = select(X, method=method, seed=2, budget_cost=30.0, costs=costs, **FAST.get(method, {}))
    picks = sel.indices
    assert len(set(picks.tolist())) == len(picks) > 0
    assert sel.total_cost == pytest.approx(costs[picks].sum()) and sel.total_cost <= 30.0 * (1 + 1e-9)
    # nothing more fits: the cheapest item left would break the budget
    left = np.setdiff1d(np.arange(X.shape[0]), picks)
    assert sel.total_cost + costs[left].min() > 30.0
    if method != "random":  # the cost-aware methods buy cheaper items than the pool's average
        assert costs[picks].mean() < costs.mean()


def test_labeled_rows_are_never_picked_and_their_costs_are_not_read(X):
    costs = np.full(X.shape[0], 1.0)
    labeled = [0, 1, 2]
    costs[labeled] = np.nan
    sel = select(X, method="facility", labeled=labeled, budget_cost=10.0, costs=costs)
    assert not set(sel.indices.tolist()) & set(labeled) and len(sel) == 10


def test_two_stage_votek_refuses_a_cost_budget(X):
    assert not STRATEGIES.get("votek2").supports_cost_budget()
    assert all(STRATEGIES.get(m).supports_cost_budget() for m in COST_METHODS)
    with pytest.raises(InvalidInputError, match="'votek2' does not support a cost budget"):
        select(X, method="votek2", budget_cost=5.0, costs=np.ones(X.shape[0]), confidence=lambda s, c: c * 0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"budget": 5, "budget_cost": 5.0, "costs": np.ones(500)}, "exactly one of budget"),
        ({}, "exactly one of budget"),
        ({"budget_cost": 5.0}, "budget_cost needs costs"),
        ({"budget_cost": 0.5, "costs": np.ones(500)}, r"buys no item: the cheapest unlabeled row \(0\) costs 1"),
        ({"budget_cost": -1.0, "costs": np.ones(500)}, "budget_cost must be a finite number > 0"),
        ({"budget_cost": float("nan"), "costs": np.ones(500)}, "budget_cost must be a finite number > 0"),
        ({"budget_cost": 5.0, "costs": np.ones(499)}, r"costs must have shape \(500,\)"),
        ({"budget_cost": 5.0, "costs": np.r_[np.ones(7), -1.0, np.ones(492)]}, r"costs\[7\] is -1.0"),
        ({"budget_cost": 5.0, "costs": np.r_[np.ones(9), 0.0, np.ones(490)]}, r"costs\[9\] is 0.0"),
        ({"budget_cost": 5.0, "costs": np.r_[np.nan, np.ones(499)]}, r"costs\[0\] is nan"),
    ],
)
def test_bad_cost_budgets_are_refused_with_the_row(X, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        select(X, method="random", **kwargs)


# -- the guarantee against brute force ----------------------------------------------------------


def _facility_weights(X: np.ndarray, k: int) -> np.ndarray:
    """``w[i, s]`` of `FacilityLocation` from its definition: 1 on the diagonal, the cosine clipped
    at 0 when ``s`` is among ``i``'s ``k`` nearest neighbours, else 0."""
    Z = prepare_vectors(X)
    g = build_knn_graph(Z, k)
    n = Z.shape[0]
    w = np.eye(n)
    for i in range(n):
        for j, s in zip(g.neighbors[i], g.similarities[i]):
            if j >= 0:
                w[i, j] = max(w[i, j], max(float(s), 0.0))
    return w


def _best_subset(n: int, costs: np.ndarray, budget: float, value) -> float:
    best = 0.0
    for r in range(1, n + 1):
        for S in itertools.combinations(range(n), r):
            if costs[list(S)].sum() <= budget:
                best = max(best, value(list(S)))
    return best


def test_facility_location_is_within_the_guarantee_of_the_brute_force_optimum():
    rng = np.random.default_rng(7)
    worst = 1.0
    for _ in range(25):
        n = int(rng.integers(6, 11))
        X = rng.normal(size=(n, 4))
        costs = rng.uniform(0.2, 3.0, size=n)
        budget = float(rng.uniform(1.0, 0.5 * costs.sum()))
        if costs.min() > budget:
            continue
        k = 3
        sel = select(X, method="facility", budget_cost=budget, costs=costs, k=k)
        w = _facility_weights(X, k)
        got = float(w[:, sel.indices].max(axis=1).sum())
        opt = _best_subset(n, costs, budget, lambda S, w=w: float(w[:, S].max(axis=1).sum()))
        assert costs[sel.indices].sum() <= budget * (1 + 1e-9)
        worst = min(worst, got / opt)
    assert worst >= GUARANTEE
    assert worst > 0.6  # in practice far above the worst-case bound


def test_rr_coverage_knapsack_is_within_the_guarantee_of_the_brute_force_optimum():
    """IDEAL's objective is RR-set coverage: the best of the cost-benefit greedy, the unit-cost
    greedy and the best single item against the optimum over every affordable subset."""
    rng = np.random.default_rng(11)
    worst = 1.0
    for _ in range(40):
        n, m = int(rng.integers(5, 11)), int(rng.integers(5, 30))
        members = [np.sort(rng.choice(n, size=int(rng.integers(1, 4)), replace=False)) for _ in range(m)]
        rr = _rr_from_parts(n, np.array([len(s) for s in members]), np.concatenate(members))
        raw = rng.uniform(0.2, 3.0, size=n)
        budget = float(rng.uniform(raw.min(), 0.6 * raw.sum()))
        costs = raw / raw.min()
        limit = budget / raw.min() * (1 + 1e-9)
        none = np.zeros(0, dtype=np.int64)
        runs = []
        for rule in ("cost-benefit", "unit-cost"):
            picks, gains, covered = knapsack_max_coverage(rr, n, costs, limit, none, rule=rule)
            assert costs[picks].sum() <= limit
            runs.append(GreedyRun(rule, picks, gains, float(covered)))
        single = knapsack_max_coverage(rr, n, np.where(costs <= limit, 1.0, np.inf), 1.0, none, rule="unit-cost")
        runs.append(GreedyRun("best-single", single[0], single[1], float(single[2])))
        got = best_of(runs).value

        def coverage(S, members=members):
            return float(sum(bool(set(S) & set(s.tolist())) for s in members))

        opt = _best_subset(n, raw, budget, coverage)
        worst = min(worst, got / opt)
    assert worst >= GUARANTEE


# -- the spend curve -----------------------------------------------------------------------------


def test_spend_curve_with_equal_costs_matches_count_based(X):
    curve = cost_budget_curve(X, np.full(X.shape[0], 2.0), [10.0, 20.0, 40.0], method="facility", n_mc=20)
    assert curve.count_items.tolist() == curve.cost_items.tolist() == [5, 10, 20]
    np.testing.assert_array_equal(curve.count_coverage, curve.cost_coverage)
    np.testing.assert_array_equal(curve.count_influence, curve.cost_influence)
    assert curve.recommended in (10.0, 20.0, 40.0)
    assert len(curve.steps()) == 2 and curve.steps()[0]["items"] == 5


def test_spend_curve_with_length_costs(X, data_dir):
    from shared_data import read_jsonl

    texts = [r["text"] for r in read_jsonl(data_dir / "sst5" / "train.jsonl", X.shape[0])]
    costs = np.array([len(t.split()) * 0.5 / 60 for t in texts])
    curve = cost_budget_curve(X, costs, [0.5, 1.0, 2.0], method="votek", n_mc=20, k=30)
    rows = curve.to_rows()
    assert [r["spend"] for r in rows] == [0.5, 1.0, 2.0]
    for order, items in ((curve.count_order, curve.count_items), (curve.cost_order, curve.cost_items)):
        assert np.all(np.diff(items) >= 0)
        for spend, b in zip(curve.spends, items):
            assert costs[order[:b]].sum() <= spend * (1 + 1e-9)
    assert sum(r["recommended"] for r in rows) == 1
