"""The opt-in selection variants of issue #15: stratified, ideal-hub, votek-div, mixed.

Each is checked against its stated rule on small synthetic pools; the generic contract (budget,
labeled, determinism, budget == n) is also in tests/contracts/test_selection_contract.py.
"""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

from fewshot.annotate import build_knn_graph, cell_quotas, get_strategy, prepare_vectors, select
from fewshot.annotate._ideal_hub import hub_discounted
from fewshot.annotate._stratified import interleave
from fewshot.exceptions import InvalidInputError

VARIANTS = ["stratified", "ideal-hub", "votek-div", "mixed"]
#: Small settings so that each call takes milliseconds.
FAST = {
    "ideal-hub": {"n_rr_sets": 2000},
    "mixed": {"n_rr_sets": 2000},
    "votek-div": {"k": 15},
    "stratified": {},
}
SIZES = (120, 60, 30, 15)


@pytest.fixture(scope="module")
def clusters():
    """Four tight, well separated clusters of unequal sizes in 16-d: (X, cluster of each row)."""
    rng = np.random.default_rng(7)
    centers = 3.0 * np.eye(16)[:4]
    truth = np.repeat(np.arange(4), SIZES)
    X = centers[truth] + 0.15 * rng.normal(size=(truth.shape[0], 16))
    return X, truth


@pytest.fixture(scope="module")
def blob():
    return np.random.default_rng(3).normal(size=(90, 12))


@pytest.mark.parametrize("method", VARIANTS)
def test_variant_contract(method, blob):
    """B distinct rows, none labeled, deterministic, and budget == n returns every row."""
    labeled = [2, 40, 41]
    a = select(blob, 10, method, labeled=labeled, seed=5, **FAST[method])
    b = select(blob, 10, method, labeled=labeled, seed=5, **FAST[method])
    assert a.method == method
    assert len(set(a.indices.tolist())) == 10 and not set(a.indices.tolist()) & set(labeled)
    assert a.indices.tolist() == b.indices.tolist() and a.params == b.params
    np.testing.assert_array_equal(a.scores, b.scores)
    assert sorted(select(blob, 90, method, **FAST[method]).indices.tolist()) == list(range(90))
    rest = select(blob, 87, method, labeled=labeled, **FAST[method])
    assert sorted(rest.indices.tolist()) == sorted(set(range(90)) - set(labeled))


def test_doctests():
    for name in ("_stratified", "_ideal_hub", "_votek_div", "_mixed", "_auto", "_herding"):
        result = doctest.testmod(importlib.import_module(f"fewshot.annotate.{name}"))
        assert result.failed == 0, name


# -- stratified ------------------------------------------------------------------------------


def test_cell_quotas_rule():
    assert cell_quotas([120, 60, 30, 15], 15).tolist() == [8, 4, 2, 1]  # exactly proportional
    assert cell_quotas([120, 60, 30, 15], 10).tolist() == [5, 3, 1, 1]  # 5.3, 2.7, 1.3, 0.7
    assert cell_quotas([90, 5, 5], 10).tolist() == [8, 1, 1]  # the minimum comes from the largest surplus
    assert cell_quotas([90, 5, 5], 10, min_per_cell=0).tolist() == [9, 1, 0]
    assert cell_quotas([5, 5, 5], 2).tolist() == [1, 1, 0]  # minimum lowered to what 2 pays
    # labeled rows are lower bounds; the other cells share what is left
    q = cell_quotas([50, 30, 20], 10, labeled=[0, 0, 6])
    assert q.tolist() == [3, 1, 6] and q.sum() == 10
    # a cell cannot hold more than its rows
    assert cell_quotas([1, 50, 50], 20, min_per_cell=3).tolist() == [1, 10, 9]
    with pytest.raises(InvalidInputError, match="total"):
        cell_quotas([3, 3], 7)


def test_stratified_counts_match_quotas(clusters):
    X, truth = clusters
    sel = select(X, 15, "stratified", n_cells=4, seed=0)
    assert sel.params["cell_sizes"] == list(SIZES)  # k-means found the four clusters
    expected = cell_quotas(SIZES, 15).tolist()
    assert sel.params["cell_quotas"] == expected == [8, 4, 2, 1]
    assert np.bincount(truth[sel.indices], minlength=4).tolist() == expected


def test_stratified_prefixes_stay_proportional(clusters):
    X, truth = clusters
    sel = select(X, 30, "stratified", n_cells=4, seed=0)
    q = np.asarray(sel.params["cell_quotas"], dtype=float)
    for p in range(1, 31):
        held = np.bincount(truth[sel.indices[:p]], minlength=4)
        assert np.abs(held - q * p / 30).max() < 1.0 + 1e-9, (p, held.tolist())


def test_stratified_labeled_count_toward_quota(clusters):
    X, truth = clusters
    labeled = np.flatnonzero(truth == 3)[:6]  # the smallest cluster already has 6 labels
    sel = select(X, 9, "stratified", n_cells=4, labeled=labeled, seed=0)
    held = np.bincount(truth[labeled], minlength=4)
    assert sel.params["cell_labeled"] == [0, 0, 0, 6]
    expected = cell_quotas(SIZES, 15, labeled=held).tolist()
    assert sel.params["cell_quotas"] == expected
    assert (np.bincount(truth[sel.indices], minlength=4) + held).tolist() == expected
    assert not set(sel.indices.tolist()) & set(labeled.tolist())


def test_interleave_prefers_cells_behind_their_share():
    # cell 1 already holds a labeled row: cell 0 goes first, then the tie goes to cell 0 (earlier)
    pos, cells = interleave(np.array([2, 2]), np.array([0, 1]), [np.array([10, 11]), np.array([12])])
    assert cells.tolist() == [0, 0, 1] and pos.tolist() == [0, 1, 0]
    pos, cells = interleave(np.array([4, 2]), np.array([0, 0]), [np.arange(4), np.arange(2)])
    assert cells.tolist() == [0, 1, 0, 0, 1, 0]


@pytest.mark.parametrize("inner", ["votek", "random", "kmeans"])
def test_stratified_inner_methods(inner, clusters):
    X, truth = clusters
    params = {"k": 10} if inner == "votek" else {}
    sel = select(X, 15, "stratified", n_cells=4, inner=inner, inner_params=params, seed=1)
    assert sel.params["inner"] == inner and sel.params["inner_params"] == params
    assert np.bincount(truth[sel.indices], minlength=4).tolist() == [8, 4, 2, 1]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"inner": "auto"}, "inner"),
        ({"inner": "stratified"}, "inner"),
        ({"inner": "nope"}, "nope"),
        ({"inner": "votek2"}, "confidence"),
        ({"inner_params": {"kk": 1}}, "kk"),
        ({"inner_params": {"center": False}}, "center"),
        ({"n_cells": 0}, "n_cells"),
    ],
)
def test_stratified_bad_params(params, match, blob):
    with pytest.raises(InvalidInputError, match=match):
        select(blob, 5, "stratified", **params)


# -- ideal-hub -------------------------------------------------------------------------------


def test_ideal_hub_alpha_zero_is_ideal(blob):
    labeled = [0, 1]
    a = select(blob, 8, "ideal", n_rr_sets=3000, n_mc=0, labeled=labeled, seed=2)
    b = select(blob, 8, "ideal-hub", alpha=0.0, n_rr_sets=3000, labeled=labeled, seed=2)
    assert a.indices.tolist() == b.indices.tolist()
    np.testing.assert_array_equal(a.scores, b.scores)
    c = select(blob, 8, "ideal-hub", n_rr_sets=3000, labeled=labeled, seed=2)
    assert c.params["alpha"] == 1.0 and c.influence is None
    assert c.params["indegree_max"] > 10  # the graph has hubs to discount


def test_hub_discount_weights(blob):
    graph = build_knn_graph(prepare_vectors(blob), 5)
    indeg = np.bincount(graph.neighbors.reshape(-1), minlength=graph.n)
    w = hub_discounted(graph, 1.0)
    expected = np.maximum(graph.similarities.astype(np.float64), 1e-6) / indeg[graph.neighbors]
    np.testing.assert_allclose(w.similarities, expected)
    same = hub_discounted(graph, 0.0)
    np.testing.assert_array_equal(same.similarities, np.maximum(graph.similarities.astype(np.float64), 1e-6))


def test_ideal_hub_bad_alpha(blob):
    with pytest.raises(InvalidInputError, match="alpha"):
        select(blob, 3, "ideal-hub", alpha=-1.0)


# -- votek-div -------------------------------------------------------------------------------


@pytest.mark.parametrize("labeled", [[], [3, 50]])
def test_votek_div_tau_one_is_votek(labeled, blob):
    a = select(blob, 20, "votek", k=15, labeled=labeled)
    b = select(blob, 20, "votek-div", k=15, tau=1.0, labeled=labeled)
    assert a.indices.tolist() == b.indices.tolist()
    np.testing.assert_array_equal(a.scores, b.scores)


def test_votek_div_keeps_picks_apart(clusters):
    X, _ = clusters
    sel = select(X, 12, "votek-div", k=20)
    tau = sel.params["tau_used"]
    Z = prepare_vectors(X)
    sims = Z[sel.indices] @ Z[sel.indices].T
    np.fill_diagonal(sims, -1.0)
    assert sel.params["relaxed_at"] is None and sims.max() <= tau
    plain = select(X, 12, "votek", k=20)
    sims_plain = Z[plain.indices] @ Z[plain.indices].T
    np.fill_diagonal(sims_plain, -1.0)
    assert sims_plain.max() > tau  # plain vote-k does pick neighbours of its picks here


def test_votek_div_relaxes_when_everything_is_blocked(blob):
    sel = select(blob, 6, "votek-div", k=15, tau=-1.0)
    assert sel.params["relaxed_at"] == 1 and len(set(sel.indices.tolist())) == 6


# -- mixed -----------------------------------------------------------------------------------


def test_mixed_lambda_zero_is_ideal_greedy(blob):
    a = select(blob, 8, "ideal", n_rr_sets=3000, n_mc=0, seed=4, labeled=[5])
    b = select(blob, 8, "mixed", lambda_=0.0, n_rr_sets=3000, seed=4, labeled=[5])
    assert a.indices.tolist() == b.indices.tolist()
    assert b.params["rr_influence"] == pytest.approx(a.params["rr_influence"])


def test_mixed_coverage_term_raises_coverage(clusters):
    X, truth = clusters
    inf_only = select(X, 8, "mixed", lambda_=0.0, n_rr_sets=3000)
    both = select(X, 8, "mixed", lambda_=1.0, n_rr_sets=3000)
    assert both.params["coverage"] >= inf_only.params["coverage"]
    assert len(set(truth[both.indices].tolist())) == 4


def test_strategy_params_are_recorded():
    s = get_strategy("mixed", lambda_=0.5)
    assert s.get_params()["lambda_"] == 0.5
