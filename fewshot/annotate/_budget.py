"""How many items to pay for: coverage, similarity and influence as the budget grows.

Greedy selections are nested (the first ``b`` picks of a run with budget ``B >= b`` are the run
with budget ``b``), so one run of ``max(budgets)`` picks gives every point of the curve.
For each budget ``b`` and its prefix ``S_b`` (plus ``labeled``):

* ``coverage``: share of pool items whose most similar item of ``S_b`` has cosine
  ``>= threshold``. Default threshold: the median over items of the cosine to their 10th nearest
  neighbour, i.e. "as close as a typical item's 10th neighbour".
* ``mean_similarity``: mean over pool items of that best cosine (computed blockwise against the
  prefix with a running maximum: ``n x max(budgets)`` work, never ``n x n``).
* ``influence``: duplicate-free Monte-Carlo influence of ``S_b`` (``n_mc`` runs, common random
  numbers across budgets) on IDEAL's k=10 cascade graph, whatever the selection method.

``recommended`` is the knee of the coverage curve by the Kneedle rule (Satopaa et al. 2011):
with the budgets and coverages rescaled to [0, 1] (budget 0, coverage from ``labeled`` alone, is
the origin), the budget that maximises ``coverage - budget``, i.e. where the marginal coverage
of one more item falls below the average rate over the whole range. With a flat curve it is the
smallest budget.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.annotate._base import (
    ProgressCallback,
    check_budget,
    check_float,
    check_int,
    check_labeled,
    check_seed,
    prepare_vectors,
)
from fewshot.annotate._diffusion import cascade_model, simulate_spread
from fewshot.annotate._graph import KnnGraph, build_knn_graph
from fewshot.annotate._registry import get_strategy
from fewshot.exceptions import InvalidInputError

__all__ = ["BudgetCurve", "budget_curve", "plot_budget_curve"]

_ROWS_PER_BLOCK = 8192


@dataclass(frozen=True)
class BudgetCurve:
    """Quality of nested selections as a function of the budget.

    Attributes
    ----------
    budgets : ndarray of int64, shape (m,)
        Increasing budgets.
    coverage, mean_similarity, influence : ndarray of float64, shape (m,)
        See the module documentation (``influence`` is NaN when ``n_mc == 0``).
    threshold : float
        Cosine threshold of ``coverage``.
    recommended : int
        Budget at the knee of the coverage curve.
    method : str
    order : ndarray of int64, shape (max(budgets),)
        The selection the prefixes come from.
    params : dict
        Parameters of the selection.
    """

    budgets: np.ndarray
    coverage: np.ndarray
    mean_similarity: np.ndarray
    influence: np.ndarray
    threshold: float
    recommended: int
    method: str
    order: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-serialisable dict per budget."""
        rows = []
        for i, b in enumerate(self.budgets.tolist()):
            infl = float(self.influence[i])
            rows.append(
                {
                    "budget": int(b),
                    "coverage": float(self.coverage[i]),
                    "mean_similarity": float(self.mean_similarity[i]),
                    "influence": None if np.isnan(infl) else infl,
                    "recommended": int(b) == self.recommended,
                }
            )
        return rows


def budget_curve(
    vectors: Any,
    budgets: Iterable[int],
    *,
    method: str = "votek",
    center: bool = True,
    threshold: float | None = None,
    seed: int = 0,
    labeled: Iterable[int] = (),
    n_mc: int = 200,
    progress: ProgressCallback | None = None,
    **params: Any,
) -> BudgetCurve:
    """Coverage, mean best similarity and influence of nested selections.

    Parameters
    ----------
    vectors : array-like of shape (n_examples, dim)
    budgets : iterable of int
        Budgets to evaluate (sorted and de-duplicated); each in ``(0, n - len(labeled)]``.
    method : str
        Selection method (see :func:`select`); ``**params`` go to it.
    threshold : float, optional
        Cosine threshold for coverage (default: median 10th-neighbour cosine).
    seed : int
    labeled : iterable of int
    n_mc : int, default 200
        Monte-Carlo runs per budget for the influence (0 to skip).

    Returns
    -------
    BudgetCurve
    """
    strategy = get_strategy(method, center=center, **params)
    Z = prepare_vectors(vectors, center=center)
    n = Z.shape[0]
    labeled_arr = check_labeled(labeled, n)
    seed = check_seed(seed)
    n_mc = check_int(n_mc, "n_mc", low=0)
    bs = _check_budgets(budgets, n, len(labeled_arr))
    if threshold is not None:
        threshold = check_float(threshold, "threshold", low=-1.0, high=1.0)
    used = strategy._check_params(n)
    used["seed"] = seed
    sel = strategy._select(Z, int(bs[-1]), labeled_arr, seed, progress, used)
    order = sel.indices

    graph = build_knn_graph(Z, 10, n_threads=used.get("n_threads"))
    if threshold is None:
        threshold = _default_threshold(graph)

    best = _best_similarity(Z, order, labeled_arr, bs)  # (n, m)
    coverage = (best >= np.float32(threshold)).mean(axis=0)
    mean_sim = best.mean(axis=0, dtype=np.float64)

    influence = np.full(bs.shape[0], np.nan)
    if n_mc > 0:
        model = cascade_model(graph)
        for i, b in enumerate(bs.tolist()):
            seeds = np.concatenate([labeled_arr, order[:b]])
            influence[i] = simulate_spread(model, seeds, n_mc, np.random.default_rng(seed)).mean()

    base, _ = _labeled_only(Z, labeled_arr, threshold)
    recommended = _kneedle(bs, coverage, base)
    return BudgetCurve(
        bs,
        coverage.astype(np.float64),
        mean_sim,
        influence,
        float(threshold),
        recommended,
        strategy.name,
        order,
        dict(sel.params),
    )


def _check_budgets(budgets: Iterable[int], n: int, n_labeled: int) -> np.ndarray:
    try:
        values = list(budgets)
    except TypeError:
        raise InvalidInputError(f"budgets must be an iterable of integers; got {budgets!r}") from None
    if not values:
        raise InvalidInputError("budgets must not be empty")
    for b in values:
        if isinstance(b, bool) or not isinstance(b, numbers.Integral):
            raise InvalidInputError(f"budgets must be integers; got {b!r}")
        check_budget(b, n, n_labeled)
    return np.unique(np.asarray(values, dtype=np.int64))


def _default_threshold(graph: KnnGraph) -> float:
    """The coverage threshold when none is given: the median similarity of each row to its 10th
    neighbour (0 for a graph without neighbours)."""
    tenth = graph.similarities[:, -1][graph.neighbors[:, -1] >= 0]
    return float(np.median(tenth)) if tenth.size else 0.0


def _labeled_only(Z: np.ndarray, labeled: np.ndarray, threshold: float) -> tuple[float, float]:
    """Coverage and mean best cosine of the labeled rows alone (0 when there are none)."""
    if not labeled.size:
        return 0.0, 0.0
    best = _best_similarity(Z, labeled, np.zeros(0, np.int64), np.array([labeled.size]))[:, 0]
    return float((best >= np.float32(threshold)).mean()), float(best.mean(dtype=np.float64))


def _best_similarity(Z: np.ndarray, order: np.ndarray, labeled: np.ndarray, budgets: np.ndarray) -> np.ndarray:
    """best[i, j] = max cosine of item i to labeled + order[:budgets[j]]."""
    n = Z.shape[0]
    out = np.empty((n, budgets.shape[0]), dtype=np.float32)
    P = Z[order[: int(budgets[-1])]]
    L = Z[labeled] if labeled.size else None
    for s in range(0, n, _ROWS_PER_BLOCK):
        block = Z[s : s + _ROWS_PER_BLOCK]
        run = np.maximum.accumulate(block @ P.T, axis=1)
        vals = run[:, budgets - 1]
        if L is not None:
            np.maximum(vals, (block @ L.T).max(axis=1, keepdims=True), out=vals)
        out[s : s + _ROWS_PER_BLOCK] = vals
    return out


def _kneedle(budgets: np.ndarray, coverage: np.ndarray, base: float) -> int:
    x = np.concatenate([[0.0], budgets.astype(np.float64)])
    y = np.concatenate([[base], coverage.astype(np.float64)])
    span_y = y.max() - y.min()
    if budgets.shape[0] == 1 or span_y <= 0:
        return int(budgets[0])
    xn = x / x[-1]
    yn = (y - y.min()) / span_y
    j = int(np.argmax((yn - xn)[1:])) + 1
    return int(x[j])


def plot_budget_curve(curve: BudgetCurve, path: str | Path, *, title: str | None = None) -> Path:
    """Write the curve as a PNG (coverage and mean similarity left, influence right)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(7.0, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    b = curve.budgets
    ax.plot(b, curve.coverage, marker="o", label=f"coverage (cos >= {curve.threshold:.2f})")
    ax.plot(b, curve.mean_similarity, marker="s", label="mean best cosine")
    ax.axvline(curve.recommended, color="grey", linestyle="--", label=f"recommended budget = {curve.recommended}")
    ax.set_xlabel("budget (items to annotate)")
    ax.set_ylabel("share / cosine")
    ax.set_ylim(0.0, 1.0)
    handles, labels = ax.get_legend_handles_labels()
    if not np.all(np.isnan(curve.influence)):
        ax2 = ax.twinx()
        ax2.plot(b, curve.influence, marker="^", color="tab:red", label="influence (IDEAL)")
        ax2.set_ylabel("expected activated items")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="lower right", fontsize=8)
    ax.set_title(title or f"Budget curve ({curve.method})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
