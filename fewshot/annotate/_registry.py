"""Method names, :func:`get_strategy` and the one-call :func:`select`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fewshot.annotate._auto import Auto
from fewshot.annotate._base import ProgressCallback, Selection
from fewshot.annotate._facility import FacilityLocation
from fewshot.annotate._herding import KernelHerding
from fewshot.annotate._ideal import Ideal
from fewshot.annotate._ideal_hub import IdealHub
from fewshot.annotate._kmeans import KMeansSelection
from fewshot.annotate._mixed import MixedInfluenceCoverage
from fewshot.annotate._random import RandomSelection
from fewshot.annotate._strategies import STRATEGIES, get_strategy
from fewshot.annotate._stratified import Stratified
from fewshot.annotate._votek import VoteK
from fewshot.annotate._votek_div import VoteKDiv
from fewshot.annotate._votek_two_stage import TwoStageVoteK

__all__ = ["STRATEGIES", "get_strategy", "select"]

for _name, _cls in (
    ("votek", VoteK),
    ("votek2", TwoStageVoteK),
    ("ideal", Ideal),
    ("random", RandomSelection),
    ("kmeans", KMeansSelection),
    ("facility", FacilityLocation),
    # opt-in variants aimed at coverage (issue #15); the methods above stay as published
    ("stratified", Stratified),
    ("ideal-hub", IdealHub),
    ("votek-div", VoteKDiv),
    ("mixed", MixedInfluenceCoverage),
    ("herding", KernelHerding),
    ("auto", Auto),
):
    STRATEGIES.register(_name, _cls)


def select(
    vectors: Any,
    budget: int | None = None,
    method: str = "votek",
    *,
    labeled: Iterable[int] = (),
    seed: int = 0,
    center: bool = True,
    progress: ProgressCallback | None = None,
    budget_cost: float | None = None,
    costs: Any = None,
    **params: Any,
) -> Selection:
    """Choose ``budget`` rows of ``vectors`` to annotate with ``method``, or rows whose ``costs``
    fit in ``budget_cost``.

    Parameters
    ----------
    vectors : array-like of shape (n_examples, dim)
        Embeddings of the pool (finite; converted once to float32). Cosine similarity is used,
        after subtracting the pool mean when ``center`` (the research default).
    budget : int, optional
        ``0 < budget <= n_examples - len(labeled)``; ``budget == n_examples`` works.
        Exactly one of ``budget`` and ``budget_cost``.
    method : str
        A name registered in `STRATEGIES`: ``"votek"``, ``"votek2"``, ``"ideal"``,
        ``"random"``, ``"kmeans"``, ``"facility"``, the variants ``"stratified"``,
        ``"ideal-hub"``, ``"votek-div"``, ``"mixed"``, ``"auto"`` and any method registered later.
    labeled : iterable of int
        Rows already annotated (earlier rounds); they count as selected and are never returned.
    seed : int
        Seed for the methods that draw random numbers.
    center : bool
    progress : callable, optional
        ``progress(done, total)``.
    budget_cost : float, optional
        A total cost instead of a count: the knapsack-constrained selection of SPEC section 7
        (``votek``, ``ideal``, ``facility``, ``kmeans``, ``random``). With all costs equal to
        ``c`` it returns the count-based selection for ``floor(budget_cost / c)`` items.
    costs : array-like of shape (n_examples,), optional
        Each row's cost (finite, > 0; see `fewshot.annotate.item_costs`). Required with
        ``budget_cost``; with ``budget`` it only fills ``Selection.total_cost``.
    **params
        Method parameters (``k``, ``rho``, ``confidence``, ``epsilon``, ...).

    Returns
    -------
    Selection
        ``indices`` (int64, selection order), ``scores``, ``influence`` (IDEAL), ``method``,
        ``params``, ``total_cost`` (when costs are given).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 16))
    >>> select(X, 5, "votek", k=10).indices.shape
    (5,)
    >>> sel = select(X, method="facility", budget_cost=10.0, costs=np.linspace(1, 3, 100))
    >>> sel.total_cost <= 10.0
    True
    """
    strategy = get_strategy(method, center=center, **params)
    return strategy.select(
        vectors, budget, labeled=labeled, seed=seed, progress=progress, budget_cost=budget_cost, costs=costs
    )
