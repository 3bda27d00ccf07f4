"""Pools: create, list, get."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PoolCreate", "PoolPublic", "PoolsPublic"]


class PoolCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    template: str | None = Field(
        None, description='Text template over item fields, e.g. "{premise}\\nquestion: {hypothesis}".'
    )
    text_field: str | None = Field(None, description="Field holding the text when there is no template [text].")
    embedding_model: str | None = Field(None, description="sentence-transformers name or local path.")

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
