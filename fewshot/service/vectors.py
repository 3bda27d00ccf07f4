"""Embedding pools: vectors written in atomic shards by content hash, read back in id order."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError, MissingDependencyError
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

    def __init__(
        self,
        ctx: ServiceContext,
        pools: PoolService,
        *,
        ray_runner: Callable[..., EmbedReport] | None = None,
        ray_check: Callable[[], bool] | None = None,
    ) -> None:
        """``ray_runner`` / ``ray_check``: the Ray path (`fewshot.service.ray_embed.embed_on_ray` and
        ``ray_available``), given by the `Workspace` so that this module does not import the one built
        on it; without them ``ray=`` raises `MissingDependencyError`."""
        self.ctx, self.pools = ctx, pools
        self._ray_runner, self._ray_check = ray_runner, ray_check

    def store(self, pool: str) -> VectorStore:
        """The pool's vector shards for its embedding model."""
        pool_id, model = self.pools.ref(pool)
        return self.ctx.vector_store(pool_id, model)

    def embed(
        self, pool: str, *, ray: bool | str = False, ray_gpus: float = 0.0, progress: Progress | None = None
    ) -> EmbedReport:
        """Embed every example of ``pool`` that has no vector yet for the pool's model.

        Vectors are written in atomic shards of ``embed_chunk_size`` texts: an interrupted run
        keeps its finished shards and the next run continues from there.

        ``ray``: ``False`` embeds in this process; ``True`` on the Ray cluster of the settings'
        ``ray_address`` (``"auto"`` when unset); a string on the cluster at that address (``"auto"``,
        ``"local"``, ``HOST:PORT``), with ``ray_gpus`` GPUs per encoder actor. Both paths write the
        same shards (see `fewshot.service.ray_embed`). Raises `MissingDependencyError` naming the
        ``ray`` extra when it is asked for and not installed.
        """
        if ray is not False:
            return self._embed_on_ray(pool, self.ray_address(ray), ray_gpus, progress)
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

    def ray_address(self, ray: bool | str) -> str:
        """The Ray address that ``embed(ray=...)`` joins: the string itself, or for ``True`` the
        settings' ``ray_address`` (``"auto"`` when unset)."""
        if isinstance(ray, str):
            if not ray.strip():
                raise InvalidInputError("ray: give True or a Ray address (auto, local, HOST:PORT); got an empty string")
            return ray.strip()
        if ray is not True:
            raise InvalidInputError(f"ray must be True, False or a Ray address; got {ray!r}")
        return self.ctx.settings.ray_address or "auto"

    def _embed_on_ray(self, pool: str, address: str, gpus: float, progress: Progress | None) -> EmbedReport:
        if self._ray_runner is None:
            raise MissingDependencyError("ray[data]", extra="ray")
        return self._ray_runner(self.ctx, self.pools, pool, address=address, num_gpus=gpus, progress=progress)

    def embed_job_params(self, *, ray: bool = False) -> dict[str, Any]:
        """The parameters, besides the pool, of an ``embed`` job (checked now, before it is queued).

        ``ray=True`` embeds on the operator's Ray cluster (settings ``ray_address``); a job never
        carries an address. Raises `InvalidInputError` when no cluster is configured and
        `MissingDependencyError` without the ``ray`` extra.
        """
        return self.ray_job_params() if ray else {}

    def ray_job_params(self) -> dict[str, Any]:
        """``{"ray": True}`` for a job to run on the operator's Ray cluster (an embed job, or the
        partitions of a selection job), checked before it is queued: `InvalidInputError` when no
        ``ray_address`` is configured, `MissingDependencyError` without the ``ray`` extra."""
        self._configured_ray_address()
        if self._ray_check is None or not self._ray_check():
            raise MissingDependencyError("ray[data]", extra="ray")
        return {"ray": True}

    def _configured_ray_address(self) -> str:
        address = self.ctx.settings.ray_address
        if not address:
            raise InvalidInputError(
                "ray: this server has no Ray cluster configured (setting ray_address, FEWSHOT_RAY_ADDRESS)"
            )
        return address

    def run_embed_job(self, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """The ``embed`` job: ``params["pool"]``, and ``params["ray"]`` (bool) to embed on the
        settings' Ray cluster (an address in the params is never read)."""
        if params.get("ray") is True:
            address = self._configured_ray_address()
            return self.embed(params["pool"], ray=address, progress=progress).to_dict()
        return self.embed(params["pool"], progress=progress).to_dict()

    def vectors(self, pool: str, *, status: str | Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(example_ids, X)``: database ids (int64, id order) and their vectors ``(n, dim)`` float32."""
        pool_id, model = self.pools.ref(pool)
        with self.ctx.session() as s:
            rows = example_rows.id_hash_rows(s, pool_id=pool_id, status=status)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        store = self.ctx.vector_store(pool_id, model)
        return ids, store.get([r[1] for r in rows]) if rows else np.zeros((0, store.dim or 0), np.float32)
