"""Embedding pools: vectors written in atomic shards by content hash, read back in id order."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fewshot.progress import Progress
from fewshot.service.context import ServiceContext
from fewshot.service.pools import PoolService
from fewshot.store import examples as example_rows
from fewshot.store.vectors import VectorStore

__all__ = ["VectorService", "EmbedReport", "PendingTexts", "pending_texts"]


@dataclass(frozen=True)
class EmbedReport:
    """What an embedding run did: ``embedded`` new texts, ``cached`` already there."""

    pool: str
    model: str
    total: int
    embedded: int
    cached: int
    seconds: float
    dim: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PendingTexts:
    """A pool's texts by content hash and those without a vector yet (what an embedding run,
    local or on Ray, must encode)."""

    total: int  # examples in the pool
    texts: dict[str, str]  # content hash -> text, each distinct text once
    todo: list[str]  # hashes of ``texts`` that have no stored vector

    def report(self, pool: str, model: str, store: VectorStore, *, embedded: int, start: float) -> EmbedReport:
        """The `EmbedReport` of a run that encoded ``embedded`` of ``todo`` since ``start``."""
        return EmbedReport(
            pool=pool,
            model=model,
            total=self.total,
            embedded=embedded,
            cached=len(self.texts) - len(self.todo),
            seconds=time.perf_counter() - start,
            dim=store.dim,
        )


def pending_texts(ctx: ServiceContext, pool_id: int, store: VectorStore) -> PendingTexts:
    """The pool's distinct texts and which of them ``store`` has no vector for."""
    with ctx.session() as s:
        rows = example_rows.hashes_and_texts(s, pool_id=pool_id)
    texts: dict[str, str] = {}
    for h, text in rows:
        texts.setdefault(h, text)
    hashes = list(texts)
    todo_mask = ~store.contains(hashes) if hashes else np.zeros(0, bool)
    return PendingTexts(len(rows), texts, [hashes[i] for i in np.flatnonzero(todo_mask)])


class VectorService:
    """A pool's vectors for its embedding model."""

    def __init__(self, ctx: ServiceContext, pools: PoolService) -> None:
        self.ctx, self.pools = ctx, pools

    def store(self, pool: str) -> VectorStore:
        """The pool's vector shards for its embedding model."""
        pool_id, model = self.pools.ref(pool)
        return self.ctx.vector_store(pool_id, model)

    def embed(self, pool: str, *, progress: Progress | None = None) -> EmbedReport:
        """Embed every example of ``pool`` that has no vector yet for the pool's model.

        Vectors are written in atomic shards of ``embed_chunk_size`` texts: an interrupted run
        keeps its finished shards and the next run continues from there.
        """
        start = time.perf_counter()
        pool_id, model = self.pools.ref(pool)
        store = self.ctx.vector_store(pool_id, model)
        pending = pending_texts(self.ctx, pool_id, store)
        todo = pending.todo
        done = 0
        if todo:
            embedder = self.ctx.embedder(model)
            chunk = self.ctx.settings.embed_chunk_size
            for i in range(0, len(todo), chunk):
                part = todo[i : i + chunk]
                store.add(part, embedder.encode([pending.texts[h] for h in part]))
                done += len(part)
                if progress is not None:
                    progress(done, len(todo))
        elif progress is not None:
            progress(0, 0)
        return pending.report(pool, model, store, embedded=done, start=start)

    def run_embed_job(self, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """The ``embed`` job: ``params["pool"]``."""
        return self.embed(params["pool"], progress=progress).to_dict()

    def vectors(self, pool: str, *, status: str | Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(example_ids, X)``: database ids (int64, id order) and their vectors ``(n, dim)`` float32."""
        pool_id, model = self.pools.ref(pool)
        with self.ctx.session() as s:
            rows = example_rows.id_hash_rows(s, pool_id=pool_id, status=status)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        store = self.ctx.vector_store(pool_id, model)
        return ids, store.get([r[1] for r in rows]) if rows else np.zeros((0, store.dim or 0), np.float32)
