"""The cost budget every cost-aware selection works against (SPEC section 7).

Items carry costs ``c_i > 0`` and the budget is a total ``C``. :class:`CostBudget` holds the costs
*normalised by the cheapest candidate* (so the cheapest free item costs exactly 1.0) and the
budget in the same unit. With all costs equal every normalised cost is exactly 1.0, so gain per
unit cost *is* the gain (bit for bit) and the budget buys ``floor(C / c)`` items: the cost-aware
greedy then replays the count-based one. An item fits when ``spent + c <= C (1 + 1e-9)``, a
relative slack that absorbs the rounding of ``C / c`` (``50 / 0.1`` is not exactly 500).

:func:`best_of` keeps the best of the greedy runs: for a monotone submodular objective the better
of the cost-benefit greedy and the best single affordable item is within ``(1 - 1/e) / 2`` of
the optimum under the knapsack constraint (Khuller, Moss and Naor 1999; Leskovec et al. 2007).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from fewshot.exceptions import InvalidInputError

__all__ = ["CostBudget", "GreedyRun", "best_of", "REL_SLACK"]

#: Relative slack on the budget: an item fits when ``spent + cost <= capacity * (1 + REL_SLACK)``.
REL_SLACK = 1e-9


@dataclass(frozen=True)
class CostBudget:
    """Normalised costs and budget.

    Attributes
    ----------
    costs : ndarray of float64, shape (n,)
        ``raw / scale``; labeled rows hold ``2 * limit + 2`` (finite, never affordable).
    raw : ndarray of float64, shape (n,)
        The costs as given (labeled rows: NaN or whatever was passed).
    free : ndarray of bool, shape (n,)
        Rows that may be picked (not labeled).
    capacity : float
        ``budget_cost / scale``.
    limit : float
        ``capacity * (1 + REL_SLACK)``: the most a selection may spend (normalised).
    scale : float
        The cheapest candidate's cost (the unit).
    budget_cost : float
        The budget as given.
    """

    costs: np.ndarray
    raw: np.ndarray
    free: np.ndarray
    capacity: float
    limit: float
    scale: float
    budget_cost: float

    @classmethod
    def build(cls, raw: np.ndarray, budget_cost: float, labeled: np.ndarray) -> CostBudget:
        """From checked costs (`check_costs`) and the raw budget; refuses a budget that buys nothing."""
        if isinstance(budget_cost, bool) or not isinstance(budget_cost, numbers.Real):
            raise InvalidInputError(f"budget_cost must be a number; got {budget_cost!r}")
        budget_cost = float(budget_cost)
        if not math.isfinite(budget_cost) or budget_cost <= 0:
            raise InvalidInputError(f"budget_cost must be a finite number > 0; got {budget_cost}")
        free = np.ones(raw.shape[0], dtype=bool)
        free[labeled] = False
        if not free.any():
            raise InvalidInputError("no unlabeled row left to select")
        scale = float(raw[free].min())
        capacity = budget_cost / scale
        limit = capacity * (1.0 + REL_SLACK)
        costs = np.full(raw.shape[0], 2.0 * limit + 2.0)
        costs[free] = raw[free] / scale
        if limit < 1.0:
            cheapest = int(np.flatnonzero(free)[np.argmin(raw[free])])
            raise InvalidInputError(
                f"budget_cost {budget_cost:g} buys no item: the cheapest unlabeled row ({cheapest}) costs {scale:g}"
            )
        return cls(costs, raw, free, float(capacity), float(limit), scale, float(budget_cost))

    def max_items(self) -> int:
        """How many items the budget buys at most (the cheapest ones first)."""
        c = np.sort(self.costs[self.free])
        return max(1, int(np.searchsorted(np.cumsum(c), self.limit, side="right")))

    def spent(self, picks: np.ndarray) -> float:
        """Total raw cost of ``picks``."""
        return float(self.raw[picks].sum()) if picks.size else 0.0


class Affordable:
    """Which free rows still fit as the spend grows (costs visited from the most expensive down,
    so each row is struck out once: ``O(n)`` over a whole run)."""

    def __init__(self, cb: CostBudget) -> None:
        self.costs = cb.costs
        self.limit = cb.limit
        self.order = np.argsort(-cb.costs, kind="stable")
        self.pos = 0
        self.spent = 0.0

    def pay(self, u: int) -> None:
        self.spent += float(self.costs[u])

    def newly_unaffordable(self) -> np.ndarray:
        """Rows that stopped fitting since the last call (labeled rows come first)."""
        room = self.limit - self.spent
        start = self.pos
        order, costs = self.order, self.costs
        n = order.shape[0]
        while self.pos < n and costs[order[self.pos]] > room:
            self.pos += 1
        return order[start : self.pos]

    def fits(self, u: int) -> bool:
        return bool(self.spent + float(self.costs[u]) <= self.limit)


@dataclass(frozen=True)
class GreedyRun:
    """One greedy run: picks in order, the gain of each, the objective value reached."""

    rule: str
    picks: np.ndarray
    gains: np.ndarray
    value: float


def best_of(runs: list[GreedyRun]) -> GreedyRun:
    """The run of largest ``value``; on ties the earliest (the cost-benefit run goes first)."""
    best = runs[0]
    for run in runs[1:]:
        if run.value > best.value:
            best = run
    return best
