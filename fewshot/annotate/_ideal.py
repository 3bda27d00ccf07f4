"""IDEAL: influence-driven selective annotation (Zhang et al., ICLR 2024).

Steps, numbered as in SPEC section 3:

1. Directed kNN graph with ``k = 10`` (the vote-k neighbour rule; exact search up to 50,000
   items, HNSW above) and edge probabilities
   ``p(v, u)`` proportional to the cosine, normalised per source node
   (:func:`fewshot.annotate._diffusion.cascade_model`; negative cosines clipped to
   ``min_similarity``).
2. Influence of a set = expected number of nodes an independent cascade from it activates,
   every node counted once (the research code's estimator counts a node reached by two parents
   in one step twice, and uses 10 Monte-Carlo runs).
3. Greedy maximisation of the influence. Instead of re-simulating cascades for every candidate
   at every step (``O(B n R)`` cascades), reverse-reachable sets are sampled once and the greedy
   becomes max coverage over them (the IMM algorithm, Tang, Shi and Xiao, SIGMOD 2015): every
   candidate's marginal gain is known at every step, and the result is within
   ``1 - 1/e - epsilon`` of optimal with probability ``1 - 1/n`` (IMM's guarantee). The number of
   sets follows IMM's two phases (a lower bound of the optimum, then ``theta = lambda* / LB``;
   the second phase samples fresh sets, as Chen 2018 recommends), capped by ``max_rr_sets``, or
   is fixed by ``n_rr_sets``. The first pick is therefore the node of largest estimated
   influence, not node 0. Already labeled items are seeds from the start; gains are marginal
   over them.

``Selection.influence`` is a separate, duplicate-free Monte-Carlo estimate (``n_mc`` runs) of the
influence of the chosen set together with ``labeled``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from fewshot.annotate._base import (
    ProgressCallback,
    Selection,
    SelectionStrategy,
    check_float,
    check_int,
    check_optional_int,
    json_params,
)
from fewshot.annotate._diffusion import (
    CascadeModel,
    RRSets,
    cascade_model,
    greedy_max_coverage,
    knapsack_max_coverage,
    sample_rr_sets,
    simulate_spread,
)
from fewshot.annotate._graph import KnnGraph, check_graph_params, graph_from_params
from fewshot.annotate._knapsack import GreedyRun, best_of

__all__ = ["Ideal", "imm_set_count"]

logger = logging.getLogger(__name__)


class Ideal(SelectionStrategy):
    """Influence-driven selection (IDEAL) with reverse-reachable-set greedy.

    Parameters
    ----------
    k : int, default 10
        Out-neighbours per node.
    epsilon : float, default 0.2
        IMM accuracy: ``1 - 1/e - epsilon`` approximation with probability ``1 - 1/n``
        (ignored when ``n_rr_sets`` is given).
    n_rr_sets : int, optional
        Use exactly this many RR sets instead of IMM's bound.
    max_rr_sets : int, default 2,000,000
        Cap on the number of RR sets IMM may ask for (memory: about 8 bytes per set member).
    n_mc : int, default 500
        Monte-Carlo runs for the reported ``influence`` (0 to skip).
    min_similarity : float, default 1e-6
        Floor for cosines used as edge weights.
    exact : bool, optional
        Graph search. By default exact up to ``exact_threshold`` items and HNSW above: IDEAL is
        judged by the influence of its set, not reproduced bit for bit, and the k=10 graph of
        100,000 items costs about 4x less with HNSW (recall@10 about 0.9).
    exact_threshold : int, default 50,000
    n_threads, center, device, approx, nlist, nprobe
        As for :class:`VoteK`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> sel = Ideal(n_rr_sets=2000, n_mc=50).select(X, 5, seed=1)
    >>> sel.indices.shape, sel.influence > 5
    ((5,), True)
    """

    name = "ideal"
    #: Scores are the marginal gains the greedy saw (partitioned selection merges by them).
    scores_are_gains = True

    def __init__(
        self,
        *,
        k: int = 10,
        epsilon: float = 0.2,
        n_rr_sets: int | None = None,
        max_rr_sets: int = 2_000_000,
        n_mc: int = 500,
        min_similarity: float = 1e-6,
        exact: bool | None = None,
        exact_threshold: int = 50_000,
        n_threads: int | None = None,
        center: bool = True,
        device: str | None = None,
        approx: str | None = None,
        nlist: int | None = None,
        nprobe: int | None = None,
    ) -> None:
        super().__init__(center=center)
        self.approx = approx
        self.nlist = nlist
        self.nprobe = nprobe
        self.k = k
        self.epsilon = epsilon
        self.n_rr_sets = n_rr_sets
        self.max_rr_sets = max_rr_sets
        self.n_mc = n_mc
        self.min_similarity = min_similarity
        self.exact = exact
        self.exact_threshold = exact_threshold
        self.n_threads = n_threads
        self.device = device

    def _check_params(self, n: int) -> dict[str, Any]:
        params = super()._check_params(n)
        params["k"] = check_int(self.k, "k", low=1)
        params["epsilon"] = check_float(self.epsilon, "epsilon", low=0.0, high=1.0, low_open=True, high_open=True)
        params["n_rr_sets"] = check_optional_int(self.n_rr_sets, "n_rr_sets")
        params["max_rr_sets"] = check_int(self.max_rr_sets, "max_rr_sets", low=1)
        params["n_mc"] = check_int(self.n_mc, "n_mc", low=0)
        params["min_similarity"] = check_float(self.min_similarity, "min_similarity", low=0.0, high=1.0, low_open=True)
        params["exact_threshold"] = check_int(self.exact_threshold, "exact_threshold", low=0)
        params.update(check_graph_params(self))
        return params

    def _select(self, Z, budget, labeled, seed, progress, params) -> Selection:
        n = Z.shape[0]
        model, rr, scale, rng_mc = self._rr_sets(Z, budget, labeled, seed, progress, params)
        picks, gains, covered = greedy_max_coverage(rr, n, budget, labeled)
        influence = self._finish(model, rr, labeled, picks, covered, rng_mc, params)
        if progress is not None:
            progress(budget, budget)
        return Selection(picks, gains.astype(np.float64) * scale, self.name, json_params(params), influence)

    def _select_cost(self, Z, cb, labeled, seed, progress, params) -> Selection:
        """Best of the cost-benefit greedy, the unit-cost greedy and the best single affordable
        item on the RR-set coverage (SPEC section 7). IMM sizes its sample for the most items
        the budget buys (the count-based budget when all costs are equal)."""
        n = Z.shape[0]
        count = min(cb.max_items(), n - labeled.shape[0])
        model, rr, scale, rng_mc = self._rr_sets(Z, count, labeled, seed, progress, params)
        runs = []
        for rule in ("cost-benefit", "unit-cost"):
            picks, gains, covered = knapsack_max_coverage(rr, n, cb.costs, cb.limit, labeled, rule=rule)
            runs.append(GreedyRun(rule, picks, gains, float(covered)))
        # best single: the largest coverage gain over labeled among the rows that fit on their own
        picks1, gains1, covered1 = knapsack_max_coverage(
            rr, n, np.where(cb.costs <= cb.limit, 1.0, np.inf), 1.0, labeled, rule="unit-cost"
        )
        runs.append(GreedyRun("best-single", picks1, gains1, float(covered1)))
        best = best_of(runs)
        params["cost_rule"] = best.rule
        influence = self._finish(model, rr, labeled, best.picks, int(best.value), rng_mc, params)
        if progress is not None:
            progress(count, count)
        return Selection(best.picks, best.gains.astype(np.float64) * scale, self.name, json_params(params), influence)

    def _rr_sets(self, Z, budget, labeled, seed, progress, params):
        """The cascade model, the RR sets (IMM's count for ``budget`` seeds, or ``n_rr_sets``),
        ``n / count`` and the Monte-Carlo generator."""
        n = Z.shape[0]
        graph = graph_from_params(Z, params["k"], params, progress)
        params.update(k_used=graph.k, exact_graph=graph.exact)
        model = self._cascade(graph, params)
        rng_rr, rng_mc = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        if params["n_rr_sets"] is not None:
            theta = params["n_rr_sets"]
            rr = sample_rr_sets(model, theta, rng_rr, progress=progress)
        else:
            theta, rr = imm_set_count(
                model, budget, labeled, params["epsilon"], rng_rr, max_sets=params["max_rr_sets"], progress=progress
            )
        return model, rr, n / rr.count, rng_mc

    def _cascade(self, graph: KnnGraph, params: dict[str, Any]) -> CascadeModel:
        """The cascade model on ``graph`` (SPEC section 3's edge probabilities); subclasses
        that weight edges differently (``ideal-hub``) override this."""
        return cascade_model(graph, min_similarity=params["min_similarity"])

    @staticmethod
    def _finish(model, rr, labeled, picks, covered, rng_mc, params) -> float | None:
        """Record the RR statistics and return the Monte-Carlo influence of ``labeled + picks``."""
        scale = model.n / rr.count
        params.update(
            rr_sets=int(rr.count),
            rr_mean_size=float(rr.total_size / max(rr.count, 1)),
            rr_influence=float(covered * scale),
        )
        if params["n_mc"] <= 0:
            return None
        seeds = np.concatenate([labeled, picks])
        spread = simulate_spread(model, seeds, params["n_mc"], rng_mc)
        params["influence_stderr"] = float(spread.std(ddof=1) / math.sqrt(len(spread))) if len(spread) > 1 else 0.0
        return float(spread.mean())


def imm_set_count(
    model: CascadeModel,
    budget: int,
    labeled: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
    *,
    ell: float = 1.0,
    max_sets: int = 2_000_000,
    progress: ProgressCallback | None = None,
) -> tuple[int, RRSets]:
    """IMM's number of RR sets for ``budget`` seeds, and a fresh sample of that many.

    Phase 1 doubles the sample until the greedy's coverage certifies a lower bound ``LB`` of the
    optimum; phase 2 draws ``lambda* / LB`` new sets (Tang et al. 2015, Algorithms 2 and 3).
    Labeled items are counted as seeds, so the bound is on the influence of the whole set.
    """
    n = model.n
    if n < 4:
        theta = min(max_sets, 1000)
        return theta, sample_rr_sets(model, theta, rng)
    k = min(n, budget + len(labeled))
    ell = ell * (1.0 + math.log(2) / math.log(n))
    log_cnk = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    eps_p = math.sqrt(2.0) * epsilon
    lam_p = (2.0 + 2.0 / 3.0 * eps_p) * (log_cnk + ell * math.log(n) + math.log(math.log2(n))) * n / eps_p**2
    lower = float(k)  # every seed activates itself: a valid lower bound of the optimum
    rr = None
    for i in range(1, int(math.ceil(math.log2(n)))):
        x = n / 2.0**i
        theta_i = int(math.ceil(lam_p / x))
        if theta_i > max_sets:
            break
        # phase 1 keeps its sets from one round to the next, as IMM does
        rr = sample_rr_sets(model, theta_i - (rr.count if rr is not None else 0), rng, extend=rr)
        _, _, covered = greedy_max_coverage(rr, n, budget, labeled)
        estimate = n * covered / rr.count
        if estimate >= (1.0 + eps_p) * x:
            lower = max(lower, estimate / (1.0 + eps_p))
            break
    one_e = 1.0 - 1.0 / math.e
    alpha = math.sqrt(ell * math.log(n) + math.log(2))
    beta = math.sqrt(one_e * (log_cnk + ell * math.log(n) + math.log(2)))
    lam_star = 2.0 * n * (one_e * alpha + beta) ** 2 / epsilon**2
    theta = int(math.ceil(lam_star / lower))
    if theta > max_sets:
        logger.warning(
            "IMM needs %d RR sets for epsilon=%g (certified lower bound of the "
            "optimum: %.0f); capped at max_rr_sets=%d, so the (1 - 1/e - epsilon) "
            "guarantee is not certified",
            theta,
            epsilon,
            lower,
            max_sets,
        )
        theta = max_sets
    logger.debug("IMM: lower bound %.1f, %d RR sets", lower, theta)
    del rr
    return theta, sample_rr_sets(model, theta, rng, progress=progress)
