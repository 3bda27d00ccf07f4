"""Retrieval indexes over a pool's labeled items: versioned, incremental, cached in memory.

One builder serves every index kind: the pool's ``dense`` index (its embedding model, vectors read
from the pool's shards by content hash, so nothing embedded is embedded again) and derived
indexes encoded by another encoder (a trained UDR model: ``kind = "udr:<name>:v<N>"``). Each
version is a saved `fewshot.retrieve.DenseRetriever` under ``{home}/indexes/pool-{id}/<dir>/`` and
a row of ``index_versions``. A refresh loads the latest version and applies only what changed
among the labeled items (new, removed, relabeled, re-skilled).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from fewshot.embed import CachedEncoder, Encoder
from fewshot.exceptions import CorruptArtifactError, FewshotError, InvalidInputError, NotFoundError
from fewshot.progress import Progress
from fewshot.retrieve import CORE_FIELDS, INDEX_KINDS, Corpus, DenseIndex, DenseRetriever
from fewshot.retrieve import Example as Demonstration
from fewshot.service._recent import Recent
from fewshot.service.context import ServiceContext
from fewshot.service.pools import PoolService
from fewshot.service.vectors import VectorService
from fewshot.store import examples as example_rows
from fewshot.store import indexes as index_rows
from fewshot.store.models import Example, ExampleStatus

__all__ = ["IndexService", "IndexInfo", "LoadedIndex", "demonstration", "fingerprint", "stamp_of", "DENSE"]

logger = logging.getLogger(__name__)

#: The kind of a pool's own index (its embedding model).
DENSE = "dense"


@dataclass(frozen=True)
class IndexInfo:
    """The newest version of a pool's dense index; ``changed`` is False when a build found nothing new."""

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


def demonstration(row: Example) -> Demonstration:
    """A stored example as a retrievable demonstration (scalar extra fields only)."""
    fields = {
        k: v
        for k, v in (row.fields or {}).items()
        if k not in CORE_FIELDS and (isinstance(v, (str, int, float, bool)) or v is None)
    }
    return Demonstration(
        id=row.external_id, text=row.text, label=row.label, skills=tuple(row.skills or ()), fields=fields
    )


def fingerprint(rows: Sequence[Example]) -> str:
    """sha256 over the labeled set's ids, texts, labels and skills: equal fingerprints, same index."""
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r.external_id}\x1f{r.content_hash}\x1f{r.label}\x1f{','.join(r.skills or ())}\x1e".encode())
    return h.hexdigest()


def stamp_of(index_id: int, created_at: Any) -> str:
    """What identifies one index version for in-memory caches: its row id and creation time (a
    pool id, a version number or a path may be reused after a pool is deleted and created again)."""
    return f"{index_id}@{created_at.isoformat() if hasattr(created_at, 'isoformat') else created_at}"


@dataclass(frozen=True)
class _Latest:
    version: int
    path: str
    fingerprint: str
    embedding_model: str
    stamp: str


@dataclass(frozen=True)
class LoadedIndex:
    """A loaded index version: ``stamp`` keys caches of anything derived from it."""

    pool_id: int
    version: int
    stamp: str
    retriever: DenseRetriever


class _Newest(NamedTuple):
    """The newest dense index row of a pool, as the serving path needs it."""

    pool_id: int
    version: int
    stamp: str
    path: str
    embedding_model: str


class IndexService:
    """Builds, refreshes and loads (once per version) the indexes of pools."""

    def __init__(self, ctx: ServiceContext, pools: PoolService, vectors: VectorService) -> None:
        self.ctx, self.pools, self.vectors = ctx, pools, vectors
        self._lock = threading.RLock()
        self._loaded: dict[tuple[int, str], LoadedIndex] = {}
        self._checked: dict[tuple[int, str], str | None] = {}  # dense fingerprint a derived index was checked at
        self._corrupt: set[str] = set()  # index folders that failed to load
        # the newest dense index row by pool name, re-read at most every settings.index_refresh_seconds
        # (at once after a change made through this context)
        self._newest: Recent[str, _Newest] = Recent(ctx.settings.index_refresh_seconds, lambda: ctx.generation)

    # ------------------------------------------------------------------ reading
    def _load(self, path: str, encoder: Encoder, *, serve: bool = False) -> DenseRetriever:
        """A stored index version; `CorruptArtifactError` (never a bare error, never a 500) when its
        folder is missing or unreadable. The path is remembered so that the next build replaces it.
        ``serve``: for searching only: an exact index is mapped read-only from its file, so that
        the API's worker processes share one copy of its vectors (see `DenseIndex.load`)."""
        try:
            retriever = DenseRetriever.load(path, encoder=encoder, mmap=serve)
            if serve:  # requests run in parallel, so each search takes one thread (no OpenMP spinning)
                retriever.index.n_threads = 1
                if self.ctx.settings.half_scan and len(retriever.index) >= self.ctx.settings.half_scan_min_rows:
                    retriever.index.enable_half_scan()
            return retriever
        except (FewshotError, OSError, ValueError, RuntimeError, KeyError) as exc:
            with self._lock:
                self._corrupt.add(path)
            raise CorruptArtifactError(
                "a stored index of this pool cannot be read; rebuild it with `fewshot index POOL`",
                hint=f"{path}: {type(exc).__name__}: {exc}",
            ) from None

    def _intact(self, path: str) -> bool:
        """Whether an index folder looks usable (its manifest parses; not seen failing to load)."""
        if path in self._corrupt:
            return False
        try:
            return isinstance(json.loads((Path(path) / "manifest.json").read_text(encoding="utf-8")), dict)
        except (OSError, ValueError):
            return False

    def _latest(self, pool_id: int, kind: str) -> _Latest | None:
        with self.ctx.session() as s:
            row = index_rows.latest(s, pool_id=pool_id, kind=kind)
            return (
                None
                if row is None
                else _Latest(
                    row.version,
                    row.path,
                    row.labeled_fingerprint,
                    row.embedding_model,
                    stamp_of(row.id, row.created_at),
                )
            )

    def _labeled(self, pool_id: int) -> list[Example]:
        with self.ctx.session() as s:
            return example_rows.labeled(s, pool_id=pool_id)

    def labeled_demonstrations(self, pool: str) -> list[Demonstration]:
        """The pool's labeled items as demonstrations, in id order."""
        pool_id, _ = self.pools.ref(pool)
        return [demonstration(r) for r in self._labeled(pool_id)]

    def info(self, pool: str, *, changed: bool = True) -> IndexInfo:
        """The newest dense index of ``pool``; `NotFoundError` when none was built."""
        pool_id, _ = self.pools.ref(pool)
        with self.ctx.session() as s:
            row = index_rows.latest(s, pool_id=pool_id, kind=DENSE)
            if row is None:
                raise NotFoundError(f"pool {pool!r} has no index yet; run `fewshot index {pool}`")
            return IndexInfo(
                pool=pool,
                version=row.version,
                count=row.count,
                embedding_model=row.embedding_model,
                kind=DENSE,
                path=row.path,
                created_at=row.created_at.isoformat(),
                changed=changed,
            )

    def exists(self, pool: str) -> bool:
        """Whether the pool has a dense index (any version)."""
        try:
            self.info(pool)
        except NotFoundError:
            return False
        return True

    def query_encoder(self, pool_id: int, model: str) -> CachedEncoder:
        """The pool's encoder for retrieval: stored vectors by content hash, the context's query
        encoder of ``model`` for new texts (`ServiceContext.query_encoder`)."""
        return CachedEncoder(self.ctx.vector_store(pool_id, model), self.ctx.query_encoder(model))

    # ------------------------------------------------------------------ the one builder
    def _write_version(
        self,
        pool_id: int,
        kind: str,
        encoder: Encoder,
        rows: Sequence[Example],
        latest: _Latest | None,
        reuse: bool,
        new: Callable[[Corpus], DenseRetriever],
        directory: Callable[[int], str],
    ) -> tuple[int, DenseRetriever]:
        """Bring the latest version up to date with ``rows`` (when ``reuse``) or build anew, save it
        as the next version and record it; ``(version, retriever)``."""
        demos = [demonstration(r) for r in rows]
        retriever: DenseRetriever | None = None
        if reuse and latest is not None:
            try:
                retriever = self._load(latest.path, encoder)
            except CorruptArtifactError as exc:  # rebuild from the labeled items instead
                logger.warning("%s", exc)
        if retriever is not None:
            wanted = {d.id: d for d in demos}
            corpus = retriever.corpus
            stale = [e.id for e in corpus if e.id not in wanted or wanted[e.id] != e]
            if stale:
                corpus.remove(stale)
            have = {e.id for e in corpus}
            corpus.add(d for d in demos if d.id not in have)
        else:
            retriever = new(Corpus(demos))
        retriever.sync()
        version = latest.version + 1 if latest is not None else 1
        path = self.ctx.index_dir(pool_id) / directory(version)
        retriever.save(path)
        with self.ctx.session() as s:
            row = index_rows.add_version(
                s,
                pool_id=pool_id,
                kind=kind,
                version=version,
                embedding_model=encoder.name,
                path=str(path),
                count=len(retriever.corpus),
                fingerprint=fingerprint(rows),
            )
            stamp = stamp_of(row.id, row.created_at)
        with self._lock:
            self._corrupt.discard(str(path))
            self._loaded[(pool_id, kind)] = LoadedIndex(pool_id, version, stamp, retriever)
        self.ctx.changed()
        logger.info("index %s v%d of pool %d: %d labeled items", kind, version, pool_id, len(retriever.corpus))
        return version, retriever

    # ------------------------------------------------------------------ dense
    def build(self, pool: str, *, kind: str = "auto", progress: Progress | None = None) -> IndexInfo:
        """Build or refresh the dense index over the pool's labeled items (a new version only when the
        labeled set changed, or ``kind`` names another structure than the latest version's);
        embeds what has no vector yet first. ``kind``: one of `fewshot.retrieve.INDEX_KINDS`;
        ``"auto"`` keeps the latest version's kind (flat, switching to HNSW above 200,000 items, for
        a first build)."""
        if kind not in INDEX_KINDS:
            raise InvalidInputError(f"kind must be one of {', '.join(INDEX_KINDS)}; got {kind!r}")
        info = self.pools.get(pool)
        if info.counts.get(ExampleStatus.LABELED.value, 0) == 0:
            raise InvalidInputError(f"pool {pool!r} has no labeled items to index; import labels first")
        self.vectors.embed(pool, progress=progress)
        rows = self._labeled(info.id)
        latest = self._latest(info.id, DENSE)
        same_model = latest is not None and latest.embedding_model == info.embedding_model
        intact = latest is not None and self._intact(latest.path)
        same_kind = kind == "auto" or (
            latest is not None and DenseIndex.stored_kind(Path(latest.path) / "index") == kind
        )
        if same_model and intact and same_kind and latest is not None and latest.fingerprint == fingerprint(rows):
            return self.info(pool, changed=False)
        encoder = self.query_encoder(info.id, info.embedding_model)
        reuse = same_model and intact and same_kind
        self._write_version(
            info.id,
            DENSE,
            encoder,
            rows,
            latest,
            reuse,
            new=lambda corpus: DenseRetriever(corpus, encoder, kind=kind),
            directory=lambda v: f"dense-v{v}",
        )
        return self.info(pool)

    def _newest_dense(self, pool: str) -> _Newest:
        """The pool's newest dense index row (`NotFoundError` for an unknown pool or none yet); read
        at most every ``settings.index_refresh_seconds`` (see `fewshot.service._recent.Recent`)."""

        def read() -> _Newest:
            with self.ctx.session() as s:
                row = index_rows.latest_by_pool_name(s, name=pool, kind=DENSE)
                if row.version is None:
                    raise NotFoundError(f"pool {pool!r} has no index yet; run `fewshot index {pool}`")
                return _Newest(
                    int(row.id),
                    int(row.version),
                    stamp_of(row.index_id, row.created_at),
                    str(row.path),
                    row.embedding_model,
                )

        return self._newest.get(pool, read)

    def latest_version(self, pool: str) -> tuple[int, int, str]:
        """``(pool id, version, path)`` of the pool's newest dense index (see `_newest_dense`)."""
        row = self._newest_dense(pool)
        return row.pool_id, row.version, row.path

    def dense(self, pool: str) -> tuple[int, int, DenseRetriever]:
        """``(pool id, version, retriever)``: the pool's newest dense index (see `loaded_dense`)."""
        loaded = self.loaded_dense(pool)
        return loaded.pool_id, loaded.version, loaded.retriever

    def loaded_dense(self, pool: str) -> LoadedIndex:
        """The pool's newest dense index, loaded once and reused until a new version appears; the
        database is asked for the newest version at most every ``settings.index_refresh_seconds``
        (at once after a change made in this process), so a version built by another process is
        served within that bound."""
        row = self._newest_dense(pool)
        with self._lock:
            cached = self._loaded.get((row.pool_id, DENSE))
            if cached is None or cached.stamp != row.stamp:
                retriever = self._load(row.path, self.query_encoder(row.pool_id, row.embedding_model), serve=True)
                cached = self._loaded[(row.pool_id, DENSE)] = LoadedIndex(
                    row.pool_id, row.version, row.stamp, retriever
                )
            return cached

    # ------------------------------------------------------------------ derived (UDR) indexes
    def derived(
        self, pool: str, kind: str, encoder_factory: Callable[[], Encoder], *, directory: Callable[[int], str]
    ) -> tuple[int, int, DenseRetriever]:
        """``(pool id, version, retriever)`` of an index of ``kind`` over the pool's labeled items,
        encoded by ``encoder_factory()`` (exact inner-product search). It is built on first use and
        refreshed (incrementally) when the labeled set changed, i.e. when its fingerprint differs
        from the latest dense index's; a pool without a dense index is checked against its items."""
        pool_id, _ = self.pools.ref(pool)
        with self.ctx.session() as s:
            dense_fp = index_rows.latest_fingerprint(s, pool_id=pool_id, kind=DENSE)
        key = (pool_id, kind)
        with self._lock:
            latest = self._latest(pool_id, kind)
            fresh = latest is not None and (
                dense_fp is None or latest.fingerprint == dense_fp or self._checked.get(key, "") == dense_fp
            )
            if not fresh:
                rows = self._labeled(pool_id)
                if not rows:
                    raise InvalidInputError(f"pool {pool!r} has no labeled items to index; import labels first")
                exists = latest is not None and self._intact(latest.path)
                if not (exists and latest is not None and latest.fingerprint == fingerprint(rows)):
                    encoder = encoder_factory()
                    self._write_version(
                        pool_id,
                        kind,
                        encoder,
                        rows,
                        latest,
                        exists,
                        new=lambda corpus: DenseRetriever(corpus, encoder, kind="flat", metric="ip"),
                        directory=directory,
                    )
                self._checked[key] = dense_fp
                latest = self._latest(pool_id, kind)
            assert latest is not None
            cached = self._loaded.get(key)
            if cached is None or cached.stamp != latest.stamp:
                cached = self._loaded[key] = LoadedIndex(
                    pool_id, latest.version, latest.stamp, self._load(latest.path, encoder_factory(), serve=True)
                )
            return pool_id, cached.version, cached.retriever
