"""`run_eval`: the research protocol loop (select -> annotate -> retrieve -> score).

Per dataset:

1. Load the labeled pool and test sources (`load_dataset`). Draw the test sample (``test_size``,
   seeded by ``data_seed``) and, per seed, a pool of ``pool_size`` items (seeded by the seed when
   ``resample_pool``, else by ``data_seed``).
2. Embed every drawn item once with the bundled sentence model (cached as ``.npy`` by content).
3. For each seed, budget and method: select ``budget`` pool items (cached per pool hash). Those
   items are "annotated": their gold labels are revealed, and only they can be demonstrations.
   Their label coverage and cluster coverage (`fewshot.evaluation._coverage`) are recorded.
4. For each retriever (any name registered in `fewshot.retrieve.RETRIEVERS`): retrieve ``k``
   demonstrations per test item from the annotated items only (dense: cosine kNN on the same
   embeddings).
5. Score: the ``proxy`` (`knn_vote_proxy`, instant) and/or the ``lm`` (prompts packed under
   ``max_tokens``, most similar demonstration next to the query; answers cached in SQLite).
   Each run keeps which test items it got right, for the paired comparison in the summary.

Results are written after each dataset, so a long run leaves usable files even if interrupted;
rerunning with the same ``out`` reuses embeddings, selections and LM answers.

This module runs the loop; the steps live in `fewshot.evaluation._prepare` (1-2),
`fewshot.evaluation._select_runs` (3-5 without the LM), `fewshot.evaluation._retrieval` (4) and
`fewshot.evaluation._lm_runs` (5 with the LM).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from fewshot.evaluation._cache import CacheStats, EmbeddingCache, LMCache, SelectionCache
from fewshot.evaluation._config import EvalConfig
from fewshot.evaluation._context import EvalProgress, Models, RunContext
from fewshot.evaluation._lm_runs import score_lm
from fewshot.evaluation._prepare import prepare
from fewshot.evaluation._report import (
    RunResult,
    SummaryRow,
    plot_accuracy,
    summarize,
    write_csv,
    write_json,
)
from fewshot.evaluation._select_runs import selection_runs
from fewshot.exceptions import InvalidInputError

__all__ = ["run_eval", "EvalResult", "EvalProgress", "PROXY_NOTE"]

logger = logging.getLogger(__name__)

PROXY_NOTE = (
    "proxy = knn_vote_proxy: similarity-weighted vote of the retrieved demonstrations' "
    "gold labels; an LM-free stand-in, not in-context accuracy of a model"
)


@dataclass
class EvalResult:
    """Everything one `run_eval` call measured.

    runs : one `RunResult` per (dataset, scorer, retriever, method, budget, seed).
    summary : `SummaryRow` per (dataset, scorer, retriever, method, budget): mean/std over seeds,
        relative gain over random, and the paired comparison with random on the same seeds and
        test items (delta, 95% bootstrap interval, verdict; `fewshot.evaluation._paired`).
    stats : what was computed versus taken from the caches.
    timings : per dataset, seconds spent loading, embedding, selecting, proxy and LM scoring.
    datasets : per dataset, sizes, labels and sources actually used, and ``majority_baseline``
        (accuracy of always answering the scored test items' most frequent label).
    files : paths of the written results (``results_csv``, ``runs_csv``, ``json``, ``plot``).
    """

    config: EvalConfig
    runs: list[RunResult] = field(default_factory=list)
    summary: list[SummaryRow] = field(default_factory=list)
    stats: CacheStats = field(default_factory=CacheStats)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "note": PROXY_NOTE,
            "summary": [r.to_dict() for r in self.summary],
            "runs": [r.to_dict() for r in self.runs],
            "datasets": self.datasets,
            "timings": self.timings,
            "cache": self.stats.to_dict(),
            "seconds": self.seconds,
        }


def run_eval(
    config: EvalConfig,
    *,
    embedder: Any = None,
    lm: Any = None,
    progress: EvalProgress | None = None,
    write: bool = True,
) -> EvalResult:
    """Run the evaluation protocol described by ``config``.

    Parameters
    ----------
    config : EvalConfig
    embedder : Embedder, optional
        Anything with ``encode(texts) -> (n, dim) array``; default a `fewshot.embed.Embedder`
        of ``config.embedding_model`` (loaded only when embeddings are not cached).
    lm : LMBackend, optional
        The model for the ``lm`` scorer; default ``get_backend(config.lm, **config.lm_options)``,
        loaded on first use and closed at the end.
    progress : callable(stage, done, total), optional
    write : bool
        Write ``results.csv``, ``runs.csv``, ``results.json`` and ``accuracy_vs_budget.png`` to
        ``config.out`` (after each dataset, and at the end).

    Returns
    -------
    EvalResult

    Raises
    ------
    InvalidInputError, NotFoundError
        Bad dataset files or a budget larger than the pool.
    """
    if not isinstance(config, EvalConfig):
        raise InvalidInputError(f"config must be an EvalConfig, got {type(config).__name__}")
    t0 = time.perf_counter()
    result = EvalResult(config=config)
    cache_root = config.cache_path
    models = Models(config, embedder, lm)
    ctx = RunContext(
        config,
        result.stats,
        EmbeddingCache(cache_root, result.stats),
        SelectionCache(cache_root, result.stats),
        models,
        progress,
    )
    try:
        with LMCache(cache_root / "lm.sqlite", result.stats) as lm_cache:
            ctx.lm_cache = lm_cache
            for ds_spec in config.datasets:
                _run_dataset(ctx, ds_spec, result)
                result.summary = summarize(result.runs)
                result.seconds = time.perf_counter() - t0
                if write:
                    _write(result)
    finally:
        models.close()
    result.seconds = time.perf_counter() - t0
    if write:
        _write(result)
    return result


def _run_dataset(ctx: RunContext, ds_spec: Any, result: EvalResult) -> None:
    timing: dict[str, float] = {}
    prep = prepare(ctx, ds_spec, timing)
    result.datasets[prep.name] = prep.info
    jobs = selection_runs(ctx, prep, result.runs, timing)
    if jobs:
        t = time.perf_counter()
        score_lm(ctx, prep.ds, prep.scored, prep.gold, jobs, result.runs)
        timing["lm"] = time.perf_counter() - t
    result.timings[prep.name] = timing
    logger.info("dataset %s done: %s", prep.name, {k: round(v, 1) for k, v in timing.items()})


def _write(result: EvalResult) -> None:
    out = result.config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "results_csv": write_csv(result.summary, out / "results.csv"),
        "runs_csv": write_csv(result.runs, out / "runs.csv"),
    }
    if result.summary:
        files["plot"] = plot_accuracy(result.summary, out / "accuracy_vs_budget.png")
    result.files = {k: str(v) for k, v in files.items()}
    result.files["json"] = str(out / "results.json")
    write_json(result.to_dict() | {"files": result.files}, out / "results.json")
