"""``mixed``: influence plus coverage, one greedy over a sum of two submodular objectives.

IDEAL's influence rewards dense regions; facility location rewards covering the pool (issue #15:
coverage objectives did best, IDEAL's sets were the most label-skewed). This method maximises

    G(S) = I(S) / I1 + lambda_ * F(S) / F1

* ``I(S)``: the number of IDEAL's reverse-reachable sets that ``S`` meets (IDEAL's influence
  estimate up to the factor ``n / #sets``; the k=10 cascade of `fewshot.annotate._ideal`, IMM's
  set count for the budget or ``n_rr_sets``);
* ``F(S)``: facility location on the k=20 graph (`fewshot.annotate._facility`):
  ``sum_i max(w(i, s) for s in S)``;
* ``I1``, ``F1``: the largest single-item gain of each objective over ``labeled`` at the start,
  so both terms are on the same scale (the best single item scores 1 on each) and ``lambda_``
  is their relative weight (0: IDEAL's RR-set greedy).

Both objectives are monotone submodular, so ``G`` is too and the greedy is within ``1 - 1/e`` of
optimal (up to IMM's sampling error on ``I``). Each objective's marginal gains are kept exact
after every pick (the RR-set coverage counts and facility location's affected candidates), so
the greedy takes the exact arg-max at each step, which is what lazy greedy (CELF) returns, without
stale bounds. Ties go to the smallest row number. ``labeled`` rows are in ``S`` from the start.
The one kNN graph is built with ``max(k, k_facility)`` neighbours; IDEAL's graph is its first
``k`` columns.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fewshot.annotate._base import (
    Selection,
    SelectionStrategy,
    check_float,
    check_int,
    check_optional_int,
    json_params,
)
from fewshot.annotate._diffusion import _Coverage, cascade_model, sample_rr_sets
from fewshot.annotate._facility import _FacilityGreedy
from fewshot.annotate._graph import check_graph_params, graph_from_params
from fewshot.annotate._ideal import imm_set_count

__all__ = ["MixedInfluenceCoverage"]


class MixedInfluenceCoverage(SelectionStrategy):
    """Greedy on normalised IDEAL influence (RR-set coverage) + ``lambda_`` x normalised facility
    location (see the module docstring).

    Parameters
    ----------
    lambda_ : float, default 1.0
        Weight of the coverage term, ``>= 0``.
    k : int, default 10
        Out-neighbours of IDEAL's cascade graph.
    k_facility : int, default 20
        Neighbours whose similarity counts in facility location.
    epsilon, n_rr_sets, max_rr_sets, min_similarity, exact_threshold
        As for :class:`Ideal`.
    exact, n_threads, center, device
        As for :class:`VoteK`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> MixedInfluenceCoverage(n_rr_sets=2000).select(X, 5, seed=1).indices.shape
    (5,)
    """

    name = "mixed"

    def __init__(
        self,
        *,
        lambda_: float = 1.0,
        k: int = 10,
        k_facility: int = 20,
        epsilon: float = 0.2,
        n_rr_sets: int | None = None,
        max_rr_sets: int = 2_000_000,
        min_similarity: float = 1e-6,
        exact: bool | None = None,
        exact_threshold: int = 50_000,
        n_threads: int | None = None,
        center: bool = True,
        device: str | None = None,
    ) -> None:
        super().__init__(center=center)
        self.lambda_ = lambda_
        self.k = k
        self.k_facility = k_facility
        self.epsilon = epsilon
        self.n_rr_sets = n_rr_sets
        self.max_rr_sets = max_rr_sets
        self.min_similarity = min_similarity
        self.exact = exact
        self.exact_threshold = exact_threshold
        self.n_threads = n_threads
        self.device = device

    def _check_params(self, n: int) -> dict[str, Any]:
        params = super()._check_params(n)
        params["lambda_"] = check_float(self.lambda_, "lambda_", low=0.0, high=1e6)
        params["k"] = check_int(self.k, "k", low=1)
        params["k_facility"] = check_int(self.k_facility, "k_facility", low=1)
        params["epsilon"] = check_float(self.epsilon, "epsilon", low=0.0, high=1.0, low_open=True, high_open=True)
        params["n_rr_sets"] = check_optional_int(self.n_rr_sets, "n_rr_sets")
        params["max_rr_sets"] = check_int(self.max_rr_sets, "max_rr_sets", low=1)
        params["min_similarity"] = check_float(self.min_similarity, "min_similarity", low=0.0, high=1.0, low_open=True)
        params["exact_threshold"] = check_int(self.exact_threshold, "exact_threshold", low=0)
        params.update(check_graph_params(self))
        return params

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        n = Z.shape[0]
        k_inf, k_fac = params["k"], params["k_facility"]
        graph = graph_from_params(Z, max(k_inf, k_fac), params, progress)
        params.update(k_used=min(k_inf, graph.k), k_facility_used=min(k_fac, graph.k), exact_graph=graph.exact)
        ideal_graph = replace(
            graph, neighbors=graph.neighbors[:, :k_inf].copy(), similarities=graph.similarities[:, :k_inf].copy()
        )
        model = cascade_model(ideal_graph, min_similarity=params["min_similarity"])
        rng_rr = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
        if params["n_rr_sets"] is not None:
            rr = sample_rr_sets(model, params["n_rr_sets"], rng_rr, progress=progress)
        else:
            _, rr = imm_set_count(
                model, budget, labeled, params["epsilon"], rng_rr, max_sets=params["max_rr_sets"], progress=progress
            )
        influence = _Coverage(rr, n)
        facility = _FacilityGreedy(graph.neighbors[:, :k_fac], graph.similarities[:, :k_fac])
        out = np.zeros(n, dtype=bool)
        covered = 0
        for u in labeled.tolist():
            covered += influence.cover(u)
            facility.take(u)
            out[u] = True
        scale_inf = _best_gain(influence.gain.astype(np.float64), out)
        scale_fac = _best_gain(facility.gain, out)
        lam = params["lambda_"]
        picks = np.empty(budget, dtype=np.int64)
        scores = np.empty(budget, dtype=np.float64)
        for i in range(budget):
            key = influence.gain / scale_inf + lam * (np.maximum(facility.gain, 0.0) / scale_fac)
            key[out] = -np.inf
            u = int(np.argmax(key))
            picks[i], scores[i] = u, key[u]
            covered += influence.cover(u)
            facility.take(u)
            out[u] = True
            if progress is not None:
                progress(i + 1, budget)
        params.update(
            rr_sets=int(rr.count),
            rr_influence=float(covered * n / max(rr.count, 1)),
            influence_scale=float(scale_inf),
            coverage_scale=float(scale_fac),
            coverage=float(facility.cover.sum()),
        )
        return Selection(picks, scores, self.name, json_params(params))


def _best_gain(gain: np.ndarray, out: np.ndarray) -> float:
    """The largest gain among rows not in ``out`` (1.0 when none is positive)."""
    free = gain[~out]
    best = float(free.max()) if free.size else 0.0
    return best if best > 0.0 else 1.0
