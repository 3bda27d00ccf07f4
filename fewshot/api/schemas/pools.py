"""Pools: create, list, get."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ...templating import compile_template
from .templates import TemplateIn

__all__ = ["PoolCreate", "PoolPublic", "PoolsPublic", "SafeTemplate", "check_template"]


def check_template(value: str | None) -> str | None:
    """A template in the safe language of `fewshot.templating` (named fields, bounded format specs)."""
    if value is not None:
        compile_template(value, where="template")
    return value


#: An ingest template, checked when the request is parsed (422 naming the field).
SafeTemplate = Annotated[str, AfterValidator(check_template)]


class PoolCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    template: SafeTemplate | None = Field(
        None,
        max_length=10_000,
        description='Text template over item fields, e.g. "{premise}\\nquestion: {hypothesis}": named fields only, '
        "format specs limited to [[fill]align][width][.precision][type] (width and precision at most 200).",
    )
    text_field: str | None = Field(None, description="Field holding the text when there is no template [text].")
    embedding_model: str | None = Field(
        None,
        max_length=200,
        description="Name of an embedding model the server allows (its configured embedding_models, or the "
        "bundled all-MiniLM-L6-v2) [the server's default]. Paths are refused.",
    )

    prompt_template: TemplateIn | None = Field(
        None, description="The pool's prompt template (see PUT /v1/pools/{pool}/template) [derived from its fields]."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "sst5", "text_field": "text"}]})


class PoolPublic(BaseModel):
    id: int
    name: str
    description: str | None
    template: str | None
    text_field: str | None
    embedding_model: str
    counts: dict[str, int]
    size: int
    created_at: str


class PoolsPublic(BaseModel):
    data: list[PoolPublic]
    count: int
