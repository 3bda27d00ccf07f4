"""Prompts over a pool: retrieve demonstrations, pack them into a token budget, log which went in;
and the adaptive (AdaptMI) prompts that switch to skill-targeted demonstrations."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fewshot.adaptive import (
    DEFAULT_STOP,
    PREDICTORS,
    AdaptivePolicy,
    AdaptivePrompt,
    DifficultyThresholds,
    Feedback,
    LMSkillPredictor,
    SkillPredictor,
    TwoPassResult,
    chat_wrapper,
    run_two_pass,
    skill_demonstrations,
)
from fewshot.exceptions import InvalidInputError
from fewshot.io import FieldMapping
from fewshot.prompt import (
    TEMPLATES,
    BuiltPrompt,
    PromptBuilder,
    PromptTemplate,
    TokenCounter,
    get_token_counter,
    parse_template,
)
from fewshot.retrieve import Filter
from fewshot.service.context import ServiceContext
from fewshot.service.indexes import DENSE, IndexService
from fewshot.service.pools import PoolService
from fewshot.service.retrieval import RetrievalService
from fewshot.service.skills import SkillService
from fewshot.store import prompt_logs

__all__ = ["PromptService", "plus_choices"]


def plus_choices() -> list[str]:
    """What names the missing skills in AdaptMI+ (``two_pass(plus=...)``): ``lm`` (the answering LM)
    or any registered skill predictor that needs no LM."""
    return ["lm", *(name for name, cls in PREDICTORS.items() if not cls.needs_lm)]


class PromptService:
    """Prompt building with a provenance log, plain and adaptive."""

    def __init__(
        self,
        ctx: ServiceContext,
        pools: PoolService,
        indexes: IndexService,
        retrieval: RetrievalService,
        skills: SkillService,
    ) -> None:
        self.ctx, self.pools, self.indexes, self.retrieval, self.skills = ctx, pools, indexes, retrieval, skills
        self._lock = threading.RLock()
        self._counters: dict[str, TokenCounter] = {}

    def counter(self, spec: str) -> TokenCounter:
        """The token counter for ``spec`` (``approx``, ``hf:<dir>``, ...), built once."""
        with self._lock:
            if spec not in self._counters:
                self._counters[spec] = get_token_counter(spec)
            return self._counters[spec]

    def template(self, pool: str, template: str | Mapping[str, Any] | PromptTemplate | None = None) -> PromptTemplate:
        """The template a prompt over ``pool`` uses: ``template`` when given (a registered name, a
        `PromptTemplate` or its stored object -- never a file: this runs on servers), else the pool's
        own, else the default derived from its fields and labels. A template that is not a preset is
        checked against the pool's fields (`InvalidInputError` naming the missing one)."""
        if template is None:
            return self.pools.prompt_template(pool)
        if isinstance(template, str) and template in TEMPLATES:
            return TEMPLATES.get(template)
        tpl = parse_template(template, name="request")
        self.pools.check_template(pool, tpl)
        return tpl

    def build(
        self,
        pool: str,
        query: str | Mapping[str, Any],
        *,
        k: int = 8,
        retriever: str = DENSE,
        template: str | Mapping[str, Any] | PromptTemplate | None = None,
        instruction: str | None = None,
        max_tokens: int = 1024,
        reserve_tokens: int = 16,
        max_demo_tokens: int | None = None,
        tokenizer: str = "approx",
        order: str = "similar_last",
        filter: Filter | None = None,
        candidates: int | None = None,
        log: bool = True,
        retriever_params: dict[str, Any] | None = None,
        output_field: str | None = None,
        demos: Sequence[Any] | None = None,
        log_params: dict[str, Any] | None = None,
    ) -> tuple[BuiltPrompt, str]:
        """Retrieve demonstrations for ``query`` and pack them into a prompt; returns the prompt and
        its provenance id (logged in ``prompt_logs`` unless ``log=False``).

        ``query``: the query text, or a mapping of its fields (``{"premise": ..., "hypothesis": ...}``)
        for templates over several fields; its ``text`` (else the pool's ingest template or text
        field applied to it) is what retrieval searches with.
        ``template``: see `template` (None: the pool's own, else the derived default). ``output_field``: the
        item field rendered as each demonstration's answer (e.g. ``answer`` for GSM8K's worked
        solutions with the ``math`` template). ``demos``: demonstrations already chosen (best
        first; e.g. by the adaptive policy) instead of retrieving them. ``log_params``: extra
        entries for the log's params (e.g. the adaptive branch and reason)."""
        query_item: str | dict[str, Any]
        if isinstance(query, Mapping):
            query_item = self._query_fields(pool, query)
            query = query_item["text"]
        else:
            query_item = query
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query must be a non-empty string")
        changes: dict[str, Any] = {} if instruction is None else {"instruction": instruction}
        if output_field is not None:
            if not output_field.isidentifier():
                raise InvalidInputError(f"output_field must be a field name, got {output_field!r}")
            changes["output"] = " {" + output_field + "}"
        tpl = self.template(pool, template)
        if changes:
            tpl = dataclasses.replace(tpl, **changes)
        if demos is None:
            pool_id, version, results = self.retrieval.search(
                pool, [query], k=candidates or k, retriever=retriever, filter=filter, **(retriever_params or {})
            )
            demos = results[0]
        else:
            pool_id, version, _path = self.indexes.latest_version(pool)
        builder = PromptBuilder(
            tpl,
            self.counter(tokenizer),
            max_tokens=max_tokens,
            k=k,
            reserve_tokens=reserve_tokens,
            max_demo_tokens=max_demo_tokens,
            order=order,
        )
        prompt = builder.build(query_item, demos, retriever_name=retriever)
        prompt_id = uuid.uuid4().hex
        if log:  # queued, written in batches off the request path (never fails the prompt)
            self.ctx.prompt_log_writer.submit(
                dict(
                    id=prompt_id,
                    pool_id=pool_id,
                    query_hash=prompt.query_hash,
                    query=query,
                    retriever=retriever,
                    template=tpl.name,
                    demo_ids=[d.id for d in prompt.demos],
                    scores=[d.score for d in prompt.demos],
                    n_tokens=prompt.n_tokens,
                    params={
                        "k": k,
                        "max_tokens": max_tokens,
                        "tokenizer": tokenizer,
                        "order": order,
                        "index_version": version,
                        "output_field": output_field,
                        "filter": None if filter is None else filter.to_dict(),
                        **(log_params or {}),
                    },
                )
            )
        return prompt, prompt_id

    def _query_fields(self, pool: str, query: Mapping[str, Any]) -> dict[str, Any]:
        """A query given as fields, with its ``text``: given, else rendered as the pool renders its
        items' text at ingest (its ingest template or text field)."""
        fields = {str(key): value for key, value in query.items()}
        if not isinstance(fields.get("text"), str):
            info = self.pools.get(pool)
            try:
                text = FieldMapping(text_field=info.text_field, template=info.template).apply(fields).text
            except InvalidInputError as exc:
                raise InvalidInputError(f"query fields: cannot render the query text: {exc}") from None
            fields["text"] = text
        return fields

    def log(self, prompt_id: str) -> dict[str, Any]:
        """Which demonstrations went into a logged prompt, found how; `NotFoundError` when unknown."""
        self.ctx.flush_prompt_logs(prompt_id)  # still queued: write it first
        with self.ctx.session() as s:
            return prompt_logs.get_log(s, prompt_id)

    def logs(self, pool: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """The pool's newest ``limit`` prompt logs, newest first."""
        pool_id, _ = self.pools.ref(pool)
        self.ctx.flush_prompt_logs()
        with self.ctx.session() as s:
            ids = prompt_logs.recent_ids(s, pool_id=pool_id, limit=limit)
            return [prompt_logs.get_log(s, i) for i in ids]

    def count_logs(self, pool: str) -> int:
        """How many prompt logs the pool has (the total of `logs`)."""
        pool_id, _ = self.pools.ref(pool)
        self.ctx.flush_prompt_logs()
        with self.ctx.session() as s:
            return prompt_logs.count(s, pool_id=pool_id)

    # ------------------------------------------------------------------ adaptive (AdaptMI)
    def policy(
        self,
        pool: str,
        *,
        predictor: str = "knn",
        lm: str | None = None,
        n_skills: int = 1,
        thresholds: Mapping[str, Any] | None = None,
    ) -> AdaptivePolicy:
        """The pool's AdaptMI policy: its thresholds (overridden by ``thresholds``), vocabulary and a
        skill predictor loaded only when a difficult query needs one."""
        t = DifficultyThresholds.from_dict(thresholds, base=self.skills.thresholds(pool))
        return AdaptivePolicy(
            _LazyPredictor(self.skills, pool, predictor, lm),
            thresholds=t,
            vocabulary=self.skills.vocabulary(pool),
            n_skills=n_skills,
        )

    def adaptive(
        self,
        pool: str,
        query: str,
        *,
        feedback: Feedback | Mapping[str, Any] | None = None,
        predictor: str = "knn",
        lm: str | None = None,
        n_skills: int = 1,
        thresholds: Mapping[str, Any] | None = None,
        k: int = 5,
        retriever: str = DENSE,
        **options: Any,
    ) -> AdaptivePrompt:
        """Build the prompt the policy chooses for ``query`` given ``feedback`` (None = stage 1),
        logged with the branch, reason and skills in the prompt log's params."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query must be a non-empty string")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"adaptive prompts need k >= 1, got {k!r}")
        fb = feedback if isinstance(feedback, Feedback) or feedback is None else Feedback.from_dict(feedback)
        decision = self.policy(pool, predictor=predictor, lm=lm, n_skills=n_skills, thresholds=thresholds).decide(
            query, fb
        )
        demos = None
        if decision.uses_skills:
            _, _, dense = self.indexes.dense(pool)
            flt = options.get("filter")
            demos = skill_demonstrations(
                dense, query, decision.skills, k, exclude_ids=tuple(flt.exclude_ids) if flt is not None else ()
            )
        adaptive = {**decision.to_dict(), "feedback": None if fb is None else fb.to_dict()}
        prompt, prompt_id = self.build(
            pool, query, k=k, retriever=retriever, demos=demos, log_params={"adaptive": adaptive}, **options
        )
        return AdaptivePrompt(prompt, decision, list(demos) if demos is not None else [], prompt_id)

    def two_pass(
        self,
        pool: str,
        query: str,
        *,
        lm: str,
        judge: str = "confidence",
        plus: str | None = None,
        predictor: str = "knn",
        n_skills: int = 1,
        thresholds: Mapping[str, Any] | None = None,
        n_samples: int = 3,
        temperature: float = 0.7,
        seed: int = 0,
        max_new_tokens: int = 256,
        stop: Sequence[str] = DEFAULT_STOP,
        k: int = 5,
        retriever: str = DENSE,
        **options: Any,
    ) -> TwoPassResult:
        """Answer ``query`` with LM ``lm`` (a backend spec), judge the answer, and answer again from
        the adaptive prompt when it is difficult. ``plus``: None (AdaptMI), ``"lm"`` (the same LM
        names the skills the failed answer lacked) or a registered skill predictor name (skill
        prediction on question + failed answer): AdaptMI+."""
        backend = self.ctx.lm(lm)
        options.setdefault("tokenizer", "approx")
        options.setdefault("reserve_tokens", max_new_tokens + 2)

        def build(feedback: Feedback | None) -> AdaptivePrompt:
            return self.adaptive(
                pool,
                query,
                feedback=feedback,
                predictor=predictor,
                lm=lm,
                n_skills=n_skills,
                thresholds=thresholds,
                k=k,
                retriever=retriever,
                **options,
            )

        missing = None
        if plus is not None:
            if plus == "lm":
                named = LMSkillPredictor(backend, self.skills.vocabulary(pool), wrap=chat_wrapper(backend))

                def missing(q: str, answer: str) -> list[str]:
                    return named.missing_skills([q], [answer], top=n_skills)[0]
            elif plus in plus_choices():
                pred = self.skills.predictor(pool, plus)

                def missing(q: str, answer: str) -> list[str]:
                    return pred.predict([q + "\n" + answer], top=n_skills)[0]
            else:
                raise InvalidInputError(f"plus must be one of {', '.join(plus_choices())}, got {plus!r}")
        return run_two_pass(
            backend,
            build,
            query,
            judge=judge,
            n_samples=n_samples,
            temperature=temperature,
            seed=seed,
            max_new_tokens=max_new_tokens,
            stop=stop,
            missing_skills=missing,
            missing_skills_source="lm" if plus == "lm" else f"predicted:{plus}",
        )


class _LazyPredictor(SkillPredictor):
    """Loads the pool's predictor only when a difficult query needs one (easy and caller-named
    branches never pay for it)."""

    def __init__(self, skills: SkillService, pool: str, method: str, lm: str | None) -> None:
        PREDICTORS.get(method)  # unknown names fail now, naming the choices
        self.skills, self.pool, self.method, self.lm = skills, pool, method, lm
        self.name = method  # type: ignore[misc]  # the policy reports "predicted:<name>"
        self.vocabulary = skills.vocabulary(pool)

    def _predict(self, queries: list[str], top: int) -> list[list[str]]:
        return self.skills.predictor(self.pool, self.method, lm=self.lm).predict(queries, top=top)
