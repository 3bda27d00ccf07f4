"""Pools and their examples: create, list, delete, ingest (files or records), page, export."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fewshot.annotate import CostSpec, parse_cost_spec
from fewshot.exceptions import ConflictError, InvalidInputError
from fewshot.io import FieldMapping, write_format_for, write_records
from fewshot.progress import Progress
from fewshot.prompt import (
    PromptTemplate,
    parse_template,
    template_to_dict,
)
from fewshot.service._recent import Recent
from fewshot.service.context import ServiceContext
from fewshot.service.ingest import IngestReport, import_file, ingest_records
from fewshot.service.pool_templates import PROMPT_TEMPLATE_SETTING, PoolTemplates
from fewshot.store import examples as example_rows
from fewshot.store import pools as pool_rows
from fewshot.store.models import Example, Pool
from fewshot.store.pools import STATUSES

__all__ = ["PoolService", "PoolInfo", "ExampleInfo", "STATUSES", "PROMPT_TEMPLATE_SETTING", "COST_SETTING"]

#: The key of ``Pool.settings`` holding the pool's annotation cost spec (a string, see
#: `fewshot.annotate.parse_cost_spec`), so that every round reuses it.
COST_SETTING = "cost"


@dataclass(frozen=True)
class PoolInfo:
    """A pool with its item counts per status."""

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
    """One example as stored (``id`` is the database id, ``external_id`` the caller's)."""

    id: int
    external_id: str
    text: str
    label: str | None
    skills: list[str]
    status: str
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, ex: Example) -> ExampleInfo:
        return cls(
            id=ex.id,
            external_id=ex.external_id,
            text=ex.text,
            label=ex.label,
            skills=list(ex.skills or []),
            status=ex.status,
            fields=dict(ex.fields or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _pool_info(s: Session, pool: Pool) -> PoolInfo:
    return PoolInfo(
        id=pool.id,
        name=pool.name,
        description=pool.description,
        template=pool.template,
        text_field=pool.text_field,
        embedding_model=pool.embedding_model,
        counts=pool_rows.status_counts(s, pool_id=pool.id),
        created_at=pool.created_at,
    )


class PoolService(PoolTemplates):
    """Pools and their examples."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._default_templates: dict[str, tuple[Any, PromptTemplate]] = {}
        self._templates: Recent[str, PromptTemplate] = Recent(
            ctx.settings.index_refresh_seconds, lambda: ctx.generation
        )

    # ------------------------------------------------------------------ pools
    def create(
        self,
        name: str,
        *,
        template: str | None = None,
        text_field: str | None = None,
        embedding_model: str | None = None,
        description: str | None = None,
        prompt_template: Any = None,
    ) -> PoolInfo:
        """A new empty pool; `ConflictError` when the name is taken, `InvalidInputError` for a bad
        name or template. ``prompt_template``: the pool's own prompt template (a `PromptTemplate`,
        a registered name or the stored object; see `set_prompt_template`)."""
        name = (name or "").strip()
        if not name or len(name) > 200:
            raise InvalidInputError("pool name must be 1-200 characters")
        FieldMapping(text_field=text_field, template=template)  # validates the template
        stored = None if prompt_template is None else template_to_dict(parse_template(prompt_template, name=name))
        with self.ctx.session() as s:
            pool = pool_rows.create_pool(
                s,
                name=name,
                template=template,
                text_field=text_field,
                description=description,
                embedding_model=embedding_model or self.ctx.settings.embedding_model,
            )
            if stored is not None:
                pool_rows.update_setting(s, name=name, key=PROMPT_TEMPLATE_SETTING, value=stored)
            return _pool_info(s, pool)

    def all(self) -> list[PoolInfo]:
        """Every pool, by name."""
        with self.ctx.session() as s:
            return [_pool_info(s, p) for p in pool_rows.list_pools(s)]

    def get(self, name: str) -> PoolInfo:
        """One pool with its counts; `NotFoundError` when unknown."""
        with self.ctx.session() as s:
            return _pool_info(s, pool_rows.get_pool(s, name=name))

    def ref(self, name: str) -> tuple[int, str]:
        """``(id, embedding_model)`` with one light query (no counts): for per-request paths."""
        with self.ctx.session() as s:
            return pool_rows.pool_ref(s, name=name)

    def delete(self, name: str) -> None:
        """Delete the pool, its examples, rounds, logs and index rows, then its vectors and indexes on disk."""
        with self.ctx.session() as s:
            pool_id = pool_rows.get_pool(s, name=name).id
            pool_rows.delete_pool(s, pool_id=pool_id)
        self.ctx.changed()
        shutil.rmtree(self.ctx.settings.vectors_dir / f"pool-{pool_id}", ignore_errors=True)
        shutil.rmtree(self.ctx.index_dir(pool_id), ignore_errors=True)

    # ------------------------------------------------------------------ costs
    def cost_spec(self, name: str) -> str | None:
        """The pool's stored annotation cost spec, or None."""
        with self.ctx.session() as s:
            value = (pool_rows.get_pool(s, name=name).settings or {}).get(COST_SETTING)
        return value if isinstance(value, str) else None

    def set_cost_spec(self, name: str, spec: str | CostSpec | None) -> str | None:
        """Store (``None``: remove) the pool's cost spec; returns it as stored. A bad spec is an
        `InvalidInputError` and stores nothing."""
        text = None if spec is None else parse_cost_spec(spec).text
        with self.ctx.session() as s:
            pool_rows.update_setting(s, name=name, key=COST_SETTING, value=text)
        return text

    # ------------------------------------------------------------------ ingest
    def _mapping_for(
        self,
        s: Session,
        pool_name: str,
        *,
        id_field: str | None,
        text_field: str | None,
        template: str | None,
        label_field: str | None,
        skills_field: str | None,
        create: bool,
        embedding_model: str | None,
    ) -> tuple[Pool, FieldMapping]:
        pool = pool_rows.find_pool(s, name=pool_name)
        if pool is None:
            if not create:
                pool_rows.get_pool(s, name=pool_name)  # raises NotFoundError
            FieldMapping(text_field=text_field, template=template)
            pool = pool_rows.create_pool(
                s,
                name=pool_name,
                template=template,
                text_field=text_field,
                embedding_model=embedding_model or self.ctx.settings.embedding_model,
            )
        else:
            for what, given, stored in (
                ("template", template, pool.template),
                ("text field", text_field, pool.text_field),
            ):
                if given is not None and given != stored:
                    raise ConflictError(
                        f"pool {pool.name!r} renders its text with {what} {stored!r}, "
                        f"not {given!r}; create another pool for another rendering"
                    )
            template, text_field = pool.template, pool.text_field
        mapping = FieldMapping(
            id_field=id_field,
            text_field=text_field,
            template=template,
            label_field=label_field,
            skills_field=skills_field,
        )
        return pool, mapping

    def ingest(
        self,
        pool: str,
        path: str | Path,
        *,
        fmt: str | None = None,
        id_field: str | None = None,
        text_field: str | None = None,
        template: str | None = None,
        label_field: str | None = None,
        skills_field: str | None = None,
        on_conflict: str = "error",
        keep_duplicates: bool = False,
        create: bool = True,
        embedding_model: str | None = None,
        progress: Progress | None = None,
        source: str | None = None,
        prompt_template: Any = None,
    ) -> IngestReport:
        """Stream a JSONL/CSV/Parquet file into ``pool`` (created if missing, unless ``create=False``).

        All or nothing: on any bad record nothing is stored (not even a new pool) and the error names
        file, line and field. Rows are staged in short batch transactions and published in one short
        transaction (`fewshot.service.ingest.import_file`), so a long import does not starve other
        writers. ``source`` names the file in the report and errors (default: ``path``).
        ``prompt_template``: stored as the pool's prompt template once the items are in (see
        `set_prompt_template`; checked against their fields).
        """
        if prompt_template is not None:
            prompt_template = parse_template(prompt_template, name=pool)  # a bad template fails first
        options: dict[str, Any] = {
            "id_field": id_field,
            "text_field": text_field,
            "template": template,
            "label_field": label_field,
            "skills_field": skills_field,
            "embedding_model": embedding_model,
        }
        with self.ctx.session() as s:  # reads only: the pool is created by the publish
            if create and pool_rows.find_pool(s, name=pool) is None:
                pool_id = None
                mapping = FieldMapping(
                    id_field=id_field,
                    text_field=text_field,
                    template=template,
                    label_field=label_field,
                    skills_field=skills_field,
                )
            else:
                p, mapping = self._mapping_for(s, pool, create=False, **options)
                pool_id = p.id

        def create_pool(s: Session) -> Pool:
            return self._mapping_for(s, pool, create=True, **options)[0]

        report = import_file(
            self.ctx.session,
            pool_name=pool,
            pool_id=pool_id,
            create_pool=create_pool,
            path=path,
            mapping=mapping,
            fmt=fmt,
            on_conflict=on_conflict,
            keep_duplicates=keep_duplicates,
            progress=progress,
            source=source,
        )
        self.ctx.changed()  # new labels change the derived default template
        if prompt_template is not None:
            self.set_prompt_template(pool, prompt_template)
        return report

    def add_records(
        self,
        pool: str,
        records: Iterable[dict[str, Any]],
        *,
        id_field: str | None = None,
        text_field: str | None = None,
        template: str | None = None,
        label_field: str | None = None,
        skills_field: str | None = None,
        on_conflict: str = "error",
        keep_duplicates: bool = False,
        create: bool = False,
    ) -> IngestReport:
        """Ingest records already in memory (e.g. a JSON request body); the same rules as `ingest`."""
        with self.ctx.session() as s:
            p, mapping = self._mapping_for(
                s,
                pool,
                id_field=id_field,
                text_field=text_field,
                template=template,
                label_field=label_field,
                skills_field=skills_field,
                create=create,
                embedding_model=None,
            )
            report = ingest_records(
                s, p, records, mapping=mapping, on_conflict=on_conflict, keep_duplicates=keep_duplicates
            )
        self.ctx.changed()  # new labels change the derived default template
        return report

    # ------------------------------------------------------------------ examples
    def list_examples(
        self,
        pool: str,
        *,
        status: str | Sequence[str] | None = None,
        label: str | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[ExampleInfo]:
        """A page of the pool's examples in id order, optionally filtered by status and label."""
        if limit is not None and limit < 0 or offset < 0:
            raise InvalidInputError("limit and offset must be non-negative")
        with self.ctx.session() as s:
            p = pool_rows.get_pool(s, name=pool)
            rows = example_rows.page(s, pool_id=p.id, status=status, label=label, limit=limit, offset=offset)
            return [ExampleInfo.from_row(e) for e in rows]

    def count_examples(self, pool: str, *, status: str | Sequence[str] | None = None, label: str | None = None) -> int:
        """How many of the pool's examples match the filters of `list_examples` (the total of its pages)."""
        with self.ctx.session() as s:
            p = pool_rows.get_pool(s, name=pool)
            return example_rows.count(s, pool_id=p.id, status=status, label=label)

    def iter_examples(
        self, pool: str, *, status: str | Sequence[str] | None = None, batch_size: int = 2000
    ) -> Iterator[ExampleInfo]:
        """All matching examples in id order, streamed in pages (constant memory)."""
        last = 0
        while True:
            with self.ctx.session() as s:
                p = pool_rows.get_pool(s, name=pool)
                page = [
                    ExampleInfo.from_row(e)
                    for e in example_rows.page(s, pool_id=p.id, status=status, after_id=last, limit=batch_size)
                ]
            if not page:
                return
            yield from page
            last = page[-1].id

    def export(
        self, pool: str, path: str | Path, *, fmt: str | None = None, status: str | Sequence[str] | None = None
    ) -> int:
        """Write a pool's examples (id, text, label, skills, status and original fields) as jsonl or csv
        (``fmt``, else from the file's suffix); returns the count."""
        fmt = write_format_for(path, fmt)
        self.get(pool)  # a clear NotFoundError before a file is created
        rows = (
            {
                "id": e.external_id,
                "text": e.text,
                "label": e.label,
                "skills": e.skills,
                "status": e.status,
                "fields": e.fields,
            }
            for e in self.iter_examples(pool, status=status)
        )
        return write_records(rows, path, fmt)
