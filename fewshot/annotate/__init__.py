"""fewshot.annotate: choose which items of an unlabeled pool to annotate.

Works on a bare embedding matrix (no database). One entry point::

    from fewshot.annotate import select
    sel = select(vectors, 100, "votek")          # sel.indices, sel.scores, sel.params

Methods: ``votek`` (exact reproduction of the research selection), ``votek2`` (two-stage, needs a
confidence function), ``ideal`` (influence maximisation), ``random``, ``kmeans``, ``facility``;
opt-in variants aimed at coverage: ``stratified`` (proportional quotas over k-means cells, an
inner method in each), ``ideal-hub`` (IDEAL with hub-discounted edges), ``votek-div`` (vote-k
that skips near-duplicates of its picks), ``mixed`` (influence + facility location), ``herding``
(kernel herding: picks in proportion to the pool's density, so a label in a dense region keeps its
share) and ``auto``
(chooses from the pool's structure: :func:`choose_method`).
:func:`budget_curve` helps choose how many items to pay for. Under a budget in money or minutes
(``select(vectors, method="ideal", budget_cost=50.0, costs=c)``; costs from :func:`item_costs`)
``votek``, ``ideal``, ``facility``, ``kmeans``, ``random`` and ``ideal-hub`` run their knapsack-
constrained, cost-aware variants (``supports_cost_budget()``; the others refuse a cost budget);
:func:`cost_budget_curve` helps choose how much to spend.
"""

from fewshot.annotate._auto import Auto, AutoRule, choose_method
from fewshot.annotate._base import Selection, SelectionStrategy, prepare_vectors
from fewshot.annotate._budget import BudgetCurve, budget_curve, plot_budget_curve
from fewshot.annotate._budget_cost import CostBudgetCurve, cost_budget_curve, default_spends, plot_cost_budget_curve
from fewshot.annotate._cost import COST_SPEC_FORMS, CostSpec, CostTerm, check_costs, item_costs, parse_cost_spec
from fewshot.annotate._facility import FacilityLocation
from fewshot.annotate._graph import APPROX_METHODS, KnnGraph, build_knn_graph
from fewshot.annotate._herding import KernelHerding
from fewshot.annotate._ideal import Ideal
from fewshot.annotate._ideal_hub import IdealHub
from fewshot.annotate._kmeans import KMeansSelection
from fewshot.annotate._mixed import MixedInfluenceCoverage
from fewshot.annotate._partitioned import FINAL_RULES, final_rule, partition_quotas, partitioned_select, ray_map
from fewshot.annotate._random import RandomSelection
from fewshot.annotate._registry import STRATEGIES, get_strategy, select
from fewshot.annotate._stratified import Stratified, cell_quotas
from fewshot.annotate._votek import VoteK
from fewshot.annotate._votek_div import VoteKDiv
from fewshot.annotate._votek_two_stage import TwoStageVoteK

__all__ = [
    "partitioned_select",
    "FINAL_RULES",
    "final_rule",
    "partition_quotas",
    "ray_map",
    "select",
    "get_strategy",
    "STRATEGIES",
    "Selection",
    "SelectionStrategy",
    "VoteK",
    "TwoStageVoteK",
    "Ideal",
    "RandomSelection",
    "KMeansSelection",
    "FacilityLocation",
    "Stratified",
    "cell_quotas",
    "IdealHub",
    "VoteKDiv",
    "MixedInfluenceCoverage",
    "KernelHerding",
    "Auto",
    "AutoRule",
    "choose_method",
    "KnnGraph",
    "build_knn_graph",
    "APPROX_METHODS",
    "prepare_vectors",
    "budget_curve",
    "BudgetCurve",
    "plot_budget_curve",
    "cost_budget_curve",
    "CostBudgetCurve",
    "default_spends",
    "plot_cost_budget_curve",
    "CostSpec",
    "CostTerm",
    "COST_SPEC_FORMS",
    "parse_cost_spec",
    "item_costs",
    "check_costs",
]
