"""Examples: bulk ingest (JSON records or an uploaded file) and listing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from ...service.ingest import ON_CONFLICT
from .common import no_lone_surrogates
from .pools import SafeTemplate

__all__ = [
    "OnConflict",
    "ExampleStatus",
    "UploadFormat",
    "ExamplePublic",
    "ExamplesPublic",
    "FieldMappingIn",
    "ExamplesIngest",
    "IngestReportPublic",
    "EmbedRequest",
]

#: What to do with an id already in the pool (`fewshot.service.ingest.ON_CONFLICT`).
OnConflict = Literal[ON_CONFLICT]  # type: ignore[valid-type]
#: An example's annotation status.
ExampleStatus = Literal["unlabeled", "selected", "labeled"]
#: Formats an upload can be read as (default: from the file name's suffix).
UploadFormat = Literal["jsonl", "csv", "parquet"]


class ExamplePublic(BaseModel):
    id: int
    external_id: str
    text: str
    label: str | None
    skills: list[str]
    status: str
    fields: dict[str, Any]


class ExamplesPublic(BaseModel):
    data: list[ExamplePublic]
    count: int


class FieldMappingIn(BaseModel):
    id_field: str | None = None
    text_field: str | None = None
    template: SafeTemplate | None = Field(default=None, max_length=10_000)
    label_field: str | None = None
    skills_field: str | None = None


class ExamplesIngest(BaseModel):
    records: Annotated[list[dict[str, Any]], AfterValidator(no_lone_surrogates)] = Field(
        min_length=1, max_length=100_000
    )
    mapping: FieldMappingIn = FieldMappingIn()
    on_conflict: OnConflict = "error"
    keep_duplicates: StrictBool = False

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [{"id": "a1", "text": "a gorgeous, witty film", "label": "great"}],
                    "mapping": {"label_field": "label"},
                }
            ]
        }
    )


class IngestReportPublic(BaseModel):
    pool: str
    source: str
    read: int
    added: int
    labeled: int
    unchanged: int
    updated: int
    conflicts_skipped: int
    duplicate_count: int
    duplicates: list[list[int | str]] = Field(
        description="Duplicate lines within the input: ``[line, id, id of the record it duplicates]`` each."
    )


class EmbedRequest(BaseModel):
    """Optional body of ``POST /v1/pools/{pool}/embed``."""

    ray: StrictBool = Field(
        False,
        description="Embed on the Ray cluster the server's operator configured (setting ray_address); a request "
        "never names a cluster. 422 when none is configured, 501 without the ray extra.",
    )

    model_config = ConfigDict(extra="forbid")
