"""The contract every selection strategy keeps (scikit-learn's test_common, for selection)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fewshot.annotate as annotate
from fewshot.annotate import STRATEGIES, Selection, get_strategy, select
from fewshot.exceptions import InvalidInputError

N, D = 60, 8


def _confidence(selected, candidates):
    return np.cos(candidates.astype(float))  # any deterministic scores


EXTRA = {"votek2": {"confidence": _confidence, "stage1_size": 3}}
FAST = {"votek": {"k": 10}, "votek2": {"k": 10}, "ideal": {"n_mc": 50}}
METHODS = sorted(STRATEGIES)


def params(method: str) -> dict:
    return {**FAST.get(method, {}), **EXTRA.get(method, {})}


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(42)
    centers = rng.normal(size=(4, D))
    return centers[rng.integers(0, 4, N)] + 0.5 * rng.normal(size=(N, D))


def test_all_names_exist():
    for name in annotate.__all__:
        assert hasattr(annotate, name), name


@pytest.mark.parametrize("method", METHODS)
def test_contract(method, X):
    labeled = [0, 7, 13]
    sel = select(X, 12, method, labeled=labeled, seed=3, **params(method))
    assert isinstance(sel, Selection) and sel.method == method
    assert sel.indices.dtype == np.int64 and sel.indices.shape == (12,)
    assert sel.scores.dtype == np.float64 and sel.scores.shape == (12,)
    assert len(set(sel.indices.tolist())) == 12
    assert not set(sel.indices.tolist()) & set(labeled)
    assert sel.indices.min() >= 0 and sel.indices.max() < N
    json.dumps(sel.params)
    json.dumps(sel.to_dict())
    assert (sel.influence is not None) == (method == "ideal")
    again = select(X, 12, method, labeled=labeled, seed=3, **params(method))
    assert again.indices.tolist() == sel.indices.tolist()
    np.testing.assert_array_equal(again.scores, sel.scores)


@pytest.mark.parametrize("method", METHODS)
def test_budget_equal_to_pool(method, X):
    sel = select(X, N, method, **params(method))
    assert sorted(sel.indices.tolist()) == list(range(N))
    sel = select(X, N - 5, method, labeled=[1, 2, 3, 4, 5], **params(method))
    assert sorted(sel.indices.tolist()) == sorted(set(range(N)) - {1, 2, 3, 4, 5})


@pytest.mark.parametrize("method", METHODS)
def test_strategy_object(method, X):
    strategy = get_strategy(method, **params(method))
    assert strategy.name == method
    assert "center" in strategy.get_params()
    sel = strategy.select(X, 5, labeled=None, seed=None)
    assert len(sel) == 5
    calls = []
    strategy.select(X, 5, progress=lambda done, total: calls.append((done, total)))
    assert calls and all(0 <= d <= t for d, t in calls)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("budget", [0, -1, N + 1, 2.5, "3", True])
def test_bad_budget(method, budget, X):
    with pytest.raises(InvalidInputError, match="budget"):
        select(X, budget, method, **params(method))


@pytest.mark.parametrize("method", METHODS)
def test_budget_counts_labeled(method, X):
    with pytest.raises(InvalidInputError, match="labeled"):
        select(X, N - 2, method, labeled=[0, 1, 2], **params(method))


@pytest.mark.parametrize("method", METHODS)
def test_non_finite_input(method, X):
    bad = X.copy()
    bad[5, 2] = np.nan
    with pytest.raises(InvalidInputError, match="row 5"):
        select(bad, 3, method, **params(method))
    bad[5, 2] = np.inf
    with pytest.raises(InvalidInputError, match="finite"):
        select(bad, 3, method, **params(method))


@pytest.mark.parametrize(
    "vectors", [np.zeros(5), np.zeros((0, 3)), np.zeros((2, 3, 4)), [["a", "b"]], np.array([[1 + 1j]])]
)
def test_bad_vectors(vectors):
    with pytest.raises(InvalidInputError):
        select(vectors, 1, "random")


@pytest.mark.parametrize("labeled", [[N], [-1], [[1, 2]], ["a"]])
def test_bad_labeled(labeled, X):
    with pytest.raises(InvalidInputError, match="labeled"):
        select(X, 3, "random", labeled=labeled)


def test_unknown_method_lists_valid_names(X):
    with pytest.raises(InvalidInputError) as err:
        select(X, 3, "votekk")
    for name in METHODS:
        assert name in str(err.value)


def test_unknown_parameter(X):
    with pytest.raises(InvalidInputError, match="votek"):
        select(X, 3, "votek", kk=5)


@pytest.mark.parametrize(
    ("method", "bad"),
    [
        ("votek", {"k": 0}),
        ("votek", {"rho": 1}),
        ("votek", {"k": 2.5}),
        ("kmeans", {"n_iter": 0}),
        ("facility", {"k": -3}),
        ("votek", {"exact": "yes"}),
        ("random", {"center": "no"}),
    ],
)
def test_bad_parameters(method, bad, X):
    with pytest.raises(InvalidInputError):
        select(X, 3, method, **bad)


def test_seed_changes_random_methods(X):
    a = select(X, 10, "random", seed=1).indices.tolist()
    b = select(X, 10, "random", seed=2).indices.tolist()
    assert a != b


def test_input_is_not_modified(X):
    Y = X.astype(np.float32)
    before = Y.copy()
    select(Y, 5, "votek", k=10)
    np.testing.assert_array_equal(Y, before)


def test_list_and_integer_input():
    rows = [[i % 7, (i * 3) % 5, 1] for i in range(30)]
    assert len(select(rows, 4, "facility", k=5)) == 4
