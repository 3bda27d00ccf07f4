"""budget_curve: one nested selection, coverage / similarity / influence per budget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fewshot.annotate import BudgetCurve, budget_curve, plot_budget_curve, select
from fewshot.annotate._budget import _kneedle
from fewshot.exceptions import InvalidInputError


@pytest.fixture(scope="module")
def X(make_clustered):
    return make_clustered(600, 16, 10, 0.6, 7)


def test_curve_is_nested_and_monotone(X):
    curve = budget_curve(X, [40, 5, 10, 20, 10], method="votek", k=20, n_mc=50)
    assert isinstance(curve, BudgetCurve)
    assert curve.budgets.tolist() == [5, 10, 20, 40]
    assert curve.order.tolist() == select(X, 40, "votek", k=20).indices.tolist()
    assert np.all(np.diff(curve.coverage) >= 0) and np.all(np.diff(curve.mean_similarity) >= 0)
    assert np.all((curve.coverage >= 0) & (curve.coverage <= 1))
    assert np.all(curve.influence >= curve.budgets)
    assert curve.recommended in curve.budgets.tolist()
    rows = curve.to_rows()
    json.dumps(rows)
    assert [r["budget"] for r in rows] == [5, 10, 20, 40]
    assert sum(r["recommended"] for r in rows) == 1


def test_coverage_by_hand():
    # four points on a circle; threshold 0.9: a picked point covers itself and its twin
    X = np.array([[1, 0], [0.999, 0.04], [-1, 0], [-0.999, -0.04]], dtype=np.float64)
    curve = budget_curve(X, [1, 2], method="facility", center=False, threshold=0.9, n_mc=0, k=1)
    assert curve.coverage.tolist() == [0.5, 1.0]
    assert np.isnan(curve.influence).all()
    assert curve.to_rows()[0]["influence"] is None


def test_labeled_items_count_as_covering(X):
    base = budget_curve(X, [10], method="random", n_mc=0, threshold=0.5)
    more = budget_curve(X, [10], method="random", n_mc=0, threshold=0.5, labeled=range(50))
    assert more.coverage[0] >= base.coverage[0]
    assert not set(more.order.tolist()) & set(range(50))


def test_kneedle_rule():
    b = np.array([10, 20, 30, 40, 50, 60, 70, 80])
    cov = np.array([0.5, 0.8, 0.9, 0.92, 0.93, 0.94, 0.95, 0.96])
    assert _kneedle(b, cov, 0.0) == 20
    assert _kneedle(np.array([5]), np.array([0.3]), 0.0) == 5
    assert _kneedle(b, np.zeros(8), 0.0) == 10


def test_plot_writes_png(X, tmp_path):
    curve = budget_curve(X, [5, 10, 20], method="kmeans", n_mc=20)
    out = plot_budget_curve(curve, tmp_path / "sub" / "curve.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("budgets", [[], [0, 5], [601], [2.5], "abc", 5])
def test_bad_budgets(X, budgets):
    with pytest.raises(InvalidInputError):
        budget_curve(X, budgets, n_mc=0)


def test_bad_threshold(X):
    with pytest.raises(InvalidInputError, match="threshold"):
        budget_curve(X, [5], threshold=2.0, n_mc=0)
