"""Steps 3-5 without the LM: for each seed, budget and method, select the annotated items
(cached), measure their label and cluster coverage, retrieve demonstrations with each retriever,
score the proxy, and queue the LM jobs."""

from __future__ import annotations

import functools
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fewshot.annotate import select
from fewshot.evaluation._cache import content_hash, selection_code_version
from fewshot.evaluation._confidence import confidence_kwargs, needs_confidence
from fewshot.evaluation._context import RunContext
from fewshot.evaluation._coverage import CELLS_PER_ITEM, cluster_coverage, kmeans_cells
from fewshot.evaluation._paired import encode_correct
from fewshot.evaluation._prepare import Prepared, unit_rows
from fewshot.evaluation._report import RunResult
from fewshot.evaluation._retrieval import retrieve_neighbors, similarities
from fewshot.evaluation._scoring import answers_match, knn_vote_proxy
from fewshot.retrieve import Example

__all__ = ["LMJob", "selection_runs"]


@dataclass
class LMJob:
    """An annotated set and its retrieved demonstrations, waiting for the LM."""

    meta: dict[str, Any]
    annotated: list[Example]
    neighbors: np.ndarray  # (m, k) positions in `annotated`, -1 = none
    sims: np.ndarray  # (m, k)


def selection_runs(ctx: RunContext, prep: Prepared, runs: list[RunResult], timing: dict[str, float]) -> list[LMJob]:
    """Steps 3-5 without the LM: select (cached), retrieve, score the proxy; queue LM jobs.

    Loops seed -> budget -> method, so LM jobs (scored in this order) complete whole seeds first.
    """
    cfg, name = ctx.config, prep.name
    t_select = t_proxy = 0.0
    jobs: list[LMJob] = []
    total = len(cfg.seeds) * len(cfg.budgets) * len(cfg.methods)
    done = 0
    ctx.report(f"{name}: select", 0, total)
    for seed in cfg.seeds:
        rows = prep.pool_rows[seed]
        pool_items = [prep.pool_src[i] for i in rows]
        P = prep.E[[prep.where[int(i)] for i in rows]]
        P_unit = unit_rows(P)
        pool_key = content_hash([str(ex.id) for ex in pool_items], hashlib.sha256(P.tobytes()).hexdigest(), cfg.center)
        for budget in cfg.budgets:
            n_cells = min(CELLS_PER_ITEM * budget, P.shape[0])
            cells = kmeans_cells(P, n_cells, center=cfg.center)
            for method in cfg.methods:
                params = cfg.method_params.get(method, {})
                feedback = needs_confidence(method)
                key = content_hash(
                    pool_key,
                    method,
                    budget,
                    seed,
                    params,
                    cfg.center,
                    selection_code_version(),
                    *([cfg.lm] if feedback else []),
                )
                ts = time.perf_counter()
                rec = ctx.selections.get_or_compute(
                    name,
                    method,
                    budget,
                    seed,
                    key,
                    functools.partial(
                        _select,
                        P,
                        budget,
                        method,
                        seed,
                        cfg.center,
                        params,
                        feedback=functools.partial(confidence_kwargs, ctx, prep, pool_items, P) if feedback else None,
                    ),
                )
                t_select += time.perf_counter() - ts
                idx = np.asarray(rec["indices"], dtype=np.int64)
                annotated = [pool_items[i] for i in idx]
                meta = dict(
                    dataset=name,
                    method=method,
                    budget=budget,
                    seed=seed,
                    n_test=len(prep.scored),
                    pool_size=prep.pool_size,
                    selection_seconds=float(rec.get("seconds", 0.0)),
                    selected_ids=[str(ex.id) for ex in annotated],
                    cluster_coverage=cluster_coverage(cells, idx, n_cells),
                    n_cells=n_cells,
                    **_label_stats(annotated, prep.ds.labels),
                )
                for retriever in cfg.retrievers:
                    tp = time.perf_counter()
                    nbr = retrieve_neighbors(
                        retriever,
                        cfg.retriever_params.get(retriever, {}),
                        annotated,
                        P_unit[idx],
                        prep.scored,
                        prep.test_unit,
                        cfg.k,
                        seed,
                    )
                    sims = similarities(prep.test_unit, P_unit[idx], nbr)
                    if "proxy" in cfg.scorers:
                        runs.append(_proxy_run(prep, annotated, nbr, sims, dict(meta, retriever=retriever)))
                    t_proxy += time.perf_counter() - tp
                    if "lm" in cfg.scorers:
                        jobs.append(LMJob(dict(meta, retriever=retriever), annotated, nbr, sims))
                done += 1
                ctx.report(f"{name}: select", done, total)
    timing["select"] = t_select
    timing["retrieve_proxy"] = t_proxy
    return jobs


def _proxy_run(
    prep: Prepared, annotated: list[Example], nbr: np.ndarray, sims: np.ndarray, meta: dict[str, Any]
) -> RunResult:
    labels = [[None if j < 0 else str(annotated[j].label) for j in row] for row in nbr.tolist()]
    is_gen = prep.is_generation
    preds = knn_vote_proxy(labels, sims, labels=None if is_gen else prep.ds.labels)
    correct = [
        (answers_match(None if p is None else str(p), g) if is_gen else p == g) for p, g in zip(preds, prep.gold)
    ]
    return RunResult(
        scorer="proxy",
        accuracy=float(np.mean(correct)),
        mean_demos=float((nbr >= 0).sum(axis=1).mean()),
        correct=encode_correct(correct),
        predictions=["" if p is None else str(p) for p in preds],
        **meta,
    )


def _select(
    P: np.ndarray,
    budget: int,
    method: str,
    seed: int,
    center: bool,
    params: dict[str, Any],
    *,
    feedback: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run the selection; ``feedback()`` gives the extra arguments of a method that needs model
    feedback (built only when the selection is not cached)."""
    t = time.perf_counter()
    if feedback is not None:
        params = params | feedback()
    sel = select(P, budget, method, seed=seed, center=center, **params)
    return {
        "indices": sel.indices.tolist(),
        "seconds": time.perf_counter() - t,
        "method": method,
        "params": sel.params,
        "influence": sel.influence,
    }


def _label_stats(annotated: list[Example], labels: tuple[str, ...]) -> dict[str, Any]:
    """Label diversity of the annotated set (``n_labels_total`` is 0 for generation tasks)."""
    counts = Counter(str(ex.label) for ex in annotated)
    majority, top = counts.most_common(1)[0]
    return {
        "n_labels_chosen": len(counts),
        "n_labels_total": len(labels),
        "majority_label": majority,
        "majority_share": top / len(annotated),
        "label_counts": dict(sorted(counts.items())),
    }
