"""UDR over pools: LM feedback mining and training of a trained retriever (SPEC 5).

* Feedback scores go to the ``feedback_scores`` table (keyed by content), so mining is resumable
  and shared between ``udr_mine``, ``udr_train`` and later rounds.
* A trained model is saved by `fewshot.service.models.ModelService` (``{home}/models/{name}/v{N}``).
* Retrieval with ``"udr"``, ``"udr:<name>"`` or ``"udr:<name>:v<N>"`` is
  `fewshot.service.retrieval.RetrievalService`'s: the model's own index of the pool, built by
  `fewshot.service.indexes.IndexService` (``index_versions.kind = "udr:<name>:v<N>"``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.progress import Progress, StageProgress, staged
from fewshot.prompt import PromptTemplate, get_template
from fewshot.service.context import ServiceContext
from fewshot.service.indexes import IndexService
from fewshot.service.models import ModelInfo, ModelService, check_model_name
from fewshot.service.pools import PoolService
from fewshot.store.feedback import SQLFeedbackCache

if TYPE_CHECKING:
    from fewshot.lm import LMBackend
    from fewshot.udr import UDRModel, UDRTask

__all__ = ["UDRService", "DEFAULT_UDR_TEMPLATE"]

logger = logging.getLogger(__name__)

#: The prompt format of LM feedback when a pool names no template: ``x`` then `` y``.
DEFAULT_UDR_TEMPLATE = PromptTemplate(name="udr-default", input="Input: {text}\nAnswer:", output=" {label}")


def _positive(name: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be an int >= 1, got {value!r}")


class UDRService:
    """Feedback mining and UDR training over pools; models go to the `ModelService`."""

    def __init__(self, ctx: ServiceContext, pools: PoolService, indexes: IndexService, models: ModelService) -> None:
        self.ctx, self.pools, self.indexes, self.models = ctx, pools, indexes, models

    # ------------------------------------------------------------------------ tasks
    def tasks(
        self,
        pools: Sequence[str],
        *,
        template: str | None = None,
        instructions: dict[str, str] | None = None,
        max_queries: int | None = None,
        seed: int = 0,
    ) -> list[UDRTask]:
        """One `UDRTask` per pool: its labeled items are the annotated pool; ``max_queries`` of them
        (a seeded sample; all when None) are the training items."""
        from fewshot.udr import UDRTask

        if isinstance(pools, str):
            pools = [pools]
        if not pools:
            raise InvalidInputError("give at least one pool to train on")
        if len(set(pools)) != len(pools):
            raise InvalidInputError(f"pools must be distinct, got {list(pools)}")
        _positive("max_queries", max_queries, allow_none=True)
        tpl = DEFAULT_UDR_TEMPLATE if template in (None, "default") else get_template(template)
        instructions = dict(instructions or {})
        unknown = sorted(set(instructions) - set(pools))
        if unknown:
            raise InvalidInputError(f"instructions given for pools not trained on: {unknown}")
        out = []
        for pool in pools:
            info = self.pools.get(pool)
            items = self.indexes.labeled_demonstrations(pool)
            if len(items) < 3:
                raise InvalidInputError(
                    f"pool {pool!r} has {len(items)} labeled items; UDR needs at least 3 "
                    "(each training item needs candidates other than itself)"
                )
            queries = items
            if max_queries is not None and max_queries < len(items):
                rows_ = np.sort(np.random.default_rng(seed).choice(len(items), size=max_queries, replace=False))
                queries = [items[i] for i in rows_]
            instruction = instructions.get(pool, f"{info.description or pool}: ")
            out.append(UDRTask(pool, tpl, items, queries, instruction))
        return out

    def _lm(self, lm: str | LMBackend) -> tuple[LMBackend, bool]:
        """(backend, whether we opened it and must close it); a configured name is resolved to the
        operator's spec here, so job params and model records keep the name, never the URL."""
        from fewshot.lm import get_backend

        if isinstance(lm, str):
            if not lm.strip():
                raise InvalidInputError("lm must be a backend spec such as 'smollm2' or 'hf:<dir>'")
            return get_backend(self.ctx.lm_spec(lm)), True
        if not hasattr(lm, "loglikelihood"):
            raise InvalidInputError(f"lm must be an LM backend or a spec string, got {type(lm).__name__}")
        return lm, False

    def feedback_cache(self) -> SQLFeedbackCache:
        """The workspace's ``feedback_scores`` table as a `fewshot.udr.FeedbackCache`."""
        return SQLFeedbackCache(self.ctx.session)

    # ------------------------------------------------------------------------ mining
    def mine(
        self,
        pools: Sequence[str],
        *,
        lm: str | LMBackend,
        n_candidates: int = 50,
        template: str | None = None,
        max_queries: int | None = None,
        seed: int = 0,
        chunk_size: int = 64,
        progress: StageProgress | None = None,
    ) -> dict[str, Any]:
        """Score the top ``n_candidates`` BM25 candidates of each training item with ``lm`` and store
        the scores (pairs already stored are skipped). Returns the mining statistics."""
        from fewshot.udr import bm25_candidates, mine_tasks

        _positive("n_candidates", n_candidates)
        tasks = self.tasks(pools, template=template, max_queries=max_queries, seed=seed)
        backend, owned = self._lm(lm)
        try:
            cands = {t.name: bm25_candidates(t, n_candidates) for t in tasks}
            _, stats = mine_tasks(
                tasks, backend, cands, cache=self.feedback_cache(), chunk_size=chunk_size, progress=progress
            )
        finally:
            if owned:
                backend.close()
        return {
            "pools": [t.name for t in tasks],
            "lm": lm if isinstance(lm, str) else str(backend.name),
            **stats.to_dict(),
        }

    # ------------------------------------------------------------------------ training
    def train(
        self,
        name: str,
        pools: Sequence[str],
        *,
        lm: str | LMBackend,
        rounds: int = 1,
        n_candidates: int = 50,
        template: str | None = None,
        instructions: dict[str, str] | None = None,
        max_queries: int | None = None,
        base_model: str | None = None,
        epochs: int = 3,
        batch_size: int = 8,
        k: int = 8,
        lr: float = 3e-5,
        seed: int = 0,
        chunk_size: int = 64,
        progress: StageProgress | None = None,
    ) -> ModelInfo:
        """Mine feedback (cached), train a UDR model on ``pools`` jointly, save it as the next version
        of ``name``; returns its `ModelInfo`."""
        from fewshot.udr import TrainConfig, run_udr

        check_model_name(name)
        _positive("rounds", rounds)
        _positive("n_candidates", n_candidates)
        config = TrainConfig(epochs=epochs, batch_size=batch_size, k=k, lr=lr, seed=seed)
        tasks = self.tasks(pools, template=template, instructions=instructions, max_queries=max_queries, seed=seed)
        base = base_model or self.ctx.settings.embedding_model
        backend, owned = self._lm(lm)
        try:
            run = run_udr(
                tasks,
                backend,
                base_model=base,
                rounds=rounds,
                n_candidates=n_candidates,
                config=config,
                cache=self.feedback_cache(),
                name=name,
                chunk_size=chunk_size,
                progress=progress,
            )
        finally:
            if owned:
                backend.close()
        params = {
            "pools": [t.name for t in tasks],
            "lm": lm if isinstance(lm, str) else str(backend.name),
            "rounds": rounds,
            "n_candidates": n_candidates,
            "template": template or "default",
            "instructions": {t.name: t.instruction for t in tasks},
            "max_queries": max_queries,
            **config.to_dict(),
        }
        return self.models.save(name, run.model, base_model=base, params=params, metrics=run.metrics())

    def save_model(
        self,
        name: str,
        model: UDRModel,
        *,
        base_model: str = "unknown",
        params: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> ModelInfo:
        """Register a UDR model trained elsewhere (e.g. with `fewshot.udr.run_udr`) as the next version
        of ``name``; it is copied under the workspace's models folder."""
        return self.models.save(name, model, base_model=base_model, params=params, metrics=metrics)

    # ------------------------------------------------------------------------ jobs
    def run_mine_job(self, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """The ``udr_mine`` job: ``params`` holds ``pools`` and the `mine` options."""
        p = dict(params)
        pools = p.pop("pools")
        return self.mine(pools, progress=staged(len(pools), progress), **p)

    def run_train_job(self, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """The ``udr_train`` job: ``params`` holds ``name``, ``pools``, ``rounds`` and the `train` options."""
        p = dict(params)
        name, pools, rounds = p.pop("name"), p.pop("pools"), p.pop("rounds", 1)
        stages = rounds * (len(pools) + 1)  # mining each pool, then training, per round
        info = self.train(name, pools, rounds=rounds, progress=staged(stages, progress), **p)
        return info.to_dict(with_path=False)  # a job's result reaches API callers: no server path
