"""Prompt provenance: search the prompt log by id, pool and time (a page at a time), and one
prompt's full account -- its demonstrations with their text, label and score, the retriever, the
index version, the adaptive branch, and the prompt rendered again from the log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fewshot.exceptions import FewshotError, InvalidInputError
from fewshot.prompt import TEMPLATES
from fewshot.retrieve import Demo
from fewshot.service.context import ServiceContext
from fewshot.service.indexes import demonstration
from fewshot.service.pools import PoolService
from fewshot.service.prompts import PromptService
from fewshot.store import examples as example_rows
from fewshot.store import prompt_log_search

__all__ = ["ProvenanceService", "LogPage", "PromptProvenance", "MAX_PAGE"]

#: Most logs one search page may hold.
MAX_PAGE = 200
#: Longest id prefix accepted (ids are 32 hex characters).
_MAX_ID = 64
#: Token budget when re-rendering a logged prompt: every logged demonstration goes back in.
_RENDER_BUDGET = 10**7

Readable = Callable[[str], bool] | None


@dataclass(frozen=True)
class LogPage:
    """One page of a prompt-log search: ``items`` (newest first; each ``id``, ``pool``, ``query``,
    ``retriever``, ``template``, ``n_demos``, ``n_tokens``, ``created_at`` as ISO text) out of ``total``."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "limit": self.limit, "offset": self.offset}


@dataclass(frozen=True)
class PromptProvenance:
    """What went into one logged prompt.

    ``log``: the stored log (`PromptService.log`); ``demos``: per demonstration in prompt order,
    ``id``, ``score``, ``position``, ``text`` and ``label`` (None with ``found`` False when the item
    has been deleted since); ``index_version``; ``adaptive``: the branch record of an adaptive
    prompt (None otherwise); ``rendered``: the prompt text rebuilt from the logged demonstrations
    with the template the log names (None when it cannot be rebuilt, ``render_note`` says why)."""

    log: dict[str, Any]
    demos: list[dict[str, Any]]
    index_version: int | None
    adaptive: dict[str, Any] | None
    rendered: str | None
    render_note: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


class ProvenanceService:
    """Reading the prompt log back: search and per-prompt detail."""

    def __init__(self, ctx: ServiceContext, pools: PoolService, prompts: PromptService) -> None:
        self.ctx, self.pools, self.prompts = ctx, pools, prompts

    def search(
        self,
        *,
        pool: str | None = None,
        prompt_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 50,
        offset: int = 0,
        readable: Readable = None,
    ) -> LogPage:
        """Logs newest first: of ``pool`` (None: every pool ``readable`` accepts; None: all),
        whose id starts with ``prompt_id``, created in ``[since, until)``. `NotFoundError` for an
        unknown pool; `InvalidInputError` for a bad page or an empty time range."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}, got {limit!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidInputError(f"offset must be a non-negative integer, got {offset!r}")
        if since is not None and until is not None and until <= since:
            raise InvalidInputError(f"until ({until.isoformat()}) must be after since ({since.isoformat()})")
        prefix = (prompt_id or "").strip().lower() or None
        if prefix is not None and (len(prefix) > _MAX_ID or not prefix.isalnum()):
            raise InvalidInputError(f"prompt id must be letters and digits (a prefix is enough), got {prompt_id!r}")
        self.ctx.flush_prompt_logs()
        with self.ctx.session() as s:
            if pool is not None:
                pool_ids: list[int] | None = [self.pools.ref(pool)[0]]
            elif readable is not None:
                names = prompt_log_search.all_pool_ids(s)
                pool_ids = [pid for name, pid in names.items() if readable(name)]
            else:
                pool_ids = None
            rows, total = prompt_log_search.search_logs(
                s, pool_ids=pool_ids, id_prefix=prefix, since=since, until=until, limit=limit, offset=offset
            )
        items = [{**r, "created_at": _iso(r["created_at"])} for r in rows]
        return LogPage(items=items, total=total, limit=limit, offset=offset)

    def detail(self, prompt_id: str) -> PromptProvenance:
        """The account of one logged prompt; `NotFoundError` for an unknown id. The caller checks
        that the key may read ``log["pool"]``."""
        log = self.prompts.log(prompt_id)
        params = dict(log.get("params") or {})
        ids = [str(i) for i in log["demo_ids"]]
        scores = list(log["scores"])
        with self.ctx.session() as s:
            rows = example_rows.by_external_ids(s, pool_id=int(log["pool_id"]), ids=ids)
            examples = {ext: demonstration(row) for ext, row in rows.items()}
        demos = []
        for n, ext in enumerate(ids):
            ex = examples.get(ext)
            demos.append(
                {
                    "id": ext,
                    "position": n,
                    "score": scores[n] if n < len(scores) else None,
                    "text": None if ex is None else ex.text,
                    "label": None if ex is None or ex.label is None else str(ex.label),
                    "found": ex is not None,
                }
            )
        version = params.get("index_version")
        adaptive = params.get("adaptive")
        rendered, note = self._render(log, params, demos, examples)
        return PromptProvenance(
            log=log,
            demos=demos,
            index_version=int(version) if isinstance(version, int) else None,
            adaptive=adaptive if isinstance(adaptive, dict) else None,
            rendered=rendered,
            render_note=note,
        )

    def _render(
        self, log: dict[str, Any], params: dict[str, Any], demos: list[dict[str, Any]], examples: dict[str, Any]
    ) -> tuple[str | None, str]:
        """The prompt rebuilt from the logged demonstrations, in their logged order, and a note."""
        if not all(d["found"] for d in demos):
            return None, "not rendered: a demonstration of this prompt has been deleted since"
        pool, name = str(log["pool"]), str(log["template"])
        own = self.prompts.template(pool)
        if name in TEMPLATES:
            template: Any = name
        elif name == own.name:
            template = None
        else:
            return None, f"not rendered: template {name!r} was given with the request and is not stored"
        chosen = [Demo(example=examples[d["id"]], score=float(d["score"] or 0.0), rank=d["position"]) for d in demos]
        try:
            prompt, _ = self.prompts.build(
                pool,
                log["query"],
                k=max(1, len(chosen)),
                template=template,
                max_tokens=_RENDER_BUDGET,
                order="retrieval",  # the logged order is the prompt's final order: keep it
                output_field=params.get("output_field"),
                demos=chosen,
                log=False,
            )
        except FewshotError as exc:
            return None, f"not rendered: {exc}"
        return prompt.text, (
            f"rebuilt from the log with template {name!r} as it is now; demonstrations in their logged order"
        )
