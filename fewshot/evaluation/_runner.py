"""`run_eval`: the research protocol loop (select -> annotate -> retrieve -> score).

Per dataset:

1. Load the labeled pool and test sources (`load_dataset`). Draw the test sample (``test_size``,
   seeded by ``data_seed``) and, per seed, a pool of ``pool_size`` items (seeded by the seed when
   ``resample_pool``, else by ``data_seed``).
2. Embed every drawn item once with the bundled sentence model (cached as ``.npy`` by content).
3. For each seed, budget and method: select ``budget`` pool items (cached per pool hash). Those
   items are "annotated": their gold labels are revealed, and only they can be demonstrations.
4. For each retriever: retrieve ``k`` demonstrations per test item from the annotated items only
   (dense: cosine kNN on the same embeddings).
5. Score: the ``proxy`` (`knn_vote_proxy`, instant) and/or the ``lm`` (prompts packed under
   ``max_tokens``, most similar demonstration next to the query; answers cached in SQLite).

Results are written after each dataset, so a long run leaves usable files even if interrupted;
rerunning with the same ``out`` reuses embeddings, selections and LM answers.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fewshot.annotate import select
from fewshot.evaluation._cache import CacheStats, EmbeddingCache, LMCache, SelectionCache, content_hash
from fewshot.evaluation._config import EvalConfig
from fewshot.evaluation._datasets import LabeledDataset, load_dataset, sample_rows
from fewshot.evaluation._report import (
    RunResult,
    SummaryRow,
    plot_accuracy,
    summarize,
    write_csv,
    write_json,
)
from fewshot.evaluation._scoring import LMScorer, answers_match, extract_answer, knn_vote_proxy
from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import Corpus, Demo, DenseRetriever, Example, get_retriever

__all__ = ["run_eval", "EvalResult", "EvalProgress", "PROXY_NOTE"]

logger = logging.getLogger(__name__)

#: ``progress(stage, done, total)``: ``stage`` names the dataset and phase (e.g.
#: ``"sst5: select"``); ``total`` may be 0 when unknown.
EvalProgress = Callable[[str, int, int], None]

PROXY_NOTE = ("proxy = knn_vote_proxy: similarity-weighted vote of the retrieved demonstrations' "
              "gold labels; an LM-free stand-in, not in-context accuracy of a model")

_TEST_STREAM, _POOL_STREAM = 1, 2


@dataclass
class EvalResult:
    """Everything one `run_eval` call measured.

    runs : one `RunResult` per (dataset, scorer, retriever, method, budget, seed).
    summary : `SummaryRow` per (dataset, scorer, retriever, method, budget): mean/std over seeds
        and relative gain over random.
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
        return {"config": self.config.to_dict(), "note": PROXY_NOTE,
                "summary": [r.to_dict() for r in self.summary],
                "runs": [r.to_dict() for r in self.runs], "datasets": self.datasets,
                "timings": self.timings, "cache": self.stats.to_dict(), "seconds": self.seconds}


def run_eval(config: EvalConfig, *, embedder: Any = None, lm: Any = None,
             progress: EvalProgress | None = None, write: bool = True) -> EvalResult:
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
    models = _Models(config, embedder, lm)
    ctx = _Context(config, result.stats, EmbeddingCache(cache_root, result.stats),
                   SelectionCache(cache_root, result.stats), models, progress)
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


# ------------------------------------------------------------------------------ internals

class _Models:
    """The embedder and the LM, created on first use (the LM closed at the end if ours)."""

    def __init__(self, config: EvalConfig, embedder: Any, lm: Any) -> None:
        self.config = config
        self._embedder = embedder
        self._lm = lm
        self._own_lm = lm is None

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from fewshot.embed import Embedder

            self._embedder = Embedder(self.config.embedding_model)
        return self._embedder

    @property
    def lm(self) -> Any:
        if self._lm is None:
            from fewshot.lm import get_backend

            t = time.perf_counter()
            self._lm = get_backend(self.config.lm, **self.config.lm_options)
            logger.info("loaded LM %s in %.1f s", self._lm.name, time.perf_counter() - t)
        return self._lm

    def close(self) -> None:
        if self._own_lm and self._lm is not None:
            self._lm.close()


@dataclass
class _Context:
    config: EvalConfig
    stats: CacheStats
    embeddings: EmbeddingCache
    selections: SelectionCache
    models: _Models
    progress: EvalProgress | None
    lm_cache: LMCache | None = None

    def report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


@dataclass
class _LMJob:
    """An annotated set and its retrieved demonstrations, waiting for the LM."""

    meta: dict[str, Any]
    annotated: list[Example]
    neighbors: np.ndarray  # (m, k) positions in `annotated`, -1 = none
    sims: np.ndarray       # (m, k)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _draw(ctx: _Context, ds: LabeledDataset) -> tuple[list[Example], list[Example]]:
    """(pool source, test sample): the test sample is drawn from the test split, or from the
    single file (and removed from the pool source) when there is no test split."""
    cfg = ctx.config
    rng = _rng(cfg.data_seed, _TEST_STREAM)
    if ds.test:
        rows = sample_rows(len(ds.test), cfg.test_size, rng)
        return ds.pool, [ds.test[i] for i in rows]
    if len(ds.pool) < 2:
        raise InvalidInputError(f"dataset {ds.name!r}: too few items to split into pool and test")
    size = min(cfg.test_size, len(ds.pool) // 2)
    rows = sample_rows(len(ds.pool), size, rng)
    keep = np.ones(len(ds.pool), dtype=bool)
    keep[rows] = False
    return [ds.pool[i] for i in np.flatnonzero(keep)], [ds.pool[i] for i in rows]


@dataclass
class _Prepared:
    """A dataset with its draws and embeddings: what the selection loop works on."""

    ds: LabeledDataset
    pool_src: list[Example]
    pool_size: int
    pool_rows: dict[int, np.ndarray]  # seed -> rows of pool_src
    E: np.ndarray                     # embeddings: pool union rows, then the test sample
    where: dict[int, int]             # pool_src row -> row of E
    scored: list[Example]             # the test items scored (after `limit`)
    test_unit: np.ndarray             # their unit-norm embeddings

    @property
    def name(self) -> str:
        return self.ds.name

    @property
    def is_generation(self) -> bool:
        return self.ds.spec.task == "generation"

    @property
    def gold(self) -> list[str]:
        return [str(ex.label) for ex in self.scored]


def _run_dataset(ctx: _Context, ds_spec: Any, result: EvalResult) -> None:
    timing: dict[str, float] = {}
    prep = _prepare(ctx, ds_spec, result, timing)
    jobs = _selection_runs(ctx, prep, result, timing)
    if jobs:
        t = time.perf_counter()
        _score_lm(ctx, prep.ds, prep.scored, prep.gold, jobs, result)
        timing["lm"] = time.perf_counter() - t
    result.timings[prep.name] = timing
    logger.info("dataset %s done: %s", prep.name, {k: round(v, 1) for k, v in timing.items()})


def _prepare(ctx: _Context, ds_spec: Any, result: EvalResult,
             timing: dict[str, float]) -> _Prepared:
    """Steps 1-2: load, draw the test sample and each seed's pool, embed every drawn item once."""
    cfg = ctx.config
    t = time.perf_counter()
    ds = load_dataset(ds_spec, data_dir=cfg.data_dir)
    name = ds.name
    pool_src, test_items = _draw(ctx, ds)
    pool_size = min(cfg.pool_size, len(pool_src))
    if pool_size < cfg.pool_size:
        logger.warning("dataset %s: pool source has %d items, fewer than pool_size %d; using all",
                       name, len(pool_src), cfg.pool_size)
    if max(cfg.budgets) > pool_size:
        raise InvalidInputError(f"budgets: {max(cfg.budgets)} exceeds the pool of {name!r} "
                                f"({pool_size} items)")
    pool_rows = {seed: sample_rows(len(pool_src), pool_size,
                                   _rng(seed if cfg.resample_pool else cfg.data_seed, _POOL_STREAM))
                 for seed in cfg.seeds}
    timing["load"] = time.perf_counter() - t

    t = time.perf_counter()
    union = np.unique(np.concatenate(list(pool_rows.values())))
    texts = [pool_src[i].text for i in union] + [ex.text for ex in test_items]
    ctx.report(f"{name}: embed", 0, len(texts))
    E, ekey = ctx.embeddings.get_or_compute(
        name, cfg.embedding_model, texts, lambda tx: ctx.models.embedder.encode(tx))
    ctx.report(f"{name}: embed", len(texts), len(texts))
    n_scored = len(test_items) if cfg.limit is None else min(cfg.limit, len(test_items))
    scored = test_items[:n_scored]
    timing["embed"] = time.perf_counter() - t

    result.datasets[name] = {
        "task": ds.spec.task, "labels": list(ds.labels), "sources": ds.sources,
        "pool_source_size": len(pool_src), "pool_size": pool_size,
        "test_sample_size": len(test_items), "n_scored": n_scored,
        "embedding_key": ekey, "resample_pool": cfg.resample_pool,
        "majority_baseline": _majority_share(scored), "test_ids": [str(ex.id) for ex in scored]}
    return _Prepared(ds=ds, pool_src=pool_src, pool_size=pool_size, pool_rows=pool_rows, E=E,
                     where={int(r): j for j, r in enumerate(union.tolist())}, scored=scored,
                     test_unit=_unit_rows(E[len(union):len(union) + n_scored]))


def _selection_runs(ctx: _Context, prep: _Prepared, result: EvalResult,
                    timing: dict[str, float]) -> list[_LMJob]:
    """Steps 3-5 without the LM: select (cached), retrieve, score the proxy; queue LM jobs.

    Loops seed -> budget -> method, so LM jobs (scored in this order) complete whole seeds first.
    """
    cfg, name = ctx.config, prep.name
    t_select = t_proxy = 0.0
    jobs: list[_LMJob] = []
    total = len(cfg.seeds) * len(cfg.budgets) * len(cfg.methods)
    done = 0
    ctx.report(f"{name}: select", 0, total)
    for seed in cfg.seeds:
        rows = prep.pool_rows[seed]
        pool_items = [prep.pool_src[i] for i in rows]
        P = prep.E[[prep.where[int(i)] for i in rows]]
        P_unit = _unit_rows(P)
        pool_key = content_hash([str(ex.id) for ex in pool_items],
                                hashlib.sha256(P.tobytes()).hexdigest(), cfg.center)
        for budget in cfg.budgets:
            for method in cfg.methods:
                params = cfg.method_params.get(method, {})
                key = content_hash(pool_key, method, budget, seed, params, cfg.center)
                ts = time.perf_counter()
                rec = ctx.selections.get_or_compute(
                    name, method, budget, seed, key,
                    lambda: _select(P, budget, method, seed, cfg.center, params))
                t_select += time.perf_counter() - ts
                idx = np.asarray(rec["indices"], dtype=np.int64)
                annotated = [pool_items[i] for i in idx]
                meta = dict(dataset=name, method=method, budget=budget, seed=seed,
                            n_test=len(prep.scored), pool_size=prep.pool_size,
                            selection_seconds=float(rec.get("seconds", 0.0)),
                            selected_ids=[str(ex.id) for ex in annotated],
                            **_label_stats(annotated, prep.ds.labels))
                for retriever in cfg.retrievers:
                    tp = time.perf_counter()
                    nbr = _retrieve(retriever, annotated, P_unit[idx], prep.scored,
                                    prep.test_unit, cfg.k, seed)
                    sims = _similarities(prep.test_unit, P_unit[idx], nbr)
                    if "proxy" in cfg.scorers:
                        result.runs.append(_proxy_run(prep, annotated, nbr, sims,
                                                      dict(meta, retriever=retriever)))
                    t_proxy += time.perf_counter() - tp
                    if "lm" in cfg.scorers:
                        jobs.append(_LMJob(dict(meta, retriever=retriever), annotated, nbr, sims))
                done += 1
                ctx.report(f"{name}: select", done, total)
    timing["select"] = t_select
    timing["retrieve_proxy"] = t_proxy
    return jobs


def _proxy_run(prep: _Prepared, annotated: list[Example], nbr: np.ndarray, sims: np.ndarray,
               meta: dict[str, Any]) -> RunResult:
    labels = [[None if j < 0 else str(annotated[j].label) for j in row] for row in nbr.tolist()]
    is_gen = prep.is_generation
    preds = knn_vote_proxy(labels, sims, labels=None if is_gen else prep.ds.labels)
    correct = [(answers_match(p, g) if is_gen else p == g) for p, g in zip(preds, prep.gold)]
    return RunResult(scorer="proxy", accuracy=float(np.mean(correct)),
                     mean_demos=float((nbr >= 0).sum(axis=1).mean()), **meta)


def _select(P: np.ndarray, budget: int, method: str, seed: int, center: bool,
            params: dict[str, Any]) -> dict[str, Any]:
    t = time.perf_counter()
    sel = select(P, budget, method, seed=seed, center=center, **params)
    return {"indices": sel.indices.tolist(), "seconds": time.perf_counter() - t,
            "method": method, "params": sel.params, "influence": sel.influence}


def _majority_share(items: list[Example]) -> float:
    """Accuracy of always answering the most frequent gold label of ``items``."""
    return Counter(str(ex.label) for ex in items).most_common(1)[0][1] / len(items)


def _label_stats(annotated: list[Example], labels: tuple[str, ...]) -> dict[str, Any]:
    """Label diversity of the annotated set (``n_labels_total`` is 0 for generation tasks)."""
    counts = Counter(str(ex.label) for ex in annotated)
    majority, top = counts.most_common(1)[0]
    return {"n_labels_chosen": len(counts), "n_labels_total": len(labels),
            "majority_label": majority, "majority_share": top / len(annotated),
            "label_counts": dict(sorted(counts.items()))}


def _retrieve(name: str, annotated: list[Example], ann_unit: np.ndarray, queries: list[Example],
              query_unit: np.ndarray, k: int, seed: int) -> np.ndarray:
    """(m, k) positions in ``annotated`` of each query's demonstrations, best first; -1 pads."""
    corpus = Corpus(annotated)
    keys = corpus.keys()
    if not np.array_equal(keys, np.arange(len(annotated))):  # a fresh corpus numbers 0..n-1
        raise AssertionError("unexpected corpus keys")
    if name == "dense":
        retriever = DenseRetriever.from_vectors(corpus, ann_unit, kind="flat", metric="cosine")
        hits = retriever.search(query_unit, k)
    elif name == "random":
        hits = get_retriever("random", corpus, seed=seed).search([q.text for q in queries], k)
    else:
        hits = get_retriever(name, corpus).search([q.text for q in queries], k)
    return hits.ids


def _similarities(query_unit: np.ndarray, ann_unit: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Cosine of each query to each of its retrieved demonstrations (0 for padding)."""
    full = query_unit @ ann_unit.T
    safe = np.where(nbr < 0, 0, nbr)
    sims = np.take_along_axis(full, safe, axis=1)
    return np.where(nbr < 0, 0.0, sims)


def _score_lm(ctx: _Context, ds: LabeledDataset, scored: list[Example], gold: list[str],
              jobs: list[_LMJob], result: EvalResult) -> None:
    cfg = ctx.config
    lm = ctx.models.lm
    assert ctx.lm_cache is not None
    scorer = LMScorer(lm, ctx.lm_cache, max_tokens=cfg.max_tokens, k=cfg.k,
                      max_new_tokens=cfg.max_new_tokens)
    is_gen = ds.spec.task == "generation"
    options = None if is_gen else ds.options
    builder = scorer.builder(ds.spec.prompt_template(), options=options)
    stage = f"{ds.name}: lm {lm.name}"
    total = len(jobs) * len(scored)
    ctx.report(stage, 0, total)
    batch = getattr(lm, "batch_size", 8)
    for n, job in enumerate(jobs):
        prompts, n_demos = [], []
        for i, query in enumerate(scored):
            demos = [Demo(job.annotated[j], float(s), r) for r, (j, s) in
                     enumerate(zip(job.neighbors[i].tolist(), job.sims[i].tolist())) if j >= 0]
            text, used = scorer.build(builder, query, demos)
            prompts.append(text)
            n_demos.append(used)
        offset = n * len(scored)
        if is_gen:
            texts = scorer.generate(prompts, stop=ds.spec.stop, progress=lambda d, t: ctx.report(stage, d, t),
                                    done_offset=offset, total=total, batch_size=batch)
            correct = [answers_match(extract_answer(tx), g) for tx, g in zip(texts, gold)]
        else:
            best = scorer.classify(prompts, options, progress=lambda d, t: ctx.report(stage, d, t),
                                   done_offset=offset, total=total)
            correct = [ds.labels[b] == g for b, g in zip(best, gold)]
        result.runs.append(RunResult(scorer="lm", accuracy=float(np.mean(correct)),
                                     mean_demos=float(np.mean(n_demos)), lm=lm.name, **job.meta))
    if scorer.n_overlong:
        logger.warning("%s: %d test prompts exceeded max_tokens without demonstrations",
                       ds.name, scorer.n_overlong)


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
