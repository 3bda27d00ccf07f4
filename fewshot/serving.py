"""Retrieval and prompts over a pool's labeled items: versioned indexes, cached retrievers,
prompt building with a provenance log. The :class:`~fewshot.workspace.Workspace` delegates here.

Index artifacts live under ``{home}/indexes/pool-{id}/dense-v{N}/`` (a saved
:class:`~fewshot.retrieve.DenseRetriever`: FAISS index, corpus, manifest), one row per version
in ``index_versions``. A refresh loads the latest version and applies only what changed among the
labeled items (new, removed, relabeled); vectors come from the pool's vector shards by content
hash, so nothing already embedded is embedded again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from sqlalchemy import select

from .exceptions import InvalidInputError, NotFoundError
from .retrieve import CORE_FIELDS, Corpus, DenseRetriever, Filter, SentenceEncoder, get_retriever
from .retrieve import Example as Demonstration
from .store.models import Example, ExampleStatus, IndexVersion, Pool, PromptLog
from .store.vectors import VectorStore, content_hash

if TYPE_CHECKING:
    from .prompt import BuiltPrompt
    from .workspace import Workspace

__all__ = ["IndexInfo", "CachedEncoder", "PoolServing", "RETRIEVER_NAMES"]

logger = logging.getLogger(__name__)
RETRIEVER_NAMES = ("dense", "bm25", "mmr", "label_balanced", "random")


@dataclass(frozen=True)
class IndexInfo:
    pool: str
    version: int
    count: int
    embedding_model: str
    kind: str
    path: str
    created_at: str
    changed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CachedEncoder:
    """An encoder that reads stored vectors by content hash and embeds only unknown texts
    (queries) with the model. Output rows are L2-normalised (cosine geometry)."""

    def __init__(self, store: VectorStore, encoder: SentenceEncoder) -> None:
        self.store, self.encoder = store, encoder
        self.name, self.dim = encoder.name, encoder.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        hashes = [content_hash(t) for t in texts] if len(texts) > 1 else []
        known = self.store.contains(hashes) if hashes else np.zeros(len(texts), dtype=bool)
        if known.any():
            rows = np.flatnonzero(known)
            vec = self.store.get([hashes[i] for i in rows])
            out[rows] = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
        rest = np.flatnonzero(~known)
        if rest.size:
            out[rest] = self.encoder.encode([texts[i] for i in rest])
        return out


def _demonstration(row: Example) -> Demonstration:
    fields = {k: v for k, v in (row.fields or {}).items() if k not in CORE_FIELDS and _hashable_json(v)}
    return Demonstration(id=row.external_id, text=row.text, label=row.label, skills=tuple(row.skills or ()),
                         fields=fields)


def _hashable_json(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _fingerprint(rows: Sequence[Example]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r.external_id}\x1f{r.content_hash}\x1f{r.label}\x1f{','.join(r.skills or ())}\x1e".encode())
    return h.hexdigest()


class PoolServing:
    """Per-workspace cache of loaded retrievers, keyed by pool and index version."""

    def __init__(self, ws: "Workspace") -> None:
        self.ws = ws
        self._lock = threading.RLock()
        self._loaded: dict[int, tuple[int, DenseRetriever]] = {}
        self._derived: dict[tuple[int, int, str, str], Any] = {}
        self._counters: dict[str, Any] = {}

    # ------------------------------------------------------------------------- indexes
    def _root(self, pool_id: int) -> Path:
        return self.ws.settings.home / "indexes" / f"pool-{pool_id}"

    def build_index(self, pool: str, *, kind: str = "auto", progress=None) -> IndexInfo:
        """Build or refresh the dense index over the pool's labeled items (a new version only
        when the labeled set changed)."""
        info = self.ws.get_pool(pool)
        if info.counts.get(ExampleStatus.LABELED.value, 0) == 0:
            raise InvalidInputError(f"pool {pool!r} has no labeled items to index; import labels first")
        self.ws.embed(pool, progress=progress)  # only texts without a vector yet
        with self.ws.session() as s:
            rows = s.scalars(select(Example).where(Example.pool_id == info.id,
                                                   Example.status == ExampleStatus.LABELED.value)
                             .order_by(Example.id)).all()
            latest = s.scalar(select(IndexVersion).where(IndexVersion.pool_id == info.id, IndexVersion.kind == "dense")
                              .order_by(IndexVersion.version.desc()).limit(1))
            latest = None if latest is None else (latest.version, latest.path, latest.labeled_fingerprint,
                                                  latest.embedding_model)
        fingerprint = _fingerprint(rows)
        if latest is not None and latest[2] == fingerprint and latest[3] == info.embedding_model:
            return self.index_info(pool, changed=False)
        encoder = self._encoder(info)
        wanted = {r.external_id: r for r in rows}
        if latest is not None and latest[3] == info.embedding_model and Path(latest[1]).exists():
            retriever = DenseRetriever.load(latest[1], encoder=encoder)
            corpus = retriever.corpus
            stale = [e.id for e in corpus if e.id not in wanted or _demonstration(wanted[e.id]) != e]
            if stale:
                corpus.remove(stale)
            have = {e.id for e in corpus}
            corpus.add(_demonstration(r) for r in rows if r.external_id not in have)
        else:
            retriever = DenseRetriever(Corpus(_demonstration(r) for r in rows), encoder, kind=kind)
        retriever.sync()
        version = (latest[0] + 1) if latest is not None else 1
        path = self._root(info.id) / f"dense-v{version}"
        retriever.save(path)
        with self.ws.session() as s:
            s.add(IndexVersion(pool_id=info.id, kind="dense", version=version, embedding_model=info.embedding_model,
                               path=str(path), count=len(retriever.corpus), labeled_fingerprint=fingerprint))
        with self._lock:
            self._loaded[info.id] = (version, retriever)
        logger.info("index v%d of pool %s: %d labeled items", version, pool, len(retriever.corpus))
        return self.index_info(pool)

    def index_info(self, pool: str, *, changed: bool = True) -> IndexInfo:
        info = self.ws.get_pool(pool)
        with self.ws.session() as s:
            row = s.scalar(select(IndexVersion).where(IndexVersion.pool_id == info.id, IndexVersion.kind == "dense")
                           .order_by(IndexVersion.version.desc()).limit(1))
            if row is None:
                raise NotFoundError(f"pool {pool!r} has no index yet; run `fewshot index {pool}`")
            return IndexInfo(pool=pool, version=row.version, count=row.count, embedding_model=row.embedding_model,
                             kind="dense", path=row.path, created_at=row.created_at.isoformat(), changed=changed)

    def _encoder(self, info) -> CachedEncoder:
        embedder = self.ws.embedder(info.embedding_model)
        # one torch thread per query: steady latency on small machines, and concurrent requests
        # (the API's thread pool) use the cores in parallel instead of fighting over them
        sentence = SentenceEncoder(embedder.model, name=info.embedding_model, batch_size=embedder.batch_size,
                                   n_threads=self.ws.settings.query_threads)
        return CachedEncoder(self.ws.vector_store(info), sentence)

    def _latest(self, pool: str) -> tuple[int, str, int, str]:
        """(pool id, embedding model, latest index version, its path): one cheap query, no counts."""
        with self.ws.session() as s:
            row = s.execute(select(Pool.id, Pool.embedding_model, IndexVersion.version, IndexVersion.path)
                            .outerjoin(IndexVersion, (IndexVersion.pool_id == Pool.id) & (IndexVersion.kind == "dense"))
                            .where(Pool.name == pool).order_by(IndexVersion.version.desc()).limit(1)).first()
        if row is None:
            self.ws.get_pool(pool)  # raises NotFoundError naming the known pools
        if row.version is None:
            raise NotFoundError(f"pool {pool!r} has no index yet; run `fewshot index {pool}`")
        return row.id, row.embedding_model, row.version, row.path

    def dense(self, pool: str) -> tuple[int, DenseRetriever]:
        """``(version, retriever)``: the pool's latest dense retriever, loaded once and reused until a
        new index version appears."""
        _, version, retriever = self._dense(pool)
        return version, retriever

    def _dense(self, pool: str) -> tuple[int, int, DenseRetriever]:
        pool_id, _model, version, path = self._latest(pool)
        with self._lock:
            cached = self._loaded.get(pool_id)
            if cached is None or cached[0] != version:
                retriever = DenseRetriever.load(path, encoder=self._encoder(self.ws.get_pool(pool)))
                cached = self._loaded[pool_id] = (version, retriever)
            return pool_id, cached[0], cached[1]

    def retriever(self, pool: str, name: str = "dense", **params: Any):
        return self._retriever(pool, name, **params)[2]

    def _retriever(self, pool: str, name: str = "dense", **params: Any) -> tuple[int, int, Any]:
        """(pool id, index version, retriever)."""
        if name == "udr" or name.startswith("udr:"):  # a trained UDR model: its own index (_udr_service)
            return self.ws.udr.retriever(pool, name, **params)
        if name not in RETRIEVER_NAMES:
            raise InvalidInputError(f"unknown retriever {name!r}; choose from {', '.join(RETRIEVER_NAMES)}, "
                                    "udr, udr:<model>, udr:<model>:v<N>")
        pool_id, version, dense = self._dense(pool)
        if name == "dense":
            return pool_id, version, dense
        key = (pool_id, version, name, repr(sorted(params.items())))
        with self._lock:
            if key not in self._derived:
                if name in ("mmr", "label_balanced"):
                    self._derived[key] = get_retriever(name, dense=dense, **params)
                else:
                    self._derived[key] = get_retriever(name, dense.corpus, **params)
            return pool_id, version, self._derived[key]

    # ------------------------------------------------------------------------ retrieval
    def retrieve(self, pool: str, queries: Sequence[str], *, k: int = 8, retriever: str = "dense",
                 filter: Filter | None = None, **params: Any):
        return self._retrieve(pool, queries, k=k, retriever=retriever, filter=filter, **params)[2]

    def retrieve_versioned(self, pool: str, queries: Sequence[str], *, k: int = 8, retriever: str = "dense",
                           filter: Filter | None = None, **params: Any) -> tuple[int, list]:
        """``(index version, demonstrations)``: the version is that of the index the retriever
        searched (the pool's dense index, or the UDR model's own index)."""
        _pool_id, version, results = self._retrieve(pool, queries, k=k, retriever=retriever, filter=filter, **params)
        return version, results

    def _retrieve(self, pool: str, queries: Sequence[str], *, k: int, retriever: str, filter: Filter | None,
                  **params: Any) -> tuple[int, int, list]:
        if isinstance(queries, str):
            queries = [queries]
        if not queries:
            raise InvalidInputError("queries must not be empty")
        if not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"k must be a positive integer, got {k!r}")
        pool_id, version, r = self._retriever(pool, retriever, **params)
        return pool_id, version, r.retrieve(list(queries), k, filter=filter)

    # -------------------------------------------------------------------------- prompts
    def counter(self, spec: str):
        from .prompt import get_token_counter

        with self._lock:
            if spec not in self._counters:
                self._counters[spec] = get_token_counter(spec)
            return self._counters[spec]

    def build_prompt(self, pool: str, query: str, *, k: int = 8, retriever: str = "dense",
                     template: str = "classification", instruction: str | None = None, max_tokens: int = 1024,
                     reserve_tokens: int = 16, max_demo_tokens: int | None = None, tokenizer: str = "approx",
                     order: str = "similar_last", filter: Filter | None = None, candidates: int | None = None,
                     log: bool = True, retriever_params: dict[str, Any] | None = None,
                     output_field: str | None = None, demos: Sequence[Any] | None = None,
                     log_params: dict[str, Any] | None = None) -> "tuple[BuiltPrompt, str]":
        """Retrieve demonstrations for ``query`` and pack them into a prompt; returns the prompt and
        its provenance id (logged in ``prompt_logs`` unless ``log=False``).

        ``output_field``: the item field rendered as each demonstration's answer (e.g. ``answer``
        for GSM8K's worked solutions with the ``math`` template). ``demos``: demonstrations already
        chosen (best first; e.g. by the adaptive policy) instead of retrieving them.
        ``log_params``: extra entries for the log's params (e.g. the adaptive branch and reason)."""
        from .prompt import PromptBuilder, get_template

        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query must be a non-empty string")
        changes: dict[str, Any] = {} if instruction is None else {"instruction": instruction}
        if output_field is not None:
            if not output_field.isidentifier():
                raise InvalidInputError(f"output_field must be a field name, got {output_field!r}")
            changes["output"] = " {" + output_field + "}"
        tpl = get_template(template, **changes)
        if demos is None:
            pool_id, version, results = self._retrieve(pool, [query], k=candidates or k, retriever=retriever,
                                                       filter=filter, **(retriever_params or {}))
            demos = results[0]
        else:
            pool_id, _model, version, _path = self._latest(pool)
        builder = PromptBuilder(tpl, self.counter(tokenizer), max_tokens=max_tokens, k=k,
                                reserve_tokens=reserve_tokens, max_demo_tokens=max_demo_tokens, order=order)
        prompt = builder.build(query, demos, retriever_name=retriever)
        prompt_id = uuid.uuid4().hex
        if log:
            with self.ws.session() as s:
                s.add(PromptLog(id=prompt_id, pool_id=pool_id, query_hash=prompt.query_hash, query=query,
                                retriever=retriever, template=template, demo_ids=[d.id for d in prompt.demos],
                                scores=[d.score for d in prompt.demos], n_tokens=prompt.n_tokens,
                                params={"k": k, "max_tokens": max_tokens, "tokenizer": tokenizer, "order": order,
                                        "index_version": version, "output_field": output_field,
                                        "filter": None if filter is None else filter.to_dict(),
                                        **(log_params or {})}))
        return prompt, prompt_id

    def prompt_log(self, prompt_id: str) -> dict[str, Any]:
        with self.ws.session() as s:
            row = s.get(PromptLog, prompt_id)
            if row is None:
                raise NotFoundError(f"no prompt with id {prompt_id!r}")
            pool = s.scalar(select(Pool.name).where(Pool.id == row.pool_id))
            return {"id": row.id, "pool_id": row.pool_id, "pool": pool, "query": row.query,
                    "query_hash": row.query_hash, "retriever": row.retriever, "template": row.template,
                    "demo_ids": list(row.demo_ids), "scores": list(row.scores), "n_tokens": row.n_tokens,
                    "params": dict(row.params or {}), "created_at": row.created_at.isoformat()}

    def prompt_logs(self, pool: str, *, limit: int = 50) -> list[dict[str, Any]]:
        info = self.ws.get_pool(pool)
        with self.ws.session() as s:
            ids = s.scalars(select(PromptLog.id).where(PromptLog.pool_id == info.id)
                            .order_by(PromptLog.created_at.desc()).limit(limit)).all()
        return [self.prompt_log(i) for i in ids]
