"""UDR in the workspace: feedback mining and training over pools, versioned trained models, and
UDR retrieval over any pool. The :class:`~fewshot.workspace.Workspace` delegates here; the CLI
(``fewshot udr``), the API (``/v1/udr``, ``/v1/models``) and library users all call these methods.

* Feedback scores go to the ``feedback_scores`` table (keyed by content), so mining is resumable
  and shared between ``udr_mine``, ``udr_train`` and later rounds.
* A trained model is saved under ``{home}/models/{name}/v{N}`` and recorded in ``trained_models``.
* Retrieval with ``"udr"`` (latest model), ``"udr:<name>"`` (its latest version) or
  ``"udr:<name>:v<N>"`` re-encodes the pool's labeled items with the trained encoder into a
  separate versioned index: ``index_versions.kind = "udr:<name>:v<N>"``, saved under
  ``{home}/indexes/pool-{id}/udr-<name>-v<N>-i<version>/``. It is refreshed (incrementally) when
  the labeled set changes, i.e. when its fingerprint differs from the latest dense index's.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from sqlalchemy import func, select

from .exceptions import ConflictError, InvalidInputError, NotFoundError
from .prompt import PromptTemplate
from .retrieve import Corpus, DenseRetriever
from .store import crud
from .store.models import Example, ExampleStatus, IndexVersion, TrainedModel
from .store.vectors import content_hash

if TYPE_CHECKING:
    from .lm import LMBackend
    from .retrieve.udr import UDRModel, UDRTask
    from .workspace import Workspace

__all__ = ["UDRService", "ModelInfo", "DEFAULT_UDR_TEMPLATE", "parse_udr_spec"]

logger = logging.getLogger(__name__)

#: ``progress(stage, done, total)``
StageProgress = Callable[[str, int, int], None]

#: The prompt format of LM feedback when a pool names no template: ``x`` then `` y``.
DEFAULT_UDR_TEMPLATE = PromptTemplate(name="udr-default", input="Input: {text}\nAnswer:", output=" {label}")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$")  # index kinds are 50 chars
_SPEC = re.compile(r"^udr(?::(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,99})(?::v(?P<version>\d+))?)?$")


def parse_udr_spec(spec: str) -> tuple[str | None, int | None]:
    """``"udr"`` -> (None, None); ``"udr:m"`` -> ("m", None); ``"udr:m:v2"`` -> ("m", 2)."""
    m = _SPEC.match(spec or "")
    if m is None:
        raise InvalidInputError(f"bad UDR retriever {spec!r}: use 'udr', 'udr:<model>' or 'udr:<model>:v<N>'")
    return m["name"], (int(m["version"]) if m["version"] else None)


def is_udr_spec(name: str) -> bool:
    return name == "udr" or name.startswith("udr:")


@dataclass(frozen=True)
class ModelInfo:
    """A row of ``trained_models``."""

    name: str
    version: int
    kind: str
    base_model: str
    path: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    created_at: str

    @property
    def spec(self) -> str:
        """The retriever name that selects exactly this model version."""
        return f"udr:{self.name}:v{self.version}"

    @classmethod
    def from_row(cls, row: TrainedModel) -> ModelInfo:
        return cls(name=row.name, version=row.version, kind=row.kind, base_model=row.base_model, path=row.path,
                   params=dict(row.params or {}), metrics=dict(row.metrics or {}),
                   created_at=row.created_at.isoformat())

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["spec"] = self.spec
        return d


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(f"model name must be 1-30 letters, digits, '_', '.', '-' (not starting with "
                                f"a punctuation mark), got {name!r}")
    return name


def _positive(name: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be an int >= 1, got {value!r}")


class UDRService:
    """Per-workspace UDR operations, with loaded models and UDR indexes cached in memory."""

    def __init__(self, ws: "Workspace") -> None:
        self.ws = ws
        self._lock = threading.RLock()
        self._models: dict[tuple[str, int], "UDRModel"] = {}
        self._indexes: dict[tuple[int, str], tuple[int, DenseRetriever]] = {}
        self._checked: dict[tuple[int, str], str | None] = {}  # dense fingerprint last compared with

    # ------------------------------------------------------------------------ tasks
    def tasks(self, pools: Sequence[str], *, template: str | None = None,
              instructions: dict[str, str] | None = None, max_queries: int | None = None,
              seed: int = 0) -> list["UDRTask"]:
        """One `UDRTask` per pool: its labeled items are the annotated pool; ``max_queries`` of them
        (a seeded sample; all when None) are the training items."""
        from .prompt import get_template
        from .retrieve.udr import UDRTask
        from .serving import _demonstration

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
            info = self.ws.get_pool(pool)
            with self.ws.session() as s:
                rows = s.scalars(select(Example).where(Example.pool_id == info.id,
                                                       Example.status == ExampleStatus.LABELED.value)
                                 .order_by(Example.id)).all()
                items = [_demonstration(r) for r in rows]
            if len(items) < 3:
                raise InvalidInputError(f"pool {pool!r} has {len(items)} labeled items; UDR needs at least 3 "
                                        "(each training item needs candidates other than itself)")
            queries = items
            if max_queries is not None and max_queries < len(items):
                rows_ = np.sort(np.random.default_rng(seed).choice(len(items), size=max_queries, replace=False))
                queries = [items[i] for i in rows_]
            instruction = instructions.get(pool, f"{info.description or pool}: ")
            out.append(UDRTask(pool, tpl, items, queries, instruction))
        return out

    @staticmethod
    def _lm(lm: "str | LMBackend") -> "tuple[LMBackend, bool]":
        """(backend, whether we opened it and must close it)."""
        from .lm import get_backend

        if isinstance(lm, str):
            if not lm.strip():
                raise InvalidInputError("lm must be a backend spec such as 'smollm2' or 'hf:<dir>'")
            return get_backend(lm), True
        if not hasattr(lm, "loglikelihood"):
            raise InvalidInputError(f"lm must be an LM backend or a spec string, got {type(lm).__name__}")
        return lm, False

    def feedback_cache(self):
        from .retrieve.udr import SQLFeedbackCache

        return SQLFeedbackCache(self.ws.session)

    # ------------------------------------------------------------------------ mining
    def mine(self, pools: Sequence[str], *, lm: "str | LMBackend", n_candidates: int = 50,
             template: str | None = None, max_queries: int | None = None, seed: int = 0,
             chunk_size: int = 64, progress: StageProgress | None = None) -> dict[str, Any]:
        """Score the top ``n_candidates`` BM25 candidates of each training item with ``lm`` and store
        the scores (pairs already stored are skipped). Returns the mining statistics."""
        from .retrieve.udr import bm25_candidates, mine_tasks

        _positive("n_candidates", n_candidates)
        tasks = self.tasks(pools, template=template, max_queries=max_queries, seed=seed)
        backend, owned = self._lm(lm)
        try:
            cands = {t.name: bm25_candidates(t, n_candidates) for t in tasks}
            _, stats = mine_tasks(tasks, backend, cands, cache=self.feedback_cache(), chunk_size=chunk_size,
                                  progress=progress)
        finally:
            if owned:
                backend.close()
        return {"pools": [t.name for t in tasks], "lm": str(backend.name), **stats.to_dict()}

    # ------------------------------------------------------------------------ training
    def train(self, name: str, pools: Sequence[str], *, lm: "str | LMBackend", rounds: int = 1,
              n_candidates: int = 50, template: str | None = None, instructions: dict[str, str] | None = None,
              max_queries: int | None = None, base_model: str | None = None, epochs: int = 3,
              batch_size: int = 8, k: int = 8, lr: float = 3e-5, seed: int = 0, chunk_size: int = 64,
              progress: StageProgress | None = None) -> ModelInfo:
        """Mine feedback (cached), train a UDR model on ``pools`` jointly, save it as the next version
        of ``name``; returns its `ModelInfo`."""
        from .retrieve.udr import TrainConfig, run_udr

        _check_name(name)
        _positive("rounds", rounds)
        _positive("n_candidates", n_candidates)
        config = TrainConfig(epochs=epochs, batch_size=batch_size, k=k, lr=lr, seed=seed)
        tasks = self.tasks(pools, template=template, instructions=instructions, max_queries=max_queries,
                           seed=seed)
        base = base_model or self.ws.settings.embedding_model
        backend, owned = self._lm(lm)
        try:
            run = run_udr(tasks, backend, base_model=base, rounds=rounds, n_candidates=n_candidates,
                          config=config, cache=self.feedback_cache(), name=name, chunk_size=chunk_size,
                          progress=progress)
        finally:
            if owned:
                backend.close()
        params = {"pools": [t.name for t in tasks], "lm": str(backend.name), "rounds": rounds,
                  "n_candidates": n_candidates, "template": template or "default",
                  "instructions": {t.name: t.instruction for t in tasks}, "max_queries": max_queries,
                  **config.to_dict()}
        return self._save(name, run.model, base, params, run.metrics())

    def save_model(self, name: str, model: "UDRModel", *, base_model: str = "unknown",
                   params: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None) -> ModelInfo:
        """Register a UDR model trained elsewhere (e.g. with `fewshot.retrieve.udr.run_udr`) as the next
        version of ``name``; it is copied under the workspace's models folder."""
        _check_name(name)
        return self._save(name, model, base_model, dict(params or {"pools": sorted(model.instructions)}),
                          dict(metrics or {}))

    def _save(self, name: str, model: "UDRModel", base: str, params: dict[str, Any],
              metrics: dict[str, Any]) -> ModelInfo:
        root = self.ws.settings.home / "models" / name
        with self.ws.session() as s:
            latest = s.scalar(select(func.max(TrainedModel.version)).where(TrainedModel.name == name)) or 0
        version = latest + 1
        path = root / f"v{version}"
        if path.exists():  # left by a crash before the row was written
            shutil.rmtree(path)
        model.name = f"udr:{name}:v{version}"
        model.meta.update({"base_model": base, "params": params})
        model.save(path)
        try:
            with self.ws.session() as s:
                row = TrainedModel(name=name, version=version, kind="udr", base_model=base, path=str(path),
                                   params=params, metrics=metrics)
                s.add(row)
                s.flush()
                info = ModelInfo.from_row(row)
        except Exception as exc:
            shutil.rmtree(path, ignore_errors=True)
            if "uq_trained_models" in str(exc) or "UNIQUE" in str(exc).upper():
                raise ConflictError(f"model {name!r} v{version} was saved concurrently; train again") from None
            raise
        with self._lock:
            self._models[(name, version)] = model
        logger.info("saved UDR model %s v%d at %s", name, version, path)
        return info

    # ------------------------------------------------------------------------ models
    def list_models(self, name: str | None = None) -> list[ModelInfo]:
        with self.ws.session() as s:
            q = select(TrainedModel).order_by(TrainedModel.name, TrainedModel.version)
            if name is not None:
                q = q.where(TrainedModel.name == name)
            return [ModelInfo.from_row(r) for r in s.scalars(q).all()]

    def get_model(self, name: str | None = None, version: int | None = None) -> ModelInfo:
        """A model version (latest when ``version`` is None; the newest model when ``name`` is None)."""
        with self.ws.session() as s:
            q = select(TrainedModel)
            if name is not None:
                q = q.where(TrainedModel.name == name)
            if version is not None:
                q = q.where(TrainedModel.version == version)
            row = s.scalar(q.order_by(TrainedModel.created_at.desc(), TrainedModel.version.desc()).limit(1))
            if row is None:
                known = sorted(set(s.scalars(select(TrainedModel.name)).all()))
                what = "no trained UDR model yet; run `fewshot udr train`" if name is None else (
                    f"no UDR model {name!r}" + (f" v{version}" if version is not None else ""))
                raise NotFoundError(what + (f" (known models: {', '.join(known)})" if known else ""))
            return ModelInfo.from_row(row)

    def resolve(self, spec: str) -> ModelInfo:
        name, version = parse_udr_spec(spec)
        return self.get_model(name, version)

    def load(self, info: ModelInfo) -> "UDRModel":
        from .retrieve.udr import load_udr_model

        key = (info.name, info.version)
        with self._lock:
            if key not in self._models:
                if not Path(info.path).exists():
                    raise NotFoundError(f"model {info.spec} is recorded but its folder {info.path} is missing")
                self._models[key] = load_udr_model(info.path, name=info.spec, device="cpu")
            return self._models[key]

    # ------------------------------------------------------------------------ retrieval
    def retriever(self, pool: str, spec: str = "udr", *, task: str | None = None) -> tuple[int, int, DenseRetriever]:
        """(pool id, UDR index version, retriever) for ``pool`` with the model ``spec``; the index is
        built or refreshed when the pool's labeled items changed since it was built."""
        info = self.resolve(spec)
        with self.ws.session() as s:  # the pool's id only: no per-request status counts
            pool_id = crud.get_pool(s, name=pool).id
        # the pool's own instruction (or the single task's): kind udr:<name>:v<N>; another task's
        # instruction gives other vectors, hence another index: udr:<name>:v<N>#<instruction hash>
        model = self.load(info)
        instruction = model.instruction_for(task if task is not None else pool if pool in model.instructions
                                            else None)
        kind = info.spec if task is None else f"{info.spec}#{content_hash(instruction)[:8]}"
        fingerprint = self._current_fingerprint(pool_id)
        with self._lock:
            with self.ws.session() as s:
                row = s.scalar(select(IndexVersion).where(IndexVersion.pool_id == pool_id,
                                                          IndexVersion.kind == kind)
                               .order_by(IndexVersion.version.desc()).limit(1))
                latest = None if row is None else (row.version, row.path, row.labeled_fingerprint)
            key = (pool_id, kind)
            cached = self._indexes.get(key)
            fresh = latest is not None and (fingerprint is None or latest[2] == fingerprint
                                            or self._checked.get(key, "") == fingerprint)
            if not fresh:
                built = self._build(pool, info, task, latest, kind)
                if built is not None:
                    cached = self._indexes[key] = built
                self._checked[key] = fingerprint
                with self.ws.session() as s:
                    row = s.scalar(select(IndexVersion).where(IndexVersion.pool_id == pool_id,
                                                              IndexVersion.kind == kind)
                                   .order_by(IndexVersion.version.desc()).limit(1))
                    latest = (row.version, row.path, row.labeled_fingerprint)
            if cached is None or cached[0] != latest[0]:
                model = self.load(info)
                retriever = DenseRetriever.load(latest[1], encoder=self._encoder(model, pool, task))
                cached = self._indexes[key] = (latest[0], retriever)
            return pool_id, cached[0], cached[1]

    def build_index(self, pool: str, spec: str = "udr", *, task: str | None = None) -> dict[str, Any]:
        """Build or refresh the pool's UDR index now; returns its description."""
        pool_id, version, retriever = self.retriever(pool, spec, task=task)
        return {"pool": pool, "model": self.resolve(spec).spec, "version": version,
                "count": len(retriever.corpus), "embedding_model": retriever.encoder.name}

    def _current_fingerprint(self, pool_id: int) -> str | None:
        """The labeled set's fingerprint as of the latest dense index (None: no dense index yet)."""
        with self.ws.session() as s:
            return s.scalar(select(IndexVersion.labeled_fingerprint)
                            .where(IndexVersion.pool_id == pool_id, IndexVersion.kind == "dense")
                            .order_by(IndexVersion.version.desc()).limit(1))

    @staticmethod
    def _encoder(model: "UDRModel", pool: str, task: str | None):
        """The pool's own instruction when the model was trained on it, else ``task``'s."""
        if task is None and pool in model.instructions:
            task = pool
        return model.encoder(task, n_threads=None)

    def _build(self, pool: str, info: ModelInfo, task: str | None,
               latest: tuple[int, str, str] | None, kind: str) -> tuple[int, DenseRetriever] | None:
        """A new index version over the current labeled items (None: the latest is still current)."""
        from .serving import _demonstration, _fingerprint

        pool_info = self.ws.get_pool(pool)
        with self.ws.session() as s:
            rows = s.scalars(select(Example).where(Example.pool_id == pool_info.id,
                                                   Example.status == ExampleStatus.LABELED.value)
                             .order_by(Example.id)).all()
            if not rows:
                raise InvalidInputError(f"pool {pool!r} has no labeled items to index; import labels first")
            demos = [_demonstration(r) for r in rows]
            fingerprint = _fingerprint(rows)
        if latest is not None and latest[2] == fingerprint and Path(latest[1]).exists():
            return None
        model = self.load(info)
        encoder = self._encoder(model, pool, task)
        wanted = {d.id: d for d in demos}
        if latest is not None and Path(latest[1]).exists():
            retriever = DenseRetriever.load(latest[1], encoder=encoder)
            corpus = retriever.corpus
            stale = [e.id for e in corpus if e.id not in wanted or wanted[e.id] != e]
            if stale:
                corpus.remove(stale)
            have = {e.id for e in corpus}
            corpus.add(d for d in demos if d.id not in have)
        else:
            retriever = DenseRetriever(Corpus(demos), encoder, kind="flat", metric="ip")
        retriever.sync()
        version = (latest[0] + 1) if latest is not None else 1
        suffix = kind[len(info.spec):].replace("#", "-")  # the instruction hash of a task override
        path = (self.ws.settings.home / "indexes" / f"pool-{pool_info.id}"
                / f"udr-{info.name}-v{info.version}{suffix}-i{version}")
        retriever.save(path)
        with self.ws.session() as s:
            s.add(IndexVersion(pool_id=pool_info.id, kind=kind, version=version, embedding_model=encoder.name,
                               path=str(path), count=len(retriever.corpus), labeled_fingerprint=fingerprint))
        logger.info("UDR index %s v%d of pool %s: %d items", info.spec, version, pool, len(retriever.corpus))
        return version, retriever


# ------------------------------------------------------------------------------- jobs (API)
def _job_progress(n_stages: int, progress: Callable[[int, int], None]) -> StageProgress:
    """Fold ``(stage, done, total)`` into one job counter: each stage is 1000 units, in order seen."""
    seen: list[str] = []

    def report(stage: str, done: int, total: int) -> None:
        if stage not in seen:
            seen.append(stage)
        i = seen.index(stage)
        frac = done / total if total else 1.0
        progress(min(i, n_stages - 1) * 1000 + int(1000 * frac), n_stages * 1000)

    return report


def run_mine_job(ws: "Workspace", params: dict[str, Any], progress: Callable[[int, int], None]) -> dict[str, Any]:
    p = dict(params)
    pools = p.pop("pools")
    return ws.udr_mine(pools, progress=_job_progress(len(pools), progress), **p)


def run_train_job(ws: "Workspace", params: dict[str, Any], progress: Callable[[int, int], None]) -> dict[str, Any]:
    p = dict(params)
    name, pools, rounds = p.pop("name"), p.pop("pools"), p.pop("rounds", 1)
    stages = rounds * (len(pools) + 1)  # mining each pool, then training, per round
    return ws.udr_train(name, pools, rounds=rounds, progress=_job_progress(stages, progress), **p).to_dict()
