"""Indexes and retrieval: filters, index versions, demonstrations for a batch of queries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ...retrieve import INDEX_KINDS, Filter
from ...service.retrieval import demo_to_dict
from .common import RetrieverName, no_lone_surrogates

__all__ = [
    "FilterIn",
    "IndexPublic",
    "IndexBuild",
    "RetrieveRequest",
    "DemoPublic",
    "RetrieveResponse",
    "demo_public",
    "to_filter",
]


class FilterIn(BaseModel):
    labels: list[str] | None = Field(None, description="Only demonstrations with one of these labels.")
    skills: list[str] | None = Field(None, description="Only demonstrations sharing a skill with these.")
    fields: dict[str, str | int | float | bool] | None = Field(None, description="Field equality conditions.")
    exclude_ids: list[str] | None = Field(None, description="Never these item ids (e.g. the query itself).")


def to_filter(f: FilterIn | None) -> Filter | None:
    """The retrieval filter of a request (None: no filter)."""
    if f is None:
        return None
    return Filter(labels=f.labels, skills=f.skills, fields=f.fields, exclude_ids=f.exclude_ids or ())


class IndexPublic(BaseModel):
    pool: str
    version: int
    count: int
    embedding_model: str
    kind: str
    path: str
    created_at: str
    changed: bool


class IndexBuild(BaseModel):
    kind: Literal[INDEX_KINDS] = "auto"  # type: ignore[valid-type]


class RetrieveRequest(BaseModel):
    queries: Annotated[list[str], AfterValidator(no_lone_surrogates)] = Field(min_length=1, max_length=10_000)
    k: int = Field(8, ge=1, le=1000)
    retriever: RetrieverName = "dense"
    filter: FilterIn | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"queries": ["a gorgeous, witty film"], "k": 4}]})


class DemoPublic(BaseModel):
    id: str
    score: float
    rank: int
    text: str
    label: str | None
    skills: list[str]


#: A retrieved demonstration as `DemoPublic` JSON: the service's one shape, shared with the CLI.
demo_public = demo_to_dict


class RetrieveResponse(BaseModel):
    results: list[list[DemoPublic]]
    index_version: int
