"""Selection rounds and the labels annotators send back for them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator, model_validator

from ...annotate import APPROX_METHODS, FINAL_RULES, parse_cost_spec
from ...exceptions import InvalidInputError
from ...service.selection import SelectionService
from .common import NO_BOOL, Seed, SelectionMethod

__all__ = [
    "SelectionCreate",
    "RoundItemPublic",
    "RoundPublic",
    "RoundsPublic",
    "LabelIn",
    "LabelsSubmit",
    "LabelProblemPublic",
    "LabelImportPublic",
]


class SelectionCreate(BaseModel):
    budget: Annotated[int | None, NO_BOOL] = Field(
        None, gt=0, le=1_000_000, description="How many items to choose (or give budget_cost)."
    )
    budget_cost: Annotated[float | None, NO_BOOL] = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="A total annotation cost to spend instead of a count, in the unit of the pool's cost spec.",
    )
    cost: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="Cost spec per item, stored on the pool for later rounds: a constant (2), "
        "words:RATE (words:0.5/60), tokens:RATE, chars:RATE, field:NAME, or a sum (1+words:0.5/60).",
    )
    method: SelectionMethod = "votek"
    seed: Seed = 0
    center: StrictBool = True
    k: Annotated[int | None, NO_BOOL] = Field(
        None, gt=0, le=1000, description="Graph neighbours [votek: 150, ideal: 10]."
    )
    approx: str | None = Field(
        None,
        description="Build the kNN graph of a graph method with an approximate search: one of "
        f"{', '.join(APPROX_METHODS)} [default: exact up to 200,000 items, {APPROX_METHODS[0]} above].",
    )
    nprobe: Annotated[int | None, NO_BOOL] = Field(
        None, gt=0, le=1_000_000, description="IVF lists scanned per item [default: planned]."
    )
    nlist: Annotated[int | None, NO_BOOL] = Field(
        None, gt=0, le=1_000_000, description="IVF lists [default: planned from the pool size]."
    )
    partitions: Annotated[int | None, NO_BOOL] = Field(
        None,
        gt=0,
        le=100_000,
        description="Partitioned selection for pools whose kNN graph does not fit in memory: the method "
        "runs per k-means partition, then a final choice among their candidates.",
    )
    oversample: Annotated[float | None, NO_BOOL] = Field(
        None, ge=1, le=100, allow_inf_nan=False, description="With partitions: candidates per final pick [2]."
    )
    final: str | None = Field(
        None,
        description=f"With partitions: the final choice, one of {', '.join(FINAL_RULES)} [auto: merge for "
        "methods whose scores are gains, else greedy].",
    )
    ray: StrictBool = Field(
        False, description="With partitions: run them as Ray tasks on the server's configured Ray cluster."
    )
    lm: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Two-stage vote-k (votek2) with a language model's confidence in its own answers: "
        "the name of an LM the server allows (an offline model such as smollm2, or a configured "
        "name). The pool's labeled items are the demonstrations and the first stage.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"budget": 100, "method": "votek", "seed": 0},
                {"budget_cost": 50.0, "cost": "words:0.5/60", "method": "ideal"},
            ]
        }
    )

    @field_validator("cost")
    @classmethod
    def _cost_spec(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_cost_spec(value).text
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("approx")
    @classmethod
    def _approx(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value not in APPROX_METHODS:
            raise ValueError(f"approx must be one of {', '.join(APPROX_METHODS)}; got {value!r}")
        return value

    @field_validator("final")
    @classmethod
    def _final(cls, value: str | None) -> str | None:
        if value is not None and value not in FINAL_RULES:
            raise ValueError(f"final must be one of {', '.join(FINAL_RULES)}; got {value!r}")
        return value

    @model_validator(mode="after")
    def _partitioned(self) -> SelectionCreate:
        needs = [name for name in ("oversample", "final") if getattr(self, name) is not None]
        if self.ray:
            needs.append("ray")
        if needs and self.partitions is None:
            raise ValueError(f"{', '.join(needs)} only apply with partitions")
        if self.partitions is not None and self.budget_cost is not None:
            raise ValueError("partitions take a count budget, not budget_cost")
        return self

    @model_validator(mode="after")
    def _graph_method(self) -> SelectionCreate:
        given = [name for name in ("approx", "nprobe", "nlist") if getattr(self, name) is not None]
        takers = SelectionService.methods_taking("approx")
        if given and self.method not in takers:
            raise ValueError(f"{', '.join(given)} only apply to {', '.join(takers)}; method {self.method!r} takes none")
        return self

    @field_validator("lm")
    @classmethod
    def _lm_method(cls, value: str | None, info: ValidationInfo) -> str | None:
        method = info.data.get("method")
        if value is not None and method is not None and method not in SelectionService.confidence_methods():
            users = ", ".join(SelectionService.confidence_methods()) or "no registered method"
            raise ValueError(f"lm is only used by {users}; method {method!r} takes no lm")
        return value

    @model_validator(mode="after")
    def _one_budget(self) -> SelectionCreate:
        if (self.budget is None) == (self.budget_cost is None):
            raise ValueError("give exactly one of budget (a count of items) and budget_cost (a total cost)")
        return self


class RoundItemPublic(BaseModel):
    position: int
    example_id: int
    external_id: str
    text: str
    score: float
    status: str
    label: str | None
    fields: dict[str, Any]


class RoundPublic(BaseModel):
    pool: str
    number: int
    method: str
    budget: int
    seed: int
    params: dict[str, Any]
    influence: float | None
    created_at: str
    items: list[RoundItemPublic] | None = None


class RoundsPublic(BaseModel):
    data: list[RoundPublic]
    count: int


class LabelIn(BaseModel):
    id: str = Field(min_length=1, description="The item's external id.")
    label: str | None


class LabelsSubmit(BaseModel):
    labels: list[LabelIn] = Field(min_length=1, max_length=100_000)
    overwrite: StrictBool = False
    skip_invalid: StrictBool = False

    model_config = ConfigDict(json_schema_extra={"examples": [{"labels": [{"id": "a1", "label": "great"}]}]})

    def pairs(self) -> list[tuple[str, str | None]]:
        """``(id, label)`` in request order (the label service numbers them from 1 in problems)."""
        return [(item.id, item.label) for item in self.labels]


class LabelProblemPublic(BaseModel):
    line: int
    external_id: str
    kind: str
    detail: str


class LabelImportPublic(BaseModel):
    pool: str
    read: int
    applied: int
    unchanged: int
    problems: list[LabelProblemPublic]
