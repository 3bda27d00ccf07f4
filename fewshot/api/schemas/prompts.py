"""Prompts: a query in, a packed prompt with its provenance id out; adaptive (AdaptMI) feedback."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, StrictBool, field_validator
from pydantic_core import core_schema

from ...adaptive import BRANCHES
from ...prompt import ORDERS, TEMPLATES, PromptDemo
from .common import PromptPredictorName, RegisteredName, RetrieverName
from .retrieval import FilterIn
from .templates import TemplateIn

_TEMPLATE_NAME = RegisteredName("template", TEMPLATES.names)


class _DocumentedName(RegisteredName):
    """A registered name in the JSON schema only (``enum``); validated by the model's validator, so an
    unknown name is a 422 at ``body.template`` rather than at one member of the union."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return handler(source)


TemplateNameOrObject = Annotated[str, _DocumentedName("template", TEMPLATES.names)] | TemplateIn

__all__ = [
    "FeedbackIn",
    "PromptRequest",
    "PromptDemoPublic",
    "PromptResponse",
    "PromptLogPublic",
    "prompt_demo_public",
]


class FeedbackIn(BaseModel):
    """What is known about the model's first answer (every field optional; see fewshot.adaptive.Feedback)."""

    first_answer: str | None = Field(None, max_length=100_000, description="The model's first answer.")
    step_scores: list[float] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="Per-step scores of the first answer (e.g. a process reward model); difficult if final <= 0.85, "
        "mean <= 0.85 or a later step <= 0.7 (pool thresholds).",
    )
    confidence: float | None = Field(None, description="Mean token log-prob of the first answer (by your LM).")
    token_logprobs: list[float] | None = Field(None, min_length=1, max_length=100_000)
    samples: list[str] | None = Field(
        None, min_length=1, max_length=64, description="Sampled answers to the same prompt (self-consistency)."
    )
    missing_skills: list[str] | None = Field(
        None, max_length=50, description="Skills the first answer lacked (AdaptMI+)."
    )
    difficult: StrictBool | None = Field(None, description="Your own verdict; overrides every judge.")

    model_config = ConfigDict(extra="forbid")


class PromptRequest(BaseModel):
    pool: str = Field(min_length=1)
    query: str = Field(min_length=1, max_length=100_000)
    query_fields: dict[str, str | int | float | bool] | None = Field(
        None,
        max_length=100,
        description="Fields of the query for templates over several fields (e.g. premise and hypothesis); "
        "query stays the text retrieval searches with and the query's {text}.",
    )
    k: int = Field(8, ge=0, le=200)
    retriever: RetrieverName = "dense"
    template: TemplateNameOrObject | None = Field(
        None,
        description="A registered template name, or a template object for this request only; "
        "omitted: the pool's own template (PUT /v1/pools/{pool}/template), else the default derived "
        "from its fields and labels.",
    )
    instruction: str | None = None
    max_tokens: int = Field(1024, ge=1, le=1_000_000)
    reserve_tokens: int = Field(16, ge=0, le=1_000_000)
    max_demo_tokens: int | None = Field(None, ge=1, le=1_000_000)
    tokenizer: str = Field(
        "approx",
        max_length=200,
        description="approx, approx:<chars per token> (0.1 to 100), or the name of a tokenizer the server "
        "configured (fewshot serve --tokenizer NAME=SPEC). Specs and paths are refused.",
    )
    order: Literal[ORDERS] = "similar_last"  # type: ignore[valid-type]
    filter: FilterIn | None = None
    output_field: str | None = Field(
        None,
        description="Item field rendered as each demonstration's answer "
        "(e.g. answer for GSM8K solutions with the math template).",
    )
    feedback: FeedbackIn | None = Field(
        None,
        description="Feedback on the model's first answer: switches on the adaptive policy (AdaptMI / AdaptMI+); "
        "the response says which branch and why.",
    )
    predictor: PromptPredictorName = Field("knn", description="Skill predictor for difficult queries.")
    n_skills: int = Field(1, ge=1, le=20, description="Skills predicted per difficult query.")
    thresholds: dict[str, float] | None = Field(
        None,
        description="Override the pool's difficulty thresholds (final, mean, step, confidence, consistency) "
        "for this request.",
    )

    @field_validator("query_fields")
    @classmethod
    def _bounded_fields(
        cls, value: dict[str, str | int | float | bool] | None
    ) -> dict[str, str | int | float | bool] | None:
        for key, item in (value or {}).items():
            if not key.isidentifier() or len(key) > 200:
                raise ValueError(f"field names must be identifiers, got {key[:200]!r}")
            if isinstance(item, str) and len(item) > 100_000:
                raise ValueError(f"field {key!r} is longer than 100,000 characters")
        return value

    @field_validator("template")
    @classmethod
    def _registered_template(cls, value: str | TemplateIn | None) -> str | TemplateIn | None:
        if isinstance(value, str):
            return _TEMPLATE_NAME.validate(value)  # an unknown name: 422 at body.template
        return value

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"pool": "sst5", "query": "a gorgeous, witty film", "k": 8, "max_tokens": 512},
                {
                    "pool": "gsm8k",
                    "query": "Janet's ducks lay 16 eggs per day...",
                    "k": 5,
                    "template": "math",
                    "output_field": "answer",
                    "feedback": {"first_answer": "16 - 3 = 13 ... #### 26", "step_scores": [0.9, 0.6, 0.4]},
                },
            ]
        }
    )


class PromptDemoPublic(BaseModel):
    id: str
    score: float | None
    rank: int
    truncated: bool


def prompt_demo_public(d: PromptDemo) -> dict[str, Any]:
    """A demonstration as placed in a prompt, as `PromptDemoPublic` JSON."""
    return {**d.to_dict(), "id": str(d.id)}


class PromptResponse(BaseModel):
    id: str
    text: str
    messages: list[dict[str, str]]
    demos: list[PromptDemoPublic]
    n_tokens: int
    template: str
    retriever: str
    branch: Literal[BRANCHES] | None = Field(  # type: ignore[valid-type]
        None, description="Adaptive branch taken (only with feedback)."
    )
    reason: str | None = Field(None, description="Why that branch (judge verdict, skills).")
    skills: list[str] | None = Field(None, description="Skills the demonstrations were chosen for.")
    skill_source: str | None = None
    judgement: dict[str, Any] | None = None


class PromptLogPublic(BaseModel):
    id: str
    pool_id: int
    pool: str | None
    query: str
    query_hash: str
    retriever: str
    template: str
    demo_ids: list[Any]
    scores: list[Any]
    n_tokens: int
    params: dict[str, Any]
    created_at: str
