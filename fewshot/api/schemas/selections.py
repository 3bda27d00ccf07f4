"""Selection rounds and the labels annotators send back for them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

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
    budget: Annotated[int, NO_BOOL] = Field(gt=0, le=1_000_000)
    method: SelectionMethod = "votek"
    seed: Seed = 0
    center: StrictBool = True
    k: Annotated[int | None, NO_BOOL] = Field(
        None, gt=0, le=1000, description="Graph neighbours [votek: 150, ideal: 10]."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"budget": 100, "method": "votek", "seed": 0}]})


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
