"""Selection rounds over a pool: choose what to annotate (any registered selection method), the
budget curve, stored rounds and their export for annotators."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.annotate import (
    STRATEGIES,
    BudgetCurve,
    CostBudgetCurve,
    CostSpec,
    budget_curve,
    cost_budget_curve,
    default_spends,
    item_costs,
    parse_cost_spec,
    partitioned_select,
    plot_budget_curve,
    plot_cost_budget_curve,
    ray_map,
)
from fewshot.annotate import select as select_rows
from fewshot.exceptions import ConflictError, FewshotError, InvalidInputError
from fewshot.feedback import NO_LABELED_DEMOS, LMConfidence
from fewshot.io import (
    GOLD_FIELDS,
    argilla_settings,
    labelstudio_config,
    to_argilla_record,
    to_labelstudio_task,
    write_format_for,
    write_json_atomic,
    write_records,
)
from fewshot.progress import Progress
from fewshot.prompt import get_token_counter
from fewshot.retrieve import CORE_FIELDS, Example
from fewshot.service.context import ServiceContext
from fewshot.service.pools import PoolService
from fewshot.service.vectors import VectorService
from fewshot.store import examples as example_rows
from fewshot.store import pools as pool_rows
from fewshot.store.rounds import RoundInfo, RoundItem, get_round, list_rounds, save_round

__all__ = [
    "SelectionService",
    "default_budget_grid",
    "EXPORT_FORMATS",
    "CONFIDENCES",
    "LM_CONFIDENCE_CACHE",
    "MAX_LM_OPTIONS",
    "annotation_config_path",
    "lm_options",
]

#: Formats a round can be exported in for annotators.
EXPORT_FORMATS = ("jsonl", "csv", "labelstudio", "argilla")
#: Named stage-2 confidence functions for two-stage vote-k (``votek2``).
CONFIDENCES = ("similarity",)
#: The file under ``{home}/cache/`` holding the LM answers of two-stage vote-k (`fewshot.lm.LMCache`).
LM_CONFIDENCE_CACHE = "lm-confidence.sqlite"
#: A pool with more distinct labels than this is a generation task for the LM confidence.
MAX_LM_OPTIONS = 50
#: A label longer than this (or spanning lines) is free text: the LM confidence generates.
_MAX_OPTION_CHARS = 100
#: With at least this many labeled items all labeled differently, labels are free text.
_FREE_TEXT_MIN_ITEMS = 20
#: The token counter of ``tokens:`` cost terms (the prompt builder's tokenizer-free estimate).
COST_TOKEN_COUNTER = "approx"


def default_budget_grid(available: int, *, low: int = 10, high: int = 1000) -> list[int]:
    """Budgets 10, 20, 50, 100, 200, 500, 1000 (1-2-5 steps) up to ``min(high, available)``."""
    top = min(high, available)
    grid = [b for b in (m * 10**e for e in range(1, 7) for m in (1, 2, 5)) if low <= b <= top]
    if not grid or grid[-1] != top:
        grid.append(top)
    return sorted(set(grid))


def annotation_config_path(path: str | Path, fmt: str) -> Path | None:
    """Where the labeling config (Label Studio) or dataset settings (Argilla) of an export at
    ``path`` go: next to it (``tasks.labeling_config.xml``, ``records.settings.json``)."""
    path = Path(path)
    if fmt == "labelstudio":
        return path.with_name(f"{path.stem}.labeling_config.xml")
    if fmt == "argilla":
        return path.with_name(f"{path.stem}.settings.json")
    return None


def knn_label_vote(Q: np.ndarray, L: np.ndarray, labels: Sequence[str], *, k: int = 10) -> list[tuple[str, float]]:
    """For each row of ``Q``, the label its ``k`` most cosine-similar rows of ``L`` vote for
    (weighted by similarity, negatives count 0) and its score: the winner's share of the weight."""
    if len(L) == 0 or len(Q) == 0:
        return []
    Qn = Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)
    Ln = L / np.maximum(np.linalg.norm(L, axis=1, keepdims=True), 1e-12)
    sims = Qn @ Ln.T
    k = min(k, len(L))
    out = []
    for row in sims:
        top = np.argsort(-row, kind="stable")[:k]
        weight: dict[str, float] = {}
        for j in top:
            weight[labels[j]] = weight.get(labels[j], 0.0) + max(float(row[j]), 0.0) + 1e-9
        best = max(weight, key=lambda lab: (weight[lab], -list(weight).index(lab)))
        out.append((best, round(weight[best] / sum(weight.values()), 4)))
    return out


def lm_options(labels: Sequence[str]) -> list[str] | None:
    """The options the LM chooses among for two-stage vote-k's confidence: the distinct labels,
    sorted, when they form a small label set; None (generation) when there are more than
    `MAX_LM_OPTIONS`, when one spans lines or is longer than 100 characters, or when at least 20
    labeled items all have different labels (free-text answers)."""
    distinct = sorted(set(labels))
    if not distinct or len(distinct) > MAX_LM_OPTIONS:
        return None
    if any("\n" in lab or len(lab) > _MAX_OPTION_CHARS for lab in distinct):
        return None
    if len(labels) >= _FREE_TEXT_MIN_ITEMS and len(distinct) == len(labels):
        return None
    return distinct


def _is_jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def confidence_function(
    confidence: str | Callable[..., Any] | None, X: np.ndarray, *, center: bool
) -> Callable[..., Any]:
    """Stage-2 confidence for two-stage vote-k: a caller's function, or the similarity proxy (an
    item is as confident as it is similar to the current selection)."""
    if callable(confidence):
        return confidence
    if confidence not in (None, *CONFIDENCES):
        raise InvalidInputError(f"confidence must be one of {', '.join(CONFIDENCES)} or a function, got {confidence!r}")
    Z = X - X.mean(axis=0, keepdims=True) if center else X.copy()
    Z /= np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)

    def similarity_confidence(selected: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        return (Z[candidates] @ Z[selected].T).max(axis=1)

    return similarity_confidence


class SelectionService:
    """Selection rounds of pools."""

    def __init__(self, ctx: ServiceContext, pools: PoolService, vectors: VectorService) -> None:
        self.ctx, self.pools, self.vectors = ctx, pools, vectors

    @staticmethod
    def methods() -> list[str]:
        """The registered selection methods (`fewshot.annotate.STRATEGIES`)."""
        return STRATEGIES.names()

    @staticmethod
    def methods_taking(param: str) -> list[str]:
        """The registered methods whose constructor takes ``param`` (``methods_taking("approx")``:
        the graph methods)."""
        return [name for name, cls in STRATEGIES.items() if param in inspect.signature(cls.__init__).parameters]

    @staticmethod
    def confidence_methods() -> list[str]:
        """The registered methods that take a stage-2 confidence (``needs_confidence``: ``votek2``),
        hence an ``lm``."""
        return [name for name, cls in STRATEGIES.items() if getattr(cls, "needs_confidence", False)]

    def _inputs(self, pool: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(example ids, vectors, row numbers already selected or labeled) in id order."""
        pool_id, _ = self.pools.ref(pool)
        with self.ctx.session() as s:
            statuses = example_rows.statuses(s, pool_id=pool_id)
        ids, X = self.vectors.vectors(pool)
        if len(statuses) != len(ids):  # the pool changed between the two reads
            raise ConflictError(f"pool {pool!r} changed while reading it; try again")
        chosen = np.array([i for i, st in enumerate(statuses) if st != "unlabeled"], dtype=np.int64)
        return ids, X, chosen

    def select(
        self,
        pool: str,
        *,
        budget: int | None = None,
        method: str = "votek",
        seed: int = 0,
        center: bool = True,
        confidence: str | Callable[..., Any] | None = None,
        lm: str | None = None,
        lm_k: int = 4,
        lm_max_tokens: int = 512,
        progress: Progress | None = None,
        lm_progress: Progress | None = None,
        budget_cost: float | None = None,
        cost: str | CostSpec | None = None,
        partitions: int | None = None,
        oversample: float = 2.0,
        final: str = "auto",
        ray: bool | str = False,
        **params: Any,
    ) -> RoundInfo:
        """Choose ``budget`` items to annotate, or items whose annotation costs sum to at most
        ``budget_cost``, and store them as the pool's next selection round.

        Items already selected or labeled in earlier rounds count as chosen (the second round
        continues the first). The same pool, method, parameters and seed give the same round.
        A method with ``needs_confidence`` (``votek2``) takes a stage-2 ``confidence``: a function,
        or ``"similarity"`` (the default: an LM-free proxy); or ``lm``, an LM spec or a configured
        name (`ServiceContext.lm`): the model answers every remaining item with the ``lm_k`` most
        similar labeled selected items as demonstrations (prompts in the pool's template, at most
        ``lm_max_tokens``), and its confidence is the mean token log-likelihood of its own answer
        (`fewshot.feedback.LMConfidence`; options: the pool's labels, see `lm_options`, else it
        generates). Answers are cached by content under ``{home}/cache/lm-confidence.sqlite``;
        ``lm_progress(done, total)`` (default: ``progress``) follows the scoring. With ``lm`` and
        labeled items in the pool, those items are the first stage (``stage1_size`` defaults to 0);
        a pool without labeled items is refused (label a first round, then run votek2). The round's
        params hold ``lm`` (the name as given), ``stage1_size``, ``lm_computed`` and ``lm_cached``.

        ``cost`` is a cost spec (``"words:0.5/60"``, ``"tokens:0.002"``, ``"field:minutes"``,
        ``"2"``; `fewshot.annotate.parse_cost_spec`); given, it is stored on the pool for later
        rounds; otherwise the pool's stored spec is used. ``budget_cost`` needs one. With a spec
        the round's params hold ``cost`` and ``total_cost`` (and ``budget_cost``).

        ``partitions``: partitioned selection for pools whose kNN graph does not fit in memory
        (`fewshot.annotate.partitioned_select`): ``method`` runs per k-means partition on
        ``ceil(oversample * budget)`` candidates shared by size, then ``final`` chooses among them;
        memory follows the largest partition. Count budgets and methods without a confidence only.
        ``ray`` (with ``partitions``): run the partitions as Ray tasks on the cluster of the
        settings' ``ray_address`` (``True``) or at the address given. The round's params hold
        ``n_partitions``, ``final`` (the rule that ran), ``oversample`` and the partition sizes.
        """
        if partitions is None and ray is not False:
            raise InvalidInputError("ray runs the partitions of a partitioned selection: give partitions too")
        if partitions is not None and budget_cost is not None:
            raise InvalidInputError("partitions take a count budget, not budget_cost")
        needs_confidence = getattr(STRATEGIES.get(method), "needs_confidence", False)  # unknown: fails now
        if lm is not None:
            self.check_lm(method, lm)
            if confidence is not None:
                raise InvalidInputError("give lm (the LM's confidence) or confidence, not both")
        if (budget is None) == (budget_cost is None):
            raise InvalidInputError("give exactly one of budget (a count of items) and budget_cost (a total cost)")
        spec = self.cost_spec(pool, cost)
        if budget_cost is not None and spec is None:
            raise InvalidInputError(
                f"pool {pool!r} has no annotation cost: give a cost spec with budget_cost "
                "(e.g. 'words:0.5/60', 'tokens:0.002', 'field:minutes' or a constant)"
            )
        ids, X, chosen = self._inputs(pool)
        available = len(ids) - len(chosen)
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0 or budget > available
        ):
            raise InvalidInputError(
                f"budget must be between 1 and the {available} unlabeled, unselected items "
                f"of pool {pool!r}, got {budget!r}"
            )
        if spec is None:
            costs = None
        elif budget_cost is None:
            costs = self.item_costs(pool, spec, ids, chosen)
        else:
            costs = self._costs_for_budget(pool, spec, ids, chosen, budget_cost)
        lm_confidence: LMConfidence | None = None
        if needs_confidence and lm is not None:
            lm_confidence = self.lm_confidence(
                pool, ids, X, lm, k=lm_k, max_tokens=lm_max_tokens, progress=lm_progress or progress
            )
            params["confidence"] = lm_confidence
            if "stage1_size" not in params and any(lab is not None for lab in lm_confidence.labels):
                params["stage1_size"] = 0  # the labeled items are the first stage
        elif needs_confidence:
            confidence = "similarity" if confidence is None else confidence
            params["confidence"] = confidence_function(confidence, X, center=center)
        if partitions is not None:
            assert budget is not None  # checked above: partitions take a count budget
            sel = partitioned_select(
                X,
                budget,
                method,
                n_partitions=partitions,
                oversample=oversample,
                final=final,
                labeled=chosen,
                seed=seed,
                center=center,
                progress=progress,
                map_fn=self._ray_map(ray),
                **params,
            )
        else:
            sel = select_rows(
                X,
                budget,
                method,
                labeled=chosen,
                seed=seed,
                center=center,
                progress=progress,
                budget_cost=budget_cost,
                costs=costs,
                **params,
            )
        stored_params = {k: v for k, v in dict(sel.params).items() if _is_jsonable(v)}
        stored_params["center"] = center
        if spec is not None:
            stored_params["cost"] = spec.text
        if lm_confidence is not None:
            stored_params.update(
                confidence="lm",
                lm=lm,
                lm_task="generation" if lm_confidence.options is None else "classification",
                lm_k=lm_confidence.k,
                lm_max_tokens=lm_confidence.max_tokens,
                lm_computed=lm_confidence.stats.lm_computed,
                lm_cached=lm_confidence.stats.lm_cached,
            )
        elif needs_confidence:
            stored_params["confidence"] = confidence if isinstance(confidence, str) else "callable"
        if cost is not None:
            self.pools.set_cost_spec(pool, spec)
        with self.ctx.session() as s:
            p = pool_rows.get_pool(s, name=pool)
            number = save_round(
                s,
                p,
                method=method,
                params=stored_params,
                seed=seed,
                example_ids=ids[sel.indices],
                scores=np.asarray(sel.scores, dtype=np.float64),
                influence=None if sel.influence is None else float(sel.influence),
            )
            return get_round(s, p, number)

    def _ray_map(self, ray: bool | str) -> Any:
        """``None`` (partitions run here) or `fewshot.annotate.ray_map` after joining the cluster
        that ``ray`` names (see `VectorService.ray_address`)."""
        if ray is False:
            return None
        from fewshot.service.ray_embed import connect  # the optional extra, imported when asked for

        connect(self.vectors.ray_address(ray))
        return ray_map

    def check_lm(self, method: str, lm: Any) -> None:
        """`InvalidInputError` naming ``lm`` when it is not a non-empty name or ``method`` takes no
        confidence (only `confidence_methods` use an LM)."""
        if not isinstance(lm, str) or not lm.strip():
            raise InvalidInputError(f"lm must be an LM spec or a configured LM name, got {lm!r}")
        if method not in self.confidence_methods():
            raise InvalidInputError(
                f"lm is only used by {', '.join(self.confidence_methods()) or 'no registered method'} "
                f"(the LM's confidence); method {method!r} takes no lm"
            )

    def lm_confidence(
        self,
        pool: str,
        ids: np.ndarray,
        X: np.ndarray,
        lm: str,
        *,
        k: int = 4,
        max_tokens: int = 512,
        progress: Progress | None = None,
    ) -> LMConfidence:
        """The LM confidence of two-stage vote-k over ``pool`` (rows in ``ids`` order, vectors
        ``X``): its items rendered by the pool's prompt template, its labeled items' labels as
        demonstrations, the options of `lm_options` (None: generation), the LM of ``lm`` (a spec
        or configured name) and the workspace's answer cache. `InvalidInputError` when the pool
        has no labeled item."""
        row = {int(e): i for i, e in enumerate(ids)}
        items: list[Example | None] = [None] * len(ids)
        for ex in self.pools.iter_examples(pool):
            i = row.get(ex.id)
            if i is not None:
                items[i] = Example(
                    id=ex.external_id,
                    text=ex.text,
                    label=ex.label if ex.status == "labeled" else None,
                    fields={
                        key: v
                        for key, v in ex.fields.items()
                        if key not in CORE_FIELDS and (v is None or isinstance(v, (str, int, float, bool)))
                    },
                )
        if any(item is None for item in items):
            raise ConflictError(f"pool {pool!r} changed while reading it; try again")
        full = [item for item in items if item is not None]
        labels = [None if item.label is None else str(item.label) for item in full]
        known = [lab for lab in labels if lab is not None]
        if not known:  # before loading the model
            raise InvalidInputError(f"pool {pool!r}: {NO_LABELED_DEMOS}")
        options = lm_options(known)
        return LMConfidence(
            self.ctx.lm(lm),
            full,
            X,
            labels,
            options=options,
            template=self.pools.prompt_template(pool),
            k=k,
            max_tokens=max_tokens,
            cache=self.ctx.cache_file(LM_CONFIDENCE_CACHE),
            progress=progress,
        )

    def budget(
        self,
        pool: str,
        *,
        budgets: Sequence[int] | None = None,
        method: str = "votek",
        seed: int = 0,
        center: bool = True,
        threshold: float | None = None,
        plot: str | Path | None = None,
        progress: Progress | None = None,
        **params: Any,
    ) -> BudgetCurve:
        """Coverage / similarity / influence of nested selections along a budget grid, with a
        recommended budget (`fewshot.annotate.budget_curve`); one greedy run for the whole curve.
        Items already selected or labeled count as chosen. Writes a PNG when ``plot`` is set."""
        ids, X, chosen = self._inputs(pool)
        available = len(ids) - len(chosen)
        if available < 1:
            raise InvalidInputError(f"pool {pool!r} has no unlabeled, unselected items left")
        grid = list(budgets) if budgets is not None else default_budget_grid(available)
        curve = budget_curve(
            X,
            grid,
            method=method,
            center=center,
            threshold=threshold,
            seed=seed,
            labeled=chosen,
            progress=progress,
            **params,
        )
        if plot is not None:
            plot_budget_curve(curve, plot, title=f"{pool}: budget curve ({method})")
        return curve

    def spend_curve(
        self,
        pool: str,
        *,
        cost: str | CostSpec | None = None,
        spends: Sequence[float] | None = None,
        max_spend: float | None = None,
        method: str = "votek",
        seed: int = 0,
        center: bool = True,
        threshold: float | None = None,
        plot: str | Path | None = None,
        progress: Progress | None = None,
        **params: Any,
    ) -> CostBudgetCurve:
        """The budget chooser in cost units (`fewshot.annotate.cost_budget_curve`): coverage and
        influence against spend for the count-based and the cost-aware selection of ``method``,
        a recommended spend and what each extra step buys. ``cost``: a cost spec (stored on the
        pool when given; default: the pool's). ``spends``: the spends to evaluate (default: 10%,
        20%, ..., 100% of ``max_spend``, itself by default the median item cost times
        ``min(500, available // 4)``, at least one item). Writes a PNG when ``plot`` is set."""
        spec = self.cost_spec(pool, cost)
        if spec is None:
            raise InvalidInputError(
                f"pool {pool!r} has no annotation cost: give a cost spec (e.g. 'words:0.5/60' or 'field:minutes')"
            )
        ids, X, chosen = self._inputs(pool)
        available = len(ids) - len(chosen)
        if available < 1:
            raise InvalidInputError(f"pool {pool!r} has no unlabeled, unselected items left")
        costs = self.item_costs(pool, spec, ids, chosen)
        if spends is None:
            if max_spend is None:
                free = np.ones(len(ids), dtype=bool)
                free[chosen] = False
                max_spend = float(np.median(costs[free])) * max(1, min(500, available // 4))
            spends = default_spends(max_spend)
        curve = cost_budget_curve(
            X,
            costs,
            spends,
            method=method,
            center=center,
            threshold=threshold,
            seed=seed,
            labeled=chosen,
            progress=progress,
            **params,
        )
        if cost is not None:
            self.pools.set_cost_spec(pool, spec)
        if plot is not None:
            plot_cost_budget_curve(curve, plot, title=f"{pool}: spend curve ({method}, cost {spec.text})")
        return curve

    # ------------------------------------------------------------------ costs
    def cost_spec(self, pool: str, cost: str | CostSpec | None = None) -> CostSpec | None:
        """``cost`` parsed, else the pool's stored spec, else None."""
        if cost is not None:
            return parse_cost_spec(cost)
        stored = self.pools.cost_spec(pool)
        return None if stored is None else parse_cost_spec(stored)

    def item_costs(self, pool: str, spec: CostSpec, ids: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """Each row's cost under ``spec`` (rows in ``ids`` order); rows in ``chosen`` (already
        selected or labeled) are NaN and not evaluated. Errors name the item."""
        return self._costs_and_names(pool, spec, ids, chosen)[0]

    def _costs_and_names(
        self, pool: str, spec: CostSpec, ids: np.ndarray, chosen: np.ndarray
    ) -> tuple[np.ndarray, dict[int, str]]:
        want = np.ones(len(ids), dtype=bool)
        want[chosen] = False
        row = {int(e): i for i, e in enumerate(ids)}
        items: list[tuple[str, str, dict[str, Any]]] = []
        names: dict[int, str] = {}
        for ex in self.pools.iter_examples(pool, status="unlabeled"):
            i = row.get(ex.id)
            if i is not None and want[i]:
                items.append((ex.external_id, ex.text, ex.fields))
                names[i] = ex.external_id
        if len(names) != int(want.sum()):
            raise ConflictError(f"pool {pool!r} changed while reading it; try again")
        out = np.full(len(ids), np.nan)
        counter = get_token_counter(COST_TOKEN_COUNTER) if spec.needs_tokens else None
        out[list(names)] = item_costs(spec, items, count_tokens=None if counter is None else counter.count_many)
        return out, names

    def _costs_for_budget(
        self, pool: str, spec: CostSpec, ids: np.ndarray, chosen: np.ndarray, budget_cost: Any
    ) -> np.ndarray:
        """The row costs, and a clear error naming the cheapest item when ``budget_cost`` buys nothing."""
        costs, names = self._costs_and_names(pool, spec, ids, chosen)
        if isinstance(budget_cost, bool) or not isinstance(budget_cost, (int, float)) or not budget_cost > 0:
            raise InvalidInputError(f"budget_cost must be a number > 0; got {budget_cost!r}")
        if not names:
            raise InvalidInputError(f"pool {pool!r} has no unlabeled, unselected items left")
        free = np.fromiter(names, dtype=np.int64)
        cheapest = int(free[np.argmin(costs[free])])
        if costs[cheapest] > float(budget_cost) * (1.0 + 1e-9):
            raise InvalidInputError(
                f"budget_cost {budget_cost:g} buys no item of pool {pool!r}: the cheapest, "
                f"{names[cheapest]!r}, costs {costs[cheapest]:g} under cost spec {spec.text!r}"
            )
        return costs

    # ------------------------------------------------------------------ rounds
    def rounds(self, pool: str) -> list[RoundInfo]:
        """Every round of the pool, oldest first."""
        with self.ctx.session() as s:
            return list_rounds(s, pool_rows.get_pool(s, name=pool))

    def get_round(self, pool: str, number: int | None = None) -> RoundInfo:
        """Round ``number`` (the latest when None); `NotFoundError` when there is none."""
        with self.ctx.session() as s:
            return get_round(s, pool_rows.get_pool(s, name=pool), number)

    def export_round(
        self,
        pool: str,
        path: str | Path,
        *,
        number: int | None = None,
        fmt: str | None = None,
        only_unlabeled: bool = True,
        fields: Sequence[str] | None = None,
        control: str = "label",
        predictions: bool = True,
        k: int = 10,
        labels: Sequence[str] | None = None,
    ) -> int:
        """Write a round's items for annotators: jsonl, csv, labelstudio (tasks JSON) or argilla
        (records JSON); ``fmt`` None: from the file's suffix (jsonl by default). Returns the count.

        ``fields`` is the allow-list of item fields sent (None: every field but gold columns such as
        ``label``/``label_text``; ``[]``: the text only; a name no item has is refused). For Label
        Studio and Argilla, a labeling config / dataset ``Settings`` naming the ``control`` (Choices
        control / label question) over the pool's labels is written next to the file
        (`annotation_config_path`), and with ``predictions`` each task gets a pre-annotation /
        suggestion: the label its ``k`` nearest labeled items vote for, with its score (only when the
        pool has labeled items and vectors; otherwise none). ``labels``: the choices offered
        (default: the labels already in the pool)."""
        fmt = write_format_for(path, fmt, formats=EXPORT_FORMATS)
        if not control or not str(control).strip():
            raise InvalidInputError("control must be a non-empty name")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"k must be a positive integer, got {k!r}")
        rnd = self.get_round(pool, number)
        items = [i for i in rnd.items if not (only_unlabeled and i.label is not None)]
        allow = self._allow_list(pool, fields, [i.fields for i in rnd.items])
        costs = self._round_item_costs(pool, rnd, items)
        if fmt in ("jsonl", "csv"):
            rows = (
                {
                    "id": i.external_id,
                    "text": i.text,
                    "label": i.label,
                    "position": i.position,
                    "score": i.score,
                    **({} if costs is None else {"cost": costs[n]}),
                    **{f"field_{k}": v for k, v in i.fields.items() if k in allow},
                }
                for n, i in enumerate(items)
            )
            return write_records(rows, path, fmt)
        if labels is None:
            labels = self._pool_labels(pool)
        else:
            labels = list(dict.fromkeys(str(lab).strip() for lab in labels if str(lab).strip()))
        votes = self._label_votes(pool, [i.example_id for i in items], k=k) if predictions else {}
        votes = {e: v for e, v in votes.items() if v[0] in labels}  # a choice the config offers
        if fmt == "labelstudio":
            data: list[dict[str, Any]] = [
                to_labelstudio_task(
                    i.external_id,
                    i.text,
                    i.fields,
                    allow=allow,
                    prediction=votes.get(i.example_id),
                    control=control,
                    cost=None if costs is None else costs[n],
                )
                for n, i in enumerate(items)
            ]
            config: str | dict[str, Any] = labelstudio_config(labels, control=control)
        else:
            data = [
                to_argilla_record(
                    i.external_id,
                    i.text,
                    i.fields,
                    allow=allow,
                    prediction=votes.get(i.example_id),
                    control=control,
                    cost=None if costs is None else costs[n],
                )
                for n, i in enumerate(items)
            ]
            config = argilla_settings(
                labels, control=control, metadata=[f for f in allow if f != "text"], cost=costs is not None
            )
        write_json_atomic(data, path)
        side = annotation_config_path(path, fmt)
        assert side is not None
        if isinstance(config, str):
            tmp = side.with_name(f".{side.name}.tmp")
            tmp.write_text(config, encoding="utf-8")
            tmp.replace(side)
        else:
            write_json_atomic(config, side)
        return len(items)

    def _round_item_costs(self, pool: str, rnd: RoundInfo, items: Sequence[RoundItem]) -> list[float] | None:
        """Each item's cost under the round's cost spec (else the pool's); None without a spec."""
        text = rnd.params.get("cost") if isinstance(rnd.params.get("cost"), str) else self.pools.cost_spec(pool)
        if text is None:
            return None
        spec = parse_cost_spec(text)
        counter = get_token_counter(COST_TOKEN_COUNTER) if spec.needs_tokens else None
        values = item_costs(
            spec,
            [(i.external_id, i.text, i.fields) for i in items],
            count_tokens=None if counter is None else counter.count_many,
        )
        return [float(v) for v in values]

    def _allow_list(self, pool: str, fields: Sequence[str] | None, all_fields: list[dict[str, Any]]) -> list[str]:
        known = list(dict.fromkeys(k for f in all_fields for k in f))
        if fields is None:
            return [k for k in known if k not in GOLD_FIELDS]
        names = [str(f).strip() for f in fields if str(f).strip()]
        unknown = [f for f in names if f not in known and f != "text"]
        if unknown:
            raise InvalidInputError(
                f"unknown field {unknown[0]!r} for pool {pool!r}; its items have: {', '.join(known) or '(none)'}"
            )
        return names

    def _pool_labels(self, pool: str) -> list[str]:
        with self.ctx.session() as s:
            p = pool_rows.get_pool(s, name=pool)
            return sorted({e.label for e in example_rows.labeled(s, pool_id=p.id) if e.label is not None})

    def _label_votes(self, pool: str, example_ids: Sequence[int], *, k: int) -> dict[int, tuple[str, float]]:
        """``{example id: (label, score)}`` by a kNN vote over the labeled items; empty when the
        pool has no labeled item or no vectors."""
        if not example_ids:
            return {}
        with self.ctx.session() as s:
            p = pool_rows.get_pool(s, name=pool)
            labeled = {e.id: e.label for e in example_rows.labeled(s, pool_id=p.id) if e.label is not None}
        if not labeled:
            return {}
        try:
            ids, X = self.vectors.vectors(pool)
        except FewshotError:
            return {}
        row = {int(e): n for n, e in enumerate(ids)}
        lab_rows = [(row[e], lab) for e, lab in labeled.items() if e in row]
        wanted = [e for e in example_ids if e in row]
        if not lab_rows or not wanted or len(X) != len(ids):
            return {}
        L = X[[r for r, _ in lab_rows]]
        Q = X[[row[e] for e in wanted]]
        got = knn_label_vote(Q, L, [lab for _, lab in lab_rows], k=k)
        return dict(zip(wanted, got, strict=True))

    # ------------------------------------------------------------------ jobs
    def run_select_job(self, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """The ``select`` job: ``params`` holds pool, budget or budget_cost (and cost), method, seed,
        center, lm and method options; the result adds ``lm``, ``lm_computed`` and ``lm_cached``
        when an LM scored."""
        p = dict(params)
        pool, budget, method = p.pop("pool"), p.pop("budget", None), p.pop("method", "votek")
        seed, center = p.pop("seed", 0), p.pop("center", True)
        rnd = self.select(pool, budget=budget, method=method, seed=seed, center=center, progress=progress, **p)
        out = {"pool": pool, "round": rnd.number, "budget": rnd.budget, "influence": rnd.influence}
        if "total_cost" in rnd.params:
            out.update(total_cost=rnd.params["total_cost"], budget_cost=rnd.params.get("budget_cost"))
        if "lm" in rnd.params:
            out.update({key: rnd.params[key] for key in ("lm", "lm_computed", "lm_cached")})
        return out
