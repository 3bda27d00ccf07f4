"""Request and response bodies of the REST API (pydantic), kept apart from the store's models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

METHODS = Literal["votek", "votek2", "ideal", "random", "kmeans", "facility"]


class Message(BaseModel):
    detail: str


class PoolCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    template: str | None = Field(None, description='Text template over item fields, e.g. "{premise}\\nquestion: {hypothesis}".')
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
    template: str | None = None
    label_field: str | None = None
    skills_field: str | None = None


class ExamplesIngest(BaseModel):
    records: list[dict[str, Any]] = Field(min_length=1, max_length=100_000)
    mapping: FieldMappingIn = FieldMappingIn()
    on_conflict: Literal["error", "skip", "update"] = "error"
    keep_duplicates: bool = False

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "records": [{"id": "a1", "text": "a gorgeous, witty film", "label": "great"}],
        "mapping": {"label_field": "label"}}]})


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
    duplicates: list[tuple[int, str, str]]


class SelectionCreate(BaseModel):
    budget: int = Field(gt=0, le=1_000_000)
    method: METHODS = "votek"
    seed: int = 0
    center: bool = True
    k: int | None = Field(None, gt=0, le=1000, description="Graph neighbours [votek: 150, ideal: 10].")

    model_config = ConfigDict(json_schema_extra={"examples": [{"budget": 100, "method": "votek", "seed": 0}]})


class JobPublic(BaseModel):
    id: str
    kind: str
    status: Literal["pending", "running", "succeeded", "failed"]
    progress_done: int
    progress_total: int
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: str
    updated_at: str


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
    overwrite: bool = False
    skip_invalid: bool = False

    model_config = ConfigDict(json_schema_extra={"examples": [{"labels": [{"id": "a1", "label": "great"}]}]})


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


class FilterIn(BaseModel):
    labels: list[str] | None = Field(None, description="Only demonstrations with one of these labels.")
    skills: list[str] | None = Field(None, description="Only demonstrations sharing a skill with these.")
    fields: dict[str, str | int | float | bool] | None = Field(None, description="Field equality conditions.")
    exclude_ids: list[str] | None = Field(None, description="Never these item ids (e.g. the query itself).")


RETRIEVERS = Annotated[str, Field(pattern=r"^(dense|bm25|mmr|label_balanced|random|udr(:[A-Za-z0-9][A-Za-z0-9_.-]*(:v[0-9]+)?)?)$", description="dense, bm25, mmr, label_balanced, random, or a trained model: udr, udr:<name>, udr:<name>:v<N>.")]


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
    kind: Literal["auto", "flat", "hnsw"] = "auto"


class RetrieveRequest(BaseModel):
    queries: list[str] = Field(min_length=1, max_length=10_000)
    k: int = Field(8, ge=1, le=1000)
    retriever: RETRIEVERS = "dense"
    filter: FilterIn | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"queries": ["a gorgeous, witty film"], "k": 4}]})


class DemoPublic(BaseModel):
    id: str
    score: float
    rank: int
    text: str
    label: str | None
    skills: list[str]


class RetrieveResponse(BaseModel):
    results: list[list[DemoPublic]]
    index_version: int


class FeedbackIn(BaseModel):
    """What is known about the model's first answer (every field optional; see fewshot.adaptive.Feedback)."""

    first_answer: str | None = Field(None, max_length=100_000, description="The model's first answer.")
    step_scores: list[float] | None = Field(None, min_length=1, max_length=1000,
                                            description="Per-step scores of the first answer (e.g. a process reward "
                                                        "model); difficult if final <= 0.85, mean <= 0.85 or a later "
                                                        "step <= 0.7 (pool thresholds).")
    confidence: float | None = Field(None, description="Mean token log-prob of the first answer (by your LM).")
    token_logprobs: list[float] | None = Field(None, min_length=1, max_length=100_000)
    samples: list[str] | None = Field(None, min_length=1, max_length=64,
                                      description="Sampled answers to the same prompt (self-consistency).")
    missing_skills: list[str] | None = Field(None, max_length=50,
                                             description="Skills the first answer lacked (AdaptMI+).")
    difficult: bool | None = Field(None, description="Your own verdict; overrides every judge.")

    model_config = ConfigDict(extra="forbid")


class PromptRequest(BaseModel):
    pool: str = Field(min_length=1)
    query: str = Field(min_length=1, max_length=100_000)
    k: int = Field(8, ge=0, le=200)
    retriever: RETRIEVERS = "dense"
    template: Literal["classification", "multiple_choice", "generation", "math"] = "classification"
    instruction: str | None = None
    max_tokens: int = Field(1024, ge=1, le=1_000_000)
    reserve_tokens: int = Field(16, ge=0)
    max_demo_tokens: int | None = Field(None, ge=1)
    tokenizer: str = Field("approx", description="approx, hf:<name-or-path> or tiktoken:<encoding>.")
    order: Literal["similar_last", "retrieval", "random"] = "similar_last"
    filter: FilterIn | None = None
    output_field: str | None = Field(None, description="Item field rendered as each demonstration's answer "
                                     "(e.g. answer for GSM8K solutions with the math template).")
    feedback: FeedbackIn | None = Field(None, description="Feedback on the model's first answer: switches on the "
                                        "adaptive policy (AdaptMI / AdaptMI+); the response says which branch and why.")
    predictor: Literal["knn", "logreg"] = Field("knn", description="Skill predictor for difficult queries.")
    n_skills: int = Field(1, ge=1, le=20, description="Skills predicted per difficult query.")
    thresholds: dict[str, float] | None = Field(None, description="Override the pool's difficulty thresholds "
                                                "(final, mean, step, confidence, consistency) for this request.")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"pool": "sst5", "query": "a gorgeous, witty film", "k": 8, "max_tokens": 512},
        {"pool": "gsm8k", "query": "Janet's ducks lay 16 eggs per day...", "k": 5, "template": "math",
         "output_field": "answer", "feedback": {"first_answer": "16 - 3 = 13 ... #### 26",
                                                "step_scores": [0.9, 0.6, 0.4]}}]})


class PromptDemoPublic(BaseModel):
    id: str
    score: float | None
    rank: int
    truncated: bool


class PromptResponse(BaseModel):
    id: str
    text: str
    messages: list[dict[str, str]]
    demos: list[PromptDemoPublic]
    n_tokens: int
    template: str
    retriever: str
    branch: Literal["first_pass", "easy", "difficult", "adaptmi_plus"] | None = Field(
        None, description="Adaptive branch taken (only with feedback).")
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
