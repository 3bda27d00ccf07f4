"""Retrieval of demonstrations from a pool's labeled items by any registered retriever name.

Names come from `fewshot.retrieve.RETRIEVERS` (``dense`` is the pool's index itself; a class with
``needs_dense`` re-ranks it; any other is built over the index's corpus) plus the trained-model
forms ``udr``, ``udr:<name>``, ``udr:<name>:v<N>`` (a UDR model's own index of the pool).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.hashing import content_hash
from fewshot.retrieve import RETRIEVERS, BaseRetriever, Demo, DenseRetriever, Filter
from fewshot.service._batcher import MicroBatcher
from fewshot.service.indexes import DENSE, IndexService
from fewshot.service.models import ModelInfo, ModelService, Readable
from fewshot.service.pools import PoolService

__all__ = ["RetrievalService", "retriever_names", "is_udr_spec", "demo_to_dict", "UDR_FORMS"]

#: How trained retrievers are named, next to the registered names (help texts, errors).
UDR_FORMS = ("udr", "udr:<model>", "udr:<model>:v<N>")


def demo_to_dict(demo: Demo) -> dict[str, Any]:
    """A retrieved demonstration as JSON, the one shape of the API and the CLI: ``id`` and
    ``label`` as strings, ``score``, ``rank``, ``text``, ``skills``."""
    return {
        "id": str(demo.id),
        "score": float(demo.score),
        "rank": demo.rank,
        "text": demo.text,
        "label": None if demo.label is None else str(demo.label),
        "skills": list(demo.example.skills),
    }


def is_udr_spec(name: str) -> bool:
    return name == "udr" or name.startswith("udr:")


def retriever_names() -> list[str]:
    """The registered retriever names (``udr`` forms excluded)."""
    return RETRIEVERS.names()


class RetrievalService:
    """Retrievers over pools, cached per (pool, index version, name, parameters)."""

    def __init__(self, pools: PoolService, indexes: IndexService, models: ModelService) -> None:
        self.pools, self.indexes, self.models = pools, indexes, models
        self._lock = threading.RLock()
        self._derived: dict[tuple[str, str, str], BaseRetriever] = {}  # (index stamp, name, params)
        self._batchers: weakref.WeakKeyDictionary[DenseRetriever, MicroBatcher[tuple[np.ndarray, int], list[Demo]]]
        self._batchers = weakref.WeakKeyDictionary()

    def resolve_name(self, name: str, *, readable: Readable = None) -> str:
        """The retriever name to use for a caller who may read the pools ``readable`` accepts: a UDR
        form (``udr``, ``udr:<model>``) becomes the exact version visible to it (``udr:<model>:v<N>``,
        trained on readable pools only; `NotFoundError` as for a missing model otherwise); any other
        name, or any name when ``readable`` is None (no limit), is returned as it is."""
        if readable is None or not isinstance(name, str) or not is_udr_spec(name):
            return name
        return self.models.resolve(name, readable=readable).spec

    def retriever(
        self, pool: str, name: str = DENSE, *, readable: Readable = None, **params: Any
    ) -> tuple[int, int, BaseRetriever]:
        """``(pool id, index version, retriever)`` for the retriever ``name`` over ``pool``; with
        ``readable``, a UDR model trained on a pool it does not accept is not found."""
        if not isinstance(name, str):
            raise InvalidInputError(f"retriever must be a name, got {name!r}")
        if is_udr_spec(name):
            return self._udr(pool, self.resolve_name(name, readable=readable), **params)
        if name not in RETRIEVERS:
            names = ", ".join([*RETRIEVERS.names(), *UDR_FORMS])
            raise InvalidInputError(f"unknown retriever {name!r}; choose from {names}")
        loaded = self.indexes.loaded_dense(pool)
        pool_id, version, dense = loaded.pool_id, loaded.version, loaded.retriever
        if name == DENSE:
            return pool_id, version, dense
        key = (loaded.stamp, name, repr(sorted(params.items())))
        with self._lock:
            if key not in self._derived:
                cls = RETRIEVERS.get(name)
                base: Any = dense if getattr(cls, "needs_dense", False) else dense.corpus
                try:
                    self._derived[key] = cls(base, **params)
                except TypeError as exc:
                    raise InvalidInputError(f"retriever {name!r}: {exc}") from None
            return pool_id, version, self._derived[key]

    def _udr(self, pool: str, spec: str, *, task: str | None = None) -> tuple[int, int, DenseRetriever]:
        """A UDR model's index of the pool: the pool's own instruction (kind ``udr:<name>:v<N>``),
        or another task's (kind ``...#<instruction hash>``: other vectors, another index)."""
        info = self.models.resolve(spec)
        model = self.models.load(info)
        own = task if task is not None else (pool if pool in model.instructions else None)
        instruction = model.instruction_for(own)
        kind = info.spec if task is None else f"{info.spec}#{content_hash(instruction)[:8]}"
        suffix = kind[len(info.spec) :].replace("#", "-")

        def encoder() -> Any:
            return self.models.load(info).encoder(own, n_threads=None)

        return self.indexes.derived(
            pool, kind, encoder, directory=lambda v: f"udr-{info.name}-v{info.version}{suffix}-i{v}"
        )

    def build_udr_index(self, pool: str, spec: str = "udr", *, task: str | None = None) -> dict[str, Any]:
        """Build or refresh the pool's index for a UDR model now; returns its description."""
        info: ModelInfo = self.models.resolve(spec)
        _pool_id, version, retriever = self._udr(pool, spec, task=task)
        return {
            "pool": pool,
            "model": info.spec,
            "version": version,
            "count": len(retriever.corpus),
            "embedding_model": retriever.encoder.name,
        }

    def retrieve_versioned(
        self,
        pool: str,
        queries: str | Sequence[str],
        *,
        k: int = 8,
        retriever: str = DENSE,
        filter: Filter | None = None,
        **params: Any,
    ) -> tuple[int, list[list[Demo]]]:
        """``(index version, demonstrations per query)``: the version is that of the index the
        retriever searched (the pool's dense index, or the UDR model's own index)."""
        _pool_id, version, results = self.search(pool, queries, k=k, retriever=retriever, filter=filter, **params)
        return version, results

    def retrieve(
        self,
        pool: str,
        queries: str | Sequence[str],
        *,
        k: int = 8,
        retriever: str = DENSE,
        filter: Filter | None = None,
        **params: Any,
    ) -> list[list[Demo]]:
        """Demonstrations for each query, best first: ``list[list[Demo]]``."""
        return self.search(pool, queries, k=k, retriever=retriever, filter=filter, **params)[2]

    def search(
        self, pool: str, queries: str | Sequence[str], *, k: int, retriever: str, filter: Filter | None, **params: Any
    ) -> tuple[int, int, list[list[Demo]]]:
        """``(pool id, index version, demonstrations per query)``."""
        if isinstance(queries, str):
            queries = [queries]
        if not queries:
            raise InvalidInputError("queries must not be empty")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"k must be a positive integer, got {k!r}")
        pool_id, version, r = self.retriever(pool, retriever, **params)
        if len(queries) == 1 and filter is None and isinstance(r, DenseRetriever):
            # one query (a prompt request): embedded in this thread, searched together with the
            # queries of the requests running at the same time (one pass over the index)
            vector = r.encode_queries(list(queries))
            return pool_id, version, [self._batcher(r).submit((vector, k))]
        return pool_id, version, r.retrieve(list(queries), k, filter=filter)

    def batch_stats(self) -> dict[str, int]:
        """``searches`` (FAISS calls) and ``queries`` (single-query searches they answered) of the
        indexes loaded now: queries / searches is the mean batch size under the current load."""
        with self._lock:
            batchers = list(self._batchers.values())
        return {"searches": sum(b.batches for b in batchers), "queries": sum(b.items for b in batchers)}

    def _batcher(self, r: DenseRetriever) -> MicroBatcher[tuple[np.ndarray, int], list[Demo]]:
        """The `MicroBatcher` of one loaded dense index: ``(query vector (1, dim), k) -> demos``."""
        with self._lock:
            batcher = self._batchers.get(r)
            if batcher is None:
                ref = weakref.ref(r)  # the batcher must not keep its (weak) key alive

                def search(items: list[tuple[np.ndarray, int]]) -> list[list[Demo]]:
                    retriever = ref()
                    assert retriever is not None  # a caller holds it while it waits
                    k = max(k for _vector, k in items)
                    found = retriever.retrieve(np.concatenate([vector for vector, _k in items]), k)
                    return [demos[:k] for demos, (_vector, k) in zip(found, items)]

                batcher = self._batchers[r] = MicroBatcher(search)
            return batcher
