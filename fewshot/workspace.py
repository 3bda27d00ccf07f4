"""The service layer: every operation the CLI, the REST API and library users perform.

>>> from fewshot import Workspace
>>> ws = Workspace.open(home="/tmp/fewshot-demo")            # doctest: +SKIP
>>> ws.ingest("sst5", "train.jsonl", label_field="label_text")  # doctest: +SKIP
>>> ws.embed("sst5")                                           # doctest: +SKIP
>>> ids, X = ws.vectors("sst5")                               # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .config import Settings
from .embedding import Embedder
from .exceptions import ConflictError, InvalidInputError
from .ingest import IngestReport, ingest_file, ingest_records
from .io import FieldMapping, LabelRecord, read_labels, to_argilla_record, to_labelstudio_task, write_records
from .io._writers import write_json_atomic
from .labels import LabelImportReport, import_labels
from .rounds import RoundInfo, get_round, list_rounds, save_round
from .store import crud
from .store.db import create_db_engine, make_session_factory, migrate
from .store.models import Example, Pool
from .store.vectors import VectorStore

__all__ = ["Workspace", "PoolInfo", "ExampleInfo", "EmbedReport"]

logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PoolInfo:
    id: int
    name: str
    description: str | None
    template: str | None
    text_field: str | None
    embedding_model: str
    counts: dict[str, int]
    created_at: dt.datetime

    @property
    def size(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["created_at"] = self.created_at.isoformat()
        d["size"] = self.size
        return d


@dataclass(frozen=True)
class ExampleInfo:
    id: int
    external_id: str
    text: str
    label: str | None
    skills: list[str]
    status: str
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, ex: Example) -> "ExampleInfo":
        return cls(id=ex.id, external_id=ex.external_id, text=ex.text, label=ex.label, skills=list(ex.skills or []),
                   status=ex.status, fields=dict(ex.fields or {}))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class EmbedReport:
    pool: str
    model: str
    total: int
    embedded: int
    cached: int
    seconds: float
    dim: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Workspace:
    """A fewshot data directory and database: pools, examples, vectors, selections.

    Create one per process (CLI command, API app, notebook) and pass it around; it owns the
    database engine and the embedding models it has loaded.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.engine = create_db_engine(self.settings.resolved_database_url())
        migrate(self.engine)
        self._sessions = make_session_factory(self.engine)
        self._embedders: dict[str, Embedder] = {}
        self._serving = None
        self._adaptive = None
        self._udr = None

    @classmethod
    def open(cls, home: str | Path | None = None, *, database_url: str | None = None, **settings: Any) -> "Workspace":
        """Open (creating if needed) the workspace in ``home`` (default ``$FEWSHOT_HOME`` or ``./.fewshot``)."""
        overrides: dict[str, Any] = dict(settings)
        if home is not None:
            overrides["home"] = Path(home)
        if database_url is not None:
            overrides["database_url"] = database_url
        return cls(Settings(**overrides))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    # ------------------------------------------------------------------------------- pools
    def create_pool(self, name: str, *, template: str | None = None, text_field: str | None = None,
                    embedding_model: str | None = None, description: str | None = None) -> PoolInfo:
        name = (name or "").strip()
        if not name or len(name) > 200:
            raise InvalidInputError("pool name must be 1-200 characters")
        FieldMapping(text_field=text_field, template=template)  # validates the template
        try:
            with self.session() as s:
                pool = Pool(name=name, template=template, text_field=text_field, description=description,
                            embedding_model=embedding_model or self.settings.embedding_model)
                s.add(pool)
                s.flush()
                return self._pool_info(s, pool)
        except IntegrityError:
            raise ConflictError(f"pool {name!r} already exists") from None

    def list_pools(self) -> list[PoolInfo]:
        with self.session() as s:
            return [self._pool_info(s, p) for p in s.scalars(select(Pool).order_by(Pool.name))]

    def get_pool(self, name: str) -> PoolInfo:
        with self.session() as s:
            return self._pool_info(s, crud.get_pool(s, name=name))

    def delete_pool(self, name: str) -> None:
        with self.session() as s:
            pool = crud.get_pool(s, name=name)
            pool_id = pool.id
            s.execute(delete(Pool).where(Pool.id == pool_id))
        shutil.rmtree(self.settings.vectors_dir / f"pool-{pool_id}", ignore_errors=True)

    def _pool_info(self, s: Session, pool: Pool) -> PoolInfo:
        return PoolInfo(id=pool.id, name=pool.name, description=pool.description, template=pool.template,
                        text_field=pool.text_field, embedding_model=pool.embedding_model,
                        counts=crud.status_counts(s, pool_id=pool.id), created_at=pool.created_at)

    # ------------------------------------------------------------------------------ ingest
    def _mapping_for(self, s: Session, pool_name: str, *, id_field: str | None, text_field: str | None,
                     template: str | None, label_field: str | None, skills_field: str | None,
                     create: bool, embedding_model: str | None) -> tuple[Pool, FieldMapping]:
        pool = s.scalar(select(Pool).where(Pool.name == pool_name))
        if pool is None:
            if not create:
                crud.get_pool(s, name=pool_name)  # raises NotFoundError with the known names
            FieldMapping(text_field=text_field, template=template)
            pool = Pool(name=pool_name, template=template, text_field=text_field,
                        embedding_model=embedding_model or self.settings.embedding_model)
            s.add(pool)
            s.flush()
        else:
            for what, given, stored in (("template", template, pool.template),
                                        ("text field", text_field, pool.text_field)):
                if given is not None and given != stored:
                    raise ConflictError(f"pool {pool.name!r} renders its text with {what} {stored!r}, "
                                        f"not {given!r}; create another pool for another rendering")
            template, text_field = pool.template, pool.text_field
        mapping = FieldMapping(id_field=id_field, text_field=text_field, template=template,
                               label_field=label_field, skills_field=skills_field)
        return pool, mapping

    def ingest(self, pool: str, path: str | Path, *, fmt: str | None = None, id_field: str | None = None,
               text_field: str | None = None, template: str | None = None, label_field: str | None = None,
               skills_field: str | None = None, on_conflict: str = "error", keep_duplicates: bool = False,
               create: bool = True, embedding_model: str | None = None,
               progress: Progress | None = None) -> IngestReport:
        """Stream a JSONL/CSV/Parquet file into ``pool`` (created if missing, unless ``create=False``).

        One transaction: on any bad record nothing is stored and the error names file, line and field.
        """
        with self.session() as s:
            p, mapping = self._mapping_for(s, pool, id_field=id_field, text_field=text_field, template=template,
                                           label_field=label_field, skills_field=skills_field, create=create,
                                           embedding_model=embedding_model)
            return ingest_file(s, p, path, mapping=mapping, fmt=fmt, on_conflict=on_conflict,
                               keep_duplicates=keep_duplicates, progress=progress)

    def add_records(self, pool: str, records: Iterable[dict[str, Any]], *, id_field: str | None = None,
                    text_field: str | None = None, template: str | None = None, label_field: str | None = None,
                    skills_field: str | None = None, on_conflict: str = "error", keep_duplicates: bool = False,
                    create: bool = False) -> IngestReport:
        """Ingest records already in memory (e.g. a JSON request body)."""
        with self.session() as s:
            p, mapping = self._mapping_for(s, pool, id_field=id_field, text_field=text_field, template=template,
                                           label_field=label_field, skills_field=skills_field, create=create,
                                           embedding_model=None)
            return ingest_records(s, p, records, mapping=mapping, on_conflict=on_conflict,
                                  keep_duplicates=keep_duplicates)

    # ---------------------------------------------------------------------------- examples
    def list_examples(self, pool: str, *, status: str | Sequence[str] | None = None, label: str | None = None,
                      limit: int | None = 100, offset: int = 0) -> list[ExampleInfo]:
        if limit is not None and limit < 0 or offset < 0:
            raise InvalidInputError("limit and offset must be non-negative")
        with self.session() as s:
            p = crud.get_pool(s, name=pool)
            stmt = crud.examples_query(pool_id=p.id, status=status, label=label).offset(offset)
            if limit is not None:
                stmt = stmt.limit(limit)
            return [ExampleInfo.from_row(e) for e in s.scalars(stmt)]

    def iter_examples(self, pool: str, *, status: str | Sequence[str] | None = None,
                      batch_size: int = 2000) -> Iterator[ExampleInfo]:
        """All matching examples in id order, streamed in pages (constant memory)."""
        last = 0
        while True:
            with self.session() as s:
                p = crud.get_pool(s, name=pool)
                stmt = crud.examples_query(pool_id=p.id, status=status).where(Example.id > last).limit(batch_size)
                page = [ExampleInfo.from_row(e) for e in s.scalars(stmt)]
            if not page:
                return
            yield from page
            last = page[-1].id

    def export(self, pool: str, path: str | Path, *, fmt: str = "jsonl",
               status: str | Sequence[str] | None = None) -> int:
        """Write a pool's examples (id, text, label, skills, status and original fields)."""
        rows = ({"id": e.external_id, "text": e.text, "label": e.label, "skills": e.skills, "status": e.status,
                 "fields": e.fields} for e in self.iter_examples(pool, status=status))
        self.get_pool(pool)  # a clear NotFoundError before a file is created
        return write_records(rows, path, fmt)

    # ----------------------------------------------------------------------------- vectors
    def use_embedder(self, embedder: Embedder) -> None:
        """Reuse an already-loaded :class:`Embedder` for its model (notebooks, tests, servers)."""
        self._embedders[embedder.model_name] = embedder

    def embedder(self, model: str) -> Embedder:
        if model not in self._embedders:
            self._embedders[model] = Embedder(model, device=self.settings.device,
                                              batch_size=self.settings.embed_batch_size)
        return self._embedders[model]

    def vector_store(self, pool: PoolInfo) -> VectorStore:
        return VectorStore(self.settings.vectors_dir, pool_id=pool.id, model=pool.embedding_model)

    def embed(self, pool: str, *, progress: Progress | None = None) -> EmbedReport:
        """Embed every example of ``pool`` that has no vector yet for the pool's model.

        Vectors are written in atomic shards of ``embed_chunk_size`` texts: an interrupted run
        keeps its finished shards and the next run continues from there.
        """
        import time

        info = self.get_pool(pool)
        store = self.vector_store(info)
        start = time.perf_counter()
        with self.session() as s:
            rows = s.execute(select(Example.content_hash, Example.text).where(Example.pool_id == info.id)
                             .order_by(Example.id)).all()
        unique: dict[str, str] = {}
        for h, text in rows:
            unique.setdefault(h, text)
        hashes = list(unique)
        todo_mask = ~store.contains(hashes) if hashes else np.zeros(0, bool)
        todo = [hashes[i] for i in np.flatnonzero(todo_mask)]
        cached = len(hashes) - len(todo)
        done = 0
        if todo:
            embedder = self.embedder(info.embedding_model)
            chunk = self.settings.embed_chunk_size
            for i in range(0, len(todo), chunk):
                part = todo[i:i + chunk]
                store.add(part, embedder.encode([unique[h] for h in part]))
                done += len(part)
                if progress is not None:
                    progress(done, len(todo))
        elif progress is not None:
            progress(0, 0)
        report = EmbedReport(pool=info.name, model=info.embedding_model, total=len(rows), embedded=done,
                             cached=cached, seconds=time.perf_counter() - start, dim=store.dim)
        return report

    def vectors(self, pool: str, *, status: str | Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(example_ids, X)``: database ids (int64, id order) and their vectors (n, dim) float32."""
        info = self.get_pool(pool)
        with self.session() as s:
            stmt = crud.examples_query(pool_id=info.id, status=status).with_only_columns(
                Example.id, Example.content_hash)
            rows = s.execute(stmt).all()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        store = self.vector_store(info)
        return ids, store.get([r[1] for r in rows]) if rows else np.zeros((0, store.dim or 0), np.float32)

    # -------------------------------------------------------------------------- selection
    def select(self, pool: str, *, budget: int, method: str = "votek", seed: int = 0, center: bool = True,
               confidence: str | Callable | None = None, progress: Progress | None = None,
               **params: Any) -> RoundInfo:
        """Choose ``budget`` items to annotate and store them as the pool's next selection round.

        Items already selected or labeled in earlier rounds count as chosen (the second round
        continues the first). The same pool, method, parameters and seed give the same round.
        ``method="votek2"`` needs a stage-2 ``confidence``: a function, or ``"similarity"`` (an
        LM-free proxy: an item is as confident as it is similar to the current selection).
        """
        from .annotate import select as select_rows

        ids, X, chosen = self._selection_inputs(pool)
        available = len(ids) - len(chosen)
        if not isinstance(budget, int) or budget <= 0 or budget > available:
            raise InvalidInputError(f"budget must be between 1 and the {available} unlabeled, unselected items "
                                    f"of pool {pool!r}, got {budget!r}")
        if method == "votek2":
            params["confidence"] = _confidence_function(confidence, X, center=center)
        sel = select_rows(X, budget, method, labeled=chosen, seed=seed, center=center, progress=progress, **params)
        stored_params = {k: v for k, v in dict(sel.params).items() if _is_jsonable(v)}
        stored_params["center"] = center
        if method == "votek2":
            stored_params["confidence"] = confidence if isinstance(confidence, str) else "callable"
        with self.session() as s:
            p = crud.get_pool(s, name=pool)
            number = save_round(s, p, method=method, params=stored_params, seed=seed, example_ids=ids[sel.indices],
                                scores=np.asarray(sel.scores, dtype=np.float64),
                                influence=None if sel.influence is None else float(sel.influence))
            return get_round(s, p, number)

    def budget(self, pool: str, *, budgets: Sequence[int] | None = None, method: str = "votek", seed: int = 0,
               center: bool = True, threshold: float | None = None, plot: str | Path | None = None,
               progress: Progress | None = None, **params: Any):
        """Coverage / similarity / influence of nested selections along a budget grid, with a
        recommended budget (:func:`fewshot.annotate.budget_curve`); one greedy run for the whole
        curve. Items already selected or labeled count as chosen. Writes a PNG when ``plot`` is set."""
        from .annotate import budget_curve, plot_budget_curve

        ids, X, chosen = self._selection_inputs(pool)
        available = len(ids) - len(chosen)
        if available < 1:
            raise InvalidInputError(f"pool {pool!r} has no unlabeled, unselected items left")
        grid = list(budgets) if budgets is not None else default_budget_grid(available)
        curve = budget_curve(X, grid, method=method, center=center, threshold=threshold, seed=seed,
                             labeled=chosen, progress=progress, **params)
        if plot is not None:
            plot_budget_curve(curve, plot, title=f"{pool}: budget curve ({method})")
        return curve

    def _selection_inputs(self, pool: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(example ids, vectors, row numbers already selected or labeled) in id order."""
        info = self.get_pool(pool)
        with self.session() as s:
            statuses = s.scalars(select(Example.status).where(Example.pool_id == info.id).order_by(Example.id)).all()
        ids, X = self.vectors(pool)
        if len(statuses) != len(ids):  # the pool changed between the two reads
            raise ConflictError(f"pool {pool!r} changed while reading it; try again")
        chosen = np.array([i for i, st in enumerate(statuses) if st != "unlabeled"], dtype=np.int64)
        return ids, X, chosen

    # --------------------------------------------------------------- retrieval and prompts
    @property
    def serving(self):
        """Indexes, retrievers and prompt building (:class:`fewshot.serving.PoolServing`)."""
        if self._serving is None:
            from .serving import PoolServing

            self._serving = PoolServing(self)
        return self._serving

    def build_index(self, pool: str, *, kind: str = "auto", progress: Progress | None = None):
        """Build or refresh the retrieval index over the pool's labeled items (incremental, versioned)."""
        return self.serving.build_index(pool, kind=kind, progress=progress)

    def index_info(self, pool: str):
        return self.serving.index_info(pool)

    def retrieve(self, pool: str, queries: str | Sequence[str], *, k: int = 8, retriever: str = "dense",
                 filter: Any = None, **params: Any):
        """Demonstrations for each query from the pool's labeled items: ``list[list[Demo]]``."""
        return self.serving.retrieve(pool, queries, k=k, retriever=retriever, filter=filter, **params)

    def build_prompt(self, pool: str, query: str, **options: Any):
        """Retrieve and pack demonstrations into a prompt; returns ``(BuiltPrompt, prompt_id)``.
        Options: see :meth:`fewshot.serving.PoolServing.build_prompt`."""
        return self.serving.build_prompt(pool, query, **options)

    def prompt_log(self, prompt_id: str) -> dict[str, Any]:
        """Which demonstrations went into a logged prompt, found how."""
        return self.serving.prompt_log(prompt_id)

    # ------------------------------------------------------------------ UDR trained retriever
    @property
    def udr(self):
        """UDR mining, training, trained models and UDR indexes (:class:`fewshot._udr_service.UDRService`)."""
        if self._udr is None:
            from ._udr_service import UDRService

            self._udr = UDRService(self)
        return self._udr

    def udr_mine(self, pools: str | Sequence[str], *, lm: Any, n_candidates: int = 50, **options: Any) -> dict[str, Any]:
        """Score each training item's top BM25 candidates with ``lm`` (an LM spec or backend) and store
        the scores in ``feedback_scores``; already-scored pairs are skipped. Returns the statistics."""
        return self.udr.mine([pools] if isinstance(pools, str) else list(pools), lm=lm, n_candidates=n_candidates,
                             **options)

    def udr_train(self, name: str, pools: str | Sequence[str], *, lm: Any, rounds: int = 1, **options: Any):
        """Train (mining what is missing) a UDR retriever over ``pools`` jointly and save it as the next
        version of ``name``; returns a :class:`fewshot._udr_service.ModelInfo`. Retrieve with it as
        ``retriever="udr:<name>"``."""
        return self.udr.train(name, [pools] if isinstance(pools, str) else list(pools), lm=lm, rounds=rounds,
                              **options)

    def list_models(self, name: str | None = None) -> list:
        """Trained models (every version), oldest first."""
        return self.udr.list_models(name)

    def get_model(self, name: str | None = None, version: int | None = None):
        """One trained model version (latest when ``version`` is None)."""
        return self.udr.get_model(name, version)

    # ------------------------------------------------------------- skills, adaptive prompts
    @property
    def adaptive(self):
        """Skill vocabularies, skill edits and prediction, adaptive prompts
        (:class:`fewshot.adaptive._service.AdaptiveService`)."""
        if self._adaptive is None:
            from .adaptive._service import AdaptiveService

            self._adaptive = AdaptiveService(self)
        return self._adaptive

    def skill_vocabulary(self, pool: str) -> dict[str, Any]:
        """``{"skills", "stored", "counts"}``: the stored vocabulary, else the skills items carry."""
        return self.adaptive.vocabulary_info(pool)

    def set_skill_vocabulary(self, pool: str, skills: Sequence[str] | None) -> dict[str, Any]:
        """Store the pool's skill vocabulary (None: derive it from the items again)."""
        return self.adaptive.set_vocabulary(pool, skills)

    def edit_skills(self, pool: str, ids: Sequence[str] | None = None, *, set: Sequence[str] | None = None,
                    add: Sequence[str] | None = None, remove: Sequence[str] | None = None,
                    path: str | Path | None = None, mode: str = "set", fmt: str | None = None):
        """Bulk skill edits, all or nothing: one change (set/add/remove) for many ``ids``, or per-item
        skills from a JSONL/CSV ``path``. An indexed pool's index is refreshed at once (the report's
        ``index_version``)."""
        if path is not None:
            if ids is not None or set is not None or add is not None or remove is not None:
                raise InvalidInputError("give either a file or ids with set/add/remove, not both")
            return self.adaptive.edit_from_file(pool, path, mode=mode, fmt=fmt)
        return self.adaptive.edit_many(pool, list(ids or ()), set=set, add=add, remove=remove)

    def difficulty_thresholds(self, pool: str, update: dict[str, Any] | None = None, *, reset: bool = False):
        """The pool's difficulty thresholds, after applying ``update`` (or ``reset`` to the defaults)."""
        if reset:
            return self.adaptive.set_thresholds(pool, None)
        return self.adaptive.set_thresholds(pool, update) if update else self.adaptive.thresholds(pool)

    def predict_skills(self, pool: str, queries: str | Sequence[str], *, method: str = "knn", top: int = 1,
                       lm: str | None = None) -> list[list[str]]:
        """Skills of each query from the pool's labeled items (knn, logreg) or an LM (``lm`` spec)."""
        return self.adaptive.predict(pool, queries, method=method, top=top, lm=lm)

    def adaptive_prompt(self, pool: str, query: str, *, feedback: Any = None, **options: Any):
        """AdaptMI: the prompt the policy chooses given ``feedback`` on a first answer (None: stage 1);
        returns an :class:`fewshot.adaptive.AdaptivePrompt` (prompt, decision, prompt_id)."""
        return self.adaptive.adaptive_prompt(pool, query, feedback=feedback, **options)

    def two_pass(self, pool: str, query: str, *, lm: str, **options: Any):
        """Model -> judge -> rebuilt prompt -> model with LM backend ``lm`` (see
        :meth:`fewshot.adaptive._service.AdaptiveService.two_pass`)."""
        return self.adaptive.two_pass(pool, query, lm=lm, **options)

    def rounds(self, pool: str) -> list[RoundInfo]:
        with self.session() as s:
            return list_rounds(s, crud.get_pool(s, name=pool))

    def get_round(self, pool: str, number: int | None = None) -> RoundInfo:
        with self.session() as s:
            return get_round(s, crud.get_pool(s, name=pool), number)

    def export_round(self, pool: str, path: str | Path, *, number: int | None = None, fmt: str = "jsonl",
                     only_unlabeled: bool = True) -> int:
        """Write a round's items for annotators: jsonl, csv, labelstudio (tasks JSON) or argilla (records JSON)."""
        rnd = self.get_round(pool, number)
        items = [i for i in rnd.items if not (only_unlabeled and i.label is not None)]
        if fmt in ("jsonl", "csv"):
            rows = ({"id": i.external_id, "text": i.text, "label": i.label, "position": i.position,
                     "score": i.score, **{f"field_{k}": v for k, v in i.fields.items()}} for i in items)
            return write_records(rows, path, fmt)
        if fmt not in ("labelstudio", "argilla"):
            raise InvalidInputError(f"unknown export format {fmt!r}; expected jsonl, csv, labelstudio or argilla")
        convert = to_labelstudio_task if fmt == "labelstudio" else to_argilla_record
        write_json_atomic([convert(i.external_id, i.text, i.fields) for i in items], path)
        return len(items)

    def import_labels(self, pool: str, path: str | Path, *, fmt: str | None = None, id_field: str = "id",
                      label_field: str = "label", overwrite: bool = False,
                      skip_invalid: bool = False) -> LabelImportReport:
        """Read labels from JSONL/CSV or a Label Studio / Argilla export; all or nothing (see
        :mod:`fewshot.labels`)."""
        records = read_labels(path, fmt, id_field=id_field, label_field=label_field)
        return self.apply_labels(pool, records, overwrite=overwrite, skip_invalid=skip_invalid)

    def apply_labels(self, pool: str, labels: Sequence[LabelRecord] | dict[str, str], *, overwrite: bool = False,
                     skip_invalid: bool = False) -> LabelImportReport:
        """Apply labels given in memory (``{external_id: label}`` or :class:`LabelRecord` s); all or nothing."""
        if isinstance(labels, dict):
            labels = [LabelRecord(line=i, external_id=str(k), labels=() if v is None or not str(v).strip()
                                  else (str(v).strip(),)) for i, (k, v) in enumerate(labels.items(), start=1)]
        with self.session() as s:
            return import_labels(s, crud.get_pool(s, name=pool), list(labels), overwrite=overwrite,
                                 skip_invalid=skip_invalid)


def default_budget_grid(available: int, *, low: int = 10, high: int = 1000) -> list[int]:
    """Budgets 10, 20, 50, 100, 200, 500, 1000 (1-2-5 steps) up to ``min(high, available)``."""
    top = min(high, available)
    grid = [b for b in (m * 10 ** e for e in range(1, 7) for m in (1, 2, 5)) if low <= b <= top]
    if not grid or grid[-1] != top:
        grid.append(top)
    return sorted(set(grid))


def _is_jsonable(value: Any) -> bool:
    import json

    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _confidence_function(confidence: str | Callable | None, X: np.ndarray, *, center: bool) -> Callable:
    """Stage-2 confidence for two-stage vote-k: a caller's function, or the similarity proxy."""
    if callable(confidence):
        return confidence
    if confidence not in (None, "similarity"):
        raise InvalidInputError(f"confidence must be 'similarity' or a function, got {confidence!r}")
    Z = X - X.mean(axis=0, keepdims=True) if center else X.copy()
    Z /= np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)

    def similarity_confidence(selected: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        return (Z[candidates] @ Z[selected].T).max(axis=1)

    return similarity_confidence
