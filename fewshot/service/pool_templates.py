"""The prompt template a pool carries (``Pool.settings["prompt_template"]``): reading, deriving the
default from the pool's labels, checking fields against its items, storing. `PoolService` has
these methods (this module only keeps them apart from pool and example bookkeeping)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fewshot.prompt import (
    PromptTemplate,
    check_template_fields,
    default_template,
    parse_template,
    template_from_dict,
    template_to_dict,
)
from fewshot.retrieve import CORE_FIELDS
from fewshot.service._recent import Recent
from fewshot.service.context import ServiceContext
from fewshot.store import examples as example_rows
from fewshot.store import pools as pool_rows

__all__ = ["PoolTemplates", "PROMPT_TEMPLATE_SETTING"]

#: The key of ``Pool.settings`` holding the pool's own prompt template (a plain JSON object).
PROMPT_TEMPLATE_SETTING = "prompt_template"
#: Items sampled to learn which fields a pool's items have, and labeled items for its labels.
_FIELD_SAMPLE = 200
_LABEL_SAMPLE = 5000


class PoolTemplates:
    """Prompt-template methods of `PoolService` (needs ``ctx``, ``count_examples`` and a
    ``_default_templates`` cache)."""

    ctx: ServiceContext
    _default_templates: dict[str, tuple[Any, PromptTemplate]]
    _templates: Recent[str, PromptTemplate]

    if TYPE_CHECKING:  # provided by PoolService

        def count_examples(self, pool: str, *, status: Any = None, label: str | None = None) -> int: ...

    def item_fields(self, pool: str) -> set[str]:
        """Fields a template may name: the core fields and those of a sample of the pool's items."""
        names = set(CORE_FIELDS)
        with self.ctx.session() as s:
            pool_id = pool_rows.get_pool(s, name=pool).id
            for ex in example_rows.page(s, pool_id=pool_id, limit=_FIELD_SAMPLE):
                names.update(ex.fields or {})
        return names

    def label_values(self, pool: str) -> list[str]:
        """The distinct labels of (a sample of) the pool's labeled items, sorted."""
        with self.ctx.session() as s:
            pool_id = pool_rows.get_pool(s, name=pool).id
            rows = example_rows.page(s, pool_id=pool_id, status="labeled", limit=_LABEL_SAMPLE)
            return sorted({ex.label for ex in rows if ex.label is not None})

    def stored_prompt_template(self, pool: str) -> dict[str, Any] | None:
        """The pool's own prompt template as stored, or None."""
        with self.ctx.session() as s:
            value = (pool_rows.get_pool(s, name=pool).settings or {}).get(PROMPT_TEMPLATE_SETTING)
        return dict(value) if isinstance(value, dict) else None

    def prompt_template(self, pool: str) -> PromptTemplate:
        """The template prompts over ``pool`` use when a request names none: the pool's own, else
        the default derived from its fields and labels (`fewshot.prompt.default_template`). Read
        from the database at most every ``settings.index_refresh_seconds`` (at once after a change
        made in this process: see `fewshot.service._recent.Recent`)."""
        return self._templates.get(pool, lambda: self._read_prompt_template(pool))

    def _read_prompt_template(self, pool: str) -> PromptTemplate:
        with self.ctx.session() as s:
            row = pool_rows.get_pool(s, name=pool)
            stored = (row.settings or {}).get(PROMPT_TEMPLATE_SETTING)
            if isinstance(stored, dict):
                return template_from_dict(stored, name=pool)
            # the derived default changes only with the labels: cached per pool and item counts
            key = (row.id, tuple(sorted(pool_rows.status_counts(s, pool_id=row.id).items())))
        cached = self._default_templates.get(pool)
        if cached is not None and cached[0] == key:
            return cached[1]
        template = default_template(CORE_FIELDS, self.label_values(pool))
        self._default_templates[pool] = (key, template)
        return template

    def template_info(self, pool: str) -> dict[str, Any]:
        """``{"pool", "source": "pool"|"default", "template": the effective template as an object}``."""
        stored = self.stored_prompt_template(pool)
        template = template_from_dict(stored, name=pool) if stored is not None else self.prompt_template(pool)
        return {"pool": pool, "source": "pool" if stored is not None else "default", **template_to_dict(template)}

    def check_template(self, pool: str, template: PromptTemplate) -> None:
        """`InvalidInputError` naming a field ``template`` needs that the pool's items lack (a pool
        without items accepts any field)."""
        if self.count_examples(pool):
            check_template_fields(template, self.item_fields(pool), where=f"pool {pool!r}")

    def set_prompt_template(self, pool: str, template: Any) -> dict[str, Any]:
        """Store the pool's own prompt template (a `PromptTemplate`, a registered name or an object
        with ``input``, ``output``, ``instruction``, ``separator``, ``verbalizer``); None removes it
        (back to the derived default). A field the pool's items lack is rejected by name. Returns
        `template_info`."""
        if template is None:
            with self.ctx.session() as s:
                pool_rows.update_setting(s, name=pool, key=PROMPT_TEMPLATE_SETTING, value=None)
            self.ctx.changed()
            return self.template_info(pool)
        tpl = parse_template(template, name=pool)
        stored = template_to_dict(tpl)
        self.check_template(pool, tpl)
        with self.ctx.session() as s:
            pool_rows.update_setting(s, name=pool, key=PROMPT_TEMPLATE_SETTING, value=stored)
        self.ctx.changed()
        return self.template_info(pool)
