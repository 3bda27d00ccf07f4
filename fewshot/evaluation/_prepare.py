"""Steps 1-2 of the protocol: load a dataset, draw the test sample and each seed's pool, and
embed every drawn item once (`prepare` -> `Prepared`)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fewshot.evaluation._context import RunContext
from fewshot.evaluation._datasets import LabeledDataset, load_dataset, sample_rows
from fewshot.exceptions import InvalidInputError
from fewshot.retrieve import Example

__all__ = ["Prepared", "prepare", "unit_rows"]

logger = logging.getLogger(__name__)

_TEST_STREAM, _POOL_STREAM = 1, 2


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _draw(ctx: RunContext, ds: LabeledDataset) -> tuple[list[Example], list[Example]]:
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
class Prepared:
    """A dataset with its draws and embeddings: what the selection loop works on."""

    ds: LabeledDataset
    pool_src: list[Example]
    pool_size: int
    pool_rows: dict[int, np.ndarray]  # seed -> rows of pool_src
    E: np.ndarray  # embeddings: pool union rows, then the test sample
    where: dict[int, int]  # pool_src row -> row of E
    scored: list[Example]  # the test items scored (after `limit`)
    test_unit: np.ndarray  # their unit-norm embeddings
    info: dict[str, Any] = field(default_factory=dict)  # sizes, labels, sources (EvalResult.datasets)

    @property
    def name(self) -> str:
        return self.ds.name

    @property
    def is_generation(self) -> bool:
        return self.ds.spec.task == "generation"

    @property
    def gold(self) -> list[str]:
        return [str(ex.label) for ex in self.scored]


def prepare(ctx: RunContext, ds_spec: Any, timing: dict[str, float]) -> Prepared:
    """Steps 1-2: load, draw the test sample and each seed's pool, embed every drawn item once."""
    cfg = ctx.config
    t = time.perf_counter()
    ds = load_dataset(ds_spec, data_dir=cfg.data_dir)
    name = ds.name
    pool_src, test_items = _draw(ctx, ds)
    pool_size = min(cfg.pool_size, len(pool_src))
    if pool_size < cfg.pool_size:
        logger.warning(
            "dataset %s: pool source has %d items, fewer than pool_size %d; using all",
            name,
            len(pool_src),
            cfg.pool_size,
        )
    if max(cfg.budgets) > pool_size:
        raise InvalidInputError(f"budgets: {max(cfg.budgets)} exceeds the pool of {name!r} ({pool_size} items)")
    pool_rows = {
        seed: sample_rows(len(pool_src), pool_size, _rng(seed if cfg.resample_pool else cfg.data_seed, _POOL_STREAM))
        for seed in cfg.seeds
    }
    timing["load"] = time.perf_counter() - t

    t = time.perf_counter()
    union = np.unique(np.concatenate(list(pool_rows.values())))
    texts = [pool_src[i].text for i in union] + [ex.text for ex in test_items]
    ctx.report(f"{name}: embed", 0, len(texts))
    E, ekey = ctx.embeddings.get_or_compute(name, cfg.embedding_model, texts, lambda tx: ctx.models.embedder.encode(tx))
    ctx.report(f"{name}: embed", len(texts), len(texts))
    n_scored = len(test_items) if cfg.limit is None else min(cfg.limit, len(test_items))
    scored = test_items[:n_scored]
    timing["embed"] = time.perf_counter() - t

    info = {
        "task": ds.spec.task,
        "labels": list(ds.labels),
        "sources": ds.sources,
        "pool_source_size": len(pool_src),
        "pool_size": pool_size,
        "test_sample_size": len(test_items),
        "n_scored": n_scored,
        "embedding_key": ekey,
        "resample_pool": cfg.resample_pool,
        "majority_baseline": _majority_share(scored),
        "test_ids": [str(ex.id) for ex in scored],
        "test_gold": [str(ex.label) for ex in scored],
    }
    return Prepared(
        ds=ds,
        pool_src=pool_src,
        pool_size=pool_size,
        pool_rows=pool_rows,
        E=E,
        where={int(r): j for j, r in enumerate(union.tolist())},
        scored=scored,
        test_unit=unit_rows(E[len(union) : len(union) + n_scored]),
        info=info,
    )


def _majority_share(items: list[Example]) -> float:
    """Accuracy of always answering the most frequent gold label of ``items``."""
    return Counter(str(ex.label) for ex in items).most_common(1)[0][1] / len(items)
