"""What one `run_eval` call shares between its steps: the config, the caches, the models
(created on first use) and the progress callback."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fewshot.evaluation._cache import CacheStats, EmbeddingCache, LMCache, SelectionCache
from fewshot.evaluation._config import EvalConfig

__all__ = ["EvalProgress", "Models", "RunContext"]

logger = logging.getLogger(__name__)

#: ``progress(stage, done, total)``: ``stage`` names the dataset and phase (e.g.
#: ``"sst5: select"``); ``total`` may be 0 when unknown.
EvalProgress = Callable[[str, int, int], None]


class Models:
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
class RunContext:
    """The state every step of one `run_eval` call reads: config, caches, models, progress."""

    config: EvalConfig
    stats: CacheStats
    embeddings: EmbeddingCache
    selections: SelectionCache
    models: Models
    progress: EvalProgress | None
    lm_cache: LMCache | None = None

    def report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)
