"""Selection rounds over a pool: choose what to annotate (any registered selection method), the
budget curve, stored rounds and their export for annotators."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.annotate import STRATEGIES, BudgetCurve, budget_curve, plot_budget_curve
from fewshot.annotate import select as select_rows
from fewshot.exceptions import ConflictError, InvalidInputError
from fewshot.io import to_argilla_record, to_labelstudio_task, write_format_for, write_json_atomic, write_records
from fewshot.progress import Progress
from fewshot.service.context import ServiceContext
from fewshot.service.pools import PoolService
from fewshot.service.vectors import VectorService
from fewshot.store import examples as example_rows
from fewshot.store import pools as pool_rows
from fewshot.store.rounds import RoundInfo, get_round, list_rounds, save_round

__all__ = ["SelectionService", "default_budget_grid", "EXPORT_FORMATS", "CONFIDENCES"]

#: Formats a round can be exported in for annotators.
EXPORT_FORMATS = ("jsonl", "csv", "labelstudio", "argilla")
#: Named stage-2 confidence functions for two-stage vote-k (``votek2``).
CONFIDENCES = ("similarity",)


def default_budget_grid(available: int, *, low: int = 10, high: int = 1000) -> list[int]:
    """Budgets 10, 20, 50, 100, 200, 500, 1000 (1-2-5 steps) up to ``min(high, available)``."""
    top = min(high, available)
    grid = [b for b in (m * 10**e for e in range(1, 7) for m in (1, 2, 5)) if low <= b <= top]
    if not grid or grid[-1] != top:
        grid.append(top)
    return sorted(set(grid))


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
        budget: int,
        method: str = "votek",
        seed: int = 0,
        center: bool = True,
        confidence: str | Callable[..., Any] | None = None,
        progress: Progress | None = None,
        **params: Any,
    ) -> RoundInfo:
        """Choose ``budget`` items to annotate and store them as the pool's next selection round.

        Items already selected or labeled in earlier rounds count as chosen (the second round
        continues the first). The same pool, method, parameters and seed give the same round.
        A method with ``needs_confidence`` (``votek2``) takes a stage-2 ``confidence``: a function,
        or ``"similarity"`` (the default: an LM-free proxy).
        """
        needs_confidence = getattr(STRATEGIES.get(method), "needs_confidence", False)  # unknown: fails now
        ids, X, chosen = self._inputs(pool)
        available = len(ids) - len(chosen)
        if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0 or budget > available:
            raise InvalidInputError(
                f"budget must be between 1 and the {available} unlabeled, unselected items "
                f"of pool {pool!r}, got {budget!r}"
            )
        if needs_confidence:
            confidence = "similarity" if confidence is None else confidence
            params["confidence"] = confidence_function(confidence, X, center=center)
        sel = select_rows(X, budget, method, labeled=chosen, seed=seed, center=center, progress=progress, **params)
        stored_params = {k: v for k, v in dict(sel.params).items() if _is_jsonable(v)}
        stored_params["center"] = center
        if needs_confidence:
            stored_params["confidence"] = confidence if isinstance(confidence, str) else "callable"
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
    ) -> int:
        """Write a round's items for annotators: jsonl, csv, labelstudio (tasks JSON) or argilla
        (records JSON); ``fmt`` None: from the file's suffix (jsonl by default). Returns the count."""
        fmt = write_format_for(path, fmt, formats=EXPORT_FORMATS)
        rnd = self.get_round(pool, number)
        items = [i for i in rnd.items if not (only_unlabeled and i.label is not None)]
        if fmt in ("jsonl", "csv"):
            rows = (
                {
                    "id": i.external_id,
                    "text": i.text,
                    "label": i.label,
                    "position": i.position,
                    "score": i.score,
                    **{f"field_{k}": v for k, v in i.fields.items()},
                }
                for i in items
            )
            return write_records(rows, path, fmt)
        convert = to_labelstudio_task if fmt == "labelstudio" else to_argilla_record
        write_json_atomic([convert(i.external_id, i.text, i.fields) for i in items], path)
        return len(items)

    # ------------------------------------------------------------------ jobs
    def run_select_job(self, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """The ``select`` job: ``params`` holds pool, budget, method, seed, center and method options."""
        p = dict(params)
        pool, budget, method = p.pop("pool"), p.pop("budget"), p.pop("method", "votek")
        seed, center = p.pop("seed", 0), p.pop("center", True)
        rnd = self.select(pool, budget=budget, method=method, seed=seed, center=center, progress=progress, **p)
        return {"pool": pool, "round": rnd.number, "budget": rnd.budget, "influence": rnd.influence}
