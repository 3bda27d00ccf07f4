"""A pool's prompt template: the stored object in, the effective template out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TemplateIn", "TemplatePublic"]

_TEXT = 20_000


class TemplateIn(BaseModel):
    """A prompt template as data: ``str.format``-style named fields of the pool's items only (no
    attribute or index access, no code)."""

    input: str = Field(
        min_length=1, max_length=_TEXT, description='How an item is shown, e.g. "Premise: {premise}\\nAnswer:".'
    )
    output: str = Field(" {label}", max_length=_TEXT, description='How its answer follows, e.g. " {label}".')
    instruction: str = Field("", max_length=_TEXT, description="Text put first (the system message in chat form).")
    separator: str = Field("\n\n", max_length=1000, description="Between instruction, demonstrations and query.")
    verbalizer: dict[str, str] | None = Field(
        None, max_length=1000, description='Label value -> word, e.g. {"0": "entailment", "1": "not_entailment"}.'
    )
    name: str | None = Field(None, min_length=1, max_length=200, description="A name for logs (default: the pool).")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "instruction": "Does the premise entail the hypothesis?",
                    "input": "Premise: {premise}\nHypothesis: {hypothesis}\nAnswer:",
                    "output": " {label_text}",
                }
            ]
        },
    )


class TemplatePublic(BaseModel):
    pool: str
    source: Literal["pool", "default"] = Field(
        description="pool: set on the pool; default: derived from its fields and labels."
    )
    name: str
    instruction: str
    input: str
    output: str
    separator: str
    verbalizer: dict[str, str] | None
