"""`Workspace`: the composition root of the service layer, and the one object the CLI, the REST
API and library users hold.

It builds a `ServiceContext` (settings, database, model caches) and the sub-services in
dependency order, each receiving only what it uses, so nothing points back at the workspace::

    pools -> vectors -> selection, indexes -> retrieval (+ models) -> skills -> prompts; labels,
    udr (pools, indexes, models), keys, jobs (kinds registered by the services)

Use the typed sub-services (``ws.pools``, ``ws.selection``, ``ws.indexes``, ``ws.retrieval``,
``ws.prompts``, ``ws.skills``, ``ws.embeddings``, ``ws.udr``, ``ws.models``, ``ws.labels``, ``ws.keys``) or the
shortcuts below, which keep the library's one-call API (``ws.ingest``, ``ws.select``, ...).

>>> from fewshot import Workspace
>>> ws = Workspace.open(home="/tmp/fewshot-demo")            # doctest: +SKIP
>>> ws.ingest("sst5", "train.jsonl", label_field="label_text")  # doctest: +SKIP
>>> ws.embed("sst5")                                           # doctest: +SKIP
>>> ids, X = ws.vectors("sst5")                               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from fewshot.adaptive import AdaptivePrompt, DifficultyThresholds, TwoPassResult
from fewshot.annotate import BudgetCurve
from fewshot.config import Settings
from fewshot.embed import Embedder
from fewshot.exceptions import InvalidInputError
from fewshot.io import LabelRecord
from fewshot.progress import Progress
from fewshot.prompt import BuiltPrompt, PromptTemplate
from fewshot.retrieve import Demo
from fewshot.service.context import ServiceContext
from fewshot.service.indexes import IndexInfo, IndexService
from fewshot.service.ingest import IngestReport
from fewshot.service.jobs import JobKind, JobRunner, job_kinds
from fewshot.service.keys import KeyService
from fewshot.service.labels import LabelImportReport, LabelService
from fewshot.service.models import ModelInfo, ModelService
from fewshot.service.pool_map import PoolMapService
from fewshot.service.pools import ExampleInfo, PoolInfo, PoolService
from fewshot.service.prompts import PromptService
from fewshot.service.provenance import ProvenanceService
from fewshot.service.ray_embed import embed_on_ray, ray_available
from fewshot.service.retrieval import RetrievalService
from fewshot.service.selection import SelectionService
from fewshot.service.skills import SkillEdit, SkillEditReport, SkillService
from fewshot.service.udr import UDRService
from fewshot.service.vectors import EmbedReport, VectorService
from fewshot.store.rounds import RoundInfo

__all__ = ["Workspace"]


class Workspace:
    """A fewshot data directory and database: pools, examples, vectors, rounds, indexes, models.

    Create one per process (CLI command, API app, notebook) and pass it around; it owns the
    database engine and the models it has loaded. ``settings`` default to ``FEWSHOT_*``.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.ctx = ServiceContext(settings)
        self.settings = self.ctx.settings
        self.engine = self.ctx.engine
        self.pools = PoolService(self.ctx)
        self.embeddings = VectorService(self.ctx, self.pools, ray_runner=embed_on_ray, ray_check=ray_available)
        self.selection = SelectionService(self.ctx, self.pools, self.embeddings)
        self.labels = LabelService(self.ctx)
        self.indexes = IndexService(self.ctx, self.pools, self.embeddings)
        self.models = ModelService(self.ctx)
        self.retrieval = RetrievalService(self.pools, self.indexes, self.models)
        self.skills = SkillService(self.ctx, self.indexes)
        self.prompts = PromptService(self.ctx, self.pools, self.indexes, self.retrieval, self.skills)
        self.udr = UDRService(self.ctx, self.pools, self.indexes, self.models)
        self.keys = KeyService(self.ctx)
        self.pool_map = PoolMapService(self.ctx, self.pools)
        self.provenance = ProvenanceService(self.ctx, self.pools, self.prompts)
        self.job_kinds = job_kinds()
        kinds: dict[str, JobKind] = {
            "select": self.selection.run_select_job,
            "embed": self.embeddings.run_embed_job,
            "udr_mine": self.udr.run_mine_job,
            "udr_train": self.udr.run_train_job,
        }
        for kind, run in kinds.items():
            self.job_kinds.register(kind, run)

    @classmethod
    def open(cls, home: str | Path | None = None, *, database_url: str | None = None, **settings: Any) -> Workspace:
        """Open (creating if needed) the workspace in ``home`` (default ``$FEWSHOT_HOME`` or ``./.fewshot``)."""
        overrides: dict[str, Any] = dict(settings)
        if home is not None:
            overrides["home"] = Path(home)
        if database_url is not None:
            overrides["database_url"] = database_url
        return cls(Settings(**overrides))

    def close(self) -> None:
        """Release the database connections and the LM backends this workspace opened."""
        self.ctx.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def session(self) -> AbstractContextManager[Session]:
        """A database session in a transaction (see `ServiceContext.session`)."""
        return self.ctx.session()

    def job_runner(self) -> JobRunner:
        """A runner for this workspace's job kinds (the API starts one per app)."""
        return JobRunner(self.ctx, self.job_kinds)

    # ------------------------------------------------------------------ pools and examples
    def create_pool(self, name: str, **options: Any) -> PoolInfo:
        """See `PoolService.create`."""
        return self.pools.create(name, **options)

    def list_pools(self) -> list[PoolInfo]:
        """Every pool with its counts, by name (see `PoolService.all`)."""
        return self.pools.all()

    def get_pool(self, name: str) -> PoolInfo:
        """One pool with its counts; `NotFoundError` when unknown."""
        return self.pools.get(name)

    def delete_pool(self, name: str) -> None:
        """Delete a pool with its examples, rounds, logs, vectors and indexes."""
        self.pools.delete(name)

    def ingest(self, pool: str, path: str | Path, **options: Any) -> IngestReport:
        """Stream a JSONL/CSV/Parquet file into ``pool``, all or nothing (see `PoolService.ingest`)."""
        return self.pools.ingest(pool, path, **options)

    def add_records(self, pool: str, records: Iterable[dict[str, Any]], **options: Any) -> IngestReport:
        """Ingest records already in memory (see `PoolService.add_records`)."""
        return self.pools.add_records(pool, records, **options)

    def list_examples(self, pool: str, **options: Any) -> list[ExampleInfo]:
        """A page of a pool's examples (see `PoolService.list_examples`)."""
        return self.pools.list_examples(pool, **options)

    def iter_examples(self, pool: str, **options: Any) -> Iterator[ExampleInfo]:
        """All matching examples in id order, streamed (see `PoolService.iter_examples`)."""
        return self.pools.iter_examples(pool, **options)

    def export(self, pool: str, path: str | Path, **options: Any) -> int:
        """Write a pool's examples to jsonl/csv; returns the count (see `PoolService.export`)."""
        return self.pools.export(pool, path, **options)

    # ------------------------------------------------------------------ vectors
    def use_embedder(self, embedder: Embedder) -> None:
        """Reuse an already-loaded `Embedder` for its model (notebooks, tests, servers)."""
        self.ctx.use_embedder(embedder)

    def embedder(self, model: str) -> Embedder:
        """The loaded `Embedder` of ``model`` (loaded once per workspace)."""
        return self.ctx.embedder(model)

    def embed(self, pool: str, *, progress: Progress | None = None) -> EmbedReport:
        """Embed what has no vector yet, resumably (see `VectorService.embed`)."""
        return self.embeddings.embed(pool, progress=progress)

    def vectors(self, pool: str, *, status: str | Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(example_ids, X)``: database ids (int64, id order) and their vectors (n, dim) float32."""
        return self.embeddings.vectors(pool, status=status)

    # ------------------------------------------------------------------ selection and labels
    def select(self, pool: str, *, budget: int | None = None, method: str = "votek", **options: Any) -> RoundInfo:
        """Choose ``budget`` items (or items costing at most ``budget_cost=``) to annotate as the pool's
        next round (see `SelectionService.select`)."""
        return self.selection.select(pool, budget=budget, method=method, **options)

    def budget(self, pool: str, **options: Any) -> BudgetCurve:
        """The budget curve with a recommended budget (see `SelectionService.budget`)."""
        return self.selection.budget(pool, **options)

    def rounds(self, pool: str) -> list[RoundInfo]:
        """Every selection round of the pool, oldest first."""
        return self.selection.rounds(pool)

    def get_round(self, pool: str, number: int | None = None) -> RoundInfo:
        """Round ``number`` of the pool (the latest when None); `NotFoundError` when there is none."""
        return self.selection.get_round(pool, number)

    def export_round(self, pool: str, path: str | Path, **options: Any) -> int:
        """Write a round's items for annotators (see `SelectionService.export_round`)."""
        return self.selection.export_round(pool, path, **options)

    def import_labels(self, pool: str, path: str | Path, **options: Any) -> LabelImportReport:
        """Labels from a file, all or nothing (see `LabelService.import_labels`)."""
        return self.labels.import_labels(pool, path, **options)

    def apply_labels(
        self,
        pool: str,
        labels: Sequence[LabelRecord] | Sequence[tuple[str, str | None]] | dict[str, str],
        **options: Any,
    ) -> LabelImportReport:
        """Labels given in memory (records, ``(id, label)`` pairs or a dict), all or nothing (see
        `LabelService.apply`)."""
        return self.labels.apply(pool, labels, **options)

    # ------------------------------------------------------------------ indexes, retrieval, prompts
    def build_index(self, pool: str, *, kind: str = "auto", progress: Progress | None = None) -> IndexInfo:
        """Build or refresh the retrieval index over the pool's labeled items (incremental, versioned)."""
        return self.indexes.build(pool, kind=kind, progress=progress)

    def index_info(self, pool: str) -> IndexInfo:
        """The pool's newest dense index; `NotFoundError` when none was built."""
        return self.indexes.info(pool)

    def retrieve(
        self,
        pool: str,
        queries: str | Sequence[str],
        *,
        k: int = 8,
        retriever: str = "dense",
        filter: Any = None,
        **params: Any,
    ) -> list[list[Demo]]:
        """Demonstrations for each query from the pool's labeled items: ``list[list[Demo]]``."""
        return self.retrieval.retrieve(pool, queries, k=k, retriever=retriever, filter=filter, **params)

    def build_prompt(self, pool: str, query: str | Mapping[str, Any], **options: Any) -> tuple[BuiltPrompt, str]:
        """Retrieve and pack demonstrations into a prompt; ``(BuiltPrompt, prompt_id)`` (see
        `PromptService.build`). ``template=``: a `PromptTemplate`, a preset name or a template object;
        omitted, the pool's own template (else the default derived from its fields and labels)."""
        return self.prompts.build(pool, query, **options)

    def pool_template(self, pool: str) -> PromptTemplate:
        """The prompt template ``pool`` uses when a request names none (see `PoolService.prompt_template`)."""
        return self.pools.prompt_template(pool)

    def set_pool_template(self, pool: str, template: Any) -> dict[str, Any]:
        """Store (None: remove) the pool's own prompt template (see `PoolService.set_prompt_template`)."""
        return self.pools.set_prompt_template(pool, template)

    def prompt_log(self, prompt_id: str) -> dict[str, Any]:
        """Which demonstrations went into a logged prompt, found how."""
        return self.prompts.log(prompt_id)

    # ------------------------------------------------------------------ UDR
    def udr_mine(
        self, pools: str | Sequence[str], *, lm: Any, n_candidates: int = 50, **options: Any
    ) -> dict[str, Any]:
        """Score each training item's top BM25 candidates with ``lm`` (see `UDRService.mine`)."""
        return self.udr.mine(
            [pools] if isinstance(pools, str) else list(pools), lm=lm, n_candidates=n_candidates, **options
        )

    def udr_train(
        self, name: str, pools: str | Sequence[str], *, lm: Any, rounds: int = 1, **options: Any
    ) -> ModelInfo:
        """Train a UDR retriever over ``pools`` as the next version of ``name`` (see `UDRService.train`);
        retrieve with it as ``retriever="udr:<name>"``."""
        return self.udr.train(name, [pools] if isinstance(pools, str) else list(pools), lm=lm, rounds=rounds, **options)

    def list_models(self, name: str | None = None) -> list[ModelInfo]:
        """Trained models (every version of ``name``, or of all), by name then version."""
        return self.models.versions(name)

    def get_model(self, name: str | None = None, version: int | None = None) -> ModelInfo:
        """One trained model version (the latest when ``version`` is None)."""
        return self.models.get(name, version)

    # ------------------------------------------------------------------ skills, adaptive prompts
    def skill_vocabulary(self, pool: str) -> dict[str, Any]:
        """``{"pool", "skills", "stored", "counts"}``: the stored vocabulary, else the skills items carry."""
        return self.skills.vocabulary_info(pool)

    def set_skill_vocabulary(self, pool: str, skills: Sequence[str] | None) -> dict[str, Any]:
        """Store the pool's skill vocabulary (None: derive it from the items again)."""
        return self.skills.set_vocabulary(pool, skills)

    def edit_skills(
        self,
        pool: str,
        ids: Sequence[str] | None = None,
        *,
        set: Sequence[str] | None = None,
        add: Sequence[str] | None = None,
        remove: Sequence[str] | None = None,
        path: str | Path | None = None,
        mode: str = "set",
        fmt: str | None = None,
        edits: Sequence[SkillEdit] | None = None,
    ) -> SkillEditReport:
        """Bulk skill edits, all or nothing, in exactly one form: one change (set/add/remove) for many
        ``ids``; per-item skills from a JSONL/CSV ``path``; or per-item `SkillEdit` s (``edits``).
        An indexed pool's index is refreshed at once (the report's ``index_version``)."""
        by_ids = ids is not None or set is not None or add is not None or remove is not None
        if sum((by_ids, path is not None, edits is not None)) > 1:
            raise InvalidInputError("give one of: ids with set/add/remove, a file, or per-item edits")
        if path is not None:
            return self.skills.edit_from_file(pool, path, mode=mode, fmt=fmt)
        if edits is not None:
            return self.skills.edit(pool, edits, source="edits")
        return self.skills.edit_many(pool, list(ids or ()), set=set, add=add, remove=remove)

    def difficulty_thresholds(
        self, pool: str, update: Mapping[str, Any] | None = None, *, reset: bool = False
    ) -> DifficultyThresholds:
        """The pool's difficulty thresholds, after applying ``update`` (or ``reset`` to the defaults)."""
        if reset:
            return self.skills.set_thresholds(pool, None)
        return self.skills.set_thresholds(pool, update) if update else self.skills.thresholds(pool)

    def predict_skills(
        self, pool: str, queries: str | Sequence[str], *, method: str = "knn", top: int = 1, lm: str | None = None
    ) -> list[list[str]]:
        """Up to ``top`` skills per query from the pool's labeled items (knn, logreg) or an LM."""
        return self.skills.predict(pool, queries, method=method, top=top, lm=lm)

    def adaptive_prompt(self, pool: str, query: str, *, feedback: Any = None, **options: Any) -> AdaptivePrompt:
        """AdaptMI: the prompt the policy chooses given ``feedback`` (see `PromptService.adaptive`)."""
        return self.prompts.adaptive(pool, query, feedback=feedback, **options)

    def two_pass(self, pool: str, query: str, *, lm: str, **options: Any) -> TwoPassResult:
        """Model -> judge -> rebuilt prompt -> model (see `PromptService.two_pass`)."""
        return self.prompts.two_pass(pool, query, lm=lm, **options)
