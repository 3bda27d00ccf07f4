"""`ServiceContext`: what every sub-service of a workspace shares, passed explicitly.

It holds the settings, the database engine and its unit of work (`session`), the loaded
embedding models, the loaded LM backends and the data directory's layout. Sub-services receive
the context and the sub-services they use in their constructor; none holds a reference back to the
`Workspace`, so the service layer has no reference cycles.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from fewshot.config import Settings
from fewshot.embed import Embedder, Encoder, SentenceEncoder, onnx_available, onnx_sentence_encoder, resolve_model
from fewshot.exceptions import MissingDependencyError
from fewshot.store import examples as example_rows
from fewshot.store.db import create_db_engine, make_session_factory, migrate, schema_version
from fewshot.store.prompt_logs import PromptLogWriter
from fewshot.store.vectors import VectorStore

if TYPE_CHECKING:
    from fewshot.lm import LMBackend

__all__ = ["ServiceContext"]

logger = logging.getLogger(__name__)


class ServiceContext:
    """Settings, database, model caches and paths of one workspace (create one per process).

    Opening it creates the data directory and migrates the database schema to the latest version.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.engine = create_db_engine(self.settings.resolved_database_url())
        migrate(self.engine)
        self._sessions = make_session_factory(self.engine)
        self._lock = threading.RLock()
        self._embedders: dict[str, Embedder] = {}
        self._query_encoders: dict[str, Encoder] = {}
        self._lms: dict[str, LMBackend] = {}
        self._log_writer: PromptLogWriter | None = None
        self._generation = 0
        self._cleanup_interrupted_imports()

    # ------------------------------------------------------------------ unit of work
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed when the block ends, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    # ------------------------------------------------------------------ changes
    @property
    def generation(self) -> int:
        """How many changes that the serving path caches depend on (pools, their settings,
        labels, indexes, keys) this process has made; see `fewshot.service._recent.Recent`."""
        return self._generation

    def changed(self) -> None:
        """Record a change: values cached on the serving path are read again on next use."""
        with self._lock:
            self._generation += 1

    def _cleanup_interrupted_imports(self) -> None:
        """Remove the staged rows of imports whose process died (stale heartbeat; see
        `fewshot.service.ingest.import_file`)."""
        from fewshot.service.ingest import STALE_IMPORT

        try:
            with self.session() as s:
                removed = example_rows.cleanup_stale_imports(s, older_than=STALE_IMPORT)
        except Exception:  # noqa: BLE001 - the next import retries it
            logger.warning("could not clean up interrupted imports", exc_info=True)
            return
        if removed:
            logger.warning("removed %d interrupted import(s) left by a crashed process", removed)

    # ------------------------------------------------------------------ prompt logs
    @property
    def prompt_log_writer(self) -> PromptLogWriter:
        """The background writer of prompt logs (created on first use, flushed by `close`)."""
        with self._lock:
            if self._log_writer is None:
                self._log_writer = PromptLogWriter(self.session)
            return self._log_writer

    def flush_prompt_logs(self, prompt_id: str | None = None) -> None:
        """Write queued prompt logs now (only when ``prompt_id`` is still queued, if given)."""
        writer = self._log_writer
        if writer is not None and (prompt_id is None or writer.pending(prompt_id)):
            writer.flush()

    def prompt_log_stats(self) -> dict[str, int]:
        """``queued``, ``written``, ``dropped`` and ``failed`` prompt-log rows of this process."""
        writer = self._log_writer
        return writer.stats() if writer is not None else {"queued": 0, "written": 0, "dropped": 0, "failed": 0}

    def close(self) -> None:
        """Flush the queued prompt logs, close the LM backends this context opened and dispose of
        the engine's connections."""
        with self._lock:
            writer = self._log_writer
        if writer is not None:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - closing must go on
                logger.exception("flushing prompt logs failed")
        with self._lock:
            lms, self._lms = list(self._lms.values()), {}
        for lm in lms:
            close = getattr(lm, "close", None)
            if close is not None:
                close()
        self.engine.dispose()

    # ------------------------------------------------------------------ models
    def embedder(self, model: str) -> Embedder:
        """The `Embedder` of ``model``, loaded once per context."""
        with self._lock:
            if model not in self._embedders:
                self._embedders[model] = Embedder(
                    model, device=self.settings.device, batch_size=self.settings.embed_batch_size
                )
            return self._embedders[model]

    def query_encoder(self, model: str) -> Encoder:
        """The encoder of queries for ``model``, built once per context: ONNX Runtime when
        ``settings.query_encoder`` allows it and its export matches PyTorch (see
        `fewshot.embed.onnx_sentence_encoder`), else the PyTorch model with
        ``settings.query_threads`` threads per query. Both give unit-norm rows."""
        with self._lock:
            cached = self._query_encoders.get(model)
            if cached is not None:
                return cached
            embedder = self.embedder(model)
            choice = self.settings.query_encoder
            encoder: Encoder | None = None
            if choice == "onnx" and not onnx_available():
                raise MissingDependencyError("onnxruntime", install="pip install onnxruntime onnx tokenizers")
            if choice != "torch":
                encoder = onnx_sentence_encoder(
                    resolve_model(model),
                    name=model,
                    cache_dir=self.settings.onnx_cache_dir,
                    load_model=lambda: embedder.model,
                    n_threads=self.settings.query_threads,
                )
            if encoder is None:
                # one torch thread per query: steady latency on small machines, and concurrent requests
                # (the API's thread pool) use the cores in parallel instead of fighting over them
                encoder = SentenceEncoder(
                    embedder.model, name=model, batch_size=embedder.batch_size, n_threads=self.settings.query_threads
                )
            self._query_encoders[model] = encoder
            return encoder

    def use_embedder(self, embedder: Embedder) -> None:
        """Reuse an already-loaded `Embedder` for its model (notebooks, tests, servers)."""
        with self._lock:
            self._embedders[embedder.model_name] = embedder
            self._query_encoders.pop(embedder.model_name, None)

    def lm_spec(self, name: str) -> str:
        """The spec behind ``name``: an operator-configured entry (``Settings.lm_backends``), else
        ``name`` itself (a spec, for library and CLI callers)."""
        return self.settings.lm_backends.get(name, name)

    def lm(self, spec: str) -> LMBackend:
        """The LM backend for ``spec`` (or a configured name), opened once per context (closed by
        `close`)."""
        from fewshot.lm import get_backend

        with self._lock:
            if spec not in self._lms:
                self._lms[spec] = get_backend(self.lm_spec(spec))
            return self._lms[spec]

    # ------------------------------------------------------------------ layout
    def vector_store(self, pool_id: int, model: str) -> VectorStore:
        """The pool's vectors for ``model`` under ``{home}/vectors``."""
        return VectorStore(self.settings.vectors_dir, pool_id=pool_id, model=model)

    def index_dir(self, pool_id: int) -> Path:
        """``{home}/indexes/pool-{id}``: the pool's index versions."""
        return self.settings.home / "indexes" / f"pool-{pool_id}"

    def cache_file(self, name: str) -> Path:
        """``{home}/cache/{name}``: a cache file of the workspace (e.g. ``lm-confidence.sqlite``,
        the LM answers of two-stage vote-k); the folder is created by whoever writes it."""
        return self.settings.home / "cache" / name

    def model_dir(self, name: str) -> Path:
        """``{home}/models/{name}``: a trained model's versions."""
        return self.settings.home / "models" / name

    def schema_version(self) -> str | None:
        """The database's schema revision (raises when the database does not answer)."""
        with self.session() as s:
            return schema_version(s)

    def describe(self) -> dict[str, Any]:
        """Where the data lives (for health checks and the CLI)."""
        return {"home": str(self.settings.home), "database": self.engine.url.render_as_string(hide_password=True)}
