"""Skills of a pool: vocabulary, bulk edits, difficulty thresholds, skill prediction (AdaptMI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ...service.skills import EDIT_MODES, SkillEdit
from .common import SkillPredictorName

__all__ = [
    "VocabularyPublic",
    "VocabularyIn",
    "SkillEditIn",
    "SkillEditsIn",
    "SkillEditReportPublic",
    "ThresholdsIn",
    "ThresholdsPublic",
    "PredictIn",
    "PredictPublic",
]


class VocabularyPublic(BaseModel):
    pool: str
    skills: list[str]
    stored: bool = Field(description="True when the pool stores a vocabulary; false when it is derived from items.")
    counts: dict[str, int]


class VocabularyIn(BaseModel):
    skills: list[str] | None = Field(description="The vocabulary; null derives it from the items again.")


class SkillEditIn(BaseModel):
    id: str = Field(min_length=1)
    skills: list[str]
    mode: Literal[EDIT_MODES] = "set"  # type: ignore[valid-type]

    model_config = ConfigDict(extra="forbid")


class SkillEditsIn(BaseModel):
    """Either ``ids`` with one of ``set``/``add``/``remove``, or per-item ``edits``; all or nothing."""

    ids: list[str] | None = Field(None, max_length=100_000)
    set: list[str] | None = None
    add: list[str] | None = None
    remove: list[str] | None = None
    edits: list[SkillEditIn] | None = Field(None, max_length=100_000)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ids": ["gsm8k-train-0", "gsm8k-train-1"], "add": ["percentage"]},
                {"edits": [{"id": "gsm8k-train-2", "skills": ["division"], "mode": "set"}]},
            ]
        },
    )

    def per_item(self) -> list[SkillEdit] | None:
        """The per-item ``edits`` (numbered from 1), or None when the body uses ``ids`` (the service
        refuses both forms at once)."""
        if self.edits is None:
            return None
        return [SkillEdit(e.id, tuple(e.skills), e.mode, n) for n, e in enumerate(self.edits, start=1)]


class SkillEditReportPublic(BaseModel):
    pool: str
    read: int
    changed: int
    unchanged: int
    new_skills: list[str]
    index_version: int | None = None


class ThresholdsIn(BaseModel):
    final: float | None = None
    mean: float | None = None
    step: float | None = None
    confidence: float | None = None
    consistency: float | None = None
    reset: StrictBool = Field(False, description="Back to the defaults (the paper's PRM thresholds).")

    # strict: ``false`` is not the threshold 0.0
    model_config = ConfigDict(extra="forbid", strict=True)


class ThresholdsPublic(BaseModel):
    final: float
    mean: float
    step: float
    confidence: float
    consistency: float


class PredictIn(BaseModel):
    queries: list[str] = Field(min_length=1, max_length=10_000)
    method: SkillPredictorName = "knn"
    top: int = Field(1, ge=1, le=50)
    lm: str | None = Field(
        None,
        max_length=200,
        description="Name of an LM backend the server allows, for an LM-backed predictor: smollm2, gemma3-270m "
        "or a configured entry (fewshot serve --lm NAME=SPEC). Specs, URLs and paths are refused.",
    )


class PredictPublic(BaseModel):
    method: str
    skills: list[list[str]]
