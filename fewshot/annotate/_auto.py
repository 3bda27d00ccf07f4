"""``auto``: choose a selection method from the pool's own structure, then run it.

:func:`choose_method` measures the pool (on a seeded sample of at most ``max_sample`` rows of the
centred, unit vectors) and applies an :class:`AutoRule`:

* ``share``: ``(budget + len(labeled)) / n``, how much of the pool the budget buys;
* ``cells``: the stratified method's default cell count for this budget;
* ``silhouette``: the simplified silhouette of a spherical k-means with ``cells`` cells (for each
  row ``(b - a) / max(a, b)`` with ``a`` the cosine distance to its centroid and ``b`` to the
  nearest other centroid, averaged). k-means always finds some separation, so this is compared
  with ``silhouette_null``, the same measure on a *Gaussian twin* of the sample (as many rows
  drawn from the Gaussian with the sample's covariance, normalised): ``cluster_excess =
  silhouette - silhouette_null`` is the cluster structure beyond what the spread alone gives
  (MiniLM pools of 3,000, B = 18-100, mean of 3 draws: sst5 0.03-0.04, rte 0.045-0.065, mrpc
  0.05-0.08, trec 0.065-0.075; the raw silhouettes, 0.14-0.21, are all above their twins'
  0.11-0.16, so the raw value cannot tell). The k-means takes the best of 3 starts: with one, a
  poor local optimum made the measure noisy. In a few dimensions the twin of a strongly
  clustered pool is itself anisotropic enough to look clustered; sentence embeddings have
  hundreds of dimensions;
* ``largest_cell``: the share of rows in the largest cell;
* ``hubness``: the skewness of the in-degree of the k=10 neighbour graph (Radovanovic et al.
  2010); large values mean a few hubs sit in many neighbour lists, where influence (IDEAL) and
  vote counts (vote-k) concentrate on dense regions.

The default rule comes from `benchmarks/bench_selection_quality.py` (issue #15). The default
method is kernel herding (``herding``), which picks in proportion to the pool's density:

* on the LM-free proxy over 6 tasks (sst5, trec, rte, mrpc, MATH subjects, GSM8K skills) x B in
  {18, 50, 100} x 5 seeds, herding had the best mean gain over random (+5.6%; vote-k +3.9%,
  facility +1.6%), no loss whose paired 95% interval excludes zero, and a smallest cell of -1.4
  points (vote-k -3.6);
* with real LMs (5 seeds; Gemma-3-270M on SST-5 and TREC with 100 test items, SmolLM2-135M on
  SST-5 with 40 and TREC with 60; B 18, 50, 100) herding's mean paired delta over random was +2.4
  points against +1.3 for vote-k, above vote-k's in 9 of the 12 cells, and its worst cell -3.0
  against -6.2 (vote-k stays ahead on TREC, whose question types form clusters).
  Vote-k's losses there come from its label mix: its sets under-represent labels that live in
  dense regions (SST-5 "bad": 14-21% of its picks against 27-30% for random), and the model then
  answers them less often. Every one of these cells is a tie at these test sizes.

Before that evidence the default was vote-k (``AutoRule(default_method="votek")`` restores it).
The structure-driven step that sent clustered pools to ``stratified`` lost on MRPC at B=18
(-13.9%, the interval below zero), so it is off by default and kept as a slot:

1. ``share >= rule.large_share`` (0.5): ``rule.large_method`` (``facility``): the budget buys
   much of the pool, where the budget nears the pool and plain coverage is the safer objective.
2. ``rule.clustered_method`` is set (off by default), ``cluster_excess >= rule.excess_min`` and
   ``budget / cells >= rule.min_per_cell``: that method (e.g. ``stratified``).
3. ``rule.hubness_method`` is set (off by default) and ``hubness <= rule.hubness_max``: that method.
4. Otherwise ``rule.default_method`` (``herding``).

``Selection.params`` of an ``auto`` run hold ``chosen`` (the method), ``reasons`` (the numbers
above and the step of the rule that decided) and ``chosen_params`` (the chosen method's own
parameters), so a caller can say why.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from fewshot.annotate._base import (
    Selection,
    SelectionStrategy,
    check_int,
    check_labeled,
    check_seed,
    json_params,
    prepare_vectors,
)
from fewshot.annotate._graph import build_knn_graph, faiss_threads
from fewshot.annotate._kmeans import spherical_kmeans
from fewshot.annotate._stratified import default_cell_count
from fewshot.exceptions import InvalidInputError

__all__ = ["Auto", "AutoRule", "choose_method", "pool_structure"]


@dataclass(frozen=True)
class AutoRule:
    """Thresholds and method names of `choose_method`'s rule (see the module docstring)."""

    large_share: float = 0.5
    large_method: str = "facility"
    excess_min: float = 0.05
    min_per_cell: float = 2.0
    clustered_method: str | None = None
    hubness_max: float = 1.0
    hubness_method: str | None = None
    default_method: str = "herding"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AutoRule:
        """A rule from a mapping of field names (unknown names are an error naming them)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"rule: unknown field(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def methods(self) -> list[str]:
        """The method names the rule can choose."""
        names = [self.large_method, self.default_method]
        names += [m for m in (self.clustered_method, self.hubness_method) if m is not None]
        return names


DEFAULT_RULE = AutoRule()


def pool_structure(
    Z: np.ndarray, budget: int, n_labeled: int, *, seed: int = 0, max_sample: int = 4000
) -> dict[str, Any]:
    """The numbers `choose_method` decides on (see the module docstring).

    Parameters
    ----------
    Z : ndarray of float32, shape (n, dim)
        Centred unit rows (`prepare_vectors`).
    budget, n_labeled : int
    seed : int
        Seed of the row sample and the k-means.
    max_sample : int
        Rows measured at most (a seeded uniform sample above it).

    Returns
    -------
    dict of JSON numbers: ``n``, ``budget``, ``n_labeled``, ``share``, ``sample``, ``cells``,
    ``silhouette``, ``silhouette_null``, ``cluster_excess``, ``largest_cell``, ``hubness``.
    """
    n = Z.shape[0]
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=max_sample, replace=False)) if n > max_sample else np.arange(n)
    S = np.ascontiguousarray(Z[rows])
    m = S.shape[0]
    total = budget + n_labeled
    cells = default_cell_count(total, m)
    silhouette, silhouette_null, largest = 0.0, 0.0, 1.0
    if cells >= 2 and m > cells:
        silhouette, assign = _simplified_silhouette(S, cells, seed)
        largest = float(np.bincount(assign, minlength=cells).max() / m)
        silhouette_null, _ = _simplified_silhouette(_gaussian_twin(S, rng), cells, seed)
    hubness = 0.0
    if m > 11:
        graph = build_knn_graph(S, 10)
        nb = graph.neighbors[graph.neighbors >= 0].astype(np.int64)
        indeg = np.bincount(nb, minlength=m).astype(np.float64)
        sd = indeg.std()
        hubness = float(np.mean((indeg - indeg.mean()) ** 3) / sd**3) if sd > 0 else 0.0
    return {
        "n": int(n),
        "budget": int(budget),
        "n_labeled": int(n_labeled),
        "share": float(total / n),
        "sample": int(m),
        "cells": int(cells),
        "silhouette": round(silhouette, 6),
        "silhouette_null": round(silhouette_null, 6),
        "cluster_excess": round(silhouette - silhouette_null, 6),
        "largest_cell": round(largest, 6),
        "hubness": round(hubness, 6),
    }


def _simplified_silhouette(S: np.ndarray, cells: int, seed: int) -> tuple[float, np.ndarray]:
    """Mean over rows of ``(b - a) / max(a, b)`` (cosine distances to the own and to the nearest
    other centroid of a spherical k-means), and the cell of each row."""
    m = S.shape[0]
    with faiss_threads(None):
        centroids, assign = spherical_kmeans(S, cells, seed, n_iter=20, n_init=3, max_points_per_centroid=256)
    sims = S @ centroids.T  # (m, cells)
    own = sims[np.arange(m), assign].astype(np.float64)
    sims[np.arange(m), assign] = -np.inf
    a = 1.0 - own
    b = 1.0 - sims.max(axis=1).astype(np.float64)
    return float(np.mean((b - a) / np.maximum(np.maximum(a, b), 1e-12))), assign


def _gaussian_twin(S: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit rows drawn from the Gaussian with ``S``'s mean-free covariance (same shape): a pool
    with the same spread and no cluster structure."""
    C = S - S.mean(axis=0, dtype=np.float64)
    _, sv, vt = np.linalg.svd(C, full_matrices=False)
    G = rng.standard_normal((S.shape[0], sv.shape[0])) @ ((sv / math.sqrt(max(S.shape[0] - 1, 1)))[:, None] * vt)
    norms = np.linalg.norm(G, axis=1, keepdims=True)
    return np.ascontiguousarray(G / np.where(norms == 0.0, 1.0, norms), dtype=np.float32)


def decide(stats: dict[str, Any], rule: AutoRule = DEFAULT_RULE) -> tuple[str, str]:
    """Apply ``rule`` to the numbers of `pool_structure`: ``(method, why)``."""
    if stats["share"] >= rule.large_share:
        return rule.large_method, f"share {stats['share']:.3f} >= large_share {rule.large_share}"
    per_cell = stats["budget"] / max(stats["cells"], 1)
    if (
        rule.clustered_method is not None
        and stats["cluster_excess"] >= rule.excess_min
        and stats["cells"] >= 2
        and per_cell >= rule.min_per_cell
    ):
        return rule.clustered_method, (
            f"cluster excess {stats['cluster_excess']:.3f} >= {rule.excess_min} and "
            f"{per_cell:.1f} items per cell >= {rule.min_per_cell}"
        )
    if rule.hubness_method is not None and stats["hubness"] <= rule.hubness_max:
        return rule.hubness_method, f"hubness {stats['hubness']:.2f} <= hubness_max {rule.hubness_max}"
    return rule.default_method, (
        f"share {stats['share']:.3f} < large_share {rule.large_share}: {rule.default_method} (the default; "
        f"cluster excess {stats['cluster_excess']:.3f}, {per_cell:.1f} items per cell)"
    )


def choose_method(
    vectors: Any,
    budget: int,
    labeled: Any = (),
    *,
    seed: int = 0,
    center: bool = True,
    rule: AutoRule | None = None,
    max_sample: int = 4000,
) -> tuple[str, dict[str, Any]]:
    """The method ``auto`` would run on this pool and budget, and why.

    Parameters
    ----------
    vectors : array-like of shape (n_examples, dim)
    budget : int
    labeled : iterable of int
    seed : int
    center : bool
        Subtract the pool mean first (as the selection does).
    rule : AutoRule, optional
        Thresholds (default `DEFAULT_RULE`).
    max_sample : int

    Returns
    -------
    (name, reasons)
        A registered method name; ``reasons``: `pool_structure`'s numbers plus ``why`` (the
        rule's deciding step, in words) and ``rule`` (its fields).
    """
    Z = prepare_vectors(vectors, center=center)
    labeled_arr = check_labeled(labeled, Z.shape[0])
    return _choose(Z, budget, labeled_arr.shape[0], check_seed(seed), rule or DEFAULT_RULE, max_sample)


def _choose(Z: np.ndarray, budget: int, n_labeled: int, seed: int, rule: AutoRule, max_sample: int):
    stats = pool_structure(Z, budget, n_labeled, seed=seed, max_sample=max_sample)
    name, why = decide(stats, rule)
    return name, {**stats, "why": why, "rule": asdict(rule)}


class Auto(SelectionStrategy):
    """Runs the method `choose_method` picks for this pool and budget.

    Parameters
    ----------
    rule : AutoRule or dict, optional
        The thresholds (default `DEFAULT_RULE`; a dict of its fields is accepted).
    max_sample : int, default 4000
        Rows measured to decide.
    center : bool, default True

    ``Selection.method`` is ``"auto"``; ``params["chosen"]`` names the method that ran,
    ``params["reasons"]`` the numbers that decided, ``params["chosen_params"]`` its parameters.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> Auto().select(X, 5).params["chosen"] == "herding"
    True
    """

    name = "auto"

    def __init__(
        self, *, rule: AutoRule | dict[str, Any] | None = None, max_sample: int = 4000, center: bool = True
    ) -> None:
        super().__init__(center=center)
        self.rule = rule
        self.max_sample = max_sample

    def _check_params(self, n: int) -> dict[str, Any]:
        from fewshot.annotate._strategies import STRATEGIES

        params = super()._check_params(n)
        rule = self.rule
        if rule is None:
            rule = DEFAULT_RULE
        elif isinstance(rule, dict):
            rule = AutoRule.from_dict(rule)
        elif not isinstance(rule, AutoRule):
            raise InvalidInputError(f"rule must be an AutoRule or a mapping of its fields; got {rule!r}")
        for name in rule.methods():
            if name == self.name:
                raise InvalidInputError("rule: auto cannot choose itself")
            if getattr(STRATEGIES.get(name), "needs_confidence", False):
                raise InvalidInputError(f"rule: {name!r} needs a confidence function; auto cannot run it")
        params["rule"] = asdict(rule)
        params["max_sample"] = check_int(self.max_sample, "max_sample", low=2)
        return params

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        from fewshot.annotate._strategies import get_strategy

        rule = AutoRule(**params["rule"])
        name, reasons = _choose(Z, budget, labeled.shape[0], seed, rule, params["max_sample"])
        strategy = get_strategy(name, center=params["center"])
        inner = strategy._check_params(Z.shape[0])
        inner["seed"] = seed
        sel = strategy._select(Z, budget, labeled, seed, progress, inner)
        out = json_params({k: v for k, v in params.items() if k != "rule"})
        out.update(chosen=name, reasons=reasons, chosen_params=dict(sel.params))
        return Selection(sel.indices, sel.scores, self.name, out, sel.influence, sel.total_cost)
