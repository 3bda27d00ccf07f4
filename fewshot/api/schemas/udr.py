"""UDR: mining and training jobs, and the trained models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from ...service.models import MODEL_NAME_PATTERN, check_model_name
from .common import MAX_INT, Seed, UDRTemplateName

__all__ = ["UDRMineRequest", "UDRTrainRequest", "ModelPublic"]

#: A model name, checked by the model service's own rule.
ModelName = Annotated[
    str, AfterValidator(check_model_name), WithJsonSchema({"type": "string", "pattern": MODEL_NAME_PATTERN})
]


class UDRMineRequest(BaseModel):
    pools: list[str] = Field(min_length=1, max_length=100, description="Pools whose labeled items are mined.")
    lm: str = Field(
        "smollm2",
        min_length=1,
        max_length=200,
        description="Name of an LM backend the server allows: smollm2, gemma3-270m, or an entry the operator "
        "configured (fewshot serve --lm NAME=SPEC). Specs, URLs and paths are refused.",
    )
    n_candidates: int = Field(50, ge=1, le=1000, description="BM25 candidates per training item (self excluded).")
    template: UDRTemplateName = Field("default", description="Feedback prompt format: default or a prompt template.")
    max_queries: int | None = Field(
        None, ge=1, le=MAX_INT, description="Training items per pool (seeded sample) [all]."
    )
    seed: Seed = 0

    model_config = ConfigDict(extra="forbid")


class UDRTrainRequest(UDRMineRequest):
    name: ModelName = Field(
        description="Model name (1-30 letters, digits, '_', '.', '-'); each training saves the next version."
    )
    rounds: int = Field(1, ge=1, le=10, description="Mining rounds (2+: re-mine with the trained model; paper 3).")
    instructions: dict[str, str] | None = Field(
        None, description="Encoder instruction per pool [default: the pool's description or name]."
    )
    base_model: str | None = Field(
        None,
        max_length=200,
        description="Embedding model to start from, by a name the server allows (the bundled all-MiniLM-L6-v2 "
        "or a configured embedding model) [bundled MiniLM]. Paths are refused.",
    )
    epochs: int = Field(3, ge=1, le=100)
    batch_size: int = Field(8, ge=1, le=512)
    lr: float = Field(3e-5, gt=0, le=1)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "mix", "pools": ["sst5", "trec"], "lm": "smollm2", "n_candidates": 30, "max_queries": 64}
            ]
        },
    )


class ModelPublic(BaseModel):
    name: str
    version: int
    spec: str = Field(description="Retriever name selecting this version, e.g. udr:mix:v2.")
    kind: Literal["udr"]
    base_model: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    created_at: str
