"""How much to spend: coverage and influence against money or minutes, count-based vs cost-aware.

The budget chooser of :mod:`fewshot.annotate._budget` in cost units. Two selections share one
axis, the spend ``C``:

* ``count``: the method's count-based order (nested greedy picks); at spend ``C`` the longest
  prefix whose costs sum to at most ``C``, i.e. what labeling the count-based picks in order buys.
* ``cost``: the method's cost-aware selection (``budget_cost = max(spends)``, SPEC section 7),
  likewise cut at each spend. Annotators work through it in order, so its prefixes are what a
  smaller spend buys (one run for the whole curve, like the count-based curve).

Both are measured as in :func:`fewshot.annotate.budget_curve` (coverage at the same cosine
threshold, mean best cosine, Monte-Carlo influence on IDEAL's cascade graph with common random
numbers). ``recommended`` is the Kneedle knee of the cost-aware coverage against spend, and
``steps`` say what each extra 10% of the largest spend buys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.annotate._base import (
    ProgressCallback,
    check_float,
    check_int,
    check_labeled,
    check_seed,
    prepare_vectors,
)
from fewshot.annotate._budget import _best_similarity, _default_threshold, _kneedle, _labeled_only
from fewshot.annotate._cost import check_costs
from fewshot.annotate._diffusion import cascade_model, simulate_spread
from fewshot.annotate._graph import build_knn_graph
from fewshot.annotate._knapsack import CostBudget
from fewshot.annotate._registry import get_strategy
from fewshot.exceptions import InvalidInputError

__all__ = ["CostBudgetCurve", "cost_budget_curve", "default_spends", "plot_cost_budget_curve"]


@dataclass(frozen=True)
class CostBudgetCurve:
    """Quality of count-based and cost-aware selections as a function of the spend.

    Attributes
    ----------
    spends : ndarray of float64, shape (m,)
        Increasing spends (cost units).
    count_items, cost_items : ndarray of int64, shape (m,)
        Items each selection buys at each spend.
    count_coverage, cost_coverage, count_influence, cost_influence,
    count_similarity, cost_similarity : ndarray of float64, shape (m,)
        As in `BudgetCurve` (influence NaN when ``n_mc == 0``).
    threshold : float
    recommended : float
        The spend at the knee of the cost-aware coverage curve.
    method : str
    count_order, cost_order : ndarray of int64
        The two selections, in order.
    params : dict
        Parameters of the cost-aware selection.
    """

    spends: np.ndarray
    count_items: np.ndarray
    cost_items: np.ndarray
    count_coverage: np.ndarray
    cost_coverage: np.ndarray
    count_similarity: np.ndarray
    cost_similarity: np.ndarray
    count_influence: np.ndarray
    cost_influence: np.ndarray
    threshold: float
    recommended: float
    method: str
    count_order: np.ndarray
    cost_order: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-serialisable dict per spend (``count_*`` and ``cost_*`` columns)."""

        def num(x: float) -> float | None:
            return None if np.isnan(x) else float(x)

        return [
            {
                "spend": float(c),
                "count_items": int(self.count_items[i]),
                "count_coverage": float(self.count_coverage[i]),
                "count_influence": num(self.count_influence[i]),
                "cost_items": int(self.cost_items[i]),
                "cost_coverage": float(self.cost_coverage[i]),
                "cost_influence": num(self.cost_influence[i]),
                "recommended": bool(c == self.recommended),
            }
            for i, c in enumerate(self.spends.tolist())
        ]

    def steps(self) -> list[dict[str, Any]]:
        """What each extra step of spend buys with the cost-aware selection: for each spend after
        the first, the added items, coverage and influence over the previous spend."""
        out = []
        for i in range(1, self.spends.shape[0]):
            infl = self.cost_influence[i] - self.cost_influence[i - 1]
            out.append(
                {
                    "from": float(self.spends[i - 1]),
                    "to": float(self.spends[i]),
                    "items": int(self.cost_items[i] - self.cost_items[i - 1]),
                    "coverage": float(self.cost_coverage[i] - self.cost_coverage[i - 1]),
                    "influence": None if np.isnan(infl) else float(infl),
                }
            )
        return out


def default_spends(max_spend: float, *, steps: int = 10) -> list[float]:
    """``steps`` equal steps up to ``max_spend``: 10%, 20%, ..., 100% by default."""
    return [max_spend * (i + 1) / steps for i in range(steps)]


def cost_budget_curve(
    vectors: Any,
    costs: Any,
    spends: Iterable[float],
    *,
    method: str = "votek",
    center: bool = True,
    threshold: float | None = None,
    seed: int = 0,
    labeled: Iterable[int] = (),
    n_mc: int = 200,
    progress: ProgressCallback | None = None,
    **params: Any,
) -> CostBudgetCurve:
    """Coverage, mean best similarity and influence at each spend, count-based vs cost-aware.

    Parameters
    ----------
    vectors : array-like of shape (n_examples, dim)
    costs : array-like of shape (n_examples,)
        Each row's cost (finite, > 0; labeled rows are not read).
    spends : iterable of float
        Spends to evaluate (sorted, de-duplicated), each > 0.
    method, center, threshold, seed, labeled, n_mc, progress, **params
        As for :func:`fewshot.annotate.budget_curve`.

    Returns
    -------
    CostBudgetCurve
    """
    strategy = get_strategy(method, center=center, **params)
    if not strategy.supports_cost_budget():
        raise InvalidInputError(f"method {method!r} does not support a cost budget")
    Z = prepare_vectors(vectors, center=center)
    n = Z.shape[0]
    labeled_arr = check_labeled(labeled, n)
    raw = check_costs(costs, n, skip=labeled_arr)
    seed = check_seed(seed)
    n_mc = check_int(n_mc, "n_mc", low=0)
    grid = _check_spends(spends)
    if threshold is not None:
        threshold = check_float(threshold, "threshold", low=-1.0, high=1.0)
    free = np.ones(n, dtype=bool)
    free[labeled_arr] = False
    available = int(free.sum())
    if available == 0:
        raise InvalidInputError("no unlabeled row left to select")
    top = float(grid[-1])

    used = strategy._check_params(n)
    used["seed"] = seed
    cb = CostBudget.build(raw, top, labeled_arr)
    cost_params = dict(used, budget_cost=top)
    cost_sel = strategy._select_cost(Z, cb, labeled_arr, seed, progress, cost_params)
    cost_order = cost_sel.indices
    # the count-based order, long enough to spend the largest budget (nested: double until it is)
    guess = int(min(available, max(1, np.ceil(2.0 * top / float(np.median(raw[free]))))))
    while True:
        count_order = strategy._select(Z, guess, labeled_arr, seed, None, dict(used)).indices
        if float(raw[count_order].sum()) >= top or guess == available:
            break
        guess = min(available, guess * 2)

    graph = build_knn_graph(Z, 10, n_threads=used.get("n_threads"))
    if threshold is None:
        threshold = _default_threshold(graph)
    model = cascade_model(graph) if n_mc > 0 else None

    def measure(order: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        spent = np.cumsum(raw[order]) if order.size else np.zeros(0)
        items = np.searchsorted(spent, grid * (1.0 + 1e-9), side="right").astype(np.int64)
        cov = np.zeros(grid.shape[0])
        sim = np.zeros(grid.shape[0])
        pos = items > 0
        if pos.any():
            best = _best_similarity(Z, order, labeled_arr, items[pos])
            cov[pos] = (best >= np.float32(threshold)).mean(axis=0)
            sim[pos] = best.mean(axis=0, dtype=np.float64)
        if (~pos).any():
            base_cov, base_sim = _labeled_only(Z, labeled_arr, threshold)
            cov[~pos], sim[~pos] = base_cov, base_sim
        infl = np.full(grid.shape[0], np.nan)
        if model is not None:
            for i, b in enumerate(items.tolist()):
                seeds = np.concatenate([labeled_arr, order[:b]])
                infl[i] = simulate_spread(model, seeds, n_mc, np.random.default_rng(seed)).mean() if seeds.size else 0.0
        return items, cov, sim, infl

    c_items, c_cov, c_sim, c_infl = measure(count_order)
    k_items, k_cov, k_sim, k_infl = measure(cost_order)
    base_cov, _ = _labeled_only(Z, labeled_arr, threshold)
    knee = _kneedle_spend(grid, k_cov, base_cov)
    return CostBudgetCurve(
        grid,
        c_items,
        k_items,
        c_cov,
        k_cov,
        c_sim,
        k_sim,
        c_infl,
        k_infl,
        float(threshold),
        knee,
        strategy.name,
        count_order,
        cost_order,
        dict(cost_sel.params),
    )


def _check_spends(spends: Iterable[float]) -> np.ndarray:
    try:
        values = [check_float(s, "spend", low=0.0, low_open=True) for s in spends]
    except TypeError:
        raise InvalidInputError(f"spends must be an iterable of numbers; got {spends!r}") from None
    if not values:
        raise InvalidInputError("spends must not be empty")
    return np.unique(np.asarray(values, dtype=np.float64))


def _kneedle_spend(spends: np.ndarray, coverage: np.ndarray, base: float) -> float:
    """`_kneedle` on a float axis: the spend maximising normalised coverage minus spend."""
    if spends.shape[0] == 1:
        return float(spends[0])
    scaled = np.round(spends / spends[-1] * 1_000_000).astype(np.int64)
    knee = _kneedle(scaled, coverage, base)
    return float(spends[int(np.searchsorted(scaled, knee))])


def plot_cost_budget_curve(curve: CostBudgetCurve, path: str | Path, *, title: str | None = None) -> Path:
    """Write the curve as a PNG: coverage (left) and influence (right) against spend, count-based
    dashed and cost-aware solid, with the recommended spend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(7.0, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = curve.spends
    ax.plot(x, curve.cost_coverage, marker="o", label="coverage, cost-aware")
    ax.plot(x, curve.count_coverage, marker="o", linestyle="--", label="coverage, count-based")
    ax.axvline(curve.recommended, color="grey", linestyle=":", label=f"recommended spend = {curve.recommended:g}")
    ax.set_xlabel("spend (cost units)")
    ax.set_ylabel(f"coverage (cos >= {curve.threshold:.2f})")
    ax.set_ylim(0.0, 1.0)
    handles, labels = ax.get_legend_handles_labels()
    if not np.all(np.isnan(curve.cost_influence)):
        ax2 = ax.twinx()
        ax2.plot(x, curve.cost_influence, marker="^", color="tab:red", label="influence, cost-aware")
        ax2.plot(x, curve.count_influence, marker="^", color="tab:red", linestyle="--", label="influence, count-based")
        ax2.set_ylabel("expected activated items")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="lower right", fontsize=8)
    ax.set_title(title or f"Spend curve ({curve.method})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
